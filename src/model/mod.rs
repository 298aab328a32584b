//! The document: a topology of nodes, edges, workloads and regions, its limits and its validation.
//!
//! The same structs are the `.ron` file format (see [`crate::io::document`]); every numeric field is
//! range-checked while parsing so that a bad value is reported at its own line and column.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Version of the file format written by this build.
pub const FORMAT_VERSION: u32 = 1;
/// Most nodes a topology may hold.
pub const MAX_NODES: usize = 100_000;
/// Most edges a topology may hold.
pub const MAX_EDGES: usize = 400_000;
/// Most regions, workloads and measured region round trips a topology may hold (each).
pub const MAX_LIST: usize = 10_000;
/// Most servers (instances × concurrency, summed over the nodes) a topology may hold: the
/// queueing formulas cost about √servers per node, and this keeps a whole solve bounded.
pub const MAX_TOTAL_SERVERS: u64 = 1_000_000_000;
/// Seconds in a day, for requests/day conversions.
pub const SECONDS_PER_DAY: f64 = 86_400.0;
/// Seconds in a billing month of 730 hours (the price catalog's month), for requests/month.
pub const SECONDS_PER_MONTH: f64 = 730.0 * 3_600.0;
/// Kilobytes in a gigabyte (decimal units, as cloud bills count them).
pub const KB_PER_GB: f64 = 1e6;

/// Identifier of a node, unique within a topology.
pub type NodeId = u32;

/// A whole architecture: what the user draws and saves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Topology {
    /// File format version; files newer than [`FORMAT_VERSION`] are refused.
    pub version: u32,
    pub name: String,
    pub description: String,
    pub settings: Settings,
    #[serde(deserialize_with = "checked::short_list")]
    pub regions: Vec<Region>,
    #[serde(deserialize_with = "checked::short_list")]
    pub workloads: Vec<Workload>,
    #[serde(deserialize_with = "checked::node_list")]
    pub nodes: Vec<Node>,
    #[serde(deserialize_with = "checked::edge_list")]
    pub edges: Vec<Edge>,
    /// Canvas positions, metadata beside the model (not used by the solver).
    pub layout: BTreeMap<NodeId, Position>,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            version: FORMAT_VERSION,
            name: String::new(),
            description: String::new(),
            settings: Settings::default(),
            regions: Vec::new(),
            workloads: Vec::new(),
            nodes: Vec::new(),
            edges: Vec::new(),
            layout: BTreeMap::new(),
        }
    }
}

/// Global model settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Signal speed in fiber, km per millisecond (about 200: two thirds of c; article 004).
    #[serde(deserialize_with = "checked::fiber_speed")]
    pub fiber_km_per_ms: f64,
    /// Fiber path length over great-circle distance (1 = straight line).
    #[serde(deserialize_with = "checked::route_factor")]
    pub route_factor: f64,
    /// Round-trip time added to an edge whose two ends are in the same region, ms.
    #[serde(deserialize_with = "checked::latency_ms")]
    pub same_region_rtt_ms: f64,
    /// Measured round-trip times between regions that replace the distance estimate.
    #[serde(deserialize_with = "checked::short_list")]
    pub region_rtt_ms: Vec<RegionLink>,
    /// How long an overload is assumed to have lasted when its backlog is reported, seconds.
    #[serde(deserialize_with = "checked::horizon")]
    pub overload_horizon_s: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            fiber_km_per_ms: 200.0,
            route_factor: 1.0,
            same_region_rtt_ms: 0.0,
            region_rtt_ms: Vec::new(),
            overload_horizon_s: 60.0,
        }
    }
}

/// A measured round trip between two regions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionLink {
    pub a: String,
    pub b: String,
    #[serde(deserialize_with = "checked::latency_ms")]
    pub rtt_ms: f64,
}

/// A geographic region (a data centre or a user population).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub name: String,
    #[serde(deserialize_with = "checked::latitude")]
    pub lat: f64,
    #[serde(deserialize_with = "checked::longitude")]
    pub lon: f64,
    /// Fraction of time the whole region is up (`None`: the catalog's default region
    /// availability). A region that fails takes every node in it down at once.
    #[serde(
        default,
        deserialize_with = "checked::optional_availability",
        skip_serializing_if = "Option::is_none"
    )]
    pub availability: Option<f64>,
}

/// How much traffic a workload sends.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Rate {
    /// Average requests per day (converted with 86,400 s/day).
    PerDay(#[serde(deserialize_with = "checked::rate")] f64),
    /// Average requests per second.
    PerSecond(#[serde(deserialize_with = "checked::rate")] f64),
    /// Average requests per billing month of 730 hours (page views a month, article 004).
    PerMonth(#[serde(deserialize_with = "checked::rate")] f64),
}

impl Rate {
    /// Average rate in requests per second.
    ///
    /// ```
    /// // Article 000: 100M requests/day is 1,157 req/s on average.
    /// let rate = staircase::model::Rate::PerDay(100e6).per_second();
    /// assert_eq!(rate.round(), 1157.0);
    /// ```
    pub fn per_second(self) -> f64 {
        match self {
            Rate::PerDay(per_day) => per_day / SECONDS_PER_DAY,
            Rate::PerSecond(per_second) => per_second,
            Rate::PerMonth(per_month) => per_month / SECONDS_PER_MONTH,
        }
    }
}

/// A population of users sending requests into a Client node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Workload {
    pub name: String,
    /// The Client node the requests enter at.
    pub client: NodeId,
    pub rate: Rate,
    /// Peak over average (3–5 for consumer traffic, article 000).
    #[serde(deserialize_with = "checked::peak")]
    pub peak_multiplier: f64,
    /// Fraction of requests that read.
    #[serde(deserialize_with = "checked::ratio")]
    pub read: f64,
    /// Fraction of requests that write.
    #[serde(deserialize_with = "checked::ratio")]
    pub write: f64,
    /// Fraction of requests whose work is queued for background workers.
    #[serde(rename = "async", deserialize_with = "checked::ratio")]
    pub background: f64,
    /// Where the users are (a region name, or empty).
    pub region: String,
    /// Average size of one response, kilobytes (decimal): what per-GB transfer prices bill.
    #[serde(
        deserialize_with = "checked::payload",
        skip_serializing_if = "defaults::is_zero"
    )]
    pub payload_kb: f64,
    /// Burstiness of the arrivals: the coefficient of variation of the time between requests
    /// (1 Poisson, 0 evenly spaced, above 1 bursty).
    #[serde(
        deserialize_with = "checked::arrival_cv",
        skip_serializing_if = "defaults::is_one_f64"
    )]
    pub arrival_cv: f64,
}

impl Workload {
    /// Gigabytes a day the workload's responses carry at its average rate.
    ///
    /// ```
    /// use staircase::model::{Rate, Workload};
    /// // Article 001: 1,000,000 requests a day of 50 KB responses are 50 GB a day.
    /// let workload = Workload { rate: Rate::PerDay(1e6), payload_kb: 50.0, ..Workload::default() };
    /// assert!((workload.gb_per_day() - 50.0).abs() < 1e-9);
    /// ```
    pub fn gb_per_day(&self) -> f64 {
        self.rate.per_second() * SECONDS_PER_DAY * self.payload_kb / KB_PER_GB
    }
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            name: "users".into(),
            client: 0,
            rate: Rate::PerSecond(100.0),
            peak_multiplier: 1.0,
            read: 0.9,
            write: 0.1,
            background: 0.0,
            region: String::new(),
            payload_kb: 0.0,
            arrival_cv: 1.0,
        }
    }
}

/// The three request classes of a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ClassKind {
    Read,
    Write,
    Async,
}

