//! Steady-state availability from the model: k-of-n tiers (k from the solved load), replicas
//! and failover as parallel paths, regions that fail as a whole, and per class the availability
//! of its synchronous path, its downtime a month, its nines and the parts that cost the most.
//!
//! Failures are independent and every part is either up or down (its steady-state
//! availability). A class is up when its client reaches an answer: every node on the way is up
//! (enough of its instances, and its region), every node it calls is up, and of the nodes a
//! node routes the class to, at least one is up (a load balancer or a geo DNS sends traffic to
//! the targets that are left; a cache needs its database for its misses). Parts shared by
//! several branches (a database behind two regions, a region holding several tiers) are
//! conditioned on exactly, so a shared single point of failure is counted once.

use crate::model::catalog::{AvailabilityDefaults, Catalog};
use crate::model::{NodeId, NodeKind, Topology};
use crate::solver::lists::Lists;
use crate::solver::paths::Visit;
use crate::solver::report::{DowntimeShare, NodeAvailability, NodeReport, Report};
use rustc_hash::FxHashMap as HashMap;
use std::collections::{BTreeMap, BinaryHeap};

/// Minutes in the 730-hour month that prices use.
pub const MINUTES_PER_MONTH: f64 = 730.0 * 60.0;

/// Branches of the exact enumeration whose probability falls below this are counted as down
/// (each loses at most this much availability).
const NEGLIGIBLE_MASS: f64 = 1e-15;
/// Most outcomes evaluated for one availability figure before falling back to treating
/// shared parts as independent.
const MAX_OUTCOMES: usize = 4_096;
/// Most shared parts conditioned on exactly; with more, shared parts count as independent.
const MAX_SHARED: usize = 12;
/// Most parts whose downtime is attributed per class (the ones that fail most).
const MAX_ATTRIBUTED: usize = 32;
/// Path steps evaluated for the attributions of one class, at most (a path of 100,000 nodes
/// gets the 4 parts that fail most; one of 20 nodes all its parts up to 32).
const ATTRIBUTION_WORK: usize = 400_000;
/// Path steps evaluated for one class's attributions above which they run on rayon (only
/// attributions that evaluate the whole path again: those from a baseline re-evaluate a few
/// steps each and run serially).
#[cfg(feature = "parallel")]
const PARALLEL_WORK: usize = 20_000;

/// `ln Γ(x)` for x > 0 (Lanczos approximation, g = 7, nine coefficients; about 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (i, c) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Probability that fewer than `k` of `n` independent instances, each up with probability
/// `up`, are up: the unavailability of a k-of-n tier (binomial tail, summed from the end
/// away from the mode so that tiny figures keep their digits).
///
/// ```
/// use staircase::solver::availability::k_of_n_unavailability;
/// // One instance at 99.9% is down 0.1% of the time.
/// assert!((k_of_n_unavailability(0.999, 1, 1) - 0.001).abs() < 1e-15);
/// // Two in parallel (1 of 2): both down, 0.001² = 1e-6.
/// assert!((k_of_n_unavailability(0.999, 1, 2) - 1e-6).abs() < 1e-18);
/// ```
pub fn k_of_n_unavailability(up: f64, k: u32, n: u32) -> f64 {
    if k == 0 {
        return 0.0;
    }
    if k > n || up <= 0.0 {
        return 1.0;
    }
    if up >= 1.0 {
        return 0.0;
    }
    let (nf, ln_up, ln_down) = (f64::from(n), up.ln(), (-up).ln_1p());
    // The first term from the log-gamma form; each next one from the last by the ratio of
    // neighbouring binomial terms, C(n, i ± 1)/C(n, i) times (up/down)^{±1}.
    let pmf = |i: u32| {
        let i = f64::from(i);
        (ln_gamma(nf + 1.0) - ln_gamma(i + 1.0) - ln_gamma(nf - i + 1.0)
            + i * ln_up
            + (nf - i) * ln_down)
            .exp()
    };
    let odds = up / (1.0 - up);
    let mode = (((nf + 1.0) * up).floor() as u32).min(n);
    let negligible = |term: f64, sum: f64| term <= sum * 1e-17 || term == 0.0;
    if k - 1 < mode {
        let mut sum = 0.0;
        let mut term = pmf(k - 1);
        for i in (0..k).rev() {
            sum += term;
            if negligible(term, sum) {
                break;
            }
            // P(i − 1) = P(i)·i/(n − i + 1)·down/up.
            term *= f64::from(i) / ((nf - f64::from(i) + 1.0) * odds);
        }
        sum.min(1.0)
    } else {
        let mut sum = 0.0;
        let mut term = pmf(k);
        for i in k..=n {
            sum += term;
            if negligible(term, sum) {
                break;
            }
            // P(i + 1) = P(i)·(n − i)/(i + 1)·up/down.
            term *= (nf - f64::from(i)) * odds / (f64::from(i) + 1.0);
        }
        (1.0 - sum).clamp(0.0, 1.0)
    }
}

/// Availability of parts in series: all must be up.
///
/// ```
/// // Three tiers of 99.9% in series: 0.999³ = 99.7003%.
/// let up = staircase::solver::availability::series(&[0.999, 0.999, 0.999]);
/// assert!((up - 0.997_002_999).abs() < 1e-12);
/// ```
pub fn series(parts: &[f64]) -> f64 {
    parts.iter().product()
}

/// Availability of parts in parallel: one up suffices.
///
/// ```
/// // Two replicas of 99.9%: 1 − 0.001² = 99.9999%.
/// let up = staircase::solver::availability::parallel(&[0.999, 0.999]);
/// assert!((up - 0.999_999).abs() < 1e-15);
/// ```
pub fn parallel(parts: &[f64]) -> f64 {
    1.0 - parts.iter().map(|up| 1.0 - up).product::<f64>()
}

