//! The solver: a pure function from a topology and parameters to a [`Report`].
//!
//! 1. Traffic equations per request class (cache and CDN hits, read/write routing, shard skew,
//!    load-balancer weights, calls and retries), solved in topological order, or as a fixed point
//!    when the graph has cycles.
//! 2. Each node as one or more queues (M/M/c, M/M/c/K, Allen-Cunneen, fluid overload).
//! 3. End-to-end response time per class from the Laplace transform of the path mix, inverted
//!    numerically (never by adding per-hop percentiles).
//! 4. Bottleneck, headroom and monthly cost.
//!
//! With the `parallel` feature the per-node and per-class work runs on rayon; the results are
//! bit-for-bit the same as the serial build because every item is computed independently.

use crate::catalog::Catalog;
use crate::model::{ClassKind, EdgeKind, Invalid, LbPolicy, NodeKind, Pricing, Topology};
use crate::queueing::{
    mmc_response_tail, percentiles_with_atoms, quantile, solve_pool, split_at_connections,
    PoolInput, PoolSolution, ServiceShape, WaitDist,
};
use crate::report::{
    Bottleneck, ClassReport, Latency, NodeAvailability, NodeReport, PathStep, QueueModel, Report,
    Status, TierCost,
};
use num_complex::Complex64;
use std::collections::{BTreeMap, HashMap};

pub mod network;

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
}

