//! The maintained aggregates (see the migration `history_at_scale`): counts of documents
//! per company, type, state and day, of backups and their bytes per company, type and
//! day, the same without the day (what is read), of retry-queue entries per company,
//! state and whether they were retried, each
//! striped over slots so concurrent writers do not queue on one row. Triggers keep them in
//! the same transaction as the rows; this module reads them, recomputes them
//! from the rows to prove they agree (`dte-sidecar aggregates check`) and rebuilds them
//! (`dte-sidecar aggregates rebuild`).

use std::collections::BTreeMap;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Int4, Nullable, Text};
use diesel::PgConnection;

use crate::error::AppResult;

/// Each aggregate: its table, its key columns, its counted columns, and the same
/// computed from the rows.
const AGGREGATES: [(&str, &str, &str, &str); 5] = [
    (
        "dte_document_daily",
        "company_id, dte_type, state, day",
        "documents",
        "SELECT company_id, dte_type, state, created_at::date AS day, count(*) AS documents \
         FROM dte_sidecar.dte_document GROUP BY 1, 2, 3, 4",
    ),
    (
        "dte_backup_daily",
        "company_id, dte_type, day",
        "backups, bytes",
        "SELECT company_id, dte_type, sent_date::date AS day, count(*) AS backups, \
         sum(octet_length(xml_content))::bigint AS bytes FROM dte_sidecar.dte_backup GROUP BY 1, 2, 3",
    ),
    (
        "dte_document_totals",
        "company_id, dte_type, state",
        "documents",
        "SELECT company_id, dte_type, state, count(*) AS documents FROM dte_sidecar.dte_document GROUP BY 1, 2, 3",
    ),
    (
        "dte_backup_totals",
        "company_id, dte_type",
        "backups, bytes",
        "SELECT company_id, dte_type, count(*) AS backups, sum(octet_length(xml_content))::bigint AS bytes \
         FROM dte_sidecar.dte_backup GROUP BY 1, 2",
    ),
    (
        "dte_failed_queue_totals",
        "company_id, state, retried",
        "entries",
        "SELECT company_id, state, retry_count > 0 AS retried, count(*) AS entries \
         FROM dte_sidecar.dte_failed_queue GROUP BY 1, 2, 3",
    ),
];