impl ClassKind {
    pub const ALL: [ClassKind; 3] = [ClassKind::Read, ClassKind::Write, ClassKind::Async];

    pub fn label(self) -> &'static str {
        match self {
            ClassKind::Read => "read",
            ClassKind::Write => "write",
            ClassKind::Async => "async",
        }
    }
}

/// How often one instance of a node is up: a fraction of time, or from its failure and repair
/// times.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Uptime {
    /// Steady-state fraction of time one instance is up, e.g. 0.9995.
    Fraction(#[serde(deserialize_with = "checked::availability")] f64),
    /// Mean time between failures and mean time to repair, hours.
    Repair {
        #[serde(deserialize_with = "checked::mtbf")]
        mtbf_h: f64,
        #[serde(deserialize_with = "checked::mttr")]
        mttr_h: f64,
    },
}

impl Uptime {
    /// Steady-state availability of one instance: the fraction itself, or MTBF/(MTBF + MTTR)
    /// (the alternating renewal process of a repairable unit).
    ///
    /// ```
    /// use staircase::model::Uptime;
    /// // A failure every 1,000 hours that takes one hour to repair: 99.9% up.
    /// let uptime = Uptime::Repair { mtbf_h: 999.0, mttr_h: 1.0 };
    /// assert!((uptime.fraction() - 0.999).abs() < 1e-12);
    /// ```
    pub fn fraction(self) -> f64 {
        match self {
            Uptime::Fraction(up) => up,
            Uptime::Repair { mtbf_h, mttr_h } => mtbf_h / (mtbf_h + mttr_h),
        }
    }
}

/// Load-balancing policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LbPolicy {
    /// Takes turns: each instance behind it is its own queue.
    #[default]
    RoundRobin,
    /// Sends to the least busy instance: the instances behind it act as one shared queue.
    LeastConnections,
    /// Splits across targets by edge weight; each instance its own queue.
    Weighted,
    /// Hashes the client address: each instance its own queue.
    IpHash,
}

/// What a node is. Kind-specific parameters live in the variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum NodeKind {
    /// A source of traffic (a workload enters here). No queueing.
    Client,
    /// Name resolution; with `geo` it sends each workload to targets in the workload's region
    /// (or, when none is there, to the targets nearest to its users). Without a region of its
    /// own it stands for the lookup only: the hop to the target costs the users' round trip.
    Dns {
        geo: bool,
    },
    /// Edge cache: serves `hit_ratio` of reads, forwards the rest.
    Cdn {
        #[serde(deserialize_with = "checked::ratio")]
        hit_ratio: f64,
    },
    LoadBalancer {
        policy: LbPolicy,
    },
    AppServer,
    /// In-memory cache: serves `hit_ratio` of reads, forwards misses (and writes) downstream.
    Cache {
        #[serde(deserialize_with = "checked::ratio")]
        hit_ratio: f64,
    },
    /// Database primary with separate read and write capacity per instance.
    Database {
        #[serde(deserialize_with = "checked::capacity")]
        read_capacity_rps: f64,
        #[serde(deserialize_with = "checked::capacity")]
        write_capacity_rps: f64,
        #[serde(deserialize_with = "checked::connections")]
        max_connections: u32,
    },
    /// Read replica: accepts reads only.
    ReadReplica,
    /// `shards` independent partitions; the hottest gets `hot_shard_skew` times the average share.
    ShardGroup {
        #[serde(deserialize_with = "checked::shards")]
        shards: u32,
        #[serde(deserialize_with = "checked::skew")]
        hot_shard_skew: f64,
    },
    /// Connection pooler: the databases behind it run at most `pool_size` queries per pooler
    /// instance at once.
    ConnectionPooler {
        #[serde(deserialize_with = "checked::connections")]
        pool_size: u32,
    },
    /// Message broker: acknowledges async work at once; consumers drain it.
    Queue,
    Workers,
    ObjectStorage,
    ExternalService,
    /// A generic open-network station: `instances` servers sharing one queue (M/M/c or M/M/c/K).
    Service,
}

impl NodeKind {
    /// Short name used in reports and palettes.
    pub fn label(&self) -> &'static str {
        match self {
            NodeKind::Client => "Client",
            NodeKind::Dns { .. } => "DNS",
            NodeKind::Cdn { .. } => "CDN",
            NodeKind::LoadBalancer { .. } => "LoadBalancer",
            NodeKind::AppServer => "AppServer",
            NodeKind::Cache { .. } => "Cache",
            NodeKind::Database { .. } => "Database",
            NodeKind::ReadReplica => "ReadReplica",
            NodeKind::ShardGroup { .. } => "ShardGroup",
            NodeKind::ConnectionPooler { .. } => "ConnectionPooler",
            NodeKind::Queue => "Queue",
            NodeKind::Workers => "Workers",
            NodeKind::ObjectStorage => "ObjectStorage",
            NodeKind::ExternalService => "ExternalService",
            NodeKind::Service => "Service",
        }
    }

    /// Default cost tier of the kind.
    pub fn tier(&self) -> &'static str {
        match self {
            NodeKind::Client => "clients",
            NodeKind::Dns { .. } | NodeKind::Cdn { .. } | NodeKind::LoadBalancer { .. } => "edge",
            NodeKind::AppServer | NodeKind::Service => "app",
            NodeKind::Cache { .. } => "cache",
            NodeKind::Database { .. }
            | NodeKind::ReadReplica
            | NodeKind::ShardGroup { .. }
            | NodeKind::ConnectionPooler { .. } => "database",
            NodeKind::Queue | NodeKind::Workers => "async",
            NodeKind::ObjectStorage => "storage",
            NodeKind::ExternalService => "external",
        }
    }

    /// Every kind with typical parameters, in palette order.
    pub fn catalog() -> Vec<NodeKind> {
        vec![
            NodeKind::Client,
            NodeKind::Dns { geo: false },
            NodeKind::Cdn { hit_ratio: 0.8 },
            NodeKind::LoadBalancer {
                policy: LbPolicy::RoundRobin,
            },
            NodeKind::AppServer,
            NodeKind::Cache { hit_ratio: 0.9 },
            NodeKind::Database {
                read_capacity_rps: 2_000.0,
                write_capacity_rps: 1_000.0,
                max_connections: 400,
            },
            NodeKind::ReadReplica,
            NodeKind::ShardGroup {
                shards: 4,
                hot_shard_skew: 1.0,
            },
            NodeKind::ConnectionPooler { pool_size: 100 },
            NodeKind::Queue,
            NodeKind::Workers,
            NodeKind::ObjectStorage,
            NodeKind::ExternalService,
            NodeKind::Service,
        ]
    }
}

/// How a node's instances are paid for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Pricing {
    #[default]
    OnDemand,
    Reserved,
    Spot,
}

/// Storage class of the data a node keeps (article 004's tiering): priced per GB-month in the
/// catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum StorageTier {
    /// SSD-backed, instant access (block storage such as EBS gp3).
    #[default]
    Hot,
    /// Infrequent-access object storage (such as S3 Standard-IA).
    Infrequent,
    /// Archive storage, retrieval in minutes to hours (such as S3 Glacier).
    Archive,
}

impl StorageTier {
    pub const ALL: [StorageTier; 3] = [
        StorageTier::Hot,
        StorageTier::Infrequent,
        StorageTier::Archive,
    ];

    pub fn label(self) -> &'static str {
        match self {
            StorageTier::Hot => "hot",
            StorageTier::Infrequent => "infrequent",
            StorageTier::Archive => "archive",
        }
    }
}

