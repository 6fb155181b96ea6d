//! A verifier for DTEs and EnvioDTEs from anywhere (ours, a peer's, the SII's own example).
//!
//! It checks, and reports separately: the schema; the envelope's cover against its content;
//! the `SetDTE` signature; and for each DTE the CAF (`FRMA` by a trusted SII key), the TED
//! (`FRMT` by the CAF's key, and `DD` agreeing with the document) and the DTE's own signature,
//! checked standalone. Signed bytes are taken from the file as written (whitespace between tags
//! removed); when that form cannot be matched to the elements (namespace prefixes, unusual
//! escaping), libxml's serialisation of the element is tried as well.

use serde::Serialize;

use super::caf::CafTrust;
use super::error::{DteError, DteResult};
use super::rut::Rut;
use super::sign::{signature_child, verify_signature};
use super::ted::verify_frmt;
use super::text::{compact_between_tags, latin1_decode, latin1_encode};
use super::xml::{decode_document, Node, XmlDoc, SII_NS_STR};
use super::xsd::{SchemaKind, Schemas};

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "reason", rename_all = "snake_case")]
pub enum Check {
    Passed,
    Failed(String),
}

impl Check {
    pub fn passed(&self) -> bool {
        matches!(self, Check::Passed)
    }

    fn from_result(result: Result<(), String>) -> Check {
        match result {
            Ok(()) => Check::Passed,
            Err(reason) => Check::Failed(reason),
        }
    }
}

/// What was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// An `EnvioDTE`.
    Envelope,
    /// A single `DTE`.
    Dte,
}

/// Everything checked about a file.
#[derive(Debug, Clone, Serialize)]
pub struct VerificationReport {
    pub kind: DocumentKind,
    /// Against `EnvioDTE_v10.xsd` or `DTE_v10.xsd`.
    pub schema: Check,
    /// Envelopes only: `SubTotDTE` counts and `RutEmisor` agree with the DTEs inside.
    pub cover: Option<Check>,
    /// Envelopes only: the signature over `SetDTE`.
    pub envelope_signature: Option<Check>,
    /// RUT in the envelope signer's certificate.
    pub envelope_signer_rut: Option<Rut>,
    pub documents: Vec<DocumentReport>,
}

/// Everything checked about one DTE.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentReport {
    /// `Documento/@ID`.
    pub id: Option<String>,
    pub document_type: Option<u16>,
    pub folio: Option<i64>,
    pub issuer_rut: Option<String>,
    pub total: Option<i64>,
    /// The CAF inside the TED carries a valid SII `FRMA`.
    pub caf: Check,
    /// `FRMT` verifies with the CAF's key and `DD` matches the document.
    pub ted: Check,
    /// The DTE's own signature, checked as a standalone document.
    pub signature: Check,
    /// RUT in the DTE signer's certificate.
    pub signer_rut: Option<Rut>,
}

impl VerificationReport {
    /// True when every check passed.
    pub fn is_valid(&self) -> bool {
        self.problems().is_empty()
    }

    /// One line per failed check.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut note = |what: &str, check: &Check| {
            if let Check::Failed(reason) = check {
                problems.push(format!("{what}: {reason}"));
            }
        };
        note("schema", &self.schema);
        if let Some(cover) = &self.cover {
            note("Caratula", cover);
        }
        if let Some(signature) = &self.envelope_signature {
            note("SetDTE signature", signature);
        }
        for document in &self.documents {
            let name = document.id.as_deref().unwrap_or("DTE");
            note(&format!("{name} CAF"), &document.caf);
            note(&format!("{name} TED"), &document.ted);
            note(&format!("{name} signature"), &document.signature);
        }
        problems
    }
}

