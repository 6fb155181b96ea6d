//! XMLDSig as the SII wants it, and the certificate that signs.
//!
//! Signatures are enveloped in the document, RSA-SHA1 over inclusive C14N (20010315) with SHA-1
//! digests, and carry `KeyInfo/KeyValue/RSAKeyValue` plus `KeyInfo/X509Data/X509Certificate`.
//!
//! A [`Signer`] holds its key as PEM bytes and openssl objects only, so it is `Send + Sync` and
//! can live in an `Arc`. xmlsec key objects are bound to a thread: each thread loads its own
//! copy the first time it signs with a given `Signer` and keeps it in a thread-local cache, so
//! keys are parsed once per thread, not once per document.

use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::ffi::CString;
use std::fmt;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use chrono::NaiveDateTime;
use foreign_types::ForeignType;
use libxml::bindings as lx;
use openssl::bn::BigNum;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::provider::Provider;
use openssl::rsa::Rsa;
use openssl::x509::X509;
use xmlsec::bindings as xs;
use zeroize::Zeroizing;

use super::error::{DteError, DteResult};
use super::rut::Rut;
use super::xml::{Node, XmlDoc, DSIG_NS_STR};
use super::xmlsec_setup::take_xmlsec_error;

/// Certificate and private key of the person who signs for the company (the "firma
/// electrónica"). Never prints its key; `Debug` shows holder, RUT and validity only.
pub struct Signer {
    /// Distinguishes signers in the per-thread xmlsec key cache.
    id: u64,
    key_pem: Zeroizing<Vec<u8>>,
    certificate: X509,
    certificate_pem: Vec<u8>,
    key_info: KeyInfoText,
    rut: Rut,
}

static NEXT_SIGNER_ID: AtomicU64 = AtomicU64::new(1);

/// OpenSSL 3 keeps RC2-40 and 3DES-SHA1 PKCS#12 (the `.pfx` files Chilean vendors issue) in its
/// `legacy` provider; loading it (keeping the default provider) lets both openssl and xmlsec
/// read them. Loaded once for the whole process, kept for its lifetime.
fn load_legacy_provider() -> bool {
    static LEGACY: OnceLock<Option<Provider>> = OnceLock::new();
    LEGACY.get_or_init(|| Provider::try_load(None, "legacy", true).ok()).is_some()
}

impl Signer {
    /// Loads a PKCS#12 file (`.p12`/`.pfx`), including legacy RC2-40 ones.
    ///
    /// A wrong password and a damaged file give the same error (PKCS#12 cannot tell them
    /// apart); the message never contains the password.
    pub fn from_pkcs12(pkcs12_der: &[u8], password: &str) -> DteResult<Signer> {
        if password.contains('\0') {
            return Err(DteError::Certificate("the password contains a NUL character".into()));
        }
        check_pkcs12_work(pkcs12_der)?;
        let legacy_available = load_legacy_provider();
        let archive = Pkcs12::from_der(pkcs12_der)
            .map_err(|_| DteError::Certificate("the file is not a PKCS#12 (.p12/.pfx) certificate".into()))?;
        let parsed = archive.parse2(password).map_err(|error| {
            let reasons = error.to_string().to_ascii_lowercase();
            if reasons.contains("mac verify") || reasons.contains("mac_verify") {
                DteError::Certificate("wrong password, or the PKCS#12 file is damaged (integrity check failed)".into())
            } else if !legacy_available && (reasons.contains("unsupported") || reasons.contains("rc2")) {
                DteError::Certificate(
                    "the file uses a legacy algorithm (RC2-40) and OpenSSL's legacy provider \
                     is not available"
                        .into(),
                )
            } else {
                DteError::Certificate("the PKCS#12 file cannot be opened with this password".into())
            }
        })?;
        let key = parsed.pkey.ok_or_else(|| DteError::Certificate("the PKCS#12 file holds no private key".into()))?;
        let certificate =
            parsed.cert.ok_or_else(|| DteError::Certificate("the PKCS#12 file holds no certificate".into()))?;
        Signer::from_parts(certificate, key)
    }

