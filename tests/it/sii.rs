//! The SII client against the simulator over real HTTP: the whole handshake, the
//! simulator's refusals in the SII's words, and every fault mapped to its class.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use crate::common::engine::{caf, request, schemas, signer, stamped_at, test_trust};
use actix_web::web::Bytes;
use chrono::TimeDelta;

use dte_sidecar::clock::ManualClock;
use dte_sidecar::dte::{build_envio, build_signed_dte, Caratula, DteType, Resolution, Rut, SignedDte};
use dte_sidecar::sii::client::{ClientConfig, DocumentQuery, SiiClient};
use dte_sidecar::sii::simulator::faults::{FaultMode, Faults};
use dte_sidecar::sii::simulator::state::Outcome;
use dte_sidecar::sii::simulator::{Simulator, SimulatorConfig};
use dte_sidecar::sii::{DocumentPresence, ErrorClass, UploadState, Verdict};

const COMPANY: &str = "76000001-9";

struct Sii {
    sim: Simulator,
    client: SiiClient,
    clock: ManualClock,
    signer: Arc<dte_sidecar::dte::Signer>,
    base: String,
    admin: String,
}

async fn start_sii(timeout: Duration) -> Sii {
    let clock = ManualClock::new(stamped_at());
    let config = SimulatorConfig { processing_delay: TimeDelta::seconds(30), ..SimulatorConfig::default() };
    let sim = Simulator::new(config, Arc::new(clock.clone()), Arc::new(schemas()), Arc::new(test_trust()));
    let sii_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let admin_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", sii_listener.local_addr().unwrap());
    let admin = format!("http://{}", admin_listener.local_addr().unwrap());
    actix_rt::spawn(sim.clone().serve(sii_listener, admin_listener));
    let client = SiiClient::start(ClientConfig {
        base_url: base.clone(),
        connect_timeout: timeout,
        request_timeout: timeout,
        token_ttl: Duration::from_secs(3000),
        max_calls_per_minute: 0,
    })
    .unwrap();
    wait_until_listening(&base).await;
    Sii { sim, client, clock, signer: Arc::new(signer()), base, admin }
}

