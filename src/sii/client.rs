//! The SII client: seed → signed getToken → token (cached per certificate until it fails
//! or ages out), EnvioDTE upload, getEstUp by track id, getEstDte for one document.
//!
//! `awc::Client` is not `Send`, so it lives on a thread of its own running an actix
//! system; [`SiiClient`] is a `Send + Sync` handle that hands it HTTP exchanges over a
//! channel. Everything else (SII logic, parsing) runs in the caller's task.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use super::soap::{self, Respuesta};
use super::{
    classify_document_state, classify_upload_state, classify_upload_status, DocumentPresence, ErrorClass, SiiError,
    TypeCounts, UploadState, CALL_CAP, PATH_EST_DTE, PATH_EST_UP, PATH_SEED, PATH_TOKEN, PATH_UPLOAD, USER_AGENT,
};
use crate::dte::{self, Rut, Signer};

/// Where and how patiently to talk to the SII.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://maullin.sii.cl`, `https://palena.sii.cl`, or a simulator's URL.
    pub base_url: String,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// A token is dropped after this long even if the SII never refused it.
    pub token_ttl: Duration,
    /// Calls per minute to the SII (uploads, status queries, seeds and tokens), at most;
    /// 0: no cap. A call over the cap waits for a slot up to `request_timeout`.
    pub max_calls_per_minute: u32,
}

/// One HTTP exchange for the client thread.
struct Exchange {
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
    reply: oneshot::Sender<Result<HttpAnswer, SiiError>>,
}

#[derive(Debug)]
struct HttpAnswer {
    status: u16,
    body: Bytes,
}

#[derive(Debug, Clone)]
struct CachedToken {
    token: String,
    obtained: Instant,
}

/// A cheap, cloneable handle on the SII client.
#[derive(Clone)]
pub struct SiiClient {
    config: Arc<ClientConfig>,
    cap: Option<Arc<DefaultDirectRateLimiter>>,
    exchanges: mpsc::UnboundedSender<Exchange>,
    tokens: Arc<Mutex<HashMap<String, CachedToken>>>,
}

/// A successful upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub track_id: String,
    pub timestamp: String,
}

/// What the caller of getEstDte must say about the document.
#[derive(Debug, Clone)]
pub struct DocumentQuery {
    pub issuer: Rut,
    pub receiver: Rut,
    pub dte_type: u16,
    pub folio: i64,
    /// `DDMMAAAA`, as the service wants it.
    pub issue_date: chrono::NaiveDate,
    pub total: i64,
}

