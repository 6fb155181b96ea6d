//! Settings: built-in defaults < a TOML file < `DATABASE_URL` < `DTE__<SECTION>__<KEY>`
//! environment variables. Every key is documented in `config/dte-sidecar.example.toml`.
//!
//! A bad setting stops the start with one line that names the key; secrets are wrapped in
//! [`Secret`] so that no `Debug` print of the settings can show them.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Prefix of the environment variables that override settings (`DTE__SERVER__BIND`).
pub const ENV_PREFIX: &str = "DTE";
const ENV_SEPARATOR: &str = "__";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub limits: LimitSettings,
    pub log: LogSettings,
    pub clock: ClockSettings,
    pub sii: SiiSettings,
    pub simulator: SimulatorSettings,
    pub secrets: SecretSettings,
    pub jobs: JobSettings,
    pub admin: AdminSettings,
    pub backup: BackupSettings,
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address the JSON-RPC face listens on.
    pub bind: String,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Seconds in-flight requests get to finish after SIGTERM.
    pub shutdown_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// PostgreSQL URL; `DATABASE_URL` fills it when set.
    pub url: Secret,
    pub pool_size: u32,
    /// Seconds to wait for a free connection before a request fails.
    pub pool_timeout_secs: u64,
    /// Apply pending migrations when `serve` starts.
    pub migrate_on_start: bool,
    /// Schema of Odoo's database where the read-only views for the addon are published.
    pub odoo_schema: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// API keys by client name (`[auth.api_keys] odoo = "…"`,
    /// `DTE__AUTH__API_KEYS__ODOO=…`). The name is what the audit log records.
    pub api_keys: BTreeMap<String, Secret>,
    /// Companies a key may act for, by client name (`[auth.key_companies] odoo = [1, 2]`).
    /// A bound key never reads or acts for another company, whatever its calls' context
    /// says; a key left out is bounded only by each call's `allowed_company_ids`.
    pub key_companies: BTreeMap<String, Vec<i64>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest `xml_content` accepted in one call, in bytes.
    pub max_xml_bytes: usize,
    /// Largest `limit` a `search_read` may ask for, and most ids a `read` may name.
    pub max_search_limit: i64,
    /// Seconds a client has to send a whole request body.
    pub body_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `dte_sidecar=debug,actix_web=info`.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClockSettings {
    /// How many seconds of business time pass per real second. 1 in production; a test
    /// run may set 3600 so that the hourly retry schedule plays out in seconds.
    pub speedup: f64,
}

