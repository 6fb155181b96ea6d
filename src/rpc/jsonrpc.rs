//! `POST /jsonrpc`: Odoo's classic envelope. `common.version`, `common.login` /
//! `authenticate`, and `object.execute_kw` with `[db, uid, key, model, method, args, kwargs]`.
//! Always HTTP 200; errors travel in the envelope.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::auth::client_for_key;
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
        (Some("common"), Some("login" | "authenticate")) => Ok(login(ctx, &args)),
        (Some("object"), Some("execute_kw")) => execute_kw(ctx, args).await,
        (Some("object"), Some("execute")) => {
            Err(AppError::BadRequest("object.execute is not served; use execute_kw".into()))
        }
        (service, method) => Err(AppError::NotFound(format!(
            "unknown service method {}.{}",
            service.unwrap_or("?"),
            method.unwrap_or("?")
        ))),
    }
}

/// What Odoo 19's `common.version` answers, plus the sidecar's own version.
pub fn version() -> Value {
    json!({
        "server_version": "19.0",
        "server_version_info": [19, 0, 0, "final", 0, ""],
        "server_serie": "19.0",
        "protocol_version": 1,
        "sidecar_version": env!("CARGO_PKG_VERSION"),
    })
}

/// `login(db, login, password)`: the key must belong to the client named `login`.
/// Answers a stable uid for that client, or `false`, as Odoo does.
fn login(ctx: &AppContext, args: &[Value]) -> Value {
    let (Some(login), Some(key)) = (args.get(1).and_then(Value::as_str), args.get(2).and_then(Value::as_str)) else {
        return Value::Bool(false);
    };
    match client_for_key(&ctx.settings.auth, key) {
        Some(client) if client == login => ctx
            .settings
            .auth
            .api_keys
            .keys()
            .position(|name| *name == client)
            .map_or(Value::Bool(false), |index| json!(index + 1)),
        _ => Value::Bool(false),
    }
}

async fn execute_kw(ctx: &AppContext, args: Vec<Value>) -> AppResult<Value> {
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
