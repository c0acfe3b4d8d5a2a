//! XAPI's two wire formats: XML-RPC (what xapi and the official SDK speak)
//! and JSON-RPC 1.0/2.0 on `/jsonrpc`.
//!
//! Both the client and the simulator use these functions, so both sides of
//! every test speak exactly the same dialect, and the dialect follows what
//! xapi really sends (research/xapi.md §1.2, §1.4): strings, refs and int64
//! go out as an untyped `<value>`, booleans as `<boolean>`, `valid_ref_counts`
//! as `<i4>`, datetimes as `YYYYMMDDTHH:MM:SSZ` without dashes.

use std::collections::BTreeMap;
use std::fmt;

/// One XML-RPC / JSON-RPC value as it travels on the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string, ref, uuid or enum. XML-RPC: untyped `<value>text</value>`.
    String(String),
    /// An int64. xapi sends these untyped, so clients read a decimal string;
    /// JSON-RPC sends an integer literal.
    Int(i64),
    /// An int32 (`<i4>`); xapi uses it only in `event.from`'s `valid_ref_counts`.
    Int32(i32),
    Bool(bool),
    Double(f64),
    /// A datetime in xapi's spelling, for example `19700101T00:00:00Z`.
    DateTime(String),
    Array(Vec<Value>),
    Struct(BTreeMap<String, Value>),
    Nil,
}

impl Value {
    /// A string value.
    pub fn str(text: impl Into<String>) -> Value {
        Value::String(text.into())
    }

    /// A struct from `(key, value)` pairs.
    pub fn structure<K: Into<String>>(members: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Struct(members.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A string→string map (XAPI's `(string -> string) map`).
    pub fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
        Value::Struct(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::str(v)))
                .collect(),
        )
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::DateTime(s) => Some(s),
            _ => None,
        }
    }

    /// An integer, also from the decimal string XML-RPC clients see.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Int32(i) => Some(i64::from(*i)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Double(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            Value::Int32(i) => Some(f64::from(*i)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_struct(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Struct(members) => Some(members),
            _ => None,
        }
    }

    /// A member of a struct.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_struct()?.get(key)
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::Int(_) => "int",
            Value::Int32(_) => "i4",
            Value::Bool(_) => "boolean",
            Value::Double(_) => "double",
            Value::DateTime(_) => "dateTime.iso8601",
            Value::Array(_) => "array",
            Value::Struct(_) => "struct",
            Value::Nil => "nil",
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Double(f)
    }
}

/// A body that is not well-formed XML-RPC or JSON-RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub message: String,
}

