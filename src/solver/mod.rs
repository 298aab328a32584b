//! The solver: a pure function from a topology and parameters to a [`Report`].
//!
//! It runs in stages, one module each, and every stage reads the one before:
//!
//! 1. [`compile`]: the topology as flat, indexed arrays (classes, queues, routing shares).
//! 2. [`traffic`]: the traffic equations per request class (cache and CDN hits, read/write
//!    routing, shard skew, load-balancer weights, calls and retries), in topological order, or
//!    as a fixed point when the graph has cycles.
//! 3. [`variability`]: how bursty each queue's arrivals are (two moments carried with the
//!    flows, Whitt's QNA); the queues whose arrivals are not Poisson are solved again.
//! 4. [`stations`]: each node as one or more queues (M/M/c, M/M/c/K, Allen-Cunneen, fluid
//!    overload); [`pools`] moves waits for a database connection to whoever holds the pool.
//! 5. [`paths`]: end-to-end response time per class from the Laplace transform of the path mix
//!    ([`transforms`]), inverted numerically (never by adding per-hop percentiles).
//! 6. [`verdict`] (bottleneck, headroom, warnings) and [`cost`] (monthly cost per tier).
//!
//! With the `parallel` feature the per-node and per-class work runs on rayon; the results are
//! bit-for-bit the same as the serial build because every item is computed independently.
//! The passes that follow the graph (traffic, variability) go wave by wave on an acyclic
//! graph: a wave holds the nodes whose longest chain of feeders has the same length, so each
//! needs only earlier waves, and a wave of [`compile::WIDE_WAVE`] nodes or more runs on rayon.
//! Graphs with loops keep the ordered fixed point. The light per-node stages (compiling, the
//! report's rows) go parallel only from [`MANY_NODES`] nodes; the queues' and the classes'
//! figures, which can be dear on any graph, always do.

use crate::model::catalog::Catalog;
use crate::model::{Invalid, Pricing, Topology};
use crate::solver::report::{
    ClassReport, Latency, NodeAvailability, NodeReport, PathStep, Report, Status, TierCost,
};
use paths::ClassResult;
use stations::NodeResult;

pub mod availability;
mod compile;
mod cost;
pub mod delays;
pub mod finite_wait;
pub mod gigc_wait;
pub mod light_traffic;
mod lists;
pub mod network;
mod paths;
pub mod ph_limited;
mod pools;
pub mod queueing;
pub mod renewal_limited;
pub mod report;
pub mod service_wait;
mod stations;
mod traffic;
mod transforms;
pub mod variability;
pub mod vectors;
mod verdict;

pub use compile::{distance_km, region_rtt};
pub use pools::connection_demand;
pub use queueing::Precision;
pub use traffic::MAX_SOLVE_SECONDS;

/// What to solve for.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// Scales every workload (1 = as designed).
    pub load_multiplier: f64,
    /// Solve at each workload's peak rate (average × peak multiplier) rather than its average.
    pub at_peak: bool,
    /// Compute end-to-end percentiles by transform inversion (the mean is always exact).
    pub class_percentiles: bool,
    /// Use rayon for per-node and per-class work (only with the `parallel` feature).
    pub parallel: bool,
    /// How finely end-to-end percentiles are inverted (a chart's points need less than the
    /// report's figures).
    pub precision: Precision,
}

/// Nodes from which the light per-node stages (compiling, the traffic's linear view, the
/// report's rows, the variability passes) are spread over rayon: on smaller graphs waking the
/// threads costs more than the work (a 100-node solve took 0.33 ms instead of 0.21).
const MANY_NODES: usize = 2_000;

/// Whether a graph of `nodes` nodes is large enough for its light per-node stages to run on
/// rayon ([`MANY_NODES`]).
fn many_nodes(nodes: usize) -> bool {
    nodes >= MANY_NODES
}

impl Params {
    /// Whether the light per-node stages of a graph of `nodes` nodes run on rayon.
    fn parallel_for(&self, nodes: usize) -> bool {
        self.parallel && many_nodes(nodes)
    }
}

impl Default for Params {
    fn default() -> Self {
        Params {
            load_multiplier: 1.0,
            at_peak: true,
            class_percentiles: true,
            parallel: true,
            precision: Precision::Report,
        }
    }
}

