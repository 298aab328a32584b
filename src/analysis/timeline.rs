//! Time: a scenario (diurnal load, spikes, autoscaling, failures) stepped through the solver,
//! with fluid backlogs carried from step to step.
//!
//! Each step solves the topology as it stands at that moment (load multiplier, live instances,
//! failed nodes, cache warmth) and moves every node's backlog by (arrivals − capacity)·Δt,
//! never below zero: a queue fills while arrivals exceed capacity and drains at
//! capacity − arrivals afterwards. The burst a draining queue sends downstream is not modelled.

use crate::model::{NodeId, NodeKind, Topology};
use crate::solver::{solve, Params, SolveError};
use serde::Serialize;
use std::collections::BTreeMap;

/// A temporary load multiplier.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spike {
    pub start_s: f64,
    pub duration_s: f64,
    pub multiplier: f64,
}

/// How an autoscaler decides the instance count.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Policy {
    /// instances × utilization / target, rounded up.
    #[default]
    TargetTracking,
    /// Add (or remove, when negative) instances by the highest band the utilization is in:
    /// (utilization at or above, change), e.g. [(0.8, 2), (0.95, 5), (0.0, -1)] applied from
    /// the highest threshold down; the first band that matches wins.
    Step(Vec<(f64, i32)>),
    /// Set the count at fixed times: (from second, instances), e.g. a morning scale-up.
    Scheduled(Vec<(f64, u32)>),
}

/// Autoscaling of one node.
#[derive(Clone, Debug, PartialEq)]
pub struct Autoscale {
    pub node: NodeId,
    /// Utilization a target-tracking policy aims for (0.6 = 60% CPU).
    pub target_utilization: f64,
    /// How the instance count is decided.
    pub policy: Policy,
    pub min: u32,
    pub max: u32,
    /// Provision + boot + health check: time from decision to serving.
    pub cold_start_s: f64,
    /// Time after an action before the next one.
    pub cooldown_s: f64,
}

impl Policy {
    /// A step policy from bands `AT_PERCENT:CHANGE` separated by commas, e.g.
    /// `"90:5,75:3,60:1,30:0,0:-1"`.
    pub fn parse_steps(text: &str) -> Result<Policy, String> {
        let mut bands = Vec::new();
        for band in text.split(',') {
            let (at, change) = band
                .split_once(':')
                .ok_or_else(|| format!("expected AT_PERCENT:CHANGE, found \"{band}\""))?;
            let at: f64 = at
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && (0.0..=1000.0).contains(v))
                .ok_or_else(|| {
                    format!("a band's percent must be from 0 to 1000, found \"{at}\"")
                })?;
            let change: i32 = change
                .trim()
                .trim_start_matches('+')
                .parse()
                .ok()
                .filter(|v: &i32| v.abs() <= 100_000)
                .ok_or_else(|| {
                    format!(
                        "a band's change must be a whole number of instances, found \"{change}\""
                    )
                })?;
            bands.push((at / 100.0, change));
        }
        Ok(Policy::Step(bands))
    }

    /// A schedule from `FROM_S:INSTANCES` pairs separated by commas, e.g. `"0:4,21600:20"`.
    pub fn parse_schedule(text: &str) -> Result<Policy, String> {
        let mut times = Vec::new();
        for entry in text.split(',') {
            let (from, count) = entry
                .split_once(':')
                .ok_or_else(|| format!("expected FROM_S:INSTANCES, found \"{entry}\""))?;
            let from: f64 = from
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("a schedule time must be a non-negative number of seconds, found \"{from}\""))?;
            let count: u32 = count
                .trim()
                .parse()
                .ok()
                .filter(|v: &u32| (1..=100_000).contains(v))
                .ok_or_else(|| format!("a scheduled count must be a whole number from 1 to 100000, found \"{count}\""))?;
            times.push((from, count));
        }
        Ok(Policy::Scheduled(times))
    }
}

/// Autoscaling as a user asks for it (the CLI's `timeline` flags, the timeline window): the
/// node and bounds may be left for [`AutoscaleSettings::resolve`] to fill in.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoscaleSettings {
    /// The node to scale; `None` picks the busiest tier that scales out ([`scalable_tier`]).
    pub node: Option<NodeId>,
    /// Fewest instances; `None` keeps the node's own count as the floor.
    pub min: Option<u32>,
    /// Most instances; `None` allows ten times the node's count.
    pub max: Option<u32>,
    pub target_utilization: f64,
    pub policy: Policy,
    pub cold_start_s: f64,
    pub cooldown_s: f64,
}