impl SiiClient {
    /// Starts the client thread.
    pub fn start(config: ClientConfig) -> std::io::Result<Self> {
        let (exchanges, mut inbox) = mpsc::unbounded_channel::<Exchange>();
        let connect_timeout = config.connect_timeout;
        let request_timeout = config.request_timeout;
        std::thread::Builder::new().name("sii-client".into()).spawn(move || {
            actix_rt::System::new().block_on(async move {
                let client = awc::Client::builder()
                    .connector(awc::Connector::new().timeout(connect_timeout))
                    .timeout(request_timeout)
                    .disable_redirects()
                    .finish();
                while let Some(exchange) = inbox.recv().await {
                    let client = client.clone();
                    actix_rt::spawn(async move {
                        let answer = post(&client, &exchange.url, exchange.headers, exchange.body).await;
                        let _ = exchange.reply.send(answer);
                    });
                }
            });
        })?;
        let cap = NonZeroU32::new(config.max_calls_per_minute)
            .map(|per_minute| Arc::new(RateLimiter::direct(Quota::per_minute(per_minute))));
        crate::metrics::sii_call_cap(config.max_calls_per_minute);
        Ok(Self { config: Arc::new(config), cap, exchanges, tokens: Arc::default() })
    }

    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    async fn exchange(
        &self,
        path: &str,
        headers: Vec<(&'static str, String)>,
        body: Bytes,
    ) -> Result<HttpAnswer, SiiError> {
        let operation = match path {
            PATH_SEED => "seed",
            PATH_TOKEN => "token",
            PATH_UPLOAD => "upload",
            PATH_EST_UP => "upload_state",
            _ => "document_state",
        };
        self.wait_for_slot(operation).await?;
        let started = Instant::now();
        let answer = self.exchange_untimed(path, headers, body).await;
        let outcome = match &answer {
            Ok(a) if a.status < 400 => "ok",
            Ok(_) => "http_error",
            Err(e) if e.code == "timeout" => "timeout",
            Err(_) => "connection",
        };
        crate::metrics::sii_call(operation, outcome, started.elapsed().as_secs_f64());
        answer
    }

    /// Keeps the calls within the cap: a call over it waits for a slot, up to the request
    /// timeout; one that still finds none is not made and fails as a transient error of
    /// ours ([`SiiError::is_call_cap`]), which the retry queue takes.
    async fn wait_for_slot(&self, operation: &'static str) -> Result<(), SiiError> {
        let Some(cap) = &self.cap else { return Ok(()) };
        if cap.check().is_ok() {
            return Ok(());
        }
        crate::metrics::sii_call_held(operation, "waited");
        if tokio::time::timeout(self.config.request_timeout, cap.until_ready()).await.is_ok() {
            return Ok(());
        }
        crate::metrics::sii_call_held(operation, "not_made");
        Err(SiiError::transient(
            CALL_CAP,
            format!(
                "{operation} not sent: this sidecar's cap of {} calls per minute to the SII is reached",
                self.config.max_calls_per_minute
            ),
        ))
    }

    async fn exchange_untimed(
        &self,
        path: &str,
        headers: Vec<(&'static str, String)>,
        body: Bytes,
    ) -> Result<HttpAnswer, SiiError> {
        let (reply, answer) = oneshot::channel();
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        self.exchanges
            .send(Exchange { url, headers, body, reply })
            .map_err(|_| SiiError::transient("connection", "the SII client has stopped"))?;
        answer.await.map_err(|_| SiiError::transient("connection", "the SII client has stopped"))?
    }

    /// Calls a SOAP operation and reads the `SII:RESPUESTA` it returns.
    async fn soap(&self, path: &str, operation: &str, params: &[(&str, &str)]) -> Result<Respuesta, SiiError> {
        let body = soap::request(path, operation, params);
        let headers = vec![
            ("Content-Type", "text/xml; charset=utf-8".to_string()),
            ("SOAPAction", "\"\"".to_string()),
            ("User-Agent", USER_AGENT.to_string()),
        ];
        let answer = self.exchange(path, headers, Bytes::from(body)).await?;
        check_http(&answer)?;
        Respuesta::parse(&soap::parse_return(&answer.body)?)
    }

    /// Whether the SII answers right now: asks for a seed (never served from a cache).
    pub async fn probe(&self) -> Result<(), SiiError> {
        soap::expect_field(&self.soap(PATH_SEED, "getSeed", &[]).await?, "SEMILLA", "seed").map(drop)
    }

    /// A token for `signer`: the cached one, or a new one from seed + signed getToken.
    pub async fn token(&self, signer: &Arc<Signer>) -> Result<String, SiiError> {
        let key = certificate_key(signer);
        if let Some(cached) = self.cached_token(&key) {
            return Ok(cached);
        }
        let seed = soap::expect_field(&self.soap(PATH_SEED, "getSeed", &[]).await?, "SEMILLA", "seed")?;
        let signing = Arc::clone(signer);
        let signed = tokio::task::spawn_blocking(move || dte::sign_get_token_request(&seed, &signing))
            .await
            .map_err(|e| SiiError::transient("internal", e.to_string()))?
            .map_err(|e| SiiError::new(ErrorClass::Auth, "signature", format!("cannot sign the token request: {e}")))?;
        let signed = String::from_utf8_lossy(&signed).into_owned();
        let token =
            soap::expect_field(&self.soap(PATH_TOKEN, "getToken", &[("pszXml", &signed)]).await?, "TOKEN", "token")?;
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert(key, CachedToken { token: token.clone(), obtained: Instant::now() });
        }
        Ok(token)
    }

    fn cached_token(&self, key: &str) -> Option<String> {
        let tokens = self.tokens.lock().ok()?;
        tokens.get(key).filter(|t| t.obtained.elapsed() < self.config.token_ttl).map(|t| t.token.clone())
    }

    /// Forgets the token of `signer` (the SII refused it).
    pub fn drop_token(&self, signer: &Signer) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(&certificate_key(signer));
        }
    }

    /// Runs `call` with a token; on an auth error, drops the token, authenticates again
    /// and tries once more.
    async fn with_token<T, F, Fut>(&self, signer: &Arc<Signer>, call: F) -> Result<T, SiiError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<T, SiiError>>,
    {
        let token = self.token(signer).await?;
        match call(token).await {
            Err(e) if e.class == ErrorClass::Auth => {
                tracing::info!(code = %e.code, "SII refused the token; authenticating again");
                self.drop_token(signer);
                let token = self.token(signer).await?;
                call(token).await
            }
            other => other,
        }
    }

    /// Uploads an EnvioDTE for `company`, sent by the holder of `signer`.
    pub async fn upload(&self, signer: &Arc<Signer>, company: Rut, envelope: Bytes) -> Result<Receipt, SiiError> {
        let sender = signer.rut();
        self.with_token(signer, |token| {
            let envelope = envelope.clone();
            async move {
                let boundary = format!("----dte-sidecar-{:016x}", rand::random::<u64>());
                let body = multipart(&boundary, sender, company, &envelope);
                let headers = vec![
                    ("Content-Type", format!("multipart/form-data; boundary={boundary}")),
                    ("Cookie", format!("TOKEN={token}")),
                    ("User-Agent", USER_AGENT.to_string()),
                    (
                        "Accept",
                        "image/gif, image/x-xbitmap, image/jpeg, image/pjpeg, application/vnd.ms-powerpoint, \
                         application/ms-excel, application/msword, */*"
                            .to_string(),
                    ),
                ];
                let answer = self.exchange(PATH_UPLOAD, headers, body).await?;
                check_http(&answer)?;
                read_receipt(&answer.body)
            }
        })
        .await
    }

    /// getEstUp: what became of an upload.
    pub async fn upload_state(
        &self,
        signer: &Arc<Signer>,
        company: Rut,
        track_id: &str,
    ) -> Result<UploadState, SiiError> {
        let (number, check) = (company.number().to_string(), company.check_digit().to_string());
        self.with_token(signer, |token| {
            let (number, check) = (number.clone(), check.clone());
            async move {
                let answer = self
                    .soap(
                        PATH_EST_UP,
                        "getEstUp",
                        &[("RutCompania", &number), ("DvCompania", &check), ("TrackId", track_id), ("Token", &token)],
                    )
                    .await?;
                classify_upload_state(
                    answer.estado(),
                    answer.header("GLOSA").unwrap_or_default(),
                    answer.header("ERR_CODE"),
                    type_counts(&answer),
                )
            }
        })
        .await
    }

    /// getEstDte: whether the SII has one document.
    pub async fn document_state(
        &self,
        signer: &Arc<Signer>,
        query: &DocumentQuery,
    ) -> Result<DocumentPresence, SiiError> {
        let asker = signer.rut();
        let params: Vec<(&str, String)> = vec![
            ("RutConsultante", asker.number().to_string()),
            ("DvConsultante", asker.check_digit().to_string()),
            ("RutCompania", query.issuer.number().to_string()),
            ("DvCompania", query.issuer.check_digit().to_string()),
            ("RutReceptor", query.receiver.number().to_string()),
            ("DvReceptor", query.receiver.check_digit().to_string()),
            ("TipoDte", query.dte_type.to_string()),
            ("FolioDte", query.folio.to_string()),
            ("FechaEmisionDte", query.issue_date.format("%d%m%Y").to_string()),
            ("MontoDte", query.total.to_string()),
        ];
        self.with_token(signer, |token| {
            let mut params = params.clone();
            async move {
                params.push(("Token", token));
                let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let answer = self.soap(PATH_EST_DTE, "getEstDte", &borrowed).await?;
                classify_document_state(answer.estado(), answer.header("GLOSA_ESTADO").unwrap_or_default())
            }
        })
        .await
    }
}