/// Why a topology could not be solved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SolveError {
    #[error("invalid topology: {0}")]
    Invalid(#[from] Invalid),
    #[error("load multiplier must be a finite number from 0 to 1e6, found {0}")]
    BadLoad(f64),
    #[error(
        "the traffic equations do not converge: the loop through \"{node}\" sends back at least \
         as much traffic as it receives (retries, calls or routing cycles with no way out)"
    )]
    Diverged { node: String },
    #[error("the traffic equations did not settle after {passes} passes (last change {change:e})")]
    NotConverged { passes: usize, change: f64 },
    #[error(
        "this topology would take about {seconds:.1} s to solve ({nodes} nodes, {inverted} of \
         them with non-exponential waits or service, {visits} node visits by the end-to-end \
         percentiles); at most {MAX_SOLVE_SECONDS} s is spent on one solve: use fewer nodes, \
         or exponential service and no queue limit on most of them"
    )]
    TooMuchWork {
        seconds: f64,
        nodes: usize,
        inverted: usize,
        visits: usize,
    },
}

/// Solves `topology` at `params`.
pub fn solve(topology: &Topology, params: &Params) -> Result<Report, SolveError> {
    solve_with(topology, params, Catalog::builtin())
}

/// Solves with an explicit price catalog.
pub fn solve_with(
    topology: &Topology,
    params: &Params,
    catalog: &Catalog,
) -> Result<Report, SolveError> {
    Solver::with_catalog(topology, catalog)?.solve(params)
}

/// A topology compiled once and solved at many loads (a load sweep, a timeline): each solve
/// rescales the compiled classes instead of compiling the graph again.
pub struct Solver<'a> {
    topology: &'a Topology,
    catalog: &'a Catalog,
    compiled: compile::Compiled,
}

impl<'a> Solver<'a> {
    /// Checks and compiles `topology`, with the built-in price catalog.
    pub fn new(topology: &'a Topology) -> Result<Self, SolveError> {
        Self::with_catalog(topology, Catalog::builtin())
    }

    /// Checks and compiles `topology`, with `catalog` for costs.
    pub fn with_catalog(topology: &'a Topology, catalog: &'a Catalog) -> Result<Self, SolveError> {
        let index = topology.validated_index()?;
        Ok(Solver {
            topology,
            catalog,
            compiled: compile::compile_indexed(topology, &index, &Params::default()),
        })
    }

    /// The whole report at `params`.
    pub fn solve(&self, params: &Params) -> Result<Report, SolveError> {
        on_worker(params.parallel, || {
            let compiled = self.at_load(params)?;
            solve_compiled(self.topology, &compiled, params, self.catalog)
        })
    }

    /// Only what a load sweep plots: the rates and each class's end-to-end latency (the same
    /// figures as [`Solver::solve`], without node rows, paths, costs or availability).
    pub fn summary(&self, params: &Params) -> Result<Summary, SolveError> {
        let compiled = self.at_load(params)?;
        let Queues { class_results, .. } = solve_queues(self.topology, &compiled, params, false)?;
        let totals = paths::Totals::of(&compiled, &class_results);
        Ok(Summary {
            offered_rps: totals.offered,
            served_rps: totals.served,
            dropped_rps: totals.dropped,
            classes: compiled
                .classes
                .iter()
                .zip(&class_results)
                .map(|(class, result)| ClassLatency {
                    name: class_name(class),
                    latency_ms: result.latency.scaled(1000.0),
                })
                .collect(),
        })
    }

    /// The compiled classes at `params`' load, after checking it.
    fn at_load(&self, params: &Params) -> Result<compile::Compiled, SolveError> {
        if !(params.load_multiplier.is_finite() && (0.0..=1e6).contains(&params.load_multiplier)) {
            return Err(SolveError::BadLoad(params.load_multiplier));
        }
        Ok(self
            .compiled
            .at_load(params.load_multiplier, params.at_peak))
    }
}

/// A class's name in the report: workload/kind.
fn class_name(class: &compile::Class) -> String {
    format!("{}/{}", class.workload, class.kind.label())
}

/// What [`Solver::summary`] gives: the figures a load sweep plots.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub offered_rps: f64,
    pub served_rps: f64,
    pub dropped_rps: f64,
    pub classes: Vec<ClassLatency>,
}

