//! What the sidecar says to its callers, as stable codes with parameters.
//!
//! Every answer a person may read carries a code and its parameters (`code`, `params`)
//! beside an English rendering for logs and support. The addon translates the code through
//! its own `.po` files and formats the parameters (numbers, dates) in the user's language
//! and time zone; no caller ever reads the English. The catalogue below is the one owner of
//! the codes, their parameters and their English wording, and it is published whole
//! (`dte-sidecar vocabulary`, `dte.vocabulary.get`), so that a caller can check it knows
//! every code.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

/// One code of the catalogue, as published.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MessageDef {
    pub code: &'static str,
    pub params: &'static [&'static str],
    /// The English wording, with `{param}` where each parameter goes.
    pub english: &'static str,
}

/// A message: a code of the catalogue and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    code: &'static str,
    params: Map<String, Value>,
}

impl Message {
    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn params(&self) -> &Map<String, Value> {
        &self.params
    }

    /// The code and its parameters as a JSON object (`{"code": …, "params": {…}}`).
    pub fn to_json(&self) -> Value {
        serde_json::json!({"code": self.code, "params": self.params})
    }

    /// The same message with one parameter set anew (a field's path under its argument).
    pub fn with_param(mut self, name: &str, value: impl Param) -> Self {
        self.params.insert(name.to_owned(), value.into_param());
        self
    }

    /// The English wording, for logs and support.
    pub fn english(&self) -> String {
        let template = definition(self.code).map_or("{detail}", |def| def.english);
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let Some(len) = rest[start..].find('}') else { break };
            let name = &rest[start + 1..start + len];
            match self.params.get(name) {
                Some(Value::String(text)) => out.push_str(text),
                Some(Value::Array(items)) => {
                    let texts: Vec<String> = items
                        .iter()
                        .map(|item| item.as_str().map_or_else(|| item.to_string(), str::to_owned))
                        .collect();
                    out.push_str(&texts.join(", "));
                }
                Some(other) => out.push_str(&other.to_string()),
                None => out.push_str(&rest[start..=start + len]),
            }
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
        out
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.english())
    }
}

/// A parameter's value: text, a number, or a list of texts.
pub trait Param {
    fn into_param(self) -> Value;
}

impl Param for &str {
    fn into_param(self) -> Value {
        Value::from(self)
    }
}

impl Param for String {
    fn into_param(self) -> Value {
        Value::from(self)
    }
}

impl Param for &String {
    fn into_param(self) -> Value {
        Value::from(self.as_str())
    }
}

macro_rules! number_param {
    ($($t:ty),*) => {$(
        impl Param for $t {
            fn into_param(self) -> Value {
                Value::from(self)
            }
        }
    )*};
}
number_param!(i32, i64, u32, u64, usize);

impl Param for &[&str] {
    fn into_param(self) -> Value {
        Value::from(self.iter().map(|s| Value::from(*s)).collect::<Vec<_>>())
    }
}

/// Something shown with `Display` (a RUT, a DTE type, an engine's detail), as text.
pub struct Shown<T: fmt::Display>(pub T);

impl<T: fmt::Display> Param for Shown<T> {
    fn into_param(self) -> Value {
        Value::from(self.0.to_string())
    }
}

