//! Odoo-style reads over the registry's models: domains, `fields`, `limit`, `offset`,
//! `order`. Field names are checked against the registry and never spliced from input;
//! values always travel as bind parameters.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{Array, BigInt, Bool, Date, Double, Text, Timestamp};
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::{Map, Value};

use super::registry::{FieldKind, ModelInfo};
use crate::error::{AppError, AppResult};
use crate::message::Message;

/// A parsed Odoo domain.
#[derive(Debug, Clone, PartialEq)]
pub enum Domain {
    All,
    And(Box<Domain>, Box<Domain>),
    Or(Box<Domain>, Box<Domain>),
    Not(Box<Domain>),
    Leaf { field: &'static str, kind: FieldKind, op: Operator, value: Operand },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Ilike,
    NotIlike,
    /// `=like`: the value is a LIKE pattern, used as given (`'5000140087%'`: a prefix,
    /// which a b-tree serves).
    EqLike,
    /// `=ilike`: the same, ignoring case.
    EqIlike,
}

impl Operator {
    fn parse(op: &str) -> Option<Self> {
        Some(match op {
            "=" | "==" => Self::Eq,
            "!=" | "<>" => Self::Ne,
            "<" => Self::Lt,
            "<=" => Self::Le,
            ">" => Self::Gt,
            ">=" => Self::Ge,
            "in" => Self::In,
            "not in" => Self::NotIn,
            "ilike" => Self::Ilike,
            "not ilike" => Self::NotIlike,
            "=like" => Self::EqLike,
            "=ilike" => Self::EqIlike,
            _ => return None,
        })
    }

    fn sql(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "<>",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Ilike => "ILIKE",
            Self::NotIlike => "NOT ILIKE",
            Self::EqLike => "LIKE",
            Self::EqIlike => "ILIKE",
            Self::In | Self::NotIn => "= ANY",
        }
    }
}

/// A comparison value, already converted to the field's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Null,
    Scalar(Bind),
    List(BindList),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
    Date(NaiveDate),
    Datetime(NaiveDateTime),
}

#[derive(Debug, Clone, PartialEq)]
pub enum BindList {
    Int(Vec<i64>),
    Text(Vec<String>),
}

/// Most items (terms and operators) a domain may hold.
pub const MAX_DOMAIN_ITEMS: usize = 1000;
/// Deepest nesting of `&`, `|` and `!` a domain may build. Compiling and dropping a
/// domain recurse over its tree, so its depth is bounded here, not by the stack.
pub const MAX_DOMAIN_DEPTH: usize = 100;

/// Parses an Odoo domain (`[["state", "=", "pending"], "|", …]`) for `model`.
pub fn parse_domain(model: &'static ModelInfo, domain: &Value) -> AppResult<Domain> {
    let items = match domain {
        Value::Null | Value::Bool(false) => return Ok(Domain::All),
        Value::Array(items) => items,
        _ => return Err(AppError::validation(Message::invalid_domain("expected a list"))),
    };
    if items.len() > MAX_DOMAIN_ITEMS {
        return Err(AppError::validation(Message::invalid_domain(format!(
            "{} items is more than the {MAX_DOMAIN_ITEMS} a domain may hold",
            items.len()
        ))));
    }
    let too_deep =
        || AppError::validation(Message::invalid_domain(format!("nested deeper than {MAX_DOMAIN_DEPTH} operators")));
    // Prefix (Polish) notation, evaluated from the end with a stack of (term, depth);
    // terms left over at the end are joined with an implicit '&', as Odoo does.
    let mut stack: Vec<(Domain, usize)> = Vec::new();
    for item in items.iter().rev() {
        match item {
            Value::String(op) if op == "&" || op == "|" => {
                let (Some((a, da)), Some((b, db))) = (stack.pop(), stack.pop()) else {
                    return Err(AppError::validation(Message::invalid_domain(format!("'{op}' needs two terms"))));
                };
                let depth = da.max(db) + 1;
                if depth > MAX_DOMAIN_DEPTH {
                    return Err(too_deep());
                }
                stack.push((
                    if op == "&" {
                        Domain::And(Box::new(a), Box::new(b))
                    } else {
                        Domain::Or(Box::new(a), Box::new(b))
                    },
                    depth,
                ));
            }
            Value::String(op) if op == "!" => {
                let Some((a, depth)) = stack.pop() else {
                    return Err(AppError::validation(Message::invalid_domain("'!' needs a term")));
                };
                if depth + 1 > MAX_DOMAIN_DEPTH {
                    return Err(too_deep());
                }
                stack.push((Domain::Not(Box::new(a)), depth + 1));
            }
            Value::Array(term) => stack.push((parse_leaf(model, term)?, 0)),
            other => {
                return Err(AppError::validation(Message::invalid_domain(format!("unexpected item {}", short(other)))))
            }
        }
    }
    let terms: Vec<Domain> = stack.into_iter().rev().map(|(term, _)| term).collect();
    Ok(join_and(terms))
}

