//! GI/M/c/K with gamma renewal arrivals, exactly: the number present that an arrival finds is
//! an embedded Markov chain (Gross & Harris, Fundamentals of Queueing Theory, §5.3 GI/M/c/K),
//! its transitions the departures of exponential servers over one gamma gap. The departures
//! are counted by uniformization at the servers' full rate cμ, so that the number of potential
//! departures in a gap is negative binomial (Poisson for evenly spaced arrivals); the chain's
//! stationary law follows from its cuts (a chain that climbs at most one state per step), all
//! terms positive. It gives what an arrival sees, hence the share refused, P(wait) and the
//! wait of those who wait (Erlang stages of rate cμ) without any fitted constant.

use super::queueing::{PoolInput, PoolSolution, WaitDist};

/// The largest K (servers plus waiting places) solved by the embedded chain: it costs O(K²)
/// per uniformized step, and a step count of the order of K + c·ln c. Longer queues are left
/// to the caller's approximation.
pub const MAX_CHAIN_STATES: u64 = 160;

/// Below this, a probability mass counts as spent (the uniformization's stopping rule).
const NEGLIGIBLE: f64 = 1e-15;

/// Steps of the uniformized chain at most (a guard; the mass drains within a few K + c·ln c).
const MAX_STEPS: usize = 200_000;

/// The distribution π_n (n = 0..=K, K = `servers` + `buffer`) of the number present that an
/// arrival finds in GI/M/c/K whose gaps are gamma of squared coefficient of variation
/// `arrival_scv` (0: evenly spaced) at offered utilization `rho` = λ/(cμ); π_K is the share
/// refused. `None` when K exceeds [`MAX_CHAIN_STATES`] or ρ is not positive and finite.
///
/// Poisson arrivals (c² 1) give M/M/c/K's time averages (arrivals see time averages):
/// M/M/1/5 at ρ 0.9 refuses (1 − ρ)ρ⁵/(1 − ρ⁶) = 0.12602.
///
/// ```
/// use staircase::solver::renewal_limited::arrival_seen_states;
/// let seen = arrival_seen_states(0.9, 1.0, 1, 4).unwrap();
/// let expected = 0.1 * 0.9f64.powi(5) / (1.0 - 0.9f64.powi(6));
/// assert!((seen[5] - expected).abs() < 1e-12);
/// // D/M/1 at ρ 0.5 with a long queue: P(wait) tends to GI/M/1's σ = e^(−2(1 − σ)) = 0.20319.
/// let seen = arrival_seen_states(0.5, 0.0, 1, 80).unwrap();
/// assert!((1.0 - seen[0] - 0.20319).abs() < 1e-5);
/// ```
pub fn arrival_seen_states(
    rho: f64,
    arrival_scv: f64,
    servers: u64,
    buffer: u64,
) -> Option<Vec<f64>> {
    let servers = servers.max(1);
    let states = servers.checked_add(buffer)?;
    if states > MAX_CHAIN_STATES || !(rho > 0.0 && rho.is_finite()) {
        return None;
    }
    let rows = gap_transitions(rho, arrival_scv.max(0.0), servers, states as usize);
    Some(stationary_by_cuts(&rows, states as usize))
}

/// Row s − 1 (s = 1..=K present just after an arrival) holds the probabilities of j = 0..=K
/// present at the next arrival: Σ_k P(k potential departures in a gap)·(U^k)[s][j], U the
/// uniformized pure-death chain (a death with probability min(j, c)/c per step). The gap's
/// count of potential departures at rate cμ is negative binomial of mean m = 1/ρ and shape
/// 1/c_a² (a gamma mixture of Poissons), Poisson(m) for evenly spaced arrivals.
fn gap_transitions(rho: f64, arrival_scv: f64, servers: u64, states: usize) -> Vec<Vec<f64>> {
    let width = states + 1;
    let c = servers as f64;
    let death = |j: usize| (j as f64).min(c) / c;
    let mean = 1.0 / rho;
    // ln P(N = 0) and the step from ln P(N = k − 1) to ln P(N = k).
    let (mut log_p, shape, log_q) = if arrival_scv > 0.0 {
        let shape = 1.0 / arrival_scv;
        let spread = mean * arrival_scv;
        (
            -shape * spread.ln_1p(),
            shape,
            (spread / (1.0 + spread)).ln(),
        )
    } else {
        (-mean, 0.0, mean.ln())
    };
    let mut rows = vec![vec![0.0; width]; states];
    let mut now: Vec<Vec<f64>> = (1..=states)
        .map(|s| {
            let mut v = vec![0.0; width];
            v[s] = 1.0;
            v
        })
        .collect();
    let mut spent = 0.0;
    for step in 0..MAX_STEPS {
        if step > 0 {
            let k = step as f64;
            log_p += if arrival_scv > 0.0 {
                ((k - 1.0 + shape) / k).ln() + log_q
            } else {
                log_q - k.ln()
            };
        }
        let p = log_p.exp();
        spent += p;
        let mut left = 0.0_f64;
        for (row, v) in rows.iter_mut().zip(now.iter_mut()) {
            for (total, value) in row.iter_mut().zip(v.iter()) {
                *total += p * value;
            }
            // One uniformized step, in place: v[j] keeps (1 − d_j) and gains d_{j+1}·v[j+1].
            for j in 0..states {
                v[j] = v[j] * (1.0 - death(j)) + v[j + 1] * death(j + 1);
            }
            v[states] *= 1.0 - death(states);
            left = left.max(1.0 - v[0]);
        }
        let tail = (1.0 - spent).max(0.0);
        if tail < NEGLIGIBLE || left < NEGLIGIBLE || step + 1 == MAX_STEPS {
            // The rest of the count's law lands where the chain now is (all at 0 by now).
            for (row, v) in rows.iter_mut().zip(&now) {
                for (total, value) in row.iter_mut().zip(v) {
                    *total += tail * value;
                }
            }
            break;
        }
    }
    rows
}