/// Waits for the simulator's listener to accept (or, with `open = false`, to refuse).
async fn wait_for_listener(base: &str, open: bool) {
    let address = base.trim_start_matches("http://").to_string();
    for _ in 0..500 {
        if std::net::TcpStream::connect(&address).is_ok() == open {
            return;
        }
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the simulator's listener did not become {}", if open { "open" } else { "closed" });
}

async fn wait_until_listening(base: &str) {
    wait_for_listener(base, true).await;
}

fn signed_dte(document_type: DteType, folio: i64) -> SignedDte {
    build_signed_dte(&request(document_type), folio, &caf(document_type), &signer(), &schemas(), stamped_at()).unwrap()
}

fn envelope(documents: &[SignedDte], seconds: i64) -> Vec<u8> {
    let issuer = Rut::parse(COMPANY).unwrap();
    let resolution = Resolution { number: 0, date: chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap() };
    let caratula = Caratula::for_sii(issuer, resolution).unwrap();
    build_envio(documents, &caratula, &signer(), &schemas(), stamped_at() + TimeDelta::seconds(seconds)).unwrap()
}

fn company() -> Rut {
    Rut::parse(COMPANY).unwrap()
}

#[actix_rt::test]
async fn seed_token_upload_and_status_over_real_http() {
    let sii = start_sii(Duration::from_secs(5)).await;
    let dte = signed_dte(DteType::Factura, 1);
    let receipt =
        sii.client.upload(&sii.signer, company(), Bytes::from(envelope(std::slice::from_ref(&dte), 0))).await.unwrap();
    assert_eq!(receipt.track_id.len(), 10, "track ids keep their zeros: {}", receipt.track_id);

    // Not processed yet: the SII says so, and the client calls it pending.
    let pending = sii.client.upload_state(&sii.signer, company(), &receipt.track_id).await.unwrap_err();
    assert_eq!((pending.class, pending.code.as_str()), (ErrorClass::Pending, "SOK"));
    sii.clock.advance(TimeDelta::seconds(31));
    let state = sii.client.upload_state(&sii.signer, company(), &receipt.track_id).await.unwrap();
    let UploadState::Processed(counts) = state else { panic!("{state:?}") };
    assert_eq!((counts[0].dte_type, counts[0].informed, counts[0].accepted), (33, 1, 1));

    let query = |folio: i64, total: i64| DocumentQuery {
        issuer: company(),
        receiver: dte.receiver_rut,
        dte_type: 33,
        folio,
        issue_date: dte.issue_date,
        total,
    };
    assert!(matches!(
        sii.client.document_state(&sii.signer, &query(1, dte.total)).await.unwrap(),
        DocumentPresence::Received { code, .. } if code == "DOK"
    ));
    assert!(matches!(
        sii.client.document_state(&sii.signer, &query(1, dte.total + 1)).await.unwrap(),
        DocumentPresence::Received { code, .. } if code == "DNK"
    ));
    assert_eq!(
        sii.client.document_state(&sii.signer, &query(2, dte.total)).await.unwrap(),
        DocumentPresence::NotReceived
    );
    assert_eq!(sii.sim.arrivals(COMPANY, 33, 1), 1);
}

#[actix_rt::test]
async fn the_simulator_accepts_the_engines_envelope_and_refuses_a_tampered_copy() {
    let sii = start_sii(Duration::from_secs(5)).await;
    let documents: Vec<SignedDte> =
        [DteType::Factura, DteType::FacturaExenta, DteType::GuiaDespacho, DteType::NotaDebito, DteType::NotaCredito]
            .into_iter()
            .map(|t| signed_dte(t, 7))
            .collect();
    let genuine = envelope(&documents, 0);
    sii.client.upload(&sii.signer, company(), Bytes::from(genuine.clone())).await.expect("all five types accepted");

    // One amount changed: every signature over it breaks → STATUS 8.
    let text = String::from_utf8_lossy(&genuine).into_owned();
    let total = format!("<MntTotal>{}</MntTotal>", documents[0].total);
    assert!(text.contains(&total));
    let tampered = text.replacen(&total, &format!("<MntTotal>{}</MntTotal>", documents[0].total + 1), 1);
    let err = sii.client.upload(&sii.signer, company(), Bytes::from(latin1(&tampered))).await.unwrap_err();
    assert_eq!((err.class, err.code.as_str()), (ErrorClass::Permanent, "STATUS 8"), "{err}");
    assert!(err.message.contains("signature"), "{err}");

    // Not valid against the schema → STATUS 7.
    let broken = text.replacen("<TipoDTE>33</TipoDTE>", "<TipoDTE>33</TipoDTE><Bogus/>", 1);
    let err = sii.client.upload(&sii.signer, company(), Bytes::from(latin1(&broken))).await.unwrap_err();
    assert_eq!((err.class, err.code.as_str()), (ErrorClass::Permanent, "STATUS 7"), "{err}");

    // The same envelope again: STATUS 99 and the first track id; nothing counted twice.
    let err = sii.client.upload(&sii.signer, company(), Bytes::from(genuine)).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Duplicate);
    assert!(err.earlier_track_id.is_some());
    assert_eq!(sii.sim.arrivals(COMPANY, 33, 7), 1);

    // The folio in a new envelope: received, then rejected as a repeat.
    let receipt = sii.client.upload(&sii.signer, company(), Bytes::from(envelope(&documents[..1], 60))).await.unwrap();
    assert_eq!(sii.sim.arrivals(COMPANY, 33, 7), 2);
    sii.clock.advance(TimeDelta::minutes(5));
    let UploadState::Processed(counts) =
        sii.client.upload_state(&sii.signer, company(), &receipt.track_id).await.unwrap()
    else {
        panic!()
    };
    assert_eq!((counts[0].informed, counts[0].rejected), (1, 1));
}

#[actix_rt::test]
async fn scripted_verdicts_come_back_per_type() {
    let sii = start_sii(Duration::from_secs(5)).await;
    sii.sim.script(COMPANY, 33, 2, Outcome::Reject);
    sii.sim.script(COMPANY, 33, 3, Outcome::Objected);
    let documents: Vec<SignedDte> = (1..=3).map(|f| signed_dte(DteType::Factura, f)).collect();
    let receipt = sii.client.upload(&sii.signer, company(), Bytes::from(envelope(&documents, 0))).await.unwrap();
    sii.clock.advance(TimeDelta::minutes(1));
    let UploadState::Processed(counts) =
        sii.client.upload_state(&sii.signer, company(), &receipt.track_id).await.unwrap()
    else {
        panic!()
    };
    assert_eq!((counts[0].informed, counts[0].accepted, counts[0].rejected, counts[0].objected), (3, 1, 1, 1));
    let _ = Verdict::Accepted;
}

#[actix_rt::test]
async fn no_token_is_status_5_and_an_expired_token_is_renewed() {
    let sii = start_sii(Duration::from_secs(5)).await;
    let body = envelope(&[signed_dte(DteType::Factura, 9)], 0);
    // A raw upload without the TOKEN cookie.
    let boundary = "xyz";
    let mut form = Vec::new();
    for (name, value) in [("rutSender", "11111111"), ("dvSender", "1"), ("rutCompany", "76000001"), ("dvCompany", "9")]
    {
        form.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    form.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"archivo\"; filename=\"e.xml\"\r\n\
             Content-Type: text/xml\r\n\r\n"
        )
        .as_bytes(),
    );
    form.extend_from_slice(&body);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut response = awc::Client::default()
        .post(format!("{}/cgi_dte/UPL/DTEUpload", sii.base))
        .insert_header(("Content-Type", format!("multipart/form-data; boundary={boundary}")))
        .send_body(form)
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&response.body().await.unwrap()).into_owned();
    assert!(answer.contains("<STATUS>5</STATUS>"), "{answer}");

    let first = sii.client.token(&sii.signer).await.unwrap();
    assert_eq!(sii.client.token(&sii.signer).await.unwrap(), first, "the token is cached");
    sii.sim.expire_tokens();
    sii.client
        .upload(&sii.signer, company(), Bytes::from(body))
        .await
        .expect("the client authenticates again and uploads");
    assert_ne!(sii.client.token(&sii.signer).await.unwrap(), first);
}

