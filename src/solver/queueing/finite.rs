//! M/M/c/K, a pool with a limited buffer: its states listed one by one when they are few,
//! else in closed form.

use super::erlang::idle_weight_ratio;
use super::geometric::{log_geometric_sum, truncated_geometric_mean, SplitLog};
use super::pool::{PoolInput, PoolSolution};
use super::wait_dist::WaitDist;

/// Largest K (servers plus waiting places) whose M/M/c/K states are listed one by one; larger
/// systems are solved in closed form ([`solve_finite_closed`]).
const MAX_LISTED_STATES: u64 = 4_096;

/// Longest M/M/c/K wait listed stage by stage; longer ones are a [`WaitDist::Geometric`].
const MAX_LISTED_STAGES: u64 = 1_024;

/// M/M/c/K: by listing its states when there are few, else in closed form.
pub(super) fn solve_finite(
    input: &PoolInput,
    servers: u64,
    buffer: u64,
    offered_load: f64,
    offered_utilization: f64,
) -> PoolSolution {
    if servers + buffer <= MAX_LISTED_STATES {
        solve_finite_listed(input, servers, buffer, offered_load, offered_utilization)
    } else {
        solve_finite_closed(input, servers, buffer, offered_load, offered_utilization)
    }
}

/// M/M/c/K in closed form, at a cost of O(√a) whatever K: relative to the all-busy state,
/// the states with an idle server weigh R ([`idle_weight_ratio`]) and the states with
/// n = c + i present weigh ρⁱ (i = 0..=b, a cut geometric, summed in log space so that
/// neither ρ > 1 nor a long buffer overflows).
fn solve_finite_closed(
    input: &PoolInput,
    servers: u64,
    buffer: u64,
    offered_load: f64,
    offered_utilization: f64,
) -> PoolSolution {
    let c = servers as f64;
    let idle = idle_weight_ratio(servers, offered_load);
    if !idle.is_finite() {
        // All servers are never busy at once: no request waits or is refused.
        return PoolSolution {
            throughput: input.arrival,
            dropped: 0.0,
            utilization: offered_utilization.min(1.0),
            offered_utilization,
            mean_wait: 0.0,
            mean_queue: 0.0,
            mean_in_system: offered_load,
            backlog_growth: 0.0,
            wait: WaitDist::Zero,
        };
    }
    let log_rho = offered_utilization.ln();
    // Weights, all divided by e^scale: idle states, busy states n ≥ c, and those n < K.
    let log_busy = log_geometric_sum(buffer + 1, log_rho);
    let log_admitting_busy = log_geometric_sum(buffer, log_rho);
    let log_idle = SplitLog {
        powers: 0.0,
        rest: idle.ln(),
    };
    let scale = if log_idle.value(log_rho) > log_busy.value(log_rho) {
        log_idle
    } else {
        log_busy
    };
    let idle_weight = log_idle.ratio_to(scale, log_rho);
    let total = idle_weight + log_busy.ratio_to(scale, log_rho);
    let blocking = SplitLog::power(buffer).ratio_to(scale, log_rho) / total;
    let waiting = log_admitting_busy.ratio_to(scale, log_rho) / total;
    let accepted = idle_weight / total + waiting;
    let throughput = input.arrival * accepted;
    let busy_share = log_busy.ratio_to(scale, log_rho) / total;
    let mean_queue = busy_share * truncated_geometric_mean(buffer, log_rho);
    let utilization = (offered_utilization * accepted).min(1.0);
    let p_wait = if accepted > 0.0 {
        waiting / accepted
    } else {
        0.0
    };
    let stage_rate = c / input.mean_service;
    let wait = if p_wait.is_nan() || p_wait <= 0.0 {
        WaitDist::Zero
    } else if buffer <= MAX_LISTED_STAGES {
        WaitDist::ErlangMix {
            stage_probs: (0..buffer)
                .map(|i| p_wait * SplitLog::power(i).ratio_to(log_admitting_busy, log_rho))
                .collect(),
            stage_rate,
        }
    } else {
        WaitDist::Geometric {
            p_wait,
            ratio: offered_utilization,
            stages: buffer,
            stage_rate,
        }
    };
    PoolSolution {
        throughput,
        dropped: input.arrival * blocking,
        utilization,
        offered_utilization,
        mean_wait: if throughput > 0.0 {
            mean_queue / throughput
        } else {
            0.0
        },
        mean_queue,
        mean_in_system: mean_queue + c * utilization,
        backlog_growth: 0.0,
        wait,
    }
}

