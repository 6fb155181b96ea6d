//! What the simulated SII remembers: seeds, tokens, uploads and every document that
//! arrived, so a test can ask how many times a folio reached it.

use std::collections::{BTreeMap, HashMap};

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::sii::Verdict;

/// How a document fares when the upload is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Accept,
    Reject,
    Objected,
}

/// A document as the SII received it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DocumentKey {
    pub issuer_rut: String,
    pub dte_type: u16,
    pub folio: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReceivedDocument {
    pub key: DocumentKey,
    pub total: Option<i64>,
    pub verdict: Verdict,
    /// Why it was rejected, when it was.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Upload {
    pub track_id: String,
    pub company_rut: String,
    pub sender_rut: String,
    pub received_at: Timestamp,
    pub documents: Vec<ReceivedDocument>,
}

/// Arrivals of one document (every upload that carried it).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Arrivals {
    pub count: u32,
    pub track_ids: Vec<String>,
    /// The verdict that stands: the first one that was not a rejection.
    pub standing: Option<Verdict>,
    pub total: Option<i64>,
}

#[derive(Debug, Default)]
pub struct SiiState {
    seeds: HashMap<String, Timestamp>,
    tokens: HashMap<String, (String, Timestamp)>,
    uploads: BTreeMap<String, Upload>,
    envelopes: HashMap<String, String>,
    arrivals: BTreeMap<DocumentKey, Arrivals>,
    scripted: HashMap<DocumentKey, Outcome>,
    next_number: u64,
}

impl SiiState {
    fn next(&mut self) -> u64 {
        self.next_number += 1;
        self.next_number
    }

    pub fn new_seed(&mut self, now: Timestamp) -> String {
        let seed = format!("{:012}", 100_000_000_000 + self.next() * 7919 % 899_999_999_999);
        self.seeds.insert(seed.clone(), now);
        seed
    }

    /// Consumes a seed issued less than `ttl` ago.
    pub fn take_seed(&mut self, seed: &str, now: Timestamp, ttl: TimeDelta) -> bool {
        matches!(self.seeds.remove(seed), Some(issued) if now - issued <= ttl)
    }

    pub fn new_token(&mut self, rut: &str, now: Timestamp) -> String {
        let token = format!("SIM{:010X}{:06X}", rand::random::<u32>(), self.next());
        self.tokens.insert(token.clone(), (rut.to_string(), now));
        token
    }

    /// The RUT a token was issued to, while it is valid.
    pub fn token_owner(&self, token: &str, now: Timestamp, ttl: TimeDelta) -> Option<&str> {
        self.tokens.get(token).filter(|(_, issued)| now - *issued <= ttl).map(|(rut, _)| rut.as_str())
    }

    pub fn expire_tokens(&mut self) {
        self.tokens.clear();
    }

    /// The track id of an identical envelope received before.
    pub fn earlier_envelope(&self, sha256: &str) -> Option<&str> {
        self.envelopes.get(sha256).map(String::as_str)
    }

    pub fn script(&mut self, key: DocumentKey, outcome: Outcome) {
        self.scripted.insert(key, outcome);
    }

    /// Records an accepted upload; each document gets its verdict now (revealed by
    /// getEstUp once processing time has passed). A folio that already stands is
    /// rejected as a repeat, as the SII does.
    pub fn receive(
        &mut self,
        sha256: String,
        company_rut: &str,
        sender_rut: &str,
        now: Timestamp,
        documents: Vec<(DocumentKey, Option<i64>, Option<String>)>,
        default_outcome: Outcome,
    ) -> String {
        let track_id = format!("{:010}", 5_000_000 + self.next());
        let mut received = Vec::with_capacity(documents.len());
        for (key, total, broken) in documents {
            let arrivals = self.arrivals.entry(key.clone()).or_default();
            arrivals.count += 1;
            arrivals.track_ids.push(track_id.clone());
            let (verdict, reason) = if let Some(reason) = broken {
                (Verdict::Rejected, Some(reason))
            } else if arrivals.standing.is_some() {
                (Verdict::Rejected, Some("DTE repetido: el folio ya fue recibido".to_string()))
            } else {
                match self.scripted.get(&key).copied().unwrap_or(default_outcome) {
                    Outcome::Accept => (Verdict::Accepted, None),
                    Outcome::Objected => (Verdict::AcceptedWithObjections, None),
                    Outcome::Reject => (Verdict::Rejected, Some("rechazado según guion de prueba".to_string())),
                }
            };
            if verdict != Verdict::Rejected && arrivals.standing.is_none() {
                arrivals.standing = Some(verdict);
                arrivals.total = total;
            }
            received.push(ReceivedDocument { key, total, verdict, reason });
        }
        self.envelopes.insert(sha256, track_id.clone());
        self.uploads.insert(
            track_id.clone(),
            Upload {
                track_id: track_id.clone(),
                company_rut: company_rut.to_string(),
                sender_rut: sender_rut.to_string(),
                received_at: now,
                documents: received,
            },
        );
        track_id
    }

    pub fn upload(&self, track_id: &str) -> Option<&Upload> {
        self.uploads.get(track_id)
    }

    pub fn uploads(&self) -> impl Iterator<Item = &Upload> {
        self.uploads.values()
    }

    pub fn arrivals(&self) -> &BTreeMap<DocumentKey, Arrivals> {
        &self.arrivals
    }

    pub fn arrivals_of(&self, key: &DocumentKey) -> Option<&Arrivals> {
        self.arrivals.get(key)
    }

    pub fn reset(&mut self) {
        *self = Self::default();
    }
}
