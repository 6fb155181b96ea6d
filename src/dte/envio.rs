//! The EnvioDTE envelope: a `Caratula` and up to 2000 signed DTEs, signed over `SetDTE`.
//!
//! Each DTE was signed as a document of its own; its bytes are placed into the envelope
//! unchanged (minus the XML declaration), then the `SetDTE` is signed last. Checked in place,
//! an inner DTE's signature fails (the envelope's `xmlns:xsi` enters its C14N); checked
//! standalone it passes — as with the SII's own files.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};

use super::document::SignedDte;
use super::error::{DteError, DteResult};
use super::model::{DteType, Resolution};
use super::rut::Rut;
use super::sign::{sign_enveloped, SignedPart, Signer};
use super::ted::TIMESTAMP_FORMAT;
use super::xml::XmlDoc;
use super::xsd::{SchemaKind, Schemas};

/// The SII's RUT, the `RutReceptor` of every envelope sent to it.
pub const SII_RUT: &str = "60803000-K";

/// At most this many DTEs per envelope (`EnvioDTE_v10.xsd`).
pub const MAX_DTES_PER_ENVELOPE: usize = 2000;

/// The `ID` the engine gives `SetDTE`.
pub const SET_DTE_ID: &str = "SetDoc";

/// The envelope's cover. `RutEnvia` is the signer's RUT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caratula {
    /// `RutEmisor`: the company; every DTE must be its.
    pub issuer_rut: Rut,
    /// `RutReceptor`: the SII (`60803000-K`), or a receiving company for exchange envelopes.
    pub receiver_rut: Rut,
    /// `FchResol`: date of the SII resolution authorising the issuer.
    pub resolution_date: NaiveDate,
    /// `NroResol`: its number (0 in certification).
    pub resolution_number: u32,
}

impl Caratula {
    /// A cover for an envelope sent to the SII.
    pub fn for_sii(issuer_rut: Rut, resolution: Resolution) -> DteResult<Caratula> {
        Ok(Caratula {
            issuer_rut,
            receiver_rut: Rut::parse(SII_RUT).map_err(|error| DteError::Config(error.to_string()))?,
            resolution_date: resolution.date,
            resolution_number: resolution.number,
        })
    }
}

/// Builds and signs an EnvioDTE holding `documents` (1–2000, all of `caratula.issuer_rut`),
/// validates it against `EnvioDTE_v10.xsd`, and returns it in ISO-8859-1. `signed_at` becomes
/// `TmstFirmaEnv`.
pub fn build_envio(
    documents: &[SignedDte],
    caratula: &Caratula,
    signer: &Signer,
    schemas: &Schemas,
    signed_at: NaiveDateTime,
) -> DteResult<Vec<u8>> {
    if documents.is_empty() || documents.len() > MAX_DTES_PER_ENVELOPE {
        return Err(DteError::input(
            "documents",
            format!("an envelope holds 1 to {MAX_DTES_PER_ENVELOPE} DTEs, got {}", documents.len()),
        ));
    }
    let mut per_type: BTreeMap<DteType, usize> = BTreeMap::new();
    let mut seen_ids = std::collections::HashSet::new();
    for (index, document) in documents.iter().enumerate() {
        if document.issuer_rut != caratula.issuer_rut {
            return Err(DteError::input(
                format!("documents[{index}]"),
                format!(
                    "{} is issued by {}, the envelope is for {}",
                    document.document_id, document.issuer_rut, caratula.issuer_rut
                ),
            ));
        }
        if !seen_ids.insert(document.document_id.as_str()) {
            return Err(DteError::input(
                format!("documents[{index}]"),
                format!("{} appears twice", document.document_id),
            ));
        }
        *per_type.entry(document.document_type).or_default() += 1;
    }
    if caratula.resolution_number > 999_999 {
        return Err(DteError::input("caratula.resolution_number", "has more than 6 digits"));
    }

    let mut xml = Vec::with_capacity(documents.iter().map(|d| d.xml.len()).sum::<usize>() + 2048);
    xml.extend_from_slice(
        b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n\
          <EnvioDTE xmlns=\"http://www.sii.cl/SiiDte\" \
          xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
          xsi:schemaLocation=\"http://www.sii.cl/SiiDte EnvioDTE_v10.xsd\" version=\"1.0\">\n",
    );
    // Only RUTs, dates and numbers: nothing to escape.
    let mut cover = format!(
        "<SetDTE ID=\"{SET_DTE_ID}\">\n<Caratula version=\"1.0\">\n\
         <RutEmisor>{}</RutEmisor>\n<RutEnvia>{}</RutEnvia>\n<RutReceptor>{}</RutReceptor>\n\
         <FchResol>{}</FchResol>\n<NroResol>{}</NroResol>\n<TmstFirmaEnv>{}</TmstFirmaEnv>\n",
        caratula.issuer_rut,
        signer.rut(),
        caratula.receiver_rut,
        caratula.resolution_date.format("%Y-%m-%d"),
        caratula.resolution_number,
        signed_at.format(TIMESTAMP_FORMAT),
    );
    for (document_type, count) in &per_type {
        cover.push_str(&format!(
            "<SubTotDTE>\n<TpoDTE>{}</TpoDTE>\n<NroDTE>{count}</NroDTE>\n</SubTotDTE>\n",
            document_type.code()
        ));
    }
    cover.push_str("</Caratula>\n");
    xml.extend_from_slice(cover.as_bytes());
    for document in documents {
        xml.extend_from_slice(without_xml_declaration(&document.xml));
        xml.push(b'\n');
    }
    xml.extend_from_slice(b"</SetDTE>\n</EnvioDTE>\n");

    let doc = XmlDoc::parse_own(&xml)?;
    doc.register_ids()?;
    sign_enveloped(&doc, doc.root(), SignedPart::ElementById(SET_DTE_ID), signer)?;
    schemas.validate(SchemaKind::EnvioDte, &doc)?;
    doc.to_latin1()
}

/// The bytes after `<?xml …?>` and the line break that follows it.
fn without_xml_declaration(xml: &[u8]) -> &[u8] {
    if !xml.starts_with(b"<?xml") {
        return xml;
    }
    match xml.windows(2).position(|pair| pair == b"?>").and_then(|end| xml.get(end + 2..)) {
        Some(rest) => rest.trim_ascii_start(),
        None => xml,
    }
}