/// Joins terms with '&' as a balanced tree, so a long implicit chain stays shallow.
fn join_and(mut terms: Vec<Domain>) -> Domain {
    while terms.len() > 1 {
        let mut joined = Vec::with_capacity(terms.len().div_ceil(2));
        let mut pairs = terms.into_iter();
        while let Some(a) = pairs.next() {
            joined.push(match pairs.next() {
                Some(b) => Domain::And(Box::new(a), Box::new(b)),
                None => a,
            });
        }
        terms = joined;
    }
    terms.pop().unwrap_or(Domain::All)
}

/// A value as quoted in an error, cut to a readable length.
fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn parse_leaf(model: &'static ModelInfo, term: &[Value]) -> AppResult<Domain> {
    let [Value::String(name), Value::String(op), value] = term else {
        return Err(AppError::validation(Message::invalid_domain("each condition is [field, operator, value]")));
    };
    let field =
        model.field(name).ok_or_else(|| AppError::validation(Message::invalid_field("domain", name, model.name)))?;
    let op = Operator::parse(op)
        .ok_or_else(|| AppError::validation(Message::invalid_domain(format!("unsupported operator '{op}'"))))?;
    let where_ = |why: &str| AppError::validation(Message::invalid_domain(format!("{name} {}: {why}", op_text(op))));
    if holds_nul(value) {
        return Err(where_("text may not contain a NUL character"));
    }
    let value = match op {
        Operator::In | Operator::NotIn => {
            let Value::Array(values) = value else { return Err(where_("expected a list")) };
            list_operand(field.kind, values).ok_or_else(|| where_("values do not fit the field"))?
        }
        Operator::Ilike | Operator::NotIlike => {
            if !matches!(field.kind, FieldKind::Char | FieldKind::Text) {
                return Err(where_("only text fields can be matched"));
            }
            let Some(text) = text_of(value) else { return Err(where_("expected text")) };
            Operand::Scalar(Bind::Text(format!("%{}%", escape_like(&text))))
        }
        Operator::EqLike | Operator::EqIlike => {
            if !matches!(field.kind, FieldKind::Char | FieldKind::Text) {
                return Err(where_("only text fields can be matched"));
            }
            let Some(text) = text_of(value) else { return Err(where_("expected text")) };
            Operand::Scalar(Bind::Text(text))
        }
        _ => {
            if value == &Value::Bool(false) && field.kind != FieldKind::Boolean {
                if !matches!(op, Operator::Eq | Operator::Ne) {
                    return Err(where_("false only compares with = or !="));
                }
                Operand::Null
            } else {
                if field.kind == FieldKind::Binary {
                    return Err(where_("binary fields only compare with false"));
                }
                Operand::Scalar(scalar(field.kind, value).ok_or_else(|| where_("value does not fit the field"))?)
            }
        }
    };
    Ok(Domain::Leaf { field: field.name, kind: field.kind, op, value })
}

fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(values) => values.iter().any(|v| v.as_str().is_some_and(|s| s.contains('\0'))),
        _ => false,
    }
}

