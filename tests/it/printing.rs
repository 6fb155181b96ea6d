//! The printed DTE's barcode (`dte.document.get_ted_barcode`): cut from the stored, signed
//! document for every type, in contingency as soon as it is stamped, without side effects.

use crate::common::{error_of, TestApp, COMPANY_RUT};
use base64::Engine as _;
use openssl::bn::BigNum;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde_json::{json, Value};

fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(text).expect("base64")
}

/// The stored XML of a move's document, as any client reads it (`dte.document.search_read`).
async fn stored_xml(app: &TestApp, move_id: i32) -> Vec<u8> {
    let rows =
        app.call("dte.document", "search_read", json!([[["move_id", "=", move_id]], ["xml_content"]]), json!({})).await;
    b64(rows[0]["xml_content"].as_str().expect("xml_content"))
}

/// The TED cut out by hand: from `<TED ` to `</TED>`, then `>\s+<` → `><`.
fn ted_of(xml: &[u8]) -> Vec<u8> {
    let text = encoding_rs::mem::decode_latin1(xml);
    let start = text.find("<TED ").expect("a TED");
    let end = text.find("</TED>").expect("closed") + "</TED>".len();
    let mut compact = String::new();
    let mut rest = &text[start..end];
    while let Some(close) = rest.find('>') {
        compact.push_str(&rest[..=close]);
        rest = &rest[close + 1..];
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        if trimmed.starts_with('<') {
            rest = trimmed;
        }
    }
    compact.push_str(rest);
    encoding_rs::mem::encode_latin1_lossy(&compact).into_owned()
}

/// `FRMT` checked against the CAF's public key (`RSAPK` inside the TED's own CAF element).
fn frmt_verifies(ted: &[u8]) -> bool {
    let text = encoding_rs::mem::decode_latin1(ted);
    let between = |open: &str, close: &str| -> String {
        let start = text.find(open).expect(open) + open.len();
        let end = start + text[start..].find(close).expect(close);
        text[start..end].to_string()
    };
    let modulus = BigNum::from_slice(&b64(&between("<M>", "</M>"))).unwrap();
    let exponent = BigNum::from_slice(&b64(&between("<E>", "</E>"))).unwrap();
    let key = PKey::from_rsa(Rsa::from_public_components(modulus, exponent).unwrap()).unwrap();
    let dd_start = text.find("<DD>").unwrap();
    let dd_end = text.find("</DD>").unwrap() + "</DD>".len();
    let dd = encoding_rs::mem::encode_latin1_lossy(&text[dd_start..dd_end]).into_owned();
    dte_sidecar::dte::verify_frmt(&dd, &between("<FRMT algoritmo=\"SHA1withRSA\">", "</FRMT>"), &key)
}

