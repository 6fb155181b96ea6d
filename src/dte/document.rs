//! One DTE: built from a validated request, stamped with the TED, signed on its own, validated
//! against `DTE_v10.xsd`, serialised in ISO-8859-1.

use std::fmt;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};

use super::caf::Caf;
use super::error::{DteError, DteResult};
use super::model::{AdjustmentKind, AdjustmentUnit, AppliesTo, DteRequest, DteType, PreparedDte, IVA_RATE_PERCENT};
use super::rut::Rut;
use super::sign::{sign_enveloped, SignedPart, Signer};
use super::ted::{write_ted, TedFields, TED_TEXT_MAX_CHARS, TIMESTAMP_FORMAT};
use super::text::first_chars;
use super::xml::{declared_encoding, Node, XmlDoc, SII_NS};
use super::xsd::{SchemaKind, Schemas};

/// A signed DTE ready to be stored and put in an envelope.
#[derive(Clone)]
pub struct SignedDte {
    /// The `<DTE>` document, ISO-8859-1, with its XML declaration.
    pub xml: Vec<u8>,
    /// `Documento/@ID`, e.g. `F60T33`.
    pub document_id: String,
    pub document_type: DteType,
    pub folio: i64,
    pub issuer_rut: Rut,
    pub receiver_rut: Rut,
    pub issue_date: NaiveDate,
    /// `MntTotal`.
    pub total: i64,
}

impl fmt::Debug for SignedDte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedDte")
            .field("document_id", &self.document_id)
            .field("document_type", &self.document_type.code())
            .field("folio", &self.folio)
            .field("issuer_rut", &self.issuer_rut)
            .field("total", &self.total)
            .field("xml_bytes", &self.xml.len())
            .finish()
    }
}

impl SignedDte {
    /// Reads the facts an envelope needs back from stored DTE bytes. Does not verify the
    /// signature (use [`verify_document`](super::verify::verify_document) for that).
    /// A DTE stored in another encoding is re-serialised in ISO-8859-1, which keeps its
    /// signature valid (signatures cover the canonical form, not the encoding).
    pub fn from_xml(xml: Vec<u8>) -> DteResult<SignedDte> {
        let doc = XmlDoc::parse(&xml)?;
        let xml = if declared_encoding(&xml).as_deref() == Some("ISO-8859-1") { xml } else { doc.to_latin1()? };
        let root = doc.root();
        if root.name() != "DTE" {
            return Err(DteError::MalformedXml(format!("root element is <{}>, expected <DTE>", root.name())));
        }
        let documento = root.child("Documento").ok_or_else(|| DteError::MalformedXml("DTE has no Documento".into()))?;
        let read = |path: &[&str]| -> DteResult<String> {
            documento
                .path_text(path)
                .map(|text| text.trim().to_string())
                .ok_or_else(|| DteError::MalformedXml(format!("DTE has no {}", path.join("/"))))
        };
        let number = |path: &[&str]| -> DteResult<i64> {
            let text = read(path)?;
            text.parse().map_err(|_| DteError::MalformedXml(format!("{} is not a number: {text}", path.join("/"))))
        };
        let rut = |path: &[&str]| -> DteResult<Rut> {
            Rut::parse(&read(path)?).map_err(|error| DteError::MalformedXml(format!("{}: {error}", path.join("/"))))
        };
        let type_code = u16::try_from(number(&["Encabezado", "IdDoc", "TipoDTE"])?)
            .ok()
            .and_then(DteType::from_code)
            .ok_or_else(|| DteError::MalformedXml("TipoDTE is not 33, 34, 52, 56 or 61".into()))?;
        let issue_date = NaiveDate::parse_from_str(&read(&["Encabezado", "IdDoc", "FchEmis"])?, "%Y-%m-%d")
            .map_err(|_| DteError::MalformedXml("FchEmis is not a date".into()))?;
        Ok(SignedDte {
            document_id: documento.attr("ID").ok_or_else(|| DteError::MalformedXml("Documento has no ID".into()))?,
            document_type: type_code,
            folio: number(&["Encabezado", "IdDoc", "Folio"])?,
            issuer_rut: rut(&["Encabezado", "Emisor", "RUTEmisor"])?,
            receiver_rut: rut(&["Encabezado", "Receptor", "RUTRecep"])?,
            issue_date,
            total: number(&["Encabezado", "Totales", "MntTotal"])?,
            xml,
        })
    }
}

/// The `Documento/@ID` the engine gives a document: `F{folio}T{type}`, as in the SII's example.
pub fn document_id(document_type: DteType, folio: i64) -> String {
    format!("F{folio}T{}", document_type.code())
}