    /// Loads a PEM certificate (the first one matching the key, if the file holds a chain) and
    /// a PEM private key (PKCS#1 or PKCS#8, optionally encrypted with `key_password`).
    pub fn from_pem(certificate_pem: &[u8], key_pem: &[u8], key_password: Option<&str>) -> DteResult<Signer> {
        // An empty passphrase rather than none: with none, OpenSSL would prompt on a terminal
        // for an encrypted key.
        let passphrase = key_password.unwrap_or("");
        let key = PKey::private_key_from_pem_passphrase(key_pem, passphrase.as_bytes())
            .map_err(|_| DteError::Certificate("the private key is not a PEM key, or its password is wrong".into()))?;
        let chain = X509::stack_from_pem(certificate_pem)
            .map_err(|_| DteError::Certificate("the certificate is not PEM".into()))?;
        let certificate = chain
            .into_iter()
            .find(|candidate| candidate.public_key().map(|public| public.public_eq(&key)).unwrap_or(false))
            .ok_or_else(|| DteError::Certificate("no certificate in the file matches the private key".into()))?;
        Signer::from_parts(certificate, key)
    }

    fn from_parts(certificate: X509, key: PKey<Private>) -> DteResult<Signer> {
        if key.id() != Id::RSA {
            return Err(DteError::Certificate("the key is not RSA; the SII requires RSA-SHA1 signatures".into()));
        }
        // Every document is signed while its folio's transaction is open: the certificate
        // must not choose how long that takes.
        if key.bits() > MAX_SIGNING_KEY_BITS {
            return Err(DteError::Certificate(format!(
                "a {}-bit key is larger than the {MAX_SIGNING_KEY_BITS} bits accepted \
                 (the SII's certificates use 2048)",
                key.bits()
            )));
        }
        let matches = certificate.public_key().map(|public| public.public_eq(&key)).unwrap_or(false);
        if !matches {
            return Err(DteError::Certificate("the certificate does not belong to the private key".into()));
        }
        let rut = rut_from_certificate(&certificate).ok_or_else(|| {
            DteError::Certificate(
                "no RUT found in the certificate (SubjectAltName otherName \
                 1.3.6.1.4.1.8321.1, or subject)"
                    .into(),
            )
        })?;
        let key_pem = Zeroizing::new(
            key.private_key_to_pem_pkcs8()
                .map_err(|_| DteError::Certificate("the private key cannot be exported".into()))?,
        );
        let certificate_pem =
            certificate.to_pem().map_err(|_| DteError::Certificate("the certificate cannot be exported".into()))?;
        let key_info = KeyInfoText::of(&certificate, &key)?;
        Ok(Signer {
            id: NEXT_SIGNER_ID.fetch_add(1, Ordering::Relaxed),
            key_pem,
            certificate,
            certificate_pem,
            key_info,
            rut,
        })
    }

    /// The RUT of the certificate holder (`RutEnvia`, `rutSender`/`dvSender`).
    pub fn rut(&self) -> Rut {
        self.rut
    }

    /// The holder's common name, as written in the certificate.
    pub fn holder_name(&self) -> String {
        subject_entry(&self.certificate, Nid::COMMONNAME).unwrap_or_default()
    }

    /// End of the certificate's validity (UTC), for expiry alerts.
    pub fn not_after(&self) -> Option<NaiveDateTime> {
        asn1_time_to_naive(&self.certificate.not_after().to_string())
    }

    /// Start of the certificate's validity (UTC).
    pub fn not_before(&self) -> Option<NaiveDateTime> {
        asn1_time_to_naive(&self.certificate.not_before().to_string())
    }

    /// The certificate, DER-encoded.
    pub fn certificate_der(&self) -> Vec<u8> {
        self.certificate.to_der().unwrap_or_default()
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("rut", &self.rut)
            .field("holder", &self.holder_name())
            .field("not_after", &self.not_after())
            .finish_non_exhaustive()
    }
}

fn asn1_time_to_naive(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%b %e %H:%M:%S %Y GMT").ok()
}

fn subject_entry(certificate: &X509, nid: Nid) -> Option<String> {
    certificate.subject_name().entries_by_nid(nid).next().and_then(|entry| entry.data().to_string().ok())
}

/// DER of OID 1.3.6.1.4.1.8321.1, the SII's otherName for the holder's RUT.
const RUT_OTHER_NAME_OID: &[u8] = &[0x06, 0x08, 0x2B, 0x06, 0x01, 0x04, 0x01, 0xC1, 0x01, 0x01];