#[derive(QueryableByName)]
struct Difference {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Where the aggregates and the rows disagree, one line each (empty: they agree). Reads
/// one snapshot, so writers running meanwhile cannot make a false difference.
pub fn differences(conn: &mut PgConnection) -> AppResult<Vec<String>> {
    conn.build_transaction().repeatable_read().read_only().run(|conn| {
        let mut out = Vec::new();
        for (table, key, counted, recount) in AGGREGATES {
            let keys: Vec<&str> = key.split(", ").collect();
            let values: Vec<&str> = counted.split(", ").collect();
            let join = keys.iter().map(|k| format!("a.{k} = r.{k}")).collect::<Vec<_>>().join(" AND ");
            let differ = values
                .iter()
                .map(|v| format!("COALESCE(a.{v}, 0) <> COALESCE(r.{v}, 0)"))
                .collect::<Vec<_>>()
                .join(" OR ");
            let shown_key =
                keys.iter().map(|k| format!("COALESCE(a.{k}, r.{k})::text")).collect::<Vec<_>>().join(" || '/' || ");
            let shown = values
                .iter()
                .map(|v| {
                    format!("'{v} ' || COALESCE(a.{v}, 0) || ' counted, ' || COALESCE(r.{v}, 0) || ' in the rows'")
                })
                .collect::<Vec<_>>()
                .join(" || '; ' || ");
            let sums = values.iter().map(|v| format!("sum({v})::bigint AS {v}")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "SELECT '{table} ' || {shown_key} || ': ' || {shown} AS line \
                 FROM (SELECT {key}, {sums} FROM dte_sidecar.{table} GROUP BY {key}) a \
                 FULL JOIN ({recount}) r ON {join} WHERE {differ} ORDER BY 1"
            );
            let found: Vec<Difference> = diesel::sql_query(sql).load(conn)?;
            out.extend(found.into_iter().map(|d| d.line));
        }
        Ok(out)
    })
}

/// Recomputes every aggregate from the rows, with writers held off meanwhile (they wait,
/// they do not fail). Returns the aggregate rows written.
pub fn rebuild(conn: &mut PgConnection) -> AppResult<usize> {
    conn.transaction(|conn| {
        conn.batch_execute(
            "LOCK TABLE dte_sidecar.dte_document, dte_sidecar.dte_backup, dte_sidecar.dte_failed_queue IN SHARE MODE",
        )?;
        let mut written = 0;
        for (table, key, counted, recount) in AGGREGATES {
            conn.batch_execute(&format!("DELETE FROM dte_sidecar.{table}"))?;
            let columns = counted.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ");
            let keys = key.split(", ").map(|k| format!("r.{k}")).collect::<Vec<_>>().join(", ");
            written += diesel::sql_query(format!(
                "INSERT INTO dte_sidecar.{table} ({key}, slot, {counted}) \
                 SELECT {keys}, 0, {columns} FROM ({recount}) r"
            ))
            .execute(conn)?;
        }
        Ok(written)
    })
}

/// Folds the stripes of days before `today` into one row per counter, so readers sum
/// few rows. The sweep calls it; it changes no total.
pub fn compact(conn: &mut PgConnection, today: chrono::NaiveDate) -> AppResult<i64> {
    #[derive(QueryableByName)]
    struct Folded {
        #[diesel(sql_type = BigInt)]
        folded: i64,
    }
    let row: Folded = diesel::sql_query("SELECT dte_sidecar.compact_aggregates($1) AS folded")
        .bind::<diesel::sql_types::Date, _>(today)
        .get_result(conn)?;
    Ok(row.folded)
}

/// A count by label, as the grouped queries over the sidecar's tables return it.
#[derive(QueryableByName)]
pub struct Labelled {
    #[diesel(sql_type = Text)]
    pub label: String,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

fn labelled(conn: &mut PgConnection, sql: &str, company: Option<i32>) -> AppResult<BTreeMap<String, i64>> {
    let rows: Vec<Labelled> = diesel::sql_query(sql).bind::<Nullable<Int4>, _>(company).load(conn)?;
    Ok(rows.into_iter().filter(|r| r.n != 0).map(|r| (r.label, r.n)).collect())
}

/// Documents per state, of one company or of all.
pub fn documents_by_state(conn: &mut PgConnection, company: Option<i32>) -> AppResult<BTreeMap<String, i64>> {
    labelled(
        conn,
        "SELECT state AS label, sum(documents)::bigint AS n FROM dte_sidecar.dte_document_totals \
         WHERE $1::int IS NULL OR company_id = $1 GROUP BY state",
        company,
    )
}

/// Retry-queue entries per state, of one company or of all.
pub fn queue_by_state(conn: &mut PgConnection, company: Option<i32>) -> AppResult<BTreeMap<String, i64>> {
    labelled(
        conn,
        "SELECT state AS label, sum(entries)::bigint AS n FROM dte_sidecar.dte_failed_queue_totals \
         WHERE $1::int IS NULL OR company_id = $1 GROUP BY state",
        company,
    )
}

/// Retry-queue entries retried at least once, per state, of one company.
pub fn retried_by_state(conn: &mut PgConnection, company: i32) -> AppResult<BTreeMap<String, i64>> {
    labelled(
        conn,
        "SELECT state AS label, sum(entries)::bigint AS n FROM dte_sidecar.dte_failed_queue_totals \
         WHERE company_id = $1 AND retried GROUP BY state",
        Some(company),
    )
}

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = BigInt)]
    backups: i64,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

/// Backups and the bytes of their XML, of one company.
pub fn backup_storage(conn: &mut PgConnection, company: i32) -> AppResult<(i64, i64)> {
    let s: Stored = diesel::sql_query(
        "SELECT COALESCE(sum(backups), 0)::bigint AS backups, COALESCE(sum(bytes), 0)::bigint AS bytes \
         FROM dte_sidecar.dte_backup_totals WHERE company_id = $1",
    )
    .bind::<Int4, _>(company)
    .get_result(conn)?;
    Ok((s.backups, s.bytes))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many rows a model's table holds (of the given companies), when an aggregate counts
/// them: what `search_count([])` answers without scanning.
pub fn total(conn: &mut PgConnection, table: &str, companies: Option<&[i64]>) -> AppResult<Option<i64>> {
    let (aggregate, column) = match table {
        "dte_backup" => ("dte_backup_totals", "backups"),
        "dte_document" => ("dte_document_totals", "documents"),
        "dte_failed_queue" => ("dte_failed_queue_totals", "entries"),
        _ => return Ok(None),
    };
    let companies: Option<Vec<i32>> =
        companies.map(|ids| ids.iter().filter_map(|id| i32::try_from(*id).ok()).collect());
    let row: Count = diesel::sql_query(format!(
        "SELECT COALESCE(sum({column}), 0)::bigint AS n FROM dte_sidecar.{aggregate} \
         WHERE $1::int[] IS NULL OR company_id = ANY($1)"
    ))
    .bind::<Nullable<diesel::sql_types::Array<Int4>>, _>(companies)
    .get_result(conn)?;
    Ok(Some(row.n))
}
