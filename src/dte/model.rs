//! The DTE request: what the Odoo addon sends to have one document stamped and signed.
//!
//! The JSON is documented with one example per type in `docs/dte-json/`. Field names are
//! English except for Chilean terms accountants use as such (`giro`, `comuna`, `acteco`, `iva`);
//! each field's doc names the SII element it becomes.
//!
//! [`DteRequest::validate`] checks everything the engine can know before stamping — required
//! fields per type, RUTs, text lengths and characters, the arithmetic of every line and of the
//! totals — and names the field at fault (`totals.iva: expected 1900, got 1901`).

use crate::message::Message;
use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};

use super::error::{DteError, DteResult};
use super::rut::Rut;
use super::text::{clean_required_text, clean_text, Decimal};

/// The document types this engine issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DteType {
    /// 33 — Factura electrónica.
    Factura,
    /// 34 — Factura no afecta o exenta electrónica.
    FacturaExenta,
    /// 52 — Guía de despacho electrónica.
    GuiaDespacho,
    /// 56 — Nota de débito electrónica.
    NotaDebito,
    /// 61 — Nota de crédito electrónica.
    NotaCredito,
}

impl DteType {
    pub const ALL: [DteType; 5] =
        [DteType::Factura, DteType::FacturaExenta, DteType::GuiaDespacho, DteType::NotaDebito, DteType::NotaCredito];

    /// The SII code (`TipoDTE`).
    pub fn code(self) -> u16 {
        match self {
            DteType::Factura => 33,
            DteType::FacturaExenta => 34,
            DteType::GuiaDespacho => 52,
            DteType::NotaDebito => 56,
            DteType::NotaCredito => 61,
        }
    }

    pub fn from_code(code: u16) -> Option<DteType> {
        DteType::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// Same as [`DteType::from_code`].
    pub fn new(code: u16) -> Option<DteType> {
        DteType::from_code(code)
    }

    /// The SII code as text, as the tables and Odoo keep it (`"33"`).
    pub fn as_str(self) -> &'static str {
        match self {
            DteType::Factura => "33",
            DteType::FacturaExenta => "34",
            DteType::GuiaDespacho => "52",
            DteType::NotaDebito => "56",
            DteType::NotaCredito => "61",
        }
    }

    /// A short English name for messages.
    pub fn description(self) -> &'static str {
        match self {
            DteType::Factura => "invoice (33)",
            DteType::FacturaExenta => "exempt invoice (34)",
            DteType::GuiaDespacho => "dispatch guide (52)",
            DteType::NotaDebito => "debit note (56)",
            DteType::NotaCredito => "credit note (61)",
        }
    }

    fn needs_reference(self) -> bool {
        matches!(self, DteType::NotaDebito | DteType::NotaCredito)
    }
}

impl std::fmt::Display for DteType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DteType {
    type Err = ();
    fn from_str(text: &str) -> Result<Self, ()> {
        text.trim().parse::<u16>().ok().and_then(DteType::from_code).ok_or(())
    }
}

/// Read the way Odoo callers send it: `33` or `"33"`.
impl<'de> Deserialize<'de> for DteType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Code;
        impl serde::de::Visitor<'_> for Code {
            type Value = DteType;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("one of 33, 34, 52, 56, 61")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DteType, E> {
                v.parse().map_err(|()| E::custom(format!("expected one of 33, 34, 52, 56, 61, got '{v}'")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<DteType, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<DteType, E> {
                self.visit_str(&v.to_string())
            }
        }
        deserializer.deserialize_any(Code)
    }
}

/// The IVA rate in percent (DL 825 art. 14; 19 % since 2003-10-01).
pub const IVA_RATE_PERCENT: i64 = 19;

/// One document to stamp. Unknown JSON fields are refused, so a typo in the addon shows up as
/// an error instead of a silently missing value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DteRequest {
    /// `TipoDTE`: 33, 34, 52, 56 or 61.
    pub document_type: u16,
    /// `FchEmis`.
    pub issue_date: NaiveDate,
    /// `FmaPago`: 1 contado, 2 crédito, 3 sin costo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_form: Option<u8>,
    /// `FchVenc`: due date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<NaiveDate>,
    /// Dispatch guide (52) only: `IndTraslado` and `TipoDespacho`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<Transfer>,
    pub issuer: Issuer,
    pub receiver: Receiver,
    /// `Transporte`: vehicle, driver and destination (mostly for 52).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// `Detalle`: 1 to 60 lines.
    pub lines: Vec<Line>,
    /// `DscRcgGlobal`: global discounts and surcharges, up to 20.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub global_adjustments: Vec<GlobalAdjustment>,
    /// `Totales`, as the addon computed them; the engine recomputes and compares.
    pub totals: Totals,
    /// `Referencia`: up to 40; 56 and 61 need at least one with a `code`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
}