/// Expected minutes down in a 730-hour month.
///
/// ```
/// // 99.95% is 21.9 minutes a month.
/// let minutes = staircase::solver::availability::downtime_min_per_month(0.9995);
/// assert!((minutes - 21.9).abs() < 1e-9);
/// ```
pub fn downtime_min_per_month(availability: f64) -> f64 {
    ((1.0 - availability) * MINUTES_PER_MONTH).max(0.0)
}

/// The nines of an availability, −log10(1 − A) (99.9% is 3); `None` when it never fails.
pub fn nines(availability: f64) -> Option<f64> {
    let down = 1.0 - availability;
    (down > 0.0).then(|| -down.log10())
}

/// Instances that must be up to carry a tier's load below saturation: the busiest queue is
/// offered `offered_utilization` of its capacity with all `instances` up, so the load is
/// worth ρ·n instances and k = ⌊ρ·n⌋ + 1 (at least 1, at most n). The flag says the tier
/// cannot carry its load even with every instance up.
///
/// ```
/// // Five instances at 50%: 2.5 instances of work, so 3 of 5 must be up.
/// assert_eq!(staircase::solver::availability::needed_instances(0.5, 5), (3, false));
/// ```
pub fn needed_instances(offered_utilization: f64, instances: u32) -> (u32, bool) {
    let work = offered_utilization.max(0.0) * f64::from(instances);
    let needed = work.floor() + 1.0;
    if needed > f64::from(instances) {
        (instances.max(1), work >= f64::from(instances))
    } else {
        (needed as u32, false)
    }
}

/// Fills the availability figures of `report` (nodes, classes, the whole system) from the
/// topology it was solved from, the catalog's default availabilities and each class's path
/// (`class_paths`, in the order of the report's classes: the visits its `path` was written
/// from, by node index).
pub(super) fn assess(
    topology: &Topology,
    catalog: &Catalog,
    report: &mut Report,
    class_paths: &[&[Visit]],
    parallel: bool,
) {
    let defaults = &catalog.availability;
    let region_up: HashMap<&str, f64> = topology
        .regions
        .iter()
        .map(|region| {
            (
                region.name.as_str(),
                region.availability.unwrap_or(defaults.region),
            )
        })
        .collect();
    let mut overloaded = Vec::new();
    let mut known = KnownTiers::new(defaults);
    for (node, figures) in topology.nodes.iter().zip(report.nodes.iter_mut()) {
        figures.availability = tier_availability(node, figures, &mut known, &region_up);
        if figures.offered_utilization >= 1.0 && node.kind != NodeKind::Client {
            overloaded.push(format!("{} \"{}\"", node.id, node.name));
        }
    }
    if !overloaded.is_empty() {
        report.warnings.push(format!(
            "availability counts an overloaded tier as up when all its instances are up, \
             though it cannot carry its load even then: node {}",
            overloaded.join(", node ")
        ));
    }
    let parts = Parts::new(topology, report);
    let mut approximate = Vec::new();
    debug_assert_eq!(report.classes.len(), class_paths.len());
    // Classes side by side on a large graph (each class's own work decides for itself). A
    // class whose path has the same structure as an earlier class's (a workload's reads and
    // writes often go the same way) has the same figures: they are worked out once.
    let large = super::many_nodes(topology.nodes.len());
    let first_alike = first_alike_paths(class_paths);
    let own_figures = super::map_indices(class_paths.len(), parallel && large, |k| {
        (first_alike[k] == k).then(|| {
            let mut step_of_node = vec![NO_STEP; topology.nodes.len()];
            Structure::new(class_paths[k], &parts, &mut step_of_node)
                .figures(topology, &parts, parallel)
        })
    });
    // A class alike an earlier one (always before it) takes that one's figures.
    let mut figures: Vec<ClassFigures> = Vec::with_capacity(class_paths.len());
    for (k, own) in own_figures.into_iter().enumerate() {
        let taken = match own {
            Some(own) => own,
            None => figures[first_alike[k]].clone(),
        };
        figures.push(taken);
    }
    for (class, figures) in report.classes.iter_mut().zip(figures) {
        let ClassFigures {
            availability,
            exact,
            shares,
        } = figures;
        class.availability = availability;
        class.availability_exact = exact;
        class.downtime_min_per_month = downtime_min_per_month(availability);
        class.nines = nines(availability);
        class.downtime_by_part = shares;
        if !exact {
            approximate.push(class.name.clone());
        }
    }
    if !approximate.is_empty() {
        report.warnings.push(format!(
            "availability of {} is approximate: too many shared parts to condition on, so \
             shared parts are counted as if independent",
            approximate.join(", ")
        ));
    }
    let offered: f64 = report.classes.iter().map(|c| c.offered_rps).sum();
    report.availability = if offered > 0.0 {
        report
            .classes
            .iter()
            .map(|c| c.offered_rps * c.availability)
            .sum::<f64>()
            / offered
    } else if report.classes.is_empty() {
        1.0
    } else {
        report.classes.iter().map(|c| c.availability).sum::<f64>() / report.classes.len() as f64
    }
    .clamp(0.0, 1.0);
    report.downtime_min_per_month = downtime_min_per_month(report.availability);
}

