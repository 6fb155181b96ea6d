//! `POST /json/2/<model>/<method>`: Odoo 19's face. `Authorization: bearer <key>`, a
//! JSON object of named arguments (`ids` and `context` included), the bare result, and
//! HTTP status codes for errors.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::auth::client_for_key;
use super::body::{self, BodyLimits};
use super::dispatch::{dispatch, Call};
use super::respond::error_data;
use crate::context::AppContext;
use crate::error::{AppError, AppResult};
use crate::message::Message;

pub async fn handle(
    ctx: web::Data<AppContext>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> HttpResponse {
    let (model, method) = path.into_inner();
    match answer(&ctx, &request, model, method, payload).await {
        Ok(result) => HttpResponse::Ok().json(result),
        Err(e) => error_response(&e),
    }
}

async fn answer(
    ctx: &AppContext,
    request: &HttpRequest,
    model: String,
    method: String,
    payload: web::Payload,
) -> AppResult<Value> {
    let client =
        bearer_key(request).and_then(|key| client_for_key(&ctx.settings.auth, key)).ok_or(AppError::AccessDenied)?;
    // `json` keeps the body's room in the memory budget until the call is answered.
    let json = body::read_json(payload, BodyLimits::from_settings(&ctx.settings.limits, request)).await?;
    let kwargs = match json.value {
        Value::Object(map) => map,
        _ => return Err(AppError::BadRequest(Message::malformed("expected a JSON object of named arguments"))),
    };
    dispatch(ctx, Call { model, method, args: Vec::new(), kwargs, client }).await
}

fn bearer_key(request: &HttpRequest) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(key)
}

pub fn error_response(error: &AppError) -> HttpResponse {
    let status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    match error {
        AppError::AccessDenied => {
            response.insert_header((header::WWW_AUTHENTICATE, "bearer"));
        }
        AppError::Unavailable(_) => {
            response.insert_header((header::RETRY_AFTER, crate::error::RETRY_AFTER_SECS.to_string()));
        }
        _ => {}
    }
    response.json(error_data(error))
}

/// Any other path under `/json/2`.
pub async fn not_found() -> HttpResponse {
    error_response(&AppError::NotFound(Message::not_served("this path under /json/2 (POST /json/2/<model>/<method>)")))
}

/// `/doc-bearer/...`: Odoo's API documentation (the api_doc module) is not served.
pub async fn no_api_doc() -> HttpResponse {
    error_response(&AppError::NotFound(Message::not_served("Odoo's API documentation (/doc-bearer)")))
}
