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

/// Traffic along one wire of the topology.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EdgeReport {
    pub from: NodeId,
    pub to: NodeId,
    /// `route`, `call` or `retry`.
    pub kind: &'static str,
    /// Requests per second along the wire, per class, in the order of [`Report::classes`]
    /// (calls count each call; retries count the dropped requests sent again).
    pub class_rps: smallvec::SmallVec<[f64; 4]>,
    /// The sum over the classes.
    pub rps: f64,
}

/// Figures for one node.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeReport {
    pub id: NodeId,
    pub name: String,
    /// The node kind's label (`NodeKind::label`).
    pub kind: &'static str,
    /// The cost tier the node counts in (`Node::tier`: its kind's unless the user named one).
    pub tier: std::borrow::Cow<'static, str>,
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
    /// The inputs and results of its busiest queue (`None`, left out of JSON, for a pure
    /// delay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueModel>,
    /// How often this tier has enough instances up to carry its load (see
    /// [`crate::solver::availability`]).
    pub availability: NodeAvailability,
}

/// One queue of a node as the solver modelled it: the figures its formulas took and gave.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueModel {
    /// Identical queues like this one in the node.
    pub queues: u64,
    /// Servers sharing this queue (c).
    pub servers: u64,
    /// Requests per second arriving at this queue (λ).
    pub arrival_rps: f64,
    /// Mean service time E[S], ms (mixed over the classes by their arrivals).
    pub mean_service_ms: f64,
    /// Squared coefficient of variation of the service time (1 exponential).
    pub service_scv: f64,
    /// Waiting places beyond the servers (`None`, left out of JSON: unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer: Option<u64>,
    /// Offered load a = λ·E[S], in servers' worth of work.
    pub offered_load: f64,
    /// Probability that an arriving request waits.
    pub wait_probability: f64,
    /// Mean wait before service, ms.
    pub mean_wait_ms: f64,
}

/// Availability of one tier: k of its n instances must be up, k from the solved load.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeAvailability {
    /// Fraction of time one instance is up (the node's own figure or the catalog's default).
    pub instance: f64,
    /// Instances (per shard) that must be up to carry the load below saturation.
    pub needed: u32,
    /// Fraction of time enough instances are up (every shard, for a shard group).
    pub tier: f64,
    /// Its region's availability (1 without a region).
    pub region: f64,
}

impl Default for NodeAvailability {
    fn default() -> Self {
        NodeAvailability {
            instance: 1.0,
            needed: 1,
            tier: 1.0,
            region: 1.0,
        }
    }
}

/// The nodes a path step calls or routes to, inline for the usual few (a report has a step
/// per class and node it reaches).
pub type StepTargets = smallvec::SmallVec<[NodeId; 4]>;

/// One node on a class's synchronous path: how often a completed request of the class visits
/// it and how long it stays there. Σ (share_ms + round_trip_ms) over the path is the class
/// mean.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PathStep {
    pub id: NodeId,
    /// Visits per completed request (calls count each time; routes weigh by the completed
    /// requests that take them).
    pub visits: f64,
    /// Mean time the class spends at the node per visit (waiting, service, fixed delay), ms.
    pub mean_ms: f64,
    /// visits × mean_ms.
    pub share_ms: f64,
    /// The node's fixed delay per visit, ms (included in mean_ms).
    pub base_ms: f64,
    /// The class's mean service time per visit, ms (included in mean_ms; 0 for a pure delay).
    pub service_ms: f64,
    /// Round trips of the hops out of this node, per completed request, ms.
    pub round_trip_ms: f64,
    /// Nodes it calls (all needed).
    pub calls: StepTargets,
    /// Nodes it routes the class to (any one up suffices: traffic fails over).
    pub routes: StepTargets,
    /// Route targets that take the class only when the preferred ones fail (geo DNS).
    pub standby: Vec<NodeId>,
    /// The node answers some requests itself (a cache hit, a leaf, a queue's acknowledgement).
    pub answers: bool,
}

