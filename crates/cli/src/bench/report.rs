//! The report: a table for people (stdout), then one JSON line for scripts (the last line).

use super::ceiling::Ceiling;
use super::driver::Outcome;
use hdrhistogram::Histogram;
use serde::Serialize;

pub struct Summary {
    pub scenario: &'static str,
    pub backend: String,
    pub outcome: Outcome,
    pub ceiling: Option<Ceiling>,
    pub rss_idle: Option<Rss>,
    pub rss_loaded: Option<Rss>,
    pub load_before: String,
    pub load_after: String,
}

/// A process's resident memory from `/proc/<pid>/status`, in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Rss {
    pub current_kib: u64,
    pub peak_kib: u64,
}

pub fn rss(pid: u32) -> Option<Rss> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Rss {
        current_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

/// The 1, 5 and 15 minute load averages: a busy machine makes a run worthless.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

pub(super) fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    round(h.value_at_quantile(q) as f64 / 1000.0, 3)
}

pub(super) fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn row(name: &str, h: &Histogram<u64>) {
    println!(
        "  {name:<36} {:>9} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
        h.len(),
        ms(h, 0.5),
        ms(h, 0.99),
        ms(h, 0.999),
        h.max() as f64 / 1000.0
    );
}

impl Summary {
    pub fn throughput(&self) -> f64 {
        self.outcome.ok as f64 / self.outcome.elapsed.as_secs_f64()
    }

    pub fn errors(&self) -> u64 {
        self.outcome.errors.values().sum()
    }

    pub fn print(&self) {
        let o = &self.outcome;
        let throughput = self.throughput();
        println!();
        println!(
            "kassa bench — scenario {} on {} ({})",
            self.scenario, self.backend, o.mode
        );
        println!(
            "  {:.1} s, {} ok, {} errors: {:.1} per second",
            o.elapsed.as_secs_f64(),
            o.ok,
            self.errors(),
            throughput
        );
        println!(
            "  {:<36} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "latency (ms)", "count", "p50", "p99", "p99.9", "max"
        );
        row(self.scenario, &o.primary);
        for (name, h) in &o.steps {
            row(&format!("  {name}"), h);
        }
        if !o.errors.is_empty() {
            println!("  errors by cause:");
            for (what, n) in &o.errors {
                println!("    {n:>8}  {what}");
            }
        }
        if let Some(c) = &self.ceiling {
            println!(
                "  ceiling ({}): {:.1} {} ({}); ratio {:.3}",
                c.shape.name(),
                c.per_s,
                c.shape.unit(),
                c.how,
                throughput / c.per_s
            );
        }
        for (when, rss) in [("idle", self.rss_idle), ("after load", self.rss_loaded)] {
            if let Some(r) = rss {
                println!(
                    "  server RSS {when}: {:.1} MiB (peak {:.1} MiB)",
                    r.current_kib as f64 / 1024.0,
                    r.peak_kib as f64 / 1024.0
                );
            }
        }
        println!(
            "  load average before {} / after {}",
            self.load_before, self.load_after
        );
        println!("{}", self.json());
    }

    /// The machine-readable result, fields in a fixed order.
    pub fn json(&self) -> String {
        let o = &self.outcome;
        let throughput = self.throughput();
        let ceiling = self.ceiling.as_ref().map(|c| round(c.per_s, 1));
        let line = JsonLine {
            scenario: self.scenario,
            backend: &self.backend,
            throughput_per_s: round(throughput, 1),
            p50_ms: ms(&o.primary, 0.5),
            p99_ms: ms(&o.primary, 0.99),
            max_ms: round(o.primary.max() as f64 / 1000.0, 3),
            errors: self.errors(),
            ceiling_shape: self.ceiling.as_ref().map(|c| c.shape.name()),
            ceiling_per_s: ceiling,
            ratio: ceiling.map(|c| round(throughput / c, 3)),
        };
        serde_json::to_string(&line).expect("plain numbers and strings serialize")
    }
}

#[derive(Serialize)]
struct JsonLine<'a> {
    scenario: &'a str,
    backend: &'a str,
    throughput_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: u64,
    /// What the ceiling repeated: `create` or `lifecycle` (its unit: per second of those).
    ceiling_shape: Option<&'static str>,
    ceiling_per_s: Option<f64>,
    ratio: Option<f64>,
}
