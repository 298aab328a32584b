//! Compiling a topology into flat, indexed form: request classes, each node's queues and
//! connection limits, per-class routing shares on every wire, and a topological order.

use super::lists::Lists;
use super::Params;
use crate::model::ClassKind;
use crate::model::Edge;
use crate::model::EdgeKind;
use crate::model::LbPolicy;
use crate::model::NodeIndex;
use crate::model::NodeKind;
use crate::model::Topology;
use crate::solver::queueing::ServiceShape;
use smallvec::SmallVec;
use std::sync::Arc;

/// Classes of one topology: one per workload and request kind with a non-zero share.
#[derive(Clone, Debug)]
pub(super) struct Class {
    pub(super) workload: String,
    pub(super) kind: ClassKind,
    pub(super) client: usize,
    pub(super) region: String,
    /// Requests per second entering at the client at the solved load.
    pub(super) rate: f64,
    /// Requests per second at the workload's average (for usage fees).
    pub(super) average_rate: f64,
    /// Size of one response, KB (for per-GB transfer fees).
    pub(super) payload_kb: f64,
    /// Coefficient of variation of the time between the class's arrivals at its client (the
    /// workload's burstiness: 1 Poisson, 0 evenly spaced).
    pub(super) arrival_cv: f64,
    /// The workload's average requests per second, its peak multiplier and this class's
    /// share of it (for solving the same classes at another load).
    workload_rate: f64,
    peak_multiplier: f64,
    fraction: f64,
}

impl Class {
    /// Requests per second entering at the client at `load` × the workload's average (at its
    /// peak with `at_peak`).
    fn rate_at(&self, load: f64, at_peak: bool) -> f64 {
        let peak = if at_peak { self.peak_multiplier } else { 1.0 };
        self.workload_rate * load * peak * self.fraction
    }
}

/// A set of identical queues inside a node.
#[derive(Clone, Copy, Debug)]
pub(super) struct PoolGroup {
    /// How many queues.
    pub(super) count: u64,
    /// Fraction of the node's arrivals that goes to each of them.
    pub(super) share: f64,
    /// Servers in each.
    pub(super) servers: u64,
}

/// Where a flow into a node comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) enum Source {
    #[default]
    Served,
    Dropped,
}

/// A flow into a node: the `edge`-th out edge of node `from`, with that edge's source and
/// kind copied here (the stages that walk every node's flows in then need not reach into the
/// feeder's own edge list; its factors are [`Graph::flows_into`]'s).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct InFlow {
    pub(super) from: usize,
    pub(super) edge: usize,
    pub(super) source: Source,
    pub(super) is_call: bool,
}

impl InFlow {
    /// A route: served requests moving on, neither a call nor a retry of drops. Out of a node
    /// with [`Graph::answered_by`], it carries the answering node's departures.
    pub(super) fn is_route(&self) -> bool {
        !self.is_call && self.source == Source::Served
    }
}

#[derive(Clone, Debug)]
pub(super) struct OutEdge {
    pub(super) to: usize,
    /// Served traffic (route and call edges) or dropped traffic (retry edges).
    pub(super) source: Source,
    /// Per class: share of served traffic routed (Route), calls per served request (Call), or
    /// fraction of drops sent again (Retry).
    pub(super) factors: ClassFigures,
    pub(super) is_call: bool,
    pub(super) count: u32,
    pub(super) rtt: f64,
    /// Per class, when the round trip depends on who sends the request: out of a DNS node
    /// with no region, the hop goes from the users (the class's client) to the server the
    /// name resolves to, not from the DNS node.
    pub(super) class_rtt: Option<Vec<f64>>,
}

impl CompiledNode {
    /// Out-edge positions of the route targets on standby for class `k` (see `standby`).
    pub(super) fn standby(&self, k: usize) -> &[usize] {
        self.standby.get(k).map_or(&[], Vec::as_slice)
    }

    /// The part of the node's delay that is a constant, seconds (its whole delay unless the
    /// delay is random).
    pub(super) fn constant_base(&self) -> f64 {
        if self.base_cv > 0.0 {
            0.0
        } else {
            self.base
        }
    }
}

impl OutEdge {
    /// Round trip of this hop for class `k`, seconds.
    pub(super) fn rtt(&self, k: usize) -> f64 {
        self.class_rtt
            .as_ref()
            .map_or(self.rtt, |per_class| per_class[k])
    }

    /// Requests of class `k` this edge carries per request served at its source, for the
    /// response-time recursion (retries carry drops, not served requests, and count for none).
    pub(super) fn served_factor(&self, k: usize) -> f64 {
        match self.source {
            Source::Served => self.factors[k],
            Source::Dropped => 0.0,
        }
    }
}

/// Static, load-independent facts about a node.
#[derive(Clone, Debug)]
pub(super) struct CompiledNode {
    /// Per-class mean service time, seconds (`None`: the node does not queue).
    pub(super) service: Option<ClassFigures>,
    pub(super) shape: ServiceShape,
    pub(super) buffer: Option<u64>,
    pub(super) groups: SmallVec<[PoolGroup; 1]>,
    pub(super) base: f64,
    /// Coefficient of variation of `base` (0: a constant delay; above: gamma distributed).
    pub(super) base_cv: f64,
    /// Per class: fraction of served requests that finish here.
    pub(super) finish: ClassFigures,
    /// A queue acknowledges at once: downstream work does not add to the caller's latency.
    pub(super) detaches: bool,
    /// Under a connection limit: how many requests beyond the servers may hold a connection
    /// and wait inside each queue (the others wait for a connection).
    pub(super) connection_slots: Option<u64>,
    /// The nodes whose pools hold the connections (poolers, else app servers and workers).
    pub(super) pool_holders: Vec<usize>,
    /// A cache (for finding who holds the connections behind it).
    pub(super) is_cache: bool,
    /// Per class: out-edge positions of route targets that take the class only when the
    /// preferred ones fail (a geo DNS fails over to the other regions). For availability.
    /// Empty when no class has any (read it with [`CompiledNode::standby`]).
    pub(super) standby: Vec<Vec<usize>>,
}

