//! The verdict on a solved network: the bottleneck, its headroom, and the warnings.

use super::compile::Compiled;
use super::stations::NodeResult;
use crate::model::Topology;
use crate::solver::report::Bottleneck;

/// Which nodes some client waits for: reachable from a client along routes and calls without
/// passing through a queue (the queue itself is synchronous: it acknowledges the request).
pub(super) fn synchronous_nodes(compiled: &Compiled) -> Vec<bool> {
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

/// A warning for each class that has no route out of its client: all its requests fail.
pub(super) fn unrouted_classes(topology: &Topology, compiled: &Compiled) -> Vec<String> {
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
    warnings
}

/// The bottlenecks of a solved network and their headroom (how far the load can be scaled
/// before they saturate).
pub(super) struct Bottlenecks {
    pub(super) bottleneck: Option<Bottleneck>,
    pub(super) headroom: Option<f64>,
    pub(super) async_bottleneck: Option<Bottleneck>,
    pub(super) async_headroom: Option<f64>,
}

impl Bottlenecks {
    /// The highest offered utilization under linear scaling of the load, among the nodes on a
    /// synchronous path (a client waits for them). Nodes reached only behind a queue turn an
    /// overload into backlog, not latency: they are named separately.
    pub(super) fn find(
        topology: &Topology,
        compiled: &Compiled,
        results: &[NodeResult],
    ) -> Bottlenecks {
        let synchronous = synchronous_nodes(compiled);
        let pick = |sync: bool| -> Option<(usize, f64)> {
            let mut best: Option<(usize, f64)> = None;
            for (v, result) in results.iter().enumerate() {
                // A load so small that 1/saturation overflows names no bottleneck: its
                // headroom would be infinite.
                if synchronous[v] == sync
                    && result.saturation > best.map_or(0.0, |(_, u)| u)
                    && (1.0 / result.saturation).is_finite()
                {
                    best = Some((v, result.saturation));
                }
            }
            best
        };
        let describe = |(v, utilization): (usize, f64)| describe(topology, results, v, utilization);
        let (sync_pick, async_pick) = (pick(true), pick(false));
        Bottlenecks {
            headroom: sync_pick.map(|(_, utilization)| 1.0 / utilization),
            async_headroom: async_pick.map(|(_, utilization)| 1.0 / utilization),
            bottleneck: sync_pick.map(describe),
            async_bottleneck: async_pick.map(describe),
        }
    }
}

/// Names node `v` as a bottleneck at `utilization`, saying why.
fn describe(topology: &Topology, results: &[NodeResult], v: usize, utilization: f64) -> Bottleneck {
    let node = &topology.nodes[v];
    let result = &results[v];
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
}
