//! One pool of identical servers: what it is asked (`PoolInput`, `Arrivals`), its steady or
//! fluid state (`PoolSolution`), and `solve_pool`, which picks M/M/c or the two-moment waits,
//! M/M/c/K, or the overload built over the horizon.

use super::finite::solve_finite;
use super::two_moment::{mean_wait_given, steady_state_wait, two_moment_wait};
use super::wait_dist::WaitDist;
use super::wait_shape::{batch_service_scv, ordered_wait_shape, shaped_wait};
use crate::solver::gigc_wait::{arrivals_wait_factor, spread_wait};
use std::f64::consts::PI;

/// What a pool of identical servers is asked to do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PoolInput {
    /// Poisson arrival rate λ offered to the pool (req/s).
    pub arrival: f64,
    /// Number of servers c.
    pub servers: u64,
    /// Mean service time E[S] in seconds (1/μ).
    pub mean_service: f64,
    /// Squared coefficient of variation of the service time (1 for exponential).
    pub service_scv: f64,
    /// Waiting places beyond the servers (K − c); `None` is an unlimited queue.
    pub buffer: Option<u64>,
    /// How long an overload lasts before it is reported (fluid model), in seconds.
    pub overload_horizon: f64,
}

/// The steady state (or, for an overload, the fluid state after the horizon) of one pool.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolSolution {
    /// Requests served per second X.
    pub throughput: f64,
    /// Requests refused per second because the buffer was full.
    pub dropped: f64,
    /// Busy fraction of the servers, X·E[S]/c (at most 1).
    pub utilization: f64,
    /// Offered load per server, λ·E[S]/c (above 1 means overload).
    pub offered_utilization: f64,
    /// Mean wait before service of an accepted request, seconds.
    pub mean_wait: f64,
    /// Mean number waiting (not in service).
    pub mean_queue: f64,
    /// Mean number in the pool, waiting or in service, computed from the state distribution.
    pub mean_in_system: f64,
    /// Rate at which the backlog grows under fluid overload, req/s (0 when stable).
    pub backlog_growth: f64,
    /// Distribution of the wait.
    pub wait: WaitDist,
}

/// Offered loads per server within this of 1 count as saturated (fluid overload): the
/// steady-state formulas divide by 1 − ρ, which rounding makes arbitrary there.
pub const SATURATION_EPSILON: f64 = 1e-9;

/// Largest K (servers plus waiting places) solved exactly as M/M/c/K (a model limit, checked
/// when a file is validated).
pub use crate::model::checked::MAX_FINITE_STATES;

/// How variable the arrivals offered to a queue are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Arrivals {
    /// Squared coefficient of variation of the time between arrivals (1 Poisson, 0 evenly
    /// spaced).
    pub scv: f64,
    /// How much of the variability beyond Poisson is that of a renewal stream (0 to 1): a
    /// workload's gamma arrivals, and every k-th or a random share of them, are (1); the
    /// departures of a queue are not (0), their variability is carried by two moments only.
    pub renewal: f64,
}

impl Arrivals {
    /// A Poisson stream.
    pub const POISSON: Arrivals = Arrivals {
        scv: 1.0,
        renewal: 1.0,
    };
}

/// Solves one pool of identical servers:
/// - unlimited queue and a < c: M/M/c (Erlang C), with the Allen-Cunneen correction
///   Wq = Wq(M/M/c)·(1 + cs²)/2 when the service is not exponential;
/// - finite buffer: M/M/c/K (exact state distribution, any load);
/// - unlimited queue and a ≥ c: fluid overload, throughput c·μ and a backlog growing at λ − c·μ;
/// - either way, no more wait than builds from empty over the horizon ([`horizon_wait`]).
///
/// ```
/// use staircase::solver::queueing::{solve_pool, PoolInput};
/// // M/M/1 with λ = 0.9, μ = 1: L = ρ/(1−ρ) = 9 and W = 1/(μ−λ) = 10 (with a one-second
/// // service it takes many minutes to settle, so over an hour's horizon).
/// let pool = solve_pool(&PoolInput { arrival: 0.9, servers: 1, mean_service: 1.0,
///     service_scv: 1.0, buffer: None, overload_horizon: 3_600.0 });
/// assert!((pool.mean_in_system - 9.0).abs() < 1e-9);
/// assert!((pool.mean_wait + 1.0 - 10.0).abs() < 1e-9);
/// ```
pub fn solve_pool(input: &PoolInput) -> PoolSolution {
    solve_pool_with(input, Arrivals::POISSON)
}

