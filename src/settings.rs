//! Settings: built-in defaults < a TOML file < `DATABASE_URL` < `DTE__<SECTION>__<KEY>`
//! environment variables. Every key is documented in `config/dte-sidecar.example.toml`.
//!
//! A bad setting stops the start with one line that names the key; secrets are wrapped in
//! [`Secret`] so that no `Debug` print of the settings can show them.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub mod faults;

/// `simulator.default_outcome` values.
const SIMULATOR_OUTCOMES: [&str; 3] = ["accept", "reject", "objected"];
/// `smtp.security` values.
const SMTP_SECURITY: [&str; 3] = ["starttls", "tls", "none"];

/// Prefix of the environment variables that override settings (`DTE__SERVER__BIND`).
pub const ENV_PREFIX: &str = "DTE";
const ENV_SEPARATOR: &str = "__";

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
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

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address the JSON-RPC face listens on.
    pub bind: String,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Seconds in-flight requests get to finish after SIGTERM.
    pub shutdown_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
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

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
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

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest `xml_content` accepted in one call, in bytes.
    pub max_xml_bytes: usize,
    /// Largest `limit` a `search_read` may ask for, and most ids a `read` may name.
    pub max_search_limit: i64,
    /// Largest answer of `read` or `search_read`, in bytes (its rows' text and binary
    /// fields): a larger one is refused before it is written out.
    pub max_answer_bytes: usize,
    /// Seconds a client has to send a whole request body.
    pub body_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `dte_sidecar=debug,actix_web=info`.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClockSettings {
    /// How many seconds of business time pass per real second. 1 in production; a test
    /// run may set 3600 so that the hourly retry schedule plays out in seconds.
    pub speedup: f64,
}

/// Which SII to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SiiEnvironment {
    /// The simulator at `sii.simulator_url` (`dte-sidecar sii-sim`).
    Simulator,
    /// maullin.sii.cl
    Certification,
    /// palena.sii.cl
    Production,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
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
    /// Calls per minute to the SII, all kinds together (uploads, status queries, seeds,
    /// tokens), at most; 0: no cap. The SII asks that its services not be used
    /// massively. A call over the cap waits up to `request_timeout_secs` for a slot.
    pub max_calls_per_minute: u32,
    /// Milliseconds a sent document waits for others of its company to share its envelope
    /// (one signature, one upload, one status query for all); 0: each document has its
    /// own. Up to `max_documents_per_envelope` share one.
    pub envelope_window_millis: u64,
    /// Consecutive transient failures after which a company enters contingency.
    pub contingency_after_failures: u32,
    /// Leave contingency by itself once the SII answers again (false: a person decides).
    pub auto_leave_contingency: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedKeySetting {
    pub idk: i64,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
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
    /// Seconds a seed may wait for its signed token request (sped-up clocks raise it: the
    /// seed's two minutes are a few milliseconds of real time at 3600×).
    pub seed_ttl_secs: i64,
    /// Faults from the start (same shape as the admin endpoint's).
    pub faults: faults::Faults,
    /// PEM private key the simulated SII signs the CAFs it issues with (IDK 100).
    pub caf_signing_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretSettings {
    /// 64 hex characters (32 bytes). Seals certificates and CAF private keys at rest.
    pub master_key: Secret,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
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

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSettings {
    /// Address of the admin face (job board); empty: no admin face.
    pub bind: String,
    pub board_user: String,
    pub board_password: Secret,
}

/// Where the second copy of every backup goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupStore {
    /// A directory (`backup.dir`): a mounted volume, another disk.
    Dir,
    /// S3-compatible object storage (`backup.s3_*`).
    S3,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
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
#[derive(Debug, Clone, Deserialize, Serialize)]
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
            max_calls_per_minute: 1200,
            envelope_window_millis: 0,
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
            seed_ttl_secs: 120,
            faults: faults::Faults::default(),
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
            max_answer_bytes: 32 * 1024 * 1024,
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

/// Secrets are written as `***` (or `""` when unset), never as their value.
impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(if self.0.is_empty() { "" } else { "***" })
    }
}