impl AutoscaleSettings {
    /// The autoscaler these settings describe for `topology` (none when nothing scales out).
    pub fn resolve(&self, topology: &Topology) -> Result<Option<Autoscale>, String> {
        let node = match self.node {
            Some(id) => topology
                .node(id)
                .ok_or_else(|| format!("node {id} does not exist"))?,
            None => {
                let report = solve(topology, &Params::default()).map_err(|e| e.to_string())?;
                match scalable_tier(topology, &report) {
                    Some(node) => node,
                    None => return Ok(None),
                }
            }
        };
        let min = self.min.unwrap_or(node.instances);
        let max = self.max.unwrap_or(node.instances.saturating_mul(10)).max(1);
        if min == 0 || min > max {
            return Err(format!(
                "autoscaling bounds must satisfy 1 <= min <= max, found min {min}, max {max}"
            ));
        }
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        if !(self.target_utilization > 0.0 && self.target_utilization <= 1.0) {
            return Err(format!(
                "the target utilization must be above 0% and at most 100%, found {}%",
                self.target_utilization * 100.0
            ));
        }
        if !ok(self.cold_start_s) || !ok(self.cooldown_s) {
            return Err("cold start and cooldown must be non-negative seconds".into());
        }
        Ok(Some(Autoscale {
            node: node.id,
            target_utilization: self.target_utilization,
            policy: self.policy.clone(),
            min,
            max,
            cold_start_s: self.cold_start_s,
            cooldown_s: self.cooldown_s,
        }))
    }
}

/// Something that breaks at a moment.
#[derive(Clone, Debug, PartialEq)]
pub enum FailureKind {
    /// `count` instances of the node stop (at least one stays).
    InstancesDown { node: NodeId, count: u32 },
    /// The node and its wires are gone.
    NodeDown { node: NodeId },
    /// The cache is emptied; its hit ratio climbs back linearly over `warmup_s`.
    CacheFlush { node: NodeId, warmup_s: f64 },
    /// Every node in the region is gone (traffic fails over where the graph allows).
    RegionLost { region: String },
    /// A read replica lags its primary for `lag_s`: the `fresh_read_share` of its reads that
    /// must see recent writes find stale data and are retried on `primary`.
    ReplicaLag {
        replica: NodeId,
        primary: NodeId,
        lag_s: f64,
        fresh_read_share: f64,
    },
}

/// A failure at `at_s` seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub at_s: f64,
    pub kind: FailureKind,
}

/// What happens over time.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub duration_s: f64,
    pub step_s: f64,
    /// Follow a day: the peak (18:00) at the peak rate, a 24-hour mean at the average rate
    /// (see [`diurnal_factor`]).
    /// Without it the load stays at the peak rate times the profile.
    pub diurnal: bool,
    /// Piecewise-constant load multipliers (from time, multiplier); empty means 1.
    pub profile: Vec<(f64, f64)>,
    pub spikes: Vec<Spike>,
    pub autoscale: Vec<Autoscale>,
    pub failures: Vec<Failure>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            duration_s: 86_400.0,
            step_s: 300.0,
            diurnal: true,
            profile: Vec::new(),
            spikes: Vec::new(),
            autoscale: Vec::new(),
            failures: Vec::new(),
        }
    }
}

/// The system at one step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub t_s: f64,
    pub load_multiplier: f64,
    pub offered_rps: f64,
    pub served_rps: f64,
    pub dropped_rps: f64,
    /// Requests waiting in fluid backlogs, per node with one.
    pub backlog: BTreeMap<NodeId, f64>,
    /// Live instances of the autoscaled nodes.
    pub instances: BTreeMap<NodeId, u32>,
    /// Monthly cost rate at this step, USD per hour.
    pub cost_per_hour_usd: f64,
    /// The worst p99 of any request class, ms, plus the time to get through the largest
    /// backlog (computed for topologies of up to [`P99_NODE_LIMIT`] nodes, where the inversion
    /// is cheap enough for every step).
    pub worst_p99_ms: Option<f64>,
}

/// Largest topology whose end-to-end p99 is computed at every step.
pub const P99_NODE_LIMIT: usize = 60;

impl Step {
    /// Requests waiting in all backlogs together.
    pub fn total_backlog(&self) -> f64 {
        self.backlog
            .values()
            .fold(0.0, |total, queued| total + queued)
    }
}

/// A whole run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timeline {
    pub steps: Vec<Step>,
    /// Cost of the simulated period, USD.
    pub cost_usd: f64,
    /// Nodes on a synchronous path with a single instance: their failure stops traffic.
    pub single_points_of_failure: Vec<String>,
    /// Per spike, seconds from its end until every backlog is empty (`None`: not within the
    /// simulated period).
    pub drain_after_spikes_s: Vec<Option<f64>>,
}

