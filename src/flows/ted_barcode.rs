//! `dte.document.get_ted_barcode`: the TED of a document as the PDF417 barcode its printed
//! form carries. It is cut from the signed document the sidecar stored (never from a copy
//! that could differ), so it is there as soon as a document is stamped, contingency
//! included. Reading it changes nothing: no upload, no folio, no state.

use base64::Engine as _;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::context::AppContext;
use crate::dte::{ted_bytes, TedBarcode, DPI, ERROR_CORRECTION_LEVEL};
use crate::error::{AppError, AppResult};
use crate::message::Message;
use crate::owners::audit::Actor;
use crate::owners::document;
use crate::store::models::{Company, DocumentRow};
use crate::store::schema::dte_sidecar::{dte_company, dte_document};

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    Png,
    Svg,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BarcodeParams {
    #[serde(default)]
    pub document_id: Option<i32>,
    #[serde(default)]
    pub move_id: Option<i32>,
    #[serde(default)]
    pub image_format: Option<ImageFormat>,
}

pub async fn get_ted_barcode(ctx: &AppContext, actor: Actor, p: BarcodeParams) -> AppResult<Value> {
    let format = p.image_format.unwrap_or(ImageFormat::Png);
    let (document, company) = ctx
        .db
        .run(move |conn| {
            let document: DocumentRow = match (p.document_id, p.move_id) {
                (Some(id), None) => dte_document::table
                    .find(id)
                    .select(DocumentRow::as_select())
                    .first(conn)
                    .optional()?
                    .filter(|d| actor.may_act_for(d.company_id))
                    .ok_or_else(|| AppError::missing_record("dte.document", id))?,
                (None, Some(move_id)) => document::find_by_move(conn, move_id)?
                    .filter(|d| actor.may_act_for(d.company_id))
                    .ok_or_else(|| AppError::missing(Message::move_has_no_dte(move_id)))?,
                _ => return Err(AppError::validation(Message::give_document_or_move())),
            };
            let company: Option<Company> =
                dte_company::table.find(document.company_id).select(Company::as_select()).first(conn).optional()?;
            Ok((document, company))
        })
        .await?;
    let ted = ted_bytes(&document.xml_content).map_err(|e| {
        AppError::internal(anyhow::anyhow!("document {}: stored XML without a usable TED: {e}", document.id))
    })?;
    let rendered = tokio::task::spawn_blocking(move || -> AppResult<(TedBarcode, Value)> {
        let barcode = TedBarcode::encode(&ted).map_err(|e| AppError::user(Message::barcode_failed(e.to_string())))?;
        let image = match format {
            ImageFormat::Png => json!({
                "mimetype": "image/png",
                "image_base64": base64::engine::general_purpose::STANDARD
                    .encode(barcode.to_png().map_err(|e| AppError::internal(anyhow::anyhow!(e.to_string())))?),
            }),
            ImageFormat::Svg => json!({ "mimetype": "image/svg+xml", "svg": barcode.to_svg() }),
        };
        Ok((barcode, image))
    })
    .await
    .map_err(AppError::internal)??;
    let (barcode, image) = rendered;
    let (pixels_wide, pixels_high) = barcode.image_pixels();
    let mut answer = json!({
        "document_id": document.id,
        "move_id": document.move_id,
        "company_id": document.company_id,
        "dte_type": document.dte_type,
        "folio": document.folio,
        "state": document.state,
        "image_format": match format { ImageFormat::Png => "png", ImageFormat::Svg => "svg" },
        "ted_base64": base64::engine::general_purpose::STANDARD.encode(barcode.ted()),
        "error_correction_level": ERROR_CORRECTION_LEVEL,
        "columns": barcode.columns(),
        "rows": barcode.rows(),
        "dpi": DPI,
        "module_width_mm": round3(TedBarcode::module_mm()),
        "width_mm": round3(barcode.width_mm()),
        "height_mm": round3(barcode.height_mm()),
        "quiet_zone_mm": round3(TedBarcode::quiet_zone_mm()),
        // The whole image, quiet zone included: what a report must draw it at.
        "image_width_mm": round3(f64::from(pixels_wide) / f64::from(DPI) * 25.4),
        "image_height_mm": round3(f64::from(pixels_high) / f64::from(DPI) * 25.4),
        "resolution_number": company.as_ref().map_or(Value::Bool(false), |c| json!(c.resolution_number)),
        "resolution_date": company
            .as_ref()
            .and_then(|c| c.resolution_date)
            .map_or(Value::Bool(false), |d| json!(d.format("%Y-%m-%d").to_string())),
    });
    if let (Value::Object(answer), Value::Object(image)) = (&mut answer, image) {
        answer.extend(image);
    }
    Ok(answer)
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}
