//! A stand-in for the SII that speaks its protocol: CrSeed, GetTokenFromSeed (checks the
//! seed's signature and the certificate's RUT), DTEUpload (token cookie, multipart fields,
//! schema, every signature, TED and CAF), QueryEstUp and QueryEstDte. It refuses what the
//! SII refuses, in the SII's words: a schema error is STATUS 7, a bad signature STATUS 8,
//! no token STATUS 5. Faults are played on request (see [`faults`]); an admin listener of
//! its own reports what arrived and switches faults at run time.

pub mod caf_issuer;
pub mod faults;
pub mod state;

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_multipart::Multipart;
use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::TimeDelta;
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use self::faults::{Endpoint, FaultMode, FaultPlan, Faults, Outage};
use self::state::{DocumentKey, Outcome, SiiState};
use super::soap::{self, Respuesta};
use super::{Verdict, PATH_EST_DTE, PATH_EST_UP, PATH_SEED, PATH_TOKEN, PATH_UPLOAD};
use crate::clock::SharedClock;
use crate::dte::{self, CafTrust, DocumentKind, Rut, Schemas};

/// How the simulated SII behaves.
#[derive(Clone)]
pub struct SimulatorConfig {
    /// Time between an upload and its verdict in getEstUp (business time).
    pub processing_delay: TimeDelta,
    pub default_outcome: Outcome,
    pub token_ttl: TimeDelta,
    pub seed_ttl: TimeDelta,
    pub faults: Faults,
    /// The key the simulated SII signs CAFs with (and its IDK); none: it issues no CAFs.
    pub caf_key: Option<(i64, openssl::pkey::PKey<openssl::pkey::Private>)>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            processing_delay: TimeDelta::seconds(2),
            default_outcome: Outcome::Accept,
            token_ttl: TimeDelta::hours(1),
            seed_ttl: TimeDelta::minutes(2),
            faults: Faults::default(),
            caf_key: None,
        }
    }
}

struct Shared {
    config: SimulatorConfig,
    clock: SharedClock,
    state: Mutex<SiiState>,
    plan: Mutex<FaultPlan>,
    schemas: Arc<Schemas>,
    trust: Arc<CafTrust>,
}

