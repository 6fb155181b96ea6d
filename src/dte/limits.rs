//! What the engine accepts, as data: text lengths, list sizes and the fields each document
//! type needs. `dte-sidecar engine limits` prints it; the Odoo addon keeps a copy
//! (`tools/engine_limits.json`) that a test holds equal to it, and the tests below hold it
//! equal to what [`DteRequest::validate`](super::DteRequest::validate) does.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::DteType;

/// The engine's limits. Paths are JSON paths of the request, `[]` standing for any entry
/// of a list (`lines[].name`).
#[derive(Debug, Clone, Serialize)]
pub struct EngineLimits {
    /// The document types the engine issues.
    pub document_types: Vec<u16>,
    /// Most characters of each text (DTE_v10.xsd); a longer text is refused, never cut.
    pub max_chars: BTreeMap<&'static str, usize>,
    /// Most entries of each list.
    pub max_items: BTreeMap<&'static str, usize>,
    /// Fields a document cannot go without (blank counts as missing): the types that
    /// need each.
    pub required: BTreeMap<&'static str, Vec<u16>>,
}

const MAX_CHARS: [(&str, usize); 31] = [
    ("issuer.name", 100),
    ("issuer.giro", 80),
    ("issuer.phone", 20),
    ("issuer.email", 80),
    ("issuer.branch", 20),
    ("issuer.address", 70),
    ("issuer.comuna", 20),
    ("issuer.city", 20),
    ("issuer.seller_code", 60),
    ("receiver.internal_code", 20),
    ("receiver.name", 100),
    ("receiver.giro", 40),
    ("receiver.contact", 80),
    ("receiver.email", 80),
    ("receiver.address", 70),
    ("receiver.comuna", 20),
    ("receiver.city", 20),
    ("transport.plate", 8),
    ("transport.driver.name", 30),
    ("transport.destination_address", 70),
    ("transport.destination_comuna", 20),
    ("transport.destination_city", 20),
    ("lines[].codes[].kind", 10),
    ("lines[].codes[].value", 35),
    ("lines[].name", 80),
    ("lines[].description", 1000),
    ("lines[].unit", 4),
    ("global_adjustments[].description", 45),
    ("references[].document_type", 3),
    ("references[].folio", 18),
    ("references[].reason", 90),
];

const MAX_ITEMS: [(&str, usize); 5] =
    [("lines", 60), ("lines[].codes", 5), ("global_adjustments", 20), ("references", 40), ("issuer.actecos", 4)];

const EVERY_TYPE: &[DteType] = &DteType::ALL;
/// Types that sell to a receiver with a line of business (`GiroRecep`); a dispatch guide
/// may move goods of the issuer's own.
const WITH_RECEIVER_GIRO: &[DteType] =
    &[DteType::Factura, DteType::FacturaExenta, DteType::NotaDebito, DteType::NotaCredito];
/// Types that modify another document and must name it (with a reference code).
const WITH_REFERENCE: &[DteType] = &[DteType::NotaDebito, DteType::NotaCredito];

const REQUIRED: [(&str, &[DteType]); 15] = [
    ("issue_date", EVERY_TYPE),
    ("issuer.rut", EVERY_TYPE),
    ("issuer.name", EVERY_TYPE),
    ("issuer.giro", EVERY_TYPE),
    ("issuer.actecos", EVERY_TYPE),
    ("issuer.address", EVERY_TYPE),
    ("issuer.comuna", EVERY_TYPE),
    ("receiver.rut", EVERY_TYPE),
    ("receiver.name", EVERY_TYPE),
    ("receiver.giro", WITH_RECEIVER_GIRO),
    ("receiver.address", EVERY_TYPE),
    ("receiver.comuna", EVERY_TYPE),
    ("lines", EVERY_TYPE),
    ("references", WITH_REFERENCE),
    ("transfer.indicator", &[DteType::GuiaDespacho]),
];

/// Most characters of the text at `path` (`lines[3].name` reads `lines[].name`). A path
/// the table does not hold takes none: its text is refused, and the tests below see it.
pub(crate) fn max_chars(path: &str) -> usize {
    let generic = generic_path(path);
    MAX_CHARS.iter().find(|(key, _)| *key == generic).map_or(0, |(_, max)| *max)
}

/// Most entries of the list at `path`, read as [`max_chars`] reads it.
pub(crate) fn max_items(path: &str) -> usize {
    let generic = generic_path(path);
    MAX_ITEMS.iter().find(|(key, _)| *key == generic).map_or(0, |(_, max)| *max)
}

