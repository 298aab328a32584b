//! Monthly cost per node and tier: instances at catalog prices, fees, usage and storage.

use super::compile::Compiled;
use super::stations::NodeResult;
use super::traffic::Flows;
use crate::model::catalog::Catalog;
use crate::model::{Node, Pricing};
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

/// The catalog's hourly prices by instance type name, looked up once per report row by hash
/// instead of by a scan of the catalog ([`Catalog::hourly`]'s figures, the first type of a
/// name winning as there).
pub(super) struct Prices<'a> {
    catalog: &'a Catalog,
    /// On demand, reserved and spot, in [`Pricing`] order.
    hourly: rustc_hash::FxHashMap<&'a str, [Option<f64>; 3]>,
}

impl<'a> Prices<'a> {
    /// The prices of `catalog`'s instance types.
    pub(super) fn of(catalog: &'a Catalog) -> Prices<'a> {
        let mut hourly = rustc_hash::FxHashMap::default();
        for instance in &catalog.instance_types {
            hourly.entry(instance.name.as_str()).or_insert(
                [Pricing::OnDemand, Pricing::Reserved, Pricing::Spot]
                    .map(|pricing| Some(catalog.price(instance, pricing))),
            );
        }
        Prices { catalog, hourly }
    }

    /// [`Catalog::hourly`] of `name` under `pricing`.
    fn hourly(&self, name: &str, pricing: Pricing) -> Option<f64> {
        let index = match pricing {
            Pricing::OnDemand => 0,
            Pricing::Reserved => 1,
            Pricing::Spot => 2,
        };
        self.hourly.get(name).and_then(|prices| prices[index])
    }
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
    prices: &Prices,
    warnings: &mut Vec<String>,
) -> f64 {
    let catalog = prices.catalog;
    let hourly = if node.instance_type.is_empty() {
        0.0
    } else if let Some(price) = prices.hourly(&node.instance_type, node.pricing) {
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

/// Monthly cost per tier, summed in node order and listed in tier order.
#[derive(Default)]
pub(super) struct Tiers {
    /// Each tier's name and sum, in the order the tiers were first named.
    sums: Vec<(String, f64)>,
    /// Each tier's place in `sums`.
    places: BTreeMap<String, usize>,
    /// The place of the tier added to last: rows of one tier mostly come one after another,
    /// and comparing one name is cheaper than a look-up.
    last: usize,
}

impl Tiers {
    /// Adds `cost` to `tier`'s sum (naming a tier allocates only the first time).
    pub(super) fn add(&mut self, tier: &str, cost: f64) {
        let place = match self.sums.get(self.last) {
            Some((name, _)) if name == tier => Some(self.last),
            _ => self.places.get(tier).copied(),
        };
        let place = place.unwrap_or_else(|| {
            // A new tier's sum starts from +0, as a sum of no costs does.
            self.sums.push((tier.to_string(), 0.0));
            self.places.insert(tier.to_string(), self.sums.len() - 1);
            self.sums.len() - 1
        });
        self.sums[place].1 += cost;
        self.last = place;
    }

    /// The tiers that cost something, in name order.
    pub(super) fn into_costs(self) -> Vec<TierCost> {
        let mut sums = self.sums;
        sums.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        sums.into_iter()
            .filter(|(_, cost)| *cost > 0.0)
            .map(|(tier, monthly_cost_usd)| TierCost {
                tier,
                monthly_cost_usd,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_give_the_catalogs_hourly_figures() {
        let catalog = Catalog::builtin();
        let prices = Prices::of(catalog);
        assert!(!catalog.instance_types.is_empty());
        for instance in &catalog.instance_types {
            for pricing in [Pricing::OnDemand, Pricing::Reserved, Pricing::Spot] {
                let expected = catalog.hourly(&instance.name, pricing);
                assert!(expected.is_some());
                assert_eq!(prices.hourly(&instance.name, pricing), expected);
            }
        }
        assert_eq!(prices.hourly("no.such.type", Pricing::OnDemand), None);
    }

    #[test]
    fn tiers_sum_in_node_order_and_list_by_name_without_free_ones() {
        let mut tiers = Tiers::default();
        for (tier, cost) in [
            ("web", 1.5),
            ("db", 2.0),
            ("web", 0.25),
            ("edge", 0.0),
            ("db", 1.0),
        ] {
            tiers.add(tier, cost);
        }
        let costs: Vec<(String, f64)> = tiers
            .into_costs()
            .into_iter()
            .map(|tier| (tier.tier, tier.monthly_cost_usd))
            .collect();
        assert_eq!(
            costs,
            vec![("db".to_string(), 3.0), ("web".to_string(), 1.75)]
        );
    }
}
