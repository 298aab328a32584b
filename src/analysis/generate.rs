//! Generated topologies of any size, for benchmarks and property tests.

use crate::model::{Edge, LbPolicy, Node, NodeKind, Rate, Topology, Workload};

/// A small deterministic pseudo-random generator (SplitMix64), so generated topologies are the
/// same on every run and machine.
#[derive(Clone, Debug)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform whole number in [low, high].
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low + 1)
    }
}

/// The smallest network: a Client sending `rate` req/s of reads to one node of `kind` with
/// `instances` instances of one server each, `capacity_rps` per instance and no fixed latency.
/// Textbook cases (M/M/1, M/M/c, M/M/c/K) and sizing examples start from it.
pub fn station(rate: f64, kind: NodeKind, instances: u32, capacity_rps: f64) -> Topology {
    let mut node = Node::of_kind(2, kind);
    node.instances = instances;
    node.concurrency = 1;
    node.capacity_rps = Some(capacity_rps);
    node.base_latency_ms = 0.0;
    Topology {
        name: "station".into(),
        workloads: vec![Workload {
            name: "w".into(),
            client: 1,
            rate: Rate::PerSecond(rate),
            peak_multiplier: 1.0,
            read: 1.0,
            write: 0.0,
            background: 0.0,
            region: String::new(),
            payload_kb: 0.0,
            arrival_cv: 1.0,
        }],
        nodes: vec![Node::of_kind(1, NodeKind::Client), node],
        edges: vec![Edge::route(1, 2)],
        ..Topology::default()
    }
}

/// A layered architecture of `node_count` nodes: one client, a load balancer, then layers of
/// app servers, caches and databases about √n wide, each node routing to two nodes of the next
/// layer. Every queue has at most 128 servers; capacities are sized for 30–80% utilization.
pub fn layered(node_count: usize, seed: u64) -> Topology {
    let mut rng = SplitMix::new(seed);
    let node_count = node_count.max(3);
    let total_rate = 20_000.0;
    let mut topology = Topology {
        name: format!("generated {node_count} nodes"),
        ..Topology::default()
    };
    topology.nodes.push(Node::of_kind(1, NodeKind::Client));
    let mut balancer = Node::of_kind(
        2,
        NodeKind::LoadBalancer {
            policy: LbPolicy::RoundRobin,
        },
    );
    balancer.capacity_rps = Some(total_rate * 2.0);
    topology.nodes.push(balancer);
    topology.edges.push(Edge::route(1, 2));
    topology.workloads.push(Workload {
        name: "users".into(),
        client: 1,
        rate: Rate::PerSecond(total_rate),
        peak_multiplier: 1.0,
        read: 0.8,
        write: 0.2,
        background: 0.0,
        region: String::new(),
        payload_kb: 0.0,
        arrival_cv: 1.0,
    });
    let remaining = node_count - 2;
    let width = ((remaining as f64).sqrt().ceil() as usize).max(1);
    let mut previous: Vec<u32> = vec![2];
    let mut next_id = 3u32;
    let mut placed = 0;
    let mut layer = 0;
    while placed < remaining {
        let this_width = width.min(remaining - placed);
        let last = placed + this_width >= remaining;
        let per_node = total_rate / this_width as f64;
        let mut current = Vec::with_capacity(this_width);
        for _ in 0..this_width {
            let kind = if last {
                NodeKind::Database {
                    read_capacity_rps: 1.0,
                    write_capacity_rps: 1.0,
                    max_connections: 400,
                }
            } else if layer % 3 == 1 {
                NodeKind::Cache { hit_ratio: 0.0 }
            } else {
                NodeKind::AppServer
            };
            let mut node = Node::of_kind(next_id, kind);
            let instances = rng.between(1, 16) as u32;
            let concurrency = 8;
            let utilization_target = 0.3 + 0.5 * rng.unit();
            let capacity = per_node / instances as f64 / utilization_target;
            node.instances = instances;
            node.concurrency = concurrency;
            node.capacity_rps = Some(capacity);
            if let NodeKind::Database {
                read_capacity_rps,
                write_capacity_rps,
                ..
            } = &mut node.kind
            {
                *read_capacity_rps = capacity;
                *write_capacity_rps = capacity * 0.8;
            }
            topology.nodes.push(node);
            current.push(next_id);
            next_id += 1;
        }
        // Every node of the previous layer routes to two nodes of this one; every node of this
        // layer receives from at least one.
        for (i, &from) in previous.iter().enumerate() {
            let first = current[i % current.len()];
            let second = current[rng.between(0, current.len() as u64 - 1) as usize];
            topology.edges.push(Edge::route(from, first));
            if second != first {
                topology.edges.push(Edge::route(from, second));
            }
        }
        for (j, &to) in current.iter().enumerate().skip(previous.len()) {
            let from = previous[j % previous.len()];
            topology.edges.push(Edge::route(from, to));
        }
        placed += this_width;
        previous = current;
        layer += 1;
    }
    topology.normalize();
    topology
        .edges
        .dedup_by(|a, b| a.from == b.from && a.to == b.to && a.kind == b.kind);
    size_for_utilization(&mut topology, &mut rng);
    topology
}

/// Sets every queueing node's capacity so that, at the workload's rate, its busiest queue runs
/// at a utilization drawn from 30–80%: first solves with unlimited capacity to learn each node's
/// arrival rate.
fn size_for_utilization(topology: &mut Topology, rng: &mut SplitMix) {
    use crate::model::checked::{MAX_CAPACITY, MIN_CAPACITY};
    let mut unlimited = topology.clone();
    for node in &mut unlimited.nodes {
        if node.capacity_rps.is_some() {
            node.capacity_rps = Some(MAX_CAPACITY);
        }
        if let NodeKind::Database {
            read_capacity_rps,
            write_capacity_rps,
            ..
        } = &mut node.kind
        {
            *read_capacity_rps = MAX_CAPACITY;
            *write_capacity_rps = MAX_CAPACITY;
        }
    }
    let params = crate::Params {
        class_percentiles: false,
        ..crate::Params::default()
    };
    let Ok(report) = crate::solve(&unlimited, &params) else {
        return;
    };
    for (node, figures) in topology.nodes.iter_mut().zip(&report.nodes) {
        if node.capacity_rps.is_none() || figures.arrival_rps <= 0.0 {
            continue;
        }
        let target = 0.3 + 0.5 * rng.unit();
        let capacity = (figures.arrival_rps / f64::from(node.instances) / target)
            .clamp(MIN_CAPACITY, MAX_CAPACITY);
        node.capacity_rps = Some(capacity);
        if let NodeKind::Database {
            read_capacity_rps,
            write_capacity_rps,
            ..
        } = &mut node.kind
        {
            *read_capacity_rps = capacity;
            *write_capacity_rps = capacity;
        }
    }
}