/// The item of `items` whose id (read by `id_of`) is `id`. Nodes are kept sorted by id
/// (saved files, the solver's order), so a binary search finds them; a hit is always right,
/// and a miss falls back to a scan for lists that are not sorted.
pub fn find_by_id<T>(items: &[T], id: NodeId, id_of: impl Fn(&T) -> NodeId) -> Option<&T> {
    match items.binary_search_by_key(&id, &id_of) {
        Ok(index) => Some(&items[index]),
        Err(_) => items.iter().find(|item| id_of(item) == id),
    }
}

/// Node ids to positions in a topology's node list, looked up once per wire and workload by
/// validation and by the solver's compile: a flat table indexed by id when the ids are dense
/// (at most a few times as many as the nodes, as drawn and generated topologies have them),
/// else a hash map.
#[derive(Clone, Debug)]
pub struct NodeIndex {
    /// Position + 1 of the node with each id (0: no such node), for dense ids.
    table: Vec<u32>,
    /// Positions by id, for sparse ids (the table is then empty).
    map: rustc_hash::FxHashMap<NodeId, usize>,
}

/// Id tables up to this many entries per node (plus [`DENSE_SLACK`]) are flat.
const DENSE_PER_NODE: usize = 4;
/// Entries a flat id table may have beyond [`DENSE_PER_NODE`] per node.
const DENSE_SLACK: usize = 1_024;

impl NodeIndex {
    /// The index of `nodes`, and the position of the first node whose id an earlier node
    /// already has (the later node keeps its place; lookups find the first).
    pub fn of(nodes: &[Node]) -> (NodeIndex, Option<usize>) {
        let largest = nodes.iter().map(|node| node.id as usize).max().unwrap_or(0);
        let mut duplicate = None;
        if largest < nodes.len() * DENSE_PER_NODE + DENSE_SLACK {
            let mut table = vec![0u32; largest + 1];
            for (position, node) in nodes.iter().enumerate() {
                let slot = &mut table[node.id as usize];
                if *slot == 0 {
                    // Fewer than MAX_NODES × DENSE_PER_NODE + DENSE_SLACK fit in a u32.
                    *slot = u32::try_from(position + 1).unwrap_or(u32::MAX);
                } else {
                    duplicate = duplicate.or(Some(position));
                }
            }
            let map = rustc_hash::FxHashMap::default();
            return (NodeIndex { table, map }, duplicate);
        }
        let mut map =
            rustc_hash::FxHashMap::with_capacity_and_hasher(nodes.len(), Default::default());
        for (position, node) in nodes.iter().enumerate() {
            match map.entry(node.id) {
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(position);
                }
                std::collections::hash_map::Entry::Occupied(_) => {
                    duplicate = duplicate.or(Some(position));
                }
            }
        }
        (
            NodeIndex {
                table: Vec::new(),
                map,
            },
            duplicate,
        )
    }

    /// The position of the node with `id`, if there is one.
    pub fn get(&self, id: NodeId) -> Option<usize> {
        if self.table.is_empty() {
            self.map.get(&id).copied()
        } else {
            match self.table.get(id as usize) {
                Some(&slot) if slot > 0 => Some(slot as usize - 1),
                _ => None,
            }
        }
    }
}

/// One box on the canvas: a tier of identical instances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Node {
    pub id: NodeId,
    pub name: String,
    pub kind: NodeKind,
    /// Identical instances (per shard for a ShardGroup).
    #[serde(
        deserialize_with = "checked::instances",
        skip_serializing_if = "defaults::is_one"
    )]
    pub instances: u32,
    /// Requests one instance works on at once (threads, workers, cores).
    #[serde(
        deserialize_with = "checked::concurrency",
        skip_serializing_if = "defaults::is_one"
    )]
    pub concurrency: u32,
    /// Requests per second one instance completes at full load; `None` means no queueing at all
    /// (a pure delay, like a client or an external API with unknown limits).
    #[serde(
        deserialize_with = "checked::optional_capacity",
        skip_serializing_if = "defaults::is_default_capacity"
    )]
    pub capacity_rps: Option<f64>,
    /// Waiting places per queue beyond the servers; `None` is unlimited, `Some(0)` drops any
    /// request that finds every server busy.
    #[serde(
        deserialize_with = "checked::queue_limit",
        skip_serializing_if = "Option::is_none"
    )]
    pub queue_limit: Option<u32>,
    /// Fixed latency added to every request (network, disk seek, third-party API), ms.
    #[serde(
        deserialize_with = "checked::latency_ms",
        skip_serializing_if = "defaults::is_zero"
    )]
    pub base_latency_ms: f64,
    /// Coefficient of variation of the fixed latency: 0 keeps it constant; above 0 it is a
    /// random delay, gamma distributed with mean `base_latency_ms` and this cv.
    #[serde(
        deserialize_with = "checked::latency_cv",
        skip_serializing_if = "defaults::is_zero"
    )]
    pub latency_cv: f64,
    /// Coefficient of variation of the service time (1 exponential, 0 constant).
    #[serde(
        deserialize_with = "checked::cv",
        skip_serializing_if = "defaults::is_one_f64"
    )]
    pub service_cv: f64,
    /// Distribution of the service time around its mean and `service_cv`.
    #[serde(skip_serializing_if = "defaults::is_gamma")]
    pub service_family: ServiceFamily,
    /// Service node only: per-class capacity of one instance, requests per second, for the
    /// classes listed (the others use `capacity_rps`), as a database serves reads and writes
    /// at different rates.
    #[serde(
        deserialize_with = "checked::class_capacity",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub class_capacity_rps: BTreeMap<ClassKind, f64>,
    /// Instance type from the price catalog (empty: none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub instance_type: String,
    #[serde(skip_serializing_if = "defaults::is_on_demand")]
    pub pricing: Pricing,
    /// Flat managed-service fee per month, USD.
    #[serde(
        deserialize_with = "checked::money",
        skip_serializing_if = "defaults::is_zero"
    )]
    pub monthly_fee_usd: f64,
    /// Usage fee per million requests served, USD.
    #[serde(
        deserialize_with = "checked::money",
        skip_serializing_if = "defaults::is_zero"
    )]
    pub usd_per_million_requests: f64,
    /// Transfer fee per GB of responses this node sends (CDN delivery, inter-region egress),
    /// USD; the GB come from the workloads' `payload_kb` and the node's traffic.
    #[serde(
        deserialize_with = "checked::money",
        skip_serializing_if = "defaults::is_zero"
    )]
    pub usd_per_gb: f64,
    /// Data kept on this node, GB (billed per GB-month at the catalog price of its tier).
    #[serde(
        deserialize_with = "checked::storage",
        skip_serializing_if = "defaults::is_zero"
    )]
    pub storage_gb: f64,
    /// Storage class of `storage_gb`.
    #[serde(skip_serializing_if = "defaults::is_hot")]
    pub storage_tier: StorageTier,
    /// Region name (empty: none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// Cost tier override (empty: the kind's tier).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tier: String,
    /// Availability of one instance (`None`: the catalog's default for the kind).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability: Option<Uptime>,
}

/// The distribution family of a node's service time (its mean and cv are the node's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ServiceFamily {
    /// Gamma with shape 1/cv²: exponential at cv 1, constant at cv 0.
    #[default]
    Gamma,
    /// Lognormal with the same mean and cv (a heavier right tail than gamma at the same cv).
    Lognormal,
}

impl ServiceFamily {
    pub const ALL: [ServiceFamily; 2] = [ServiceFamily::Gamma, ServiceFamily::Lognormal];

