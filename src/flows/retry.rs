//! Retries from the queue: due ones (a job at `next_retry_date`, or the sweep), and the
//! manual actions — retry now, abandon, requeue — which are written to the audit log.
//!
//! A retry claims its entry (and every open entry travelling in the same envelope) by
//! moving it to `retrying` in one statement, so two workers never retry the same entry.
//! An entry whose document or envelope already reached the SII is closed instead: nothing
//! that reached the SII is uploaded again by a retry. The entries are written by
//! [`crate::owners::failed_queue`], their envelopes by [`crate::owners::envelope`].

use std::sync::Arc;

use diesel::prelude::*;
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::{json, Value};

use super::send;
use super::upload::{self, Uploaded};
use crate::clock::Timestamp;
use crate::context::AppContext;
use crate::dte::{SignedDte, Signer};
use crate::error::{AppError, AppResult};
use crate::keys::{engine_error, Keys};
use crate::message::Message;
use crate::owners::audit::{self, Actor, Entry};
use crate::owners::document::{self, Change, DocState};
use crate::owners::failed_queue::{self, Subject};
use crate::owners::{company, envelope};
use crate::store::models::{Company, EnvelopeRow, FailedEntry};
use crate::store::schema::dte_sidecar::{dte_document, dte_envelope, dte_failed_queue};
use crate::store::state::QueueState;

/// What a retry came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retried {
    /// The entry was not waiting (already retried, succeeded, abandoned, or not due).
    NotDue,
    /// Its document had already reached the SII; the entry was closed.
    AlreadyDone,
    Uploaded(Uploaded),
}

/// Retries one entry: when due, or at once when `manual`.
pub async fn retry_entry(ctx: &AppContext, entry_id: i32, manual: bool) -> AppResult<Retried> {
    let now = ctx.clock.now();
    let keys = Arc::clone(&ctx.keys);
    let lease = chrono::TimeDelta::seconds(ctx.settings.jobs.upload_lease_secs);
    let claim_now = || {
        let keys = Arc::clone(&keys);
        ctx.db.run(move |conn| conn.transaction(|conn| claim(conn, &keys, entry_id, manual, now, lease)))
    };
    let mut claimed = claim_now().await?;
    if let Claim::Wrap(to_wrap) = claimed {
        wrap(ctx, *to_wrap).await?;
        claimed = claim_now().await?;
    }
    let retried = match claimed {
        Claim::Nothing | Claim::Wrap(_) => return Ok(Retried::NotDue),
        Claim::Done => Retried::AlreadyDone,
        Claim::Envelope(envelope_id) => Retried::Uploaded(upload::upload_envelope(ctx, envelope_id, "retry").await?),
    };
    // The retry success rate just changed: its alert is raised or resolved now, not at the
    // next hourly check (an alert whose condition ended must not stay open).
    let now = ctx.clock.now();
    ctx.db
        .run(move |conn| {
            let company: Option<i32> =
                dte_failed_queue::table.find(entry_id).select(dte_failed_queue::company_id).first(conn).optional()?;
            match company {
                Some(company) => super::alert_checks::check_retry_rate(conn, company, now).map(|_| ()),
                None => Ok(()),
            }
        })
        .await?;
    Ok(retried)
}

