//! `host.call_plugin` in the simulator runs a real executable (a small
//! Python script, no shell) and maps its output like xapi's Xapi_plugins.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use offload_xapi::wire::Value;
use offload_xapi_sim::{GenSpec, Origin, PoolDesc, Reply, SimConfig, SimHandle, Simulator};

const PLUGIN: &str = r#"#!/usr/bin/env python3
import sys, xmlrpc.client
(session, args), fn = xmlrpc.client.loads(sys.argv[1])
if fn == "echo":
    print(xmlrpc.client.dumps(({"Status": "Success", "Value": session + "|" + args["x"]},), "", True))
elif fn == "fail":
    print(xmlrpc.client.dumps(({"Status": "Failure", "ErrorDescription": ["E", "p1"]},), "", True))
elif fn == "fault":
    print(xmlrpc.client.dumps(xmlrpc.client.Fault(7, "bad things"), methodresponse=True))
elif fn == "number":
    print(xmlrpc.client.dumps(({"Status": "Success", "Value": 5},), "", True))
elif fn == "garbage":
    print("not xml")
elif fn == "kill":
    import os, signal
    os.kill(os.getpid(), signal.SIGKILL)
elif fn == "env":
    import os
    seen = sorted("%s=%s" % kv for kv in os.environ.items() if kv[0] != "LC_CTYPE")
    stdin = os.readlink("/proc/self/fd/0")
    print(xmlrpc.client.dumps(({"Status": "Success", "Value": " ".join(seen + [stdin])},), "", True))
else:
    sys.stderr.write("unknown " + fn)
    sys.exit(2)
"#;

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn setup(name: &str) -> (Dir, SimHandle) {
    setup_with_path(name, None)
}

fn setup_with_path(name: &str, plugin_path: Option<String>) -> (Dir, SimHandle) {
    let dir =
        std::env::temp_dir().join(format!("offload-sim-plugin-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("probe");
    std::fs::write(&path, PLUGIN).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let pool = PoolDesc::generate(GenSpec {
        hosts: 1,
        pifs_per_host: 1,
        vms: 0,
        vifs_per_vm: 0,
        seed: 1,
    });
    let config = SimConfig {
        plugin_dir: Some(dir.clone()),
        plugin_path,
        ..SimConfig::default()
    };
    (Dir(dir), Simulator::start(&pool, config).unwrap())
}

fn call(sim: &SimHandle, plugin: &str, function: &str) -> (String, Reply) {
    let Reply::Success(Value::String(session)) = sim.call(
        Origin::Network,
        "session.login_with_password",
        &[Value::str("root"), Value::str("secret")],
    ) else {
        panic!("login");
    };
    let Reply::Success(hosts) = sim.call(Origin::Network, "host.get_all", &[Value::str(&session)])
    else {
        panic!("hosts");
    };
    let host = hosts.as_array().unwrap()[0].clone();
    let reply = sim.call(
        Origin::Network,
        "host.call_plugin",
        &[
            Value::str(&session),
            host,
            Value::str(plugin),
            Value::str(function),
            Value::string_map([("x", "42")]),
        ],
    );
    (session, reply)
}

fn failure(reply: Reply) -> Vec<String> {
    match reply {
        Reply::Failure(d) => d,
        other => panic!("expected failure, got {other:?}"),
    }
}

#[test]
fn plugin_results_and_errors_follow_xapi() {
    offload_testkit::require_program!("python3");
    let (_dir, sim) = setup("all");
    let (session, reply) = call(&sim, "probe", "echo");
    assert_eq!(
        reply,
        Reply::Success(Value::String(format!("{session}|42")))
    );
    // Forkhelpers.safe_close_and_exec: PATH=default_path and nothing else of
    // the simulator's environment (HOME, PYTHONPATH, ...); stdin /dev/null.
    // (Python 3.7+ itself may add LC_CTYPE when it coerces the C locale.)
    assert_eq!(
        call(&sim, "probe", "env").1,
        Reply::Success(Value::String(
            "PATH=/sbin:/usr/sbin:/bin:/usr/bin /dev/null".into()
        ))
    );
    assert_eq!(failure(call(&sim, "probe", "fail").1), ["E", "p1"]);
    assert_eq!(
        failure(call(&sim, "probe", "fault").1),
        ["XENAPI_PLUGIN_FAILURE", "fault", "7", "bad things"]
    );
    // xapi_plugins.ml: XMLRPC.From.string raises on a non-string Value and
    // nothing catches it, so xapi answers INTERNAL_ERROR.
    let d = failure(call(&sim, "probe", "number").1);
    assert_eq!(d[0], "INTERNAL_ERROR", "{d:?}");
    // ["failed to parse plugin output"; output; Xml.error e]: the parse error, not stderr.
    let d = failure(call(&sim, "probe", "garbage").1);
    assert_eq!(
        &d[..3],
        [
            "XENAPI_PLUGIN_FAILURE",
            "failed to parse plugin output",
            "not xml\n"
        ]
    );
    assert!(!d[3].is_empty(), "{d:?}");
    // A signal is named as Debug.Pp.signal prints it.
    let d = failure(call(&sim, "probe", "kill").1);
    assert_eq!(&d[..2], ["XENAPI_PLUGIN_FAILURE", "signal: SIGKILL"]);
    let d = failure(call(&sim, "probe", "other").1);
    assert_eq!(
        d,
        [
            "XENAPI_PLUGIN_FAILURE",
            "non-zero exit",
            "",
            "unknown other"
        ]
    );
    assert_eq!(
        failure(call(&sim, "nope", "echo").1),
        ["XENAPI_MISSING_PLUGIN", "nope"]
    );
    assert_eq!(
        failure(call(&sim, "../probe", "echo").1),
        ["XENAPI_MISSING_PLUGIN", "../probe"]
    );
    // find_plugin: only names Sys.readdir lists ("." is not one).
    assert_eq!(
        failure(call(&sim, ".", "echo").1),
        ["XENAPI_MISSING_PLUGIN", "."]
    );
}

#[test]
fn a_test_dom0_may_give_plugins_its_own_path_and_nothing_else() {
    offload_testkit::require_program!("python3");
    // /usr/bin stays on it: the probe's #! is /usr/bin/env python3.
    let path = "/opt/dom0/bin:/usr/bin".to_string();
    let (_dir, sim) = setup_with_path("path", Some(path.clone()));
    assert_eq!(
        call(&sim, "probe", "env").1,
        Reply::Success(Value::String(format!("PATH={path} /dev/null")))
    );
}
