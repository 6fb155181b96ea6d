use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use dte_sidecar::context::AppContext;
use dte_sidecar::keys::Keys;
use dte_sidecar::settings::{self, Settings};
use dte_sidecar::sii::simulator::{state::Outcome, Simulator, SimulatorConfig};
use dte_sidecar::{clock, jobs, server, store, telemetry};

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
    /// Serve the JSON-RPC face and run the job workers (migrates first unless
    /// database.migrate_on_start is false).
    Serve,
    /// Apply pending database migrations, publish the Odoo views, prepare the job queue; exit.
    Migrate,
    /// Run the SII simulator (simulator.bind, admin face on simulator.admin_bind).
    SiiSim,
    /// Rebuild missing backup rows from the second copies (backup.*), byte for byte.
    Restore,
    /// Check every backup row against its second copy (hash and signatures); exits 1 on
    /// any difference.
    Verify,
    /// The maintained counters (documents, backups and their bytes, retry-queue entries):
    /// `check` recomputes them from the rows and exits 1 on any difference; `rebuild`
    /// recomputes and stores them.
    Aggregates {
        #[command(subcommand)]
        action: AggregatesAction,
    },
    /// The retry queue.
    Queue {
        #[command(subcommand)]
        action: QueueAction,
    },
    /// Verify DTE or EnvioDTE files as an auditor would (schema, CAF, TED, signatures and
    /// signer): one line per file; exits 1 when any file fails.
    VerifyFile {
        /// The XML files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check the settings, or list every key (reads no database, opens no port).
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Every state, error type, reason, alert kind and message code (with its parameters)
    /// the sidecar speaks, as JSON: what `dte.vocabulary.get` answers.
    Vocabulary,
    /// What the DTE engine accepts.
    Engine {
        #[command(subcommand)]
        action: EngineAction,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Read the settings file and the environment exactly as COMMAND would at its start:
    /// one line per problem on stderr and exit 1, or exit 0.
    Check {
        /// The command whose start is checked.
        #[arg(long = "for", value_enum, default_value = "serve", value_name = "COMMAND")]
        command: settings::Command,
        /// When the settings are good, print them as JSON (secrets as "***").
        #[arg(long)]
        json: bool,
    },
    /// Every key: its type, default, environment variable and whether it is a secret, as JSON.
    Schema,
}

#[derive(Debug, Subcommand)]
enum EngineAction {
    /// Text lengths, list sizes and the fields each document type needs, as JSON.
    Limits,
}

#[derive(Debug, Subcommand)]
enum QueueAction {
    /// Check every entry's retry history against its rule (each retry recorded once,
    /// numbered in order, equal to the entry's count; closed once); one line per breach,
    /// exit 1 on any.
    Check,
}

#[derive(Debug, Subcommand)]
enum AggregatesAction {
    /// Recompute from the rows and compare; one line per difference, exit 1 on any.
    Check,
    /// Recompute from the rows and store (writers wait meanwhile).
    Rebuild,
}

/// glibc gives each thread that allocates its own arena (up to eight per core), and an
/// arena keeps what a large request freed for its own thread: a few large bodies parsed on
/// different blocking threads then hold their peaks at once. Two arenas keep the process
/// within the chart's memory limit. Set before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: mallopt only changes allocator parameters; no other thread runs yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
    dte_sidecar::dte::initialise();
    let cli = Cli::parse();
    match &cli.command {
        Command::Config { action } => return config(action, cli.config.as_deref()),
        Command::Vocabulary => return print_json(&dte_sidecar::flows::vocabulary::vocabulary()),
        Command::Engine { action: EngineAction::Limits } => {
            return print_json(&dte_sidecar::dte::engine_limits());
        }
        _ => {}
    }
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
        Command::SiiSim => sii_sim(settings),
        Command::Restore => restore(settings),
        Command::Verify => verify(settings),
        Command::Aggregates { action } => aggregates(&settings, action),
        Command::Queue { action: QueueAction::Check } => queue_check(&settings),
        Command::VerifyFile { files } => return verify_files(&settings, &files),
        Command::Config { .. } | Command::Engine { .. } | Command::Vocabulary => return ExitCode::SUCCESS,
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

fn config(action: &ConfigAction, file: Option<&std::path::Path>) -> ExitCode {
    match action {
        ConfigAction::Schema => print_json(&settings::schema()),
        ConfigAction::Check { command, json } => match Settings::check_for(file, None, *command) {
            Ok(settings) if *json => print_json(&settings),
            Ok(_) => ExitCode::SUCCESS,
            Err(problems) => {
                for problem in problems {
                    eprintln!("dte-sidecar: {problem}");
                }
                ExitCode::FAILURE
            }
        },
    }
}

fn print_json(value: &impl serde::Serialize) -> ExitCode {
    use std::io::Write as _;
    // A closed pipe (`| head`) is an error to report, not a panic.
    let written = serde_json::to_string_pretty(value)
        .map_err(anyhow::Error::from)
        .and_then(|text| writeln!(std::io::stdout().lock(), "{text}").map_err(Into::into));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dte-sidecar: {e}");
            ExitCode::FAILURE
        }
    }
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let url = settings.database_url()?;
    let mut conn = store::connect_once(url)?;
    let applied = store::migrate(&mut conn, &settings.database.odoo_schema)?;
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(jobs::connect(url))?;
    tracing::info!(applied = applied.len(), versions = ?applied, "database migrated");
    Ok(())
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    settings.check_for_serve()?;
    if settings.database.migrate_on_start {
        migrate(&settings)?;
    }
    if settings.auth.api_keys.is_empty() {
        tracing::warn!("no API keys configured (auth.api_keys): every RPC call will be refused");
    }
    let url = settings.database_url()?.to_string();
    let db = store::Db::connect(
        &url,
        settings.database.pool_size,
        Duration::from_secs(settings.database.pool_timeout_secs),
    )?;
    let listener = TcpListener::bind(&settings.server.bind)
        .with_context(|| format!("cannot listen on {}", settings.server.bind))?;
    let admin_listener = match settings.admin.bind.as_str() {
        "" => None,
        bind => Some(TcpListener::bind(bind).with_context(|| format!("cannot listen on {bind}"))?),
    };
    let clock = clock::from_speedup(settings.clock.speedup);
    actix_web::rt::System::new().block_on(async move {
        let pool = jobs::connect(&url).await?;
        let scheduler = jobs::Scheduler::new(&pool, Arc::clone(&clock));
        let ctx = AppContext::from_settings(settings, db, clock)?.with_jobs(scheduler);
        tracing::info!(sii = ctx.sii.base_url(), "SII endpoint");
        // The workers stop when the server is told to (SIGTERM, SIGINT), not after it has
        // drained: an upload in a job gets the same grace as one in a request.
        let (stop_workers, stopped) = tokio::sync::watch::channel(false);
        let on_signal = stop_workers.clone();
        actix_web::rt::spawn(async move {
            shutdown_signal().await;
            let _ = on_signal.send(true);
        });
        let workers = ctx.settings.jobs.enabled.then(|| {
            let (ctx, pool) = (ctx.clone(), pool.clone());
            actix_web::rt::spawn(async move {
                let mut stopped = stopped;
                let stop = async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                if let Err(e) = jobs::run_workers(ctx, pool, stop).await {
                    tracing::error!("{e:#}");
                }
            })
        });
        let board = match admin_listener {
            Some(listener) => Some(jobs::board::start(&ctx.settings.admin, pool, listener)?),
            None => None,
        };
        tracing::info!(bind = %ctx.settings.server.bind, instance = %ctx.instance, "serving");
        let board_handle = board.as_ref().map(|b| b.handle());
        if let Some(board) = board {
            actix_web::rt::spawn(board);
        }
        let served = server::start(ctx, listener)?.await;
        let _ = stop_workers.send(true);
        if let Some(handle) = board_handle {
            handle.stop(true).await;
        }
        if let Some(workers) = workers {
            let _ = workers.await;
        }
        served.context("server stopped with an error")
    })
}

