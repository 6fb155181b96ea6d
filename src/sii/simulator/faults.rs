//! Faults the simulator can play, switched by settings or at run time: added latency,
//! hangs past the client's timeout, refused connections, HTTP 500, a bare `Error 500`,
//! an HTML page, upload STATUS 3/5/9, expired tokens, outage windows, and a random share
//! of failures reproducible from a seed.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::clock::Timestamp;
pub use crate::settings::faults::{Endpoint, FaultMode, Faults, Outage};

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
