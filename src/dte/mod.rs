//! The DTE engine: builds, stamps, signs, validates and verifies Chilean electronic tax
//! documents (types 33, 34, 52, 56, 61) and their EnvioDTE envelopes. No database, no HTTP.
//!
//! # Shape
//!
//! - All XML work is synchronous: bytes and strings in, bytes and strings out. Run a whole
//!   request's XML work inside one blocking task (`web::block`, `spawn_blocking`). libxml and
//!   xmlsec objects never leave the function that made them; the public types ([`Signer`],
//!   [`Caf`], [`CafTrust`], [`Schemas`], [`SignedDte`], reports) are `Send + Sync` and can be
//!   kept in an `Arc`.
//! - Time is always a parameter (`TSTED`/`TmstFirma`, `TmstFirmaEnv`, the day a CAF's expiry is
//!   judged against); the engine never reads the clock.
//! - Keys are loaded once: a [`Signer`] keeps its key as bytes and each worker thread builds its
//!   xmlsec copy on first use; a [`Caf`] keeps openssl keys; each thread compiles the schemas
//!   once.
//! - One error type, [`DteError`], with [`DteError::field`] (the JSON path or document part at
//!   fault) and [`DteError::code`]; no message contains key material or passwords.
//!
//! # Flow
//!
//! ```text
//! start-up:   Schemas::from_dir("schemas/sii")       CafTrust::sii()
//!             Signer::from_pkcs12(pfx, password)      Caf::parse(caf_xml, &trust)
//! per DTE:    DteRequest::from_json(json) → request.validate()   (before reserving a folio)
//!             caf.check_belongs_to(..) / caf.contains_folio(f) / caf.is_usable_on(day)
//!             build_signed_dte(&request, folio, &caf, &signer, &schemas, now) → SignedDte
//!             (build_signed_dte_timed also returns the time spent per stage)
//! envelope:   build_envio(&[SignedDte], &Caratula::for_sii(..), &signer, &schemas, now) → bytes
//!             SignedDte::from_xml(stored_bytes) to rebuild envelopes from stored DTEs
//! printing:   ted_bytes(stored_bytes) → TedBarcode::encode(&ted) → to_png() / to_svg()
//! checking:   verify_document(bytes, &schemas, &trust) → VerificationReport
//! SII auth:   sign_get_token_request(seed, &signer) / verify_get_token_request(bytes)
//! ```
//!
//! Folio allocation belongs to the store: the engine only says whether a folio lies in a CAF's
//! range ([`Caf::contains_folio`]) and refuses one that does not. [`build_signed_dte`] is
//! all-or-nothing, but a folio the caller reserved before a failed call is the caller's to
//! release or void; validating the request first avoids most such failures.
//!
//! # Decisions
//!
//! - Schemas: the SII's 2026-02-06 revision, read at run time from a directory
//!   ([`Schemas::from_dir`], vendored in `schemas/sii/`). Calling it at start-up also
//!   initialises libxml2 and xmlsec on the main thread.
//! - Text: ISO-8859-1 only; typographic punctuation mapped, anything else refused; over-long
//!   values refused, never cut, except the TED's `RSR`/`IT1` (first 40 characters by SII rule).
//! - CAF expiry: six months from `FA` for types 33, 56 and 61; 34 and 52 do not expire
//!   ([`caf_expiry_date`], with its sources).
//! - Verification takes the signing key from the signature's certificate, else from its
//!   `KeyValue`; it does not judge the certificate chain (the SII does).
//! - Parsing refuses DTDs, so no entity is ever expanded, and allows documents above 10 MB
//!   (an EnvioDTE of 2000 DTEs is about 11 MB).

mod barcode;
mod caf;
mod document;
mod envio;
mod error;
mod gettoken;
mod limits;
mod model;
mod rut;
mod sign;
mod ted;
mod text;
mod validate;
mod verify;
mod xml;
mod xmlsec_setup;
mod xsd;

pub use barcode::{ted_bytes, TedBarcode, DPI, ERROR_CORRECTION_LEVEL};
pub use caf::{caf_expiry_date, Caf, CafTrust, SiiEnvironment, IDK_CERTIFICATION, IDK_PRODUCTION};
pub use document::{build_signed_dte, build_signed_dte_timed, document_id, SignedDte, StageTimings};
pub use envio::{build_envio, Caratula, MAX_DTES_PER_ENVELOPE, SET_DTE_ID, SII_RUT};
pub use error::{DteError, DteResult};
pub use gettoken::{sign_get_token_request, verify_get_token_request, VerifiedTokenRequest};
pub use limits::{engine_limits, EngineLimits};
pub use model::{
    AdjustmentKind, AdjustmentUnit, AppliesTo, ComputedTotals, Driver, DteRequest, DteType, GlobalAdjustment, Issuer,
    ItemCode, Line, Receiver, Reference, Resolution, Totals, Transfer, Transport, IVA_RATE_PERCENT,
};
pub use rut::{check_digit, validate_rut, Rut, RutError};
pub use sign::{sign_in_place, Signer, MAX_PKCS12_ITERATIONS};
pub use ted::{dd_bytes, sign_dd, verify_frmt, TedFields, TED_TEXT_MAX_CHARS};
pub use text::{compact_between_tags, latin1_decode, latin1_encode, Decimal};
pub use verify::{verify_document, Check, DocumentKind, DocumentReport, VerificationReport};
pub use xml::check_untrusted as check_xml;
pub use xsd::{SchemaKind, Schemas};

/// Sets up OpenSSL, libxml2 and xmlsec for the process, so that neither OpenSSL nor
/// libxml2 frees its state at exit under threads still signing or validating. A program
/// calls it first, before any database connection (libpq initialises OpenSSL too); the
/// engine calls it anyway before its first use.
pub fn initialise() {
    xml::ensure_initialised();
}

#[cfg(test)]
mod send_sync {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_can_live_in_an_arc() {
        assert_send_sync::<Signer>();
        assert_send_sync::<Caf>();
        assert_send_sync::<CafTrust>();
        assert_send_sync::<Schemas>();
        assert_send_sync::<SignedDte>();
        assert_send_sync::<DteRequest>();
        assert_send_sync::<VerificationReport>();
        assert_send_sync::<DteError>();
    }
}
