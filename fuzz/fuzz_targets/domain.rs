//! Odoo domains as a caller sends them: parsed for every model, compiled to SQL, and
//! matched in memory (`ir.model`, `res.users`). Bad ones must be a `ValidationError`;
//! values must be bound, never spliced into the SQL.
#![no_main]

use dte_sidecar::error::AppError;
use dte_sidecar::rpc::meta;
use dte_sidecar::store::query::{compile_domain, parse_domain, parse_order};
use dte_sidecar::store::registry::MODELS;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    for model in MODELS {
        match parse_domain(model, &value) {
            Ok(domain) => {
                let (sql, binds) = compile_domain(&domain);
                assert!(!sql.contains('\'') && !sql.contains(';'), "a value reached the SQL text: {sql}");
                if binds > 0 {
                    assert!(sql.contains(&format!("${binds}")), "{binds} binds, not all placed: {sql}");
                }
                assert!(!sql.contains(&format!("${}", binds + 1)), "more placeholders than binds: {sql}");
            }
            Err(AppError::Validation(message)) => assert!(message.english().starts_with("domain: "), "{message}"),
            Err(other) => panic!("a bad domain gave {other:?}"),
        }
        if let Value::String(order) = &value {
            if let Ok(sql) = parse_order(model, order) {
                assert!(sql.chars().all(|c| c.is_ascii_alphanumeric() || " _,".contains(c)), "{sql}");
            }
        }
    }
    // The models served from memory take the same domains (and, as an object, any
    // keyword arguments) through Odoo's argument binding.
    for model in ["ir.model", "res.users"] {
        let (args, kwargs) = match &value {
            Value::Object(kwargs) => (Vec::new(), kwargs.clone()),
            domain => (vec![domain.clone()], Map::new()),
        };
        for method in ["search_read", "search", "search_count", "name_search"] {
            match meta::call(model, method, args.clone(), kwargs.clone(), "odoo", 1, 1000) {
                Ok(_) | Err(AppError::Validation(_)) => {}
                Err(other) => panic!("{model}.{method}: {other:?}"),
            }
        }
    }
});
