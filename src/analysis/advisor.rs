//! The stage advisor: from a solved report, which scaling trigger fired and what to do next,
//! in plain words (the eight-stage staircase of reference article 000).

use crate::model::{NodeKind, Topology};
use crate::solver::region_rtt;
use crate::solver::report::Report;
use serde::Serialize;

/// Utilization at which a tier should grow (article 000: "CPU above 70% sustained").
pub const TRIGGER_UTILIZATION: f64 = 0.7;
/// Median latency for distant users that calls for another region (article 000, stage 8).
pub const DISTANT_P50_MS: f64 = 100.0;
/// Round trip that makes users "distant" from the servers they reach.
pub const DISTANT_RTT_MS: f64 = 50.0;
/// A synchronous downstream this slow is better behind a queue.
pub const SLOW_DOWNSTREAM_MS: f64 = 50.0;

/// One piece of advice.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Advice {
    /// The metric that fired, with its value.
    pub trigger: String,
    /// What to do about it.
    pub next_move: String,
    /// The staircase stage that move corresponds to, if any.
    pub stage: Option<u8>,
}

/// Advice for `topology` given its `report`, most urgent first. Empty when nothing fired.
pub fn advise(topology: &Topology, report: &Report) -> Vec<Advice> {
    let mut advice = Vec::new();
    // Distant users: a class whose median is over 100 ms and whose first hop is far away.
    for workload in &topology.workloads {
        let Some(client) = topology.node(workload.client) else {
            continue;
        };
        let farthest = topology
            .edges
            .iter()
            .filter(|e| e.from == client.id)
            .filter_map(|e| topology.node(e.to))
            .map(|first| region_rtt(topology, &client.region, &first.region) * 1000.0)
            .fold(0.0, f64::max);
        let slow = report
            .classes
            .iter()
            .filter(|c| c.workload == workload.name)
            .map(|c| c.latency_ms.p50)
            .fold(0.0, f64::max);
        if farthest >= DISTANT_RTT_MS && slow > DISTANT_P50_MS {
            advice.push(Advice {
                trigger: format!(
                    "p50 for \"{}\" is {slow:.0} ms, with a {farthest:.0} ms round trip to the servers",
                    workload.name
                ),
                next_move: "Serve these users from a region near them (multi-region, GeoDNS)."
                    .into(),
                stage: Some(8),
            });
        }
    }
    if let Some(bottleneck) = &report.bottleneck {
        if bottleneck.utilization >= TRIGGER_UTILIZATION {
            if let Some(node) = topology.node(bottleneck.id) {
                advice.push(for_bottleneck(topology, node, bottleneck.utilization));
            }
        }
    }
    for database in &topology.nodes {
        if let Some(demand) = crate::solver::connection_demand(topology, database) {
            advice.push(Advice {
                trigger: demand,
                next_move: "Put a connection pooler (PgBouncer) in front of the database, sized \
                            to its max_connections."
                    .into(),
                stage: None,
            });
        }
    }
    advice.extend(for_downtime(topology, report));
    for node in &report.nodes {
        let Some(model) = topology.node(node.id) else {
            continue;
        };
        let is_database = matches!(
            model.kind,
            NodeKind::Database { .. } | NodeKind::ReadReplica | NodeKind::ShardGroup { .. }
        );
        if is_database && node.latency_ms.p99 >= 80.0 && node.arrival_rps > 0.0 {
            advice.push(Advice {
                trigger: format!(
                    "{} p99 is {:.0} ms, approaching 100 ms",
                    node.name, node.latency_ms.p99
                ),
                next_move: "Take load off the database: cache hot reads, add replicas, or shard."
                    .into(),
                stage: None,
            });
        }
    }
    advice
}

/// Downtime a month a single part must cost before the advisor names it (an hour).
pub const NOTABLE_DOWNTIME_MIN: f64 = 60.0;