/// Entries handled by one `retry_due` call (the specification's cron takes 100).
const DUE_BATCH: i64 = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DueParams {
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `retry_due`: retries, now, the pending entries whose next retry has come (of the
/// caller's companies), oldest first — what the sweep does on its own schedule, for
/// Odoo's "Run Now". Entries not due are not touched. Answers what it did.
pub async fn retry_due(ctx: &AppContext, actor: Actor, p: DueParams) -> AppResult<Value> {
    let limit = match p.limit {
        None => DUE_BATCH,
        Some(n) if (1..=DUE_BATCH).contains(&n) => n,
        Some(_) => return Err(AppError::validation(Message::out_of_range("limit", 1, DUE_BATCH))),
    };
    let now = ctx.clock.now();
    let companies = actor.companies.clone();
    let due = ctx.db.run(move |conn| due_entries(conn, now, companies.as_deref(), limit)).await?;
    let (mut retried, mut succeeded, mut failed, mut abandoned) = (0, 0, 0, 0);
    for id in &due {
        let id = *id;
        if retry_entry(ctx, id, false).await? == Retried::NotDue {
            continue; // taken meanwhile by the sidecar's own job or another replica
        }
        retried += 1;
        let state: String = ctx
            .db
            .run(move |conn| Ok(dte_failed_queue::table.find(id).select(dte_failed_queue::state).first(conn)?))
            .await?;
        match QueueState::parse(&state) {
            Some(QueueState::Success) => succeeded += 1,
            Some(QueueState::Abandoned) => abandoned += 1,
            Some(QueueState::Pending | QueueState::Retrying) => failed += 1,
            None => tracing::error!(entry = id, state = %state, "queue entry in an unknown state: not counted"),
        }
    }
    tracing::info!(due = due.len(), retried, succeeded, failed, abandoned, "due retries run on request");
    Ok(json!({
        "due": due.len(),
        "retried": retried,
        "succeeded": succeeded,
        "failed": failed,
        "abandoned": abandoned,
        "ids": due,
    }))
}

/// The pending entries whose next retry has come, oldest first (then by id), at most
/// `limit`, of `companies` when given: what `retry_due` and the sweep take. Served by the
/// partial index `idx_failed_queue_due`, which carries the company, so a company's due
/// entries are found without reading the rows of the others.
pub fn due_entries(
    conn: &mut PgConnection,
    now: Timestamp,
    companies: Option<&[i64]>,
    limit: i64,
) -> AppResult<Vec<i32>> {
    let mut query = dte_failed_queue::table
        .filter(dte_failed_queue::state.eq(QueueState::Pending))
        .filter(dte_failed_queue::next_retry_date.le(now))
        .into_boxed();
    if let Some(ids) = companies {
        let ids: Vec<i32> = ids.iter().filter_map(|id| i32::try_from(*id).ok()).collect();
        query = query.filter(dte_failed_queue::company_id.eq_any(ids));
    }
    Ok(query
        .order((dte_failed_queue::next_retry_date.asc(), dte_failed_queue::id.asc()))
        .limit(limit)
        .select(dte_failed_queue::id)
        .load(conn)?)
}

/// When a pending entry is due, if it is.
pub async fn pending_due_date(ctx: &AppContext, entry_id: i32) -> AppResult<Option<Timestamp>> {
    ctx.db
        .run(move |conn| {
            Ok(dte_failed_queue::table
                .find(entry_id)
                .filter(dte_failed_queue::state.eq(QueueState::Pending))
                .select(dte_failed_queue::next_retry_date)
                .first::<Option<Timestamp>>(conn)
                .optional()?
                .flatten())
        })
        .await
}

enum Claim {
    Nothing,
    Done,
    Envelope(i32),
    /// The entry has no envelope yet: its XML is to be wrapped first.
    Wrap(Box<Wrap>),
}

struct Wrap {
    entry_id: i32,
    xml: Vec<u8>,
    company: Company,
    signer: Arc<Signer>,
}

/// Reads the entry's stored XML and signs its envelope, with no connection held; then
/// attaches the envelope unless another worker did meanwhile. An XML that cannot be sent
/// as it is stays for a person, retried no more.
async fn wrap(ctx: &AppContext, wrap: Wrap) -> AppResult<()> {
    let (keys, now) = (Arc::clone(&ctx.keys), ctx.clock.now());
    let Wrap { entry_id, xml, company, signer } = wrap;
    let built = tokio::task::spawn_blocking(move || match SignedDte::from_xml(xml) {
        Ok(signed) => match send::envelope_xml(&keys, &signer, &company, &[signed], now) {
            Ok(xml) => Ok(Ok((company, xml))),
            // The envelope around it is refused (its schema, its issuer): no retry can
            // change that, so it waits for a person like any permanent refusal.
            Err(e @ (AppError::Validation(_) | AppError::User(_))) => Ok(Err(Message::xml_unusable(e.to_string()))),
            Err(e) => Err(e),
        },
        Err(e) => Ok(Err(Message::xml_unusable(engine_error("xml_content", e).to_string()))),
    })
    .await
    .map_err(|e| AppError::internal(anyhow::anyhow!("envelope task failed: {e}")))??;
    ctx.db
        .run(move |conn| {
            conn.transaction(|conn| {
                let Some(entry) = dte_failed_queue::table
                    .find(entry_id)
                    .filter(dte_failed_queue::envelope_id.is_null())
                    .select(FailedEntry::as_select())
                    .for_update()
                    .first(conn)
                    .optional()?
                else {
                    return Ok(());
                };
                match built {
                    Ok((company, xml)) => {
                        let id = envelope::insert(conn, company.id, &xml, 1, now)?;
                        failed_queue::attach_envelope(conn, entry.id, id)
                    }
                    Err(message) => failed_queue::mark_unsendable(conn, &entry, &message, now),
                }
            })
        })
        .await
}

fn claim(
    conn: &mut PgConnection,
    keys: &Keys,
    entry_id: i32,
    manual: bool,
    now: Timestamp,
    lease: chrono::TimeDelta,
) -> AppResult<Claim> {
    // The envelope first (see `envelope::lock`): two claims of entries travelling in one
    // envelope, or a claim and the record of that envelope's upload, would otherwise lock
    // the same entries in opposite orders.
    let Some(envelope_of) =
        dte_failed_queue::table.find(entry_id).select(dte_failed_queue::envelope_id).first(conn).optional()?
    else {
        return Ok(Claim::Nothing);
    };
    if let Some(envelope_id) = envelope_of {
        envelope::lock(conn, envelope_id)?;
    }
    let Some(entry) =
        dte_failed_queue::table.find(entry_id).select(FailedEntry::as_select()).for_update().first(conn).optional()?
    else {
        return Ok(Claim::Nothing);
    };
    if entry.envelope_id != envelope_of {
        // Wrapped by another worker meanwhile: that worker claims it.
        return Ok(Claim::Nothing);
    }
    let due = entry.next_retry_date.is_some_and(|at| at <= now);
    if entry.state != QueueState::Pending || !(manual || due) {
        return Ok(Claim::Nothing);
    }
    if let Some(document_id) = entry.document_id {
        let doc = document::get(conn, document_id)?;
        if doc.state.reached_sii() {
            failed_queue::close_with_success(conn, Subject::Document(doc.id), doc.track_id.as_deref(), now)?;
            return Ok(Claim::Done);
        }
    }
    if let (None, Some(envelope_id)) = (entry.document_id, entry.envelope_id) {
        // An entry queued without a document of ours (requeued by a person, say) whose
        // envelope the SII already has: what travelled in it reached the SII, as a document
        // that did (above); the entry is closed and nothing is uploaded.
        let envelope: EnvelopeRow =
            dte_envelope::table.find(envelope_id).select(EnvelopeRow::as_select()).first(conn)?;
        if envelope::state_of(&envelope)?.reached_sii() {
            tracing::info!(
                entry = entry.id,
                envelope = envelope_id,
                state = %envelope.state,
                "the SII has the envelope: entry closed, nothing uploaded"
            );
            failed_queue::close_with_success(conn, Subject::Entry(entry.id), envelope.track_id.as_deref(), now)?;
            return Ok(Claim::Done);
        }
    }
    let Some(envelope_id) = entry.envelope_id else {
        // Queued over RPC with only its signed XML: it is wrapped in an envelope once, with
        // no connection held (see `wrap`), and every retry then sends the same bytes.
        let company = company::require(conn, entry.company_id)?;
        let signer = keys.signer(conn, company.id)?;
        return Ok(Claim::Wrap(Box::new(Wrap { entry_id: entry.id, xml: entry.xml_content, company, signer })));
    };
    let claimed = failed_queue::claim_for_retry(conn, entry.id, envelope_id, now)?;
    tracing::info!(entry = entry.id, envelope = envelope_id, claimed, manual, "retrying");
    let riders: Vec<i32> = dte_document::table
        .filter(dte_document::envelope_id.eq(envelope_id))
        .filter(dte_document::state.eq(DocState::Failed.as_str()))
        .select(dte_document::id)
        .load(conn)?;
    for doc in riders {
        document::transition(
            conn,
            doc,
            DocState::Sending,
            if manual { "retry requested" } else { "scheduled retry" },
            Change { lease_until: Some(Some(now + lease)), ..Change::default() },
            now,
        )?;
    }
    Ok(Claim::Envelope(envelope_id))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdsParams {
    pub ids: Vec<i32>,
    #[serde(default)]
    pub reason: Option<String>,
}

fn entry_or_missing(conn: &mut PgConnection, id: i32, actor: &Actor) -> AppResult<FailedEntry> {
    dte_failed_queue::table
        .find(id)
        .select(FailedEntry::as_select())
        .first(conn)
        .optional()?
        .filter(|entry| actor.may_act_for(entry.company_id))
        .ok_or_else(|| AppError::missing_record("dte.failed.queue", id))
}

/// `retry_send`: retries the entries now. One result per id.
pub async fn retry_send(ctx: &AppContext, actor: Actor, p: IdsParams) -> AppResult<Value> {
    if p.ids.is_empty() {
        return Err(AppError::validation(Message::queue_no_entries()));
    }
    let ids = p.ids.clone();
    let reader = actor.clone();
    let entries = ctx
        .db
        .run(move |conn| ids.iter().map(|id| entry_or_missing(conn, *id, &reader)).collect::<AppResult<Vec<_>>>())
        .await?;
    let mut results = Vec::with_capacity(entries.len());
    for entry in entries {
        if entry.state != QueueState::Pending {
            return Err(AppError::user(Message::queue_retry_not_pending(entry.id, entry.state.as_str())));
        }
        let now = ctx.clock.now();
        let (id, company_id) = (entry.id, entry.company_id);
        let actor = actor.clone();
        ctx.db
            .run(move |conn| {
                audit::record(
                    conn,
                    now,
                    &actor,
                    Entry {
                        action: "failed_queue.retry_now",
                        company_id: Some(company_id),
                        target_model: Some("dte.failed.queue"),
                        target_id: Some(id),
                        details: json!({}),
                    },
                )
            })
            .await?;
        let outcome = retry_entry(ctx, entry.id, true).await?;
        let after = ctx.db.run(move |conn| entry_or_missing(conn, id, &Actor::system())).await?;
        let success = matches!(outcome, Retried::AlreadyDone | Retried::Uploaded(Uploaded::Received { .. }))
            || after.state == QueueState::Success;
        results.push(json!({
            "id": after.id,
            "success": success,
            "state": after.state,
            "track_id": after.success_track_id.map_or(Value::Bool(false), Value::from),
            "message": if success { "sent to the SII".to_string() } else { after.error_message },
        }));
    }
    Ok(Value::Array(results))
}

/// What a person's action on a queue entry does besides the entry: its document's move,
/// and the audit entry.
struct PersonAct {
    document_to: DocState,
    reason: &'static str,
    action: &'static str,
    details: Value,
}

impl PersonAct {
    fn record(self, conn: &mut PgConnection, entry: &FailedEntry, actor: &Actor, now: Timestamp) -> AppResult<()> {
        if let Some(doc) = entry.document_id {
            document::transition(conn, doc, self.document_to, self.reason, Change::default(), now)?;
        }
        audit::record(
            conn,
            now,
            actor,
            Entry {
                action: self.action,
                company_id: Some(entry.company_id),
                target_model: Some("dte.failed.queue"),
                target_id: Some(entry.id),
                details: self.details,
            },
        )?;
        Ok(())
    }
}

/// `abandon`: a person gives up on entries; their documents are marked abandoned.
pub async fn abandon(ctx: &AppContext, actor: Actor, p: IdsParams) -> AppResult<Value> {
    let now = ctx.clock.now();
    ctx.db
        .run(move |conn| {
            conn.transaction(|conn| {
                for id in &p.ids {
                    let entry = entry_or_missing(conn, *id, &actor)?;
                    failed_queue::abandon(conn, &entry, &actor.name, p.reason.as_deref(), now)?;
                    let act = PersonAct {
                        document_to: DocState::Abandoned,
                        reason: "abandoned by a person",
                        action: "failed_queue.abandon",
                        details: json!({"reason": p.reason}),
                    };
                    act.record(conn, &entry, &actor, now)?;
                }
                Ok(json!(true))
            })
        })
        .await
}

/// `requeue`: an abandoned entry gets a fresh set of retries, the first one now.
pub async fn requeue(ctx: &AppContext, actor: Actor, p: IdsParams) -> AppResult<Value> {
    let now = ctx.clock.now();
    let due = ctx
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                let mut due = Vec::new();
                for id in &p.ids {
                    let entry = entry_or_missing(conn, *id, &actor)?;
                    failed_queue::requeue(conn, &entry, &actor.name, now)?;
                    let act = PersonAct {
                        document_to: DocState::Failed,
                        reason: "requeued by a person",
                        action: "failed_queue.requeue",
                        details: json!({}),
                    };
                    act.record(conn, &entry, &actor, now)?;
                    due.push((*id, now));
                }
                Ok(due)
            })
        })
        .await?;
    ctx.follow_up_retries(&due).await;
    Ok(json!(true))
}