/// Builds, stamps, signs and validates one DTE.
///
/// Checks, in order: the request ([`DteRequest::validate`]); that the CAF belongs to the
/// issuer and the type (`caf.RE`, `caf.TD`); that `folio` is in its range (`folio`); that the
/// CAF has not expired on `stamped_at`'s date (`caf.FA`). `stamped_at` is written as `TSTED`
/// and `TmstFirma`. Nothing is returned unless every step succeeded, including schema
/// validation of the signed result, so a failed call leaves nothing half-made — but a caller
/// that reserved `folio` before calling must release or void it on error.
pub fn build_signed_dte(
    request: &DteRequest,
    folio: i64,
    caf: &Caf,
    signer: &Signer,
    schemas: &Schemas,
    stamped_at: NaiveDateTime,
) -> DteResult<SignedDte> {
    build(request, folio, caf, signer, schemas, stamped_at, None)
}

/// Time spent in each stage of [`build_signed_dte`], for benchmarks and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimings {
    /// Request validation and totals.
    pub validate: Duration,
    /// Building the XML tree (without the TED).
    pub build_xml: Duration,
    /// Writing `DD` and signing it with the CAF key (`FRMT`).
    pub ted: Duration,
    /// XMLDSig of the `Documento` (C14N, digests, RSA with the certificate's key).
    pub sign: Duration,
    /// Validation against `DTE_v10.xsd`.
    pub schema: Duration,
    /// Serialisation to ISO-8859-1 and the signed-equals-emitted check.
    pub serialise: Duration,
}

impl StageTimings {
    pub fn total(&self) -> Duration {
        self.validate + self.build_xml + self.ted + self.sign + self.schema + self.serialise
    }
}

/// [`build_signed_dte`], also reporting how long each stage took (measured with a monotonic
/// clock; business time still comes only from `stamped_at`).
pub fn build_signed_dte_timed(
    request: &DteRequest,
    folio: i64,
    caf: &Caf,
    signer: &Signer,
    schemas: &Schemas,
    stamped_at: NaiveDateTime,
) -> DteResult<(SignedDte, StageTimings)> {
    let mut timings = StageTimings::default();
    let signed = build(request, folio, caf, signer, schemas, stamped_at, Some(&mut timings))?;
    Ok((signed, timings))
}

/// Measures the stages when asked to.
struct Stopwatch<'a> {
    timings: Option<&'a mut StageTimings>,
    last: Option<Instant>,
}

impl Stopwatch<'_> {
    fn lap(&mut self, stage: fn(&mut StageTimings) -> &mut Duration) {
        if let (Some(timings), Some(last)) = (self.timings.as_deref_mut(), self.last) {
            let now = Instant::now();
            *stage(timings) += now - last;
            self.last = Some(now);
        }
    }
}

