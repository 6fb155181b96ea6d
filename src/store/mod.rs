//! The store: PostgreSQL through diesel + r2d2. Store functions take a
//! `&mut PgConnection` so a caller can group several in one transaction; callers on the
//! async side go through [`Db::run`], which moves the blocking work off the reactor.

pub mod aggregates;
pub mod cron_tick;
pub mod models;
pub mod query;
pub mod registry;
pub mod schema;
pub mod state;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, HandleError, Pool, PooledConnection};
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::{AppError, AppResult};

/// The migrations, embedded in the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The schema that holds the sidecar's tables (out of reach of Odoo's uninstall).
pub const SCHEMA: &str = "dte_sidecar";

/// Key of the advisory lock that serialises migrations between replicas.
const MIGRATION_LOCK: i64 = 0x0d7e_5dca_0001;

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PgConn = PooledConnection<ConnectionManager<PgConnection>>;

/// How often a pool reports that it cannot connect while the database stays away.
const CONNECT_ERROR_EVERY: Duration = Duration::from_secs(10);

/// Reports a pool's failed connection attempts once per [`CONNECT_ERROR_EVERY`], with the
/// number left unsaid since: a pool keeps retrying while the database is down, and each
/// attempt logged on its own was dozens of lines a second.
#[derive(Debug, Default)]
struct ConnectErrors {
    /// When the last report went out, and the failures since.
    state: Mutex<(Option<Instant>, u64)>,
}

impl ConnectErrors {
    /// The failures to report now (this one included), or None while the last report is recent.
    fn due(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (last, unsaid) = &mut *state;
        *unsaid += 1;
        if last.is_some_and(|at| now.saturating_duration_since(at) < CONNECT_ERROR_EVERY) {
            return None;
        }
        *last = Some(now);
        Some(std::mem::take(unsaid))
    }
}

impl HandleError<diesel::r2d2::Error> for ConnectErrors {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        if let Some(failures) = self.due(Instant::now()) {
            tracing::error!(failures, %error, "cannot open a database connection");
        }
    }
}

/// Every pooled connection sees the sidecar's schema first, speaks UTC, and takes a slot
/// of its own in the maintained counters, so that no two connections ever lock the same
/// counter row (see the migration `aggregate_slot_per_connection`; before it has run the
/// connection writes to the slot of its backend's pid, as any other writer does).
#[derive(Debug)]
struct SessionSetup;

const SESSION_SETUP: &str = "SET search_path TO dte_sidecar, public; SET TIME ZONE 'UTC'; \
    DO $$ BEGIN IF to_regprocedure('dte_sidecar.claim_aggregate_slot()') IS NOT NULL THEN \
    PERFORM dte_sidecar.claim_aggregate_slot(); END IF; END $$";

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionSetup {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.set_instrumentation(StatementCount);
        conn.batch_execute(SESSION_SETUP).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Counts every statement a pooled connection sends (`BEGIN`, `COMMIT` and the pool's
/// check-out test included: each is a round trip) in `dte_sql_statements_total`.
struct StatementCount;

impl Instrumentation for StatementCount {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            crate::metrics::sql_statement();
        }
    }
}

/// How long `/readyz` and `/metrics` wait for their own connection: less than a probe's
/// timeout, so a database that does not answer is reported rather than waited for.
pub const OPS_TIMEOUT: Duration = Duration::from_secs(2);

/// The probe's and the scrape's connections also give up on a statement after
/// [`OPS_TIMEOUT`]: a lock held elsewhere makes them answer late, never hang.
#[derive(Debug)]
struct OpsSessionSetup;

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for OpsSessionSetup {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        SessionSetup.on_acquire(conn)?;
        conn.batch_execute(&format!("SET statement_timeout = {}", OPS_TIMEOUT.as_millis()))
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// A handle on the connection pool, and on the two connections of its own that `/readyz`
/// and `/metrics` use: slow calls holding every pooled connection cannot make the probe
/// fail, and scrapes cannot take a connection a call needs.
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    probe: PgPool,
    scrape: PgPool,
    scraping: Arc<AtomicBool>,
}

