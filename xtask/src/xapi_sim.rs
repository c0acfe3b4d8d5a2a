//! `cargo xtask xapi-sim`: runs the XAPI simulator (`offload_xapi_sim`) as a
//! process, for the pytest suite, `compare xapi` and manual experiments.
//!
//! It prints `listening on <url>` (plus `fingerprint sha256 <hex:with:colons>`
//! with `--tls`, `member listening on <url>` with `--slave-listen`, `socket
//! <path>` with `--socket`), writes the url to `--ready-file` once every
//! listener is up, and runs until SIGINT or SIGTERM (or until stdin reaches
//! EOF with `--exit-on-stdin-eof`). On exit it prints the call counts.

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use offload_xapi_sim::{Faults, GenSpec, PoolDesc, SimConfig, Simulator};

const USAGE: &str = "\
usage: cargo xtask xapi-sim [options]

pool (generated unless --pool is given):
  --pool FILE             JSON pool description (see offload-xapi-sim/pools/lab.json)
  --hosts N               hosts (default 1)
  --pifs-per-host N       eth0..ethN-1 on pool-wide networks, eth0 = management (default 2)
  --vms N                 VMs vm-0001.. (every 10th halted, every 5th HVM without hotplug) (default 4)
  --vifs-per-vm N         (default 1)
  --seed N                uuids/refs/MACs seed (default 1)
server:
  --listen ADDR           default 127.0.0.1:8080 (port 0 = any free port)
  --user U --password P   credentials (default root / secret)
  --tls                   HTTPS with a fresh self-signed certificate
  --socket PATH           also serve on a unix socket (pre-authenticated as root)
  --slave-listen ADDR     also run a pool member answering HOST_IS_SLAVE [master address];
                          port 0 = the master's port, as in a pool (e.g. 127.0.0.2:0)
  --plugin-dir DIR        host.call_plugin executables
  --modelled-offload-plugin
                          answer the offload plugin's get_features from the
                          simulated devices (their live offloads)
  --plugin-path PATH      the PATH plugins run with, their whole environment
                          (default xapi's /sbin:/usr/sbin:/bin:/usr/bin)
  --latency-ms N          sleep per request
  --auth-delay-ms N       sleep before answering a bad login (xapi: 5000)
  --session-gc-ms N       how often xapi's session GC runs (xapi: 30000; 0: every call)
  --fault SPEC            repeatable: drop=N[,N..] (drop the Nth requests),
                          drop-prob=P, invalidate-after=N (forget sessions at call N),
                          slow=EVERY:MS, seed=N (of drop-prob)
  --ready-file PATH       write the url here once listening
  --exit-on-stdin-eof     also stop when stdin closes
";

static STOP: AtomicBool = AtomicBool::new(false);

pub fn run(args: &[String]) -> Result<(), String> {
    let mut spec = GenSpec {
        hosts: 1,
        pifs_per_host: 2,
        vms: 4,
        vifs_per_vm: 1,
        seed: 1,
    };
    let mut pool_file: Option<PathBuf> = None;
    let mut config = SimConfig {
        listen: "127.0.0.1:8080".parse().map_err(|e| format!("{e}"))?,
        ..SimConfig::default()
    };
    let mut ready_file: Option<PathBuf> = None;
    let mut stdin_eof = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--pool" => pool_file = Some(value()?.into()),
            "--hosts" => spec.hosts = number(flag, &value()?)?,
            "--pifs-per-host" => spec.pifs_per_host = number(flag, &value()?)?,
            "--vms" => spec.vms = number(flag, &value()?)?,
            "--vifs-per-vm" => spec.vifs_per_vm = number(flag, &value()?)?,
            "--seed" => spec.seed = number(flag, &value()?)?,
            "--listen" => config.listen = address(flag, &value()?)?,
            "--user" => config.user = value()?,
            "--password" => config.password = value()?,
            "--tls" => config.tls = true,
            "--socket" => config.socket = Some(value()?.into()),
            "--slave-listen" => config.slave_listen = Some(address(flag, &value()?)?),
            "--plugin-dir" => config.plugin_dir = Some(value()?.into()),
            "--modelled-offload-plugin" => config.modelled_offload_plugin = true,
            "--plugin-path" => config.plugin_path = Some(value()?),
            "--latency-ms" => config.latency = Duration::from_millis(number(flag, &value()?)?),
            "--auth-delay-ms" => {
                config.auth_failure_delay = Duration::from_millis(number(flag, &value()?)?)
            }
            "--session-gc-ms" => {
                config.session_gc_interval = Duration::from_millis(number(flag, &value()?)?)
            }
            "--fault" => parse_fault(&value()?, &mut config.faults)?,
            "--ready-file" => ready_file = Some(value()?.into()),
            "--exit-on-stdin-eof" => stdin_eof = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown option `{other}`\n{USAGE}")),
        }
    }
    let pool = match &pool_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            PoolDesc::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => PoolDesc::generate(spec),
    };
    sys::install_stop_handlers();
    let sim = Simulator::start(&pool, config).map_err(|e| format!("cannot start: {e:?}"))?;
    println!("listening on {}", sim.url());
    if let Some(fp) = sim.fingerprint() {
        println!("fingerprint sha256 {fp}");
    }
    if let Some(url) = sim.slave_url() {
        println!("member listening on {url}");
    }
    if let Some(path) = sim.socket_path() {
        println!("socket {}", path.display());
    }
    if let Some(path) = &ready_file {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, format!("{}\n", sim.url()))
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let eof = Arc::new(AtomicBool::new(false));
    if stdin_eof {
        let eof = Arc::clone(&eof);
        std::thread::spawn(move || {
            let mut sink = [0u8; 256];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            eof.store(true, Ordering::SeqCst);
        });
    }
    while !STOP.load(Ordering::SeqCst) && !eof.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let calls = sim.calls();
    drop(sim);
    println!("calls total={}", calls.values().sum::<u64>());
    for (method, n) in calls {
        println!("calls {method} {n}");
    }
    Ok(())
}