/// Why a scenario could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TimelineError {
    #[error(
        "the step must be positive and at most the duration, found {step_s} s over {duration_s} s"
    )]
    BadStep { step_s: f64, duration_s: f64 },
    #[error(
        "{duration_s:?} s in steps of {step_s:?} s is {steps:e} steps; at most {MAX_STEPS} are \
         simulated (use a longer step or a shorter period)"
    )]
    TooManySteps {
        step_s: f64,
        duration_s: f64,
        steps: f64,
    },
    #[error(
        "{steps} steps of a {nodes}-node topology is {} node solves; at most {MAX_NODE_STEPS} \
         are simulated (use a longer step or a shorter period)",
        (*steps as u64) * (*nodes as u64)
    )]
    TooLarge { steps: usize, nodes: usize },
    #[error("at t = {t_s} s: {source}")]
    Solve { t_s: f64, source: SolveError },
}

/// Load multiplier at `t` seconds: diurnal curve × profile × spikes.
pub fn load_at(scenario: &Scenario, peak_multiplier: f64, t: f64) -> f64 {
    let mut load = 1.0;
    if scenario.diurnal {
        load *= diurnal_factor(peak_multiplier, t);
    }
    if let Some(&(_, multiplier)) = scenario.profile.iter().rev().find(|(from, _)| *from <= t) {
        load *= multiplier;
    }
    for spike in &scenario.spikes {
        if t >= spike.start_s && t < spike.start_s + spike.duration_s {
            load *= spike.multiplier;
        }
    }
    load
}

/// The day curve, as a share of the peak rate at `t` seconds after midnight: a peak of 1 at
/// 18:00 and a 24-hour mean of 1/`peak_multiplier` (the average rate), so a day carries
/// exactly the stated requests per day. The shape is floored at half the average rate and
/// peaked like a von Mises density: floor + (1 − floor)·e^{κ(cos φ − 1)}, with φ the phase
/// from 18:00 and κ found so the mean comes out right.
///
/// ```
/// use staircase::analysis::timeline::diurnal_factor;
/// // Peak 5×: the peak is 1 and the day's mean is 1/5 of it.
/// assert!((diurnal_factor(5.0, 18.0 * 3600.0) - 1.0).abs() < 1e-12);
/// let mean = (0..1440).map(|m| diurnal_factor(5.0, m as f64 * 60.0)).sum::<f64>() / 1440.0;
/// assert!((mean - 0.2).abs() < 1e-6);
/// ```
pub fn diurnal_factor(peak_multiplier: f64, t: f64) -> f64 {
    let peak = peak_multiplier.max(1.0);
    if peak <= 1.0 {
        return 1.0;
    }
    let floor = 0.5 / peak;
    let kappa = diurnal_sharpness(peak);
    let phase = 2.0 * std::f64::consts::PI * (t - 18.0 * 3600.0) / 86_400.0;
    floor + (1.0 - floor) * (kappa * (phase.cos() - 1.0)).exp()
}

/// κ of [`diurnal_factor`] for `peak` (> 1): the day mean of e^{κ(cos φ − 1)} must be
/// (1/peak − floor)/(1 − floor) = 1/(2·peak − 1). The mean falls from 1 at κ = 0 towards 0,
/// so bisection on a one-minute grid (exact to rounding for this smooth periodic curve).
fn diurnal_sharpness(peak: f64) -> f64 {
    const POINTS: usize = 1440;
    let target = 1.0 / (2.0 * peak - 1.0);
    let mean = |kappa: f64| {
        (0..POINTS)
            .map(|i| {
                let phase = 2.0 * std::f64::consts::PI * i as f64 / POINTS as f64;
                (kappa * (phase.cos() - 1.0)).exp()
            })
            .sum::<f64>()
            / POINTS as f64
    };
    let (mut low, mut high) = (0.0f64, 1.0f64);
    while mean(high) > target && high < 1e7 {
        high *= 2.0;
    }
    for _ in 0..60 {
        let middle = 0.5 * (low + high);
        if mean(middle) > target {
            low = middle;
        } else {
            high = middle;
        }
    }
    0.5 * (low + high)
}

/// Scaling decisions waiting for their cold start.
struct Pending {
    ready_at: f64,
    instances: u32,
}

/// Most steps a scenario may take (each one is a solve): a week in 1-minute steps.
pub const MAX_STEPS: usize = 10_080;

/// Most steps × nodes a scenario may take: a day in 5-minute steps of a 35,000-node topology.
pub const MAX_NODE_STEPS: u64 = 10_000_000;