/// The holder's RUT: from SubjectAltName otherName 1.3.6.1.4.1.8321.1 (newer certificates),
/// else from the subject's serialNumber, else from any subject entry holding a RUT.
pub(crate) fn rut_from_certificate(certificate: &X509) -> Option<Rut> {
    if let Some(rut) = certificate.to_der().ok().and_then(|der| rut_from_other_name(&der)) {
        return Some(rut);
    }
    if let Some(rut) = subject_entry(certificate, Nid::SERIALNUMBER).and_then(|s| Rut::parse(&s).ok()) {
        return Some(rut);
    }
    certificate.subject_name().entries().find_map(|entry| {
        let text = entry.data().to_string().ok()?;
        text.split(|c: char| c.is_whitespace() || c == ',' || c == ':').find_map(|token| Rut::parse(token).ok())
    })
}

/// Finds `OID [0] { string }` after the SII's otherName OID in a certificate's DER. The value is
/// an IA5String, UTF8String or PrintableString holding the RUT (sometimes with leading zeros).
fn rut_from_other_name(der: &[u8]) -> Option<Rut> {
    let start = der.windows(RUT_OTHER_NAME_OID.len()).position(|window| window == RUT_OTHER_NAME_OID)?
        + RUT_OTHER_NAME_OID.len();
    let rest = der.get(start..)?;
    // [0] EXPLICIT, short length form (a RUT is a dozen bytes).
    let (&tag, rest) = rest.split_first()?;
    let (&_explicit_length, rest) = rest.split_first()?;
    if tag != 0xA0 {
        return None;
    }
    let (&string_tag, rest) = rest.split_first()?;
    let (&length, rest) = rest.split_first()?;
    if !matches!(string_tag, 0x16 | 0x0C | 0x13) || length >= 0x80 {
        return None;
    }
    let value = rest.get(..usize::from(length))?;
    Rut::parse(std::str::from_utf8(value).ok()?).ok()
}

// ---------------------------------------------------------------------------------------------
// xmlsec keys

/// An xmlsec key, destroyed on drop; like every xmlsec object, used only by the thread that
/// made it.
struct OwnedKey(*mut xs::xmlSecKey);

impl Drop for OwnedKey {
    fn drop(&mut self) {
        // SAFETY: the key was created by xmlsec on this thread and is destroyed once.
        unsafe { xs::xmlSecKeyDestroy(self.0) }
    }
}

/// Enough for every company's signer on a worker thread; beyond it the cache restarts.
const MAX_KEYS_PER_THREAD: usize = 64;

thread_local! {
    static SIGNING_KEYS: RefCell<HashMap<u64, OwnedKey>> = RefCell::new(HashMap::new());
}

/// Loads a key into xmlsec from PEM (private or public); adds a PEM certificate when given.
fn load_xmlsec_key(key_pem: &[u8], certificate_pem: Option<&[u8]>) -> Result<OwnedKey, String> {
    let length = u32::try_from(key_pem.len()).map_err(|_| "key too large".to_string())?;
    // SAFETY: buffers outlive the calls; the returned key is owned by `OwnedKey`.
    unsafe {
        let key = xs::xmlSecOpenSSLAppKeyLoadMemory(
            key_pem.as_ptr(),
            length,
            xs::xmlSecKeyDataFormat_xmlSecKeyDataFormatPem,
            ptr::null(),
            ptr::null_mut(),
            ptr::null_mut(),
        );
        if key.is_null() {
            return Err(format!("xmlsec cannot load the key ({})", take_xmlsec_error()));
        }
        let owned = OwnedKey(key);
        if let Some(certificate) = certificate_pem {
            let length = u32::try_from(certificate.len()).map_err(|_| "certificate too large".to_string())?;
            let rc = xs::xmlSecOpenSSLAppKeyCertLoadMemory(
                key,
                certificate.as_ptr(),
                length,
                xs::xmlSecKeyDataFormat_xmlSecKeyDataFormatCertPem,
            );
            if rc < 0 {
                return Err(format!("xmlsec cannot attach the certificate ({})", take_xmlsec_error()));
            }
        }
        Ok(owned)
    }
}