/// A running simulator.
#[derive(Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Simulator {
    pub fn new(config: SimulatorConfig, clock: SharedClock, schemas: Arc<Schemas>, trust: Arc<CafTrust>) -> Self {
        let plan = FaultPlan::new(config.faults.clone());
        Self {
            shared: Arc::new(Shared { config, clock, state: Mutex::default(), plan: Mutex::new(plan), schemas, trust }),
        }
    }

    /// Serves the SII face on `sii` (closed while a `refuse` fault is on) and the admin
    /// face on `admin`. Runs until the admin server stops.
    pub async fn serve(self, sii: TcpListener, admin: TcpListener) -> std::io::Result<()> {
        let address = sii.local_addr()?;
        let controller = actix_rt::spawn(self.clone().keep_listener(sii, address));
        let admin_server = HttpServer::new({
            let sim = self.clone();
            move || App::new().app_data(web::Data::new(sim.clone())).configure(admin_routes)
        })
        .workers(1)
        .listen(admin)?
        .run();
        let result = admin_server.await;
        controller.abort();
        result
    }

    fn sii_server(&self, listener: TcpListener) -> std::io::Result<actix_web::dev::Server> {
        let sim = self.clone();
        Ok(HttpServer::new(move || App::new().app_data(web::Data::new(sim.clone())).configure(sii_routes))
            .workers(2)
            .shutdown_timeout(0)
            .listen(listener)?
            .run())
    }

    /// Opens and closes the SII listener as `refuse` faults come and go.
    async fn keep_listener(self, first: TcpListener, address: SocketAddr) {
        let mut listener = Some(first);
        let mut running: Option<ServerHandle> = None;
        loop {
            let refusing = lock(&self.shared.plan).refusing(self.shared.clock.now());
            match (&running, refusing) {
                (Some(handle), true) => {
                    handle.stop(false).await;
                    running = None;
                    tracing::info!("simulated SII refusing connections");
                }
                (None, false) => {
                    let bound = match listener.take() {
                        Some(l) => Ok(l),
                        None => TcpListener::bind(address),
                    };
                    match bound.and_then(|l| self.sii_server(l)) {
                        Ok(server) => {
                            running = Some(server.handle());
                            actix_rt::spawn(server);
                        }
                        Err(e) => tracing::warn!("simulated SII cannot listen again yet: {e}"),
                    }
                }
                _ => {}
            }
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn now(&self) -> crate::clock::Timestamp {
        self.shared.clock.now()
    }

    /// Plays the latency and the fault for a request; `Some` answers in its place.
    async fn fault(&self, endpoint: Endpoint) -> Option<HttpResponse> {
        self.play(endpoint).await.err()
    }

    /// As [`Simulator::fault`], passing on the faults a handler plays itself.
    #[allow(clippy::result_large_err)]
    async fn play(&self, endpoint: Endpoint) -> Result<FaultMode, HttpResponse> {
        match self.fault_answer(endpoint).await {
            (_, Some(answer)) => Err(answer),
            (mode, None) => Ok(mode),
        }
    }

    async fn fault_answer(&self, endpoint: Endpoint) -> (FaultMode, Option<HttpResponse>) {
        let (latency, hang, mode) = {
            let mut plan = lock(&self.shared.plan);
            let mode = plan.draw(endpoint, self.now());
            (plan.latency(), plan.hang(), mode)
        };
        if !latency.is_zero() {
            actix_rt::time::sleep(latency).await;
        }
        let answer = match mode {
            FaultMode::None | FaultMode::TokenExpired | FaultMode::AnswerLost => None,
            FaultMode::Hang => {
                actix_rt::time::sleep(hang).await;
                Some(HttpResponse::InternalServerError().content_type("text/html").body(ERROR_PAGE))
            }
            FaultMode::Refuse => Some(HttpResponse::ServiceUnavailable().force_close().finish()),
            FaultMode::Http500 => Some(HttpResponse::InternalServerError().content_type("text/html").body(ERROR_PAGE)),
            FaultMode::Error500Text => Some(HttpResponse::Ok().content_type("text/plain").body("Error 500")),
            FaultMode::Html => Some(HttpResponse::Ok().content_type("text/html").body(ERROR_PAGE)),
            FaultMode::UploadStatus3 | FaultMode::UploadStatus5 | FaultMode::UploadStatus9
                if endpoint == Endpoint::Upload =>
            {
                let status = match mode {
                    FaultMode::UploadStatus3 => "3",
                    FaultMode::UploadStatus5 => "5",
                    _ => "9",
                };
                Some(xml(recepcion("", "", status, None, &[])))
            }
            _ => None,
        };
        (mode, answer)
    }

    fn token_owner(&self, token: &str) -> Option<String> {
        if lock(&self.shared.plan).faults().mode == FaultMode::TokenExpired {
            return None;
        }
        lock(&self.shared.state).token_owner(token, self.now(), self.shared.config.token_ttl).map(str::to_string)
    }

    /// How many times the SII received a document (for tests and the crash drill).
    pub fn arrivals(&self, issuer_rut: &str, dte_type: u16, folio: i64) -> u32 {
        let key = DocumentKey { issuer_rut: issuer_rut.to_string(), dte_type, folio };
        lock(&self.shared.state).arrivals_of(&key).map_or(0, |a| a.count)
    }

    pub fn set_faults(&self, faults: Faults) {
        lock(&self.shared.plan).set(faults);
    }

    pub fn script(&self, issuer_rut: &str, dte_type: u16, folio: i64, outcome: Outcome) {
        lock(&self.shared.state).script(DocumentKey { issuer_rut: issuer_rut.into(), dte_type, folio }, outcome);
    }

    pub fn expire_tokens(&self) {
        lock(&self.shared.state).expire_tokens();
    }

    pub fn upload_count(&self) -> usize {
        lock(&self.shared.state).uploads().count()
    }
}

const ERROR_PAGE: &str = "<html><head><title>Error</title></head><body>Error 500</body></html>";

fn xml(body: String) -> HttpResponse {
    HttpResponse::Ok().content_type("text/xml; charset=ISO-8859-1").body(body)
}

fn soap_answer(path: &str, operation: &str, answer: &Respuesta) -> HttpResponse {
    HttpResponse::Ok().content_type("text/xml; charset=utf-8").body(soap::response(path, operation, &answer.to_xml()))
}

fn respuesta(header: &[(&str, &str)], body: &[(&str, String)]) -> Respuesta {
    Respuesta {
        header: header.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body: body.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
    }
}

fn sii_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH_SEED, web::post().to(get_seed))
        .route(PATH_TOKEN, web::post().to(get_token))
        .route(PATH_UPLOAD, web::post().to(upload))
        .route(PATH_EST_UP, web::post().to(get_est_up))
        .route(PATH_EST_DTE, web::post().to(get_est_dte));
}

