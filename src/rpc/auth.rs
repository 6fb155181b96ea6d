//! API keys from the settings, compared in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::settings::AuthSettings;

/// The name of the client whose key this is, if any. Every configured key is compared
/// (no early exit) and over fixed-length digests, so timing tells nothing about keys.
/// One rule for both doors: whitespace around a presented key is not part of it (the
/// settings refuse keys that begin or end with whitespace).
pub fn client_for_key(auth: &AuthSettings, presented: &str) -> Option<String> {
    let presented = Sha256::digest(presented.trim().as_bytes());
    let mut found = None;
    for (name, key) in &auth.api_keys {
        let expected = Sha256::digest(key.expose().as_bytes());
        if bool::from(expected.ct_eq(&presented)) {
            found = Some(name.clone());
        }
    }
    found
}

/// The Odoo user id a client answers to: its place among the configured keys, from 1.
pub fn uid_of(auth: &AuthSettings, client: &str) -> Option<i64> {
    auth.api_keys.keys().position(|name| name == client).and_then(|index| i64::try_from(index + 1).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Secret;

    #[test]
    fn only_a_configured_key_names_its_client() {
        let mut auth = AuthSettings::default();
        auth.api_keys.insert("odoo".into(), Secret::new("k-odoo-0123456789"));
        auth.api_keys.insert("ops".into(), Secret::new("k-ops-0123456789"));
        assert_eq!(client_for_key(&auth, "k-ops-0123456789").as_deref(), Some("ops"));
        assert_eq!(client_for_key(&auth, "k-odoo-0123456789").as_deref(), Some("odoo"));
        assert_eq!(client_for_key(&auth, "k-odoo-012345678"), None);
        assert_eq!(client_for_key(&auth, ""), None);
        assert_eq!(client_for_key(&auth, " k-ops-0123456789\n").as_deref(), Some("ops"));
    }
}