/// Hands an openssl public key to xmlsec without a PEM round trip (OpenSSL 3's PEM decoders
/// cost more than the RSA verification itself).
fn xmlsec_public_key(public_key: &PKey<Public>) -> Result<OwnedKey, String> {
    if public_key.id() != Id::RSA {
        return Err("the signature key is not RSA".into());
    }
    // SAFETY: the cloned PKey is one more reference to the EVP_PKEY; forgetting the clone hands
    // that reference to xmlsec, which adopts it into the key data, which the key then owns.
    unsafe {
        let data = xs::xmlSecKeyDataCreate(xs::xmlSecOpenSSLKeyDataRsaGetKlass());
        if data.is_null() {
            return Err(format!("xmlsec cannot create key data ({})", take_xmlsec_error()));
        }
        let reference = public_key.clone();
        let evp = reference.as_ptr();
        std::mem::forget(reference);
        if xs::xmlSecOpenSSLKeyDataRsaAdoptEvp(data, evp.cast()) < 0 {
            // Not adopted: release the reference taken above.
            drop(PKey::<Public>::from_ptr(evp));
            xs::xmlSecKeyDataDestroy(data);
            return Err(format!("xmlsec cannot adopt the key ({})", take_xmlsec_error()));
        }
        let key = xs::xmlSecKeyCreate();
        if key.is_null() {
            xs::xmlSecKeyDataDestroy(data);
            return Err(format!("xmlsec cannot create a key ({})", take_xmlsec_error()));
        }
        let owned = OwnedKey(key);
        if xs::xmlSecKeySetValue(key, data) < 0 {
            xs::xmlSecKeyDataDestroy(data);
            return Err(format!("xmlsec cannot set the key ({})", take_xmlsec_error()));
        }
        Ok(owned)
    }
}

/// Runs `work` with this thread's xmlsec copy of the signer's key, loading it on first use.
fn with_thread_key<R>(signer: &Signer, work: impl FnOnce(*mut xs::xmlSecKey) -> R) -> DteResult<R> {
    SIGNING_KEYS.with(|cell| {
        let mut keys = cell.borrow_mut();
        if keys.len() >= MAX_KEYS_PER_THREAD && !keys.contains_key(&signer.id) {
            keys.clear();
        }
        let key = match keys.entry(signer.id) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry
                .insert(load_xmlsec_key(&signer.key_pem, Some(&signer.certificate_pem)).map_err(DteError::Signing)?),
        };
        Ok(work(key.0))
    })
}

/// A signature context that is destroyed on every path out.
struct DsigContext(*mut xs::xmlSecDSigCtx);

impl DsigContext {
    fn new() -> DteResult<DsigContext> {
        // SAFETY: no keys manager; the key is set explicitly before use.
        let context = unsafe { xs::xmlSecDSigCtxCreate(ptr::null_mut()) };
        if context.is_null() {
            return Err(DteError::Signing("xmlsec cannot create a signature context".into()));
        }
        Ok(DsigContext(context))
    }
}

impl Drop for DsigContext {
    fn drop(&mut self) {
        // SAFETY: created by xmlSecDSigCtxCreate; any key still set is owned by the context.
        unsafe { xs::xmlSecDSigCtxDestroy(self.0) }
    }
}

/// What a signature covers: an element by ID (`URI="#ID"`, with a C14N transform, as the SII
/// signs DTEs and envelopes) or the whole document (`URI=""` with the enveloped transform, as
/// in the getToken request).
#[derive(Clone, Copy)]
pub(crate) enum SignedPart<'a> {
    ElementById(&'a str),
    WholeDocument,
}

