//! The reference the send benches are read against: the same PostgreSQL, over the same
//! URL (and so the same TLS), doing only the writes an issued document cannot do without,
//! with the same number of calls in flight, in the same run. No XML is built, nothing is
//! signed, no HTTP, no SII: whatever the sidecar adds shows as the distance to this.
//!
//! What is kept, and why each write is needed:
//! - the folio drawn and reserved with the request, committed before signing (a folio is
//!   never lost, and the signing happens outside the CAF row's lock);
//! - the reservation ended and the document (and, when sent, its envelope) stored with an
//!   audit entry, committed before any byte goes out (write before send);
//! - when sent, the SII's answer recorded with the document's backup: the envelope's track
//!   id, the document's state, the transition and the backup's copy of the XML.
//!
//! Left out, as the product's own choices rather than needs: the copy of the backup to the
//! archive, the contingency queue's own row, the counters kept for the dashboards.

#![allow(dead_code)] // Each bench uses the part for its own fate.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::{Array, BigInt, Binary, Int4, Nullable, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl};

/// The documents' fate: what the store must keep of them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Uploaded in envelopes of this many documents, and the answer recorded.
    Sent { per_envelope: usize },
    /// Kept for later, in contingency: no envelope, no answer.
    Held,
}

impl Fate {
    /// Round trips per document, `BEGIN` and `COMMIT` included.
    pub fn statements(self) -> f64 {
        match self {
            Fate::Sent { per_envelope } => 4.0 + 13.0 / per_envelope.max(1) as f64,
            Fate::Held => 4.0 + 6.0,
        }
    }

    /// Documents stored in one transaction.
    pub fn per_store(self) -> usize {
        match self {
            Fate::Sent { per_envelope } => per_envelope.max(1),
            Fate::Held => 1,
        }
    }
}

/// What the reference reached.
pub struct Reached {
    pub per_second: f64,
    pub p99: Duration,
}

/// The XML sizes the reference writes, read off the documents the bench itself issued.
pub struct Payload {
    pub document: Vec<u8>,
    pub envelope: Vec<u8>,
    pub request: String,
}

impl Payload {
    /// The latest document issued in the database at `url`, with its envelope if it has one.
    pub fn latest(url: &str) -> Self {
        #[derive(QueryableByName)]
        struct Latest {
            #[diesel(sql_type = Binary)]
            document: Vec<u8>,
            #[diesel(sql_type = Binary)]
            envelope: Vec<u8>,
            #[diesel(sql_type = Text)]
            request: String,
        }
        let mut conn = PgConnection::establish(url).expect("bench database");
        let latest: Latest = diesel::sql_query(
            "SELECT d.xml_content AS document, COALESCE(e.xml_content, ''::bytea) AS envelope, d.request \
             FROM dte_sidecar.dte_document d LEFT JOIN dte_sidecar.dte_envelope e ON e.id = d.envelope_id \
             ORDER BY d.id DESC LIMIT 1",
        )
        .get_result(&mut conn)
        .expect("an issued document");
        Self { document: latest.document, envelope: latest.envelope, request: latest.request }
    }
}

const TABLES: &str = "
    DROP SCHEMA IF EXISTS floor CASCADE;
    CREATE SCHEMA floor;
    CREATE TABLE floor.caf (id int PRIMARY KEY, next_folio bigint NOT NULL);
    INSERT INTO floor.caf VALUES (1, 1);
    CREATE TABLE floor.reservation (id serial PRIMARY KEY, move_id int UNIQUE, folio bigint NOT NULL,
        request text, holder bigint NOT NULL);
    CREATE TABLE floor.envelope (id serial PRIMARY KEY, xml bytea NOT NULL, track_id text,
        created_at timestamp NOT NULL DEFAULT now());
    CREATE TABLE floor.document (id serial PRIMARY KEY, move_id int NOT NULL UNIQUE,
        folio bigint NOT NULL UNIQUE, xml bytea NOT NULL, request bytea NOT NULL, state text NOT NULL,
        envelope_id int REFERENCES floor.envelope (id), created_at timestamp NOT NULL DEFAULT now());
    CREATE INDEX ON floor.document (state);
    CREATE TABLE floor.transition (id serial PRIMARY KEY, document_id int NOT NULL, state text NOT NULL,
        at timestamp NOT NULL DEFAULT now());
    CREATE TABLE floor.backup (id serial PRIMARY KEY, document_id int NOT NULL, xml bytea NOT NULL,
        track_id text NOT NULL, sent_at timestamp NOT NULL DEFAULT now());
    CREATE TABLE floor.audit (id serial PRIMARY KEY, action text NOT NULL, details jsonb NOT NULL,
        at timestamp NOT NULL DEFAULT now());";

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Int4)]
    id: i32,
}