/// Runs `scenario` on `topology`.
pub fn run(topology: &Topology, scenario: &Scenario) -> Result<Timeline, TimelineError> {
    let step_count = checked_step_count(topology, scenario)?;
    let peak = topology
        .workloads
        .iter()
        .map(|w| w.peak_multiplier)
        .fold(1.0, f64::max);
    let mut fleet = Fleet::new(topology, scenario);
    let mut backlog: BTreeMap<NodeId, f64> = BTreeMap::new();
    let mut steps = Vec::new();
    let mut cost_usd = 0.0;
    let mut previous: Option<crate::solver::report::Report> = None;
    for index in 0..=step_count {
        let t = index as f64 * scenario.step_s;
        fleet.start_ready(t);
        // Fluid backlogs over the interval just ended, at that interval's rates (the report
        // of its start): capacity is what a node completes at full utilization.
        if let Some(previous) = &previous {
            advance_backlogs(&mut backlog, previous, scenario.step_s);
        }
        let current = topology_at(topology, scenario, &fleet.live, t);
        let load = load_at(scenario, peak, t);
        let with_p99 = current.nodes.len() <= P99_NODE_LIMIT;
        let params = Params {
            load_multiplier: load,
            class_percentiles: with_p99,
            ..Params::default()
        };
        let report =
            solve(&current, &params).map_err(|source| TimelineError::Solve { t_s: t, source })?;
        let dt = if index == 0 { 0.0 } else { scenario.step_s };
        fleet.react(scenario, &report, t);
        let cost_per_hour = report.monthly_cost_usd / 730.0;
        cost_usd += cost_per_hour * dt / 3600.0;
        steps.push(Step {
            t_s: t,
            load_multiplier: load,
            offered_rps: report.offered_rps,
            served_rps: report.served_rps,
            dropped_rps: report.dropped_rps,
            backlog: backlog.clone(),
            instances: fleet.live.clone(),
            cost_per_hour_usd: cost_per_hour,
            worst_p99_ms: with_p99
                .then(|| report.worst_p99_ms() + backlog_wait_ms(&backlog, &report)),
        });
        previous = Some(report);
    }
    let drain_after_spikes_s = scenario
        .spikes
        .iter()
        .map(|spike| {
            let end = spike.start_s + spike.duration_s;
            steps
                .iter()
                .find(|s| s.t_s >= end && s.backlog.is_empty())
                .map(|s| s.t_s - end)
        })
        .collect();
    Ok(Timeline {
        steps,
        cost_usd,
        single_points_of_failure: single_points_of_failure(topology),
        drain_after_spikes_s,
    })
}

/// The number of steps of `scenario`, once its step, its length and its size on `topology`
/// are checked against the limits.
fn checked_step_count(topology: &Topology, scenario: &Scenario) -> Result<usize, TimelineError> {
    if !(scenario.step_s > 0.0
        && scenario.duration_s.is_finite()
        && scenario.step_s <= scenario.duration_s)
    {
        return Err(TimelineError::BadStep {
            step_s: scenario.step_s,
            duration_s: scenario.duration_s,
        });
    }
    let step_count = (scenario.duration_s / scenario.step_s).round();
    if step_count.is_nan() || step_count > MAX_STEPS as f64 {
        return Err(TimelineError::TooManySteps {
            step_s: scenario.step_s,
            duration_s: scenario.duration_s,
            steps: step_count,
        });
    }
    let step_count = step_count as usize;
    let node_steps = (step_count as u64 + 1) * topology.nodes.len() as u64;
    if node_steps > MAX_NODE_STEPS {
        return Err(TimelineError::TooLarge {
            steps: step_count + 1,
            nodes: topology.nodes.len(),
        });
    }
    Ok(step_count)
}

/// The autoscaled tiers' instances: those serving, those in their cold start, and when each
/// tier last changed.
struct Fleet {
    live: BTreeMap<NodeId, u32>,
    pending: BTreeMap<NodeId, Pending>,
    last_action: BTreeMap<NodeId, f64>,
}

impl Fleet {
    /// Each autoscaled tier at its instances, within its policy's bounds.
    fn new(topology: &Topology, scenario: &Scenario) -> Fleet {
        let live = scenario
            .autoscale
            .iter()
            .filter_map(|a| {
                topology
                    .node(a.node)
                    .map(|n| (a.node, n.instances.clamp(a.min, a.max)))
            })
            .collect();
        Fleet {
            live,
            pending: BTreeMap::new(),
            last_action: BTreeMap::new(),
        }
    }

    /// Instances that finished their cold start by time `t` now serve.
    fn start_ready(&mut self, t: f64) {
        for (node, decision) in std::mem::take(&mut self.pending) {
            if decision.ready_at <= t {
                self.live.insert(node, decision.instances);
            } else {
                self.pending.insert(node, decision);
            }
        }
    }

