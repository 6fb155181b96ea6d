//! The little of Odoo's own models a client needs to log in and find its way: the
//! calling client's own `res.users` record (and `context_get`), and `ir.model`, which
//! lists the models the sidecar answers. Both are read-only and held in memory; their
//! domains, orders and limits are read exactly as the record models read them.

use std::cmp::Ordering;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::orm::{self, FieldsGetParams};
use super::params;
use crate::error::{AppError, AppResult};
use crate::message::Message;
use crate::store::query::{self, Bind, BindList, Domain, Operand, Operator};
use crate::store::registry::{self, Field, FieldKind, ModelInfo};

/// The language and time zone of every API client: the sidecar's own messages are in
/// English and its times in UTC.
pub const LANG: &str = "en_US";
pub const TZ: &str = "UTC";

static RES_USERS: ModelInfo = ModelInfo {
    name: "res.users",
    table: "",
    default_order: "name, login",
    hidden: &[],
    fields: &[
        Field { name: "id", kind: FieldKind::Integer },
        Field { name: "name", kind: FieldKind::Char },
        Field { name: "login", kind: FieldKind::Char },
        Field { name: "lang", kind: FieldKind::Char },
        Field { name: "tz", kind: FieldKind::Char },
    ],
};

static IR_MODEL: ModelInfo = ModelInfo {
    name: "ir.model",
    table: "",
    default_order: "model",
    hidden: &[],
    fields: &[
        Field { name: "id", kind: FieldKind::Integer },
        Field { name: "model", kind: FieldKind::Char },
        Field { name: "name", kind: FieldKind::Char },
        Field { name: "transient", kind: FieldKind::Boolean },
    ],
};

/// Models that answer methods but hold no records of their own.
const METHOD_MODELS: &[(&str, &str)] = &[
    ("account.move", "Journal Entry (DTE actions)"),
    ("dte.dashboard", "DTE Dashboard"),
    ("dte.vocabulary", "DTE Sidecar Vocabulary"),
];

