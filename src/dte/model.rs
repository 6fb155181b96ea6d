//! The DTE request: what the Odoo addon sends to have one document stamped and signed.
//!
//! The JSON is documented with one example per type in `docs/dte-json/`. Field names are
//! English except for Chilean terms accountants use as such (`giro`, `comuna`, `acteco`, `iva`);
//! each field's doc names the SII element it becomes.
//!
//! [`DteRequest::validate`] checks everything the engine can know before stamping — required
//! fields per type, RUTs, text lengths and characters, the arithmetic of every line and of the
//! totals — and names the field at fault (`totals.iva: expected 1900, got 1901`).

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};

use super::rut::Rut;
use super::text::Decimal;

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

    pub(crate) fn needs_reference(self) -> bool {
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