impl Default for Params {
    fn default() -> Self {
        Params {
            load_multiplier: 1.0,
            at_peak: true,
            class_percentiles: true,
            parallel: true,
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

/// Classes of one topology: one per workload and request kind with a non-zero share.
#[derive(Clone, Debug)]
struct Class {
    workload: String,
    kind: ClassKind,
    client: usize,
    region: String,
    /// Requests per second entering at the client at the solved load.
    rate: f64,
    /// Requests per second at the workload's average (for usage fees).
    average_rate: f64,
    /// Size of one response, KB (for per-GB transfer fees).
    payload_kb: f64,
}

/// A set of identical queues inside a node.
#[derive(Clone, Copy, Debug)]
struct PoolGroup {
    /// How many queues.
    count: u64,
    /// Fraction of the node's arrivals that goes to each of them.
    share: f64,
    /// Servers in each.
    servers: u64,
}

/// Where a flow into a node comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Source {
    Served,
    Dropped,
}

/// A flow into a node: the `edge`-th out edge of node `from`.
#[derive(Clone, Copy, Debug)]
struct InFlow {
    from: usize,
    edge: usize,
}

#[derive(Clone, Debug)]
struct OutEdge {
    to: usize,
    /// Served traffic (route and call edges) or dropped traffic (retry edges).
    source: Source,
    /// Per class: share of served traffic routed (Route), calls per served request (Call), or
    /// fraction of drops sent again (Retry).
    factors: Vec<f64>,
    is_call: bool,
    count: u32,
    rtt: f64,
    /// Per class, when the round trip depends on who sends the request: out of a DNS node
    /// with no region, the hop goes from the users (the class's client) to the server the
    /// name resolves to, not from the DNS node.
    class_rtt: Option<Vec<f64>>,
}

impl OutEdge {
    /// Round trip of this hop for class `k`, seconds.
    fn rtt(&self, k: usize) -> f64 {
        self.class_rtt
            .as_ref()
            .map_or(self.rtt, |per_class| per_class[k])
    }

    /// Requests of class `k` this edge carries per request served at its source, for the
    /// response-time recursion (retries carry drops, not served requests, and count for none).
    fn served_factor(&self, k: usize) -> f64 {
        match self.source {
            Source::Served => self.factors[k],
            Source::Dropped => 0.0,
        }
    }
}

/// Static, load-independent facts about a node.
#[derive(Clone, Debug)]
struct CompiledNode {
    /// Per-class mean service time, seconds (`None`: the node does not queue).
    service: Option<Vec<f64>>,
    shape: ServiceShape,
    buffer: Option<u64>,
    groups: Vec<PoolGroup>,
    base: f64,
    /// Per class: fraction of served requests that finish here.
    finish: Vec<f64>,
    /// A queue acknowledges at once: downstream work does not add to the caller's latency.
    detaches: bool,
    /// Under a connection limit: how many requests beyond the servers may hold a connection
    /// and wait inside each queue (the others wait for a connection).
    connection_slots: Option<u64>,
    /// The nodes whose pools hold the connections (poolers, else app servers and workers).
    pool_holders: Vec<usize>,
    /// A cache (for finding who holds the connections behind it).
    is_cache: bool,
    /// Per class: out-edge positions of route targets that take the class only when the
    /// preferred ones fail (a geo DNS fails over to the other regions). For availability.
    standby: Vec<Vec<usize>>,
}

struct Compiled {
    classes: Vec<Class>,
    /// Per node: the nodes wired to it by routes and calls (one entry per wire).
    feeders: Vec<Vec<usize>>,
    nodes: Vec<CompiledNode>,
    in_flows: Vec<Vec<InFlow>>,
    out_edges: Vec<Vec<OutEdge>>,
    order: Vec<usize>,
    acyclic: bool,
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
    topology.validate()?;
    if !(params.load_multiplier.is_finite() && (0.0..=1e6).contains(&params.load_multiplier)) {
        return Err(SolveError::BadLoad(params.load_multiplier));
    }
    let compiled = compile(topology, params);
    let class_count = compiled.classes.len();
    let node_count = topology.nodes.len();
    let horizon = topology.settings.overload_horizon_s;

    let external = |average: bool| {
        let mut rates = vec![0.0; node_count * class_count];
        for (k, class) in compiled.classes.iter().enumerate() {
            rates[class.client * class_count + k] += if average {
                class.average_rate
            } else {
                class.rate
            };
        }
        rates
    };
    check_loops(topology, &compiled, horizon)?;
    let flows = propagate(topology, &compiled, &external(false), horizon, true)?;
    check_work(&compiled, &flows, params)?;
    let linear = propagate(topology, &compiled, &external(false), horizon, false)?;
    let average = propagate(topology, &compiled, &external(true), horizon, false)?;

    let mut warnings = Vec::new();
    for (k, class) in compiled.classes.iter().enumerate() {
        let client = &compiled.nodes[class.client];
        let leaves = compiled.out_edges[class.client]
            .iter()
            .any(|edge| edge.served_factor(k) > 0.0);
        if client.finish[k] == 0.0 && !leaves && class.rate > 0.0 {
            warnings.push(format!(
                "workload \"{}\": {} requests have no route from client \"{}\"; they all fail",
                class.workload,
                class.kind.label(),
                topology.nodes[class.client].name
            ));
        }
    }

    // Per-node figures.
    let node_results: Vec<NodeResult> = map_indices(node_count, params.parallel, |v| {
        node_result(
            &compiled,
            v,
            &flows,
            &linear,
            &average,
            horizon,
            class_count,
        )
    });

    let shown = attribute_connection_waits(&compiled, &flows, &node_results, horizon);

    let mut node_reports = Vec::with_capacity(node_count);
    let mut tiers: BTreeMap<String, f64> = BTreeMap::new();
    for (v, node) in topology.nodes.iter().enumerate() {
        let result = &node_results[v];
        let hourly = if node.instance_type.is_empty() {
            0.0
        } else if let Some(price) = catalog.hourly(&node.instance_type, node.pricing) {
            price
        } else {
            warnings.push(format!(
                "node {} \"{}\": instance type \"{}\" is not in the price catalog; its instances are counted at $0",
                node.id, node.name, node.instance_type
            ));
            0.0
        };
        let seconds_per_month = catalog.hours_per_month * 3600.0;
        let cost = hourly * catalog.hours_per_month * node.billed_instances()
            + node.monthly_fee_usd
            + node.usd_per_million_requests * result.average_throughput * seconds_per_month / 1e6
            + node.usd_per_gb * average_gb_per_second(&compiled, &average, v) * seconds_per_month
            + node.storage_gb * catalog.storage_per_gb_month(node.storage_tier);
        *tiers.entry(node.tier().to_string()).or_default() += cost;
        if result.status == Status::Overloaded {
            warnings.push(format!(
                "node {} \"{}\" is overloaded: its backlog grows by {:.1} req/s; latencies shown are after {} s",
                node.id, node.name, result.backlog, horizon
            ));
        }
        let feeders = compiled.feeders[v].iter().map(|&u| &topology.nodes[u]);
        if let Some(demand) = connection_demand_from(node, feeders) {
            warnings.push(demand);
        }
        if node.pricing == Pricing::Spot && node.instance_type.is_empty() {
            warnings.push(format!(
                "node {} \"{}\" is marked spot but has no instance type",
                node.id, node.name
            ));
        }
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
        node_reports.push(NodeReport {
            id: node.id,
            name: node.name.clone(),
            kind: node.kind.label().to_string(),
            tier: node.tier().to_string(),
            instances: node.instances,
            servers: result.servers,
            arrival_rps: arrival,
            throughput_rps: throughput,
            dropped_rps: dropped,
            backlog_growth_rps: backlog_growth,
            utilization: figure(result.utilization.min(1.0)),
            offered_utilization: figure(result.offered_utilization),
            queue_len: figure(result.queue_len + shown[v].queue_delta),
            in_system: figure(result.in_system + shown[v].queue_delta),
            connection_wait_ms: figure(shown[v].connection_wait * 1000.0),
            latency_ms: shown[v].latency.unwrap_or(result.latency).scaled(1000.0),
            monthly_cost_usd: figure(cost),
            status: result.status,
            queue: result.queue.clone(),
            availability: NodeAvailability::default(),
        });
    }

    // End to end, per class.
    let class_results: Vec<ClassResult> = map_indices(class_count, params.parallel, |k| {
        class_result(
            &compiled,
            &node_results,
            &flows,
            k,
            params.class_percentiles,
        )
    });
    let classes: Vec<ClassReport> = compiled
        .classes
        .iter()
        .zip(&class_results)
        .enumerate()
        .map(|(k, (class, result))| ClassReport {
            name: format!("{}/{}", class.workload, class.kind.label()),
            workload: class.workload.clone(),
            class: class.kind,
            offered_rps: figure(class.rate),
            served_rps: figure(class.rate * result.completion.min(1.0)),
            latency_ms: result.latency.scaled(1000.0),
            path: result
                .path
                .iter()
                .map(|visit| {
                    let id = |v: &usize| topology.nodes[*v].id;
                    PathStep {
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
                        calls: visit.calls.iter().map(id).collect(),
                        routes: visit.routes.iter().map(id).collect(),
                        standby: visit.standby.iter().map(id).collect(),
                        answers: visit.answers,
                    }
                })
                .collect(),
            availability: 1.0,
            downtime_min_per_month: 0.0,
            nines: None,
            downtime_by_part: Vec::new(),
            availability_exact: true,
        })
        .collect();
    // Sums start from +0 (an empty float sum is −0) and every total is clamped at zero.
    let offered = figure(compiled.classes.iter().map(|c| c.rate).sum::<f64>());
    let served = figure(
        classes
            .iter()
            .map(|c| c.served_rps)
            .sum::<f64>()
            .min(offered),
    );
    let dropped = figure(
        compiled
            .classes
            .iter()
            .zip(&class_results)
            .map(|(c, r)| c.rate * (1.0 - r.completion_without_backlog.min(1.0)))
            .sum::<f64>()
            .min(offered - served),
    );
    let backlog = figure(offered - served - dropped);

    // Bottleneck: the highest offered utilization under linear scaling of the load, among the
    // nodes on a synchronous path (a client waits for them). Nodes reached only behind a queue
    // turn an overload into backlog, not latency: they are named separately.
    let synchronous = synchronous_nodes(&compiled);
    let pick = |sync: bool| -> Option<(usize, f64)> {
        let mut best: Option<(usize, f64)> = None;
        for (v, result) in node_results.iter().enumerate() {
            // A load so small that 1/saturation overflows names no bottleneck: its headroom
            // would be infinite.
            if synchronous[v] == sync
                && result.saturation > best.map_or(0.0, |(_, u)| u)
                && (1.0 / result.saturation).is_finite()
            {
                best = Some((v, result.saturation));
            }
        }
        best
    };
    let describe = |(v, utilization): (usize, f64)| {
        let node = &topology.nodes[v];
        let result = &node_results[v];
        Bottleneck {
            id: node.id,
            name: node.name.clone(),
            utilization,
            reason: format!(
                "its busiest queue is offered {:.1}% of its capacity ({:.1} of {:.1} req/s per queue{})",
                utilization * 100.0,
                result.busiest_arrival,
                result.busiest_capacity,
                if result.retried {
                    ", retries of dropped requests included"
                } else {
                    ""
                }
            ),
        }
    };
    let sync_pick = pick(true);
    let async_pick = pick(false);
    let headroom = sync_pick.map(|(_, utilization)| 1.0 / utilization);
    let async_headroom = async_pick.map(|(_, utilization)| 1.0 / utilization);
    let bottleneck = sync_pick.map(describe);
    let async_bottleneck = async_pick.map(describe);
    let tiers = tiers
        .into_iter()
        .filter(|(_, cost)| *cost > 0.0)
        .map(|(tier, monthly_cost_usd)| TierCost {
            tier,
            monthly_cost_usd,
        })
        .collect::<Vec<_>>();
    let monthly_cost_usd = figure(tiers.iter().map(|t| t.monthly_cost_usd).sum::<f64>());
    let mut report = Report {
        load_multiplier: params.load_multiplier,
        at_peak: params.at_peak,
        offered_rps: offered,
        served_rps: served,
        dropped_rps: dropped,
        backlog_rps: backlog,
        monthly_cost_usd,
        bottleneck,
        headroom,
        async_bottleneck,
        async_headroom,
        classes,
        nodes: node_reports,
        tiers,
        warnings,
        availability: 1.0,
        downtime_min_per_month: 0.0,
    };
    crate::availability::assess(topology, catalog, &mut report);
    Ok(report.without_negative_zeros())
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

/// When the app servers and workers wired straight to a database could hold more connections
/// (instances × concurrency each) than its `max_connections` allows, the warning that says so
/// (article 004: 20 servers × 25 threads = 500 against 400). At most `max_connections` per
/// instance hold a connection; the excess waits for one in the app servers' own pools.
/// A connection pooler in front bounds the demand by its pool size instead.
pub fn connection_demand(topology: &Topology, database: &crate::model::Node) -> Option<String> {
    let feeders = topology
        .edges
        .iter()
        .filter(|e| e.to == database.id && !matches!(e.kind, EdgeKind::Retry(_)))
        .filter_map(|e| topology.node(e.from));
    connection_demand_from(database, feeders)
}

/// [`connection_demand`] from the nodes wired to `database` by routes and calls (repeats
/// allowed), found by the caller.
fn connection_demand_from<'a>(
    database: &crate::model::Node,
    feeders: impl Iterator<Item = &'a crate::model::Node>,
) -> Option<String> {
    let NodeKind::Database {
        max_connections, ..
    } = database.kind
    else {
        return None;
    };
    let mut wanted: u64 = 0;
    let mut parts = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for source in feeders {
        if !seen.insert(source.id) {
            continue;
        }
        let connections = match source.kind {
            NodeKind::AppServer | NodeKind::Workers | NodeKind::Service => {
                u64::from(source.instances) * u64::from(source.concurrency)
            }
            NodeKind::ConnectionPooler { pool_size } => {
                u64::from(source.instances) * u64::from(pool_size)
            }
            _ => continue,
        };
        wanted += connections;
        parts.push(format!(
            "{} ({} × {})",
            source.name,
            source.instances,
            connections / u64::from(source.instances.max(1))
        ));
    }
    let allowed = u64::from(max_connections) * u64::from(database.instances);
    (wanted > allowed).then(|| {
        format!(
            "node {} \"{}\": {} can open {wanted} connections but max_connections allows {allowed}; \
             {} requests wait for a connection at peak concurrency (a connection pooler in front \
             bounds this)",
            database.id,
            database.name,
            parts.join(" + "),
            wanted - allowed
        )
    })
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

/// Route preference of a target kind for a class: lower is preferred.
fn route_rank(class: ClassKind, target: &NodeKind) -> u8 {
    let caching = matches!(target, NodeKind::Cache { .. } | NodeKind::Cdn { .. });
    match class {
        ClassKind::Read if caching => 0,
        ClassKind::Read if *target == NodeKind::ReadReplica => 1,
        ClassKind::Read => 2,
        ClassKind::Write
            if matches!(
                target,
                NodeKind::Database { .. } | NodeKind::ShardGroup { .. }
            ) =>
        {
            0
        }
        ClassKind::Async if *target == NodeKind::Queue => 0,
        _ if caching => 2,
        _ => 1,
    }
}

/// Whether an edge carries `class` by default, from its target's kind.
fn carries_by_default(class: ClassKind, target: &NodeKind) -> bool {
    match target {
        NodeKind::ReadReplica => class == ClassKind::Read,
        NodeKind::Queue => class == ClassKind::Async,
        _ => true,
    }
}

/// Great-circle distance in km (haversine, mean Earth radius 6,371 km).
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let d_phi = (lat2 - lat1).to_radians();
    let d_lambda = (lon2 - lon1).to_radians();
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * 6_371.0 * a.sqrt().min(1.0).asin()
}

/// Round-trip time between two regions in seconds: a measured override, or
/// 2 × distance × route factor ÷ fiber speed (about 200 km per ms, article 004).
pub fn region_rtt(topology: &Topology, a: &str, b: &str) -> f64 {
    let settings = &topology.settings;
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return settings.same_region_rtt_ms / 1000.0;
    }
    if let Some(link) = settings
        .region_rtt_ms
        .iter()
        .find(|l| (l.a == a && l.b == b) || (l.a == b && l.b == a))
    {
        return link.rtt_ms / 1000.0;
    }
    let find = |name: &str| topology.regions.iter().find(|r| r.name == name);
    let (Some(ra), Some(rb)) = (find(a), find(b)) else {
        return 0.0;
    };
    let km = distance_km(ra.lat, ra.lon, rb.lat, rb.lon) * settings.route_factor;
    2.0 * km / settings.fiber_km_per_ms / 1000.0
}

fn compile(topology: &Topology, params: &Params) -> Compiled {
    let node_count = topology.nodes.len();
    let index: HashMap<u32, usize> = topology
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id, i))
        .collect();
    let scale = params.load_multiplier;
    let mut classes = Vec::new();
    for workload in &topology.workloads {
        let Some(&client) = index.get(&workload.client) else {
            continue;
        };
        let average = workload.rate.per_second();
        let solved = average
            * scale
            * if params.at_peak {
                workload.peak_multiplier
            } else {
                1.0
            };
        let region = if workload.region.is_empty() {
            topology.nodes[client].region.clone()
        } else {
            workload.region.clone()
        };
        for (kind, fraction) in [
            (ClassKind::Read, workload.read),
            (ClassKind::Write, workload.write),
            (ClassKind::Async, workload.background),
        ] {
            if fraction > 0.0 {
                classes.push(Class {
                    workload: workload.name.clone(),
                    kind,
                    client,
                    region: region.clone(),
                    rate: solved * fraction,
                    average_rate: average * fraction,
                    payload_kb: workload.payload_kb,
                });
            }
        }
    }
    let class_count = classes.len();

    // Incoming edges by kind of source, for pooling and connection caps.
    let mut route_in: Vec<Vec<usize>> = vec![Vec::new(); node_count];
    let mut out_by_node: Vec<Vec<usize>> = vec![Vec::new(); node_count];
    for (e, edge) in topology.edges.iter().enumerate() {
        let (from, to) = (index[&edge.from], index[&edge.to]);
        out_by_node[from].push(e);
        if !matches!(edge.kind, EdgeKind::Retry(_)) {
            route_in[to].push(from);
        }
    }

    let mut nodes = Vec::with_capacity(node_count);
    for (v, node) in topology.nodes.iter().enumerate() {
        let feeders: Vec<&NodeKind> = route_in[v]
            .iter()
            .map(|&u| &topology.nodes[u].kind)
            .collect();
        let pooled = node.kind == NodeKind::Service
            || (!feeders.is_empty()
                && feeders.iter().all(|k| {
                    **k == NodeKind::LoadBalancer {
                        policy: LbPolicy::LeastConnections,
                    }
                }));
        let per_instance = u64::from(node.concurrency);
        let instances = u64::from(node.instances);
        let mut groups = match node.kind {
            NodeKind::ShardGroup {
                shards,
                hot_shard_skew,
            } => {
                let shards = u64::from(shards);
                let servers = instances * per_instance;
                if shards == 1 {
                    vec![PoolGroup {
                        count: 1,
                        share: 1.0,
                        servers,
                    }]
                } else {
                    let hot = hot_shard_skew / shards as f64;
                    let cold = (1.0 - hot) / (shards - 1) as f64;
                    vec![
                        PoolGroup {
                            count: 1,
                            share: hot,
                            servers,
                        },
                        PoolGroup {
                            count: shards - 1,
                            share: cold,
                            servers,
                        },
                    ]
                }
            }
            _ if pooled => vec![PoolGroup {
                count: 1,
                share: 1.0,
                servers: instances * per_instance,
            }],
            _ => vec![PoolGroup {
                count: instances,
                share: 1.0 / instances as f64,
                servers: per_instance,
            }],
        };
        // Connections: a pooler in front holds its pool (pool size × instances) and a database
        // accepts `max_connections` per instance. A request holds a connection while it waits
        // inside and while it runs, so the tighter limit caps the queries that run at once
        // and, beyond the servers, how many may wait inside; the rest wait for a connection at
        // whoever holds the pool: the pooler, or else the app servers' own pools.
        let mut feeders_once = route_in[v].clone();
        feeders_once.sort_unstable();
        feeders_once.dedup();
        let poolers: Vec<usize> = feeders_once
            .iter()
            .copied()
            .filter(|&u| matches!(topology.nodes[u].kind, NodeKind::ConnectionPooler { .. }))
            .collect();
        let pooled_connections: u64 = poolers
            .iter()
            .map(|&u| match topology.nodes[u].kind {
                NodeKind::ConnectionPooler { pool_size } => {
                    u64::from(pool_size) * u64::from(topology.nodes[u].instances)
                }
                _ => 0,
            })
            .sum();
        let database_connections = match node.kind {
            NodeKind::Database {
                max_connections, ..
            } => Some(u64::from(max_connections) * instances),
            _ => None,
        };
        let connection_limit = match (poolers.is_empty(), database_connections) {
            (false, Some(allowed)) => Some(pooled_connections.min(allowed)),
            (false, None) => Some(pooled_connections),
            (true, allowed) => allowed,
        };
        let mut connection_slots = None;
        let mut pool_holders = Vec::new();
        if let Some(limit) = connection_limit {
            let queues: u64 = groups.iter().map(|g| g.count).sum();
            let per_queue = (limit / queues.max(1)).max(1);
            for group in &mut groups {
                group.servers = group.servers.min(per_queue);
            }
            let servers = groups.iter().map(|g| g.servers).max().unwrap_or(1);
            connection_slots = Some(per_queue - servers.min(per_queue));
            pool_holders = if poolers.is_empty() {
                // App servers wired to the database, and those behind a cache in front of it
                // (cache-aside: the app sends the miss query over its own connection).
                let holds = |u: usize| {
                    matches!(
                        topology.nodes[u].kind,
                        NodeKind::AppServer | NodeKind::Workers | NodeKind::Service
                    )
                };
                let mut holders: Vec<usize> = feeders_once
                    .iter()
                    .flat_map(|&u| match topology.nodes[u].kind {
                        NodeKind::Cache { .. } => route_in[u].clone(),
                        _ => vec![u],
                    })
                    .filter(|&u| u != v && holds(u))
                    .collect();
                holders.sort_unstable();
                holders.dedup();
                holders
            } else {
                poolers
            };
        }
        // A client is where requests start: it never queues, whatever a file says of its
        // capacity (a client written without `capacity_rps` would get the default 100 req/s).
        let capacity = node.capacity_rps.filter(|_| node.kind != NodeKind::Client);
        let service = capacity.map(|capacity| {
            classes
                .iter()
                .map(|class| {
                    let per_instance_rate = match node.kind {
                        NodeKind::Database {
                            read_capacity_rps,
                            write_capacity_rps,
                            ..
                        } => {
                            if class.kind == ClassKind::Read {
                                read_capacity_rps
                            } else {
                                write_capacity_rps
                            }
                        }
                        _ => capacity,
                    };
                    f64::from(node.concurrency) / per_instance_rate
                })
                .collect::<Vec<f64>>()
        });
        nodes.push(CompiledNode {
            service,
            shape: ServiceShape::from_cv(node.service_cv),
            buffer: node.queue_limit.map(u64::from),
            groups,
            base: node.base_latency_ms / 1000.0,
            finish: vec![1.0; class_count],
            detaches: node.kind == NodeKind::Queue,
            connection_slots,
            pool_holders,
            is_cache: matches!(node.kind, NodeKind::Cache { .. }),
            standby: vec![Vec::new(); class_count],
        });
    }

    // Routing per class.
    let edge_ends: Vec<(usize, usize)> = topology
        .edges
        .iter()
        .map(|edge| (index[&edge.from], index[&edge.to]))
        .collect();
    let mut in_flows: Vec<Vec<InFlow>> = vec![Vec::new(); node_count];
    let mut out_edges: Vec<Vec<OutEdge>> = vec![Vec::new(); node_count];
    let mut eligible: Vec<usize> = Vec::new();
    for v in 0..node_count {
        let node = &topology.nodes[v];
        let hit_ratio = match node.kind {
            NodeKind::Cache { hit_ratio } | NodeKind::Cdn { hit_ratio } => hit_ratio,
            _ => 0.0,
        };
        let use_weights = !matches!(
            node.kind,
            NodeKind::LoadBalancer {
                policy: LbPolicy::RoundRobin | LbPolicy::LeastConnections | LbPolicy::IpHash
            }
        );
        // One out edge per wire, in the order of `out_by_node[v]`.
        let mut outs: Vec<OutEdge> = out_by_node[v]
            .iter()
            .map(|&e| {
                let edge = &topology.edges[e];
                let to = edge_ends[e].1;
                let rtt = region_rtt(topology, &node.region, &topology.nodes[to].region);
                let class_rtt = (matches!(node.kind, NodeKind::Dns { .. })
                    && node.region.is_empty())
                .then(|| {
                    classes
                        .iter()
                        .map(|class| {
                            let users = &topology.nodes[class.client].region;
                            region_rtt(topology, users, &topology.nodes[to].region)
                        })
                        .collect()
                });
                let (source, is_call, count, factors) = match edge.kind {
                    EdgeKind::Route => (Source::Served, false, 1, vec![0.0; class_count]),
                    EdgeKind::Call(count) => {
                        let factors = classes
                            .iter()
                            .map(|class| {
                                if edge.classes.is_empty() || edge.classes.contains(&class.kind) {
                                    f64::from(count)
                                } else {
                                    0.0
                                }
                            })
                            .collect();
                        (Source::Served, true, count, factors)
                    }
                    EdgeKind::Retry(fraction) => {
                        (Source::Dropped, false, 0, vec![fraction; class_count])
                    }
                };
                OutEdge {
                    to,
                    source,
                    factors,
                    is_call,
                    count,
                    rtt,
                    class_rtt,
                }
            })
            .collect();
        for (k, class) in classes.iter().enumerate() {
            let target_kind = |position: usize| &topology.nodes[outs[position].to].kind;
            eligible.clear();
            eligible.extend((0..outs.len()).filter(|&position| {
                let edge = &topology.edges[out_by_node[v][position]];
                edge.kind == EdgeKind::Route
                    && if edge.classes.is_empty() {
                        carries_by_default(class.kind, target_kind(position))
                    } else {
                        edge.classes.contains(&class.kind)
                    }
            }));
            let before_geo = eligible.clone();
            if let NodeKind::Dns { geo: true } = node.kind {
                let is_local =
                    |position: &usize| topology.nodes[outs[*position].to].region == class.region;
                if eligible.iter().any(is_local) {
                    eligible.retain(is_local);
                } else {
                    // No target in the workload's region: the ones nearest to the users.
                    let users = &topology.nodes[class.client].region;
                    let distance = |position: &usize| {
                        region_rtt(topology, users, &topology.nodes[outs[*position].to].region)
                    };
                    let nearest = eligible.iter().map(distance).fold(f64::INFINITY, f64::min);
                    eligible.retain(|position| distance(position) <= nearest);
                }
            }
            let best = eligible
                .iter()
                .map(|&position| route_rank(class.kind, target_kind(position)))
                .min();
            eligible
                .retain(|&position| Some(route_rank(class.kind, target_kind(position))) == best);
            nodes[v].standby[k] = before_geo
                .into_iter()
                .filter(|position| {
                    !eligible.contains(position)
                        && Some(route_rank(class.kind, target_kind(*position))) == best
                })
                .collect();
            let weight = |position: usize| {
                if use_weights {
                    topology.edges[out_by_node[v][position]].weight
                } else {
                    1.0
                }
            };
            let total_weight: f64 = eligible.iter().map(|&position| weight(position)).sum();
            let hit = if class.kind == ClassKind::Read {
                hit_ratio
            } else {
                0.0
            };
            let forwarded = if eligible.is_empty() { 0.0 } else { 1.0 - hit };
            // A client is where requests start, not where they are answered: with nowhere to
            // send a class, its requests fail (they are counted as dropped, with a warning).
            // A client that calls servers one after another (call edges) is answered by them.
            let calls_out = outs.iter().any(|out| out.is_call && out.factors[k] > 0.0);
            nodes[v].finish[k] =
                if node.kind == NodeKind::Client && eligible.is_empty() && !calls_out {
                    0.0
                } else {
                    1.0 - forwarded
                };
            for &position in &eligible {
                let share = forwarded * weight(position) / total_weight;
                outs[position].factors[k] = share;
            }
        }
        for (position, out) in outs.iter().enumerate() {
            in_flows[out.to].push(InFlow {
                from: v,
                edge: position,
            });
        }
        out_edges[v] = outs;
    }

    // Topological order (Kahn); nodes on cycles follow in index order.
    let mut indegree = vec![0usize; node_count];
    for (v, flows) in in_flows.iter().enumerate() {
        indegree[v] = flows.iter().filter(|f| f.from != v).count();
    }
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); node_count];
    for (v, flows) in in_flows.iter().enumerate() {
        for flow in flows {
            if flow.from != v {
                successors[flow.from].push(v);
            }
        }
    }
    let mut order = Vec::with_capacity(node_count);
    let mut ready: Vec<usize> = (0..node_count)
        .filter(|&v| indegree[v] == 0)
        .rev()
        .collect();
    let mut placed = vec![false; node_count];
    while let Some(v) = ready.pop() {
        placed[v] = true;
        order.push(v);
        for &w in &successors[v] {
            indegree[w] -= 1;
            if indegree[w] == 0 {
                ready.push(w);
            }
        }
    }
    let has_self_loop = in_flows
        .iter()
        .enumerate()
        .any(|(v, f)| f.iter().any(|x| x.from == v));
    let acyclic = order.len() == node_count && !has_self_loop;
    order.extend((0..node_count).filter(|&v| !placed[v]));
    Compiled {
        classes,
        feeders: route_in,
        nodes,
        in_flows,
        out_edges,
        order,
        acyclic,
    }
}