fn op_text(op: Operator) -> &'static str {
    match op {
        Operator::In => "in",
        Operator::NotIn => "not in",
        Operator::Ilike => "ilike",
        Operator::NotIlike => "not ilike",
        Operator::EqLike => "=like",
        Operator::EqIlike => "=ilike",
        other => other.sql(),
    }
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Text of a value for a text field: strings, and numbers (folios are often sent as numbers).
/// PostgreSQL text cannot hold a NUL character, so such a string fits no field.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// Converts a JSON value to a bind of the field's type.
pub fn scalar(kind: FieldKind, value: &Value) -> Option<Bind> {
    Some(match kind {
        FieldKind::Integer => Bind::Int(value.as_i64()?),
        FieldKind::Float => Bind::Float(value.as_f64()?),
        FieldKind::Char | FieldKind::Text => Bind::Text(text_of(value)?),
        FieldKind::Boolean => Bind::Bool(value.as_bool()?),
        FieldKind::Date => Bind::Date(NaiveDate::parse_from_str(value.as_str()?, "%Y-%m-%d").ok()?),
        FieldKind::Datetime => Bind::Datetime(parse_datetime(value.as_str()?)?),
        FieldKind::Binary => return None,
    })
}

/// Odoo's datetime format (`2026-11-28 03:00:00`), or a bare date meaning midnight.
pub fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    crate::clock::parse_odoo_time(text)
        .or_else(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").ok())
        .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0))
}

fn list_operand(kind: FieldKind, values: &[Value]) -> Option<Operand> {
    Some(Operand::List(match kind {
        FieldKind::Integer => BindList::Int(values.iter().map(Value::as_i64).collect::<Option<_>>()?),
        FieldKind::Char | FieldKind::Text => BindList::Text(values.iter().map(text_of).collect::<Option<_>>()?),
        _ => return None,
    }))
}

/// SQL text plus the binds it refers to as `$1…$n`.
#[derive(Debug, Default)]
struct SqlBuilder {
    sql: String,
    binds: Vec<BindValue>,
}

#[derive(Debug)]
enum BindValue {
    One(Bind),
    Many(BindList),
}

impl SqlBuilder {
    fn placeholder(&mut self, value: BindValue) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    fn condition(&mut self, domain: &Domain) -> String {
        match domain {
            Domain::All => "TRUE".into(),
            Domain::And(a, b) => format!("({} AND {})", self.condition(a), self.condition(b)),
            Domain::Or(a, b) => format!("({} OR {})", self.condition(a), self.condition(b)),
            Domain::Not(a) => format!("(NOT COALESCE({}, FALSE))", self.condition(a)),
            Domain::Leaf { field, op, value, .. } => match (op, value) {
                (Operator::Eq, Operand::Null) => format!("{field} IS NULL"),
                (Operator::Ne, Operand::Null) => format!("{field} IS NOT NULL"),
                (Operator::In, Operand::List(list)) => {
                    let p = self.placeholder(BindValue::Many(list.clone()));
                    format!("{field} = ANY({p})")
                }
                (Operator::NotIn, Operand::List(list)) => {
                    let p = self.placeholder(BindValue::Many(list.clone()));
                    format!("({field} IS NULL OR NOT ({field} = ANY({p})))")
                }
                (Operator::Ne, Operand::Scalar(bind)) => {
                    let p = self.placeholder(BindValue::One(bind.clone()));
                    format!("({field} IS NULL OR {field} <> {p})")
                }
                (op, Operand::Scalar(bind)) => {
                    let p = self.placeholder(BindValue::One(bind.clone()));
                    format!("{field} {} {p}", op.sql())
                }
                // The parser never pairs these; refuse rather than guess.
                _ => "FALSE".into(),
            },
        }
    }

    fn into_query(self) -> BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery> {
        let mut query = diesel::sql_query(self.sql).into_boxed::<Pg>();
        for bind in self.binds {
            query = match bind {
                BindValue::One(Bind::Int(v)) => query.bind::<BigInt, _>(v),
                BindValue::One(Bind::Float(v)) => query.bind::<Double, _>(v),
                BindValue::One(Bind::Text(v)) => query.bind::<Text, _>(v),
                BindValue::One(Bind::Bool(v)) => query.bind::<Bool, _>(v),
                BindValue::One(Bind::Date(v)) => query.bind::<Date, _>(v),
                BindValue::One(Bind::Datetime(v)) => query.bind::<Timestamp, _>(v),
                BindValue::Many(BindList::Int(v)) => query.bind::<Array<BigInt>, _>(v),
                BindValue::Many(BindList::Text(v)) => query.bind::<Array<Text>, _>(v),
            };
        }
        query
    }
}