/// One class's end-to-end latency in a [`Summary`], ms.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassLatency {
    pub name: String,
    pub latency_ms: Latency,
}

/// The queueing part of a solve, shared by the report and the summary: the flows and their
/// burstiness, every node's queues, and every class's end-to-end latency (with the nodes'
/// percentiles and each class's path breakdown when `for_report`; a sweep plots neither).
struct Queues {
    traffic: traffic::Traffic,
    node_results: Vec<NodeResult>,
    class_results: Vec<ClassResult>,
}

fn solve_queues(
    topology: &Topology,
    compiled: &compile::Compiled,
    params: &Params,
    for_report: bool,
) -> Result<Queues, SolveError> {
    let horizon = topology.settings.overload_horizon_s;
    let mut traffic = traffic::solve_traffic(topology, compiled, params)?;
    variability::apply_on(
        topology,
        compiled,
        &mut traffic.solved,
        (horizon, params.parallel_for(compiled.nodes.len())),
    );
    finite_wait::apply(topology, compiled, &mut traffic.solved, horizon);
    service_wait::apply(compiled, &mut traffic.solved);
    let node_results: Vec<NodeResult> = map_indices(compiled.nodes.len(), params.parallel, |v| {
        stations::node_result(compiled, v, &traffic, horizon, for_report)
    });
    let wanted = paths::Wanted {
        percentiles: params.class_percentiles,
        precision: params.precision,
        path: for_report,
    };
    let class_results: Vec<ClassResult> =
        map_indices(compiled.classes.len(), params.parallel, |k| {
            paths::class_result(compiled, &node_results, &traffic.solved, k, wanted)
        });
    Ok(Queues {
        traffic,
        node_results,
        class_results,
    })
}

/// The stages of one solve on an already compiled topology.
fn solve_compiled(
    topology: &Topology,
    compiled: &compile::Compiled,
    params: &Params,
    catalog: &Catalog,
) -> Result<Report, SolveError> {
    let horizon = topology.settings.overload_horizon_s;
    let light_parallel = params.parallel_for(compiled.nodes.len());
    let Queues {
        traffic,
        node_results,
        class_results,
    } = solve_queues(topology, compiled, params, true)?;
    let mut warnings = verdict::unrouted_classes(topology, compiled);
    let shown =
        pools::attribute_connection_waits(compiled, &traffic.solved, &node_results, horizon);
    let (nodes, tiers) = node_reports(
        topology,
        compiled,
        &traffic,
        &node_results,
        &shown,
        catalog,
        (&mut warnings, light_parallel),
    );
    let totals = paths::Totals::of(compiled, &class_results);
    let classes = map_indices(compiled.classes.len(), light_parallel, |k| {
        let (class, result) = (&compiled.classes[k], &class_results[k]);
        ClassReport {
            name: class_name(class),
            workload: class.workload.clone(),
            class: class.kind,
            offered_rps: figure(class.rate),
            served_rps: figure(class.rate * result.completion.min(1.0)),
            latency_ms: result.latency.scaled(1000.0),
            path: path_steps(topology, compiled, &result.path, k),
            availability: 1.0,
            downtime_min_per_month: 0.0,
            nines: None,
            downtime_by_part: Vec::new(),
            availability_exact: true,
        }
    });
    let verdict = verdict::Bottlenecks::find(topology, compiled, &node_results);
    let monthly_cost_usd = figure(tiers.iter().map(|t| t.monthly_cost_usd).sum::<f64>());
    let mut report = Report {
        load_multiplier: params.load_multiplier,
        at_peak: params.at_peak,
        offered_rps: totals.offered,
        served_rps: totals.served,
        dropped_rps: totals.dropped,
        backlog_rps: totals.backlog,
        monthly_cost_usd,
        bottleneck: verdict.bottleneck,
        headroom: verdict.headroom,
        async_bottleneck: verdict.async_bottleneck,
        async_headroom: verdict.async_headroom,
        classes,
        nodes,
        edges: traffic::edge_reports(topology, compiled, &traffic.solved, light_parallel),
        tiers,
        warnings,
        availability: 1.0,
        downtime_min_per_month: 0.0,
    };
    let class_paths: Vec<&[paths::Visit]> =
        class_results.iter().map(|r| r.path.as_slice()).collect();
    availability::assess(
        topology,
        catalog,
        &mut report,
        &class_paths,
        params.parallel,
    );
    Ok(report.without_negative_zeros())
}