/// `IndTraslado` / `TipoDespacho` of a dispatch guide.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// `IndTraslado` 1–9: 1 sale, 2 sale to be made, 3 consignment, 4 free delivery,
    /// 5 internal transfer, 6 other non-sale, 7 return, 8 export transfer, 9 export sale.
    pub indicator: u8,
    /// `TipoDespacho` 1–3: 1 by the receiver, 2 by the issuer to the receiver, 3 by the issuer
    /// to another place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch_type: Option<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issuer {
    /// `RUTEmisor`; must be the CAF's `RE`.
    pub rut: String,
    /// `RznSoc` (≤ 100).
    pub name: String,
    /// `GiroEmis` (≤ 80).
    pub giro: String,
    /// `Acteco`: 1 to 4 economic activity codes (≤ 6 digits).
    pub actecos: Vec<u32>,
    /// `Telefono` (≤ 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// `CorreoEmisor` (≤ 80).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `Sucursal` (≤ 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// `CdgSIISucur`: the SII's branch code (≤ 9 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sii_branch_code: Option<u32>,
    /// `DirOrigen` (≤ 70).
    pub address: String,
    /// `CmnaOrigen` (≤ 20).
    pub comuna: String,
    /// `CiudadOrigen` (≤ 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// `CdgVendedor` (≤ 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_code: Option<String>,
    /// The SII resolution authorising the company to issue DTEs; not part of the DTE, used for
    /// the envelope's `Caratula` (`FchResol`, `NroResol`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
}

/// `NroResol` / `FchResol` (number 0 in certification).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    pub number: u32,
    pub date: NaiveDate,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    /// `RUTRecep`.
    pub rut: String,
    /// `CdgIntRecep`: the issuer's own code for the receiver (≤ 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_code: Option<String>,
    /// `RznSocRecep` (≤ 100); its first 40 characters are the TED's `RSR`.
    pub name: String,
    /// `GiroRecep` (≤ 40); required for 33, 34, 56 and 61.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub giro: Option<String>,
    /// `Contacto` (≤ 80).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// `CorreoRecep` (≤ 80).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `DirRecep` (≤ 70); required.
    pub address: String,
    /// `CmnaRecep` (≤ 20); required.
    pub comuna: String,
    /// `CiudadRecep` (≤ 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transport {
    /// `Patente`: vehicle plate (≤ 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plate: Option<String>,
    /// `RUTTrans`: carrier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_rut: Option<String>,
    /// `Chofer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<Driver>,
    /// `DirDest` (≤ 70).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_address: Option<String>,
    /// `CmnaDest` (≤ 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_comuna: Option<String>,
    /// `CiudadDest` (≤ 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_city: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Driver {
    /// `RUTChofer`.
    pub rut: String,
    /// `NombreChofer` (≤ 30).
    pub name: String,
}

/// One `Detalle` line. Amounts are whole pesos.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// `CdgItem`: up to 5 item codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<ItemCode>,
    /// `IndExe` 1: the line is exempt from IVA (all lines of a 34 are).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exempt: bool,
    /// `NmbItem` (≤ 80); the first line's first 40 characters are the TED's `IT1`.
    pub name: String,
    /// `DscItem` (≤ 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `QtyItem` (> 0, ≤ 12 integer and 6 fraction digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Decimal>,
    /// `UnmdItem` (≤ 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// `PrcItem`: unit price (> 0, ≤ 12 integer and 6 fraction digits); omit for free items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Decimal>,
    /// `DescuentoPct` (up to 2 decimals); requires `discount_amount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<Decimal>,
    /// `DescuentoMonto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_amount: Option<i64>,
    /// `RecargoPct` (up to 2 decimals); requires `surcharge_amount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surcharge_percent: Option<Decimal>,
    /// `RecargoMonto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surcharge_amount: Option<i64>,
    /// `MontoItem` = round(quantity × unit_price) − discount + surcharge.
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemCode {
    /// `TpoCodigo` (≤ 10), e.g. `INT1`, `EAN13`.
    pub kind: String,
    /// `VlrCodigo` (≤ 35).
    pub value: String,
}

