//! A company's signing certificate: loaded from a PKCS#12 (legacy RC2-40 files too),
//! checked, and sealed before it is stored. The password is never logged or returned.

use base64::Engine as _;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::audit::{self, Actor, Entry};
use super::company;
use crate::context::AppContext;
use crate::dte::Signer;
use crate::error::{AppError, AppResult};
use crate::keys::{engine_error, SEALED_PASSWORD, SEALED_PKCS12};
use crate::message::Message;
use crate::store::schema::dte_sidecar::dte_certificate;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetCertificateParams {
    pub company_id: i32,
    /// The `.p12`/`.pfx` file in base64.
    pub pkcs12: String,
    pub password: String,
}

impl std::fmt::Debug for SetCertificateParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetCertificateParams").field("company_id", &self.company_id).finish_non_exhaustive()
    }
}

pub async fn set_certificate(ctx: &AppContext, actor: Actor, p: SetCertificateParams) -> AppResult<Value> {
    let pkcs12 = base64::engine::general_purpose::STANDARD
        .decode(p.pkcs12.trim())
        .map_err(|_| AppError::validation(Message::certificate_not_base64()))?;
    let now = ctx.clock.now();
    let keys = ctx.keys.clone();
    // The PKCS#12's key derivation is CPU work the file sets the size of: it runs before a
    // pooled connection is taken, so uploads cannot hold the pool.
    let (file, password) = (pkcs12.clone(), p.password.clone());
    let signer = tokio::task::spawn_blocking(move || Signer::from_pkcs12(&file, &password))
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("certificate task failed: {e}")))?
        .map_err(|e| engine_error("", e))?;
    ctx.db
        .run(move |conn| {
            let sealer = keys.sealer()?;
            if signer.not_after().is_some_and(|end| end <= now) {
                return Err(AppError::validation(Message::certificate_expired(
                    signer.not_after().map(|d| d.to_string()).unwrap_or_default(),
                )));
            }
            if signer.not_before().is_some_and(|start| start > now) {
                return Err(AppError::validation(Message::certificate_not_yet_valid()));
            }
            let fingerprint = hex::encode(Sha256::digest(signer.certificate_der()));
            let sealed_pkcs12 = sealer.seal(SEALED_PKCS12, &pkcs12).map_err(AppError::internal)?;
            let sealed_password = sealer.seal(SEALED_PASSWORD, p.password.as_bytes()).map_err(AppError::internal)?;
            conn.transaction(|conn| {
                company::require(conn, p.company_id)?;
                diesel::update(dte_certificate::table.filter(dte_certificate::company_id.eq(p.company_id)))
                    .set(dte_certificate::active.eq(false))
                    .execute(conn)?;
                let id: i32 = diesel::insert_into(dte_certificate::table)
                    .values((
                        dte_certificate::company_id.eq(p.company_id),
                        dte_certificate::subject_rut.eq(signer.rut().to_string()),
                        dte_certificate::holder_name.eq(signer.holder_name()),
                        dte_certificate::not_before.eq(signer.not_before()),
                        dte_certificate::not_after.eq(signer.not_after()),
                        dte_certificate::fingerprint.eq(&fingerprint),
                        dte_certificate::sealed_pkcs12.eq(&sealed_pkcs12),
                        dte_certificate::sealed_password.eq(&sealed_password),
                        dte_certificate::active.eq(true),
                        dte_certificate::loaded_at.eq(now),
                    ))
                    .returning(dte_certificate::id)
                    .get_result(conn)?;
                audit::record(
                    conn,
                    now,
                    &actor,
                    Entry {
                        action: "certificate.set",
                        company_id: Some(p.company_id),
                        target_model: Some("dte.certificate"),
                        target_id: Some(id),
                        details: json!({"subject_rut": signer.rut().to_string(), "fingerprint": fingerprint}),
                    },
                )?;
                Ok(json!({
                    "id": id,
                    "subject_rut": signer.rut().to_string(),
                    "holder_name": signer.holder_name(),
                    "not_after": signer.not_after().map(crate::clock::odoo_time),
                }))
            })
        })
        .await
}
