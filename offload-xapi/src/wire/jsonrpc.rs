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
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| WireError::new(format!("malformed JSON: {e}")))?;
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
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| WireError::new(format!("malformed JSON: {e}")))?;
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
        let v2 = decode_call(br#"{"jsonrpc":"2.0","method":"VM.get_all","params":["s"],"id":7}"#)
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
