//! The ORM methods every record model answers, with Odoo 19's signatures:
//! `search_read`, `read`, `search`, `search_count`, `name_search`, `fields_get`.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::params;
use crate::context::AppContext;
use crate::error::{AppError, AppResult};
use crate::message::Message;
use crate::store::query::{self, Search};
use crate::store::registry::{FieldKind, ModelInfo};

/// The methods `call` answers.
pub const METHODS: &[&str] = &["search_read", "read", "search", "search_count", "name_search", "fields_get"];

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
    /// `read`'s way of rendering relations; the sidecar's models have none.
    #[serde(default)]
    #[allow(dead_code)]
    load: Option<String>,
}

/// `search`'s arguments (its domain is required: see `require_domain`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainParams {
    #[serde(default)]
    domain: Value,
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
    #[serde(default)]
    #[allow(dead_code)]
    load: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NameSearchParams {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    domain: Value,
    #[serde(default)]
    operator: Option<String>,
    #[serde(default)]
    limit: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldsGetParams {
    #[serde(default)]
    pub allfields: Option<Vec<String>>,
    #[serde(default)]
    pub attributes: Option<Vec<String>>,
}

/// Runs `method` on `model`; `companies` narrows rows to Odoo's allowed companies.
pub async fn call(
    ctx: &AppContext,
    model: &'static ModelInfo,
    method: &str,
    args: Vec<Value>,
    kwargs: Map<String, Value>,
    companies: Option<Vec<i64>>,
) -> AppResult<Value> {
    let qualified = format!("{}.{method}", model.name);
    let max = ctx.settings.limits.max_search_limit;
    match method {
        "read" => {
            let p: ReadParams = params::bind(&qualified, &["ids", "fields", "load"], args, kwargs)?;
            // Each distinct id asked is one row answered, so the answer is bounded by
            // bounding the ids.
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
            within_budget(&rows, ctx.settings.limits.max_answer_bytes)?;
            in_order_asked(model.name, &rows, &p.ids)
        }
        "search_read" | "search" => {
            let p: SearchParams = if method == "search" {
                require_domain(&qualified, &args, &kwargs)?;
                let p: DomainParams = params::bind(&qualified, &["domain", "offset", "limit", "order"], args, kwargs)?;
                SearchParams {
                    domain: p.domain,
                    fields: None,
                    offset: p.offset,
                    limit: p.limit,
                    order: p.order,
                    load: None,
                }
            } else {
                params::bind(&qualified, &["domain", "fields", "offset", "limit", "order", "load"], args, kwargs)?
            };
            let mut search = Search::new(model);
            search.domain = query::parse_domain(model, &p.domain)?;
            search.fields = if method == "search" {
                vec!["id"]
            } else {
                query::parse_fields(model, p.fields.as_deref().unwrap_or_default())?
            };
            search.offset = offset(p.offset)?;
            search.limit = Some(limit(&p.limit, max)?);
            search.order = query::parse_order(model, p.order.as_deref().unwrap_or(model.default_order))?;
            search.companies = companies;
            let rows = ctx.db.run(move |conn| query::search_read(conn, model, &search)).await?;
            if method == "search" {
                return Ok(Value::Array(rows.iter().filter_map(|r| r.get("id").cloned()).collect()));
            }
            within_budget(&rows, ctx.settings.limits.max_answer_bytes)?;
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
            require_domain(&qualified, &args, &kwargs)?;
            let p: CountParams = params::bind(&qualified, &["domain", "limit"], args, kwargs)?;
            let mut search = Search::new(model);
            search.domain = query::parse_domain(model, &p.domain)?;
            search.companies = companies;
            search.limit = p.limit;
            let count = ctx.db.run(move |conn| query::search_count(conn, model, &search)).await?;
            Ok(json!(p.limit.map_or(count, |limit| count.min(limit.max(0)))))
        }
        "name_search" => {
            let p: NameSearchParams = params::bind(&qualified, &["name", "domain", "operator", "limit"], args, kwargs)?;
            let name = p.name.unwrap_or_default();
            let operator = p.operator.unwrap_or_else(|| "ilike".into());
            // Odoo: Domain('display_name', operator, name) & domain; an empty pattern
            // with ilike matches everything.
            let mut domain = match p.domain {
                Value::Array(items) => items,
                Value::Null | Value::Bool(false) => Vec::new(),
                _ => return Err(AppError::field("domain", "expected a list")),
            };
            if !(name.is_empty() && operator == "ilike") {
                domain.insert(0, json!(["display_name", operator, name]));
                if domain.len() > 1 {
                    domain.insert(0, json!("&"));
                }
            }
            let mut search = Search::new(model);
            search.domain = query::parse_domain(model, &Value::Array(domain))?;
            search.fields = vec!["id", "display_name"];
            search.limit = Some(match &p.limit {
                Value::Null => 100.min(max),
                other => limit(other, max)?,
            });
            search.order = query::parse_order(model, model.default_order)?;
            search.companies = companies;
            let rows = ctx.db.run(move |conn| query::search_read(conn, model, &search)).await?;
            Ok(Value::Array(
                rows.iter()
                    .map(|r| json!([r.get("id"), r.get("display_name").cloned().unwrap_or(Value::Bool(false))]))
                    .collect(),
            ))
        }
        "fields_get" => {
            let p: FieldsGetParams = params::bind(&qualified, &["allfields", "attributes"], args, kwargs)?;
            let fields: Vec<(&str, FieldKind)> = model
                .readable_fields()
                .into_iter()
                .filter_map(|name| model.field(name).map(|f| (f.name, f.kind)))
                .collect();
            Ok(fields_get(&fields, &p))
        }
        _ => Err(AppError::NotFound(Message::no_such_method(qualified))),
    }
}

/// `search` and `search_count` take a domain, as in Odoo 19 (`[]` for every record).
pub fn require_domain(qualified: &str, args: &[Value], kwargs: &Map<String, Value>) -> AppResult<()> {
    if args.is_empty() && !kwargs.contains_key("domain") {
        return Err(AppError::validation(Message::missing_argument(qualified, "domain")));
    }
    Ok(())
}

/// Refuses an answer whose rows hold more than `budget` bytes of text, before it is copied
/// or written out: a caller asks for fewer records or fields instead.
pub fn within_budget(rows: &[Value], budget: usize) -> AppResult<()> {
    let mut size = 0usize;
    let mut pending: Vec<&Value> = rows.iter().collect();
    while let Some(value) = pending.pop() {
        size += match value {
            Value::String(text) => text.len() + 2,
            Value::Array(items) => {
                pending.extend(items);
                2
            }
            Value::Object(map) => {
                pending.extend(map.values());
                map.keys().map(|k| k.len() + 4).sum::<usize>() + 2
            }
            _ => 8,
        };
        if size > budget {
            return Err(AppError::user(Message::answer_too_large(budget)));
        }
    }
    Ok(())
}

/// Odoo answers `read` in the order asked and refuses ids it cannot find.
/// The rows in the order their ids were asked, each once: an id asked again is the same
/// record (10,000 copies of one id would otherwise be an answer 10,000 rows long).
pub fn in_order_asked(model: &str, rows: &[Value], wanted: &[i64]) -> AppResult<Value> {
    let by_id: HashMap<i64, &Value> =
        rows.iter().filter_map(|r| Some((r.get("id").and_then(Value::as_i64)?, r))).collect();
    let mut seen = std::collections::HashSet::with_capacity(wanted.len());
    let ordered = wanted
        .iter()
        .filter(|id| seen.insert(**id))
        .map(|id| by_id.get(id).map(|row| (*row).clone()).ok_or_else(|| AppError::missing_record(model, id)))
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Value::Array(ordered))
}

