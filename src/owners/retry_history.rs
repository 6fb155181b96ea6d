//! The retry history of a queue entry (`dte_failed_queue.retry_history`): a JSON array of
//! events, oldest first, which Odoo shows as a table. [`Event`] is the one shape of an
//! event; only `owners::failed_queue` writes the column.
//!
//! The rule a history keeps ([`History::check`], which `dte-sidecar queue check` runs over
//! the whole queue): every retry — a failed one or the one that succeeded — is recorded
//! once, numbered 1, 2, … in order, a requeue starting the count again, and the entry's
//! `retry_count` is the number since the last requeue. An entry closes at most once; an
//! entry closed without a retry of its own (the SII turned out to have its document
//! already) says so with `settled`, never as "retry 0".
//!
//! ```json
//! [{"date": "2026-11-28 03:00:00", "event": "failed", "error_type": "timeout", "error_message": "…"},
//!  {"date": "2026-11-28 04:00:00", "event": "success", "retry": 1, "track_id": "123"}]
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Timestamp;
use crate::error::{AppError, AppResult};

/// One event of the history, at `date` (written as Odoo writes datetimes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(with = "crate::clock::odoo_serde")]
    pub date: Timestamp,
    #[serde(flatten)]
    pub what: What,
}

/// What happened, named by the event's `event` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum What {
    /// An upload failed outside a retry (`retry`: the retries counted so far, when the
    /// entry already existed).
    Failed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry: Option<i32>,
        error_type: String,
        error_message: String,
        /// What a person reads: `{"code", "params"}` of the catalogue.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        said: Option<Value>,
    },
    /// Retry number `retry` failed.
    RetryFailed {
        retry: i32,
        error_type: String,
        error_message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        said: Option<Value>,
    },
    /// The stored XML cannot be sent as it is: no more automatic retries.
    Unsendable {
        error_message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        said: Option<Value>,
    },
    /// A person gave up on the entry.
    Abandoned { by: String, reason: Option<String> },
    /// A person gave an abandoned entry a fresh set of retries.
    Requeued { by: String },
    /// Retry number `retry` reached the SII.
    Success { retry: i32, track_id: Option<String> },
    /// Closed with no retry of its own: the SII already had the document (an earlier
    /// upload of its envelope reached it, found by a later upload or a status query).
    Settled { track_id: Option<String> },
}

/// A stored event: one of ours, or anything else found in the column (kept as it is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Stored {
    Known(Event),
    Other(Value),
}

/// The events of one entry, oldest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct History(Vec<Stored>);

impl History {
    /// The history of a new entry.
    pub fn first(event: Event) -> Self {
        Self(vec![Stored::Known(event)])
    }

    /// Reads the stored history of entry `entry_id`. Text that is not a JSON array is not
    /// dropped: it is logged and kept, as one string, at the head of the history.
    pub fn read(entry_id: i32, text: &str) -> Self {
        match serde_json::from_str::<Vec<Stored>>(text) {
            Ok(events) => Self(events),
            Err(error) => {
                tracing::error!(entry = entry_id, %error, "stored retry history is not a JSON array: kept as text");
                Self(vec![Stored::Other(Value::String(text.to_string()))])
            }
        }
    }

    pub fn with(mut self, event: Event) -> Self {
        self.0.push(Stored::Known(event));
        self
    }

    /// The events this type knows, oldest first.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.0.iter().filter_map(|stored| match stored {
            Stored::Known(event) => Some(event),
            Stored::Other(_) => None,
        })
    }

    /// The text the column holds.
    pub fn to_text(&self) -> AppResult<String> {
        serde_json::to_string(&self.0).map_err(AppError::internal)
    }

    /// Whether the history keeps the rule (see the module's doc) for an entry that counts
    /// `retry_count` retries: the first breach, in words, when it does not.
    pub fn check(&self, retry_count: i32) -> Result<(), String> {
        let mut counted = 0;
        let mut closed = false;
        for (at, event) in self.events().enumerate() {
            if closed && !matches!(event.what, What::Requeued { .. }) {
                return Err(format!("event {at} ({}) comes after the entry was closed", event.what.name()));
            }
            match &event.what {
                What::RetryFailed { retry, .. } | What::Success { retry, .. } => {
                    counted += 1;
                    if *retry != counted {
                        return Err(format!(
                            "event {at} ({}) counts retry {retry}, expected {counted}",
                            event.what.name()
                        ));
                    }
                    closed = matches!(event.what, What::Success { .. });
                }
                What::Failed { retry: Some(retry), .. } if *retry != counted => {
                    return Err(format!("event {at} (failed) says {retry} retries so far, expected {counted}"));
                }
                What::Settled { .. } => closed = true,
                What::Requeued { .. } => {
                    counted = 0;
                    closed = false;
                }
                What::Failed { .. } | What::Unsendable { .. } | What::Abandoned { .. } => {}
            }
        }
        if counted != retry_count {
            return Err(format!("{counted} retries recorded, but the entry counts {retry_count}"));
        }
        Ok(())
    }
}