/// The SQL condition `domain` compiles to and how many values it binds (`$1…$n`): what a
/// search sends, without a connection.
pub fn compile_domain(domain: &Domain) -> (String, usize) {
    let mut builder = SqlBuilder::default();
    let sql = builder.condition(domain);
    (sql, builder.binds.len())
}

/// What a `search_read` asks for.
#[derive(Debug, Clone)]
pub struct Search {
    pub domain: Domain,
    /// Fields to return; all when empty.
    pub fields: Vec<&'static str>,
    pub limit: Option<i64>,
    pub offset: i64,
    pub order: String,
    /// Restricts rows to these companies (Odoo's `allowed_company_ids`).
    pub companies: Option<Vec<i64>>,
}

impl Search {
    pub fn new(model: &'static ModelInfo) -> Self {
        Self {
            domain: Domain::All,
            fields: Vec::new(),
            limit: None,
            offset: 0,
            order: model.default_order.into(),
            companies: None,
        }
    }
}

/// Checks `fields` against the model.
pub fn parse_fields(model: &'static ModelInfo, fields: &[String]) -> AppResult<Vec<&'static str>> {
    fields
        .iter()
        .map(|name| {
            model
                .field(name)
                .map(|f| f.name)
                .ok_or_else(|| AppError::validation(Message::invalid_field("fields", name, model.name)))
        })
        .collect()
}

/// Checks an Odoo `order` clause (`"sent_date desc, id"`) and returns it as SQL.
pub fn parse_order(model: &'static ModelInfo, order: &str) -> AppResult<String> {
    let mut parts = Vec::new();
    for term in order.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let mut words = term.split_whitespace();
        let name = words.next().unwrap_or_default();
        let field =
            model.field(name).ok_or_else(|| AppError::validation(Message::invalid_field("order", name, model.name)))?;
        let direction = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => "ASC",
            Some("desc") => "DESC",
            Some(other) => {
                return Err(AppError::validation(Message::invalid_order(format!("unknown direction '{other}'"))))
            }
        };
        if words.next().is_some() {
            return Err(AppError::validation(Message::invalid_order(format!("cannot read '{term}'"))));
        }
        parts.push(format!("{} {direction}", field.name));
    }
    Ok(parts.join(", "))
}

/// The model's rows: its table, with `display_name` computed where no column holds it
/// (PostgreSQL inlines the subquery, so the table's indexes still serve).
fn source(model: &'static ModelInfo) -> String {
    match model.display_name_sql() {
        None => format!("dte_sidecar.{}", model.table),
        Some(expr) => format!("(SELECT *, {expr} AS display_name FROM dte_sidecar.{0}) AS {0}", model.table),
    }
}

fn where_clause(model: &'static ModelInfo, search: &Search, builder: &mut SqlBuilder) -> String {
    let mut condition = builder.condition(&search.domain);
    if let (Some(companies), Some(company)) = (&search.companies, model.company_sql()) {
        let p = builder.placeholder(BindValue::Many(BindList::Int(companies.clone())));
        condition = format!("({condition}) AND {company} = ANY({p})");
    }
    condition
}

