//! The variability stage: how bursty the arrivals at every queue are (the squared coefficient
//! of variation c_a² of the time between them), carried along the flows the traffic stage
//! computed, as in Whitt's Queueing Network Analyzer (QNA, Bell System Technical Journal 62,
//! 1983): a workload's own burstiness at its client, departures by the two-moment departure
//! formula, random and cyclic (round-robin) splits, merges, drops sent back as retries; a fixed
//! point where the graph has cycles. The pools of queues whose arrivals are not Poisson are
//! then solved again for their waits ([`crate::solver::queueing::solve_pool_with`]).

pub mod clumps;
pub mod displacement;

use self::clumps::{clumped_pool, own_clump, passed_clump, spread_clump, Clump, ClumpMerge};
use self::displacement::{displaced_arrival_scv, seen_excess, Displaced};
use super::compile::{Compiled, PoolGroup, Source};
use super::network::{instance_split, route_split, Split};
use super::traffic::{pool_inputs, Flows};
use crate::model::Topology;
use crate::solver::queueing::{
    solve_pool_with, two_moment_wait, Arrivals, PoolInput, PoolSolution, ServiceShape,
};

/// Squared coefficient of variation of the departures of a G/G/c queue at utilization ρ whose
/// arrivals have c_a² and service c_s² (Whitt's QNA, eq. 39):
/// c_d² = 1 + (1 − ρ²)(c_a² − 1) + ρ²(c_s² − 1)/√c.
///
/// ```
/// use staircase::solver::variability::departure_scv;
/// // M/M/1 (Burke): Poisson in, Poisson out, at any load.
/// assert_eq!(departure_scv(0.9, 1, 1.0, 1.0), 1.0);
/// // M/G/1 at ρ = 0.8 with c_s² = 4: the exact inter-departure scv is 1 − ρ² + ρ²c_s² = 2.92.
/// assert!((departure_scv(0.8, 1, 1.0, 4.0) - 2.92).abs() < 1e-12);
/// ```
pub fn departure_scv(rho: f64, servers: u64, arrival_scv: f64, service_scv: f64) -> f64 {
    let rho2 = rho.clamp(0.0, 1.0).powi(2);
    let c = servers.max(1) as f64;
    (1.0 + (1.0 - rho2) * (arrival_scv - 1.0) + rho2 * (service_scv - 1.0) / c.sqrt()).max(0.0)
}

/// Squared coefficient of variation of a share `p` of a stream picked at random, each request
/// independently (Bernoulli thinning of a renewal stream): p·c² + 1 − p.
///
/// ```
/// use staircase::solver::variability::random_split_scv;
/// // A random half of evenly spaced arrivals: 0.5·0 + 0.5.
/// assert_eq!(random_split_scv(0.5, 0.0), 0.5);
/// // Thinning a Poisson stream leaves it Poisson.
/// assert_eq!(random_split_scv(0.3, 1.0), 1.0);
/// ```
pub fn random_split_scv(p: f64, scv: f64) -> f64 {
    let p = p.clamp(0.0, 1.0);
    p * scv + 1.0 - p
}

/// Squared coefficient of variation of every k-th request of a renewal stream (a true round
/// robin over k places): the time between two of them is the sum of k independent gaps, so
/// its mean is k times and its variance k times the stream's, and c² becomes c²/k.
///
/// ```
/// use staircase::solver::variability::cyclic_split_scv;
/// // Every 4th request of a Poisson stream: Erlang-4 gaps, c² = 1/4.
/// assert_eq!(cyclic_split_scv(4, 1.0), 0.25);
/// ```
pub fn cyclic_split_scv(k: usize, scv: f64) -> f64 {
    scv / k.max(1) as f64
}

/// Squared coefficient of variation of the superposition of streams (rate, c², how many equal
/// independent parts it stands for) arriving at a queue of utilization ρ: Whitt's hybrid (QNA,
/// eq. 33–35), w·Σ(λᵢ/λ)cᵢ² + 1 − w with w = 1/(1 + 4(1 − ρ)²(ν − 1)) and
/// ν = 1/Σ(λᵢ/λ)²: one stream passes unchanged, many small ones merge towards Poisson.
///
/// ```
/// use staircase::solver::variability::merge_scv;
/// // One stream passes as it is.
/// assert_eq!(merge_scv(&[(5.0, 0.25, 1)], 0.5), 0.25);
/// // Two equal smooth streams (c² 0) at ρ 0.5: ν = 2, w = 1/(1 + 4·0.25) = 0.5, c² = 0.5.
/// assert!((merge_scv(&[(1.0, 0.0, 1), (1.0, 0.0, 1)], 0.5) - 0.5).abs() < 1e-12);
/// ```
pub fn merge_scv(streams: &[(f64, f64, u64)], rho: f64) -> f64 {
    let total: f64 = streams.iter().map(|(rate, _, _)| rate).sum();
    if total <= 0.0 {
        return 1.0;
    }
    let (mut mean, mut concentration) = (0.0, 0.0);
    for &(rate, scv, parts) in streams {
        let share = rate / total;
        mean += share * scv;
        concentration += share * share / parts.max(1) as f64;
    }
    hybrid(mean, concentration, rho)
}

/// Whitt's hybrid of [`merge_scv`] from the rate-weighted mean c² of the streams and their
/// concentration Σ(λᵢ/λ)² (1/ν).
fn hybrid(mean: f64, concentration: f64, rho: f64) -> f64 {
    let nu = 1.0 / concentration;
    if nu <= 1.0 + 1e-12 {
        return mean;
    }
    let idle = 1.0 - rho.clamp(0.0, 1.0);
    let w = 1.0 / (1.0 + 4.0 * idle * idle * (nu - 1.0));
    w * mean + 1.0 - w
}

/// A stream between nodes: the c² of the time between two requests, how much of its
/// variability is a renewal stream's, its long-run c² (the variance of the count over a long
/// time per request: what a queue's departures inherit from its arrivals, whatever its
/// service), and the time scale over which the one turns into the other
/// ([`queue_time_scale`] of the queue it left; 0 where the two are the same). `irregular` is
/// how much of |c² − 1| is not a renewal stream's (added by services and merges);
/// [`Arrivals::renewal`] is the rest's share.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Stream {
    arrivals: Arrivals,
    long_run: f64,
    time_scale: f64,
    irregular: f64,
    /// The part of c² − 1 that is arrival bursts a queue passed on ((1 − ρ²)(c_a² − 1) of the
    /// departure formula, when positive): what a faster queue further on does not see
    /// ([`released_burst_share`]).
    burst: f64,
    /// How many times its mean rate the stream can run at most: the capacity of the queue it
    /// left over that queue's throughput (infinite for a workload's own arrivals; a split
    /// keeps it: its share of the capacity over its share of the rate).
    ceiling: f64,
    /// The probability that a request waited at the queue the stream left: the bursts that
    /// found its servers busy left it at its capacity, the others as they came.
    queued: f64,
    /// The busy spells of a variable-service queue the stream left ([`clumps`]).
    clump: Clump,
    /// How the queue it left shuffled smooth arrivals ([`displacement`]).
    displaced: Displaced,
}

/// The share of a stream's departure from Poisson (|c² − 1|) that a renewal stream makes, when
/// `irregular` of it is not.
fn renewal_share(scv: f64, irregular: f64) -> f64 {
    let off = (scv - 1.0).abs();
    if off > 1e-12 {
        (1.0 - irregular / off).clamp(0.0, 1.0)
    } else {
        1.0
    }
}

const POISSON: Stream = Stream {
    clump: Clump::NONE,
    displaced: Displaced::NONE,
    irregular: 0.0,
    burst: 0.0,
    ceiling: f64::INFINITY,
    queued: 0.0,
    arrivals: Arrivals::POISSON,
    long_run: 1.0,
    time_scale: 0.0,
};

/// How long a queue at utilization ρ with arrivals c_a² and service c_s² takes to forget,
/// in service times: the relaxation time of its heavy-traffic (reflected Brownian) limit,
/// (c_a² + c_s²)/(1 − ρ)².
///
/// ```
/// use staircase::solver::variability::queue_time_scale;
/// assert!((queue_time_scale(0.9, 1.0, 1.0) - 200.0).abs() < 1e-9);
/// ```
pub fn queue_time_scale(rho: f64, arrival_scv: f64, service_scv: f64) -> f64 {
    let idle = (1.0 - rho).max(1e-3);
    (arrival_scv + service_scv) / (idle * idle)
}