    pub fn label(self) -> &'static str {
        match self {
            ServiceFamily::Gamma => "gamma",
            ServiceFamily::Lognormal => "lognormal",
        }
    }
}

/// Tests for fields left out of saved files when they hold their default value (files stay
/// short and readable; loading fills the defaults back in).
pub mod catalog;
pub mod units;

mod defaults {
    use super::{EdgeKind, Pricing, ServiceFamily, StorageTier};

    pub fn is_gamma(value: &ServiceFamily) -> bool {
        *value == ServiceFamily::Gamma
    }

    pub fn is_hot(value: &StorageTier) -> bool {
        *value == StorageTier::Hot
    }

    pub fn is_one(value: &u32) -> bool {
        *value == 1
    }

    pub fn is_one_f64(value: &f64) -> bool {
        *value == 1.0
    }

    pub fn is_zero(value: &f64) -> bool {
        *value == 0.0
    }

    pub fn is_default_capacity(value: &Option<f64>) -> bool {
        *value == super::Node::default().capacity_rps
    }

    pub fn is_on_demand(value: &Pricing) -> bool {
        *value == Pricing::OnDemand
    }

    pub fn is_route(value: &EdgeKind) -> bool {
        *value == EdgeKind::Route
    }
}

impl Default for Node {
    fn default() -> Self {
        Node {
            id: 0,
            name: String::new(),
            kind: NodeKind::Service,
            instances: 1,
            concurrency: 1,
            capacity_rps: Some(100.0),
            queue_limit: None,
            base_latency_ms: 0.0,
            latency_cv: 0.0,
            service_cv: 1.0,
            service_family: ServiceFamily::Gamma,
            class_capacity_rps: BTreeMap::new(),
            instance_type: String::new(),
            pricing: Pricing::OnDemand,
            monthly_fee_usd: 0.0,
            usd_per_million_requests: 0.0,
            usd_per_gb: 0.0,
            storage_gb: 0.0,
            storage_tier: StorageTier::Hot,
            region: String::new(),
            tier: String::new(),
            availability: None,
        }
    }
}

impl Node {
    /// A node of `kind` with the typical parameters of that kind.
    pub fn of_kind(id: NodeId, kind: NodeKind) -> Node {
        let (capacity, concurrency, latency, instance_type) = match &kind {
            NodeKind::Client => (None, 1, 0.0, ""),
            NodeKind::Dns { .. } => (Some(50_000.0), 1, 20.0, ""),
            NodeKind::Cdn { .. } => (Some(100_000.0), 1, 5.0, ""),
            NodeKind::LoadBalancer { .. } => (Some(50_000.0), 1, 0.5, ""),
            NodeKind::AppServer => (Some(300.0), 8, 2.0, "t3.large"),
            NodeKind::Cache { .. } => (Some(50_000.0), 4, 0.5, "r6g.large"),
            NodeKind::Database { .. } => (Some(2_000.0), 16, 1.0, "r5.xlarge"),
            NodeKind::ReadReplica => (Some(2_000.0), 16, 1.0, "r5.large"),
            NodeKind::ShardGroup { .. } => (Some(3_000.0), 16, 1.0, "r5.xlarge"),
            NodeKind::ConnectionPooler { .. } => (Some(20_000.0), 1, 0.2, "t3.small"),
            NodeKind::Queue => (Some(10_000.0), 1, 2.0, "t3.medium"),
            NodeKind::Workers => (Some(200.0), 4, 0.0, "c5.large"),
            NodeKind::ObjectStorage => (Some(5_500.0), 1, 20.0, ""),
            NodeKind::ExternalService => (None, 1, 100.0, ""),
            NodeKind::Service => (Some(100.0), 1, 0.0, ""),
        };
        let mut fee = 0.0;
        if matches!(kind, NodeKind::LoadBalancer { .. }) {
            fee = 22.0; // ALB base fee, article 004
        }
        Node {
            id,
            name: format!("{} {id}", kind.label()),
            kind,
            capacity_rps: capacity,
            concurrency,
            base_latency_ms: latency,
            instance_type: instance_type.into(),
            monthly_fee_usd: fee,
            ..Node::default()
        }
    }

    /// The cost tier of this node.
    pub fn tier(&self) -> &str {
        if self.tier.is_empty() {
            self.kind.tier()
        } else {
            &self.tier
        }
    }

    /// [`Node::tier`], borrowed from the kind when the user named none (a report row per node
    /// then needs no allocation for it).
    pub fn tier_owned(&self) -> std::borrow::Cow<'static, str> {
        if self.tier.is_empty() {
            std::borrow::Cow::Borrowed(self.kind.tier())
        } else {
            std::borrow::Cow::Owned(self.tier.clone())
        }
    }

    /// Instances paid for (instances per shard × shards for a ShardGroup).
    pub fn billed_instances(&self) -> f64 {
        let shards = match self.kind {
            NodeKind::ShardGroup { shards, .. } => shards,
            _ => 1,
        };
        f64::from(self.instances) * f64::from(shards)
    }
}

/// What an edge does with the traffic leaving its source.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub enum EdgeKind {
    /// Forwards a share (by weight) of the requests the source does not finish itself.
    #[default]
    Route,
    /// Every request served at the source calls the target this many times, one after another.
    Call(#[serde(deserialize_with = "checked::calls")] u32),
    /// This fraction of the requests the source drops is sent again to the target.
    Retry(#[serde(deserialize_with = "checked::ratio")] f64),
}

/// A wire between two nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Edge {
    pub from: NodeId,
    pub to: NodeId,
    #[serde(skip_serializing_if = "defaults::is_route")]
    pub kind: EdgeKind,
    /// Relative share among the route edges that carry the same class.
    #[serde(
        deserialize_with = "checked::weight",
        skip_serializing_if = "defaults::is_one_f64"
    )]
    pub weight: f64,
    /// Classes this edge carries; empty means the target kind's default.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<ClassKind>,
    /// Route edges only: of the traffic this edge would carry, the fraction that finishes at
    /// the source instead (leaves the network there). 0 sends it all on.
    #[serde(
        deserialize_with = "checked::exit_share",
        skip_serializing_if = "defaults::is_zero"
    )]
    pub exit_share: f64,
}

impl Default for Edge {
    fn default() -> Self {
        Edge {
            from: 0,
            to: 0,
            kind: EdgeKind::Route,
            weight: 1.0,
            classes: Vec::new(),
            exit_share: 0.0,
        }
    }
}

impl Edge {
    /// A route edge of weight 1 carrying the target's default classes.
    pub fn route(from: NodeId, to: NodeId) -> Edge {
        Edge::of_kind(from, to, EdgeKind::Route)
    }

    /// An edge of `kind` (route, calls or retries) with weight 1 and the default classes.
    pub fn of_kind(from: NodeId, to: NodeId, kind: EdgeKind) -> Edge {
        Edge {
            from,
            to,
            kind,
            ..Edge::default()
        }
    }
}

/// Largest canvas coordinate accepted, in points either way from the origin (the canvas and
/// its wire drawing need finite positions; this is far beyond any drawing).
pub const MAX_COORDINATE: f32 = 1e7;

/// A canvas position.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Position {
    #[serde(deserialize_with = "checked::coordinate")]
    pub x: f32,
    #[serde(deserialize_with = "checked::coordinate")]
    pub y: f32,
}

/// A semantic problem in a topology, with the item it concerns.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{item}: {message}")]
pub struct Invalid {
    /// The item, e.g. `node 4 "Postgres"` or `edge 2 → 9`.
    pub item: String,
    /// What was expected.
    pub message: String,
    /// Where the item stands in the document, for pointing at it in the source file.
    pub anchor: Option<Anchor>,
}

