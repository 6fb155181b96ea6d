//! Every key of the settings with its type, default and environment variable, read from the
//! types themselves (`dte-sidecar config schema`).

use serde::Serialize;

use super::model::*;

/// One key of the settings, as `dte-sidecar config schema` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct SchemaKey {
    /// Dotted path (`database.pool_size`); a table keyed by the user ends in `.*`
    /// (`auth.api_keys.*`).
    pub key: String,
    /// The environment variable that sets it (`DTE__DATABASE__POOL_SIZE`; `*` is the
    /// user's name, upper-cased).
    pub env: String,
    /// `string`, `integer`, `number`, `boolean`, `list`, or `table`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The built-in default (`null`: unset).
    pub default: serde_json::Value,
    /// Never printed; `config check --json` shows `***` for it.
    pub secret: bool,
    /// The only values accepted, when there is such a list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// For a secret: a value this check accepts, to stand in for one kept where a
    /// checker cannot read it (a Kubernetes Secret not rendered with the chart).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<&'static str>,
}

/// Secret keys and the placeholder each accepts (a test proves they pass the check).
pub(super) const SECRETS: [(&str, &str); 7] = [
    ("database.url", "postgres://placeholder@localhost/placeholder"),
    ("auth.api_keys.*", "placeholder-api-key-0123456789"),
    ("secrets.master_key", "0000000000000000000000000000000000000000000000000000000000000000"),
    ("admin.board_password", "placeholder-password"),
    ("backup.s3_access_key_id", "placeholder"),
    ("backup.s3_secret_access_key", "placeholder"),
    ("smtp.password", "placeholder"),
];

/// Tables whose keys the user chooses (their entries are listed as `<table>.*`).
const USER_TABLES: [(&str, &str); 2] = [("auth.api_keys", "string"), ("auth.key_companies", "list")];

/// Every key of the settings with its type and default, read from the types themselves
/// (their serialized defaults), so that this list cannot fall behind them.
pub fn schema() -> Vec<SchemaKey> {
    let defaults = serde_json::to_value(Settings::default()).unwrap_or_default();
    let mut keys = Vec::new();
    if let serde_json::Value::Object(sections) = defaults {
        for (section, table) in sections {
            schema_walk(&section, table, &mut keys);
        }
    }
    keys
}

fn schema_walk(path: &str, value: serde_json::Value, out: &mut Vec<SchemaKey>) {
    use serde_json::Value;
    if let Some((table, kind)) = USER_TABLES.iter().find(|(table, _)| *table == path) {
        let key = format!("{table}.*");
        out.push(schema_key(key, kind, Value::Null));
        return;
    }
    let kind = match &value {
        Value::Object(fields) if !fields.is_empty() => {
            for (name, field) in fields {
                schema_walk(&format!("{path}.{name}"), field.clone(), out);
            }
            return;
        }
        Value::Object(_) => "table",
        Value::String(_) => "string",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::Array(_) => "list",
        // Only optional paths default to nothing.
        Value::Null => "string",
    };
    out.push(schema_key(path.to_string(), kind, value));
}

fn schema_key(key: String, kind: &'static str, default: serde_json::Value) -> SchemaKey {
    let secret = SECRETS.iter().find(|(name, _)| *name == key);
    let values = match key.as_str() {
        "log.format" => Some(variants(&[LogFormat::Text, LogFormat::Json])),
        "sii.environment" => {
            Some(variants(&[SiiEnvironment::Simulator, SiiEnvironment::Certification, SiiEnvironment::Production]))
        }
        "backup.store" => Some(variants(&[BackupStore::Dir, BackupStore::S3])),
        "simulator.faults.mode" | "simulator.faults.random_mode" => Some(variants(&super::faults::FaultMode::ALL)),
        "simulator.default_outcome" => Some(SIMULATOR_OUTCOMES.map(String::from).to_vec()),
        "smtp.security" => Some(SMTP_SECURITY.map(String::from).to_vec()),
        _ => None,
    };
    let env = format!("{ENV_PREFIX}{ENV_SEPARATOR}{}", key.to_uppercase().replace('.', ENV_SEPARATOR));
    SchemaKey { env, key, kind, default, secret: secret.is_some(), values, placeholder: secret.map(|(_, p)| *p) }
}

fn variants<T: Serialize>(all: &[T]) -> Vec<String> {
    all.iter().filter_map(|v| serde_json::to_value(v).ok()?.as_str().map(String::from)).collect()
}