/// Token cache key: the certificate, so a renewed certificate gets its own token.
fn certificate_key(signer: &Signer) -> String {
    hex::encode(Sha256::digest(signer.certificate_der()))
}

async fn post(
    client: &awc::Client,
    url: &str,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
) -> Result<HttpAnswer, SiiError> {
    let mut request = client.post(url);
    for (name, value) in headers {
        request = request.insert_header((name, value));
    }
    let mut response = request.send_body(body).await.map_err(|e| match e {
        awc::error::SendRequestError::Timeout => SiiError::transient("timeout", "the SII did not answer in time"),
        awc::error::SendRequestError::Connect(awc::error::ConnectError::Timeout) => {
            SiiError::transient("timeout", "connecting to the SII timed out")
        }
        awc::error::SendRequestError::Connect(e) => {
            SiiError::transient("connection", format!("cannot connect to the SII: {e}"))
        }
        other => SiiError::transient("connection", format!("the connection to the SII failed: {other}")),
    })?;
    let status = response.status().as_u16();
    let body = response.body().limit(16 << 20).await.map_err(|e| match e {
        awc::error::PayloadError::Io(_) | awc::error::PayloadError::Incomplete(_) => {
            SiiError::transient("connection", "the SII's answer was cut short")
        }
        other => SiiError::transient("timeout", format!("reading the SII's answer failed: {other}")),
    })?;
    Ok(HttpAnswer { status, body })
}

