//! Limited queues (G/G/c/K) under arrivals and services that are not Poisson and exponential:
//! PH/PH/c/K's Markov chain where the service is not exponential (`super::ph_limited`),
//! GI/M/c/K's embedded chain for renewal arrivals (`super::renewal_limited`), and a two-moment
//! diffusion scaling of M/M/c/K (or of that chain) for the service. In heavy traffic the number waiting behaves like
//! a reflected Brownian motion whose stationary law is M/M/c's stretched by the variability
//! factor β = (c_a² + c_s²)/2 (Kingman; Krämer–Langenbach-Belz's correction for smooth
//! arrivals, as the unlimited queues use). So a queue of m waiting places is an M/M/c/K' with
//! m/β places, its queue β times as long: smooth arrivals (a round robin) find the queue full
//! less often than Poisson ones, bursty ones more often. At β = 1 it is M/M/c/K exactly.
//! Since drops change what flows on, the traffic is solved again with these pools.
//!
//! Retries of a queue's drops back into the same queue meet it soon after it was full: they
//! are refused again with M/M/c/K's transient chance of being full one round trip later
//! ([`mmck_full_again`], by uniformization; [`dropped_again`] for other services), and only
//! the retries that get in load the queue ([`SelfRetry`]'s shares, used by the traffic and
//! the paths).

use super::compile::Compiled;
use super::ph_limited::solve_ph_limited;
use super::renewal_limited::{solve_renewal_limited, MAX_CHAIN_STATES};
use super::traffic::{propagate_with, Flows};
use super::variability::{self, arrival_variability};
use crate::model::Topology;
use crate::solver::queueing::{
    batch_service_scv, klb_factor, solve_pool, Arrivals, PoolInput, PoolSolution, WaitDist,
};

/// Rounds of (traffic, variability) at most: drops change the rates downstream, and the rates
/// the arrivals' variability.
const ROUNDS: usize = 4;

/// The smallest variability factor used: a thousand times M/M/c/K's waiting places.
const MIN_FACTOR: f64 = 1e-3;

/// The variability factor β = (c_a² + c_s²)/2 of a queue at utilization ρ, times the
/// Krämer–Langenbach-Belz factor for smooth arrivals ([`klb_factor`]); exactly 1 for Poisson
/// arrivals and exponential service.
///
/// ```
/// use staircase::solver::finite_wait::variability_factor;
/// assert_eq!(variability_factor(0.7, 1.0, 1.0), 1.0);
/// // M/D/c: half of M/M/c's queue (Pollaczek–Khinchine's (1 + c_s²)/2).
/// assert_eq!(variability_factor(0.7, 1.0, 0.0), 0.5);
/// ```
pub fn variability_factor(rho: f64, arrival_scv: f64, service_scv: f64) -> f64 {
    let (ca2, cs2) = (arrival_scv.max(0.0), service_scv.max(0.0));
    (ca2 + cs2) / 2.0 * klb_factor(rho.clamp(0.0, 1.0), ca2, cs2)
}

/// One limited pool with arrivals `arrivals` and the pool's service c² (`input.service_scv`).
/// Service that is not exponential: PH/PH/c/K exactly on its Markov chain, arrivals and
/// service fitted to two moments ([`solve_ph_limited`]), where the chain is small enough.
/// Otherwise [`two_moment_limited`]: for non-Poisson arrivals (c_a² ≠ 1), taken as a gamma
/// renewal stream, GI/M/c/K exactly by its embedded chain, another service's c² carried by
/// the diffusion scaling relative to exponential service ([`solve_renewal`]); for Poisson
/// arrivals (and queues longer than the chains reach) [`diffusion_limited`], M/M/c/K' with
/// m/β waiting places (β from [`variability_factor`]; between two whole numbers of places the
/// drop probability is interpolated geometrically, the queue linearly), its queue and waits
/// stretched by β. M/M/c/K itself (to the bit) for Poisson arrivals and exponential service;
/// unlimited pools are left to [`solve_pool`].
///
/// ```
/// use staircase::solver::finite_wait::solve_limited;
/// use staircase::solver::queueing::{solve_pool, Arrivals, PoolInput};
/// let input = PoolInput { arrival: 90.0, servers: 1, mean_service: 0.01, service_scv: 1.0,
///     buffer: Some(4), overload_horizon: 3_600.0 };
/// // Poisson and exponential: M/M/1/5 itself.
/// assert_eq!(solve_limited(&input, Arrivals::POISSON), solve_pool(&input));
/// // Every 4th request of a Poisson stream (c² 0.25) is refused less often.
/// let smooth = solve_limited(&input, Arrivals { scv: 0.25, renewal: 1.0 });
/// assert!(smooth.dropped < solve_pool(&input).dropped);
/// ```
pub fn solve_limited(input: &PoolInput, arrivals: Arrivals) -> PoolSolution {
    if input.buffer.is_some() && input.service_scv != 1.0 && input.arrival > 0.0 {
        if let Some(solution) = solve_ph_limited(input, arrivals.scv) {
            return solution;
        }
    }
    two_moment_limited(input, arrivals)
}