/// Downtime a node or a region adds to a class: how much less the class would be down a
/// month if that part never failed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DowntimeShare {
    /// The node's id (`None`, and left out of JSON, for a region).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<NodeId>,
    /// The node's name or `region NAME`.
    pub name: String,
    pub min_per_month: f64,
}

/// End-to-end figures for one request class of one workload.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassReport {
    /// `workload/class`, e.g. `users/read`.
    pub name: String,
    pub workload: String,
    pub class: ClassKind,
    pub offered_rps: f64,
    /// Completed end to end per second, counting requests whose drops were retried and then
    /// served.
    pub served_rps: f64,
    /// Response time of completed requests, from the client until the answer returns
    /// (for async work: until the queue acknowledges it), along the paths a first attempt
    /// takes: the extra time of a retried attempt is not included.
    pub latency_ms: Latency,
    /// The nodes on its synchronous path, in path order (callers before callees).
    pub path: Vec<PathStep>,
    /// Fraction of time the class has a working path (steady state, independent failures).
    pub availability: f64,
    /// Expected minutes a 730-hour month without a working path.
    pub downtime_min_per_month: f64,
    /// −log10(1 − availability); `None` (left out of JSON) when nothing on the path can fail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nines: Option<f64>,
    /// Nodes and regions by the downtime they add, largest first (up to 32; on paths of more
    /// than 12,500 nodes only the parts that fail most are tried).
    pub downtime_by_part: Vec<DowntimeShare>,
    /// Computed exactly (false: too many shared parts; shared parts counted as independent).
    pub availability_exact: bool,
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
    /// Per wire, in the topology's edge order: the traffic it carries.
    pub edges: Vec<EdgeReport>,
    pub tiers: Vec<TierCost>,
    /// Things the user should know: unpriced instance types, overloads, assumptions.
    pub warnings: Vec<String>,
    /// Availability of the synchronous classes, weighted by their offered requests.
    pub availability: f64,
    /// Expected minutes a 730-hour month the average request finds no working path.
    pub downtime_min_per_month: f64,
}

impl Report {
    /// The report of the node with `id`.
    pub fn node(&self, id: NodeId) -> Option<&NodeReport> {
        crate::model::find_by_id(&self.nodes, id, |node| node.id)
    }

    /// The highest p99 of any request class, ms (0 without classes).
    pub fn worst_p99_ms(&self) -> f64 {
        self.classes
            .iter()
            .map(|c| c.latency_ms.p99)
            .fold(0.0, f64::max)
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
            &mut self.availability,
            &mut self.downtime_min_per_month,
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
            fix(&mut class.availability);
            fix(&mut class.downtime_min_per_month);
            for part in &mut class.downtime_by_part {
                fix(&mut part.min_per_month);
            }
            for step in &mut class.path {
                for value in [
                    &mut step.visits,
                    &mut step.mean_ms,
                    &mut step.share_ms,
                    &mut step.base_ms,
                    &mut step.service_ms,
                    &mut step.round_trip_ms,
                ] {
                    fix(value);
                }
            }
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
        for edge in &mut self.edges {
            edge.class_rps.iter_mut().for_each(fix);
            fix(&mut edge.rps);
        }
        self
    }

    /// Every way this report breaks the invariants any solve must keep, in words (empty when
    /// it keeps them all). Checked by the property tests, the fuzz target and its regression
    /// tests:
    /// - every figure is finite and at least 0 (and never −0);
    /// - served ≤ offered, for the whole system and per class; a node passes on at most what
    ///   arrives, and arrivals = served + dropped + backlog growth, per node and in total;
    /// - utilization at most 1; p50 ≤ p95 ≤ p99;
    /// - a node's mean response time is at most its p99 where requests complete there. The
    ///   documented exception: when fewer than 1% of requests wait (a constant service time
    ///   with rare waits, a shard group whose hot shard holds under 1% of its requests in a
    ///   backlog, or a pool holder of which under 1% of requests reach an overloaded
    ///   database), the 99th percentile is a response without waiting and the rare waits
    ///   lift the mean alone; the mean then exceeds p99 by at most the mean wait (queue
    ///   length / throughput), since the fixed delay plus the mean service is never above p99
    ///   by more than 0.1005 standard deviations of the service (Cantelli's inequality: a mix
    ///   of classes where a rare one is slow, for example constant reads and rare writes);
    /// - Little's law L = X·W on every node, saturated and overloaded ones included;
    /// - a bottleneck is named exactly when there is a headroom, and that headroom is finite;
    /// - availability at most 1, and a class's path explains its mean: Σ visits × mean per
    ///   visit + round trips = the class mean.
    pub fn invariant_violations(&self) -> Vec<String> {
        let mut problems = Vec::new();
        self.unfit_figures(&mut problems);
        self.unbalanced_flows(&mut problems);
        self.class_violations(&mut problems);
        self.node_violations(&mut problems);
        self.bottleneck_violations(&mut problems);
        problems
    }

