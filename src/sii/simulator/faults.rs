//! Faults the simulator can play, switched by settings or at run time: added latency,
//! hangs past the client's timeout, refused connections, HTTP 500, a bare `Error 500`,
//! an HTML page, upload STATUS 3/5/9, expired tokens, outage windows, and a random share
//! of failures reproducible from a seed.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
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

/// Decides, request by request, which fault to play.
#[derive(Debug)]
pub struct FaultPlan {
    faults: Faults,
    rng: StdRng,
}

impl FaultPlan {
    pub fn new(faults: Faults) -> Self {
        let rng = StdRng::seed_from_u64(faults.seed);
        Self { faults, rng }
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Replaces the faults; the random sequence starts again from the new seed.
    pub fn set(&mut self, faults: Faults) {
        *self = Self::new(faults);
    }

    pub fn add_outage(&mut self, outage: Outage) {
        self.faults.outages.push(outage);
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.faults.latency_ms)
    }

    pub fn hang(&self) -> Duration {
        Duration::from_secs(self.faults.hang_secs)
    }

    /// The fault for a request to `endpoint` at `now`.
    pub fn draw(&mut self, endpoint: Endpoint, now: Timestamp) -> FaultMode {
        if let Some(outage) = self.faults.outages.iter().find(|o| o.from <= now && now < o.until) {
            return outage.mode;
        }
        let applies = self.faults.only.is_empty() || self.faults.only.contains(&endpoint);
        if !applies {
            return FaultMode::None;
        }
        if self.faults.mode != FaultMode::None {
            return self.faults.mode;
        }
        if self.faults.failure_rate > 0.0 && self.rng.random::<f64>() < self.faults.failure_rate {
            return self.faults.random_mode;
        }
        FaultMode::None
    }

    /// Whether the listening socket should be closed at `now`.
    pub fn refusing(&self, now: Timestamp) -> bool {
        self.faults.mode == FaultMode::Refuse
            || self.faults.outages.iter().any(|o| o.mode == FaultMode::Refuse && o.from <= now && now < o.until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0).map(|d| d.naive_utc()).unwrap_or_default()
    }

    #[test]
    fn random_failures_repeat_for_the_same_seed() {
        let faults = Faults { failure_rate: 0.3, seed: 42, ..Faults::default() };
        let run = |faults: &Faults| -> Vec<FaultMode> {
            let mut plan = FaultPlan::new(faults.clone());
            (0..200).map(|_| plan.draw(Endpoint::Upload, at(0))).collect()
        };
        let first = run(&faults);
        assert_eq!(first, run(&faults));
        let failures = first.iter().filter(|m| **m == FaultMode::Http500).count();
        assert!((30..=90).contains(&failures), "about 30% of 200: {failures}");
        assert_ne!(first, run(&Faults { seed: 43, ..faults }));
    }

    #[test]
    fn outages_and_endpoint_limits_apply() {
        let mut plan = FaultPlan::new(Faults {
            mode: FaultMode::UploadStatus9,
            only: vec![Endpoint::Upload],
            outages: vec![Outage { from: at(10), until: at(20), mode: FaultMode::Refuse }],
            ..Faults::default()
        });
        assert_eq!(plan.draw(Endpoint::Seed, at(0)), FaultMode::None);
        assert_eq!(plan.draw(Endpoint::Upload, at(0)), FaultMode::UploadStatus9);
        assert_eq!(plan.draw(Endpoint::Seed, at(15)), FaultMode::Refuse);
        assert!(plan.refusing(at(15)) && !plan.refusing(at(20)));
    }
}
