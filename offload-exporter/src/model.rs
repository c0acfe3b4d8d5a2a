//! The metric model: every family the exporter can emit (name, type, help,
//! label names) in one table, and the text exposition format (Prometheus
//! 0.0.4, which node_exporter's textfile collector also reads).
//!
//! Names follow the OpenMetrics conventions: the `offload_` prefix, base units
//! (`_seconds`), `_total` on counters. Label values come only from bounded
//! sets: interfaces of one namespace, [`offload_ethtool::iface::Kind`], driver
//! names, the twelve legacy groups of `offload_core::features::LEGACY`, and
//! the fixed words below; never packet contents or XAPI object names.

use std::fmt::Write as _;

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// A value that goes up and down.
    Gauge,
    /// A monotonically increasing count (name ends in `_total`).
    Counter,
}

impl MetricType {
    fn word(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::Counter => "counter",
        }
    }
}

/// One metric family.
#[derive(Debug, PartialEq, Eq)]
pub struct Family {
    /// The full name (with `_total` for counters).
    pub name: &'static str,
    /// Gauge or counter.
    pub metric_type: MetricType,
    /// The `# HELP` text.
    pub help: &'static str,
    /// Label names, in the order [`Exposition::add`] takes the values.
    pub labels: &'static [&'static str],
}

/// Labels of per-interface families.
const INTERFACE_LABELS: &[&str] = &["interface", "kind", "driver"];

/// 1 when an offload group is on, 0 when off (groups the interface lacks are absent).
pub static FEATURE_ENABLED: Family = Family {
    name: "offload_feature_enabled",
    metric_type: MetricType::Gauge,
    help: "Whether an ethtool offload group is on (1) or off (0), as ethtool -k shows it.",
    labels: &["interface", "kind", "driver", "feature"],
};

/// 1 per interface the exporter read.
pub static INTERFACE_INFO: Family = Family {
    name: "offload_interface_info",
    metric_type: MetricType::Gauge,
    help: "One series per interface read, labelled with its kind and driver.",
    labels: INTERFACE_LABELS,
};

/// The driver's counters of damaged frames.
pub static DEVICE_ERRORS: Family = Family {
    name: "offload_device_errors_total",
    metric_type: MetricType::Counter,
    help: "The driver's counters of damaged frames (ethtool -S names with crc, csum or checksum and err, frame_err, length_err, align), by counter name.",
    labels: &["interface", "kind", "driver", "counter"],
};

/// xen-netback's checksum fix-ups of guest GSO packets.
pub static GSO_CHECKSUM_FIXUPS: Family = Family {
    name: "offload_device_gso_checksum_fixups_total",
    metric_type: MetricType::Counter,
    help: "xen-netback's rx_gso_checksum_fixup: GSO packets from a guest without a partial checksum whose checksum dom0 set up (CPU spent, not corruption).",
    labels: &["interface", "kind", "driver"],
};

/// Packets the kernel dropped for bad checksums (nstat names).
pub static KERNEL_CHECKSUM_ERRORS: Family = Family {
    name: "offload_kernel_checksum_errors_total",
    metric_type: MetricType::Counter,
    help: "Packets the kernel dropped for a bad checksum after every offload had its say (TcpInCsumErrors, UdpInCsumErrors, Udp6InCsumErrors ...): real corruption, never a capture artefact.",
    labels: &["counter"],
};

/// IP header errors (nstat names).
pub static KERNEL_HEADER_ERRORS: Family = Family {
    name: "offload_kernel_header_errors_total",
    metric_type: MetricType::Counter,
    help: "IP packets the kernel dropped for a bad header (IpInHdrErrors, Ip6InHdrErrors): a bad IPv4 header checksum among them.",
    labels: &["counter"],
};

/// Interfaces whose features could not be read.
pub static INTERFACE_READ_ERRORS: Family = Family {
    name: "offload_interface_read_errors",
    metric_type: MetricType::Gauge,
    help: "Interfaces whose offload features could not be read in this scrape.",
    labels: &[],
};

/// Whether a source answered.
pub static COLLECTOR_UP: Family = Family {
    name: "offload_collector_up",
    metric_type: MetricType::Gauge,
    help: "Whether a source of metrics answered in this scrape (1) or failed (0).",
    labels: &["collector"],
};

/// Time spent collecting.
pub static SCRAPE_DURATION: Family = Family {
    name: "offload_scrape_duration_seconds",
    metric_type: MetricType::Gauge,
    help: "Time spent collecting this scrape's metrics.",
    labels: &[],
};

/// Whether xapi answered on the local socket.
pub static XAPI_UP: Family = Family {
    name: "offload_xapi_up",
    metric_type: MetricType::Gauge,
    help: "Whether xapi answered on its local socket (1) or not (0).",
    labels: &[],
};

/// Local PIFs and VIFs by whether they match the policy.
pub static XAPI_OBJECTS: Family = Family {
    name: "offload_xapi_objects",
    metric_type: MetricType::Gauge,
    help: "This host's PIFs and its running VMs' VIFs, by whether their other-config matches the policy and the host applies it.",
    labels: &["object", "policy", "state"],
};

/// Packets the capture sampler classified.
pub static CAPTURE_PACKETS: Family = Family {
    name: "offload_capture_packets_total",
    metric_type: MetricType::Counter,
    help: "Packets seen by the sampled captures.",
    labels: &[],
};

/// Checksums the capture sampler classified, by verdict.
pub static CAPTURE_CHECKSUMS: Family = Family {
    name: "offload_capture_checksums_total",
    metric_type: MetricType::Counter,
    help: "Checksums seen by the sampled captures, by verdict: offload_pending is left for the NIC (harmless), incorrect is really wrong.",
    labels: &["verdict"],
};

