//! Dispatch of the XAPI simulator, in process: error order and parameters,
//! where-expression errors, event tokens, pool-member behaviour.

use offload_xapi::wire::Value;
use offload_xapi_sim::{GenSpec, Origin, PoolDesc, Reply, SimConfig, SimHandle, Simulator};

fn sim() -> SimHandle {
    let pool = PoolDesc::generate(GenSpec {
        hosts: 2,
        pifs_per_host: 2,
        vms: 5,
        vifs_per_vm: 2,
        seed: 3,
    });
    Simulator::start(&pool, SimConfig::default()).expect("simulator starts")
}

fn s(text: &str) -> Value {
    Value::str(text)
}

fn login(sim: &SimHandle) -> String {
    match sim.call(
        Origin::Network,
        "session.login_with_password",
        &[s("root"), s("secret")],
    ) {
        Reply::Success(Value::String(r)) => r,
        other => panic!("login failed: {other:?}"),
    }
}

fn ok(reply: Reply) -> Value {
    match reply {
        Reply::Success(v) => v,
        other => panic!("expected success, got {other:?}"),
    }
}

fn failure(reply: Reply) -> Vec<String> {
    match reply {
        Reply::Failure(d) => d,
        other => panic!("expected failure, got {other:?}"),
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|x| x.to_string()).collect()
}

#[test]
fn parameter_count_wins_over_session_and_counts_exclude_it() {
    let sim = sim();
    let d = failure(sim.call(
        Origin::Network,
        "VIF.add_to_other_config",
        &[s("bogus"), s("r")],
    ));
    assert_eq!(
        d,
        strings(&[
            "MESSAGE_PARAMETER_COUNT_MISMATCH",
            "VIF.add_to_other_config",
            "3",
            "1"
        ])
    );
    let d = failure(sim.call(Origin::Network, "VM_get_all", &[]));
    assert_eq!(
        d,
        strings(&["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.get_all", "0", "0"])
    );
    let d = failure(sim.call(Origin::Network, "VM.get_all", &[s("bogus")]));
    assert_eq!(d, strings(&["SESSION_INVALID", "bogus"]));
}

#[test]
fn login_accepts_two_to_four_params_and_checks_credentials() {
    let sim = sim();
    for params in [
        vec![s("root"), s("secret")],
        vec![s("root"), s("secret"), s("1.0")],
        vec![s("root"), s("secret"), s("1.0"), s("tests")],
    ] {
        ok(sim.call(Origin::Network, "session.login_with_password", &params));
    }
    let d = failure(sim.call(
        Origin::Network,
        "session.login_with_password",
        &[s("admin"), s("secret")],
    ));
    assert_eq!(
        d,
        strings(&[
            "SESSION_AUTHENTICATION_FAILED",
            "admin",
            "Authentication failure"
        ])
    );
    // The unix socket is pre-authenticated as root.
    ok(sim.call(
        Origin::Local,
        "session.login_with_password",
        &[s("root"), s("x")],
    ));
}

#[test]
fn logout_and_invalidation_make_sessions_invalid() {
    let sim = sim();
    let session = login(&sim);
    ok(sim.call(Origin::Network, "session.logout", &[s(&session)]));
    let d = failure(sim.call(Origin::Network, "pool.get_all", &[s(&session)]));
    assert_eq!(d, strings(&["SESSION_INVALID", &session]));
    let session = login(&sim);
    sim.invalidate_sessions();
    let d = failure(sim.call(Origin::Network, "host.get_all", &[s(&session)]));
    assert_eq!(d[0], "SESSION_INVALID");
}

#[test]
fn pool_member_answers_host_is_slave_with_the_master_address() {
    let sim = sim();
    // session_check.ml: Host.address of the master, no port.
    let master = sim.addr().ip().to_string();
    let d = failure(sim.call(
        Origin::Member,
        "session.login_with_password",
        &[s("root"), s("secret")],
    ));
    assert_eq!(d, strings(&["HOST_IS_SLAVE", &master]));
    let session = login(&sim);
    let d = failure(sim.call(Origin::Member, "VM.get_all", &[s(&session)]));
    assert_eq!(d, strings(&["HOST_IS_SLAVE", &master]));
}

