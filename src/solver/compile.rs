//! Compiling a topology into flat, indexed form: request classes, each node's queues and
//! connection limits, per-class routing shares on every wire, and a topological order.

use super::Params;
use crate::model::ClassKind;
use crate::model::EdgeKind;
use crate::model::LbPolicy;
use crate::model::NodeKind;
use crate::model::Topology;
use crate::solver::queueing::ServiceShape;
use std::collections::HashMap;

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
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Source {
    Served,
    Dropped,
}

/// A flow into a node: the `edge`-th out edge of node `from`.
#[derive(Clone, Copy, Debug)]
pub(super) struct InFlow {
    pub(super) from: usize,
    pub(super) edge: usize,
}

#[derive(Clone, Debug)]
pub(super) struct OutEdge {
    /// Position of the wire in the topology's edge list.
    pub(super) index: usize,
    pub(super) to: usize,
    /// Served traffic (route and call edges) or dropped traffic (retry edges).
    pub(super) source: Source,
    /// Per class: share of served traffic routed (Route), calls per served request (Call), or
    /// fraction of drops sent again (Retry).
    pub(super) factors: Vec<f64>,
    pub(super) is_call: bool,
    pub(super) count: u32,
    pub(super) rtt: f64,
    /// Per class, when the round trip depends on who sends the request: out of a DNS node
    /// with no region, the hop goes from the users (the class's client) to the server the
    /// name resolves to, not from the DNS node.
    pub(super) class_rtt: Option<Vec<f64>>,
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
    pub(super) service: Option<Vec<f64>>,
    pub(super) shape: ServiceShape,
    pub(super) buffer: Option<u64>,
    pub(super) groups: Vec<PoolGroup>,
    pub(super) base: f64,
    /// Per class: fraction of served requests that finish here.
    pub(super) finish: Vec<f64>,
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
    pub(super) standby: Vec<Vec<usize>>,
}

pub(super) struct Compiled {
    pub(super) classes: Vec<Class>,
    /// Per node: the nodes wired to it by routes and calls (one entry per wire).
    pub(super) feeders: Vec<Vec<usize>>,
    pub(super) nodes: Vec<CompiledNode>,
    pub(super) in_flows: Vec<Vec<InFlow>>,
    pub(super) out_edges: Vec<Vec<OutEdge>>,
    pub(super) order: Vec<usize>,
    pub(super) acyclic: bool,
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

pub(super) fn compile(topology: &Topology, params: &Params) -> Compiled {
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
                    arrival_cv: workload.arrival_cv,
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
                    index: e,
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