fn check_http(answer: &HttpAnswer) -> Result<(), SiiError> {
    match answer.status {
        200..=299 => Ok(()),
        500..=599 => {
            Err(SiiError::transient(format!("http-{}", answer.status), "the SII answered with a server error"))
        }
        other => Err(SiiError::transient(format!("http-{other}"), format!("unexpected HTTP status {other}"))),
    }
}

fn multipart(boundary: &str, sender: Rut, company: Rut, envelope: &[u8]) -> Bytes {
    let mut body = Vec::with_capacity(envelope.len() + 1024);
    let field = |body: &mut Vec<u8>, name: &str, value: &str| {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    };
    field(&mut body, "rutSender", &sender.number().to_string());
    field(&mut body, "dvSender", &sender.check_digit().to_string());
    field(&mut body, "rutCompany", &company.number().to_string());
    field(&mut body, "dvCompany", &company.check_digit().to_string());
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"archivo\"; filename=\"EnvioDTE.xml\"\r\n\
             Content-Type: text/xml\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(envelope);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Bytes::from(body)
}

/// Reads `RECEPCIONDTE`. An HTML page or a bare `Error 500` is a transient failure.
fn read_receipt(body: &[u8]) -> Result<Receipt, SiiError> {
    let text = soap::decode_text(body);
    let doc = roxmltree::Document::parse(text.trim_start().trim_start_matches(|c| c != '<'))
        .ok()
        .filter(|d| d.root_element().tag_name().name() == "RECEPCIONDTE")
        .ok_or_else(|| {
            SiiError::transient("unreadable", format!("unreadable upload answer: {}", soap::snippet(&text)))
        })?;
    let field = |name: &str| {
        doc.descendants()
            .find(|n| n.tag_name().name() == name)
            .and_then(|n| n.text())
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let detail: Vec<String> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "ERROR")
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect();
    let status = field("STATUS");
    match classify_upload_status(&status, &detail.join("; ")) {
        Ok(()) if !field("TRACKID").is_empty() => {
            Ok(Receipt { track_id: field("TRACKID"), timestamp: field("TIMESTAMP") })
        }
        Ok(()) => Err(SiiError::transient("unreadable", "upload answer without a track id")),
        Err(mut e) => {
            if e.class == ErrorClass::Duplicate && !field("TRACKID").is_empty() {
                e.earlier_track_id = Some(field("TRACKID"));
            }
            Err(e)
        }
    }
}

