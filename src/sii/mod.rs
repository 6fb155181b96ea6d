//! The SII: the one place for its protocol rules (endpoints, answer codes and what each
//! means for us), a client, and a simulator that speaks the same protocol.
//!
//! Facts come from the SII's WSDLs and manuals and from how open-source peers talk to
//! it. Where peers disagree, the decision is written next to the rule.

pub mod client;
pub mod simulator;
pub mod soap;

use crate::message::Message;
use serde::{Deserialize, Serialize};

/// SII web-service and upload paths, the same on every host.
pub const PATH_SEED: &str = "/DTEWS/CrSeed.jws";
pub const PATH_TOKEN: &str = "/DTEWS/GetTokenFromSeed.jws";
pub const PATH_EST_UP: &str = "/DTEWS/QueryEstUp.jws";
pub const PATH_EST_DTE: &str = "/DTEWS/QueryEstDte.jws";
pub const PATH_UPLOAD: &str = "/cgi_dte/UPL/DTEUpload";

/// Hosts are hard-coded: the SII's own certification WSDLs point at an internal host.
pub const CERTIFICATION_BASE: &str = "https://maullin.sii.cl";
pub const PRODUCTION_BASE: &str = "https://palena.sii.cl";

/// The SII's upload endpoint wants a User-Agent naming a program.
pub const USER_AGENT: &str = concat!("Mozilla/4.0 (compatible; PROG 1.0; dte-sidecar ", env!("CARGO_PKG_VERSION"), ")");

/// What an outcome means for the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorClass {
    /// The SII could not take it now: retry with backoff.
    Transient,
    /// The token is bad or expired: authenticate again, then retry.
    Auth,
    /// The SII refuses the document as it is: a person must act.
    Permanent,
    /// The SII already has it: never resend; reconcile with the earlier track id.
    Duplicate,
    /// Not decided yet: ask again later.
    Pending,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::Auth => "auth",
            Self::Permanent => "permanent",
            Self::Duplicate => "duplicate",
            Self::Pending => "pending",
        }
    }
}

/// The code of a call held back by this sidecar's cap on calls per minute to the SII.
pub const CALL_CAP: &str = "call-cap";

/// A failed SII exchange, with the SII's own code and text when it gave them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{code}: {message}")]
pub struct SiiError {
    pub class: ErrorClass,
    /// The SII's code (`STATUS 7`, `RSC`, `001`) or ours for transport faults
    /// (`timeout`, `connection`, `http-500`, `unreadable`).
    pub code: String,
    pub message: String,
    /// For a duplicate upload: the track id the SII gave the first time.
    #[serde(default)]
    pub earlier_track_id: Option<String>,
}

impl SiiError {
    pub fn new(class: ErrorClass, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { class, code: code.into(), message: message.into(), earlier_track_id: None }
    }

    pub fn transient(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Transient, code, message)
    }

    /// The call was never made: this sidecar's own cap on calls per minute held it back.
    /// It says nothing of the SII's health.
    pub fn is_call_cap(&self) -> bool {
        self.code == CALL_CAP
    }

    /// What a person is told of this failure: the one map from our and the SII's codes to
    /// the catalogue's.
    pub fn said(&self) -> Message {
        let detail = self.message.as_str();
        match self.code.as_str() {
            "timeout" => Message::sii_timeout(detail),
            "connection" => Message::sii_connection(detail),
            "unreadable" => Message::sii_unreadable(detail),
            CALL_CAP => Message::sii_call_cap(),
            "soap-fault" => Message::sii_soap_fault(detail),
            "signature" => Message::sii_token_signing(detail),
            "internal" => Message::sii_internal(detail),
            code => match (code.strip_prefix("http-"), code.strip_prefix("STATUS ")) {
                (Some(status), _) => Message::sii_http(status, detail),
                (_, Some(status)) => Message::sii_upload_status(status, detail),
                _ => Message::sii_answer(code, detail),
            },
        }
    }

    /// The retry queue's `error_type` for this failure (the specification's six).
    pub fn error_type(&self) -> &'static str {
        match (self.class, self.code.as_str()) {
            (_, "timeout") => "timeout",
            (_, "connection") => "connection",
            (ErrorClass::Transient, _) => "unavailable",
            (ErrorClass::Auth, _) => "certificate",
            (ErrorClass::Permanent, code) if code == "STATUS 1" || code == "STATUS 6" => "certificate",
            (ErrorClass::Permanent, _) => "validation",
            _ => "unknown",
        }
    }
}

/// `RECEPCIONDTE/STATUS` of an upload.
pub fn classify_upload_status(status: &str, detail: &str) -> Result<(), SiiError> {
    let (class, text) = match status.trim() {
        "0" => return Ok(()),
        "1" => (ErrorClass::Permanent, "sender not authorised"),
        "2" => (ErrorClass::Permanent, "wrong file size"),
        "3" => (ErrorClass::Transient, "truncated file"),
        "5" => (ErrorClass::Auth, "not authenticated"),
        "6" => (ErrorClass::Permanent, "company not authorised"),
        "7" => (ErrorClass::Permanent, "schema invalid"),
        "8" => (ErrorClass::Permanent, "signature error"),
        "9" => (ErrorClass::Transient, "system blocked"),
        "99" => (ErrorClass::Duplicate, "envelope already received"),
        _ => (ErrorClass::Transient, "unknown upload status"),
    };
    let message = if detail.is_empty() { text.to_string() } else { format!("{text}: {detail}") };
    Err(SiiError::new(class, format!("STATUS {}", status.trim()), message))
}

