//! `host.call_plugin`: runs an executable from the plugin directory the way
//! xapi's `Xapi_plugins.call_plugin` (ocaml/xapi/xapi_plugins.ml) does, with
//! its error shapes, and starts it as Forkhelpers does
//! (ocaml/forkexecd/lib/forkhelpers.ml): argv[1] only, stdin /dev/null and
//! an environment holding nothing but PATH.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use offload_xapi::wire::{xmlrpc, Value};

/// Forkhelpers' `default_path_env_pair`: the PATH every plugin gets (xapi
/// passes no `?env` to `execute_command_get_output`, so `safe_close_and_exec`
/// uses this; TRACEPARENT is added only when tracing is on).
pub const XAPI_PLUGIN_PATH: &str = "/sbin:/usr/sbin:/bin:/usr/bin";

/// Where plugins live and the PATH they run with.
#[derive(Debug, Clone, Default)]
pub(crate) struct Runner {
    /// xapi: `Xapi_globs.xapi_plugins_root` (`/etc/xapi.d/plugins`).
    pub dir: Option<PathBuf>,
    /// None: [`XAPI_PLUGIN_PATH`]. A test's dom0 has its interpreters elsewhere.
    pub path: Option<String>,
}

impl Runner {
    /// Runs `dir/plugin` with one argument, an XML-RPC `methodCall` of `function`
    /// with `[session, struct(args)]`; returns the string result or the API error.
    pub fn call(
        &self,
        session: &str,
        plugin: &str,
        function: &str,
        args: BTreeMap<String, Value>,
    ) -> Result<Value, Vec<String>> {
        let path = self.find(plugin)?;
        let request = xmlrpc::encode_call(function, &[Value::str(session), Value::Struct(args)]);
        // safe_close_and_exec: `env` defaults to default_path_env_pair, no
        // stdin is given (the helper opens /dev/null), stdout and stderr
        // are collected.
        let output = Command::new(&path)
            .arg(request)
            .env_clear()
            .env("PATH", self.path.as_deref().unwrap_or(XAPI_PLUGIN_PATH))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| failure("non-zero exit", "", &e.to_string()))?;
        result(&output)
    }

    /// find_plugin: the name must be an entry of the plugin directory
    /// (Sys.readdir, which never lists "." or "..").
    fn find(&self, plugin: &str) -> Result<PathBuf, Vec<String>> {
        let missing = || vec!["XENAPI_MISSING_PLUGIN".to_string(), plugin.to_string()];
        let dir = self.dir.as_deref().ok_or_else(missing)?;
        let listed = std::fs::read_dir(dir)
            .map(|entries| entries.flatten().any(|e| e.file_name() == plugin))
            .unwrap_or(false);
        if listed {
            Ok(dir.join(plugin))
        } else {
            Err(missing())
        }
    }
}

/// call_plugin's reading of the finished plugin: exit status, then its
/// XML-RPC methodResponse.
fn result(output: &std::process::Output) -> Result<Value, Vec<String>> {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        let status = match output.status.code() {
            Some(_) => "non-zero exit".to_string(),
            None => {
                use std::os::unix::process::ExitStatusExt;
                // Debug.Pp.signal (Fmt.Dump.signal): the name, not the number.
                format!(
                    "signal: {}",
                    signal_name(output.status.signal().unwrap_or(0))
                )
            }
        };
        return Err(failure(&status, &stdout, &stderr));
    }
    match xmlrpc::decode_method_response(stdout.as_bytes()) {
        // The third parameter is the XML error, not stderr.
        Err(e) => Err(failure(
            "failed to parse plugin output",
            &stdout,
            &e.to_string(),
        )),
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
                    // XMLRPC.From.string raises RunTimeTypeError, which
                    // call_plugin does not catch: xapi answers INTERNAL_ERROR.
                    Some(_) => Err(vec![
                        "INTERNAL_ERROR".into(),
                        "XMLRPC.RunTimeTypeError(\"string\", _)".into(),
                    ]),
                    None => Err(unexpected(&stdout)),
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
                        Err(unexpected(&stdout))
                    } else {
                        Err(description)
                    }
                }
                _ => Err(unexpected(&stdout)),
            }
        }
    }
}

/// `["unexpected XMLRPC result"; output]`: two parameters, no stderr.
fn unexpected(stdout: &str) -> Vec<String> {
    vec![
        "XENAPI_PLUGIN_FAILURE".into(),
        "unexpected XMLRPC result".into(),
        stdout.into(),
    ]
}

/// Signal names as Fmt's `Dump.signal` prints them.
fn signal_name(signal: i32) -> String {
    const NAMES: [(i32, &str); 15] = [
        (1, "SIGHUP"),
        (2, "SIGINT"),
        (3, "SIGQUIT"),
        (4, "SIGILL"),
        (6, "SIGABRT"),
        (7, "SIGBUS"),
        (8, "SIGFPE"),
        (9, "SIGKILL"),
        (10, "SIGUSR1"),
        (11, "SIGSEGV"),
        (12, "SIGUSR2"),
        (13, "SIGPIPE"),
        (14, "SIGALRM"),
        (15, "SIGTERM"),
        (24, "SIGXCPU"),
    ];
    NAMES
        .iter()
        .find(|(n, _)| *n == signal)
        .map_or_else(|| format!("SIG({signal})"), |(_, name)| name.to_string())
}

fn failure(status: &str, stdout: &str, stderr: &str) -> Vec<String> {
    vec![
        "XENAPI_PLUGIN_FAILURE".into(),
        status.into(),
        stdout.into(),
        stderr.into(),
    ]
}