pub fn offset(offset: Option<i64>) -> AppResult<i64> {
    match offset {
        Some(n) if n < 0 => Err(AppError::field("offset", "must not be negative")),
        other => Ok(other.unwrap_or(0)),
    }
}

/// Odoo's `limit`: None or False for "no limit" (here: the configured ceiling).
pub fn limit(limit: &Value, max: i64) -> AppResult<i64> {
    match limit {
        Value::Null | Value::Bool(false) => Ok(max),
        Value::Number(n) => match n.as_i64() {
            Some(l) if (0..=max).contains(&l) => Ok(l),
            _ => Err(AppError::validation(Message::out_of_range("limit", 0, max))),
        },
        _ => Err(AppError::field("limit", "expected a number")),
    }
}

/// `fields_get` as Odoo 19 describes fields: type, string, readonly, and the rest of
/// the attributes clients read (`required`, `store`, `searchable`, `sortable`).
pub fn fields_get(fields: &[(&str, FieldKind)], params: &FieldsGetParams) -> Value {
    let wanted = params.allfields.as_deref().filter(|a| !a.is_empty());
    let attributes = params.attributes.as_deref().filter(|a| !a.is_empty());
    let mut out = Map::new();
    for (name, kind) in fields {
        if wanted.is_some_and(|w| !w.iter().any(|n| n.as_str() == *name)) {
            continue;
        }
        let mut description = Map::new();
        description.insert("name".into(), json!(name));
        description.insert("type".into(), json!(odoo_type(*kind)));
        description.insert("string".into(), json!(field_label(name)));
        description.insert("readonly".into(), json!(true));
        description.insert("required".into(), json!(*name == "id"));
        description.insert("store".into(), json!(true));
        description.insert("searchable".into(), json!(*kind != FieldKind::Binary));
        description.insert("sortable".into(), json!(*kind != FieldKind::Binary));
        if let Some(attributes) = attributes {
            description.retain(|key, _| attributes.iter().any(|a| a == key));
        }
        out.insert((*name).to_string(), Value::Object(description));
    }
    Value::Object(out)
}

