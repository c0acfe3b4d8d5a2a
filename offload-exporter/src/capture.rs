//! Sampled capture rates: every `interval`, one short AF_PACKET capture
//! through offload-diagnose (the same verdicts as `offloadctl capture`),
//! added to running totals, so `rate()` over them compares offload-pending
//! checksums (harmless) with really incorrect ones.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use offload_diagnose::capture::{Capture, CaptureConfig, LiveStatus};

use crate::model::{Exposition, CAPTURE_CHECKSUMS, CAPTURE_PACKETS, CAPTURE_SECONDS, COLLECTOR_UP};

/// What to sample.
#[derive(Debug, Clone)]
pub struct SamplerConfig {
    /// Interfaces to capture on (empty: every interface that is up).
    pub interfaces: Vec<String>,
    /// The namespace to capture in.
    pub netns: Option<String>,
    /// How long each sample captures.
    pub length: Duration,
    /// Time from the start of one sample to the start of the next.
    pub interval: Duration,
}

#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    status: LiveStatus,
    seconds: f64,
    /// Whether the last sample could start.
    last_ok: Option<bool>,
}

/// The background sampler; stops (within a capture's length) when dropped.
pub struct Sampler {
    totals: Arc<Mutex<Totals>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling on a background thread.
    pub fn start(config: SamplerConfig) -> Sampler {
        let totals = Arc::new(Mutex::new(Totals::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let totals = Arc::clone(&totals);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || run(&config, &totals, &stop))
        };
        Sampler {
            totals,
            stop,
            thread: Some(thread),
        }
    }

    /// The running totals (nothing until the first sample ended).
    pub fn collect(&self) -> Exposition {
        let totals = *self.totals.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Exposition::new();
        let Some(ok) = totals.last_ok else {
            return out;
        };
        out.add(&COLLECTOR_UP, &["capture"], if ok { 1.0 } else { 0.0 });
        let s = totals.status;
        out.add(&CAPTURE_PACKETS, &[], s.packets as f64);
        for (verdict, count) in [
            ("correct", s.correct),
            ("incorrect", s.incorrect),
            ("offload_pending", s.offload_pending),
            ("not_verified", s.not_verified),
        ] {
            out.add(&CAPTURE_CHECKSUMS, &[verdict], count as f64);
        }
        out.add(&CAPTURE_SECONDS, &[], totals.seconds);
        out
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(config: &SamplerConfig, totals: &Mutex<Totals>, stop: &Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        let sample = sample(config, stop);
        {
            let mut t = totals.lock().unwrap_or_else(|p| p.into_inner());
            match sample {
                Some((status, seconds)) => {
                    t.status.packets += status.packets;
                    t.status.correct += status.correct;
                    t.status.incorrect += status.incorrect;
                    t.status.offload_pending += status.offload_pending;
                    t.status.not_verified += status.not_verified;
                    t.seconds += seconds;
                    t.last_ok = Some(true);
                }
                None => t.last_ok = Some(false),
            }
        }
        while started.elapsed() < config.interval && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One capture of `config.length` (cut short by `stop`): its counts and seconds.
fn sample(config: &SamplerConfig, stop: &Arc<AtomicBool>) -> Option<(LiveStatus, f64)> {
    let capture = Capture::start(&CaptureConfig {
        interfaces: config.interfaces.clone(),
        all: config.interfaces.is_empty(),
        netns: config.netns.clone(),
        duration: Some(config.length),
        count: None,
        write: None,
        interrupt: Arc::clone(stop),
    })
    .ok()?;
    while !capture.is_finished() && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let seconds = capture
        .elapsed()
        .as_secs_f64()
        .min(config.length.as_secs_f64());
    let status = capture.status();
    capture.finish().ok()?;
    Some((status, seconds))
}
