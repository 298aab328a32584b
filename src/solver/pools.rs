//! Connection pools: the wait for a database connection, moved from the database to the nodes
//! whose pools hold the connections, and the warning when more connections are wanted than allowed.

use super::compile::{Compiled, PoolGroup};
use super::stations::NodeResult;
use super::stations::{class_weights, node_percentiles};
use super::traffic::pool_inputs;
use super::traffic::Flows;
use crate::model::EdgeKind;
use crate::model::NodeKind;
use crate::model::Topology;
use crate::solver::queueing::split_at_connections;
use crate::solver::queueing::{PoolInput, PoolSolution, WaitDist};
use crate::solver::report::Latency;
use num_complex::Complex64;

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
pub(super) fn connection_demand_from<'a>(
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

/// The waits for a database connection that a node's requests make at the pool it holds:
/// `visits` per request on average, each drawn from the mixture `mix` (weight, wait).
#[derive(Clone, Debug, Default)]
pub(super) struct HeldPoolWait {
    pub(super) visits: f64,
    pub(super) mix: Vec<(f64, WaitDist)>,
}

impl HeldPoolWait {
    /// Transform of the total wait: ⌊visits⌋ waits, and one more with the fractional part's
    /// probability (exact for a fixed number of independent visits).
    pub(super) fn lst(&self, s: Complex64) -> Complex64 {
        let one_visit: Complex64 = self.mix.iter().map(|(w, dist)| dist.lst(s) * *w).sum();
        let (whole, fraction) = self.split_visits();
        one_visit.powi(whole) * (one_visit * fraction + (1.0 - fraction))
    }

    /// Probability of not waiting at all.
    pub(super) fn zero_mass(&self) -> f64 {
        let one_visit: f64 = self.mix.iter().map(|(w, dist)| w * dist.zero_mass()).sum();
        let (whole, fraction) = self.split_visits();
        one_visit.powi(whole) * (one_visit * fraction + (1.0 - fraction))
    }

    pub(super) fn split_visits(&self) -> (i32, f64) {
        let whole = self.visits.floor().clamp(0.0, 1e6);
        (whole as i32, (self.visits - whole).clamp(0.0, 1.0))
    }
}

/// Requests per second that pool holder `holder` sends to `database`: directly, and through
/// the caches between them (their misses, in proportion to what the holder sends each cache).
pub(super) fn sent_through_caches(
    compiled: &Compiled,
    flows: &Flows,
    holder: usize,
    database: usize,
) -> f64 {
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
pub(super) fn flow_between(compiled: &Compiled, flows: &Flows, from: usize, to: usize) -> f64 {
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
pub(super) const NEGLIGIBLE_CONNECTION_WAIT_S: f64 = 1e-6;

/// How a node is shown once waits for a connection are moved to the pools that hold them.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Shown {
    /// Requests waiting for a connection, moved here (a pool holder) or away (a database).
    pub(super) queue_delta: f64,
    /// Mean wait for a connection per request served here, in seconds (pool holders).
    pub(super) connection_wait: f64,
    /// Response time with the move applied (`None`: unchanged).
    pub(super) latency: Option<Latency>,
}

/// Moves the part of each database's wait that is spent waiting for a connection (see
/// [`split_at_connections`]) from the database to the nodes whose pools hold its connections,
/// in proportion to the traffic each sends it. Queue lengths move with Little's law
/// (L = λ·W on both sides), so totals and end-to-end figures do not change: only where the
/// wait is shown does.
pub(super) fn attribute_connection_waits(
    compiled: &Compiled,
    flows: &Flows,
    results: &[NodeResult],
    horizon: f64,
) -> Vec<Shown> {
    let class_count = compiled.classes.len();
    let mut moves = ConnectionMoves::new(compiled.nodes.len());
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
        let split = DatabaseSplit::of(&flows.pools[v], &node.groups, &inputs, result, slots);
        if split.pool_queue.is_nan() || split.pool_queue <= 0.0 {
            continue;
        }
        moves.move_to_holders(compiled, flows, results, v, split);
    }
    moves.shown(compiled, flows, results)
}

/// A database's wait split at its connections ([`split_at_connections`]), group by group.
struct DatabaseSplit {
    /// Requests waiting for a connection: each group's carried rate times its mean wait for
    /// one, summed.
    pool_queue: f64,
    /// The wait for a connection, each group's weighted by the share of the requests it serves.
    pool_mix: Vec<(f64, WaitDist)>,
    /// Each group's weight, the part of its wait spent inside the database, and its whole wait.
    split_waits: Vec<(f64, WaitDist, WaitDist)>,
}