/// The SOAP call's parameters, or the fault to answer with.
#[allow(clippy::result_large_err)]
fn soap_call(body: &[u8], expected: &str) -> Result<Vec<(String, String)>, HttpResponse> {
    match soap::parse_request(body) {
        Ok((operation, params)) if operation == expected => Ok(params),
        Ok((operation, _)) => Err(soap_fault(&format!("No such operation '{operation}'"))),
        Err(e) => Err(soap_fault(&e)),
    }
}

fn soap_fault(message: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::INTERNAL_SERVER_ERROR)
        .content_type("text/xml; charset=utf-8")
        .body(soap::fault(message))
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

async fn get_seed(sim: web::Data<Simulator>, body: web::Bytes) -> HttpResponse {
    if let Some(faulty) = sim.fault(Endpoint::Seed).await {
        return faulty;
    }
    if let Err(fault) = soap_call(&body, "getSeed") {
        return fault;
    }
    let seed = lock(&sim.shared.state).new_seed(sim.now());
    soap_answer(PATH_SEED, "getSeed", &respuesta(&[("ESTADO", "00")], &[("SEMILLA", seed)]))
}

async fn get_token(sim: web::Data<Simulator>, body: web::Bytes) -> HttpResponse {
    if let Some(faulty) = sim.fault(Endpoint::Token).await {
        return faulty;
    }
    let params = match soap_call(&body, "getToken") {
        Ok(params) => params,
        Err(fault) => return fault,
    };
    let request = param(&params, "pszXml").to_string();
    let verified = web::block(move || dte::verify_get_token_request(request.as_bytes())).await;
    let refuse = |estado: &str, glosa: &str| {
        soap_answer(PATH_TOKEN, "getToken", &respuesta(&[("ESTADO", estado), ("GLOSA", glosa)], &[]))
    };
    let verified = match verified {
        Ok(Ok(verified)) => verified,
        Ok(Err(e)) if e.field() == Some("signature") => return refuse("-07", "FIRMA NO VALIDA"),
        _ => return refuse("-03", "ERROR EN EL XML DE ENTRADA"),
    };
    let Some(rut) = verified.signer_rut else {
        return refuse("12", "CERTIFICADO NO TIENE RUT");
    };
    let now = sim.now();
    let mut state = lock(&sim.shared.state);
    if !state.take_seed(&verified.seed, now, sim.shared.config.seed_ttl) {
        return refuse("-02", "SEMILLA NO EXISTE O EXPIRADA");
    }
    let token = state.new_token(&rut.to_string(), now);
    soap_answer(PATH_TOKEN, "getToken", &respuesta(&[("ESTADO", "00"), ("GLOSA", "Token Creado")], &[("TOKEN", token)]))
}

fn recepcion(sender: &str, company: &str, status: &str, track_id: Option<&str>, errors: &[String]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\"?>\n<RECEPCIONDTE>\n<RUTSENDER>{}</RUTSENDER>\n<RUTCOMPANY>{}</RUTCOMPANY>\n\
         <FILE>EnvioDTE.xml</FILE>\n\
         <TIMESTAMP>{}</TIMESTAMP>\n<STATUS>{status}</STATUS>\n",
        soap::escape(sender),
        soap::escape(company),
        chrono::Utc::now().format("%Y-%m-%d %H:%M:%S")
    );
    if let Some(track_id) = track_id {
        out.push_str(&format!("<TRACKID>{track_id}</TRACKID>\n"));
    }
    if !errors.is_empty() {
        out.push_str("<DETAIL>\n");
        for error in errors.iter().take(20) {
            out.push_str(&format!("<ERROR>{}</ERROR>\n", soap::escape(error)));
        }
        out.push_str("</DETAIL>\n");
    }
    out.push_str("</RECEPCIONDTE>\n");
    out
}

fn cookie_token(request: &HttpRequest) -> Option<String> {
    request.cookie("TOKEN").map(|c| c.value().to_string())
}

