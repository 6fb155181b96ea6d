//! Keys and schemas the engine works with, loaded once and shared: the compiled SII
//! schemas, the keys trusted to sign CAFs, each company's signing certificate and its
//! CAFs (opened from their sealed rows on first use, then kept by row id — a new
//! certificate or CAF is a new row, so every replica notices).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use diesel::prelude::*;
use diesel::PgConnection;

use crate::dte::{Caf, CafTrust, DteError, Schemas, Signer};
use crate::error::{AppError, AppResult};
use crate::message::Message;
use crate::secrets::Sealer;
use crate::settings::Settings;
use crate::store::models::CertificateRow;
use crate::store::schema::dte_sidecar::{dte_caf, dte_certificate};
use crate::store::Db;

/// Purposes bound into sealed values.
pub const SEALED_PKCS12: &str = "certificate.pkcs12";
pub const SEALED_PASSWORD: &str = "certificate.password";
pub const SEALED_CAF: &str = "caf.xml";

pub struct Keys {
    pub schemas: Arc<Schemas>,
    pub trust: Arc<CafTrust>,
    sealer: Option<Sealer>,
    signers: Mutex<HashMap<i32, Arc<Signer>>>,
    /// The certificate row each company signed with last, so a send can skip reading it
    /// ahead when its signer is open already (the send's transaction still checks the row).
    last_signer: Mutex<HashMap<i32, i32>>,
    cafs: Mutex<HashMap<i32, Arc<Caf>>>,
}

