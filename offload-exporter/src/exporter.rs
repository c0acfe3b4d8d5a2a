//! One scrape: every configured source, each failing on its own
//! (`offload_collector_up`), rendered once.

use std::sync::Mutex;
use std::time::Instant;

use offload_ethtool::iface::Selection;

use crate::capture::Sampler;
use crate::model::{Exposition, COLLECTOR_UP, SCRAPE_DURATION};
use crate::xapi::XapiSource;

/// What the exporter reads.
pub struct Exporter {
    /// The network namespace whose interfaces are read (None: our own).
    pub netns: Option<String>,
    /// Which of them.
    pub selection: Selection,
    /// dom0's xapi, when there is one.
    pub xapi: Option<XapiSource>,
    /// The capture sampler, when asked for.
    pub sampler: Option<Sampler>,
    /// One scrape at a time: concurrent scrapes wait instead of multiplying
    /// the ioctls and xapi calls.
    scraping: Mutex<()>,
}

impl Exporter {
    /// An exporter of the interfaces `selection` picks in `netns`.
    pub fn new(netns: Option<String>, selection: Selection) -> Exporter {
        Exporter {
            netns,
            selection,
            xapi: None,
            sampler: None,
            scraping: Mutex::new(()),
        }
    }

    /// Reads every source now.
    pub fn collect(&self) -> Exposition {
        let _one = self.scraping.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        let mut out = Exposition::new();
        match crate::interfaces::collect(self.netns.as_deref(), &self.selection) {
            Ok(interfaces) => {
                out.extend(interfaces);
                out.add(&COLLECTOR_UP, &["interfaces"], 1.0);
            }
            Err(_) => out.add(&COLLECTOR_UP, &["interfaces"], 0.0),
        }
        match crate::kernel::collect(self.netns.as_deref()) {
            Ok(kernel) => {
                out.extend(kernel);
                out.add(&COLLECTOR_UP, &["kernel"], 1.0);
            }
            Err(_) => out.add(&COLLECTOR_UP, &["kernel"], 0.0),
        }
        if let Some(xapi) = &self.xapi {
            out.extend(xapi.collect());
        }
        if let Some(sampler) = &self.sampler {
            out.extend(sampler.collect());
        }
        out.add(&SCRAPE_DURATION, &[], started.elapsed().as_secs_f64());
        out
    }

    /// [`Exporter::collect`] as text.
    pub fn render(&self) -> String {
        self.collect().render()
    }
}