/// `TpoMov`: D or R.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKind {
    Discount,
    Surcharge,
}

/// `TpoValor`: % or $.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentUnit {
    Percent,
    Amount,
}

/// Which lines a global adjustment applies to (`IndExeDR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliesTo {
    /// The taxable lines (no `IndExeDR`).
    #[default]
    Taxable,
    /// The exempt lines (`IndExeDR` 1).
    Exempt,
}

/// One `DscRcgGlobal`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalAdjustment {
    pub kind: AdjustmentKind,
    pub unit: AdjustmentUnit,
    /// `ValorDR`: a percentage (2 decimals) of the line sum it applies to, or whole pesos.
    pub value: Decimal,
    /// `GlosaDR` (≤ 45).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub applies_to: AppliesTo,
}

/// `Totales`. Omitted amounts count as "none"; the engine writes only the elements that apply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    /// `MntNeto`: taxable lines − taxable discounts + taxable surcharges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net: Option<i64>,
    /// `MntExe`: exempt lines − exempt discounts + exempt surcharges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exempt: Option<i64>,
    /// `TasaIVA`: 19 when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iva_rate: Option<Decimal>,
    /// `IVA`: round(net × 19 / 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iva: Option<i64>,
    /// `MntTotal`: net + exempt + iva.
    pub total: i64,
}

/// One `Referencia`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// `TpoDocRef` (≤ 3): a DTE type (`33`) or another code (`801` purchase order, `HES`, `SET`).
    #[serde(deserialize_with = "string_or_number")]
    pub document_type: String,
    /// `IndGlobal` 1: the reference covers a range of documents.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub global: bool,
    /// `FolioRef` (≤ 18).
    #[serde(deserialize_with = "string_or_number")]
    pub folio: String,
    /// `RUTOtr`: issuer of the referenced document when it is another company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_rut: Option<String>,
    /// `FchRef`.
    pub date: NaiveDate,
    /// `CodRef`: 1 cancels the referenced document, 2 corrects its text, 3 corrects amounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u8>,
    /// `RazonRef` (≤ 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(text) => Ok(text),
        serde_json::Value::Number(number) => Ok(number.to_string()),
        _ => Err(serde::de::Error::custom("expected a string or a number")),
    }
}

/// The totals as the engine computed them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComputedTotals {
    pub net: i64,
    pub exempt: i64,
    pub iva: i64,
    pub total: i64,
}

/// A request that passed validation: texts cleaned, RUTs parsed, totals computed.
#[derive(Debug, Clone)]
pub(crate) struct PreparedDte {
    pub(crate) request: DteRequest,
    pub(crate) document_type: DteType,
    pub(crate) issuer_rut: Rut,
    pub(crate) receiver_rut: Rut,
    pub(crate) totals: ComputedTotals,
}

// Limits from DTE_v10.xsd / SiiTypes_v10.xsd.
const MAX_LINES: usize = 60;
const MAX_GLOBAL_ADJUSTMENTS: usize = 20;
const MAX_REFERENCES: usize = 40;
const MAX_ACTECOS: usize = 4;
const MAX_ITEM_CODES: usize = 5;
/// `MontoType`: at most 18 digits.
const MAX_AMOUNT: i64 = 999_999_999_999_999_999;

