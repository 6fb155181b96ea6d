//! The one context every handler, flow and job receives.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::archive::Archive;
use crate::clock::{SharedClock, Timestamp};
use crate::keys::Keys;
use crate::mail::Mailer;
use crate::settings::Settings;
use crate::sii::client::SiiClient;
use crate::store::Db;

/// Queues the jobs that follow a flow's work, to run at business times. The job queue
/// (`jobs::Scheduler`) is one; the flows only see this, so they never depend on the jobs
/// that call them.
pub trait FollowUps: Send + Sync {
    /// A retry of the queue entry at `at`.
    fn retry_at(&self, entry_id: i32, at: Timestamp) -> Queued<'_>;
    /// A status poll of the envelope at `at`.
    fn poll_at(&self, envelope_id: i32, at: Timestamp) -> Queued<'_>;
}

/// A job being queued.
pub type Queued<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

#[derive(Clone)]
pub struct AppContext {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub clock: SharedClock,
    pub keys: Arc<Keys>,
    pub sii: SiiClient,
    /// Pushes follow-up jobs; absent when no job workers run (the sweep does the work).
    pub jobs: Option<Arc<dyn FollowUps>>,
    /// Names this process in job and cron records (several replicas share one database).
    pub instance: String,
    /// Where the second copy of every backup goes.
    pub archive: Archive,
    /// Alert mail, when SMTP is configured.
    pub mailer: Option<Mailer>,
}

impl AppContext {
    /// Everything the settings describe: keys, SII client, backup archive, mail.
    pub fn from_settings(settings: Settings, db: Db, clock: SharedClock) -> anyhow::Result<Self> {
        let keys = Keys::from_settings(&settings)?;
        let sii = SiiClient::start(crate::sii::client::ClientConfig::from_settings(&settings.sii))?;
        let archive = Archive::from_settings(&settings.backup)?;
        let mailer = Mailer::from_settings(&settings.smtp)?;
        Ok(Self::new(settings, db, clock, keys, sii, archive, mailer))
    }

    pub fn new(
        settings: Settings,
        db: Db,
        clock: SharedClock,
        keys: Keys,
        sii: SiiClient,
        archive: Archive,
        mailer: Option<Mailer>,
    ) -> Self {
        let instance = format!(
            "{}-{}-{:04x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "sidecar".into()),
            std::process::id(),
            rand::random::<u16>()
        );
        Self {
            settings: Arc::new(settings),
            db,
            clock,
            keys: Arc::new(keys),
            sii,
            jobs: None,
            instance,
            archive,
            mailer,
        }
    }

    pub fn with_jobs(mut self, jobs: impl FollowUps + 'static) -> Self {
        self.jobs = Some(Arc::new(jobs));
        self
    }

    /// Queues retry jobs for entries at their due times. A job that cannot be queued is
    /// logged and left to the sweep.
    pub async fn follow_up_retries(&self, due: &[(i32, Timestamp)]) {
        let Some(jobs) = &self.jobs else { return };
        for (entry, at) in due {
            if let Err(e) = jobs.retry_at(*entry, *at).await {
                tracing::warn!(entry, error = %e, "retry job not queued; the sweep will pick it up");
            }
        }
    }

    pub async fn follow_up_poll(&self, envelope: i32, at: Timestamp) {
        let Some(jobs) = &self.jobs else { return };
        if let Err(e) = jobs.poll_at(envelope, at).await {
            tracing::warn!(envelope, error = %e, "status job not queued; the sweep will pick it up");
        }
    }
}
