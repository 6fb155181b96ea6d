//! CAF files (Código de Autorización de Folios): the SII's grant of a folio range for one
//! company and one document type, with the private key that stamps the TED.
//!
//! A CAF is trusted only when its `FRMA` — the SII's SHA1withRSA signature over the `DA` block —
//! verifies with the SII key its `IDK` names (100: certification, 300: production). The keys
//! are compiled in; a test key can be added with [`CafTrust::with_extra_key`] and is never
//! trusted otherwise.

use std::fmt;

use base64::Engine as _;
use chrono::{Months, NaiveDate};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Rsa;
use openssl::sign::Verifier;

use super::error::{DteError, DteResult};
use super::model::DteType;
use super::rut::Rut;
use super::text::{compact_between_tags, latin1_encode};
use super::xml::{decode_document, Node, XmlDoc, SII_NS};

/// SII key that signs certification CAFs (IDK 100). Source: SII `100.cer`.
const SII_KEY_IDK_100: &str = include_str!("sii-keys/100.pub.pem");
/// SII key that signs production CAFs (IDK 300). Source: SII `300.cer`.
const SII_KEY_IDK_300: &str = include_str!("sii-keys/300.pub.pem");

/// The IDK of the SII's certification (maullin) CAF key.
pub const IDK_CERTIFICATION: i64 = 100;
/// The IDK of the SII's production (palena) CAF key.
pub const IDK_PRODUCTION: i64 = 300;

/// Which SII environment a CAF belongs to, from its IDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiiEnvironment {
    Certification,
    Production,
    Other(i64),
}

struct TrustedKey {
    idk: i64,
    key: PKey<Public>,
}

/// The public keys a CAF's `FRMA` may be signed with.
pub struct CafTrust {
    keys: Vec<TrustedKey>,
}

impl CafTrust {
    /// The SII's own keys: IDK 100 (certification) and IDK 300 (production).
    pub fn sii() -> CafTrust {
        let keys = [(IDK_CERTIFICATION, SII_KEY_IDK_100), (IDK_PRODUCTION, SII_KEY_IDK_300)]
            .into_iter()
            .filter_map(|(idk, pem)| PKey::public_key_from_pem(pem.as_bytes()).ok().map(|key| TrustedKey { idk, key }))
            .collect();
        CafTrust { keys }
    }

    /// Also trusts `public_key_pem` for CAFs with this IDK — for test CAFs signed by a fake SII
    /// key. Only an explicit call adds such a key.
    pub fn with_extra_key(mut self, idk: i64, public_key_pem: &[u8]) -> DteResult<CafTrust> {
        let key = PKey::public_key_from_pem(public_key_pem)
            .map_err(|_| DteError::Config("extra CAF key is not a PEM public key".into()))?;
        self.keys.push(TrustedKey { idk, key });
        Ok(self)
    }

    fn keys_for(&self, idk: i64) -> impl Iterator<Item = &PKey<Public>> {
        self.keys.iter().filter(move |trusted| trusted.idk == idk).map(|trusted| &trusted.key)
    }

    /// Whether `signature` over `signed` verifies with a key trusted for `idk`.
    pub(crate) fn verifies(&self, idk: i64, signed: &[u8], signature: &[u8]) -> bool {
        self.keys_for(idk).any(|key| verify_sha1_rsa(key, signed, signature))
    }

    pub(crate) fn knows(&self, idk: i64) -> bool {
        self.keys_for(idk).next().is_some()
    }
}

impl fmt::Debug for CafTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let idks: Vec<i64> = self.keys.iter().map(|trusted| trusted.idk).collect();
        f.debug_struct("CafTrust").field("idks", &idks).finish()
    }
}

pub(crate) fn verify_sha1_rsa(key: &PKey<Public>, signed: &[u8], signature: &[u8]) -> bool {
    Verifier::new(MessageDigest::sha1(), key)
        .and_then(|mut verifier| {
            verifier.update(signed)?;
            verifier.verify(signature)
        })
        .unwrap_or(false)
}