/// A class's path as the report shows it: each node it visits (ids, times in ms), and the
/// nodes it calls, routes to and would fail over to.
fn path_steps(
    topology: &Topology,
    compiled: &compile::Compiled,
    path: &[paths::Visit],
    k: usize,
) -> Vec<PathStep> {
    // Pushed one by one: a collect into the inline list would not be inlined.
    let ids = |nodes: &[usize]| {
        let mut ids = report::StepTargets::with_capacity(nodes.len());
        for &v in nodes {
            ids.push(topology.nodes[v].id);
        }
        ids
    };
    let id = |v: &usize| topology.nodes[*v].id;
    path.iter()
        .map(|visit| PathStep {
            id: topology.nodes[visit.node].id,
            visits: figure(visit.visits),
            mean_ms: figure(visit.mean * 1000.0),
            share_ms: figure(visit.visits * visit.mean * 1000.0),
            base_ms: figure(compiled.nodes[visit.node].base * 1000.0),
            service_ms: figure(
                compiled.nodes[visit.node]
                    .service
                    .as_ref()
                    .map_or(0.0, |service| service[k] * 1000.0),
            ),
            round_trip_ms: figure(visit.visits * visit.round_trip * 1000.0),
            calls: ids(&visit.calls),
            routes: ids(&visit.routes),
            standby: visit.standby.iter().map(id).collect(),
            answers: visit.answers,
        })
        .collect()
}

/// The per-node rows of the report and the cost per tier, with the warnings each node raises
/// (overload, unknown instance type, connection demand, spot without a type).
fn node_reports(
    topology: &Topology,
    compiled: &compile::Compiled,
    traffic: &traffic::Traffic,
    results: &[NodeResult],
    shown: &[pools::Shown],
    catalog: &Catalog,
    (warnings, parallel): (&mut Vec<String>, bool),
) -> (Vec<NodeReport>, Vec<TierCost>) {
    let prices = cost::Prices::of(catalog);
    // Each node's cost and warnings first, then its row written straight into the list of
    // rows: a row is large, and carrying it in a tuple and then into a second list copied it
    // twice more.
    let costs = map_indices(topology.nodes.len(), parallel, |v| {
        let mut said = Vec::new();
        let node = &topology.nodes[v];
        let result = &results[v];
        let cost = cost::node_monthly_cost(
            node,
            compiled,
            &traffic.average,
            v,
            result,
            &prices,
            &mut said,
        );
        node_warnings(topology, compiled, v, result, &mut said);
        (cost, said)
    });
    let reports = map_indices(topology.nodes.len(), parallel, |v| {
        node_report(&topology.nodes[v], &results[v], &shown[v], costs[v].0)
    });
    let mut tiers = cost::Tiers::default();
    for (report, (cost, said)) in reports.iter().zip(costs) {
        tiers.add(&report.tier, cost);
        warnings.extend(said);
    }
    (reports, tiers.into_costs())
}

/// What node `v`'s row warns of: overload, a queue that would not settle within the horizon,
/// more connections than its callers' pools allow, spot pricing without an instance type.
fn node_warnings(
    topology: &Topology,
    compiled: &compile::Compiled,
    v: usize,
    result: &NodeResult,
    warnings: &mut Vec<String>,
) {
    let horizon = topology.settings.overload_horizon_s;
    let node = &topology.nodes[v];
    if result.status == Status::Overloaded {
        warnings.push(format!(
            "node {} \"{}\" is overloaded: its backlog grows by {:.1} req/s; latencies shown are after {} s",
            node.id, node.name, result.backlog, horizon
        ));
    }
    if result.unsettled {
        warnings.push(format!(
            "node {} \"{}\" is so close to saturation that its queue would take longer than \
             the {} s horizon to settle; the wait shown is the one that builds within it",
            node.id, node.name, horizon
        ));
    }
    let feeders = compiled.feeders[v].iter().map(|&u| &topology.nodes[u]);
    if let Some(demand) = pools::connection_demand_from(node, feeders) {
        warnings.push(demand);
    }
    if node.pricing == Pricing::Spot && node.instance_type.is_empty() {
        warnings.push(format!(
            "node {} \"{}\" is marked spot but has no instance type",
            node.id, node.name
        ));
    }
}

