//! The TED (timbre electrónico): the `DD` data block signed with the CAF's private key.
//!
//! `FRMT` = base64(RSASSA-PKCS1-v1_5 with SHA-1 over the `<DD>…</DD>` bytes in ISO-8859-1 with
//! whitespace between tags removed). The engine writes `DD` compact in the first place and signs
//! the bytes libxml serialises for it, which are the bytes that end up in the document: what is
//! signed is what is emitted.

use base64::Engine as _;
use chrono::{NaiveDate, NaiveDateTime};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Public};
use openssl::sign::Signer as RsaSigner;

use super::caf::{verify_sha1_rsa, Caf};
use super::error::{DteError, DteResult};
use super::rut::Rut;
use super::xml::{Node, XmlDoc, SII_NS};

/// `RSR` and `IT1` are the first 40 characters of the receiver's name and of the first item.
pub const TED_TEXT_MAX_CHARS: usize = 40;

/// The document values a `DD` carries (besides the CAF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TedFields {
    /// `RE`: issuer.
    pub issuer_rut: Rut,
    /// `TD`: document type code.
    pub document_type: u16,
    /// `F`: folio.
    pub folio: i64,
    /// `FE`: issue date.
    pub issue_date: NaiveDate,
    /// `RR`: receiver.
    pub receiver_rut: Rut,
    /// `RSR`: receiver name, at most 40 characters (cut by the caller per the SII rule).
    pub receiver_name: String,
    /// `MNT`: `MntTotal`.
    pub total: i64,
    /// `IT1`: first item name, at most 40 characters.
    pub first_item: String,
    /// `TSTED`: when the stamp was made (local time, as the SII expects).
    pub stamped_at: NaiveDateTime,
}

/// Timestamp format of `TSTED`, `TmstFirma` and `TmstFirmaEnv`.
pub(crate) const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// Writes `<DD>…</DD>` under `ted` and returns its bytes as emitted.
fn write_dd(doc: &XmlDoc, ted: Node<'_>, fields: &TedFields, caf: &Caf) -> DteResult<Vec<u8>> {
    for (field, text) in [("RSR", &fields.receiver_name), ("IT1", &fields.first_item)] {
        let length = text.chars().count();
        if length == 0 || length > TED_TEXT_MAX_CHARS {
            return Err(DteError::input(
                format!("ted.{field}"),
                format!("must have 1 to {TED_TEXT_MAX_CHARS} characters, has {length}"),
            ));
        }
    }
    let dd = ted.add_element(c"DD")?;
    dd.add_number(c"RE", fields.issuer_rut)?;
    dd.add_number(c"TD", fields.document_type)?;
    dd.add_number(c"F", fields.folio)?;
    dd.add_number(c"FE", fields.issue_date.format("%Y-%m-%d"))?;
    dd.add_number(c"RR", fields.receiver_rut)?;
    dd.add_text(c"RSR", &fields.receiver_name)?;
    dd.add_number(c"MNT", fields.total)?;
    dd.add_text(c"IT1", &fields.first_item)?;
    caf.write_caf_element(dd)?;
    dd.add_number(c"TSTED", fields.stamped_at.format(TIMESTAMP_FORMAT))?;
    doc.node_to_latin1(dd)
}

/// Writes the whole `<TED version="1.0">` under `parent` (DD, then FRMT signed over DD's
/// emitted bytes). Returns the DD bytes, so the caller can check they survive serialisation.
pub(crate) fn write_ted(doc: &XmlDoc, parent: Node<'_>, fields: &TedFields, caf: &Caf) -> DteResult<Vec<u8>> {
    let ted = parent.add_element(c"TED")?;
    ted.set_attr(c"version", "1.0")?;
    let dd_bytes = write_dd(doc, ted, fields, caf)?;
    let frmt = ted.add_text(c"FRMT", &sign_dd(&dd_bytes, caf)?)?;
    frmt.set_attr(c"algoritmo", "SHA1withRSA")?;
    Ok(dd_bytes)
}

/// The `DD` bytes (ISO-8859-1, compact) for these values and CAF, as they would be signed.
pub fn dd_bytes(fields: &TedFields, caf: &Caf) -> DteResult<Vec<u8>> {
    let doc = XmlDoc::with_root(c"TED", Some(SII_NS))?;
    write_dd(&doc, doc.root(), fields, caf)
}

/// `FRMT`: base64 SHA1withRSA signature of `dd_bytes` with the CAF's private key (`RSASK`).
pub fn sign_dd(dd_bytes: &[u8], caf: &Caf) -> DteResult<String> {
    let signature = RsaSigner::new(MessageDigest::sha1(), caf.private_key())
        .and_then(|mut signer| {
            signer.update(dd_bytes)?;
            signer.sign_to_vec()
        })
        .map_err(|_| DteError::Signing("the TED could not be signed with the CAF key".into()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(signature))
}

/// Whether `frmt_base64` is a valid SHA1withRSA signature of `dd_bytes` by `caf_public_key`.
pub fn verify_frmt(dd_bytes: &[u8], frmt_base64: &str, caf_public_key: &PKey<Public>) -> bool {
    let compact: String = frmt_base64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map(|signature| verify_sha1_rsa(caf_public_key, dd_bytes, &signature))
        .unwrap_or(false)
}
