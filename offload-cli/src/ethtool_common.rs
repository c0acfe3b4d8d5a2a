//! What the ethtool-style subcommands (show, set, disable, restore) share: exit
//! codes and the mapping from library errors to them.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use offload_ethtool::Error;

/// Exit codes of show / set / disable / restore (also in each `--help`).
pub mod code {
    /// Everything asked for was done.
    pub const OK: u8 = 0;
    /// Partly done (disable/restore: some interfaces), or ethtool's
    /// "Could not change any device features" (set).
    pub const SOME: u8 = 1;
    /// Nothing could be done (disable/restore: no interface succeeded).
    pub const NONE: u8 = 2;
    /// No such interface, or a name that cannot be an interface name.
    pub const NO_INTERFACE: u8 = 3;
    /// Not permitted: changing features needs CAP_NET_ADMIN.
    pub const PERMISSION: u8 = 4;
    /// The network namespace does not exist or cannot be entered.
    pub const NETNS: u8 = 5;
    /// Another OS error from the kernel.
    pub const OS: u8 = 6;
    /// Bad arguments: unknown feature, `on`/`off` missing, bad option value.
    pub const USAGE: u8 = 64;
    /// A snapshot file that is unreadable, corrupt or of another schema.
    pub const BAD_SNAPSHOT: u8 = 65;
    /// A snapshot taken on another host.
    pub const OTHER_HOST: u8 = 66;
    /// `--save` names an existing snapshot (never replaced without --force).
    pub const SNAPSHOT_EXISTS: u8 = 67;
    /// Another disable or restore holds the namespace's lock.
    pub const BUSY: u8 = 75;
    /// Interrupted (SIGINT): the report says what was done.
    pub const INTERRUPTED: u8 = 130;
}

/// The exit-code table for `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes: 0 done; 1 partly done (set: could not change any feature, as ethtool);
2 nothing done; 3 no such interface or invalid name; 4 permission denied (needs
CAP_NET_ADMIN, or CAP_SYS_ADMIN to enter a namespace); 5 network namespace missing; 6 other OS error; 64 bad arguments;
65 corrupt snapshot; 66 snapshot from another host; 67 snapshot file exists;
75 another disable/restore is running in the namespace; 130 interrupted.";

/// The exit code for a library error.
pub fn exit_code_for(error: &Error) -> u8 {
    match error {
        Error::InvalidIfname { .. } | Error::NoSuchInterface { .. } => code::NO_INTERFACE,
        // Entering a namespace that exists but is not ours to enter is a
        // permission problem (run as root), not a missing namespace.
        Error::Netns { .. }
            if matches!(error.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES)) =>
        {
            code::PERMISSION
        }
        Error::Netns { .. } => code::NETNS,
        Error::InvalidRequest { .. } | Error::InvalidSelection { .. } => code::USAGE,
        Error::NoMatch => code::NONE,
        Error::BadSnapshot { .. } => code::BAD_SNAPSHOT,
        Error::OtherHost { .. } => code::OTHER_HOST,
        Error::SnapshotExists { .. } => code::SNAPSHOT_EXISTS,
        Error::Busy { .. } => code::BUSY,
        _ => match error.raw_os_error() {
            Some(libc::ENODEV) => code::NO_INTERFACE,
            Some(libc::EPERM) | Some(libc::EACCES) => code::PERMISSION,
            _ => code::OS,
        },
    }
}

/// Prints `offloadctl <command>: <error>` and returns its exit code.
pub fn fail(command: &str, error: &Error) -> ExitCode {
    print_error(command, &error.to_string());
    ExitCode::from(exit_code_for(error))
}

/// [`fail`], and with `--json` the failure as JSON on stdout too
/// (`{"schema": "offload.error/1", "command", "error", "exit_code"}`), so a
/// script reading stdout sees it; the exit code is the same.
pub fn fail_as(command: &str, error: &Error, json: bool) -> ExitCode {
    if json {
        let doc = serde_json::json!({
            "schema": "offload.error/1",
            "command": command,
            "error": error.to_string(),
            "exit_code": exit_code_for(error),
        });
        print_line(&doc.to_string());
    }
    fail(command, error)
}

/// Prints a usage problem and returns [`code::USAGE`].
pub fn usage(command: &str, message: &str) -> ExitCode {
    print_error(command, message);
    ExitCode::from(code::USAGE)
}

/// `offloadctl <command>: <message>` on stderr, as one line.
pub fn print_error(command: &str, message: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "offloadctl {command}: {}",
        message.replace('\n', "\\n")
    );
}

/// Prints to stdout; a closed stdout (`| head -1`) stops the printing, never
/// the program, and never changes its exit code.
pub fn print_line(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}

/// [`print_line`] without the newline.
pub fn print_text(text: &str) {
    let _ = write!(std::io::stdout(), "{text}");
}

/// A flag SIGINT sets instead of killing the process, so a disable or
/// restore stops between interfaces and reports what it did.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    // Without the handler a SIGINT still ends the run, only less politely.
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&flag));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&flag));
    flag
}

/// The exit code of a report: 130 when interrupted, else [`tally`].
pub fn report_exit(report: &offload_ethtool::outcome::Report) -> ExitCode {
    if report.interrupted {
        let _ = writeln!(
            std::io::stderr(),
            "offloadctl: interrupted; the report above is what was done"
        );
        return ExitCode::from(code::INTERRUPTED);
    }
    tally(report.successes(), report.interfaces.len())
}

/// The exit code of a run over many interfaces: all, some or none of them done.
pub fn tally(done: usize, total: usize) -> ExitCode {
    ExitCode::from(if done == total {
        code::OK
    } else if done > 0 {
        code::SOME
    } else {
        code::NONE
    })
}
