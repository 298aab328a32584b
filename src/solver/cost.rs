//! Monthly cost per node and tier: instances at catalog prices, fees, usage and storage.

use super::compile::Compiled;
use super::stations::NodeResult;
use super::traffic::Flows;
use crate::model::catalog::Catalog;
use crate::model::Node;
use crate::solver::report::TierCost;
use std::collections::BTreeMap;

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

/// Monthly cost of node `v` in US dollars: its instances at the catalog's hourly price, its
/// fixed fee, per-request and per-GB usage at the workloads' average rates, and its storage.
/// An instance type missing from the catalog is counted at $0, with a warning.
pub(super) fn node_monthly_cost(
    node: &Node,
    compiled: &Compiled,
    average: &Flows,
    v: usize,
    result: &NodeResult,
    catalog: &Catalog,
    warnings: &mut Vec<String>,
) -> f64 {
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
    hourly * catalog.hours_per_month * node.billed_instances()
        + node.monthly_fee_usd
        + node.usd_per_million_requests * result.average_throughput * seconds_per_month / 1e6
        + node.usd_per_gb * average_gb_per_second(compiled, average, v) * seconds_per_month
        + node.storage_gb * catalog.storage_per_gb_month(node.storage_tier)
}

/// Monthly cost per tier, summed in tier order.
#[derive(Default)]
pub(super) struct Tiers(BTreeMap<String, f64>);

impl Tiers {
    /// Adds `cost` to `tier`'s sum (naming a tier allocates only the first time).
    pub(super) fn add(&mut self, tier: &str, cost: f64) {
        match self.0.get_mut(tier) {
            Some(sum) => *sum += cost,
            None => {
                // A new tier's sum starts from +0, as a sum of no costs does.
                let mut sum = 0.0;
                sum += cost;
                self.0.insert(tier.to_string(), sum);
            }
        }
    }

    /// The tiers that cost something, in name order.
    pub(super) fn into_costs(self) -> Vec<TierCost> {
        self.0
            .into_iter()
            .filter(|(_, cost)| *cost > 0.0)
            .map(|(tier, monthly_cost_usd)| TierCost {
                tier,
                monthly_cost_usd,
            })
            .collect()
    }
}