impl WireError {
    fn new(message: impl Into<String>) -> WireError {
        WireError {
            message: message.into(),
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WireError {}

pub mod xmlrpc {
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
            std::str::from_utf8(body)
                .map_err(|e| WireError::new(format!("body is not UTF-8: {e}")))?;
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
                let event = self.reader.read_event().map_err(|e| {
                    WireError::new(format!("malformed XML at byte {position}: {e}"))
                })?;
                return Ok(match event {
                    Event::Start(e) => Tag::Start(name_of(e.name().as_ref())),
                    Event::End(e) => Tag::End(name_of(e.name().as_ref())),
                    Event::Empty(e) => Tag::Empty(name_of(e.name().as_ref())),
                    Event::Text(t) => Tag::Text(
                        t.unescape()
                            .map_err(|e| {
                                WireError::new(format!("bad text at byte {position}: {e}"))
                            })?
                            .into_owned(),
                    ),
                    Event::CData(t) => Tag::Text(String::from_utf8_lossy(&t).into_owned()),
                    Event::Eof => Tag::Eof,
                    Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {
                        continue
                    }
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
                                return Err(WireError::new(format!(
                                    "empty <{other}/> is not a value"
                                )))
                            }
                        };
                        self.expect_end("value")?;
                        return Ok(value);
                    }
                    Tag::Start(n) => {
                        if !text.trim().is_empty() {
                            return Err(WireError::new(format!(
                                "text before <{n}> inside <value>"
                            )));
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
                            i32::try_from(parsed).map_err(|_| {
                                WireError::new(format!("<i4> {parsed} out of range"))
                            })?,
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
}

pub mod jsonrpc {
    //! JSON-RPC 1.0 and 2.0 as xapi serves them on `/jsonrpc`.

    use serde_json::{json, Map, Number};

    use super::{Value, WireError};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Version {
        V1,
        V2,
    }

    /// A decoded request.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Call {
        pub version: Version,
        pub id: serde_json::Value,
        pub method: String,
        pub params: Vec<Value>,
    }

    /// A JSON-RPC 2.0 request body.
    pub fn encode_call(method: &str, params: &[Value], id: u64) -> String {
        json!({
            "jsonrpc": "2.0",
            "method": method,
            "params": params.iter().map(to_json).collect::<Vec<_>>(),
            "id": id,
        })
        .to_string()
    }

    /// Parses a request with xapi's rules: an object (no batches), `jsonrpc`
    /// absent (v1) or `"2.0"`, an `id` that is a string or an integer.
    pub fn decode_call(body: &[u8]) -> Result<Call, WireError> {
        let doc: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| WireError::new(format!("malformed JSON: {e}")))?;
        let object = doc
            .as_object()
            .ok_or_else(|| WireError::new("Invalid request body: not a JSON object"))?;
        let version = match object.get("jsonrpc") {
            None => Version::V1,
            Some(serde_json::Value::String(v)) if v == "2.0" => Version::V2,
            Some(other) => {
                return Err(WireError::new(format!(
                    "unsupported jsonrpc version {other}"
                )))
            }
        };
        let id = match object.get("id") {
            Some(id @ serde_json::Value::String(_)) => id.clone(),
            Some(id @ serde_json::Value::Number(n)) if n.is_i64() || n.is_u64() => id.clone(),
            Some(other) => {
                return Err(WireError::new(format!(
                    "id must be a string or an integer, not {other}"
                )))
            }
            None => {
                return Err(WireError::new(
                    "missing id (notifications are not supported)",
                ))
            }
        };
        let method = object
            .get("method")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| WireError::new("missing or non-string method"))?
            .to_string();
        let params = match (version, object.get("params")) {
            (_, Some(serde_json::Value::Array(items))) => items.iter().map(from_json).collect(),
            (Version::V2, Some(object @ serde_json::Value::Object(_))) => vec![from_json(object)],
            (Version::V2, None) => Vec::new(),
            (_, Some(other)) => {
                return Err(WireError::new(format!(
                    "params must be an array, not {other}"
                )))
            }
            (Version::V1, None) => return Err(WireError::new("missing params")),
        };
        Ok(Call {
            version,
            id,
            method,
            params,
        })
    }

    /// A response body: success, or an API error `[code, params...]`.
    pub fn encode_result(
        version: Version,
        id: &serde_json::Value,
        result: Result<&Value, &[String]>,
    ) -> String {
        let doc = match (version, result) {
            (Version::V1, Ok(value)) => json!({"result": to_json(value), "error": null, "id": id}),
            (Version::V1, Err(description)) => {
                json!({"result": null, "error": description, "id": id})
            }
            (Version::V2, Ok(value)) => {
                json!({"jsonrpc": "2.0", "result": to_json(value), "id": id})
            }
            (Version::V2, Err(description)) => json!({
                "jsonrpc": "2.0",
                // xapi always uses 1: some clients read 0 as success.
                "error": {
                    "code": 1,
                    "message": description.first().cloned().unwrap_or_default(),
                    "data": description.get(1..).unwrap_or(&[]),
                },
                "id": id,
            }),
        };
        doc.to_string()
    }

    /// Parses a response: `Ok(Ok(value))`, `Ok(Err([code, params...]))` for an
    /// API error, `Err` for a body that is not a JSON-RPC response.
    pub fn decode_response(body: &[u8]) -> Result<Result<Value, Vec<String>>, WireError> {
        let doc: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| WireError::new(format!("malformed JSON: {e}")))?;
        let object = doc
            .as_object()
            .ok_or_else(|| WireError::new("response is not a JSON object"))?;
        match object.get("error") {
            None | Some(serde_json::Value::Null) => {
                let result = object
                    .get("result")
                    .ok_or_else(|| WireError::new("response has neither result nor error"))?;
                Ok(Ok(from_json(result)))
            }
            Some(serde_json::Value::Array(items)) => Ok(Err(items.iter().map(text_of).collect())),
            Some(serde_json::Value::Object(error)) => {
                let mut description = vec![error.get("message").map(text_of).unwrap_or_default()];
                match error.get("data") {
                    Some(serde_json::Value::Array(items)) => {
                        description.extend(items.iter().map(text_of))
                    }
                    Some(serde_json::Value::Null) | None => {}
                    Some(other) => description.push(text_of(other)),
                }
                Ok(Err(description))
            }
            Some(other) => Err(WireError::new(format!("unexpected error member {other}"))),
        }
    }

