//! Clumps: the departures of a queue with variable service (c_s² > 1) seen by a queue further
//! on. While the upstream queue is busy its departures are spaced by its service times, a
//! renewal stream of c² c_s² at its capacity; a queue further on that settles within such a
//! busy spell waits as behind that stream at the higher load, not as behind the departures'
//! average c² (QNA's interval figure, which mixes the busy and the idle spells into one gap).

use crate::solver::queueing::{
    batch_service_scv, shaped_wait, two_moment_wait, Arrivals, PoolInput, PoolSolution,
};

/// What a stream carries about the busy spells of the queue it left.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clump {
    /// c² of the gaps between the requests while their queue is busy (1: no clumps).
    pub scv: f64,
    /// The share of the stream's requests that left their queue in a busy spell (that queue's
    /// P(wait)).
    pub share: f64,
    /// How many times its mean load a busy spell puts on the queue it enters (1: none).
    pub speedup: f64,
    /// The mean length of a busy spell of the queue the stream left, seconds.
    pub span: f64,
}

impl Clump {
    /// No clumps.
    pub const NONE: Clump = Clump {
        scv: 1.0,
        share: 0.0,
        speedup: 1.0,
        span: 0.0,
    };

    /// Whether the stream has clumps worth solving for.
    pub fn is_some(&self) -> bool {
        self.scv > 1.0 + 1e-9 && self.share > 0.0 && self.span > 0.0 && self.speedup >= 1.0
    }
}

/// The clumps a queue of `servers` servers at utilization ρ sends on, when its service has
/// mean `mean_service` (seconds) and c² `service_scv` and a request waits there with
/// probability `p_wait`: while all servers are busy, the departures are the superposition of
/// the servers' service times, c² g² = 1 + (c_s² − 1)/√c (the service term of QNA's departure
/// formula at ρ = 1), at the capacity, 1/ρ times the mean rate. A busy spell lasts
/// E[S]/(c(1 − ρ)) on average (the M/G/1 busy period at one server, M/M/c's all-busy period
/// at c); the span carried is that times (1 + g²)/2, the residual-life factor of the spell's
/// gaps: **fitted**, not derived, to the `variable-spells` tandem (docs/simulation.md: an
/// M/G/1 at ρ 0.79, c_s² 2.53, into 2 constant servers at ρ 0.33, 0.49 and 0.66, whose mean
/// it puts at −2.2%, −4.9% and −6.6% where the plain mean gave −4.8%, −8.2% and −8.5%; the
/// size-biased age of the busy period, E[S](1 + c²)/(2c(1 − ρ)²), overshoots to +3% to +8%)
/// and checked on the widened survey. `None` for a service no more variable than exponential.
///
/// ```
/// use staircase::solver::variability::clumps::own_clump;
/// // M/G/1 at ρ 0.79, c_s² 2.53, S = 10 ms: gaps of c² 2.53 at 100/s against 79/s, busy
/// // periods of 10/0.21 = 47.6 ms on average, a span of 47.6·3.53/2 = 84.0 ms.
/// let clump = own_clump(1, 0.79, 0.010, 2.53, 0.79).unwrap();
/// assert!((clump.scv - 2.53).abs() < 1e-12);
/// assert!((clump.speedup - 1.0 / 0.79).abs() < 1e-12);
/// assert!((clump.span - 0.084048).abs() < 1e-6);
/// assert!(own_clump(1, 0.79, 0.010, 1.0, 0.79).is_none());
/// ```
pub fn own_clump(
    servers: u64,
    rho: f64,
    mean_service: f64,
    service_scv: f64,
    p_wait: f64,
) -> Option<Clump> {
    let c = servers.max(1) as f64;
    let usable = service_scv > 1.0 && rho > 0.0 && rho < 1.0 && mean_service > 0.0 && p_wait > 0.0;
    let gaps = 1.0 + (service_scv - 1.0) / c.sqrt();
    usable.then(|| Clump {
        scv: gaps,
        share: p_wait.clamp(0.0, 1.0),
        speedup: 1.0 / rho,
        span: mean_service * (1.0 + gaps) / (2.0 * c * (1.0 - rho)),
    })
}

/// The share of its busy-spell wait a queue (utilization in the spell `rho_busy`, mean
/// service `mean_service` of c² `service_scv`, the spell's gaps of c² `busy_scv`) reaches
/// within a spell of mean length `span`: T_u/(T_u + T_d), the time-scale blend of
/// [`super::seen_scv`], with T_d its own time to forget ([`super::queue_time_scale`], the
/// relaxation time of the heavy-traffic limit, in seconds): a queue the spell loads close to
/// its capacity takes far longer than the spell to build the spell's steady wait and reaches
/// none of it.
///
/// ```
/// use staircase::solver::variability::clumps::settled_share;
/// // A spell of 47.6 ms; 8.33 ms constant services at spell load 0.42 with gaps of c² 2.53:
/// // T_d = 8.33·2.53/0.58² = 62.7 ms, share 47.6/110.3.
/// let share = settled_share(0.047619, 0.42, 0.008333, 0.0, 2.53);
/// assert!((share - 0.4318).abs() < 1e-3);
/// assert_eq!(settled_share(0.047619, 1.0, 0.008333, 0.0, 2.53), 0.0);
/// ```
pub fn settled_share(
    span: f64,
    rho_busy: f64,
    mean_service: f64,
    service_scv: f64,
    busy_scv: f64,
) -> f64 {
    if rho_busy.is_nan() || rho_busy >= 1.0 || span <= 0.0 {
        return 0.0;
    }
    let own = mean_service * super::queue_time_scale(rho_busy, busy_scv, service_scv);
    span / (span + own)
}

