//! `POST /xmlrpc/2/<service>` and `POST /xmlrpc/<service>`: Odoo's XML-RPC doors (`common`,
//! `object`, `db`). The first is the one Odoo's external API documentation shows; the
//! second is the default protocol of odoo-client-lib. They read the same calls as
//! `/jsonrpc` and hand them to the same dispatcher, with the same key check and body
//! limits; faults come back as Odoo's, so clients raise their usual `Fault`: on
//! `/xmlrpc/2` an integer `faultCode` and the message as `faultString`, on `/xmlrpc` the
//! code a string that names the exception (`warning -- UserError`, `AccessDenied`).
//!
//! The body is parsed by roxmltree with DTDs refused (so no entity can be declared or
//! expanded), a bound on the number of nodes, and a bound on the nesting of values.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Number, Value};

use super::body::{self, BodyLimits};
use super::jsonrpc;
use super::respond::said;
use crate::context::AppContext;
use crate::error::{AppError, AppResult};
use crate::message::Message;

/// Values nest at most this deep (arrays and structs): a domain of Odoo's nests three or
/// four levels, and each level is a frame of [`read_value`] on the caller's stack.
const MAX_DEPTH: usize = 32;

/// The most nodes (elements and texts) a call's XML may have.
const MAX_NODES: u32 = 500_000;

/// Odoo's integer fault codes on `/xmlrpc/2` (`odoo.http`'s `RPC_FAULT_CODE_*`).
const FAULT_APPLICATION_ERROR: i32 = 1;
const FAULT_WARNING: i32 = 2;
const FAULT_ACCESS_DENIED: i32 = 3;
const FAULT_ACCESS_ERROR: i32 = 4;

/// How a door writes its faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Faults {
    /// `/xmlrpc/2`: integer codes.
    Numbered,
    /// `/xmlrpc`: codes that name the exception.
    Named,
}

pub async fn handle(
    ctx: web::Data<AppContext>,
    service: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    serve(&ctx, &service, request, payload, Faults::Numbered).await
}

/// The legacy door, odoo-client-lib's default.
pub async fn handle_legacy(
    ctx: web::Data<AppContext>,
    service: web::Path<String>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    serve(&ctx, &service, request, payload, Faults::Named).await
}

async fn serve(
    ctx: &AppContext,
    service: &str,
    request: HttpRequest,
    payload: web::Payload,
    faults: Faults,
) -> HttpResponse {
    let answer = match body::read_bytes(payload, BodyLimits::from_settings(&ctx.settings.limits, &request)).await {
        Ok(body) => match parse_call(body.bytes).await {
            Ok((method, params)) => answer(ctx, service, &method, params).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let xml = match answer {
        Ok(value) => response(&value),
        Err(error) => fault(&error, faults),
    };
    HttpResponse::Ok().content_type("text/xml; charset=utf-8").body(xml)
}

async fn answer(ctx: &AppContext, service: &str, method: &str, params: Vec<Value>) -> AppResult<Value> {
    match (service, method) {
        ("common", "version") => Ok(jsonrpc::version()),
        ("common", "login" | "authenticate") => jsonrpc::login(ctx, method, &params),
        ("object", "execute_kw" | "execute") => jsonrpc::execute_values(ctx, method, params).await,
        ("db", "server_version") => Ok(Value::from("19.0")),
        // One database per sidecar, not listed: Odoo with `list_db = False` answers so too.
        ("db", "list") => Err(AppError::AccessDenied),
        (service, method) => Err(AppError::NotFound(Message::no_such_service(format!("{service}.{method}")))),
    }
}

/// The method name and parameters of a `<methodCall>`; large bodies are parsed on a
/// blocking thread, away from the threads that answer other connections.
async fn parse_call(bytes: web::Bytes) -> AppResult<(String, Vec<Value>)> {
    if bytes.len() <= body::SMALL_BODY_BYTES {
        return read_call(&bytes);
    }
    web::block(move || read_call(&bytes))
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("parse task failed: {e}")))?
}

fn bad(message: impl Into<String>) -> AppError {
    AppError::BadRequest(Message::malformed(message.into()))
}

/// Elements nest at most this deep in a call: a `<methodCall>` needs 4 levels, and each
/// level of values 3 more.
const MAX_ELEMENT_DEPTH: usize = 4 + 3 * MAX_DEPTH + 8;

