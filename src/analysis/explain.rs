//! "Why this number": a class's mean response time split over the nodes it visits, the fixed
//! delays and round trips, the nodes whose waiting drives its tail, and every node's figures
//! told as the formula that gave them, with the solver's own inputs.

use crate::model::Topology;
use crate::solver::report::{ClassReport, NodeReport, Report};
use serde::Serialize;
use std::fmt::Write as _;

/// One node's part of a class's mean.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Contribution {
    pub id: u32,
    pub name: String,
    pub tier: String,
    /// Visits per completed request.
    pub visits: f64,
    /// Mean time per visit, ms.
    pub mean_ms: f64,
    /// visits × mean_ms: this node's part of the class mean, ms.
    pub share_ms: f64,
    /// share_ms over the class mean.
    pub fraction: f64,
    /// Of the share: fixed delay, service and waiting (visits × each), ms.
    pub base_ms: f64,
    pub service_ms: f64,
    pub wait_ms: f64,
    /// The 99th percentile of the wait at this node, times the visits, ms: how much this
    /// node's queue can stretch a slow request (Erlang C's wait tail, see [`wait_p99_ms`]).
    pub tail_ms: f64,
    /// The formula behind the node's figures, in words.
    pub formula: String,
}

/// The breakdown of one class.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    pub class: String,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Nodes by their share of the mean, largest first.
    pub contributions: Vec<Contribution>,
    /// Round trips of the hops, per completed request, ms.
    pub round_trip_ms: f64,
    /// Fixed delays of the nodes, per completed request, ms (inside the shares).
    pub base_latency_ms: f64,
    /// Nodes whose waiting stretches the tail, largest first (ids).
    pub tail: Vec<u32>,
    /// How the mean and the percentiles were computed.
    pub method: String,
}

/// Why a class could not be explained.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExplainError {
    #[error("no class {wanted}; the classes are: {known}")]
    UnknownClass { wanted: String, known: String },
    #[error("class {wanted} is ambiguous: {matches}; give workload/class")]
    Ambiguous { wanted: String, matches: String },
}

