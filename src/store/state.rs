//! The lifecycle columns' states, one type each, mirroring the migrations' `CHECK` lists,
//! with the moves each state allows. Each lifecycle table has one writer, the only code
//! that writes its `state` column, and it writes only moves `may_become` allows, with the
//! states allowed to make the move (`sources`) in the statement's `WHERE`, so a
//! concurrent change cannot slip an illegal move in:
//!
//! | table                     | writer                  |
//! |---------------------------|-------------------------|
//! | `dte_document`            | `owners::document`      |
//! | `dte_failed_queue`        | `owners::failed_queue`  |
//! | `dte_envelope`            | `owners::envelope`      |
//! | `dte_contingency_pending` | `owners::contingency`   |
//!
//! (`tests/it/layers.rs` fails when another module writes one of them.)
//!
//! Each state is a diesel `Text` expression.
//!
//! Documents (`dte_document.state`):
//!
//! ```text
//! generated ─► sending ─► sent ─► accepted | accepted_with_objections | rejected
//!     │           │  ▲
//!     ▼           ▼  │
//! contingency   failed ─► abandoned
//! ```
//! `contingency` and `failed` go back to `sending` when the upload is tried again;
//! `abandoned` goes back to `failed` when a person requeues it.
//!
//! Retry queue entries (`dte_failed_queue.state`):
//!
//! ```text
//! pending ⇄ retrying ─► success
//!    │  ▲       │
//!    ▼  │       │
//! abandoned ◄───┘
//! ```
//! An entry is born `pending`; a retry claims it (`retrying`) and gives it back
//! (`pending`, or `abandoned` after its last retry); an upload that succeeds closes it
//! (`success`); a person abandons a pending entry or requeues an abandoned one.
//!
//! Envelopes (`dte_envelope.state`):
//!
//! ```text
//! created ─► uploaded ─► processed | rejected
//!    │  ▲       ▲
//!    ▼  │       │
//!  failed ──────┘
//! ```
//! An envelope is born `created`; an upload the SII received makes it `uploaded` (again,
//! when a lost answer is reconciled), a transient failure leaves it `created`, a permanent
//! refusal makes it `failed`; the SII's verdict on every document decides it. A decided
//! envelope (`processed`, `rejected`) is never uploaded again, and a retry does not upload
//! one the SII has (`reached_sii`); a failed repeat of an envelope the SII already has
//! leaves its state as it is.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use diesel::AsExpression;
use serde::Serialize;

/// Each state is written as the text its column holds, and read back as its type: a row
/// holding a text no state has is an error of the store, never a state made up.
macro_rules! text_column {
    ($state:ty) => {
        impl FromSql<Text, Pg> for $state {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
                <$state>::parse(&text).ok_or_else(|| format!("{} is not a {}", text, stringify!($state)).into())
            }
        }

        impl ToSql<Text, Pg> for $state {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl PartialEq<$state> for String {
            fn eq(&self, state: &$state) -> bool {
                self == state.as_str()
            }
        }

        impl std::fmt::Display for $state {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum DocState {
    Generated,
    Contingency,
    Sending,
    Sent,
    Accepted,
    AcceptedWithObjections,
    Rejected,
    Failed,
    Abandoned,
}

impl DocState {
    pub const ALL: [DocState; 9] = [
        Self::Generated,
        Self::Contingency,
        Self::Sending,
        Self::Sent,
        Self::Accepted,
        Self::AcceptedWithObjections,
        Self::Rejected,
        Self::Failed,
        Self::Abandoned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generated => "generated",
            Self::Contingency => "contingency",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Accepted => "accepted",
            Self::AcceptedWithObjections => "accepted_with_objections",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
            Self::Abandoned => "abandoned",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The SII has decided; nothing will change it any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Accepted | Self::AcceptedWithObjections | Self::Rejected)
    }

    /// The SII has (or had) the document: it must never be uploaded again.
    pub fn reached_sii(self) -> bool {
        matches!(self, Self::Sent) || self.is_final()
    }

    pub fn may_become(self, to: DocState) -> bool {
        use DocState::*;
        matches!(
            (self, to),
            (Generated, Sending | Contingency)
                | (Contingency, Sending)
                | (Sending, Sending | Sent | Failed)
                | (Failed, Sending | Sent | Failed | Abandoned)
                | (Abandoned, Failed | Sent)
                | (Sent, Accepted | AcceptedWithObjections | Rejected)
        )
    }

    /// The states that may become `to`: what a write's `WHERE state IN (…)` allows.
    pub fn sources(to: DocState) -> Vec<DocState> {
        Self::ALL.into_iter().filter(|s| s.may_become(to)).collect()
    }
}

text_column!(DocState);

/// The state of a retry queue entry (`dte_failed_queue.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum QueueState {
    Pending,
    Retrying,
    Success,
    Abandoned,
}

impl QueueState {
    pub const ALL: [QueueState; 4] = [Self::Pending, Self::Retrying, Self::Success, Self::Abandoned];

    /// The entries still waiting in the queue.
    pub const OPEN: [QueueState; 2] = [Self::Pending, Self::Retrying];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Retrying => "retrying",
            Self::Success => "success",
            Self::Abandoned => "abandoned",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }

    pub fn may_become(self, to: QueueState) -> bool {
        use QueueState::*;
        matches!(
            (self, to),
            (Pending, Pending | Retrying | Success | Abandoned)
                | (Retrying, Pending | Success | Abandoned)
                | (Abandoned, Pending)
        )
    }

    /// The states that may become `to`: what a write's `WHERE state IN (…)` allows.
    pub fn sources(to: QueueState) -> Vec<QueueState> {
        Self::ALL.into_iter().filter(|s| s.may_become(to)).collect()
    }
}