/// [`solve_limited`] without the phase-type chain: GI/M/c/K's embedded chain with the
/// service's c² carried by the diffusion scaling ([`solve_renewal`]), or the diffusion
/// scaling alone ([`diffusion_limited`]). What every limited queue of service c² ≠ 1 took
/// before the chain, and still takes where the chain is too large.
pub fn two_moment_limited(input: &PoolInput, arrivals: Arrivals) -> PoolSolution {
    if let Some(buffer) = input.buffer {
        let rho = input.arrival * input.mean_service / input.servers.max(1) as f64;
        if arrivals.scv != 1.0 && input.arrival > 0.0 {
            if let Some(solution) = solve_renewal(input, arrivals, buffer, rho) {
                return solution;
            }
        }
    }
    diffusion_limited(input, arrivals)
}

/// [`solve_limited`] by the diffusion scaling alone, whatever the arrivals: M/M/c/K' with
/// m/β waiting places, its queue and waits stretched by β (what every limited queue took
/// before the renewal chain; kept for Poisson arrivals and for queues beyond the chain's
/// [`MAX_CHAIN_STATES`]).
pub fn diffusion_limited(input: &PoolInput, arrivals: Arrivals) -> PoolSolution {
    let poisson = PoolInput {
        service_scv: 1.0,
        ..*input
    };
    let Some(buffer) = input.buffer else {
        return solve_pool(input);
    };
    let servers = input.servers.max(1);
    let rho = input.arrival * input.mean_service / servers as f64;
    // Evenly spaced arrivals into constant service (β 0) have no random queue: the places
    // are then many, not infinitely many.
    let beta = variability_factor(rho, arrivals.scv, input.service_scv).max(MIN_FACTOR);
    if beta == 1.0 || !beta.is_finite() || input.arrival <= 0.0 {
        return solve_pool(&poisson);
    }
    let places = buffer as f64 / beta;
    let below = places.floor().min(u64::MAX as f64 / 2.0) as u64;
    let fraction = places - below as f64;
    let at = |places: u64| {
        solve_pool(&PoolInput {
            buffer: Some(places),
            ..poisson
        })
    };
    let low = at(below);
    let high = if fraction > 0.0 {
        at(below + 1)
    } else {
        low.clone()
    };
    let stage_service_scv = batch_service_scv(arrivals.scv, input.service_scv);
    stretched_between(input, beta, stage_service_scv, (&low, &high, fraction))
}

/// A limited queue fed non-Poisson arrivals (c_a² = `arrivals.scv`, taken as a gamma renewal
/// stream): GI/M/c/K exactly by its embedded chain ([`solve_renewal_limited`]) for exponential
/// service. Another service c_s² scales the waiting places and the queue as [`solve_limited`]
/// does, by the ratio of the variability factors at c_s² and at exponential service,
/// β(c_a², c_s²)/β(c_a², 1) ([`variability_factor`]): Kingman's (c_a² + c_s²)/(c_a² + 1) times
/// KLB's factors' ratio, 1 at exponential service. `None` where the chain does not reach
/// (more than [`MAX_CHAIN_STATES`] states).
///
/// ```
/// use staircase::solver::finite_wait::solve_limited;
/// use staircase::solver::queueing::{Arrivals, PoolInput};
/// // D/M/1/1 (one server, no waiting place) at ρ 0.5: a request is refused when the one
/// // before it outlasts the gap, e^(−μ/λ) = e^(−2) of the time.
/// let input = PoolInput { arrival: 50.0, servers: 1, mean_service: 0.01, service_scv: 1.0,
///     buffer: Some(0), overload_horizon: 3_600.0 };
/// let evenly = solve_limited(&input, Arrivals { scv: 0.0, renewal: 1.0 });
/// assert!((evenly.dropped / 50.0 - (-2.0f64).exp()).abs() < 1e-12);
/// ```
fn solve_renewal(
    input: &PoolInput,
    arrivals: Arrivals,
    buffer: u64,
    rho: f64,
) -> Option<PoolSolution> {
    let ca2 = arrivals.scv.max(0.0);
    let exponential = PoolInput {
        service_scv: 1.0,
        ..*input
    };
    let at = |places: u64| {
        solve_renewal_limited(
            &PoolInput {
                buffer: Some(places),
                ..exponential
            },
            ca2,
        )
    };
    let factor = (variability_factor(rho, ca2, input.service_scv)
        / variability_factor(rho, ca2, 1.0))
    .max(MIN_FACTOR);
    if factor == 1.0 {
        return at(buffer);
    }
    if !factor.is_finite() {
        return None;
    }
    let places = buffer as f64 / factor;
    let servers = input.servers.max(1) as f64;
    if places + servers + 1.0 > MAX_CHAIN_STATES as f64 {
        return None;
    }
    let below = places.floor() as u64;
    let fraction = places - below as f64;
    let low = at(below)?;
    let high = if fraction > 0.0 {
        at(below + 1)?
    } else {
        low.clone()
    };
    // The chain already holds how many a burst leaves ahead of an arrival: each stage of
    // the wait is one service's (not a batch's, as in the diffusion scaling).
    Some(stretched_between(
        input,
        factor,
        input.service_scv,
        (&low, &high, fraction),
    ))
}