/// Verifies an `EnvioDTE` or a `DTE`. Errors only when the input is not XML or not one of
/// these; every other finding is in the report.
pub fn verify_document(xml: &[u8], schemas: &Schemas, trust: &CafTrust) -> DteResult<VerificationReport> {
    let doc = XmlDoc::parse_for_verify(xml)?;
    let root = doc.root();
    // The SII's own free invoicing portal writes DTEs without the namespace, and so does
    // cutting a DTE out of an EnvioDTE by hand; what was signed is that form.
    let bare_dte = root.name() == "DTE" && root.namespace().is_none();
    let kind = if root.is("EnvioDTE", SII_NS_STR) {
        DocumentKind::Envelope
    } else if root.is("DTE", SII_NS_STR) || bare_dte {
        DocumentKind::Dte
    } else {
        return Err(DteError::MalformedXml(format!(
            "root element is <{}>, expected an EnvioDTE or a DTE in {SII_NS_STR}",
            root.name()
        )));
    };
    let schema = Check::from_result(if bare_dte {
        validate_in_sii_namespace(&doc, schemas)
    } else {
        schemas
            .validate(
                match kind {
                    DocumentKind::Envelope => SchemaKind::EnvioDte,
                    DocumentKind::Dte => SchemaKind::Dte,
                },
                &doc,
            )
            .map_err(|error| error.to_string())
    });
    let ids = doc.register_ids().map_err(|error| error.to_string());

    let set_dte = root.child("SetDTE");
    let dte_nodes: Vec<Node<'_>> = match kind {
        DocumentKind::Envelope => {
            set_dte.map(|set| set.children().filter(|child| child.name() == "DTE").collect()).unwrap_or_default()
        }
        DocumentKind::Dte => vec![root],
    };

    let raw_text = decode_document(xml);
    let raw_dd = spans(&raw_text, "<DD>", "</DD>");
    let raw_da = spans(&raw_text, "<DA>", "</DA>");
    let raw_usable = raw_dd.len() == dte_nodes.len() && raw_da.len() == dte_nodes.len();

    let documents: Vec<DocumentReport> = dte_nodes
        .iter()
        .enumerate()
        .map(|(index, dte)| {
            let raw = raw_usable.then(|| RawSpans { dd: raw_dd.get(index).copied(), da: raw_da.get(index).copied() });
            check_dte(&doc, *dte, raw, trust)
        })
        .collect();

    let (cover, envelope_signature, envelope_signer_rut) = match (kind, set_dte) {
        (DocumentKind::Envelope, Some(set)) => {
            let cover = Check::from_result(check_cover(set, &documents));
            let signature = check_envelope_signature(root, set, &ids);
            let (check, rut) = match signature {
                Ok(rut) => (Check::Passed, rut),
                Err(reason) => (Check::Failed(reason), None),
            };
            (Some(cover), Some(check), rut)
        }
        (DocumentKind::Envelope, None) => (
            Some(Check::Failed("EnvioDTE has no SetDTE".into())),
            Some(Check::Failed("EnvioDTE has no SetDTE".into())),
            None,
        ),
        (DocumentKind::Dte, _) => (None, None, None),
    };

    Ok(VerificationReport { kind, schema, cover, envelope_signature, envelope_signer_rut, documents })
}

/// Schema check of a DTE written without the SII namespace: the same document with the
/// namespace declared on its root.
fn validate_in_sii_namespace(doc: &XmlDoc, schemas: &Schemas) -> Result<(), String> {
    let bytes = doc.to_utf8().map_err(|error| error.to_string())?;
    let start = bytes.windows(4).position(|w| w == b"<DTE").ok_or("no DTE element")? + 4;
    let (head, tail) = bytes.split_at_checked(start).ok_or("no DTE element")?;
    let mut namespaced = head.to_vec();
    namespaced.extend_from_slice(format!(" xmlns=\"{SII_NS_STR}\"").as_bytes());
    namespaced.extend_from_slice(tail);
    let copy = XmlDoc::parse_for_verify(&namespaced).map_err(|error| error.to_string())?;
    schemas.validate(SchemaKind::Dte, &copy).map_err(|error| error.to_string())
}

