//! Secrets at rest: certificates, their passwords and CAF private keys are sealed with
//! AES-256-GCM under the master key from the settings before they reach the database.
//! A sealed value is `nonce (12) ‖ tag (16) ‖ ciphertext`; the purpose string is bound
//! as associated data, so a sealed password cannot be passed off as a sealed CAF.

use openssl::rand::rand_bytes;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use zeroize::Zeroizing;

const NONCE: usize = 12;
const TAG: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the master key must be 64 hexadecimal characters")]
    BadKey,
    #[error("no master key is configured (secrets.master_key)")]
    NoKey,
    #[error("a sealed value cannot be opened (wrong master key or damaged data)")]
    Open,
    #[error("sealing failed")]
    Seal,
}

pub struct Sealer {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

impl Sealer {
    pub fn from_hex(hex_key: &str) -> Result<Self, SealError> {
        let bytes = Zeroizing::new(hex::decode(hex_key.trim()).map_err(|_| SealError::BadKey)?);
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| SealError::BadKey)?;
        Ok(Self { key: Zeroizing::new(key) })
    }

    pub fn seal(&self, purpose: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE];
        rand_bytes(&mut nonce).map_err(|_| SealError::Seal)?;
        let mut tag = [0u8; TAG];
        let cipher =
            encrypt_aead(Cipher::aes_256_gcm(), self.key.as_slice(), Some(&nonce), purpose.as_bytes(), plain, &mut tag)
                .map_err(|_| SealError::Seal)?;
        let mut sealed = Vec::with_capacity(NONCE + TAG + cipher.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&tag);
        sealed.extend_from_slice(&cipher);
        Ok(sealed)
    }

    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.len() < NONCE + TAG {
            return Err(SealError::Open);
        }
        let (nonce, rest) = sealed.split_at(NONCE);
        let (tag, cipher) = rest.split_at(TAG);
        decrypt_aead(Cipher::aes_256_gcm(), self.key.as_slice(), Some(nonce), purpose.as_bytes(), cipher, tag)
            .map(Zeroizing::new)
            .map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn sealed_values_open_only_with_the_key_and_purpose() {
        let sealer = Sealer::from_hex(KEY).unwrap();
        let sealed = sealer.seal("password", b"1234").unwrap();
        assert!(!sealed.windows(4).any(|w| w == b"1234"));
        assert_eq!(sealer.open("password", &sealed).unwrap().as_slice(), b"1234");
        assert_eq!(sealer.open("caf", &sealed).unwrap_err(), SealError::Open);
        let other = Sealer::from_hex(&KEY.replace("00", "ff")).unwrap();
        assert_eq!(other.open("password", &sealed).unwrap_err(), SealError::Open);
        assert_eq!(Sealer::from_hex("abc").unwrap_err(), SealError::BadKey);
    }
}