/// The pool between two solutions `low` and `high` of exponential service at whole numbers
/// of waiting places (`fraction` of the way from one to the other): the drop probability
/// interpolated geometrically, the queue linearly and stretched by `beta`, the waits stretched
/// to the mean and their stages shaped by a service of c² `stage_service_scv`
/// ([`gamma_stages`]).
fn stretched_between(
    input: &PoolInput,
    beta: f64,
    stage_service_scv: f64,
    (low, high, fraction): (&PoolSolution, &PoolSolution, f64),
) -> PoolSolution {
    let servers = input.servers.max(1);
    let rho = input.arrival * input.mean_service / servers as f64;
    let share = |solution: &PoolSolution| solution.dropped / input.arrival;
    let blocked = match (share(low), share(high)) {
        (a, b) if a > 0.0 && b > 0.0 => a.powf(1.0 - fraction) * b.powf(fraction),
        (a, b) => a * (1.0 - fraction) + b * fraction,
    };
    let throughput = input.arrival * (1.0 - blocked);
    let queue = beta * (low.mean_queue * (1.0 - fraction) + high.mean_queue * fraction);
    let mean_wait = if throughput > 0.0 {
        queue / throughput
    } else {
        0.0
    };
    let mixed = low.wait.mean() * (1.0 - fraction) + high.wait.mean() * fraction;
    let stretch = if mixed > 0.0 { mean_wait / mixed } else { 1.0 };
    let wait = match (
        stretched(&low.wait, stretch),
        stretched(&high.wait, stretch),
    ) {
        (Some(a), Some(b)) if fraction > 0.0 => {
            WaitDist::Mixture(vec![(1.0 - fraction, a), (fraction, b)])
        }
        (Some(a), _) => a,
        _ => low.wait.clone(),
    };
    let wait = gamma_stages(&wait, stage_service_scv);
    let c = servers as f64;
    let busy = throughput * input.mean_service;
    PoolSolution {
        throughput,
        dropped: input.arrival - throughput,
        utilization: (busy / c).min(1.0),
        offered_utilization: rho,
        mean_wait,
        mean_queue: queue,
        mean_in_system: queue + busy,
        backlog_growth: 0.0,
        wait,
    }
}

/// `dist` with its time stretched by `factor` (its P(wait) kept); `None` for a shape this
/// cannot stretch.
fn stretched(dist: &WaitDist, factor: f64) -> Option<WaitDist> {
    Some(match dist {
        WaitDist::Zero => WaitDist::Zero,
        WaitDist::Exponential { p_wait, rate } => WaitDist::Exponential {
            p_wait: *p_wait,
            rate: rate / factor,
        },
        WaitDist::ErlangMix {
            stage_probs,
            stage_rate,
        } => WaitDist::ErlangMix {
            stage_probs: stage_probs.clone(),
            stage_rate: stage_rate / factor,
        },
        WaitDist::Geometric {
            p_wait,
            ratio,
            stages,
            stage_rate,
        } => WaitDist::Geometric {
            p_wait: *p_wait,
            ratio: *ratio,
            stages: *stages,
            stage_rate: stage_rate / factor,
        },
        WaitDist::Mixture(parts) => WaitDist::Mixture(
            parts
                .iter()
                .map(|(weight, part)| stretched(part, factor).map(|part| (*weight, part)))
                .collect::<Option<Vec<_>>>()?,
        ),
        _ => return None,
    })
}

/// The squared coefficient of variation of one stage of a queue's wait (the time from one
/// start of service to the next while all servers are busy) for a service of c_s²:
/// (1 + 5c_s²)/(3(1 + c_s²)). In M/G/1 the wait of those who wait is a geometric number of
/// such stages; with this stage it has exactly the Pollaczek–Khinchine variance
/// ([`conditional_wait_scv`]) at every load: 1 for exponential service, 1/3 for constant
/// service (the residual of a constant service is uniform).
///
/// ```
/// use staircase::solver::finite_wait::stage_scv;
/// assert_eq!(stage_scv(1.0), 1.0);
/// assert!((stage_scv(0.0) - 1.0 / 3.0).abs() < 1e-15);
/// // Geometric J ≥ 1 (P(J > j) = ρʲ) stages: c² = (E[J]·v + Var J)/E[J]², at ρ 0.8 with
/// // constant service (1 − ρ)/3 + ρ = 0.8667, M/D/1's conditional wait.
/// let rho = 0.8;
/// let (mean, var) = (1.0 / (1.0 - rho), rho / (1.0 - rho) / (1.0 - rho));
/// let scv = (mean * stage_scv(0.0) + var) / (mean * mean);
/// let expected = staircase::solver::queueing::conditional_wait_scv(rho, 0.0);
/// assert!((scv - expected).abs() < 1e-12);
/// ```
pub fn stage_scv(service_scv: f64) -> f64 {
    let cs2 = service_scv.max(0.0);
    (1.0 + 5.0 * cs2) / (3.0 * (1.0 + cs2))
}