/// The c² a queue (utilization ρ, service c_s²) sees in departures made smoother than their
/// long-run variability by the queue they left (time scale T_u): between the interval value
/// c_i² and the long-run one c_L², c_L² + γ(c_i² − c_L²) with γ = T_u/(T_u + T_d), T_d this
/// queue's own time scale: a busy queue averages over long stretches and sees the long-run
/// value, a light one sees the gaps. Burstier-than-long-run streams are taken as they are
/// (checked against the simulator: a queue behind a variable one sees its full c_d²).
///
/// ```
/// use staircase::solver::variability::{queue_time_scale, seen_scv};
/// // Equal time scales: halfway between 0.3 and 1.
/// let t = queue_time_scale(0.95, 0.3, 1.0);
/// assert!((seen_scv(0.3, 1.0, t, 0.95, 1.0) - 0.65).abs() < 1e-12);
/// // Bursty streams pass unchanged.
/// assert_eq!(seen_scv(2.0, 1.0, 50.0, 0.9, 1.0), 2.0);
/// ```
pub fn seen_scv(interval: f64, long_run: f64, time_scale: f64, rho: f64, service_scv: f64) -> f64 {
    if interval >= long_run || time_scale <= 0.0 {
        return interval;
    }
    let own = queue_time_scale(rho, interval, service_scv);
    let gamma = time_scale / (time_scale + own);
    long_run + gamma * (interval - long_run)
}

/// The share of the arrival bursts a queue passed on that a queue further on still sees, when
/// the stream can run at most `peak` requests per second (the capacity of the queue it left,
/// times the stream's share of its output) and the queue it enters serves `capacity`: in the
/// fluid picture of two queues in tandem, a burst the first one works off at its capacity
/// C_u builds a backlog at the second only while C_u exceeds the second's capacity C_d, and
/// that backlog is (1 − C_d/C_u) of the burst. A queue at least as fast as the peak sees
/// none of it (only the variability the service added).
///
/// ```
/// use staircase::solver::variability::released_burst_share;
/// // A database twice as fast as the app tier that feeds it sees none of its bursts.
/// assert_eq!(released_burst_share(500.0, 1000.0), 0.0);
/// // One half as fast sees half of each burst built up.
/// assert_eq!(released_burst_share(1000.0, 500.0), 0.5);
/// // A workload's own arrivals (no queue before them) pass whole.
/// assert_eq!(released_burst_share(f64::INFINITY, 500.0), 1.0);
/// ```
pub fn released_burst_share(peak: f64, capacity: f64) -> f64 {
    let known = |x: f64| x.is_finite() && x > 0.0;
    if !known(peak) || capacity.is_nan() || capacity <= 0.0 {
        return 1.0;
    }
    (1.0 - capacity / peak).clamp(0.0, 1.0)
}

/// Whether every queue's arrivals are Poisson in `compiled`: Poisson workloads, exponential
/// service everywhere (one service time for all classes: a mix of exponentials of different
/// means is hyperexponential, and its departures are burstier than Poisson) and no round robin
/// (then nothing needs solving again).
fn all_poisson(topology: &Topology, compiled: &Compiled) -> bool {
    compiled.classes.iter().all(|class| class.arrival_cv == 1.0)
        && compiled.nodes.iter().enumerate().all(|(v, node)| {
            let exponential = match &node.service {
                None => true,
                Some(times) => {
                    node.shape == ServiceShape::Exponential
                        && times.iter().all(|time| *time == times[0])
                }
            };
            exponential && route_split(topology, v) == Split::Random
        })
}

/// The variability of the arrivals at every pool group, in one list: node `v`'s groups are
/// `groups[v]`. The nodes are kept in slots, in the order the walk visits them (an acyclic
/// graph's waves one after the other, so that a wave's nodes are side by side).
pub(super) struct GroupArrivals {
    /// Each node's slot.
    slots: Vec<usize>,
    /// Where each slot's groups start in `arrivals` (one more entry than nodes).
    starts: Vec<usize>,
    arrivals: Vec<Arrivals>,
    /// The clumps in each group's arrivals ([`clumps`]).
    clumps: Vec<Clump>,
}

impl GroupArrivals {
    /// Poisson arrivals at every group of every node of `compiled`, its nodes in slots in the
    /// order of `visits` (every node once).
    fn poisson(compiled: &Compiled, visits: impl Iterator<Item = usize>) -> GroupArrivals {
        let node_count = compiled.nodes.len();
        let mut slots = vec![0; node_count];
        let mut starts = Vec::with_capacity(node_count + 1);
        starts.push(0);
        for (slot, v) in visits.enumerate() {
            slots[v] = slot;
            starts.push(starts[slot] + compiled.nodes[v].groups.len());
        }
        let arrivals = vec![Arrivals::POISSON; starts[starts.len() - 1]];
        let clumps = vec![Clump::NONE; arrivals.len()];
        GroupArrivals {
            slots,
            starts,
            arrivals,
            clumps,
        }
    }

    /// How many nodes.
    pub(super) fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// The groups of the node in `slot`, to write.
    fn slot_mut(&mut self, slot: usize) -> GroupsMut<'_> {
        let range = self.starts[slot]..self.starts[slot + 1];
        (&mut self.arrivals[range.clone()], &mut self.clumps[range])
    }

    /// The groups of the nodes in slots `first..end`, each node's to write.
    #[cfg(feature = "parallel")]
    fn slots_mut(&mut self, first: usize, end: usize) -> Vec<GroupsMut<'_>> {
        let starts = &self.starts;
        let mut arrivals = &mut self.arrivals[starts[first]..starts[end]];
        let mut clumps = &mut self.clumps[starts[first]..starts[end]];
        let mut each = Vec::with_capacity(end - first);
        for slot in first..end {
            let count = starts[slot + 1] - starts[slot];
            let (own_arrivals, rest_arrivals) = std::mem::take(&mut arrivals).split_at_mut(count);
            let (own_clumps, rest_clumps) = std::mem::take(&mut clumps).split_at_mut(count);
            each.push((own_arrivals, own_clumps));
            (arrivals, clumps) = (rest_arrivals, rest_clumps);
        }
        each
    }

    /// The clumps in node `v`'s groups' arrivals.
    #[inline]
    fn clumps(&self, v: usize) -> &[Clump] {
        let slot = self.slots[v];
        &self.clumps[self.starts[slot]..self.starts[slot + 1]]
    }
}

impl std::ops::Index<usize> for GroupArrivals {
    type Output = [Arrivals];

    #[inline]
    fn index(&self, v: usize) -> &[Arrivals] {
        let slot = self.slots[v];
        &self.arrivals[self.starts[slot]..self.starts[slot + 1]]
    }
}

/// Per node and pool group, the variability of the arrivals; `None` when all are Poisson.
pub(super) fn arrival_variability(
    topology: &Topology,
    compiled: &Compiled,
    flows: &Flows,
    horizon: f64,
) -> Option<GroupArrivals> {
    arrival_variability_on(topology, compiled, flows, (horizon, false))
}

/// [`arrival_variability`]; with `parallel`, an acyclic graph's wide waves on rayon (each
/// node needs only the nodes before it, so the figures are the same).
fn arrival_variability_on(
    topology: &Topology,
    compiled: &Compiled,
    flows: &Flows,
    (horizon, parallel): (f64, bool),
) -> Option<GroupArrivals> {
    if all_poisson(topology, compiled) {
        return None;
    }
    let node_count = compiled.nodes.len();
    let split = Splits::of(topology, compiled);
    let groups = if compiled.acyclic {
        GroupArrivals::poisson(compiled, compiled.waves().flatten().copied())
    } else {
        GroupArrivals::poisson(compiled, 0..node_count)
    };
    let mut walk = Walk {
        arriving: vec![POISSON; node_count],
        departing: vec![POISSON; node_count],
        groups,
        streams: Vec::new(),
    };
    let context = (compiled, flows, (&split, horizon));
    if compiled.acyclic {
        let mut first = 0;
        for wave in compiled.waves() {
            #[cfg(feature = "parallel")]
            if parallel && wave.len() >= super::compile::WIDE_WAVE {
                walk.wave_on_rayon(context, wave, first);
                first += wave.len();
                continue;
            }
            let _ = parallel;
            for &v in wave {
                walk.step_after_feeders(context, v, first);
            }
            first += wave.len();
        }
        // Read only by the rayon waves (a build without the `parallel` feature has none).
        let _ = first;
        return Some(walk.groups);
    }
    for _ in 0..500 {
        let mut change: f64 = 0.0;
        for &v in &compiled.order {
            change = change.max(walk.step(context, v));
        }
        if change < 1e-9 {
            break;
        }
    }
    Some(walk.groups)
}

