//! The solver's compiled network, opened up for the simulator: the same classes, queues,
//! routing shares, calls, retries and delays the solver works from, so a simulation checks
//! exactly what the model computes.

use super::compile::{compile_indexed, Compiled, Source};
use super::traffic::check_loops;
use crate::model::{LbPolicy, NodeKind, ServiceFamily, Topology};
use crate::solver::{Params, SolveError};

/// How a node picks one of several places to send a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// At random, in proportion to the shares (weighted, IP hash, shard keys).
    Random,
    /// In turn, every k-th request to the same place (a true round robin).
    Cyclic,
}

/// One request class: a workload's reads, writes or background jobs.
#[derive(Clone, Debug)]
pub struct NetClass {
    /// `workload/class`, as in the report.
    pub name: String,
    /// Index of the client node the requests enter at.
    pub client: usize,
    /// Index of its workload in the topology (a workload's classes share its arrivals).
    pub workload: usize,
    /// Arrival rate at the solved load, requests per second.
    pub rate: f64,
    /// Coefficient of variation of the time between arrivals (1 Poisson, 0 evenly spaced,
    /// gamma otherwise).
    pub arrival_cv: f64,
}

/// A set of identical queues inside a node.
#[derive(Clone, Copy, Debug)]
pub struct NetGroup {
    /// How many queues.
    pub count: u64,
    /// Fraction of the node's arrivals each of them receives.
    pub share: f64,
    /// Servers in each.
    pub servers: u64,
}

/// A wire out of a node, for every class.
#[derive(Clone, Debug)]
pub struct NetEdge {
    pub to: usize,
    /// Carries dropped requests (a retry edge): `factors` is the share of drops sent again.
    pub retry: bool,
    /// A call edge: `count` sequential calls per served request.
    pub call: bool,
    pub count: u32,
    /// Per class: routing share (route), calls per request (call) or retried share (retry).
    pub factors: Vec<f64>,
    /// Per class: round trip of the hop, seconds.
    pub rtt: Vec<f64>,
}

/// One node as the solver models it.
#[derive(Clone, Debug)]
pub struct NetNode {
    /// Per-class mean service time, seconds (`None`: a pure delay, no queue).
    pub service: Option<Vec<f64>>,
    /// Coefficient of variation of the service time.
    pub service_cv: f64,
    /// The node's service-time family (gamma: the simulation's own choice applies).
    pub service_family: ServiceFamily,
    /// Waiting places beyond the servers in each queue (`None`: unlimited).
    pub buffer: Option<u64>,
    pub groups: Vec<NetGroup>,
    /// Delay added to every visit, seconds (its mean when `base_cv` is above 0).
    pub base: f64,
    /// Coefficient of variation of the delay (0 constant, else gamma distributed).
    pub base_cv: f64,
    /// Per class: share of served requests answered here.
    pub finish: Vec<f64>,
    /// A queue: acknowledges at once, the downstream work runs detached.
    pub detaches: bool,
    /// Under a connection limit: requests beyond the servers that may hold a connection.
    pub connection_slots: Option<u64>,
    /// Nodes whose pools hold the connections.
    pub pool_holders: Vec<usize>,
    /// How route edges are chosen.
    pub route_split: Split,
    /// How one of the node's identical queues is chosen.
    pub instance_split: Split,
    pub edges: Vec<NetEdge>,
}

/// How node `v` picks among its route edges: in turn behind a round-robin balancer.
pub(super) fn route_split(topology: &Topology, v: usize) -> Split {
    if topology.nodes[v].kind
        == (NodeKind::LoadBalancer {
            policy: LbPolicy::RoundRobin,
        })
    {
        Split::Cyclic
    } else {
        Split::Random
    }
}

/// How node `v` picks one of its identical queues: in turn when it has one group of several
/// and every node feeding it is a round-robin balancer, else at random.
pub(super) fn instance_split(topology: &Topology, compiled: &Compiled, v: usize) -> Split {
    let node = &compiled.nodes[v];
    let feeders = &compiled.feeders[v];
    let single_group = node.groups.len() == 1 && node.groups[0].count > 1;
    if single_group
        && !feeders.is_empty()
        && feeders
            .iter()
            .all(|&u| route_split(topology, u) == Split::Cyclic)
    {
        Split::Cyclic
    } else {
        Split::Random
    }
}

/// The compiled network of `topology` at `params`.
#[derive(Clone, Debug)]
pub struct Network {
    pub classes: Vec<NetClass>,
    pub nodes: Vec<NetNode>,
}

/// Compiles `topology` exactly as [`crate::solver::solve`] does, with the same checks (an
/// invalid topology, a bad load or a multiplying loop is an error).
pub fn network(topology: &Topology, params: &Params) -> Result<Network, SolveError> {
    let index = topology.validated_index()?;
    if !(params.load_multiplier.is_finite() && (0.0..=1e6).contains(&params.load_multiplier)) {
        return Err(SolveError::BadLoad(params.load_multiplier));
    }
    let compiled = compile_indexed(topology, &index, params);
    check_loops(topology, &compiled, topology.settings.overload_horizon_s)?;
    let class_count = compiled.classes.len();
    let classes = compiled
        .classes
        .iter()
        .map(|class| NetClass {
            name: format!("{}/{}", class.workload, class.kind.label()),
            client: class.client,
            workload: topology
                .workloads
                .iter()
                .position(|workload| workload.name == class.workload)
                .unwrap_or(usize::MAX),
            rate: class.rate,
            arrival_cv: class.arrival_cv,
        })
        .collect();
    let nodes = compiled
        .nodes
        .iter()
        .enumerate()
        .map(|(v, node)| {
            let instance_split = instance_split(topology, &compiled, v);
            NetNode {
                service: node.service.as_deref().map(<[f64]>::to_vec),
                service_cv: topology.nodes[v].service_cv,
                service_family: topology.nodes[v].service_family,
                buffer: node.buffer,
                groups: node
                    .groups
                    .iter()
                    .map(|g| NetGroup {
                        count: g.count,
                        share: g.share,
                        servers: g.servers,
                    })
                    .collect(),
                base: node.base,
                base_cv: node.base_cv,
                finish: node.finish.to_vec(),
                detaches: node.detaches,
                connection_slots: node.connection_slots,
                pool_holders: node.pool_holders.clone(),
                route_split: route_split(topology, v),
                instance_split,
                edges: compiled.out_edges[v]
                    .iter()
                    .map(|edge| NetEdge {
                        to: edge.to,
                        retry: edge.source == Source::Dropped,
                        call: edge.is_call,
                        count: edge.count,
                        factors: edge.factors.to_vec(),
                        rtt: (0..class_count).map(|k| edge.rtt(k)).collect(),
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(Network { classes, nodes })
}
