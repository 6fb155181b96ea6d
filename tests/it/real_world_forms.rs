//! The forms real SII documents are found in verify — a DTE without the SII namespace, a
//! `windows-1252` or ISO-8859-1 declaration over non-ASCII text, a DTE signed inside its
//! EnvioDTE in the envelope's namespace context — and a DTE whose certificate was replaced
//! does not. Each fixture in `tests/fixtures/real-world/` is checked by `xmlsec1` (with the
//! certificate's key only) and by `dte-sidecar verify-file`; the fixtures are what
//! [`generate`] makes (see the README beside them), and a test keeps them so.

use std::path::{Path, PathBuf};

use crate::common::engine::*;
use dte_sidecar::dte::{
    build_envio, build_signed_dte, latin1_decode, latin1_encode, sign_in_place, verify_document, Caratula, Check,
    DocumentKind, DteType, Resolution, Rut, SET_DTE_ID,
};

const SII_NS: &str = " xmlns=\"http://www.sii.cl/SiiDte\"";

/// A fixture: its file name, its bytes, whether it must verify.
struct Fixture {
    name: &'static str,
    xml: Vec<u8>,
    valid: bool,
}

fn dir() -> PathBuf {
    manifest_path("tests/fixtures/real-world")
}

/// The engine's own signed invoice (the example request of `docs/dte-json/33.json`, whose
/// texts hold ñ, á, é, ú, Ñ), as text.
fn engine_dte(folio: i64) -> String {
    let signed = build_signed_dte(
        &request(DteType::Factura),
        folio,
        &caf(DteType::Factura),
        &signer(),
        &schemas(),
        stamped_at(),
    )
    .unwrap();
    latin1_decode(&signed.xml)
}

/// The text with every `<Signature …>…</Signature>` taken out.
fn unsigned(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<Signature ") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("</Signature>").unwrap() + start + "</Signature>".len();
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The text with the SII namespace declaration taken off the first `<DTE>` start tag.
fn without_dte_namespace(text: &str) -> String {
    let start = text.find("<DTE ").unwrap();
    let end = start + text[start..].find('>').unwrap();
    let tag = text[start..end].replacen(SII_NS, "", 1);
    assert!(!tag.contains("xmlns"), "{tag}");
    format!("{}{tag}{}", &text[..start], &text[end..])
}

fn encode(text: &str) -> Vec<u8> {
    latin1_encode(text).unwrap()
}

/// The bytes between `<X509Certificate>` and `</X509Certificate>`.
fn certificate_span(text: &str) -> (usize, usize) {
    let start = text.find("<X509Certificate>").unwrap() + "<X509Certificate>".len();
    (start, start + text[start..].find("</X509Certificate>").unwrap())
}

/// Every fixture, made from the engine, the synthetic signer and CAF of `tests/fixtures/keys`.
fn generate() -> Vec<Fixture> {
    let signer = signer();
    // 1. As the SII's free portal writes a DTE, and as one cut out of an envelope whose
    //    root declared the namespace appears: no xmlns, signed in that form.
    let bare = without_dte_namespace(&unsigned(&engine_dte(1)));
    let bare = sign_in_place(&encode(&bare), "F1T33", &signer).unwrap();
    // 2. Declared windows-1252: the same bytes for every character these documents use.
    let windows = engine_dte(2).replacen("encoding=\"ISO-8859-1\"", "encoding=\"windows-1252\"", 1);
    // 3. Declared ISO-8859-1, as the SII writes its own.
    let latin1 = engine_dte(3);
    // 4. A DTE signed where it stands inside its EnvioDTE: it declares no namespace of its
    //    own, so the envelope's (xmlns and xmlns:xsi) enter the signed form. Then the
    //    envelope is signed over it.
    let documents =
        [build_signed_dte(&request(DteType::Factura), 4, &caf(DteType::Factura), &signer, &schemas(), stamped_at())
            .unwrap()];
    let caratula = Caratula::for_sii(
        Rut::parse("76000001-9").unwrap(),
        Resolution { number: 0, date: chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap() },
    )
    .unwrap();
    let envelope = build_envio(&documents, &caratula, &signer, &schemas(), stamped_at()).unwrap();
    let inherited = without_dte_namespace(&unsigned(&latin1_decode(&envelope)));
    let in_envelope = sign_in_place(&encode(&inherited), "F4T33", &signer).unwrap();
    let in_envelope = sign_in_place(&in_envelope, SET_DTE_ID, &signer).unwrap();
    // 5. A real DTE whose X509Certificate was replaced by another person's (the SII
    //    example's, RUT 7880442-4): its KeyValue still verifies the signature.
    let genuine = engine_dte(5);
    let official = latin1_decode(&fixture("official/F60T33-ejemplo-oficial-SII.xml"));
    let (from, to) = certificate_span(&official);
    let (at, end) = certificate_span(&genuine);
    let replaced = format!("{}{}{}", &genuine[..at], &official[from..to], &genuine[end..]);

    vec![
        Fixture { name: "DTE-T33-F1-sin-namespace.xml", xml: bare, valid: true },
        Fixture { name: "DTE-T33-F2-windows-1252.xml", xml: encode(&windows), valid: true },
        Fixture { name: "DTE-T33-F3-iso-8859-1.xml", xml: encode(&latin1), valid: true },
        Fixture { name: "EnvioDTE-T33-F4-firmado-en-el-sobre.xml", xml: in_envelope, valid: true },
        Fixture { name: "DTE-T33-F5-certificado-reemplazado.xml", xml: encode(&replaced), valid: false },
    ]
}

/// `REGENERATE_REAL_WORLD_FIXTURES=1 cargo test --test it real_world_forms::` rewrites them.
#[test]
fn the_fixtures_are_what_the_engine_makes() {
    let regenerate = std::env::var_os("REGENERATE_REAL_WORLD_FIXTURES").is_some();
    for fixture in generate() {
        let path = dir().join(fixture.name);
        if regenerate {
            std::fs::write(&path, &fixture.xml).unwrap();
        }
        let stored = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(stored == fixture.xml, "{} differs from what the generator makes", fixture.name);
    }
}

/// `xmlsec1 --verify` of the signature at `node` (an XPath), trusting only the synthetic
/// signer's certificate and taking the key from the certificate alone: a KeyValue that is
/// another key cannot pass.
fn xmlsec1(file: &Path, id_attr: &str, node: &str) -> (bool, String) {
    run_tool(
        "xmlsec1",
        &[
            "--verify",
            "--enabled-key-data",
            "x509",
            "--trusted-pem",
            path_str(&manifest_path("tests/fixtures/keys/signer-11111111-1-cert.pem")),
            "--id-attr:ID",
            id_attr,
            "--node-xpath",
            node,
            path_str(file),
        ],
    )
}

const DTE_SIGNATURE: &str = "//*[local-name()='DTE']/*[local-name()='Signature']";
const SET_SIGNATURE: &str = "/*[local-name()='EnvioDTE']/*[local-name()='Signature']";

#[test]
fn real_world_forms_verify_with_xmlsec1_and_the_verifier() {
    let eleven = Rut::parse("11111111-1").unwrap();
    for fixture in generate().into_iter().filter(|f| f.valid) {
        let path = dir().join(fixture.name);
        let (ok, output) = xmlsec1(&path, "Documento", DTE_SIGNATURE);
        assert!(ok && output.contains("OK"), "xmlsec1 {}: {output}", fixture.name);
        let report = verify_document(&std::fs::read(&path).unwrap(), &schemas(), &test_trust()).unwrap();
        assert!(report.is_valid(), "{}: {:?}", fixture.name, report.problems());
        assert_eq!(report.documents.len(), 1);
        assert_eq!(report.documents[0].signer_rut, Some(eleven), "{}", fixture.name);
        if report.kind == DocumentKind::Envelope {
            let (ok, output) = xmlsec1(&path, "SetDTE", SET_SIGNATURE);
            assert!(ok && output.contains("OK"), "xmlsec1 SetDTE {}: {output}", fixture.name);
            assert_eq!(report.envelope_signer_rut, Some(eleven));
        }
    }
    // The envelope's DTE was signed in the envelope's context: cut out alone, its signed
    // form lacks the envelope's xmlns:xsi, and the verifier does not pretend otherwise.
    let envelope = latin1_decode(&fixture("real-world/EnvioDTE-T33-F4-firmado-en-el-sobre.xml"));
    let cut = &envelope[envelope.find("<DTE ").unwrap()..envelope.find("</DTE>").unwrap() + "</DTE>".len()];
    let alone = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n{}",
        cut.replacen("<DTE ", &format!("<DTE{SII_NS} "), 1)
    );
    let report = verify_document(&encode(&alone), &schemas(), &test_trust()).unwrap();
    assert!(!report.documents[0].signature.passed());
}

