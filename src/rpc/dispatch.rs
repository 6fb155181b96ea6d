//! The one map from (model, method) to the flow that serves it. Both doors, `/jsonrpc`
//! and `/json/2`, come here. Each line names the method's parameters in positional
//! order, as the specification's API reference lists them.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::auth::uid_of;
use super::{meta, orm, params};
use crate::context::AppContext;
use crate::error::{AppError, AppResult};
use crate::flows::{dashboard, drain, registration, retry, send, status_view, ted_barcode, vocabulary};
use crate::message::Message;
use crate::owners::audit::Actor;
use crate::owners::{backup, contingency, credentials, failed_queue, folios};
use crate::store::registry;

/// One authenticated call, whichever door it came through.
#[derive(Debug)]
pub struct Call {
    pub model: String,
    pub method: String,
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
    /// Name of the API key that authenticated the call.
    pub client: String,
}

/// Odoo's call context: who the Odoo user is and which companies they work in.
#[derive(Debug, Default)]
struct CallContext {
    uid: Option<i32>,
    allowed_company_ids: Option<Vec<i64>>,
}

impl CallContext {
    fn take(kwargs: &mut Map<String, Value>) -> AppResult<Self> {
        let Some(context) = kwargs.remove("context") else { return Ok(Self::default()) };
        let context = match context {
            Value::Object(map) => map,
            Value::Null | Value::Bool(false) => return Ok(Self::default()),
            _ => return Err(AppError::field("context", "expected an object")),
        };
        let uid = match context.get("uid") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => None,
            Some(v) => Some(
                v.as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| AppError::field("context.uid", "expected a user id"))?,
            ),
        };
        let allowed_company_ids = match context.get("allowed_company_ids") {
            None | Some(Value::Null) => None,
            Some(Value::Array(ids)) => Some(
                ids.iter()
                    .map(Value::as_i64)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| AppError::field("context.allowed_company_ids", "expected company ids"))?,
            ),
            Some(_) => return Err(AppError::field("context.allowed_company_ids", "expected a list")),
        };
        Ok(Self { uid, allowed_company_ids })
    }

    /// Narrows the call to the companies its key is bound to: a context naming another
    /// company is refused, a context naming none gets the key's companies.
    fn bind_to(&mut self, bound: &[i64]) -> AppResult<()> {
        match &self.allowed_company_ids {
            Some(ids) => {
                if let Some(outside) = ids.iter().find(|id| !bound.contains(id)) {
                    return Err(AppError::Forbidden(Message::company_not_of_key(*outside)));
                }
            }
            None => self.allowed_company_ids = Some(bound.to_vec()),
        }
        Ok(())
    }

    /// Odoo's current company: the first allowed one.
    fn company(&self) -> Option<i64> {
        self.allowed_company_ids.as_ref().and_then(|ids| ids.first().copied())
    }
}

/// Reads the arguments for a method; a missing `company_id` defaults to the context's
/// current company, as `self.env.company` does in Odoo.
fn args<P: DeserializeOwned>(
    qualified: &str,
    names: &[&str],
    mut args: Vec<Value>,
    mut kwargs: Map<String, Value>,
    context: &CallContext,
) -> AppResult<P> {
    if let Some(position) = names.iter().position(|n| *n == "company_id") {
        let not_given = |v: &Value| matches!(v, Value::Null | Value::Bool(false));
        if let Some(company) = context.company() {
            match args.get_mut(position) {
                Some(v) if not_given(&*v) => *v = Value::from(company),
                Some(_) => {}
                None if kwargs.get("company_id").is_none_or(not_given) => {
                    kwargs.insert("company_id".into(), Value::from(company));
                }
                None => {}
            }
        }
        // Odoo's record rules: a call acts only for the companies of its context.
        let company = args.get(position).or_else(|| kwargs.get("company_id")).and_then(Value::as_i64);
        if let (Some(company), Some(allowed)) = (company, &context.allowed_company_ids) {
            if !allowed.contains(&company) {
                return Err(AppError::Forbidden(Message::company_not_of_request(company)));
            }
        }
    }
    params::bind(qualified, names, args, kwargs)
}