/// One node's instance and tier availability at its solved load.
fn tier_availability(
    node: &crate::model::Node,
    figures: &NodeReport,
    known: &mut KnownTiers,
    region_up: &HashMap<&str, f64>,
) -> NodeAvailability {
    let instance = node.availability.map_or_else(
        || known.default_instance(&node.kind),
        |uptime| uptime.fraction(),
    );
    let (needed, _) = needed_instances(figures.offered_utilization, node.instances);
    let shards = match node.kind {
        NodeKind::ShardGroup { shards, .. } => shards,
        _ => 1,
    };
    // Every shard holds its own part of the data: all must have enough instances up (each
    // sized like the busiest shard).
    let down = known.k_of_n_unavailability(instance, needed, node.instances);
    // One shard's figure is its own (x¹ = x exactly; the power is a call).
    let tier = if shards == 1 {
        1.0 - down
    } else {
        (1.0 - down).powi(shards as i32)
    }
    .clamp(0.0, 1.0);
    let region = if node.kind == NodeKind::Client || node.region.is_empty() {
        1.0
    } else {
        region_up.get(node.region.as_str()).copied().unwrap_or(1.0)
    };
    NodeAvailability {
        instance,
        needed,
        tier,
        region,
    }
}

/// What the tiers of many nodes share, looked up once per assessment: each node kind's default
/// instance availability (a catalog lookup by name) and each binomial tail (most tiers have
/// the same instance availability and few distinct instance counts). The figures are the
/// ones computed without it, bit for bit.
struct KnownTiers<'a> {
    defaults: &'a AvailabilityDefaults,
    kinds: Vec<(std::mem::Discriminant<NodeKind>, f64)>,
    /// (instance availability's bits, needed, instances) → unavailability.
    tails: HashMap<(u64, u32, u32), f64>,
}

impl<'a> KnownTiers<'a> {
    fn new(defaults: &'a AvailabilityDefaults) -> Self {
        KnownTiers {
            defaults,
            kinds: Vec::new(),
            tails: HashMap::default(),
        }
    }

    /// The catalog's availability of one instance of `kind`.
    fn default_instance(&mut self, kind: &NodeKind) -> f64 {
        let discriminant = std::mem::discriminant(kind);
        if let Some(&(_, up)) = self.kinds.iter().find(|(d, _)| *d == discriminant) {
            return up;
        }
        let up = self.defaults.instance(kind);
        self.kinds.push((discriminant, up));
        up
    }

    /// [`k_of_n_unavailability`], computed once for each distinct argument.
    fn k_of_n_unavailability(&mut self, up: f64, k: u32, n: u32) -> f64 {
        *self
            .tails
            .entry((up.to_bits(), k, n))
            .or_insert_with(|| k_of_n_unavailability(up, k, n))
    }
}

/// The parts that can fail: every node (its tier) and every region.
struct Parts {
    /// Per node (in the topology's order): the part of its tier, and the part of its region
    /// if the region can fail.
    of_node: Vec<(usize, Option<usize>)>,
    /// Availability of each part.
    up: Vec<f64>,
    /// Whose each part is, for naming it in a downtime share.
    owner: Vec<Owner>,
}

/// What a part stands for: the tier of node `v`, or the region node `v` is in.
#[derive(Clone, Copy)]
enum Owner {
    Tier(usize),
    Region(usize),
}

impl Parts {
    fn new(topology: &Topology, report: &Report) -> Parts {
        let count = topology.nodes.len();
        let mut parts = Parts {
            of_node: Vec::with_capacity(count),
            up: Vec::with_capacity(count),
            owner: Vec::with_capacity(count),
        };
        let mut regions: BTreeMap<&str, usize> = BTreeMap::new();
        for (v, (node, figures)) in topology.nodes.iter().zip(&report.nodes).enumerate() {
            let tier = parts.push(figures.availability.tier, Owner::Tier(v));
            let region = (figures.availability.region < 1.0).then(|| {
                *regions
                    .entry(node.region.as_str())
                    .or_insert_with(|| parts.push(figures.availability.region, Owner::Region(v)))
            });
            parts.of_node.push((tier, region));
        }
        parts
    }

    /// Adds a part up `up` of the time; its index.
    fn push(&mut self, up: f64, owner: Owner) -> usize {
        self.up.push(up);
        self.owner.push(owner);
        self.up.len() - 1
    }

    /// The node id (none for a region) and the name a downtime share gives `part`.
    fn name(&self, topology: &Topology, part: usize) -> (Option<NodeId>, String) {
        match self.owner[part] {
            Owner::Tier(v) => (Some(topology.nodes[v].id), topology.nodes[v].name.clone()),
            Owner::Region(v) => (None, format!("region {}", topology.nodes[v].region)),
        }
    }
}

/// A node not on the path being built (see [`Structure::new`]).
const NO_STEP: usize = usize::MAX;
/// A part that is not among the candidates for attribution (see [`Structure::holders`]).
const NOT_CANDIDATE: usize = usize::MAX;

/// Per step of a path, the steps it calls and then the steps it may route to, in one flat list.
struct Links {
    /// Step v's targets are `targets[start[v]..start[v + 1]]`, its calls the first `calls[v]`.
    start: Vec<usize>,
    calls: Vec<usize>,
    targets: Vec<usize>,
}

impl Links {
    fn with_capacity(steps: usize) -> Links {
        let mut start = Vec::with_capacity(steps + 1);
        start.push(0);
        Links {
            start,
            calls: Vec::with_capacity(steps),
            targets: Vec::with_capacity(steps),
        }
    }

    /// Adds the next step, with the steps it calls and those it may route to.
    fn push(&mut self, calls: impl Iterator<Item = usize>, routes: impl Iterator<Item = usize>) {
        let first = self.targets.len();
        self.targets.extend(calls);
        self.calls.push(self.targets.len() - first);
        self.targets.extend(routes);
        self.start.push(self.targets.len());
    }

    fn steps(&self) -> usize {
        self.calls.len()
    }