    /// Each policy's decision at time `t` on `report`'s utilizations, within its bounds and
    /// after its cooldown: growth waits for a cold start, shrinking is at once.
    fn react(&mut self, scenario: &Scenario, report: &crate::solver::report::Report, t: f64) {
        for policy in &scenario.autoscale {
            let Some(figures) = report.node(policy.node) else {
                continue;
            };
            let instances = self.live.get(&policy.node).copied().unwrap_or(policy.min);
            // A schedule is not a reaction: it has no cooldown.
            let cooldown = match policy.policy {
                Policy::Scheduled(_) => 0.0,
                _ => policy.cooldown_s,
            };
            let cooled = self
                .last_action
                .get(&policy.node)
                .is_none_or(|at| t - at >= cooldown);
            if !cooled || self.pending.contains_key(&policy.node) {
                continue;
            }
            let raw = policy_target(policy, instances, figures.offered_utilization, t);
            let wanted = raw.clamp(f64::from(policy.min), f64::from(policy.max)) as u32;
            if wanted > instances {
                self.pending.insert(
                    policy.node,
                    Pending {
                        ready_at: t + policy.cold_start_s,
                        instances: wanted,
                    },
                );
                self.last_action.insert(policy.node, t);
            } else if wanted < instances {
                self.live.insert(policy.node, wanted);
                self.last_action.insert(policy.node, t);
            }
        }
    }
}

/// The instances `policy` asks for at time `t`, from `instances` at `utilization` (before its
/// bounds): target tracking, the step band reached, or the schedule's last entry.
fn policy_target(policy: &Autoscale, instances: u32, utilization: f64, t: f64) -> f64 {
    match &policy.policy {
        Policy::TargetTracking => {
            (f64::from(instances) * utilization / policy.target_utilization).ceil()
        }
        Policy::Step(bands) => {
            let mut sorted = bands.clone();
            sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
            let change = sorted
                .iter()
                .find(|(threshold, _)| utilization >= *threshold)
                .map_or(0, |(_, change)| *change);
            f64::from(instances) + f64::from(change)
        }
        Policy::Scheduled(times) => times
            .iter()
            .filter(|(from, _)| *from <= t)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map_or(f64::from(instances), |(_, count)| f64::from(*count)),
    }
}

/// The longest time a new request waits behind a backlog: the largest backlog ÷ capacity of
/// any node, in ms (a request that reaches that node queues behind all of it).
fn backlog_wait_ms(backlog: &BTreeMap<NodeId, f64>, report: &crate::solver::report::Report) -> f64 {
    backlog
        .iter()
        .filter_map(|(id, queued)| {
            let node = report.node(*id)?;
            (node.utilization > 0.0).then(|| queued / (node.throughput_rps / node.utilization))
        })
        .fold(0.0, f64::max)
        * 1000.0
}

/// Moves every node's backlog by (arrivals − capacity)·`dt`, never below zero.
fn advance_backlogs(
    backlog: &mut BTreeMap<NodeId, f64>,
    report: &crate::solver::report::Report,
    dt: f64,
) {
    for node in &report.nodes {
        if node.utilization <= 0.0 {
            continue;
        }
        let capacity = node.throughput_rps / node.utilization;
        let queued = backlog.get(&node.id).copied().unwrap_or(0.0);
        let next = queued + (node.arrival_rps - capacity) * dt;
        // A residue below a billionth of a step's work is rounding: the queue is empty.
        if next > 1e-9 * (capacity * dt).max(1.0) {
            backlog.insert(node.id, next);
        } else {
            backlog.remove(&node.id);
        }
    }
}

/// The topology at time `t`: live instance counts and the failures that have happened.
fn topology_at(
    topology: &Topology,
    scenario: &Scenario,
    live: &BTreeMap<NodeId, u32>,
    t: f64,
) -> Topology {
    let mut current = topology.clone();
    for node in &mut current.nodes {
        if let Some(&instances) = live.get(&node.id) {
            node.instances = instances;
        }
    }
    let mut removed: Vec<NodeId> = Vec::new();
    for failure in scenario.failures.iter().filter(|f| f.at_s <= t) {
        match &failure.kind {
            FailureKind::InstancesDown { node, count } => {
                if let Some(n) = current.nodes.iter_mut().find(|n| n.id == *node) {
                    n.instances = n.instances.saturating_sub(*count).max(1);
                }
            }
            FailureKind::NodeDown { node } => removed.push(*node),
            FailureKind::CacheFlush { node, warmup_s } => {
                let warmth = if *warmup_s > 0.0 {
                    ((t - failure.at_s) / warmup_s).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                if let Some(n) = current.nodes.iter_mut().find(|n| n.id == *node) {
                    if let NodeKind::Cache { hit_ratio } | NodeKind::Cdn { hit_ratio } = &mut n.kind
                    {
                        *hit_ratio *= warmth;
                    }
                }
            }
            FailureKind::ReplicaLag {
                replica,
                primary,
                lag_s,
                fresh_read_share,
            } => {
                if t >= failure.at_s + lag_s {
                    continue;
                }
                // The replica answers the reads that may be stale and passes the others on,
                // like a cache that misses the fresh share.
                let Some(node) = current.nodes.iter_mut().find(|n| n.id == *replica) else {
                    continue;
                };
                node.tier = node.tier().to_string();
                node.kind = NodeKind::Cache {
                    hit_ratio: (1.0 - fresh_read_share).clamp(0.0, 1.0),
                };
                current.edges.push(crate::model::Edge {
                    classes: vec![crate::model::ClassKind::Read],
                    ..crate::model::Edge::route(*replica, *primary)
                });
            }
            FailureKind::RegionLost { region } => removed.extend(
                current
                    .nodes
                    .iter()
                    .filter(|n| &n.region == region && n.kind != NodeKind::Client)
                    .map(|n| n.id),
            ),
        }
    }
    if !removed.is_empty() {
        current.nodes.retain(|n| !removed.contains(&n.id));
        current
            .edges
            .retain(|e| !removed.contains(&e.from) && !removed.contains(&e.to));
        current.layout.retain(|id, _| !removed.contains(id));
    }
    current
}

/// The tier an autoscaler would grow: the busiest node of a kind that scales out by adding
/// identical instances (app servers, workers, generic services, read replicas). A primary
/// database or a shard group does not: more of them means resharding, not a scaling policy.
pub fn scalable_tier<'a>(
    topology: &'a Topology,
    report: &crate::solver::report::Report,
) -> Option<&'a crate::model::Node> {
    topology
        .nodes
        .iter()
        .filter(|node| {
            node.capacity_rps.is_some()
                && matches!(
                    node.kind,
                    NodeKind::AppServer
                        | NodeKind::Workers
                        | NodeKind::Service
                        | NodeKind::ReadReplica
                )
        })
        .filter_map(|node| Some((node, report.node(node.id)?.offered_utilization)))
        .filter(|(_, utilization)| *utilization > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(node, _)| node)
}

