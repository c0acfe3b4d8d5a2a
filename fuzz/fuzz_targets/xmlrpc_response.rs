//! Any bytes as the answer of a broken or hostile XAPI host over XML-RPC
//! (deep nesting, huge strings, invalid UTF-8, unescaped member names,
//! truncated bodies): the client's reader gives a value or a typed error,
//! never a panic, a hang, a stack overflow or a huge allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offload_xapi::wire::{xmlrpc, Value};

fuzz_target!(|body: &[u8]| {
    if let Ok(xmlrpc::MethodResponse::Params(value) | xmlrpc::MethodResponse::Fault(value)) =
        xmlrpc::decode_method_response(body)
    {
        // Everything a value holds came out of the body.
        assert!(size(&value) <= body.len());
    }
    let _ = xmlrpc::decode_response(body);
});

/// Bytes of text a value holds (strings and member names).
fn size(value: &Value) -> usize {
    match value {
        Value::String(s) | Value::DateTime(s) => s.len(),
        Value::Array(items) => items.iter().map(size).sum(),
        Value::Struct(members) => members.iter().map(|(k, v)| k.len() + size(v)).sum(),
        _ => 0,
    }
}