/// What [`arrival_variability`] needs besides the streams: the compiled graph, its flows, the
/// nodes' cyclic splits and the overload horizon.
type WalkContext<'a> = (&'a Compiled, &'a Flows, (&'a Splits, f64));

/// The streams arriving at and leaving every node (each in its slot, as its groups in
/// `groups`), and its queue groups' arrivals, as [`arrival_variability`] walks the graph;
/// `streams` is scratch.
struct Walk {
    arriving: Vec<Stream>,
    departing: Vec<Stream>,
    groups: GroupArrivals,
    streams: Vec<(f64, Stream)>,
}

/// The streams the walk has found so far, each node's in its slot: the stream arriving at it
/// and the one leaving it.
#[derive(Clone, Copy)]
struct Placed<'a> {
    slots: &'a [usize],
    arriving: &'a [Stream],
    departing: &'a [Stream],
}

impl Walk {
    /// Node `v`'s streams and groups from its feeders' streams as they are; how much its
    /// arriving or departing c² changed.
    fn step(&mut self, (compiled, flows, split): WalkContext, v: usize) -> f64 {
        let slots = std::mem::take(&mut self.groups.slots);
        let slot = slots[v];
        let placed = Placed {
            slots: &slots,
            arriving: &self.arriving,
            departing: &self.departing,
        };
        let (mut arrival, mut depart) = (POISSON, POISSON);
        node_streams(
            compiled,
            flows,
            placed,
            (split, v),
            (&mut self.streams, self.groups.slot_mut(slot)),
            (&mut arrival, &mut depart),
        );
        self.groups.slots = slots;
        let change = (arrival.arrivals.scv - self.arriving[slot].arrivals.scv)
            .abs()
            .max((depart.arrivals.scv - self.departing[slot].arrivals.scv).abs());
        self.arriving[slot] = arrival;
        self.departing[slot] = depart;
        change
    }

    /// [`Walk::step`] for node `v` of an acyclic graph, whose feeders are all in earlier waves
    /// (its own starts at slot `first`): its streams written straight into its slots (nothing
    /// to compare, nothing to copy). It sees the earlier waves only, as on rayon.
    fn step_after_feeders(
        &mut self,
        (compiled, flows, split): WalkContext,
        v: usize,
        first: usize,
    ) {
        let slots = std::mem::take(&mut self.groups.slots);
        let slot = slots[v];
        let (arriving_before, arriving_own) = self.arriving.split_at_mut(slot);
        let (departing_before, departing_own) = self.departing.split_at_mut(slot);
        let placed = Placed {
            slots: &slots,
            arriving: &arriving_before[..first],
            departing: &departing_before[..first],
        };
        if let (Some(arriving), Some(departing)) =
            (arriving_own.first_mut(), departing_own.first_mut())
        {
            node_streams(
                compiled,
                flows,
                placed,
                (split, v),
                (&mut self.streams, self.groups.slot_mut(slot)),
                (arriving, departing),
            );
        }
        self.groups.slots = slots;
    }

    /// [`Walk::step`] for every node of `wave` (whose feeders are all in earlier waves; its
    /// nodes in the slots from `first` on) on rayon, each writing its own slot.
    #[cfg(feature = "parallel")]
    fn wave_on_rayon(
        &mut self,
        (compiled, flows, split): WalkContext,
        wave: &[usize],
        first: usize,
    ) {
        use rayon::prelude::*;
        let end = first + wave.len();
        let (arriving_before, arriving_wave) = self.arriving.split_at_mut(first);
        let (departing_before, departing_wave) = self.departing.split_at_mut(first);
        let slots = std::mem::take(&mut self.groups.slots);
        let placed = Placed {
            slots: &slots,
            arriving: arriving_before,
            departing: departing_before,
        };
        let groups = self.groups.slots_mut(first, end);
        wave.par_iter()
            .zip(&mut arriving_wave[..wave.len()])
            .zip(&mut departing_wave[..wave.len()])
            .zip(groups)
            .for_each_init(
                Vec::new,
                |streams, (((&v, arriving), departing), groups)| {
                    node_streams(
                        compiled,
                        flows,
                        placed,
                        (split, v),
                        (streams, groups),
                        (arriving, departing),
                    );
                },
            );
        self.groups.slots = slots;
    }
}

/// One node's group arrivals and their clumps, to write.
type GroupsMut<'a> = (&'a mut [Arrivals], &'a mut [Clump]);

/// Per node, whether its routes out and its instances take requests in turn (a cyclic split),
/// and for the nodes whose routes do, per class how many of their route edges carry it.
struct Splits {
    routes: Vec<bool>,
    instances: Vec<bool>,
    /// `class_count` entries per node: the route edges carrying each class (served traffic,
    /// not calls) of a node whose routes take turns; 0 for the other nodes.
    route_targets: Vec<u32>,
}

impl Splits {
    /// The splits of every node of `compiled`.
    fn of(topology: &Topology, compiled: &Compiled) -> Splits {
        let node_count = compiled.nodes.len();
        let class_count = compiled.classes.len();
        let routes: Vec<bool> = (0..node_count)
            .map(|v| route_split(topology, v) == Split::Cyclic)
            .collect();
        let mut route_targets = vec![0u32; node_count * class_count];
        for (u, _) in routes.iter().enumerate().filter(|(_, cyclic)| **cyclic) {
            let targets = &mut route_targets[u * class_count..(u + 1) * class_count];
            let carrying = compiled.out_edges[u]
                .iter()
                .filter(|e| !e.is_call && e.source == Source::Served);
            for edge in carrying {
                for (count, factor) in targets.iter_mut().zip(&edge.factors) {
                    *count += u32::from(*factor > 0.0);
                }
            }
        }
        Splits {
            routes,
            instances: (0..node_count)
                .map(|v| instance_split(topology, compiled, v) == Split::Cyclic)
                .collect(),
            route_targets,
        }
    }

    /// Per class, how many route edges of node `u` (whose routes take turns) carry it.
    fn targets(&self, u: usize, class_count: usize) -> &[u32] {
        &self.route_targets[u * class_count..(u + 1) * class_count]
    }
}

/// Node `v`'s arriving and departing streams from its feeders' (in `placed`), written into
/// `arriving` and `departing` (in place: a wave's slots are written straight from here), with
/// its queue groups' arrivals written into `groups`; `streams` is scratch.
fn node_streams(
    compiled: &Compiled,
    flows: &Flows,
    placed: Placed,
    ((split, horizon), v): ((&Splits, f64), usize),
    (streams, groups): (&mut Vec<(f64, Stream)>, GroupsMut),
    (arriving, departing): (&mut Stream, &mut Stream),
) {
    let class_count = compiled.classes.len();
    streams.clear();
    incoming_streams(compiled, flows, placed, split, v, streams);
    let rho = flows.pools[v]
        .iter()
        .map(|pool| pool.utilization)
        .fold(0.0, f64::max);
    let arrivals = &flows.arrivals[v * class_count..(v + 1) * class_count];
    let node = &compiled.nodes[v];
    let inputs = pool_inputs(node, arrivals, horizon);
    let queues = inputs
        .as_deref()
        .map(|inputs| (inputs, node_capacity(node, inputs)));
    if let Some(queues) = queues {
        see_streams(queues, rho, streams);
    }
    *arriving = merged(streams, rho);
    *departing = through_node(
        compiled,
        flows,
        v,
        arriving,
        split.instances[v],
        queues,
        groups,
    );
}