/// The models a client may call, with their descriptions, in `ir.model` order.
pub fn model_names() -> Vec<(&'static str, String)> {
    let mut models: Vec<(&'static str, String)> =
        registry::MODELS.iter().map(|m| (m.name, model_label(m.name))).collect();
    models.extend(METHOD_MODELS.iter().map(|(name, label)| (*name, (*label).to_string())));
    models.push((RES_USERS.name, "User".into()));
    models.push((IR_MODEL.name, "Models".into()));
    models
}

/// Whether `model` is one of the sidecar's method-only models (no fields).
pub fn is_method_model(model: &str) -> bool {
    METHOD_MODELS.iter().any(|(name, _)| *name == model)
}

fn model_label(name: &str) -> String {
    orm::field_label(&name.replace('.', "_"))
}

pub fn serves(model: &str) -> bool {
    model == RES_USERS.name || model == IR_MODEL.name
}

/// `fields_get` of a method-only model: it has no fields.
pub fn no_fields(qualified: &str, args: Vec<Value>, kwargs: Map<String, Value>) -> AppResult<Value> {
    let _: FieldsGetParams = params::bind(qualified, &["allfields", "attributes"], args, kwargs)?;
    Ok(json!({}))
}

/// One call on `res.users` or `ir.model`, for the client `client` whose uid is `uid`.
pub fn call(
    model: &str,
    method: &str,
    args: Vec<Value>,
    kwargs: Map<String, Value>,
    client: &str,
    uid: i64,
    max_limit: i64,
) -> AppResult<Value> {
    let (info, rows) = match model {
        "res.users" => (&RES_USERS, vec![user_row(client, uid)]),
        _ => (&IR_MODEL, model_rows()),
    };
    let qualified = format!("{model}.{method}");
    match method {
        "context_get" if model == "res.users" => {
            let _: Empty = params::bind(&qualified, &[], args, kwargs)?;
            Ok(json!({"lang": LANG, "tz": TZ, "uid": uid}))
        }
        "fields_get" => {
            let p: FieldsGetParams = params::bind(&qualified, &["allfields", "attributes"], args, kwargs)?;
            let fields: Vec<(&str, FieldKind)> = info
                .readable_fields()
                .into_iter()
                .filter_map(|name| info.field(name).map(|f| (f.name, f.kind)))
                .collect();
            Ok(orm::fields_get(&fields, &p))
        }
        "read" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct ReadParams {
                ids: Vec<i64>,
                #[serde(default)]
                fields: Option<Vec<String>>,
                #[serde(default)]
                #[allow(dead_code)]
                load: Option<String>,
            }
            let p: ReadParams = params::bind(&qualified, &["ids", "fields", "load"], args, kwargs)?;
            let fields = query::parse_fields(info, p.fields.as_deref().unwrap_or_default())?;
            let rows: Vec<Value> = rows.iter().map(|r| project(info, r, &fields)).collect();
            orm::in_order_asked(info.name, &rows, &p.ids)
        }
        "search" | "search_read" | "search_count" | "name_search" => {
            let p = search_params(&qualified, method, args, kwargs)?;
            let mut domain = query::parse_domain(info, &p.domain)?;
            if let Some(condition) = p.name_condition {
                let leaf = query::parse_domain(info, &condition)?;
                domain = Domain::And(Box::new(leaf), Box::new(domain));
            }
            let mut found: Vec<&Map<String, Value>> = rows.iter().filter(|r| matches(&domain, r)).collect();
            if method == "search_count" {
                let count = found.len() as i64;
                return Ok(json!(p.count_limit.map_or(count, |limit| count.min(limit.max(0)))));
            }
            let order = query::parse_order(info, p.order.as_deref().unwrap_or(info.default_order))?;
            sort(&mut found, &order);
            let limit = match (&p.limit, method) {
                (Value::Null, "name_search") => 100.min(max_limit),
                (limit, _) => orm::limit(limit, max_limit)?,
            };
            let page = found.into_iter().skip(orm::offset(p.offset)? as usize).take(limit as usize);
            Ok(match method {
                "search" => page.filter_map(|r| r.get("id").cloned()).collect(),
                "name_search" => page.map(|r| json!([r["id"], r["display_name"]])).collect(),
                _ => {
                    let fields = query::parse_fields(info, p.fields.as_deref().unwrap_or_default())?;
                    page.map(|r| project(info, r, &fields)).collect()
                }
            })
        }
        _ => Err(AppError::NotFound(Message::no_such_method(qualified))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// The arguments of the four searching methods, bound with each one's Odoo signature.
struct SearchArgs {
    domain: Value,
    fields: Option<Vec<String>>,
    offset: Option<i64>,
    limit: Value,
    order: Option<String>,
    count_limit: Option<i64>,
    name_condition: Option<Value>,
}

fn search_params(qualified: &str, method: &str, args: Vec<Value>, kwargs: Map<String, Value>) -> AppResult<SearchArgs> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct P {
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
        #[serde(default)]
        #[allow(dead_code)]
        load: Option<String>,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        operator: Option<String>,
    }
    let names: &[&str] = match method {
        "search" => &["domain", "offset", "limit", "order"],
        "search_count" => &["domain", "limit"],
        "name_search" => &["name", "domain", "operator", "limit"],
        _ => &["domain", "fields", "offset", "limit", "order", "load"],
    };
    if matches!(method, "search" | "search_count") {
        orm::require_domain(qualified, &args, &kwargs)?;
    }
    let p: P = params::bind(qualified, names, args, kwargs)?;
    let name_condition = match (method, p.name.unwrap_or_default(), p.operator.unwrap_or_else(|| "ilike".into())) {
        ("name_search", name, operator) if !(name.is_empty() && operator == "ilike") => {
            Some(json!([["display_name", operator, name]]))
        }
        _ => None,
    };
    let count_limit = if method == "search_count" { p.limit.as_i64() } else { None };
    Ok(SearchArgs {
        domain: p.domain,
        fields: p.fields,
        offset: p.offset,
        limit: p.limit,
        order: p.order,
        count_limit,
        name_condition,
    })
}

fn user_row(client: &str, uid: i64) -> Map<String, Value> {
    let row = json!({"id": uid, "name": client, "login": client, "lang": LANG, "tz": TZ, "display_name": client});
    row.as_object().cloned().unwrap_or_default()
}

fn model_rows() -> Vec<Map<String, Value>> {
    model_names()
        .into_iter()
        .enumerate()
        .map(|(index, (model, name))| {
            let row = json!({"id": index + 1, "model": model, "name": name, "transient": false, "display_name": name});
            row.as_object().cloned().unwrap_or_default()
        })
        .collect()
}

/// The row with only `fields` (all when empty), `id` always first.
fn project(info: &ModelInfo, row: &Map<String, Value>, fields: &[&'static str]) -> Value {
    let names = if fields.is_empty() { info.readable_fields() } else { fields.to_vec() };
    let mut out = Map::new();
    out.insert("id".into(), row.get("id").cloned().unwrap_or(Value::Bool(false)));
    for name in names {
        out.insert(name.into(), row.get(name).cloned().unwrap_or(Value::Bool(false)));
    }
    Value::Object(out)
}

/// Evaluates a parsed domain on a row the way the SQL the record models run does:
/// an empty value (`false`) is NULL, and a comparison with NULL is not true.
fn matches(domain: &Domain, row: &Map<String, Value>) -> bool {
    match domain {
        Domain::All => true,
        Domain::And(a, b) => matches(a, row) && matches(b, row),
        Domain::Or(a, b) => matches(a, row) || matches(b, row),
        Domain::Not(a) => !matches(a, row),
        Domain::Leaf { field, kind, op, value } => {
            let cell = row.get(*field).filter(|v| match v {
                Value::Null => false,
                Value::Bool(false) => *kind == FieldKind::Boolean,
                _ => true,
            });
            match (op, value) {
                (Operator::Eq, Operand::Null) => cell.is_none(),
                (Operator::Ne, Operand::Null) => cell.is_some(),
                (Operator::In, Operand::List(list)) => cell.is_some_and(|c| in_list(c, list)),
                (Operator::NotIn, Operand::List(list)) => cell.is_none_or(|c| !in_list(c, list)),
                (Operator::Ne, Operand::Scalar(bind)) => cell.is_none_or(|c| compare(c, bind) != Some(Ordering::Equal)),
                (Operator::Ilike, Operand::Scalar(Bind::Text(pattern))) => {
                    cell.is_some_and(|c| ilike(&text(c), pattern))
                }
                (Operator::NotIlike, Operand::Scalar(Bind::Text(pattern))) => {
                    cell.is_some_and(|c| !ilike(&text(c), pattern))
                }
                (Operator::EqLike, Operand::Scalar(Bind::Text(pattern))) => {
                    cell.is_some_and(|c| like(&text(c), pattern, false))
                }
                (Operator::EqIlike, Operand::Scalar(Bind::Text(pattern))) => {
                    cell.is_some_and(|c| like(&text(c), pattern, true))
                }
                (op, Operand::Scalar(bind)) => cell.and_then(|c| compare(c, bind)).is_some_and(|o| match op {
                    Operator::Eq => o == Ordering::Equal,
                    Operator::Lt => o == Ordering::Less,
                    Operator::Le => o != Ordering::Greater,
                    Operator::Gt => o == Ordering::Greater,
                    Operator::Ge => o != Ordering::Less,
                    _ => false,
                }),
                _ => false,
            }
        }
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn in_list(cell: &Value, list: &BindList) -> bool {
    match list {
        BindList::Int(ids) => cell.as_i64().is_some_and(|v| ids.contains(&v)),
        BindList::Text(texts) => texts.contains(&text(cell)),
    }
}

fn compare(cell: &Value, bind: &Bind) -> Option<Ordering> {
    match bind {
        Bind::Int(b) => cell.as_i64().map(|v| v.cmp(b)),
        Bind::Float(b) => cell.as_f64().and_then(|v| v.partial_cmp(b)),
        Bind::Text(b) => Some(text(cell).as_str().cmp(b.as_str())),
        Bind::Bool(b) => cell.as_bool().map(|v| v.cmp(b)),
        Bind::Date(_) | Bind::Datetime(_) => None,
    }
}

/// PostgreSQL's ILIKE with `\` as the escape: `%` any run, `_` one character.
fn ilike(text: &str, pattern: &str) -> bool {
    like(text, pattern, true)
}

/// PostgreSQL's LIKE (ILIKE when `fold_case`) with `\` as the escape.
fn like(text: &str, pattern: &str, fold_case: bool) -> bool {
    enum Token {
        Any,
        One,
        Char(char),
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '%' => Token::Any,
            '_' => Token::One,
            '\\' => Token::Char(chars.next().unwrap_or('\\')),
            c => Token::Char(c),
        });
    }
    let fold = |c: char| if fold_case { c.to_lowercase().next().unwrap_or(c) } else { c };
    let text: Vec<char> = text.chars().map(fold).collect();
    // Every literal must match one character: a longer pattern cannot match, which also
    // bounds the work below by the (short) text.
    if tokens.iter().filter(|t| !matches!(t, Token::Any)).count() > text.len() {
        return false;
    }
    let tokens: Vec<Token> = tokens
        .into_iter()
        .map(|t| match t {
            Token::Char(c) => Token::Char(fold(c)),
            other => other,
        })
        .collect();
    // Reachable text positions after each token.
    let mut reach: Vec<bool> = (0..=text.len()).map(|i| i == 0).collect();
    for token in &tokens {
        let mut next = vec![false; text.len() + 1];
        for (i, _) in reach.iter().enumerate().filter(|(_, reached)| **reached) {
            let steps = match token {
                Token::Any => {
                    next.iter_mut().skip(i).for_each(|r| *r = true);
                    continue;
                }
                Token::One => true,
                Token::Char(c) => text.get(i) == Some(c),
            };
            // At the end of the text a step has nowhere to go: `get_mut` answers None.
            if let Some(r) = next.get_mut(i + 1).filter(|_| steps) {
                *r = true;
            }
        }
        reach = next;
    }
    reach.last() == Some(&true)
}

/// Sorts rows by a checked order clause (`"name ASC, login DESC"`).
fn sort(rows: &mut [&Map<String, Value>], order: &str) {
    let keys: Vec<(&str, bool)> = order
        .split(", ")
        .filter_map(|term| term.split_once(' '))
        .map(|(field, direction)| (field, direction == "DESC"))
        .collect();
    rows.sort_by(|a, b| {
        for (field, descending) in &keys {
            let ordering = order_values(a.get(*field), b.get(*field));
            if ordering != Ordering::Equal {
                return if *descending { ordering.reverse() } else { ordering };
            }
        }
        order_values(a.get("id"), b.get("id"))
    });
}

fn order_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal)
        }
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(x), Some(y)) => text(x).cmp(&text(y)),
        (a, b) => a.is_some().cmp(&b.is_some()).reverse(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(domain: Value, method: &str, kwargs: Value) -> Value {
        call("ir.model", method, vec![domain], kwargs.as_object().cloned().unwrap_or_default(), "odoo", 1, 80).unwrap()
    }

    #[test]
    fn ilike_is_postgresql_ilike() {
        assert!(ilike("DTE Backup", "%backup%"));
        assert!(ilike("DTE Backup", "dte_backup"));
        assert!(!ilike("DTE Backup", "%queue%"));
        assert!(ilike("50%", "%50\\%%"));
        assert!(!ilike("a", &"%a".repeat(10_000)));
    }

    #[test]
    fn eq_like_is_postgresql_like() {
        assert!(like("DTE Backup", "DTE%", false));
        assert!(!like("DTE Backup", "dte%", false));
        assert!(like("DTE Backup", "dte%", true));
        assert!(like("dte.backup", "dte_backup", false));
        assert_eq!(models(json!([["model", "=like", "dte.contingency%"]]), "search_count", json!({})), 2);
        assert_eq!(models(json!([["model", "=like", "DTE.contingency%"]]), "search_count", json!({})), 0);
        assert_eq!(models(json!([["model", "=ilike", "DTE.contingency%"]]), "search_count", json!({})), 2);
        assert_eq!(models(json!([["model", "=like", "contingency"]]), "search_count", json!({})), 0);
    }

    #[test]
    fn ir_model_lists_the_models_a_client_may_call() {
        let names = models(json!([]), "search_read", json!({"fields": ["model"]}));
        let names: Vec<&str> = names.as_array().unwrap().iter().map(|r| r["model"].as_str().unwrap()).collect();
        assert!(names.contains(&"dte.backup") && names.contains(&"account.move") && names.contains(&"res.users"));
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "ir.model's order is by model");
        let found = models(json!([["model", "=", "dte.caf"]]), "search_read", json!({"fields": ["name"]}));
        assert_eq!(found.as_array().unwrap().len(), 1);
        assert_eq!(found[0]["name"], "DTE CAF");
        assert_eq!(models(json!([["model", "ilike", "dte.contingency"]]), "search_count", json!({})), 2);
        assert_eq!(models(json!(["!", ["transient", "=", false]]), "search_count", json!({})), 0);
        let pairs = models(json!("backup"), "name_search", json!({}));
        assert_eq!(pairs.as_array().unwrap().len(), 1);
        assert_eq!(pairs[0][1], "DTE Backup");
    }

    #[test]
    fn res_users_is_only_the_calling_client() {
        let kwargs = json!({"fields": ["name", "lang", "tz"]}).as_object().cloned().unwrap();
        let me = call("res.users", "read", vec![json!(3)], kwargs, "odoo", 3, 80).unwrap();
        assert_eq!(me, json!([{"id": 3, "name": "odoo", "lang": "en_US", "tz": "UTC"}]));
        let other = call("res.users", "read", vec![json!([2])], Map::new(), "odoo", 3, 80).unwrap_err();
        assert!(matches!(other, AppError::Missing(_)), "{other}");
        let context = call("res.users", "context_get", vec![], Map::new(), "odoo", 3, 80).unwrap();
        assert_eq!(context, json!({"lang": "en_US", "tz": "UTC", "uid": 3}));
        assert!(call("res.users", "write", vec![], Map::new(), "odoo", 3, 80).is_err());
    }
}