impl DteRequest {
    /// Reads a request from JSON; an error names the JSON path that failed
    /// (`lines[0].quantity: …`).
    pub fn from_json(json: &[u8]) -> DteResult<DteRequest> {
        let deserializer = &mut serde_json::Deserializer::from_slice(json);
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let path = error.path().to_string();
            let field = if path == "." { "request".to_string() } else { path };
            DteError::refused(Message::request_shape(field, error.into_inner().to_string()))
        })
    }

    /// The document type, if supported.
    pub fn dte_type(&self) -> DteResult<DteType> {
        DteType::from_code(self.document_type)
            .ok_or_else(|| DteError::refused(Message::type_unsupported("document_type", u32::from(self.document_type))))
    }

    /// Checks the whole request; the error names the first field at fault.
    pub fn validate(&self) -> DteResult<ComputedTotals> {
        self.prepare().map(|prepared| prepared.totals)
    }

    pub(crate) fn prepare(&self) -> DteResult<PreparedDte> {
        let document_type = self.dte_type()?;
        let mut request = self.clone();
        let issuer_rut = parse_rut("issuer.rut", &request.issuer.rut)?;
        let receiver_rut = parse_rut("receiver.rut", &request.receiver.rut)?;
        check_date("issue_date", request.issue_date)?;
        if let Some(due_date) = request.due_date {
            check_date("due_date", due_date)?;
        }
        if let Some(form) = request.payment_form {
            if !(1..=3).contains(&form) {
                return Err(DteError::refused(Message::field_range("payment_form", 1, 3)));
            }
        }
        check_transfer(document_type, request.transfer.as_ref())?;
        request.issuer.clean()?;
        request.receiver.clean(document_type)?;
        if let Some(transport) = request.transport.as_mut() {
            transport.clean()?;
        }
        check_lines(document_type, &mut request.lines)?;
        check_adjustments(&mut request.global_adjustments)?;
        check_references(document_type, &mut request.references)?;
        let totals = compute_totals(&request)?;
        compare_totals(document_type, &request.totals, &totals)?;
        Ok(PreparedDte { request, document_type, issuer_rut, receiver_rut, totals })
    }
}

fn parse_rut(field: &str, text: &str) -> DteResult<Rut> {
    Rut::parse(text).map_err(|error| DteError::refused(Message::rut_invalid(field, error.to_string())))
}

/// `FechaType` spans 2000-01-01 to 2050-12-31.
fn check_date(field: &str, date: NaiveDate) -> DteResult<()> {
    let in_range = NaiveDate::from_ymd_opt(2000, 1, 1).is_some_and(|first| date >= first)
        && NaiveDate::from_ymd_opt(2050, 12, 31).is_some_and(|last| date <= last);
    if in_range {
        Ok(())
    } else {
        Err(DteError::refused(Message::date_range(field, date.to_string())))
    }
}

fn clean_optional(field: &str, value: &mut Option<String>, max_chars: usize) -> DteResult<()> {
    if let Some(text) = value.as_mut() {
        *text = clean_text(field, text, max_chars)?;
        if text.is_empty() {
            *value = None;
        }
    }
    Ok(())
}

fn clean_required(field: &str, value: &mut String, max_chars: usize) -> DteResult<()> {
    *value = clean_required_text(field, value, max_chars)?;
    Ok(())
}

fn check_transfer(document_type: DteType, transfer: Option<&Transfer>) -> DteResult<()> {
    match (document_type, transfer) {
        (DteType::GuiaDespacho, None) => Err(DteError::refused(Message::guide_needs_transfer("transfer.indicator"))),
        (DteType::GuiaDespacho, Some(transfer)) => {
            if !(1..=9).contains(&transfer.indicator) {
                return Err(DteError::refused(Message::field_range("transfer.indicator", 1, 9)));
            }
            if let Some(kind) = transfer.dispatch_type {
                if !(1..=3).contains(&kind) {
                    return Err(DteError::refused(Message::field_range("transfer.dispatch_type", 1, 3)));
                }
            }
            Ok(())
        }
        (_, Some(_)) => Err(DteError::refused(Message::transfer_only_guide("transfer", document_type.as_str()))),
        (_, None) => Ok(()),
    }
}

impl Issuer {
    fn clean(&mut self) -> DteResult<()> {
        clean_required("issuer.name", &mut self.name, 100)?;
        clean_required("issuer.giro", &mut self.giro, 80)?;
        if self.actecos.is_empty() || self.actecos.len() > MAX_ACTECOS {
            return Err(DteError::refused(Message::actecos_count("issuer.actecos", MAX_ACTECOS)));
        }
        for (index, acteco) in self.actecos.iter().enumerate() {
            if *acteco == 0 || *acteco > 999_999 {
                return Err(DteError::refused(Message::acteco_invalid(format!("issuer.actecos[{index}]"), *acteco)));
            }
        }
        clean_optional("issuer.phone", &mut self.phone, 20)?;
        clean_optional("issuer.email", &mut self.email, 80)?;
        clean_optional("issuer.branch", &mut self.branch, 20)?;
        if let Some(code) = self.sii_branch_code {
            if code == 0 || code > 999_999_999 {
                return Err(DteError::refused(Message::digits_range("issuer.sii_branch_code", 1, 9)));
            }
        }
        clean_required("issuer.address", &mut self.address, 70)?;
        clean_required("issuer.comuna", &mut self.comuna, 20)?;
        clean_optional("issuer.city", &mut self.city, 20)?;
        clean_optional("issuer.seller_code", &mut self.seller_code, 60)?;
        if let Some(resolution) = self.resolution {
            check_date("issuer.resolution.date", resolution.date)?;
            if resolution.number > 999_999 {
                return Err(DteError::refused(Message::digits_max("issuer.resolution.number", 6)));
            }
        }
        Ok(())
    }
}

