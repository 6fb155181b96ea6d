//! Settings: built-in defaults < a TOML file < `DATABASE_URL` < `DTE__<SECTION>__<KEY>`
//! environment variables. Every key is documented in `config/dte-sidecar.example.toml`.
//!
//! A bad setting stops the start with one line that names the key; secrets are wrapped in
//! [`Secret`] so that no `Debug` print of the settings can show them.

pub mod faults;
mod load;
mod model;
mod schema;

pub use load::{sweep_schedule, Command, SettingsError};
pub use model::*;
pub use schema::{schema, SchemaKey};

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::schema::SECRETS;
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