/// How many requests per second node `node`'s queues serve at most (its instances' servers
/// over their mean service time).
fn node_capacity(node: &super::compile::CompiledNode, inputs: &[PoolInput]) -> f64 {
    inputs
        .iter()
        .zip(&node.groups)
        .map(|(input, group)| {
            if input.mean_service > 0.0 {
                group.count as f64 * input.servers as f64 / input.mean_service
            } else {
                f64::INFINITY
            }
        })
        .sum()
}

/// The c² each of `streams` (rate, stream) arriving at a queue (fed as `inputs`, serving
/// `capacity` requests per second at most, at utilization ρ) sees: less the bursts of the queue it left that this one outruns
/// ([`release_bursts`]), then between the interval and the long-run variability by the two
/// queues' time scales ([`seen_scv`]), the long run counted only as far as this queue can
/// build a backlog from it ([`backlog_long_run`], [`drained_long_run_seen`]).
fn see_streams((inputs, capacity): (&[PoolInput], f64), rho: f64, streams: &mut [(f64, Stream)]) {
    let service_scv = inputs.first().map(|i| i.service_scv);
    for (rate, stream) in streams.iter_mut() {
        if let Some(input) = inputs.first() {
            hide_displaced(stream, rho, input);
        }
        let bursty = stream.burst > 0.0;
        release_bursts(stream, *rate, capacity);
        if let Some(service_scv) = service_scv {
            let long_run = if bursty {
                let drain_load = *rate * stream.ceiling / capacity;
                let seen = drained_long_run_seen(
                    drain_load,
                    stream.arrivals.scv,
                    service_scv,
                    stream.time_scale,
                );
                let share = 1.0 - stream.queued.clamp(0.0, 1.0) * (1.0 - seen);
                backlog_long_run(stream.long_run, stream.arrivals.scv, share)
            } else {
                stream.long_run
            };
            stream.arrivals.scv = seen_scv(
                stream.arrivals.scv,
                long_run,
                stream.time_scale,
                rho,
                service_scv,
            );
        }
    }
}

/// The long-run c² a queue can build a backlog from, when it sees only `share` of the bursts
/// its stream carries (the rest came out of a queue at that queue's capacity and this one
/// settles within each such drain: [`drained_long_run_seen`]): in the fluid picture of two
/// queues in tandem, an input whose rate never exceeds the second queue's capacity builds it
/// no backlog over any stretch of time, so the long run's excess over the interval c² counts
/// for the bursts it sees only: c_i² + share·(c_L² − c_i²). The stream itself keeps its
/// long-run variability (a queue further on, slower than the drains, sees it again).
///
/// ```
/// use staircase::solver::variability::backlog_long_run;
/// // Every burst seen: the long run as it is.
/// assert_eq!(backlog_long_run(9.0, 1.5, 1.0), 9.0);
/// // A sixth of the bursts seen: 1.5 + 7.5/6 = 2.75.
/// assert!((backlog_long_run(9.0, 1.5, 1.0 / 6.0) - 2.75).abs() < 1e-12);
/// // Smoother in the long run than between arrivals: unchanged.
/// assert_eq!(backlog_long_run(1.0, 2.0, 0.0), 1.0);
/// ```
pub fn backlog_long_run(long_run: f64, interval: f64, share: f64) -> f64 {
    if long_run <= interval {
        return long_run;
    }
    interval + share.clamp(0.0, 1.0) * (long_run - interval)
}

/// How much of the long-run variability of bursts that came out of a queue at its capacity a
/// queue further on sees, when those drains load it to `drain_load` (the upstream capacity's
/// share over its own; above 1 it cannot keep up) and the queue they came out of forgets in
/// `upstream_time_scale`: like [`seen_scv`], by the two time scales, γ = T_d/(T_d + T_u), with
/// T_d this queue's [`queue_time_scale`] at the drain load. A queue the drains load to 1 or
/// more builds its backlog over the whole drain and sees it all; one well ahead of the drains
/// settles within each of them and sees little.
///
/// ```
/// use staircase::solver::variability::drained_long_run_seen;
/// // Loaded to 0.8 by the drains (T_d = 2/0.04 = 50) behind a queue of time scale 150.
/// assert!((drained_long_run_seen(0.8, 1.0, 1.0, 150.0) - 0.25).abs() < 1e-9);
/// // Overrun by them: (almost) everything.
/// assert!(drained_long_run_seen(1.2, 1.0, 1.0, 150.0) > 0.999);
/// ```
pub fn drained_long_run_seen(
    drain_load: f64,
    interval: f64,
    service_scv: f64,
    upstream_time_scale: f64,
) -> f64 {
    if !drain_load.is_finite() || upstream_time_scale <= 0.0 {
        return 1.0;
    }
    let own = queue_time_scale(drain_load.clamp(0.0, 1.0), interval, service_scv);
    own / (own + upstream_time_scale)
}

/// Takes out of `stream` (arriving at `rate` at a queue serving `capacity`) the part of the
/// bursts passed on by the queue it left that this queue does not see between two arrivals
/// ([`released_burst_share`]), for the share of requests that waited there. Its long-run
/// variability stays (a queue loses no request: over long stretches its departures count as
/// its arrivals); how much of it this queue sees is [`drained_long_run_seen`]'s question.
fn release_bursts(stream: &mut Stream, rate: f64, capacity: f64) {
    if stream.burst <= 0.0 {
        return;
    }
    let limited = released_burst_share(rate * stream.ceiling, capacity);
    let share = 1.0 - stream.queued.clamp(0.0, 1.0) * (1.0 - limited);
    let hidden = (1.0 - share) * stream.burst;
    stream.arrivals.scv = (stream.arrivals.scv - hidden).max(0.0);
    stream.burst -= hidden;
    stream.arrivals.renewal = renewal_share(stream.arrivals.scv, stream.irregular);
}

/// Takes out of `stream`'s c² the part of a shuffle ([`displacement`]) that a queue fed as
/// `input` at utilization ρ does not see: it averages its arrivals over its own relaxation
/// time ([`queue_time_scale`] in its service times), over which the shuffled departures count
/// closer to the arrivals they came from ([`seen_excess`]).
fn hide_displaced(stream: &mut Stream, rho: f64, input: &PoolInput) {
    let excess = stream.displaced.excess;
    if excess <= 0.0 {
        return;
    }
    let own = input.mean_service * queue_time_scale(rho, stream.arrivals.scv, input.service_scv);
    let hidden = excess - seen_excess(&stream.displaced, own);
    stream.arrivals.scv = (stream.arrivals.scv - hidden).max(0.0);
    stream.displaced.excess -= hidden;
    stream.arrivals.renewal = renewal_share(stream.arrivals.scv, stream.irregular);
}

/// The merge of the streams arriving at a queue of utilization `rho` ([`merge_scv`]); one
/// stream keeps its renewal share, a merge of several is not a renewal stream.
fn merged(streams: &[(f64, Stream)], rho: f64) -> Stream {
    match streams {
        [] => POISSON,
        [(_, only)] => *only,
        _ => merged_several(streams, rho),
    }
}

/// [`merged`] of two streams or more, in one pass over them: their c² by [`merge_scv`] (each
/// stream one part), their bursts, queueing, long-run variability and time scales averaged by
/// rate, their peaks added, their clumps merged ([`ClumpMerge`]) and their shuffles
/// ([`displacement`]) too: the excess c² averaged by rate (as the merge's c²), window and
/// service those of the part that adds most.
fn merged_several(streams: &[(f64, Stream)], rho: f64) -> Stream {
    let total: f64 = streams.iter().map(|(rate, _)| rate).sum();
    // Sums of rate × figure, from −0 as `Iterator::sum` of f64 starts.
    let (mut burst, mut queued, mut long_run, mut time_scale) = (-0.0, -0.0, -0.0, -0.0);
    let (mut peak, mut excess) = (-0.0, -0.0);
    let (mut mean, mut concentration) = (0.0, 0.0);
    let mut clumps = ClumpMerge::new(total);
    let (mut displaced, mut largest) = (Displaced::NONE, 0.0);
    for &(rate, ref stream) in streams {
        let share = rate / total;
        mean += share * stream.arrivals.scv;
        concentration += share * share;
        burst += rate * stream.burst;
        queued += rate * stream.queued;
        long_run += rate * stream.long_run;
        time_scale += rate * stream.time_scale;
        peak += rate * stream.ceiling;
        clumps.add(rate, stream.clump, 1);
        let added = rate * stream.displaced.excess;
        if added > largest {
            largest = added;
            displaced = stream.displaced;
        }
        excess += added;
    }
    let scv = if total <= 0.0 {
        1.0
    } else {
        hybrid(mean, concentration, rho)
    };
    let average = |sum: f64| if total > 0.0 { sum / total } else { 1.0 };
    if total > 0.0 {
        displaced.excess = excess / total;
    }
    Stream {
        arrivals: Arrivals { scv, renewal: 0.0 },
        irregular: (scv - 1.0).abs(),
        burst: average(burst).min((scv - 1.0).max(0.0)),
        ceiling: if total > 0.0 {
            peak / total
        } else {
            f64::INFINITY
        },
        queued: average(queued),
        clump: clumps.merged(),
        displaced,
        // Counts of independent streams add their variances.
        long_run: average(long_run),
        time_scale: average(time_scale),
    }
}

