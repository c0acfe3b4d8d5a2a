//! Any bytes as the answer of a broken or hostile XAPI host over JSON-RPC
//! (deep nesting, huge strings, invalid UTF-8, odd error shapes, truncated
//! bodies): the client's reader gives a value, an API error or a typed
//! error, never a panic, a hang, a stack overflow or a huge allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offload_xapi::wire::jsonrpc;

fuzz_target!(|body: &[u8]| {
    if let Ok(Ok(value)) = jsonrpc::decode_response(body) {
        // What the client hands on re-encodes as xapi would send it.
        let _ = jsonrpc::to_json(&value).to_string();
    }
});