/// The multipart form of an upload.
#[derive(Default)]
struct UploadForm {
    rut_sender: String,
    dv_sender: String,
    rut_company: String,
    dv_company: String,
    archivo: Vec<u8>,
}

async fn read_form(mut payload: Multipart) -> Result<UploadForm, String> {
    let mut form = UploadForm::default();
    while let Some(mut field) = payload.try_next().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or_default().to_string();
        let mut value = Vec::new();
        while let Some(chunk) = field.next().await {
            value.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
            if value.len() > 64 << 20 {
                return Err("file too large".into());
            }
        }
        let text = || String::from_utf8_lossy(&value).trim().to_string();
        match name.as_str() {
            "rutSender" => form.rut_sender = text(),
            "dvSender" => form.dv_sender = text(),
            "rutCompany" => form.rut_company = text(),
            "dvCompany" => form.dv_company = text(),
            "archivo" => form.archivo = value,
            _ => {}
        }
    }
    Ok(form)
}

async fn upload(sim: web::Data<Simulator>, request: HttpRequest, payload: Multipart) -> HttpResponse {
    let mode = match sim.play(Endpoint::Upload).await {
        Ok(mode) => mode,
        Err(faulty) => return faulty,
    };
    let answer = receive_upload(&sim, &request, payload).await;
    if mode == FaultMode::AnswerLost {
        let hang = lock(&sim.shared.plan).hang();
        actix_rt::time::sleep(hang).await;
        return HttpResponse::InternalServerError().content_type("text/html").body(ERROR_PAGE);
    }
    answer
}

async fn receive_upload(sim: &Simulator, request: &HttpRequest, payload: Multipart) -> HttpResponse {
    let form = match read_form(payload).await {
        Ok(form) => form,
        Err(e) => return xml(recepcion("", "", "3", None, &[e])),
    };
    let sender = format!("{}-{}", form.rut_sender, form.dv_sender);
    let company = format!("{}-{}", form.rut_company, form.dv_company);
    let answer = |status: &str, errors: &[String]| xml(recepcion(&sender, &company, status, None, errors));
    let Some(owner) = cookie_token(request).and_then(|t| sim.token_owner(&t)) else {
        return answer("5", &[]);
    };
    let (Ok(sender_rut), Ok(company_rut)) = (sender.parse::<Rut>(), company.parse::<Rut>()) else {
        return answer("1", &["rutSender/dvSender or rutCompany/dvCompany missing or invalid".into()]);
    };
    if sender_rut.to_string() != owner {
        return answer("1", &[format!("the token belongs to {owner}, not to {sender_rut}")]);
    }
    if form.archivo.is_empty() {
        return answer("2", &["empty file".into()]);
    }
    let sha256 = hex::encode(Sha256::digest(&form.archivo));
    if let Some(earlier) = lock(&sim.shared.state).earlier_envelope(&sha256).map(str::to_string) {
        return xml(recepcion(&sender, &company, "99", Some(&earlier), &[]));
    }
    let (schemas, trust) = (Arc::clone(&sim.shared.schemas), Arc::clone(&sim.shared.trust));
    let file = form.archivo;
    let report = match web::block(move || dte::verify_document(&file, &schemas, &trust)).await {
        Ok(Ok(report)) => report,
        Ok(Err(e)) => return answer("7", &[e.to_string()]),
        Err(_) => return answer("9", &[]),
    };
    if report.kind != DocumentKind::Envelope {
        return answer("7", &["the file is not an EnvioDTE".into()]);
    }
    if let dte::Check::Failed(reason) = &report.schema {
        return answer("7", std::slice::from_ref(reason));
    }
    let mut signature_errors = Vec::new();
    if let Some(dte::Check::Failed(reason)) = &report.envelope_signature {
        signature_errors.push(format!("SetDTE: {reason}"));
    }
    for document in &report.documents {
        if let dte::Check::Failed(reason) = &document.signature {
            signature_errors.push(format!("{}: {reason}", document.id.as_deref().unwrap_or("DTE")));
        }
    }
    if !signature_errors.is_empty() {
        return answer("8", &signature_errors);
    }
    let issuer_matches =
        report.documents.iter().all(|d| d.issuer_rut.as_deref() == Some(company_rut.to_string().as_str()));
    if !issuer_matches {
        return answer("6", &[format!("the envelope's documents are not of {company_rut}")]);
    }
    let documents = report
        .documents
        .iter()
        .map(|d| {
            let key = DocumentKey {
                issuer_rut: company_rut.to_string(),
                dte_type: d.document_type.unwrap_or(0),
                folio: d.folio.unwrap_or(0),
            };
            let broken = [("CAF", &d.caf), ("TED", &d.ted)].iter().find_map(|(what, check)| match check {
                dte::Check::Failed(reason) => Some(format!("{what}: {reason}")),
                dte::Check::Passed => None,
            });
            (key, d.total, broken)
        })
        .collect();
    // The file is registered once: an identical upload that arrived meanwhile (checked
    // above, before the slow verification) may have been registered first, and then this
    // one is the repeat.
    let mut state = lock(&sim.shared.state);
    if let Some(earlier) = state.earlier_envelope(&sha256).map(str::to_string) {
        return xml(recepcion(&sender, &company, "99", Some(&earlier), &[]));
    }
    let track_id = state.receive(
        sha256,
        &company_rut.to_string(),
        &sender_rut.to_string(),
        sim.now(),
        documents,
        sim.shared.config.default_outcome,
    );
    xml(recepcion(&sender, &company, "0", Some(&track_id), &[]))
}

