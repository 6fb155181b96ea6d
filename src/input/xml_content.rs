//! Signed XML handed in over RPC (`xml_content`): size-capped, well-formed, no DTD, and,
//! when it is a DTE, about the document the other arguments name.
//!
//! The text arrives as a JSON string. It is stored in the encoding its declaration names:
//! SII documents declare ISO-8859-1, so their characters are written back as Latin-1
//! bytes, exactly as they were signed.

use libxml::parser::{Parser, ParserOptions};
use libxml::xpath::Context;

use crate::error::{AppError, AppResult};
use crate::message::Message;

/// The DTE an XML claims to be, when it holds one `IdDoc`.
#[derive(Debug, PartialEq, Eq)]
pub struct Identity {
    pub dte_type: String,
    pub folio: String,
}

/// Checks `text` and returns the bytes to store.
pub fn accept_text(field: &str, text: &str, max_bytes: usize) -> AppResult<Vec<u8>> {
    if text.len() > max_bytes {
        return Err(AppError::validation(Message::xml_too_large(field, max_bytes)));
    }
    let bytes = if declares_latin1(text) { to_latin1(field, text)? } else { text.as_bytes().to_vec() };
    check_well_formed(field, &bytes)?;
    Ok(bytes)
}

/// Checks XML that arrives as bytes (base64 fields).
pub fn accept_bytes(field: &str, bytes: Vec<u8>, max_bytes: usize) -> AppResult<Vec<u8>> {
    if bytes.len() > max_bytes {
        return Err(AppError::validation(Message::xml_too_large(field, max_bytes)));
    }
    check_well_formed(field, &bytes)?;
    Ok(bytes)
}

/// Refuses an XML whose `IdDoc` names another type or folio than the call does.
pub fn check_identity(field: &str, bytes: &[u8], dte_type: &str, folio: &str) -> AppResult<()> {
    if let Some(found) = identity(bytes) {
        if found.dte_type != dte_type || found.folio != folio {
            return Err(AppError::validation(Message::xml_other_identity(
                field,
                &found.dte_type,
                &found.folio,
                dte_type,
                folio,
            )));
        }
    }
    Ok(())
}

fn declares_latin1(text: &str) -> bool {
    let prolog = text.trim_start();
    if !prolog.starts_with("<?xml") {
        return false;
    }
    let declaration = prolog.split("?>").next().unwrap_or_default().to_ascii_lowercase();
    declaration.contains("iso-8859-1") || declaration.contains("iso8859-1") || declaration.contains("latin1")
}

fn to_latin1(field: &str, text: &str) -> AppResult<Vec<u8>> {
    text.chars()
        .map(|c| {
            u8::try_from(u32::from(c)).map_err(|_| AppError::validation(Message::xml_not_latin1(field, c.to_string())))
        })
        .collect()
}

fn check_well_formed(field: &str, bytes: &[u8]) -> AppResult<()> {
    // A DTE never carries a DTD; refusing any keeps entity expansion and external
    // fetches out of the question. The engine's parse decides by what libxml read, in
    // whatever encoding the bytes came, and allows only the SII's encodings.
    crate::dte::check_xml(bytes).map_err(|e| match e {
        crate::dte::DteError::MalformedXml(why) if why.contains("DTD") => AppError::validation(Message::xml_dtd(field)),
        crate::dte::DteError::MalformedXml(why) if why.starts_with("encoding ") => {
            AppError::validation(Message::xml_encoding(field, why))
        }
        crate::dte::DteError::MalformedXml(why) => AppError::validation(Message::xml_malformed(field, why)),
        other => AppError::validation(Message::document_invalid(field, other.to_string())),
    })?;
    parse(bytes).map(drop).map_err(|why| AppError::validation(Message::xml_malformed(field, why.to_string())))
}

fn parse(bytes: &[u8]) -> Result<libxml::tree::Document, String> {
    let options = ParserOptions { recover: false, no_net: true, huge: false, ..ParserOptions::default() };
    match Parser::default().parse_string_with_diagnostics(bytes, options) {
        Ok((doc, diagnostics)) if diagnostics.iter().all(|d| !is_error(d)) => Ok(doc),
        Ok((_, diagnostics)) => Err(first_message(&diagnostics)),
        Err(libxml::parser::XmlParseFailure::ParseFailed(diagnostics)) => Err(first_message(&diagnostics)),
        Err(_) => Err("cannot be read".into()),
    }
}

