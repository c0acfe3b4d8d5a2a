//! XML-RPC bodies. API errors travel inside a `Status`/`ErrorDescription`
//! struct, never as `<fault>` (that is reserved for plugins and protocol
//! trouble).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::{Value, WireError};

/// A `methodCall` body.
pub fn encode_call(method: &str, params: &[Value]) -> String {
    let mut out = String::with_capacity(128 + 64 * params.len());
    out.push_str("<?xml version=\"1.0\"?><methodCall><methodName>");
    escape_into(&mut out, method);
    out.push_str("</methodName><params>");
    for param in params {
        out.push_str("<param>");
        write_value(&mut out, param);
        out.push_str("</param>");
    }
    out.push_str("</params></methodCall>");
    out
}

/// A successful API response: `{Status: Success, Value: v}`.
pub fn encode_success(value: &Value) -> String {
    let mut members = BTreeMap::new();
    members.insert("Status".to_string(), Value::str("Success"));
    members.insert("Value".to_string(), value.clone());
    encode_raw_response(&Value::Struct(members))
}

/// A failed API response: `{Status: Failure, ErrorDescription: [code, params...]}`.
pub fn encode_failure(description: &[String]) -> String {
    let mut members = BTreeMap::new();
    members.insert("Status".to_string(), Value::str("Failure"));
    members.insert(
        "ErrorDescription".to_string(),
        Value::Array(description.iter().map(|s| Value::str(s.as_str())).collect()),
    );
    encode_raw_response(&Value::Struct(members))
}

/// A `methodResponse` carrying `value` as is (xapi does this only for
/// `system.listMethods`).
pub fn encode_raw_response(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\"?><methodResponse><params><param>");
    write_value(&mut out, value);
    out.push_str("</param></params></methodResponse>");
    out
}

/// A `<fault>` response (what XenAPIPlugin-style scripts may print).
pub fn encode_fault(code: i32, message: &str) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?><methodResponse><fault>");
    let fault = Value::structure([
        ("faultCode", Value::Int32(code)),
        ("faultString", Value::str(message)),
    ]);
    write_value(&mut out, &fault);
    out.push_str("</fault></methodResponse>");
    out
}

/// Appends one `<value>` element.
pub fn write_value(out: &mut String, value: &Value) {
    match value {
        // xapi sends strings and int64 untyped.
        Value::String(s) => {
            if s.is_empty() {
                out.push_str("<value/>");
            } else {
                out.push_str("<value>");
                escape_into(out, s);
                out.push_str("</value>");
            }
        }
        Value::Int(i) => {
            let _ = write!(out, "<value>{i}</value>");
        }
        Value::Int32(i) => {
            let _ = write!(out, "<value><i4>{i}</i4></value>");
        }
        Value::Bool(b) => {
            let _ = write!(out, "<value><boolean>{}</boolean></value>", u8::from(*b));
        }
        Value::Double(f) => {
            let _ = write!(out, "<value><double>{f:?}</double></value>");
        }
        Value::DateTime(s) => {
            out.push_str("<value><dateTime.iso8601>");
            escape_into(out, s);
            out.push_str("</dateTime.iso8601></value>");
        }
        Value::Array(items) => {
            out.push_str("<value><array><data>");
            for item in items {
                write_value(out, item);
            }
            out.push_str("</data></array></value>");
        }
        Value::Struct(members) => {
            out.push_str("<value><struct>");
            for (name, member) in members {
                out.push_str("<member><name>");
                escape_into(out, name);
                out.push_str("</name>");
                write_value(out, member);
                out.push_str("</member>");
            }
            out.push_str("</struct></value>");
        }
        Value::Nil => out.push_str("<value><nil/></value>"),
    }
}

/// Escapes like xapi: `< > & "` as entities, control characters other
/// than tab, newline and carriage return dropped (XML cannot carry them).
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
}

