//! Checks of what callers send, shared by the flows and the owners: typed arguments
//! (DTE types, folios, RUTs) and XML content.

pub mod args;
pub mod xml_content;