fn type_counts(answer: &Respuesta) -> Vec<TypeCounts> {
    let mut counts: Vec<TypeCounts> = Vec::new();
    for (name, value) in &answer.body {
        let number = value.trim().parse::<u32>().unwrap_or(0);
        match name.as_str() {
            "TIPO_DOCTO" => {
                counts.push(TypeCounts { dte_type: value.trim().parse().unwrap_or(0), ..TypeCounts::default() })
            }
            "INFORMADOS" | "ACEPTADOS" | "RECHAZADOS" | "REPAROS" => {
                if let Some(last) = counts.last_mut() {
                    match name.as_str() {
                        "INFORMADOS" => last.informed = number,
                        "ACEPTADOS" => last.accepted = number,
                        "RECHAZADOS" => last.rejected = number,
                        _ => last.objected = number,
                    }
                }
            }
            _ => {}
        }
    }
    counts
}

impl ClientConfig {
    pub fn from_settings(settings: &crate::settings::SiiSettings) -> Self {
        use crate::settings::SiiEnvironment;
        let base_url = match settings.environment {
            SiiEnvironment::Simulator => settings.simulator_url.clone(),
            SiiEnvironment::Certification => super::CERTIFICATION_BASE.to_string(),
            SiiEnvironment::Production => super::PRODUCTION_BASE.to_string(),
        };
        Self {
            base_url,
            connect_timeout: Duration::from_secs(settings.connect_timeout_secs),
            request_timeout: Duration::from_secs(settings.request_timeout_secs),
            token_ttl: Duration::from_secs(settings.token_ttl_secs),
            max_calls_per_minute: settings.max_calls_per_minute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_answers_are_read_and_classified() {
        let ok = include_bytes!("../../tests/fixtures/sii/dteupload-status0-ok.xml");
        assert_eq!(read_receipt(ok).unwrap().track_id, "0123456789");
        let schema = read_receipt(include_bytes!("../../tests/fixtures/sii/dteupload-status7-schema.xml")).unwrap_err();
        assert_eq!((schema.class, schema.code.as_str()), (ErrorClass::Permanent, "STATUS 7"));
        assert!(schema.message.contains("cvc-complex-type"));
        let auth = read_receipt(include_bytes!("../../tests/fixtures/sii/dteupload-status5-not-authenticated.xml"))
            .unwrap_err();
        assert_eq!(auth.class, ErrorClass::Auth);
        let html = read_receipt(include_bytes!("../../tests/fixtures/sii/dteupload-html-error-page.html")).unwrap_err();
        assert_eq!((html.class, html.code.as_str()), (ErrorClass::Transient, "unreadable"));
        assert_eq!(read_receipt(b"Error 500").unwrap_err().class, ErrorClass::Transient);
    }

    #[test]
    fn status_counts_are_read_per_type() {
        let inner = include_str!("../../tests/fixtures/sii/queryestup-getEstUp-EPR-with-rejected.inner.xml");
        let counts = type_counts(&Respuesta::parse(inner).unwrap());
        assert_eq!(
            counts,
            vec![
                TypeCounts { dte_type: 33, informed: 2, accepted: 1, rejected: 1, objected: 0 },
                TypeCounts { dte_type: 61, informed: 1, accepted: 0, rejected: 0, objected: 1 },
            ]
        );
    }
}