fn build(
    request: &DteRequest,
    folio: i64,
    caf: &Caf,
    signer: &Signer,
    schemas: &Schemas,
    stamped_at: NaiveDateTime,
    timings: Option<&mut StageTimings>,
) -> DteResult<SignedDte> {
    let mut stopwatch = Stopwatch { last: timings.as_ref().map(|_| Instant::now()), timings };
    let prepared = request.prepare()?;
    caf.check_belongs_to(prepared.issuer_rut, prepared.document_type)?;
    caf.check_folio(folio)?;
    caf.check_usable_on(stamped_at.date())?;
    stopwatch.lap(|t| &mut t.validate);

    let id = document_id(prepared.document_type, folio);
    let doc = XmlDoc::with_root(c"DTE", Some(SII_NS))?;
    let dte = doc.root();
    dte.set_attr(c"version", "1.0")?;
    dte.add_line_break()?;
    let documento = dte.add_element(c"Documento")?;
    documento.set_attr(c"ID", &id)?;
    documento.register_id_attribute(&doc, "ID", &id)?;
    documento.add_line_break()?;
    write_header(documento, &prepared, folio)?;
    for (index, line) in prepared.request.lines.iter().enumerate() {
        write_line(documento, index, line)?;
        documento.add_line_break()?;
    }
    write_global_adjustments(documento, &prepared.request)?;
    write_references(documento, &prepared.request)?;
    stopwatch.lap(|t| &mut t.build_xml);

    let request = &prepared.request;
    let first_item = request.lines.first().map(|line| line.name.as_str()).unwrap_or_default();
    let fields = TedFields {
        issuer_rut: prepared.issuer_rut,
        document_type: prepared.document_type.code(),
        folio,
        issue_date: request.issue_date,
        receiver_rut: prepared.receiver_rut,
        receiver_name: first_chars(&request.receiver.name, TED_TEXT_MAX_CHARS),
        total: prepared.totals.total,
        first_item: first_chars(first_item, TED_TEXT_MAX_CHARS),
        stamped_at,
    };
    let dd_bytes = write_ted(&doc, documento, &fields, caf)?;
    stopwatch.lap(|t| &mut t.ted);
    documento.add_line_break()?;
    documento.add_text(c"TmstFirma", &stamped_at.format(TIMESTAMP_FORMAT).to_string())?;
    dte.add_line_break()?;
    stopwatch.lap(|t| &mut t.build_xml);

    sign_enveloped(&doc, dte, SignedPart::ElementById(&id), signer)?;
    stopwatch.lap(|t| &mut t.sign);
    schemas.validate(SchemaKind::Dte, &doc)?;
    stopwatch.lap(|t| &mut t.schema);
    let xml = doc.to_latin1()?;
    if !contains(&xml, &dd_bytes) {
        return Err(DteError::Signing("the TED's signed bytes are not the emitted bytes".into()));
    }
    stopwatch.lap(|t| &mut t.serialise);
    Ok(SignedDte {
        xml,
        document_id: id,
        document_type: prepared.document_type,
        folio,
        issuer_rut: prepared.issuer_rut,
        receiver_rut: prepared.receiver_rut,
        issue_date: request.issue_date,
        total: prepared.totals.total,
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|window| window == needle)
}

fn add_optional(parent: Node<'_>, name: &std::ffi::CStr, value: Option<&String>) -> DteResult<()> {
    if let Some(text) = value {
        parent.add_text(name, text)?;
    }
    Ok(())
}

fn write_header(documento: Node<'_>, prepared: &PreparedDte, folio: i64) -> DteResult<()> {
    let request = &prepared.request;
    let header = documento.add_element(c"Encabezado")?;
    documento.add_line_break()?;

    let id_doc = header.add_element(c"IdDoc")?;
    id_doc.add_number(c"TipoDTE", prepared.document_type.code())?;
    id_doc.add_number(c"Folio", folio)?;
    id_doc.add_number(c"FchEmis", request.issue_date.format("%Y-%m-%d"))?;
    if let Some(transfer) = &request.transfer {
        if let Some(dispatch_type) = transfer.dispatch_type {
            id_doc.add_number(c"TipoDespacho", dispatch_type)?;
        }
        id_doc.add_number(c"IndTraslado", transfer.indicator)?;
    }
    if let Some(form) = request.payment_form {
        id_doc.add_number(c"FmaPago", form)?;
    }
    if let Some(due_date) = request.due_date {
        id_doc.add_number(c"FchVenc", due_date.format("%Y-%m-%d"))?;
    }

    let issuer = &request.issuer;
    let emisor = header.add_element(c"Emisor")?;
    emisor.add_number(c"RUTEmisor", prepared.issuer_rut)?;
    emisor.add_text(c"RznSoc", &issuer.name)?;
    emisor.add_text(c"GiroEmis", &issuer.giro)?;
    add_optional(emisor, c"Telefono", issuer.phone.as_ref())?;
    add_optional(emisor, c"CorreoEmisor", issuer.email.as_ref())?;
    for acteco in &issuer.actecos {
        emisor.add_number(c"Acteco", acteco)?;
    }
    add_optional(emisor, c"Sucursal", issuer.branch.as_ref())?;
    if let Some(code) = issuer.sii_branch_code {
        emisor.add_number(c"CdgSIISucur", code)?;
    }
    emisor.add_text(c"DirOrigen", &issuer.address)?;
    emisor.add_text(c"CmnaOrigen", &issuer.comuna)?;
    add_optional(emisor, c"CiudadOrigen", issuer.city.as_ref())?;
    add_optional(emisor, c"CdgVendedor", issuer.seller_code.as_ref())?;

    let receiver = &request.receiver;
    let receptor = header.add_element(c"Receptor")?;
    receptor.add_number(c"RUTRecep", prepared.receiver_rut)?;
    add_optional(receptor, c"CdgIntRecep", receiver.internal_code.as_ref())?;
    receptor.add_text(c"RznSocRecep", &receiver.name)?;
    add_optional(receptor, c"GiroRecep", receiver.giro.as_ref())?;
    add_optional(receptor, c"Contacto", receiver.contact.as_ref())?;
    add_optional(receptor, c"CorreoRecep", receiver.email.as_ref())?;
    receptor.add_text(c"DirRecep", &receiver.address)?;
    receptor.add_text(c"CmnaRecep", &receiver.comuna)?;
    add_optional(receptor, c"CiudadRecep", receiver.city.as_ref())?;

    if let Some(transport) = &request.transport {
        let transporte = header.add_element(c"Transporte")?;
        add_optional(transporte, c"Patente", transport.plate.as_ref())?;
        add_optional(transporte, c"RUTTrans", transport.carrier_rut.as_ref())?;
        if let Some(driver) = &transport.driver {
            let chofer = transporte.add_element(c"Chofer")?;
            chofer.add_text(c"RUTChofer", &driver.rut)?;
            chofer.add_text(c"NombreChofer", &driver.name)?;
        }
        add_optional(transporte, c"DirDest", transport.destination_address.as_ref())?;
        add_optional(transporte, c"CmnaDest", transport.destination_comuna.as_ref())?;
        add_optional(transporte, c"CiudadDest", transport.destination_city.as_ref())?;
    }

    let totals = &prepared.totals;
    let totales = header.add_element(c"Totales")?;
    if totals.net > 0 {
        totales.add_number(c"MntNeto", totals.net)?;
    }
    if totals.exempt > 0 {
        totales.add_number(c"MntExe", totals.exempt)?;
    }
    if totals.net > 0 {
        totales.add_number(c"TasaIVA", IVA_RATE_PERCENT)?;
        totales.add_number(c"IVA", totals.iva)?;
    }
    totales.add_number(c"MntTotal", totals.total)?;
    Ok(())
}

fn write_line(documento: Node<'_>, index: usize, line: &super::model::Line) -> DteResult<()> {
    let detalle = documento.add_element(c"Detalle")?;
    detalle.add_number(c"NroLinDet", index + 1)?;
    for code in &line.codes {
        let item_code = detalle.add_element(c"CdgItem")?;
        item_code.add_text(c"TpoCodigo", &code.kind)?;
        item_code.add_text(c"VlrCodigo", &code.value)?;
    }
    if line.exempt {
        detalle.add_number(c"IndExe", 1)?;
    }
    detalle.add_text(c"NmbItem", &line.name)?;
    add_optional(detalle, c"DscItem", line.description.as_ref())?;
    if let Some(quantity) = &line.quantity {
        detalle.add_number(c"QtyItem", quantity)?;
    }
    add_optional(detalle, c"UnmdItem", line.unit.as_ref())?;
    if let Some(price) = &line.unit_price {
        detalle.add_number(c"PrcItem", price)?;
    }
    if let Some(percent) = &line.discount_percent {
        detalle.add_number(c"DescuentoPct", percent)?;
    }
    if let Some(amount) = line.discount_amount {
        detalle.add_number(c"DescuentoMonto", amount)?;
    }
    if let Some(percent) = &line.surcharge_percent {
        detalle.add_number(c"RecargoPct", percent)?;
    }
    if let Some(amount) = line.surcharge_amount {
        detalle.add_number(c"RecargoMonto", amount)?;
    }
    detalle.add_number(c"MontoItem", line.amount)?;
    Ok(())
}

fn write_global_adjustments(documento: Node<'_>, request: &DteRequest) -> DteResult<()> {
    for (index, adjustment) in request.global_adjustments.iter().enumerate() {
        let element = documento.add_element(c"DscRcgGlobal")?;
        element.add_number(c"NroLinDR", index + 1)?;
        element.add_text(
            c"TpoMov",
            match adjustment.kind {
                AdjustmentKind::Discount => "D",
                AdjustmentKind::Surcharge => "R",
            },
        )?;
        add_optional(element, c"GlosaDR", adjustment.description.as_ref())?;
        element.add_text(
            c"TpoValor",
            match adjustment.unit {
                AdjustmentUnit::Percent => "%",
                AdjustmentUnit::Amount => "$",
            },
        )?;
        element.add_number(c"ValorDR", adjustment.value)?;
        if adjustment.applies_to == AppliesTo::Exempt {
            element.add_number(c"IndExeDR", 1)?;
        }
        documento.add_line_break()?;
    }
    Ok(())
}

fn write_references(documento: Node<'_>, request: &DteRequest) -> DteResult<()> {
    for (index, reference) in request.references.iter().enumerate() {
        let element = documento.add_element(c"Referencia")?;
        element.add_number(c"NroLinRef", index + 1)?;
        element.add_text(c"TpoDocRef", &reference.document_type)?;
        if reference.global {
            element.add_number(c"IndGlobal", 1)?;
        }
        element.add_text(c"FolioRef", &reference.folio)?;
        add_optional(element, c"RUTOtr", reference.other_rut.as_ref())?;
        element.add_number(c"FchRef", reference.date.format("%Y-%m-%d"))?;
        if let Some(code) = reference.code {
            element.add_number(c"CodRef", code)?;
        }
        add_optional(element, c"RazonRef", reference.reason.as_ref())?;
        documento.add_line_break()?;
    }
    Ok(())
}