/// The wait `dist` of a limited queue (M/M/c/K stages, stretched) with each exponential stage
/// replaced by a gamma of the same mean and [`stage_scv`] of the service c² `service_scv`:
/// P(wait) and the mean kept, the spread that of the service (narrower behind a constant
/// service, as in M/D/c, than M/M/c/K's). Unchanged at exponential service.
///
/// ```
/// use staircase::solver::finite_wait::gamma_stages;
/// use staircase::solver::queueing::WaitDist;
/// let stages = WaitDist::ErlangMix { stage_probs: vec![0.3, 0.2], stage_rate: 100.0 };
/// assert_eq!(gamma_stages(&stages, 1.0), stages);
/// let constant = gamma_stages(&stages, 0.0);
/// assert!((constant.mean() - stages.mean()).abs() < 1e-15);
/// assert!((constant.zero_mass() - 0.5).abs() < 1e-15);
/// ```
pub fn gamma_stages(dist: &WaitDist, service_scv: f64) -> WaitDist {
    let scv = stage_scv(service_scv);
    if (scv - 1.0).abs() < 1e-12 {
        return dist.clone();
    }
    let shaped = |stages: &WaitDist, stage_rate: f64| WaitDist::GammaStages {
        stages: Box::new(stages.clone()),
        stage_rate,
        stage_shape: 1.0 / scv,
    };
    match dist {
        WaitDist::ErlangMix { stage_rate, .. } | WaitDist::Geometric { stage_rate, .. } => {
            shaped(dist, *stage_rate)
        }
        WaitDist::Mixture(parts) => WaitDist::Mixture(
            parts
                .iter()
                .map(|(weight, part)| (*weight, gamma_stages(part, service_scv)))
                .collect(),
        ),
        _ => dist.clone(),
    }
}

/// The external arrival rates per node and class of `compiled` (as the traffic stage starts).
fn external_rates(compiled: &Compiled) -> Vec<f64> {
    let class_count = compiled.classes.len();
    let mut rates = vec![0.0; compiled.nodes.len() * class_count];
    for (k, class) in compiled.classes.iter().enumerate() {
        rates[class.client * class_count + k] += class.rate;
    }
    rates
}

/// Solves the limited queues whose arrivals are not Poisson or whose service is not
/// exponential by [`solve_limited`], and the traffic again with what they serve and drop
/// (then the unlimited queues' waits again, [`variability::apply`]). Nothing changes where
/// every limited queue has Poisson arrivals and exponential service. A limited queue met
/// again with the same inputs (bit for bit: in a later round, or another queue of the same
/// load) takes the solution already found ([`LimitedSolutions`]): its chain costs
/// milliseconds.
pub(super) fn apply(topology: &Topology, compiled: &Compiled, flows: &mut Flows, horizon: f64) {
    let solutions = LimitedSolutions::default();
    apply_with(topology, compiled, flows, horizon, Some(&solutions));
}

/// [`apply`], its limited queues looked up in `solutions` first (`None`: each solved
/// again, as a check that the lookup changes no figure).
fn apply_with(
    topology: &Topology,
    compiled: &Compiled,
    flows: &mut Flows,
    horizon: f64,
    solutions: Option<&LimitedSolutions>,
) {
    if compiled.nodes.iter().all(|node| node.buffer.is_none()) {
        return;
    }
    let external = external_rates(compiled);
    let mut previous: Option<variability::GroupArrivals> = None;
    for _ in 0..ROUNDS {
        let Some(groups) = arrival_variability(topology, compiled, flows, horizon) else {
            return;
        };
        let limited = |v: usize| compiled.nodes[v].buffer.is_some();
        let settled = previous.as_ref().is_some_and(|before| {
            (0..groups.len()).filter(|&v| limited(v)).all(|v| {
                groups[v]
                    .iter()
                    .zip(&before[v])
                    .all(|(a, b)| (a.scv - b.scv).abs() < 1e-9)
            })
        });
        if settled {
            return;
        }
        let solve = |v: usize, group: usize, input: &PoolInput| match groups[v].get(group) {
            Some(arrivals) if limited(v) => match solutions {
                Some(solutions) => solutions.solve(input, *arrivals),
                None => solve_limited(input, *arrivals),
            },
            _ => solve_pool(input),
        };
        let Ok(solved) = propagate_with(topology, compiled, &external, horizon, Some(&solve))
        else {
            return;
        };
        *flows = solved;
        variability::apply(topology, compiled, flows, horizon);
        previous = Some(groups);
    }
}

/// The exact inputs of [`solve_limited`], bit for bit: the pool's rate, servers, mean
/// service, service c², waiting places (whether any, and how many), overload horizon, and
/// the arrivals' c² and renewal share.
type LimitedKey = [u64; 9];

fn limited_key(input: &PoolInput, arrivals: Arrivals) -> LimitedKey {
    // Taken apart field by field: a field added to either is a compile error here, not a
    // key that misses it.
    let PoolInput {
        arrival,
        servers,
        mean_service,
        service_scv,
        buffer,
        overload_horizon,
    } = *input;
    let Arrivals { scv, renewal } = arrivals;
    [
        arrival.to_bits(),
        servers,
        mean_service.to_bits(),
        service_scv.to_bits(),
        u64::from(buffer.is_some()),
        buffer.unwrap_or(0),
        overload_horizon.to_bits(),
        scv.to_bits(),
        renewal.to_bits(),
    ]
}

/// The limited queues [`solve_limited`] has solved within one [`apply`], by their exact
/// inputs ([`limited_key`]). [`solve_limited`] depends on nothing else, so a solution taken
/// from here is the one solving again would give, to the bit; it lives for one solve only,
/// so serial and parallel solves (and the app's solves one after another) share nothing.
#[derive(Default)]
struct LimitedSolutions {
    solved: std::sync::Mutex<std::collections::HashMap<LimitedKey, PoolSolution>>,
    /// How many times a solution was asked for (the test's check on how often one is reused).
    #[cfg(test)]
    asked: std::sync::atomic::AtomicUsize,
}