/// Gigabytes per second of responses node `v` sends at the workloads' average rates: each
/// class's traffic through the node times its response size.
fn average_gb_per_second(compiled: &Compiled, average: &Flows, v: usize) -> f64 {
    let class_count = compiled.classes.len();
    compiled
        .classes
        .iter()
        .zip(&average.arrivals[v * class_count..(v + 1) * class_count])
        .map(|(class, rate)| rate * class.payload_kb / crate::model::KB_PER_GB)
        .sum()
}

/// Arrival rates per node and class, and the pool solutions that go with them.
struct Flows {
    arrivals: Vec<f64>,
    served_ratio: Vec<f64>,
    drop_ratio: Vec<f64>,
    pools: Vec<Vec<PoolSolution>>,
}

/// The pool inputs of node `v` for per-class arrivals `arrivals`.
fn pool_inputs(node: &CompiledNode, arrivals: &[f64], horizon: f64) -> Option<Vec<PoolInput>> {
    let service = node.service.as_ref()?;
    let total: f64 = arrivals.iter().sum();
    let (mean, second_moment) = if total > 0.0 {
        let scv_one = match node.shape {
            ServiceShape::Exponential => 1.0,
            ServiceShape::Deterministic => 0.0,
            ServiceShape::Gamma(shape) => 1.0 / shape,
        };
        arrivals
            .iter()
            .zip(service)
            .fold((0.0, 0.0), |(m, s2), (lambda, s)| {
                let f = lambda / total;
                (m + f * s, s2 + f * s * s * (1.0 + scv_one))
            })
    } else {
        let s = service.iter().copied().fold(0.0, f64::max);
        (s, 2.0 * s * s)
    };
    let mean = if mean > 0.0 {
        mean
    } else {
        service.iter().copied().fold(0.0, f64::max)
    };
    let scv = (second_moment / (mean * mean) - 1.0).max(0.0);
    Some(
        node.groups
            .iter()
            .map(|group| PoolInput {
                arrival: total * group.share,
                servers: group.servers,
                mean_service: mean,
                service_scv: scv,
                buffer: node.buffer,
                overload_horizon: horizon,
            })
            .collect(),
    )
}

/// Rejects a loop that multiplies the requests going round it (a gain of one or more), even
/// when the offered traffic never enters it without drops: the smallest trickle of retries
/// into such a loop grows until something saturates, so the linear view (zero flow) and the
/// blocking view (a self-sustaining storm) would disagree. Seeds one request of each class at
/// every node that class can reach and solves the linear traffic equations from there.
fn check_loops(topology: &Topology, compiled: &Compiled, horizon: f64) -> Result<(), SolveError> {
    if compiled.acyclic {
        return Ok(());
    }
    let class_count = compiled.classes.len();
    let mut seed = vec![0.0; compiled.nodes.len() * class_count];
    let mut stack = Vec::new();
    for (k, class) in compiled.classes.iter().enumerate() {
        stack.push(class.client);
        while let Some(v) = stack.pop() {
            if seed[v * class_count + k] > 0.0 {
                continue;
            }
            seed[v * class_count + k] = 1.0;
            for edge in &compiled.out_edges[v] {
                if edge.factors[k] > 0.0 && seed[edge.to * class_count + k] == 0.0 {
                    stack.push(edge.to);
                }
            }
        }
    }
    propagate(topology, compiled, &seed, horizon, false).map(|_| ())
}