/// The `DA` values as the CAF file writes them; re-emitted verbatim in every TED.
#[derive(Clone)]
struct DaText {
    re: String,
    rs: String,
    td: String,
    d: String,
    h: String,
    fa: String,
    m: String,
    e: String,
    idk: String,
    frma: String,
}

/// A loaded, verified CAF. `Send + Sync`; holds openssl keys, no libxml objects. Its private
/// key (`RSASK`) is used by the TED signer and never appears in `Debug` output.
pub struct Caf {
    issuer_rut: Rut,
    issuer_name: String,
    document_type: DteType,
    first_folio: i64,
    last_folio: i64,
    authorized_on: NaiveDate,
    idk: i64,
    text: DaText,
    public_key: PKey<Public>,
    private_key: PKey<Private>,
}

fn caf_error(field: &str, message: impl fmt::Display) -> DteError {
    DteError::caf(format!("caf.{field}"), message)
}

fn decode_base64(field: &str, text: &str) -> DteResult<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact).map_err(|_| caf_error(field, "is not base64"))
}

impl Caf {
    /// Parses a CAF file (`<AUTORIZACION>`), checks the SII's `FRMA` with `trust`, and checks
    /// that `RSASK` is the private half of `RSAPK`.
    pub fn parse(caf_xml: &[u8], trust: &CafTrust) -> DteResult<Caf> {
        let doc = XmlDoc::parse(caf_xml).map_err(|error| caf_error("xml", format!("not a CAF file: {error}")))?;
        let root = doc.root();
        if root.name() != "AUTORIZACION" {
            return Err(caf_error("xml", format!("root element is <{}>, expected <AUTORIZACION>", root.name())));
        }
        let da = root.path(&["CAF", "DA"]).ok_or_else(|| caf_error("DA", "is missing"))?;
        if da.child("DSAPK").is_some() {
            return Err(caf_error("DA", "DSA CAFs are not supported, only RSA"));
        }
        let field = |path: &[&str], name: &str| -> DteResult<String> {
            da.path_text(path).ok_or_else(|| caf_error(name, "is missing"))
        };
        let frma_node = root.path(&["CAF", "FRMA"]).ok_or_else(|| caf_error("FRMA", "is missing"))?;
        if frma_node.attr("algoritmo").as_deref() != Some("SHA1withRSA") {
            return Err(caf_error("FRMA", "algorithm is not SHA1withRSA"));
        }
        let text = DaText {
            re: field(&["RE"], "RE")?,
            rs: field(&["RS"], "RS")?,
            td: field(&["TD"], "TD")?,
            d: field(&["RNG", "D"], "RNG.D")?,
            h: field(&["RNG", "H"], "RNG.H")?,
            fa: field(&["FA"], "FA")?,
            m: field(&["RSAPK", "M"], "RSAPK.M")?,
            e: field(&["RSAPK", "E"], "RSAPK.E")?,
            idk: field(&["IDK"], "IDK")?,
            frma: frma_node.text(),
        };

        let issuer_rut = Rut::parse(&text.re).map_err(|error| caf_error("RE", error))?;
        let type_code: u16 =
            text.td.trim().parse().map_err(|_| caf_error("TD", format!("'{}' is not a document type", text.td)))?;
        let document_type = DteType::from_code(type_code)
            .ok_or_else(|| caf_error("TD", format!("type {type_code} is not supported (33, 34, 52, 56, 61)")))?;
        let folio = |value: &str, name: &str| -> DteResult<i64> {
            value
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|folio| *folio > 0)
                .ok_or_else(|| caf_error(name, format!("'{value}' is not a folio")))
        };
        let first_folio = folio(&text.d, "RNG.D")?;
        let last_folio = folio(&text.h, "RNG.H")?;
        if first_folio > last_folio {
            return Err(caf_error("RNG", format!("range {first_folio}–{last_folio} is empty")));
        }
        let authorized_on = NaiveDate::parse_from_str(text.fa.trim(), "%Y-%m-%d")
            .map_err(|_| caf_error("FA", format!("'{}' is not a date", text.fa)))?;
        let idk: i64 =
            text.idk.trim().parse().map_err(|_| caf_error("IDK", format!("'{}' is not a key id", text.idk)))?;

