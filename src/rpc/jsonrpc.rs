//! `POST /jsonrpc`: Odoo's classic envelope. `common.version`, `common.login` /
//! `authenticate`, and `object.execute_kw` with `[db, uid, key, model, method, args, kwargs]`
//! (or `object.execute` with the method's arguments after `method`).
//! Always HTTP 200; errors travel in the envelope.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::auth::{client_for_key, uid_of};
use super::body;
use super::dispatch::{dispatch, Call};
use super::respond::jsonrpc_error;
use crate::context::AppContext;
use crate::error::{AppError, AppResult};

pub async fn handle(ctx: web::Data<AppContext>, payload: web::Payload) -> HttpResponse {
    let request = match body::read_json(payload, ctx.settings.limits.max_body_bytes).await {
        Ok(value) => value,
        Err(e) => return HttpResponse::Ok().json(jsonrpc_error(Value::Null, &e)),
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    match answer(&ctx, request).await {
        Ok(result) => HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "id": id, "result": result})),
        Err(e) => HttpResponse::Ok().json(jsonrpc_error(id, &e)),
    }
}

async fn answer(ctx: &AppContext, request: Value) -> AppResult<Value> {
    let Value::Object(mut request) = request else {
        return Err(AppError::BadRequest("expected a JSON-RPC request object".into()));
    };
    let Some(Value::Object(mut params)) = request.remove("params") else {
        return Err(AppError::BadRequest("params: expected an object".into()));
    };
    let service = params.remove("service");
    let method = params.remove("method");
    let args = match params.remove("args") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(args)) => args,
        Some(_) => return Err(AppError::BadRequest("params.args: expected a list".into())),
    };
    match (service.as_ref().and_then(Value::as_str), method.as_ref().and_then(Value::as_str)) {
        (Some("common"), Some("version")) => Ok(version()),
        (Some("common"), Some(method @ ("login" | "authenticate"))) => login(ctx, method, &args),
        (Some("object"), Some(method @ ("execute_kw" | "execute"))) => execute_kw(ctx, method, args).await,
        (service, method) => Err(AppError::NotFound(format!(
            "unknown service method {}.{}",
            service.unwrap_or("?"),
            method.unwrap_or("?")
        ))),
    }
}

/// What Odoo 19's `common.version` answers.
pub fn version() -> Value {
    json!({
        "server_version": "19.0",
        "server_version_info": [19, 0, 0, "final", 0, ""],
        "server_serie": "19.0",
        "protocol_version": 1,
    })
}

/// `POST /web/webclient/version_info`, which some clients ask first: the same answer
/// in a JSON-RPC envelope.
pub async fn version_info(ctx: web::Data<AppContext>, payload: web::Payload) -> HttpResponse {
    let id = match body::read_json(payload, ctx.settings.limits.max_body_bytes).await {
        Ok(request) => request.get("id").cloned().unwrap_or(Value::Null),
        Err(e) => return HttpResponse::Ok().json(jsonrpc_error(Value::Null, &e)),
    };
    HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "id": id, "result": version()}))
}

/// `login(db, login, password)` and `authenticate(db, login, password, user_agent_env)`:
/// the key must belong to the client named `login`. Answers that client's uid, or
/// `false`, as Odoo does; the database name is not checked (the sidecar has one).
fn login(ctx: &AppContext, method: &str, args: &[Value]) -> AppResult<Value> {
    let arity = if method == "login" { 3 } else { 4 };
    if args.len() != arity {
        return Err(AppError::validation(format!(
            "exp_{method}() takes {arity} positional arguments but {} were given",
            args.len()
        )));
    }
    let (Some(login), Some(key)) = (args[1].as_str(), args[2].as_str()) else {
        return Ok(Value::Bool(false));
    };
    Ok(match client_for_key(&ctx.settings.auth, key) {
        Some(client) if client == login => uid_of(&ctx.settings.auth, &client).map_or(Value::Bool(false), Value::from),
        _ => Value::Bool(false),
    })
}

/// `execute_kw(db, uid, key, model, method, args, kwargs=None)` and
/// `execute(db, uid, key, model, method, *args)`.
async fn execute_kw(ctx: &AppContext, service_method: &str, args: Vec<Value>) -> AppResult<Value> {
    let mut args = args.into_iter();
    let (_db, _uid, key) = (args.next(), args.next(), args.next());
    let client = key
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|key| client_for_key(&ctx.settings.auth, key))
        .ok_or(AppError::AccessDenied)?;
    let model = args.next().and_then(|v| v.as_str().map(str::to_string));
    let method = args.next().and_then(|v| v.as_str().map(str::to_string));
    let (Some(model), Some(method)) = (model, method) else {
        return Err(AppError::BadRequest("execute_kw needs [db, uid, key, model, method, args, kwargs]".into()));
    };
    if service_method == "execute" {
        let positional = args.collect();
        return dispatch(ctx, Call { model, method, args: positional, kwargs: serde_json::Map::new(), client }).await;
    }
    let positional = match args.next() {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(AppError::validation("args: expected a list")),
    };
    let kwargs = match args.next() {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(AppError::validation("kwargs: expected a dict")),
    };
    if args.next().is_some() {
        return Err(AppError::BadRequest("execute_kw takes at most 7 arguments".into()));
    }
    dispatch(ctx, Call { model, method, args: positional, kwargs, client }).await
}
