//! The SII's RPC-style SOAP: every web service takes string parameters and answers a
//! string of escaped XML (`<getSeedReturn>`, `<getTokenReturn>`, …) holding a
//! `SII:RESPUESTA` with `RESP_HDR` and `RESP_BODY`. Parsing never relies on a namespace
//! prefix, and accepts ISO-8859-1 bytes behind a UTF-8 declaration.

use super::{ErrorClass, SiiError, CERTIFICATION_BASE};

/// The namespace the SII's WSDLs give each service (the certification host's URL).
pub fn service_namespace(path: &str) -> String {
    format!("{CERTIFICATION_BASE}{path}")
}

/// A SOAP 1.1 request calling `operation` with string `params`, in order.
pub fn request(service_path: &str, operation: &str, params: &[(&str, &str)]) -> String {
    let mut body = String::new();
    for (name, value) in params {
        body.push_str(&format!("<{name} xsi:type=\"xsd:string\">{}</{name}>", escape(value)));
    }
    envelope(&format!(
        "<ns1:{operation} soapenv:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\" \
         xmlns:ns1=\"{}\">{body}</ns1:{operation}>",
        service_namespace(service_path)
    ))
}

/// A SOAP response returning `inner` (an XML text) from `operation`.
pub fn response(service_path: &str, operation: &str, inner: &str) -> String {
    envelope(&format!(
        "<ns1:{operation}Response soapenv:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\" xmlns:ns1=\"{}\">\
         <{operation}Return xsi:type=\"xsd:string\">{}</{operation}Return></ns1:{operation}Response>",
        service_namespace(service_path),
        escape(inner)
    ))
}

/// A SOAP fault, as Axis answers a call it cannot serve.
pub fn fault(message: &str) -> String {
    envelope(&format!(
        "<soapenv:Fault><faultcode>soapenv:Server.userException</faultcode>\
         <faultstring>{}</faultstring></soapenv:Fault>",
        escape(message)
    ))
}

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )
}

/// XML text escaping for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Text of bytes that claim UTF-8 but may be ISO-8859-1.
pub fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => bytes.iter().map(|b| char::from(*b)).collect(),
    }
}

/// Drops an XML declaration: roxmltree reads text, not bytes, so the declared encoding
/// (often wrong at the SII) must not get in the way.
fn without_declaration(text: &str) -> &str {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with("<?xml") {
        trimmed.find("?>").map_or(trimmed, |end| &trimmed[end + 2..])
    } else {
        trimmed
    }
}

fn unreadable(what: &str) -> SiiError {
    SiiError::transient("unreadable", format!("unreadable answer from the SII: {what}"))
}

/// The string a SOAP response returns, or the fault it carries.
pub fn parse_return(body: &[u8]) -> Result<String, SiiError> {
    let text = decode_text(body);
    let doc = roxmltree::Document::parse(without_declaration(&text)).map_err(|_| unreadable(&snippet(&text)))?;
    if let Some(fault) = doc.descendants().find(|n| n.tag_name().name() == "Fault") {
        let message = fault
            .descendants()
            .find(|n| n.tag_name().name() == "faultstring")
            .and_then(|n| n.text())
            .unwrap_or("SOAP fault");
        return Err(SiiError::transient("soap-fault", message.trim()));
    }
    doc.descendants()
        .find(|n| n.is_element() && n.tag_name().name().ends_with("Return"))
        .map(|n| n.text().unwrap_or_default().to_string())
        .ok_or_else(|| unreadable("no return value"))
}

/// A call's operation name and string parameters, as the simulator reads it.
pub fn parse_request(body: &[u8]) -> Result<(String, Vec<(String, String)>), String> {
    let text = decode_text(body);
    let doc = roxmltree::Document::parse(without_declaration(&text)).map_err(|e| format!("not XML: {e}"))?;
    let body = doc.descendants().find(|n| n.tag_name().name() == "Body").ok_or_else(|| "no SOAP Body".to_string())?;
    let call = body.children().find(|n| n.is_element()).ok_or_else(|| "empty SOAP Body".to_string())?;
    let params = call
        .children()
        .filter(|n| n.is_element())
        .map(|n| (n.tag_name().name().to_string(), n.text().unwrap_or_default().to_string()))
        .collect();
    Ok((call.tag_name().name().to_string(), params))
}

/// An `SII:RESPUESTA`: header fields and body fields, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Respuesta {
    pub header: Vec<(String, String)>,
    pub body: Vec<(String, String)>,
}