pub async fn dispatch(ctx: &AppContext, call: Call) -> AppResult<Value> {
    let Call { model, method, args: positional, mut kwargs, client } = call;
    let mut context = CallContext::take(&mut kwargs)?;
    let bound = ctx.settings.auth.key_companies.get(&client).cloned();
    if let Some(bound) = &bound {
        context.bind_to(bound)?;
    }
    if meta::serves(&model) {
        let uid = uid_of(&ctx.settings.auth, &client).ok_or(AppError::AccessDenied)?;
        let max = ctx.settings.limits.max_search_limit;
        return meta::call(&model, &method, positional, kwargs, &client, uid, max);
    }
    let actor = Actor { name: client, uid: context.uid, companies: context.allowed_company_ids.clone() };
    let qualified = format!("{model}.{method}");
    macro_rules! params {
        ($($name:literal),* $(,)?) => {
            args(&qualified, &[$($name),*], positional, kwargs, &context)?
        };
    }
    match (model.as_str(), method.as_str()) {
        ("dte.company", "register") => {
            registration::register(
                ctx,
                actor,
                params!("company_id", "rut", "name", "resolution_number", "resolution_date"),
            )
            .await
        }
        ("dte.company", "set_certificate") => {
            credentials::set_certificate(ctx, actor, params!("company_id", "pkcs12", "password")).await
        }
        ("dte.caf", "load") => folios::load_caf(ctx, actor, params!("company_id", "caf_xml")).await,
        ("dte.caf", "folios_left") => folios::folios_left(ctx, params!("company_id")).await,
        ("account.move", "action_send_to_sii") => {
            send::action_send_to_sii(ctx, actor, params!("move_id", "company_id", "document", "folio")).await
        }
        ("account.move", "get_dte_status") => status_view::get_dte_status(ctx, actor, params!("move_ids")).await,
        ("dte.document", "get_ted_barcode") => {
            ted_barcode::get_ted_barcode(ctx, actor, params!("document_id", "move_id", "image_format")).await
        }
        ("dte.failed.queue", "retry_send") => retry::retry_send(ctx, actor, params!("ids")).await,
        ("dte.failed.queue", "abandon") => retry::abandon(ctx, actor, params!("ids", "reason")).await,
        ("dte.failed.queue", "requeue") => retry::requeue(ctx, actor, params!("ids")).await,
        ("dte.failed.queue", "retry_due") => retry::retry_due(ctx, actor, params!("limit")).await,
        ("dte.backup", "run_retention") => {
            let _: NoParams = params!();
            backup::run_retention(ctx, bound).await
        }
        ("dte.backup", "download_xml") => backup::download_xml(ctx, actor, params!("ids")).await,
        ("dte.backup", "backup_dte") => {
            backup::backup_dte(
                ctx,
                params!("dte_type", "folio", "xml_content", "track_id", "move_id", "rut_emisor", "company_id"),
            )
            .await
        }
        ("dte.failed.queue", "add_failed_dte") => {
            failed_queue::add_failed_dte(
                ctx,
                params!(
                    "dte_type",
                    "folio",
                    "xml_content",
                    "error_type",
                    "error_message",
                    "move_id",
                    "rut_emisor",
                    "company_id"
                ),
            )
            .await
        }
        ("dte.contingency", "get_status") => contingency::get_status(ctx, params!("company_id")).await,
        ("dte.contingency", "enable_contingency") => {
            contingency::enable_contingency(ctx, actor, params!("company_id", "reason", "comment")).await
        }
        ("dte.contingency", "disable_contingency") => {
            contingency::disable_contingency(ctx, actor, params!("company_id", "comment")).await
        }
        ("dte.contingency", "upload_pending_batch") => {
            drain::upload_pending_batch(ctx, actor, params!("company_id", "batch_size")).await
        }
        ("dte.dashboard", "get_kpis") => dashboard::get_kpis(ctx, params!("company_id")).await,
        ("dte.vocabulary", "get") => {
            let _: NoParams = params!();
            Ok(vocabulary::vocabulary())
        }
        ("dte.contingency.pending", "create") => {
            let p: CreateParams = params!("vals_list");
            let single = p.vals_list.is_object();
            let mut values: Vec<Value> = match p.vals_list {
                Value::Array(list) => list,
                one @ Value::Object(_) => vec![one],
                _ => return Err(AppError::field("vals_list", "expected a dict or a list of dicts")),
            };
            if let Some(company) = context.company() {
                for v in values.iter_mut().filter_map(Value::as_object_mut) {
                    v.entry("company_id").or_insert(Value::from(company));
                }
            }
            // Record rules: each new row belongs to one of the call's companies.
            if let Some(allowed) = &context.allowed_company_ids {
                for company in values.iter().filter_map(|v| v.get("company_id")).filter_map(Value::as_i64) {
                    if !allowed.contains(&company) {
                        return Err(AppError::Forbidden(Message::company_not_of_request(company)));
                    }
                }
            }
            let values = params::read(&qualified, Value::Array(values))?;
            let ids = contingency::create_pending(ctx, values).await?;
            Ok(match (single, ids.as_slice()) {
                (true, [id]) => Value::from(*id),
                _ => Value::from(ids),
            })
        }
        (_, method) if orm::METHODS.contains(&method) && registry::model(&model).is_some() => {
            let info = registry::model(&model).ok_or_else(|| unknown_model(&model))?;
            orm::call(ctx, info, method, positional, kwargs, context.allowed_company_ids).await
        }
        (_, "fields_get") if meta::is_method_model(&model) => meta::no_fields(&qualified, positional, kwargs),
        _ if registry::model(&model).is_none() && !meta::is_method_model(&model) => Err(unknown_model(&model)),
        _ => Err(AppError::NotFound(Message::no_such_method(qualified))),
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateParams {
    vals_list: Value,
}

fn unknown_model(model: &str) -> AppError {
    AppError::NotFound(Message::no_such_model(model))
}