fn check_envelope_signature(root: Node<'_>, set: Node<'_>, ids: &Result<(), String>) -> Result<Option<Rut>, String> {
    ids.clone()?;
    let id = set.attr("ID").ok_or("SetDTE has no ID")?;
    let signature = signature_child(root).ok_or("EnvioDTE has no Signature")?;
    verify_signature(signature, Some(&format!("#{id}"))).map(|found| found.signer_rut)
}

/// `RutEmisor` and the `SubTotDTE` counts must describe the DTEs actually inside.
fn check_cover(set: Node<'_>, documents: &[DocumentReport]) -> Result<(), String> {
    let cover = set.child("Caratula").ok_or("SetDTE has no Caratula")?;
    let issuer = cover.path_text(&["RutEmisor"]).unwrap_or_default();
    if let Some(other) =
        documents.iter().filter_map(|document| document.issuer_rut.as_deref()).find(|rut| rut.trim() != issuer.trim())
    {
        return Err(format!("RutEmisor is {issuer} but a DTE is issued by {other}"));
    }
    let mut declared: Vec<(u16, usize)> = cover
        .children()
        .filter(|child| child.name() == "SubTotDTE")
        .filter_map(|subtotal| {
            let kind = subtotal.path_text(&["TpoDTE"])?.trim().parse().ok()?;
            let count = subtotal.path_text(&["NroDTE"])?.trim().parse().ok()?;
            Some((kind, count))
        })
        .collect();
    declared.sort_unstable();
    let mut actual: Vec<(u16, usize)> = Vec::new();
    for kind in documents.iter().filter_map(|document| document.document_type) {
        match actual.iter_mut().find(|(known, _)| *known == kind) {
            Some((_, count)) => *count += 1,
            None => actual.push((kind, 1)),
        }
    }
    actual.sort_unstable();
    if declared != actual {
        return Err(format!("SubTotDTE declares {declared:?} (type, count) but the envelope holds {actual:?}"));
    }
    Ok(())
}

/// The `DD` and `DA` texts of one DTE as the file writes them.
#[derive(Clone, Copy)]
struct RawSpans<'a> {
    dd: Option<&'a str>,
    da: Option<&'a str>,
}

/// Every `start…end` span of `text`, in order.
fn spans<'a>(text: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(begin) = rest.find(start) {
        let Some(length) = rest[begin..].find(end) else {
            break;
        };
        let stop = begin + length + end.len();
        found.push(&text[offset + begin..offset + stop]);
        offset += stop;
        rest = &text[offset..];
    }
    found
}

/// The ways an element's signed bytes may be written: as the file has them, and as libxml
/// serialises the element — both compacted, in ISO-8859-1.
fn signed_forms(doc: &XmlDoc, node: Node<'_>, raw: Option<&str>) -> Vec<Vec<u8>> {
    let mut forms = Vec::new();
    if let Some(bytes) = raw.and_then(|text| latin1_encode(&compact_between_tags(text))) {
        forms.push(bytes);
    }
    if let Ok(serialised) = doc.node_to_latin1(node) {
        if let Some(bytes) = latin1_encode(&compact_between_tags(&latin1_decode(&serialised))) {
            if !forms.contains(&bytes) {
                forms.push(bytes);
            }
        }
    }
    forms
}

