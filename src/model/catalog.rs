//! The instance price catalog (`assets/prices.ron`, compiled in): hourly prices per instance type.

use crate::model::{NodeKind, Pricing, StorageTier};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One instance type and its on-demand hourly price.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceType {
    pub name: String,
    pub vcpu: u32,
    pub memory_gib: f64,
    pub on_demand_hourly: f64,
    /// Where the price comes from (an article file name or "list price").
    pub source: String,
}

/// Storage prices per GB-month, by tier.
#[derive(Clone, Copy, Debug, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoragePrices {
    pub hot: f64,
    pub infrequent: f64,
    pub archive: f64,
}

/// Default availability of one instance of each node kind, and of a whole region (fractions
/// of time up). A kind not listed uses `other`. Without this section nothing fails.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityDefaults {
    /// By node kind label (`NodeKind::label`, e.g. "AppServer").
    pub kinds: BTreeMap<String, f64>,
    /// Any kind not in `kinds`.
    pub other: f64,
    /// A whole region.
    pub region: f64,
}

impl Default for AvailabilityDefaults {
    fn default() -> Self {
        AvailabilityDefaults {
            kinds: BTreeMap::new(),
            other: 1.0,
            region: 1.0,
        }
    }
}

impl AvailabilityDefaults {
    /// Default availability of one instance of `kind`.
    ///
    /// ```
    /// use staircase::model::{catalog::Catalog, NodeKind};
    /// // One virtual machine is up 99.95% of the time in the built-in catalog.
    /// assert_eq!(Catalog::builtin().availability.instance(&NodeKind::AppServer), 0.9995);
    /// ```
    pub fn instance(&self, kind: &NodeKind) -> f64 {
        self.kinds.get(kind.label()).copied().unwrap_or(self.other)
    }
}

/// Hourly prices for instance types, with the reserved and spot discounts, and storage prices.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub hours_per_month: f64,
    pub reserved_discount: f64,
    pub spot_discount: f64,
    /// USD per GB-month of stored data, by storage tier (article 004's tiering).
    #[serde(default)]
    pub storage_usd_per_gb_month: StoragePrices,
    /// Default availability per node kind and per region.
    #[serde(default)]
    pub availability: AvailabilityDefaults,
    pub instance_types: Vec<InstanceType>,
}

/// The catalog text shipped with the program.
pub const BUILTIN_TEXT: &str = include_str!("../../assets/prices.ron");

impl Catalog {
    /// Parses a catalog from RON text.
    pub fn parse(text: &str) -> Result<Catalog, ron::error::SpannedError> {
        ron::from_str(text)
    }

    /// The catalog compiled into the program. A unit test guarantees it parses; should it ever
    /// not, the result is an empty catalog, and every priced node is reported as unpriced.
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            Catalog::parse(BUILTIN_TEXT).unwrap_or(Catalog {
                hours_per_month: 730.0,
                reserved_discount: 0.0,
                spot_discount: 0.0,
                storage_usd_per_gb_month: StoragePrices::default(),
                availability: AvailabilityDefaults::default(),
                instance_types: Vec::new(),
            })
        })
    }

    /// The instance type called `name`.
    pub fn instance(&self, name: &str) -> Option<&InstanceType> {
        self.instance_types.iter().find(|t| t.name == name)
    }

    /// Hourly price of one instance of `name` under `pricing`, if the type is known.
    ///
    /// ```
    /// use staircase::model::{catalog::Catalog, Pricing};
    /// // Article 004: a t3.large costs $61 a month on demand.
    /// let hourly = Catalog::builtin().hourly("t3.large", Pricing::OnDemand).unwrap();
    /// assert!((hourly * 730.0 - 61.0).abs() < 0.01);
    /// ```
    pub fn hourly(&self, name: &str, pricing: Pricing) -> Option<f64> {
        Some(self.price(self.instance(name)?, pricing))
    }

    /// Hourly price of one `instance` under `pricing`: on demand, or less the reserved or
    /// spot discount.
    pub fn price(&self, instance: &InstanceType, pricing: Pricing) -> f64 {
        let base = instance.on_demand_hourly;
        match pricing {
            Pricing::OnDemand => base,
            Pricing::Reserved => base * (1.0 - self.reserved_discount),
            Pricing::Spot => base * (1.0 - self.spot_discount),
        }
    }
}

impl Catalog {
    /// Monthly price of one GB stored in `tier`.
    ///
    /// ```
    /// use staircase::model::{catalog::Catalog, StorageTier};
    /// // Article 004: 2 TB hot + 3 TB infrequent + 5 TB archive cost $217.50 a month.
    /// let prices = Catalog::builtin();
    /// let month = 2_000.0 * prices.storage_per_gb_month(StorageTier::Hot)
    ///     + 3_000.0 * prices.storage_per_gb_month(StorageTier::Infrequent)
    ///     + 5_000.0 * prices.storage_per_gb_month(StorageTier::Archive);
    /// assert!((month - 217.5).abs() < 1e-9);
    /// ```
    pub fn storage_per_gb_month(&self, tier: StorageTier) -> f64 {
        let prices = &self.storage_usd_per_gb_month;
        match tier {
            StorageTier::Hot => prices.hot,
            StorageTier::Infrequent => prices.infrequent,
            StorageTier::Archive => prices.archive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_parses_and_reproduces_article_prices() {
        let catalog = Catalog::parse(BUILTIN_TEXT).expect("assets/prices.ron parses");
        assert_eq!(catalog.hours_per_month, 730.0);
        let monthly = |name: &str| catalog.hourly(name, Pricing::OnDemand).unwrap() * 730.0;
        // Article 004 figures: t3.micro $8.50, c5.24xlarge $2,940, 10 x m5.xlarge $1,400.
        assert!((monthly("t3.micro") - 8.50).abs() < 0.01);
        assert!((monthly("c5.24xlarge") - 2_940.0).abs() < 0.01);
        assert!((10.0 * monthly("m5.xlarge") - 1_400.0).abs() < 0.1);
        let reserved = catalog.hourly("m5.xlarge", Pricing::Reserved).unwrap();
        assert!(
            (reserved / catalog.hourly("m5.xlarge", Pricing::OnDemand).unwrap() - 0.42).abs()
                < 1e-12
        );
    }

    #[test]
    fn every_kind_has_a_default_availability_in_the_builtin_catalog() {
        let catalog = Catalog::parse(BUILTIN_TEXT).expect("assets/prices.ron parses");
        for kind in NodeKind::catalog() {
            let up = catalog.availability.kinds.get(kind.label());
            assert!(
                up.is_some_and(|up| (0.99..=1.0).contains(up)),
                "{}",
                kind.label()
            );
        }
        assert_eq!(catalog.availability.region, 0.9999);
    }
}