#[test]
fn a_replaced_certificate_is_refused_by_xmlsec1_and_the_verifier() {
    let path = dir().join("DTE-T33-F5-certificado-reemplazado.xml");
    let file = path_str(&path);
    // With the KeyValue allowed, xmlsec1 accepts it: the key that signed is right there.
    let (ok, output) =
        run_tool("xmlsec1", &["--verify", "--id-attr:ID", "Documento", "--node-xpath", DTE_SIGNATURE, file]);
    assert!(ok, "xmlsec1 with KeyValue: {output}");
    // With the certificate's key only (its chain not judged), the signature does not match.
    let (ok, output) = run_tool(
        "xmlsec1",
        &[
            "--verify",
            "--insecure",
            "--enabled-key-data",
            "x509",
            "--id-attr:ID",
            "Documento",
            "--node-xpath",
            DTE_SIGNATURE,
            file,
        ],
    );
    assert!(!ok && output.contains("data do not match"), "xmlsec1 with the certificate's key: {output}");
    let report = verify_document(&std::fs::read(&path).unwrap(), &schemas(), &test_trust()).unwrap();
    assert!(
        matches!(&report.documents[0].signature, Check::Failed(reason) if reason.contains("certificate was replaced")),
        "{:?}",
        report.documents[0].signature
    );
    assert_eq!(report.documents[0].signer_rut, None);
    // The TED and CAF are intact: only the signer's identity is wrong.
    assert_eq!((&report.documents[0].ted, &report.documents[0].caf), (&Check::Passed, &Check::Passed));
}

#[test]
fn verify_file_accepts_the_real_world_forms_and_refuses_the_replaced_certificate() {
    let scratch = scratch_dir("real-world-verify-file");
    let config = offline_config(&scratch);
    let fixtures = generate();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_dte-sidecar"))
        .arg("--config")
        .arg(&config)
        .arg("verify-file")
        .args(fixtures.iter().map(|f| dir().join(f.name)))
        .env_remove("DTE_CONFIG")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), fixtures.len(), "{out}");
    for (line, fixture) in lines.iter().zip(&fixtures) {
        assert!(line.contains(fixture.name), "{line}");
        let expected = if fixture.valid { "OK\t" } else { "FAIL\t" };
        assert!(line.starts_with(expected), "{}: {line}", fixture.name);
    }
    assert!(lines[4].contains("certificate was replaced"), "{out}");
}