/// One node's row of the report.
fn node_report(
    node: &crate::model::Node,
    result: &NodeResult,
    shown: &pools::Shown,
    cost: f64,
) -> NodeReport {
    // A node passes on at most what arrives; what it does not serve or hold is dropped
    // (summing the pools' shares can round a hair past the arrivals).
    let arrival = figure(result.arrival);
    let throughput = figure(result.throughput.min(arrival));
    let backlog_growth = figure(result.backlog.min(arrival - throughput));
    let dropped = if result.dropped > 0.0 {
        figure(arrival - throughput - backlog_growth)
    } else {
        0.0
    };
    NodeReport {
        id: node.id,
        name: node.name.clone(),
        kind: node.kind.label(),
        tier: node.tier_owned(),
        instances: node.instances,
        servers: result.servers,
        arrival_rps: arrival,
        throughput_rps: throughput,
        dropped_rps: dropped,
        backlog_growth_rps: backlog_growth,
        utilization: figure(result.utilization.min(1.0)),
        offered_utilization: figure(result.offered_utilization),
        queue_len: figure(result.queue_len + shown.queue_delta),
        in_system: figure(result.in_system + shown.queue_delta),
        connection_wait_ms: figure(shown.connection_wait * 1000.0),
        latency_ms: shown.latency.unwrap_or(result.latency).scaled(1000.0),
        monthly_cost_usd: figure(cost),
        status: result.status,
        queue: result.queue.clone(),
        availability: NodeAvailability::default(),
    }
}

/// A figure for the report: a negative value or −0 left by rounding becomes +0 (NaN is kept,
/// so that the invariant checks see it).
fn figure(value: f64) -> f64 {
    if value > 0.0 || value.is_nan() {
        value
    } else {
        0.0
    }
}

/// `(a(), b())`, on two rayon tasks when `parallel` is set and the feature is on.
fn join<A: Send, B: Send>(
    parallel: bool,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    #[cfg(feature = "parallel")]
    if parallel {
        return rayon::join(a, b);
    }
    let _ = parallel;
    (a(), b())
}

/// `work()` on a rayon worker thread when `parallel` is set and the feature is on, so that the
/// solve's many parallel steps (one per wave of nodes) hand their tasks to the pool's own queues
/// instead of each waking a worker from outside and blocking until it is done.
fn on_worker<T: Send>(parallel: bool, work: impl FnOnce() -> T + Send) -> T {
    #[cfg(feature = "parallel")]
    if parallel {
        return rayon::scope(|_| work());
    }
    let _ = parallel;
    work()
}

/// Calls `f(index, item)` on every item of `items` in place, on rayon with `parallel` (the
/// items are independent).
fn update_each<T: Send>(items: &mut [T], parallel: bool, f: impl Fn(usize, &mut T) + Sync + Send) {
    #[cfg(feature = "parallel")]
    if parallel {
        use rayon::prelude::*;
        items
            .par_iter_mut()
            .enumerate()
            .for_each(|(index, item)| f(index, item));
        return;
    }
    let _ = parallel;
    for (index, item) in items.iter_mut().enumerate() {
        f(index, item);
    }
}

/// `f(0..n)` collected in order; on rayon when `parallel` is set and the feature is on.
fn map_indices<T: Send>(n: usize, parallel: bool, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    #[cfg(feature = "parallel")]
    if parallel {
        use rayon::prelude::*;
        return (0..n).into_par_iter().map(f).collect();
    }
    let _ = parallel;
    (0..n).map(f).collect()
}

impl Latency {
    /// A latency with no spread: every percentile is the mean (a sweep's point, a constant
    /// delay, a path that never waits).
    pub(super) fn constant(mean: f64) -> Latency {
        Latency {
            mean,
            p50: mean,
            p95: mean,
            p99: mean,
        }
    }

    /// In other units (seconds to milliseconds), each figure at least +0.
    fn scaled(self, factor: f64) -> Latency {
        Latency {
            mean: figure(self.mean * factor),
            p50: figure(self.p50 * factor),
            p95: figure(self.p95 * factor),
            p99: figure(self.p99 * factor),
        }
    }
}