    /// The steps `v` calls, then those it routes to.
    fn of(&self, v: usize) -> &[usize] {
        &self.targets[self.start[v]..self.start[v + 1]]
    }

    fn calls(&self, v: usize) -> &[usize] {
        &self.targets[self.start[v]..self.start[v] + self.calls[v]]
    }

    fn routes(&self, v: usize) -> &[usize] {
        &self.targets[self.start[v] + self.calls[v]..self.start[v + 1]]
    }

    /// Per step, the steps linking to it (in step order).
    fn callers(&self) -> Lists {
        Lists::transposed(&self.start, &self.targets, self.steps())
    }

    /// The same links, keeping only those from `v` to `to` for which `keep(v, to)`.
    fn filtered(&self, keep: impl Fn(usize, usize) -> bool) -> Links {
        let mut kept = Links::with_capacity(self.steps());
        for v in 0..self.steps() {
            kept.push(
                self.calls(v).iter().copied().filter(|&to| keep(v, to)),
                self.routes(v).iter().copied().filter(|&to| keep(v, to)),
            );
        }
        kept
    }
}

/// A class's path as an and/or structure over parts.
struct Structure {
    /// Per path step: the part of its tier and the part of its region, if any.
    parts: Vec<(usize, Option<usize>)>,
    /// Per path step: the steps it calls and the steps it may route to (never back up the
    /// path; none for a step not reached from the first).
    links: Links,
    /// Per path step: it answers some requests itself.
    answers: Vec<bool>,
    /// Parts that appear in more than one branch (conditioned on exactly), ascending.
    shared: Vec<usize>,
    /// Steps reached along more than one path (their value is fixed once shared parts are).
    fixed: Vec<bool>,
    /// Steps in post-order (callees before callers).
    order: Vec<usize>,
    /// Each step's place in `order` (0 for a step not reached).
    position: Vec<usize>,
}

impl Structure {
    /// The structure of a class's path. `step_of_node` is [`NO_STEP`] for every node on entry
    /// and again on return (it maps the path's nodes to their steps meanwhile).
    fn new(path: &[Visit], parts: &Parts, step_of_node: &mut [usize]) -> Structure {
        for (i, visit) in path.iter().enumerate() {
            step_of_node[visit.node] = i;
        }
        let links = path_links(path, step_of_node);
        for visit in path {
            step_of_node[visit.node] = NO_STEP;
        }
        Structure::from_links(
            path.iter().map(|visit| parts.of_node[visit.node]).collect(),
            links,
            path.iter().map(|visit| visit.answers).collect(),
            parts,
        )
    }

    /// The structure of steps holding `own` parts, linked by `links`: loops dropped, the
    /// steps reached along several paths and the parts shared between branches found.
    fn from_links(
        own: Vec<(usize, Option<usize>)>,
        links: Links,
        answers: Vec<bool>,
        parts: &Parts,
    ) -> Structure {
        let (order, looped) = post_order(&links);
        let mut position = vec![0; links.steps()];
        for (rank, &v) in order.iter().enumerate() {
            position[v] = rank;
        }
        // Drop edges back up the path (loops): a request does not need its own caller. Steps
        // not reached from the first keep no links.
        let links = if looped || order.len() < links.steps() {
            links.filtered(|v, to| position[to] < position[v])
        } else {
            links
        };
        // Paths into each step (capped at 2), callers first.
        let mut paths = vec![0u8; links.steps()];
        if !paths.is_empty() {
            paths[0] = 1;
        }
        for &v in order.iter().rev() {
            for &to in links.of(v) {
                paths[to] = paths[to].saturating_add(paths[v]).min(2);
            }
        }
        let fixed: Vec<bool> = paths.iter().map(|&p| p >= 2).collect();
        let mut uses = vec![0u32; parts.up.len()];
        for (v, &(tier, region)) in own.iter().enumerate() {
            if paths[v] == 0 {
                continue;
            }
            for part in std::iter::once(tier).chain(region) {
                uses[part] += if fixed[v] { 2 } else { 1 };
            }
        }
        let shared: Vec<usize> = (0..parts.up.len())
            .filter(|&part| uses[part] >= 2 && parts.up[part] < 1.0)
            .collect();
        Structure {
            parts: own,
            links,
            answers,
            shared,
            fixed,
            order,
            position,
        }
    }

    fn steps(&self) -> usize {
        self.parts.len()
    }

    /// The class's availability, whether it is exact, and the downtime each part adds.
    fn figures(&self, topology: &Topology, parts: &Parts, parallel: bool) -> ClassFigures {
        let mut scratch = Scratch::new(parts, self.steps());
        let candidates = self.candidates(parts);
        let baseline = self.baseline(&mut scratch, &candidates);
        let (availability, exact) = match &baseline {
            // Too many shared parts to condition on: the path evaluated once is the figure.
            Some(baseline) => (baseline.values[0].clamp(0.0, 1.0), false),
            None => self.availability_with(&mut scratch, None),
        };
        let shares = self.attribute(
            topology,
            parts,
            (&candidates, baseline.as_ref()),
            availability,
            (&mut scratch, parallel),
        );
        ClassFigures {
            availability,
            exact,
            shares,
        }
    }

