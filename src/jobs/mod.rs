//! Background jobs on apalis (apalis-postgres, same database): a retry at each queue
//! entry's `next_retry_date`, status polls with backoff, and the periodic sweep (an
//! apalis-cron schedule piped into a queue of its own). The diesel rows are the truth and
//! a job is their effect: a job re-reads its row and does nothing when the work is done
//! or not due, so a duplicate or a lost job does no harm — the sweep repairs the latter.

pub mod board;
pub mod poll_status;
pub mod retry_upload;
pub mod sweep_tick;

use std::time::Duration;

use apalis::prelude::*;
use apalis_postgres::{Config, PgPool, PostgresStorage};

use crate::clock::{SharedClock, Timestamp};
use crate::context::{FollowUps, Queued};

pub use poll_status::PollStatus;
pub use retry_upload::RetryUpload;

pub const RETRY_QUEUE: &str = "dte-retry";
pub const POLL_QUEUE: &str = "dte-status";
pub const SWEEP_QUEUE: &str = "dte-sweep";

/// Pushes jobs to run at business times (converted to real delays by the clock): the
/// context's [`FollowUps`].
#[derive(Clone)]
pub struct Scheduler {
    retry: PostgresStorage<RetryUpload>,
    poll: PostgresStorage<PollStatus>,
    clock: SharedClock,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scheduler")
    }
}

pub fn config(queue: &str) -> Config {
    Config::default().queue(queue)
}

impl Scheduler {
    pub fn new(pool: &PgPool, clock: SharedClock) -> Self {
        Self {
            retry: PostgresStorage::new(pool).with_config(config(RETRY_QUEUE)),
            poll: PostgresStorage::new(pool).with_config(config(POLL_QUEUE)),
            clock,
        }
    }

    /// apalis keeps run times in whole seconds, rounded down: a second more keeps a job
    /// from running before its business time.
    fn delay(&self, at: Timestamp) -> Duration {
        let wait = self.clock.real_wait_until(at);
        if wait.is_zero() {
            wait
        } else {
            wait + Duration::from_secs(1)
        }
    }

    pub async fn retry_at(&self, entry_id: i32, at: Timestamp) -> anyhow::Result<()> {
        let task = TaskBuilder::new(RetryUpload { entry_id }).run_after(self.delay(at)).build();
        self.retry.clone().push_task(task).await.map_err(|e| anyhow::anyhow!("cannot queue retry {entry_id}: {e}"))
    }

    pub async fn poll_at(&self, envelope_id: i32, at: Timestamp) -> anyhow::Result<()> {
        let task = TaskBuilder::new(PollStatus { envelope_id }).run_after(self.delay(at)).build();
        self.poll.clone().push_task(task).await.map_err(|e| anyhow::anyhow!("cannot queue poll {envelope_id}: {e}"))
    }
}

impl FollowUps for Scheduler {
    fn retry_at(&self, entry_id: i32, at: Timestamp) -> Queued<'_> {
        Box::pin(Scheduler::retry_at(self, entry_id, at))
    }

    fn poll_at(&self, envelope_id: i32, at: Timestamp) -> Queued<'_> {
        Box::pin(Scheduler::poll_at(self, envelope_id, at))
    }
}

/// Runs the retry, status and sweep workers until `shutdown` resolves.
pub async fn run_workers(
    ctx: crate::context::AppContext,
    pool: PgPool,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use std::str::FromStr as _;
    let every = Duration::from_millis(ctx.settings.jobs.poll_interval_millis.max(50));
    let expression = sweep_tick::schedule(ctx.settings.jobs.sweep_interval_secs)
        .ok_or_else(|| anyhow::anyhow!("jobs.sweep_interval_secs must divide a minute or an hour"))?;
    let schedule =
        cron::Schedule::from_str(&expression).map_err(|e| anyhow::anyhow!("sweep schedule {expression}: {e}"))?;
    let instance = ctx.instance.clone();
    let ctx_grace = ctx.settings.server.shutdown_timeout_secs;
    // A worker that fetches only on its polling strategy was seen to sleep until its next
    // heartbeat: the heartbeat runs at the polling interval too.
    let worker_config = |queue: &str| config(queue).heartbeat_interval(every);
    let strategy = || apalis_core::backend::ext::poll_strategy::Strategy::new().interval(every);
    let retry_backend = PostgresStorage::<RetryUpload>::new(&pool)
        .with_config(worker_config(RETRY_QUEUE))
        .poll_with_strategy(strategy());
    let poll_backend =
        PostgresStorage::<PollStatus>::new(&pool).with_config(worker_config(POLL_QUEUE)).poll_with_strategy(strategy());
    let sweep_backend = apalis_cron::CronScheduler::new(schedule)
        .pipe_to(PostgresStorage::<apalis_cron::Tick>::new(&pool).with_config(config(SWEEP_QUEUE)));
    let (retry_ctx, poll_ctx, sweep_ctx) = (ctx.clone(), ctx.clone(), ctx);
    let (retry_name, poll_name, sweep_name) =
        (format!("{instance}-retry"), format!("{instance}-status"), format!("{instance}-sweep"));
    let grace = Duration::from_secs(ctx_grace);
    Monitor::new()
        .shutdown_timeout(grace)
        // A worker ends when the database goes away under it (a restart, a failover); its
        // jobs wait in the database meanwhile, so it starts again and picks them up.
        .should_restart(|worker, error| {
            tracing::warn!(worker = worker.name(), restarts = worker.restarts(), %error, "job worker stopped: restarting it");
            true
        })
        .register(move |_| {
            WorkerBuilder::new(retry_name.as_str())
                .backend(retry_backend.clone())
                .data(retry_ctx.clone())
                .build(retry_upload::run)
        })
        .register(move |_| {
            WorkerBuilder::new(poll_name.as_str())
                .backend(poll_backend.clone())
                .data(poll_ctx.clone())
                .build(poll_status::run)
        })
        .register(move |_| {
            WorkerBuilder::new(sweep_name.as_str())
                .backend(sweep_backend.clone())
                .data(sweep_ctx.clone())
                .build(sweep_tick::run)
        })
        .run_with_signal(async move {
            shutdown.await;
            Ok(())
        })
        .await
        .map_err(|e| anyhow::anyhow!("job workers: {e}"))
}

/// Connects apalis' own pool and makes sure its schema exists.
pub async fn connect(url: &str) -> anyhow::Result<PgPool> {
    let pool = PgPool::connect(url).await.map_err(|e| anyhow::anyhow!("job queue database: {e}"))?;
    PostgresStorage::setup(&pool).await.map_err(|e| anyhow::anyhow!("job queue schema: {e}"))?;
    Ok(pool)
}