/// Appends a `<Signature>` to `parent` and signs it with the signer's key. The element the
/// reference names must have its ID registered (see [`XmlDoc::register_ids`]).
pub(crate) fn sign_enveloped(doc: &XmlDoc, parent: Node<'_>, part: SignedPart<'_>, signer: &Signer) -> DteResult<()> {
    let uri = match part {
        SignedPart::ElementById(id) => format!("#{id}"),
        SignedPart::WholeDocument => String::new(),
    };
    let uri = CString::new(uri).map_err(|_| DteError::input("ID", "contains a NUL character"))?;
    let failed = |what: &str| DteError::Signing(format!("{what} ({})", take_xmlsec_error()));
    // SAFETY: the template nodes are created for `doc` and adopted by `parent` right away;
    // xmlsec pointer types alias libxml's (same C structs, separately generated bindings).
    unsafe {
        let signature = xs::xmlSecTmplSignatureCreate(
            doc.as_ptr().cast(),
            xs::xmlSecTransformInclC14NGetKlass(),
            xs::xmlSecOpenSSLTransformRsaSha1GetKlass(),
            ptr::null(),
        );
        if signature.is_null() {
            return Err(failed("cannot create the signature template"));
        }
        lx::xmlAddChild(parent.as_ptr(), signature.cast());
        let reference = xs::xmlSecTmplSignatureAddReference(
            signature,
            xs::xmlSecOpenSSLTransformSha1GetKlass(),
            ptr::null(),
            uri.as_ptr().cast(),
            ptr::null(),
        );
        if reference.is_null() {
            return Err(failed("cannot add the signature reference"));
        }
        let transform = match part {
            SignedPart::ElementById(_) => xs::xmlSecTransformInclC14NGetKlass(),
            SignedPart::WholeDocument => xs::xmlSecTransformEnvelopedGetKlass(),
        };
        if xs::xmlSecTmplReferenceAddTransform(reference, transform).is_null() {
            return Err(failed("cannot add the reference transform"));
        }

        let context = DsigContext::new()?;
        let rc = with_thread_key(signer, |key| {
            // The key is lent, not given: xmlsec only reads it (the signature transform takes
            // its own reference), and it is taken back before the context is destroyed.
            (*context.0).signKey = key;
            let rc = xs::xmlSecDSigCtxSign(context.0, signature);
            (*context.0).signKey = ptr::null_mut();
            rc
        })?;
        if rc < 0 {
            return Err(failed("xmlsec could not sign"));
        }
        // KeyInfo is outside what the signature covers; the signer's is written from text
        // prepared once, which spares xmlsec exporting the key and the certificate per
        // signature.
        append_key_info(parent.wrap(signature.cast())?, &signer.key_info)?;
    }
    Ok(())
}

/// `KeyInfo` as the SII's examples carry it: the RSA key's value and the certificate, laid
/// out line by line as xmlsec writes it.
fn append_key_info(signature: Node<'_>, key_info: &KeyInfoText) -> DteResult<()> {
    let info = signature.add_element(c"KeyInfo")?;
    signature.add_line_break()?;
    info.add_line_break()?;
    let value = info.add_element(c"KeyValue")?;
    info.add_line_break()?;
    value.add_line_break()?;
    let rsa = value.add_element(c"RSAKeyValue")?;
    value.add_line_break()?;
    rsa.add_line_break()?;
    rsa.add_text(c"Modulus", &format!("\n{}", key_info.modulus))?;
    rsa.add_line_break()?;
    rsa.add_text(c"Exponent", &format!("\n{}", key_info.exponent))?;
    rsa.add_line_break()?;
    let x509 = info.add_element(c"X509Data")?;
    info.add_line_break()?;
    x509.add_line_break()?;
    x509.add_text(c"X509Certificate", &key_info.certificate)?;
    x509.add_line_break()?;
    Ok(())
}

/// A signer's `KeyInfo` texts, base64 in lines of 64 characters as xmlsec writes them.
struct KeyInfoText {
    modulus: String,
    exponent: String,
    certificate: String,
}

impl KeyInfoText {
    fn of(certificate: &X509, key: &PKey<Private>) -> DteResult<KeyInfoText> {
        let rsa = key.rsa().map_err(|_| DteError::Certificate("the key is not RSA".into()))?;
        let der =
            certificate.to_der().map_err(|_| DteError::Certificate("the certificate cannot be exported".into()))?;
        Ok(KeyInfoText {
            modulus: base64_lines(&rsa.n().to_vec()),
            exponent: base64_lines(&rsa.e().to_vec()),
            certificate: base64_lines(&der),
        })
    }
}

fn base64_lines(bytes: &[u8]) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut lines = String::with_capacity(text.len() + text.len() / 64 + 1);
    for chunk in text.as_bytes().chunks(64) {
        // Base64 is ASCII: every chunk is valid UTF-8.
        lines.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        lines.push('\n');
    }
    lines
}