    /// The class's availability with part `perfect` (if any) never failing, and whether it is
    /// exact, on reused buffers: `scratch.up` holds every part's availability on entry and
    /// again on return.
    fn availability_with(&self, scratch: &mut Scratch, perfect: Option<usize>) -> (f64, bool) {
        if self.steps() == 0 {
            return (1.0, true);
        }
        let saved = perfect.map(|part| std::mem::replace(&mut scratch.up[part], 1.0));
        let varying: Vec<usize> = self
            .shared
            .iter()
            .copied()
            .filter(|&part| scratch.up[part] < 1.0)
            .collect();
        let result = if varying.len() > MAX_SHARED {
            (self.evaluate(scratch, false).clamp(0.0, 1.0), false)
        } else {
            let mut enumeration = Enumeration {
                total: 0.0,
                outcomes: 0,
            };
            if self.enumerate(&varying, 1.0, scratch, &mut enumeration) {
                (enumeration.total.clamp(0.0, 1.0), true)
            } else {
                (self.evaluate(scratch, false).clamp(0.0, 1.0), false)
            }
        };
        if let (Some(part), Some(saved)) = (perfect, saved) {
            scratch.up[part] = saved;
        }
        result
    }

    /// Sums, over the up/down states of the `varying` shared parts, the state's probability
    /// times the class availability given that state. False when there are too many outcomes.
    /// Each shared part is fixed at 1 (up) or 0 (down) in `scratch.up` while its branch runs.
    fn enumerate(
        &self,
        varying: &[usize],
        mass: f64,
        scratch: &mut Scratch,
        enumeration: &mut Enumeration,
    ) -> bool {
        if mass < NEGLIGIBLE_MASS {
            return true;
        }
        let Some((&part, rest)) = varying.split_first() else {
            enumeration.outcomes += 1;
            enumeration.total += mass * self.evaluate(scratch, true);
            return enumeration.outcomes <= MAX_OUTCOMES;
        };
        let p = scratch.up[part];
        let mut done = true;
        for (value, weight) in [(1.0, p), (0.0, 1.0 - p)] {
            scratch.up[part] = value;
            done = self.enumerate(rest, mass * weight, scratch, enumeration);
            if !done {
                break;
            }
        }
        scratch.up[part] = p;
        done
    }

    /// Availability with each part up with probability `scratch.up` (shared parts being
    /// enumerated are 0 or 1 there). With `exact`, a step reached along several paths is
    /// certainly up or down once every shared part is fixed.
    fn evaluate(&self, scratch: &mut Scratch, exact: bool) -> f64 {
        let Scratch { up, value, .. } = scratch;
        for &v in &self.order {
            value[v] = self.step_value(v, up, value, exact);
        }
        value[0]
    }

    /// Step `v`'s availability from its parts' and its callees' (see [`Structure::evaluate`]).
    fn step_value(&self, v: usize, up: &[f64], value: &[f64], exact: bool) -> f64 {
        let (tier, region) = self.parts[v];
        let mut p = up[tier];
        if let Some(region) = region {
            p *= up[region];
        }
        for &to in self.links.calls(v) {
            p *= value[to];
        }
        let routes = self.links.routes(v);
        if !routes.is_empty() {
            p *= 1.0 - routes.iter().map(|&to| 1.0 - value[to]).product::<f64>();
        } else if !self.answers[v] {
            p = 0.0;
        }
        if exact && self.fixed[v] {
            p = p.round();
        }
        p
    }

    /// With shared parts counted as independent even when one of them is made perfect: the
    /// path evaluated once, so that each of the `candidates` made perfect re-evaluates only
    /// the steps it changes ([`Structure::with_perfect`]). `None` when exact conditioning may
    /// apply.
    fn baseline(&self, scratch: &mut Scratch, candidates: &[usize]) -> Option<Baseline> {
        let varying = self
            .shared
            .iter()
            .filter(|&&part| scratch.up[part] < 1.0)
            .count();
        if self.steps() == 0 || varying <= MAX_SHARED + 1 {
            return None;
        }
        self.evaluate(scratch, false);
        Some(Baseline {
            values: scratch.value.clone(),
            callers: self.links.callers(),
            holders: self.holders(candidates, scratch.up.len()),
        })
    }

    /// The steps in the order that hold each of the `candidates` (by its rank among them),
    /// out of `part_count` parts.
    fn holders(&self, candidates: &[usize], part_count: usize) -> Lists {
        let mut rank_of_part = vec![NOT_CANDIDATE; part_count];
        for (rank, &part) in candidates.iter().enumerate() {
            rank_of_part[part] = rank;
        }
        let mut held = Vec::new();
        for &v in &self.order {
            let (tier, region) = self.parts[v];
            for part in std::iter::once(tier).chain(region) {
                if rank_of_part[part] != NOT_CANDIDATE {
                    held.push((rank_of_part[part], v));
                }
            }
        }
        Lists::gathered(candidates.len(), held.iter().copied())
    }

    /// The class availability (shared parts as independent) with `part`, held by the steps
    /// `holders`, never failing, from `baseline` by re-evaluating only the holders and, while
    /// their value moves, their callers (callees first, as [`Structure::evaluate`] does): the
    /// same figure as evaluating the whole path again. `scratch.value` holds the baseline's
    /// values on entry and again on return.
    fn with_perfect(
        &self,
        baseline: &Baseline,
        scratch: &mut Scratch,
        part: usize,
        holders: &[usize],
    ) -> f64 {
        let Scratch {
            up,
            value,
            dirty,
            pending,
            moved,
        } = scratch;
        let saved = std::mem::replace(&mut up[part], 1.0);
        // Steps to re-evaluate, by their rank in the order: a caller ranks above its callees,
        // so the lowest pending rank is always the next one in the order.
        for &v in holders {
            mark(self.position[v], dirty, pending);
        }
        while let Some(std::cmp::Reverse(rank)) = pending.pop() {
            dirty[rank] = false;
            let v = self.order[rank];
            let next = self.step_value(v, up, value, false);
            if next.to_bits() != value[v].to_bits() {
                value[v] = next;
                moved.push(v);
                for &caller in baseline.callers.of(v) {
                    mark(self.position[caller], dirty, pending);
                }
            }
        }
        let better = value[0].clamp(0.0, 1.0);
        for v in moved.drain(..) {
            value[v] = baseline.values[v];
        }
        up[part] = saved;
        better
    }

