//! `POST /jsonrpc`: Odoo's classic envelope. `common.version`, `common.login` /
//! `authenticate`, and `object.execute_kw` with `[db, uid, key, model, method, args, kwargs]`
//! (or `object.execute` with the method's arguments after `method`).
//! Always HTTP 200; errors travel in the envelope.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::auth::{client_for_key, uid_of};
use super::body::{self, BodyLimits};
use super::dispatch::{dispatch, Call};
use super::respond::jsonrpc_error;
use crate::context::AppContext;
use crate::error::{AppError, AppResult};
use crate::message::Message;

pub async fn handle(ctx: web::Data<AppContext>, request: HttpRequest, payload: web::Payload) -> HttpResponse {
    // Its room in the memory budget is kept until the call is answered.
    let body = match body::read_bytes(payload, BodyLimits::from_settings(&ctx.settings.limits, &request)).await {
        Ok(body) => body,
        Err(e) => return HttpResponse::Ok().json(jsonrpc_error(Value::Null, &e)),
    };
    let body = &body.bytes[..];
    // The envelope is read over borrowed raw values: arguments become a JSON tree only
    // once the key has been checked, so an unauthenticated body costs no more than its bytes.
    let request: Envelope = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(_) => {
            let error = match serde_json::from_slice::<IgnoredAny>(body) {
                Ok(_) => AppError::BadRequest(Message::malformed("expected a JSON-RPC request object")),
                Err(e) => body::parse_error(e),
            };
            return HttpResponse::Ok().json(jsonrpc_error(Value::Null, &error));
        }
    };
    let id = request.id.and_then(|raw| serde_json::from_str(raw.get()).ok()).unwrap_or(Value::Null);
    match answer(&ctx, request).await {
        Ok(result) => HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "id": id, "result": result})),
        Err(e) => HttpResponse::Ok().json(jsonrpc_error(id, &e)),
    }
}

/// A JSON-RPC request whose parts stay raw slices of the body until they are needed.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Params<'a> {
    #[serde(default)]
    service: Option<Value>,
    #[serde(default)]
    method: Option<Value>,
    #[serde(borrow, default)]
    args: Option<&'a RawValue>,
}

fn raw_list<'a>(raw: Option<&'a RawValue>, what: &str) -> AppResult<Vec<&'a RawValue>> {
    match raw {
        None => Ok(Vec::new()),
        Some(raw) if raw.get() == "null" => Ok(Vec::new()),
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|_| AppError::BadRequest(Message::invalid_argument(what, "expected a list"))),
    }
}

fn tree(raw: Option<&RawValue>) -> Option<Value> {
    raw.and_then(|raw| serde_json::from_str(raw.get()).ok())
}

/// The arguments as JSON trees; large ones are parsed on a blocking thread. One that cannot
/// be read (nested past the parser's depth limit) is a `BadRequest`, not a missing value.
async fn trees(raws: Vec<&RawValue>) -> AppResult<Vec<Value>> {
    let size: usize = raws.iter().map(|raw| raw.get().len()).sum();
    if size <= body::SMALL_BODY_BYTES {
        return raws.iter().map(|raw| serde_json::from_str(raw.get()).map_err(body::parse_error)).collect();
    }
    let texts: Vec<String> = raws.iter().map(|raw| raw.get().to_owned()).collect();
    web::block(move || texts.iter().map(|text| serde_json::from_str(text)).collect::<serde_json::Result<Vec<Value>>>())
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("parse task failed: {e}")))?
        .map_err(body::parse_error)
}

