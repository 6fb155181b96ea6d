//! Business time. Every date the sidecar records or schedules by comes from a [`Clock`],
//! so tests can move time by hand and a test run can play hours out in seconds.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, TimeDelta, Utc};

/// UTC time without zone, the way Odoo stores datetimes.
pub type Timestamp = NaiveDateTime;

pub trait Clock: Send + Sync + 'static {
    /// The current business time.
    fn now(&self) -> Timestamp;

    /// How long to really wait until business time `at` (zero when it is past).
    fn real_wait_until(&self, at: Timestamp) -> Duration;
}

pub type SharedClock = Arc<dyn Clock>;

/// The wall clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Utc::now().naive_utc()
    }

    fn real_wait_until(&self, at: Timestamp) -> Duration {
        (at - self.now()).to_std().unwrap_or(Duration::ZERO)
    }
}

/// Wall time sped up by a constant factor from the moment it is made: with a speedup of
/// 3600 an hour of business time passes in one real second.
#[derive(Debug)]
pub struct ScaledClock {
    origin: Timestamp,
    started: Instant,
    speedup: f64,
}

impl ScaledClock {
    pub fn new(speedup: f64) -> Self {
        Self { origin: Utc::now().naive_utc(), started: Instant::now(), speedup: speedup.max(1.0) }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        let real = self.started.elapsed().as_secs_f64();
        let business = TimeDelta::microseconds((real * self.speedup * 1e6) as i64);
        self.origin + business
    }

    fn real_wait_until(&self, at: Timestamp) -> Duration {
        let ahead = (at - self.now()).to_std().unwrap_or(Duration::ZERO);
        ahead.div_f64(self.speedup)
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Timestamp>>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self { now: Arc::new(Mutex::new(start)) }
    }

    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }

    pub fn set(&self, to: Timestamp) {
        *self.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Time only moves by hand, so nothing is ever worth waiting for.
    fn real_wait_until(&self, _at: Timestamp) -> Duration {
        Duration::ZERO
    }
}

/// How Odoo writes a datetime (UTC, no zone): `2026-11-28 03:00:00`.
pub const ODOO_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// `at` as Odoo writes a datetime; the one formatter for the times the sidecar hands to
/// Odoo (answers, the retry history).
pub fn odoo_time(at: Timestamp) -> String {
    at.format(ODOO_FORMAT).to_string()
}

/// A datetime as Odoo writes it ([`ODOO_FORMAT`]).
pub fn parse_odoo_time(text: &str) -> Option<Timestamp> {
    NaiveDateTime::parse_from_str(text, ODOO_FORMAT).ok()
}

/// A [`Timestamp`] field (de)serialized as Odoo writes it: `#[serde(with = "odoo_serde")]`.
pub mod odoo_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Timestamp;

    pub fn serialize<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::odoo_time(*at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_odoo_time(&text).ok_or_else(|| serde::de::Error::custom(format!("not an Odoo datetime: {text:?}")))
    }
}

/// The clock the settings ask for.
pub fn from_speedup(speedup: f64) -> SharedClock {
    if speedup > 1.0 {
        Arc::new(ScaledClock::new(speedup))
    } else {
        Arc::new(SystemClock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(TimeDelta::hours(16));
        assert_eq!(clock.now(), start + TimeDelta::hours(16));
    }

    #[test]
    fn scaled_clock_turns_business_hours_into_real_seconds() {
        let clock = ScaledClock::new(3600.0);
        let in_two_hours = clock.now() + TimeDelta::hours(2);
        let wait = clock.real_wait_until(in_two_hours);
        assert!(wait <= Duration::from_secs(2) && wait > Duration::from_millis(1900), "{wait:?}");
    }

    #[test]
    fn odoo_times_read_back_as_written() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(3, 4, 5).unwrap();
        assert_eq!(odoo_time(at), "2026-11-28 03:04:05");
        assert_eq!(parse_odoo_time("2026-11-28 03:04:05"), Some(at));
        assert_eq!(parse_odoo_time("2026-11-28T03:04:05"), None);
    }
}