impl LimitedSolutions {
    /// [`solve_limited`] of `input` and `arrivals`, from the table when they were solved
    /// before in this solve.
    fn solve(&self, input: &PoolInput, arrivals: Arrivals) -> PoolSolution {
        #[cfg(test)]
        self.asked
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = limited_key(input, arrivals);
        if let Some(found) = self
            .solved
            .lock()
            .ok()
            .and_then(|map| map.get(&key).cloned())
        {
            return found;
        }
        let solution = solve_limited(input, arrivals);
        if let Ok(mut map) = self.solved.lock() {
            map.insert(key, solution.clone());
        }
        solution
    }

    /// How many distinct inputs were solved.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.solved.lock().map_or(0, |map| map.len())
    }
}

/// Most uniformization steps of [`mmck_full_again`], a bound on its cost: the Poisson weight of
/// the steps beyond it (only where the chain makes more than about 1,600 events in the delay)
/// is given the stationary blocking.
const MAX_TRANSIENT_STEPS: usize = 2_000;

/// The chance that an M/M/c/K queue (`input` at exponential service) full at some instant is
/// full again `delay` seconds later, P_KK(delay) of its birth-death chain, with its stationary
/// blocking B. By uniformization at the chain's fastest rate Λ = λ + cμ:
/// P_KK(d) = Σ_n e^(−Λd)(Λd)ⁿ/n!·(Pⁿ)_KK with P = I + Q/Λ; n steps from K reach only the n
/// states below it. The Poisson weights are taken in logarithms (no underflow of e^(−Λd) at
/// many events) up to 10 standard deviations past their mean, at most
/// [`MAX_TRANSIENT_STEPS`]; what weight is left weighs in at B.
/// Returns (P_KK(delay), B).
///
/// ```
/// use staircase::solver::finite_wait::mmck_full_again;
/// use staircase::solver::queueing::PoolInput;
/// // M/M/1/1: P_11(d) = B + (1 − B)·e^(−(λ + μ)d), B = λ/(λ + μ).
/// let input = PoolInput { arrival: 60.0, servers: 1, mean_service: 0.025, service_scv: 1.0,
///     buffer: Some(0), overload_horizon: 60.0 };
/// let (again, blocking) = mmck_full_again(&input, 0.01);
/// assert!((blocking - 0.6).abs() < 1e-12);
/// assert!((again - (0.6 + 0.4 * (-1.0f64).exp())).abs() < 1e-12);
/// // A thousand events later (e^(−1000) would underflow), it has mixed: P_11 = B.
/// let (again, _) = mmck_full_again(&input, 10.0);
/// assert!((again - 0.6).abs() < 1e-12);
/// ```
pub fn mmck_full_again(input: &PoolInput, delay: f64) -> (f64, f64) {
    let servers = input.servers.max(1);
    let Some(buffer) = input.buffer else {
        return (0.0, 0.0);
    };
    let (lambda, mu) = (input.arrival, 1.0 / input.mean_service);
    if !(lambda > 0.0 && mu.is_finite() && mu > 0.0) {
        return (0.0, 0.0);
    }
    let exact = solve_pool(&PoolInput {
        service_scv: 1.0,
        ..*input
    });
    let blocking = (exact.dropped / lambda).clamp(0.0, 1.0);
    if delay.is_nan() || delay <= 0.0 {
        return (1.0, blocking);
    }
    let top = servers.saturating_add(buffer);
    let fastest = lambda + servers as f64 * mu;
    let mean_steps = fastest * delay;
    // All but e^(−50) of the Poisson weight lies past the last step: the chain has mixed.
    if !mean_steps.is_finite() || mean_steps - 10.0 * mean_steps.sqrt() > MAX_TRANSIENT_STEPS as f64
    {
        return (blocking, blocking);
    }
    let last_step = (mean_steps + 10.0 * mean_steps.sqrt() + 10.0).min(MAX_TRANSIENT_STEPS as f64);
    // probabilities[j]: state K − j after the steps so far; `next` is the step's scratch.
    let (mut probabilities, mut next) = (vec![1.0], Vec::new());
    let (mut sum, mut weighed) = (0.0, 0.0);
    // ln of the Poisson weight e^(−m)·mⁿ/n! of step n.
    let mut log_weight = -mean_steps;
    let log_mean = mean_steps.ln();
    let mut step = 0usize;
    loop {
        let weight = log_weight.exp();
        sum += weight * probabilities[0];
        weighed += weight;
        step += 1;
        if step as f64 > last_step {
            break;
        }
        uniformized_step(
            &probabilities,
            &mut next,
            top,
            servers,
            (lambda, mu, fastest),
        );
        std::mem::swap(&mut probabilities, &mut next);
        log_weight += log_mean - (step as f64).ln();
    }
    let again = sum + (1.0 - weighed).max(0.0) * blocking;
    (again.clamp(blocking, 1.0), blocking)
}

/// One step of the uniformized birth-death chain of M/M/c/K (`top` = K) restricted to the
/// states K − j for j below `probabilities.len()` + 1 (the states one more step can reach),
/// written into `next`.
fn uniformized_step(
    probabilities: &[f64],
    next: &mut Vec<f64>,
    top: u64,
    servers: u64,
    (lambda, mu, fastest): (f64, f64, f64),
) {
    let reach = (probabilities.len() as u64 + 1).min(top + 1) as usize;
    next.clear();
    next.resize(reach, 0.0);
    for (j, &p) in probabilities.iter().enumerate() {
        if p == 0.0 {
            continue;
        }
        let state = top - j as u64;
        let up = if state < top { lambda } else { 0.0 };
        let down = state.min(servers) as f64 * mu;
        if j > 0 {
            next[j - 1] += p * up / fastest;
        }
        if j + 1 < reach && down > 0.0 {
            next[j + 1] += p * down / fastest;
        }
        next[j] += p * (1.0 - (up + down) / fastest);
    }
}