/// Signs the element whose `ID` is `id` where it stands in `xml`: a `<Signature>` over
/// `#id` is appended to the element's parent, so the signed form carries the namespace
/// context the element has there (an envelope's declarations included). The document
/// comes back in ISO-8859-1. This is how other issuers' software signs documents (DTEs
/// without the SII namespace, DTEs signed inside their EnvioDTE); the engine signs what it
/// builds as it builds it.
pub fn sign_in_place(xml: &[u8], id: &str, signer: &Signer) -> DteResult<Vec<u8>> {
    let doc = XmlDoc::parse(xml)?;
    doc.register_ids()?;
    let element = doc.element_by_id(id).ok_or_else(|| DteError::input("ID", format!("no element has ID '{id}'")))?;
    let parent = element.parent().ok_or_else(|| DteError::input("ID", "the root element cannot sign itself"))?;
    sign_enveloped(&doc, parent, SignedPart::ElementById(id), signer)?;
    doc.to_latin1()
}

/// What a successful signature check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerifiedSignature {
    pub(crate) signer_rut: Option<Rut>,
}

/// Verifies one `<Signature>` element with the public key it carries. The certificate's key is
/// tried first; when it does not verify and `KeyValue` holds another key, that key is tried too
/// (the SII's own example is signed with its `KeyValue` key next to an unrelated certificate,
/// and `xmlsec1` accepts it the same way). The signer's RUT is reported only when the
/// certificate's key is the one that verified. When `expected_uri` is given, the signature's
/// reference must point there, so a signature over some other element cannot pass for this
/// one. Only same-document references are followed.
pub(crate) fn verify_signature(signature: Node<'_>, expected_uri: Option<&str>) -> Result<VerifiedSignature, String> {
    let reference_uri = signature
        .path(&["SignedInfo", "Reference"])
        .and_then(|reference| reference.attr("URI"))
        .ok_or("the signature has no Reference URI")?;
    if let Some(expected) = expected_uri {
        if reference_uri != expected {
            return Err(format!("the signature covers '{reference_uri}', expected '{expected}'"));
        }
    }
    let certificate = signature
        .path(&["KeyInfo", "X509Data", "X509Certificate"])
        .map(|node| decode_base64_text(&node.text()))
        .transpose()?
        .map(|der| known_certificate(&der))
        .transpose()?;
    let key_value = signature.path(&["KeyInfo", "KeyValue", "RSAKeyValue"]).map(rsa_key_value).transpose()?;

    // The signer is who the certificate names, so only the certificate's key may verify:
    // a KeyValue that is another key (a certificate swapped for someone else's) is refused.
    // Without a certificate the KeyValue verifies, and no signer is named.
    let (key, signer_rut) = match (&certificate, key_value) {
        (Some(certificate), key_value) => {
            let key = certificate.key.clone();
            if key_value.is_some_and(|value| !value.public_eq(&key)) {
                return Err("the KeyValue is not the key of the X509Certificate: the certificate was replaced".into());
            }
            (key, certificate.signer_rut)
        }
        (None, Some(key)) => (key, None),
        (None, None) => return Err("the signature carries no public key".into()),
    };
    if key.bits() > MAX_VERIFY_KEY_BITS {
        return Err(format!("a {}-bit key is larger than the {MAX_VERIFY_KEY_BITS} bits accepted", key.bits()));
    }
    verify_with_key(signature, &key)?;
    Ok(VerifiedSignature { signer_rut })
}

/// What verifying needs of a certificate met in a signature.
struct KnownCertificate {
    key: PKey<Public>,
    signer_rut: Option<Rut>,
}

/// Enough for every signer a verifier meets; beyond it the cache starts again.
const MAX_KNOWN_CERTIFICATES: usize = 256;

/// Certificates read from signatures, by the SHA-256 of their DER: a verifier meets the
/// same few signers over and over (every DTE of an envelope carries its signer's), and
/// parsing the certificate cost more than a third of checking a signature. Only
/// certificates that parsed are kept.
fn known_certificate(der: &[u8]) -> Result<Arc<KnownCertificate>, String> {
    static KNOWN: OnceLock<Mutex<HashMap<[u8; 32], Arc<KnownCertificate>>>> = OnceLock::new();
    let known = KNOWN.get_or_init(Mutex::default);
    let digest = openssl::sha::sha256(der);
    if let Some(found) = known.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&digest) {
        return Ok(Arc::clone(found));
    }
    let certificate = X509::from_der(der).map_err(|_| "X509Certificate is not a certificate")?;
    let key = certificate.public_key().map_err(|_| "the certificate's public key cannot be read")?;
    let parsed = Arc::new(KnownCertificate { key, signer_rut: rut_from_certificate(&certificate) });
    let mut known = known.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if known.len() >= MAX_KNOWN_CERTIFICATES {
        known.clear();
    }
    known.insert(digest, Arc::clone(&parsed));
    Ok(parsed)
}