    /// Every figure of the report that is not a finite non-negative number (or is −0).
    fn unfit_figures(&self, problems: &mut Vec<String>) {
        let mut figure = |what: &dyn Fn() -> String, value: f64| {
            if !value.is_finite() || value < 0.0 || (value == 0.0 && value.is_sign_negative()) {
                problems.push(format!("{} is {value:?}", what()));
            }
        };
        let latency_figures = |l: &Latency| {
            [
                ("mean", l.mean),
                ("p50", l.p50),
                ("p95", l.p95),
                ("p99", l.p99),
            ]
        };
        for (name, value) in [
            ("availability", self.availability),
            ("downtime_min_per_month", self.downtime_min_per_month),
            ("load_multiplier", self.load_multiplier),
            ("offered_rps", self.offered_rps),
            ("served_rps", self.served_rps),
            ("dropped_rps", self.dropped_rps),
            ("backlog_rps", self.backlog_rps),
            ("monthly_cost_usd", self.monthly_cost_usd),
        ] {
            figure(&|| name.to_string(), value);
        }
        for (name, value) in [
            ("headroom", self.headroom),
            ("async_headroom", self.async_headroom),
        ] {
            if let Some(value) = value {
                figure(&|| name.to_string(), value);
            }
        }
        for bottleneck in self.bottleneck.iter().chain(&self.async_bottleneck) {
            figure(
                &|| format!("bottleneck {} utilization", bottleneck.id),
                bottleneck.utilization,
            );
        }
        for class in &self.classes {
            figure(
                &|| format!("class {} offered_rps", class.name),
                class.offered_rps,
            );
            figure(
                &|| format!("class {} served_rps", class.name),
                class.served_rps,
            );
            for (name, value) in latency_figures(&class.latency_ms) {
                figure(&|| format!("class {} {name}", class.name), value);
            }
            for (name, value) in [
                ("availability", class.availability),
                ("downtime_min_per_month", class.downtime_min_per_month),
            ] {
                figure(&|| format!("class {} {name}", class.name), value);
            }
        }
        for node in &self.nodes {
            for (name, value) in [
                ("arrival_rps", node.arrival_rps),
                ("throughput_rps", node.throughput_rps),
                ("dropped_rps", node.dropped_rps),
                ("backlog_growth_rps", node.backlog_growth_rps),
                ("utilization", node.utilization),
                ("offered_utilization", node.offered_utilization),
                ("queue_len", node.queue_len),
                ("in_system", node.in_system),
                ("connection_wait_ms", node.connection_wait_ms),
                ("monthly_cost_usd", node.monthly_cost_usd),
                ("tier availability", node.availability.tier),
            ] {
                figure(&|| format!("node {} {name}", node.id), value);
            }
            for (name, value) in latency_figures(&node.latency_ms) {
                figure(&|| format!("node {} {name}", node.id), value);
            }
        }
        for tier in &self.tiers {
            figure(
                &|| format!("tier {} cost", tier.tier),
                tier.monthly_cost_usd,
            );
        }
        for edge in &self.edges {
            for (k, value) in edge.class_rps.iter().enumerate() {
                figure(
                    &|| format!("edge {}→{} class {k}", edge.from, edge.to),
                    *value,
                );
            }
            figure(&|| format!("edge {}→{} rps", edge.from, edge.to), edge.rps);
        }
    }