impl Respuesta {
    pub fn parse(inner: &str) -> Result<Self, SiiError> {
        let doc = roxmltree::Document::parse(without_declaration(inner)).map_err(|_| unreadable(&snippet(inner)))?;
        let fields = |name: &str| -> Vec<(String, String)> {
            doc.descendants()
                .filter(|n| n.tag_name().name() == name)
                .flat_map(|section| section.children().filter(|n| n.is_element()))
                .map(|n| (n.tag_name().name().to_string(), n.text().unwrap_or_default().trim().to_string()))
                .collect()
        };
        let parsed = Self { header: fields("RESP_HDR"), body: fields("RESP_BODY") };
        if parsed.header.is_empty() {
            return Err(unreadable("no RESP_HDR"));
        }
        Ok(parsed)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.header.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn body(&self, name: &str) -> Option<&str> {
        self.body.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// `ESTADO`, which every answer carries.
    pub fn estado(&self) -> &str {
        self.header("ESTADO").unwrap_or_default()
    }

    /// The XML text of this answer, as the SII writes it.
    pub fn to_xml(&self) -> String {
        let fields = |items: &[(String, String)]| -> String {
            items.iter().map(|(k, v)| format!("<{k}>{}</{k}>", escape(v))).collect()
        };
        let body = if self.body.is_empty() {
            String::new()
        } else {
            format!("<SII:RESP_BODY>{}</SII:RESP_BODY>", fields(&self.body))
        };
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SII:RESPUESTA xmlns:SII=\"http://www.sii.cl/XMLSchema\">\
             {body}<SII:RESP_HDR>{}</SII:RESP_HDR></SII:RESPUESTA>",
            fields(&self.header)
        )
    }
}

/// The first characters of an unreadable answer, for the log and the queue's message.
pub fn snippet(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    flat.chars().take(120).collect()
}

/// Checks the answer of getSeed / getToken: ESTADO `00` and the wanted body field.
pub fn expect_field(respuesta: &Respuesta, field: &str, what: &str) -> Result<String, SiiError> {
    match (respuesta.estado(), respuesta.body(field)) {
        ("00", Some(value)) if !value.is_empty() => Ok(value.to_string()),
        (estado, _) => {
            let glosa = respuesta.header("GLOSA").unwrap_or_default();
            // getToken: -07 and 11/12 are certificate or RUT problems.
            let class = if what == "token" { ErrorClass::Auth } else { ErrorClass::Transient };
            Err(SiiError::new(
                class,
                estado.to_string(),
                format!("{what} refused: {}", if glosa.is_empty() { estado } else { glosa }),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_OK: &str = include_str!("../../tests/fixtures/sii/crseed-getSeed-ok.soap.xml");
    const TOKEN_OK: &str = include_str!("../../tests/fixtures/sii/gettokenfromseed-getToken-ok.soap.xml");
    const EST_UP_EPR: &str = include_str!("../../tests/fixtures/sii/queryestup-getEstUp-EPR.soap.xml");

    #[test]
    fn reads_the_sii_sample_answers() {
        let seed = Respuesta::parse(&parse_return(SEED_OK.as_bytes()).unwrap()).unwrap();
        assert_eq!(expect_field(&seed, "SEMILLA", "seed").unwrap(), "012345678901");
        let token = Respuesta::parse(&parse_return(TOKEN_OK.as_bytes()).unwrap()).unwrap();
        assert_eq!(expect_field(&token, "TOKEN", "token").unwrap(), "WFSYRDEJWOAW0");
        let status = Respuesta::parse(&parse_return(EST_UP_EPR.as_bytes()).unwrap()).unwrap();
        assert_eq!(status.estado(), "EPR");
        assert_eq!(status.header("TRACKID"), Some("0123456789"));
        assert_eq!(status.body("ACEPTADOS"), Some("1"));
    }

    #[test]
    fn our_answers_read_back_the_same() {
        let answer = Respuesta {
            header: vec![("ESTADO".into(), "00".into()), ("GLOSA".into(), "Token Creado & <ok>".into())],
            body: vec![("TOKEN".into(), "ABC".into())],
        };
        let soap = response(super::super::PATH_TOKEN, "getToken", &answer.to_xml());
        assert_eq!(Respuesta::parse(&parse_return(soap.as_bytes()).unwrap()).unwrap(), answer);
        let call = request(super::super::PATH_EST_UP, "getEstUp", &[("RutCompania", "76000001"), ("Token", "<x&y>")]);
        let (operation, params) = parse_request(call.as_bytes()).unwrap();
        assert_eq!(operation, "getEstUp");
        assert_eq!(params[1], ("Token".to_string(), "<x&y>".to_string()));
    }

    #[test]
    fn faults_html_and_latin1_are_handled() {
        let err = parse_return(fault("boom").as_bytes()).unwrap_err();
        assert_eq!((err.class, err.code.as_str(), err.message.as_str()), (ErrorClass::Transient, "soap-fault", "boom"));
        let err = parse_return(b"<html><body>Error 500</body></html>").unwrap_err();
        assert_eq!(err.class, ErrorClass::Transient);
        assert_eq!(parse_return(b"Error 500").unwrap_err().code, "unreadable");
        let latin1 = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><SII:RESPUESTA xmlns:SII=\"x\"><SII:RESP_HDR>\
            <ESTADO>00</ESTADO><GLOSA>Compa\xf1\xeda</GLOSA></SII:RESP_HDR></SII:RESPUESTA>";
        let parsed = Respuesta::parse(&decode_text(latin1)).unwrap();
        assert_eq!(parsed.header("GLOSA"), Some("Compañía"));
    }
}