/// An item of a topology by its place in the document (list positions in file order, as
/// parsed, before any sorting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// The top-level `version` field.
    Version,
    /// The top-level `settings` field.
    Settings,
    /// The top-level `layout` field.
    Layout,
    /// The n-th entry of `nodes`.
    Node(usize),
    /// The n-th entry of `edges`.
    Edge(usize),
    /// The n-th entry of `workloads`.
    Workload(usize),
    /// The n-th entry of `regions`.
    Region(usize),
    /// The n-th entry of `settings.region_rtt_ms`.
    RegionLink(usize),
}

/// `text` as it may be echoed in a message: quoted, with control characters, quotes and
/// backslashes escaped, and cut to [`ECHO_CHARS`] characters (a name can be a megabyte).
pub fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for (count, ch) in text.chars().enumerate() {
        if count == ECHO_CHARS {
            out.push('…');
            break;
        }
        if ch.is_control() || ch == '"' || ch == '\\' {
            out.extend(ch.escape_default());
        } else {
            out.push(ch);
        }
    }
    out.push('"');
    out
}

/// Most characters of user text echoed in a message.
pub const ECHO_CHARS: usize = 60;

fn invalid(item: impl Into<String>, message: impl Into<String>, anchor: Option<Anchor>) -> Invalid {
    Invalid {
        item: item.into(),
        message: message.into(),
        anchor,
    }
}

impl Topology {
    /// Sorts every list so that saving gives the same bytes for the same model.
    pub fn normalize(&mut self) {
        self.version = FORMAT_VERSION;
        self.nodes.sort_by_key(|node| node.id);
        sort_edges(&mut self.edges);
        for edge in &mut self.edges {
            edge.classes.sort();
            edge.classes.dedup();
        }
        self.regions.sort_by(|a, b| a.name.cmp(&b.name));
        self.workloads.sort_by(|a, b| a.name.cmp(&b.name));
        self.settings
            .region_rtt_ms
            .sort_by(|x, y| (&x.a, &x.b).cmp(&(&y.a, &y.b)));
        // The nodes are sorted by id now: a layout entry's node is found by bisection.
        let nodes = &self.nodes;
        self.layout
            .retain(|id, _| nodes.binary_search_by_key(id, |node| node.id).is_ok());
    }

    /// Whether two topologies describe the same system, ignoring the canvas layout (which
    /// does not change any figure).
    pub fn same_model(&self, other: &Topology) -> bool {
        self.version == other.version
            && self.name == other.name
            && self.description == other.description
            && self.settings == other.settings
            && self.regions == other.regions
            && self.workloads == other.workloads
            && self.nodes == other.nodes
            && self.edges == other.edges
    }