/// [`solve_pool`] for arrivals of any variability (`arrivals`): an unlimited queue below
/// saturation waits by [`two_moment_wait`] (M/M/c exactly when the arrivals are Poisson and
/// the service exponential), the wait shaped by its first two moments ([`conditional_wait_scv`]).
/// A limited queue stays M/M/c/K (its drops and waits as for Poisson arrivals).
///
/// ```
/// use staircase::solver::queueing::{solve_pool, solve_pool_with, Arrivals, PoolInput};
/// // E4/M/1 at ρ = 0.85 (every 4th request of a Poisson stream, a true round robin):
/// // P(wait) = σ = 0.7677, the root of σ = (1 + (1 − σ)/(4ρ))^−4, and Wq = σ/(μ(1 − σ)).
/// let input = PoolInput { arrival: 85.0, servers: 1, mean_service: 0.01, service_scv: 1.0,
///     buffer: None, overload_horizon: 3_600.0 };
/// let smooth = solve_pool_with(&input, Arrivals { scv: 0.25, renewal: 1.0 });
/// assert!((1.0 - smooth.wait.zero_mass() - 0.76767).abs() < 1e-4);
/// assert!((smooth.mean_wait - 0.76767 / (100.0 * (1.0 - 0.76767))).abs() < 1e-5);
/// // Poisson arrivals give M/M/1 to the bit.
/// assert_eq!(solve_pool_with(&input, Arrivals::POISSON), solve_pool(&input));
/// ```
///
/// [`conditional_wait_scv`]: super::conditional_wait_scv
pub fn solve_pool_with(input: &PoolInput, arrivals: Arrivals) -> PoolSolution {
    let servers = input.servers.max(1);
    let c = servers as f64;
    let offered_load = input.arrival * input.mean_service;
    let offered_utilization = offered_load / c;
    if input.arrival <= 0.0 {
        return PoolSolution {
            throughput: 0.0,
            dropped: 0.0,
            utilization: 0.0,
            offered_utilization: 0.0,
            mean_wait: 0.0,
            mean_queue: 0.0,
            mean_in_system: 0.0,
            backlog_growth: 0.0,
            wait: WaitDist::Zero,
        };
    }
    if let Some(buffer) = input.buffer {
        return solve_finite(input, servers, buffer, offered_load, offered_utilization);
    }
    let capacity = c / input.mean_service;
    let limit = horizon_wait(input, capacity);
    if offered_utilization >= 1.0 - SATURATION_EPSILON {
        return overloaded_pool(input, offered_utilization, capacity, limit);
    }
    let (p_wait, steady_wait) = two_moment_wait(input, servers, offered_load, arrivals);
    // A horizon of 0 asks for no limit below saturation (and no backlog wait beyond it).
    let wait = if !(p_wait > 0.0 && steady_wait > 0.0) {
        WaitDist::Zero
    } else {
        // Beyond the horizon the queue has grown for the horizon only (see
        // [`horizon_wait`]); the wait keeps its shape.
        let mean = if steady_wait <= limit || limit <= 0.0 {
            steady_wait
        } else {
            limit
        };
        let scv = batch_service_scv(arrivals.scv, input.service_scv);
        let factor =
            arrivals_wait_factor(offered_utilization, arrivals, input.service_scv, servers);
        let spread = spread_wait(shaped_wait(p_wait, mean, offered_utilization, scv), factor);
        ordered_wait_shape(spread, input, offered_utilization, arrivals)
    };
    let mean_wait = steady_wait.min(if limit > 0.0 { limit } else { f64::INFINITY });
    // Lq = λ·Wq (Little): the same as C·ρ/(1−ρ) scaled, without a second rounding near ρ = 1.
    let mean_queue = input.arrival * mean_wait;
    PoolSolution {
        throughput: input.arrival,
        dropped: 0.0,
        utilization: offered_utilization,
        offered_utilization,
        mean_wait,
        mean_queue,
        mean_in_system: mean_queue + offered_load,
        backlog_growth: 0.0,
        wait,
    }
}