async fn get_est_up(sim: web::Data<Simulator>, body: web::Bytes) -> HttpResponse {
    if let Some(faulty) = sim.fault(Endpoint::UploadState).await {
        return faulty;
    }
    let params = match soap_call(&body, "getEstUp") {
        Ok(params) => params,
        Err(fault) => return fault,
    };
    let track_id = param(&params, "TrackId").trim().to_string();
    let answer = |header: &[(&str, &str)], body: &[(&str, String)]| {
        soap_answer(PATH_EST_UP, "getEstUp", &respuesta(header, body))
    };
    if sim.token_owner(param(&params, "Token")).is_none() {
        return answer(&[("ESTADO", "001"), ("GLOSA", "Cookie Inactivo")], &[]);
    }
    let company = format!("{}-{}", param(&params, "RutCompania"), param(&params, "DvCompania").to_uppercase());
    let state = lock(&sim.shared.state);
    let Some(upload) = state.upload(&track_id).filter(|u| u.company_rut == company) else {
        return answer(
            &[
                ("TRACKID", &track_id),
                ("ESTADO", "-11"),
                ("ERR_CODE", "1"),
                ("GLOSA", "TRACKID NO EXISTE PARA LA EMPRESA"),
            ],
            &[],
        );
    };
    if sim.now() - upload.received_at < sim.shared.config.processing_delay {
        return answer(&[("TRACKID", &track_id), ("ESTADO", "SOK"), ("GLOSA", "Schema Validado")], &[]);
    }
    let mut counts: std::collections::BTreeMap<u16, [u32; 4]> = std::collections::BTreeMap::new();
    for document in &upload.documents {
        let entry = counts.entry(document.key.dte_type).or_default();
        entry[0] += 1;
        match document.verdict {
            Verdict::Accepted => entry[1] += 1,
            Verdict::Rejected => entry[2] += 1,
            Verdict::AcceptedWithObjections => entry[3] += 1,
        }
    }
    let mut body = Vec::new();
    for (dte_type, [informed, accepted, rejected, objected]) in counts {
        body.extend([
            ("TIPO_DOCTO", dte_type.to_string()),
            ("INFORMADOS", informed.to_string()),
            ("ACEPTADOS", accepted.to_string()),
            ("RECHAZADOS", rejected.to_string()),
            ("REPAROS", objected.to_string()),
        ]);
    }
    answer(&[("TRACKID", &track_id), ("ESTADO", "EPR"), ("GLOSA", "Envio Procesado")], &body)
}