/// Parses a `methodCall` into its method name and parameters.
pub fn decode_call(body: &[u8]) -> Result<(String, Vec<Value>), WireError> {
    let mut parser = Parser::new(body)?;
    parser.expect_start("methodCall")?;
    parser.expect_start("methodName")?;
    let method = parser.text_until_end("methodName")?;
    let mut params = Vec::new();
    match parser.next_tag()? {
        Tag::Start(name) if name == "params" => {
            loop {
                match parser.next_tag()? {
                    Tag::Start(name) if name == "param" => {
                        params.push(parser.value()?);
                        parser.expect_end("param")?;
                    }
                    Tag::End(name) if name == "params" => break,
                    Tag::Empty(name) if name == "param" => {
                        return Err(WireError::new("empty <param> element"))
                    }
                    other => return Err(parser.unexpected(other, "<param> or </params>")),
                }
            }
            parser.expect_end("methodCall")?;
        }
        Tag::Empty(name) if name == "params" => parser.expect_end("methodCall")?,
        Tag::End(name) if name == "methodCall" => {}
        other => return Err(parser.unexpected(other, "<params>")),
    }
    parser.expect_eof()?;
    Ok((method.trim().to_string(), params))
}

/// What a `methodResponse` carried.
#[derive(Debug, Clone, PartialEq)]
pub enum MethodResponse {
    /// The single `<param>` value.
    Params(Value),
    /// A `<fault>` struct (`faultCode`, `faultString`).
    Fault(Value),
}

/// Parses a `methodResponse`, keeping faults apart from results.
pub fn decode_method_response(body: &[u8]) -> Result<MethodResponse, WireError> {
    let mut parser = Parser::new(body)?;
    parser.expect_start("methodResponse")?;
    let response = match parser.next_tag()? {
        Tag::Start(name) if name == "params" => {
            parser.expect_start("param")?;
            let value = parser.value()?;
            parser.expect_end("param")?;
            parser.expect_end("params")?;
            MethodResponse::Params(value)
        }
        Tag::Start(name) if name == "fault" => {
            let value = parser.value()?;
            parser.expect_end("fault")?;
            MethodResponse::Fault(value)
        }
        other => return Err(parser.unexpected(other, "<params> or <fault>")),
    };
    parser.expect_end("methodResponse")?;
    parser.expect_eof()?;
    Ok(response)
}

/// Parses a `methodResponse` and returns its value; a `<fault>` is an error.
pub fn decode_response(body: &[u8]) -> Result<Value, WireError> {
    match decode_method_response(body)? {
        MethodResponse::Params(value) => Ok(value),
        MethodResponse::Fault(fault) => Err(WireError::new(format!(
            "XML-RPC fault {}: {}",
            fault.get("faultCode").and_then(Value::as_int).unwrap_or(0),
            fault
                .get("faultString")
                .and_then(Value::as_str)
                .unwrap_or("")
        ))),
    }
}

#[derive(Debug)]
enum Tag {
    Start(String),
    End(String),
    Empty(String),
    Text(String),
    Eof,
}

struct Parser<'a> {
    reader: Reader<&'a [u8]>,
    /// One tag read ahead by `value()` when it met whitespace.
    pending: Option<Tag>,
}

/// Deepest nesting accepted, so a hostile body cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