fn is_error(diagnostic: &libxml::error::StructuredError) -> bool {
    !matches!(diagnostic.level, libxml::error::XmlErrorLevel::Warning | libxml::error::XmlErrorLevel::None)
}

fn first_message(diagnostics: &[libxml::error::StructuredError]) -> String {
    diagnostics
        .iter()
        .find(|d| is_error(d))
        .map(|d| {
            let message = d.message.as_deref().unwrap_or("parse error").trim().to_string();
            match d.line {
                Some(line) => format!("{message} (line {line})"),
                None => message,
            }
        })
        .unwrap_or_else(|| "parse error".into())
}

fn identity(bytes: &[u8]) -> Option<Identity> {
    let doc = parse(bytes).ok()?;
    let mut context = Context::new(&doc).ok()?;
    let mut text = |path: &str| -> Option<String> {
        let nodes = context.findnodes(path, None).ok()?;
        match nodes.as_slice() {
            [node] => Some(node.get_content().trim().to_string()),
            _ => None,
        }
    };
    Some(Identity {
        dte_type: text("//*[local-name()='IdDoc']/*[local-name()='TipoDTE']")?,
        folio: text("//*[local-name()='IdDoc']/*[local-name()='Folio']")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DTE: &str = concat!(
        r#"<?xml version="1.0" encoding="ISO-8859-1"?>
<DTE xmlns="http://www.sii.cl/SiiDte" version="1.0"><Documento ID="F7T33"><Encabezado><IdDoc>
<TipoDTE>33</TipoDTE><Folio>7</Folio></IdDoc><Receptor><RznSocRecep>Ñandú &amp; Cía</RznSocRecep></Receptor>"#,
        "</Encabezado></Documento></DTE>"
    );

    #[test]
    fn latin1_documents_are_stored_as_latin1() {
        let bytes = accept_text("xml_content", DTE, 1 << 20).unwrap();
        assert!(bytes.windows(5).any(|w| w == b"\xd1and\xfa"), "Ñandú must be Latin-1");
        assert_eq!(identity(&bytes), Some(Identity { dte_type: "33".into(), folio: "7".into() }));
        assert!(check_identity("xml_content", &bytes, "33", "7").is_ok());
        let err = check_identity("xml_content", &bytes, "33", "8").unwrap_err().to_string();
        assert!(err.contains("holds DTE 33 folio 7"), "{err}");
    }

    #[test]
    fn malformed_oversized_and_dtd_inputs_are_refused() {
        for (text, why) in [
            ("<DTE><Documento></DTE>", "not well-formed"),
            ("not xml at all", "not well-formed"),
            ("", "not well-formed"),
            ("<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>", "DTD"),
            // A DTD that no byte check sees: UTF-7 ('+ADw-' is '<'), and UTF-16 without a BOM.
            (
                "<?xml version=\"1.0\" encoding=\"UTF-7\"?>\
                 +ADw-!DOCTYPE x +AFs-+ADw-!ENTITY a \"b\"+AD4-+AF0-+AD4-<x/>",
                "UTF-7",
            ),
            ("<?xml version=\"1.0\" encoding=\"UTF-16\"?><x/>", "UTF-16"),
            ("<x>&undeclared;</x>", "not well-formed"),
            ("x<x/>", "must begin with '<'"),
            ("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><x>€</x>", "ISO-8859-1"),
        ] {
            let err = accept_text("xml_content", text, 1 << 20).unwrap_err().to_string();
            assert!(err.starts_with("xml_content: ") && err.contains(why), "{text}: {err}");
        }
        let mut utf16 = Vec::new();
        for unit in "<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>".encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        let err = accept_bytes("caf_xml", utf16, 1 << 20).unwrap_err().to_string();
        assert!(err.contains("must begin with '<'"), "{err}");
        let err = accept_text("xml_content", DTE, 10).unwrap_err().to_string();
        assert!(err.contains("larger than 10 bytes"), "{err}");
    }
}