async fn get_est_dte(sim: web::Data<Simulator>, body: web::Bytes) -> HttpResponse {
    if let Some(faulty) = sim.fault(Endpoint::DocumentState).await {
        return faulty;
    }
    let params = match soap_call(&body, "getEstDte") {
        Ok(params) => params,
        Err(fault) => return fault,
    };
    let answer = |estado: &str, glosa: &str| {
        soap_answer(PATH_EST_DTE, "getEstDte", &respuesta(&[("ESTADO", estado), ("GLOSA_ESTADO", glosa)], &[]))
    };
    if sim.token_owner(param(&params, "Token")).is_none() {
        return answer("001", "Cookie Inactivo");
    }
    let key = DocumentKey {
        issuer_rut: format!("{}-{}", param(&params, "RutCompania"), param(&params, "DvCompania").to_uppercase()),
        dte_type: param(&params, "TipoDte").trim().parse().unwrap_or(0),
        folio: param(&params, "FolioDte").trim().parse().unwrap_or(0),
    };
    let amount: Option<i64> = param(&params, "MontoDte").trim().parse().ok();
    let state = lock(&sim.shared.state);
    match state.arrivals_of(&key) {
        Some(arrivals) if arrivals.standing.is_some() && arrivals.total == amount => {
            answer("DOK", "Documento Recibido por el SII. Datos Coinciden con los Registrados")
        }
        Some(arrivals) if arrivals.standing.is_some() => {
            answer("DNK", "Documento Recibido por el SII pero Datos NO Coinciden con los registrados")
        }
        _ => answer("FAU", "Documento No Recibido por el SII"),
    }
}

fn admin_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/faults",
        web::get().to(|sim: web::Data<Simulator>| async move {
            HttpResponse::Ok().json(lock(&sim.shared.plan).faults().clone())
        }),
    )
    .route(
        "/faults",
        web::put().to(|sim: web::Data<Simulator>, faults: web::Json<Faults>| async move {
            sim.set_faults(faults.into_inner());
            HttpResponse::Ok().json(lock(&sim.shared.plan).faults().clone())
        }),
    )
    .route("/outage", web::post().to(add_outage))
    .route(
        "/tokens/expire",
        web::post().to(|sim: web::Data<Simulator>| async move {
            sim.expire_tokens();
            HttpResponse::NoContent().finish()
        }),
    )
    .route("/script", web::put().to(script))
    .route(
        "/received",
        web::get().to(|sim: web::Data<Simulator>| async move {
            let state = lock(&sim.shared.state);
            let rows: Vec<_> = state
                .arrivals()
                .iter()
                .map(|(key, a)| {
                    json!({"issuer_rut": key.issuer_rut, "dte_type": key.dte_type, "folio": key.folio,
                                   "count": a.count, "track_ids": a.track_ids, "standing": a.standing})
                })
                .collect();
            HttpResponse::Ok().json(rows)
        }),
    )
    .route(
        "/uploads",
        web::get().to(|sim: web::Data<Simulator>| async move {
            let state = lock(&sim.shared.state);
            HttpResponse::Ok().json(state.uploads().collect::<Vec<_>>())
        }),
    )
    .route(
        "/reset",
        web::post().to(|sim: web::Data<Simulator>| async move {
            lock(&sim.shared.state).reset();
            sim.set_faults(Faults::default());
            HttpResponse::NoContent().finish()
        }),
    )
    .route("/caf", web::post().to(issue_caf))
    .route("/healthz", web::get().to(|| async { HttpResponse::Ok().json(json!({"status": "ok"})) }));
}

#[derive(Debug, Deserialize)]
struct OutageRequest {
    seconds: i64,
    mode: FaultMode,
}

async fn add_outage(sim: web::Data<Simulator>, request: web::Json<OutageRequest>) -> HttpResponse {
    let from = sim.now();
    let outage = Outage { from, until: from + TimeDelta::seconds(request.seconds.max(0)), mode: request.mode };
    lock(&sim.shared.plan).add_outage(outage.clone());
    HttpResponse::Ok().json(outage)
}

#[derive(Debug, Deserialize)]
struct ScriptRequest {
    issuer_rut: String,
    dte_type: u16,
    folio: i64,
    outcome: Outcome,
}

async fn script(sim: web::Data<Simulator>, request: web::Json<ScriptRequest>) -> HttpResponse {
    sim.script(&request.issuer_rut, request.dte_type, request.folio, request.outcome);
    HttpResponse::NoContent().finish()
}

async fn issue_caf(sim: web::Data<Simulator>, request: web::Json<caf_issuer::CafRequest>) -> HttpResponse {
    let Some((idk, key)) = &sim.shared.config.caf_key else {
        return HttpResponse::NotFound().body("this simulator has no CAF signing key (simulator.caf_signing_key)");
    };
    match caf_issuer::issue_caf(key, *idk, &request) {
        Ok(caf) => HttpResponse::Ok().content_type("text/xml; charset=ISO-8859-1").body(caf),
        Err(e) => HttpResponse::BadRequest().body(e.to_string()),
    }
}