/// Refuses a body whose elements nest deeper than `max` before any parser sees it:
/// roxmltree builds its tree with recursion, so a few hundred nested elements would
/// overflow a thread's stack. Reads tags as XML does — comments, CDATA sections,
/// processing instructions and quoted attribute values are skipped whole — so the depth
/// is never underestimated.
fn check_nesting(text: &str, max: usize) -> AppResult<()> {
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (0_usize, 0_usize);
    let skip_to =
        |from: usize, end: &str| text.get(from..).and_then(|rest| rest.find(end)).map(|at| from + at + end.len());
    while let Some(at) = text.get(i..).and_then(|rest| rest.find('<')) {
        let start = i + at;
        let rest = text.get(start..).unwrap_or_default();
        i = if rest.starts_with("<!--") {
            skip_to(start, "-->")
        } else if rest.starts_with("<![CDATA[") {
            skip_to(start, "]]>")
        } else if rest.starts_with("<?") || rest.starts_with("<!") {
            skip_to(start, ">")
        } else {
            // A start or end tag: to its `>`, past quoted attribute values.
            let closing = rest.starts_with("</");
            let mut j = start + 1;
            let mut quote = None;
            while let Some(&b) = bytes.get(j) {
                match (quote, b) {
                    (Some(q), b) if b == q => quote = None,
                    (None, b'"' | b'\'') => quote = Some(b),
                    (None, b'>') => break,
                    _ => {}
                }
                j += 1;
            }
            let empty = j > start + 1 && bytes.get(j - 1) == Some(&b'/');
            if closing {
                depth = depth.saturating_sub(1);
            } else if !empty {
                depth += 1;
                if depth > max {
                    return Err(bad(format!("values nest deeper than {MAX_DEPTH} levels")));
                }
            }
            Some(j + 1)
        }
        .unwrap_or(bytes.len());
    }
    Ok(())
}

/// The method name and parameters of a `<methodCall>`; every refusal is a `BadRequest`.
pub fn read_call(bytes: &[u8]) -> AppResult<(String, Vec<Value>)> {
    let text = std::str::from_utf8(bytes).map_err(|_| bad("the XML-RPC body is not UTF-8"))?;
    check_nesting(text, MAX_ELEMENT_DEPTH)?;
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        // A node is tens of bytes in memory: an 8 MB body of empty elements would be a tree
        // of hundreds of MB. A call needs far fewer (a read of 10,000 ids is 30,000).
        nodes_limit: u32::try_from(bytes.len() / 2 + 64).unwrap_or(u32::MAX).min(MAX_NODES),
    };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => bad("a DTD or entity declaration is not accepted"),
        roxmltree::Error::NodesLimitReached => bad("the XML-RPC body has too many nodes"),
        _ => bad("the body is not well-formed XML"),
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "methodCall" {
        return Err(bad("expected an XML-RPC <methodCall>"));
    }
    let method = child(root, "methodName")
        .and_then(|n| n.text())
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| bad("the <methodCall> has no <methodName>"))?;
    let params = match child(root, "params") {
        None => Vec::new(),
        Some(params) => elements(params)
            .map(|param| match (param.tag_name().name(), child(param, "value")) {
                ("param", Some(value)) => read_value(value, 0),
                _ => Err(bad("each <param> holds one <value>")),
            })
            .collect::<AppResult<_>>()?,
    };
    Ok((method.to_string(), params))
}

fn elements<'a, 'i>(node: roxmltree::Node<'a, 'i>) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    node.children().filter(roxmltree::Node::is_element)
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    elements(node).find(|n| n.tag_name().name() == name)
}

fn text_of(node: roxmltree::Node<'_, '_>) -> String {
    node.children().filter_map(|n| n.text()).collect()
}

/// A `<value>` as JSON: what the dispatcher takes from every door. Base64 stays its text
/// (binary arguments travel in base64 on the other doors too), a date-time its text.
fn read_value(value: roxmltree::Node<'_, '_>, depth: usize) -> AppResult<Value> {
    if depth > MAX_DEPTH {
        return Err(bad(format!("values nest deeper than {MAX_DEPTH} levels")));
    }
    let Some(typed) = elements(value).next() else {
        return Ok(Value::String(text_of(value))); // no type element: a string
    };
    let text = || text_of(typed);
    match typed.tag_name().name() {
        "string" | "base64" | "dateTime.iso8601" => Ok(Value::String(text())),
        "int" | "i4" | "i8" => {
            text().trim().parse::<i64>().map(Value::from).map_err(|_| bad(format!("not an integer: {}", text())))
        }
        "boolean" => match text().trim() {
            "1" => Ok(Value::Bool(true)),
            "0" => Ok(Value::Bool(false)),
            other => Err(bad(format!("not a boolean: {other}"))),
        },
        "double" => text()
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| bad(format!("not a number: {}", text()))),
        "nil" => Ok(Value::Null),
        "array" => {
            let data = child(typed, "data").ok_or_else(|| bad("an <array> holds one <data>"))?;
            elements(data).map(|v| read_value(v, depth + 1)).collect::<AppResult<Vec<_>>>().map(Value::Array)
        }
        "struct" => {
            let mut map = Map::new();
            for member in elements(typed) {
                let name = child(member, "name").map(text_of).ok_or_else(|| bad("a <member> has no <name>"))?;
                let value = child(member, "value").ok_or_else(|| bad("a <member> has no <value>"))?;
                map.insert(name, read_value(value, depth + 1)?);
            }
            Ok(Value::Object(map))
        }
        other => Err(bad(format!("unknown XML-RPC type <{other}>"))),
    }
}