#[derive(QueryableByName)]
struct JsonRow {
    #[diesel(sql_type = Text)]
    row: String,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Rows as Odoo renders them: datetimes as `YYYY-MM-DD HH:MM:SS`, binary in base64,
/// empty values as `false`.
pub fn search_read(conn: &mut PgConnection, model: &'static ModelInfo, search: &Search) -> AppResult<Vec<Value>> {
    let fields: Vec<&'static str> =
        if search.fields.is_empty() { model.readable_fields() } else { search.fields.clone() };
    let mut columns = vec!["id".to_string()];
    for name in fields.iter().filter(|n| **n != "id") {
        let kind = model.field(name).map(|f| f.kind).unwrap_or(FieldKind::Text);
        columns.push(match kind {
            FieldKind::Datetime => format!("to_char({name}, 'YYYY-MM-DD HH24:MI:SS') AS {name}"),
            FieldKind::Date => format!("to_char({name}, 'YYYY-MM-DD') AS {name}"),
            FieldKind::Binary => format!("translate(encode({name}, 'base64'), E'\\n', '') AS {name}"),
            _ => name.to_string(),
        });
    }
    let mut builder = SqlBuilder::default();
    let condition = where_clause(model, search, &mut builder);
    // Qualified: a bare `sent_date` would name the formatted output column (a text sort
    // that no index serves), not the table's.
    let table = model.table;
    let mut terms: Vec<String> =
        search.order.split(", ").filter(|t| !t.is_empty()).map(|t| format!("{table}.{t}")).collect();
    if !terms.iter().any(|t| t.starts_with(&format!("{table}.id "))) {
        terms.push(format!("{table}.id ASC"));
    }
    let order = terms.join(", ");
    let mut sql = format!(
        "SELECT row_to_json(t)::text AS row FROM (SELECT {} FROM {} WHERE {condition} ORDER BY {order}",
        columns.join(", "),
        source(model)
    );
    if let Some(limit) = search.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    sql.push_str(&format!(" OFFSET {}) t", search.offset));
    builder.sql = sql;
    let rows: Vec<JsonRow> = builder.into_query().load(conn)?;
    rows.into_iter().map(|r| odoo_row(&r.row)).collect()
}

pub fn search_count(conn: &mut PgConnection, model: &'static ModelInfo, search: &Search) -> AppResult<i64> {
    // Every row (of the allowed companies): the maintained aggregates know, history is not scanned.
    if search.domain == Domain::All && model.has_company() {
        if let Some(total) = super::aggregates::total(conn, model.table, search.companies.as_deref())? {
            return Ok(total);
        }
    }
    let mut builder = SqlBuilder::default();
    let condition = where_clause(model, search, &mut builder);
    // A count up to a limit (Odoo's list views count up to 10,000) stops there.
    builder.sql = match search.limit {
        Some(limit) => format!(
            "SELECT count(*) AS count FROM (SELECT 1 FROM {} WHERE {condition} LIMIT {}) AS limited",
            source(model),
            limit.max(0)
        ),
        None => format!("SELECT count(*) AS count FROM {} WHERE {condition}", source(model)),
    };
    let row: CountRow = builder.into_query().get_result(conn)?;
    Ok(row.count)
}

fn odoo_row(json: &str) -> AppResult<Value> {
    let mut row: Map<String, Value> = serde_json::from_str(json).map_err(AppError::internal)?;
    for value in row.values_mut() {
        if value.is_null() {
            *value = Value::Bool(false);
        }
    }
    Ok(Value::Object(row))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::registry::model;
    use serde_json::json;

    fn backup() -> &'static ModelInfo {
        model("dte.backup").unwrap()
    }

    fn compile(domain: Value) -> AppResult<(String, usize)> {
        Ok(compile_domain(&parse_domain(backup(), &domain)?))
    }

    #[test]
    fn prefix_operators_and_implicit_and() {
        let (sql, binds) =
            compile(json!(["|", ["dte_type", "=", "33"], ["dte_type", "=", "61"], ["folio", "!=", false]])).unwrap();
        assert_eq!(sql, "((dte_type = $1 OR dte_type = $2) AND folio IS NOT NULL)");
        assert_eq!(binds, 2);
        let (sql, _) = compile(json!(["!", ["track_id", "=", false]])).unwrap();
        assert_eq!(sql, "(NOT COALESCE(track_id IS NULL, FALSE))");
    }

    #[test]
    fn values_are_bound_never_spliced() {
        let (sql, binds) = compile(json!([["folio", "ilike", "1'; DROP TABLE x; --"]])).unwrap();
        assert_eq!(sql, "folio ILIKE $1");
        assert_eq!(binds, 1);
    }