text_column!(QueueState);

/// The state of an EnvioDTE envelope (`dte_envelope.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum EnvelopeState {
    Created,
    Uploaded,
    Processed,
    Rejected,
    Failed,
}

impl EnvelopeState {
    pub const ALL: [EnvelopeState; 5] = [Self::Created, Self::Uploaded, Self::Processed, Self::Rejected, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Uploaded => "uploaded",
            Self::Processed => "processed",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The SII has decided on every document in it.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Processed | Self::Rejected)
    }

    /// The SII has (or had) the envelope: what travels in it reached the SII.
    pub fn reached_sii(self) -> bool {
        matches!(self, Self::Uploaded) || self.is_final()
    }

    pub fn may_become(self, to: EnvelopeState) -> bool {
        use EnvelopeState::*;
        matches!(
            (self, to),
            (Created | Failed, Created | Uploaded | Failed) | (Uploaded, Uploaded | Processed | Rejected)
        )
    }

    /// The states that may become `to`: what a write's `WHERE state IN (…)` allows.
    pub fn sources(to: EnvelopeState) -> Vec<EnvelopeState> {
        Self::ALL.into_iter().filter(|s| s.may_become(to)).collect()
    }
}

text_column!(EnvelopeState);

/// Where a document kept in contingency stands (`dte_contingency_pending`). The row keeps
/// it in four columns (`uploaded`, `envelope_id`, `quarantine_reason`, `upload_error`);
/// [`PendingState::of`] is the one reading of them, and the owner of the table writes only
/// the moves [`PendingState::may_become`] allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingState {
    /// Kept, waiting for a drain to put it in an envelope.
    Held,
    /// In an envelope that a drain is uploading.
    Enveloped,
    /// Its upload failed; the retry queue carries it on.
    Failed,
    /// Its stored XML cannot be sent; a person must act.
    Quarantined,
    /// The SII has it.
    Uploaded,
}

impl PendingState {
    pub const ALL: [PendingState; 5] = [Self::Held, Self::Enveloped, Self::Failed, Self::Quarantined, Self::Uploaded];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Enveloped => "enveloped",
            Self::Failed => "failed",
            Self::Quarantined => "quarantined",
            Self::Uploaded => "uploaded",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The state a row's columns say.
    pub fn of(uploaded: bool, envelope_id: Option<i32>, quarantined: bool, upload_failed: bool) -> Self {
        match (uploaded, quarantined, upload_failed, envelope_id) {
            (true, ..) => Self::Uploaded,
            (false, true, ..) => Self::Quarantined,
            (false, false, true, _) => Self::Failed,
            (false, false, false, Some(_)) => Self::Enveloped,
            (false, false, false, None) => Self::Held,
        }
    }

    pub fn may_become(self, to: PendingState) -> bool {
        use PendingState::*;
        matches!(
            (self, to),
            (Held, Enveloped | Quarantined | Failed | Uploaded)
                | (Enveloped, Failed | Uploaded)
                | (Failed, Failed | Enveloped | Quarantined | Uploaded)
        )
    }

    /// The states that may become `to`.
    pub fn sources(to: PendingState) -> Vec<PendingState> {
        Self::ALL.into_iter().filter(|s| s.may_become(to)).collect()
    }
}

