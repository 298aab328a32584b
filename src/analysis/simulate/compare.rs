//! Model against simulation, figure by figure: the relative difference and a verdict that
//! flags a difference only when it exceeds both the tolerance and the simulation's own noise.

use super::{Estimate, LatencyEstimate, Simulation};
use crate::solver::report::{Latency, Report};
use serde::Serialize;
use std::fmt::Write as _;

/// Relative tolerances per kind of figure.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Tolerances {
    /// Rates and utilization.
    pub rates: f64,
    /// Means (response times, queue lengths).
    pub means: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

impl Tolerances {
    /// Single-class networks: rates 1%, means and p50/p95 3%, p99 5%.
    pub const SINGLE_CLASS: Tolerances = Tolerances {
        rates: 0.01,
        means: 0.03,
        p50: 0.03,
        p95: 0.03,
        p99: 0.05,
    };
    /// Several classes share the queues: 8% for means, 10% p95, 15% p99.
    pub const MULTI_CLASS: Tolerances = Tolerances {
        rates: 0.01,
        means: 0.08,
        p50: 0.08,
        p95: 0.10,
        p99: 0.15,
    };

    /// The tolerances for a network with `classes` request classes.
    pub fn for_classes(classes: usize) -> Tolerances {
        if classes > 1 {
            Tolerances::MULTI_CLASS
        } else {
            Tolerances::SINGLE_CLASS
        }
    }
}

/// How a figure compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Within the tolerance, or the difference is inside the simulation's interval.
    Agrees,
    /// Beyond the tolerance and beyond the simulation's noise.
    Differs,
}

/// One compared figure.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// Node name or class name.
    pub subject: String,
    /// The node's id (`None` for a class).
    pub node: Option<u32>,
    pub figure: &'static str,
    pub model: f64,
    pub simulated: Estimate,
    /// (model − simulated) / simulated (0 when both are zero).
    pub relative: f64,
    pub tolerance: f64,
    pub verdict: Verdict,
}

/// The comparison of a model report with a simulation of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    pub rows: Vec<Row>,
    pub tolerances: Tolerances,
}

impl Comparison {
    /// Compares every node and class figure of `model` with `simulation`.
    pub fn new(model: &Report, simulation: &Simulation) -> Comparison {
        let tolerances = Tolerances::for_classes(model.classes.len());
        // Figures this small are noise next to the traffic as a whole (absolute floors).
        let rate_floor = 1e-4 * model.offered_rps.max(1e-9);
        let mut rows = Vec::new();
        let mut push = |subject: &str, node: Option<u32>, figure, model, simulated, tol, floor| {
            rows.push(row(subject, node, figure, model, simulated, tol, floor));
        };
        node_rows(&mut push, model, simulation, (tolerances, rate_floor));
        class_rows(&mut push, model, simulation, (tolerances, rate_floor));
        Comparison { rows, tolerances }
    }

    /// Rows that differ.
    pub fn differing(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.verdict == Verdict::Differs)
    }

    /// Whether any figure of node `id` differs (for marking the node).
    pub fn node_differs(&self, id: u32) -> bool {
        self.differing().any(|r| r.node == Some(id))
    }

    /// The comparison as a text table.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<24} {:<18} {:>14} {:>24} {:>9}  verdict",
            "node / class", "figure", "model", "simulation ± 95% CI", "diff"
        );
        for r in &self.rows {
            let _ = writeln!(
                out,
                "{:<24} {:<18} {:>14} {:>24} {:>+8.2}%  {}",
                truncate(&r.subject, 24),
                r.figure,
                number(r.model),
                format!(
                    "{} ± {}",
                    number(r.simulated.mean),
                    number(r.simulated.half_width)
                ),
                r.relative * 100.0,
                match r.verdict {
                    Verdict::Agrees => "ok".to_string(),
                    Verdict::Differs => format!("DIFFERS (beyond {:.0}%)", r.tolerance * 100.0),
                }
            );
        }
        out
    }
}

type Push<'a> = dyn FnMut(&str, Option<u32>, &'static str, f64, Estimate, f64, f64) + 'a;