impl Keys {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let schemas = Schemas::from_dir(&settings.sii.schemas_dir).with_context(|| {
            format!("sii.schemas_dir: cannot load the SII schemas from {}", settings.sii.schemas_dir.display())
        })?;
        let mut trust = CafTrust::sii();
        for extra in &settings.sii.extra_caf_keys {
            let pem = std::fs::read(&extra.path)
                .with_context(|| format!("sii.extra_caf_keys: cannot read {}", extra.path.display()))?;
            trust = trust.with_extra_key(extra.idk, &pem).context("sii.extra_caf_keys")?;
            let path = extra.path.display();
            tracing::warn!(idk = extra.idk, path = %path, "trusting an extra CAF key (test set-ups only)");
        }
        let sealer = match settings.secrets.master_key.is_empty() {
            true => None,
            false => Some(Sealer::from_hex(settings.secrets.master_key.expose()).context("secrets.master_key")?),
        };
        Ok(Self::new(schemas, trust, sealer))
    }

    pub fn new(schemas: Schemas, trust: CafTrust, sealer: Option<Sealer>) -> Self {
        Self {
            schemas: Arc::new(schemas),
            trust: Arc::new(trust),
            sealer,
            signers: Mutex::default(),
            last_signer: Mutex::default(),
            cafs: Mutex::default(),
        }
    }

    pub fn sealer(&self) -> AppResult<&Sealer> {
        self.sealer.as_ref().ok_or_else(|| AppError::user(Message::master_key_missing()))
    }

    /// The active signing certificate of a company.
    pub fn signer(&self, conn: &mut PgConnection, company_id: i32) -> AppResult<Arc<Signer>> {
        self.signer_of_row(conn, company_id, None)
    }

    /// The signer of the company's active certificate row `certificate_id`, as a query that
    /// read the company found it: opened already, it costs no statement.
    pub fn signer_of_row(
        &self,
        conn: &mut PgConnection,
        company_id: i32,
        certificate_id: Option<i32>,
    ) -> AppResult<Arc<Signer>> {
        if let Some(signer) = certificate_id.and_then(|id| lock(&self.signers).get(&id).cloned()) {
            return Ok(signer);
        }
        let row: CertificateRow = dte_certificate::table
            .filter(dte_certificate::company_id.eq(company_id))
            .filter(dte_certificate::active.eq(true))
            .select(CertificateRow::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::user(Message::certificate_missing(company_id)))?;
        self.open_signer(&row)
    }

    /// Opens a company's active certificate ahead of a transaction that will sign: the
    /// PKCS#12's key derivation then runs with no pooled connection held, and the
    /// transaction finds the signer ready. A company without one is left to that
    /// transaction to report.
    pub async fn open_signer_ahead(self: &Arc<Self>, db: &Db, company_id: i32) -> AppResult<()> {
        let last = lock(&self.last_signer).get(&company_id).copied();
        if last.is_some_and(|id| lock(&self.signers).contains_key(&id)) {
            return Ok(());
        }
        let row: Option<CertificateRow> = db
            .run(move |conn| {
                Ok(dte_certificate::table
                    .filter(dte_certificate::company_id.eq(company_id))
                    .filter(dte_certificate::active.eq(true))
                    .select(CertificateRow::as_select())
                    .first(conn)
                    .optional()?)
            })
            .await?;
        let Some(row) = row else { return Ok(()) };
        if lock(&self.signers).contains_key(&row.id) {
            return Ok(());
        }
        let keys = Arc::clone(self);
        tokio::task::spawn_blocking(move || keys.open_signer(&row).map(drop))
            .await
            .map_err(|e| AppError::internal(anyhow::anyhow!("certificate task failed: {e}")))?
    }

    fn open_signer(&self, row: &CertificateRow) -> AppResult<Arc<Signer>> {
        if let Some(signer) = lock(&self.signers).get(&row.id) {
            return Ok(Arc::clone(signer));
        }
        let sealer = self.sealer()?;
        let pkcs12 = sealer.open(SEALED_PKCS12, &row.sealed_pkcs12).map_err(AppError::internal)?;
        let password = sealer.open(SEALED_PASSWORD, &row.sealed_password).map_err(AppError::internal)?;
        let password = std::str::from_utf8(&password).map_err(AppError::internal)?;
        let signer = Arc::new(
            Signer::from_pkcs12(&pkcs12, password)
                .map_err(|e| AppError::internal(anyhow::anyhow!("stored certificate: {e}")))?,
        );
        lock(&self.signers).insert(row.id, Arc::clone(&signer));
        lock(&self.last_signer).insert(row.company_id, row.id);
        Ok(signer)
    }

    /// The opened CAF of row `caf_id`: opened already, it costs no statement; otherwise its
    /// sealed XML is read (the only read of it, so a folio draw never carries it).
    pub fn caf_of_row(&self, conn: &mut PgConnection, caf_id: i32) -> AppResult<Arc<Caf>> {
        if let Some(caf) = lock(&self.cafs).get(&caf_id) {
            return Ok(Arc::clone(caf));
        }
        let sealed: Vec<u8> = dte_caf::table.find(caf_id).select(dte_caf::sealed_caf).first(conn)?;
        let xml = self.sealer()?.open(SEALED_CAF, &sealed).map_err(AppError::internal)?;
        let caf = Arc::new(
            Caf::parse(&xml, &self.trust)
                .map_err(|e| AppError::internal(anyhow::anyhow!("stored CAF {caf_id}: {e}")))?,
        );
        lock(&self.cafs).insert(caf_id, Arc::clone(&caf));
        Ok(caf)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An engine refusal as the caller sees it: a validation error naming the field, under
/// `prefix` (`document.totals.iva`). Engine faults stay internal.
pub fn engine_error(prefix: &str, error: DteError) -> AppError {
    let within = |field: &str| if prefix.is_empty() { field.to_owned() } else { format!("{prefix}.{field}") };
    let argument = if prefix.is_empty() { "document" } else { prefix };
    AppError::validation(match error {
        DteError::Signing(_) | DteError::Config(_) => return AppError::internal(anyhow::anyhow!(error.to_string())),
        DteError::InvalidInput { field, said } => said.with_param("field", within(&field)),
        DteError::InvalidCaf { field, message } => Message::caf_invalid(within(&field), message),
        DteError::Certificate(detail) => Message::certificate_unusable(within("certificate"), detail),
        DteError::SchemaInvalid { schema, message, .. } => Message::document_schema(argument, schema, message),
        DteError::MalformedXml(detail) => Message::xml_malformed(argument, detail),
    })
}
