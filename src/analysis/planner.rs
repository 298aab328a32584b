//! The SLO planner: the cheapest instance counts that carry a target request rate with every
//! request class's p99 under a goal, found by solving the model (grow the tier that queues
//! most, then trim every tier back while the goal still holds).

use crate::model::catalog::Catalog;
use crate::model::{NodeId, Topology};
use crate::solver::report::Report;
use crate::solver::{solve, Params, SolveError};
use serde::Serialize;

/// What the plan must achieve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Goal {
    /// Offered requests per second (all workloads together, at peak).
    pub rps: f64,
    /// Highest acceptable p99 of any request class, ms.
    pub p99_ms: f64,
}

/// One tier's instance count in the plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanRow {
    pub id: NodeId,
    pub name: String,
    pub tier: String,
    pub instances_before: u32,
    pub instances: u32,
    pub monthly_cost_usd: f64,
}

/// The planner's answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    pub load_multiplier: f64,
    pub met: bool,
    /// Why the goal cannot be met, when it cannot.
    pub reason: Option<String>,
    pub worst_p99_ms: f64,
    pub monthly_cost_usd: f64,
    pub rows: Vec<PlanRow>,
}

/// Why planning failed before it could start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "the goal must have a positive request rate and p99, found {rps} req/s and {p99_ms} ms"
    )]
    BadGoal { rps: f64, p99_ms: f64 },
    #[error("the topology has no traffic to scale (no workload, or a rate of 0)")]
    NoTraffic,
    #[error(transparent)]
    Solve(#[from] SolveError),
}

/// Most model solves one plan may use.
const MAX_SOLVES: usize = 4_000;
/// Growth steps over which p99 must improve by 0.1% for growing to continue.
const STALL_STEPS: usize = 10;

fn meets(report: &Report, goal: &Goal) -> bool {
    let stable = |h: Option<f64>| h.is_none_or(|h| h >= 1.0);
    stable(report.headroom)
        && stable(report.async_headroom)
        && report.dropped_rps <= 1e-9 * report.offered_rps.max(1.0)
        && report.worst_p99_ms() <= goal.p99_ms
}

/// The node to grow next: an unstable bottleneck first, else the node whose queueing delay
/// weighs most on the average request (mean wait × visits per request).
fn node_to_grow(topology: &Topology, report: &Report) -> Option<usize> {
    for (bottleneck, headroom) in [
        (&report.bottleneck, report.headroom),
        (&report.async_bottleneck, report.async_headroom),
    ] {
        if let (Some(b), Some(h)) = (bottleneck, headroom) {
            if h < 1.0 {
                return topology.nodes.iter().position(|n| n.id == b.id);
            }
        }
    }
    let offered = report.offered_rps.max(1e-300);
    report
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.throughput_rps > 0.0 && (n.queue_len > 1e-9 || n.dropped_rps > 0.0))
        .map(|(index, n)| {
            let wait = n.queue_len / n.throughput_rps;
            let weight = wait * n.throughput_rps / offered + n.dropped_rps;
            (index, weight)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(index, _)| index)
}

/// Plans `topology` for `goal`: starts every queueing tier at one instance, grows the tier
/// that limits the goal until it holds, then trims each tier (most expensive first) while it
/// still holds. Instance counts are per shard for shard groups.
pub fn plan(topology: &Topology, goal: &Goal, catalog: &Catalog) -> Result<Plan, PlanError> {
    if !(goal.rps > 0.0 && goal.rps.is_finite() && goal.p99_ms > 0.0 && goal.p99_ms.is_finite()) {
        return Err(PlanError::BadGoal {
            rps: goal.rps,
            p99_ms: goal.p99_ms,
        });
    }
    let base = solve(
        topology,
        &Params {
            class_percentiles: false,
            ..Params::default()
        },
    )?;
    if base.offered_rps <= 0.0 {
        return Err(PlanError::NoTraffic);
    }
    let load_multiplier = goal.rps / base.offered_rps;
    let params = Params {
        load_multiplier,
        ..Params::default()
    };
    let mut candidate = topology.clone();
    for node in &mut candidate.nodes {
        if node.capacity_rps.is_some() {
            node.instances = 1;
        }
    }
    let mut solves = 0;
    let report = solve(&candidate, &params)?;
    let (mut report, reason) = grow(&mut candidate, report, (&params, goal), &mut solves)?;
    let met = reason.is_none();
    if met {
        report = trim(
            &mut candidate,
            report,
            (&params, goal),
            catalog,
            &mut solves,
        )?;
    }
    let rows = candidate
        .nodes
        .iter()
        .zip(&topology.nodes)
        .zip(&report.nodes)
        .filter(|((planned, _), _)| planned.capacity_rps.is_some())
        .map(|((planned, original), figures)| PlanRow {
            id: planned.id,
            name: planned.name.clone(),
            tier: planned.tier().to_string(),
            instances_before: original.instances,
            instances: planned.instances,
            monthly_cost_usd: figures.monthly_cost_usd,
        })
        .collect();
    Ok(Plan {
        load_multiplier,
        met,
        reason,
        worst_p99_ms: report.worst_p99_ms(),
        monthly_cost_usd: report.monthly_cost_usd,
        rows,
    })
}