/// The wait of a queue (`input`, its steady state `base` from the stream's average c²) fed
/// a stream with clumps `clump`: with the settled share β ([`settled_share`]) it waits as in
/// a busy spell upstream (GI/G/c at the spell's load with the spell's gaps as renewal
/// arrivals, [`two_moment_wait`], for the clump's share of its requests; the others not at
/// all), otherwise as `base`: a mixture of the two waits. `None` when the clumps would not
/// lengthen the wait, or the spell's load reaches the queue's capacity (the queue does not
/// settle within it; the average c² holds).
///
/// ```
/// use staircase::solver::queueing::{solve_pool_with, Arrivals, PoolInput};
/// use staircase::solver::variability::clumps::{clumped_pool, own_clump};
/// use staircase::solver::variability::departure_scv;
/// // M/G/1 (ρ 0.79, c_s² 2.53, S 10 ms) into 2 constant servers of 8.33 ms at ρ 0.33: the
/// // simulator measures a mean wait of 2.37 ms there; QNA's c_d² 1.955 alone gives 0.99.
/// let input = PoolInput { arrival: 79.0, servers: 2, mean_service: 1.0 / 120.0,
///     service_scv: 0.0, buffer: None, overload_horizon: 3_600.0 };
/// let base = solve_pool_with(&input, Arrivals { scv: departure_scv(0.79, 1, 1.0, 2.53),
///     renewal: 0.0 });
/// assert!((base.mean_wait * 1e3 - 0.99).abs() < 0.01);
/// let clump = own_clump(1, 0.79, 0.010, 2.53, 0.79).unwrap();
/// let clumped = clumped_pool(&input, &base, &clump).unwrap();
/// // 2.28 ms with the spells (2.13 before a constant service's many-server wait factor,
/// // `gigc_wait::many_server_wait_factor`, lengthened the spell's GI/D/2 wait).
/// assert!((clumped.mean_wait * 1e3 - 2.28).abs() < 0.01);
/// ```
pub fn clumped_pool(input: &PoolInput, base: &PoolSolution, clump: &Clump) -> Option<PoolSolution> {
    if !clump.is_some() || input.buffer.is_some() || input.arrival <= 0.0 {
        return None;
    }
    let servers = input.servers.max(1);
    let busy = PoolInput {
        arrival: input.arrival * clump.speedup,
        ..*input
    };
    let load = busy.arrival * busy.mean_service;
    let rho_busy = load / servers as f64;
    if rho_busy.is_nan() || rho_busy >= 1.0 - 1e-6 {
        return None;
    }
    let gaps = Arrivals {
        scv: clump.scv,
        renewal: 1.0,
    };
    let (p_busy, wait_busy) = two_moment_wait(&busy, servers, load, gaps);
    let (p_clump, wait_clump) = (clump.share * p_busy, clump.share * wait_busy);
    let beta = settled_share(
        clump.span,
        rho_busy,
        input.mean_service,
        input.service_scv,
        clump.scv,
    );
    let usable = p_clump > 0.0 && wait_clump > base.mean_wait && beta > 0.0;
    if !(usable && wait_clump.is_finite()) {
        return None;
    }
    let shape = batch_service_scv(clump.scv, input.service_scv);
    let mean_wait = (1.0 - beta) * base.mean_wait + beta * wait_clump;
    let p_wait = (1.0 - beta) * (1.0 - base.wait.zero_mass()) + beta * p_clump;
    let wait = shaped_wait(p_wait, mean_wait, rho_busy, shape);
    let mean_queue = input.arrival * mean_wait;
    Some(PoolSolution {
        mean_wait,
        mean_queue,
        mean_in_system: mean_queue + input.arrival * input.mean_service,
        wait,
        ..base.clone()
    })
}