fn check_dte(doc: &XmlDoc, dte: Node<'_>, raw: Option<RawSpans<'_>>, trust: &CafTrust) -> DocumentReport {
    let Some(documento) = dte.child("Documento") else {
        let missing = Check::Failed("DTE has no Documento".into());
        return DocumentReport {
            id: None,
            document_type: None,
            folio: None,
            issuer_rut: None,
            total: None,
            caf: missing.clone(),
            ted: missing.clone(),
            signature: missing,
            signer_rut: None,
        };
    };
    let text = |path: &[&str]| documento.path_text(path).map(|value| value.trim().to_string());
    let id = documento.attr("ID");
    let (signature, signer_rut) = match check_dte_signature(dte, id.as_deref()) {
        Ok(rut) => (Check::Passed, rut),
        Err(reason) => (Check::Failed(reason), None),
    };
    let (caf, ted) = check_ted(doc, documento, raw, trust);
    DocumentReport {
        id,
        document_type: text(&["Encabezado", "IdDoc", "TipoDTE"]).and_then(|v| v.parse().ok()),
        folio: text(&["Encabezado", "IdDoc", "Folio"]).and_then(|v| v.parse().ok()),
        issuer_rut: text(&["Encabezado", "Emisor", "RUTEmisor"]),
        total: text(&["Encabezado", "Totales", "MntTotal"]).and_then(|v| v.parse().ok()),
        caf,
        ted,
        signature,
        signer_rut,
    }
}

/// The DTE is copied into a document of its own and checked there: inside an envelope the
/// envelope's namespace declarations would enter its canonical form. Some issuers sign
/// their DTEs where they stand, in the envelope's namespace context: that is tried next.
fn check_dte_signature(dte: Node<'_>, id: Option<&str>) -> Result<Option<Rut>, String> {
    let id = id.ok_or("Documento has no ID")?;
    let uri = format!("#{id}");
    let standalone = XmlDoc::copy_of(dte).map_err(|error| error.to_string())?;
    standalone.register_ids().map_err(|error| error.to_string())?;
    let signature = signature_child(standalone.root()).ok_or("DTE has no Signature")?;
    let alone = verify_signature(signature, Some(&uri)).map(|found| found.signer_rut);
    if alone.is_ok() || dte.is_root() {
        return alone;
    }
    match signature_child(dte).map(|signature| verify_signature(signature, Some(&uri))) {
        Some(Ok(found)) => Ok(found.signer_rut),
        _ => alone,
    }
}

/// Returns (CAF check, TED check).
fn check_ted(doc: &XmlDoc, documento: Node<'_>, raw: Option<RawSpans<'_>>, trust: &CafTrust) -> (Check, Check) {
    let Some(ted) = documento.child("TED") else {
        let missing = Check::Failed("Documento has no TED".into());
        return (missing.clone(), missing);
    };
    let (Some(dd), Some(frmt)) = (ted.child("DD"), ted.child("FRMT")) else {
        let missing = Check::Failed("TED lacks DD or FRMT".into());
        return (missing.clone(), missing);
    };
    let Some(da) = dd.path(&["CAF", "DA"]) else {
        let missing = Check::Failed("DD has no CAF/DA".into());
        return (missing.clone(), missing);
    };
    let raw_dd = raw.and_then(|spans| spans.dd);
    let raw_da = raw.and_then(|spans| spans.da);

    let caf_check = Check::from_result(check_caf_signature(doc, dd, da, raw_da, trust));
    let ted_check = Check::from_result(
        caf_public_key(da)
            .and_then(|key| {
                if frmt.attr("algoritmo").as_deref() != Some("SHA1withRSA") {
                    return Err("FRMT algorithm is not SHA1withRSA".to_string());
                }
                let signature = frmt.text();
                let verified = signed_forms(doc, dd, raw_dd).iter().any(|bytes| verify_frmt(bytes, &signature, &key));
                if verified {
                    Ok(())
                } else {
                    Err("FRMT does not verify with the CAF's key over DD".into())
                }
            })
            .and_then(|()| check_dd_matches_document(documento, dd, da)),
    );
    (caf_check, ted_check)
}