impl std::fmt::Display for PendingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_document_that_the_sii_has_or_a_person_must_mend_moves_no_more() {
        for to in PendingState::ALL {
            assert!(!PendingState::Uploaded.may_become(to), "uploaded → {to}");
            assert!(!PendingState::Quarantined.may_become(to), "quarantined → {to}");
        }
        assert_eq!(PendingState::of(false, None, false, false), PendingState::Held);
        assert_eq!(PendingState::of(false, Some(3), false, false), PendingState::Enveloped);
        assert_eq!(PendingState::of(false, Some(3), false, true), PendingState::Failed);
        assert_eq!(PendingState::of(false, None, true, true), PendingState::Quarantined);
        assert_eq!(PendingState::of(true, Some(3), false, true), PendingState::Uploaded);
        for state in PendingState::ALL {
            assert_eq!(PendingState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn a_document_that_reached_the_sii_is_never_sent_again() {
        for state in [DocState::Sent, DocState::Accepted, DocState::AcceptedWithObjections, DocState::Rejected] {
            assert!(state.reached_sii());
            assert!(!state.may_become(DocState::Sending), "{state:?}");
        }
        assert!(DocState::Failed.may_become(DocState::Sending));
        assert!(!DocState::Abandoned.may_become(DocState::Sending), "requeue first");
        assert!(!DocState::Generated.may_become(DocState::Sent));
        for state in DocState::ALL {
            assert_eq!(DocState::parse(state.as_str()), Some(state));
        }
    }

    /// The `CHECK (state IN (…))` list of a migration, as one line.
    fn check_list(states: impl IntoIterator<Item = &'static str>) -> String {
        let quoted: Vec<String> = states.into_iter().map(|s| format!("'{s}'")).collect();
        format!("CHECK (state IN ({}))", quoted.join(", "))
    }

    fn one_line(sql: &str) -> String {
        sql.split_whitespace().collect::<Vec<_>>().join(" ").replace("( ", "(")
    }

    #[test]
    fn the_states_mirror_the_migrations_check_lists() {
        let store = one_line(include_str!("../../migrations/2026-11-28-000001_create_store/up.sql"));
        let pipeline = one_line(include_str!("../../migrations/2026-11-28-000003_send_pipeline/up.sql"));
        let queue = check_list(QueueState::ALL.map(QueueState::as_str));
        let envelope = check_list(EnvelopeState::ALL.map(EnvelopeState::as_str));
        let document = check_list(DocState::ALL.map(DocState::as_str));
        assert!(store.contains(&queue), "{queue}");
        assert!(pipeline.contains(&envelope), "{envelope}");
        assert!(pipeline.contains(&document), "{document}");
        for state in QueueState::ALL {
            assert_eq!(QueueState::parse(state.as_str()), Some(state));
        }
        for state in EnvelopeState::ALL {
            assert_eq!(EnvelopeState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn queue_entries_close_once_and_come_back_only_by_requeue() {
        use QueueState::*;
        assert!(Pending.may_become(Retrying) && Retrying.may_become(Pending));
        assert!(Retrying.may_become(Abandoned) && Abandoned.may_become(Pending));
        for to in QueueState::ALL {
            assert!(!Success.may_become(to), "success is final: {to}");
        }
        assert!(!Abandoned.may_become(Retrying) && !Abandoned.may_become(Success));
        assert_eq!(QueueState::ALL.into_iter().filter(|s| s.is_open()).collect::<Vec<_>>(), QueueState::OPEN);
    }

    #[test]
    fn envelopes_are_decided_once() {
        use EnvelopeState::*;
        assert!(Created.may_become(Uploaded) && Uploaded.may_become(Processed) && Uploaded.may_become(Rejected));
        assert!(Failed.may_become(Uploaded), "a refused envelope may be uploaded again");
        for state in [Processed, Rejected] {
            assert!(state.is_final());
            for to in EnvelopeState::ALL {
                assert!(!state.may_become(to), "{state} is decided");
            }
        }
        assert!(!Created.may_become(Processed), "a verdict needs an upload");
        let reached: Vec<_> = EnvelopeState::ALL.into_iter().filter(|s| s.reached_sii()).collect();
        assert_eq!(reached, [Uploaded, Processed, Rejected]);
    }

    #[test]
    fn the_sources_of_a_move_are_the_states_that_may_make_it() {
        assert_eq!(QueueState::sources(QueueState::Retrying), [QueueState::Pending]);
        assert_eq!(QueueState::sources(QueueState::Success), QueueState::OPEN);
        assert_eq!(EnvelopeState::sources(EnvelopeState::Processed), [EnvelopeState::Uploaded]);
        assert_eq!(
            EnvelopeState::sources(EnvelopeState::Uploaded),
            [EnvelopeState::Created, EnvelopeState::Uploaded, EnvelopeState::Failed]
        );
        assert_eq!(DocState::sources(DocState::Sent), [DocState::Sending, DocState::Failed, DocState::Abandoned]);
        for to in EnvelopeState::ALL {
            assert!(EnvelopeState::sources(to).iter().all(|s| !s.is_final()), "nothing leaves a verdict: {to}");
        }
    }
}