/// The clumps of the merge of streams (rate, clumps, parts: how many equal independent
/// streams of that rate together, e.g. the instances of a node) of total rate `total` into
/// one queue, added one stream at a time (no list to gather them in): while one part's source
/// is busy that part runs `speedup` times its rate and the rest at theirs, so the queue's load
/// rises by 1 + (rᵢ/R)(kᵢ − 1) and the spell's gaps have the rate-weighted c² of the clumps
/// and of the rest (taken as Poisson); the figures averaged over the parts by their clumped
/// requests, rᵢ·shareᵢ.
///
/// ```
/// use staircase::solver::variability::clumps::{Clump, ClumpMerge};
/// let merged = |streams: &[(f64, Clump, u64)], total: f64| {
///     let mut merge = ClumpMerge::new(total);
///     for &(rate, clump, parts) in streams {
///         merge.add(rate, clump, parts);
///     }
///     merge.merged()
/// };
/// let clumps = Clump { scv: 3.0, share: 0.5, speedup: 2.0, span: 0.1 };
/// // Alone: unchanged.
/// assert_eq!(merged(&[(10.0, clumps, 1)], 10.0), clumps);
/// // Half of the traffic: load ×1.5 in a spell, gaps (20·3 + 10·1)/30, half the share.
/// let half = merged(&[(10.0, clumps, 1), (10.0, Clump::NONE, 1)], 20.0);
/// assert!((half.speedup - 1.5).abs() < 1e-12);
/// assert!((half.scv - 70.0 / 30.0).abs() < 1e-12);
/// assert!((half.share - 0.25).abs() < 1e-12);
/// // The same as two equal parts of one stream (two instances of a node).
/// let parts = merged(&[(20.0, clumps, 2)], 20.0);
/// assert!((parts.speedup - 1.5).abs() < 1e-12 && (parts.scv - 70.0 / 30.0).abs() < 1e-12);
/// assert!((parts.share - 0.5).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ClumpMerge {
    total: f64,
    weight: f64,
    speedup: f64,
    scv: f64,
    span: f64,
}

impl ClumpMerge {
    /// A merge of streams of total rate `total`, none added yet.
    pub fn new(total: f64) -> ClumpMerge {
        ClumpMerge {
            total,
            weight: 0.0,
            speedup: 0.0,
            scv: 0.0,
            span: 0.0,
        }
    }

    /// Adds `parts` equal independent streams of together `rate` with clumps `clump`.
    pub fn add(&mut self, rate: f64, clump: Clump, parts: u64) {
        if !(rate > 0.0 && self.total > 0.0 && clump.is_some()) {
            return;
        }
        let part = rate / parts.max(1) as f64;
        let w = rate * clump.share;
        let fast = part * clump.speedup;
        let rest = (self.total - part).max(0.0);
        self.weight += w;
        self.speedup += w * (1.0 + part / self.total * (clump.speedup - 1.0));
        self.scv += w * (fast * clump.scv + rest) / (fast + rest);
        self.span += w * clump.span;
    }

    /// The clumps of the merge.
    pub fn merged(&self) -> Clump {
        if self.weight <= 0.0 {
            return Clump::NONE;
        }
        Clump {
            scv: self.scv / self.weight,
            share: self.weight / self.total,
            speedup: self.speedup / self.weight,
            span: self.span / self.weight,
        }
    }
}

/// The clumps a queue at utilization ρ passes on from its arrivals' (`arriving`) when its own
/// service makes none: the excess c² of the spell's gaps weighed by 1 − ρ² as QNA passes the
/// arrivals' (a busier queue spreads them more), and no faster than its capacity (1/ρ times
/// its rate).
pub fn passed_clump(arriving: Clump, rho: f64) -> Clump {
    if !(arriving.is_some() && rho > 0.0 && rho < 1.0) {
        return Clump::NONE;
    }
    Clump {
        scv: 1.0 + (1.0 - rho * rho) * (arriving.scv - 1.0),
        speedup: arriving.speedup.min(1.0 / rho),
        ..arriving
    }
}

/// The clumps of a stream (`rate` requests per second) whose requests each spend a random
/// time of mean `delay` seconds (taken as exponential: standard deviation `delay`) before they
/// go on, e.g. in their node's calls: the spell's gaps, of mean g = 1/(rate·speedup), survive
/// as far as the delays do not reorder them, the excess c² kept in the share g²/(g² + delay²)
/// (the gap's variance against the delay's).
///
/// ```
/// use staircase::solver::variability::clumps::{spread_clump, Clump};
/// let clump = Clump { scv: 3.0, share: 0.5, speedup: 2.0, span: 0.1 };
/// // Gaps of 1/(50·2) = 10 ms: delays of 10 ms keep half the excess.
/// assert!((spread_clump(clump, 50.0, 0.010).scv - 2.0).abs() < 1e-12);
/// assert_eq!(spread_clump(clump, 50.0, 0.0), clump);
/// ```
pub fn spread_clump(clump: Clump, rate: f64, delay: f64) -> Clump {
    if !(delay > 0.0 && clump.is_some()) {
        return clump;
    }
    let gap = 1.0 / (rate * clump.speedup);
    if !gap.is_finite() {
        return clump;
    }
    let kept = gap * gap / (gap * gap + delay * delay);
    Clump {
        scv: 1.0 + kept * (clump.scv - 1.0),
        ..clump
    }
}