/// Each node's rates, utilization, queue length, latencies and connection wait (nodes that
/// nothing reaches are left out).
fn node_rows(
    push: &mut Push<'_>,
    model: &Report,
    simulation: &Simulation,
    (tolerances, rate_floor): (Tolerances, f64),
) {
    for (report, sim) in model.nodes.iter().zip(&simulation.nodes) {
        if report.arrival_rps <= 0.0 && sim.arrival_rps.mean <= 0.0 {
            continue;
        }
        let (name, id) = (report.name.as_str(), Some(report.id));
        let t = tolerances;
        push(
            name,
            id,
            "arrival req/s",
            report.arrival_rps,
            sim.arrival_rps,
            t.rates,
            rate_floor,
        );
        push(
            name,
            id,
            "throughput req/s",
            report.throughput_rps,
            sim.throughput_rps,
            t.rates,
            rate_floor,
        );
        push(
            name,
            id,
            "dropped req/s",
            report.dropped_rps,
            sim.dropped_rps,
            t.rates,
            rate_floor,
        );
        if report.servers > 0 {
            push(
                name,
                id,
                "utilization",
                report.utilization,
                sim.utilization,
                t.rates,
                1e-3,
            );
            push(
                name,
                id,
                "queue length",
                report.queue_len,
                sim.queue_len,
                t.means,
                1e-2,
            );
        }
        latency_rows(push, name, id, &report.latency_ms, &sim.latency_ms, t);
        if report.connection_wait_ms > 0.0 || sim.connection_wait_ms.mean > 0.0 {
            push(
                name,
                id,
                "connection wait ms",
                report.connection_wait_ms,
                sim.connection_wait_ms,
                t.means,
                1e-3,
            );
        }
    }
}

/// Each class's offered and served rates and its end-to-end latencies.
fn class_rows(
    push: &mut Push<'_>,
    model: &Report,
    simulation: &Simulation,
    (tolerances, rate_floor): (Tolerances, f64),
) {
    for (report, sim) in model.classes.iter().zip(&simulation.classes) {
        let name = report.name.as_str();
        let t = tolerances;
        push(
            name,
            None,
            "offered req/s",
            report.offered_rps,
            sim.offered_rps,
            t.rates,
            rate_floor,
        );
        push(
            name,
            None,
            "served req/s",
            report.served_rps,
            sim.served_rps,
            t.rates,
            rate_floor,
        );
        latency_rows(push, name, None, &report.latency_ms, &sim.latency_ms, t);
    }
}

fn latency_rows(
    push: &mut Push<'_>,
    name: &str,
    id: Option<u32>,
    model: &Latency,
    sim: &LatencyEstimate,
    t: Tolerances,
) {
    // Latency floor: a microsecond.
    push(name, id, "mean ms", model.mean, sim.mean, t.means, 1e-3);
    push(name, id, "p50 ms", model.p50, sim.p50, t.p50, 1e-3);
    push(name, id, "p95 ms", model.p95, sim.p95, t.p95, 1e-3);
    push(name, id, "p99 ms", model.p99, sim.p99, t.p99, 1e-3);
}

fn row(
    subject: &str,
    node: Option<u32>,
    figure: &'static str,
    model: f64,
    simulated: Estimate,
    tolerance: f64,
    floor: f64,
) -> Row {
    let difference = model - simulated.mean;
    let scale = simulated.mean.abs().max(floor);
    let relative = if difference == 0.0 {
        0.0
    } else {
        difference / scale
    };
    let beyond_tolerance = difference.abs() > tolerance * scale;
    let beyond_noise = difference.abs() > simulated.half_width;
    Row {
        subject: subject.to_string(),
        node,
        figure,
        model,
        simulated,
        relative,
        tolerance,
        verdict: if beyond_tolerance && beyond_noise {
            Verdict::Differs
        } else {
            Verdict::Agrees
        },
    }
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let cut: String = text.chars().take(width - 1).collect();
        format!("{cut}…")
    }
}

/// A figure with four significant digits (up to six decimals), as the table shows it.
pub fn number(value: f64) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let digits = (3 - value.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{value:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_difference_inside_the_noise_agrees() {
        let noisy = Estimate {
            mean: 100.0,
            half_width: 10.0,
        };
        assert_eq!(
            row("a", None, "mean ms", 108.0, noisy, 0.03, 1e-3).verdict,
            Verdict::Agrees
        );
        let tight = Estimate {
            mean: 100.0,
            half_width: 1.0,
        };
        assert_eq!(
            row("a", None, "mean ms", 108.0, tight, 0.03, 1e-3).verdict,
            Verdict::Differs
        );
        assert_eq!(
            row("a", None, "mean ms", 102.0, tight, 0.03, 1e-3).verdict,
            Verdict::Agrees
        );
    }
}
