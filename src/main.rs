use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use dte_sidecar::context::AppContext;
use dte_sidecar::settings::Settings;
use dte_sidecar::{clock, server, store, telemetry};

/// Stamps, signs and sends Chilean tax documents to the SII for Odoo.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Settings file (TOML); environment variables override it.
    #[arg(long, short, global = true, env = "DTE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the JSON-RPC face (migrates first unless database.migrate_on_start is false).
    Serve,
    /// Apply pending database migrations and publish the views Odoo reads, then exit.
    Migrate,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("dte-sidecar: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log);
    let outcome = match cli.command {
        Command::Serve => serve(settings),
        Command::Migrate => migrate(&settings),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("dte-sidecar: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let mut conn = store::connect_once(settings.database.url.expose())?;
    let applied = store::migrate(&mut conn, &settings.database.odoo_schema)?;
    tracing::info!(applied = applied.len(), versions = ?applied, "database migrated");
    Ok(())
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    if settings.database.migrate_on_start {
        migrate(&settings)?;
    }
    if settings.auth.api_keys.is_empty() {
        tracing::warn!("no API keys configured (auth.api_keys): every RPC call will be refused");
    }
    let db = store::Db::connect(
        settings.database.url.expose(),
        settings.database.pool_size,
        Duration::from_secs(settings.database.pool_timeout_secs),
    )?;
    let listener = TcpListener::bind(&settings.server.bind)
        .with_context(|| format!("cannot listen on {}", settings.server.bind))?;
    let clock = clock::from_speedup(settings.clock.speedup);
    let ctx = AppContext::new(settings, db, clock);
    tracing::info!(bind = %ctx.settings.server.bind, "serving");
    actix_web::rt::System::new().block_on(async move {
        server::start(ctx, listener)?.await.context("server stopped with an error")
    })
}