/// Solves the traffic equations. With `blocking` false, no node drops or caps throughput
/// (the linear, offered-load view used for headroom and average-load usage).
fn propagate(
    topology: &Topology,
    compiled: &Compiled,
    external: &[f64],
    horizon: f64,
    blocking: bool,
) -> Result<Flows, SolveError> {
    let class_count = compiled.classes.len();
    let node_count = compiled.nodes.len();
    let mut flows = Flows {
        arrivals: external.to_vec(),
        served_ratio: vec![1.0; node_count],
        drop_ratio: vec![0.0; node_count],
        pools: vec![Vec::new(); node_count],
    };
    let total_external: f64 = external.iter().sum();
    let limit = 1e9 * (1.0 + total_external);
    let edge_count: usize = compiled.out_edges.iter().map(Vec::len).sum();
    let max_passes = if compiled.acyclic {
        1
    } else {
        pass_budget(node_count + edge_count, 100_000)
    };
    // The last three passes' arrivals, for Aitken's extrapolation of slow loops.
    let mut history: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut incoming = vec![0.0; class_count];
    let mut last_change = 0.0;
    // Divergence check: a loop that converges shrinks its growth geometrically; one that
    // diverges keeps growing at a steady or rising pace.
    const CHECK_EVERY: usize = 2_000;
    let mut checkpoint_total = total_external;
    let mut checkpoint_growth = f64::INFINITY;
    for pass in 0..max_passes {
        let mut change: f64 = 0.0;
        for &v in &compiled.order {
            incoming.copy_from_slice(&external[v * class_count..(v + 1) * class_count]);
            for flow in &compiled.in_flows[v] {
                let u = flow.from;
                let edge = &compiled.out_edges[u][flow.edge];
                let ratio = match edge.source {
                    Source::Served => flows.served_ratio[u],
                    Source::Dropped => flows.drop_ratio[u],
                };
                if ratio == 0.0 {
                    continue;
                }
                let from = &flows.arrivals[u * class_count..(u + 1) * class_count];
                for k in 0..class_count {
                    incoming[k] += from[k] * ratio * edge.factors[k];
                }
            }
            let slot = &mut flows.arrivals[v * class_count..(v + 1) * class_count];
            for k in 0..class_count {
                let scale = slot[k].abs().max(incoming[k].abs()).max(1e-300);
                change = change.max((slot[k] - incoming[k]).abs() / scale);
                slot[k] = incoming[k];
            }
            let total: f64 = incoming.iter().sum();
            if total.is_nan() || total > limit {
                return Err(SolveError::Diverged {
                    node: topology.nodes[v].name.clone(),
                });
            }
            if blocking {
                if let Some(inputs) = pool_inputs(&compiled.nodes[v], &incoming, horizon) {
                    let pools: Vec<PoolSolution> = inputs.iter().map(solve_pool).collect();
                    let groups = &compiled.nodes[v].groups;
                    let throughput: f64 = pools
                        .iter()
                        .zip(groups)
                        .map(|(p, g)| p.throughput * g.count as f64)
                        .sum();
                    let dropped: f64 = pools
                        .iter()
                        .zip(groups)
                        .map(|(p, g)| p.dropped * g.count as f64)
                        .sum();
                    if total > 0.0 {
                        flows.served_ratio[v] = throughput / total;
                        flows.drop_ratio[v] = dropped / total;
                    }
                    flows.pools[v] = pools;
                }
            }
        }
        last_change = change;
        if compiled.acyclic || (pass > 0 && change < 1e-12) {
            return Ok(flows);
        }
        if pass % ACCELERATE_EVERY == ACCELERATE_EVERY - 2 {
            history[0].clone_from(&flows.arrivals);
        } else if pass % ACCELERATE_EVERY == ACCELERATE_EVERY - 1 {
            history[1].clone_from(&flows.arrivals);
        } else if pass % ACCELERATE_EVERY == 0
            && pass > 0
            && history[1].len() == flows.arrivals.len()
        {
            extrapolate(&history, &mut flows.arrivals);
        }
        if (pass + 1) % CHECK_EVERY == 0 {
            let total: f64 = flows.arrivals.iter().sum();
            let growth = total - checkpoint_total;
            if growth > 1e-3 * total && growth >= 0.5 * checkpoint_growth {
                let busiest = (0..node_count)
                    .max_by(|&a, &b| {
                        let sum = |v: usize| -> f64 {
                            flows.arrivals[v * class_count..(v + 1) * class_count]
                                .iter()
                                .sum()
                        };
                        sum(a).total_cmp(&sum(b))
                    })
                    .unwrap_or(0);
                return Err(SolveError::Diverged {
                    node: topology.nodes[busiest].name.clone(),
                });
            }
            checkpoint_total = total;
            checkpoint_growth = growth;
        }
    }
    Err(SolveError::NotConverged {
        passes: max_passes,
        change: last_change,
    })
}

/// Longest a solve may be expected to take (estimated by [`check_work`]), in seconds.
pub const MAX_SOLVE_SECONDS: f64 = 1.5;

/// Refuses a solve whose cost, estimated from what it must compute, is beyond
/// [`MAX_SOLVE_SECONDS`]. Measured per item on a release build here (2 cores): about 15 µs per
/// node for the traffic and the closed forms, 1 ms per node whose percentiles need a transform
/// inversion (non-exponential service, finite buffers, overload), and 90 µs (0.9 ms when the
/// node is of the latter kind) per node each class's end-to-end transform visits.
fn check_work(compiled: &Compiled, flows: &Flows, params: &Params) -> Result<(), SolveError> {
    let inverted: Vec<bool> = compiled
        .nodes
        .iter()
        .zip(&flows.pools)
        .map(|(node, pools)| {
            node.service.is_some()
                && (node.shape != ServiceShape::Exponential
                    || pools.iter().any(|pool| {
                        !matches!(pool.wait, WaitDist::Zero | WaitDist::Exponential { .. })
                    }))
        })
        .collect();
    let inverted_count = inverted.iter().filter(|heavy| **heavy).count();
    let nodes = compiled.nodes.len();
    let mut micros = 15.0 * nodes as f64 + 1_000.0 * inverted_count as f64;
    let mut visits = 0;
    if params.class_percentiles {
        for k in 0..compiled.classes.len() {
            let (order, _) = reachable_reverse_order(compiled, k);
            visits += order.len();
            micros += order
                .iter()
                .map(|&v| if inverted[v] { 900.0 } else { 90.0 })
                .sum::<f64>();
        }
    }
    let seconds = micros / 1e6;
    if seconds > MAX_SOLVE_SECONDS {
        return Err(SolveError::TooMuchWork {
            seconds,
            nodes,
            inverted: inverted_count,
            visits,
        });
    }
    Ok(())
}

/// Work (node and edge visits) the fixed-point iterations of one solve may spend per loop: a
/// pass over a large cyclic graph is dear, so it gets fewer passes.
const WORK_BUDGET: usize = 30_000_000;

/// Passes of an iteration whose one pass costs `work_per_pass`: as many as the budget
/// allows, at least 200 and at most `most`.
fn pass_budget(work_per_pass: usize, most: usize) -> usize {
    (WORK_BUDGET / work_per_pass.max(1)).clamp(200.min(most), most)
}

/// Passes between Aitken extrapolations of the traffic equations.
const ACCELERATE_EVERY: usize = 20;

/// Aitken's Δ² step for each arrival rate that has been converging steadily over the last
/// three passes (`history` and `current`): a loop whose gain is close to 1 converges
/// geometrically with ratio r per pass, and x + Δ·r/(1 − r) jumps to its limit. Rates that
/// oscillate, grow or barely move are left for the plain iteration.
fn extrapolate(history: &[Vec<f64>; 2], current: &mut [f64]) {
    for ((x0, x1), x2) in history[0].iter().zip(&history[1]).zip(current.iter_mut()) {
        let (step, last) = (x1 - x0, *x2 - x1);
        if step == 0.0 || last == 0.0 {
            continue;
        }
        let ratio = last / step;
        if ratio > 0.0 && ratio < 0.999_999 && last.abs() > 1e-15 * x2.abs() {
            *x2 = (*x2 + last * ratio / (1.0 - ratio)).max(0.0);
        }
    }
}

/// Per-node results kept for the end-to-end step.
struct NodeResult {
    servers: u64,
    arrival: f64,
    throughput: f64,
    dropped: f64,
    backlog: f64,
    utilization: f64,
    offered_utilization: f64,
    queue_len: f64,
    in_system: f64,
    latency: Latency,
    status: Status,
    /// Offered utilization of the busiest queue that decides the bottleneck and the headroom.
    saturation: f64,
    busiest_arrival: f64,
    busiest_capacity: f64,
    /// The saturation comes from the solved traffic, retries included (not the linear view).
    retried: bool,
    average_throughput: f64,
    /// Per class: mean response at this node (seconds, including the fixed delay).
    class_mean: Vec<f64>,
    /// Mixture components of the wait: (weight, distribution) across pool groups.
    waits: Vec<(f64, WaitDist)>,
    /// The busiest queue's inputs and results, for explaining the figures.
    queue: Option<QueueModel>,
}