impl DatabaseSplit {
    /// The waits of the database's queue groups (`groups`, solved as `pools`, fed as `inputs`,
    /// together serving as `result`), each split with `slots` waiting places inside.
    fn of(
        pools: &[PoolSolution],
        groups: &[PoolGroup],
        inputs: &[PoolInput],
        result: &NodeResult,
        slots: u64,
    ) -> DatabaseSplit {
        let mut pool_queue = 0.0;
        let mut pool_mix = Vec::new();
        let mut split_waits = Vec::new();
        for ((pool, group), input) in pools.iter().zip(groups).zip(inputs) {
            let carried = pool.throughput * group.count as f64;
            let weight = carried / result.throughput;
            let capacity = group.servers as f64 / input.mean_service;
            let split = split_at_connections(pool, capacity, slots);
            pool_queue += carried * split.pool.mean();
            pool_mix.push((weight, split.pool));
            split_waits.push((weight, split.database, pool.wait.clone()));
        }
        DatabaseSplit {
            pool_queue,
            pool_mix,
            split_waits,
        }
    }
}

/// The waits for a connection moved so far ([`attribute_connection_waits`]), per node: how it
/// is shown, the waits at the pools it holds, the wait left inside it (a database), and
/// whether its percentiles change visibly (and are inverted again).
struct ConnectionMoves {
    shown: Vec<Shown>,
    held: Vec<Vec<HeldPoolWait>>,
    inside_waits: Vec<Option<Vec<(f64, WaitDist)>>>,
    reshape: Vec<bool>,
}

impl ConnectionMoves {
    /// Nothing moved yet among `node_count` nodes.
    fn new(node_count: usize) -> ConnectionMoves {
        ConnectionMoves {
            shown: vec![Shown::default(); node_count],
            held: vec![Vec::new(); node_count],
            inside_waits: vec![None; node_count],
            reshape: vec![false; node_count],
        }
    }

    /// Moves database `v`'s wait for a connection (`split`) to its pool holders, each its
    /// share of the traffic the database receives; the database keeps the rest of its wait.
    fn move_to_holders(
        &mut self,
        compiled: &Compiled,
        flows: &Flows,
        results: &[NodeResult],
        v: usize,
        split: DatabaseSplit,
    ) {
        let result = &results[v];
        let DatabaseSplit {
            pool_queue,
            pool_mix,
            split_waits,
        } = split;
        let mean_pool_wait = pool_queue / result.throughput;
        // Below a microsecond the move changes no percentile shown: the means and queue
        // lengths move (exactly), but the percentiles are not inverted again (that costs a
        // transform inversion per node).
        let visible = mean_pool_wait >= NEGLIGIBLE_CONNECTION_WAIT_S;
        let mut held_share = 0.0;
        for &holder in &compiled.nodes[v].pool_holders {
            let sent = sent_through_caches(compiled, flows, holder, v);
            let holder_throughput = results[holder].throughput;
            if sent.is_nan() || sent <= 0.0 || holder_throughput <= 0.0 {
                continue;
            }
            let share = sent / result.arrival;
            held_share += share;
            let moved = share * pool_queue;
            self.shown[holder].queue_delta += moved;
            self.shown[holder].connection_wait += moved / holder_throughput;
            self.reshape[holder] |= visible;
            self.held[holder].push(HeldPoolWait {
                visits: moved / (holder_throughput * mean_pool_wait),
                mix: pool_mix.clone(),
            });
        }
        let held_share: f64 = held_share.min(1.0);
        self.shown[v].queue_delta -= held_share * pool_queue;
        self.reshape[v] |= visible;
        self.inside_waits[v] = Some(inside_waits(split_waits, held_share));
    }

    /// How each node is shown once the moves are done: its mean moved with its queue, and its
    /// percentiles inverted again where the move is visible.
    fn shown(mut self, compiled: &Compiled, flows: &Flows, results: &[NodeResult]) -> Vec<Shown> {
        let class_count = compiled.classes.len();
        for (v, node) in compiled.nodes.iter().enumerate() {
            let result = &results[v];
            if self.shown[v].queue_delta == 0.0 || result.throughput <= 0.0 {
                continue;
            }
            let arrivals = &flows.arrivals[v * class_count..(v + 1) * class_count];
            let class_weights = class_weights(arrivals, result.arrival);
            let mean = result.latency.mean + self.shown[v].queue_delta / result.throughput;
            if !self.reshape[v] {
                self.shown[v].latency = Some(Latency {
                    mean,
                    ..result.latency
                });
                continue;
            }
            let waits = self.inside_waits[v].as_deref().unwrap_or(&result.waits);
            self.shown[v].latency = Some(node_percentiles(
                node,
                &class_weights,
                waits,
                mean,
                &self.held[v],
            ));
        }
        self.shown
    }
}

/// A database's wait once the share `held_share` of its waits for a connection is shown at
/// the pool holders: for each group (weight, inside, whole) of `split_waits`, that share waits
/// only inside the database, the rest the whole wait.
fn inside_waits(
    split_waits: Vec<(f64, WaitDist, WaitDist)>,
    held_share: f64,
) -> Vec<(f64, WaitDist)> {
    split_waits
        .into_iter()
        .flat_map(|(weight, inside, whole)| {
            [
                (weight * held_share, inside),
                (weight * (1.0 - held_share), whole),
            ]
        })
        .filter(|(weight, _)| *weight > 0.0)
        .collect()
}