/// The commands whose start depends on the settings, for [`Settings::problems_for`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Command {
    Serve,
    Migrate,
    SiiSim,
    Restore,
    Verify,
    VerifyFile,
}

impl Command {
    /// Whether the command refuses to start without a database URL.
    fn needs_database(self) -> bool {
        matches!(self, Command::Serve | Command::Migrate | Command::Restore | Command::Verify)
    }
}

/// The cron expression (with seconds) of a sweep every `secs` seconds, when a cron
/// schedule can keep that pace exactly.
pub fn sweep_schedule(secs: u64) -> Option<String> {
    match secs {
        s if s > 0 && s < 60 && 60 % s == 0 => Some(format!("*/{s} * * * * *")),
        s if s >= 60 && s % 60 == 0 && 60 % (s / 60) == 0 => Some(format!("0 */{} * * * *", s / 60)),
        3600 => Some("0 0 * * * *".into()),
        _ => None,
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
        let settings = Self::read(file, env)?;
        settings.check()?;
        Ok(settings)
    }

    /// What `dte-sidecar config check` reports: the settings `command` would start with,
    /// or every problem that would stop it (a file or value serde cannot read stops the
    /// reading, so it comes alone).
    pub fn check_for(
        file: Option<&Path>,
        env: Option<BTreeMap<String, String>>,
        command: Command,
    ) -> Result<Self, Vec<SettingsError>> {
        let settings = Self::read(file, env).map_err(|e| vec![e])?;
        let problems = settings.problems_for(command);
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(problems)
        }
    }

    /// The merged sources, read into the types; nothing checked beyond what serde checks.
    fn read(file: Option<&Path>, env: Option<BTreeMap<String, String>>) -> Result<Self, SettingsError> {
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
        builder
            .add_source(environment)
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| SettingsError(e.to_string()))
    }

    /// What only `serve` needs: a board password when the board listens.
    pub fn check_for_serve(&self) -> Result<(), SettingsError> {
        // Only `serve` is given the keys (a migration Job gets the same config file without them).
        if let Some(name) = self.auth.key_companies.keys().find(|name| !self.auth.api_keys.contains_key(*name)) {
            return Err(SettingsError(format!("auth.key_companies.{name}: names no key of auth.api_keys")));
        }
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

    /// Checks what serde cannot: ranges, addresses, key strength; the first problem.
    fn check(&self) -> Result<(), SettingsError> {
        self.problems().into_iter().next().map_or(Ok(()), Err)
    }

    /// Every problem [`Settings::check`] would refuse, in the order it looks.
    fn problems(&self) -> Vec<SettingsError> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, why: &str| problems.push(SettingsError(format!("{key}: {why}")));
        if self.server.bind.parse::<SocketAddr>().is_err() {
            bad("server.bind", "expected an address like 127.0.0.1:8070");
        }
        if !self.database.url.is_empty()
            && !self.database.url.expose().starts_with("postgres://")
            && !self.database.url.expose().starts_with("postgresql://")
        {
            bad("database.url", "expected a postgres:// URL");
        }
        if self.database.pool_size == 0 {
            bad("database.pool_size", "must be at least 1");
        }
        if !is_sql_identifier(&self.database.odoo_schema) || self.database.odoo_schema == "dte_sidecar" {
            bad("database.odoo_schema", "expected a schema name such as public (not dte_sidecar)");
        }
        for (name, key) in &self.auth.api_keys {
            if key.expose().len() < 16 {
                bad(&format!("auth.api_keys.{name}"), "an API key needs at least 16 characters");
            }
            if key.expose().trim() != key.expose() {
                bad(&format!("auth.api_keys.{name}"), "an API key must not begin or end with whitespace");
            }
        }
        for name in self.auth.key_companies.iter().filter(|(_, companies)| companies.is_empty()).map(|(name, _)| name) {
            bad(&format!("auth.key_companies.{name}"), "list at least one company");
        }
        if self.limits.max_xml_bytes == 0 || self.limits.max_xml_bytes > self.limits.max_body_bytes {
            bad("limits.max_xml_bytes", "must be between 1 and limits.max_body_bytes");
        }
        if self.limits.max_answer_bytes < 64 * 1024 {
            bad("limits.max_answer_bytes", "must be at least 65536");
        }
        if self.limits.max_search_limit < 1 {
            bad("limits.max_search_limit", "must be at least 1");
        }
        if self.limits.body_timeout_secs < 1 {
            bad("limits.body_timeout_secs", "must be at least 1");
        }
        if !(self.clock.speedup.is_finite() && self.clock.speedup >= 1.0) {
            bad("clock.speedup", "must be a number >= 1");
        }
        if !self.secrets.master_key.is_empty()
            && crate::secrets::Sealer::from_hex(self.secrets.master_key.expose()).is_err()
        {
            bad("secrets.master_key", "expected 64 hexadecimal characters (32 bytes)");
        }
        if !(1..=2000).contains(&self.sii.max_documents_per_envelope) {
            bad("sii.max_documents_per_envelope", "must be between 1 and 2000");
        }
        if self.sii.envelope_window_millis > 10_000 {
            bad("sii.envelope_window_millis", "must be at most 10000 (a send waits that long)");
        }
        if self.sii.contingency_after_failures == 0 {
            bad("sii.contingency_after_failures", "must be at least 1");
        }
        if !SIMULATOR_OUTCOMES.contains(&self.simulator.default_outcome.as_str()) {
            bad("simulator.default_outcome", "expected accept, reject or objected");
        }
        if sweep_schedule(self.jobs.sweep_interval_secs).is_none() {
            bad(
                "jobs.sweep_interval_secs",
                "must divide a minute (1-30) or an hour (60-1800, whole minutes), or be 3600",
            );
        }
        if !self.admin.bind.is_empty() && self.admin.bind.parse::<SocketAddr>().is_err() {
            bad("admin.bind", "expected an address like 127.0.0.1:8073");
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            bad("log.level", "expected a filter such as info or dte_sidecar=debug");
        }
        if self.backup.store == BackupStore::S3 && self.backup.s3_bucket.is_empty() {
            bad("backup.s3_bucket", "required when backup.store = \"s3\"");
        }
        if self.backup.retention_years < 6 {
            bad("backup.retention_years", "Chilean tax law requires at least 6 years");
        }
        if !SMTP_SECURITY.contains(&self.smtp.security.as_str()) {
            bad("smtp.security", "expected starttls, tls or none");
        }
        if !self.smtp.host.is_empty() && self.smtp.to.trim().is_empty() {
            bad("smtp.to", "alert mail needs at least one recipient");
        }
        problems
    }

    /// Every problem that stops `command` with these settings: the settings check, then
    /// what the command itself asks of them before it starts.
    pub fn problems_for(&self, command: Command) -> Vec<SettingsError> {
        let mut problems = self.problems();
        if command == Command::Serve {
            problems.extend(self.check_for_serve().err());
        }
        if command.needs_database() {
            problems.extend(self.database_url().err());
        }
        problems
    }
}

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
const SECRETS: [(&str, &str); 7] = [
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
        "simulator.faults.mode" | "simulator.faults.random_mode" => Some(variants(&faults::FaultMode::ALL)),
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
    fn every_problem_comes_on_a_line_of_its_own() {
        let vars = env(&[
            ("DTE__DATABASE__POOL_SIZE", "0"),
            ("DTE__JOBS__SWEEP_INTERVAL_SECS", "45"),
            ("DTE__SMTP__SECURITY", "ssl"),
        ]);
        let problems = Settings::check_for(None, Some(vars), Command::Serve).unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        for (line, key) in
            lines.iter().zip(["database.pool_size", "jobs.sweep_interval_secs", "smtp.security", "database.url"])
        {
            assert!(line.starts_with(&format!("bad setting: {key}: ")), "{line}");
            assert_eq!(line.lines().count(), 1, "{line}");
        }
        // What the service refuses at its start, the check refuses too.
        let start = Settings::load_from(None, Some(env(&[("DTE__JOBS__SWEEP_INTERVAL_SECS", "45")])));
        assert!(start.unwrap_err().to_string().contains("jobs.sweep_interval_secs"));
        assert_eq!(sweep_schedule(45), None);
        assert_eq!(sweep_schedule(30).as_deref(), Some("*/30 * * * * *"));
        assert_eq!(sweep_schedule(300).as_deref(), Some("0 */5 * * * *"));
    }

    #[test]
    fn each_command_is_checked_for_what_it_needs() {
        let board = env(&[("DTE__ADMIN__BIND", "127.0.0.1:8073"), ("DATABASE_URL", "postgres://u@h/db")]);
        let serve = Settings::check_for(None, Some(board.clone()), Command::Serve).unwrap_err();
        assert!(serve[0].to_string().contains("admin.board_password"), "{serve:?}");
        assert!(Settings::check_for(None, Some(board), Command::Migrate).is_ok());
        assert!(Settings::check_for(None, Some(BTreeMap::new()), Command::Migrate).is_err());
        assert!(Settings::check_for(None, Some(BTreeMap::new()), Command::SiiSim).is_ok());
    }

    /// The schema entry's path in the settings as JSON (`*` is a user's name, `odoo`).
    fn set_path(json: &mut serde_json::Value, key: &str, value: serde_json::Value) {
        let mut here = json;
        let parts: Vec<&str> = key.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let name = if *part == "*" { "odoo" } else { *part };
            let map = here.as_object_mut().unwrap();
            if i + 1 == parts.len() {
                map.insert(name.to_string(), value);
                return;
            }
            here = map.entry(name.to_string()).or_insert_with(|| serde_json::json!({}));
        }
    }

    #[test]
    fn the_schema_lists_every_key_and_knows_which_are_secret() {
        let schema = schema();
        let defaults = serde_json::to_value(Settings::default()).unwrap();
        for entry in &schema {
            assert!(entry.env.starts_with("DTE__") && !entry.env.contains('.'), "{entry:?}");
            if entry.key.ends_with(".*") {
                continue;
            }
            let pointer = format!("/{}", entry.key.replace('.', "/"));
            assert_eq!(defaults.pointer(&pointer), Some(&entry.default), "{}", entry.key);
            if let Some(values) = &entry.values {
                assert!(values.contains(&entry.default.as_str().unwrap().to_string()), "{}", entry.key);
            }
        }
        // Set every free text to a marker: the Debug print shows it unless it is a secret.
        for entry in schema.iter().filter(|e| e.kind == "string" && e.values.is_none()) {
            let marker = "marker-4f1c-visible";
            let mut json = defaults.clone();
            set_path(&mut json, &entry.key, serde_json::json!(marker));
            let settings: Settings = serde_json::from_value(json).unwrap();
            let shown = format!("{settings:?}").contains(marker);
            assert_eq!(!shown, entry.secret, "{}: secret in the schema = {}", entry.key, entry.secret);
            let printed = serde_json::to_string(&settings).unwrap().contains(marker);
            assert_eq!(printed, shown, "{}: config check --json would print what Debug hides", entry.key);
        }
        // The placeholders pass the check of the command that needs most of them.
        let mut vars: BTreeMap<String, String> =
            schema.iter().filter_map(|e| Some((e.env.replace('*', "ODOO"), e.placeholder?.to_string()))).collect();
        assert_eq!(vars.len(), SECRETS.len());
        vars.insert("DTE__ADMIN__BIND".into(), "127.0.0.1:8073".into());
        vars.insert("DTE__ADMIN__BOARD_USER".into(), "admin".into());
        let settings = Settings::check_for(None, Some(vars), Command::Serve).unwrap();
        assert_eq!(settings.database.url.expose(), "postgres://placeholder@localhost/placeholder");
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
