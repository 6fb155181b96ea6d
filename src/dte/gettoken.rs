//! The signed `getToken` request of the SII's authentication (`GetTokenFromSeed.jws`):
//! `<getToken><item><Semilla>N</Semilla></item></getToken>` with an enveloped XMLDSig over the
//! whole document (`Reference URI=""`), RSA-SHA1, inclusive C14N, SHA-1 digest.

use super::error::{DteError, DteResult};
use super::rut::Rut;
use super::sign::{sign_enveloped, signature_child, verify_signature, SignedPart, Signer};
use super::xml::XmlDoc;

/// Longest seed accepted; the SII's are 12 digits.
const MAX_SEED_LENGTH: usize = 64;

fn check_seed(seed: &str) -> DteResult<()> {
    if seed.is_empty() || seed.len() > MAX_SEED_LENGTH || !seed.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(DteError::input("seed", "must be 1 to 64 letters or digits, as the SII's getSeed returns it"));
    }
    Ok(())
}

/// The signed request to send as `getToken(pszXml)`, UTF-8 (its content is ASCII).
pub fn sign_get_token_request(seed: &str, signer: &Signer) -> DteResult<Vec<u8>> {
    check_seed(seed)?;
    let doc = XmlDoc::with_root(c"getToken", None)?;
    let item = doc.root().add_element(c"item")?;
    item.add_text(c"Semilla", seed)?;
    sign_enveloped(&doc, doc.root(), SignedPart::WholeDocument, signer)?;
    doc.to_utf8()
}

/// What a valid signed getToken request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTokenRequest {
    /// The seed (`Semilla`) being exchanged for a token.
    pub seed: String,
    /// The RUT in the signer's certificate, when it carries one.
    pub signer_rut: Option<Rut>,
}

/// Checks a signed getToken request as the SII would: shape, then the signature over the whole
/// document with the key the request carries. A bad signature is an error on field
/// `signature`.
pub fn verify_get_token_request(xml: &[u8]) -> DteResult<VerifiedTokenRequest> {
    let doc = XmlDoc::parse(xml)?;
    let root = doc.root();
    if root.name() != "getToken" {
        return Err(DteError::MalformedXml(format!("root element is <{}>, expected <getToken>", root.name())));
    }
    let seed = root
        .path_text(&["item", "Semilla"])
        .map(|seed| seed.trim().to_string())
        .ok_or_else(|| DteError::MalformedXml("getToken has no item/Semilla".into()))?;
    let signature = signature_child(root).ok_or_else(|| DteError::input("signature", "the request is not signed"))?;
    let verified = verify_signature(signature, Some("")).map_err(|reason| DteError::input("signature", reason))?;
    Ok(VerifiedTokenRequest { seed, signer_rut: verified.signer_rut })
}