async fn answer(ctx: &AppContext, request: Envelope<'_>) -> AppResult<Value> {
    let params: Params = match request.params {
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|_| AppError::BadRequest(Message::invalid_argument("params", "expected an object")))?,
        None => return Err(AppError::BadRequest(Message::invalid_argument("params", "expected an object"))),
    };
    let args = raw_list(params.args, "params.args")?;
    match (params.service.as_ref().and_then(Value::as_str), params.method.as_ref().and_then(Value::as_str)) {
        (Some("common"), Some("version")) => Ok(version()),
        (Some("common"), Some(method @ ("login" | "authenticate"))) => {
            // At most one argument more than Odoo takes is turned into a tree: the count is
            // what the error reports, the values past it are never needed.
            let args: Vec<Value> = args.iter().take(5).map(|raw| tree(Some(raw)).unwrap_or(Value::Null)).collect();
            login(ctx, method, &args)
        }
        (Some("object"), Some(method @ ("execute_kw" | "execute"))) => execute_kw(ctx, method, args).await,
        (service, method) => Err(AppError::NotFound(Message::no_such_service(format!(
            "{}.{}",
            service.unwrap_or("?"),
            method.unwrap_or("?")
        )))),
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
pub async fn version_info(ctx: web::Data<AppContext>, request: HttpRequest, payload: web::Payload) -> HttpResponse {
    let id = match body::read_json(payload, BodyLimits::from_settings(&ctx.settings.limits, &request)).await {
        Ok(body) => body.value.get("id").cloned().unwrap_or(Value::Null),
        Err(e) => return HttpResponse::Ok().json(jsonrpc_error(Value::Null, &e)),
    };
    HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "id": id, "result": version()}))
}

/// `login(db, login, password)` and `authenticate(db, login, password, user_agent_env)`:
/// the key must belong to the client named `login`. Answers that client's uid, or
/// `false`, as Odoo does; the database name is not checked (the sidecar has one).
pub(super) fn login(ctx: &AppContext, method: &str, args: &[Value]) -> AppResult<Value> {
    let arity = if method == "login" { 3 } else { 4 };
    if args.len() != arity {
        return Err(AppError::validation(Message::too_many_arguments(format!("exp_{method}"), arity, args.len())));
    }
    let (Some(login), Some(key)) = (args.get(1).and_then(Value::as_str), args.get(2).and_then(Value::as_str)) else {
        return Ok(Value::Bool(false));
    };
    Ok(match client_for_key(&ctx.settings.auth, key) {
        Some(client) if client == login => uid_of(&ctx.settings.auth, &client).map_or(Value::Bool(false), Value::from),
        _ => Value::Bool(false),
    })
}

/// `execute_kw(db, uid, key, model, method, args, kwargs=None)` and
/// `execute(db, uid, key, model, method, *args)`. The key is checked before any argument
/// becomes a JSON tree.
async fn execute_kw(ctx: &AppContext, service_method: &str, args: Vec<&RawValue>) -> AppResult<Value> {
    let key: Option<String> = args.get(2).and_then(|raw| serde_json::from_str(raw.get()).ok());
    let client = key.and_then(|key| client_for_key(&ctx.settings.auth, &key)).ok_or(AppError::AccessDenied)?;
    let rest = trees(args.into_iter().skip(3).collect()).await?;
    execute(ctx, service_method, client, rest).await
}

/// The same call with its arguments already read (the XML-RPC door).
pub(super) async fn execute_values(ctx: &AppContext, service_method: &str, args: Vec<Value>) -> AppResult<Value> {
    let key = args.get(2).and_then(Value::as_str);
    let client = key.and_then(|key| client_for_key(&ctx.settings.auth, key)).ok_or(AppError::AccessDenied)?;
    execute(ctx, service_method, client, args.into_iter().skip(3).collect()).await
}

/// `[model, method, args, kwargs]` (or `[model, method, *args]` for `execute`) of a client
/// whose key was checked.
async fn execute(ctx: &AppContext, service_method: &str, client: String, rest: Vec<Value>) -> AppResult<Value> {
    let mut args = rest.into_iter();
    let model = args.next().and_then(|v| v.as_str().map(str::to_string));
    let method = args.next().and_then(|v| v.as_str().map(str::to_string));
    let (Some(model), Some(method)) = (model, method) else {
        return Err(AppError::BadRequest(Message::malformed(
            "execute_kw needs [db, uid, key, model, method, args, kwargs]",
        )));
    };
    if service_method == "execute" {
        let positional = args.collect();
        return dispatch(ctx, Call { model, method, args: positional, kwargs: serde_json::Map::new(), client }).await;
    }
    let positional = match args.next() {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(AppError::field("args", "expected a list")),
    };
    let kwargs = match args.next() {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(AppError::field("kwargs", "expected a dict")),
    };
    if args.next().is_some() {
        return Err(AppError::validation(Message::too_many_arguments("execute_kw", 7, 8)));
    }
    dispatch(ctx, Call { model, method, args: positional, kwargs, client }).await
}