/// Stage `pytest_xapi` of `cargo xtask test`: the SDK fidelity suite
/// (`offload-xapi-sim/tests/sdk`) with the official XenAPI package, against
/// simulators run from this very binary.
pub fn pytest_stage() -> Result<crate::test::Outcome, String> {
    let venv = crate::util::ensure_venv()?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the xtask binary: {e}"))?;
    let mut pytest = std::process::Command::new(venv.join("bin/python"));
    pytest
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "offload-xapi-sim/tests/sdk",
        ])
        .env("XAPI_SIM_BIN", exe);
    crate::util::run(pytest).map(|()| crate::test::Outcome::Passed)
}

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag}: `{text}` is not a number"))
}

fn address(flag: &str, text: &str) -> Result<std::net::SocketAddr, String> {
    let addr: std::net::SocketAddr = text
        .parse()
        .map_err(|_| format!("{flag}: `{text}` is not an address like 127.0.0.1:8080"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("{flag}: the simulator binds to loopback only"));
    }
    Ok(addr)
}

fn parse_fault(spec: &str, faults: &mut Faults) -> Result<(), String> {
    let (kind, value) = spec
        .split_once('=')
        .ok_or_else(|| format!("--fault {spec}: expected KIND=VALUE"))?;
    match kind {
        "drop" => {
            for n in value.split(',') {
                faults.drop_requests.push(number("--fault drop", n)?);
            }
        }
        "drop-prob" => faults.drop_probability = number("--fault drop-prob", value)?,
        "invalidate-after" => {
            faults.invalidate_sessions_after = Some(number("--fault invalidate-after", value)?)
        }
        "slow" => {
            let (every, ms) = value
                .split_once(':')
                .ok_or_else(|| format!("--fault slow={value}: expected EVERY:MS"))?;
            faults.slow_every = Some(number("--fault slow", every)?);
            faults.slow_by = Duration::from_millis(number("--fault slow", ms)?);
        }
        "seed" => faults.seed = number("--fault seed", value)?,
        other => return Err(format!("--fault: unknown kind `{other}`\n{USAGE}")),
    }
    Ok(())
}

mod sys {
    //! SIGINT/SIGTERM set a flag so the simulator can print its counts and
    //! remove its socket file on the way out.

    use std::sync::atomic::Ordering;

    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;

    extern "C" {
        fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    }

    extern "C" fn on_signal(_: i32) {
        super::STOP.store(true, Ordering::SeqCst);
    }

    pub fn install_stop_handlers() {
        for signum in [SIGINT, SIGTERM] {
            // SAFETY: `signal` from libc with a valid signal number and a handler
            // that only stores to an atomic (async-signal-safe).
            unsafe {
                signal(signum, on_signal);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_specs_parse() {
        let mut f = Faults::default();
        parse_fault("drop=3,7", &mut f).unwrap();
        parse_fault("drop-prob=0.25", &mut f).unwrap();
        parse_fault("invalidate-after=10", &mut f).unwrap();
        parse_fault("slow=5:200", &mut f).unwrap();
        assert_eq!(f.drop_requests, vec![3, 7]);
        assert_eq!(f.drop_probability, 0.25);
        assert_eq!(f.invalidate_sessions_after, Some(10));
        assert_eq!(f.slow_every, Some(5));
        assert_eq!(f.slow_by, Duration::from_millis(200));
        assert!(parse_fault("bogus=1", &mut f).is_err());
        assert!(parse_fault("drop", &mut f).is_err());
    }

    #[test]
    fn listen_address_must_be_loopback() {
        assert!(address("--listen", "127.0.0.1:0").is_ok());
        assert!(address("--listen", "0.0.0.0:80").is_err());
    }
}
