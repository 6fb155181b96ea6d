//! What the targets share: the repository's synthetic keys, CAFs and the SII schemas,
//! loaded once per process.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use dte_sidecar::dte::{Caf, CafTrust, Schemas, Signer, IDK_CERTIFICATION};

pub fn repo_file(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(relative)
}

fn read(relative: &str) -> Vec<u8> {
    std::fs::read(repo_file(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The SII's keys plus the fake IDK 100 key that signs the synthetic CAFs, so inputs
/// derived from them reach past the `FRMA` check.
pub fn trust() -> &'static CafTrust {
    static TRUST: OnceLock<CafTrust> = OnceLock::new();
    TRUST.get_or_init(|| {
        CafTrust::sii()
            .with_extra_key(IDK_CERTIFICATION, &read("tests/fixtures/keys/FAKE-SII-IDK100-public.pem"))
            .expect("fake SII key")
    })
}

pub fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| Schemas::from_dir(repo_file("schemas/sii")).expect("SII schemas"))
}

pub fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| {
        Signer::from_pkcs12(&read("tests/fixtures/keys/signer-11111111-1.p12"), "1234").expect("synthetic signer")
    })
}

/// The synthetic CAFs of company 76000001-9, folios 1 to 100, one per document type.
pub fn cafs() -> &'static [Caf] {
    static CAFS: OnceLock<Vec<Caf>> = OnceLock::new();
    CAFS.get_or_init(|| {
        [33, 34, 52, 56, 61]
            .iter()
            .map(|t| {
                let file = format!("tests/fixtures/keys/CAF-SYNTHETIC-76000001-9-T{t}-F1-100.xml");
                Caf::parse(&read(&file), trust()).expect("synthetic CAF")
            })
            .collect()
    })
}