/// SIGTERM or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A context for a one-off command.
fn command_context(settings: Settings) -> anyhow::Result<AppContext> {
    let db = store::Db::connect(settings.database_url()?, 2, Duration::from_secs(settings.database.pool_timeout_secs))?;
    let clock = clock::from_speedup(settings.clock.speedup);
    AppContext::from_settings(settings, db, clock)
}

fn restore(settings: Settings) -> anyhow::Result<()> {
    let ctx = command_context(settings)?;
    let report = actix_web::rt::System::new().block_on(dte_sidecar::owners::backup::restore(&ctx))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn verify(settings: Settings) -> anyhow::Result<()> {
    let ctx = command_context(settings)?;
    let report = actix_web::rt::System::new().block_on(dte_sidecar::owners::backup::verify(&ctx))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if !report.problems.is_empty() {
        anyhow::bail!("{} backup(s) differ from their copy", report.problems.len());
    }
    Ok(())
}

fn queue_check(settings: &Settings) -> anyhow::Result<()> {
    let mut conn = store::connect_once(settings.database_url()?)?;
    let (read, breaches) = dte_sidecar::owners::failed_queue::breaches(&mut conn)?;
    for line in &breaches {
        println!("{line}");
    }
    if !breaches.is_empty() {
        anyhow::bail!("{} of {read} queue entries break the retry history's rule", breaches.len());
    }
    println!("{read} queue entries, every retry history keeps its rule");
    Ok(())
}

fn aggregates(settings: &Settings, action: AggregatesAction) -> anyhow::Result<()> {
    let mut conn = store::connect_once(settings.database_url()?)?;
    match action {
        AggregatesAction::Check => {
            let differences = store::aggregates::differences(&mut conn)?;
            for line in &differences {
                println!("{line}");
            }
            if !differences.is_empty() {
                anyhow::bail!(
                    "{} aggregate(s) differ from the rows (run `dte-sidecar aggregates rebuild`)",
                    differences.len()
                );
            }
            println!("aggregates agree with the rows");
        }
        AggregatesAction::Rebuild => {
            let written = store::aggregates::rebuild(&mut conn)?;
            println!("aggregates rebuilt from the rows ({written} counters)");
        }
    }
    Ok(())
}

fn verify_files(settings: &Settings, files: &[PathBuf]) -> ExitCode {
    let keys = match Keys::from_settings(settings) {
        Ok(keys) => keys,
        Err(e) => {
            eprintln!("dte-sidecar: {e:#}");
            return ExitCode::from(2);
        }
    };
    let mut failed = 0;
    for file in files {
        let line = match std::fs::read(file) {
            Err(e) => Err(format!("cannot read the file: {e}")),
            Ok(bytes) => match dte_sidecar::dte::verify_document(&bytes, &keys.schemas, &keys.trust) {
                Err(e) => Err(e.to_string()),
                Ok(report) if report.is_valid() => {
                    let signer = report
                        .envelope_signer_rut
                        .as_ref()
                        .or_else(|| report.documents.first().and_then(|d| d.signer_rut.as_ref()))
                        .map_or_else(|| "no signer named".to_string(), |rut| format!("signed by {rut}"));
                    Ok(format!("{} document(s), {signer}", report.documents.len().max(1)))
                }
                Ok(report) => Err(report.problems().join("; ")),
            },
        };
        match line {
            Ok(summary) => println!("OK\t{}\t{summary}", file.display()),
            Err(why) => {
                failed += 1;
                println!("FAIL\t{}\t{why}", file.display());
            }
        }
    }
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn sii_sim(settings: Settings) -> anyhow::Result<()> {
    let sim = &settings.simulator;
    let outcome = match sim.default_outcome.as_str() {
        "reject" => Outcome::Reject,
        "objected" => Outcome::Objected,
        _ => Outcome::Accept,
    };
    let config = SimulatorConfig {
        processing_delay: chrono::TimeDelta::seconds(sim.processing_delay_secs),
        default_outcome: outcome,
        token_ttl: chrono::TimeDelta::seconds(sim.token_ttl_secs),
        seed_ttl: chrono::TimeDelta::seconds(sim.seed_ttl_secs),
        faults: sim.faults.clone(),
        caf_key: match &sim.caf_signing_key {
            Some(path) => {
                let pem = std::fs::read(path)
                    .with_context(|| format!("simulator.caf_signing_key: cannot read {}", path.display()))?;
                Some((
                    100,
                    openssl::pkey::PKey::private_key_from_pem(&pem)
                        .context("simulator.caf_signing_key: not a PEM private key")?,
                ))
            }
            None => None,
        },
    };
    let keys = Keys::from_settings(&settings)?;
    let sii = TcpListener::bind(&sim.bind).with_context(|| format!("simulator.bind: cannot listen on {}", sim.bind))?;
    let admin = TcpListener::bind(&sim.admin_bind)
        .with_context(|| format!("simulator.admin_bind: cannot listen on {}", sim.admin_bind))?;
    tracing::info!(bind = %sim.bind, admin = %sim.admin_bind, "SII simulator");
    let clock = clock::from_speedup(settings.clock.speedup);
    let simulator = Simulator::new(config, clock, Arc::clone(&keys.schemas), Arc::clone(&keys.trust));
    actix_web::rt::System::new().block_on(simulator.serve(sii, admin)).context("simulator stopped with an error")
}