#[actix_rt::test]
async fn every_type_prints_the_ted_it_stored_and_signed() {
    let app = TestApp::spawn().await;
    app.setup_company(1, COMPANY_RUT, 100).await;
    for (move_id, dte_type) in [(1, 33u16), (2, 34), (3, 52), (4, 56), (5, 61)] {
        let sent = app.send(move_id, 1, dte_type, COMPANY_RUT).await;
        assert_eq!(sent["result"]["state"], "sent", "{sent}");
        let barcode = app.call("dte.document", "get_ted_barcode", json!([]), json!({"move_id": move_id})).await;
        let ted = b64(barcode["ted_base64"].as_str().unwrap());
        assert_eq!(ted, ted_of(&stored_xml(&app, move_id).await), "type {dte_type}");
        assert!(frmt_verifies(&ted), "type {dte_type}: FRMT does not verify");
        assert!(ted.starts_with(b"<TED version=\"1.0\"><DD><RE>76000001-9</RE>"), "{}", String::from_utf8_lossy(&ted));
        assert_eq!(barcode["dte_type"], dte_type.to_string());
        assert_eq!(barcode["error_correction_level"], 5);
        assert_eq!(barcode["mimetype"], "image/png");
        assert!(barcode["module_width_mm"].as_f64().unwrap() >= 0.0067 * 25.4);
        assert!(barcode["quiet_zone_mm"].as_f64().unwrap() >= 0.25 * 25.4);
        assert!(barcode["width_mm"].as_f64().unwrap() <= 90.0, "{barcode}");
        assert!(barcode["height_mm"].as_f64().unwrap() <= 30.0, "{barcode}");
        assert_eq!(barcode["resolution_number"], 0);
        assert_eq!(barcode["resolution_date"], "2026-01-02");
        let png = b64(barcode["image_base64"].as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        // The same by document id, as SVG.
        let document_id = barcode["document_id"].as_i64().unwrap();
        let svg = app.call("dte.document", "get_ted_barcode", json!([document_id, null, "svg"]), json!({})).await;
        assert_eq!(svg["ted_base64"], barcode["ted_base64"]);
        assert!(svg["svg"].as_str().unwrap().starts_with("<svg "), "{svg}");
    }
}

#[actix_rt::test]
async fn a_contingency_document_prints_before_any_upload_and_printing_changes_nothing() {
    let app = TestApp::spawn().await;
    app.setup_company(1, COMPANY_RUT, 100).await;
    app.call("dte.contingency", "enable_contingency", json!([1, "sii_unavailable"]), json!({})).await;
    let kept = app.send(7, 1, 33, COMPANY_RUT).await;
    assert_eq!(kept["result"]["state"], "contingency", "{kept}");
    let folios_before = app.call("dte.caf", "folios_left", json!([1]), json!({})).await;
    let counts_before = app.table_counts();
    for _ in 0..3 {
        let barcode = app.call("dte.document", "get_ted_barcode", json!([]), json!({"move_id": 7})).await;
        assert_eq!(b64(barcode["ted_base64"].as_str().unwrap()), ted_of(&stored_xml(&app, 7).await));
        assert_eq!(barcode["state"], "contingency");
    }
    assert_eq!(app.sim.upload_count(), 0, "printing never uploads");
    assert_eq!(app.call("dte.caf", "folios_left", json!([1]), json!({})).await, folios_before, "no folio taken");
    assert_eq!(app.table_counts(), counts_before, "printing writes nothing");
}

#[actix_rt::test]
async fn bad_requests_get_odoo_errors() {
    let app = TestApp::spawn().await;
    app.setup_company(1, COMPANY_RUT, 100).await;
    app.send(1, 1, 33, COMPANY_RUT).await;
    let error = |answer: Value| error_of(&answer);
    let (name, message) = error(app.execute_kw("dte.document", "get_ted_barcode", json!([]), json!({})).await);
    assert_eq!(name, "odoo.exceptions.ValidationError");
    assert!(message.contains("document_id or move_id"), "{message}");
    let (name, _) = error(app.execute_kw("dte.document", "get_ted_barcode", json!([1]), json!({"move_id": 1})).await);
    assert_eq!(name, "odoo.exceptions.ValidationError");
    let (name, message) = error(
        app.execute_kw("dte.document", "get_ted_barcode", json!([]), json!({"move_id": 1, "image_format": "gif"}))
            .await,
    );
    assert_eq!(name, "odoo.exceptions.ValidationError");
    assert!(message.contains("image_format"), "{message}");
    let (name, _) = error(app.execute_kw("dte.document", "get_ted_barcode", json!([999]), json!({})).await);
    assert_eq!(name, "odoo.exceptions.MissingError");
    let (name, _) = error(app.execute_kw("dte.document", "get_ted_barcode", json!([]), json!({"move_id": 2})).await);
    assert_eq!(name, "odoo.exceptions.MissingError");
    // Another company's document is not there for this call.
    let (name, _) = error(
        app.execute_kw(
            "dte.document",
            "get_ted_barcode",
            json!([]),
            json!({"move_id": 1, "context": {"allowed_company_ids": [2]}}),
        )
        .await,
    );
    assert_eq!(name, "odoo.exceptions.MissingError");
}