/// M/M/c/K from its state distribution π_n ∝ aⁿ/n! (n ≤ c), π_c·ρ^{n−c} (n > c),
/// computed in log space so that neither large loads nor long buffers overflow.
fn solve_finite_listed(
    input: &PoolInput,
    servers: u64,
    buffer: u64,
    offered_load: f64,
    offered_utilization: f64,
) -> PoolSolution {
    let c = servers as f64;
    let capacity_states = servers + buffer;
    let log_load = offered_load.ln();
    let log_rho = offered_utilization.ln();
    let log_weight = |n: u64, log_fact_c: f64| -> f64 {
        if n <= servers {
            // Computed by the caller incrementally; this branch is only used for n = c.
            n as f64 * log_load - log_fact_c
        } else {
            c * log_load - log_fact_c + (n - servers) as f64 * log_rho
        }
    };
    // log n! incrementally for n ≤ c, then the geometric tail.
    let mut log_weights = Vec::with_capacity((capacity_states + 1) as usize);
    let mut log_fact = 0.0;
    for n in 0..=servers.min(capacity_states) {
        if n > 0 {
            log_fact += (n as f64).ln();
        }
        log_weights.push(n as f64 * log_load - log_fact);
    }
    for n in (servers + 1)..=capacity_states {
        log_weights.push(log_weight(n, log_fact));
    }
    let max_log = log_weights
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for weight in &mut log_weights {
        *weight = (*weight - max_log).exp();
        total += *weight;
    }
    let probability = |n: usize| log_weights[n] / total;
    let blocking = probability(capacity_states as usize);
    let mut mean_in_system = 0.0;
    let mut mean_queue = 0.0;
    for (n, _) in log_weights.iter().enumerate() {
        let p = probability(n);
        mean_in_system += n as f64 * p;
        if n as u64 > servers {
            mean_queue += (n as u64 - servers) as f64 * p;
        }
    }
    // 1 − B summed from the states that admit an arrival: at huge loads B is within an ulp of 1,
    // and the subtraction would lose the accepted share (and push utilization above 1).
    let accepted: f64 = log_weights[..capacity_states as usize].iter().sum::<f64>() / total;
    let throughput = input.arrival * accepted;
    // The busy share E[min(N, c)]/c (= λ(1 − B)/(c·μ)): a sum of terms no larger than those of
    // `total`, so rounding can never carry it above 1.
    let busy: f64 = log_weights
        .iter()
        .enumerate()
        .map(|(n, weight)| weight * (n as f64).min(c) / c)
        .sum();
    let utilization = busy / total;
    let mean_wait = if throughput > 0.0 {
        mean_queue / throughput
    } else {
        0.0
    };
    // An accepted arrival that finds n ≥ c present waits n − c + 1 departures at rate c·μ.
    let stage_probs: Vec<f64> = (servers..capacity_states)
        .map(|n| probability(n as usize) / accepted)
        .collect();
    let wait = if stage_probs.iter().any(|p| *p > 0.0) {
        WaitDist::ErlangMix {
            stage_probs,
            stage_rate: c / input.mean_service,
        }
    } else {
        WaitDist::Zero
    };
    PoolSolution {
        throughput,
        dropped: input.arrival * blocking,
        utilization,
        offered_utilization,
        mean_wait,
        mean_queue,
        mean_in_system,
        backlog_growth: 0.0,
        wait,
    }
}

#[cfg(test)]
mod tests {
    use super::super::pool::solve_pool;
    use super::super::wait_dist::tests::mean_from_transform;
    use super::*;
    use num_complex::Complex64;

    #[test]
    fn mmck_at_huge_load_carries_at_most_its_capacity() {
        // λ = 1.9·10⁷ against 6 servers of μ = 4.33 and 3 waiting places: almost every arrival
        // is blocked, the servers are busy all the time, and never more than busy.
        let (servers, service_rate) = (6u64, 4.33);
        let pool = solve_pool(&PoolInput {
            arrival: 1.9e7,
            servers,
            mean_service: 1.0 / service_rate,
            service_scv: 1.0,
            buffer: Some(3),
            overload_horizon: 60.0,
        });
        let capacity = servers as f64 * service_rate;
        assert!(pool.utilization <= 1.0, "ρ = {}", pool.utilization);
        assert!((pool.throughput - capacity).abs() < 1e-5 * capacity);
        assert!((pool.throughput + pool.dropped - 1.9e7).abs() < 1e-6);
    }