        let modulus = decode_base64("RSAPK.M", &text.m)?;
        let exponent = decode_base64("RSAPK.E", &text.e)?;
        let public_rsa = BigNum::from_slice(&modulus)
            .and_then(|n| Ok((n, BigNum::from_slice(&exponent)?)))
            .and_then(|(n, e)| Rsa::from_public_components(n, e))
            .map_err(|_| caf_error("RSAPK", "is not an RSA public key"))?;
        let public_key = PKey::from_rsa(public_rsa).map_err(|_| caf_error("RSAPK", "is not an RSA public key"))?;

        let signature = decode_base64("FRMA", &text.frma)?;
        if !trust.knows(idk) {
            return Err(caf_error("IDK", format!("no trusted SII key for IDK {idk}")));
        }
        let emitted_da = emitted_da_bytes(&text)?;
        if !trust.verifies(idk, &emitted_da, &signature) {
            let raw_da_verifies =
                raw_compact_da(caf_xml).map(|raw| trust.verifies(idk, &raw, &signature)).unwrap_or(false);
            return Err(if raw_da_verifies {
                caf_error(
                    "DA",
                    "the SII signature holds only for the file's exact text, which the TED \
                     cannot reproduce",
                )
            } else {
                caf_error("FRMA", format!("the SII signature over DA does not verify with the key for IDK {idk}"))
            });
        }

