//! Results on standard output. A reader that went away (`| head`) is not an
//! error: what is left is dropped quietly, as `check` and `show` do, instead
//! of `print!`'s panic (exit 101). Any other write error (a full disk) is
//! said once on standard error.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Writes `text` to standard output and flushes it.
pub fn write(text: &str) {
    static TOLD: AtomicBool = AtomicBool::new(false);
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            if !TOLD.swap(true, Ordering::Relaxed) {
                eprintln!("offloadctl: writing to standard output: {e}");
            }
        }
    }
}

/// `print!` without the panic on a closed pipe.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::stdout::write(&format!($($arg)*))
    };
}

/// `println!` without the panic on a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::stdout::write(&format!("{}\n", format_args!($($arg)*)))
    };
}