    #[test]
    fn closed_form_mmck_matches_the_listed_states() {
        // Both ways of solving M/M/c/K on systems small enough to list (K up to 3,000), below,
        // at and above saturation, with and without waiting places.
        for (servers, buffer, arrival) in [
            (1u64, 0u64, 0.7),
            (3, 5, 2.0),
            (4, 40, 4.0),
            (8, 2_000, 7.9),
            (8, 2_990, 8.0),
            (2, 1_500, 2.3),
            (16, 30, 400.0),
            (5, 0, 9.0),
        ] {
            let input = PoolInput {
                arrival,
                servers,
                mean_service: 1.0,
                service_scv: 1.0,
                buffer: Some(buffer),
                overload_horizon: 60.0,
            };
            let a = arrival;
            let rho = a / servers as f64;
            let listed = solve_finite_listed(&input, servers, buffer, a, rho);
            let closed = solve_finite_closed(&input, servers, buffer, a, rho);
            let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-12);
            let case = format!("c {servers} b {buffer} λ {arrival}");
            assert!(
                close(listed.throughput, closed.throughput),
                "{case}: {listed:?} {closed:?}"
            );
            assert!(close(listed.dropped, closed.dropped), "{case}");
            assert!(close(listed.utilization, closed.utilization), "{case}");
            assert!(
                close(listed.mean_queue, closed.mean_queue),
                "{case}: {} {}",
                listed.mean_queue,
                closed.mean_queue
            );
            assert!(
                close(listed.mean_in_system, closed.mean_in_system),
                "{case}"
            );
            assert!(close(listed.wait.mean(), closed.wait.mean()), "{case}");
            // The cut geometric wait against the same wait listed stage by stage.
            if let WaitDist::ErlangMix {
                stage_probs,
                stage_rate,
            } = &listed.wait
            {
                let geometric = WaitDist::Geometric {
                    p_wait: stage_probs.iter().sum(),
                    ratio: rho,
                    stages: buffer,
                    stage_rate: *stage_rate,
                };
                assert!(close(geometric.mean(), listed.wait.mean()), "{case}");
                assert!(
                    (geometric.zero_mass() - listed.wait.zero_mass()).abs() < 1e-12,
                    "{case}"
                );
                for s in [
                    Complex64::new(0.0, 0.0),
                    Complex64::new(0.3, 2.0),
                    Complex64::new(5.0, -40.0),
                ] {
                    let (g, l) = (geometric.lst(s), listed.wait.lst(s));
                    assert!((g - l).norm() < 1e-10, "{case} at {s}: {g} vs {l}");
                }
                assert!(
                    (geometric.mean() - mean_from_transform(&geometric)).abs()
                        < 1e-5 * geometric.mean().max(1.0),
                    "{case}"
                );
            }
        }
    }

    #[test]
    fn a_million_waiting_places_cost_what_a_few_do() {
        // K − c = 10⁶ at ρ = 1: every state is equally likely (1/(K + 1) each with c = 1), so
        // blocking is 1/(10⁶ + 2) and the mean queue is the mean of 0..=10⁶ over the busy
        // states: Lq = (10⁶ + 1)/(10⁶ + 2)·10⁶/2.
        let buffer = 1_000_000u64;
        let pool = solve_pool(&PoolInput {
            arrival: 100.0,
            servers: 1,
            mean_service: 0.01,
            service_scv: 1.0,
            buffer: Some(buffer),
            overload_horizon: 60.0,
        });
        let states = buffer as f64 + 2.0;
        assert!((pool.dropped / 100.0 - 1.0 / states).abs() < 1e-12 / states);
        let expected_queue = (states - 1.0) / states * buffer as f64 / 2.0;
        assert!((pool.mean_queue - expected_queue).abs() < 1e-9 * expected_queue);
        assert!(matches!(pool.wait, WaitDist::Geometric { .. }));
        // Little: L = X·W.
        assert!(
            (pool.mean_in_system - pool.throughput * (pool.mean_wait + 0.01)).abs()
                < 1e-6 * pool.mean_in_system
        );
    }

    #[test]
    fn mm1k_blocking_matches_closed_form() {
        // M/M/1/K: P_K = (1−ρ)ρ^K / (1 − ρ^{K+1}); λ = 2, μ = 3, K = 5 (4 waiting places).
        let rho: f64 = 2.0 / 3.0;
        let expected = (1.0 - rho) * rho.powi(5) / (1.0 - rho.powi(6));
        let pool = solve_pool(&PoolInput {
            arrival: 2.0,
            servers: 1,
            mean_service: 1.0 / 3.0,
            service_scv: 1.0,
            buffer: Some(4),
            overload_horizon: 60.0,
        });
        assert!((pool.dropped - 2.0 * expected).abs() < 1e-12);
        // Little's law with L from the state distribution.
        let response = pool.mean_wait + 1.0 / 3.0;
        assert!((pool.mean_in_system - pool.throughput * response).abs() < 1e-12);
    }
}