/// A figure per class, inline for the usual few classes: compiled nodes and wires and the
/// node results of a solve hold several, so that neither allocates for them.
pub(super) type ClassFigures = SmallVec<[f64; 4]>;

/// A compiled topology: its classes at one load, and the load-independent graph (shared by
/// the same topology compiled at other loads).
#[derive(Clone)]
pub(super) struct Compiled {
    pub(super) classes: Vec<Class>,
    graph: Arc<Graph>,
}

impl std::ops::Deref for Compiled {
    type Target = Graph;

    fn deref(&self) -> &Graph {
        &self.graph
    }
}

impl Compiled {
    /// The same topology with every class at `load` × its workload's average rate (at peak
    /// with `at_peak`), without compiling the graph again.
    pub(super) fn at_load(&self, load: f64, at_peak: bool) -> Compiled {
        let classes = self
            .classes
            .iter()
            .map(|class| Class {
                rate: class.rate_at(load, at_peak),
                ..class.clone()
            })
            .collect();
        Compiled {
            classes,
            graph: Arc::clone(&self.graph),
        }
    }
}

/// The load-independent part of a compiled topology.
pub(super) struct Graph {
    /// Per node: the nodes wired to it by routes and calls (one entry per wire).
    pub(super) feeders: Lists,
    pub(super) nodes: Vec<CompiledNode>,
    /// Per node: the wires into it (retries included).
    pub(super) in_flows: Lists<InFlow>,
    /// The per-class factors of the wires in `in_flows`, in its flat order, `factor_stride`
    /// of them per wire ([`Graph::flows_into`]).
    in_factors: Vec<f64>,
    /// Factors per wire in `in_factors`: one per class (one zero without classes).
    factor_stride: usize,
    /// Per node: its wires out, in the topology's edge order.
    pub(super) out_edges: Lists<OutEdge>,
    /// Per wire, in the topology's edge order: the node it leaves and where its out edge
    /// lies in `out_edges`' flat array (for the report's rows of wires).
    pub(super) wire_slots: Vec<WireSlot>,
    pub(super) order: Vec<usize>,
    pub(super) acyclic: bool,
    /// Per class: the nodes it can reach ([`super::paths::reachable_reverse_order`]).
    pub(super) reach: Vec<Reach>,
    /// Per class: its served hops laid out flat ([`super::paths::ClassPlan`]).
    pub(super) plans: Vec<super::paths::ClassPlan>,
    /// An acyclic graph's nodes by wave (none with loops): wave i holds the nodes whose
    /// longest chain of feeders is i long, in topological order, so a wave needs only the
    /// waves before it.
    waves: Lists,
    /// Per node: the node whose departures the requests it routes on leave with, when every
    /// class it routes on makes its last call there and that node answers at its own
    /// departure ([`answered_by`]); `None` otherwise.
    pub(super) answered_by: Vec<Option<usize>>,
    /// Some wire sends dropped requests again (a retry).
    pub(super) retries: bool,
}

/// Where a wire's out edge is kept: the node it leaves and its position in the flat array of
/// every node's out edges ([`Lists::flat`] of [`Graph::out_edges`]).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct WireSlot {
    pub(super) from: usize,
    pub(super) position: usize,
}

/// [`super::paths::reachable_reverse_order`] found on `graph` for class `k` entering at `client`.
fn class_reach(graph: &Graph, client: usize, k: usize) -> Reach {
    let (order, cyclic) = post_order(graph, client, |v, edge| {
        !graph.nodes[v].detaches && edge.served_factor(k) > 0.0
    });
    Reach { order, cyclic }
}