/// The longest mean wait a queue that starts empty can build over the overload horizon H
/// (seconds), as a time average over the horizon: the fluid backlog, (λ − cμ)·H/(2cμ) when
/// arrivals exceed capacity, plus the random part, which a queue at the edge of saturation
/// builds like a reflected Brownian motion: E[Q(t)] = σ·√(2t/π) with σ² = λ·(1 + c_s²)
/// (Poisson arrivals, service of squared coefficient of variation c_s²), whose average over
/// [0, H] is ⅔·σ·√(2H/π) requests, each cleared at cμ per second.
///
/// The figure is continuous in λ through saturation, so the solver's waits are too: below
/// saturation the steady-state wait applies when it is shorter (the queue settles within the
/// horizon), this one when it is longer; at and beyond saturation this one always.
///
/// ```
/// use staircase::solver::queueing::{horizon_wait, PoolInput};
/// // M/M/1 at exactly λ = μ = 100/s over 60 s: ⅔·√(2·100·2·60/π)/100 = 0.583 s.
/// let input = PoolInput { arrival: 100.0, servers: 1, mean_service: 0.01, service_scv: 1.0,
///     buffer: None, overload_horizon: 60.0 };
/// let expected = 2.0 / 3.0 * (2.0 * 100.0 * 2.0 * 60.0 / std::f64::consts::PI).sqrt() / 100.0;
/// assert!((horizon_wait(&input, 100.0) - expected).abs() < 1e-12);
/// assert!((expected - 0.5827).abs() < 1e-4);
/// ```
pub fn horizon_wait(input: &PoolInput, capacity: f64) -> f64 {
    let horizon = input.overload_horizon.max(0.0);
    let fluid = (input.arrival - capacity).max(0.0) * horizon / (2.0 * capacity);
    let sigma = (input.arrival * (1.0 + input.service_scv)).sqrt();
    let random = 2.0 / 3.0 * sigma * (2.0 * horizon / PI).sqrt() / capacity;
    fluid + random
}

/// Whether a pool below saturation would need longer than the overload horizon to reach its
/// steady state, so that the wait [`solve_pool`] gives is the one built within the horizon
/// ([`horizon_wait`]) rather than the longer steady-state one.
pub fn unsettled_within_horizon(input: &PoolInput) -> bool {
    let servers = input.servers.max(1);
    let c = servers as f64;
    let offered_load = input.arrival * input.mean_service;
    if input.buffer.is_some()
        || input.arrival <= 0.0
        || input.overload_horizon <= 0.0
        || offered_load / c >= 1.0 - SATURATION_EPSILON
    {
        return false;
    }
    let limit = horizon_wait(input, c / input.mean_service);
    // P(wait) ≤ 1: where even a certain wait (C = 1 in [`mean_wait_given`], the steady-state
    // formula; an upper bound where (1 + c_s²)/2 ≥ 0, that is c_s² ≥ −1) stays within the
    // limit, the queue settles in time and Erlang C's O(c) sum is not needed.
    if input.service_scv >= -1.0 && mean_wait_given(1.0, input, servers, offered_load) <= limit {
        return false;
    }
    let (_, steady_wait) = steady_state_wait(input, servers, offered_load);
    steady_wait > limit
}