        let private_pem =
            root.child("RSASK").map(|node| node.text()).ok_or_else(|| caf_error("RSASK", "is missing"))?;
        // An empty passphrase so an encrypted RSASK fails instead of prompting on a terminal.
        let private_rsa = Rsa::private_key_from_pem_passphrase(private_pem.trim().as_bytes(), b"")
            .map_err(|_| caf_error("RSASK", "is not a PEM RSA private key"))?;
        let matches_public = public_key
            .rsa()
            .map(|public| public.n() == private_rsa.n() && public.e() == private_rsa.e())
            .unwrap_or(false);
        if !matches_public {
            return Err(caf_error("RSASK", "does not belong to RSAPK"));
        }
        let private_key = PKey::from_rsa(private_rsa).map_err(|_| caf_error("RSASK", "is not a usable RSA key"))?;
        Ok(Caf {
            issuer_rut,
            issuer_name: text.rs.clone(),
            document_type,
            first_folio,
            last_folio,
            authorized_on,
            idk,
            text,
            public_key,
            private_key,
        })
    }

    /// `RE`: the company the folios belong to.
    pub fn issuer_rut(&self) -> Rut {
        self.issuer_rut
    }

    /// `RS`: the company name as the SII wrote it.
    pub fn issuer_name(&self) -> &str {
        &self.issuer_name
    }

    /// `TD`: the document type the folios are for.
    pub fn document_type(&self) -> DteType {
        self.document_type
    }

    /// `RNG/D`: first folio.
    pub fn first_folio(&self) -> i64 {
        self.first_folio
    }

    /// `RNG/H`: last folio (inclusive).
    pub fn last_folio(&self) -> i64 {
        self.last_folio
    }

    /// Number of folios in the range.
    pub fn folio_count(&self) -> i64 {
        self.last_folio - self.first_folio + 1
    }

    /// `FA`: the date the SII authorised the folios.
    pub fn authorized_on(&self) -> NaiveDate {
        self.authorized_on
    }

    /// `IDK`: which SII key signed the CAF.
    pub fn idk(&self) -> i64 {
        self.idk
    }

    pub fn environment(&self) -> SiiEnvironment {
        match self.idk {
            IDK_CERTIFICATION => SiiEnvironment::Certification,
            IDK_PRODUCTION => SiiEnvironment::Production,
            other => SiiEnvironment::Other(other),
        }
    }

    /// Whether `folio` lies in `D..=H`.
    pub fn contains_folio(&self, folio: i64) -> bool {
        (self.first_folio..=self.last_folio).contains(&folio)
    }

    /// Refuses a folio outside the range (field `folio`).
    pub fn check_folio(&self, folio: i64) -> DteResult<()> {
        if self.contains_folio(folio) {
            Ok(())
        } else {
            Err(DteError::caf(
                "folio",
                format!("folio {folio} is outside the CAF range {}–{}", self.first_folio, self.last_folio),
            ))
        }
    }

    /// Refuses a CAF of another company (`caf.RE`) or of another document type (`caf.TD`).
    pub fn check_belongs_to(&self, issuer: Rut, document_type: DteType) -> DteResult<()> {
        if self.issuer_rut != issuer {
            return Err(caf_error(
                "RE",
                format!("the CAF belongs to {}, the document's issuer is {issuer}", self.issuer_rut),
            ));
        }
        if self.document_type != document_type {
            return Err(caf_error(
                "TD",
                format!(
                    "the CAF is for type {}, the document is type {}",
                    self.document_type.code(),
                    document_type.code()
                ),
            ));
        }
        Ok(())
    }

    /// The first day on which the SII no longer accepts documents with these folios, or `None`
    /// when folios of this type do not expire. See [`caf_expiry_date`].
    pub fn expires_on(&self) -> Option<NaiveDate> {
        caf_expiry_date(self.document_type, self.authorized_on)
    }

    /// Whether the CAF can still be used on `today` (a parameter: the engine never reads the
    /// clock). The SII judges at reception, so a caller queueing documents for later should pass
    /// the day it expects the SII to receive them.
    pub fn is_usable_on(&self, today: NaiveDate) -> bool {
        self.expires_on().is_none_or(|expiry| today < expiry)
    }

    /// Refuses an expired CAF (field `caf.FA`).
    pub fn check_usable_on(&self, today: NaiveDate) -> DteResult<()> {
        match self.expires_on() {
            Some(expiry) if today >= expiry => Err(caf_error(
                "FA",
                format!("the CAF authorised on {} expired on {expiry}; request new folios", self.authorized_on),
            )),
            _ => Ok(()),
        }
    }

    pub(crate) fn private_key(&self) -> &PKey<Private> {
        &self.private_key
    }

    /// `RSAPK`: the key that verifies the TEDs stamped with this CAF.
    pub fn public_key(&self) -> &PKey<Public> {
        &self.public_key
    }

    /// Writes `<CAF version="1.0"><DA>…</DA><FRMA …>…</FRMA></CAF>` under `parent`, compact,
    /// with the file's text values: the form that goes into every TED.
    pub(crate) fn write_caf_element<'doc>(&self, parent: Node<'doc>) -> DteResult<Node<'doc>> {
        write_caf_element(&self.text, parent)
    }
}

fn write_caf_element<'doc>(text: &DaText, parent: Node<'doc>) -> DteResult<Node<'doc>> {
    let caf = parent.add_element(c"CAF")?;
    caf.set_attr(c"version", "1.0")?;
    let da = caf.add_element(c"DA")?;
    da.add_text(c"RE", &text.re)?;
    da.add_text(c"RS", &text.rs)?;
    da.add_text(c"TD", &text.td)?;
    let range = da.add_element(c"RNG")?;
    range.add_text(c"D", &text.d)?;
    range.add_text(c"H", &text.h)?;
    da.add_text(c"FA", &text.fa)?;
    let key = da.add_element(c"RSAPK")?;
    key.add_text(c"M", &text.m)?;
    key.add_text(c"E", &text.e)?;
    da.add_text(c"IDK", &text.idk)?;
    let frma = caf.add_text(c"FRMA", &text.frma)?;
    frma.set_attr(c"algoritmo", "SHA1withRSA")?;
    Ok(caf)
}

