//! The lifecycle columns' states, one type each, mirroring the migrations' `CHECK` lists,
//! with the moves each state allows.
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

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