/// A pool at or beyond saturation over the horizon: it serves at capacity, the excess builds
/// a backlog, and the wait is [`horizon_wait`] long on average. Its shape blends the random
/// part's (exponential, as just below saturation) into the fluid backlog's (uniform between no
/// wait and twice the mean) in proportion to the fluid part of the mean, so that it changes
/// continuously with the load.
fn overloaded_pool(
    input: &PoolInput,
    offered_utilization: f64,
    capacity: f64,
    limit: f64,
) -> PoolSolution {
    let c = input.servers.max(1) as f64;
    let growth = (input.arrival - capacity).max(0.0);
    let throughput = input.arrival.min(capacity);
    let fluid = growth * input.overload_horizon.max(0.0) / (2.0 * capacity);
    let wait = if limit > 0.0 {
        let fluid_share = (fluid / limit).clamp(0.0, 1.0);
        let random = WaitDist::Exponential {
            p_wait: 1.0,
            rate: 1.0 / limit,
        };
        let backlog = WaitDist::Uniform {
            p_wait: 1.0,
            max: 2.0 * limit,
            cap: 2.0 * limit,
        };
        if fluid_share > 0.0 {
            WaitDist::Mixture(vec![(1.0 - fluid_share, random), (fluid_share, backlog)])
        } else {
            random
        }
    } else {
        WaitDist::Zero
    };
    let mean_wait = limit.max(0.0);
    let mean_queue = throughput * mean_wait;
    let busy = (throughput * input.mean_service / c).min(1.0);
    PoolSolution {
        throughput,
        dropped: 0.0,
        utilization: busy,
        offered_utilization,
        mean_wait,
        mean_queue,
        mean_in_system: mean_queue + busy * c,
        backlog_growth: growth,
        wait,
    }
}

#[cfg(test)]
mod tests {
    use super::super::quantile::quantile;
    use super::super::tails::mmc_response_tail;
    use super::super::two_moment::qna_delay_probability;
    use super::*;
    use num_complex::Complex64;

    #[test]
    fn mm1_textbook_values() {
        // A one-second service at ρ = 0.9 takes many minutes to settle: over an hour's
        // horizon the steady state applies.
        let pool = solve_pool(&PoolInput {
            arrival: 0.9,
            servers: 1,
            mean_service: 1.0,
            service_scv: 1.0,
            buffer: None,
            overload_horizon: 3_600.0,
        });
        assert!((pool.mean_in_system - 9.0).abs() < 1e-9);
        assert!((pool.mean_queue - 8.1).abs() < 1e-9);
        assert!((pool.mean_wait - 9.0).abs() < 1e-9);
        let WaitDist::Exponential { p_wait, rate } = pool.wait else {
            panic!("expected an exponential wait");
        };
        let p99 = quantile(0.99, 10.0, |t| mmc_response_tail(p_wait, rate, 1.0, t));
        assert!((p99 - 100f64.ln() * 10.0).abs() < 1e-6, "p99 = {p99}");
    }

    #[test]
    fn fluid_overload_caps_throughput() {
        let pool = solve_pool(&PoolInput {
            arrival: 130.0,
            servers: 4,
            mean_service: 0.04,
            service_scv: 1.0,
            buffer: None,
            overload_horizon: 60.0,
        });
        assert!((pool.throughput - 100.0).abs() < 1e-9);
        assert!((pool.backlog_growth - 30.0).abs() < 1e-9);
        // After 60 s the fluid backlog is 1,800, 900 on average over the window; the
        // randomness adds ⅔·√(2·130·2·60/π) = 66.4 more on average (to within one departure,
        // the wait's granularity).
        let random = 2.0 / 3.0 * (2.0 * 130.0 * 2.0 * 60.0 / PI).sqrt();
        assert!((random - 66.44).abs() < 0.01, "{random}");
        assert!(
            (pool.mean_queue - (900.0 + random)).abs() <= 1.0,
            "{}",
            pool.mean_queue
        );
        assert!((pool.mean_queue - pool.throughput * pool.mean_wait).abs() < 1e-9);
    }

