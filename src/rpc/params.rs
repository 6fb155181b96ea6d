//! Binds an Odoo call's positional and keyword arguments to a method's parameters, the
//! way Python binds them, then reads them into the method's typed parameters with errors
//! that name the argument.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{AppError, AppResult};
use crate::message::Message;

/// `names` lists the method's parameters in positional order.
pub fn bind<P: DeserializeOwned>(
    method: &str,
    names: &[&str],
    args: Vec<Value>,
    mut kwargs: Map<String, Value>,
) -> AppResult<P> {
    if args.len() > names.len() {
        return Err(AppError::validation(Message::too_many_arguments(method, names.len(), args.len())));
    }
    let mut bound = Map::new();
    for (name, value) in names.iter().zip(args) {
        bound.insert((*name).to_string(), value);
    }
    for (name, value) in std::mem::take(&mut kwargs) {
        if !names.contains(&name.as_str()) {
            return Err(AppError::validation(Message::unexpected_argument(method, &name)));
        }
        if bound.contains_key(&name) {
            return Err(AppError::validation(Message::repeated_argument(method, &name)));
        }
        bound.insert(name, value);
    }
    // None and False mean "not given" for an optional argument, as Odoo's methods
    // read them; a required one given so is reported missing.
    bound.retain(|_, v| !matches!(v, Value::Null | Value::Bool(false)));
    // Odoo's record methods take one id or a list of ids.
    for name in ["ids", "move_ids"] {
        if let Some(id @ Value::Number(_)) = bound.get_mut(name) {
            *id = Value::Array(vec![id.take()]);
        }
    }
    refuse_nul(&bound)?;
    read(method, Value::Object(bound))
}

/// PostgreSQL text cannot hold a NUL character: refuse it up front, naming the argument,
/// rather than fail on the way to the database. Walks without recursion.
pub fn refuse_nul(arguments: &Map<String, Value>) -> AppResult<()> {
    for (name, value) in arguments {
        let mut pending = vec![value];
        while let Some(value) = pending.pop() {
            match value {
                Value::String(s) if s.contains('\0') => return Err(AppError::validation(Message::nul_character(name))),
                Value::Array(items) => pending.extend(items),
                Value::Object(map) => {
                    if map.keys().any(|k| k.contains('\0')) {
                        return Err(AppError::validation(Message::nul_character(name)));
                    }
                    pending.extend(map.values());
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Reads `value` into `P`; the error names the argument at fault.
pub fn read<P: DeserializeOwned>(method: &str, value: Value) -> AppResult<P> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if let Some(field) = inner.strip_prefix("missing field `").and_then(|s| s.strip_suffix('`')) {
            let field = if path == "." { field.to_string() } else { format!("{path}.{field}") };
            AppError::validation(Message::missing_argument(method, field))
        } else if let Some((got, allowed)) = unknown_variant(&inner) {
            AppError::validation(Message::unknown_choice(path, got, allowed.as_slice()))
        } else if path == "." {
            AppError::field(&format!("{method}()"), inner)
        } else {
            AppError::field(&path, inner)
        }
    })
}

/// serde's words for a value outside an enum (``unknown variant `boom`, expected one of
/// `a`, `b` ``), as the value and the allowed ones.
fn unknown_variant(text: &str) -> Option<(&str, Vec<&str>)> {
    let rest = text.strip_prefix("unknown variant `")?;
    let (got, rest) = rest.split_once('`')?;
    let allowed = rest.split('`').skip(1).step_by(2).collect::<Vec<_>>();
    (!allowed.is_empty()).then_some((got, allowed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct P {
        a: i32,
        #[serde(default)]
        b: Option<String>,
    }

    fn kw(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn positional_and_keyword_arguments_bind_like_python() {
        let p: P = bind("m", &["a", "b"], vec![json!(1)], kw(json!({"b": "x"}))).unwrap();
        assert_eq!(p, P { a: 1, b: Some("x".into()) });
        let p: P = bind("m", &["a", "b"], vec![], kw(json!({"a": 2, "b": null}))).unwrap();
        assert_eq!(p, P { a: 2, b: None });
        let p: P = bind("m", &["a", "b"], vec![json!(3), json!(false)], Map::new()).unwrap();
        assert_eq!(p, P { a: 3, b: None }, "False is Odoo's 'not given'");
    }

    #[test]
    fn one_id_stands_for_a_list_of_one() {
        #[derive(Debug, Deserialize)]
        struct Ids {
            ids: Vec<i64>,
        }
        let p: Ids = bind("m", &["ids"], vec![json!(7)], Map::new()).unwrap();
        assert_eq!(p.ids, vec![7]);
        let p: Ids = bind("m", &["ids"], vec![], kw(json!({"ids": [7, 8]}))).unwrap();
        assert_eq!(p.ids, vec![7, 8]);
    }

    #[test]
    fn a_nul_character_is_refused_naming_the_argument() {
        let err = bind::<P>("m", &["a", "b"], vec![json!(1)], kw(json!({"b": "x\u{0}y"}))).unwrap_err();
        assert_eq!(err.to_string(), "b: text may not contain a NUL character");
        assert!(matches!(err, AppError::Validation(_)));
    }

    #[test]
    fn binding_errors_read_like_python() {
        let cases: Vec<(Vec<Value>, Value, &str)> = vec![
            (vec![json!(1), json!("x"), json!(3)], json!({}), "takes 2 positional arguments but 3 were given"),
            (vec![], json!({"c": 1, "a": 1}), "unexpected keyword argument 'c'"),
            (vec![json!(1)], json!({"a": 1}), "multiple values for argument 'a'"),
            (vec![], json!({"b": "x"}), "missing a required argument: 'a'"),
            (vec![json!("one")], json!({}), "a: invalid type: string \"one\", expected i32"),
        ];
        for (args, kwargs, expected) in cases {
            let err = bind::<P>("m", &["a", "b"], args, kw(kwargs)).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }
}