#[actix_rt::test]
async fn every_fault_gives_its_class() {
    let sii = start_sii(Duration::from_secs(1)).await;
    let body = Bytes::from(envelope(&[signed_dte(DteType::Factura, 11)], 0));
    // Obtain a token first so upload faults are about the upload.
    sii.client.token(&sii.signer).await.unwrap();
    let cases: &[(FaultMode, ErrorClass, &str, &str)] = &[
        (FaultMode::Hang, ErrorClass::Transient, "timeout", "timeout"),
        (FaultMode::Refuse, ErrorClass::Transient, "connection", "connection"),
        (FaultMode::Http500, ErrorClass::Transient, "http-500", "unavailable"),
        (FaultMode::Error500Text, ErrorClass::Transient, "unreadable", "unavailable"),
        (FaultMode::Html, ErrorClass::Transient, "unreadable", "unavailable"),
        (FaultMode::UploadStatus3, ErrorClass::Transient, "STATUS 3", "unavailable"),
        (FaultMode::UploadStatus5, ErrorClass::Auth, "STATUS 5", "certificate"),
        (FaultMode::UploadStatus9, ErrorClass::Transient, "STATUS 9", "unavailable"),
    ];
    for (mode, class, code, error_type) in cases {
        sii.sim.set_faults(Faults {
            mode: *mode,
            hang_secs: 3,
            only: vec![
                dte_sidecar::sii::simulator::faults::Endpoint::Upload,
                dte_sidecar::sii::simulator::faults::Endpoint::Seed,
            ],
            ..Faults::default()
        });
        if *mode == FaultMode::Refuse {
            wait_for_listener(&sii.base, false).await;
        }
        let err = sii.client.upload(&sii.signer, company(), body.clone()).await.unwrap_err();
        assert_eq!((err.class, err.code.as_str(), err.error_type()), (*class, *code, *error_type), "{mode:?}: {err}");
        sii.sim.set_faults(Faults::default());
        wait_until_listening(&sii.base).await;
    }
    // Expired tokens: status queries answer 001, renewal keeps failing → auth.
    sii.sim.set_faults(Faults { mode: FaultMode::TokenExpired, ..Faults::default() });
    let err = sii.client.upload_state(&sii.signer, company(), "0000000001").await.unwrap_err();
    assert_eq!((err.class, err.code.as_str()), (ErrorClass::Auth, "001"), "{err}");
    // Latency alone is no failure.
    sii.sim.set_faults(Faults { latency_ms: 100, ..Faults::default() });
    sii.client.upload(&sii.signer, company(), body).await.expect("slow but fine");
}

#[actix_rt::test]
async fn an_outage_window_refuses_then_recovers() {
    let sii = start_sii(Duration::from_secs(1)).await;
    let outage = awc::Client::default()
        .post(format!("{}/outage", sii.admin))
        .send_json(&serde_json::json!({"seconds": 600, "mode": "refuse"}))
        .await
        .unwrap();
    assert!(outage.status().is_success());
    wait_for_listener(&sii.base, false).await;
    let err = sii.client.token(&sii.signer).await.unwrap_err();
    assert_eq!(err.error_type(), "connection");
    sii.clock.advance(TimeDelta::minutes(11));
    wait_until_listening(&sii.base).await;
    sii.client.token(&sii.signer).await.expect("the SII is back");
}

#[actix_rt::test]
async fn random_failures_are_reproducible_from_the_seed() {
    let sii = start_sii(Duration::from_secs(2)).await;
    sii.client.token(&sii.signer).await.unwrap();
    let run = |seed: u64| {
        let sii = &sii;
        async move {
            sii.sim.set_faults(Faults {
                failure_rate: 0.5,
                seed,
                only: vec![dte_sidecar::sii::simulator::faults::Endpoint::UploadState],
                ..Faults::default()
            });
            let mut outcomes = Vec::new();
            for _ in 0..20 {
                let outcome = sii.client.upload_state(&sii.signer, company(), "0000000001").await;
                outcomes.push(outcome.map_err(|e| e.code).err().unwrap_or_default());
            }
            outcomes
        }
    };
    let first = run(7).await;
    assert_eq!(first, run(7).await);
    assert!(first.iter().any(|c| c == "http-500") && first.iter().any(|c| c != "http-500"), "{first:?}");
}

fn latin1(text: &str) -> Vec<u8> {
    text.chars().map(|c| c as u32 as u8).collect()
}
