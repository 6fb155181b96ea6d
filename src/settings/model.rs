//! The settings' types and their defaults.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `simulator.default_outcome` values.
pub(super) const SIMULATOR_OUTCOMES: [&str; 3] = ["accept", "reject", "objected"];
/// `smtp.security` values.
pub(super) const SMTP_SECURITY: [&str; 3] = ["starttls", "tls", "none"];

/// Prefix of the environment variables that override settings (`DTE__SERVER__BIND`).
pub const ENV_PREFIX: &str = "DTE";
pub(super) const ENV_SEPARATOR: &str = "__";

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
    pub faults: super::faults::Faults,
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
            faults: super::faults::Faults::default(),
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