impl Latency {
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

fn node_result(
    compiled: &Compiled,
    v: usize,
    flows: &Flows,
    linear: &Flows,
    average: &Flows,
    horizon: f64,
    class_count: usize,
) -> NodeResult {
    let node = &compiled.nodes[v];
    let arrivals = &flows.arrivals[v * class_count..(v + 1) * class_count];
    let arrival: f64 = arrivals.iter().sum();
    let average_throughput: f64 = average.arrivals[v * class_count..(v + 1) * class_count]
        .iter()
        .sum();
    let linear_arrivals = &linear.arrivals[v * class_count..(v + 1) * class_count];
    let Some(service) = node.service.as_ref() else {
        // A pure delay: no queue, everything passes after the fixed latency.
        return NodeResult {
            servers: 0,
            arrival,
            throughput: arrival,
            dropped: 0.0,
            backlog: 0.0,
            utilization: 0.0,
            offered_utilization: 0.0,
            queue_len: 0.0,
            in_system: arrival * node.base,
            latency: Latency {
                mean: node.base,
                p50: node.base,
                p95: node.base,
                p99: node.base,
            },
            status: if arrival > 0.0 {
                Status::Healthy
            } else {
                Status::Idle
            },
            saturation: 0.0,
            busiest_arrival: 0.0,
            busiest_capacity: 0.0,
            retried: false,
            average_throughput,
            class_mean: vec![node.base; class_count],
            waits: vec![(1.0, WaitDist::Zero)],
            queue: None,
        };
    };
    let pools = &flows.pools[v];
    let mut throughput = 0.0;
    let mut dropped = 0.0;
    let mut backlog = 0.0;
    let mut queue_len = 0.0;
    let mut in_queues = 0.0;
    let mut utilization: f64 = 0.0;
    let mut offered_utilization: f64 = 0.0;
    for (pool, group) in pools.iter().zip(&node.groups) {
        let count = group.count as f64;
        throughput += pool.throughput * count;
        dropped += pool.dropped * count;
        backlog += pool.backlog_growth * count;
        queue_len += pool.mean_queue * count;
        in_queues += pool.mean_in_system * count;
        utilization = utilization.max(pool.utilization);
        offered_utilization = offered_utilization.max(pool.offered_utilization);
    }
    let in_system = in_queues + throughput * node.base;
    let queue = busiest_queue(node, arrivals, pools, horizon);

    // The bottleneck's measure: the offered load of the busiest queue in the linear view
    // (every node passes all it receives, so the load scales with the multiplier). Retries of
    // drops add load that view cannot see: where the solved traffic overloads a queue beyond
    // what the linear view offers it, that counts, so a retry storm at the current load is
    // never reported as headroom.
    let linear_inputs = pool_inputs(node, linear_arrivals, horizon).unwrap_or_default();
    let mut saturation: f64 = 0.0;
    let mut busiest_arrival = 0.0;
    let mut busiest_capacity = 0.0;
    for input in &linear_inputs {
        let offered = input.arrival * input.mean_service / input.servers as f64;
        if offered > saturation {
            saturation = offered;
            busiest_arrival = input.arrival;
            busiest_capacity = input.servers as f64 / input.mean_service;
        }
    }
    let mut retried = false;
    for pool in pools {
        if pool.offered_utilization >= 1.0 && pool.offered_utilization > saturation * (1.0 + 1e-9) {
            saturation = pool.offered_utilization;
            busiest_arrival = pool.throughput + pool.dropped + pool.backlog_growth;
            busiest_capacity = busiest_arrival / pool.offered_utilization;
            retried = true;
        }
    }

    // Mixture weights across pool groups: by throughput (or by share when idle).
    let total_weight: f64 = pools
        .iter()
        .zip(&node.groups)
        .map(|(p, g)| p.throughput * g.count as f64)
        .sum();
    let waits: Vec<(f64, WaitDist)> = if total_weight > 0.0 {
        pools
            .iter()
            .zip(&node.groups)
            .map(|(p, g)| (p.throughput * g.count as f64 / total_weight, p.wait.clone()))
            .collect()
    } else {
        vec![(1.0, WaitDist::Zero)]
    };
    let mean_wait: f64 = if total_weight > 0.0 {
        pools
            .iter()
            .zip(&node.groups)
            .map(|(p, g)| p.mean_wait * p.throughput * g.count as f64 / total_weight)
            .sum()
    } else {
        0.0
    };
    let class_mean: Vec<f64> = service.iter().map(|s| node.base + mean_wait + s).collect();
    // Class weights at this node.
    let class_weights: Vec<f64> = if arrival > 0.0 {
        arrivals.iter().map(|a| a / arrival).collect()
    } else {
        let n = class_count.max(1) as f64;
        vec![1.0 / n; class_count]
    };
    let mean = if class_count == 0 {
        node.base
    } else {
        class_mean
            .iter()
            .zip(&class_weights)
            .map(|(m, w)| m * w)
            .sum()
    };
    let latency = node_percentiles(node, &class_weights, &waits, mean, &[]);
    let status = if arrival <= 0.0 {
        Status::Idle
    } else if backlog > 0.0 {
        Status::Overloaded
    } else if dropped > 0.01 * arrival {
        Status::Saturated
    } else if utilization >= 0.7 {
        Status::Warm
    } else {
        Status::Healthy
    };
    NodeResult {
        servers: node.groups.iter().map(|g| g.count * g.servers).sum(),
        arrival,
        throughput,
        dropped,
        backlog,
        utilization,
        offered_utilization,
        queue_len,
        in_system,
        latency,
        status,
        saturation,
        busiest_arrival,
        busiest_capacity,
        retried,
        average_throughput,
        class_mean,
        waits,
        queue,
    }
}

/// The inputs and results of the node's queue with the highest offered load, as the report
/// shows them (ms).
fn busiest_queue(
    node: &CompiledNode,
    arrivals: &[f64],
    pools: &[PoolSolution],
    horizon: f64,
) -> Option<QueueModel> {
    let inputs = pool_inputs(node, arrivals, horizon)?;
    let (input, pool, group) = inputs
        .iter()
        .zip(pools)
        .zip(&node.groups)
        .map(|((input, pool), group)| (input, pool, group))
        .max_by(|a, b| a.1.offered_utilization.total_cmp(&b.1.offered_utilization))?;
    Some(QueueModel {
        queues: group.count,
        servers: input.servers,
        arrival_rps: figure(input.arrival),
        mean_service_ms: figure(input.mean_service * 1000.0),
        service_scv: figure(input.service_scv),
        buffer: input.buffer,
        offered_load: figure(input.arrival * input.mean_service),
        wait_probability: figure((1.0 - pool.wait.zero_mass()).clamp(0.0, 1.0)),
        mean_wait_ms: figure(pool.mean_wait * 1000.0),
    })
}

/// The waits for a database connection that a node's requests make at the pool it holds:
/// `visits` per request on average, each drawn from the mixture `mix` (weight, wait).
#[derive(Clone, Debug, Default)]
struct HeldPoolWait {
    visits: f64,
    mix: Vec<(f64, WaitDist)>,
}

impl HeldPoolWait {
    /// Transform of the total wait: ⌊visits⌋ waits, and one more with the fractional part's
    /// probability (exact for a fixed number of independent visits).
    fn lst(&self, s: Complex64) -> Complex64 {
        let one_visit: Complex64 = self.mix.iter().map(|(w, dist)| dist.lst(s) * *w).sum();
        let (whole, fraction) = self.split_visits();
        one_visit.powi(whole) * (one_visit * fraction + (1.0 - fraction))
    }

    /// Probability of not waiting at all.
    fn zero_mass(&self) -> f64 {
        let one_visit: f64 = self.mix.iter().map(|(w, dist)| w * dist.zero_mass()).sum();
        let (whole, fraction) = self.split_visits();
        one_visit.powi(whole) * (one_visit * fraction + (1.0 - fraction))
    }

