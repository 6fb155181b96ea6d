//! Logs through tracing: text for people, JSON for collectors.

use std::sync::{Arc, Mutex, OnceLock};

use apalis_board::actix::sse::{TracingBroadcaster, TracingSubscriber};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::settings::{LogFormat, LogSettings};

pub fn init(log: &LogSettings) {
    let filter = || EnvFilter::try_new(&log.level).unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal as _;
    let people =
        tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    // The job board's live log: a board with no browser open, or one that reads slowly,
    // must not make every log line report an error of its own.
    let board = TracingSubscriber::new(&board_events()).layer().log_internal_errors(false).with_filter(filter());
    let registry = tracing_subscriber::registry().with(board);
    // A second init (tests) keeps the first subscriber.
    let _ = match log.format {
        LogFormat::Json => registry.with(people.json().flatten_event(true).with_filter(filter())).try_init(),
        LogFormat::Text => registry.with(people.with_filter(filter())).try_init(),
    };
}

/// What the job board's `/api/v1/events` streams (its "System Status" and task logs): the
/// events logged inside spans, as the tracing layer installed by [`init`] hands them over.
pub fn board_events() -> Arc<Mutex<TracingBroadcaster>> {
    static BROADCASTER: OnceLock<Arc<Mutex<TracingBroadcaster>>> = OnceLock::new();
    Arc::clone(BROADCASTER.get_or_init(TracingBroadcaster::create))
}

/// The Prometheus recorder, installed once per process.
pub fn metrics() -> Option<&'static metrics_exporter_prometheus::PrometheusHandle> {
    use std::sync::OnceLock;
    static HANDLE: OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full("dte_sii_call_seconds".into()),
                    &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0],
                )
                .ok()?
                .install_recorder()
                .map_err(|e| tracing::warn!("metrics recorder not installed: {e}"))
                .ok()
        })
        .as_ref()
}