/// The verdict on one document, once the SII has processed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accepted,
    AcceptedWithObjections,
    Rejected,
}

/// What `getEstUp` says about an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadState {
    /// Processed (`EPR`): counts per document type.
    Processed(Vec<TypeCounts>),
    /// The whole envelope was rejected (`RSC`, `RFR`, `RCT`, `RCH`, `RPT`, `VOF`).
    Rejected { code: String, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TypeCounts {
    pub dte_type: u16,
    pub informed: u32,
    pub accepted: u32,
    pub rejected: u32,
    pub objected: u32,
}

/// Classifies a `getEstUp` ESTADO. Not final yet: `Err` with class `Pending`.
///
/// Decisions where peers disagree: `PRD`/`PDR` are in progress (the SII manual lists them
/// among processing states; never reject automatically on them, that would invite a second
/// folio for the same sale). `RLV` never appears in getEstUp; per document it means
/// accepted with minor objections.
pub fn classify_upload_state(
    estado: &str,
    glosa: &str,
    err_code: Option<&str>,
    counts: Vec<TypeCounts>,
) -> Result<UploadState, SiiError> {
    let estado = estado.trim();
    match estado {
        "EPR" => Ok(UploadState::Processed(counts)),
        "SOK" | "CRT" | "FOK" | "PDR" | "PRD" | "REC" => Err(SiiError::new(ErrorClass::Pending, estado, glosa)),
        "RSC" | "RFR" | "RCT" | "RCH" | "RPT" | "VOF" => {
            Ok(UploadState::Rejected { code: estado.into(), message: glosa.into() })
        }
        "001" | "002" | "003" => Err(SiiError::new(ErrorClass::Auth, estado, non_empty(glosa, "token not valid"))),
        "-11" if err_code == Some("2") => {
            Err(SiiError::new(ErrorClass::Pending, estado, "the SII asks to wait and retry"))
        }
        code if code.starts_with('-') => Err(SiiError::transient(code, non_empty(glosa, "status query failed"))),
        other => Err(SiiError::new(ErrorClass::Pending, other, non_empty(glosa, "unknown state; asking again"))),
    }
}

/// Whether the SII has a document, from `getEstDte`'s ESTADO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentPresence {
    /// Received (`DOK`, or `DNK` when data differ) — never send it again.
    Received { code: String, message: String },
    /// Not received (`FAU`): safe to send.
    NotReceived,
}

pub fn classify_document_state(estado: &str, glosa: &str) -> Result<DocumentPresence, SiiError> {
    match estado.trim() {
        "DOK" | "DNK" | "FAN" | "TMD" | "TMC" | "MMD" | "MMC" | "AND" | "ANC" => {
            Ok(DocumentPresence::Received { code: estado.trim().into(), message: glosa.into() })
        }
        "FAU" => Ok(DocumentPresence::NotReceived),
        "FNA" => Err(SiiError::new(ErrorClass::Permanent, "FNA", non_empty(glosa, "document not authorised"))),
        "EMP" => Err(SiiError::new(ErrorClass::Permanent, "EMP", non_empty(glosa, "company not authorised"))),
        "001" | "002" | "003" => {
            Err(SiiError::new(ErrorClass::Auth, estado.trim(), non_empty(glosa, "token not valid")))
        }
        other => Err(SiiError::transient(other, non_empty(glosa, "document query failed"))),
    }
}

fn non_empty(text: &str, fallback: &str) -> String {
    if text.trim().is_empty() {
        fallback.to_string()
    } else {
        text.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_statuses_map_to_classes() {
        assert!(classify_upload_status("0", "").is_ok());
        let class = |s: &str| classify_upload_status(s, "").unwrap_err().class;
        assert_eq!(class("5"), ErrorClass::Auth);
        assert_eq!(class("3"), ErrorClass::Transient);
        assert_eq!(class("9"), ErrorClass::Transient);
        assert_eq!(class("99"), ErrorClass::Duplicate);
        for permanent in ["1", "2", "6", "7", "8"] {
            assert_eq!(class(permanent), ErrorClass::Permanent, "{permanent}");
        }
        assert_eq!(classify_upload_status("7", "cvc-complex-type").unwrap_err().error_type(), "validation");
        assert_eq!(classify_upload_status("1", "").unwrap_err().error_type(), "certificate");
    }

    #[test]
    fn upload_states_map_to_classes() {
        for pending in ["SOK", "CRT", "FOK", "PDR", "PRD", "REC"] {
            assert_eq!(classify_upload_state(pending, "", None, vec![]).unwrap_err().class, ErrorClass::Pending);
        }
        for rejected in ["RSC", "RFR", "RCT", "RCH", "RPT", "VOF"] {
            assert!(matches!(classify_upload_state(rejected, "x", None, vec![]), Ok(UploadState::Rejected { .. })));
        }
        assert_eq!(classify_upload_state("001", "", None, vec![]).unwrap_err().class, ErrorClass::Auth);
        assert_eq!(classify_upload_state("-11", "", Some("2"), vec![]).unwrap_err().class, ErrorClass::Pending);
        assert_eq!(classify_upload_state("-11", "", Some("1"), vec![]).unwrap_err().class, ErrorClass::Transient);
        assert!(matches!(classify_upload_state("EPR", "", None, vec![]), Ok(UploadState::Processed(_))));
    }
}
