//! PKCS#12 files as `dte.company.set_certificate` reads them (password "1234", the
//! synthetic signer's): refused with an error, or a signer that can sign.
#![no_main]

use dte_sidecar::dte::{sign_get_token_request, Signer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(signer) = Signer::from_pkcs12(data, "1234") else { return };
    let _ = (signer.rut(), signer.holder_name(), signer.not_before(), signer.not_after(), signer.certificate_der());
    sign_get_token_request("012345678901", &signer).expect("a loaded signer signs");
});