/// Nodes with a single instance that some client waits for (not clients themselves).
pub fn single_points_of_failure(topology: &Topology) -> Vec<String> {
    let Ok(report) = solve(
        topology,
        &Params {
            class_percentiles: false,
            ..Params::default()
        },
    ) else {
        return Vec::new();
    };
    let queued: Vec<NodeId> = report.async_bottleneck.iter().map(|b| b.id).collect();
    topology
        .nodes
        .iter()
        .zip(&report.nodes)
        .filter(|(node, figures)| {
            node.kind != NodeKind::Client
                && node.instances == 1
                && figures.arrival_rps > 0.0
                && !queued.contains(&node.id)
                && !matches!(node.kind, NodeKind::ShardGroup { shards, .. } if shards > 1)
        })
        .map(|(node, _)| node.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::generate::station;

    fn flat(duration_s: f64, step_s: f64) -> Scenario {
        Scenario {
            duration_s,
            step_s,
            diurnal: false,
            ..Scenario::default()
        }
    }

    #[test]
    fn fluid_backlog_fills_and_drains() {
        // M/M/4 at 25/s per server (capacity 100/s); 130/s for 60 s, then 70/s: the backlog
        // reaches (130 − 100) × 60 = 1,800 at 60 s and drains at 30/s, empty at 120 s.
        let topology = station(100.0, NodeKind::Service, 4, 25.0);
        let scenario = Scenario {
            profile: vec![(0.0, 1.3), (60.0, 0.7)],
            ..flat(180.0, 1.0)
        };
        let timeline = run(&topology, &scenario).unwrap();
        let at = |t: f64| {
            timeline
                .steps
                .iter()
                .find(|s| (s.t_s - t).abs() < 1e-9)
                .and_then(|s| s.backlog.get(&2).copied())
                .unwrap_or(0.0)
        };
        assert!((at(60.0) - 1_800.0).abs() < 1e-6, "{}", at(60.0));
        // While a backlog stands, new requests wait behind it: 1,800 at 100/s is 18 s more.
        let p99 = |t: f64| {
            timeline
                .steps
                .iter()
                .find(|s| s.t_s == t)
                .unwrap()
                .worst_p99_ms
                .unwrap()
        };
        assert!(p99(60.0) - p99(150.0) > 18_000.0);
        assert!(p99(30.0) > p99(150.0));
        assert!((at(90.0) - 900.0).abs() < 1e-6);
        let empty = timeline
            .steps
            .iter()
            .find(|s| s.t_s > 60.0 && s.backlog.is_empty())
            .unwrap();
        assert!((empty.t_s - 120.0).abs() < 1e-9, "drained at {}", empty.t_s);
        // The same as a spike: 1.3x for 60 s on a 0.7x base drains 60 s after it ends.
        let as_spike = Scenario {
            profile: vec![(0.0, 0.7)],
            spikes: vec![Spike {
                start_s: 0.0,
                duration_s: 60.0,
                multiplier: 1.3 / 0.7,
            }],
            ..flat(180.0, 1.0)
        };
        let timeline = run(&topology, &as_spike).unwrap();
        let drain = timeline.drain_after_spikes_s[0].unwrap();
        assert!((drain - 60.0).abs() < 1e-9, "{drain}");
    }

    #[test]
    fn autoscaling_lags_by_its_cold_start() {
        // Two 100 req/s servers at 100 req/s (50%); at 100 s the load triples. Target 60%:
        // ceil(2 × 1.5 / 0.6) = 5 instances, serving only after the 90 s cold start.
        let topology = station(100.0, NodeKind::AppServer, 2, 100.0);
        let scenario = Scenario {
            profile: vec![(0.0, 1.0), (100.0, 3.0)],
            autoscale: vec![Autoscale {
                node: 2,
                target_utilization: 0.6,
                policy: Policy::TargetTracking,
                min: 1,
                max: 20,
                cold_start_s: 90.0,
                cooldown_s: 300.0,
            }],
            ..flat(400.0, 10.0)
        };
        let timeline = run(&topology, &scenario).unwrap();
        let instances_at = |t: f64| {
            timeline
                .steps
                .iter()
                .find(|s| (s.t_s - t).abs() < 1e-9)
                .map(|s| s.instances[&2])
                .unwrap()
        };
        assert_eq!(instances_at(90.0), 2);
        assert_eq!(instances_at(180.0), 2, "still booting");
        assert_eq!(instances_at(190.0), 5, "ready after 90 s");
        // While waiting, the overloaded tier built a backlog: (300 − 200) × 90 s.
        let at_190 = timeline.steps.iter().find(|s| s.t_s == 190.0).unwrap();
        assert!((at_190.backlog[&2] - 9_000.0).abs() < 1e-6);
        // The day's cost reflects the extra instances.
        assert!(
            timeline.steps.last().unwrap().cost_per_hour_usd > timeline.steps[0].cost_per_hour_usd
        );
    }

    /// Live instances of `node` at the step at `t` seconds.
    fn instances_at(timeline: &Timeline, node: NodeId, t: f64) -> u32 {
        timeline
            .steps
            .iter()
            .find(|s| s.t_s == t)
            .map(|s| s.instances[&node])
            .expect("a step at that time")
    }

    #[test]
    fn step_and_scheduled_policies() {
        // Step: above 90% add 3 instances, below 30% remove one.
        let topology = station(100.0, NodeKind::AppServer, 2, 100.0);
        let step_policy = Autoscale {
            node: 2,
            target_utilization: 0.6,
            policy: Policy::Step(vec![(0.9, 3), (0.3, 0), (0.0, -1)]),
            min: 1,
            max: 20,
            cold_start_s: 60.0,
            cooldown_s: 120.0,
        };
        let scenario = Scenario {
            profile: vec![(0.0, 1.0), (100.0, 2.0), (400.0, 0.2)],
            autoscale: vec![step_policy.clone()],
            ..flat(800.0, 20.0)
        };
        let timeline = run(&topology, &scenario).unwrap();
        let at = |t: f64| instances_at(&timeline, 2, t);
        // 200 req/s on 2 × 100: 100% ≥ 90% at 100 s → +3 after the 60 s cold start.
        assert_eq!(at(140.0), 2);
        assert_eq!(at(160.0), 5);
        // At 0.2 load (40 req/s on 5: 8%) it steps down one at a time, one per 120 s cooldown;
        // removing instances takes effect at once.
        assert_eq!(at(380.0), 5);
        assert_eq!(at(400.0), 4);
        assert_eq!(at(500.0), 4);
        assert_eq!(at(520.0), 3);
        // Scheduled: 6 instances from 300 s, ready after the cold start, no cooldown.
        let scheduled = Scenario {
            autoscale: vec![Autoscale {
                policy: Policy::Scheduled(vec![(300.0, 6)]),
                ..step_policy
            }],
            ..flat(600.0, 20.0)
        };
        let timeline = run(&topology, &scheduled).unwrap();
        let at = |t: f64| instances_at(&timeline, 2, t);
        assert_eq!(at(280.0), 2);
        assert_eq!(at(360.0), 6);
    }

    #[test]
    fn cache_flush_raises_database_load_by_the_miss_factor() {
        // 90% hits: the database sees 10% of reads; flushed, it sees all of them (10x).
        let mut topology = station(1_000.0, NodeKind::Cache { hit_ratio: 0.9 }, 1, 1e6);
        let mut database = crate::model::Node::of_kind(3, NodeKind::Service);
        database.capacity_rps = Some(5_000.0);
        topology.nodes.push(database);
        topology.edges.push(crate::model::Edge::route(2, 3));
        let scenario = Scenario {
            failures: vec![Failure {
                at_s: 60.0,
                kind: FailureKind::CacheFlush {
                    node: 2,
                    warmup_s: 600.0,
                },
            }],
            ..flat(660.0, 60.0)
        };
        let timeline = run(&topology, &scenario).unwrap();
        let database_load = |t: f64| {
            let current = topology_at(&topology, &scenario, &BTreeMap::new(), t);
            solve(&current, &Params::default())
                .unwrap()
                .node(3)
                .unwrap()
                .arrival_rps
        };
        assert!((database_load(0.0) - 100.0).abs() < 1e-9);
        assert!((database_load(60.0) / database_load(0.0) - 10.0).abs() < 1e-9);
        // Half warm after 300 s: hit ratio 0.45, the database sees 55%.
        assert!((database_load(360.0) - 550.0).abs() < 1e-9);
        assert_eq!(timeline.steps.len(), 12);
    }

    #[test]
    fn replica_lag_sends_fresh_reads_to_the_primary() {
        // Client → replica; primary beside it. While the replica lags, 30% of its reads retry
        // on the primary.
        let mut topology = station(1_000.0, NodeKind::ReadReplica, 2, 2_000.0);
        topology.nodes.push(crate::model::Node::of_kind(
            3,
            NodeKind::Database {
                read_capacity_rps: 4_000.0,
                write_capacity_rps: 2_000.0,
                max_connections: 400,
            },
        ));
        let scenario = Scenario {
            failures: vec![Failure {
                at_s: 60.0,
                kind: FailureKind::ReplicaLag {
                    replica: 2,
                    primary: 3,
                    lag_s: 120.0,
                    fresh_read_share: 0.3,
                },
            }],
            ..flat(300.0, 60.0)
        };
        let primary_reads = |t: f64| {
            let current = topology_at(&topology, &scenario, &BTreeMap::new(), t);
            let report = solve(&current, &Params::default()).unwrap();
            report.node(3).unwrap().arrival_rps
        };
        assert_eq!(primary_reads(0.0), 0.0);
        assert!((primary_reads(60.0) - 300.0).abs() < 1e-9);
        assert!((primary_reads(120.0) - 300.0).abs() < 1e-9);
        assert_eq!(primary_reads(180.0), 0.0, "caught up after 120 s");
        assert!(run(&topology, &scenario).is_ok());
    }

    #[test]
    fn losing_a_region_fails_over_and_raises_the_round_trip() {
        use crate::model::{Edge, LbPolicy, Node, Region, RegionLink};
        // Tokyo users resolve through GeoDNS to the Tokyo region (3 ms) or Virginia (155 ms).
        let mut topology = station(100.0, NodeKind::Dns { geo: true }, 1, 1e6);
        topology.nodes[1].capacity_rps = None;
        topology.regions = vec![
            Region {
                name: "ap-northeast".into(),
                lat: 35.7,
                lon: 139.7,
                availability: None,
            },
            Region {
                name: "tokyo".into(),
                lat: 35.7,
                lon: 139.7,
                availability: None,
            },
            Region {
                name: "us-east".into(),
                lat: 38.9,
                lon: -77.4,
                availability: None,
            },
        ];
        topology.settings.region_rtt_ms = vec![
            RegionLink {
                a: "ap-northeast".into(),
                b: "tokyo".into(),
                rtt_ms: 3.0,
            },
            RegionLink {
                a: "tokyo".into(),
                b: "us-east".into(),
                rtt_ms: 155.0,
            },
        ];
        topology.workloads[0].region = "ap-northeast".into();
        topology.nodes[0].region = "tokyo".into();
        topology.nodes[1].region = "tokyo".into();
        for (id, region) in [(3, "ap-northeast"), (4, "us-east")] {
            let mut balancer = Node::of_kind(
                id,
                NodeKind::LoadBalancer {
                    policy: LbPolicy::RoundRobin,
                },
            );
            balancer.capacity_rps = None;
            balancer.base_latency_ms = 0.0;
            balancer.region = region.into();
            topology.nodes.push(balancer);
            topology.edges.push(Edge::route(2, id));
        }
        let scenario = Scenario {
            failures: vec![Failure {
                at_s: 60.0,
                kind: FailureKind::RegionLost {
                    region: "ap-northeast".into(),
                },
            }],
            ..flat(120.0, 60.0)
        };
        let mean = |t: f64| {
            let current = topology_at(&topology, &scenario, &BTreeMap::new(), t);
            solve(&current, &Params::default()).unwrap().classes[0]
                .latency_ms
                .mean
        };
        assert!((mean(0.0) - 3.0).abs() < 1e-9);
        assert!((mean(60.0) - 155.0).abs() < 1e-9);
    }

    #[test]
    fn single_instances_on_the_request_path_are_listed() {
        let topology = station(10.0, NodeKind::AppServer, 1, 100.0);
        assert_eq!(
            single_points_of_failure(&topology),
            vec!["AppServer 2".to_string()]
        );
        let redundant = station(10.0, NodeKind::AppServer, 2, 100.0);
        assert!(single_points_of_failure(&redundant).is_empty());
    }
}