/// The chance that a retry sent `delay` seconds after a drop back into the same limited queue
/// (`input`, solved as `pool`) is dropped again. The queue was full at the drop; its fullness
/// decays as M/M/c/K's P_KK(d) does toward its blocking B_M ([`mmck_full_again`]), the decay
/// r(d) = (P_KK(d) − B_M)/(1 − B_M) carried over to the queue's own blocking B (that of its
/// service, [`solve_limited`]): B + (1 − B)·r(d). 1 at no delay (the retry meets the queue
/// that refused it), B once the queue has mixed.
pub fn dropped_again(input: &PoolInput, pool: &PoolSolution, delay: f64) -> f64 {
    if input.arrival <= 0.0 || pool.dropped <= 0.0 {
        return 0.0;
    }
    if delay.is_nan() || delay <= 0.0 {
        return 1.0;
    }
    let blocking = (pool.dropped / input.arrival).clamp(0.0, 1.0);
    let (again, exponential) = mmck_full_again(input, delay);
    let decay = if exponential < 1.0 {
        ((again - exponential) / (1.0 - exponential)).clamp(0.0, 1.0)
    } else {
        1.0
    };
    (blocking + (1.0 - blocking) * decay).clamp(0.0, 1.0)
}

/// How a node that retries its own drops (a retry edge back into itself) treats the two kinds
/// of request it receives: first attempts (from elsewhere) and retries of its drops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct SelfRetry {
    /// Share of first attempts served.
    pub(super) served: f64,
    /// Share of first attempts dropped (the queues' blocking).
    pub(super) dropped: f64,
    /// Share of the retries back into the node dropped again ([`dropped_again`]).
    pub(super) again: f64,
}