/// `lines[3].codes[0].kind` as the tables write it: `lines[].codes[].kind`.
fn generic_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// The engine's limits.
pub fn engine_limits() -> EngineLimits {
    EngineLimits {
        document_types: DteType::ALL.iter().map(|kind| kind.code()).collect(),
        max_chars: MAX_CHARS.into_iter().collect(),
        max_items: MAX_ITEMS.into_iter().collect(),
        required: REQUIRED
            .into_iter()
            .map(|(path, types)| (path, types.iter().map(|kind| kind.code()).collect()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn a_path_with_indices_reads_its_tables_entry() {
        assert_eq!(super::max_chars("lines[12].codes[3].value"), 35);
        assert_eq!(super::max_chars("receiver.giro"), 40);
        assert_eq!(super::max_items("lines[7].codes"), 5);
        assert_eq!(super::max_chars("no.such.field"), 0);
    }

    use serde_json::{json, Value};

    use super::*;
    use crate::dte::{DteError, DteRequest};

    fn example(code: u16) -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/dte-json/{code}.json"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    /// The field the engine names when it refuses `request`, or None when it takes it.
    fn refused_field(request: &Value) -> Option<String> {
        let parsed = DteRequest::from_json(request.to_string().as_bytes());
        match parsed.and_then(|request| request.validate().map(|_| ())) {
            Ok(()) => None,
            Err(DteError::InvalidInput { field, .. }) => Some(field),
            Err(other) => Some(format!("not an input error: {other}")),
        }
    }

    /// The value at `path` (`[]` = the first entry) in `request`, made writable; None when a
    /// list or table on the way is absent.
    fn slot<'a>(request: &'a mut Value, path: &str) -> Option<&'a mut Value> {
        let mut here = request;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            let (name, first) = part.strip_suffix("[]").map_or((part, false), |name| (name, true));
            let map = here.as_object_mut()?;
            if parts.peek().is_none() && !first {
                return Some(map.entry(name).or_insert(Value::Null));
            }
            here = map.get_mut(name)?;
            if first {
                here = here.as_array_mut()?.first_mut()?;
            }
        }
        Some(here)
    }

    fn indexed(path: &str) -> String {
        path.replace("[]", "[0]")
    }

    #[test]
    fn every_length_is_the_one_the_engine_enforces() {
        for (path, max) in MAX_CHARS {
            let mut tried = false;
            for code in [33, 52, 61, 56, 34] {
                let mut request = example(code);
                if slot(&mut request, path).is_none() {
                    continue;
                }
                tried = true;
                *slot(&mut request, path).unwrap() = json!("x".repeat(max));
                assert_ne!(refused_field(&request), Some(indexed(path)), "{path}: {max} characters refused ({code})");
                *slot(&mut request, path).unwrap() = json!("x".repeat(max + 1));
                assert_eq!(
                    refused_field(&request),
                    Some(indexed(path)),
                    "{path}: {} characters taken ({code})",
                    max + 1
                );
            }
            assert!(tried, "{path}: no example of docs/dte-json holds it");
        }
    }

    #[test]
    fn every_list_size_is_the_one_the_engine_enforces() {
        for (path, max) in MAX_ITEMS {
            let mut request = example(if path.starts_with("references") { 61 } else { 52 });
            let list = slot(&mut request, path).unwrap();
            let entry = match list.as_array().and_then(|items| items.first()) {
                Some(entry) => entry.clone(),
                None => json!({"kind": "discount", "unit": "amount", "value": 1, "applies_to": "taxable"}),
            };
            *list = Value::Array(vec![entry; max + 1]);
            assert_eq!(refused_field(&request), Some(indexed(path)), "{path}: {} entries taken", max + 1);
        }
    }

    #[test]
    fn every_required_field_is_required_by_exactly_those_types() {
        for (path, types) in REQUIRED {
            for kind in DteType::ALL {
                let mut request = example(kind.code());
                let (parent, leaf) = path.rsplit_once('.').map_or((None, path), |(p, l)| (Some(p), l));
                let table = match parent {
                    Some(parent) => slot(&mut request, parent),
                    None => Some(&mut request),
                };
                let Some(Value::Object(table)) = table else { continue };
                match table.get(leaf) {
                    Some(Value::Array(_)) => table.insert(leaf.into(), json!([])),
                    Some(Value::String(_)) => table.insert(leaf.into(), json!("")),
                    _ => table.remove(leaf),
                };
                // A blank transfer indicator is no transfer at all.
                if path == "transfer.indicator" {
                    request.as_object_mut().unwrap().remove("transfer");
                }
                let refused = refused_field(&request);
                if types.contains(&kind) {
                    assert_eq!(refused.as_deref(), Some(path), "{path} blank on {} was taken", kind.code());
                } else {
                    assert_ne!(refused.as_deref(), Some(path), "{path} blank on {} was refused", kind.code());
                }
            }
        }
    }

    #[test]
    fn the_addons_copy_is_the_engines() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("odoo_addon/l10n_cl_dte_sidecar/tools/engine_limits.json");
        let copy = std::fs::read_to_string(&path).unwrap_or_default();
        let ours = serde_json::to_string_pretty(&engine_limits()).unwrap() + "\n";
        assert!(
            copy == ours,
            "{} differs from the engine's limits; regenerate it: \
             target/debug/dte-sidecar engine limits > odoo_addon/l10n_cl_dte_sidecar/tools/engine_limits.json",
            path.display()
        );
    }
}
