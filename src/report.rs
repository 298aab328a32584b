//! The solver's output: per-node, per-class and per-tier figures, and their text rendering.

use crate::model::{ClassKind, NodeId};
use serde::Serialize;
use std::fmt::Write as _;

/// Negative figures closer to zero than this are rounding noise (see
/// [`Report::without_negative_zeros`]).
const NEGATIVE_NOISE: f64 = 1e-9;

/// Mean and percentiles of a response time, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

/// How loaded a node is, for colouring and advice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Status {
    /// No traffic reaches it.
    Idle,
    /// Utilization below 70%.
    Healthy,
    /// Utilization from 70% (the usual scaling trigger, article 000) up to saturation.
    Warm,
    /// A finite queue is dropping more than 1% of arrivals.
    Saturated,
    /// Arrivals exceed capacity and the backlog grows without bound.
    Overloaded,
}

/// Figures for one node.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeReport {
    pub id: NodeId,
    pub name: String,
    pub kind: String,
    pub tier: String,
    pub instances: u32,
    /// Servers (instances × concurrency, after connection limits).
    pub servers: u64,
    /// Requests arriving per second.
    pub arrival_rps: f64,
    /// Requests completed per second.
    pub throughput_rps: f64,
    /// Requests refused per second by a full queue.
    pub dropped_rps: f64,
    /// Rate at which an overload backlog grows (0 when stable).
    pub backlog_growth_rps: f64,
    /// Busy fraction of the busiest queue, X·E[S]/c.
    pub utilization: f64,
    /// Offered load of the busiest queue, λ·E[S]/c (above 1 is overload).
    pub offered_utilization: f64,
    /// Mean number of requests waiting (not in service).
    pub queue_len: f64,
    /// Mean number of requests in the node (waiting, in service or in its fixed delay).
    /// Requests waiting for a database connection count at the pool that holds the
    /// connections (a pooler, or the app servers), not at the database.
    pub in_system: f64,
    /// Mean time a request served here waits for a database connection (ms; included in
    /// `latency_ms`): non-zero on poolers and app servers whose pools run out.
    pub connection_wait_ms: f64,
    pub latency_ms: Latency,
    pub monthly_cost_usd: f64,
    pub status: Status,
}

/// End-to-end figures for one request class of one workload.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassReport {
    /// `workload/class`, e.g. `users/read`.
    pub name: String,
    pub workload: String,
    pub class: ClassKind,
    pub offered_rps: f64,
    /// Completed end to end per second.
    pub served_rps: f64,
    /// Response time of completed requests, from the client until the answer returns
    /// (for async work: until the queue acknowledges it).
    pub latency_ms: Latency,
}

/// Monthly cost of one tier.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TierCost {
    pub tier: String,
    pub monthly_cost_usd: f64,
}

/// The node that saturates first as load grows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bottleneck {
    pub id: NodeId,
    pub name: String,
    /// Its offered utilization at the solved load, ignoring drops upstream.
    pub utilization: f64,
    /// The figure that shows it, in words.
    pub reason: String,
}

/// Everything the solver computes for one topology at one load.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub load_multiplier: f64,
    pub at_peak: bool,
    pub offered_rps: f64,
    pub served_rps: f64,
    pub dropped_rps: f64,
    /// Requests per second piling up in overloaded queues.
    pub backlog_rps: f64,
    pub monthly_cost_usd: f64,
    pub bottleneck: Option<Bottleneck>,
    /// Load multiplier at which the bottleneck reaches utilization 1 (`None`: nothing limits).
    pub headroom: Option<f64>,
    /// The busiest node reached only behind a queue (its overload grows a backlog).
    pub async_bottleneck: Option<Bottleneck>,
    /// Load multiplier at which the async bottleneck reaches utilization 1.
    pub async_headroom: Option<f64>,
    pub classes: Vec<ClassReport>,
    pub nodes: Vec<NodeReport>,
    pub tiers: Vec<TierCost>,
    /// Things the user should know: unpriced instance types, overloads, assumptions.
    pub warnings: Vec<String>,
}

impl Report {
    /// The report of the node with `id`.
    pub fn node(&self, id: NodeId) -> Option<&NodeReport> {
        crate::model::find_by_id(&self.nodes, id, |node| node.id)
    }

    /// The class report called `name` (`workload/class`).
    pub fn class(&self, name: &str) -> Option<&ClassReport> {
        self.classes.iter().find(|class| class.name == name)
    }

    /// The report with every figure that is zero up to rounding noise (a negative zero, such
    /// as the empty sum of tier costs, or a negative within 1e-9 of zero) set to +0, so that
    /// no file or screen shows "-0.0". Positive figures are kept as they are.
    pub fn without_negative_zeros(mut self) -> Report {
        fn fix(value: &mut f64) {
            if *value <= 0.0 && *value > -NEGATIVE_NOISE {
                *value = 0.0;
            }
        }
        fn fix_latency(latency: &mut Latency) {
            for value in [
                &mut latency.mean,
                &mut latency.p50,
                &mut latency.p95,
                &mut latency.p99,
            ] {
                fix(value);
            }
        }
        for value in [
            &mut self.load_multiplier,
            &mut self.offered_rps,
            &mut self.served_rps,
            &mut self.dropped_rps,
            &mut self.backlog_rps,
            &mut self.monthly_cost_usd,
        ] {
            fix(value);
        }
        for value in [&mut self.headroom, &mut self.async_headroom]
            .into_iter()
            .flatten()
        {
            fix(value);
        }
        for bottleneck in [&mut self.bottleneck, &mut self.async_bottleneck]
            .into_iter()
            .flatten()
        {
            fix(&mut bottleneck.utilization);
        }
        for class in &mut self.classes {
            fix(&mut class.offered_rps);
            fix(&mut class.served_rps);
            fix_latency(&mut class.latency_ms);
        }
        for node in &mut self.nodes {
            for value in [
                &mut node.arrival_rps,
                &mut node.throughput_rps,
                &mut node.dropped_rps,
                &mut node.backlog_growth_rps,
                &mut node.utilization,
                &mut node.offered_utilization,
                &mut node.queue_len,
                &mut node.in_system,
                &mut node.connection_wait_ms,
                &mut node.monthly_cost_usd,
            ] {
                fix(value);
            }
            fix_latency(&mut node.latency_ms);
        }
        for tier in &mut self.tiers {
            fix(&mut tier.monthly_cost_usd);
        }
        self
    }

