//! xapi's session GC (the simulator's session_gc.rs, after
//! Db_gc_util.timeout_sessions) against our client: it logs in with an
//! originator and logs out, so a watch that runs for days keeps its one
//! session whatever fleet runs come and go and whatever anonymous scripts
//! leak sessions on the same pool.

use std::time::Duration;

use offload_xapi::wire::Value;
use offload_xapi::{Client, ConnectOptions, Endpoint};
use offload_xapi_sim::{GenSpec, Origin, PoolDesc, Reply, SimConfig, SimHandle, Simulator};

fn sim() -> SimHandle {
    let pool = PoolDesc::generate(GenSpec {
        hosts: 1,
        pifs_per_host: 1,
        vms: 2,
        vifs_per_vm: 1,
        seed: 1,
    });
    let config = SimConfig {
        // A GC pass before every call instead of every 30 s.
        session_gc_interval: Duration::ZERO,
        ..SimConfig::default()
    };
    Simulator::start(&pool, config).expect("simulator starts")
}

/// A login as a script that never logs out makes one: `originator` "" for none.
fn leak(sim: &SimHandle, originator: &str) -> String {
    let params = [
        Value::str("root"),
        Value::str("secret"),
        Value::str("1.0"),
        Value::str(originator),
    ];
    match sim.call(Origin::Network, "session.login_with_password", &params) {
        Reply::Success(Value::String(session)) => session,
        other => panic!("login: {other:?}"),
    }
}

fn valid(sim: &SimHandle, session: &str) -> bool {
    match sim.call(Origin::Network, "VM.get_all", &[Value::str(session)]) {
        Reply::Success(_) => true,
        Reply::Failure(d) if d[0] == "SESSION_INVALID" => false,
        other => panic!("VM.get_all: {other:?}"),
    }
}

fn logins(sim: &SimHandle) -> u64 {
    sim.calls()
        .get("session.login_with_password")
        .copied()
        .unwrap_or(0)
}

fn watch_step(watch: &Client, token: &str) -> String {
    let result = watch
        .call(
            "event.from",
            &[
                Value::Array(vec![Value::str("vif")]),
                Value::str(token),
                Value::Double(0.0),
            ],
        )
        .expect("the watch's event.from");
    result
        .get("token")
        .and_then(Value::as_str)
        .unwrap()
        .to_string()
}

#[test]
fn a_watch_keeps_its_session_through_fleet_runs_and_leaking_scripts() {
    let sim = sim();
    let mut options = ConnectOptions::new(Endpoint::parse(&sim.url()).unwrap(), "root", "secret");
    options.originator = String::new(); // sent as "offload" all the same
    let watch = Client::connect(options.clone()).unwrap();
    let mut token = watch_step(&watch, "");
    // A session without an originator, then 400 more of leaking scripts:
    // the first is destroyed (root without an originator: 400 in all).
    let anonymous = leak(&sim, "");
    for _ in 0..400 {
        leak(&sim, "");
    }
    assert!(!valid(&sim, &anonymous));
    // 600 fleet runs, each with a client of its own that logs out.
    for run in 0..600 {
        let fleet = Client::connect(options.clone()).unwrap();
        fleet.call("VIF.get_all_records", &[]).unwrap();
        if run % 2 == 0 {
            fleet.logout().unwrap();
        } // else dropped: the last clone logs out
        if run % 100 == 0 {
            token = watch_step(&watch, &token);
        }
    }
    token = watch_step(&watch, &token);
    // The watch never had to log in again, and nothing of ours is left over.
    assert_eq!(logins(&sim), 1 + 401 + 600);
    assert_eq!(sim.state().sessions, 1 + 400);

    // What logging out spares us: 500 sessions of our originator that are
    // never logged out push the (idle) watch's session out, and it must log in again.
    for _ in 0..500 {
        leak(&sim, offload_xapi::client::ORIGINATOR);
    }
    let before = logins(&sim);
    watch_step(&watch, &token);
    assert_eq!(logins(&sim), before + 1);
}