    fn text_of(value: &serde_json::Value) -> String {
        match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// The JSON form xapi uses for each value kind.
    pub fn to_json(value: &Value) -> serde_json::Value {
        match value {
            Value::String(s) | Value::DateTime(s) => serde_json::Value::String(s.clone()),
            Value::Int(i) => serde_json::Value::Number((*i).into()),
            Value::Int32(i) => serde_json::Value::Number((*i).into()),
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Double(f) => {
                Number::from_f64(*f).map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
            Value::Array(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
            Value::Struct(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), to_json(v)))
                    .collect::<Map<_, _>>(),
            ),
            Value::Nil => serde_json::Value::Null,
        }
    }

    pub fn from_json(value: &serde_json::Value) -> Value {
        match value {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(items) => Value::Array(items.iter().map(from_json).collect()),
            serde_json::Value::Object(members) => Value::Struct(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), from_json(v)))
                    .collect(),
            ),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn versions_and_ids_follow_xapi_rules() {
            let v2 =
                decode_call(br#"{"jsonrpc":"2.0","method":"VM.get_all","params":["s"],"id":7}"#)
                    .unwrap();
            assert_eq!(v2.version, Version::V2);
            assert_eq!(v2.params, vec![Value::str("s")]);
            let v1 = decode_call(br#"{"method":"VM.get_all","params":["s"],"id":"x"}"#).unwrap();
            assert_eq!(v1.version, Version::V1);
            let no_params =
                decode_call(br#"{"jsonrpc":"2.0","method":"system.listMethods","id":1}"#).unwrap();
            assert!(no_params.params.is_empty());
            for bad in [
                &br#"[{"jsonrpc":"2.0","method":"a","params":[],"id":1}]"#[..],
                br#"{"jsonrpc":"3.0","method":"a","params":[],"id":1}"#,
                br#"{"jsonrpc":"2.0","method":"a","params":[]}"#,
                br#"{"jsonrpc":"2.0","method":"a","params":[],"id":null}"#,
                br#"{"method":"a","id":1}"#,
                br#"{"jsonrpc":"2.0","method":"a","params":["#,
            ] {
                assert!(
                    decode_call(bad).is_err(),
                    "{}",
                    String::from_utf8_lossy(bad)
                );
            }
        }

        #[test]
        fn errors_round_trip_in_both_versions() {
            let description = vec![
                "HANDLE_INVALID".to_string(),
                "VM".into(),
                "OpaqueRef:x".into(),
            ];
            for version in [Version::V1, Version::V2] {
                let body = encode_result(version, &json!(1), Err(&description));
                assert_eq!(
                    decode_response(body.as_bytes()).unwrap(),
                    Err(description.clone())
                );
            }
            let v2 = encode_result(Version::V2, &json!(1), Err(&description));
            let doc: serde_json::Value = serde_json::from_str(&v2).unwrap();
            assert_eq!(doc["error"]["code"], 1);
            let ok = encode_result(Version::V2, &json!("a"), Ok(&Value::Int(1500)));
            assert_eq!(
                decode_response(ok.as_bytes()).unwrap(),
                Ok(Value::Int(1500))
            );
        }
    }
}