/// Which SII to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SiiEnvironment {
    /// The simulator at `sii.simulator_url` (`dte-sidecar sii-sim`).
    Simulator,
    /// maullin.sii.cl
    Certification,
    /// palena.sii.cl
    Production,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiiSettings {
    pub environment: SiiEnvironment,
    pub simulator_url: String,
    pub connect_timeout_secs: u64,
    pub request_timeout_secs: u64,
    /// A token is renewed after this long even if the SII never refused it.
    pub token_ttl_secs: u64,
    /// Directory of the SII's XSD files.
    pub schemas_dir: PathBuf,
    /// Public keys trusted to sign CAFs besides the SII's own (test set-ups only).
    pub extra_caf_keys: Vec<TrustedKeySetting>,
    /// Documents per EnvioDTE when uploading pending documents (the SII allows 2000).
    pub max_documents_per_envelope: usize,
    /// Consecutive transient failures after which a company enters contingency.
    pub contingency_after_failures: u32,
    /// Leave contingency by itself once the SII answers again (false: a person decides).
    pub auto_leave_contingency: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedKeySetting {
    pub idk: i64,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulatorSettings {
    /// Address of the simulated SII (`dte-sidecar sii-sim`).
    pub bind: String,
    /// Address of its admin face (faults, what arrived).
    pub admin_bind: String,
    /// Seconds between an upload and its verdict.
    pub processing_delay_secs: i64,
    /// `accept`, `reject` or `objected`.
    pub default_outcome: String,
    pub token_ttl_secs: i64,
    /// Faults from the start (same shape as the admin endpoint's).
    pub faults: crate::sii::simulator::faults::Faults,
    /// PEM private key the simulated SII signs the CAFs it issues with (IDK 100).
    pub caf_signing_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretSettings {
    /// 64 hex characters (32 bytes). Seals certificates and CAF private keys at rest.
    pub master_key: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobSettings {
    /// Run the retry, polling and sweep workers in `serve`.
    pub enabled: bool,
    /// Real seconds between sweeps (the safety net that gives due work a job).
    pub sweep_interval_secs: u64,
    /// Real seconds between a worker's looks for new jobs.
    pub poll_interval_millis: u64,
    /// Business seconds before the first status query of an upload.
    pub first_poll_secs: i64,
    /// Business seconds an upload may take before a sweep reconciles it.
    pub upload_lease_secs: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSettings {
    /// Address of the admin face (job board); empty: no admin face.
    pub bind: String,
    pub board_user: String,
    pub board_password: Secret,
}

/// Where the second copy of every backup goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupStore {
    /// A directory (`backup.dir`): a mounted volume, another disk.
    Dir,
    /// S3-compatible object storage (`backup.s3_*`).
    S3,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupSettings {
    pub store: BackupStore,
    pub dir: PathBuf,
    pub s3_bucket: String,
    /// Endpoint of an S3-compatible service; empty for AWS.
    pub s3_endpoint: String,
    pub s3_region: String,
    pub s3_access_key_id: Secret,
    pub s3_secret_access_key: Secret,
    /// Allow a plain-HTTP endpoint (a store on the local network).
    pub s3_allow_http: bool,
    /// Years a backup is kept before the weekly cleanup may remove it (Chilean tax law
    /// requires books and documents to be kept six years).
    pub retention_years: u32,
}

impl Default for BackupSettings {
    fn default() -> Self {
        Self {
            store: BackupStore::Dir,
            dir: PathBuf::from("dte-backups"),
            s3_bucket: String::new(),
            s3_endpoint: String::new(),
            s3_region: "us-east-1".into(),
            s3_access_key_id: Secret::default(),
            s3_secret_access_key: Secret::default(),
            s3_allow_http: false,
            retention_years: 6,
        }
    }
}

/// Alert mail. No host: alerts are only shown in Odoo and over RPC.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// `starttls`, `tls` or `none` (a relay on the local machine).
    pub security: String,
    pub user: String,
    pub password: Secret,
    pub from: String,
    /// Recipients, separated by commas.
    pub to: String,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            security: "starttls".into(),
            user: String::new(),
            password: Secret::default(),
            from: "dte-sidecar@localhost".into(),
            to: String::new(),
        }
    }
}

impl Default for SiiSettings {
    fn default() -> Self {
        Self {
            environment: SiiEnvironment::Simulator,
            simulator_url: "http://127.0.0.1:8071".into(),
            connect_timeout_secs: 10,
            request_timeout_secs: 60,
            token_ttl_secs: 3000,
            schemas_dir: PathBuf::from("schemas/sii"),
            extra_caf_keys: Vec::new(),
            max_documents_per_envelope: 500,
            contingency_after_failures: 3,
            auto_leave_contingency: true,
        }
    }
}

impl Default for SimulatorSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8071".into(),
            admin_bind: "127.0.0.1:8072".into(),
            processing_delay_secs: 2,
            default_outcome: "accept".into(),
            token_ttl_secs: 3600,
            faults: crate::sii::simulator::faults::Faults::default(),
            caf_signing_key: None,
        }
    }
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            sweep_interval_secs: 60,
            poll_interval_millis: 500,
            first_poll_secs: 60,
            upload_lease_secs: 300,
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self { bind: "127.0.0.1:8070".into(), workers: 0, shutdown_timeout_secs: 30 }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Secret::default(),
            pool_size: 10,
            pool_timeout_secs: 10,
            migrate_on_start: true,
            odoo_schema: "public".into(),
        }
    }
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 8 * 1024 * 1024,
            max_xml_bytes: 4 * 1024 * 1024,
            max_search_limit: 10_000,
            body_timeout_secs: 30,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: LogFormat::Text, level: "info".into() }
    }
}

impl Default for ClockSettings {
    fn default() -> Self {
        Self { speedup: 1.0 }
    }
}

/// A setting that must never be printed: `Debug` shows `***`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "***" })
    }
}