/// The node or region that costs one class the most downtime, when that is at least
/// [`NOTABLE_DOWNTIME_MIN`] a month.
fn for_downtime(topology: &Topology, report: &Report) -> Option<Advice> {
    let (class, part) = report
        .classes
        .iter()
        .filter_map(|class| class.downtime_by_part.first().map(|part| (class, part)))
        .max_by(|a, b| a.1.min_per_month.total_cmp(&b.1.min_per_month))?;
    let minutes = part.min_per_month;
    if minutes < NOTABLE_DOWNTIME_MIN {
        return None;
    }
    let node = part.id.and_then(|id| topology.node(id));
    let single = node.is_some_and(|n| n.instances == 1);
    let (what, next_move) = match node {
        Some(node) if single => (
            format!("the single {}", node.name),
            "Add a standby or a second instance so that one failure does not stop requests."
                .to_string(),
        ),
        Some(node) => (
            node.name.clone(),
            "Add spare instances beyond what the load needs, or more replicas.".to_string(),
        ),
        None => (
            part.name.clone(),
            "Run the stack in a second region and fail over to it (GeoDNS).".to_string(),
        ),
    };
    Some(Advice {
        trigger: format!(
            "{what} costs {} a month of downtime for {} (availability {:.3}%)",
            duration_words(minutes),
            class.name,
            class.availability * 100.0
        ),
        next_move,
        stage: None,
    })
}

/// Minutes as "42 min" or "3.6 h".
pub fn duration_words(minutes: f64) -> String {
    if minutes >= 60.0 {
        format!("{:.1} h", minutes / 60.0)
    } else if minutes >= 1.0 {
        format!("{minutes:.0} min")
    } else {
        format!("{:.0} s", minutes * 60.0)
    }
}

fn for_bottleneck(topology: &Topology, node: &crate::model::Node, utilization: f64) -> Advice {
    let percent = utilization * 100.0;
    let has = |wanted: fn(&NodeKind) -> bool| topology.nodes.iter().any(|n| wanted(&n.kind));
    let has_database =
        has(|k| matches!(k, NodeKind::Database { .. } | NodeKind::ShardGroup { .. }));
    let has_cache = has(|k| matches!(k, NodeKind::Cache { .. }));
    let has_replicas = has(|k| *k == NodeKind::ReadReplica);
    let (trigger, next_move, stage) = match &node.kind {
        NodeKind::Service if !has_database && node.base_latency_ms < SLOW_DOWNSTREAM_MS => (
            format!(
                "{} runs at {percent:.0}% with the app and database on one host",
                node.name
            ),
            "Move the database to its own server so they stop competing for CPU and disk.",
            Some(2),
        ),
        NodeKind::Service | NodeKind::ExternalService
            if node.base_latency_ms >= SLOW_DOWNSTREAM_MS =>
        {
            (
                format!(
                    "{} ({:.0} ms per call) is at {percent:.0}% and every request waits for it",
                    node.name, node.base_latency_ms
                ),
                "Put this work behind a queue and let workers drain it at the downstream's pace.",
                Some(7),
            )
        }
        NodeKind::Database { .. } if !has_cache => (
            format!("{} is at {percent:.0}%, serving repeated reads", node.name),
            "Add a cache in front of the database: a 90% hit ratio removes 90% of reads.",
            Some(3),
        ),
        NodeKind::Database { .. } if !has_replicas => (
            format!(
                "{} is at {percent:.0}% with reads and writes on one primary",
                node.name
            ),
            "Add read replicas and send cache misses there; keep writes on the primary.",
            Some(5),
        ),
        NodeKind::Database { .. } => (
            format!(
                "write QPS on {} is at {percent:.0}% of one primary's ceiling",
                node.name
            ),
            "Shard the data so writes spread over several primaries.",
            Some(6),
        ),
        NodeKind::AppServer if node.instances == 1 => (
            format!(
                "CPU on the single app server {} is at {percent:.0}%",
                node.name
            ),
            "Put a load balancer in front of several stateless app servers.",
            Some(4),
        ),
        NodeKind::AppServer => (
            format!("CPU on {} is at {percent:.0}%", node.name),
            "Add app servers (or autoscale), or split the traffic across regions.",
            None,
        ),
        NodeKind::ReadReplica => (
            format!("read replicas {} are at {percent:.0}%", node.name),
            "Add replicas or raise the cache hit ratio.",
            None,
        ),
        NodeKind::ShardGroup { .. } => (
            format!("the busiest shard of {} is at {percent:.0}%", node.name),
            "Add shards, or spread the hot keys.",
            None,
        ),
        _ => (
            format!("{} is at {percent:.0}%", node.name),
            "Add capacity to this tier.",
            None,
        ),
    };
    Advice {
        trigger,
        next_move: next_move.to_string(),
        stage,
    }
}