/// Most key-derivation iterations a PKCS#12 file may ask for (MAC and PBE alike). Real
/// certificates use 2048 to 10 000; the file chooses, so the cost is capped before OpenSSL
/// spends it.
pub const MAX_PKCS12_ITERATIONS: u64 = 1_000_000;

/// Reads the PKCS#12's DER without recursion and refuses it when any iteration count
/// (an INTEGER right after the salt OCTET STRING, as in MacData, PBKDF2 and PKCS#12 PBE
/// parameters) is above [`MAX_PKCS12_ITERATIONS`]. Encapsulated DER in OCTET STRINGs is
/// read too (the AuthenticatedSafe and its SafeContents travel that way).
fn check_pkcs12_work(der: &[u8]) -> DteResult<()> {
    const MAX_ELEMENTS: usize = 100_000;
    let mut pending: Vec<&[u8]> = vec![der];
    let mut seen = 0usize;
    while let Some(mut content) = pending.pop() {
        let mut previous_was_octets = false;
        while !content.is_empty() {
            seen += 1;
            if seen > MAX_ELEMENTS {
                return Err(DteError::Certificate("the PKCS#12 file is too complex".into()));
            }
            let Some((tag, body, rest)) = der_element(content) else { break };
            content = rest;
            match tag {
                0x02 if previous_was_octets => {
                    let digits = body.iter().skip_while(|b| **b == 0).count();
                    let value = body.iter().fold(0u64, |n, b| n.saturating_mul(256).saturating_add(u64::from(*b)));
                    if digits > 8 || value > MAX_PKCS12_ITERATIONS {
                        return Err(DteError::Certificate(format!(
                            "the PKCS#12 file asks for more than {MAX_PKCS12_ITERATIONS} key-derivation iterations"
                        )));
                    }
                }
                // Constructed: SEQUENCE, SET, context-specific.
                tag if tag & 0x20 != 0 => pending.push(body),
                // An OCTET STRING may hold DER.
                0x04 => pending.push(body),
                _ => {}
            }
            previous_was_octets = tag == 0x04;
        }
    }
    Ok(())
}

/// One DER element: (tag, content, what follows). None when it does not parse.
fn der_element(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first & 0x80 == 0 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (digits, rest) = rest.split_at_checked(count)?;
        (digits.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b)), rest)
    };
    let (content, after) = rest.split_at_checked(length)?;
    Some((tag, content, after))
}

/// Largest RSA key a signature may be checked with (the work grows with the key).
const MAX_VERIFY_KEY_BITS: u32 = 8192;

/// Largest signing key accepted in a certificate.
pub const MAX_SIGNING_KEY_BITS: u32 = 4096;

fn verify_with_key(signature: Node<'_>, public_key: &PKey<Public>) -> Result<(), String> {
    let key = xmlsec_public_key(public_key)?;
    let context = DsigContext::new().map_err(|error| error.to_string())?;
    // SAFETY: the context owns the key once set (it destroys it); `key` is forgotten so it is
    // not destroyed twice.
    let (rc, status) = unsafe {
        (*context.0).signKey = key.0;
        std::mem::forget(key);
        (*context.0).enabledReferenceUris = xs::xmlSecTransformUriTypeEmpty | xs::xmlSecTransformUriTypeSameDocument;
        let rc = xs::xmlSecDSigCtxVerify(context.0, signature.as_ptr().cast());
        (rc, (*context.0).status)
    };
    if rc < 0 {
        return Err(format!("the signature cannot be processed ({})", take_xmlsec_error()));
    }
    if status != xs::xmlSecDSigStatus_xmlSecDSigStatusSucceeded {
        take_xmlsec_error();
        return Err("the signature does not match the signed content".into());
    }
    Ok(())
}

/// The `<Signature>` child (XMLDSig namespace) of an element.
pub(crate) fn signature_child<'doc>(parent: Node<'doc>) -> Option<Node<'doc>> {
    parent.children().find(|child| child.is("Signature", DSIG_NS_STR))
}