    /// The node with `id`.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        find_by_id(&self.nodes, id, |node| node.id)
    }

    /// The next unused node id.
    pub fn next_id(&self) -> NodeId {
        self.nodes.iter().map(|node| node.id + 1).max().unwrap_or(1)
    }

    /// Checks what parsing cannot: references, uniqueness, class fractions, sizes.
    /// Numeric ranges are checked again too, for topologies built in code.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.validated_index().map(|_| ())
    }

    /// [`Topology::validate`], giving the index of node ids it built on the way (the solver
    /// compiles with it).
    pub fn validated_index(&self) -> Result<NodeIndex, Invalid> {
        self.check_sizes()?;
        let region_names: BTreeSet<&str> = self.regions.iter().map(|r| r.name.as_str()).collect();
        let known_region = |name: &str| name.is_empty() || region_names.contains(name);
        self.check_places(&known_region)?;
        let ids = self.check_nodes(&known_region)?;
        self.check_edges(&ids)?;
        self.check_workloads(&ids, &known_region)?;
        Ok(ids)
    }

    /// The format version and the sizes of the lists, before anything is read from them.
    fn check_sizes(&self) -> Result<(), Invalid> {
        if self.version > FORMAT_VERSION {
            return Err(invalid(
                "version",
                format!(
                    "this file is format version {}, but this build reads up to {FORMAT_VERSION}",
                    self.version
                ),
                Some(Anchor::Version),
            ));
        }
        if self.nodes.len() > MAX_NODES {
            return Err(invalid(
                "nodes",
                format!(
                    "{} nodes; at most {MAX_NODES} are supported",
                    self.nodes.len()
                ),
                None,
            ));
        }
        for (name, count) in [
            ("regions", self.regions.len()),
            ("workloads", self.workloads.len()),
            ("settings.region_rtt_ms", self.settings.region_rtt_ms.len()),
        ] {
            if count > MAX_LIST {
                return Err(invalid(
                    name,
                    format!("{count} entries; at most {MAX_LIST} are supported"),
                    None,
                ));
            }
        }
        if self.edges.len() > MAX_EDGES {
            return Err(invalid(
                "edges",
                format!(
                    "{} edges; at most {MAX_EDGES} are supported",
                    self.edges.len()
                ),
                None,
            ));
        }
        Ok(())
    }

    /// Regions, the layout's coordinates, the links between regions and the settings.
    fn check_places(&self, known_region: &impl Fn(&str) -> bool) -> Result<(), Invalid> {
        for (index, region) in self.regions.iter().enumerate() {
            checked::in_range("latitude", region.lat, -90.0, 90.0)
                .and_then(|_| checked::in_range("longitude", region.lon, -180.0, 180.0))
                .and_then(|_| match region.availability {
                    Some(up) => checked::in_range("availability", up, 0.0, 1.0),
                    None => Ok(()),
                })
                .map_err(|m| {
                    invalid(
                        format!("region {}", quoted(&region.name)),
                        m,
                        Some(Anchor::Region(index)),
                    )
                })?;
        }
        for (id, position) in &self.layout {
            checked::coordinate_in_range(position.x)
                .and_then(|_| checked::coordinate_in_range(position.y))
                .map_err(|m| invalid(format!("layout of node {id}"), m, Some(Anchor::Layout)))?;
        }
        for (index, link) in self.settings.region_rtt_ms.iter().enumerate() {
            let anchor = Some(Anchor::RegionLink(index));
            for end in [&link.a, &link.b] {
                if !known_region(end) {
                    return Err(invalid(
                        "settings.region_rtt_ms",
                        format!("unknown region {}", quoted(end)),
                        anchor,
                    ));
                }
            }
            checked::in_range("rtt_ms", link.rtt_ms, 0.0, 1e6)
                .map_err(|m| invalid("settings.region_rtt_ms", m, anchor))?;
        }
        let settings = &self.settings;
        checked::in_range("fiber_km_per_ms", settings.fiber_km_per_ms, 1.0, 300.0)
            .and_then(|_| checked::in_range("route_factor", settings.route_factor, 1.0, 10.0))
            .and_then(|_| {
                checked::in_range("same_region_rtt_ms", settings.same_region_rtt_ms, 0.0, 1e6)
            })
            .and_then(|_| {
                checked::in_range("overload_horizon_s", settings.overload_horizon_s, 0.0, 1e6)
            })
            .map_err(|m| invalid("settings", m, Some(Anchor::Settings)))?;
        Ok(())
    }

    /// The nodes: the servers in all, unique ids, known regions and each node's ranges; gives
    /// the index of node ids.
    fn check_nodes(&self, known_region: &impl Fn(&str) -> bool) -> Result<NodeIndex, Invalid> {
        // Item names are only formatted when something is wrong: this runs on every solve.
        let node_item = |node: &Node| format!("node {} {}", node.id, quoted(&node.name));
        let servers: u64 = self
            .nodes
            .iter()
            .map(|node| u64::from(node.instances) * u64::from(node.concurrency))
            .sum();
        if servers > MAX_TOTAL_SERVERS {
            return Err(invalid(
                "nodes",
                format!(
                    "{servers} servers (instances × concurrency) in all; at most \
                     {MAX_TOTAL_SERVERS} are solved"
                ),
                None,
            ));
        }
        let (ids, duplicate) = NodeIndex::of(&self.nodes);
        for (index, node) in self.nodes.iter().enumerate() {
            let node_anchor = |_: &Node| Some(Anchor::Node(index));
            if duplicate == Some(index) {
                return Err(invalid(
                    node_item(node),
                    "this id is used by another node",
                    node_anchor(node),
                ));
            }
            if !known_region(&node.region) {
                return Err(invalid(
                    node_item(node),
                    format!("unknown region {}", quoted(&node.region)),
                    node_anchor(node),
                ));
            }
            node_ranges(node).map_err(|m| invalid(node_item(node), m, node_anchor(node)))?;
        }
        Ok(ids)
    }

    /// The edges: ends that exist, loops only for retries, and each edge's ranges.
    fn check_edges(&self, ids: &NodeIndex) -> Result<(), Invalid> {
        for (index, edge) in self.edges.iter().enumerate() {
            let item = || format!("edge {} → {}", edge.from, edge.to);
            let anchor = || Some(Anchor::Edge(index));
            for end in [edge.from, edge.to] {
                if ids.get(end).is_none() {
                    return Err(invalid(
                        item(),
                        format!("node {end} does not exist"),
                        anchor(),
                    ));
                }
            }
            if edge.from == edge.to && !matches!(edge.kind, EdgeKind::Retry(_)) {
                return Err(invalid(
                    item(),
                    "only a Retry edge may loop back to its own node",
                    anchor(),
                ));
            }
            checked::in_range("weight", edge.weight, 1e-9, 1e6)
                .and_then(|_| match edge.kind {
                    EdgeKind::Route => Ok(()),
                    EdgeKind::Call(count) => {
                        checked::in_range("call count", f64::from(count), 1.0, 1000.0)
                    }
                    EdgeKind::Retry(p) => checked::in_range("retry fraction", p, 0.0, 1.0),
                })
                .and_then(|_| checked::in_range("exit_share", edge.exit_share, 0.0, 1.0))
                .and_then(|_| {
                    if edge.exit_share > 0.0 && edge.kind != EdgeKind::Route {
                        Err(format!(
                            "exit_share applies to route edges only, found {} on a call or \
                             retry edge",
                            edge.exit_share
                        ))
                    } else {
                        Ok(())
                    }
                })
                .map_err(|m| invalid(item(), m, anchor()))?;
        }
        Ok(())
    }

    /// The workloads: unique names, a client node that is one, a known region, ranges, and
    /// class fractions adding up to 1.
    fn check_workloads(
        &self,
        ids: &NodeIndex,
        known_region: &impl Fn(&str) -> bool,
    ) -> Result<(), Invalid> {
        let mut workload_names = BTreeSet::new();
        for (index, workload) in self.workloads.iter().enumerate() {
            let item = format!("workload {}", quoted(&workload.name));
            let anchor = Some(Anchor::Workload(index));
            if !workload_names.insert(workload.name.as_str()) {
                return Err(invalid(item, "another workload has this name", anchor));
            }
            match ids
                .get(workload.client)
                .map(|position| &self.nodes[position])
            {
                Some(node) if node.kind == NodeKind::Client => {}
                Some(_) => {
                    return Err(invalid(
                        item,
                        format!("client {} is not a Client node", workload.client),
                        anchor,
                    ))
                }
                None => {
                    return Err(invalid(
                        item,
                        format!("client node {} does not exist", workload.client),
                        anchor,
                    ))
                }
            }
            if !known_region(&workload.region) {
                return Err(invalid(
                    item,
                    format!("unknown region {}", quoted(&workload.region)),
                    anchor,
                ));
            }
            let rate = match workload.rate {
                Rate::PerDay(v) | Rate::PerSecond(v) | Rate::PerMonth(v) => v,
            };
            checked::in_range("rate", rate, 0.0, checked::MAX_RATE)
                .and_then(|_| {
                    checked::in_range("peak_multiplier", workload.peak_multiplier, 1.0, 1000.0)
                })
                .and_then(|_| checked::in_range("read", workload.read, 0.0, 1.0))
                .and_then(|_| checked::in_range("write", workload.write, 0.0, 1.0))
                .and_then(|_| checked::in_range("async", workload.background, 0.0, 1.0))
                .and_then(|_| {
                    checked::in_range(
                        "payload_kb",
                        workload.payload_kb,
                        0.0,
                        checked::MAX_PAYLOAD_KB,
                    )
                })
                .and_then(|_| checked::in_range("arrival_cv", workload.arrival_cv, 0.0, 10.0))
                .map_err(|m| invalid(item.clone(), m, anchor))?;
            let sum = workload.read + workload.write + workload.background;
            if (sum - 1.0).abs() > 1e-6 {
                return Err(invalid(
                    item,
                    format!("read + write + async must add up to 1, but they add up to {sum}"),
                    anchor,
                ));
            }
        }
        Ok(())
    }
}

/// The order of saved edges: by source, target, kind (calls by count, retries by fraction),
/// weight and exit share.
fn edge_order(a: &Edge, b: &Edge) -> std::cmp::Ordering {
    (a.from, a.to, edge_kind_rank(a.kind))
        .cmp(&(b.from, b.to, edge_kind_rank(b.kind)))
        .then(a.weight.total_cmp(&b.weight))
        .then(a.exit_share.total_cmp(&b.exit_share))
}

/// Sorts `edges` stably by [`edge_order`]. The edges are not moved while sorting: their
/// (source, target) keys and positions are, ties broken by position and then sorted stably by
/// the whole order (so the result is the stable sort's), and each edge is moved once after.
fn sort_edges(edges: &mut Vec<Edge>) {
    if edges.is_sorted_by(|a, b| edge_order(a, b).is_le()) {
        return;
    }
    let ends = |edge: &Edge| (u64::from(edge.from) << 32) | u64::from(edge.to);
    let mut keys: Vec<(u64, usize)> = edges
        .iter()
        .enumerate()
        .map(|(position, edge)| (ends(edge), position))
        .collect();
    keys.sort_unstable();
    // Wires joining the same two nodes lie side by side, by position: the rest of the order
    // sorts them (stably, so ties keep their positions).
    for run in keys.chunk_by_mut(|a, b| a.0 == b.0) {
        if run.len() > 1 {
            run.sort_by(|&(_, a), &(_, b)| edge_order(&edges[a], &edges[b]));
        }
    }
    let mut unsorted = std::mem::take(edges);
    *edges = keys
        .iter()
        .map(|&(_, position)| std::mem::take(&mut unsorted[position]))
        .collect();
}

fn edge_kind_rank(kind: EdgeKind) -> (u8, u64) {
    match kind {
        EdgeKind::Route => (0, 0),
        EdgeKind::Call(count) => (1, u64::from(count)),
        EdgeKind::Retry(p) => (2, p.to_bits()),
    }
}

/// Checks each of a node's figures against its range; the error names the field.
fn node_ranges(node: &Node) -> Result<(), String> {
    queue_ranges(node)?;
    cost_and_uptime_ranges(node)?;
    kind_ranges(&node.kind)
}