#[derive(QueryableByName)]
struct Drawn {
    #[diesel(sql_type = Int4)]
    id: i32,
    #[diesel(sql_type = BigInt)]
    folio: i64,
}

/// [`measure`] on a thread of its own, with the latest document of the database at `url`
/// as its payload, while the caller's runtime goes on serving (its clients' connections
/// stay open).
pub async fn measure_aside(url: &str, fate: Fate, documents: i32, in_flight: usize) -> Reached {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || measure(&url, fate, documents, in_flight, &Payload::latest(&url)))
        .await
        .expect("the reference's thread")
}

/// Issues `documents` through the reference's writes on `in_flight` connections of their
/// own, in a schema of its own in the database at `url`, and drops that schema after.
pub fn measure(url: &str, fate: Fate, documents: i32, in_flight: usize, payload: &Payload) -> Reached {
    let mut setup = PgConnection::establish(url).expect("reference connection");
    setup.batch_execute(TABLES).expect("reference tables");
    let next_move = AtomicI32::new(1);
    let per_store = fate.per_store();
    let started = Instant::now();
    let mut latencies: Vec<Duration> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..in_flight)
            .map(|_| {
                scope.spawn(|| {
                    let mut conn = PgConnection::establish(url).expect("reference connection");
                    let mut taken = Vec::new();
                    loop {
                        let first = next_move.fetch_add(per_store as i32, Ordering::Relaxed);
                        let moves: Vec<i32> = (first..first + per_store as i32).filter(|m| *m <= documents).collect();
                        if moves.is_empty() {
                            return taken;
                        }
                        let began = Instant::now();
                        issue(&mut conn, fate, &moves, payload);
                        // Each document of the envelope waited for all of it.
                        taken.extend(std::iter::repeat_n(began.elapsed(), moves.len()));
                    }
                })
            })
            .collect();
        workers.into_iter().flat_map(|worker| worker.join().expect("reference worker")).collect()
    });
    let elapsed = started.elapsed();
    let stored: i64 = diesel::select(diesel::dsl::sql::<BigInt>("(SELECT count(*) FROM floor.document)"))
        .get_result(&mut setup)
        .expect("count");
    assert_eq!(stored, i64::from(documents), "the reference lost documents");
    setup.batch_execute("DROP SCHEMA floor CASCADE").expect("drop reference tables");
    latencies.sort();
    let p99 = latencies[((latencies.len() as f64 * 0.99) as usize).min(latencies.len() - 1)];
    Reached { per_second: f64::from(documents) / elapsed.as_secs_f64(), p99 }
}