/// Text as XML character data: the three characters that must be escaped, and the control
/// characters XML 1.0 cannot carry left out.
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' => {}
            c => out.push(c),
        }
    }
}

/// A JSON value as an XML-RPC `<value>`; `null` as `false`, as Odoo marshals `None`.
pub fn write_value(value: &Value, out: &mut String) {
    out.push_str("<value>");
    match value {
        Value::Null | Value::Bool(false) => out.push_str("<boolean>0</boolean>"),
        Value::Bool(true) => out.push_str("<boolean>1</boolean>"),
        Value::Number(n) => match n.as_i64() {
            Some(i) if i32::try_from(i).is_ok() => out.push_str(&format!("<int>{i}</int>")),
            Some(i) => out.push_str(&format!("<i8>{i}</i8>")),
            None => out.push_str(&format!("<double>{}</double>", n.as_f64().unwrap_or(0.0))),
        },
        Value::String(s) => {
            out.push_str("<string>");
            escape(s, out);
            out.push_str("</string>");
        }
        Value::Array(items) => {
            out.push_str("<array><data>");
            for item in items {
                write_value(item, out);
            }
            out.push_str("</data></array>");
        }
        Value::Object(map) => {
            out.push_str("<struct>");
            for (name, item) in map {
                out.push_str("<member><name>");
                escape(name, out);
                out.push_str("</name>");
                write_value(item, out);
                out.push_str("</member>");
            }
            out.push_str("</struct>");
        }
    }
    out.push_str("</value>");
}

/// A `<methodResponse>` carrying `value`.
pub fn response(value: &Value) -> String {
    let mut out = String::from("<?xml version='1.0'?>\n<methodResponse><params><param>");
    write_value(value, &mut out);
    out.push_str("</param></params></methodResponse>\n");
    out
}