impl What {
    /// The event's name, as the column stores it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Failed { .. } => "failed",
            Self::RetryFailed { .. } => "retry_failed",
            Self::Unsendable { .. } => "unsendable",
            Self::Abandoned { .. } => "abandoned",
            Self::Requeued { .. } => "requeued",
            Self::Success { .. } => "success",
            Self::Settled { .. } => "settled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u32) -> Timestamp {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(hour, 0, 0).unwrap()
    }

    #[test]
    fn events_keep_the_shape_odoo_reads() {
        let history = History::first(Event {
            date: at(3),
            what: What::Failed {
                retry: None,
                error_type: "timeout".into(),
                error_message: "no answer".into(),
                said: None,
            },
        })
        .with(Event { date: at(4), what: What::Success { retry: 1, track_id: None } })
        .with(Event { date: at(5), what: What::Abandoned { by: "odoo".into(), reason: None } });
        let json: Value = serde_json::from_str(&history.to_text().unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {
                    "date": "2026-11-28 03:00:00",
                    "event": "failed",
                    "error_type": "timeout",
                    "error_message": "no answer"
                },
                {"date": "2026-11-28 04:00:00", "event": "success", "retry": 1, "track_id": null},
                {"date": "2026-11-28 05:00:00", "event": "abandoned", "by": "odoo", "reason": null},
            ])
        );
        assert_eq!(History::read(1, &history.to_text().unwrap()), history);
        assert_eq!(history.events().count(), 3);
    }

    fn history(events: &[What]) -> History {
        events.iter().cloned().fold(History::default(), |h, what| h.with(Event { date: at(1), what }))
    }

    fn failed() -> What {
        What::Failed { retry: None, error_type: "unavailable".into(), error_message: "HTTP 500".into(), said: None }
    }

    fn retry_failed(retry: i32) -> What {
        What::RetryFailed { retry, error_type: "unavailable".into(), error_message: "HTTP 500".into(), said: None }
    }

    #[test]
    fn the_rule_takes_every_way_an_entry_lives() {
        let ok = [
            (vec![failed()], 0),
            (vec![failed(), retry_failed(1), What::Success { retry: 2, track_id: None }], 2),
            (vec![failed(), What::Settled { track_id: Some("1".into()) }], 0),
            (vec![failed(), retry_failed(1), What::Settled { track_id: None }], 1),
            (
                vec![
                    failed(),
                    retry_failed(1),
                    What::Abandoned { by: "odoo".into(), reason: None },
                    What::Requeued { by: "odoo".into() },
                    What::Success { retry: 1, track_id: None },
                ],
                1,
            ),
            (
                vec![
                    failed(),
                    What::Failed {
                        retry: Some(0),
                        error_type: "timeout".into(),
                        error_message: "x".into(),
                        said: None,
                    },
                ],
                0,
            ),
        ];
        for (events, count) in ok {
            assert_eq!(history(&events).check(count), Ok(()), "{events:?}");
        }
    }

    #[test]
    fn the_rule_finds_a_retry_recorded_twice_a_retry_zero_and_a_second_close() {
        let twice = history(&[failed(), retry_failed(1), retry_failed(1)]);
        assert_eq!(twice.check(2), Err("event 2 (retry_failed) counts retry 1, expected 2".to_string()));
        let zero = history(&[failed(), What::Success { retry: 0, track_id: None }]);
        assert_eq!(zero.check(0), Err("event 1 (success) counts retry 0, expected 1".to_string()));
        let closed_twice =
            history(&[failed(), What::Settled { track_id: None }, What::Success { retry: 1, track_id: None }]);
        assert!(closed_twice.check(1).unwrap_err().contains("after the entry was closed"));
        let miscounted = history(&[failed(), retry_failed(1)]);
        assert_eq!(miscounted.check(0), Err("1 retries recorded, but the entry counts 0".to_string()));
    }

    #[test]
    fn what_it_does_not_know_is_kept() {
        let text = r#"[{"date": "yesterday", "event": "failed"}, {"event": "migrated"}]"#;
        let history = History::read(1, text).with(Event { date: at(6), what: What::Requeued { by: "odoo".into() } });
        let json: Value = serde_json::from_str(&history.to_text().unwrap()).unwrap();
        assert_eq!(json[0], serde_json::json!({"date": "yesterday", "event": "failed"}));
        assert_eq!(json[1], serde_json::json!({"event": "migrated"}));
        assert_eq!(json[2]["event"], "requeued");
        assert_eq!(history.events().count(), 1);
        let broken = History::read(1, "not json");
        assert_eq!(serde_json::from_str::<Value>(&broken.to_text().unwrap()).unwrap(), serde_json::json!(["not json"]));
    }
}
