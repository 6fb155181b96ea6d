//! The engine's single error type.
//!
//! Every message is meant to be shown to a person (an accountant in Odoo, an operator in the
//! logs): it names the field at fault when there is one, and it never contains key material,
//! certificate passwords or private-key PEM text.

use std::fmt::Display;

use crate::message::Message;

/// Everything the engine can refuse or fail at.
#[derive(Debug, thiserror::Error)]
pub enum DteError {
    /// The DTE request (or another caller-supplied value) is wrong; `field` is its JSON path,
    /// e.g. `totals.iva` or `lines[2].name`.
    #[error("{said}")]
    InvalidInput { field: String, said: Message },

    /// A CAF file is malformed, not signed by a trusted SII key, or does not fit the document
    /// (another company, another type, folio out of range, expired). `field` names the CAF part,
    /// e.g. `caf.FRMA`, `caf.RE`, `folio`.
    #[error("{field}: {message}")]
    InvalidCaf { field: String, message: String },

    /// The signing certificate could not be used (wrong password, damaged file, no RSA key,
    /// key and certificate do not match, no RUT in it).
    #[error("certificate: {0}")]
    Certificate(String),

    /// A document the engine produced (or was asked to check) does not pass the SII schema.
    /// `field` is the element the first schema error points at, when it can be told.
    #[error("schema {schema}: {message}")]
    SchemaInvalid { schema: &'static str, field: Option<String>, message: String },

    /// Input that should be XML is not well-formed (or is not the expected document).
    #[error("malformed XML: {0}")]
    MalformedXml(String),

    /// The XML signature library failed while signing.
    #[error("signing failed: {0}")]
    Signing(String),

    /// The engine is not set up correctly (missing schema directory, invalid trusted key).
    #[error("configuration: {0}")]
    Config(String),
}

impl DteError {
    /// The JSON path / document part at fault, when the error is about one field.
    pub fn field(&self) -> Option<&str> {
        match self {
            DteError::InvalidInput { field, .. } | DteError::InvalidCaf { field, .. } => Some(field),
            DteError::SchemaInvalid { field, .. } => field.as_deref(),
            DteError::Certificate(_) => Some("certificate"),
            DteError::MalformedXml(_) | DteError::Signing(_) | DteError::Config(_) => None,
        }
    }

    /// A stable machine-readable code for the RPC layer to map onto its own error names.
    pub fn code(&self) -> &'static str {
        match self {
            DteError::InvalidInput { .. } => "invalid_input",
            DteError::InvalidCaf { .. } => "invalid_caf",
            DteError::Certificate(_) => "certificate",
            DteError::SchemaInvalid { .. } => "schema_invalid",
            DteError::MalformedXml(_) => "malformed_xml",
            DteError::Signing(_) => "signing_failed",
            DteError::Config(_) => "configuration",
        }
    }

    /// A refusal of a technical kind (a signature, a barcode, an envelope), its detail for
    /// support.
    pub(crate) fn input(field: impl Into<String>, message: impl Display) -> Self {
        let field = field.into();
        DteError::InvalidInput { said: Message::document_invalid(&field, message.to_string()), field }
    }

    /// A refusal a person reads: a code of the catalogue whose `field` parameter names the
    /// field at fault.
    pub(crate) fn refused(said: Message) -> Self {
        let field = said.params().get("field").and_then(|f| f.as_str()).unwrap_or_default().to_owned();
        DteError::InvalidInput { field, said }
    }

    /// What a person reads of this error, when it is a refusal of the input.
    pub fn said(&self) -> Option<&Message> {
        match self {
            DteError::InvalidInput { said, .. } => Some(said),
            _ => None,
        }
    }

    pub(crate) fn caf(field: impl Into<String>, message: impl Display) -> Self {
        DteError::InvalidCaf { field: field.into(), message: message.to_string() }
    }
}

pub type DteResult<T> = Result<T, DteError>;