/// The class called `name`: `workload/class`, or just `class` when one workload has it.
pub fn find_class<'a>(report: &'a Report, name: &str) -> Result<&'a ClassReport, ExplainError> {
    if let Some(class) = report.class(name) {
        return Ok(class);
    }
    let matches: Vec<&ClassReport> = report
        .classes
        .iter()
        .filter(|class| class.class.label() == name)
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(ExplainError::UnknownClass {
            wanted: name.to_string(),
            known: report
                .classes
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
        many => Err(ExplainError::Ambiguous {
            wanted: name.to_string(),
            matches: many
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Breaks down the mean of `class` over its nodes.
pub fn explain(topology: &Topology, report: &Report, class: &ClassReport) -> Explanation {
    let mean = class.latency_ms.mean;
    let mut contributions: Vec<Contribution> = class
        .path
        .iter()
        .filter(|step| step.visits > 0.0)
        .filter_map(|step| {
            let node = report.node(step.id)?;
            if node.kind == "Client" {
                return None;
            }
            let wait = (step.mean_ms - step.base_ms - step.service_ms).max(0.0);
            Some(Contribution {
                id: step.id,
                name: node.name.clone(),
                tier: node.tier.to_string(),
                visits: step.visits,
                mean_ms: step.mean_ms,
                share_ms: step.share_ms,
                fraction: if mean > 0.0 {
                    step.share_ms / mean
                } else {
                    0.0
                },
                base_ms: step.visits * step.base_ms,
                service_ms: step.visits * step.service_ms,
                wait_ms: step.visits * wait,
                tail_ms: step.visits * node.queue.as_ref().map_or(0.0, wait_p99_ms),
                formula: node_formula(topology, node),
            })
        })
        .collect();
    contributions.sort_by(|a, b| b.share_ms.total_cmp(&a.share_ms).then(a.id.cmp(&b.id)));
    let mut tail: Vec<&Contribution> = contributions.iter().filter(|c| c.tail_ms > 0.0).collect();
    tail.sort_by(|a, b| b.tail_ms.total_cmp(&a.tail_ms));
    Explanation {
        class: class.name.clone(),
        mean_ms: mean,
        p50_ms: class.latency_ms.p50,
        p95_ms: class.latency_ms.p95,
        p99_ms: class.latency_ms.p99,
        round_trip_ms: class.path.iter().map(|s| s.round_trip_ms).sum(),
        base_latency_ms: contributions.iter().map(|c| c.base_ms).sum(),
        tail: tail.iter().map(|c| c.id).collect(),
        contributions,
        method: class_method(class),
    }
}

/// The 99th percentile of the wait in a queue: in M/M/c a request waits with probability C,
/// and then for an exponential time of mean W/C (W the mean wait), so
/// P(wait > t) = C·e^(−t·C/W) and t₉₉ = (W/C)·ln(100·C) when C > 1%, else 0.
///
/// ```
/// use staircase::solver::report::QueueModel;
/// // Half the requests wait, 10 ms on average: those that wait, 20 ms on average;
/// // t99 = 20·ln(50) = 78.2 ms.
/// let queue = QueueModel { queues: 1, servers: 2, arrival_rps: 1.0, mean_service_ms: 1.0,
///     service_scv: 1.0, buffer: None, offered_load: 1.0, wait_probability: 0.5,
///     mean_wait_ms: 10.0 };
/// let t = staircase::analysis::explain::wait_p99_ms(&queue);
/// assert!((t - 20.0 * 50f64.ln()).abs() < 1e-9);
/// ```
pub fn wait_p99_ms(queue: &crate::solver::report::QueueModel) -> f64 {
    let c = queue.wait_probability;
    if c <= 0.01 || queue.mean_wait_ms <= 0.0 {
        return 0.0;
    }
    queue.mean_wait_ms / c * (100.0 * c).ln()
}

/// How a class's figures were computed, in words.
pub fn class_method(class: &ClassReport) -> String {
    format!(
        "mean {:.2} ms = Σ over the nodes of visits × mean time per visit, plus the round trips \
         of the hops; p50 {:.2} / p95 {:.2} / p99 {:.2} ms from inverting the Laplace transform \
         of the whole path mix (per-hop percentiles do not add up)",
        class.latency_ms.mean, class.latency_ms.p50, class.latency_ms.p95, class.latency_ms.p99
    )
}

/// The formula behind a node's figures, in plain words, with the solver's inputs.
pub fn node_formula(topology: &Topology, node: &NodeReport) -> String {
    let base = topology.node(node.id).map_or(0.0, |n| n.base_latency_ms);
    let Some(queue) = &node.queue else {
        return format!("a fixed delay of {base} ms: no capacity limit, so no queue");
    };
    let c = queue.servers;
    let a = queue.offered_load;
    let wait = queue.wait_probability * 100.0;
    let shared = if queue.queues > 1 {
        format!(" (one of {} identical queues)", queue.queues)
    } else {
        String::new()
    };
    let inputs = format!(
        "c = {c}, a = λ·E[S] = {:.1}/s × {:.3} ms = {a:.2}{shared}",
        queue.arrival_rps, queue.mean_service_ms
    );
    let fixed = if base > 0.0 {
        format!("; plus {base} ms fixed delay")
    } else {
        String::new()
    };
    if a >= c as f64 && queue.buffer.is_none() {
        return format!(
            "overloaded: {inputs} ≥ c, so the backlog grows by {:.1} req/s; the wait shown is \
             the one reached after the overload horizon{fixed}",
            node.backlog_growth_rps
        );
    }
    let law = match queue.buffer {
        Some(places) => format!(
            "M/M/c/K with K = c + {places} = {} ({:.2}% of arrivals dropped)",
            c + places,
            if node.arrival_rps > 0.0 {
                100.0 * node.dropped_rps / node.arrival_rps
            } else {
                0.0
            }
        ),
        None if (queue.service_scv - 1.0).abs() < 1e-9 => "Erlang C".to_string(),
        None => format!(
            "Erlang C with the Allen–Cunneen factor (1 + cs²)/2 = {:.2} for service cs² = {:.2}",
            (1.0 + queue.service_scv) / 2.0,
            queue.service_scv
        ),
    };
    format!(
        "{law} with {inputs}: {wait:.0}% of requests wait, {:.2} ms on average{fixed}",
        queue.mean_wait_ms
    )
}

/// The explanation as plain text for terminals.
pub fn to_text(explanation: &Explanation) -> String {
    let e = explanation;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "class {}: mean {:.2} ms, p50 {:.2}, p95 {:.2}, p99 {:.2} ms",
        e.class, e.mean_ms, e.p50_ms, e.p95_ms, e.p99_ms
    );
    let _ = writeln!(
        out,
        "\n{:<24} {:>7} {:>10} {:>10} {:>7} {:>9} {:>9} {:>9}",
        "node", "visits", "per visit", "share ms", "share", "fixed", "service", "waiting"
    );
    for c in &e.contributions {
        let _ = writeln!(
            out,
            "{:<24} {:>7.3} {:>10.3} {:>10.3} {:>6.1}% {:>9.3} {:>9.3} {:>9.3}",
            c.name,
            c.visits,
            c.mean_ms,
            c.share_ms,
            c.fraction * 100.0,
            c.base_ms,
            c.service_ms,
            c.wait_ms
        );
    }
    let fraction = if e.mean_ms > 0.0 {
        e.round_trip_ms / e.mean_ms * 100.0
    } else {
        0.0
    };
    let _ = writeln!(
        out,
        "{:<24} {:>7} {:>10} {:>10.3} {:>6.1}%",
        "round trips", "", "", e.round_trip_ms, fraction
    );
    let _ = writeln!(
        out,
        "fixed delays {:.3} ms and round trips {:.3} ms of the {:.3} ms mean",
        e.base_latency_ms, e.round_trip_ms, e.mean_ms
    );
    let names: Vec<String> = e
        .tail
        .iter()
        .take(3)
        .filter_map(|id| e.contributions.iter().find(|c| c.id == *id))
        .map(|c| {
            format!(
                "{} ({:.2} ms: the 99th percentile of its wait)",
                c.name, c.tail_ms
            )
        })
        .collect();
    if !names.is_empty() {
        let _ = writeln!(out, "waiting that stretches the tail: {}", names.join(", "));
    }
    let _ = writeln!(out, "\nhow: {}", e.method);
    for c in &e.contributions {
        let _ = writeln!(out, "  {}: {}", c.name, c.formula);
    }
    out
}
