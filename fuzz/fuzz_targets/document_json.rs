//! The JSON documents `action_send_to_sii` and `dte.contingency.pending.create` take: bound
//! as the dispatcher binds them, read and checked by the engine and, when valid, stamped,
//! signed and schema-validated with the synthetic CAFs — and the signed result verifies.
#![no_main]

mod common;

use base64::Engine as _;
use dte_sidecar::dte::{build_signed_dte, verify_document, DteRequest};
use dte_sidecar::error::AppError;
use dte_sidecar::owners::contingency::PendingValues;
use dte_sidecar::flows::send::SendParams;
use dte_sidecar::input::xml_content;
use dte_sidecar::rpc::params;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    let kwargs = match &value {
        Value::Object(map) if map.contains_key("document") => map.clone(),
        Value::Object(_) => Map::from_iter([
            ("move_id".to_string(), Value::from(1)),
            ("company_id".to_string(), Value::from(1)),
            ("document".to_string(), value.clone()),
        ]),
        _ => Map::new(),
    };
    let names = ["move_id", "company_id", "document", "folio"];
    if let Ok(p) = params::bind::<SendParams>("account.move.action_send_to_sii", &names, Vec::new(), kwargs) {
        send(&p);
    }
    pending(value);
});

fn send(p: &SendParams) {
    let json = serde_json::to_vec(&p.document).expect("a JSON value serialises");
    let Ok(request) = DteRequest::from_json(&json) else { return };
    if request.validate().is_err() {
        return;
    }
    let Ok(kind) = request.dte_type() else { return };
    let Some(caf) = common::cafs().iter().find(|caf| caf.document_type() == kind) else { return };
    let folio = p.folio.map_or(1, |f| f.value());
    let stamped_at = caf.authorized_on().and_hms_opt(12, 0, 0).expect("noon");
    let Ok(signed) = build_signed_dte(&request, folio, caf, common::signer(), common::schemas(), stamped_at) else {
        return;
    };
    let report = verify_document(&signed.xml, common::schemas(), common::trust()).expect("our own DTE reads back");
    assert!(report.is_valid(), "a DTE the engine signed does not verify: {:?}", report.problems());
}

fn pending(value: Value) {
    let list = match value {
        one @ Value::Object(_) => Value::Array(vec![one]),
        list @ Value::Array(_) => list,
        _ => return,
    };
    let Ok(values) = params::read::<Vec<PendingValues>>("dte.contingency.pending.create", list) else { return };
    for v in values {
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(v.xml_content.trim()) else { continue };
        match xml_content::accept_bytes("xml_content", raw, 1 << 22) {
            Ok(xml) => {
                let _ = xml_content::check_identity("xml_content", &xml, v.dte_type.as_str(), &v.folio.to_string());
            }
            Err(AppError::Validation(_)) => {}
            Err(other) => panic!("xml_content gave {other:?}"),
        }
    }
}
