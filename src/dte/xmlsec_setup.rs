//! xmlsec's process set-up and its error messages: xmlsec reports an error through a
//! callback, kept per thread so that a failure can be explained instead of printed.
//! Set up once from `xml::ensure_initialised`; read by the signing code.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr};

/// `xmlSecErrorsSetCallback` is not in the crate's generated bindings.
type XmlSecErrorsCallback = Option<
    unsafe extern "C" fn(
        file: *const c_char,
        line: c_int,
        func: *const c_char,
        error_object: *const c_char,
        error_subject: *const c_char,
        reason: c_int,
        message: *const c_char,
    ),
>;

extern "C" {
    fn xmlSecErrorsSetCallback(callback: XmlSecErrorsCallback);
}

thread_local! {
    /// The last xmlsec error on this thread, to explain a failure instead of printing it.
    static LAST_XMLSEC_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

unsafe extern "C" fn remember_xmlsec_error(
    _file: *const c_char,
    _line: c_int,
    func: *const c_char,
    _error_object: *const c_char,
    _error_subject: *const c_char,
    _reason: c_int,
    message: *const c_char,
) {
    // SAFETY: xmlsec passes NUL-terminated strings or NULL.
    let text = |pointer: *const c_char| unsafe {
        if pointer.is_null() {
            String::new()
        } else {
            CStr::from_ptr(pointer).to_string_lossy().into_owned()
        }
    };
    let line = format!("{}: {}", text(func), text(message));
    let _ = LAST_XMLSEC_ERROR.try_with(|last| *last.borrow_mut() = line);
}

/// Takes (and clears) the last xmlsec error of this thread.
pub(super) fn take_xmlsec_error() -> String {
    LAST_XMLSEC_ERROR.try_with(|last| std::mem::take(&mut *last.borrow_mut())).unwrap_or_default()
}

/// Initialises xmlsec (through the crate, which owns the global context) and silences its
/// stderr output. Called once from `xml::ensure_initialised`.
pub(super) fn initialise_xmlsec() {
    drop(xmlsec::XmlSecSignatureContext::new());
    // SAFETY: installs a plain function pointer; xmlsec calls it on the failing thread.
    unsafe { xmlSecErrorsSetCallback(Some(remember_xmlsec_error)) };
}