    /// Flow conservation at every node but the clients (where requests also enter from
    /// outside), and offered = served + dropped + backlog in all.
    fn unbalanced_flows(&self, problems: &mut Vec<String>) {
        // Flow conservation: what arrives at a node (other than a client, where requests also
        // enter from outside) is what its wires bring.
        if !self.edges.is_empty() {
            for node in self.nodes.iter().filter(|node| node.kind != "Client") {
                let brought: f64 = self
                    .edges
                    .iter()
                    .filter(|edge| edge.to == node.id)
                    .map(|edge| edge.rps)
                    .sum();
                if !close_to(node.arrival_rps, brought, 1e-6) {
                    problems.push(format!(
                        "node {}: arrivals {} ≠ {brought} brought by its wires",
                        node.id, node.arrival_rps
                    ));
                }
            }
        }
        if self.served_rps > self.offered_rps * (1.0 + 1e-9) {
            problems.push(format!(
                "served {} > offered {}",
                self.served_rps, self.offered_rps
            ));
        }
        let total = self.served_rps + self.dropped_rps + self.backlog_rps;
        if !close_to(self.offered_rps, total, 1e-9) {
            problems.push(format!(
                "offered {} ≠ served + dropped + backlog {total}",
                self.offered_rps
            ));
        }
    }

    /// Per class: availability at most 1, the path explaining the mean, served at most
    /// offered, and percentiles in order.
    fn class_violations(&self, problems: &mut Vec<String>) {
        for class in &self.classes {
            if class.availability > 1.0 {
                problems.push(format!("class {}: availability above 1", class.name));
            }
            let explained: f64 = class
                .path
                .iter()
                .map(|step| step.share_ms + step.round_trip_ms)
                .sum();
            if !class.path.is_empty() && !close_to(explained, class.latency_ms.mean, 1e-6) {
                problems.push(format!(
                    "class {}: the path's shares add up to {explained} ms, not the mean {} ms",
                    class.name, class.latency_ms.mean
                ));
            }
            if class.served_rps > class.offered_rps * (1.0 + 1e-9) {
                problems.push(format!(
                    "class {}: served {} > offered {}",
                    class.name, class.served_rps, class.offered_rps
                ));
            }
            check_order(
                problems,
                &format!("class {}", class.name),
                &class.latency_ms,
            );
        }
    }

    /// Per node: served at most arrivals, arrivals = served + dropped + backlog, utilization
    /// at most 1, percentiles in order, the mean within reach of p99, and Little's law.
    fn node_violations(&self, problems: &mut Vec<String>) {
        for node in &self.nodes {
            let label = format!("node {} \"{}\"", node.id, node.name);
            if node.throughput_rps > node.arrival_rps * (1.0 + 1e-9) {
                problems.push(format!(
                    "{label}: served {} > arrivals {}",
                    node.throughput_rps, node.arrival_rps
                ));
            }
            let out = node.throughput_rps + node.dropped_rps + node.backlog_growth_rps;
            if !close_to(node.arrival_rps, out, 1e-9) {
                problems.push(format!(
                    "{label}: arrivals {} ≠ served + dropped + backlog {out}",
                    node.arrival_rps
                ));
            }
            if node.utilization > 1.0 {
                problems.push(format!("{label}: utilization {}", node.utilization));
            }
            check_order(problems, &label, &node.latency_ms);
            if node.throughput_rps > 0.0 {
                let mean_wait_ms = 1000.0 * node.queue_len / node.throughput_rps;
                // Cantelli: P(S ≤ E[S] − t) ≤ σ²/(σ² + t²), so the service's 99th percentile is
                // at least E[S] − 0.1005·σ (a rare slow class in a mix of service times).
                let service_spread_ms = node.queue.as_ref().map_or(0.0, |queue| {
                    0.1005 * queue.service_scv.max(0.0).sqrt() * queue.mean_service_ms
                });
                let limit = node.latency_ms.p99 + mean_wait_ms + service_spread_ms;
                if node.latency_ms.mean > limit * (1.0 + 1e-3) + 1e-9 {
                    problems.push(format!(
                        "{label}: mean {} ms above p99 {} ms plus the mean wait {mean_wait_ms} ms and a tenth of the service spread {service_spread_ms} ms",
                        node.latency_ms.mean, node.latency_ms.p99
                    ));
                }
            }
            let from_law = node.throughput_rps * node.latency_ms.mean / 1000.0;
            if !close_to(node.in_system, from_law, 1e-6) {
                problems.push(format!(
                    "{label}: Little's law: L = {} but X·W = {from_law}",
                    node.in_system
                ));
            }
        }
    }

