//! The faults the SII simulator plays, as settings describe them (`simulator.faults`, and
//! the same shape on the simulator's admin face). The simulator plays them
//! (`sii::simulator::faults`); the settings only hold and check them.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

/// What a faulty answer looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    #[default]
    None,
    /// Answer only after `hang_secs` (past any sane client timeout).
    Hang,
    /// Close the listening socket: connections are refused.
    Refuse,
    /// HTTP 500 with the SII's HTML error page.
    Http500,
    /// HTTP 200 with a bare `Error 500` body.
    Error500Text,
    /// HTTP 200 with an HTML page instead of XML.
    Html,
    /// Uploads answer STATUS 3 (truncated file).
    UploadStatus3,
    /// Uploads answer STATUS 5 (not authenticated).
    UploadStatus5,
    /// Uploads answer STATUS 9 (system blocked).
    UploadStatus9,
    /// Every token is treated as expired.
    TokenExpired,
    /// The request is processed, then the answer never comes (the client times out):
    /// the sender cannot know whether the SII has it.
    AnswerLost,
}

impl FaultMode {
    /// Every mode (the settings schema lists them).
    pub const ALL: [FaultMode; 11] = [
        FaultMode::None,
        FaultMode::Hang,
        FaultMode::Refuse,
        FaultMode::Http500,
        FaultMode::Error500Text,
        FaultMode::Html,
        FaultMode::UploadStatus3,
        FaultMode::UploadStatus5,
        FaultMode::UploadStatus9,
        FaultMode::TokenExpired,
        FaultMode::AnswerLost,
    ];
}

/// A new mode fails to compile here until [`FaultMode::ALL`] has it too.
const _: fn(FaultMode) = |mode| match mode {
    FaultMode::None
    | FaultMode::Hang
    | FaultMode::Refuse
    | FaultMode::Http500
    | FaultMode::Error500Text
    | FaultMode::Html
    | FaultMode::UploadStatus3
    | FaultMode::UploadStatus5
    | FaultMode::UploadStatus9
    | FaultMode::TokenExpired
    | FaultMode::AnswerLost => {}
};

/// The SII endpoints a fault may be limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Seed,
    Token,
    Upload,
    UploadState,
    DocumentState,
}

/// A time window during which every request fails with `mode`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    pub from: Timestamp,
    pub until: Timestamp,
    pub mode: FaultMode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every answer, in milliseconds.
    pub latency_ms: u64,
    /// Applied to every request (subject to `only`).
    pub mode: FaultMode,
    /// Limits `mode` and the random failures to these endpoints; all when empty.
    pub only: Vec<Endpoint>,
    /// How long `hang` waits before answering.
    pub hang_secs: u64,
    /// Share of requests (0..1) failing at random with `random_mode`.
    pub failure_rate: f64,
    pub random_mode: FaultMode,
    /// Seed of the random failures: the same seed and request order fail the same way.
    pub seed: u64,
    pub outages: Vec<Outage>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            mode: FaultMode::None,
            only: Vec::new(),
            hang_secs: 120,
            failure_rate: 0.0,
            random_mode: FaultMode::Http500,
            seed: 1,
            outages: Vec::new(),
        }
    }
}