#[cfg(test)]
mod pkcs12_work {
    use super::*;

    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if content.len() < 128 {
            out.push(content.len() as u8);
        } else {
            out.push(0x82);
            out.extend_from_slice(&(content.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(content);
        out
    }

    fn mac_data(iterations: &[u8]) -> Vec<u8> {
        let mut inner = der(0x30, &[]);
        inner.extend(der(0x04, b"salt-salt"));
        inner.extend(der(0x02, iterations));
        let mut pfx = der(0x02, &[3]);
        pfx.extend(der(0x30, &der(0x04, &der(0x30, &[]))));
        pfx.extend(der(0x30, &inner));
        der(0x30, &pfx)
    }

    #[test]
    fn iteration_counts_above_the_cap_are_refused_before_openssl_runs() {
        assert!(check_pkcs12_work(&mac_data(&[0x08, 0x00])).is_ok());
        let err = check_pkcs12_work(&mac_data(&[0x7f, 0xff, 0xff, 0xff])).unwrap_err().to_string();
        assert!(err.contains("key-derivation iterations"), "{err}");
        let err = Signer::from_pkcs12(&mac_data(&[0x7f, 0xff, 0xff, 0xff]), "x").unwrap_err().to_string();
        assert!(err.contains("key-derivation iterations"), "{err}");
    }

    #[test]
    fn the_real_test_certificate_passes() {
        let p12 =
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys/signer-11111111-1.p12")).unwrap();
        check_pkcs12_work(&p12).unwrap();
    }
}

fn decode_base64_text(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact).map_err(|_| "invalid base64 in the signature".to_string())
}

fn rsa_key_value(rsa: Node<'_>) -> Result<PKey<Public>, String> {
    let component = |name: &str| -> Result<BigNum, String> {
        let node = rsa.child(name).ok_or(format!("RSAKeyValue has no {name}"))?;
        let bytes = decode_base64_text(&node.text())?;
        BigNum::from_slice(&bytes).map_err(|_| format!("{name} is not a number"))
    };
    let key = Rsa::from_public_components(component("Modulus")?, component("Exponent")?)
        .map_err(|_| "RSAKeyValue is not an RSA key")?;
    PKey::from_rsa(key).map_err(|_| "RSAKeyValue is not an RSA key".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::asn1::Asn1Time;
    use openssl::hash::MessageDigest;
    use openssl::x509::X509NameBuilder;

    fn fixture(relative: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative);
        std::fs::read(path).unwrap()
    }

    #[test]
    fn rut_comes_from_the_sii_other_name_even_with_leading_zeros() {
        // The SII example's certificate carries "07880442-4" in otherName 1.3.6.1.4.1.8321.1.
        let example = String::from_utf8_lossy(&fixture("official/F60T33-ejemplo-oficial-SII.xml")).into_owned();
        let start = example.find("<X509Certificate>").unwrap() + "<X509Certificate>".len();
        let end = example.find("</X509Certificate>").unwrap();
        let der = decode_base64_text(&example[start..end]).unwrap();
        let certificate = X509::from_der(&der).unwrap();
        assert_eq!(rut_from_certificate(&certificate).unwrap().to_string(), "7880442-4");

        let synthetic = X509::from_pem(&fixture("keys/signer-11111111-1-cert.pem")).unwrap();
        assert_eq!(rut_from_certificate(&synthetic).unwrap().to_string(), "11111111-1");
    }

    #[test]
    fn without_other_name_the_rut_comes_from_the_subject() {
        let key = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_nid(Nid::COMMONNAME, "FIRMANTE SIN SAN").unwrap();
        name.append_entry_by_nid(Nid::SERIALNUMBER, "60.803.000-k").unwrap();
        let name = name.build();
        let mut builder = X509::builder().unwrap();
        builder.set_subject_name(&name).unwrap();
        builder.set_issuer_name(&name).unwrap();
        builder.set_pubkey(&key).unwrap();
        builder.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        builder.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
        builder.sign(&key, MessageDigest::sha256()).unwrap();
        let certificate = builder.build();
        let expected = Rut::from_number(60_803_000).unwrap();
        assert_eq!(rut_from_certificate(&certificate), Some(expected));
        assert_eq!(expected.to_string(), "60803000-K");
    }
}
