//! The simulated SII hands out CAFs, as the real one does on its web site: a fresh
//! 512-bit key pair (e = 3) for the folios, the `DA` block signed (FRMA, SHA1withRSA) with
//! the simulator's own key, which sidecars trust only when told to (`sii.extra_caf_keys`).

use base64::Engine as _;
use chrono::NaiveDate;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;

use crate::sii::soap::escape;

/// What a CAF authorises.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct CafRequest {
    pub rut: String,
    pub name: String,
    pub dte_type: u16,
    pub folio_from: i64,
    pub folio_to: i64,
    pub authorized_on: NaiveDate,
}

/// A CAF file signed with `sii_key` under key id `idk`.
pub fn issue_caf(sii_key: &PKey<Private>, idk: i64, request: &CafRequest) -> anyhow::Result<String> {
    let b64 = |bytes: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(bytes);
    let exponent = BigNum::from_u32(3)?;
    let folio_key = Rsa::generate_with_e(512, &exponent)?;
    let da = format!(
        "<DA><RE>{}</RE><RS>{}</RS><TD>{}</TD><RNG><D>{}</D><H>{}</H></RNG><FA>{}</FA>\
         <RSAPK><M>{}</M><E>{}</E></RSAPK><IDK>{idk}</IDK></DA>",
        escape(&request.rut),
        escape(&request.name),
        request.dte_type,
        request.folio_from,
        request.folio_to,
        request.authorized_on.format("%Y-%m-%d"),
        b64(folio_key.n().to_vec()),
        b64(folio_key.e().to_vec()),
    );
    let latin1: Vec<u8> = da.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect();
    let mut signer = Signer::new(MessageDigest::sha1(), sii_key)?;
    signer.update(&latin1)?;
    let frma = b64(signer.sign_to_vec()?);
    let private_pem = String::from_utf8(folio_key.private_key_to_pem()?)?;
    let public_pem = String::from_utf8(PKey::from_rsa(folio_key)?.public_key_to_pem()?)?;
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<AUTORIZACION><CAF version=\"1.0\">{da}\
         <FRMA algoritmo=\"SHA1withRSA\">{frma}</FRMA></CAF>\
         <RSASK>{private_pem}</RSASK><RSAPUBK>{public_pem}</RSAPUBK></AUTORIZACION>\n"
    ))
}