impl Db {
    pub fn connect(url: &str, size: u32, timeout: Duration) -> anyhow::Result<Self> {
        // No test query on check-out: it was one round trip in every nine of a send. A
        // connection the server dropped fails its next statement, diesel marks it broken
        // and the pool replaces it; `/readyz` watches the database on its own connection.
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .test_on_check_out(false)
            .connection_timeout(timeout)
            .connection_customizer(Box::new(SessionSetup))
            .error_handler(Box::new(ConnectErrors::default()))
            .build(ConnectionManager::<PgConnection>::new(url))
            .context("cannot connect to the database")?;
        // One connection each, opened on first use and kept.
        let single = || {
            Pool::builder()
                .max_size(1)
                .min_idle(Some(0))
                .idle_timeout(None)
                .connection_timeout(OPS_TIMEOUT)
                .connection_customizer(Box::new(OpsSessionSetup))
                .error_handler(Box::new(ConnectErrors::default()))
                .build_unchecked(ConnectionManager::<PgConnection>::new(url))
        };
        Ok(Self { pool, probe: single(), scrape: single(), scraping: Arc::new(AtomicBool::new(false)) })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn conn(&self) -> AppResult<PgConn> {
        Ok(self.pool.get()?)
    }

    /// Runs blocking store work on the blocking thread pool.
    pub async fn run<T, F>(&self, work: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            work(&mut conn)
        })
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("store task failed: {e}")))?
    }

    /// True when the database answers on the probe's own connection and no migration is
    /// pending.
    pub async fn ready(&self) -> bool {
        let probe = self.probe.clone();
        tokio::task::spawn_blocking(move || probe.get().is_ok_and(|mut conn| is_ready(&mut conn)))
            .await
            .unwrap_or(false)
    }

    /// Runs a scrape's read on the scrape's own connection. While one runs, another scrape
    /// gets `None` at once (and reports the values last read) instead of queueing.
    pub async fn scrape<T, F>(&self, work: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
    {
        if self.scraping.swap(true, Ordering::AcqRel) {
            return None;
        }
        /// Lets the next scrape read, however this one ends.
        struct Done(Arc<AtomicBool>);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let (scrape, done) = (self.scrape.clone(), Done(Arc::clone(&self.scraping)));
        let read = tokio::task::spawn_blocking(move || {
            let _done = done;
            scrape.get().ok().and_then(|mut conn| work(&mut conn).ok())
        })
        .await;
        read.ok().flatten()
    }
}

/// Applies pending migrations (one replica at a time) and publishes the Odoo views.
/// Returns the versions applied now.
pub fn migrate(conn: &mut PgConnection, odoo_schema: &str) -> anyhow::Result<Vec<String>> {
    conn.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {SCHEMA}; SET search_path TO {SCHEMA}, public; \
         SELECT pg_advisory_lock({MIGRATION_LOCK})"
    ))
    .context("cannot prepare the migration")?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"));
    let published = applied.is_ok().then(|| publish_odoo_views(conn, odoo_schema));
    let unlocked = conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
    let applied = applied?;
    if let Some(published) = published {
        published?;
    }
    unlocked.context("cannot release the migration lock")?;
    Ok(applied)
}

/// (Re)creates the read-only views Odoo maps, in Odoo's schema.
pub fn publish_odoo_views(conn: &mut PgConnection, odoo_schema: &str) -> anyhow::Result<()> {
    diesel::sql_query("SELECT dte_sidecar.publish_odoo_views($1)")
        .bind::<diesel::sql_types::Text, _>(odoo_schema)
        .execute(conn)
        .with_context(|| format!("cannot publish the Odoo views into schema {odoo_schema}"))?;
    Ok(())
}

/// True when the database answers and no migration is pending.
pub fn is_ready(conn: &mut PgConnection) -> bool {
    conn.batch_execute("SELECT 1").is_ok() && matches!(conn.has_pending_migration(MIGRATIONS), Ok(false))
}

/// Opens one connection outside the pool (the `migrate` command).
pub fn connect_once(url: &str) -> anyhow::Result<PgConnection> {
    PgConnection::establish(url).context("cannot connect to the database")
}

use diesel::RunQueryDsl as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_reported_once_per_period_with_their_count() {
        let errors = ConnectErrors::default();
        let start = Instant::now();
        assert_eq!(errors.due(start), Some(1), "the first failure is reported at once");
        for second in 1..10 {
            assert_eq!(errors.due(start + Duration::from_secs(second)), None);
        }
        assert_eq!(errors.due(start + CONNECT_ERROR_EVERY), Some(10), "the next report counts the unsaid ones");
        assert_eq!(errors.due(start + CONNECT_ERROR_EVERY + Duration::from_millis(1)), None);
    }
}