    /// The parts on the path that can fail, those that fail most first (ties by part index),
    /// as many as the path's length affords: each attribution evaluates the path again.
    fn candidates(&self, parts: &Parts) -> Vec<usize> {
        let mut on_path = vec![false; parts.up.len()];
        for &(tier, region) in &self.parts {
            on_path[tier] = true;
            if let Some(region) = region {
                on_path[region] = true;
            }
        }
        let mut candidates: Vec<usize> = (0..parts.up.len())
            .filter(|&part| on_path[part] && parts.up[part] < 1.0)
            .collect();
        let affordable = (ATTRIBUTION_WORK / self.steps().max(1)).clamp(1, MAX_ATTRIBUTED);
        let fails_more =
            |a: &usize, b: &usize| parts.up[*a].total_cmp(&parts.up[*b]).then(a.cmp(b));
        if candidates.len() > affordable {
            candidates.select_nth_unstable_by(affordable, fails_more);
            candidates.truncate(affordable);
        }
        candidates.sort_unstable_by(fails_more);
        candidates
    }

    /// Downtime each of the `candidates` adds (availability with the part perfect minus
    /// without), largest first. From the `baseline` when there is one (each re-evaluates the
    /// few steps whose value moves, on `scratch`, which holds the baseline's values); else
    /// each evaluates the path again, on rayon when `parallel` and that is much work.
    fn attribute(
        &self,
        topology: &Topology,
        parts: &Parts,
        (candidates, baseline): (&[usize], Option<&Baseline>),
        availability: f64,
        (scratch, parallel): (&mut Scratch, bool),
    ) -> Vec<DowntimeShare> {
        let share = |part: usize, better: f64| {
            let minutes = (better - availability) * MINUTES_PER_MONTH;
            (minutes > 1e-9).then(|| {
                let (id, name) = parts.name(topology, part);
                DowntimeShare {
                    id,
                    name,
                    min_per_month: minutes,
                }
            })
        };
        let mut shares: Vec<DowntimeShare> = match baseline {
            Some(baseline) => {
                let again = |scratch: &mut Scratch, rank: usize, part: usize| {
                    let holders = baseline.holders.of(rank);
                    share(part, self.with_perfect(baseline, scratch, part, holders))
                };
                let fresh = || Scratch {
                    value: baseline.values.clone(),
                    ..Scratch::new(parts, self.steps())
                };
                self.each_again(candidates, again, (scratch, fresh, parallel))
            }
            None => {
                let again = |scratch: &mut Scratch, _: usize, part: usize| {
                    share(part, self.availability_with(scratch, Some(part)).0)
                };
                let fresh = || Scratch::new(parts, self.steps());
                self.each_again(candidates, again, (scratch, fresh, parallel))
            }
        };
        shares.sort_by(|a, b| b.min_per_month.total_cmp(&a.min_per_month));
        shares
    }

    /// `again(scratch, rank, part)` for each of the `candidates` (by rank), in order; on rayon
    /// (each thread's share of them on a `fresh` scratch like `scratch`) when `parallel` and
    /// the path evaluated that many times is much work.
    fn each_again<T: Send>(
        &self,
        candidates: &[usize],
        again: impl Fn(&mut Scratch, usize, usize) -> Option<T> + Sync + Send,
        (scratch, fresh, parallel): (&mut Scratch, impl Fn() -> Scratch + Sync + Send, bool),
    ) -> Vec<T> {
        #[cfg(feature = "parallel")]
        if parallel && self.steps() * candidates.len() >= PARALLEL_WORK {
            use rayon::prelude::*;
            let share = candidates.len().div_ceil(rayon::current_num_threads());
            return candidates
                .par_iter()
                .enumerate()
                .with_min_len(share)
                .map_init(&fresh, |s, (rank, &part)| again(s, rank, part))
                .flatten()
                .collect();
        }
        let _ = (fresh, parallel);
        candidates
            .iter()
            .enumerate()
            .filter_map(|(rank, &part)| again(scratch, rank, part))
            .collect()
    }
}

/// Marks the step at `rank` for re-evaluation, once.
fn mark(rank: usize, dirty: &mut [bool], pending: &mut BinaryHeap<std::cmp::Reverse<usize>>) {
    if !std::mem::replace(&mut dirty[rank], true) {
        pending.push(std::cmp::Reverse(rank));
    }
}

/// The links of each step of `path` (calls, then routes and standby targets) to the steps of
/// its nodes, by `step_of_node`; targets off the path are left out.
fn path_links(path: &[Visit], step_of_node: &[usize]) -> Links {
    let on_path = |node: &usize| Some(step_of_node[*node]).filter(|&step| step != NO_STEP);
    let mut links = Links::with_capacity(path.len());
    for visit in path {
        links.push(
            visit.calls.iter().filter_map(on_path),
            visit
                .routes
                .iter()
                .chain(&visit.standby)
                .filter_map(on_path),
        );
    }
    links
}

/// Steps in post-order from step 0 (callees before callers), following calls and routes, and
/// whether some link leads back to a step still being explored (a loop).
fn post_order(links: &Links) -> (Vec<usize>, bool) {
    let mut order = Vec::with_capacity(links.steps());
    if links.steps() == 0 {
        return (order, false);
    }
    let mut seen = vec![false; links.steps()];
    let mut done = vec![false; links.steps()];
    let mut looped = false;
    let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
    seen[0] = true;
    while let Some(&mut (v, ref mut next)) = stack.last_mut() {
        if let Some(&to) = links.of(v).get(*next) {
            *next += 1;
            if !seen[to] {
                seen[to] = true;
                stack.push((to, 0));
            } else if !done[to] {
                looped = true;
            }
        } else {
            order.push(v);
            done[v] = true;
            stack.pop();
        }
    }
    (order, looped)
}