/// How a wire takes its share of the stream leaving its node: every k-th request behind a
/// round-robin balancer ([`cyclic_edge_scv`]), a random share, or all of them (several calls
/// per request: as many requests, spread over the calls' responses). The c² of the share is
/// linear in the stream's: [`WireShare::of`] applies it to the c² and to each of the
/// stream's parts (irregular, burst, clump, displaced, long-run).
#[derive(Clone, Copy)]
enum WireShare<'a> {
    /// The balancer's per-class arrivals, the wire's factors and, per class, how many route
    /// edges carry it.
    Cyclic(&'a [f64], &'a [f64], &'a [u32]),
    Random(f64),
    Whole,
}

impl WireShare<'_> {
    /// The c² of the share of a stream of c² `scv`.
    #[inline(always)]
    fn of(self, scv: f64) -> f64 {
        match self {
            WireShare::Cyclic(arrivals, factors, targets) => {
                cyclic_edge_scv(arrivals, factors, targets, scv)
            }
            WireShare::Random(share) => random_split_scv(share, scv),
            WireShare::Whole => scv,
        }
    }
}

/// The stream of the workloads entering at node `v` (one stream, their rates' c² averaged),
/// with its rate; `None` when none enters there.
fn external_stream(compiled: &Compiled, v: usize) -> Option<(f64, Stream)> {
    let (mut external, mut external_scv) = (0.0, 0.0);
    for class in compiled.classes.iter().filter(|class| class.client == v) {
        external += class.rate;
        external_scv += class.rate * class.arrival_cv * class.arrival_cv;
    }
    (external > 0.0).then(|| {
        (
            external,
            Stream {
                arrivals: Arrivals {
                    scv: external_scv / external,
                    renewal: 1.0,
                },
                irregular: 0.0,
                burst: 0.0,
                ceiling: f64::INFINITY,
                queued: 0.0,
                clump: Clump::NONE,
                displaced: Displaced::NONE,
                long_run: external_scv / external,
                time_scale: 0.0,
            },
        )
    })
}

/// The streams (rate, stream) arriving at node `v`: the workloads entering there (one
/// stream, their rates' c² averaged) and every wire into it.
fn incoming_streams(
    compiled: &Compiled,
    flows: &Flows,
    placed: Placed,
    split: &Splits,
    v: usize,
    out: &mut Vec<(f64, Stream)>,
) {
    let class_count = compiled.classes.len();
    out.extend(external_stream(compiled, v));
    for (flow, factors) in compiled.flows_into(v) {
        let u = flow.from;
        let from = &flows.arrivals[u * class_count..(u + 1) * class_count];
        let (ratio, own) = match flow.source {
            Source::Served => (flows.served_ratio[u], &placed.departing[placed.slots[u]]),
            Source::Dropped => (flows.drop_ratio[u], &placed.arriving[placed.slots[u]]),
        };
        // What the feeder sends and what this wire carries, in one pass over the classes (sums
        // from −0, as `Iterator::sum` of f64 starts: the same figures to the bit).
        let (mut sent, mut rate) = (-0.0, -0.0);
        for (a, f) in from.iter().zip(factors) {
            sent += a;
            rate += a * ratio * f;
        }
        let sent: f64 = sent * ratio;
        let cyclic = split.routes[u] && flow.is_route();
        // A request routed on after its node's calls leaves when its last call is answered:
        // the wire carries a share of the answering node's departures.
        let answered = (flow.is_route() && !cyclic)
            .then(|| answering_stream(compiled, flows, placed, u))
            .flatten();
        let (source, sent) = answered.unwrap_or((own, sent));
        // A node's retries to itself move its queues only as far as they get in.
        let rate = if flow.source == Source::Dropped && u == v {
            rate * flows.self_retries[v]
                .map_or(1.0, |shares| 1.0 - shares.refused_beyond_blocking())
        } else {
            rate
        };
        if rate <= 0.0 || sent <= 0.0 {
            continue;
        }
        // A request routed on after its node's calls left that node's clumps when its service
        // ended; the calls' random response times spread them out again. Routed on with the
        // answering node's departures, only the calls before the last one still spread them.
        let call_delay = if !flow.is_call && source.clump.is_some() {
            let spent = calls_response(compiled, flows, u, from);
            match (answered, compiled.answered_by[u]) {
                (Some(_), Some(answerer)) => (spent - mean_response(flows, answerer)).max(0.0),
                _ => spent,
            }
        } else {
            0.0
        };
        let share = if cyclic {
            WireShare::Cyclic(from, factors, split.targets(u, class_count))
        } else if rate <= sent {
            WireShare::Random(rate / sent)
        } else {
            WireShare::Whole
        };
        out.push((
            rate,
            wire_stream(source, share, (rate, call_delay), flow.source),
        ));
    }
}

/// The departures of the node that answers node `u`'s last call (the compiled `answered_by`),
/// with their rate, once the walk has found them (`None` before, and where no one node does).
///
/// A request that makes its calls and then moves on along a route leaves `u` when its last
/// call is answered, so the stream `u` routes on is made of the answering node's departures
/// that end a visit from `u`. In QNA a class's share of a queue's departures is taken as a
/// random share of them (QNA's splitting, [`random_split_scv`]: c² = p·c_d² + 1 − p), so a
/// route carrying `rate` of the answerer's departures `D` takes the share p = rate/D, with
/// the busy spells, bursts and ceiling of the answering queue rather than `u`'s. Poisson
/// arrivals at an exponential answerer depart Poisson (Burke) and stay so under a random
/// share. With several calls in turn only the last one's departures matter: the earlier ones
/// end before it starts, and their random responses spread the busy spells the answerer
/// passes on (the clumps, by [`spread_clump`] over the mean response of the calls before
/// the last: a replica behind an app that calls a database twice per request, survey case
/// 3114053619271302762, came out at mean +10.7%, p99 +20.6% against the simulation when
/// none spread them, +4.0%, +6.1% so).
fn answering_stream<'a>(
    compiled: &Compiled,
    flows: &Flows,
    placed: Placed<'a>,
    u: usize,
) -> Option<(&'a Stream, f64)> {
    let answerer = compiled.answered_by[u]?;
    let stream = placed.departing.get(placed.slots[answerer])?;
    let class_count = compiled.classes.len();
    let arrivals = &flows.arrivals[answerer * class_count..(answerer + 1) * class_count];
    let departures = arrivals.iter().sum::<f64>() * flows.served_ratio[answerer];
    (departures > 0.0).then_some((stream, departures))
}

/// The stream a wire carries: `share` ([`WireShare`]) of `source` (the stream leaving its
/// node, served or dropped), at `rate`, its clumps spread by the calls' response `call_delay`.
#[inline(always)]
fn wire_stream(
    source: &Stream,
    share: WireShare,
    (rate, call_delay): (f64, f64),
    kind: Source,
) -> Stream {
    let scv = share.of(source.arrivals.scv);
    // The splits are linear in c²: the irregular part is split as the whole.
    let of_zero = share.of(0.0);
    let irregular = (share.of(source.irregular) - of_zero).abs();
    Stream {
        arrivals: Arrivals {
            scv,
            renewal: renewal_share(scv, irregular),
        },
        irregular,
        burst: (share.of(source.burst) - of_zero).max(0.0),
        ceiling: source.ceiling,
        queued: source.queued,
        clump: spread_clump(
            Clump {
                scv: share.of(source.clump.scv),
                ..source.clump
            },
            rate,
            call_delay,
        ),
        // A node's arriving stream has had its shuffle seen (reduced) there already; its
        // drops carry none on rather than have the next queue reduce it again.
        displaced: match kind {
            Source::Served => Displaced {
                excess: (share.of(source.displaced.excess) - of_zero).max(0.0),
                ..source.displaced
            },
            Source::Dropped => Displaced::NONE,
        },
        long_run: share.of(source.long_run),
        time_scale: source.time_scale,
    }
}

