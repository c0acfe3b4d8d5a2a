//! `cargo xtask compare xapi`: the seed's xe loops against `offloadctl xapi`
//! on the same simulated pool (1,000 VMs with 2 VIFs, 8 hosts with 4 PIFs,
//! 1 ms per call).
//!
//! Peer: `offload-xapi-sim/tests/sdk/seed_procedure.py`, the seed re-enacted with
//! the official XenAPI SDK, each `xe` invocation being a login, its calls and
//! a logout, one after another as the shell loop runs them. Ours:
//! `offloadctl xapi vif apply --preset seed` then `pif apply --preset seed`.
//! Both start from a fresh pool with the same seed; the end states must be
//! identical, then wall time and calls are compared.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use offload_xapi_sim::{GenSpec, PoolDesc, SimConfig, SimHandle, SimState, Simulator};

use crate::compare::print_ratio;
use crate::util::{self, cargo};

struct Size {
    vms: usize,
    vifs_per_vm: usize,
    hosts: usize,
    pifs_per_host: usize,
    latency_ms: u64,
}

fn start(size: &Size) -> Result<SimHandle, String> {
    let pool = PoolDesc::generate(GenSpec {
        hosts: size.hosts,
        pifs_per_host: size.pifs_per_host,
        vms: size.vms,
        vifs_per_vm: size.vifs_per_vm,
        seed: 42,
    });
    let config = SimConfig {
        latency: Duration::from_millis(size.latency_ms),
        ..SimConfig::default()
    };
    Simulator::start(&pool, config).map_err(|e| format!("simulator: {e}"))
}

/// uuid → other_config of every PIF and VIF.
fn end_state(state: &SimState) -> BTreeMap<String, BTreeMap<String, String>> {
    state
        .pifs
        .iter()
        .chain(&state.vifs)
        .map(|d| (d.uuid.clone(), d.other_config.clone()))
        .collect()
}

pub fn run(args: &[String]) -> Result<(), String> {
    // `--small` runs a 50-VM pool: a quick check that both sides agree.
    let small = args.iter().any(|a| a == "--small");
    let size = if small {
        Size {
            vms: 50,
            vifs_per_vm: 2,
            hosts: 2,
            pifs_per_host: 4,
            latency_ms: 1,
        }
    } else {
        Size {
            vms: 1000,
            vifs_per_vm: 2,
            hosts: 8,
            pifs_per_host: 4,
            latency_ms: 1,
        }
    };
    let root = util::workspace_root();
    let mut build = cargo();
    build.args(["build", "--release", "--quiet", "-p", "offload-cli"]);
    util::run(build)?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let offloadctl = target.join("release/offloadctl");
    let python = util::ensure_venv()?.join("bin/python");
    let script = root.join("offload-xapi-sim/tests/sdk/seed_procedure.py");
    if !script.exists() {
        return Err(format!("{} is missing", script.display()));
    }
    let password_file = target.join("compare-xapi-password");
    std::fs::write(&password_file, "secret\n")
        .map_err(|e| format!("{}: {e}", password_file.display()))?;
    std::fs::set_permissions(
        &password_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .map_err(|e| format!("{}: {e}", password_file.display()))?;
    println!(
        "pool: {} VMs x {} VIFs, {} hosts x {} PIFs, {} ms per call",
        size.vms, size.vifs_per_vm, size.hosts, size.pifs_per_host, size.latency_ms
    );

    // Ours.
    let sim = start(&size)?;
    let started = Instant::now();
    for class in ["vif", "pif"] {
        let out = Command::new(&offloadctl)
            .args(["xapi", "--url", &sim.url(), "--password-file"])
            .arg(&password_file)
            .args([class, "apply", "--preset", "seed", "--workers", "16"])
            .output()
            .map_err(|e| format!("offloadctl: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "offloadctl xapi {class} apply failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        print!("ours: {}", String::from_utf8_lossy(&out.stdout));
    }
    let ours_seconds = started.elapsed().as_secs_f64();
    let ours_calls = sim.total_calls();
    let ours_state = end_state(&sim.state());
    drop(sim);

    // The seed with the official SDK.
    let sim = start(&size)?;
    let started = Instant::now();
    let out = Command::new(&python)
        .arg(&script)
        .args([
            "--url",
            &sim.url(),
            "--user",
            "root",
            "--password",
            "secret",
        ])
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    let peer_seconds = started.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!(
            "seed_procedure.py failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let peer_calls = sim.total_calls();
    let peer_state = end_state(&sim.state());
    drop(sim);
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .to_string();
    println!("peer: {last}");

    if ours_state != peer_state {
        let differing = ours_state
            .iter()
            .filter(|(uuid, config)| peer_state.get(*uuid) != Some(config))
            .count();
        return Err(format!("end states differ on {differing} objects"));
    }
    let changed = ours_state.values().filter(|c| !c.is_empty()).count();
    println!(
        "same end state: {changed} of {} PIFs/VIFs carry the seed's six keys",
        ours_state.len()
    );
    print_ratio(
        "xapi-seed-wall",
        &format!("{ours_seconds:.2}s"),
        &format!("{peer_seconds:.2}s"),
        peer_seconds / ours_seconds,
    );
    print_ratio(
        "xapi-seed-calls",
        &ours_calls.to_string(),
        &peer_calls.to_string(),
        peer_calls as f64 / ours_calls.max(1) as f64,
    );
    let _ = std::fs::remove_file(&password_file);
    Ok(())
}