/// A class's availability figures (see [`Structure::figures`]).
#[derive(Clone)]
struct ClassFigures {
    availability: f64,
    exact: bool,
    shares: Vec<DowntimeShare>,
}

/// Per class, the first class whose path has the same structure as its own (itself when no
/// earlier one has): the same nodes in the same order, each calling, routing to and standing by
/// for the same nodes and answering alike. [`Structure::new`] reads nothing else of a path, so
/// classes of the same structure have the same availability figures. Paths are compared only
/// when their hashes match.
fn first_alike_paths(class_paths: &[&[Visit]]) -> Vec<usize> {
    use std::hash::{Hash, Hasher};
    let hashes: Vec<u64> = class_paths
        .iter()
        .map(|path| {
            let mut hasher = rustc_hash::FxHasher::default();
            path.len().hash(&mut hasher);
            for visit in path.iter() {
                visit.node.hash(&mut hasher);
                visit.calls.as_slice().hash(&mut hasher);
                visit.routes.as_slice().hash(&mut hasher);
                visit.standby.hash(&mut hasher);
                visit.answers.hash(&mut hasher);
            }
            hasher.finish()
        })
        .collect();
    let same_structure = |a: &[Visit], b: &[Visit]| {
        a.len() == b.len()
            && a.iter().zip(b).all(|(a, b)| {
                a.node == b.node
                    && a.answers == b.answers
                    && a.calls == b.calls
                    && a.routes == b.routes
                    && a.standby == b.standby
            })
    };
    (0..class_paths.len())
        .map(|k| {
            (0..k)
                .find(|&j| hashes[j] == hashes[k] && same_structure(class_paths[j], class_paths[k]))
                .unwrap_or(k)
        })
        .collect()
}

/// A path evaluated once (shared parts as independent), with what re-evaluating part of it
/// needs: each step's callers and the steps that hold each candidate part (by its rank among
/// the candidates).
struct Baseline {
    values: Vec<f64>,
    callers: Lists,
    holders: Lists,
}

/// Buffers one class's availability figures reuse: every part's availability (shared parts
/// fixed while they are enumerated), every step's value, and for a partial re-evaluation the
/// ranks it has marked (all false between uses), those pending (lowest first) and the steps
/// whose value moved (both empty between uses).
struct Scratch {
    up: Vec<f64>,
    value: Vec<f64>,
    dirty: Vec<bool>,
    pending: BinaryHeap<std::cmp::Reverse<usize>>,
    moved: Vec<usize>,
}

impl Scratch {
    fn new(parts: &Parts, steps: usize) -> Scratch {
        Scratch {
            up: parts.up.clone(),
            value: vec![0.0; steps],
            dirty: vec![false; steps],
            pending: BinaryHeap::new(),
            moved: Vec::new(),
        }
    }
}

/// The running sum of an enumeration over shared parts.
struct Enumeration {
    total: f64,
    outcomes: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_of_five_matches_the_binomial_sum() {
        // 3 of 5 at 99%: down when 0, 1 or 2 are up:
        // C(5,2)·0.99²·0.01³ + C(5,1)·0.99·0.01⁴ + 0.01⁵.
        let a: f64 = 0.99;
        let by_hand = 10.0 * a.powi(2) * 0.01f64.powi(3) + 5.0 * a * 0.01f64.powi(4) + 1e-10;
        let down = k_of_n_unavailability(a, 3, 5);
        assert!((down - by_hand).abs() < 1e-18, "{down} vs {by_hand}");
        assert!((down - 9.8506e-6).abs() < 1e-9);
    }

    #[test]
    fn tails_on_either_side_of_the_mode_and_large_tiers() {
        // 5 of 5 at 90%: 1 − 0.9⁵.
        assert!((k_of_n_unavailability(0.9, 5, 5) - (1.0 - 0.9f64.powi(5))).abs() < 1e-14);
        // 1 of 1000 at 50%: 0.5^1000 underflows to 0 and stays finite.
        let tiny = k_of_n_unavailability(0.5, 1, 1000);
        assert!((0.0..1e-300).contains(&tiny));
        // 100 of 100,000 at 99.95%: never short.
        assert_eq!(k_of_n_unavailability(0.9995, 100, 100_000), 0.0);
        assert_eq!(k_of_n_unavailability(0.9995, 6, 5), 1.0);
    }

    #[test]
    fn ln_gamma_gives_factorials() {
        assert!((ln_gamma(1.0)).abs() < 1e-14);
        assert!((ln_gamma(11.0) - 3_628_800f64.ln()).abs() < 1e-12);
    }