/// A node's servers, capacity, queue limit, latency and per-class capacities.
fn queue_ranges(node: &Node) -> Result<(), String> {
    use checked::in_range;
    in_range(
        "instances",
        f64::from(node.instances),
        1.0,
        checked::MAX_INSTANCES,
    )?;
    in_range(
        "concurrency",
        f64::from(node.concurrency),
        1.0,
        checked::MAX_CONCURRENCY,
    )?;
    if let Some(capacity) = node.capacity_rps {
        in_range(
            "capacity_rps",
            capacity,
            checked::MIN_CAPACITY,
            checked::MAX_CAPACITY,
        )?;
    }
    if let Some(limit) = node.queue_limit {
        in_range(
            "queue_limit",
            f64::from(limit),
            0.0,
            checked::MAX_QUEUE_LIMIT,
        )?;
        let states = u64::from(node.instances) * u64::from(node.concurrency) + u64::from(limit);
        if states > checked::MAX_FINITE_STATES {
            return Err(format!(
                "a queue limit with {states} servers and places is too large to solve exactly \
                 (at most {}); remove the limit or use fewer servers",
                checked::MAX_FINITE_STATES
            ));
        }
    }
    in_range("base_latency_ms", node.base_latency_ms, 0.0, 1e6)?;
    in_range("service_cv", node.service_cv, 0.0, 10.0)?;
    in_range("latency_cv", node.latency_cv, 0.0, 10.0)?;
    if !node.class_capacity_rps.is_empty() {
        if node.kind != NodeKind::Service {
            return Err(format!(
                "class_capacity_rps applies to Service nodes only, not to a {}",
                node.kind.label()
            ));
        }
        if node.capacity_rps.is_none() {
            return Err(
                "class_capacity_rps needs capacity_rps (a node without a capacity does not queue)"
                    .into(),
            );
        }
        for (class, capacity) in &node.class_capacity_rps {
            in_range(
                &format!("class_capacity_rps of {}", class.label()),
                *capacity,
                checked::MIN_CAPACITY,
                checked::MAX_CAPACITY,
            )?;
        }
    }
    Ok(())
}

/// A node's prices, storage and uptime.
fn cost_and_uptime_ranges(node: &Node) -> Result<(), String> {
    use checked::in_range;
    in_range(
        "monthly_fee_usd",
        node.monthly_fee_usd,
        0.0,
        checked::MAX_MONEY,
    )?;
    in_range(
        "usd_per_million_requests",
        node.usd_per_million_requests,
        0.0,
        checked::MAX_MONEY,
    )?;
    in_range("usd_per_gb", node.usd_per_gb, 0.0, checked::MAX_MONEY)?;
    in_range("storage_gb", node.storage_gb, 0.0, checked::MAX_STORAGE_GB)?;
    match node.availability {
        Some(Uptime::Fraction(up)) => in_range("availability", up, 0.0, 1.0)?,
        Some(Uptime::Repair { mtbf_h, mttr_h }) => {
            in_range("mtbf_h", mtbf_h, checked::MIN_MTBF_H, checked::MAX_HOURS)?;
            in_range("mttr_h", mttr_h, 0.0, checked::MAX_HOURS)?;
        }
        None => {}
    }
    Ok(())
}

/// The figures of a node's kind: hit ratios, database capacities, shards, pool size.
fn kind_ranges(kind: &NodeKind) -> Result<(), String> {
    use checked::in_range;
    match *kind {
        NodeKind::Cdn { hit_ratio } | NodeKind::Cache { hit_ratio } => {
            in_range("hit_ratio", hit_ratio, 0.0, 1.0)
        }
        NodeKind::Database {
            read_capacity_rps,
            write_capacity_rps,
            max_connections,
        } => {
            in_range(
                "read_capacity_rps",
                read_capacity_rps,
                checked::MIN_CAPACITY,
                checked::MAX_CAPACITY,
            )?;
            in_range(
                "write_capacity_rps",
                write_capacity_rps,
                checked::MIN_CAPACITY,
                checked::MAX_CAPACITY,
            )?;
            in_range("max_connections", f64::from(max_connections), 1.0, 1e6)
        }
        NodeKind::ShardGroup {
            shards,
            hot_shard_skew,
        } => {
            in_range("shards", f64::from(shards), 1.0, 100_000.0)?;
            in_range("hot_shard_skew", hot_shard_skew, 1.0, f64::from(shards))
        }
        NodeKind::ConnectionPooler { pool_size } => {
            in_range("pool_size", f64::from(pool_size), 1.0, 1e6)
        }
        _ => Ok(()),
    }
}

/// Range-checked deserializers: a value out of range fails at its own position in the file.
pub mod checked {
    /// Largest K (servers plus waiting places) of a queue with a limit: the solver solves
    /// M/M/c/K exactly up to here.
    pub const MAX_FINITE_STATES: u64 = 2_000_000;

    use serde::de::{Deserialize, Deserializer, Error};

    pub const MAX_RATE: f64 = 1e15;
    pub const MAX_INSTANCES: f64 = 100_000.0;
    pub const MAX_CONCURRENCY: f64 = 10_000.0;
    pub const MIN_CAPACITY: f64 = 1e-6;
    pub const MAX_CAPACITY: f64 = 1e9;
    pub const MAX_QUEUE_LIMIT: f64 = 1_000_000.0;
    pub const MAX_MONEY: f64 = 1e9;
    /// 1 GB per response.
    pub const MAX_PAYLOAD_KB: f64 = 1e6;
    /// An exabyte.
    pub const MAX_STORAGE_GB: f64 = 1e9;
    /// Shortest mean time between failures, hours (a minute).
    pub const MIN_MTBF_H: f64 = 1.0 / 60.0;
    /// Longest failure or repair time, hours (about a thousand years).
    pub const MAX_HOURS: f64 = 1e7;

    /// `Ok` when `value` is a finite number within [low, high], else what was expected.
    #[inline]
    pub fn in_range(field: &str, value: f64, low: f64, high: f64) -> Result<(), String> {
        if value.is_finite() && value >= low && value <= high {
            Ok(())
        } else {
            Err(out_of_range(field, value, low, high))
        }
    }

    /// What [`in_range`] says of a value out of range: kept out of line, so that checking a
    /// value in range (every field of every node, on every solve) sets up no message.
    #[cold]
    #[inline(never)]
    fn out_of_range(field: &str, value: f64, low: f64, high: f64) -> String {
        format!("{field} must be a number from {low} to {high}, found {value}")
    }