/// Writes the catalogue once: each line gives a constructor, its code, its parameters and
/// its English wording.
macro_rules! catalogue {
    ($( $(#[$doc:meta])* $name:ident = $code:literal ( $($param:ident),* ) $english:literal; )*) => {
        /// Every code the sidecar may answer with, in the order written here.
        pub const CATALOGUE: &[MessageDef] = &[
            $( MessageDef { code: $code, params: &[$(stringify!($param)),*], english: $english }, )*
        ];

        impl Message {
            $(
                $(#[$doc])*
                #[allow(clippy::too_many_arguments)]
                pub fn $name($($param: impl Param),*) -> Self {
                    #[allow(unused_mut)]
                    let mut params = Map::new();
                    $( params.insert(stringify!($param).to_owned(), $param.into_param()); )*
                    Self { code: $code, params }
                }
            )*
        }
    };
}

/// The definition of a code.
pub fn definition(code: &str) -> Option<&'static MessageDef> {
    CATALOGUE.iter().find(|def| def.code == code)
}

catalogue! {
    // --- The request itself: protocol faults a client library makes.
    body_unreadable = "request.body_unreadable" (detail) "cannot read the request body: {detail}";
    body_late = "request.body_late" (seconds) "the request body did not arrive within {seconds} seconds";
    body_empty = "request.body_empty" () "empty body: expected JSON";
    body_not_json = "request.body_not_json" (detail) "could not parse the body as json: {detail}";
    body_too_large = "request.body_too_large" (limit) "Request body larger than {limit} bytes";
    busy = "request.busy" () "the sidecar is busy with other large requests; try again in a moment";
    malformed = "request.malformed" (detail) "{detail}";
    answer_too_large = "request.answer_too_large" (limit)
        "the answer would be larger than {limit} bytes: ask for fewer records or fields";
    no_such_method = "rpc.no_such_method" (method) "The method '{method}' does not exist";
    no_such_model = "rpc.no_such_model" (model) "the model '{model}' does not exist";
    no_such_service = "rpc.no_such_service" (method) "unknown service method {method}";
    not_served = "rpc.not_served" (path) "{path} is not served by the sidecar";
    missing_argument = "rpc.missing_argument" (method, argument) "{method}() missing a required argument: '{argument}'";
    unexpected_argument = "rpc.unexpected_argument" (method, argument)
        "{method}() got an unexpected keyword argument '{argument}'";
    repeated_argument = "rpc.repeated_argument" (method, argument)
        "{method}() got multiple values for argument '{argument}'";
    too_many_arguments = "rpc.too_many_arguments" (method, most, given)
        "{method}() takes {most} positional arguments but {given} were given";
    /// An argument of the wrong shape: `detail` says what the parser expected.
    invalid_argument = "rpc.invalid_argument" (argument, detail) "{argument}: {detail}";
    unknown_choice = "rpc.unknown_choice" (argument, got, allowed) "{argument}: expected one of {allowed}, got {got}";
    nul_character = "rpc.nul_character" (argument) "{argument}: text may not contain a NUL character";
    not_record_id = "rpc.not_record_id" (argument) "{argument}: must be a positive Odoo record id";
    out_of_range = "rpc.out_of_range" (argument, min, max) "{argument}: expected a number from {min} to {max}";
    invalid_domain = "orm.invalid_domain" (detail) "domain: {detail}";
    invalid_field = "orm.invalid_field" (argument, field, model) "{argument}: invalid field '{field}' on model '{model}'";
    invalid_order = "orm.invalid_order" (detail) "order: {detail}";
    record_missing = "orm.record_missing" (model, id)
        "Record does not exist or has been deleted. (Record: {model}({id},))";

    // --- Who may do what.
    access_denied = "auth.denied" () "Access Denied";
    company_not_of_key = "auth.company_not_of_key" (company_id) "company {company_id} is not among the companies of this key";
    company_not_of_request = "auth.company_not_of_request" (company_id)
        "company {company_id} is not among the companies of this request";

    // --- The server.
    internal = "server.internal" (reference) "Internal error (reference {reference}); the sidecar's log has the details.";
    database_unavailable = "server.database_unavailable" (retry_after_secs)
        "the database is unavailable; retry in {retry_after_secs} s";
    master_key_missing = "server.master_key_missing" ()
        "secrets.master_key is not set: certificates and CAFs cannot be stored safely";

    // --- Companies, certificates, CAFs and folios.
    company_unknown = "company.unknown" (company_id)
        "company_id: unknown company {company_id}; register it first (dte.company.register)";
    company_id_invalid = "company.id_invalid" () "company_id: must be a positive Odoo company id";
    company_rut_fixed = "company.rut_fixed" (company_id, company_rut)
        "rut: company {company_id} is registered with RUT {company_rut}; a company's RUT does not change";
    company_name_length = "company.name_length" (max) "name: must be 1 to {max} characters";
    company_resolution_negative = "company.resolution_negative" () "resolution_number: must not be negative";
    company_no_resolution_date = "company.no_resolution_date" (company_id)
        "company {company_id} has no SII resolution date; register it (dte.company.register)";
    /// A document's issuer is another RUT than its company's; `argument` names where it came.
    issuer_rut_differs = "company.issuer_rut_differs" (argument, rut, company_id, company_rut)
        "{argument}: {rut} is not the RUT of company {company_id} ({company_rut})";
    certificate_missing = "certificate.missing" (company_id)
        "company {company_id} has no signing certificate; load one (dte.company.set_certificate)";
    certificate_not_base64 = "certificate.not_base64" () "pkcs12: expected the .p12/.pfx file in base64";
    certificate_expired = "certificate.expired" (not_after) "pkcs12: the certificate expired on {not_after}";
    certificate_not_yet_valid = "certificate.not_yet_valid" () "pkcs12: the certificate is not valid yet";
    certificate_unusable = "certificate.unusable" (argument, detail) "{argument}: {detail}";
    caf_invalid = "caf.invalid" (part, detail) "{part}: {detail}";
    caf_overlaps = "caf.overlaps" (from, to, dte_type, company_id)
        "caf_xml: folios {from}–{to} of type {dte_type} overlap a CAF already loaded for company {company_id}";
    folio_used = "folio.used" (dte_type, folio) "folio: folio {folio} of DTE {dte_type} is already used";
    folio_no_caf = "folio.no_caf" (folio, dte_type, company_id)
        "folio: {folio} is not in any CAF of DTE {dte_type} loaded for company {company_id}";
    caf_expired = "folio.caf_expired" (folio, expired_on) "folio: the CAF holding folio {folio} expired on {expired_on}";
    folios_exhausted = "folio.exhausted" (dte_type, company_id)
        "no folios left for DTE {dte_type} of company {company_id}: load a new CAF";
    folio_taken_over = "folio.taken_over" () "a folio of the envelope was taken over while it was stamped";

    // --- Documents and their sending.
    document_invalid = "document.invalid_field" (field, detail) "{field}: {detail}";
    request_shape = "document.request_shape" (field, detail) "{field}: {detail}";
    type_unsupported = "document.type_unsupported" (field, dte_type)
        "{field}: type {dte_type} is not supported (33, 34, 52, 56, 61)";
    rut_invalid = "field.rut_invalid" (field, detail) "{field}: {detail}";
    date_range = "field.date_range" (field, date) "{field}: {date} is outside 2000-01-01 – 2050-12-31";
    guide_needs_transfer = "document.guide_needs_transfer" (field)
        "{field}: a dispatch guide (52) needs the transfer indicator (IndTraslado 1–9)";
    field_range = "field.range" (field, min, max) "{field}: must be {min} to {max}";
    transfer_only_guide = "document.transfer_only_guide" (field, dte_type)
        "{field}: only a dispatch guide (52) takes it, not a DTE {dte_type}";
    actecos_count = "field.actecos_count" (field, max) "{field}: 1 to {max} activity codes are required";
    acteco_invalid = "field.acteco_invalid" (field, acteco) "{field}: {acteco} is not an activity code (1 to 6 digits)";
    digits_range = "field.digits_range" (field, min, max) "{field}: must have {min} to {max} digits";
    digits_max = "field.digits_max" (field, max) "{field}: has more than {max} digits";
    required_on_type = "field.required_on_type" (field, dte_type) "{field}: is required on a DTE {dte_type}";
    amount_digits = "field.amount_digits" (field, amount) "{field}: {amount} must be between 0 and 18 digits";
    not_positive = "field.not_positive" (field, value) "{field}: {value} must be greater than 0";
    quantity_digits = "field.quantity_digits" (field, value)
        "{field}: {value} has more than 12 integer or 6 decimal digits";
    percent_range = "field.percent_range" (field, value) "{field}: {value} is not a percentage between 0.01 and 999.99";
    count_range = "field.count_range" (field, max, got) "{field}: 1 to {max} are required, got {got}";
    too_many = "field.too_many" (field, max) "{field}: at most {max}";
    exempt_only = "document.exempt_only" (field) "{field}: an exempt invoice (34) takes only exempt lines";
    exempt_no_net = "document.exempt_no_net" (field) "{field}: an exempt invoice (34) has no taxable amount";
    required_with = "field.required_with" (field, other) "{field}: is required with {other}";
    positive_when_given = "field.positive_when_given" (field) "{field}: must be greater than 0 when given";
    too_large = "field.too_large" (field) "{field}: is too large";
    expected_got = "field.expected_got" (field, expected, got) "{field}: expected {expected}, got {got}";
    expected_missing = "field.expected_missing" (field, expected) "{field}: expected {expected}, missing";
    percent_amount = "field.percent_amount" (field, expected, percent, gross, got)
        "{field}: expected {expected} ({percent} % of {gross}), got {got}";
    line_amount = "field.line_amount" (field, expected, quantity, price, got)
        "{field}: expected {expected} (round({quantity} × {price}) − discount + surcharge), got {got}";
    not_peso_amount = "field.not_peso_amount" (field, value) "{field}: {value} is not a whole, positive peso amount";
    needs_reference = "document.needs_reference" (field, dte_type)
        "{field}: a DTE {dte_type} must reference the document it modifies, with code 1 (cancel), 2 (fix text) or 3 (fix amounts)";
    totals_out_of_range = "field.totals_out_of_range" (field, value)
        "{field}: {value} is out of range (discounts larger than the lines?)";
    text_required = "field.required" (field) "{field}: is required";
    text_too_long = "field.too_long" (field, length, max) "{field}: is {length} characters long, at most {max} allowed";
    text_control = "field.control_character" (field, code) "{field}: contains the control character U+{code}";
    text_not_latin1 = "field.not_latin1" (field, character)
        "{field}: contains '{character}', which ISO-8859-1 cannot represent";
    document_schema = "document.schema" (argument, schema, detail) "{argument}: schema {schema}: {detail}";
    xml_malformed = "document.xml_malformed" (argument, detail) "{argument}: not well-formed XML: {detail}";
    xml_encoding = "document.xml_encoding" (argument, detail) "{argument}: {detail}";
    xml_too_large = "document.xml_too_large" (argument, limit) "{argument}: larger than {limit} bytes";
    xml_not_base64 = "document.xml_not_base64" (argument) "{argument}: expected base64 (a binary field)";
    xml_dtd = "document.xml_dtd" (argument) "{argument}: a DTD or entity declaration is not accepted";
    xml_not_latin1 = "document.xml_not_latin1" (argument, character)
        "{argument}: character '{character}' cannot be written in ISO-8859-1";
    xml_other_identity = "document.xml_other_identity" (argument, found_type, found_folio, dte_type, folio)
        "{argument}: holds DTE {found_type} folio {found_folio}, not DTE {dte_type} folio {folio}";
    xml_not_signed_dte = "document.xml_not_signed_dte" (argument, detail)
        "{argument}: is not a signed DTE that could be sent to the SII: {detail}";
    move_other_company = "document.move_other_company" (move_id, company_id)
        "move_id: move {move_id} belongs to company {company_id}";
    move_in_progress = "document.move_in_progress" (move_id)
        "the DTE of move {move_id} is being issued by another call; try again in a moment";
    move_has_no_dte = "document.move_has_no_dte" (move_id) "move {move_id} has no DTE";
    entered_contingency = "document.entered_contingency" ()
        "the company entered contingency while its documents were stamped";
    barcode_failed = "document.barcode_failed" (detail) "the TED cannot be drawn as a barcode: {detail}";
    give_document_or_move = "document.give_document_or_move" () "document_id: give either document_id or move_id";

    // --- What the SII said, or why it could not be asked (`SiiError::said`). `detail` is
    // the SII's own words where it gave some (Spanish), else ours for support.
    sii_timeout = "sii.timeout" (detail) "the SII did not answer in time: {detail}";
    sii_connection = "sii.connection" (detail) "the SII could not be reached: {detail}";
    sii_unreadable = "sii.unreadable" (detail) "the SII's answer could not be read: {detail}";
    sii_call_cap = "sii.call_cap" () "not sent yet: this server's limit of calls per minute to the SII was reached";
    sii_http = "sii.http" (status, detail) "the SII answered HTTP {status}: {detail}";
    sii_soap_fault = "sii.soap_fault" (detail) "the SII answered with a fault: {detail}";
    sii_token_signing = "sii.token_signing" (detail) "the request for an SII token could not be signed: {detail}";
    sii_internal = "sii.internal" (detail) "the SII client failed: {detail}";
    sii_upload_status = "sii.upload_status" (status, detail) "the SII refused the upload (STATUS {status}): {detail}";
    sii_answer = "sii.answer" (sii_code, detail) "the SII answered {sii_code}: {detail}";
    sii_received = "sii.received" (track_id) "received by the SII (track id {track_id}); waiting for its verdict";
    sii_received_earlier = "sii.received_earlier" (track_id)
        "received by the SII (track id {track_id}; an earlier upload of this envelope had reached it)";
    sii_verdict = "sii.verdict" (sii_code, detail) "the SII's verdict {sii_code}: {detail}";
    xml_unusable = "document.xml_unusable" (detail) "the stored XML cannot be sent: {detail}";
    quarantined = "contingency.quarantined" (detail) "quarantined: the stored XML cannot be read ({detail})";

    // --- The retry queue.
    queue_move_refused = "queue.move_refused" (id, from, to) "queue entry {id} is {from}: it may not become {to}";
    queue_abandon_not_pending = "queue.abandon_not_pending" (id, state)
        "entry {id} is {state}: only pending entries can be abandoned";
    queue_requeue_not_abandoned = "queue.requeue_not_abandoned" (id, state)
        "entry {id} is {state}: only abandoned entries can be requeued";
    queue_retry_not_pending = "queue.retry_not_pending" (id, state)
        "entry {id} is {state}: only pending entries can be retried (requeue an abandoned one first)";
    queue_changed = "queue.changed" (id, to) "queue entry {id} changed meanwhile: not moved to {to}";
    queue_already_open = "queue.already_open" (dte_type, folio) "DTE {dte_type}-{folio} already has an open entry in the queue";
    queue_no_entries = "queue.no_entries" () "ids: no entries given";
    queue_error_message_empty = "queue.error_message_empty" () "error_message: must say what went wrong";

    // --- Backups.
    backup_one_at_a_time = "backup.one_at_a_time" () "ids: download one backup at a time";
    backup_differs = "backup.differs" (dte_type, folio, company_id, backup_id)
        "DTE {dte_type} folio {folio} of company {company_id} is already backed up (backup {backup_id}) with a different XML; a folio is never reused";
    backup_track_id = "backup.track_id" () "track_id: expected the SII's track id (letters, digits, at most 100)";

    // --- Contingency.
    contingency_nothing = "contingency.nothing_to_create" () "vals_list: nothing to create";
    contingency_already_pending = "contingency.already_pending" (move_id) "move {move_id} already has a document pending upload";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(template: &str) -> Vec<&str> {
        let mut names = Vec::new();
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            let len = rest[start..].find('}').expect("closed placeholder");
            names.push(&rest[start + 1..start + len]);
            rest = &rest[start + len + 1..];
        }
        names
    }

    #[test]
    fn every_code_is_unique_dotted_and_its_wording_uses_exactly_its_parameters() {
        let mut seen = std::collections::HashSet::new();
        for def in CATALOGUE {
            assert!(seen.insert(def.code), "{} is written twice", def.code);
            let (area, name) = def.code.split_once('.').expect("area.name");
            assert!(!area.is_empty() && !name.is_empty(), "{}", def.code);
            assert!(
                def.code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.".contains(c)),
                "{}",
                def.code
            );
            let mut used = placeholders(def.english);
            used.sort_unstable();
            used.dedup();
            let mut declared = def.params.to_vec();
            declared.sort_unstable();
            assert_eq!(used, declared, "{}: its wording and its parameters differ", def.code);
        }
    }

    #[test]
    fn a_message_renders_its_english_and_keeps_its_parameters_typed() {
        let message = Message::issuer_rut_differs("rut_emisor", "76123456-0", 1, "76000001-9");
        assert_eq!(message.code(), "company.issuer_rut_differs");
        assert_eq!(message.params()["company_id"], Value::from(1));
        assert_eq!(message.english(), "rut_emisor: 76123456-0 is not the RUT of company 1 (76000001-9)");
        assert_eq!(
            message.to_json(),
            serde_json::json!({"code": "company.issuer_rut_differs",
                "params": {"argument": "rut_emisor", "rut": "76123456-0", "company_id": 1,
                    "company_rut": "76000001-9"}})
        );
    }
}
