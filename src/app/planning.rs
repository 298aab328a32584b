//! The app's side of the SLO planner: the goal's rate follows the open document, and applying
//! a plan is one undo step with a notice that names every count it changed.

use super::{format, StaircaseApp};
use crate::model::Topology;

/// The planner's rate when the document has no traffic to start from.
const RATE_WITHOUT_TRAFFIC: f64 = 1000.0;

/// Requests per second of all workloads at their peak (what the solver offers at load ×1).
pub fn peak_rate(topology: &Topology) -> f64 {
    topology
        .workloads
        .iter()
        .map(|w| w.rate.per_second() * w.peak_multiplier)
        .filter(|rate| rate.is_finite())
        .sum::<f64>()
        .max(0.0)
}

/// A rate rounded for the goal field: whole requests from 10 req/s, else two decimals.
fn goal_rate(rps: f64) -> f64 {
    if rps >= 10.0 {
        rps.round()
    } else {
        ((rps * 100.0).round() / 100.0).max(0.01)
    }
}

impl StaircaseApp {
    /// Starts the planner over for a newly opened document: no plan, and the goal's rate at
    /// the document's own peak (the solved offered rate at load ×1; the what-if load is not
    /// part of the document).
    pub(super) fn reset_planner(&mut self) {
        self.plan = None;
        let load = self.load_multiplier;
        let offered = self
            .report()
            .filter(|_| load > 0.0)
            .map(|r| r.offered_rps / load)
            .unwrap_or_else(|| peak_rate(&self.topology));
        self.plan_goal.rps = if offered > 0.0 {
            goal_rate(offered)
        } else {
            RATE_WITHOUT_TRAFFIC
        };
    }

    /// Applies the last plan's instance counts as one undo step, and says what changed.
    pub(super) fn apply_plan(&mut self) {
        let Some(Ok(plan)) = &self.plan else {
            return;
        };
        let planned = plan.apply(&self.topology);
        let changes: Vec<String> = plan
            .rows
            .iter()
            .filter_map(|row| {
                let before = self.topology.node(row.id)?.instances;
                let after = planned.node(row.id)?.instances;
                (before != after).then(|| {
                    format!(
                        "{}: {} to {}",
                        row.name,
                        format::count(before),
                        format::count(after)
                    )
                })
            })
            .collect();
        if changes.is_empty() {
            self.notice = Some("Applied plan: the instance counts already match it".into());
            return;
        }
        // The state before the plan becomes its own undo point: one Ctrl+Z restores it.
        self.undoer.add_undo(&self.topology);
        self.topology = planned;
        self.notice = Some(format!("Applied plan: {}", changes.join(", ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NodeKind, Rate};

    #[test]
    fn peak_rate_is_the_sum_of_workloads_at_peak() {
        // Article 000: 7M requests a day at a 3x peak is 7e6 / 86,400 × 3 = 243.06 req/s.
        let topology = crate::io::presets::default_topology().unwrap();
        assert!((peak_rate(&topology) - 7e6 / 86_400.0 * 3.0).abs() < 1e-9);
        let mut station = crate::analysis::generate::station(50.0, NodeKind::Service, 1, 100.0);
        station.workloads[0].rate = Rate::PerSecond(2.5);
        station.workloads[0].peak_multiplier = 2.0;
        assert!((peak_rate(&station) - 5.0).abs() < 1e-12);
        assert_eq!(peak_rate(&Topology::default()), 0.0);
    }

    #[test]
    fn goal_rates_keep_small_rates() {
        assert_eq!(goal_rate(243.06), 243.0);
        assert_eq!(goal_rate(5.0), 5.0);
        assert_eq!(goal_rate(0.254), 0.25);
        assert_eq!(goal_rate(0.001), 0.01);
    }
}