    fn number<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &str,
        low: f64,
        high: f64,
    ) -> Result<f64, D::Error> {
        let value = f64::deserialize(deserializer)?;
        in_range(field, value, low, high).map_err(D::Error::custom)?;
        Ok(value)
    }

    fn whole<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &str,
        low: f64,
        high: f64,
    ) -> Result<u32, D::Error> {
        let value = f64::deserialize(deserializer)?;
        in_range(field, value, low, high).map_err(D::Error::custom)?;
        if value.fract() != 0.0 {
            return Err(D::Error::custom(format!(
                "{field} must be a whole number, found {value}"
            )));
        }
        Ok(value as u32)
    }

    macro_rules! number_field {
        ($name:ident, $field:literal, $low:expr, $high:expr) => {
            pub fn $name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
                number(deserializer, $field, $low, $high)
            }
        };
    }
    macro_rules! whole_field {
        ($name:ident, $field:literal, $low:expr, $high:expr) => {
            pub fn $name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
                whole(deserializer, $field, $low, $high)
            }
        };
    }

    number_field!(rate, "rate", 0.0, MAX_RATE);
    number_field!(peak, "peak_multiplier", 1.0, 1000.0);
    number_field!(ratio, "fraction", 0.0, 1.0);
    number_field!(capacity, "capacity", MIN_CAPACITY, MAX_CAPACITY);
    number_field!(latency_ms, "latency in ms", 0.0, 1e6);
    number_field!(cv, "service_cv", 0.0, 10.0);
    number_field!(arrival_cv, "arrival_cv", 0.0, 10.0);
    number_field!(latency_cv, "latency_cv", 0.0, 10.0);
    number_field!(exit_share, "exit_share", 0.0, 1.0);
    number_field!(money, "amount in USD", 0.0, MAX_MONEY);
    number_field!(weight, "weight", 1e-9, 1e6);
    number_field!(payload, "payload_kb", 0.0, MAX_PAYLOAD_KB);
    number_field!(storage, "storage_gb", 0.0, MAX_STORAGE_GB);
    number_field!(skew, "hot_shard_skew", 1.0, 100_000.0);
    number_field!(latitude, "lat", -90.0, 90.0);
    number_field!(longitude, "lon", -180.0, 180.0);
    number_field!(fiber_speed, "fiber_km_per_ms", 1.0, 300.0);
    number_field!(route_factor, "route_factor", 1.0, 10.0);
    number_field!(horizon, "overload_horizon_s", 0.0, 1e6);
    number_field!(availability, "availability", 0.0, 1.0);
    number_field!(mtbf, "mtbf_h", MIN_MTBF_H, MAX_HOURS);
    number_field!(mttr, "mttr_h", 0.0, MAX_HOURS);
    whole_field!(instances, "instances", 1.0, MAX_INSTANCES);
    whole_field!(concurrency, "concurrency", 1.0, MAX_CONCURRENCY);
    whole_field!(connections, "connections", 1.0, 1e6);
    whole_field!(shards, "shards", 1.0, 100_000.0);
    whole_field!(calls, "call count", 1.0, 1000.0);

    /// `Ok` when `value` is a finite canvas coordinate within ±[`super::MAX_COORDINATE`].
    pub fn coordinate_in_range(value: f32) -> Result<(), String> {
        let limit = super::MAX_COORDINATE;
        if value.is_finite() && value.abs() <= limit {
            Ok(())
        } else {
            Err(format!(
                "a layout position must be a number from -{limit} to {limit}, found {value}"
            ))
        }
    }

    pub fn coordinate<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f32, D::Error> {
        let value = f64::deserialize(deserializer)?;
        // Checked before narrowing: 1e39 would become an infinite f32.
        if !(value.is_finite() && value.abs() <= f64::from(super::MAX_COORDINATE)) {
            return Err(D::Error::custom(format!(
                "a layout position must be a number from -{0} to {0}, found {value}",
                super::MAX_COORDINATE
            )));
        }
        Ok(value as f32)
    }

    pub fn optional_capacity<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<f64>, D::Error> {
        let value = Option::<f64>::deserialize(deserializer)?;
        if let Some(capacity) = value {
            in_range("capacity_rps", capacity, MIN_CAPACITY, MAX_CAPACITY)
                .map_err(D::Error::custom)?;
        }
        Ok(value)
    }

    pub fn class_capacity<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<std::collections::BTreeMap<super::ClassKind, f64>, D::Error> {
        let value = std::collections::BTreeMap::<super::ClassKind, f64>::deserialize(deserializer)?;
        for (class, capacity) in &value {
            in_range(
                &format!("class_capacity_rps of {}", class.label()),
                *capacity,
                MIN_CAPACITY,
                MAX_CAPACITY,
            )
            .map_err(D::Error::custom)?;
        }
        Ok(value)
    }

    pub fn optional_availability<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<f64>, D::Error> {
        let value = Option::<f64>::deserialize(deserializer)?;
        if let Some(up) = value {
            in_range("availability", up, 0.0, 1.0).map_err(D::Error::custom)?;
        }
        Ok(value)
    }

    pub fn queue_limit<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<u32>, D::Error> {
        let value = Option::<f64>::deserialize(deserializer)?;
        let Some(limit) = value else {
            return Ok(None);
        };
        in_range("queue_limit", limit, 0.0, MAX_QUEUE_LIMIT).map_err(D::Error::custom)?;
        if limit.fract() != 0.0 {
            return Err(D::Error::custom(format!(
                "queue_limit must be a whole number, found {limit}"
            )));
        }
        Ok(Some(limit as u32))
    }

    /// A list of at most `limit` entries, refused at entry `limit + 1` (the rest of the file
    /// is not read into memory first).
    fn limited_list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
        limit: usize,
        what: &'static str,
    ) -> Result<Vec<T>, D::Error> {
        struct Limited<T> {
            limit: usize,
            what: &'static str,
            item: std::marker::PhantomData<T>,
        }
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Limited<T> {
            type Value = Vec<T>;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(formatter, "a list of at most {} {}", self.limit, self.what)
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Vec<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    if items.len() == self.limit {
                        return Err(A::Error::custom(format!(
                            "more than {} {}; at most {} are supported",
                            self.limit, self.what, self.limit
                        )));
                    }
                    items.push(item);
                }
                Ok(items)
            }
        }
        deserializer.deserialize_seq(Limited {
            limit,
            what,
            item: std::marker::PhantomData,
        })
    }

    /// A list of at most [`super::MAX_LIST`] entries (regions, workloads, round trips).
    pub fn short_list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Vec<T>, D::Error> {
        limited_list(deserializer, super::MAX_LIST, "entries")
    }

    pub fn node_list<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<super::Node>, D::Error> {
        limited_list(deserializer, super::MAX_NODES, "nodes")
    }

    pub fn edge_list<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<super::Edge>, D::Error> {
        limited_list(deserializer, super::MAX_EDGES, "edges")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_by_id_searches_sorted_lists_and_scans_unsorted_ones() {
        let sorted = [1u32, 3, 7, 9];
        assert_eq!(find_by_id(&sorted, 7, |id| *id), Some(&7));
        assert_eq!(find_by_id(&sorted, 4, |id| *id), None);
        let unsorted = [9u32, 1, 7, 3];
        for id in unsorted {
            assert_eq!(find_by_id(&unsorted, id, |item| *item), Some(&id));
        }
    }

    #[test]
    fn node_index_finds_dense_and_sparse_ids_and_the_first_repeated_one() {
        let nodes = |ids: &[NodeId]| -> Vec<Node> {
            ids.iter()
                .map(|&id| Node::of_kind(id, NodeKind::AppServer))
                .collect()
        };
        // Dense ids (a flat table) and ids far apart (a hash map) answer alike.
        for ids in [
            [4, 2, 9, 2, 7, 9],
            [4, 2, 4_000_000_000, 2, 7, 4_000_000_000],
        ] {
            let (index, duplicate) = NodeIndex::of(&nodes(&ids));
            assert_eq!(duplicate, Some(3), "ids {ids:?}");
            for (position, id) in [(0, 4), (1, 2), (2, ids[2]), (4, 7)] {
                assert_eq!(index.get(id), Some(position), "id {id} of {ids:?}");
            }
            assert_eq!(index.get(5), None);
            assert_eq!(index.get(3_000_000_000), None);
        }
        let (index, duplicate) = NodeIndex::of(&[]);
        assert_eq!((index.get(0), duplicate), (None, None));
        // A repeated id is reported at the node that repeats it, as validation says.
        let mut topology = Topology {
            nodes: nodes(&[1, 2, 3, 2]),
            ..Topology::default()
        };
        let error = topology.validate().expect_err("id 2 twice");
        assert!(error.to_string().contains("node 2"), "{error}");
        assert_eq!(error.anchor, Some(Anchor::Node(3)));
        topology.nodes[3].id = 4;
        assert_eq!(
            topology.validated_index().map(|index| index.get(4)),
            Ok(Some(3))
        );
    }
}