/// Odoo's fault for an error. On `/xmlrpc/2`: access denied (3), access error (4), user
/// and validation errors as warnings (2), anything else an application error (1), the
/// message as `faultString`. On `/xmlrpc`: `warning -- <exception>` and the message, or
/// `AccessDenied`, or the message itself as the code. The message is the one the other
/// doors send (an internal cause only as its reference).
fn fault(error: &AppError, faults: Faults) -> String {
    let message = said(error).english();
    let (code, text) = match faults {
        Faults::Numbered => {
            let code = match error {
                AppError::AccessDenied => FAULT_ACCESS_DENIED,
                AppError::Forbidden(_) => FAULT_ACCESS_ERROR,
                AppError::User(_) | AppError::Validation(_) | AppError::Missing(_) => FAULT_WARNING,
                _ => FAULT_APPLICATION_ERROR,
            };
            (Value::from(code), message)
        }
        Faults::Named => match error {
            AppError::AccessDenied => (Value::from("AccessDenied"), message),
            AppError::User(_) | AppError::Validation(_) | AppError::Missing(_) | AppError::Forbidden(_) => {
                let name = error.odoo_name().python_name().rsplit('.').next().unwrap_or_default().to_string();
                (Value::from(format!("warning -- {name}\n\n{message}")), String::new())
            }
            _ => (Value::from(message), String::new()),
        },
    };
    let mut fault = Map::new();
    fault.insert("faultCode".into(), code);
    fault.insert("faultString".into(), Value::from(text));
    let mut out = String::from("<?xml version='1.0'?>\n<methodResponse><fault>");
    write_value(&Value::Object(fault), &mut out);
    out.push_str("</fault></methodResponse>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(body: &str) -> AppResult<(String, Vec<Value>)> {
        read_call(body.as_bytes())
    }

    #[test]
    fn reads_what_python_xmlrpc_client_sends() {
        let body = "<?xml version='1.0'?>\n<methodCall>\n<methodName>execute_kw</methodName>\n<params>\n\
            <param>\n<value><string>db</string></value>\n</param>\n<param>\n<value><int>1</int></value>\n</param>\n\
            <param>\n<value><string>key</string></value>\n</param>\n<param>\n<value>dte.backup</value>\n</param>\n\
            <param>\n<value><array><data>\n<value><array><data>\n<value><array><data>\n<value><string>folio</string></value>\n\
            <value><string>=</string></value>\n<value><string>7</string></value>\n</data></array></value>\n</data></array></value>\n\
            </data></array></value>\n</param>\n<param>\n<value><struct>\n<member>\n<name>limit</name>\n<value><int>5</int></value>\n\
            </member>\n<member>\n<name>active</name>\n<value><boolean>1</boolean></value>\n</member>\n<member>\n<name>none</name>\n\
            <value><nil/></value></member>\n<member>\n<name>rate</name>\n<value><double>0.5</double></value>\n</member>\n\
            </struct></value>\n</param>\n</params>\n</methodCall>\n";
        let (method, params) = call(body).unwrap();
        assert_eq!(method, "execute_kw");
        assert_eq!(
            Value::Array(params),
            serde_json::json!(["db", 1, "key", "dte.backup", [[["folio", "=", "7"]]],
                {"limit": 5, "active": true, "none": null, "rate": 0.5}])
        );
    }

    #[test]
    fn refuses_dtds_entities_depth_and_garbage() {
        let dtd = "<?xml version='1.0'?><!DOCTYPE m [<!ENTITY a \"aaaa\">]><methodCall><methodName>x</methodName></methodCall>";
        assert_eq!(call(dtd).unwrap_err().to_string(), "a DTD or entity declaration is not accepted");
        let entity = "<methodCall><methodName>x&unknown;</methodName></methodCall>";
        assert_eq!(call(entity).unwrap_err().to_string(), "the body is not well-formed XML");
        let deep = format!(
            "<methodCall><methodName>x</methodName><params><param>{}{}</param></params></methodCall>",
            "<value><array><data>".repeat(200),
            "</data></array></value>".repeat(200)
        );
        assert_eq!(call(&deep).unwrap_err().to_string(), "values nest deeper than 32 levels");
        // Deep elements anywhere, or hidden behind a quoted `/>`, are refused before parsing.
        for deep in [
            format!(
                "<methodCall><methodName>{}x{}</methodName></methodCall>",
                "<a>".repeat(100_000),
                "</a>".repeat(100_000)
            ),
            format!("<methodCall>{}</methodCall>", "<a b=\"/>\">".repeat(100_000)),
            format!("<methodCall>{}</methodCall>", "<a><!-- </a> -->".repeat(100_000)),
        ] {
            assert_eq!(call(&deep).unwrap_err().to_string(), "values nest deeper than 32 levels");
        }
        for (body, message) in [
            ("<methodCall><params/></methodCall>", "the <methodCall> has no <methodName>"),
            ("<methodResponse/>", "expected an XML-RPC <methodCall>"),
            ("<methodCall><methodName>x</methodName><params><param><value><int>z</int></value></param></params></methodCall>", "not an integer: z"),
            ("<methodCall><methodName>x</methodName><params><param><value><blob/></value></param></params></methodCall>", "unknown XML-RPC type <blob>"),
            ("not xml", "the body is not well-formed XML"),
        ] {
            assert_eq!(call(body).unwrap_err().to_string(), message);
        }
        assert_eq!(read_call(&[0x3c, 0xff, 0xfe]).unwrap_err().to_string(), "the XML-RPC body is not UTF-8");
    }

    #[test]
    fn writes_answers_and_faults_as_odoo_does() {
        let xml = response(&serde_json::json!({"id": 3, "big": 5_000_000_000_i64, "name": "Ñandú <&>", "none": null,
            "list": [true, 1.5, "\u{1}x"]}));
        assert!(xml.contains("<member><name>id</name><value><int>3</int></value></member>"), "{xml}");
        assert!(xml.contains("<value><i8>5000000000</i8></value>"), "{xml}");
        assert!(xml.contains("<string>Ñandú &lt;&amp;&gt;</string>"), "{xml}");
        assert!(xml.contains("<name>none</name><value><boolean>0</boolean></value>"), "{xml}");
        assert!(xml.contains("<value><double>1.5</double></value><value><string>x</string></value>"), "{xml}");
        let denied = fault(&AppError::AccessDenied, Faults::Numbered);
        assert!(denied.contains("<name>faultCode</name><value><int>3</int></value>"), "{denied}");
        let warning = fault(&AppError::user(Message::folio_used("33", 7)), Faults::Numbered);
        assert!(
            warning.contains("<int>2</int>")
                && warning.contains("<string>folio: folio 7 of DTE 33 is already used</string>"),
            "{warning}"
        );
        assert!(fault(&AppError::Forbidden(Message::company_not_of_key(2)), Faults::Numbered).contains("<int>4</int>"));
        let internal = fault(&AppError::internal(anyhow::anyhow!("secret cause")), Faults::Numbered);
        assert!(internal.contains("<int>1</int>") && !internal.contains("secret cause"), "{internal}");
        let named = fault(&AppError::field("folio", "must be positive"), Faults::Named);
        assert!(named.contains("<string>warning -- ValidationError\n\nfolio: must be positive</string>"), "{named}");
        let denied = fault(&AppError::AccessDenied, Faults::Named);
        assert!(denied.contains("<name>faultCode</name><value><string>AccessDenied</string></value>"), "{denied}");
    }
}