    /// A bottleneck exactly when there is a finite positive headroom (and the same for the
    /// async side).
    fn bottleneck_violations(&self, problems: &mut Vec<String>) {
        for (name, bottleneck, headroom) in [
            ("bottleneck", &self.bottleneck, self.headroom),
            (
                "async bottleneck",
                &self.async_bottleneck,
                self.async_headroom,
            ),
        ] {
            match (bottleneck, headroom) {
                (Some(_), Some(h)) if h.is_finite() && h > 0.0 => {}
                (None, None) => {}
                (b, h) => problems.push(format!(
                    "{name} {:?} with headroom {h:?}",
                    b.as_ref().map(|b| b.id)
                )),
            }
        }
    }

    /// A plain-text table for terminals: the summary, the classes' latency and availability,
    /// the nodes, the connection waits, the tiers' costs and the warnings.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        self.write_summary(&mut out);
        self.write_bottlenecks(&mut out);
        self.write_class_latencies(&mut out);
        self.write_class_availability(&mut out);
        self.write_nodes(&mut out);
        self.write_costs_and_warnings(&mut out);
        out
    }

    /// The table's first lines: the load, the traffic, the monthly cost and the availability.
    fn write_summary(&self, out: &mut String) {
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
        let _ = writeln!(
            out,
            "availability {:.4}%   downtime {:.1} min/month",
            self.availability * 100.0,
            self.downtime_min_per_month
        );
    }

    /// The bottleneck with its headroom (or none), and the one behind queues if any.
    fn write_bottlenecks(&self, out: &mut String) {
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
    }

    /// Each class's rate and mean, p50, p95 and p99 latency.
    fn write_class_latencies(&self, out: &mut String) {
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
    }

    /// Each class's availability, downtime, nines and the part that costs it the most downtime.
    fn write_class_availability(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\n{:<24} {:>12} {:>10} {:>6}  most downtime from",
            "class", "available", "min/month", "nines"
        );
        for class in &self.classes {
            let worst = class.downtime_by_part.first().map_or_else(
                || "-".to_string(),
                |part| format!("{} ({:.1} min)", part.name, part.min_per_month),
            );
            let _ = writeln!(
                out,
                "{:<24} {:>11.4}% {:>10.1} {:>6} {worst}",
                class.name,
                class.availability * 100.0,
                class.downtime_min_per_month,
                class
                    .nines
                    .map_or_else(|| "-".to_string(), |n| format!("{n:.2}"))
            );
        }
    }

    /// One row per node, then the nodes whose requests wait for a database connection.
    fn write_nodes(&self, out: &mut String) {
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
    }

    /// The monthly cost of each tier, then the warnings.
    fn write_costs_and_warnings(&self, out: &mut String) {
        let _ = writeln!(out, "\n{:<16} {:>12}", "tier", "$/month");
        for tier in &self.tiers {
            let _ = writeln!(out, "{:<16} {:>12.2}", tier.tier, tier.monthly_cost_usd);
        }
        for warning in &self.warnings {
            let _ = writeln!(out, "warning: {warning}");
        }
    }
}

