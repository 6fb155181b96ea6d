//! The ORM methods every model answers: `search_read`, `read`, `search`, `search_count`.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Value};

use super::params;
use crate::context::AppContext;
use crate::error::{AppError, AppResult};
use crate::store::query::{self, Search};
use crate::store::registry::ModelInfo;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    #[serde(default)]
    domain: Value,
    #[serde(default)]
    fields: Option<Vec<String>>,
    #[serde(default)]
    offset: Option<i64>,
    #[serde(default)]
    limit: Value,
    #[serde(default)]
    order: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadParams {
    ids: Vec<i64>,
    #[serde(default)]
    fields: Option<Vec<String>>,
}

/// Runs `method` on `model`; `companies` narrows rows to Odoo's allowed companies.
pub async fn call(
    ctx: &AppContext,
    model: &'static ModelInfo,
    method: &str,
    args: Vec<Value>,
    kwargs: serde_json::Map<String, Value>,
    companies: Option<Vec<i64>>,
) -> AppResult<Value> {
    let qualified = format!("{}.{method}", model.name);
    let max = ctx.settings.limits.max_search_limit;
    match method {
        "read" => {
            let p: ReadParams = params::bind(&qualified, &["ids", "fields"], args, kwargs)?;
            // Each id asked is one row answered (duplicates too), so the answer is bounded
            // by bounding the ids.
            if p.ids.len() > usize::try_from(max).unwrap_or(usize::MAX) {
                return Err(AppError::field(
                    "ids",
                    format!("{} ids is more than the {max} one read may ask for", p.ids.len()),
                ));
            }
            let mut search = Search::new(model);
            search.fields = query::parse_fields(model, p.fields.as_deref().unwrap_or_default())?;
            let mut distinct = p.ids.clone();
            distinct.sort_unstable();
            distinct.dedup();
            search.domain = query::parse_domain(model, &json!([["id", "in", distinct]]))?;
            search.companies = companies;
            search.limit = None;
            let rows = ctx.db.run(move |conn| query::search_read(conn, model, &search)).await?;
            let by_id: HashMap<i64, &Value> =
                rows.iter().filter_map(|r| Some((r.get("id").and_then(Value::as_i64)?, r))).collect();
            // Odoo answers in the order asked and refuses ids it cannot find.
            let ordered = p
                .ids
                .iter()
                .map(|id| {
                    by_id.get(id).map(|row| (*row).clone()).ok_or_else(|| AppError::missing_record(model.name, id))
                })
                .collect::<AppResult<Vec<_>>>()?;
            Ok(Value::Array(ordered))
        }
        "search_read" | "search" => {
            let names: &[&str] = if method == "search" {
                &["domain", "offset", "limit", "order"]
            } else {
                &["domain", "fields", "offset", "limit", "order"]
            };
            let p: SearchParams = params::bind(&qualified, names, args, kwargs)?;
            let mut search = Search::new(model);
            search.domain = query::parse_domain(model, &p.domain)?;
            search.fields = if method == "search" {
                vec!["id"]
            } else {
                query::parse_fields(model, p.fields.as_deref().unwrap_or_default())?
            };
            search.offset = match p.offset {
                Some(n) if n < 0 => return Err(AppError::field("offset", "must not be negative")),
                other => other.unwrap_or(0),
            };
            search.limit = Some(match &p.limit {
                Value::Null | Value::Bool(false) => max,
                Value::Number(n) => match n.as_i64() {
                    Some(l) if (0..=max).contains(&l) => l,
                    _ => return Err(AppError::field("limit", format!("expected a number from 0 to {max}"))),
                },
                _ => return Err(AppError::field("limit", "expected a number")),
            });
            if let Some(order) = &p.order {
                search.order = query::parse_order(model, order)?;
            } else {
                search.order = query::parse_order(model, model.default_order)?;
            }
            search.companies = companies;
            let rows = ctx.db.run(move |conn| query::search_read(conn, model, &search)).await?;
            if method == "search" {
                return Ok(Value::Array(rows.iter().filter_map(|r| r.get("id").cloned()).collect()));
            }
            Ok(Value::Array(rows))
        }
        "search_count" => {
            #[derive(Debug, Deserialize)]
            #[serde(deny_unknown_fields)]
            struct CountParams {
                #[serde(default)]
                domain: Value,
                #[serde(default)]
                limit: Option<i64>,
            }
            let p: CountParams = params::bind(&qualified, &["domain", "limit"], args, kwargs)?;
            let mut search = Search::new(model);
            search.domain = query::parse_domain(model, &p.domain)?;
            search.companies = companies;
            let count = ctx.db.run(move |conn| query::search_count(conn, model, &search)).await?;
            Ok(json!(p.limit.map_or(count, |limit| count.min(limit.max(0)))))
        }
        _ => Err(AppError::NotFound(format!("The method '{qualified}' does not exist"))),
    }
}
