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
elif fn == "env":
    print(xmlrpc.client.dumps(({"Status": "Success", "Value": __import__("os").environ.get("HOME", "")},), "", True))
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
    // The environment is passed through (PYTHONPATH, HOME, ...).
    let path = std::env::var("HOME").unwrap_or_default();
    assert_eq!(
        call(&sim, "probe", "env").1,
        Reply::Success(Value::String(path))
    );
    assert_eq!(failure(call(&sim, "probe", "fail").1), ["E", "p1"]);
    assert_eq!(
        failure(call(&sim, "probe", "fault").1),
        ["XENAPI_PLUGIN_FAILURE", "fault", "7", "bad things"]
    );
    let d = failure(call(&sim, "probe", "number").1);
    assert_eq!(
        &d[..2],
        ["XENAPI_PLUGIN_FAILURE", "unexpected XMLRPC result"]
    );
    let d = failure(call(&sim, "probe", "garbage").1);
    assert_eq!(
        d,
        [
            "XENAPI_PLUGIN_FAILURE",
            "failed to parse plugin output",
            "not xml\n",
            ""
        ]
    );
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
}