/// A setting that cannot be used; the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("bad setting: {0}")]
pub struct SettingsError(String);

impl Settings {
    /// Reads the settings from the optional file, `DATABASE_URL` and `DTE__…` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load_from(file, None)
    }

    /// As [`Settings::load`], reading the environment from `env` when given (tests).
    pub fn load_from(file: Option<&Path>, env: Option<BTreeMap<String, String>>) -> Result<Self, SettingsError> {
        let database_url = match &env {
            Some(vars) => vars.get("DATABASE_URL").cloned(),
            None => std::env::var("DATABASE_URL").ok(),
        };
        let mut builder = ::config::Config::builder();
        if let Some(path) = file {
            if !path.exists() {
                return Err(SettingsError(format!("settings file {} does not exist", path.display())));
            }
            builder = builder.add_source(::config::File::from(path).format(::config::FileFormat::Toml));
        }
        if let Some(url) = database_url.filter(|url| !url.is_empty()) {
            builder = builder.set_override("database.url", url).map_err(|e| SettingsError(e.to_string()))?;
        }
        let mut environment =
            ::config::Environment::with_prefix(ENV_PREFIX).prefix_separator(ENV_SEPARATOR).separator(ENV_SEPARATOR);
        if let Some(vars) = env {
            environment = environment.source(Some(vars.into_iter().collect()));
        }
        let settings: Settings = builder
            .add_source(environment)
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| SettingsError(e.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    /// What only `serve` needs: a board password when the board listens.
    pub fn check_for_serve(&self) -> Result<(), SettingsError> {
        if !self.admin.bind.is_empty()
            && (self.admin.board_user.is_empty() || self.admin.board_password.expose().len() < 12)
        {
            return Err(SettingsError(
                "admin.board_password: the admin face needs admin.board_user and a password of at least 12 characters"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The database URL, for the commands that need one.
    pub fn database_url(&self) -> Result<&str, SettingsError> {
        if self.database.url.is_empty() {
            return Err(SettingsError("database.url: no database: set DATABASE_URL or database.url".into()));
        }
        Ok(self.database.url.expose())
    }

    /// Checks what serde cannot: ranges, addresses, key strength.
    fn check(&self) -> Result<(), SettingsError> {
        let bad = |key: &str, why: &str| Err(SettingsError(format!("{key}: {why}")));
        if self.server.bind.parse::<SocketAddr>().is_err() {
            return bad("server.bind", "expected an address like 127.0.0.1:8070");
        }
        if !self.database.url.is_empty()
            && !self.database.url.expose().starts_with("postgres://")
            && !self.database.url.expose().starts_with("postgresql://")
        {
            return bad("database.url", "expected a postgres:// URL");
        }
        if self.database.pool_size == 0 {
            return bad("database.pool_size", "must be at least 1");
        }
        if !is_sql_identifier(&self.database.odoo_schema) || self.database.odoo_schema == "dte_sidecar" {
            return bad("database.odoo_schema", "expected a schema name such as public (not dte_sidecar)");
        }
        for (name, key) in &self.auth.api_keys {
            if key.expose().len() < 16 {
                return bad(&format!("auth.api_keys.{name}"), "an API key needs at least 16 characters");
            }
            if self.auth.key_companies.get(name).is_some_and(Vec::is_empty) {
                return bad(&format!("auth.key_companies.{name}"), "list at least one company");
            }
            if key.expose().trim() != key.expose() {
                return bad(&format!("auth.api_keys.{name}"), "an API key must not begin or end with whitespace");
            }
        }
        if let Some(name) = self.auth.key_companies.keys().find(|name| !self.auth.api_keys.contains_key(*name)) {
            return bad(&format!("auth.key_companies.{name}"), "names no key of auth.api_keys");
        }
        if self.limits.max_xml_bytes == 0 || self.limits.max_xml_bytes > self.limits.max_body_bytes {
            return bad("limits.max_xml_bytes", "must be between 1 and limits.max_body_bytes");
        }
        if self.limits.max_search_limit < 1 {
            return bad("limits.max_search_limit", "must be at least 1");
        }
        if self.limits.body_timeout_secs < 1 {
            return bad("limits.body_timeout_secs", "must be at least 1");
        }
        if !(self.clock.speedup.is_finite() && self.clock.speedup >= 1.0) {
            return bad("clock.speedup", "must be a number >= 1");
        }
        if !self.secrets.master_key.is_empty()
            && crate::secrets::Sealer::from_hex(self.secrets.master_key.expose()).is_err()
        {
            return bad("secrets.master_key", "expected 64 hexadecimal characters (32 bytes)");
        }
        if !(1..=2000).contains(&self.sii.max_documents_per_envelope) {
            return bad("sii.max_documents_per_envelope", "must be between 1 and 2000");
        }
        if self.sii.contingency_after_failures == 0 {
            return bad("sii.contingency_after_failures", "must be at least 1");
        }
        if !["accept", "reject", "objected"].contains(&self.simulator.default_outcome.as_str()) {
            return bad("simulator.default_outcome", "expected accept, reject or objected");
        }
        if self.jobs.sweep_interval_secs == 0 {
            return bad("jobs.sweep_interval_secs", "must be at least 1");
        }
        if !self.admin.bind.is_empty() && self.admin.bind.parse::<SocketAddr>().is_err() {
            return bad("admin.bind", "expected an address like 127.0.0.1:8073");
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return bad("log.level", "expected a filter such as info or dte_sidecar=debug");
        }
        Ok(())
    }
}

fn is_sql_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn environment_overrides_defaults_and_database_url_is_honoured() {
        let s = Settings::load_from(
            None,
            Some(env(&[
                ("DATABASE_URL", "postgres://u@h/db"),
                ("DTE__SERVER__BIND", "0.0.0.0:9000"),
                ("DTE__AUTH__API_KEYS__ODOO", "0123456789abcdef"),
            ])),
        )
        .unwrap();
        assert_eq!(s.database.url.expose(), "postgres://u@h/db");
        assert_eq!(s.server.bind, "0.0.0.0:9000");
        assert_eq!(s.auth.api_keys["odoo"].expose(), "0123456789abcdef");
        assert_eq!(s.database.pool_size, 10);
    }

    #[test]
    fn bad_setting_names_the_key_and_hides_secrets() {
        let base = [("DATABASE_URL", "postgres://u@h/db")];
        let cases: &[(&str, &str, &str)] = &[
            ("DTE__SERVER__BIND", "nowhere", "server.bind"),
            ("DTE__DATABASE__POOL_SIZE", "lots", "pool_size"),
            ("DTE__DATABASE__POOL_SIZE", "0", "database.pool_size"),
            ("DTE__AUTH__API_KEYS__ODOO", "short-secret", "auth.api_keys.odoo"),
            ("DTE__CLOCK__SPEEDUP", "0.5", "clock.speedup"),
            ("DTE__SERVER__NO_SUCH_KEY", "1", "no_such_key"),
        ];
        for (key, value, named) in cases {
            let mut vars = env(&base);
            vars.insert(key.to_string(), value.to_string());
            let err = Settings::load_from(None, Some(vars)).unwrap_err().to_string();
            assert!(err.contains(named), "{key}={value}: {err}");
            assert!(!err.contains("short-secret"), "secret leaked: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }

    #[test]
    fn missing_database_is_refused_where_one_is_needed() {
        let settings = Settings::load_from(None, Some(BTreeMap::new())).unwrap();
        let err = settings.database_url().unwrap_err().to_string();
        assert!(err.contains("database.url"), "{err}");
    }

    #[test]
    fn the_example_file_lists_valid_settings_with_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/dte-sidecar.example.toml");
        let from_file = Settings::load_from(Some(&path), Some(BTreeMap::new())).unwrap();
        assert_eq!(format!("{from_file:?}"), format!("{:?}", Settings::default()));
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let s = Settings::load_from(
            None,
            Some(env(&[
                ("DATABASE_URL", "postgres://user:hunter2@h/db"),
                ("DTE__AUTH__API_KEYS__ODOO", "0123456789abcdef-secret"),
            ])),
        )
        .unwrap();
        let printed = format!("{s:?}");
        assert!(!printed.contains("hunter2") && !printed.contains("abcdef-secret"), "{printed}");
    }
}