impl Receiver {
    fn clean(&mut self, document_type: DteType) -> DteResult<()> {
        clean_optional("receiver.internal_code", &mut self.internal_code, 20)?;
        clean_required("receiver.name", &mut self.name, 100)?;
        clean_optional("receiver.giro", &mut self.giro, 40)?;
        if self.giro.is_none() && document_type != DteType::GuiaDespacho {
            return Err(DteError::refused(Message::required_on_type("receiver.giro", document_type.as_str())));
        }
        clean_optional("receiver.contact", &mut self.contact, 80)?;
        clean_optional("receiver.email", &mut self.email, 80)?;
        clean_required("receiver.address", &mut self.address, 70)?;
        clean_required("receiver.comuna", &mut self.comuna, 20)?;
        clean_optional("receiver.city", &mut self.city, 20)?;
        Ok(())
    }
}

impl Transport {
    fn clean(&mut self) -> DteResult<()> {
        clean_optional("transport.plate", &mut self.plate, 8)?;
        if let Some(rut) = &self.carrier_rut {
            let parsed = parse_rut("transport.carrier_rut", rut)?;
            self.carrier_rut = Some(parsed.to_string());
        }
        if let Some(driver) = self.driver.as_mut() {
            driver.rut = parse_rut("transport.driver.rut", &driver.rut)?.to_string();
            clean_required("transport.driver.name", &mut driver.name, 30)?;
        }
        clean_optional("transport.destination_address", &mut self.destination_address, 70)?;
        clean_optional("transport.destination_comuna", &mut self.destination_comuna, 20)?;
        clean_optional("transport.destination_city", &mut self.destination_city, 20)?;
        Ok(())
    }
}

fn check_amount(field: &str, amount: i64) -> DteResult<()> {
    if (0..=MAX_AMOUNT).contains(&amount) {
        Ok(())
    } else {
        Err(DteError::refused(Message::amount_digits(field, amount.to_string())))
    }
}

/// `Dec12_6Type`: > 0, at most 12 integer digits and 6 fraction digits.
fn check_quantity_like(field: &str, value: &Decimal) -> DteResult<()> {
    if !value.is_positive() {
        return Err(DteError::refused(Message::not_positive(field, value.to_string())));
    }
    if value.fraction_digits() > 6 || value.integer_digits() > 12 {
        return Err(DteError::refused(Message::quantity_digits(field, value.to_string())));
    }
    Ok(())
}

/// `PctType`: 0.01 to 999.99, two decimals.
fn check_percent(field: &str, value: &Decimal) -> DteResult<()> {
    if !value.is_positive() || value.fraction_digits() > 2 || value.integer_digits() > 3 {
        return Err(DteError::refused(Message::percent_range(field, value.to_string())));
    }
    Ok(())
}

