//! apalis-board for admins: the retry, status and sweep queues, on a listener of its own
//! behind HTTP basic authentication (the board's own endpoints would otherwise let
//! anyone queue jobs).

use std::net::TcpListener;

use actix_web::dev::{Server, ServiceRequest};
use actix_web::{web, App, HttpServer};
use actix_web_httpauth::extractors::basic::BasicAuth;
use actix_web_httpauth::middleware::HttpAuthentication;
use apalis_board::actix::framework::{ApiBuilder, RegisterRoute};
use apalis_board::actix::ui::ServeUI;
use apalis_postgres::{PgPool, PostgresStorage};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{config, PollStatus, RetryUpload, POLL_QUEUE, RETRY_QUEUE, SWEEP_QUEUE};
use crate::settings::AdminSettings;

#[derive(Clone)]
struct Credentials {
    user: [u8; 32],
    password: [u8; 32],
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

async fn check(request: ServiceRequest, auth: BasicAuth) -> Result<ServiceRequest, (actix_web::Error, ServiceRequest)> {
    let allowed = request.app_data::<web::Data<Credentials>>().is_some_and(|expected| {
        let user = digest(auth.user_id());
        let password = digest(auth.password().unwrap_or_default());
        bool::from(user.ct_eq(&expected.user) & password.ct_eq(&expected.password))
    });
    if allowed {
        Ok(request)
    } else {
        Err((actix_web::error::ErrorUnauthorized("authentication required"), request))
    }
}

pub fn start(settings: &AdminSettings, pool: PgPool, listener: TcpListener) -> std::io::Result<Server> {
    let credentials = web::Data::new(Credentials {
        user: digest(&settings.board_user),
        password: digest(settings.board_password.expose()),
    });
    Ok(HttpServer::new(move || {
        let api = ApiBuilder::new(actix_web::Scope::new("/api/v1"))
            .register(RETRY_QUEUE, PostgresStorage::<RetryUpload>::new(&pool).with_config(config(RETRY_QUEUE)))
            .register(POLL_QUEUE, PostgresStorage::<PollStatus>::new(&pool).with_config(config(POLL_QUEUE)))
            .register(SWEEP_QUEUE, PostgresStorage::<apalis_cron::Tick>::new(&pool).with_config(config(SWEEP_QUEUE)))
            .build();
        App::new()
            .app_data(credentials.clone())
            // Without it `/api/v1/events` answers 500 and the board says "Unhealthy".
            .app_data(web::Data::new(crate::telemetry::board_events()))
            .wrap(HttpAuthentication::basic(check))
            .service(api)
            .service(ServeUI::new())
    })
    .workers(1)
    .listen(listener)?
    .run())
}
