//! The HTTP server: wiring only.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::json;

use crate::context::AppContext;
use crate::rpc;

/// Routes of the service; shared by `serve` and the tests.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(crate::flows::gauges::render))
        .configure(rpc::config);
}

/// Starts serving on `listener`; the returned server runs until stopped.
pub fn start(ctx: AppContext, listener: TcpListener) -> std::io::Result<Server> {
    let workers = match ctx.settings.server.workers {
        0 => std::thread::available_parallelism().map_or(2, usize::from),
        n => n,
    };
    let shutdown = ctx.settings.server.shutdown_timeout_secs;
    crate::telemetry::metrics();
    let data = web::Data::new(ctx);
    let server = HttpServer::new(move || {
        App::new().app_data(data.clone()).wrap(tracing_actix_web::TracingLogger::default()).configure(configure)
    })
    .workers(workers)
    .shutdown_timeout(shutdown)
    .client_request_timeout(Duration::from_secs(30))
    .listen(listener)?
    .run();
    Ok(server)
}

/// Alive: the process answers.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready: the database answers and its schema is current.
async fn readyz(ctx: web::Data<AppContext>) -> HttpResponse {
    if ctx.db.ready().await {
        HttpResponse::Ok().json(json!({"status": "ready"}))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({"status": "not ready"}))
    }
}