fn check_lines(document_type: DteType, lines: &mut [Line]) -> DteResult<()> {
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(DteError::refused(Message::count_range("lines", MAX_LINES, lines.len())));
    }
    for (index, line) in lines.iter_mut().enumerate() {
        let field = |name: &str| format!("lines[{index}].{name}");
        if line.codes.len() > MAX_ITEM_CODES {
            return Err(DteError::refused(Message::too_many(field("codes"), MAX_ITEM_CODES)));
        }
        for (code_index, code) in line.codes.iter_mut().enumerate() {
            clean_required(&field(&format!("codes[{code_index}].kind")), &mut code.kind, 10)?;
            clean_required(&field(&format!("codes[{code_index}].value")), &mut code.value, 35)?;
        }
        if document_type == DteType::FacturaExenta && !line.exempt {
            return Err(DteError::refused(Message::exempt_only(field("exempt"))));
        }
        clean_required(&field("name"), &mut line.name, 80)?;
        clean_optional(&field("description"), &mut line.description, 1000)?;
        clean_optional(&field("unit"), &mut line.unit, 4)?;
        if let Some(quantity) = &line.quantity {
            check_quantity_like(&field("quantity"), quantity)?;
        }
        if let Some(price) = &line.unit_price {
            check_quantity_like(&field("unit_price"), price)?;
        }
        check_amount(&field("amount"), line.amount)?;
        check_line_adjustment(
            &field("discount_percent"),
            &field("discount_amount"),
            line.discount_percent.as_ref(),
            line.discount_amount,
        )?;
        check_line_adjustment(
            &field("surcharge_percent"),
            &field("surcharge_amount"),
            line.surcharge_percent.as_ref(),
            line.surcharge_amount,
        )?;
        check_line_arithmetic(index, line)?;
    }
    Ok(())
}

fn check_line_adjustment(
    percent_field: &str,
    amount_field: &str,
    percent: Option<&Decimal>,
    amount: Option<i64>,
) -> DteResult<()> {
    if let Some(percent) = percent {
        check_percent(percent_field, percent)?;
        if amount.is_none() {
            return Err(DteError::refused(Message::required_with(amount_field, percent_field)));
        }
    }
    if let Some(amount) = amount {
        if amount <= 0 {
            return Err(DteError::refused(Message::positive_when_given(amount_field)));
        }
        check_amount(amount_field, amount)?;
    }
    Ok(())
}

/// `MontoItem = round(QtyItem × PrcItem) − DescuentoMonto + RecargoMonto`, and each amount is
/// its percentage of the gross amount when a percentage is given.
fn check_line_arithmetic(index: usize, line: &Line) -> DteResult<()> {
    let field = |name: &str| format!("lines[{index}].{name}");
    let (Some(quantity), Some(price)) = (&line.quantity, &line.unit_price) else {
        return Ok(());
    };
    let gross = quantity.mul_round(price).ok_or_else(|| DteError::refused(Message::too_large(field("unit_price"))))?;
    for (percent, amount, name) in [
        (&line.discount_percent, line.discount_amount, "discount_amount"),
        (&line.surcharge_percent, line.surcharge_amount, "surcharge_amount"),
    ] {
        if let (Some(percent), Some(amount)) = (percent, amount) {
            let expected =
                percent.percent_of(gross).ok_or_else(|| DteError::refused(Message::too_large(field(name))))?;
            if i128::from(amount) != expected {
                return Err(DteError::refused(Message::percent_amount(
                    field(name),
                    expected.to_string(),
                    percent.to_string(),
                    gross.to_string(),
                    amount,
                )));
            }
        }
    }
    let expected =
        gross - i128::from(line.discount_amount.unwrap_or(0)) + i128::from(line.surcharge_amount.unwrap_or(0));
    if i128::from(line.amount) != expected {
        return Err(DteError::refused(Message::line_amount(
            field("amount"),
            expected.to_string(),
            quantity.to_string(),
            price.to_string(),
            line.amount,
        )));
    }
    Ok(())
}

fn check_adjustments(adjustments: &mut [GlobalAdjustment]) -> DteResult<()> {
    if adjustments.len() > MAX_GLOBAL_ADJUSTMENTS {
        return Err(DteError::refused(Message::too_many("global_adjustments", MAX_GLOBAL_ADJUSTMENTS)));
    }
    for (index, adjustment) in adjustments.iter_mut().enumerate() {
        let field = |name: &str| format!("global_adjustments[{index}].{name}");
        clean_optional(&field("description"), &mut adjustment.description, 45)?;
        match adjustment.unit {
            AdjustmentUnit::Percent => check_percent(&field("value"), &adjustment.value)?,
            AdjustmentUnit::Amount => {
                let amount = adjustment.value.as_integer().filter(|amount| *amount > 0);
                if amount.is_none() {
                    return Err(DteError::refused(Message::not_peso_amount(
                        field("value"),
                        adjustment.value.to_string(),
                    )));
                }
            }
        }
    }
    Ok(())
}