/// Grows the tier that limits the goal, a tenth at a time, until `report` meets it; gives the
/// last report and, when the goal cannot be met, why.
fn grow(
    candidate: &mut Topology,
    mut report: Report,
    (params, goal): (&Params, &Goal),
    solves: &mut usize,
) -> Result<(Report, Option<String>), PlanError> {
    let mut reason = None;
    // p99 a number of steps ago, to notice when adding capacity no longer helps.
    let mut recent_p99: std::collections::VecDeque<f64> = std::collections::VecDeque::new();
    while !meets(&report, goal) {
        *solves += 1;
        let stable = report.headroom.is_none_or(|h| h >= 1.0)
            && report.async_headroom.is_none_or(|h| h >= 1.0);
        recent_p99.push_back(report.worst_p99_ms());
        if recent_p99.len() > STALL_STEPS {
            recent_p99.pop_front();
        }
        let stalled = stable
            && recent_p99.len() == STALL_STEPS
            && recent_p99
                .front()
                .is_some_and(|first| first - report.worst_p99_ms() <= 1e-3 * first);
        let Some(index) =
            node_to_grow(candidate, &report).filter(|_| *solves < MAX_SOLVES && !stalled)
        else {
            reason = Some(format!(
                "p99 stays at {:.1} ms: fixed latencies and service times, not queueing, \
                 exceed the goal (or the search limit was reached)",
                report.worst_p99_ms()
            ));
            break;
        };
        let node = &mut candidate.nodes[index];
        let step = (node.instances / 10).max(1);
        if node.instances >= 100_000 {
            reason = Some(format!(
                "{} would need more than 100,000 instances",
                node.name
            ));
            break;
        }
        node.instances = (node.instances + step).min(100_000);
        report = solve(candidate, params)?;
    }
    Ok((report, reason))
}

/// Takes instances away, most expensive tier first and one at a time, while the goal holds;
/// gives the report of the trimmed candidate.
fn trim(
    candidate: &mut Topology,
    mut report: Report,
    (params, goal): (&Params, &Goal),
    catalog: &Catalog,
    solves: &mut usize,
) -> Result<Report, PlanError> {
    // Trim: most expensive tiers first, one instance at a time while the goal holds.
    let mut order: Vec<usize> = (0..candidate.nodes.len())
        .filter(|&i| candidate.nodes[i].capacity_rps.is_some())
        .collect();
    order.sort_by(|&a, &b| {
        let price = |i: usize| {
            catalog
                .hourly(
                    &candidate.nodes[i].instance_type,
                    candidate.nodes[i].pricing,
                )
                .unwrap_or(0.0)
        };
        price(b).total_cmp(&price(a)).then(a.cmp(&b))
    });
    for index in order {
        while candidate.nodes[index].instances > 1 && *solves < MAX_SOLVES {
            candidate.nodes[index].instances -= 1;
            *solves += 1;
            let trial = solve(candidate, params)?;
            if meets(&trial, goal) {
                report = trial;
            } else {
                candidate.nodes[index].instances += 1;
                break;
            }
        }
    }
    Ok(report)
}

impl Plan {
    /// The topology with the planned instance counts.
    pub fn apply(&self, topology: &Topology) -> Topology {
        let mut planned = topology.clone();
        for row in &self.rows {
            if let Some(node) = planned.nodes.iter_mut().find(|n| n.id == row.id) {
                node.instances = row.instances;
            }
        }
        planned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NodeKind, Rate};

    /// Client → app tier of 300 req/s single-threaded instances (each its own M/M/1 queue).
    fn app_tier(instances: u32) -> Topology {
        crate::analysis::generate::station(1_000.0, NodeKind::AppServer, instances, 300.0)
    }

    #[test]
    fn stability_alone_needs_ceil_of_rate_over_capacity() {
        // Article 000: 5,800 req/s on 300 req/s servers needs ceil(19.3) = 20.
        let goal = Goal {
            rps: 5_800.0,
            p99_ms: 1e9,
        };
        let plan = plan(&app_tier(3), &goal, Catalog::builtin()).unwrap();
        assert!(plan.met);
        assert_eq!(plan.rows[0].instances, 20);
        assert_eq!(plan.rows[0].instances_before, 3);
        assert!((plan.load_multiplier - 5.8).abs() < 1e-12);
    }

    #[test]
    fn p99_goal_matches_the_mm1_tail() {
        // Per instance M/M/1: p99 = ln(100)/(μ − λ/n) ≤ 50 ms ⇔ n ≥ 5,800/(300 − 20·ln 100) → 28.
        let goal = Goal {
            rps: 5_800.0,
            p99_ms: 50.0,
        };
        let exact = (5_800.0 / (300.0 - 20.0 * 100f64.ln())).ceil() as u32;
        assert_eq!(exact, 28);
        let plan = plan(&app_tier(1), &goal, Catalog::builtin()).unwrap();
        assert!(plan.met);
        assert_eq!(plan.rows[0].instances, exact);
        assert!(plan.worst_p99_ms <= 50.0);
        // One fewer would miss the goal: the plan is the cheapest.
        let mut fewer = app_tier(exact - 1);
        fewer.workloads[0].rate = Rate::PerSecond(5_800.0);
        let report = solve(&fewer, &Params::default()).unwrap();
        assert!(report.worst_p99_ms() > 50.0);
    }

    #[test]
    fn unreachable_goal_is_explained() {
        let mut topology = app_tier(1);
        topology.nodes[1].base_latency_ms = 80.0;
        let goal = Goal {
            rps: 100.0,
            p99_ms: 50.0,
        };
        let plan = plan(&topology, &goal, Catalog::builtin()).unwrap();
        assert!(!plan.met);
        assert!(plan.reason.unwrap().contains("fixed latencies"));
    }

    #[test]
    fn bad_goal_is_an_error() {
        let goal = Goal {
            rps: -1.0,
            p99_ms: 10.0,
        };
        assert!(matches!(
            plan(&app_tier(1), &goal, Catalog::builtin()),
            Err(PlanError::BadGoal { .. })
        ));
    }
}