/// Depth-first post-order from `start` along the edges `follow` accepts (given the node they
/// leave): on acyclic graphs every node comes after the nodes it sends to. Also whether a loop
/// was found.
pub(super) fn post_order(
    graph: &Graph,
    start: usize,
    follow: impl Fn(usize, &OutEdge) -> bool,
) -> (Vec<usize>, bool) {
    let mut state = vec![0u8; graph.nodes.len()]; // 0 new, 1 on stack, 2 done
    let mut order = Vec::new();
    let mut cyclic = false;
    let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
    state[start] = 1;
    while let Some(&mut (v, ref mut next)) = stack.last_mut() {
        let edges = &graph.out_edges[v];
        if *next < edges.len() {
            let edge = &edges[*next];
            *next += 1;
            if follow(v, edge) {
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

/// Waves at least this wide are worth solving on rayon.
#[cfg_attr(not(feature = "parallel"), allow(dead_code))]
pub(super) const WIDE_WAVE: usize = 64;

impl Graph {
    /// An acyclic graph's waves, first to last (none for a graph with loops).
    pub(super) fn waves(&self) -> impl Iterator<Item = &[usize]> {
        self.waves.iter()
    }

    /// Node `v`'s flows in, each with its wire's per-class factors (those of
    /// `out_edges[flow.from][flow.edge]`, kept side by side per node for the stages that
    /// walk every node's flows in). Inlined: the traffic and variability passes call it once
    /// per node and the iterator is cheaper built in place than returned.
    #[inline]
    pub(super) fn flows_into(&self, v: usize) -> impl Iterator<Item = (&InFlow, &[f64])> {
        let positions = self.in_flows.positions(v);
        let stride = self.factor_stride;
        let factors = &self.in_factors[positions.start * stride..positions.end * stride];
        self.in_flows[v].iter().zip(factors.chunks_exact(stride))
    }
}

/// The factors of every wire in `in_flows` (its out edge's in `out_edges`), side by side in
/// the flat order of `in_flows`: `class_count` per wire, or one zero without classes.
fn flat_in_factors(
    in_flows: &Lists<InFlow>,
    out_edges: &Lists<OutEdge>,
    class_count: usize,
) -> Vec<f64> {
    let stride = class_count.max(1);
    let mut factors =
        Vec::with_capacity(in_flows.iter().map(<[InFlow]>::len).sum::<usize>() * stride);
    for flow in in_flows.iter().flatten() {
        let wire = &out_edges[flow.from][flow.edge].factors;
        for k in 0..stride {
            factors.push(wire.get(k).copied().unwrap_or(0.0));
        }
    }
    factors
}

/// The waves of an acyclic `graph` (see [`Graph::waves`]): a node also comes after the node
/// its routed-on requests leave with ([`Graph::answered_by`] of its feeder), whose departures
/// its arrivals follow, wherever that adds no loop. Kahn's algorithm over both kinds of
/// dependence; when only the added ones hold the remaining nodes back (they would close a
/// loop), one node held only by them is let go without them (its arrivals then take its
/// feeder's own departures). Each node's wave is one more than the latest wave it depends on.
fn waves_of(graph: &Graph) -> Lists {
    let node_count = graph.nodes.len();
    if graph.answered_by.iter().all(Option::is_none) {
        return waves_by_flows(graph);
    }
    let followed = |v: usize| {
        graph.in_flows[v]
            .iter()
            .filter(|flow| flow.is_route())
            .filter_map(|flow| graph.answered_by[flow.from])
    };
    // Per node: wires in not yet placed, and of those the added dependences.
    let mut waiting: Vec<(usize, usize)> = (0..node_count)
        .map(|v| (graph.in_flows[v].len(), followed(v).count()))
        .collect();
    let successors: Lists<(usize, bool)> = Lists::gathered(
        node_count,
        (0..node_count).flat_map(|v| {
            graph.in_flows[v]
                .iter()
                .map(move |flow| (flow.from, (v, false)))
                .chain(followed(v).map(move |answerer| (answerer, (v, true))))
        }),
    );
    let mut depth = vec![0usize; node_count];
    let mut placed = vec![false; node_count];
    let mut ready: Vec<usize> = (0..node_count)
        .filter(|&v| waiting[v] == (0, 0))
        .rev()
        .collect();
    // Nodes whose wires in are all placed but which still wait for an added dependence.
    let mut held: Vec<usize> = Vec::new();
    let mut order = Vec::with_capacity(node_count);
    while order.len() < node_count {
        let next = ready.pop().or_else(|| {
            // Stuck: only added dependences (a loop through them) hold the rest back.
            std::iter::from_fn(|| held.pop()).find(|&v| !placed[v])
        });
        let Some(v) = next else { break };
        placed[v] = true;
        order.push(v);
        for &(w, added) in &successors[v] {
            if placed[w] {
                continue;
            }
            depth[w] = depth[w].max(depth[v] + 1);
            let (flows, extra) = &mut waiting[w];
            if added {
                *extra -= 1;
            } else {
                *flows -= 1;
            }
            match (*flows, *extra) {
                (0, 0) => ready.push(w),
                // Its last wire in placed: from now on only added dependences hold it.
                (0, _) if !added => held.push(w),
                _ => {}
            }
        }
    }
    let waves = order.iter().map(|&v| depth[v]).max().map_or(0, |d| d + 1);
    Lists::gathered(waves, order.iter().map(|&v| (depth[v], v)))
}

/// The waves of an acyclic `graph` by its wires alone: wave i holds the nodes whose longest
/// chain of feeders is i long.
fn waves_by_flows(graph: &Graph) -> Lists {
    let mut wave = vec![0usize; graph.nodes.len()];
    let mut waves = 0;
    for &v in &graph.order {
        let depth = graph.in_flows[v]
            .iter()
            .map(|flow| wave[flow.from] + 1)
            .max()
            .unwrap_or(0);
        wave[v] = depth;
        waves = waves.max(depth + 1);
    }
    Lists::gathered(waves, graph.order.iter().map(|&v| (wave[v], v)))
}

/// Per node, the node whose departures the requests it routes on leave with
/// ([`Graph::answered_by`]). A request makes its calls one after another, then moves on
/// along a route when its last call is answered (the simulator's `proceed`). A called node
/// answers at its own departure when it queues and sends nothing on (no route or call out of
/// it; retries of its drops aside) or acknowledges at once (`detaches`). Every class the node
/// routes on must make its last call to the same such node; a class routed on without calls
/// leaves with the node's own departures, and then so does the rest.
fn answered_by(nodes: &[CompiledNode], outs: &[OutRow]) -> Vec<Option<usize>> {
    let answers_itself = |t: usize| {
        nodes[t].service.is_some()
            && (nodes[t].detaches || outs[t].iter().all(|e| e.source == Source::Dropped))
    };
    let carries = |e: &OutEdge, k: usize| e.factors.get(k).is_some_and(|f| *f > 0.0);
    outs.iter()
        .enumerate()
        .map(|(u, row)| {
            if !row.iter().any(|e| e.is_call) {
                return None;
            }
            let mut answerer = None;
            for k in 0..nodes[u].finish.len() {
                let routed = row
                    .iter()
                    .any(|e| !e.is_call && e.source == Source::Served && carries(e, k));
                if !routed {
                    continue;
                }
                let last = row.iter().rev().find(|e| e.is_call && carries(e, k))?;
                match answerer {
                    Some(t) if t != last.to => return None,
                    _ => answerer = Some(last.to),
                }
            }
            answerer.filter(|&t| t != u && answers_itself(t))
        })
        .collect()
}

/// Whether classes `j` and `k` are served by the same wires: every wire carries served
/// requests of both or of neither (what [`class_reach`] follows).
fn served_alike(out_edges: &Lists<OutEdge>, j: usize, k: usize) -> bool {
    out_edges
        .flat()
        .iter()
        .all(|edge| (edge.served_factor(j) > 0.0) == (edge.served_factor(k) > 0.0))
}

/// The nodes a class can reach from its client, in post-order, and whether a loop was found.
#[derive(Clone)]
pub(super) struct Reach {
    pub(super) order: Vec<usize>,
    pub(super) cyclic: bool,
}

/// Route preference of a target kind for a class: lower is preferred.
pub(super) fn route_rank(class: ClassKind, target: &NodeKind) -> u8 {
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
pub(super) fn carries_by_default(class: ClassKind, target: &NodeKind) -> bool {
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

/// [`compile_indexed`] with an index of its own, for tests that build a topology in code.
#[cfg(test)]
pub(super) fn compile(topology: &Topology, params: &Params) -> Compiled {
    compile_indexed(topology, &NodeIndex::of(&topology.nodes).0, params)
}

/// The nodes each class reaches, in order; a class entering where an earlier one does and
/// served by the same wires reaches the same nodes in the same order (a workload's reads and
/// writes often are), and shares its list.
fn class_reaches(graph: &Graph, classes: &[Class]) -> Vec<Reach> {
    let mut reach: Vec<Reach> = Vec::with_capacity(classes.len());
    for (k, class) in classes.iter().enumerate() {
        let alike = (0..k)
            .find(|&j| classes[j].client == class.client && served_alike(&graph.out_edges, j, k));
        reach.push(match alike {
            Some(j) => reach[j].clone(),
            None => class_reach(graph, class.client, k),
        });
    }
    reach
}

/// The topology as flat, indexed arrays: its classes, each node's queues, connection limits
/// and service times, every wire's per-class shares, and a topological order; `index` is the
/// index of node ids that validation built ([`Topology::validated_index`]).
pub(super) fn compile_indexed(topology: &Topology, index: &NodeIndex, params: &Params) -> Compiled {
    let node_count = topology.nodes.len();
    let classes = compile_classes(topology, index, params);
    // A validated topology's wires join nodes that exist.
    let position = |id| {
        let found = index.get(id);
        debug_assert!(
            found.is_some(),
            "a wire names node {id}, which does not exist"
        );
        found.unwrap_or_default()
    };
    let edge_ends: Vec<(usize, usize)> = topology
        .edges
        .iter()
        .map(|edge| (position(edge.from), position(edge.to)))
        .collect();
    // The wires into and out of each node, in one flat array each (compressed rows).
    let wires = topology.edges.iter().zip(&edge_ends).enumerate();
    let route_in = Lists::gathered(
        node_count,
        wires
            .clone()
            .filter(|(_, (edge, _))| !matches!(edge.kind, EdgeKind::Retry(_)))
            .map(|(_, (_, &(from, to)))| (to, from)),
    );
    let out_by_node = Lists::gathered(node_count, wires.map(|(e, (_, &(from, _)))| (from, e)));
    // Each node and its wires out compile on their own (on rayon on a large graph).
    let compiled_nodes = super::map_indices(node_count, params.parallel_for(node_count), |v| {
        let mut node = compile_node(topology, v, &route_in, &classes);
        let wires = Wires::of(topology, &classes, v, out_by_node.of(v), &edge_ends);
        let mut outs = wires.out_edges();
        for k in 0..classes.len() {
            wires.route_class(k, &mut outs, &mut node);
        }
        (node, outs)
    });
    let (nodes, out_edges): (Vec<CompiledNode>, Vec<OutRow>) = compiled_nodes.into_iter().unzip();
    let answered_by = answered_by(&nodes, &out_edges);
    let out_edges = Lists::from_rows(out_edges);
    let wire_slots = wire_slots_of(&out_by_node, &edge_ends);
    // The wires in `out_by_node`'s flat order: node `from`'s `edge`-th out edge is its
    // `edge`-th wire there.
    let in_flows = Lists::gathered(
        node_count,
        out_by_node.flat().iter().enumerate().map(|(position, &e)| {
            let (from, to) = edge_ends[e];
            let kind = topology.edges[e].kind;
            // Source and kind from the edge's kind, as the out edge's were: `gathered` walks
            // these pairs twice, and reading the compiled out edge (a wide row elsewhere in
            // memory) instead cost 1% of a 10k-node solve.
            let flow = InFlow {
                from,
                edge: position - out_by_node.positions(from).start,
                source: if matches!(kind, EdgeKind::Retry(_)) {
                    Source::Dropped
                } else {
                    Source::Served
                },
                is_call: matches!(kind, EdgeKind::Call(_)),
            };
            (to, flow)
        }),
    );
    let in_factors = flat_in_factors(&in_flows, &out_edges, classes.len());
    let (order, acyclic) = topological_order(&in_flows);
    let retries = topology
        .edges
        .iter()
        .any(|edge| matches!(edge.kind, EdgeKind::Retry(_)));
    let mut graph = Graph {
        feeders: route_in,
        nodes,
        in_flows,
        in_factors,
        factor_stride: classes.len().max(1),
        out_edges,
        wire_slots,
        order,
        acyclic,
        reach: Vec::new(),
        plans: Vec::new(),
        retries,
        waves: Lists::empty(),
        answered_by,
    };
    if graph.acyclic {
        graph.waves = waves_of(&graph);
    }
    graph.reach = class_reaches(&graph, &classes);
    graph.plans = (0..classes.len())
        .map(|k| super::paths::ClassPlan::of(&graph, k))
        .collect();
    Compiled {
        classes,
        graph: Arc::new(graph),
    }
}

/// Where each wire's out edge lies ([`Graph::wire_slots`]), from the wires of each node in
/// `out_by_node` and the (from, to) nodes of every wire: node `from`'s out edges are compiled
/// from its wires there, one for one, so both flat arrays have the same order.
fn wire_slots_of(out_by_node: &Lists, edge_ends: &[(usize, usize)]) -> Vec<WireSlot> {
    let mut wire_slots = vec![WireSlot::default(); edge_ends.len()];
    for (position, &e) in out_by_node.flat().iter().enumerate() {
        wire_slots[e] = WireSlot {
            from: edge_ends[e].0,
            position,
        };
    }
    wire_slots
}

/// One class per workload and request kind with a non-zero share, at the solved load.
fn compile_classes(topology: &Topology, index: &NodeIndex, params: &Params) -> Vec<Class> {
    let mut classes = Vec::new();
    for workload in &topology.workloads {
        let Some(client) = index.get(workload.client) else {
            continue;
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
                let mut class = Class {
                    workload: workload.name.clone(),
                    kind,
                    client,
                    region: region.clone(),
                    rate: 0.0,
                    average_rate: workload.rate.per_second() * fraction,
                    payload_kb: workload.payload_kb,
                    arrival_cv: workload.arrival_cv,
                    workload_rate: workload.rate.per_second(),
                    peak_multiplier: workload.peak_multiplier,
                    fraction,
                };
                class.rate = class.rate_at(params.load_multiplier, params.at_peak);
                classes.push(class);
            }
        }
    }
    classes
}

/// Node `v`'s load-independent facts: its queues, connection limit and service times.
/// `route_in[v]` lists the nodes wired to it by routes and calls.
fn compile_node(
    topology: &Topology,
    v: usize,
    route_in: &Lists,
    classes: &[Class],
) -> CompiledNode {
    let node = &topology.nodes[v];
    let pooled = node.kind == NodeKind::Service
        || (!route_in[v].is_empty()
            && route_in[v].iter().all(|&u| {
                topology.nodes[u].kind
                    == NodeKind::LoadBalancer {
                        policy: LbPolicy::LeastConnections,
                    }
            }));
    let mut groups = queue_groups(node, pooled);
    let (connection_slots, pool_holders) =
        match connection_limit(topology, v, route_in, &mut groups) {
            Some((slots, holders)) => (Some(slots), holders),
            None => (None, Vec::new()),
        };
    CompiledNode {
        service: service_times(node, classes),
        shape: ServiceShape::from_cv_family(node.service_cv, node.service_family),
        buffer: node.queue_limit.map(u64::from),
        groups,
        base: node.base_latency_ms / 1000.0,
        base_cv: node.latency_cv,
        finish: filled(1.0, classes.len()),
        detaches: node.kind == NodeKind::Queue,
        connection_slots,
        pool_holders,
        is_cache: matches!(node.kind, NodeKind::Cache { .. }),
        standby: Vec::new(),
    }
}

/// The queues inside a node: one per instance; one shared queue when `pooled` (least
/// connections, a service); a hot shard and the cold ones for a shard group.
fn queue_groups(node: &crate::model::Node, pooled: bool) -> SmallVec<[PoolGroup; 1]> {
    let per_instance = u64::from(node.concurrency);
    let instances = u64::from(node.instances);
    let servers = instances * per_instance;
    match node.kind {
        NodeKind::ShardGroup {
            shards,
            hot_shard_skew,
        } => {
            let shards = u64::from(shards);
            if shards == 1 {
                smallvec::smallvec![PoolGroup {
                    count: 1,
                    share: 1.0,
                    servers,
                }]
            } else {
                let hot = hot_shard_skew / shards as f64;
                let cold = (1.0 - hot) / (shards - 1) as f64;
                smallvec::smallvec![
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
        _ if pooled => smallvec::smallvec![PoolGroup {
            count: 1,
            share: 1.0,
            servers,
        }],
        _ => smallvec::smallvec![PoolGroup {
            count: instances,
            share: 1.0 / instances as f64,
            servers: per_instance,
        }],
    }
}

/// Connections: a pooler in front holds its pool (pool size × instances) and a database
/// accepts `max_connections` per instance. A request holds a connection while it waits
/// inside and while it runs, so the tighter limit caps the queries that run at once and,
/// beyond the servers, how many may wait inside; the rest wait for a connection at whoever
/// holds the pool: the pooler, or else the app servers' own pools.
///
/// Caps `groups`' servers and returns the waiting places inside each queue that hold a
/// connection and the pool holders; `None` when node `v` has no connection limit.
fn connection_limit(
    topology: &Topology,
    v: usize,
    route_in: &Lists,
    groups: &mut [PoolGroup],
) -> Option<(u64, Vec<usize>)> {
    let node = &topology.nodes[v];
    let is_pooler =
        |u: &usize| matches!(topology.nodes[*u].kind, NodeKind::ConnectionPooler { .. });
    if !matches!(node.kind, NodeKind::Database { .. }) && !route_in[v].iter().any(is_pooler) {
        return None;
    }
    let mut feeders_once = route_in[v].to_vec();
    feeders_once.sort_unstable();
    feeders_once.dedup();
    let pool_of = |u: usize| match topology.nodes[u].kind {
        NodeKind::ConnectionPooler { pool_size } => {
            Some(u64::from(pool_size) * u64::from(topology.nodes[u].instances))
        }
        _ => None,
    };
    let poolers: Vec<usize> = feeders_once
        .iter()
        .copied()
        .filter(|&u| pool_of(u).is_some())
        .collect();
    let pooled_connections: u64 = poolers.iter().filter_map(|&u| pool_of(u)).sum();
    let database_connections = match node.kind {
        NodeKind::Database {
            max_connections, ..
        } => Some(u64::from(max_connections) * u64::from(node.instances)),
        _ => None,
    };
    let limit = match (poolers.is_empty(), database_connections) {
        (false, Some(allowed)) => pooled_connections.min(allowed),
        (false, None) => pooled_connections,
        (true, allowed) => allowed?,
    };
    let queues: u64 = groups.iter().map(|g| g.count).sum();
    let per_queue = (limit / queues.max(1)).max(1);
    for group in groups.iter_mut() {
        group.servers = group.servers.min(per_queue);
    }
    let servers = groups.iter().map(|g| g.servers).max().unwrap_or(1);
    let slots = per_queue - servers.min(per_queue);
    if !poolers.is_empty() {
        return Some((slots, poolers));
    }
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
            NodeKind::Cache { .. } => route_in[u].to_vec(),
            _ => vec![u],
        })
        .filter(|&u| u != v && holds(u))
        .collect();
    holders.sort_unstable();
    holders.dedup();
    Some((slots, holders))
}

/// Per-class mean service time of one server, seconds; `None` when the node does not queue.
/// A client is where requests start: it never queues, whatever a file says of its capacity
/// (a client written without `capacity_rps` would get the default 100 req/s).
fn service_times(node: &crate::model::Node, classes: &[Class]) -> Option<ClassFigures> {
    let capacity = node
        .capacity_rps
        .filter(|_| node.kind != NodeKind::Client)?;
    let mut per_class = ClassFigures::new();
    for class in classes {
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
            // A Service node's per-class capacities, else its own: the same multi-class
            // queue as a database's reads and writes.
            NodeKind::Service => node
                .class_capacity_rps
                .get(&class.kind)
                .copied()
                .unwrap_or(capacity),
            _ => capacity,
        };
        per_class.push(f64::from(node.concurrency) / per_instance_rate);
    }
    Some(per_class)
}

/// One wire out of a node, with the node it leads to (looked up once per node, not once per
/// class).
#[derive(Clone, Copy)]
struct Wire<'a> {
    edge: &'a Edge,
    to: usize,
    target: &'a crate::model::Node,
}

impl Wire<'_> {
    /// Whether this wire may carry requests of `kind`: a route whose edge names the kind, or
    /// names none and whose target takes it by default.
    fn carries(&self, kind: ClassKind) -> bool {
        self.edge.kind == EdgeKind::Route
            && if self.edge.classes.is_empty() {
                carries_by_default(kind, &self.target.kind)
            } else {
                self.edge.classes.contains(&kind)
            }
    }
}

/// A node's wires out, inline for the usual few.
type NodeWires<'a> = SmallVec<[Wire<'a>; 8]>;

/// A node's out edges as compiled, inline for the usual few (moved into
/// [`Graph::out_edges`] after).
type OutRow = SmallVec<[OutEdge; 2]>;

/// Positions among a node's wires out, inline for the usual few.
type Positions = SmallVec<[usize; 8]>;

/// A class-wide figure for `count` classes, inline (without a loop) for the usual few.
fn filled(value: f64, count: usize) -> ClassFigures {
    if count <= 4 {
        ClassFigures::from_buf_and_len([value; 4], count)
    } else {
        smallvec::smallvec![value; count]
    }
}

/// The wires out of one node, for compiling their per-class shares.
struct Wires<'a> {
    topology: &'a Topology,
    classes: &'a [Class],
    from: usize,
    /// The node's wires out, in the topology's edge order.
    wires: NodeWires<'a>,
}

impl<'a> Wires<'a> {
    /// The wires out of node `from`: `edges` are their positions in the topology's edge list,
    /// `ends` the (from, to) node indices of every wire.
    fn of(
        topology: &'a Topology,
        classes: &'a [Class],
        from: usize,
        edges: &[usize],
        ends: &[(usize, usize)],
    ) -> Wires<'a> {
        let wires = edges
            .iter()
            .map(|&index| {
                let to = ends[index].1;
                Wire {
                    edge: &topology.edges[index],
                    to,
                    target: &topology.nodes[to],
                }
            })
            .collect();
        Wires {
            topology,
            classes,
            from,
            wires,
        }
    }

    /// One out edge per wire, with round trips, call counts and retry fractions; route
    /// shares are filled per class by [`Wires::route_class`].
    fn out_edges(&self) -> OutRow {
        let topology = self.topology;
        let node = &topology.nodes[self.from];
        let class_count = self.classes.len();
        // Out of a DNS node with no region, the hop goes from the users.
        let from_users = matches!(node.kind, NodeKind::Dns { .. }) && node.region.is_empty();
        self.wires
            .iter()
            .map(|wire| {
                let Wire { edge, to, .. } = *wire;
                let target_region = &wire.target.region;
                let rtt = region_rtt(topology, &node.region, target_region);
                let class_rtt = from_users.then(|| {
                    self.classes
                        .iter()
                        .map(|class| {
                            let users = &topology.nodes[class.client].region;
                            region_rtt(topology, users, target_region)
                        })
                        .collect()
                });
                let (source, is_call, count, factors) = match edge.kind {
                    EdgeKind::Route => (Source::Served, false, 1, filled(0.0, class_count)),
                    EdgeKind::Call(count) => {
                        let factors = self
                            .classes
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
                        (Source::Dropped, false, 0, filled(fraction, class_count))
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
            .collect()
    }

    /// Positions of the route wires that may carry class `k`: its edge's classes name it, or
    /// name none and the target's kind takes it by default.
    fn eligible(&self, k: usize) -> Positions {
        let kind = self.classes[k].kind;
        let mut eligible = Positions::new();
        for (position, wire) in self.wires.iter().enumerate() {
            if wire.carries(kind) {
                eligible.push(position);
            }
        }
        eligible
    }

    /// Class `k`'s route shares out of the node (into `outs`), the share that finishes at
    /// the node and its standby targets (into `compiled`): the eligible route targets of the
    /// best rank (caches first for reads, replicas, then the rest), near the users behind a
    /// geo DNS, split by weight (evenly behind round robin, least connections and IP hash),
    /// after a cache's or CDN's hits.
    fn route_class(&self, k: usize, outs: &mut [OutEdge], compiled: &mut CompiledNode) {
        let topology = self.topology;
        let node = &topology.nodes[self.from];
        let class = &self.classes[k];
        let wires = &self.wires;
        let rank = |position: usize| route_rank(class.kind, &wires[position].target.kind);
        // Only a geo DNS sets targets aside (on standby); elsewhere nothing is kept.
        let geo = matches!(node.kind, NodeKind::Dns { geo: true });
        if !geo {
            let eligible = self.eligible_best(k);
            self.share_out(k, &eligible, outs, compiled);
            return;
        }
        let mut eligible = self.eligible(k);
        let before_geo = eligible.clone();
        let is_local = |position: &usize| wires[*position].target.region == class.region;
        if eligible.iter().any(is_local) {
            eligible.retain(|position| is_local(position));
        } else {
            // No target in the workload's region: the ones nearest to the users.
            let users = &topology.nodes[class.client].region;
            let distance =
                |position: &usize| region_rtt(topology, users, &wires[*position].target.region);
            let nearest = eligible.iter().map(distance).fold(f64::INFINITY, f64::min);
            eligible.retain(|position| distance(position) <= nearest);
        }
        let best = eligible.iter().map(|&position| rank(position)).min();
        eligible.retain(|position| Some(rank(*position)) == best);
        let standby: Vec<usize> = before_geo
            .into_iter()
            .filter(|position| !eligible.contains(position) && Some(rank(*position)) == best)
            .collect();
        if !standby.is_empty() {
            if compiled.standby.is_empty() {
                compiled.standby = vec![Vec::new(); self.classes.len()];
            }
            compiled.standby[k] = standby;
        }
        self.share_out(k, &eligible, outs, compiled);
    }

    /// The positions of [`Wires::eligible`] whose target has the best rank for class `k`
    /// ([`route_rank`]), in one pass.
    fn eligible_best(&self, k: usize) -> Positions {
        let kind = self.classes[k].kind;
        let mut eligible = Positions::new();
        let mut best = u8::MAX;
        for (position, wire) in self.wires.iter().enumerate() {
            if !wire.carries(kind) {
                continue;
            }
            let rank = route_rank(kind, &wire.target.kind);
            if rank < best {
                best = rank;
                eligible.clear();
            }
            if rank == best {
                eligible.push(position);
            }
        }
        eligible
    }

    /// Class `k`'s route shares over the `eligible` wires (into `outs`) and the share that
    /// finishes at the node (into `compiled`): split by weight (evenly behind round robin,
    /// least connections and IP hash), after a cache's or CDN's hits.
    fn share_out(
        &self,
        k: usize,
        eligible: &[usize],
        outs: &mut [OutEdge],
        compiled: &mut CompiledNode,
    ) {
        let node = &self.topology.nodes[self.from];
        let class = &self.classes[k];
        let wires = &self.wires;
        let use_weights = !matches!(
            node.kind,
            NodeKind::LoadBalancer {
                policy: LbPolicy::RoundRobin | LbPolicy::LeastConnections | LbPolicy::IpHash
            }
        );
        let weight = |position: usize| {
            if use_weights {
                wires[position].edge.weight
            } else {
                1.0
            }
        };
        let total_weight: f64 = eligible.iter().map(|&position| weight(position)).sum();
        let hit = match node.kind {
            NodeKind::Cache { hit_ratio } | NodeKind::Cdn { hit_ratio }
                if class.kind == ClassKind::Read =>
            {
                hit_ratio
            }
            _ => 0.0,
        };
        let forwarded = if eligible.is_empty() { 0.0 } else { 1.0 - hit };
        // Each route's exit share of what it would carry finishes here instead.
        let kept = |position: usize| 1.0 - wires[position].edge.exit_share;
        let exits: f64 = eligible
            .iter()
            .map(|&position| forwarded * weight(position) / total_weight * (1.0 - kept(position)))
            .sum();
        // A client is where requests start, not where they are answered: with nowhere to
        // send a class, its requests fail (they are counted as dropped, with a warning).
        // A client that calls servers one after another (call edges) is answered by them.
        let calls_out = || outs.iter().any(|out| out.is_call && out.factors[k] > 0.0);
        compiled.finish[k] = if node.kind == NodeKind::Client && eligible.is_empty() && !calls_out()
        {
            0.0
        } else {
            1.0 - forwarded + exits
        };
        for &position in eligible.iter() {
            outs[position].factors[k] =
                forwarded * weight(position) / total_weight * kept(position);
        }
    }
}

/// A topological order of the nodes (Kahn's algorithm; nodes on cycles follow in index
/// order) and whether the graph is acyclic (no cycle and no node feeding itself).
fn topological_order(in_flows: &Lists<InFlow>) -> (Vec<usize>, bool) {
    let node_count = in_flows.keys();
    let mut indegree = vec![0usize; node_count];
    let mut has_self_loop = false;
    for (v, flows) in in_flows.iter().enumerate() {
        for flow in flows {
            if flow.from == v {
                has_self_loop = true;
            } else {
                indegree[v] += 1;
            }
        }
    }
    let successors = Lists::gathered(
        node_count,
        in_flows.iter().enumerate().flat_map(|(v, flows)| {
            flows
                .iter()
                .filter(move |flow| flow.from != v)
                .map(move |flow| (flow.from, v))
        }),
    );
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
    let acyclic = order.len() == node_count && !has_self_loop;
    order.extend((0..node_count).filter(|&v| !placed[v]));
    (order, acyclic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Edge, Node, Rate, Workload};

    /// Users → a balancer → two apps, each calling one database twice.
    fn diamond() -> Topology {
        let mut topology = Topology {
            nodes: vec![
                Node::of_kind(1, NodeKind::Client),
                Node::of_kind(
                    2,
                    NodeKind::LoadBalancer {
                        policy: LbPolicy::RoundRobin,
                    },
                ),
                Node::of_kind(3, NodeKind::AppServer),
                Node::of_kind(4, NodeKind::AppServer),
                Node::of_kind(
                    5,
                    NodeKind::Database {
                        read_capacity_rps: 500.0,
                        write_capacity_rps: 200.0,
                        max_connections: 1_000,
                    },
                ),
            ],
            edges: vec![
                Edge::route(1, 2),
                Edge::route(2, 3),
                Edge::route(2, 4),
                Edge::of_kind(3, 5, EdgeKind::Call(2)),
                Edge::of_kind(4, 5, EdgeKind::Call(2)),
            ],
            ..Topology::default()
        };
        topology.workloads.push(Workload {
            client: 1,
            rate: Rate::PerSecond(100.0),
            read: 0.8,
            write: 0.2,
            ..Workload::default()
        });
        topology
    }

    #[test]
    fn waves_hold_each_node_once_after_all_its_feeders() {
        let compiled = compile(&diamond(), &Params::default());
        let mut waves: Vec<Vec<usize>> = compiled.waves().map(<[usize]>::to_vec).collect();
        for wave in &mut waves {
            wave.sort_unstable();
        }
        // The client, the balancer, the two apps side by side, the database.
        assert_eq!(waves, vec![vec![0], vec![1], vec![2, 3], vec![4]]);
    }

    /// Users → app 2, which calls database 3 and then routes to replica 4; with `second_tier`,
    /// to an app 4 instead, which calls the database too.
    fn calls_then_route(second_tier: bool) -> Topology {
        let database = NodeKind::Database {
            read_capacity_rps: 500.0,
            write_capacity_rps: 200.0,
            max_connections: 1_000,
        };
        let fourth = if second_tier {
            NodeKind::AppServer
        } else {
            NodeKind::ReadReplica
        };
        let mut topology = Topology {
            nodes: vec![
                Node::of_kind(1, NodeKind::Client),
                Node::of_kind(2, NodeKind::AppServer),
                Node::of_kind(3, database),
                Node::of_kind(4, fourth),
            ],
            edges: vec![
                Edge::route(1, 2),
                Edge::of_kind(2, 3, EdgeKind::Call(2)),
                Edge::route(2, 4),
            ],
            ..Topology::default()
        };
        if second_tier {
            topology.edges.push(Edge::of_kind(4, 3, EdgeKind::Call(1)));
        }
        topology.workloads.push(Workload {
            client: 1,
            rate: Rate::PerSecond(100.0),
            read: 1.0,
            write: 0.0,
            ..Workload::default()
        });
        topology
    }

    fn sorted_waves(compiled: &Compiled) -> Vec<Vec<usize>> {
        let mut waves: Vec<Vec<usize>> = compiled.waves().map(<[usize]>::to_vec).collect();
        for wave in &mut waves {
            wave.sort_unstable();
        }
        waves
    }

    #[test]
    fn a_route_after_calls_waits_for_the_node_that_answers_them() {
        let compiled = compile(&calls_then_route(false), &Params::default());
        // The replica's arrivals follow the database's departures: it comes a wave later.
        assert_eq!(compiled.answered_by, vec![None, Some(2), None, None]);
        assert_eq!(
            sorted_waves(&compiled),
            vec![vec![0], vec![1], vec![2], vec![3]]
        );
    }

    #[test]
    fn a_dependence_on_answers_that_would_close_a_loop_is_left_out() {
        // The second app's arrivals would follow the database, which its own calls feed.
        let compiled = compile(&calls_then_route(true), &Params::default());
        assert!(compiled.acyclic);
        assert_eq!(compiled.answered_by, vec![None, Some(2), None, None]);
        // Each node once, after the nodes that feed it: the wires alone order them.
        assert_eq!(
            sorted_waves(&compiled),
            vec![vec![0], vec![1], vec![3], vec![2]]
        );
    }

    #[test]
    fn a_graph_with_a_loop_has_no_waves() {
        let mut topology = diamond();
        topology
            .edges
            .push(Edge::of_kind(5, 3, EdgeKind::Retry(0.5)));
        let compiled = compile(&topology, &Params::default());
        assert!(!compiled.acyclic);
        assert_eq!(compiled.waves().count(), 0);
        // Each class still reaches every node from the client, found once here.
        for reach in &compiled.reach {
            assert_eq!(reach.order.len(), 5);
        }
        assert!(compiled.retries);
    }
}