fn check_references(document_type: DteType, references: &mut [Reference]) -> DteResult<()> {
    if references.len() > MAX_REFERENCES {
        return Err(DteError::refused(Message::too_many("references", MAX_REFERENCES)));
    }
    for (index, reference) in references.iter_mut().enumerate() {
        let field = |name: &str| format!("references[{index}].{name}");
        clean_required(&field("document_type"), &mut reference.document_type, 3)?;
        clean_required(&field("folio"), &mut reference.folio, 18)?;
        if let Some(rut) = &reference.other_rut {
            reference.other_rut = Some(parse_rut(&field("other_rut"), rut)?.to_string());
        }
        check_date(&field("date"), reference.date)?;
        if let Some(code) = reference.code {
            if !(1..=3).contains(&code) {
                return Err(DteError::refused(Message::field_range(field("code"), 1, 3)));
            }
        }
        clean_optional(&field("reason"), &mut reference.reason, 90)?;
    }
    if document_type.needs_reference() && !references.iter().any(|reference| reference.code.is_some()) {
        return Err(DteError::refused(Message::needs_reference("references", document_type.as_str())));
    }
    Ok(())
}

fn compute_totals(request: &DteRequest) -> DteResult<ComputedTotals> {
    let sum_lines = |exempt: bool| -> i128 {
        request.lines.iter().filter(|line| line.exempt == exempt).map(|line| i128::from(line.amount)).sum()
    };
    let taxable_lines = sum_lines(false);
    let exempt_lines = sum_lines(true);
    let mut net = taxable_lines;
    let mut exempt = exempt_lines;
    for (index, adjustment) in request.global_adjustments.iter().enumerate() {
        let base = match adjustment.applies_to {
            AppliesTo::Taxable => taxable_lines,
            AppliesTo::Exempt => exempt_lines,
        };
        // Each percentage applies to the line sum, not to the result of earlier adjustments.
        let amount = match adjustment.unit {
            AdjustmentUnit::Percent => adjustment.value.percent_of(base),
            AdjustmentUnit::Amount => adjustment.value.as_integer().map(i128::from),
        }
        .ok_or_else(|| DteError::refused(Message::too_large(format!("global_adjustments[{index}].value"))))?;
        let signed = match adjustment.kind {
            AdjustmentKind::Discount => -amount,
            AdjustmentKind::Surcharge => amount,
        };
        match adjustment.applies_to {
            AppliesTo::Taxable => net += signed,
            AppliesTo::Exempt => exempt += signed,
        }
    }
    let to_amount = |field: &str, value: i128| -> DteResult<i64> {
        i64::try_from(value)
            .ok()
            .filter(|amount| (0..=MAX_AMOUNT).contains(amount))
            .ok_or_else(|| DteError::refused(Message::totals_out_of_range(field, value.to_string())))
    };
    let net = to_amount("totals.net", net)?;
    let exempt = to_amount("totals.exempt", exempt)?;
    let iva =
        to_amount("totals.iva", super::text::round_half_up_div(i128::from(net) * i128::from(IVA_RATE_PERCENT), 100))?;
    let total = to_amount("totals.total", i128::from(net) + i128::from(exempt) + i128::from(iva))?;
    Ok(ComputedTotals { net, exempt, iva, total })
}

fn compare_totals(document_type: DteType, given: &Totals, computed: &ComputedTotals) -> DteResult<()> {
    if document_type == DteType::FacturaExenta && computed.net > 0 {
        return Err(DteError::refused(Message::exempt_no_net("totals.net")));
    }
    let compare = |field: &str, given: Option<i64>, expected: i64| -> DteResult<()> {
        match given {
            Some(value) if value == expected => Ok(()),
            None if expected == 0 => Ok(()),
            Some(value) => Err(DteError::refused(Message::expected_got(field, expected, value))),
            None => Err(DteError::refused(Message::expected_missing(field, expected))),
        }
    };
    compare("totals.net", given.net, computed.net)?;
    compare("totals.exempt", given.exempt, computed.exempt)?;
    compare("totals.iva", given.iva, computed.iva)?;
    compare("totals.total", Some(given.total), computed.total)?;
    if let Some(rate) = &given.iva_rate {
        if *rate != Decimal::from_integer(IVA_RATE_PERCENT) {
            return Err(DteError::refused(Message::expected_got(
                "totals.iva_rate",
                IVA_RATE_PERCENT,
                rate.to_string(),
            )));
        }
    }
    Ok(())
}