    fn split_visits(&self) -> (i32, f64) {
        let whole = self.visits.floor().clamp(0.0, 1e6);
        (whole as i32, (self.visits - whole).clamp(0.0, 1.0))
    }
}

/// Requests per second that pool holder `holder` sends to `database`: directly, and through
/// the caches between them (their misses, in proportion to what the holder sends each cache).
fn sent_through_caches(compiled: &Compiled, flows: &Flows, holder: usize, database: usize) -> f64 {
    let class_count = compiled.classes.len();
    let mut sent = flow_between(compiled, flows, holder, database);
    for edge in &compiled.out_edges[holder] {
        let cache = edge.to;
        if !compiled.nodes[cache].is_cache || cache == database {
            continue;
        }
        let into_cache: f64 = flows.arrivals[cache * class_count..(cache + 1) * class_count]
            .iter()
            .sum();
        if into_cache > 0.0 {
            let share = flow_between(compiled, flows, holder, cache) / into_cache;
            sent += share * flow_between(compiled, flows, cache, database);
        }
    }
    sent
}

/// Requests per second that node `from` sends to node `to` along its route and call edges.
fn flow_between(compiled: &Compiled, flows: &Flows, from: usize, to: usize) -> f64 {
    let class_count = compiled.classes.len();
    let arrivals = &flows.arrivals[from * class_count..(from + 1) * class_count];
    compiled.out_edges[from]
        .iter()
        .filter(|edge| edge.to == to)
        .map(|edge| {
            arrivals
                .iter()
                .enumerate()
                .map(|(k, a)| a * flows.served_ratio[from] * edge.served_factor(k))
                .sum::<f64>()
        })
        .sum()
}

/// A mean wait for a connection below which it is not moved to the pool holders (seconds).
const NEGLIGIBLE_CONNECTION_WAIT_S: f64 = 1e-6;

/// How a node is shown once waits for a connection are moved to the pools that hold them.
#[derive(Clone, Debug, Default, PartialEq)]
struct Shown {
    /// Requests waiting for a connection, moved here (a pool holder) or away (a database).
    queue_delta: f64,
    /// Mean wait for a connection per request served here, in seconds (pool holders).
    connection_wait: f64,
    /// Response time with the move applied (`None`: unchanged).
    latency: Option<Latency>,
}

/// Moves the part of each database's wait that is spent waiting for a connection (see
/// [`split_at_connections`]) from the database to the nodes whose pools hold its connections,
/// in proportion to the traffic each sends it. Queue lengths move with Little's law
/// (L = λ·W on both sides), so totals and end-to-end figures do not change: only where the
/// wait is shown does.
fn attribute_connection_waits(
    compiled: &Compiled,
    flows: &Flows,
    results: &[NodeResult],
    horizon: f64,
) -> Vec<Shown> {
    let class_count = compiled.classes.len();
    let node_count = compiled.nodes.len();
    let mut shown = vec![Shown::default(); node_count];
    let mut held: Vec<Vec<HeldPoolWait>> = vec![Vec::new(); node_count];
    let mut inside_waits: Vec<Option<Vec<(f64, WaitDist)>>> = vec![None; node_count];
    // Whether a node's percentiles change visibly (and are inverted again).
    let mut reshape = vec![false; node_count];
    for (v, node) in compiled.nodes.iter().enumerate() {
        let result = &results[v];
        let Some(slots) = node.connection_slots else {
            continue;
        };
        if node.pool_holders.is_empty() || result.throughput <= 0.0 || result.arrival <= 0.0 {
            continue;
        }
        let arrivals = &flows.arrivals[v * class_count..(v + 1) * class_count];
        let Some(inputs) = pool_inputs(node, arrivals, horizon) else {
            continue;
        };
        let mut pool_queue = 0.0;
        let mut pool_mix = Vec::new();
        let mut split_waits = Vec::new();
        for ((pool, group), input) in flows.pools[v].iter().zip(&node.groups).zip(&inputs) {
            let carried = pool.throughput * group.count as f64;
            let weight = carried / result.throughput;
            let capacity = group.servers as f64 / input.mean_service;
            let split = split_at_connections(pool, capacity, slots);
            pool_queue += carried * split.pool.mean();
            pool_mix.push((weight, split.pool));
            split_waits.push((weight, split.database, pool.wait.clone()));
        }
        if pool_queue.is_nan() || pool_queue <= 0.0 {
            continue;
        }
        let mean_pool_wait = pool_queue / result.throughput;
        // Below a microsecond the move changes no percentile shown: the means and queue
        // lengths move (exactly), but the percentiles are not inverted again (that costs a
        // transform inversion per node).
        let visible = mean_pool_wait >= NEGLIGIBLE_CONNECTION_WAIT_S;
        let mut held_share = 0.0;
        for &holder in &node.pool_holders {
            let sent = sent_through_caches(compiled, flows, holder, v);
            let holder_throughput = results[holder].throughput;
            if sent.is_nan() || sent <= 0.0 || holder_throughput <= 0.0 {
                continue;
            }
            let share = sent / result.arrival;
            held_share += share;
            let moved = share * pool_queue;
            shown[holder].queue_delta += moved;
            shown[holder].connection_wait += moved / holder_throughput;
            reshape[holder] |= visible;
            held[holder].push(HeldPoolWait {
                visits: moved / (holder_throughput * mean_pool_wait),
                mix: pool_mix.clone(),
            });
        }
        let held_share: f64 = held_share.min(1.0);
        shown[v].queue_delta -= held_share * pool_queue;
        reshape[v] |= visible;
        inside_waits[v] = Some(
            split_waits
                .into_iter()
                .flat_map(|(weight, inside, whole)| {
                    [
                        (weight * held_share, inside),
                        (weight * (1.0 - held_share), whole),
                    ]
                })
                .filter(|(weight, _)| *weight > 0.0)
                .collect(),
        );
    }
    for (v, node) in compiled.nodes.iter().enumerate() {
        let result = &results[v];
        if shown[v].queue_delta == 0.0 || result.throughput <= 0.0 {
            continue;
        }
        let arrivals = &flows.arrivals[v * class_count..(v + 1) * class_count];
        let class_weights: Vec<f64> = arrivals.iter().map(|a| a / result.arrival).collect();
        let mean = result.latency.mean + shown[v].queue_delta / result.throughput;
        if !reshape[v] {
            shown[v].latency = Some(Latency {
                mean,
                ..result.latency
            });
            continue;
        }
        let waits = inside_waits[v].as_deref().unwrap_or(&result.waits);
        shown[v].latency = Some(node_percentiles(
            node,
            &class_weights,
            waits,
            mean,
            &held[v],
        ));
    }
    shown
}

/// Node response-time percentiles: closed form for a single M/M/c queue, transform inversion
/// for mixtures (shards, classes with different service rates, finite buffers, non-exponential
/// service, overload, waits for a connection at a pool the node holds).
fn node_percentiles(
    node: &CompiledNode,
    class_weights: &[f64],
    waits: &[(f64, WaitDist)],
    mean: f64,
    held: &[HeldPoolWait],
) -> Latency {
    let base = node.base;
    let queue_mean = mean - base;
    let service = node.service.as_deref().unwrap_or(&[]);
    if queue_mean <= 0.0 || (service.is_empty() && held.is_empty()) {
        return Latency {
            mean,
            p50: mean,
            p95: mean,
            p99: mean,
        };
    }
    // Closed form whenever every component is an exponential (or no) wait followed by an
    // exponential service: a mixture over pool groups and classes of M/M/c response times.
    let components: Option<Vec<(f64, f64, f64, f64)>> =
        if node.shape == ServiceShape::Exponential && held.is_empty() {
            waits
                .iter()
                .map(|(group_weight, dist)| match dist {
                    WaitDist::Zero => Some((*group_weight, 0.0, 1.0)),
                    WaitDist::Exponential { p_wait, rate } => Some((*group_weight, *p_wait, *rate)),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(|groups| {
                    groups
                        .iter()
                        .flat_map(|&(group_weight, p_wait, rate)| {
                            service
                                .iter()
                                .zip(class_weights)
                                .filter(|(_, class_weight)| **class_weight > 0.0)
                                .map(move |(mean_service, class_weight)| {
                                    (
                                        group_weight * class_weight,
                                        p_wait,
                                        rate,
                                        1.0 / mean_service,
                                    )
                                })
                        })
                        .collect::<Vec<_>>()
                })
                .map(merge_equal_components)
        } else {
            None
        };
    const LEVELS: [f64; 3] = [0.50, 0.95, 0.99];
    let [p50, p95, p99] = match components {
        Some(components) => LEVELS.map(|p| {
            quantile(p, queue_mean, |t| {
                let (mut tail, mut density) = (0.0, 0.0);
                for &(weight, p_wait, rate, service_rate) in &components {
                    let (component_tail, component_density) =
                        mmc_response_tail(p_wait, rate, service_rate, t);
                    tail += weight * component_tail;
                    density += weight * component_density;
                }
                (tail, density)
            })
        }),
        None => {
            let no_held_wait: f64 = held.iter().map(HeldPoolWait::zero_mass).product();
            let mut atoms = Vec::new();
            for (k, weight) in class_weights.iter().enumerate() {
                for (time, mass) in own_atoms(node, waits, k) {
                    atoms.push((time - base, mass * weight * no_held_wait));
                }
            }
            let atoms = merge_atoms(atoms);
            let found = percentiles_with_atoms(queue_mean, &LEVELS, &atoms, |points, values| {
                for (s, value) in points.iter().zip(values.iter_mut()) {
                    let own = if service.is_empty() {
                        Complex64::new(1.0, 0.0)
                    } else {
                        queue_lst(node, service, class_weights, waits, *s)
                    };
                    *value = held.iter().fold(own, |total, pool| total * pool.lst(*s));
                }
            });
            [found[0], found[1], found[2]]
        }
    };
    Latency {
        mean,
        p50: base + p50,
        p95: base + p95,
        p99: base + p99,
    }
}

/// Adds up the weights of mixture components (weight, p_wait, wait rate, service rate) that
/// are the same distribution, e.g. classes with one service time: fewer terms to evaluate in
/// every step of the quantile search, and the same mixture.
fn merge_equal_components(components: Vec<(f64, f64, f64, f64)>) -> Vec<(f64, f64, f64, f64)> {
    let mut merged: Vec<(f64, f64, f64, f64)> = Vec::with_capacity(components.len());
    for component in components {
        match merged
            .iter_mut()
            .find(|m| (m.1, m.2, m.3) == (component.1, component.2, component.3))
        {
            Some(existing) => existing.0 += component.0,
            None => merged.push(component),
        }
    }
    merged
}

/// Transform of a node's queueing response (wait + service), mixed over classes and pools.
fn queue_lst(
    node: &CompiledNode,
    service: &[f64],
    class_weights: &[f64],
    waits: &[(f64, WaitDist)],
    s: Complex64,
) -> Complex64 {
    let wait: Complex64 = waits.iter().map(|(w, dist)| dist.lst(s) * *w).sum();
    let service: Complex64 = service
        .iter()
        .zip(class_weights)
        .map(|(mean, w)| node.shape.lst(*mean, s) * *w)
        .sum();
    wait * service
}

/// End-to-end results for one class.
struct ClassResult {
    latency: Latency,
    /// Probability a request completes now (not dropped, not stuck in a growing backlog).
    completion: f64,
    /// Probability a request is not dropped.
    completion_without_backlog: f64,
    /// The nodes the class visits, with its mean time at each (see [`class_path`]).
    path: Vec<Visit>,
}

/// One node on a class's path (indices into the compiled nodes; times in seconds).
struct Visit {
    node: usize,
    visits: f64,
    mean: f64,
    round_trip: f64,
    calls: Vec<usize>,
    routes: Vec<usize>,
    standby: Vec<usize>,
    answers: bool,
}

/// The nodes class `k` visits and how often per completed request, weighted exactly as the
/// mean recursion of [`class_result`] weighs them (calls by their count, routes by the
/// completed requests that take them), so that Σ visits × (mean at the node + round trips
/// of its hops) is the class mean. On cyclic graphs the visit equations are iterated.
fn class_path(
    compiled: &Compiled,
    results: &[NodeResult],
    completion: &[f64],
    k: usize,
    order: &[usize],
    cyclic: bool,
) -> Vec<Visit> {
    let start = compiled.classes[k].client;
    let node_count = compiled.nodes.len();
    let weights = |v: usize| -> Vec<(usize, f64, f64)> {
        let node = &compiled.nodes[v];
        if node.detaches {
            return Vec::new();
        }
        let completes = route_completion(compiled, completion, v, k);
        compiled.out_edges[v]
            .iter()
            .filter(|edge| edge.served_factor(k) > 0.0)
            .map(|edge| {
                let f = edge.served_factor(k);
                let weight = if edge.is_call {
                    f
                } else {
                    f * completion[edge.to] / completes
                };
                (edge.to, weight, edge.rtt(k))
            })
            .collect()
    };
    let mut visits = vec![0.0; node_count];
    visits[start] = 1.0;
    if cyclic {
        for _ in 0..10_000 {
            let mut next = vec![0.0; node_count];
            next[start] = 1.0;
            for &v in order {
                for (to, weight, _) in weights(v) {
                    next[to] += visits[v] * weight;
                }
            }
            let change = next
                .iter()
                .zip(&visits)
                .map(|(a, b)| (a - b).abs() / a.abs().max(1e-300))
                .fold(0.0, f64::max);
            visits = next;
            if change < 1e-13 {
                break;
            }
        }
    } else {
        for &v in order.iter().rev() {
            for (to, weight, _) in weights(v) {
                visits[to] += visits[v] * weight;
            }
        }
    }
    // Nodes a geo DNS would fail over to: not visited now, but part of the class's
    // structure for availability (listed after the visited ones, with no visits).
    let mut listed = vec![false; node_count];
    let mut nodes: Vec<usize> = order.iter().rev().copied().collect();
    for &v in &nodes {
        listed[v] = true;
    }
    let mut pending: Vec<usize> = order
        .iter()
        .flat_map(|&v| compiled.nodes[v].standby[k].iter().map(move |&p| (v, p)))
        .map(|(v, position)| compiled.out_edges[v][position].to)
        .collect();
    while let Some(v) = pending.pop() {
        if std::mem::replace(&mut listed[v], true) {
            continue;
        }
        nodes.push(v);
        if !compiled.nodes[v].detaches {
            pending.extend(
                compiled.out_edges[v]
                    .iter()
                    .filter(|edge| edge.served_factor(k) > 0.0)
                    .map(|edge| edge.to),
            );
        }
        pending.extend(
            compiled.nodes[v].standby[k]
                .iter()
                .map(|&position| compiled.out_edges[v][position].to),
        );
    }
    let path: Vec<Visit> = nodes
        .iter()
        .map(|&v| {
            let node = &compiled.nodes[v];
            let edges: Vec<&OutEdge> = if node.detaches {
                Vec::new()
            } else {
                compiled.out_edges[v]
                    .iter()
                    .filter(|edge| edge.served_factor(k) > 0.0)
                    .collect()
            };
            let targets = |call: bool| -> Vec<usize> {
                let mut found: Vec<usize> = edges
                    .iter()
                    .filter(|edge| edge.is_call == call)
                    .map(|edge| edge.to)
                    .collect();
                found.sort_unstable();
                found.dedup();
                found
            };
            let standby = node.standby[k]
                .iter()
                .map(|&position| compiled.out_edges[v][position].to)
                .collect();
            Visit {
                node: v,
                visits: visits[v],
                mean: results[v].class_mean[k],
                round_trip: weights(v).iter().map(|(_, w, rtt)| w * rtt).sum(),
                calls: targets(true),
                routes: targets(false),
                standby,
                answers: node.detaches || node.finish[k] > 0.0,
            }
        })
        .collect();
    path
}

/// Which nodes some client waits for: reachable from a client along routes and calls without
/// passing through a queue (the queue itself is synchronous: it acknowledges the request).
fn synchronous_nodes(compiled: &Compiled) -> Vec<bool> {
    let mut reached = vec![false; compiled.nodes.len()];
    let mut stack: Vec<usize> = compiled.classes.iter().map(|c| c.client).collect();
    while let Some(v) = stack.pop() {
        if std::mem::replace(&mut reached[v], true) {
            continue;
        }
        if compiled.nodes[v].detaches {
            continue;
        }
        for edge in &compiled.out_edges[v] {
            let carries = (0..compiled.classes.len()).any(|k| edge.served_factor(k) > 0.0);
            if carries && !reached[edge.to] {
                stack.push(edge.to);
            }
        }
    }
    reached
}

/// Nodes reachable by class `k` from its client, in an order where (on acyclic graphs) every
/// node comes after the nodes it sends to. Traffic past a queue is detached and not followed.
fn reachable_reverse_order(compiled: &Compiled, k: usize) -> (Vec<usize>, bool) {
    let start = compiled.classes[k].client;
    let node_count = compiled.nodes.len();
    // Iterative DFS post-order.
    let mut state = vec![0u8; node_count]; // 0 new, 1 on stack, 2 done
    let mut order = Vec::new();
    let mut cyclic = false;
    let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
    state[start] = 1;
    while let Some(&mut (v, ref mut next)) = stack.last_mut() {
        let edges = if compiled.nodes[v].detaches {
            &[][..]
        } else {
            &compiled.out_edges[v][..]
        };
        if *next < edges.len() {
            let edge = &edges[*next];
            *next += 1;
            if edge.served_factor(k) > 0.0 {
                match state[edge.to] {
                    0 => {
                        state[edge.to] = 1;
                        stack.push((edge.to, 0));
                    }
                    1 => cyclic = true,
                    _ => {}
                }
            }
        } else {
            state[v] = 2;
            order.push(v);
            stack.pop();
        }
    }
    (order, cyclic)
}

fn class_result(
    compiled: &Compiled,
    results: &[NodeResult],
    flows: &Flows,
    k: usize,
    with_percentiles: bool,
) -> ClassResult {
    let (order, cyclic) = reachable_reverse_order(compiled, k);
    let node_count = compiled.nodes.len();
    let passes = if cyclic { 10_000 } else { 1 };
    let start = compiled.classes[k].client;
    // Per node, the share of its arrivals that complete: the branches of the path mix weigh
    // by completed requests (the report's latency is that of completed requests).
    let completion = completion_probabilities(compiled, flows, k);

    // Exact mean and the smallest constant delay (shift) of any path, by the same recursion
    // over the nodes the class can reach (completion: [`completion_probabilities`]).
    let mut mean = vec![0.0; node_count];
    let mut shift = vec![0.0f64; node_count];
    for _ in 0..passes {
        let mut change: f64 = 0.0;
        for &v in &order {
            let node = &compiled.nodes[v];
            let mut m = results[v].class_mean[k];
            let mut own_shift = node.base + constant_service(node, k);
            let mut route_mean = 0.0;
            let mut route_shift = if node.finish[k] > 0.0 {
                0.0
            } else {
                f64::INFINITY
            };
            if node.detaches {
                route_shift = 0.0;
            } else {
                for edge in &compiled.out_edges[v] {
                    let f = edge.served_factor(k);
                    if f <= 0.0 {
                        continue;
                    }
                    let hop_shift = edge.rtt(k) + shift[edge.to];
                    if edge.is_call {
                        m += f * (edge.rtt(k) + mean[edge.to]);
                        own_shift += f * hop_shift;
                    } else {
                        // Latency of completed requests: each branch weighs by the
                        // requests that complete along it, not by its routing share.
                        route_mean += f * completion.0[edge.to] * (edge.rtt(k) + mean[edge.to]);
                        route_shift = route_shift.min(hop_shift);
                    }
                }
            }
            if !route_shift.is_finite() {
                route_shift = 0.0;
            }
            let route_mean = route_mean / route_completion(compiled, &completion.0, v, k);
            let new_mean = m + route_mean;
            change = change.max((new_mean - mean[v]).abs() / new_mean.abs().max(1e-300));
            change =
                change.max((own_shift + route_shift - shift[v]).abs() / new_mean.abs().max(1e-300));
            mean[v] = new_mean;
            shift[v] = own_shift + route_shift;
        }
        if change < 1e-13 {
            break;
        }
    }
    let mean_latency = mean[start];
    let offset = shift[start].min(mean_latency);
    let latency = if with_percentiles && mean_latency > offset {
        let atoms: Vec<(f64, f64)> = if cyclic {
            Vec::new()
        } else {
            class_atoms(compiled, results, k, &order, &completion.0)
                .into_iter()
                .map(|(time, mass)| (time - offset, mass))
                .collect()
        };
        let found = percentiles_with_atoms(
            mean_latency - offset,
            &[0.50, 0.95, 0.99],
            &atoms,
            |points, values| {
                let computed = if cyclic {
                    let steps = TransformSteps {
                        order: &order,
                        passes,
                        shift: &shift,
                    };
                    class_transform(compiled, results, &completion.0, k, &steps, points)
                } else {
                    let steps = TransformSteps {
                        order: &order,
                        passes: 1,
                        shift: &shift,
                    };
                    class_transform_acyclic(compiled, results, &completion.0, k, &steps, points)
                };
                values.copy_from_slice(&computed);
            },
        );
        Latency {
            mean: mean_latency,
            p50: offset + found[0],
            p95: offset + found[1],
            p99: offset + found[2],
        }
    } else {
        Latency {
            mean: mean_latency,
            p50: mean_latency,
            p95: mean_latency,
            p99: mean_latency,
        }
    };
    ClassResult {
        latency,
        completion: completion.0[start],
        completion_without_backlog: completion.1[start],
        path: class_path(compiled, results, &completion.0, k, &order, cyclic),
    }
}

/// Most Gauss–Seidel passes over a class's nodes for its completion probabilities on a
/// cyclic graph (each pass is linear in the edges; loops of gain below 1 settle long before).
const MAX_COMPLETION_PASSES: usize = 2_000;

/// Probability that a request of class `k` completes (is served end to end, counting the
/// retries of its drops that succeed later), and that it is not dropped for good (it
/// completes or waits in a growing backlog), from its client.
///
/// At node v with served share s, dropped share d and retry edges of fractions f_e:
/// c_v = s·Π_calls c_t^n·(finish + Σ_routes f·c_t) + d·Σ_retries f_e·c_{t_e}, and the same
/// with 1 − d (not dropped) in place of s for the second figure. A retry back into v itself
/// is solved in closed form: c_v = rest/(1 − d·f_self). Other loops are iterated from 0
/// upwards, so an unfinished iteration can only under-count (never serve more than offered).
fn completion_probabilities(compiled: &Compiled, flows: &Flows, k: usize) -> (Vec<f64>, Vec<f64>) {
    let (order, cyclic) = completion_order(compiled, flows, k);
    let node_count = compiled.nodes.len();
    let start = if cyclic { 0.0 } else { 1.0 };
    let mut completion = vec![start; node_count];
    let mut no_drop = vec![start; node_count];
    let passes = if cyclic { MAX_COMPLETION_PASSES } else { 1 };
    for _ in 0..passes {
        let mut change: f64 = 0.0;
        for &v in &order {
            let node = &compiled.nodes[v];
            let served = flows.served_ratio[v];
            let dropped = flows.drop_ratio[v];
            let (mut calls_c, mut calls_d) = (1.0, 1.0);
            let (mut route_c, mut route_d) = if node.detaches {
                (1.0, 1.0)
            } else {
                (node.finish[k], node.finish[k])
            };
            let (mut retry_c, mut retry_d, mut retry_self) = (0.0, 0.0, 0.0);
            for edge in &compiled.out_edges[v] {
                let f = edge.factors[k];
                if f <= 0.0 {
                    continue;
                }
                match edge.source {
                    Source::Dropped if edge.to == v => retry_self += f,
                    Source::Dropped => {
                        retry_c += f * completion[edge.to];
                        retry_d += f * no_drop[edge.to];
                    }
                    Source::Served if node.detaches => {}
                    Source::Served if edge.is_call => {
                        calls_c *= completion[edge.to].powi(edge.count as i32);
                        calls_d *= no_drop[edge.to].powi(edge.count as i32);
                    }
                    Source::Served => {
                        route_c += f * completion[edge.to];
                        route_d += f * no_drop[edge.to];
                    }
                }
            }
            let solve = |first_try: f64, retried: f64| -> f64 {
                let rest = first_try + dropped * retried;
                let looped = dropped * retry_self;
                let value = if looped < 1.0 {
                    rest / (1.0 - looped)
                } else if rest > 0.0 {
                    1.0
                } else {
                    0.0
                };
                value.clamp(0.0, 1.0)
            };
            let c = solve(served * calls_c * route_c, retry_c);
            let d = solve((1.0 - dropped) * calls_d * route_d, retry_d);
            change = change
                .max((c - completion[v]).abs())
                .max((d - no_drop[v]).abs());
            completion[v] = c;
            no_drop[v] = d;
        }
        if change < 1e-14 {
            break;
        }
    }
    (completion, no_drop)
}

/// The nodes a request of class `k` can reach from its client, along routes and calls (not
/// past a queue) and along the retries of nodes that drop, in post-order (on acyclic graphs
/// every node after the nodes it sends to), and whether any loop was found.
fn completion_order(compiled: &Compiled, flows: &Flows, k: usize) -> (Vec<usize>, bool) {
    let start = compiled.classes[k].client;
    let mut state = vec![0u8; compiled.nodes.len()]; // 0 new, 1 on stack, 2 done
    let mut order = Vec::new();
    let mut cyclic = false;
    let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
    state[start] = 1;
    while let Some(&mut (v, ref mut next)) = stack.last_mut() {
        let edges = &compiled.out_edges[v];
        if *next < edges.len() {
            let edge = &edges[*next];
            *next += 1;
            let followed = match edge.source {
                Source::Dropped => flows.drop_ratio[v] > 0.0 && edge.to != v,
                Source::Served => !compiled.nodes[v].detaches,
            };
            if followed && edge.factors[k] > 0.0 {
                match state[edge.to] {
                    0 => {
                        state[edge.to] = 1;
                        stack.push((edge.to, 0));
                    }
                    1 => cyclic = true,
                    _ => {}
                }
            }
        } else {
            state[v] = 2;
            order.push(v);
            stack.pop();
        }
    }
    (order, cyclic)
}

/// Most point masses tracked per class; beyond that they are left in the smoothed part.
const MAX_ATOMS: usize = 256;

/// Sorts point masses by time, adds up those at the same time and drops negligible ones.
fn merge_atoms(mut atoms: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    atoms.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(atoms.len());
    for (time, mass) in atoms {
        match merged.last_mut() {
            Some(last) if (last.0 - time).abs() <= 1e-12 * time.abs().max(1e-3) => last.1 += mass,
            _ => merged.push((time, mass)),
        }
    }
    merged.retain(|(_, mass)| *mass > 1e-15);
    merged
}

/// Point masses (time, probability) of the response of class `k` at `node` alone: a pure
/// delay always takes `base`; a constant service time without waiting takes `base + S`.
fn own_atoms(node: &CompiledNode, waits: &[(f64, WaitDist)], k: usize) -> Vec<(f64, f64)> {
    match &node.service {
        None => vec![(node.base, 1.0)],
        Some(service) if node.shape == ServiceShape::Deterministic => {
            let no_wait: f64 = waits.iter().map(|(w, dist)| w * dist.zero_mass()).sum();
            if no_wait > 0.0 {
                vec![(node.base + service[k], no_wait)]
            } else {
                Vec::new()
            }
        }
        Some(_) => Vec::new(),
    }
}

/// Point masses of the end-to-end response of class `k` (acyclic graphs): products of the
/// nodes' own point masses along every path, mixed by the routing shares. Empty when there
/// are too many to track (the smoothed inversion then covers them).
fn class_atoms(
    compiled: &Compiled,
    results: &[NodeResult],
    k: usize,
    order: &[usize],
    completion: &[f64],
) -> Vec<(f64, f64)> {
    let convolve = |a: &[(f64, f64)], b: &[(f64, f64)], delay: f64| -> Vec<(f64, f64)> {
        let mut out = Vec::with_capacity(a.len() * b.len());
        for &(ta, ma) in a {
            for &(tb, mb) in b {
                out.push((ta + tb + delay, ma * mb));
            }
        }
        merge_atoms(out)
    };
    let mut atoms: Vec<Vec<(f64, f64)>> = vec![Vec::new(); compiled.nodes.len()];
    for &v in order {
        let node = &compiled.nodes[v];
        let mut own = own_atoms(node, &results[v].waits, k);
        if own.is_empty() {
            continue;
        }
        let completes = route_completion(compiled, completion, v, k);
        let mut route: Vec<(f64, f64)> = if node.detaches {
            vec![(0.0, 1.0)]
        } else if node.finish[k] > 0.0 {
            vec![(0.0, node.finish[k] / completes)]
        } else {
            Vec::new()
        };
        if !node.detaches {
            for edge in &compiled.out_edges[v] {
                let f = edge.served_factor(k);
                if f <= 0.0 {
                    continue;
                }
                if edge.is_call {
                    for _ in 0..edge.count {
                        own = convolve(&own, &atoms[edge.to], edge.rtt(k));
                    }
                } else {
                    let weight = f * completion[edge.to] / completes;
                    route.extend(
                        atoms[edge.to]
                            .iter()
                            .map(|&(t, m)| (t + edge.rtt(k), m * weight)),
                    );
                }
            }
        }
        let combined = convolve(&own, &merge_atoms(route), 0.0);
        if combined.len() > MAX_ATOMS {
            return Vec::new();
        }
        atoms[v] = combined;
    }
    std::mem::take(&mut atoms[compiled.classes[k].client])
}

/// The share of the requests served at node `v` whose route out completes (answered here, or
/// completed downstream): the normaliser that weighs the branches of the path mix by
/// completed requests. 1 when nothing completes (there is then no latency to weigh).
fn route_completion(compiled: &Compiled, completion: &[f64], v: usize, k: usize) -> f64 {
    let node = &compiled.nodes[v];
    let completes = node.finish[k]
        + compiled.out_edges[v]
            .iter()
            .filter(|edge| !edge.is_call)
            .map(|edge| edge.served_factor(k) * completion[edge.to])
            .sum::<f64>();
    if completes > 0.0 {
        completes
    } else {
        1.0
    }
}

/// How a class's end-to-end transform walks its nodes: the order (every node after the
/// nodes it sends to), the passes (more than one on cyclic graphs) and each node's shift.
struct TransformSteps<'a> {
    order: &'a [usize],
    passes: usize,
    shift: &'a [f64],
}

/// The service time of class `k` at `node` when it is a constant (deterministic service), else 0.
fn constant_service(node: &CompiledNode, k: usize) -> f64 {
    match (&node.service, node.shape) {
        (Some(service), ServiceShape::Deterministic) => service[k],
        _ => 0.0,
    }
}

/// The factors e^{−s·delay} for a list of transform points, computed by a running product when
/// the points are evenly spaced (s_j = s_0 + j·Δ gives e^{−s_j·delay} = e^{−s_0·delay}·(e^{−Δ·delay})^j).
struct DelayFactors {
    current: Complex64,
    step: Option<Complex64>,
    delay: f64,
}

impl DelayFactors {
    fn new(points: &[Complex64], delay: f64) -> Self {
        let evenly_spaced = points.len() > 2 && {
            let spacing = points[1] - points[0];
            let last = points[0] + spacing * (points.len() - 1) as f64;
            (last - points[points.len() - 1]).norm() <= 1e-9 * points[points.len() - 1].norm()
        };
        let first = points.first().copied().unwrap_or_default();
        DelayFactors {
            current: (-first * delay).exp(),
            step: evenly_spaced.then(|| (-(points[1] - points[0]) * delay).exp()),
            delay,
        }
    }

    /// The factor for point `j`; must be called for j = 0, 1, 2, … in order.
    fn next(&mut self, points: &[Complex64], j: usize) -> Complex64 {
        if self.delay == 0.0 {
            return Complex64::new(1.0, 0.0);
        }
        match self.step {
            Some(step) => {
                let value = self.current;
                self.current *= step;
                value
            }
            None => (-points[j] * self.delay).exp(),
        }
    }
}

/// The route shift of node `v` for class `k`: the smallest constant delay of a route out of
/// it (0 when a request may finish here or the node detaches).
fn route_shift_of(compiled: &Compiled, v: usize, k: usize, shift: &[f64]) -> f64 {
    let node = &compiled.nodes[v];
    let mut route_shift = if node.finish[k] > 0.0 || node.detaches {
        0.0
    } else {
        f64::INFINITY
    };
    if !node.detaches {
        for edge in &compiled.out_edges[v] {
            if edge.served_factor(k) > 0.0 && !edge.is_call {
                route_shift = route_shift.min(edge.rtt(k) + shift[edge.to]);
            }
        }
    }
    if route_shift.is_finite() {
        route_shift
    } else {
        0.0
    }
}

/// The transform of node `v`'s own response (its wait and service) at each point.
fn own_transform(
    node: &CompiledNode,
    result: &NodeResult,
    k: usize,
    points: &[Complex64],
) -> Vec<Complex64> {
    points
        .iter()
        .map(|&s| match node.service.as_ref() {
            Some(service) => {
                let wait: Complex64 = result.waits.iter().map(|(w, dist)| dist.lst(s) * *w).sum();
                if node.shape == ServiceShape::Deterministic {
                    wait
                } else {
                    wait * node.shape.lst(service[k], s)
                }
            }
            None => Complex64::new(1.0, 0.0),
        })
        .collect()
}

/// [`class_transform`] on an acyclic graph, with memory for the nodes in progress only: nodes
/// are taken children first (`order`), and each, once done, is folded into its callers'
/// products and its routers' sums and dropped. A chain or a fan-out of 100,000 nodes then
/// holds a few transforms at a time instead of one per node.
fn class_transform_acyclic(
    compiled: &Compiled,
    results: &[NodeResult],
    completion: &[f64],
    k: usize,
    steps: &TransformSteps,
    points: &[Complex64],
) -> Vec<Complex64> {
    let (order, shift) = (steps.order, steps.shift);
    let width = points.len();
    let one = Complex64::new(1.0, 0.0);
    let start = compiled.classes[k].client;
    let mut reached = vec![false; compiled.nodes.len()];
    let mut route_shifts = vec![0.0; compiled.nodes.len()];
    for &v in order {
        reached[v] = true;
        route_shifts[v] = route_shift_of(compiled, v, k, shift);
    }
    // Per node in progress: (product of its calls' transforms, sum over its routes).
    let mut pending: HashMap<usize, (Vec<Complex64>, Vec<Complex64>)> = HashMap::new();
    for &v in order {
        let node = &compiled.nodes[v];
        let (calls, routes) = pending
            .remove(&v)
            .unwrap_or_else(|| (vec![one; width], vec![Complex64::new(0.0, 0.0); width]));
        let finish = if node.detaches {
            1.0
        } else {
            node.finish[k] / route_completion(compiled, completion, v, k)
        };
        let mut psi = own_transform(node, &results[v], k, points);
        for j in 0..width {
            psi[j] *= if node.detaches {
                one
            } else {
                calls[j] * (routes[j] + finish)
            };
        }
        if v == start {
            return psi;
        }
        for flow in &compiled.in_flows[v] {
            let u = flow.from;
            let edge = &compiled.out_edges[u][flow.edge];
            let f = edge.served_factor(k);
            if !reached[u] || compiled.nodes[u].detaches || f <= 0.0 || u == v {
                continue;
            }
            let (calls, routes) = pending
                .entry(u)
                .or_insert_with(|| (vec![one; width], vec![Complex64::new(0.0, 0.0); width]));
            if edge.is_call {
                for j in 0..width {
                    calls[j] *= psi[j].powi(edge.count as i32);
                }
            } else {
                let extra = edge.rtt(k) + shift[v] - route_shifts[u];
                let mut delays = DelayFactors::new(points, extra.max(0.0));
                // Branches weigh by the requests that complete along them.
                let weight = f * completion[v] / route_completion(compiled, completion, u, k);
                for j in 0..width {
                    routes[j] += delays.next(points, j) * psi[j] * weight;
                }
            }
        }
    }
    vec![one; width]
}

/// Transform of the end-to-end response time of class `k` minus its smallest constant delay
/// (`shift`), at each point:
/// φ_v(s) = e^{−s·base}·R_v(s)·Π_calls (e^{−s·rtt}φ_t(s))^n · (finish + Σ f·e^{−s·rtt}φ_t(s)),
/// computed as ψ_v = e^{s·shift_v}·φ_v so that only the random part is inverted (the Euler
/// inversion is inaccurate for distributions that are a long constant delay plus a narrow
/// spread). Every exponent stays non-positive, so nothing overflows.
fn class_transform(
    compiled: &Compiled,
    results: &[NodeResult],
    completion: &[f64],
    k: usize,
    steps: &TransformSteps,
    points: &[Complex64],
) -> Vec<Complex64> {
    let (order, passes, shift) = (steps.order, steps.passes, steps.shift);
    let width = points.len();
    let node_count = compiled.nodes.len();
    let one = Complex64::new(1.0, 0.0);
    let mut psi = vec![one; node_count * width];
    let mut route = vec![Complex64::new(0.0, 0.0); width];
    let mut own = vec![Complex64::new(0.0, 0.0); width];
    for _ in 0..passes {
        let mut change: f64 = 0.0;
        for &v in order {
            let node = &compiled.nodes[v];
            let result = &results[v];
            // The shift of the cheapest route out of v (0 when a request may finish here).
            let route_shift = route_shift_of(compiled, v, k, shift);
            let completes = route_completion(compiled, completion, v, k);
            for (j, &s) in points.iter().enumerate() {
                own[j] = match node.service.as_ref() {
                    Some(service) => {
                        let wait: Complex64 =
                            result.waits.iter().map(|(w, dist)| dist.lst(s) * *w).sum();
                        if node.shape == ServiceShape::Deterministic {
                            wait
                        } else {
                            wait * node.shape.lst(service[k], s)
                        }
                    }
                    None => one,
                };
                route[j] = if node.detaches {
                    one
                } else {
                    Complex64::new(node.finish[k] / completes, 0.0)
                };
            }
            if !node.detaches {
                for edge in &compiled.out_edges[v] {
                    let f = edge.served_factor(k);
                    if f <= 0.0 {
                        continue;
                    }
                    let extra = if edge.is_call {
                        0.0
                    } else {
                        edge.rtt(k) + shift[edge.to] - route_shift
                    };
                    if edge.is_call {
                        for j in 0..width {
                            own[j] *= psi[edge.to * width + j].powi(edge.count as i32);
                        }
                    } else {
                        // e^{−s·extra} along the points; on an evenly spaced grid (the Fourier
                        // inversion's) by one complex product per point instead of an exp.
                        let mut delays = DelayFactors::new(points, extra.max(0.0));
                        let weight = f * completion[edge.to] / completes;
                        for j in 0..width {
                            route[j] += delays.next(points, j) * psi[edge.to * width + j] * weight;
                        }
                    }
                }
            }
            for j in 0..width {
                let value = own[j] * route[j];
                let slot = &mut psi[v * width + j];
                if passes > 1 {
                    change = change.max((value - *slot).norm());
                }
                *slot = value;
            }
        }
        if passes == 1 || change < 1e-14 {
            break;
        }
    }
    let start = compiled.classes[k].client;
    psi[start * width..(start + 1) * width].to_vec()
}
