//! One error type for everything a caller can be told, with an explicit map to the
//! exception names Odoo clients know. Internal causes are logged with a reference and
//! never sent: the caller sees "Internal error (reference …)".

use std::fmt;

/// Odoo exception classes the sidecar answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OdooErrorName {
    UserError,
    ValidationError,
    AccessDenied,
    AccessError,
    MissingError,
    NotFound,
    BadRequest,
    ServerError,
}

impl OdooErrorName {
    /// The Python class name Odoo puts in `error.data.name`.
    pub fn python_name(self) -> &'static str {
        match self {
            Self::UserError => "odoo.exceptions.UserError",
            Self::ValidationError => "odoo.exceptions.ValidationError",
            Self::AccessDenied => "odoo.exceptions.AccessDenied",
            Self::AccessError => "odoo.exceptions.AccessError",
            Self::MissingError => "odoo.exceptions.MissingError",
            Self::NotFound => "werkzeug.exceptions.NotFound",
            Self::BadRequest => "werkzeug.exceptions.BadRequest",
            Self::ServerError => "builtins.Exception",
        }
    }

    /// The HTTP status Odoo 19's `/json/2` face answers with.
    pub fn http_status(self) -> u16 {
        match self {
            Self::UserError | Self::ValidationError => 422,
            Self::AccessDenied => 401,
            Self::AccessError => 403,
            Self::MissingError | Self::NotFound => 404,
            Self::BadRequest => 400,
            Self::ServerError => 500,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request cannot be done as asked; the message tells the user why.
    #[error("{0}")]
    User(String),
    /// An argument is invalid; the message names it.
    #[error("{0}")]
    Validation(String),
    /// Wrong or missing API key. Says nothing more on purpose.
    #[error("Access Denied")]
    AccessDenied,
    /// A record of a company the caller may not act for.
    #[error("{0}")]
    Forbidden(String),
    /// A record that does not exist.
    #[error("{0}")]
    Missing(String),
    /// No such model or method.
    #[error("{0}")]
    NotFound(String),
    /// The body is not a JSON-RPC request at all.
    #[error("{0}")]
    BadRequest(String),
    /// The request body is larger than allowed.
    #[error("Request body larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// Anything else: logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn user(message: impl Into<String>) -> Self {
        Self::User(message.into())
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::Validation(message.into())
    }

    /// An invalid argument: `field: why`.
    pub fn field(field: &str, why: impl fmt::Display) -> Self {
        Self::Validation(format!("{field}: {why}"))
    }

    pub fn missing(message: impl Into<String>) -> Self {
        Self::Missing(message.into())
    }

    /// Odoo's answer for a record that is not there (or not visible to the caller).
    pub fn missing_record(model: &str, id: impl fmt::Display) -> Self {
        Self::Missing(format!("Record does not exist or has been deleted. (Record: {model}({id},))"))
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::Internal(cause.into())
    }

    pub fn odoo_name(&self) -> OdooErrorName {
        match self {
            Self::User(_) | Self::TooLarge { .. } => OdooErrorName::UserError,
            Self::Validation(_) => OdooErrorName::ValidationError,
            Self::AccessDenied => OdooErrorName::AccessDenied,
            Self::Missing(_) => OdooErrorName::MissingError,
            Self::Forbidden(_) => OdooErrorName::AccessError,
            Self::NotFound(_) => OdooErrorName::NotFound,
            Self::BadRequest(_) => OdooErrorName::BadRequest,
            Self::Internal(_) => OdooErrorName::ServerError,
        }
    }

    pub fn http_status(&self) -> u16 {
        match self {
            Self::TooLarge { .. } => 413,
            other => other.odoo_name().http_status(),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Self::Internal(anyhow::anyhow!("database pool: {e}"))
    }
}