/// Time the capture sampler spent capturing.
pub static CAPTURE_SECONDS: Family = Family {
    name: "offload_capture_sampled_seconds_total",
    metric_type: MetricType::Counter,
    help: "Time spent capturing, so rates over sampled time can be computed.",
    labels: &[],
};

/// Every family, in exposition order.
pub static FAMILIES: &[&Family] = &[
    &INTERFACE_INFO,
    &FEATURE_ENABLED,
    &DEVICE_ERRORS,
    &GSO_CHECKSUM_FIXUPS,
    &INTERFACE_READ_ERRORS,
    &KERNEL_CHECKSUM_ERRORS,
    &KERNEL_HEADER_ERRORS,
    &XAPI_UP,
    &XAPI_OBJECTS,
    &CAPTURE_PACKETS,
    &CAPTURE_CHECKSUMS,
    &CAPTURE_SECONDS,
    &COLLECTOR_UP,
    &SCRAPE_DURATION,
];

/// One sample: label values in the family's label order, and the value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    labels: Vec<String>,
    value: f64,
}

/// The samples of one scrape, grouped by family; rendered in [`FAMILIES`] order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    samples: Vec<(&'static Family, Sample)>,
}

impl Exposition {
    /// An empty exposition.
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Adds one sample. `labels` are the values of `family.labels`, in order.
    ///
    /// # Panics
    /// When the number of values differs from the family's labels (a bug in
    /// the caller, caught by every test that renders).
    pub fn add(&mut self, family: &'static Family, labels: &[&str], value: f64) {
        assert_eq!(
            labels.len(),
            family.labels.len(),
            "{}: label values {labels:?} for labels {:?}",
            family.name,
            family.labels
        );
        self.samples.push((
            family,
            Sample {
                labels: labels.iter().map(|l| l.to_string()).collect(),
                value,
            },
        ));
    }

    /// Appends another exposition's samples.
    pub fn extend(&mut self, other: Exposition) {
        self.samples.extend(other.samples);
    }

    /// The value of the sample of `family` with exactly these label values.
    pub fn value(&self, family: &Family, labels: &[&str]) -> Option<f64> {
        self.samples
            .iter()
            .find(|(f, s)| {
                *f == family
                    && s.labels
                        .iter()
                        .map(String::as_str)
                        .eq(labels.iter().copied())
            })
            .map(|(_, s)| s.value)
    }

    /// The text format: `# HELP` and `# TYPE` once per family that has
    /// samples, then its samples in the order they were added.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for family in FAMILIES {
            let mut samples = self.samples.iter().filter(|(f, _)| f == family).peekable();
            if samples.peek().is_none() {
                continue;
            }
            let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(family.help));
            let _ = writeln!(out, "# TYPE {} {}", family.name, family.metric_type.word());
            for (_, sample) in samples {
                out.push_str(family.name);
                if !family.labels.is_empty() {
                    out.push('{');
                    for (i, (name, value)) in family.labels.iter().zip(&sample.labels).enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        let _ = write!(out, "{name}=\"{}\"", escape_label(value));
                    }
                    out.push('}');
                }
                let _ = writeln!(out, " {}", number(sample.value));
            }
        }
        out
    }
}

/// A label value: backslash, double quote and line feed escaped.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A HELP text: backslash and line feed escaped.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A value as the text format spells it (`+Inf`, `NaN`, integers without `.0`).
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_conventions() {
        for family in FAMILIES {
            assert!(family.name.starts_with("offload_"), "{}", family.name);
            assert_eq!(
                family.name.ends_with("_total"),
                family.metric_type == MetricType::Counter,
                "{}: counters and only counters end in _total",
                family.name
            );
            assert!(family
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
        }
        let mut names: Vec<&str> = FAMILIES.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FAMILIES.len(), "a family is listed twice");
    }

    #[test]
    fn renders_help_type_escaped_labels_and_values() {
        let mut e = Exposition::new();
        e.add(&FEATURE_ENABLED, &["eth0", "physical", "e1000e", "tx"], 1.0);
        e.add(&FEATURE_ENABLED, &["we\"ird\\\n", "other", "", "rx"], 0.0);
        e.add(&SCRAPE_DURATION, &[], 0.25);
        e.add(&CAPTURE_PACKETS, &[], f64::INFINITY);
        assert_eq!(
            e.render(),
            "# HELP offload_feature_enabled Whether an ethtool offload group is on (1) or off (0), as ethtool -k shows it.\n\
             # TYPE offload_feature_enabled gauge\n\
             offload_feature_enabled{interface=\"eth0\",kind=\"physical\",driver=\"e1000e\",feature=\"tx\"} 1\n\
             offload_feature_enabled{interface=\"we\\\"ird\\\\\\n\",kind=\"other\",driver=\"\",feature=\"rx\"} 0\n\
             # HELP offload_capture_packets_total Packets seen by the sampled captures.\n\
             # TYPE offload_capture_packets_total counter\n\
             offload_capture_packets_total +Inf\n\
             # HELP offload_scrape_duration_seconds Time spent collecting this scrape's metrics.\n\
             # TYPE offload_scrape_duration_seconds gauge\n\
             offload_scrape_duration_seconds 0.25\n"
        );
        assert_eq!(
            e.value(&FEATURE_ENABLED, &["eth0", "physical", "e1000e", "tx"]),
            Some(1.0)
        );
    }

    #[test]
    #[should_panic(expected = "label values")]
    fn a_wrong_number_of_label_values_is_a_bug() {
        Exposition::new().add(&FEATURE_ENABLED, &["eth0"], 1.0);
    }
}