    /// A path of 40 steps, each routing to the next two or calling the next, with 15 region
    /// parts on several steps each (too many to condition on): re-evaluating only what a part
    /// made perfect changes gives bit for bit what evaluating the whole path again gives.
    #[test]
    fn partial_re_evaluation_matches_the_whole_path() {
        let count = 40;
        let regions = 15;
        let mut up: Vec<f64> = (0..count).map(|i| 0.99 - 0.001 * i as f64).collect();
        up.extend((0..regions).map(|r| 0.9999 - 0.0001 * r as f64));
        let mut links = Links::with_capacity(count);
        let mut answers = Vec::new();
        for i in 0..count {
            let later = |k: usize| (i + k < count).then_some(i + k);
            let (calls, routes): (Vec<usize>, Vec<usize>) = if i % 3 == 0 {
                (later(1).into_iter().collect(), Vec::new())
            } else {
                (Vec::new(), later(1).into_iter().chain(later(2)).collect())
            };
            answers.push(routes.is_empty());
            links.push(calls.into_iter(), routes.into_iter());
        }
        let (order, looped) = post_order(&links);
        assert!(!looped);
        let mut position = vec![0; count];
        for (rank, &v) in order.iter().enumerate() {
            position[v] = rank;
        }
        let structure = Structure {
            parts: (0..count).map(|i| (i, Some(count + i % regions))).collect(),
            links,
            answers,
            fixed: vec![false; count],
            shared: (count..count + regions).collect(),
            order,
            position,
        };
        let parts = Parts {
            of_node: Vec::new(),
            owner: vec![Owner::Region(0); up.len()],
            up,
        };
        // The partial re-evaluations keep the baseline's values in their own scratch.
        let mut partial_scratch = Scratch::new(&parts, count);
        let every_part: Vec<usize> = (0..parts.up.len()).collect();
        let baseline = structure
            .baseline(&mut partial_scratch, &every_part)
            .expect("approximate mode");
        let mut scratch = Scratch::new(&parts, count);
        let (availability, exact) = structure.availability_with(&mut scratch, None);
        assert!(!exact);
        assert!(availability > 0.9 && availability < 1.0, "{availability}");
        for part in 0..parts.up.len() {
            let (again, _) = structure.availability_with(&mut scratch, Some(part));
            let holders = baseline.holders.of(part);
            let partial = structure.with_perfect(&baseline, &mut partial_scratch, part, holders);
            assert!(again >= availability, "part {part}");
            assert_eq!(
                partial.to_bits(),
                again.to_bits(),
                "part {part}: {partial} vs {again}"
            );
        }
        assert_eq!(partial_scratch.value, baseline.values, "values restored");
        assert_eq!(partial_scratch.up, parts.up, "availabilities restored");
    }

    /// Step 0 routes to 1 and 2; 1 calls 3, which calls back up to 1 (a loop); 4 calls 3 but
    /// is never reached. The loop's back link and the unreached step's links are
    /// dropped; 3 is reached along one path, so nothing is shared.
    #[test]
    fn loops_are_dropped_and_unreached_steps_keep_no_links() {
        let mut links = Links::with_capacity(5);
        links.push(std::iter::empty(), [1, 2].into_iter());
        links.push([3].into_iter(), std::iter::empty());
        links.push(std::iter::empty(), std::iter::empty());
        links.push([1].into_iter(), std::iter::empty());
        links.push([3].into_iter(), std::iter::empty());
        assert!(post_order(&links).1, "3 → 1 is a loop");
        let parts = Parts {
            of_node: Vec::new(),
            owner: vec![Owner::Tier(0); 5],
            up: vec![0.99; 5],
        };
        let structure = Structure::from_links(
            (0..5).map(|v| (v, None)).collect(),
            links,
            vec![false, true, true, true, true],
            &parts,
        );
        assert_eq!(structure.order, vec![3, 1, 2, 0]);
        assert_eq!(structure.links.calls(3), &[] as &[usize]);
        assert_eq!(structure.links.calls(1), &[3]);
        assert_eq!(structure.links.of(4), &[] as &[usize]);
        assert!(structure.shared.is_empty());
        assert_eq!(structure.links.callers().of(3), &[1]);
        // Step 0 up, and step 1 and its callee 3 up or step 2 up:
        // 0.99 × (1 − (1 − 0.99²)(1 − 0.99)).
        let (up, exact) = structure.availability_with(&mut Scratch::new(&parts, 5), None);
        let by_hand = 0.99 * (1.0 - (1.0 - 0.99f64.powi(2)) * (1.0 - 0.99));
        assert!(exact);
        assert!((up - by_hand).abs() < 1e-15, "{up} vs {by_hand}");
    }

    /// Reads and writes that go the same way share their figures; a path that routes
    /// elsewhere, answers differently or visits fewer nodes does not.
    #[test]
    fn paths_of_the_same_structure_are_found_once() {
        let visit = |node: usize, routes: &[usize], answers: bool, mean: f64| Visit {
            node,
            visits: 1.0,
            mean,
            round_trip: 0.0,
            calls: crate::solver::paths::Targets::new(),
            routes: routes.iter().copied().collect(),
            standby: Vec::new(),
            answers,
        };
        let reads = vec![visit(0, &[1, 2], false, 0.1), visit(1, &[], true, 0.2)];
        // The same structure at other times (figures of the load, not of the structure).
        let writes = vec![visit(0, &[1, 2], false, 0.5), visit(1, &[], true, 0.7)];
        let elsewhere = vec![visit(0, &[2], false, 0.1), visit(1, &[], true, 0.2)];
        let answering = vec![visit(0, &[1, 2], false, 0.1), visit(1, &[], false, 0.2)];
        let shorter = vec![visit(0, &[1, 2], false, 0.1)];
        let paths: Vec<&[Visit]> = vec![&reads, &elsewhere, &writes, &answering, &shorter, &writes];
        assert_eq!(first_alike_paths(&paths), vec![0, 1, 0, 3, 4, 0]);
    }

    #[test]
    fn needed_instances_from_load() {
        assert_eq!(needed_instances(0.0, 4), (1, false));
        assert_eq!(needed_instances(0.8, 1), (1, false));
        // Exactly one instance of work needs a second to stay below saturation.
        assert_eq!(needed_instances(0.5, 2), (2, false));
        assert_eq!(needed_instances(1.2, 3), (3, true));
    }
}
