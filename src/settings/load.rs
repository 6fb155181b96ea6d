//! Loading the settings (defaults, the file, the environment) and checking them: a bad
//! setting stops the start with one line that names the key.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use super::model::*;

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

fn is_sql_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}