    #[test]
    fn eq_like_keeps_the_pattern_as_given() {
        let domain = parse_domain(backup(), &json!([["track_id", "=like", "5000140087%"]])).unwrap();
        let Domain::Leaf { op, value, .. } = &domain else { panic!("{domain:?}") };
        assert_eq!(*op, Operator::EqLike);
        assert_eq!(*value, Operand::Scalar(Bind::Text("5000140087%".into())));
        assert_eq!(compile_domain(&domain), ("track_id LIKE $1".to_string(), 1));
        // ilike wraps and escapes what it is given; =ilike does not.
        let domain = parse_domain(backup(), &json!([["folio", "=ilike", "12_4"]])).unwrap();
        let Domain::Leaf { value, .. } = &domain else { panic!("{domain:?}") };
        assert_eq!(*value, Operand::Scalar(Bind::Text("12_4".into())));
        assert_eq!(compile_domain(&domain).0, "folio ILIKE $1");
        let err = compile(json!([["company_id", "=like", "1%"]])).unwrap_err().to_string();
        assert!(err.contains("company_id =like: only text fields"), "{err}");
        let err = compile(json!([["folio", "=like", ["1%"]]])).unwrap_err().to_string();
        assert!(err.contains("folio =like: expected text"), "{err}");
    }

    #[test]
    fn bad_domains_name_the_problem() {
        for (domain, expected) in [
            (json!([["nope", "=", 1]]), "invalid field 'nope'"),
            (json!([["folio", "like", "1"]]), "unsupported operator 'like'"),
            (json!(["&", ["folio", "=", "1"]]), "'&' needs two terms"),
            (json!([["company_id", "=", "abc"]]), "company_id ="),
            (json!([["company_id", "in", 5]]), "expected a list"),
            (json!([["company_id", "ilike", "5"]]), "only text fields"),
            (json!("folio = 1"), "expected a list"),
            (json!([["folio", "="]]), "[field, operator, value]"),
        ] {
            let err = compile(domain.clone()).unwrap_err().to_string();
            assert!(err.contains(expected), "{domain}: {err}");
        }
    }

    #[test]
    fn domains_are_bounded_in_size_and_depth() {
        let mut nots = vec![json!("!"); 1_000_000];
        nots.push(json!(["folio", "=", "1"]));
        let err = compile(Value::Array(nots)).unwrap_err().to_string();
        assert!(err.contains("more than the 1000"), "{err}");

        let mut deep = vec![json!("!"); MAX_DOMAIN_DEPTH + 1];
        deep.push(json!(["folio", "=", "1"]));
        assert!(compile(Value::Array(deep)).unwrap_err().to_string().contains("nested deeper than 100"));
        let mut ands = vec![json!("&"); MAX_DOMAIN_DEPTH + 1];
        ands.extend(std::iter::repeat_n(json!(["folio", "=", "1"]), MAX_DOMAIN_DEPTH + 2));
        assert!(compile(Value::Array(ands)).unwrap_err().to_string().contains("nested deeper"));

        // The largest domains allowed compile and drop on a small stack: a chain of
        // '!' at the depth limit, and an implicit '&' of as many terms as allowed.
        let worker = std::thread::Builder::new().stack_size(256 * 1024);
        let handle = worker
            .spawn(|| {
                let mut deepest = vec![json!("!"); MAX_DOMAIN_DEPTH];
                deepest.push(json!(["folio", "=", "1"]));
                let (sql, binds) = compile(Value::Array(deepest)).unwrap();
                assert_eq!(binds, 1);
                assert_eq!(sql.matches("NOT").count(), MAX_DOMAIN_DEPTH);
                let chain = vec![json!(["folio", "=", "1"]); MAX_DOMAIN_ITEMS];
                let (_, binds) = compile(Value::Array(chain)).unwrap();
                assert_eq!(binds, MAX_DOMAIN_ITEMS);
            })
            .unwrap();
        handle.join().unwrap();
    }

    #[test]
    fn a_nul_character_in_a_value_names_the_condition() {
        let err = compile(json!([["folio", "=", "1\u{0}2"]])).unwrap_err();
        assert!(matches!(err, AppError::Validation(_)));
        assert_eq!(err.to_string(), "domain: folio =: text may not contain a NUL character");
        let err = compile(json!([["folio", "in", ["1", "\u{0}"]]])).unwrap_err().to_string();
        assert!(err.contains("NUL"), "{err}");
    }

    #[test]
    fn order_is_checked() {
        assert_eq!(parse_order(backup(), "sent_date desc, folio").unwrap(), "sent_date DESC, folio ASC");
        assert!(parse_order(backup(), "sent_date; DROP TABLE x").is_err());
        assert!(parse_order(backup(), "folio sideways").is_err());
    }
}