/// The `DA` bytes exactly as [`write_caf_element`] emits them into a TED.
fn emitted_da_bytes(text: &DaText) -> DteResult<Vec<u8>> {
    let doc = XmlDoc::with_root(c"DD", Some(SII_NS))?;
    let caf = write_caf_element(text, doc.root())?;
    let da = caf.child("DA").ok_or_else(|| caf_error("DA", "could not be rebuilt"))?;
    doc.node_to_latin1(da)
}

/// The raw `<DA>…</DA>` of the file with whitespace between tags removed, in ISO-8859-1.
fn raw_compact_da(caf_xml: &[u8]) -> Option<Vec<u8>> {
    let text = decode_document(caf_xml);
    let start = text.find("<DA>")?;
    let end = text[start..].find("</DA>")? + start + "</DA>".len();
    latin1_encode(&compact_between_tags(&text[start..end]))
}

impl fmt::Debug for Caf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caf")
            .field("issuer_rut", &self.issuer_rut)
            .field("document_type", &self.document_type.code())
            .field("folios", &(self.first_folio..=self.last_folio))
            .field("authorized_on", &self.authorized_on)
            .field("idk", &self.idk)
            .finish_non_exhaustive()
    }
}

/// The first day on which the SII rejects documents stamped with a CAF of `document_type`
/// authorised on `authorized_on`; `None` when such folios do not expire.
///
/// Source: SII, Preguntas frecuentes, Factura electrónica › Timbraje electrónico:
/// - 001.003.6968 "¿Cuál es la vigencia de los CAF autorizados por el SII?": CAFs authorised
///   from 2018-07-01 are valid six months counted from their authorisation date; older ones
///   eighteen months, at the latest until 2018-12-31.
/// - 001.003.6969: the restriction applies to DTE types that give right to VAT credit (of the
///   types this engine issues: 33 factura, 56 nota de débito, 61 nota de crédito — not 34
///   factura exenta nor 52 guía de despacho; LibreDTE's `Folios::$vencen` lists 33, 43, 46, 56,
///   61 likewise).
/// - 001.003.6970: the SII rejects such documents at reception.
///
/// "Six months from FA" is taken as calendar months (chrono clamps 31 Aug + 6 months to the end
/// of February) and the CAF is treated as expired from that day on, one day earlier than the
/// most generous reading: a folio burned at the SII costs more than a new CAF.
pub fn caf_expiry_date(document_type: DteType, authorized_on: NaiveDate) -> Option<NaiveDate> {
    if !matches!(document_type, DteType::Factura | DteType::NotaDebito | DteType::NotaCredito) {
        return None;
    }
    let rule_start = NaiveDate::from_ymd_opt(2018, 7, 1)?;
    if authorized_on >= rule_start {
        authorized_on.checked_add_months(Months::new(6))
    } else {
        let old_rule_cap = NaiveDate::from_ymd_opt(2019, 1, 1)?;
        authorized_on.checked_add_months(Months::new(18)).map(|expiry| expiry.min(old_rule_cap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn both_sii_keys_load() {
        let trust = CafTrust::sii();
        assert!(trust.knows(IDK_CERTIFICATION));
        assert!(trust.knows(IDK_PRODUCTION));
        assert!(!trust.knows(200));
    }

    #[test]
    fn facturas_and_notes_expire_six_months_after_authorisation() {
        assert_eq!(caf_expiry_date(DteType::Factura, date("2026-01-02")), Some(date("2026-07-02")));
        assert_eq!(caf_expiry_date(DteType::NotaCredito, date("2025-08-31")), Some(date("2026-02-28")));
        assert_eq!(caf_expiry_date(DteType::FacturaExenta, date("2026-01-02")), None);
        assert_eq!(caf_expiry_date(DteType::GuiaDespacho, date("2026-01-02")), None);
        // Before the 2018 rule: 18 months, capped at the end of 2018.
        assert_eq!(caf_expiry_date(DteType::Factura, date("2018-03-01")), Some(date("2019-01-01")));
        assert_eq!(caf_expiry_date(DteType::Factura, date("2003-09-04")), Some(date("2005-03-04")));
    }
}
