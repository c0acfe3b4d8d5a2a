//! `host.call_plugin`: runs an executable from the plugin directory the way
//! xapi's `Xapi_plugins` does (research §5).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use offload_xapi::wire::{xmlrpc, Value};

/// Runs `dir/plugin` with one argument, an XML-RPC `methodCall` of `function`
/// with `[session, struct(args)]`; returns the string result or the API error.
pub fn call(
    dir: Option<&Path>,
    session: &str,
    plugin: &str,
    function: &str,
    args: BTreeMap<String, Value>,
) -> Result<Value, Vec<String>> {
    let missing = || vec!["XENAPI_MISSING_PLUGIN".to_string(), plugin.to_string()];
    // xapi only runs files directly inside its plugin directory.
    if plugin.is_empty() || plugin.contains('/') || plugin == "." || plugin == ".." {
        return Err(missing());
    }
    let Some(dir) = dir else {
        return Err(missing());
    };
    let path = dir.join(plugin);
    if !path.is_file() {
        return Err(missing());
    }
    let request = xmlrpc::encode_call(function, &[Value::str(session), Value::Struct(args)]);
    let output = Command::new(&path)
        .arg(request)
        .output()
        .map_err(|e| failure("non-zero exit", "", &e.to_string()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        let status = match output.status.code() {
            Some(_) => "non-zero exit".to_string(),
            None => {
                use std::os::unix::process::ExitStatusExt;
                format!("signal: {}", output.status.signal().unwrap_or(0))
            }
        };
        return Err(failure(&status, &stdout, &stderr));
    }
    match xmlrpc::decode_method_response(stdout.as_bytes()) {
        Err(_) => Err(failure("failed to parse plugin output", &stdout, &stderr)),
        Ok(xmlrpc::MethodResponse::Fault(fault)) => {
            let code = fault
                .get("faultCode")
                .map(|c| match c {
                    Value::Int32(i) => i.to_string(),
                    Value::Int(i) => i.to_string(),
                    other => other.as_str().unwrap_or("").to_string(),
                })
                .unwrap_or_default();
            let reason = fault
                .get("faultString")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            Err(vec![
                "XENAPI_PLUGIN_FAILURE".into(),
                "fault".into(),
                code,
                reason,
            ])
        }
        Ok(xmlrpc::MethodResponse::Params(value)) => {
            match value.get("Status").and_then(Value::as_str) {
                Some("Success") => match value.get("Value") {
                    Some(Value::String(s)) => Ok(Value::str(s.as_str())),
                    _ => Err(failure("unexpected XMLRPC result", &stdout, &stderr)),
                },
                Some("Failure") => {
                    let description: Vec<String> = value
                        .get("ErrorDescription")
                        .and_then(Value::as_array)
                        .map(|items| {
                            items
                                .iter()
                                .map(|v| v.as_str().unwrap_or("").to_string())
                                .collect()
                        })
                        .unwrap_or_default();
                    if description.is_empty() {
                        Err(failure("unexpected XMLRPC result", &stdout, &stderr))
                    } else {
                        Err(description)
                    }
                }
                _ => Err(failure("unexpected XMLRPC result", &stdout, &stderr)),
            }
        }
    }
}

fn failure(status: &str, stdout: &str, stderr: &str) -> Vec<String> {
    vec![
        "XENAPI_PLUGIN_FAILURE".into(),
        status.into(),
        stdout.into(),
        stderr.into(),
    ]
}