impl<'a> Parser<'a> {
    fn new(body: &'a [u8]) -> Result<Parser<'a>, WireError> {
        std::str::from_utf8(body).map_err(|e| WireError::new(format!("body is not UTF-8: {e}")))?;
        let mut reader = Reader::from_reader(body);
        reader.config_mut().trim_text(false);
        reader.config_mut().expand_empty_elements = false;
        Ok(Parser {
            reader,
            pending: None,
        })
    }

    fn raw_next(&mut self) -> Result<Tag, WireError> {
        if let Some(tag) = self.pending.take() {
            return Ok(tag);
        }
        loop {
            let position = self.reader.buffer_position();
            let event = self
                .reader
                .read_event()
                .map_err(|e| WireError::new(format!("malformed XML at byte {position}: {e}")))?;
            return Ok(match event {
                Event::Start(e) => Tag::Start(name_of(e.name().as_ref())),
                Event::End(e) => Tag::End(name_of(e.name().as_ref())),
                Event::Empty(e) => Tag::Empty(name_of(e.name().as_ref())),
                Event::Text(t) => Tag::Text(
                    t.unescape()
                        .map_err(|e| WireError::new(format!("bad text at byte {position}: {e}")))?
                        .into_owned(),
                ),
                Event::CData(t) => Tag::Text(String::from_utf8_lossy(&t).into_owned()),
                Event::Eof => Tag::Eof,
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => continue,
            });
        }
    }

    /// The next tag, skipping whitespace-only text between elements.
    fn next_tag(&mut self) -> Result<Tag, WireError> {
        loop {
            match self.raw_next()? {
                Tag::Text(t) if t.trim().is_empty() => continue,
                tag => return Ok(tag),
            }
        }
    }

    fn unexpected(&self, found: Tag, wanted: &str) -> WireError {
        let found = match found {
            Tag::Start(n) => format!("<{n}>"),
            Tag::End(n) => format!("</{n}>"),
            Tag::Empty(n) => format!("<{n}/>"),
            Tag::Text(t) => format!("text {:?}", t.chars().take(40).collect::<String>()),
            Tag::Eof => "end of body (truncated?)".to_string(),
        };
        WireError::new(format!(
            "expected {wanted}, found {found} at byte {}",
            self.reader.buffer_position()
        ))
    }

    fn expect_start(&mut self, wanted: &str) -> Result<(), WireError> {
        match self.next_tag()? {
            Tag::Start(n) if n == wanted => Ok(()),
            other => Err(self.unexpected(other, &format!("<{wanted}>"))),
        }
    }

    fn expect_end(&mut self, wanted: &str) -> Result<(), WireError> {
        match self.next_tag()? {
            Tag::End(n) if n == wanted => Ok(()),
            other => Err(self.unexpected(other, &format!("</{wanted}>"))),
        }
    }

    fn expect_eof(&mut self) -> Result<(), WireError> {
        match self.next_tag()? {
            Tag::Eof => Ok(()),
            other => Err(self.unexpected(other, "end of body")),
        }
    }

    /// Text content up to `</name>` (entities decoded).
    fn text_until_end(&mut self, name: &str) -> Result<String, WireError> {
        let mut text = String::new();
        loop {
            match self.raw_next()? {
                Tag::Text(t) => text.push_str(&t),
                Tag::End(n) if n == name => return Ok(text),
                other => return Err(self.unexpected(other, &format!("text or </{name}>"))),
            }
        }
    }

    /// One `<value>...</value>` (or `<value/>`), the opening tag not yet read.
    fn value(&mut self) -> Result<Value, WireError> {
        match self.next_tag()? {
            Tag::Start(n) if n == "value" => self.value_body(0),
            Tag::Empty(n) if n == "value" => Ok(Value::str("")),
            other => Err(self.unexpected(other, "<value>")),
        }
    }

    /// The inside of a `<value>` whose start tag was read.
    fn value_body(&mut self, depth: usize) -> Result<Value, WireError> {
        if depth > MAX_DEPTH {
            return Err(WireError::new(format!(
                "values nested deeper than {MAX_DEPTH}"
            )));
        }
        let mut text = String::new();
        loop {
            match self.raw_next()? {
                Tag::Text(t) => text.push_str(&t),
                // Untyped value: a string (xapi's strings, refs and int64).
                Tag::End(n) if n == "value" => return Ok(Value::String(text)),
                Tag::Empty(n) => {
                    let value = match n.as_str() {
                        "nil" => Value::Nil,
                        "string" => Value::str(""),
                        "array" => Value::Array(Vec::new()),
                        "struct" => Value::Struct(BTreeMap::new()),
                        other => {
                            return Err(WireError::new(format!("empty <{other}/> is not a value")))
                        }
                    };
                    self.expect_end("value")?;
                    return Ok(value);
                }
                Tag::Start(n) => {
                    if !text.trim().is_empty() {
                        return Err(WireError::new(format!("text before <{n}> inside <value>")));
                    }
                    let value = self.typed(&n, depth)?;
                    self.expect_end("value")?;
                    return Ok(value);
                }
                other => return Err(self.unexpected(other, "a value")),
            }
        }
    }

    fn typed(&mut self, type_name: &str, depth: usize) -> Result<Value, WireError> {
        let scalar = |parser: &mut Parser<'a>| parser.text_until_end(type_name);
        Ok(match type_name {
            "string" | "base64" => Value::String(scalar(self)?),
            "int" | "i4" | "i8" => {
                let text = scalar(self)?;
                let parsed: i64 = text.trim().parse().map_err(|_| {
                    WireError::new(format!("<{type_name}> holds {text:?}, not an integer"))
                })?;
                if type_name == "i4" {
                    Value::Int32(
                        i32::try_from(parsed)
                            .map_err(|_| WireError::new(format!("<i4> {parsed} out of range")))?,
                    )
                } else {
                    Value::Int(parsed)
                }
            }
            "boolean" => match scalar(self)?.trim() {
                "1" | "true" => Value::Bool(true),
                "0" | "false" => Value::Bool(false),
                other => return Err(WireError::new(format!("<boolean> holds {other:?}"))),
            },
            "double" => {
                let text = scalar(self)?;
                Value::Double(
                    text.trim()
                        .parse()
                        .map_err(|_| WireError::new(format!("<double> holds {text:?}")))?,
                )
            }
            "dateTime.iso8601" => Value::DateTime(scalar(self)?.trim().to_string()),
            "nil" => {
                self.expect_end("nil")?;
                Value::Nil
            }
            "array" => {
                let mut items = Vec::new();
                match self.next_tag()? {
                    Tag::Start(n) if n == "data" => loop {
                        match self.next_tag()? {
                            Tag::Start(n) if n == "value" => {
                                items.push(self.value_body(depth + 1)?)
                            }
                            Tag::Empty(n) if n == "value" => items.push(Value::str("")),
                            Tag::End(n) if n == "data" => break,
                            other => return Err(self.unexpected(other, "<value> or </data>")),
                        }
                    },
                    Tag::Empty(n) if n == "data" => {}
                    other => return Err(self.unexpected(other, "<data>")),
                }
                self.expect_end("array")?;
                Value::Array(items)
            }
            "struct" => {
                let mut members = BTreeMap::new();
                loop {
                    match self.next_tag()? {
                        Tag::Start(n) if n == "member" => {
                            self.expect_start("name")?;
                            let name = self.text_until_end("name")?;
                            let value = match self.next_tag()? {
                                Tag::Start(n) if n == "value" => self.value_body(depth + 1)?,
                                Tag::Empty(n) if n == "value" => Value::str(""),
                                other => return Err(self.unexpected(other, "<value>")),
                            };
                            self.expect_end("member")?;
                            members.insert(name, value);
                        }
                        Tag::End(n) if n == "struct" => break,
                        other => return Err(self.unexpected(other, "<member> or </struct>")),
                    }
                }
                Value::Struct(members)
            }
            other => return Err(WireError::new(format!("unknown XML-RPC type <{other}>"))),
        })
    }
}

fn name_of(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_round_trip_keeps_every_kind() {
        let params = vec![
            Value::str("OpaqueRef:1 <&> \"q\""),
            Value::Int(-1500),
            Value::Int32(7),
            Value::Bool(true),
            Value::Double(30.5),
            Value::DateTime("19700101T00:00:00Z".into()),
            Value::Array(vec![Value::str("a"), Value::Array(vec![])]),
            Value::string_map([("ethtool-tx", "off"), ("", "")]),
            Value::Nil,
            Value::str(""),
        ];
        let body = encode_call("VIF.add_to_other_config", &params);
        let (method, back) = decode_call(body.as_bytes()).unwrap();
        assert_eq!(method, "VIF.add_to_other_config");
        // Untyped int64 comes back as the decimal string clients see.
        let mut expected = params.clone();
        expected[1] = Value::str("-1500");
        assert_eq!(back, expected);
    }

    #[test]
    fn reads_what_python_xmlrpc_sends() {
        // Shape of xmlrpc.client.dumps(("OpaqueRef:x", 30.0, ["vif"]), "event.from").
        let body = b"<?xml version='1.0'?>\n<methodCall>\n<methodName>event.from</methodName>\n<params>\n\
<param>\n<value><string>OpaqueRef:x</string></value>\n</param>\n<param>\n<value><double>30.0</double></value>\n</param>\n\
<param>\n<value><array><data>\n<value><string>vif</string></value>\n</data></array></value>\n</param>\n\
<param>\n<value><int>3</int></value>\n</param>\n<param>\n<value><boolean>0</boolean></value>\n</param>\n</params>\n</methodCall>\n";
        let (method, params) = decode_call(body).unwrap();
        assert_eq!(method, "event.from");
        assert_eq!(
            params,
            vec![
                Value::str("OpaqueRef:x"),
                Value::Double(30.0),
                Value::Array(vec![Value::str("vif")]),
                Value::Int(3),
                Value::Bool(false)
            ]
        );
    }

    #[test]
    fn success_and_failure_envelopes_match_xapi() {
        let ok = encode_success(&Value::str("OpaqueRef:abc"));
        assert_eq!(
            ok,
            "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>\
<member><name>Status</name><value>Success</value></member>\
<member><name>Value</name><value>OpaqueRef:abc</value></member>\
</struct></value></param></params></methodResponse>"
        );
        let failure = encode_failure(&["SESSION_INVALID".into(), "OpaqueRef:x".into()]);
        let value = decode_response(failure.as_bytes()).unwrap();
        assert_eq!(value.get("Status").and_then(Value::as_str), Some("Failure"));
        assert_eq!(
            value.get("ErrorDescription"),
            Some(&Value::Array(vec![
                Value::str("SESSION_INVALID"),
                Value::str("OpaqueRef:x")
            ]))
        );
    }

    #[test]
    fn whitespace_inside_untyped_value_is_kept() {
        let body = b"<methodResponse><params><param><value>  two  </value></param></params></methodResponse>";
        assert_eq!(decode_response(body).unwrap(), Value::str("  two  "));
    }

    #[test]
    fn control_characters_are_dropped() {
        let body = encode_raw_response(&Value::str("a\u{1}b\tc"));
        assert_eq!(
            decode_response(body.as_bytes()).unwrap(),
            Value::str("ab\tc")
        );
    }

    #[test]
    fn faults_are_kept_apart() {
        let body = encode_fault(-1, "boom");
        match decode_method_response(body.as_bytes()).unwrap() {
            MethodResponse::Fault(f) => {
                assert_eq!(f.get("faultString").and_then(Value::as_str), Some("boom"));
                assert_eq!(f.get("faultCode").and_then(Value::as_int), Some(-1));
            }
            other => panic!("expected a fault, got {other:?}"),
        }
        assert!(decode_response(body.as_bytes())
            .unwrap_err()
            .message
            .contains("boom"));
    }

    #[test]
    fn malformed_and_truncated_bodies_are_errors() {
        let good = encode_success(&Value::string_map([("k", "v")]));
        for cut in [0, 10, good.len() / 2, good.len() - 1] {
            let err = decode_response(&good.as_bytes()[..cut]).unwrap_err();
            assert!(!err.message.is_empty(), "cut at {cut}");
        }
        assert!(decode_call(b"<methodCall><methodName>x</methodName><params><param><value><int>x</int></value></param></params></methodCall>").is_err());
        assert!(decode_call(b"\xff\xfe").is_err());
        assert!(decode_response(b"<methodResponse><params><param><value><bogus>1</bogus></value></param></params></methodResponse>").is_err());
        let deep = "<value><array><data>".repeat(100);
        let body =
            format!("<methodResponse><params><param>{deep}</param></params></methodResponse>");
        assert!(decode_response(body.as_bytes())
            .unwrap_err()
            .message
            .contains("nested"));
    }
}
