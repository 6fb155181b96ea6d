//! The SII client: uploads per second through client + simulator at zero latency (the
//! simulator checks schema, signatures, TED and CAF of every upload), and the client's own
//! cost per call, measured against a server that answers at once without looking.
//! Run: `cargo bench --bench sii_upload`.

// A benchmark reads its own set-up: a failure there may panic, and stops the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../tests/it/common/engine.rs"]
mod engine;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use actix_web::{web, App, HttpResponse, HttpServer};
use futures::stream::{self, StreamExt};

use dte_sidecar::clock::SystemClock;
use dte_sidecar::dte::{build_envio, build_signed_dte, Caratula, DteType, Resolution, Rut};
use dte_sidecar::sii::client::{ClientConfig, SiiClient};
use dte_sidecar::sii::simulator::{Simulator, SimulatorConfig};
use dte_sidecar::sii::{soap, PATH_SEED, PATH_TOKEN, PATH_UPLOAD};

const UPLOADS: usize = 1000;
const CONCURRENCY: usize = 8;

fn client(base: String) -> SiiClient {
    SiiClient::start(ClientConfig {
        base_url: base,
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(30),
        token_ttl: Duration::from_secs(3000),
        max_calls_per_minute: 0,
    })
    .expect("client")
}

/// Answers like the SII at once: a seed, a token, and STATUS 0 for any upload.
fn instant_sii(listener: TcpListener) -> actix_web::dev::Server {
    let answer = |operation: &'static str, path: &'static str, field: &'static str, value: &'static str| {
        move || async move {
            let inner = format!(
                "<SII:RESPUESTA xmlns:SII=\"http://www.sii.cl/XMLSchema\"><SII:RESP_BODY><{field}>{value}</{field}>\
                 </SII:RESP_BODY><SII:RESP_HDR><ESTADO>00</ESTADO></SII:RESP_HDR></SII:RESPUESTA>"
            );
            HttpResponse::Ok().body(soap::response(path, operation, &inner))
        }
    };
    HttpServer::new(move || {
        App::new()
            .route(PATH_SEED, web::post().to(answer("getSeed", PATH_SEED, "SEMILLA", "012345678901")))
            .route(PATH_TOKEN, web::post().to(answer("getToken", PATH_TOKEN, "TOKEN", "ABCDEF")))
            .route(
                PATH_UPLOAD,
                web::post().to(|| async {
                    HttpResponse::Ok().body(
                        "<?xml version=\"1.0\"?><RECEPCIONDTE><STATUS>0</STATUS><TRACKID>0000000001</TRACKID>\
                     </RECEPCIONDTE>",
                    )
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run()
}

async fn run(client: &SiiClient, signer: &Arc<dte_sidecar::dte::Signer>, envelopes: &[Bytes]) -> (f64, Duration) {
    let company = Rut::parse("76000001-9").unwrap();
    client.token(signer).await.expect("token");
    let started = Instant::now();
    stream::iter(envelopes.iter().cloned())
        .for_each_concurrent(CONCURRENCY, |envelope| async move {
            client.upload(signer, company, envelope).await.expect("upload");
        })
        .await;
    let elapsed = started.elapsed();
    (envelopes.len() as f64 / elapsed.as_secs_f64(), elapsed / envelopes.len() as u32)
}

fn main() {
    // One-document envelopes, each with its own folio, built before timing.
    let schemas = engine::schemas();
    let signer = Arc::new(engine::signer());
    let caf = engine::caf(DteType::Factura);
    let caratula = Caratula::for_sii(
        Rut::parse("76000001-9").unwrap(),
        Resolution { number: 0, date: chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap() },
    )
    .unwrap();
    let request = engine::request(DteType::Factura);
    let envelopes: Vec<Bytes> = (1..=UPLOADS as i64)
        .map(|folio| {
            let folio = (folio - 1) % 100 + 1;
            let dte = build_signed_dte(&request, folio, &caf, &signer, &schemas, engine::stamped_at()).unwrap();
            let at = engine::stamped_at() + chrono::TimeDelta::seconds(folio * 1000 + rand_offset());
            Bytes::from(build_envio(&[dte], &caratula, &signer, &schemas, at).unwrap())
        })
        .collect();
    actix_rt::System::new().block_on(async {
        let sim = Simulator::new(
            SimulatorConfig::default(),
            Arc::new(SystemClock),
            Arc::new(engine::schemas()),
            Arc::new(engine::test_trust()),
        );
        let sii = TcpListener::bind("127.0.0.1:0").unwrap();
        let admin = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", sii.local_addr().unwrap());
        actix_rt::spawn(sim.serve(sii, admin));
        actix_rt::time::sleep(Duration::from_millis(200)).await;
        let (rate, each) = run(&client(base), &signer, &envelopes).await;
        println!(
            "client + simulator (full verification of each upload), {CONCURRENCY} in flight: \
             {rate:.0} uploads/s ({:.2} ms per upload)",
            each.as_secs_f64() * 1e3
        );

        let instant = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", instant.local_addr().unwrap());
        actix_rt::spawn(instant_sii(instant));
        actix_rt::time::sleep(Duration::from_millis(200)).await;
        let (rate, each) = run(&client(base), &signer, &envelopes).await;
        println!(
            "client against a server that answers at once: {rate:.0} uploads/s \
             ({:.3} ms per call: multipart body, HTTP, answer parsing)",
            each.as_secs_f64() * 1e3
        );
    });
}

/// Distinct envelope timestamps, so that no two envelopes are the same file.
fn rand_offset() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static NEXT: AtomicI64 = AtomicI64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
