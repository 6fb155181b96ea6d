//! One error type for everything a caller can be told, with an explicit map to the
//! exception names Odoo clients know. Internal causes are logged with a reference and
//! never sent: the caller sees "Internal error (reference …)".

use std::fmt;

use crate::message::Message;

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
    User(Message),
    /// An argument is invalid; the message names it.
    #[error("{0}")]
    Validation(Message),
    /// Wrong or missing API key. Says nothing more on purpose.
    #[error("Access Denied")]
    AccessDenied,
    /// A record of a company the caller may not act for.
    #[error("{0}")]
    Forbidden(Message),
    /// A record that does not exist.
    #[error("{0}")]
    Missing(Message),
    /// No such model or method.
    #[error("{0}")]
    NotFound(Message),
    /// The body is not a request at all.
    #[error("{0}")]
    BadRequest(Message),
    /// The request body is larger than allowed.
    #[error("Request body larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// The database cannot be reached just now: the same call is worth making again in a
    /// moment. Logged with its cause, never shown.
    #[error("database unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else: logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

/// How long a caller should wait before it calls again after [`AppError::Unavailable`].
pub const RETRY_AFTER_SECS: u32 = 1;

impl AppError {
    pub fn user(message: Message) -> Self {
        Self::User(message)
    }

    pub fn validation(message: Message) -> Self {
        Self::Validation(message)
    }

    /// An argument of the wrong shape: `argument: detail`, for the parser's own findings.
    pub fn field(argument: &str, detail: impl fmt::Display) -> Self {
        Self::Validation(Message::invalid_argument(argument, detail.to_string()))
    }

    pub fn missing(message: Message) -> Self {
        Self::Missing(message)
    }

    /// Odoo's answer for a record that is not there (or not visible to the caller).
    pub fn missing_record(model: &str, id: impl fmt::Display) -> Self {
        Self::Missing(Message::record_missing(model, id.to_string()))
    }

    /// A failure the caller cannot mend. A lost database is told apart: its call is worth
    /// repeating.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let cause = cause.into();
        if database_lost(&cause) {
            Self::Unavailable(cause)
        } else {
            Self::Internal(cause)
        }
    }

    /// The code and parameters a caller reads. An internal error's reference is made by
    /// whoever logs its cause, so it comes in.
    pub fn message(&self, reference: &str) -> Message {
        match self {
            Self::User(m)
            | Self::Validation(m)
            | Self::Forbidden(m)
            | Self::Missing(m)
            | Self::NotFound(m)
            | Self::BadRequest(m) => m.clone(),
            Self::AccessDenied => Message::access_denied(),
            Self::TooLarge { limit } => Message::body_too_large(*limit),
            Self::Unavailable(_) => Message::database_unavailable(RETRY_AFTER_SECS),
            Self::Internal(_) => Message::internal(reference),
        }
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
            Self::Unavailable(_) | Self::Internal(_) => OdooErrorName::ServerError,
        }
    }

    pub fn http_status(&self) -> u16 {
        match self {
            Self::TooLarge { .. } => 413,
            Self::Unavailable(_) => 503,
            other => other.odoo_name().http_status(),
        }
    }
}

/// Whether a failure is the database being out of reach (a restart, a lost connection, a
/// pool that cannot get one), rather than a fault of the request or of the code.
fn database_lost(cause: &anyhow::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    cause.chain().any(|source| {
        if let Some(error) = source.downcast_ref::<Error>() {
            return match error {
                Error::DatabaseError(
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                    _,
                ) => true,
                // PostgreSQL's own words while it shuts down or starts (SQLSTATE 57P01-57P03
                // carry no kind of their own in diesel).
                Error::DatabaseError(_, info) => {
                    let text = info.message();
                    text.contains("terminating connection")
                        || text.contains("the database system is")
                        || text.contains("server closed the connection")
                }
                _ => false,
            };
        }
        source.downcast_ref::<diesel::r2d2::PoolError>().is_some()
            || source.downcast_ref::<diesel::ConnectionError>().is_some()
    })
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        Self::internal(e)
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(anyhow::Error::new(e).context("database pool"))
    }
}