/// The stationary law of the arrival-seen chain from its cuts: between {0..j} and {j+1..K}
/// only state j climbs (to j + 1, when no one leaves in the gap), so
/// π_j·P(j → j+1) = Σ_{n > j} π_n·P(n → ≤ j), every term positive. Computed from π_K = 1
/// downwards, rescaled on the way so that nothing overflows, then normalized.
fn stationary_by_cuts(rows: &[Vec<f64>], states: usize) -> Vec<f64> {
    // After an arrival that finds n, min(n + 1, K) are present.
    let after = |n: usize| (n + 1).min(states) - 1;
    let cumulative: Vec<Vec<f64>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .scan(0.0, |sum, p| {
                    *sum += p;
                    Some(*sum)
                })
                .collect()
        })
        .collect();
    let mut pi = vec![0.0; states + 1];
    pi[states] = 1.0;
    for j in (0..states).rev() {
        let climb = rows[j][j + 1];
        let down: f64 = (j + 1..=states)
            .map(|n| pi[n] * cumulative[after(n)][j])
            .sum();
        if climb <= f64::MIN_POSITIVE || !(down / climb).is_finite() {
            // No arrival that finds j leaves j + 1 behind: the states above are never seen.
            pi[j + 1..].iter_mut().for_each(|p| *p = 0.0);
            pi[j] = 1.0;
            continue;
        }
        pi[j] = down / climb;
        if pi[j] > 1e200 {
            pi[j..].iter_mut().for_each(|p| *p *= 1e-200);
        }
    }
    let total: f64 = pi.iter().sum();
    pi.iter_mut().for_each(|p| *p /= total);
    pi
}