fn odoo_type(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Integer => "integer",
        FieldKind::Float => "float",
        FieldKind::Char => "char",
        FieldKind::Text => "text",
        FieldKind::Boolean => "boolean",
        FieldKind::Date => "date",
        FieldKind::Datetime => "datetime",
        FieldKind::Binary => "binary",
    }
}

/// A field's label from its name, as Odoo derives one (`sent_date` → "Sent Date"),
/// with the acronyms of the trade kept upper-case (`dte_type` → "DTE Type").
pub fn field_label(name: &str) -> String {
    name.split('_')
        .filter(|w| !w.is_empty())
        .map(|word| match word {
            "id" | "dte" | "sii" | "rut" | "xml" | "caf" | "idk" | "sha256" | "uid" => word.to_ascii_uppercase(),
            _ => {
                let mut chars = word.chars();
                chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_over_its_budget_is_refused_with_its_code() {
        let rows = vec![json!({"id": 1, "xml_content": "x".repeat(70_000)}), json!({"id": 2, "name": "B"})];
        let refused = within_budget(&rows, 65_536).unwrap_err();
        assert_eq!(refused.message("").code(), "request.answer_too_large");
        assert_eq!(refused.message("").params()["limit"], json!(65_536));
        within_budget(&rows, 80_000).expect("within its budget");
    }

    #[test]
    fn labels_read_like_odoo_with_the_trade_acronyms() {
        assert_eq!(field_label("sent_date"), "Sent Date");
        assert_eq!(field_label("dte_type"), "DTE Type");
        assert_eq!(field_label("company_id"), "Company ID");
        assert_eq!(field_label("id"), "ID");
    }

    #[test]
    fn fields_get_narrows_to_the_fields_and_attributes_asked() {
        let fields = [("id", FieldKind::Integer), ("folio", FieldKind::Char), ("xml_content", FieldKind::Binary)];
        let all = fields_get(&fields, &FieldsGetParams { allfields: None, attributes: None });
        assert_eq!(all["folio"]["type"], "char");
        assert_eq!(all["xml_content"]["type"], "binary");
        assert_eq!(all["id"]["readonly"], true);
        let some = fields_get(
            &fields,
            &FieldsGetParams { allfields: Some(vec!["folio".into()]), attributes: Some(vec!["type".into()]) },
        );
        assert_eq!(some, json!({"folio": {"type": "char"}}));
    }
}