/// Records percentiles out of order (p50 ≤ p95 ≤ p99, within the inversion's accuracy).
fn check_order(problems: &mut Vec<String>, label: &str, latency: &Latency) {
    let slack = |value: f64| value * 1e-6 + 1e-9;
    if latency.p50 > latency.p95 + slack(latency.p95)
        || latency.p95 > latency.p99 + slack(latency.p99)
    {
        problems.push(format!(
            "{label}: percentiles out of order: p50 {} p95 {} p99 {}",
            latency.p50, latency.p95, latency.p99
        ));
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

/// Whether `a` and `b` agree to `relative` of the larger (or of 1, near zero).
fn close_to(a: f64, b: f64, relative: f64) -> bool {
    (a - b).abs() <= relative * a.abs().max(b.abs()).max(1.0)
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
            edges: Vec::new(),
            tiers: vec![TierCost {
                tier: "app".into(),
                monthly_cost_usd: -0.0,
            }],
            warnings: Vec::new(),
            availability: 1.0,
            downtime_min_per_month: -0.0,
        }
    }

    /// An M/M/1 node at λ = 5/s, μ = 10/s: ρ = 0.5, L = ρ/(1 − ρ) = 1, W = 1/(μ − λ) = 200 ms,
    /// the sojourn's median ln 2/5 s = 138.6 ms, p95 ln 20/5 s = 599.1 ms, p99 ln 100/5 s
    /// = 921.0 ms, fed by a client sending 5/s.
    fn mm1_report() -> Report {
        let latency_ms = Latency {
            mean: 200.0,
            p50: 1000.0 * 2f64.ln() / 5.0,
            p95: 1000.0 * 20f64.ln() / 5.0,
            p99: 1000.0 * 100f64.ln() / 5.0,
        };
        let node = |id: NodeId, kind: &'static str, arrival_rps: f64, in_system: f64| NodeReport {
            id,
            name: kind.to_lowercase(),
            kind,
            tier: kind.into(),
            instances: 1,
            servers: 1,
            arrival_rps,
            throughput_rps: arrival_rps,
            dropped_rps: 0.0,
            backlog_growth_rps: 0.0,
            utilization: in_system / (1.0 + in_system),
            offered_utilization: in_system / (1.0 + in_system),
            queue_len: in_system * in_system / (1.0 + in_system),
            in_system,
            connection_wait_ms: 0.0,
            latency_ms: if in_system > 0.0 {
                latency_ms
            } else {
                Latency::default()
            },
            monthly_cost_usd: 0.0,
            status: Status::Healthy,
            queue: None,
            availability: NodeAvailability::default(),
        };
        Report {
            offered_rps: 5.0,
            served_rps: 5.0,
            dropped_rps: 0.0,
            backlog_rps: 0.0,
            monthly_cost_usd: 0.0,
            headroom: Some(2.0),
            bottleneck: Some(Bottleneck {
                id: 2,
                name: "service".into(),
                utilization: 0.5,
                reason: String::new(),
            }),
            nodes: vec![node(1, "Client", 5.0, 0.0), node(2, "Service", 5.0, 1.0)],
            edges: vec![EdgeReport {
                from: 1,
                to: 2,
                kind: "route",
                class_rps: smallvec::smallvec![5.0],
                rps: 5.0,
            }],
            tiers: Vec::new(),
            downtime_min_per_month: 0.0,
            ..report()
        }
    }

    #[test]
    fn the_checker_names_each_broken_invariant() {
        let sound = mm1_report();
        assert_eq!(sound.invariant_violations(), Vec::<String>::new());
        let broken = |change: &dyn Fn(&mut Report), expected: &str| {
            let mut report = mm1_report();
            change(&mut report);
            let problems = report.invariant_violations();
            assert!(
                problems.iter().any(|problem| problem.contains(expected)),
                "{expected:?} not among {problems:?}"
            );
        };
        broken(&|r| r.dropped_rps = f64::NAN, "dropped_rps is NaN");
        broken(&|r| r.nodes[1].queue_len = -1.0, "node 2 queue_len is -1.0");
        broken(
            &|r| r.edges[0].rps = 4.0,
            "arrivals 5 ≠ 4 brought by its wires",
        );
        broken(&|r| r.served_rps = 6.0, "served 6 > offered 5");
        broken(
            &|r| r.nodes[1].in_system = 2.0,
            "Little's law: L = 2 but X·W = 1",
        );
        broken(&|r| r.nodes[1].utilization = 1.5, "utilization 1.5");
        broken(&|r| r.nodes[1].latency_ms.p95 = 1000.0, "node 2");
        broken(
            &|r| r.headroom = None,
            "bottleneck Some(2) with headroom None",
        );
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