    #[test]
    fn waits_are_continuous_through_saturation() {
        // M/M/1 with μ = 100/s over a 60 s horizon, λ from 0.9μ to 1.1μ in steps of 1e-4 and
        // within 1e-12 of μ on either side: the mean wait never jumps by more than one
        // departure (10 ms) between neighbours, never falls, and at λ = μ is the horizon wait,
        // ⅔·√(2·100·2·60/π)/100 = 0.583 s.
        let pool_at = |arrival: f64| {
            solve_pool(&PoolInput {
                arrival,
                servers: 1,
                mean_service: 0.01,
                service_scv: 1.0,
                buffer: None,
                overload_horizon: 60.0,
            })
        };
        let mut rates: Vec<f64> = (0..=2_000).map(|i| 90.0 + i as f64 * 0.01).collect();
        rates.extend([100.0 * (1.0 - 1e-12), 100.0, 100.0 * (1.0 + 1e-12)]);
        rates.sort_by(f64::total_cmp);
        let mut previous: Option<f64> = None;
        for arrival in rates {
            let pool = pool_at(arrival);
            assert!(pool.mean_wait.is_finite() && pool.mean_queue.is_finite());
            assert!(
                (pool.mean_queue - pool.throughput * pool.mean_wait).abs()
                    < 1e-9 * pool.mean_queue.max(1.0)
            );
            assert!((pool.wait.mean() - pool.mean_wait).abs() < 1e-9 * pool.mean_wait.max(1e-9));
            if let Some(before) = previous {
                assert!(
                    pool.mean_wait >= before - 1e-12,
                    "{arrival}: {} after {before}",
                    pool.mean_wait
                );
                assert!(
                    pool.mean_wait - before <= 0.01,
                    "{arrival}: {} after {before}",
                    pool.mean_wait
                );
            }
            previous = Some(pool.mean_wait);
        }
        let at_capacity = pool_at(100.0).mean_wait;
        assert!((at_capacity - 0.5827).abs() < 0.006, "{at_capacity}");
        // Far below saturation the steady state settles within the horizon: M/M/1 at ρ = 0.5
        // waits ρ/(μ − λ) = 10 ms, exactly as before.
        assert!((pool_at(50.0).mean_wait - 0.01).abs() < 1e-12);
    }

    #[test]
    fn md1_mean_wait_and_gamma_shape() {
        // M/D/1 at ρ = 0.8, μ = 100/s: Wq = ρ/(2μ(1 − ρ)) = 20 ms (Pollaczek–Khinchine).
        let input = PoolInput {
            arrival: 80.0,
            servers: 1,
            mean_service: 0.01,
            service_scv: 0.0,
            buffer: None,
            overload_horizon: 3_600.0,
        };
        let pool = solve_pool(&input);
        assert!((pool.mean_wait - 0.020).abs() < 1e-12);
        let WaitDist::Gamma {
            p_wait,
            shape,
            rate,
        } = pool.wait
        else {
            panic!("a constant service waits gamma-shaped, got {:?}", pool.wait);
        };
        // P(wait) = ρ; E[W|W > 0] = 25 ms with scv 0.8667 (shape 1.1538).
        assert!((p_wait - 0.8).abs() < 1e-12);
        assert!((shape - 1.0 / 0.866_666_666_666_666_7).abs() < 1e-9);
        assert!((shape / rate - 0.025).abs() < 1e-12);
        assert!((pool.wait.mean() - pool.mean_wait).abs() < 1e-15);
        // Its transform: derivative at 0 is −E[W]; the value at 0 is 1.
        let h = 1e-6;
        let at = |x: f64| pool.wait.lst(Complex64::new(x, 0.0)).re;
        assert!((at(0.0) - 1.0).abs() < 1e-15);
        assert!(((at(0.0) - at(h)) / h - 0.020).abs() < 1e-6);
    }

    #[test]
    fn smooth_and_bursty_arrivals_at_mm1() {
        let input = PoolInput {
            arrival: 50.0,
            servers: 1,
            mean_service: 0.01,
            service_scv: 1.0,
            buffer: None,
            overload_horizon: 3_600.0,
        };
        // D/M/1 at ρ 0.5: σ = 0.2032, Wq = σ/(μ(1 − σ)) = 2.550 ms, P(wait) = σ.
        let even = solve_pool_with(
            &input,
            Arrivals {
                scv: 0.0,
                renewal: 1.0,
            },
        );
        assert!((even.mean_wait - 0.002_550).abs() < 1e-6);
        assert!((1.0 - even.wait.zero_mass() - 0.203_19).abs() < 1e-5);
        // Departures of a variable queue (not renewal) at c_a² 3: Kingman, Wq = 2·ρ/(1 − ρ)·S.
        let bursty = solve_pool_with(
            &input,
            Arrivals {
                scv: 3.0,
                renewal: 0.0,
            },
        );
        assert!((bursty.mean_wait - 0.020).abs() < 1e-12);
        assert!(
            (1.0 - bursty.wait.zero_mass() - qna_delay_probability(0.5, 3.0, 1.0)).abs() < 1e-12
        );
    }
}
