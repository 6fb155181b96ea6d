//! CAF files as `dte.caf.load` reads them: the XML checks first, then the engine's reader
//! with the SII's keys and the fake one that signs the synthetic CAFs.
#![no_main]

mod common;

use dte_sidecar::dte::{caf_expiry_date, Caf};
use dte_sidecar::input::xml_content::accept_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = accept_bytes("caf_xml", data.to_vec(), 1 << 20);
    let Ok(caf) = Caf::parse(data, common::trust()) else { return };
    assert!(
        caf.first_folio() >= 1 && caf.first_folio() <= caf.last_folio(),
        "range {}..{}",
        caf.first_folio(),
        caf.last_folio()
    );
    assert_eq!(caf.folio_count(), caf.last_folio() - caf.first_folio() + 1);
    assert!(caf.contains_folio(caf.first_folio()) && caf.contains_folio(caf.last_folio()));
    assert!(caf.check_folio(caf.last_folio().saturating_add(1)).is_err());
    let _ = caf.check_belongs_to(caf.issuer_rut(), caf.document_type());
    let _ = caf_expiry_date(caf.document_type(), caf.authorized_on());
    let _ = caf.check_usable_on(caf.authorized_on());
    let _ = (caf.issuer_name(), caf.idk(), caf.environment(), caf.expires_on(), caf.public_key());
});
