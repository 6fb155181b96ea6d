//! The engine against independent tools (xmllint, xmlsec1, openssl) and the SII's own data.

use std::sync::Arc;

use crate::common::engine::*;
use base64::Engine as _;
use chrono::{NaiveDate, NaiveDateTime};
use dte_sidecar::dte::{
    build_envio, build_signed_dte, dd_bytes, latin1_encode, sign_dd, verify_document, Caf, CafTrust, Caratula, Check,
    DocumentKind, DteType, Resolution, Rut, SignedDte, TedFields,
};

fn synthetic_caratula() -> Caratula {
    Caratula::for_sii(
        Rut::parse("76000001-9").unwrap(),
        Resolution { number: 0, date: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap() },
    )
    .unwrap()
}

fn build(document_type: DteType, folio: i64) -> SignedDte {
    build_signed_dte(&request(document_type), folio, &caf(document_type), &signer(), &schemas(), stamped_at())
        .unwrap_or_else(|error| panic!("type {}: {error}", document_type.code()))
}

// ---------------------------------------------------------------------------------------------
// TED vectors

#[test]
fn both_ted_test_vectors_are_reproduced_byte_for_byte() {
    let vectors: serde_json::Value = serde_json::from_slice(&fixture("official/ted-test-vectors.json")).unwrap();
    // The SII manual's CAF verifies with the SII's real IDK 100 key: no test key needed.
    let caf =
        Caf::parse(&fixture("official/CAF-97975000-5-T33-F1-200-IDK100_SII-manual-example.xml"), &CafTrust::sii())
            .unwrap();
    let timestamp = |text: &str| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").unwrap();
    let date = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    let cases = [
        TedFields {
            issuer_rut: Rut::parse("97975000-5").unwrap(),
            document_type: 33,
            folio: 27,
            issue_date: date("2003-09-08"),
            receiver_rut: Rut::parse("8414240-9").unwrap(),
            receiver_name: "JORGE GONZALEZ LTDA".into(),
            total: 502_946,
            first_item: "Cajon AFECTO".into(),
            stamped_at: timestamp("2003-09-08T12:28:31"),
        },
        TedFields {
            issuer_rut: Rut::parse("97975000-5").unwrap(),
            document_type: 33,
            folio: 60,
            issue_date: date("2003-10-13"),
            receiver_rut: Rut::parse("77777777-7").unwrap(),
            receiver_name: "EMPRESA  LTDA".into(),
            total: 119_000,
            first_item: "Parlantes Multimedia 180W.".into(),
            stamped_at: timestamp("2003-10-13T09:33:20"),
        },
    ];
    for (vector, fields) in vectors.as_array().unwrap().iter().zip(cases) {
        let expected_bytes = latin1_encode(vector["dd_signed_bytes_iso8859_1"].as_str().unwrap()).unwrap();
        let produced = dd_bytes(&fields, &caf).unwrap();
        assert_eq!(String::from_utf8_lossy(&produced), String::from_utf8_lossy(&expected_bytes), "{}", vector["name"]);
        assert_eq!(produced, expected_bytes);
        assert_eq!(sign_dd(&produced, &caf).unwrap(), vector["frmt_expected"].as_str().unwrap(), "{}", vector["name"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Each document type against xmllint, xmlsec1 and openssl

/// Checks the TED with `openssl dgst -sha1 -verify` and the public key printed in the CAF file.
fn assert_ted_verifies_with_openssl(dte: &[u8], caf_xml: &[u8], directory: &std::path::Path) {
    let dd = slice_between(dte, b"<DD>", b"</DD>");
    let frmt_element = slice_between(dte, b"<FRMT algoritmo=\"SHA1withRSA\">", b"</FRMT>");
    let frmt_text = &frmt_element[b"<FRMT algoritmo=\"SHA1withRSA\">".len()..frmt_element.len() - b"</FRMT>".len()];
    let signature = base64::engine::general_purpose::STANDARD.decode(frmt_text).unwrap();
    let public_pem = slice_between(caf_xml, b"-----BEGIN PUBLIC KEY-----", b"-----END PUBLIC KEY-----");
    let dd_path = directory.join("dd.bin");
    let signature_path = directory.join("frmt.bin");
    let key_path = directory.join("caf-public.pem");
    std::fs::write(&dd_path, dd).unwrap();
    std::fs::write(&signature_path, signature).unwrap();
    std::fs::write(&key_path, [public_pem, b"\n"].concat()).unwrap();
    let (ok, output) = run_tool(
        "openssl",
        &["dgst", "-sha1", "-verify", path_str(&key_path), "-signature", path_str(&signature_path), path_str(&dd_path)],
    );
    assert!(ok && output.contains("Verified OK"), "openssl: {output}");
}

#[test]
fn every_type_passes_xmllint_xmlsec1_and_openssl() {
    let schema = manifest_path("schemas/sii/DTE_v10.xsd");
    for document_type in DteType::ALL {
        let signed = build(document_type, 7);
        assert_eq!(signed.document_id, format!("F7T{}", document_type.code()));
        assert!(signed.xml.starts_with(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"));
        let directory = scratch_dir(&format!("dte-{}", document_type.code()));
        let file = directory.join("dte.xml");
        std::fs::write(&file, &signed.xml).unwrap();

        let (ok, output) = run_tool("xmllint", &["--noout", "--schema", path_str(&schema), path_str(&file)]);
        assert!(ok, "xmllint, type {}: {output}", document_type.code());

        let (ok, output) = run_tool("xmlsec1", &["--verify", "--id-attr:ID", "Documento", path_str(&file)]);
        assert!(ok && output.contains("OK"), "xmlsec1, type {}: {output}", document_type.code());

        assert_ted_verifies_with_openssl(&signed.xml, &caf_xml(document_type), &directory);

        let report = verify_document(&signed.xml, &schemas(), &test_trust()).unwrap();
        assert!(report.is_valid(), "type {}: {:?}", document_type.code(), report.problems());
        assert_eq!(report.kind, DocumentKind::Dte);
        assert_eq!(report.documents[0].signer_rut, Some(Rut::parse("11111111-1").unwrap()));
    }
}

#[test]
fn signed_dte_carries_the_values_the_store_needs() {
    let signed = build(DteType::Factura, 12);
    assert_eq!(signed.document_type, DteType::Factura);
    assert_eq!(signed.folio, 12);
    assert_eq!(signed.total, 36_392);
    assert_eq!(signed.issuer_rut.to_string(), "76000001-9");
    let reread = SignedDte::from_xml(signed.xml.clone()).unwrap();
    assert_eq!(reread.document_id, "F12T33");
    assert_eq!(reread.total, 36_392);
    assert_eq!(reread.xml, signed.xml);
    // Computed totals land in the XML.
    for element in [
        &b"<MntNeto>13775</MntNeto>"[..],
        b"<MntExe>20000</MntExe>",
        b"<TasaIVA>19</TasaIVA>",
        b"<IVA>2617</IVA>",
        b"<MntTotal>36392</MntTotal>",
        b"<TmstFirma>2026-01-05T10:00:00</TmstFirma>",
        b"<TSTED>2026-01-05T10:00:00</TSTED>",
        b"<MNT>36392</MNT>",
    ] {
        assert!(contains(&signed.xml, element), "{}", String::from_utf8_lossy(element));
    }
}

// ---------------------------------------------------------------------------------------------
// The envelope

#[test]
fn envelope_with_all_five_types_passes_xmllint_and_xmlsec1() {
    let documents: Vec<SignedDte> = DteType::ALL.into_iter().map(|document_type| build(document_type, 3)).collect();
    let envelope = build_envio(&documents, &synthetic_caratula(), &signer(), &schemas(), stamped_at()).unwrap();
    let directory = scratch_dir("envio");
    let file = directory.join("envio.xml");
    std::fs::write(&file, &envelope).unwrap();

    let schema = manifest_path("schemas/sii/EnvioDTE_v10.xsd");
    let (ok, output) = run_tool("xmllint", &["--noout", "--schema", path_str(&schema), path_str(&file)]);
    assert!(ok, "xmllint: {output}");

    let (ok, output) = run_tool(
        "xmlsec1",
        &[
            "--verify",
            "--id-attr:ID",
            "SetDTE",
            "--node-xpath",
            "/*[local-name()='EnvioDTE']/*[local-name()='Signature']",
            path_str(&file),
        ],
    );
    assert!(ok && output.contains("OK"), "xmlsec1 SetDTE: {output}");

    // Each DTE's bytes went in unchanged: cut out of the envelope, each still verifies alone.
    for document in &documents {
        let start = format!("<Documento ID=\"{}\">", document.document_id);
        let at = find(&envelope, start.as_bytes(), 0).unwrap();
        let dte_start = envelope[..at].windows(4).rposition(|window| window == b"<DTE").unwrap();
        let dte_end = find(&envelope, b"</DTE>", at).unwrap() + b"</DTE>".len();
        let inner = &envelope[dte_start..dte_end];
        let original_body = slice_between(&document.xml, b"<DTE", b"</DTE>");
        assert_eq!(inner, original_body, "{} changed inside the envelope", document.document_id);
        let standalone = [&b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"[..], inner].concat();
        let standalone_file = directory.join(format!("{}.xml", document.document_id));
        std::fs::write(&standalone_file, standalone).unwrap();
        let (ok, output) = run_tool("xmlsec1", &["--verify", "--id-attr:ID", "Documento", path_str(&standalone_file)]);
        assert!(ok, "xmlsec1 {}: {output}", document.document_id);
    }

    let report = verify_document(&envelope, &schemas(), &test_trust()).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems());
    assert_eq!(report.kind, DocumentKind::Envelope);
    assert_eq!(report.documents.len(), 5);
    assert!(contains(&envelope, b"<RutEnvia>11111111-1</RutEnvia>"));
    assert!(contains(&envelope, b"<TmstFirmaEnv>2026-01-05T10:00:00</TmstFirmaEnv>"));
    assert!(contains(&envelope, b"<SubTotDTE>\n<TpoDTE>61</TpoDTE>\n<NroDTE>1</NroDTE>\n</SubTotDTE>"));
}

#[test]
fn envelope_can_be_rebuilt_from_stored_bytes() {
    let stored: Vec<Vec<u8>> =
        [DteType::Factura, DteType::NotaCredito].into_iter().map(|document_type| build(document_type, 9).xml).collect();
    let documents: Vec<SignedDte> = stored.into_iter().map(|xml| SignedDte::from_xml(xml).unwrap()).collect();
    let envelope = build_envio(&documents, &synthetic_caratula(), &signer(), &schemas(), stamped_at()).unwrap();
    let report = verify_document(&envelope, &schemas(), &test_trust()).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems());
}

#[test]
fn envelope_refuses_documents_of_another_issuer_and_duplicates() {
    let mut foreign = build(DteType::Factura, 4);
    foreign.issuer_rut = Rut::parse("77777777-7").unwrap();
    let error = build_envio(&[foreign], &synthetic_caratula(), &signer(), &schemas(), stamped_at()).unwrap_err();
    assert_eq!(error.field(), Some("documents[0]"));

    let document = build(DteType::Factura, 4);
    let error = build_envio(&[document.clone(), document], &synthetic_caratula(), &signer(), &schemas(), stamped_at())
        .unwrap_err();
    assert_eq!(error.field(), Some("documents[1]"));
    assert!(error.to_string().contains("appears twice"));

    let error = build_envio(&[], &synthetic_caratula(), &signer(), &schemas(), stamped_at()).unwrap_err();
    assert_eq!(error.field(), Some("documents"));

    let one = build(DteType::Factura, 5);
    let too_many = vec![one; dte_sidecar::dte::MAX_DTES_PER_ENVELOPE + 1];
    let error = build_envio(&too_many, &synthetic_caratula(), &signer(), &schemas(), stamped_at()).unwrap_err();
    assert_eq!(error.field(), Some("documents"));
    assert!(error.to_string().contains("2001"));
}

// ---------------------------------------------------------------------------------------------
// The verifier on documents we did not make

#[test]
fn official_sii_example_verifies_and_a_changed_amount_does_not() {
    let official = fixture("official/F60T33-ejemplo-oficial-SII.xml");
    let report = verify_document(&official, &schemas(), &CafTrust::sii()).unwrap();
    assert_eq!(report.schema, Check::Passed);
    assert_eq!(report.cover, Some(Check::Passed));
    // The example is signed with its KeyValue key, but its X509Certificate (RUT 7880442-4)
    // holds another key: the signer it names did not sign, so the signature is refused.
    assert!(
        matches!(
            &report.envelope_signature,
            Some(Check::Failed(reason)) if reason.contains("certificate was replaced")
        ),
        "{:?}",
        report.envelope_signature
    );
    assert_eq!(report.envelope_signer_rut, None);
    let document = &report.documents[0];
    assert_eq!(document.id.as_deref(), Some("F60T33"));
    assert_eq!(document.caf, Check::Passed);
    assert_eq!(document.ted, Check::Passed);
    // Known: the SII re-indented its example after signing the Documento.
    assert!(!document.signature.passed());

    // MntTotal changed: the SetDTE digest and the TED's MNT no longer agree with it.
    let changed_total = replace_once(&official, b"<MntTotal>119000</MntTotal>", b"<MntTotal>119001</MntTotal>");
    let report = verify_document(&changed_total, &schemas(), &CafTrust::sii()).unwrap();
    assert!(!report.envelope_signature.as_ref().unwrap().passed());
    assert!(matches!(&report.documents[0].ted, Check::Failed(reason) if reason.contains("MNT")));
    assert!(!report.is_valid());

    // MNT inside the stamp changed: FRMT no longer verifies.
    let changed_stamp = replace_once(&official, b"<MNT>119000</MNT>", b"<MNT>119001</MNT>");
    let report = verify_document(&changed_stamp, &schemas(), &CafTrust::sii()).unwrap();
    assert!(matches!(&report.documents[0].ted, Check::Failed(reason) if reason.contains("FRMT")));
    assert!(!report.envelope_signature.as_ref().unwrap().passed());
    assert_eq!(report.documents[0].caf, Check::Passed);
}

/// The peer envelope with the first DTE's X509Certificate replaced by another person's
/// (the official example's, RUT 7880442-4): the signature still matches its KeyValue.
fn with_replaced_certificate() -> Vec<u8> {
    let peer = dte_sidecar::dte::latin1_decode(&fixture("peer/EnvioDTE-T33-T34-T52-T56-T61.xml"));
    let official = dte_sidecar::dte::latin1_decode(&fixture("official/F60T33-ejemplo-oficial-SII.xml"));
    let between = |text: &str| -> (usize, usize) {
        let start = text.find("<X509Certificate>").unwrap() + "<X509Certificate>".len();
        (start, start + text[start..].find("</X509Certificate>").unwrap())
    };
    let (from, to) = between(&official);
    let other = official[from..to].to_string();
    let (from, to) = between(&peer);
    latin1_encode(&format!("{}{other}{}", &peer[..from], &peer[to..])).unwrap()
}

#[test]
fn a_dte_whose_certificate_was_replaced_is_refused() {
    let report = verify_document(&with_replaced_certificate(), &schemas(), &test_trust()).unwrap();
    let first = &report.documents[0];
    assert!(
        matches!(&first.signature, Check::Failed(reason) if reason.contains("certificate was replaced")),
        "{:?}",
        first.signature
    );
    assert_eq!(first.signer_rut, None, "the replaced certificate's RUT is never reported as signer");
    assert!(!report.is_valid());
    assert!(report.documents[1..].iter().all(|document| document.signature.passed()));
}

#[test]
fn verify_file_prints_one_line_per_file_and_fails_when_any_does() {
    let dir = scratch_dir("verify-file");
    let config = offline_config(&dir);
    let tampered = dir.join("replaced-certificate.xml");
    std::fs::write(&tampered, with_replaced_certificate()).unwrap();
    let peer = manifest_path("tests/fixtures/peer/EnvioDTE-T33-T34-T52-T56-T61.xml");
    let run = |files: &[&std::path::Path]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_dte-sidecar"))
            .arg("--config")
            .arg(&config)
            .arg("verify-file")
            .args(files)
            .env_remove("DTE_CONFIG")
            .output()
            .unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let (code, out) = run(&[&peer]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("OK\t") && out.contains("5 document(s), signed by"), "{out}");
    let (code, out) = run(&[&peer, &tampered]);
    assert_eq!(code, Some(1), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("OK\t"), "{out}");
    assert!(lines[1].starts_with("FAIL\t") && lines[1].contains("certificate was replaced"), "{out}");
}

#[test]
fn peer_envelope_verifies_only_when_the_fake_sii_key_is_trusted() {
    let peer = fixture("peer/EnvioDTE-T33-T34-T52-T56-T61.xml");
    let report = verify_document(&peer, &schemas(), &test_trust()).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems());
    assert_eq!(report.documents.len(), 5);

    let report = verify_document(&peer, &schemas(), &CafTrust::sii()).unwrap();
    assert!(report.documents.iter().all(|document| !document.caf.passed()));
    assert!(report.documents.iter().all(|document| document.ted.passed()));
}

#[test]
fn verifier_refuses_dtds_so_no_entity_is_ever_expanded() {
    let billion_laughs = concat!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE DTE [<!ENTITY a \"aaaaaaaaaa\">",
        "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>\n",
        "<DTE xmlns=\"http://www.sii.cl/SiiDte\">&b;</DTE>"
    )
    .as_bytes();
    let error = verify_document(billion_laughs, &schemas(), &CafTrust::sii()).unwrap_err();
    assert_eq!(error.code(), "malformed_xml");
    assert!(error.to_string().contains("DTD"));
    let error = Caf::parse(billion_laughs, &CafTrust::sii()).unwrap_err();
    assert_eq!(error.field(), Some("caf.xml"));
}

#[test]
fn a_missing_schema_directory_is_a_configuration_error() {
    let error = dte_sidecar::dte::Schemas::from_dir("/nonexistent/schemas").unwrap_err();
    assert_eq!(error.code(), "configuration");
    let error = dte_sidecar::dte::Schemas::from_dir(manifest_path("docs")).unwrap_err();
    assert!(error.to_string().contains("DTE_v10.xsd"), "{error}");
}

#[test]
fn verifier_refuses_what_is_not_a_dte() {
    let error = verify_document(b"<html/>", &schemas(), &CafTrust::sii()).unwrap_err();
    assert_eq!(error.code(), "malformed_xml");
    let error = verify_document(b"<EnvioDTE", &schemas(), &CafTrust::sii()).unwrap_err();
    assert_eq!(error.code(), "malformed_xml");
}

// ---------------------------------------------------------------------------------------------
// Bad input names its field

#[test]
fn wrong_totals_name_the_total() {
    let mut value = request_value(DteType::Factura);
    value["totals"]["iva"] = 2618.into();
    let error = request_from_value(&value).validate().unwrap_err();
    assert_eq!(error.field(), Some("totals.iva"));
    assert_eq!(error.to_string(), "totals.iva: expected 2617, got 2618");

    let mut value = request_value(DteType::Factura);
    value["lines"][0]["amount"] = 10001.into();
    let error = request_from_value(&value).validate().unwrap_err();
    assert_eq!(error.field(), Some("lines[0].amount"));

    let mut value = request_value(DteType::Factura);
    value["lines"][1]["discount_amount"] = 499.into();
    value["lines"][1]["amount"] = 4501.into();
    let error = request_from_value(&value).validate().unwrap_err();
    assert_eq!(error.field(), Some("lines[1].discount_amount"));

    let mut value = request_value(DteType::Factura);
    value["totals"]["net"] = serde_json::Value::Null;
    let error = request_from_value(&value).validate().unwrap_err();
    assert_eq!(error.to_string(), "totals.net: expected 13775, missing");
}

#[test]
fn notes_without_a_reference_are_refused() {
    for document_type in [DteType::NotaDebito, DteType::NotaCredito] {
        let mut value = request_value(document_type);
        value["references"] = serde_json::json!([]);
        let error = request_from_value(&value).validate().unwrap_err();
        assert_eq!(error.field(), Some("references"));
        // A reference without CodRef (e.g. a purchase order) is not enough either.
        value["references"] = serde_json::json!([{ "document_type": "801", "folio": "9", "date": "2026-01-01" }]);
        let error = request_from_value(&value).validate().unwrap_err();
        assert_eq!(error.field(), Some("references"));
    }
}

#[test]
fn type_specific_rules_are_enforced() {
    let mut value = request_value(DteType::GuiaDespacho);
    value.as_object_mut().unwrap().remove("transfer");
    let error = request_from_value(&value).validate().unwrap_err();
    assert_eq!(error.field(), Some("transfer.indicator"));

    let mut value = request_value(DteType::FacturaExenta);
    value["lines"][0]["exempt"] = false.into();
    let error = request_from_value(&value).validate().unwrap_err();
    assert_eq!(error.field(), Some("lines[0].exempt"));

    let mut value = request_value(DteType::Factura);
    value["transfer"] = serde_json::json!({ "indicator": 1 });
    let error = request_from_value(&value).validate().unwrap_err();
    assert_eq!(error.field(), Some("transfer"));
}

#[test]
fn unknown_type_is_refused() {
    let mut value = request_value(DteType::Factura);
    value["document_type"] = 39.into();
    let error = request_from_value(&value).validate().unwrap_err();
    assert_eq!(error.field(), Some("document_type"));
    assert!(error.to_string().contains("39"));
}

#[test]
fn over_long_text_is_refused_not_cut() {
    let mut value = request_value(DteType::Factura);
    value["receiver"]["name"] = "X".repeat(101).into();
    let error = request_from_value(&value).validate().unwrap_err();
    assert_eq!(error.field(), Some("receiver.name"));
    assert!(error.to_string().contains("101 characters"));

    let mut value = request_value(DteType::Factura);
    value["lines"][2]["name"] = "Ñ".repeat(81).into();
    let error = request_from_value(&value).validate().unwrap_err();
    assert_eq!(error.field(), Some("lines[2].name"));

    // Exactly at the limit is fine, and the TED then carries the first 40 characters.
    let mut value = request_value(DteType::Factura);
    let long_name = format!("{}{}", "A".repeat(40), "B".repeat(60));
    value["receiver"]["name"] = long_name.into();
    let signed =
        build_signed_dte(&request_from_value(&value), 1, &caf(DteType::Factura), &signer(), &schemas(), stamped_at())
            .unwrap();
    let expected_rsr = format!("<RSR>{}</RSR>", "A".repeat(40));
    assert!(contains(&signed.xml, expected_rsr.as_bytes()));
}

#[test]
fn bad_ruts_are_refused() {
    let mut value = request_value(DteType::Factura);
    value["receiver"]["rut"] = "77777777-8".into();
    let error = request_from_value(&value).validate().unwrap_err();
    assert_eq!(error.field(), Some("receiver.rut"));
    assert!(error.to_string().contains("check digit"));

    let mut value = request_value(DteType::Factura);
    value["issuer"]["rut"] = "76000001".into();
    let error = request_from_value(&value).validate().unwrap_err();
    assert_eq!(error.field(), Some("issuer.rut"));

    assert_eq!(dte_sidecar::dte::validate_rut("76.000.001-9").unwrap().to_string(), "76000001-9");
    assert!(dte_sidecar::dte::validate_rut("76000001-0").is_err());
}

#[test]
fn json_errors_name_the_path() {
    let mut value = request_value(DteType::Factura);
    value["lines"][0]["quantity"] = "two".into();
    let error = dte_sidecar::dte::DteRequest::from_json(&serde_json::to_vec(&value).unwrap()).unwrap_err();
    assert_eq!(error.field(), Some("lines[0].quantity"));

    let mut value = request_value(DteType::Factura);
    value["receiver"]["nmae"] = "typo".into();
    let error = dte_sidecar::dte::DteRequest::from_json(&serde_json::to_vec(&value).unwrap()).unwrap_err();
    assert_eq!(error.field(), Some("receiver.nmae"));
    assert!(error.to_string().contains("unknown field"));
}

#[test]
fn caf_of_another_type_or_company_or_range_is_refused() {
    let request = request(DteType::Factura);
    let error =
        build_signed_dte(&request, 1, &caf(DteType::FacturaExenta), &signer(), &schemas(), stamped_at()).unwrap_err();
    assert_eq!(error.field(), Some("caf.TD"));

    let other_company = Caf::parse(&caf_for_other_company(), &test_trust()).unwrap();
    assert_eq!(other_company.issuer_rut().to_string(), "76000002-7");
    let error = build_signed_dte(&request, 1, &other_company, &signer(), &schemas(), stamped_at()).unwrap_err();
    assert_eq!(error.field(), Some("caf.RE"));

    let error =
        build_signed_dte(&request, 101, &caf(DteType::Factura), &signer(), &schemas(), stamped_at()).unwrap_err();
    assert_eq!(error.field(), Some("folio"));
    assert!(error.to_string().contains("1–100"));
}

#[test]
fn expired_caf_is_refused_on_its_expiry_day() {
    let factura_caf = caf(DteType::Factura);
    assert_eq!(factura_caf.expires_on(), NaiveDate::from_ymd_opt(2026, 7, 2));
    let last_day = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap().and_hms_opt(23, 59, 59).unwrap();
    assert!(build_signed_dte(&request(DteType::Factura), 2, &factura_caf, &signer(), &schemas(), last_day).is_ok());
    let expiry_day = NaiveDate::from_ymd_opt(2026, 7, 2).unwrap().and_hms_opt(0, 0, 0).unwrap();
    let error =
        build_signed_dte(&request(DteType::Factura), 2, &factura_caf, &signer(), &schemas(), expiry_day).unwrap_err();
    assert_eq!(error.field(), Some("caf.FA"));
    assert!(!factura_caf.is_usable_on(expiry_day.date()));
    // Guías (52) and exempt invoices (34) do not expire.
    assert_eq!(caf(DteType::GuiaDespacho).expires_on(), None);
    assert!(caf(DteType::FacturaExenta).is_usable_on(NaiveDate::from_ymd_opt(2030, 1, 1).unwrap()));
}

/// The synthetic T33 CAF given to another company and re-signed with the fake SII key.
fn caf_for_other_company() -> Vec<u8> {
    let original = String::from_utf8(caf_xml(DteType::Factura)).unwrap();
    let renamed = original.replacen("<RE>76000001-9</RE>", "<RE>76000002-7</RE>", 1);
    let da_start = renamed.find("<DA>").unwrap();
    let da_end = renamed.find("</DA>").unwrap() + "</DA>".len();
    let da = dte_sidecar::dte::compact_between_tags(&renamed[da_start..da_end]);
    let key = openssl::pkey::PKey::private_key_from_pem(&fixture("keys/FAKE-SII-IDK100-private.pem")).unwrap();
    let mut rsa_signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha1(), &key).unwrap();
    rsa_signer.update(da.as_bytes()).unwrap();
    let frma = base64::engine::general_purpose::STANDARD.encode(rsa_signer.sign_to_vec().unwrap());
    let frma_start =
        renamed.find("<FRMA algoritmo=\"SHA1withRSA\">").unwrap() + "<FRMA algoritmo=\"SHA1withRSA\">".len();
    let frma_end = renamed.find("</FRMA>").unwrap();
    format!("{}{}{}", &renamed[..frma_start], frma, &renamed[frma_end..]).into_bytes()
}

#[test]
fn malformed_or_untrusted_cafs_are_refused() {
    let original = caf_xml(DteType::Factura);

    let truncated = &original[..original.len() / 2];
    let error = Caf::parse(truncated, &test_trust()).unwrap_err();
    assert_eq!(error.field(), Some("caf.xml"));

    let widened = replace_once(&original, b"<H>100</H>", b"<H>900</H>");
    let error = Caf::parse(&widened, &test_trust()).unwrap_err();
    assert_eq!(error.field(), Some("caf.FRMA"));

    let no_key = replace_once(&original, b"<RSASK>", b"<RSASKX>");
    let no_key = replace_once(&no_key, b"</RSASK>", b"</RSASKX>");
    let error = Caf::parse(&no_key, &test_trust()).unwrap_err();
    assert_eq!(error.field(), Some("caf.RSASK"));

    let error = Caf::parse(b"<AUTORIZACION><CAF/></AUTORIZACION>", &test_trust()).unwrap_err();
    assert_eq!(error.field(), Some("caf.DA"));

    // The fake SII key is not trusted unless the caller adds it.
    let error = Caf::parse(&original, &CafTrust::sii()).unwrap_err();
    assert_eq!(error.field(), Some("caf.FRMA"));
}

#[test]
fn caf_exposes_its_grant_and_hides_its_key() {
    let caf = caf(DteType::NotaCredito);
    assert_eq!(caf.issuer_rut().to_string(), "76000001-9");
    assert_eq!(caf.document_type(), DteType::NotaCredito);
    assert_eq!((caf.first_folio(), caf.last_folio()), (1, 100));
    assert_eq!(caf.authorized_on(), NaiveDate::from_ymd_opt(2026, 1, 2).unwrap());
    assert_eq!(caf.idk(), 100);
    assert!(caf.contains_folio(1) && caf.contains_folio(100));
    assert!(!caf.contains_folio(0) && !caf.contains_folio(101));
    let debug = format!("{caf:?}");
    assert!(debug.contains("76000001-9"));
    let private_pem = String::from_utf8(caf_xml(DteType::NotaCredito)).unwrap();
    let key_line = private_pem.lines().skip_while(|line| !line.contains("BEGIN RSA PRIVATE KEY")).nth(1).unwrap();
    assert!(!debug.contains(key_line) && !debug.contains("PRIVATE"));
}

// ---------------------------------------------------------------------------------------------
// Characters

#[test]
fn special_characters_round_trip_through_iso_8859_1() {
    let signed = build(DteType::Factura, 5);
    // Escaped where XML needs it, raw ISO-8859-1 bytes for Ñ and accents.
    assert!(contains(&signed.xml, b"<RznSocRecep>CLIENTE &amp; HIJOS LTDA</RznSocRecep>"));
    assert!(contains(&signed.xml, &latin1_encode("<CmnaRecep>ÑUÑOA</CmnaRecep>").unwrap()));
    assert!(contains(
        &signed.xml,
        &latin1_encode("<NmbItem>Servicio de soporte \"Ñandú\" &lt;nivel 1&gt; &amp; más</NmbItem>").unwrap()
    ));
    // Read back with libxml: the text is what the request said.
    let parsed = libxml::parser::Parser::default().parse_string(&signed.xml).unwrap();
    let context = libxml::xpath::Context::new(&parsed).unwrap();
    let text_of = |xpath: &str| context.evaluate(xpath).unwrap().get_nodes_as_vec()[0].get_content();
    assert_eq!(text_of("//*[local-name()='NmbItem']"), "Servicio de soporte \"Ñandú\" <nivel 1> & más");
    assert_eq!(text_of("//*[local-name()='CmnaRecep']"), "ÑUÑOA");
    assert_eq!(text_of("//*[local-name()='DirRecep']"), "AV. PRUEBA 456, DEPTO \"B\"");
    assert_eq!(text_of("//*[local-name()='Contacto']"), "José Muñoz");
    assert_eq!(text_of("//*[local-name()='RSR']"), "CLIENTE & HIJOS LTDA");
    // IT1 is the item's first 40 characters, trailing blank included.
    assert_eq!(text_of("//*[local-name()='IT1']"), "Servicio de soporte \"Ñandú\" <nivel 1> & ");
}

#[test]
fn characters_outside_iso_8859_1_are_mapped_or_refused() {
    let mut value = request_value(DteType::Factura);
    value["lines"][0]["description"] = "Plan “Premium” – anual…".into();
    let signed =
        build_signed_dte(&request_from_value(&value), 6, &caf(DteType::Factura), &signer(), &schemas(), stamped_at())
            .unwrap();
    assert!(contains(&signed.xml, b"<DscItem>Plan \"Premium\" - anual...</DscItem>"));

    let mut value = request_value(DteType::Factura);
    value["lines"][0]["description"] = "Precio en €".into();
    let error = request_from_value(&value).validate().unwrap_err();
    assert_eq!(error.field(), Some("lines[0].description"));
}

// ---------------------------------------------------------------------------------------------
// Certificates

#[test]
fn pkcs12_pem_and_legacy_rc2_40_pfx_all_load() {
    let from_p12 = signer();
    assert_eq!(from_p12.rut().to_string(), "11111111-1");
    assert_eq!(from_p12.holder_name(), "USUARIO DE PRUEBA SINTETICO");
    assert!(from_p12.not_after().is_some());

    let from_pem = dte_sidecar::dte::Signer::from_pem(
        &fixture("keys/signer-11111111-1-cert.pem"),
        &fixture("keys/signer-11111111-1-key.pem"),
        None,
    )
    .unwrap();
    assert_eq!(from_pem.rut(), from_p12.rut());

    let committed =
        dte_sidecar::dte::Signer::from_pkcs12(&fixture("keys/signer-11111111-1-legacy-rc2-40.pfx"), P12_PASSWORD)
            .unwrap();
    assert_eq!(committed.rut().to_string(), "11111111-1");
}

#[test]
fn a_legacy_pfx_made_by_openssl_now_loads_and_signs() {
    let directory = scratch_dir("legacy-pfx");
    let pfx = directory.join("legacy.pfx");
    let cert = manifest_path("tests/fixtures/keys/signer-11111111-1-cert.pem");
    let key = manifest_path("tests/fixtures/keys/signer-11111111-1-key.pem");
    let (ok, output) = run_tool(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-legacy",
            "-certpbe",
            "PBE-SHA1-RC2-40",
            "-keypbe",
            "PBE-SHA1-3DES",
            "-in",
            path_str(&cert),
            "-inkey",
            path_str(&key),
            "-out",
            path_str(&pfx),
            "-passout",
            "pass:s3cr3t-Ñ",
        ],
    );
    assert!(ok, "openssl pkcs12: {output}");
    // The file really is RC2-40: without the legacy provider the CLI cannot read it.
    let (ok, _) =
        run_tool("openssl", &["pkcs12", "-info", "-noout", "-in", path_str(&pfx), "-passin", "pass:s3cr3t-Ñ"]);
    assert!(!ok);

    let signer = dte_sidecar::dte::Signer::from_pkcs12(&std::fs::read(&pfx).unwrap(), "s3cr3t-Ñ").unwrap();
    let signed =
        build_signed_dte(&request(DteType::Factura), 8, &caf(DteType::Factura), &signer, &schemas(), stamped_at())
            .unwrap();
    let report = verify_document(&signed.xml, &schemas(), &test_trust()).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems());
}

#[test]
fn wrong_password_is_a_clear_error_without_the_password() {
    let password = "hunter2-wrong";
    let error = dte_sidecar::dte::Signer::from_pkcs12(&fixture("keys/signer-11111111-1.p12"), password).unwrap_err();
    assert_eq!(error.field(), Some("certificate"));
    assert_eq!(error.code(), "certificate");
    let message = error.to_string();
    assert!(message.contains("wrong password"), "{message}");
    assert!(!message.contains(password) && !format!("{error:?}").contains(password));

    let error = dte_sidecar::dte::Signer::from_pkcs12(&fixture("keys/signer-11111111-1-legacy-rc2-40.pfx"), password)
        .unwrap_err();
    assert!(error.to_string().contains("wrong password"), "{error}");

    let error = dte_sidecar::dte::Signer::from_pkcs12(b"not a certificate", "1234").unwrap_err();
    assert_eq!(error.field(), Some("certificate"));
}

#[test]
fn signer_debug_shows_no_key() {
    let debug = format!("{:?}", signer());
    assert!(debug.contains("11111111-1"));
    assert!(!debug.contains("PRIVATE") && !debug.contains("key_pem"));
}

// ---------------------------------------------------------------------------------------------
// getToken

#[test]
fn get_token_request_is_signed_and_verifiable() {
    let signed = dte_sidecar::dte::sign_get_token_request("012345678901", &signer()).unwrap();
    assert!(contains(&signed, b"<getToken><item><Semilla>012345678901</Semilla></item><Signature"));
    assert!(contains(&signed, b"<Reference URI=\"\">"));
    let directory = scratch_dir("gettoken");
    let file = directory.join("gettoken.xml");
    std::fs::write(&file, &signed).unwrap();
    let (ok, output) = run_tool("xmlsec1", &["--verify", path_str(&file)]);
    assert!(ok, "xmlsec1: {output}");

    let verified = dte_sidecar::dte::verify_get_token_request(&signed).unwrap();
    assert_eq!(verified.seed, "012345678901");
    assert_eq!(verified.signer_rut, Some(Rut::parse("11111111-1").unwrap()));

    // The sample made with xmlsec1 verifies too; a changed seed does not.
    let sample = fixture("getToken-signed-SYNTHETIC.xml");
    assert_eq!(dte_sidecar::dte::verify_get_token_request(&sample).unwrap().seed, "012345678901");
    let forged = replace_once(&sample, b"012345678901", b"012345678902");
    let error = dte_sidecar::dte::verify_get_token_request(&forged).unwrap_err();
    assert_eq!(error.field(), Some("signature"));

    let error = dte_sidecar::dte::sign_get_token_request("12<3", &signer()).unwrap_err();
    assert_eq!(error.field(), Some("seed"));
}

// ---------------------------------------------------------------------------------------------
// Threads

#[test]
fn shared_keys_sign_on_many_threads_at_once() {
    let signer = Arc::new(signer());
    let cafs: Arc<Vec<Caf>> = Arc::new(DteType::ALL.into_iter().map(caf).collect());
    let schemas = Arc::new(schemas());
    let trust = Arc::new(test_trust());
    let workers: Vec<_> = (0..6)
        .map(|worker| {
            let (signer, cafs, schemas, trust) = (signer.clone(), cafs.clone(), schemas.clone(), trust.clone());
            std::thread::spawn(move || {
                for round in 0..10 {
                    let caf = &cafs[(worker + round) % cafs.len()];
                    let folio = (worker * 10 + round + 1) as i64;
                    let signed =
                        build_signed_dte(&request(caf.document_type()), folio, caf, &signer, &schemas, stamped_at())
                            .unwrap();
                    let report = verify_document(&signed.xml, &schemas, &trust).unwrap();
                    assert!(report.is_valid(), "{:?}", report.problems());
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
}

#[test]
fn every_documented_example_deserialises_and_builds() {
    for document_type in DteType::ALL {
        let request = request(document_type);
        assert_eq!(request.document_type, document_type.code());
        let totals = request.validate().unwrap();
        assert_eq!(totals.total, request.totals.total);
        build(document_type, 100);
    }
}