/// One envelope's documents (one document when held): each folio reserved in its own
/// transaction, then all stored in one, then the answer recorded in one.
fn issue(conn: &mut PgConnection, fate: Fate, moves: &[i32], payload: &Payload) {
    let drawn: Vec<(i32, Drawn)> = moves.iter().map(|&move_id| (move_id, reserve(conn, move_id, payload))).collect();
    let move_ids: Vec<i32> = drawn.iter().map(|(m, _)| *m).collect();
    let reservations: Vec<i32> = drawn.iter().map(|(_, d)| d.id).collect();
    let holders: Vec<i64> = move_ids.iter().map(|m| holder(*m)).collect();
    let folios: Vec<i64> = drawn.iter().map(|(_, d)| d.folio).collect();
    let state = if fate == Fate::Held { "contingency" } else { "sending" };
    let stored = conn
        .transaction(|conn| {
            diesel::sql_query("SELECT pg_advisory_xact_lock(1, m) FROM unnest($1::int4[]) AS m ORDER BY m")
                .bind::<Array<Int4>, _>(&move_ids)
                .execute(conn)?;
            let ended = diesel::sql_query(
                "DELETE FROM floor.reservation r USING unnest($1::int4[], $2::int8[]) AS mine (id, holder) \
                 WHERE r.id = mine.id AND r.holder = mine.holder",
            )
            .bind::<Array<Int4>, _>(&reservations)
            .bind::<Array<BigInt>, _>(&holders)
            .execute(conn)?;
            assert_eq!(ended, moves.len(), "the reference's reservations were not its own");
            let envelope = match fate {
                Fate::Held => None,
                Fate::Sent { .. } => Some(
                    diesel::sql_query("INSERT INTO floor.envelope (xml) VALUES ($1) RETURNING id")
                        .bind::<Binary, _>(&payload.envelope)
                        .get_result::<Id>(conn)?
                        .id,
                ),
            };
            let documents: Vec<Id> = diesel::sql_query(
                "INSERT INTO floor.document (move_id, folio, xml, request, state, envelope_id) \
                 SELECT m, f, $3, $4, $5, $6 FROM unnest($1::int4[], $2::int8[]) AS issued (m, f) RETURNING id",
            )
            .bind::<Array<Int4>, _>(&move_ids)
            .bind::<Array<BigInt>, _>(&folios)
            .bind::<Binary, _>(&payload.document)
            .bind::<Binary, _>(payload.request.as_bytes())
            .bind::<Text, _>(state)
            .bind::<Nullable<Int4>, _>(envelope)
            .load(conn)?;
            diesel::sql_query(
                "INSERT INTO floor.audit (action, details) SELECT 'document.send', \
                 jsonb_build_object('move_id', m, 'folio', f) FROM unnest($1::int4[], $2::int8[]) AS issued (m, f)",
            )
            .bind::<Array<Int4>, _>(&move_ids)
            .bind::<Array<BigInt>, _>(&folios)
            .execute(conn)?;
            Ok::<_, diesel::result::Error>((envelope, documents.into_iter().map(|d| d.id).collect::<Vec<i32>>()))
        })
        .expect("reference store");
    let (Some(envelope_id), documents) = stored else { return };
    let track_id = format!("T{envelope_id}");
    conn.transaction(|conn| {
        diesel::sql_query("UPDATE floor.envelope SET track_id = $2 WHERE id = $1")
            .bind::<Int4, _>(envelope_id)
            .bind::<Text, _>(&track_id)
            .execute(conn)?;
        diesel::sql_query("UPDATE floor.document SET state = 'sent' WHERE id = ANY($1)")
            .bind::<Array<Int4>, _>(&documents)
            .execute(conn)?;
        diesel::sql_query(
            "INSERT INTO floor.transition (document_id, state) SELECT d, 'sent' FROM unnest($1::int4[]) AS d",
        )
        .bind::<Array<Int4>, _>(&documents)
        .execute(conn)?;
        diesel::sql_query(
            "INSERT INTO floor.backup (document_id, xml, track_id) SELECT d, $2, $3 FROM unnest($1::int4[]) AS d",
        )
        .bind::<Array<Int4>, _>(&documents)
        .bind::<Binary, _>(&payload.document)
        .bind::<Text, _>(&track_id)
        .execute(conn)
    })
    .expect("reference outcome");
}

fn holder(move_id: i32) -> i64 {
    i64::from(move_id) * 7919
}

/// The folio drawn and reserved, committed without waiting for the WAL flush, as the
/// sidecar's reservation is.
fn reserve(conn: &mut PgConnection, move_id: i32, payload: &Payload) -> Drawn {
    conn.transaction(|conn| {
        diesel::sql_query("SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(1, $1)")
            .bind::<Int4, _>(move_id)
            .execute(conn)?;
        diesel::sql_query(
            "WITH drawn AS (UPDATE floor.caf SET next_folio = next_folio + 1 WHERE id = 1 \
               RETURNING next_folio - 1 AS folio) \
             INSERT INTO floor.reservation (move_id, folio, request, holder) \
             SELECT $1, folio, $2, $3 FROM drawn RETURNING id, folio",
        )
        .bind::<Int4, _>(move_id)
        .bind::<Text, _>(&payload.request)
        .bind::<BigInt, _>(holder(move_id))
        .get_result(conn)
    })
    .expect("reference reservation")
}