impl SelfRetry {
    /// The share of the retries that never reach a queue: those refused again beyond the
    /// blocking B a fresh arrival meets, (q − B)/(1 − B) with q the share refused again
    /// (0 when every attempt is dropped). The rest, 1 − (q − B)/(1 − B), move the queues
    /// ([`effective_arrivals`]; the variability stage counts the retry stream at that rate).
    pub(super) fn refused_beyond_blocking(&self) -> f64 {
        if self.dropped < 1.0 {
            ((self.again - self.dropped) / (1.0 - self.dropped)).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// A node's retries back into itself: per class, the rate of retries among its `incoming`
/// arrivals (from the last pass's drops), and their mean delay, seconds.
pub(super) struct Retried {
    pub(super) per_class: Vec<f64>,
    pub(super) delay: f64,
}

/// The retries of node `v` back into itself at the last pass's `arrivals` and `drop_ratio`
/// of it (per class). `None` when the node has no retry edge into itself or nothing is
/// retried.
pub(super) fn retried_into_itself(
    compiled: &Compiled,
    v: usize,
    arrivals: &[f64],
    drop_ratio: f64,
) -> Option<Retried> {
    if !compiled.retries || drop_ratio <= 0.0 {
        return None;
    }
    let mut per_class = vec![0.0; arrivals.len()];
    let mut delayed = 0.0;
    for edge in &compiled.out_edges[v] {
        if edge.source != super::compile::Source::Dropped || edge.to != v {
            continue;
        }
        for (k, rate) in per_class.iter_mut().enumerate() {
            let sent = arrivals[k] * drop_ratio * edge.factors[k];
            *rate += sent;
            delayed += sent * edge.rtt(k);
        }
    }
    let total: f64 = per_class.iter().sum();
    (total > 0.0).then(|| Retried {
        per_class,
        delay: delayed / total,
    })
}

/// The arrivals that move a queue retried into itself: `incoming` less the retries that meet
/// it full again beyond the rate its blocking B refuses, `last` (its shares from the last
/// pass): S·(q − B)/(1 − B) of the retries S. What is left behaves as Poisson arrivals of
/// that rate (first attempts are, and retries that get in, spread over the queue's cycles);
/// its blocking and the refused retries then give the drops (F·B + S·q).
pub(super) fn effective_arrivals(incoming: &[f64], retried: &Retried, last: SelfRetry) -> Vec<f64> {
    let removed = last.refused_beyond_blocking();
    incoming
        .iter()
        .zip(&retried.per_class)
        .map(|(rate, retries)| (rate - retries * removed).max(0.0))
        .collect()
}

/// The node's shares once its queues (`pools`, solved at `inputs`, the effective arrivals
/// summing to `effective`) are known: first attempts served and dropped at the queues'
/// blocking, retries dropped again ([`dropped_again`], each queue weighed by its drops; a
/// retry lands on the queue it left with that queue's share of arrivals, elsewhere it meets
/// the node's blocking). The retries refused beyond the blocking (`total` − `effective`) are
/// added to the queues' drops, so the node's drops are F·B + S·q.
pub(super) fn settle_self_retry(
    node: &super::compile::CompiledNode,
    inputs: &[PoolInput],
    pools: &mut [PoolSolution],
    (total, effective): (f64, f64),
    delay: f64,
) -> SelfRetry {
    let groups = &node.groups;
    let counted = |pools: &[PoolSolution], of: fn(&PoolSolution) -> f64| -> f64 {
        pools
            .iter()
            .zip(groups)
            .map(|(p, g)| of(p) * g.count as f64)
            .sum()
    };
    let throughput = counted(pools, |p| p.throughput);
    let dropped = counted(pools, |p| p.dropped);
    if effective <= 0.0 || dropped <= 0.0 {
        return SelfRetry {
            served: if effective > 0.0 {
                throughput / effective
            } else {
                1.0
            },
            dropped: 0.0,
            again: 0.0,
        };
    }
    let blocking = (dropped / effective).clamp(0.0, 1.0);
    let mut again = 0.0;
    for ((input, pool), group) in inputs.iter().zip(pools.iter()).zip(groups) {
        let same = group.share.clamp(0.0, 1.0);
        let weight = pool.dropped * group.count as f64 / dropped;
        again += weight * (same * dropped_again(input, pool, delay) + (1.0 - same) * blocking);
    }
    let excess = (total - effective).max(0.0);
    for pool in pools.iter_mut() {
        pool.dropped *= 1.0 + excess / dropped;
    }
    SelfRetry {
        served: throughput / effective,
        dropped: blocking,
        again: again.clamp(blocking, 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(arrival: f64, servers: u64, buffer: u64, service_scv: f64) -> PoolInput {
        PoolInput {
            arrival,
            servers,
            mean_service: 0.01,
            service_scv,
            buffer: Some(buffer),
            overload_horizon: 3_600.0,
        }
    }

    /// Limited queues of non-exponential service: two of constant service at the same load
    /// (the same inputs twice in one pass), one of c² 0.5, and a bursty worker (c² 2, its
    /// inputs the same in two rounds) behind limited app instances fed in turn, and a limited
    /// database behind it (whose arrivals change between the rounds).
    const SEVERAL_LIMITED: &str = r#"(
        version: 1,
        name: "several limited queues",
        workloads: [
            (name: "a", client: 1, rate: PerSecond(150.0), peak_multiplier: 1.0, read: 1.0, write: 0.0, async: 0.0),
            (name: "b", client: 3, rate: PerSecond(150.0), peak_multiplier: 1.0, read: 1.0, write: 0.0, async: 0.0),
            (name: "c", client: 5, rate: PerSecond(120.0), peak_multiplier: 1.0, read: 1.0, write: 0.0, async: 0.0),
            (name: "d", client: 7, rate: PerSecond(360.0), peak_multiplier: 1.0, read: 1.0, write: 0.0, async: 0.0),
        ],
        nodes: [
            (id: 1, name: "UsersA", kind: Client, capacity_rps: None),
            (id: 2, name: "ConstantA", kind: Service, instances: 1, concurrency: 2, capacity_rps: 200.0, service_cv: 0.0, queue_limit: Some(6), base_latency_ms: 0.0),
            (id: 3, name: "UsersB", kind: Client, capacity_rps: None),
            (id: 4, name: "ConstantB", kind: Service, instances: 1, concurrency: 2, capacity_rps: 200.0, service_cv: 0.0, queue_limit: Some(6), base_latency_ms: 0.0),
            (id: 5, name: "UsersC", kind: Client, capacity_rps: None),
            (id: 6, name: "Smooth", kind: Service, instances: 1, concurrency: 2, capacity_rps: 200.0, service_cv: 0.7071067811865476, queue_limit: Some(4), base_latency_ms: 0.0),
            (id: 7, name: "UsersD", kind: Client, capacity_rps: None),
            (id: 8, name: "LB", kind: LoadBalancer(policy: RoundRobin), capacity_rps: Some(100000.0), base_latency_ms: 0.0),
            (id: 9, name: "App", kind: AppServer, instances: 4, concurrency: 1, capacity_rps: Some(100.0), queue_limit: Some(3), base_latency_ms: 0.0),
            (id: 10, name: "Worker", kind: Service, instances: 1, concurrency: 2, capacity_rps: 400.0, service_cv: 2.0, queue_limit: Some(4), base_latency_ms: 0.0),
            (id: 11, name: "DB", kind: Database(read_capacity_rps: 400.0, write_capacity_rps: 400.0, max_connections: 10000), instances: 1, concurrency: 1, capacity_rps: Some(400.0), queue_limit: Some(6), base_latency_ms: 0.0),
        ],
        edges: [
            (from: 1, to: 2), (from: 3, to: 4), (from: 5, to: 6),
            (from: 7, to: 8), (from: 8, to: 9), (from: 9, to: 10), (from: 10, to: 11),
        ],
    )"#;

    /// The flows after [`apply_with`] with or without the table of solutions.
    fn applied(solutions: Option<&LimitedSolutions>) -> Flows {
        // Read as a document file is (optional fields without `Some`), without the io room.
        let options = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        let topology: crate::model::Topology = options.from_str(SEVERAL_LIMITED).expect("parses");
        topology.validate().expect("a valid design");
        let params = crate::solver::Params::default();
        let compiled = crate::solver::compile::compile(&topology, &params).at_load(1.0, true);
        let horizon = topology.settings.overload_horizon_s;
        let mut traffic =
            crate::solver::traffic::solve_traffic(&topology, &compiled, &params).expect("solves");
        variability::apply_on(&topology, &compiled, &mut traffic.solved, (horizon, false));
        apply_with(
            &topology,
            &compiled,
            &mut traffic.solved,
            horizon,
            solutions,
        );
        traffic.solved
    }

    #[test]
    fn limited_queues_solved_once_give_the_same_bits_as_solved_each_time() {
        let solutions = LimitedSolutions::default();
        let (cached, again) = (applied(Some(&solutions)), applied(None));
        let bits = |values: &[f64]| values.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&cached.arrivals), bits(&again.arrivals));
        assert_eq!(bits(&cached.served_ratio), bits(&again.served_ratio));
        assert_eq!(bits(&cached.drop_ratio), bits(&again.drop_ratio));
        // Debug prints every f64 so that it reads back to the same bits (and −0 as −0).
        assert_eq!(format!("{:?}", cached.pools), format!("{:?}", again.pools));
        // The limited queues did drop (so the figures compared are the chains'), and some
        // were taken from the table: the second constant-service queue, and the worker in
        // the round after its inputs settled.
        let constant = &cached.pools[1][0];
        assert!(
            constant.dropped > 0.1 && constant.dropped < 10.0,
            "{constant:?}"
        );
        assert_eq!(format!("{constant:?}"), format!("{:?}", cached.pools[3][0]));
        let asked = solutions.asked.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            solutions.len() + 2 <= asked,
            "{} solved for {asked} asked",
            solutions.len()
        );
    }

    #[test]
    fn poisson_exponential_is_mmck_to_the_bit() {
        for (arrival, servers, buffer) in [(90.0, 1, 4), (180.0, 2, 2), (500.0, 3, 10)] {
            let input = limited(arrival, servers, buffer, 1.0);
            assert_eq!(solve_limited(&input, Arrivals::POISSON), solve_pool(&input));
        }
    }

    #[test]
    fn a_long_buffer_waits_as_the_unlimited_two_moment_queue() {
        // M/D/1 at ρ 0.5 behind 400 places: nobody is refused, and the wait is
        // Pollaczek–Khinchine's, ρS/(2(1 − ρ)) = 5 ms.
        let solution = solve_limited(&limited(50.0, 1, 400, 0.0), Arrivals::POISSON);
        assert!(solution.dropped < 1e-12);
        assert!(
            (solution.mean_wait - 0.005).abs() < 1e-9,
            "{}",
            solution.mean_wait
        );
        assert!((solution.wait.mean() - solution.mean_wait).abs() < 1e-12);
    }

    #[test]
    fn extreme_variabilities_give_finite_figures() {
        for (arrival, scv, service_scv) in [
            (50.0, 0.0, 0.0),
            (500.0, 0.0, 0.0),
            (50.0, 100.0, 9.0),
            (1e6, 3.0, 0.0),
            (1e-9, 1.0, 4.0),
        ] {
            let solution = solve_limited(
                &limited(arrival, 3, 5, service_scv),
                Arrivals { scv, renewal: 0.0 },
            );
            for figure in [
                solution.throughput,
                solution.dropped,
                solution.utilization,
                solution.mean_wait,
                solution.mean_queue,
                solution.mean_in_system,
                solution.wait.mean(),
            ] {
                assert!(
                    figure.is_finite() && figure >= 0.0,
                    "{arrival} {scv}: {solution:?}"
                );
            }
            assert!(solution.dropped <= arrival * (1.0 + 1e-12));
        }
    }

    #[test]
    fn constant_service_waits_in_gamma_stages_as_m_d_1() {
        // M/D/1 at ρ 0.5 behind 400 places (as good as unlimited): P(W ≤ t) = (1 − ρ)·e^{ρt/S}
        // for t ≤ S (Erlang), so the 60th percentile is 2·ln 1.2·S = 0.365 S (an exponential
        // wait of those who wait, of the same mean S, would put it at ln 1.25·S = 0.223 S).
        let input = limited(50.0, 1, 400, 0.0);
        let solution = solve_limited(&input, Arrivals::POISSON);
        assert!(matches!(solution.wait, WaitDist::GammaStages { .. }));
        let wait = &solution.wait;
        let p = crate::solver::queueing::percentiles_with_atoms(
            wait.mean(),
            &[0.6],
            &[(0.0, wait.zero_mass())],
            |points, values| {
                for (value, point) in values.iter_mut().zip(points) {
                    *value = wait.lst(*point);
                }
            },
        );
        let expected = 2.0 * 1.2f64.ln() * 0.01;
        assert!(
            (p[0] / expected - 1.0).abs() < 0.05,
            "{} vs {expected}",
            p[0]
        );
        // The transform's slope at 0 is the mean.
        let h = 1e-3;
        let slope = (1.0 - wait.lst(num_complex::Complex64::new(h, 0.0)).re) / h;
        assert!((slope / wait.mean() - 1.0).abs() < 1e-3);
    }

    #[test]
    fn bursty_arrivals_are_refused_more_often() {
        let input = limited(80.0, 2, 3, 1.0);
        let poisson = solve_pool(&input);
        let bursty = solve_limited(
            &input,
            Arrivals {
                scv: 3.0,
                renewal: 0.0,
            },
        );
        assert!(bursty.dropped > poisson.dropped);
        // Every figure is finite, and throughput plus drops is what arrives.
        assert!((bursty.throughput + bursty.dropped - 80.0).abs() < 1e-9);
        assert!(bursty.mean_wait.is_finite() && bursty.wait.mean().is_finite());
    }
}