/// GI/M/c/K with gamma renewal arrivals of c² `arrival_scv` and exponential service of mean
/// `input.mean_service` (`input.service_scv` is not read), exactly ([`arrival_seen_states`]):
/// drops λ·π_K; an accepted arrival that finds n ≥ c waits n − c + 1 departures at cμ (an
/// Erlang mix); the mean queue by Little's law. `None` for an unlimited queue, no arrivals or
/// K beyond [`MAX_CHAIN_STATES`].
///
/// ```
/// use staircase::solver::renewal_limited::solve_renewal_limited;
/// use staircase::solver::queueing::{solve_pool, PoolInput};
/// let input = PoolInput { arrival: 160.0, servers: 2, mean_service: 0.01, service_scv: 1.0,
///     buffer: Some(2), overload_horizon: 3_600.0 };
/// // Poisson arrivals: M/M/2/4.
/// let poisson = solve_renewal_limited(&input, 1.0).unwrap();
/// let exact = solve_pool(&input);
/// assert!((poisson.dropped - exact.dropped).abs() < 1e-9);
/// assert!((poisson.mean_wait - exact.mean_wait).abs() < 1e-12);
/// // Every 4th request of a Poisson stream (Erlang-4 gaps) is refused less often: 7.83% in
/// // a request-by-request simulation of 10⁶ requests (`limited_renewal_table` in
/// // tests/simulation_property.rs), against M/M/2/4's 14.31%.
/// let smooth = solve_renewal_limited(&input, 0.25).unwrap();
/// assert!((smooth.dropped / 160.0 - 0.0783).abs() < 0.001);
/// assert!((exact.dropped / 160.0 - 0.14314).abs() < 1e-5);
/// ```
pub fn solve_renewal_limited(input: &PoolInput, arrival_scv: f64) -> Option<PoolSolution> {
    let buffer = input.buffer?;
    let servers = input.servers.max(1);
    let c = servers as f64;
    if !(input.arrival > 0.0 && input.mean_service > 0.0) {
        return None;
    }
    let rho = input.arrival * input.mean_service / c;
    let seen = arrival_seen_states(rho, arrival_scv, servers, buffer)?;
    let states = seen.len() - 1;
    let refused = seen[states];
    let accepted = 1.0 - refused;
    let throughput = input.arrival * accepted;
    let stage_rate = c / input.mean_service;
    let first_waiting = servers as usize;
    let stage_probs: Vec<f64> = if accepted > 0.0 {
        seen[first_waiting..states]
            .iter()
            .map(|p| p / accepted)
            .collect()
    } else {
        Vec::new()
    };
    let wait = if stage_probs.iter().sum::<f64>() > 0.0 {
        WaitDist::ErlangMix {
            stage_probs,
            stage_rate,
        }
    } else {
        WaitDist::Zero
    };
    let mean_wait = wait.mean();
    let mean_queue = throughput * mean_wait;
    let busy = throughput * input.mean_service;
    Some(PoolSolution {
        throughput,
        dropped: input.arrival * refused,
        utilization: (busy / c).min(1.0),
        offered_utilization: rho,
        mean_wait,
        mean_queue,
        mean_in_system: mean_queue + busy,
        backlog_growth: 0.0,
        wait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::queueing::{gamma_arrival_sigma, gamma_renewal_delay_probability};

    fn input(arrival: f64, servers: u64, buffer: u64) -> PoolInput {
        PoolInput {
            arrival,
            servers,
            mean_service: 0.01,
            service_scv: 1.0,
            buffer: Some(buffer),
            overload_horizon: 3_600.0,
        }
    }

    #[test]
    fn poisson_arrivals_give_mmck() {
        for (arrival, servers, buffer) in
            [(90.0, 1, 4), (180.0, 2, 2), (500.0, 3, 10), (30.0, 4, 0)]
        {
            let pool = input(arrival, servers, buffer);
            let chain = solve_renewal_limited(&pool, 1.0).expect("chain");
            let exact = crate::solver::queueing::solve_pool(&pool);
            assert!((chain.dropped - exact.dropped).abs() < 1e-9 * arrival);
            assert!((chain.mean_queue - exact.mean_queue).abs() < 1e-9);
            assert!((chain.wait.zero_mass() - exact.wait.zero_mass()).abs() < 1e-10);
        }
    }

    #[test]
    fn a_long_queue_waits_as_gi_m_c() {
        // Takács' GI/M/c P(wait) and the mean wait P/(cμ(1 − σ)).
        for (rho, scv, servers) in [(0.85, 0.25, 1), (0.6, 4.0, 2), (0.7, 0.0, 4)] {
            let arrival = rho * servers as f64 * 100.0;
            let chain = solve_renewal_limited(&input(arrival, servers, 150), scv).expect("chain");
            let p = gamma_renewal_delay_probability(rho, scv, servers);
            let sigma = gamma_arrival_sigma(rho, scv);
            let wait = p / (servers as f64 * 100.0 * (1.0 - sigma));
            assert!(chain.dropped < 1e-6 * arrival, "{rho} {scv} {servers}");
            assert!(
                (1.0 - chain.wait.zero_mass() - p).abs() < 1e-6,
                "{rho} {scv}"
            );
            assert!((chain.mean_wait / wait - 1.0).abs() < 1e-4, "{rho} {scv}");
        }
    }

    #[test]
    fn loss_system_with_evenly_spaced_arrivals_at_one_server() {
        // D/M/1/1: whatever the previous arrival found, one request is present after it, so
        // the next finds the server busy when that one outlasts the gap: π_1 = e^{−μ/λ}.
        let chain = arrival_seen_states(0.5, 0.0, 1, 0).expect("chain");
        assert!((chain[1] - (-2.0f64).exp()).abs() < 1e-12, "{chain:?}");
    }

    #[test]
    fn extremes_stay_finite() {
        for (rho, scv, servers, buffer) in [
            (1e-4, 0.0, 4, 6),
            (1e-3, 9.0, 2, 20),
            (50.0, 0.0, 1, 3),
            (5.0, 16.0, 8, 40),
        ] {
            let seen = arrival_seen_states(rho, scv, servers, buffer).expect("chain");
            let total: f64 = seen.iter().sum();
            assert!((total - 1.0).abs() < 1e-9, "{rho} {scv}: {seen:?}");
            assert!(seen.iter().all(|p| p.is_finite() && *p >= 0.0));
        }
        assert!(arrival_seen_states(0.5, 1.0, 100, 100).is_none());
    }
}