#[test]
fn where_expression_errors_are_xapis() {
    let sim = sim();
    let session = login(&sim);
    let call = |expr: &str| {
        sim.call(
            Origin::Network,
            "PIF.get_all_where",
            &[s(&session), s(expr)],
        )
    };
    assert_eq!(
        failure(call(r#"field "device" = "eth0" and"#)),
        strings(&[
            "INVALID_VALUE",
            r#"field "device" = "eth0" and"#,
            "Stdlib.Parsing.Parse_error"
        ])
    );
    assert_eq!(
        failure(call(r#"field "nope" = "1""#)),
        strings(&["INTERNAL_ERROR", "missing field", "nope", ""])
    );
    let eth0 = ok(call(
        r#"field "device" = "eth0" and field "management" = "true""#,
    ));
    assert_eq!(eth0.as_array().map(<[Value]>::len), Some(2));
    let vlan = ok(call(r#"field "VLAN"="-1""#));
    assert_eq!(vlan.as_array().map(<[Value]>::len), Some(4));
}

#[test]
fn event_tokens_move_forward_and_reject_garbage() {
    let sim = sim();
    let session = login(&sim);
    let from = |classes: Vec<Value>, token: &str, timeout: f64| {
        sim.call(
            Origin::Network,
            "event_from",
            &[
                s(&session),
                Value::Array(classes),
                s(token),
                Value::Double(timeout),
            ],
        )
    };
    let first = ok(from(vec![s("pif")], "", 0.0));
    let token = first
        .get("token")
        .and_then(Value::as_str)
        .unwrap()
        .to_string();
    assert_eq!(token.len(), 41);
    assert_eq!(
        first
            .get("events")
            .and_then(Value::as_array)
            .map(<[Value]>::len),
        Some(4)
    );
    let counts = first.get("valid_ref_counts").unwrap();
    assert_eq!(counts.get("vm"), Some(&Value::Int32(7)));
    let pif = ok(sim.call(Origin::Network, "PIF.get_all", &[s(&session)]));
    let pif = pif.as_array().unwrap()[0].as_str().unwrap().to_string();
    let injected = ok(sim.call(
        Origin::Network,
        "event.inject",
        &[s(&session), s("PIF"), s(&pif)],
    ));
    assert!(injected.as_str().unwrap() > token.as_str());
    let next = ok(from(vec![s(&format!("pif/{pif}"))], &token, 1.0));
    let events = next.get("events").and_then(Value::as_array).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].get("operation").and_then(Value::as_str),
        Some("mod")
    );
    assert_eq!(
        failure(from(vec![s("pif")], "12", 0.0)),
        strings(&["EVENT_FROM_TOKEN_PARSE_FAILURE", "12"])
    );
}

#[test]
fn list_methods_is_raw_and_counts_are_kept() {
    let sim = sim();
    let Reply::Raw(Value::Array(methods)) = sim.call(Origin::Network, "system.listMethods", &[])
    else {
        panic!("listMethods must be unwrapped");
    };
    assert!(methods.contains(&s("VIF.get_other_config")));
    assert!(methods.contains(&s("host.get_API_version_major")));
    let session = login(&sim);
    ok(sim.call(Origin::Network, "VM_get_all", &[s(&session)]));
    ok(sim.call(Origin::Network, "VM.get_all", &[s(&session)]));
    assert_eq!(sim.calls().get("VM.get_all"), Some(&2));
    assert_eq!(sim.total_calls(), 4);
}

/// ocaml/xapi/server_helpers.ml `do_dispatch`: `Async.X.m` answers a task at
/// once; the call's own checks run inside the task and land in its
/// `error_info` (TaskHelper.failed), its result in `result`.
#[test]
fn async_calls_answer_a_task_that_carries_the_outcome() {
    let sim = sim();
    let session = login(&sim);
    let call = |method: &str, args: &[Value]| {
        let mut params = vec![s(&session)];
        params.extend_from_slice(args);
        sim.call(Origin::Network, method, &params)
    };
    let vms = ok(call("VM.get_all_records", &[]));
    let (halted, _) = vms
        .as_struct()
        .unwrap()
        .iter()
        .find(|(_, v)| {
            v.get("power_state").and_then(Value::as_str) == Some("Running")
                && v.get("is_control_domain") == Some(&Value::Bool(false))
        })
        .expect("a running guest");
    ok(call("VM.hard_shutdown", &[s(halted)]));
    let task = ok(call("Async.VM.clean_reboot", &[s(halted)]));
    let task = task.as_str().unwrap().to_string();
    let record = ok(call("task.get_record", &[s(&task)]));
    assert_eq!(
        record.get("status").and_then(Value::as_str),
        Some("failure")
    );
    let info: Vec<&str> = record
        .get("error_info")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        info,
        ["VM_BAD_POWER_STATE", halted.as_str(), "running", "halted"]
    );
    assert_eq!(
        ok(call("task.get_name_label", &[s(&task)])).as_str(),
        Some("Async.VM.clean_reboot")
    );
    ok(call("task.destroy", &[s(&task)]));
    assert_eq!(
        failure(call("task.get_record", &[s(&task)])),
        strings(&["HANDLE_INVALID", "task", &task])
    );
    // The name and the parameter count are checked before any task exists.
    assert_eq!(
        failure(call("Async.VM.clean_reboot", &[])),
        strings(&[
            "MESSAGE_PARAMETER_COUNT_MISMATCH",
            "Async.VM.clean_reboot",
            "1",
            "0"
        ])
    );
}

/// A lab with one HVM guest without PV drivers, one PV guest whose
/// clean_reboot is blocked, both running.
fn guests() -> (SimHandle, String) {
    let pool = PoolDesc::from_json(
        r#"{"networks": [{"name_label": "n", "bridge": "xenbr0"}],
            "hosts": [{"name_label": "h", "address": "10.0.0.1",
                       "pifs": [{"device": "eth0", "network": "n", "management": true}]}],
            "vms": [
              {"name_label": "bare-hvm", "power_state": "Running", "hotplug": false,
               "domain_type": "hvm", "vifs": [{"network": "n"}]},
              {"name_label": "pv", "power_state": "Running",
               "blocked_operations": {"clean_reboot": "change window closed"},
               "vifs": [{"network": "n"}]}
            ]}"#,
    )
    .unwrap();
    let sim = Simulator::start(&pool, SimConfig::default()).expect("simulator starts");
    let session = login(&sim);
    (sim, session)
}

fn vm_and_vif(sim: &SimHandle, session: &str, name: &str) -> (String, String) {
    let vm = ok(sim.call(
        Origin::Network,
        "VM.get_by_name_label",
        &[s(session), s(name)],
    ));
    let vm = vm.as_array().unwrap()[0].as_str().unwrap().to_string();
    let vifs = ok(sim.call(Origin::Network, "VM.get_VIFs", &[s(session), s(&vm)]));
    let vif = vifs.as_array().unwrap()[0].as_str().unwrap().to_string();
    (vm, vif)
}

/// ocaml/xapi/xapi_vif_helpers.ml `valid_operations`: attached/detached is
/// decided before the PV-driver check, and an HVM guest without guest
/// metrics gets VM_MISSING_PV_DRIVERS (Xapi_pv_driver_version.make_error_opt).
#[test]
fn vif_errors_come_in_xapis_order() {
    let (sim, session) = guests();
    let (vm, vif) = vm_and_vif(&sim, &session, "bare-hvm");
    let call = |m: &str| sim.call(Origin::Network, m, &[s(&session), s(&vif)]);
    assert_eq!(
        failure(call("VIF.plug")),
        strings(&["DEVICE_ALREADY_ATTACHED", &vif])
    );
    assert_eq!(
        failure(call("VIF.unplug")),
        strings(&["VM_MISSING_PV_DRIVERS", &vm])
    );
}

/// ocaml/xapi/xapi_vm_lifecycle.ml `check_operation_error`: a blocked
/// operation is refused first, with the reason the user gave.
#[test]
fn blocked_operations_are_refused_with_their_reason() {
    let (sim, session) = guests();
    let (vm, _) = vm_and_vif(&sim, &session, "pv");
    assert_eq!(
        failure(sim.call(Origin::Network, "VM.clean_reboot", &[s(&session), s(&vm)])),
        strings(&["OPERATION_BLOCKED", &vm, "change window closed"])
    );
    ok(sim.call(Origin::Network, "VM.hard_reboot", &[s(&session), s(&vm)]));
}

/// ocaml/database/db_cache_types.ml: an empty map key raises Empty_key_in_map.
#[test]
fn an_empty_map_key_is_an_internal_error() {
    let (sim, session) = guests();
    let (_, vif) = vm_and_vif(&sim, &session, "pv");
    assert_eq!(
        failure(sim.call(
            Origin::Network,
            "VIF.add_to_other_config",
            &[s(&session), s(&vif), s(""), s("x")]
        )),
        strings(&["INTERNAL_ERROR", "Db_exn.Empty_key_in_map"])
    );
}