fn check_caf_signature(
    doc: &XmlDoc,
    dd: Node<'_>,
    da: Node<'_>,
    raw_da: Option<&str>,
    trust: &CafTrust,
) -> Result<(), String> {
    let idk: i64 = da.path_text(&["IDK"]).and_then(|text| text.trim().parse().ok()).ok_or("DA has no IDK")?;
    if !trust.knows(idk) {
        return Err(format!("no trusted SII key for IDK {idk}"));
    }
    let frma = dd.path_text(&["CAF", "FRMA"]).ok_or("CAF has no FRMA")?;
    let compact: String = frma.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let signature = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, compact)
        .map_err(|_| "FRMA is not base64")?;
    let verified = signed_forms(doc, da, raw_da).iter().any(|bytes| trust.verifies(idk, bytes, &signature));
    if verified {
        Ok(())
    } else {
        Err(format!("FRMA does not verify with the SII key for IDK {idk}"))
    }
}

fn caf_public_key(da: Node<'_>) -> Result<openssl::pkey::PKey<openssl::pkey::Public>, String> {
    let component = |name: &str| -> Result<openssl::bn::BigNum, String> {
        let text = da.path_text(&["RSAPK", name]).ok_or(format!("DA has no RSAPK/{name}"))?;
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, compact)
            .map_err(|_| format!("RSAPK/{name} is not base64"))?;
        openssl::bn::BigNum::from_slice(&bytes).map_err(|_| format!("RSAPK/{name} is not a number"))
    };
    let rsa = openssl::rsa::Rsa::from_public_components(component("M")?, component("E")?)
        .map_err(|_| "RSAPK is not an RSA key".to_string())?;
    openssl::pkey::PKey::from_rsa(rsa).map_err(|_| "RSAPK is not an RSA key".to_string())
}

/// `DD` must repeat the document's key values, and the folio must lie in the CAF's range.
fn check_dd_matches_document(documento: Node<'_>, dd: Node<'_>, da: Node<'_>) -> Result<(), String> {
    let document = |path: &[&str]| documento.path_text(path).map(|value| value.trim().to_string()).unwrap_or_default();
    let stamp = |name: &str| dd.path_text(&[name]).map(|value| value.trim().to_string()).unwrap_or_default();
    let pairs = [
        ("RE", "RUTEmisor", stamp("RE"), document(&["Encabezado", "Emisor", "RUTEmisor"])),
        ("TD", "TipoDTE", stamp("TD"), document(&["Encabezado", "IdDoc", "TipoDTE"])),
        ("F", "Folio", stamp("F"), document(&["Encabezado", "IdDoc", "Folio"])),
        ("FE", "FchEmis", stamp("FE"), document(&["Encabezado", "IdDoc", "FchEmis"])),
        ("RR", "RUTRecep", stamp("RR"), document(&["Encabezado", "Receptor", "RUTRecep"])),
        ("MNT", "MntTotal", stamp("MNT"), document(&["Encabezado", "Totales", "MntTotal"])),
    ];
    for (stamp_name, document_name, stamped, written) in pairs {
        if stamped != written {
            return Err(format!("DD/{stamp_name} is '{stamped}' but {document_name} is '{written}'"));
        }
    }
    let caf_value = |path: &[&str]| da.path_text(path).map(|value| value.trim().to_string());
    if caf_value(&["RE"]).as_deref() != Some(stamp("RE").as_str()) {
        return Err("the CAF belongs to another issuer than DD/RE".into());
    }
    if caf_value(&["TD"]).as_deref() != Some(stamp("TD").as_str()) {
        return Err("the CAF is for another type than DD/TD".into());
    }
    let folio: i64 = stamp("F").parse().map_err(|_| "DD/F is not a folio")?;
    let bound = |name: &str| -> Result<i64, String> {
        caf_value(&["RNG", name]).and_then(|value| value.parse().ok()).ok_or(format!("CAF RNG/{name} is not a folio"))
    };
    let (first, last) = (bound("D")?, bound("H")?);
    if !(first..=last).contains(&folio) {
        return Err(format!("folio {folio} is outside the CAF range {first}–{last}"));
    }
    Ok(())
}
