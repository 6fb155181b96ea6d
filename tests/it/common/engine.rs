//! Shared fixtures for the engine's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{NaiveDate, NaiveDateTime};
use dte_sidecar::dte::{Caf, CafTrust, DteRequest, DteType, Schemas, Signer};

pub const P12_PASSWORD: &str = "1234";

pub fn manifest_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn fixture(relative: &str) -> Vec<u8> {
    let path = manifest_path("tests/fixtures").join(relative);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

pub fn schemas() -> Schemas {
    Schemas::from_dir(manifest_path("schemas/sii")).unwrap()
}

/// The SII's keys plus the fake SII key that signed the synthetic CAFs.
pub fn test_trust() -> CafTrust {
    CafTrust::sii().with_extra_key(100, &fixture("keys/FAKE-SII-IDK100-public.pem")).unwrap()
}

pub fn signer() -> Signer {
    Signer::from_pkcs12(&fixture("keys/signer-11111111-1.p12"), P12_PASSWORD).unwrap()
}

pub fn caf_xml(document_type: DteType) -> Vec<u8> {
    fixture(&format!("keys/CAF-SYNTHETIC-76000001-9-T{}-F1-100.xml", document_type.code()))
}

pub fn caf(document_type: DteType) -> Caf {
    Caf::parse(&caf_xml(document_type), &test_trust()).unwrap()
}

pub fn request_json(document_type: DteType) -> Vec<u8> {
    std::fs::read(manifest_path(&format!("docs/dte-json/{}.json", document_type.code()))).unwrap()
}

pub fn request(document_type: DteType) -> DteRequest {
    DteRequest::from_json(&request_json(document_type)).unwrap()
}

/// The example requests as JSON values, to alter one field in a test.
pub fn request_value(document_type: DteType) -> serde_json::Value {
    serde_json::from_slice(&request_json(document_type)).unwrap()
}

pub fn request_from_value(value: &serde_json::Value) -> DteRequest {
    DteRequest::from_json(&serde_json::to_vec(value).unwrap()).unwrap()
}

pub fn stamped_at() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 1, 5).unwrap().and_hms_opt(10, 0, 0).unwrap()
}

/// A fresh directory under the target's test scratch space.
pub fn scratch_dir(label: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{label}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&path).unwrap();
    path
}

/// Runs an external tool; returns (success, stdout + stderr).
pub fn run_tool(program: &str, args: &[&str]) -> (bool, String) {
    let output =
        Command::new(program).args(args).output().unwrap_or_else(|error| panic!("cannot run {program}: {error}"));
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The bytes between the first `start` and the following `end`, both included.
pub fn slice_between<'a>(haystack: &'a [u8], start: &[u8], end: &[u8]) -> &'a [u8] {
    let begin = find(haystack, start, 0).expect("start marker");
    let stop = find(haystack, end, begin).expect("end marker") + end.len();
    &haystack[begin..stop]
}

pub fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack[from..].windows(needle.len()).position(|window| window == needle).map(|position| position + from)
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle, 0).is_some()
}

/// Replaces the first occurrence of `from` with `to` in bytes.
pub fn replace_once(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = find(haystack, from, 0).expect("text to replace");
    let mut out = haystack[..at].to_vec();
    out.extend_from_slice(to);
    out.extend_from_slice(&haystack[at + from.len()..]);
    out
}

/// A settings file in `dir` for running the binary's offline commands (`verify-file`):
/// the SII schemas and the test CAF key. Returns its path.
pub fn offline_config(dir: &Path) -> PathBuf {
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[sii]\nschemas_dir = \"{}\"\n[[sii.extra_caf_keys]]\nidk = 100\npath = \"{}\"\n",
            manifest_path("schemas/sii").display(),
            manifest_path("tests/fixtures/keys/FAKE-SII-IDK100-public.pem").display()
        ),
    )
    .unwrap();
    config
}