    /// A plain-text table for terminals.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ =
            writeln!(
            out,
            "load x{:.3}{}   offered {:.1} req/s   served {:.1}   dropped {:.1}   backlog +{:.1}/s",
            self.load_multiplier,
            if self.at_peak { " (peak)" } else { " (average)" },
            self.offered_rps,
            self.served_rps,
            self.dropped_rps,
            self.backlog_rps
        );
        let _ = writeln!(out, "monthly cost ${:.2}", self.monthly_cost_usd);
        match (&self.bottleneck, self.headroom) {
            (Some(b), Some(h)) => {
                let _ = writeln!(
                    out,
                    "bottleneck {} (id {}): {}; headroom x{h:.3}",
                    b.name, b.id, b.reason
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "bottleneck none: no node has a capacity limit on this traffic"
                );
            }
        }
        if let (Some(b), Some(h)) = (&self.async_bottleneck, self.async_headroom) {
            let _ = writeln!(
                out,
                "behind queues: {} (id {}): {}; headroom x{h:.3}",
                b.name, b.id, b.reason
            );
        }
        let _ = writeln!(
            out,
            "\n{:<24} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "class", "req/s", "mean ms", "p50 ms", "p95 ms", "p99 ms"
        );
        for class in &self.classes {
            let l = class.latency_ms;
            let _ = writeln!(
                out,
                "{:<24} {:>10.1} {:>10.2} {:>10.2} {:>10.2} {:>10.2}",
                class.name, class.offered_rps, l.mean, l.p50, l.p95, l.p99
            );
        }
        let _ = writeln!(
            out,
            "\n{:>5} {:<22} {:<16} {:>5} {:>10} {:>10} {:>9} {:>6} {:>9} {:>9} {:>9} {:>10}",
            "id",
            "name",
            "kind",
            "inst",
            "arrive/s",
            "served/s",
            "drop/s",
            "util",
            "queue",
            "p50 ms",
            "p99 ms",
            "$/month"
        );
        for node in &self.nodes {
            let _ = writeln!(
                out,
                "{:>5} {:<22} {:<16} {:>5} {:>10.1} {:>10.1} {:>9.2} {:>5.1}% {:>9.2} {:>9.2} {:>9.2} {:>10.2}",
                node.id,
                truncate(&node.name, 22),
                node.kind,
                node.instances,
                node.arrival_rps,
                node.throughput_rps,
                node.dropped_rps,
                node.utilization * 100.0,
                node.queue_len,
                node.latency_ms.p50,
                node.latency_ms.p99,
                node.monthly_cost_usd
            );
        }
        for node in self.nodes.iter().filter(|n| n.connection_wait_ms > 0.0) {
            let _ = writeln!(
                out,
                "{} (id {}) waits {:.2} ms on average for a database connection (in its queue and p99)",
                node.name, node.id, node.connection_wait_ms
            );
        }
        let _ = writeln!(out, "\n{:<16} {:>12}", "tier", "$/month");
        for tier in &self.tiers {
            let _ = writeln!(out, "{:<16} {:>12.2}", tier.tier, tier.monthly_cost_usd);
        }
        for warning in &self.warnings {
            let _ = writeln!(out, "warning: {warning}");
        }
        out
    }
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut short: String = text.chars().take(width - 1).collect();
        short.push('…');
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            load_multiplier: 1.0,
            at_peak: true,
            offered_rps: 10.0,
            served_rps: 10.0,
            dropped_rps: -1e-12,
            backlog_rps: -0.0,
            monthly_cost_usd: -0.0,
            bottleneck: None,
            headroom: Some(2.0),
            async_bottleneck: None,
            async_headroom: None,
            classes: Vec::new(),
            nodes: Vec::new(),
            tiers: vec![TierCost {
                tier: "app".into(),
                monthly_cost_usd: -0.0,
            }],
            warnings: Vec::new(),
        }
    }

    #[test]
    fn negative_zeros_and_noise_become_zero_and_real_figures_stay() {
        let fixed = report().without_negative_zeros();
        for value in [
            fixed.dropped_rps,
            fixed.backlog_rps,
            fixed.monthly_cost_usd,
            fixed.tiers[0].monthly_cost_usd,
        ] {
            assert_eq!(value, 0.0);
            assert!(value.is_sign_positive());
        }
        assert_eq!(fixed.offered_rps, 10.0);
        assert_eq!(fixed.headroom, Some(2.0));
        let json = serde_json::to_string(&fixed).unwrap();
        assert!(!json.contains("-0.0"), "{json}");
        assert!(!json.contains("e-12"), "{json}");
    }
}
