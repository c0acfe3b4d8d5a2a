//! `offloadctl capture --write` where the write blocks or fails: a FIFO with no
//! reader, a reader that stops, a full disk (a small tmpfs in a private mount
//! namespace), an existing file or a symlink. Every case ends promptly and says
//! what happened; none blocks past Ctrl-C, SIGTERM or `--seconds`.

use std::io::Read;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use offload_testkit::require_root;

fn offloadctl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_offloadctl"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("capture_write-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

/// Waits for `child` at most `limit`, killing it (and failing) past that.
fn wait_at_most(mut child: Child, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!(
                "still running after {limit:?}: {:?}",
                child.wait_with_output()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (child.wait_with_output().unwrap(), started.elapsed())
}

/// Sends UDP datagrams of `size` bytes to the discard port on loopback for `how_long`.
fn loopback_traffic(size: usize, how_long: Duration) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let payload = vec![0x5au8; size];
        let started = Instant::now();
        while started.elapsed() < how_long {
            let _ = sock.send_to(&payload, "127.0.0.1:9");
            std::thread::sleep(Duration::from_micros(200));
        }
    })
}

#[test]
fn fifo_without_reader_obeys_seconds() {
    require_root!();
    let fifo = scratch("noreader-seconds.fifo");
    mkfifo(&fifo);
    let child = offloadctl()
        .args(["capture", "lo", "--seconds", "1", "--write"])
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, took) = wait_at_most(child, Duration::from_secs(10));
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no process opened the FIFO"), "{err}");
}

#[test]
fn fifo_without_reader_obeys_sigterm_and_sigint() {
    require_root!();
    for signal in ["-TERM", "-INT"] {
        let fifo = scratch(&format!("noreader{signal}.fifo"));
        mkfifo(&fifo);
        let child = offloadctl()
            .args(["capture", "lo", "--write"])
            .arg(&fifo)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(500));
        let kill = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let (out, took) = wait_at_most(child, Duration::from_secs(10));
        assert!(took < Duration::from_secs(3), "{signal}: took {took:?}");
        assert_eq!(out.status.code(), Some(2), "{signal}: {out:?}");
    }
}

#[test]
fn a_reader_that_stops_ends_the_capture_cleanly() {
    require_root!();
    // `offloadctl capture lo --write /dev/stdout | head -c 100`: the reader closes.
    let mut child = offloadctl()
        .args(["capture", "lo", "--write", "/dev/stdout"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let traffic = loopback_traffic(200, Duration::from_secs(4));
    let mut head = [0u8; 100];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    assert_eq!(&head[..4], &[0x0a, 0x0d, 0x0d, 0x0a], "a pcapng section");
    drop(child.stdout.take());
    let (out, took) = wait_at_most(child, Duration::from_secs(10));
    traffic.join().unwrap();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The summary went to stderr, away from the packets.
    assert!(err.contains("conclusion:"), "{err}");
}

#[test]
fn a_full_disk_is_noticed_at_once_and_says_what_was_saved() {
    require_root!();
    offload_testkit::require_program!("unshare");
    let dir = scratch("tmpfs");
    std::fs::create_dir_all(&dir).unwrap();
    // A 256 KiB tmpfs seen only inside a private mount namespace.
    let script = format!(
        r#"set -e
mount -t tmpfs -o size=256k offload-test "{dir}"
set +e
"{bin}" capture lo --seconds 8 --write "{dir}/dump.pcapng"
echo "exit=$?"
"{bin}" check --json "{dir}/dump.pcapng" > "{dir}.check.json" 2>/dev/null
cp "{dir}.check.json" /dev/stdout
"#,
        dir = dir.display(),
        bin = env!("CARGO_BIN_EXE_offloadctl"),
    );
    let child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let traffic = loopback_traffic(8000, Duration::from_secs(6));
    let (out, took) = wait_at_most(child, Duration::from_secs(20));
    traffic.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        took < Duration::from_secs(6),
        "not at once: {took:?}\n{stderr}"
    );
    assert!(stdout.contains("exit=2"), "{stdout}\n{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("No space left on device"))
        .unwrap_or_else(|| panic!("{stderr}"));
    let saved: u64 = line
        .rsplit("; ")
        .next()
        .and_then(|t| t.strip_suffix(" packets saved"))
        .map(|n| n.replace(',', "").parse().unwrap())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(saved > 0, "{line}");
    // `check` reads exactly the packets the message says were saved.
    let json_start = stdout.find('{').unwrap();
    let json: serde_json::Value = serde_json::from_str(&stdout[json_start..]).unwrap();
    assert_eq!(json["packets"], saved, "{line}\n{json}");
}

#[test]
fn existing_files_and_symlinks_are_not_overwritten() {
    require_root!();
    let existing = scratch("existing.pcapng");
    std::fs::write(&existing, b"precious").unwrap();
    let target = scratch("target.txt");
    std::fs::write(&target, b"also precious").unwrap();
    let link = scratch("link.pcapng");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let dangling = scratch("dangling.pcapng");
    let nowhere = scratch("nowhere");
    std::os::unix::fs::symlink(&nowhere, &dangling).unwrap();
    for path in [&existing, &link, &dangling] {
        let out = offloadctl()
            .args(["capture", "lo", "--seconds", "0.2", "--write"])
            .arg(path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{path:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");
    assert_eq!(std::fs::read(&target).unwrap(), b"also precious");
    assert!(!nowhere.exists(), "a dangling symlink was followed");
}