/// The mean time node `u`'s requests (per-class arrivals `from`) spend in its calls: per call
/// edge, the calls per request times the called queue's mean response (its wait and service;
/// 0 for a node that does not queue).
fn calls_response(compiled: &Compiled, flows: &Flows, u: usize, from: &[f64]) -> f64 {
    let total: f64 = from.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let mut delay = 0.0;
    for edge in compiled.out_edges[u].iter().filter(|e| e.is_call) {
        let calls: f64 = from
            .iter()
            .zip(&edge.factors)
            .map(|(a, f)| a * f)
            .sum::<f64>()
            / total;
        delay += calls * mean_response(flows, edge.to);
    }
    delay
}

/// The mean response of node `t`'s queues (wait and service, averaged over its pools by what
/// they serve; 0 for a node that does not queue).
fn mean_response(flows: &Flows, t: usize) -> f64 {
    let (mut served, mut time) = (0.0, 0.0);
    for pool in flows.pools[t].iter().filter(|p| p.throughput > 0.0) {
        let service = (pool.mean_in_system - pool.mean_queue) / pool.throughput;
        served += pool.throughput;
        time += pool.throughput * (pool.mean_wait + service);
    }
    if served > 0.0 {
        time / served
    } else {
        0.0
    }
}

/// The c² of one route edge of a round-robin balancer (per class: its share of the
/// balancer's requests picked at random, then every k-th of them to each of the k route
/// edges carrying the class, `targets`), averaged over the classes by their rates on the edge.
fn cyclic_edge_scv(arrivals: &[f64], factors: &[f64], targets: &[u32], scv: f64) -> f64 {
    let total: f64 = arrivals.iter().sum();
    let (mut rate, mut weighted) = (0.0, 0.0);
    for ((&a, &f), &targets) in arrivals.iter().zip(factors).zip(targets) {
        if a <= 0.0 || f <= 0.0 {
            continue;
        }
        // Every k-th request of the class, of which the wire's exit share finishes at the
        // balancer at random (a round robin gives each of its k routes 1/k of the turns).
        let kept = f * targets as f64;
        let kept = if kept >= 1.0 - 1e-12 { 1.0 } else { kept };
        let class_scv = random_split_scv(
            kept,
            cyclic_split_scv(targets as usize, random_split_scv(a / total, scv)),
        );
        rate += a * f;
        weighted += a * f * class_scv;
    }
    if rate > 0.0 {
        weighted / rate
    } else {
        scv
    }
}

/// The probability that a request waits at a queue of `input` fed by `arrivals`
/// ([`two_moment_wait`]; 1 at or beyond saturation).
fn waiting_probability(input: &PoolInput, arrivals: Arrivals) -> f64 {
    let load = input.arrival * input.mean_service;
    if load >= input.servers.max(1) as f64 * (1.0 - 1e-9) {
        return 1.0;
    }
    let (p_wait, _) = two_moment_wait(input, input.servers.max(1), load, arrivals);
    if p_wait.is_finite() {
        p_wait.clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// The share of smooth arrivals' evenness (1 − c_a²) that departures of c² `passed` keep; 1
/// for arrivals that are not smoother than Poisson.
fn smoothness_kept(arrival_scv: f64, passed: f64) -> f64 {
    if arrival_scv < 1.0 - 1e-12 {
        ((1.0 - passed) / (1.0 - arrival_scv)).clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// The busy spells a queue group (fed as `input`, at utilization ρ, P(wait) `p_wait`) sends
/// on: its own ([`own_clump`]) or those it passes from `seen`, whichever departs more from
/// Poisson.
fn sent_clump(input: &PoolInput, rho: f64, p_wait: Option<f64>, seen: Clump) -> Clump {
    let own = p_wait
        .and_then(|p| own_clump(input.servers, rho, input.mean_service, input.service_scv, p));
    let passed = passed_clump(seen, rho);
    let weight = |c: &Clump| (c.scv - 1.0) * c.share;
    match own {
        Some(own) if weight(&own) >= weight(&passed) => own,
        _ => passed,
    }
}

/// The shuffle ([`displacement`]) a node's queue groups add to its departures: the excess c²
/// summed by rate; one group's window and service stand for the node's (the largest shuffle).
struct ShuffleSum {
    displaced: Displaced,
    largest: f64,
}

impl ShuffleSum {
    fn new() -> Self {
        ShuffleSum {
            displaced: Displaced::NONE,
            largest: 0.0,
        }
    }

    /// A group sending `out` requests per second whose departures the shuffle left `added`
    /// more variable (c²), fed as `input`.
    fn add(&mut self, out: f64, added: f64, input: &PoolInput) {
        if !(added > 0.0 && out > 0.0) {
            return;
        }
        self.displaced.excess += out * added;
        if out * added > self.largest {
            self.largest = out * added;
            self.displaced.window = 2.0 / out;
            self.displaced.mean_service = input.mean_service;
            self.displaced.service_scv = input.service_scv;
        }
    }
}

/// Node `v`'s queues (`queues`: their inputs and the node's [`node_capacity`]; `None` at a
/// node that does not queue) fed by `arrival`: each group's arrivals into `groups` (every
/// count-th request when the instances take turns, a random share otherwise; left Poisson at a
/// node that does not queue) and the node's departures, the merge of
/// its queues' ([`departure_scv`]), with the part of them that is arrival bursts passed on,
/// how fast they can run and how often a request waited (for [`released_burst_share`]).
fn through_node(
    compiled: &Compiled,
    flows: &Flows,
    v: usize,
    arrival: &Stream,
    cyclic_instances: bool,
    queues: Option<(&[PoolInput], f64)>,
    (groups, group_clumps): (&mut [Arrivals], &mut [Clump]),
) -> Stream {
    let node = &compiled.nodes[v];
    let Some((inputs, capacity)) = queues else {
        return *arrival;
    };
    let total_out: f64 = flows.pools[v]
        .iter()
        .zip(&node.groups)
        .map(|(pool, group)| pool.throughput * group.count as f64)
        .sum();
    let mut departures = DepartureSum::new(total_out);
    let queues = inputs.iter().zip(&node.groups).zip(&flows.pools[v]);
    let seen = groups.iter_mut().zip(group_clumps.iter_mut());
    for (((input, group), pool), (seen, seen_clump)) in queues.zip(seen) {
        (*seen, *seen_clump) = group_arrivals(arrival, group, cyclic_instances);
        departures.add(arrival, input, (group.count, pool), *seen, *seen_clump);
    }
    departures.stream(arrival, capacity)
}

/// The arrivals of one queue group of a node fed by `arrival`: every count-th request when
/// the instances take turns (`cyclic_instances`), a random share otherwise, with the busy
/// spells the stream carries.
fn group_arrivals(
    arrival: &Stream,
    group: &PoolGroup,
    cyclic_instances: bool,
) -> (Arrivals, Clump) {
    let split = |scv: f64| {
        if cyclic_instances {
            cyclic_split_scv(group.count as usize, scv)
        } else {
            random_split_scv(group.share, scv)
        }
    };
    let scv = split(arrival.arrivals.scv);
    let group_irregular = (split(arrival.irregular) - split(0.0)).abs();
    let group_arrivals = Arrivals {
        scv,
        renewal: renewal_share(scv, group_irregular),
    };
    let clump = Clump {
        scv: split(arrival.clump.scv),
        ..arrival.clump
    };
    (group_arrivals, clump)
}

/// The departures of a node's queue groups ([`through_node`]), summed by rate as each group
/// is added: their c², its irregular part, the arrival bursts passed on, how often a request
/// waited, the queues' time scale, the shuffle and the busy spells sent on.
struct DepartureSum {
    rate: f64,
    weighted: f64,
    irregular: f64,
    burst: f64,
    queued: f64,
    time_scale: f64,
    shuffles: ShuffleSum,
    sent_clumps: ClumpMerge,
}

impl DepartureSum {
    /// No group added yet, of a node that sends `total_out` requests per second in all.
    fn new(total_out: f64) -> Self {
        DepartureSum {
            rate: 0.0,
            weighted: 0.0,
            irregular: 0.0,
            burst: 0.0,
            queued: 0.0,
            time_scale: 0.0,
            shuffles: ShuffleSum::new(),
            sent_clumps: ClumpMerge::new(total_out),
        }
    }

    /// Adds the departures of `count` queues fed as `input` and solved as `pool`, whose
    /// arrivals (`seen`, with the busy spells `seen_clump`) are a split of the node's
    /// `arrival`.
    fn add(
        &mut self,
        arrival: &Stream,
        input: &PoolInput,
        (count, pool): (u64, &PoolSolution),
        seen: Arrivals,
        seen_clump: Clump,
    ) {
        let rho = pool.utilization;
        let out = pool.throughput * count as f64;
        // The instances' departures together are the node's arrivals let through (a split
        // reassembled), not independent streams: the departure formula takes the node's c_a²,
        // shuffled towards Poisson where the group's servers overlap requests
        // ([`displacement`]).
        let passed = displaced_arrival_scv(
            arrival.arrivals.scv,
            count.saturating_mul(input.servers),
            out * input.mean_service,
            input.service_scv,
        );
        let kept = smoothness_kept(arrival.arrivals.scv, passed);
        let depart = departure_scv(rho, input.servers, passed, input.service_scv);
        self.shuffles.add(
            out,
            (1.0 - rho * rho) * (passed - arrival.arrivals.scv),
            input,
        );
        // The departures' variability is the arrivals' passed on (their irregular part as it
        // was, less what the displacement shuffled) plus the service's (irregular).
        let added = (rho * rho * (input.service_scv - 1.0)).abs() / (input.servers as f64).sqrt();
        self.rate += out;
        self.weighted += out * depart;
        self.irregular += out * ((1.0 - rho * rho) * kept * arrival.irregular + added);
        let p_wait = (arrival.arrivals.scv > 1.0 || input.service_scv > 1.0)
            .then(|| waiting_probability(input, seen));
        if let (true, Some(p_wait)) = (arrival.arrivals.scv > 1.0, p_wait) {
            self.burst += out * (1.0 - rho * rho) * (arrival.arrivals.scv - 1.0);
            self.queued += out * p_wait;
        }
        if input.service_scv > 1.0 || seen_clump.is_some() {
            let sent = sent_clump(input, rho, p_wait, seen_clump);
            self.sent_clumps.add(out, sent, count);
        }
        self.time_scale += out * queue_time_scale(rho, seen.scv, input.service_scv);
    }

    /// The node's departures, the groups' merged by rate, with the node's `capacity` over
    /// their rate as the ceiling (Poisson where nothing departs); what lasts from `arrival`
    /// is kept.
    fn stream(self, arrival: &Stream, capacity: f64) -> Stream {
        let rate = self.rate;
        if rate > 0.0 {
            let scv = self.weighted / rate;
            let irregular = self.irregular / rate;
            Stream {
                arrivals: Arrivals {
                    scv,
                    renewal: renewal_share(scv, irregular),
                },
                irregular,
                burst: (self.burst / rate).min((scv - 1.0).max(0.0)),
                ceiling: capacity / rate,
                queued: self.queued / rate,
                clump: self.sent_clumps.merged(),
                displaced: Displaced {
                    excess: self.shuffles.displaced.excess / rate,
                    ..self.shuffles.displaced
                },
                long_run: arrival.long_run,
                time_scale: self.time_scale / rate,
            }
        } else {
            POISSON
        }
    }
}

/// Solves again, with their arrivals' variability, the unlimited queues whose arrivals are not
/// Poisson (their waits change; what they serve does not). Limited queues keep their M/M/c/K
/// drops and waits.
pub(super) fn apply(topology: &Topology, compiled: &Compiled, flows: &mut Flows, horizon: f64) {
    apply_on(topology, compiled, flows, (horizon, false));
}

/// [`apply`]; with `parallel`, on rayon (the nodes' queues are solved again independently).
pub(super) fn apply_on(
    topology: &Topology,
    compiled: &Compiled,
    flows: &mut Flows,
    (horizon, parallel): (f64, bool),
) {
    let Some(variability) = arrival_variability_on(topology, compiled, flows, (horizon, parallel))
    else {
        return;
    };
    let Flows {
        arrivals, pools, ..
    } = flows;
    let arrivals: &[f64] = arrivals;
    super::update_each(pools, parallel, |v, pools| {
        solve_node_again(compiled, (arrivals, horizon), &variability, v, pools);
    });
}

/// Node `v`'s queues whose arrivals are not Poisson (or carry clumps) solved again in
/// `pools`, in place (each from its own solution before: the queues are independent); the
/// rest are left as they are.
fn solve_node_again(
    compiled: &Compiled,
    (arrivals, horizon): (&[f64], f64),
    variability: &GroupArrivals,
    v: usize,
    pools: &mut [PoolSolution],
) {
    let groups = &variability[v];
    let node = &compiled.nodes[v];
    if node.buffer.is_some() || groups.iter().all(|a| a.scv == 1.0) {
        return;
    }
    let class_count = compiled.classes.len();
    let arrivals = &arrivals[v * class_count..(v + 1) * class_count];
    let Some(inputs) = pool_inputs(node, arrivals, horizon) else {
        return;
    };
    let clumps = variability.clumps(v);
    for ((pool, input), (group, clump)) in
        pools.iter_mut().zip(&inputs).zip(groups.iter().zip(clumps))
    {
        let solved = (group.scv != 1.0).then(|| solve_pool_with(input, *group));
        let current = solved.as_ref().unwrap_or(&*pool);
        if let Some(new) = clumped_pool(input, current, clump).or(solved) {
            *pool = new;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Edge, LbPolicy, Node, NodeKind, Rate, Workload};
    use crate::solver::queueing::gamma_arrival_sigma;
    use crate::solver::{solve, Params};

    /// Users → a node of `kind` → optionally a second node, one class of reads at `rate`.
    fn chain(rate: f64, nodes: Vec<Node>) -> Topology {
        let mut topology = Topology::default();
        topology.nodes.push(Node::of_kind(1, NodeKind::Client));
        let mut previous = 1;
        for mut node in nodes {
            node.base_latency_ms = 0.0;
            let id = node.id;
            topology.nodes.push(node);
            topology.edges.push(Edge::route(previous, id));
            previous = id;
        }
        topology.workloads.push(Workload {
            client: 1,
            rate: Rate::PerSecond(rate),
            read: 1.0,
            write: 0.0,
            ..Workload::default()
        });
        topology
    }

    fn app(id: u32, instances: u32, capacity: f64, cv: f64) -> Node {
        let mut node = Node::of_kind(id, NodeKind::AppServer);
        node.instances = instances;
        node.concurrency = 1;
        node.capacity_rps = Some(capacity);
        node.service_cv = cv;
        node
    }

    fn mean_ms(topology: &Topology, id: u32) -> f64 {
        let report = solve(topology, &Params::default()).expect("solves");
        report
            .nodes
            .iter()
            .find(|n| n.id == id)
            .map(|n| n.latency_ms.mean)
            .expect("node")
    }

    #[test]
    fn round_robin_instances_are_erlang_k_fed() {
        // A round robin over 4 M/M/1 instances at ρ 0.85: each sees every 4th request of a
        // Poisson stream (E4/M/1), W = S + σ/(μ(1 − σ)).
        let mut balancer = Node::of_kind(
            2,
            NodeKind::LoadBalancer {
                policy: LbPolicy::RoundRobin,
            },
        );
        balancer.capacity_rps = Some(1e6);
        let topology = chain(340.0, vec![balancer, app(3, 4, 100.0, 1.0)]);
        let sigma = gamma_arrival_sigma(0.85, 0.25);
        let expected = 10.0 + 1000.0 * sigma / (100.0 * (1.0 - sigma));
        // The balancer's own queue at ρ 3.4e-4 leaves its departures Poisson but for 1e-7.
        let mean = mean_ms(&topology, 3);
        assert!(
            (mean - expected).abs() < 1e-3 * expected,
            "{mean} vs {expected}"
        );
        assert!((expected - 43.04).abs() < 0.01);
    }

    #[test]
    fn poisson_networks_are_not_touched() {
        let topology = chain(80.0, vec![app(2, 1, 100.0, 1.0), app(3, 2, 100.0, 1.0)]);
        let compiled = crate::solver::compile::compile(&topology, &Params::default());
        assert!(all_poisson(&topology, &compiled));
        // M/M/1 at ρ 0.8: W = S/(1 − ρ) = 50 ms, exactly.
        assert!((mean_ms(&topology, 2) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn variable_queue_sends_bursty_departures() {
        // App M/G/1 at ρ 0.8 with c_s² = 4 feeds a database M/M/1 at ρ 0.8: c_a² = 2.92 there,
        // and Allen-Cunneen gives Wq = (2.92 + 1)/2 · 40 ms = 78.4 ms.
        let mut database = Node::of_kind(
            3,
            NodeKind::Database {
                read_capacity_rps: 100.0,
                write_capacity_rps: 100.0,
                max_connections: 10_000,
            },
        );
        database.concurrency = 1;
        database.instances = 1;
        database.capacity_rps = Some(100.0);
        let topology = chain(80.0, vec![app(2, 1, 100.0, 2.0), database]);
        assert!((mean_ms(&topology, 3) - 88.4).abs() < 1e-6);
        // The app itself: Pollaczek-Khinchine, Wq = ρ(1 + c_s²)/(2(1 − ρ))·S = 100 ms.
        assert!((mean_ms(&topology, 2) - 110.0).abs() < 1e-6);
    }

    #[test]
    fn bursty_workload_waits_as_gi_m_1() {
        // Gamma arrivals of cv 2 into M/M/1 at ρ 0.5: exact GI/M/1, W = S/(1 − σ).
        let mut topology = chain(50.0, vec![app(2, 1, 100.0, 1.0)]);
        topology.workloads[0].arrival_cv = 2.0;
        let sigma = gamma_arrival_sigma(0.5, 4.0);
        let expected = 10.0 / (1.0 - sigma);
        let mean = mean_ms(&topology, 2);
        assert!(
            (mean - expected).abs() < 1e-9 * expected,
            "{mean} vs {expected}"
        );
        // Much more than M/M/1's 20 ms.
        assert!(mean > 40.0);
    }

    /// Database 3: one instance of two servers, reading and writing at `capacity` per second.
    fn two_server_database(capacity: f64) -> Node {
        let mut node = Node::of_kind(
            3,
            NodeKind::Database {
                read_capacity_rps: capacity,
                write_capacity_rps: capacity,
                max_connections: 10_000,
            },
        );
        node.concurrency = 2;
        node.instances = 1;
        node
    }

    #[test]
    fn a_database_faster_than_a_bursty_tier_sees_fewer_of_its_bursts() {
        // Gamma arrivals of cv 3 (c² 9) into a constant-service app of 2 × 1 servers at ρ 0.6,
        // then a database of 2 servers: QNA's departure formula gives c_d² = 1 + 0.64·8 − 0.36
        // = 5.76, of which 0.64·8 = 5.12 are the arrivals' bursts passed on.
        let mut app = app(2, 2, 100.0, 0.0);
        app.concurrency = 1;
        let wait_ms = |capacity: f64| {
            let mut topology = chain(120.0, vec![app.clone(), two_server_database(capacity)]);
            topology.workloads[0].arrival_cv = 3.0;
            mean_ms(&topology, 3) - 2000.0 / capacity
        };
        // M/M/2: Wq = C/(cμ − λ) with C = 2ρ²/(1 + ρ); the arrivals' c² the wait implies
        // by Allen-Cunneen, Wq = Wq(M/M/2)·(c² + 1)/2.
        let implied = |capacity: f64| {
            let rho = 120.0 / capacity;
            let mm2 = 1000.0 * (2.0 * rho * rho / (1.0 + rho)) / (capacity - 120.0);
            2.0 * wait_ms(capacity) / mm2 - 1.0
        };
        // Twice as fast as the app (300/s): the bursts that waited at the app leave it at its
        // 200/s, which the database outruns; only those that found a server free pass.
        let fast = implied(300.0);
        // At 150/s, slower than the app: it builds a backlog from every burst.
        let slow = implied(150.0);
        // QNA's departure formula alone gives 5.76 to both (1 + 0.64·8 − 0.36, of which
        // 0.64·8 = 5.12 is the arrivals' bursts passed on); the slower one sees more, up to
        // about the stream's long-run c² of 9 (nothing is lost in the long run).
        assert!(fast < 5.7 && slow > 8.0, "fast {fast}, slow {slow}");
        // The drains (200/s) load the fast database to 0.67: it settles within each of them
        // and sees about a third of their long-run variability (`drained_long_run_seen`);
        // without that the busy-queue view gave it about 5.7, and the simulator (docs:
        // `bursty-tier-fast`) puts its wait near that of Poisson arrivals.
        assert!(fast < 4.5, "fast {fast}");
    }

    #[test]
    fn a_light_queue_behind_a_variable_one_waits_in_its_busy_spells() {
        // M/G/1 app (ρ 0.79, c_s² 2.53) into a constant-service database of 2 servers. The
        // simulator (`staircase simulate`, 10 × 200,000 requests, seed 1) measures the
        // database's mean at 10.70 ± 0.014 ms at ρ 0.33 (capacity 240/s), 19.13 ± 0.03 at
        // ρ 0.49 (160/s) and 32.81 ± 0.10 at ρ 0.66 (120/s); QNA's departure c² alone gave
        // 9.32, 16.44 and 29.12 (−12.9%, −14.1%, −11.3%).
        let database = |capacity: f64| {
            let mut node = two_server_database(capacity);
            node.capacity_rps = Some(capacity);
            node.service_cv = 0.0;
            node
        };
        let cases = [
            (240.0, 10.70, 9.32),
            (160.0, 19.13, 16.44),
            (120.0, 32.81, 29.12),
        ];
        for (capacity, simulated, departures_only) in cases {
            let topology = chain(79.0, vec![app(2, 1, 100.0, 1.59), database(capacity)]);
            let mean = mean_ms(&topology, 3);
            let error = (mean - simulated) / simulated;
            assert!(error.abs() < 0.09, "{capacity}/s: {mean} vs {simulated}");
            assert!(mean > departures_only + 0.01, "{capacity}/s: {mean}");
        }
    }

    #[test]
    fn drains_count_by_the_load_they_put_on_the_next_queue() {
        let upstream = 60.0;
        // Overrun (load ≥ 1): all of it; at lighter drain loads less and less.
        let seen = |load: f64| drained_long_run_seen(load, 1.0, 1.0, upstream);
        assert!(seen(1.0) > 0.999 && seen(1.5) > 0.999);
        assert!(seen(0.9) > seen(0.6) && seen(0.6) > seen(0.3));
        // At 0.5: T_d = 2/0.25 = 8 service times, γ = 8/68.
        assert!((seen(0.5) - 8.0 / 68.0).abs() < 1e-12);
        // A workload's own bursts (no drain, infinite peak) pass whole.
        assert_eq!(
            drained_long_run_seen(f64::INFINITY, 1.0, 1.0, upstream),
            1.0
        );
    }

    #[test]
    fn merges_and_splits() {
        assert_eq!(
            merge_scv(&[(1.0, 0.25, 4)], 0.0),
            merge_scv(&[(1.0, 0.25, 4)], 0.0)
        );
        // Four equal parts of a smooth stream into an idle queue: w = 1/(1 + 4·3) → near 1.
        let merged = merge_scv(&[(1.0, 0.25, 4)], 0.0);
        assert!((merged - (0.25 / 13.0 + 12.0 / 13.0)).abs() < 1e-12);
        // A busy queue sees the superposition's own average.
        assert!((merge_scv(&[(1.0, 0.25, 4)], 1.0) - 0.25).abs() < 1e-12);
        assert!((cyclic_split_scv(3, 2.0) - 2.0 / 3.0).abs() < 1e-12);
        assert!((random_split_scv(0.25, 3.0) - 1.5).abs() < 1e-12);
    }
}
