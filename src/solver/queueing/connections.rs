//! A pool's wait split at a connection limit: the part spent waiting for a connection and the
//! part spent inside the database.

use super::geometric::{log_geometric_sum, SplitLog};
use super::pool::PoolSolution;
use super::wait_dist::WaitDist;

/// The wait of a FIFO pool split at a connection limit: the part spent waiting for one of
/// the connections (at the pool that holds them) and the part spent inside the database.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionSplit {
    /// Wait for a free connection.
    pub pool: WaitDist,
    /// Wait inside the database, behind the queries already holding connections.
    pub database: WaitDist,
}

/// Splits the wait of `solution` for a database whose `servers` run queries while up to
/// `slots` more requests hold a connection and wait inside it: an arrival that finds n
/// requests present waits n − c + 1 departures in all, of which max(n − c − slots + 1, 0)
/// for a connection (the pool) and the rest inside the database. `capacity` is c·μ.
///
/// For M/M/c the departures ahead of a waiting arrival are geometric with ratio ρ, so the
/// wait for a connection is again exponential: P(wait for a connection) = C(c, a)·ρ^slots with
/// the rate c·μ − λ of the whole wait, and the mean splits in ρ^slots and 1 − ρ^slots.
///
/// ```
/// use staircase::solver::queueing::{solve_pool, split_at_connections, PoolInput};
/// // M/M/16 at ρ = 0.9 behind a pool of 20 connections: 4 waiting places inside the database.
/// let input = PoolInput { arrival: 14.4, servers: 16, mean_service: 1.0, service_scv: 1.0,
///     buffer: None, overload_horizon: 3_600.0 };
/// let pool = solve_pool(&input);
/// let split = split_at_connections(&pool, 16.0, 4);
/// let share = 0.9f64.powi(4);
/// assert!((split.pool.mean() - pool.mean_wait * share).abs() < 1e-12);
/// assert!((split.database.mean() - pool.mean_wait * (1.0 - share)).abs() < 1e-12);
/// ```
pub fn split_at_connections(solution: &PoolSolution, capacity: f64, slots: u64) -> ConnectionSplit {
    match &solution.wait {
        WaitDist::Zero => ConnectionSplit {
            pool: WaitDist::Zero,
            database: WaitDist::Zero,
        },
        _ if slots == 0 => for_a_connection(&solution.wait),
        &WaitDist::Exponential { p_wait, rate } => {
            split_exponential(solution, (p_wait, rate), capacity, slots)
        }
        WaitDist::ErlangMix {
            stage_probs,
            stage_rate,
        } => split_erlang_mix(stage_probs, *stage_rate, slots),
        &WaitDist::Uniform { p_wait, max, cap } => {
            split_uniform((p_wait, max, cap), capacity, slots)
        }
        &WaitDist::Geometric {
            p_wait,
            ratio,
            stages,
            stage_rate,
        } => split_geometric(p_wait, ratio, stages, stage_rate, slots),
        WaitDist::Mixture(parts) => split_mixture(solution, parts, capacity, slots),
        WaitDist::CappedStages { .. } => ConnectionSplit {
            pool: WaitDist::Zero,
            database: solution.wait.clone(),
        },
        WaitDist::GammaStages {
            stages,
            stage_rate,
            stage_shape,
        } => split_gamma_stages(
            solution,
            stages,
            (*stage_rate, *stage_shape),
            capacity,
            slots,
        ),
        wait @ (WaitDist::Gamma { .. } | WaitDist::ServiceShaped { .. }) => {
            split_shaped(solution, wait, slots)
        }
    }
}

/// All of `wait` spent waiting for a connection, none inside the database.
fn for_a_connection(wait: &WaitDist) -> ConnectionSplit {
    ConnectionSplit {
        pool: wait.clone(),
        database: WaitDist::Zero,
    }
}

/// [`split_at_connections`] for an exponential wait of probability `p_wait` and `rate`: below
/// saturation a share ρ^slots of it (again exponential) waits for a connection and the rest,
/// [`WaitDist::CappedStages`], inside the database; at or beyond saturation the database
/// holds its `slots` waiting requests for slots/(c·μ) seconds.
fn split_exponential(
    solution: &PoolSolution,
    (p_wait, rate): (f64, f64),
    capacity: f64,
    slots: u64,
) -> ConnectionSplit {
    let ratio = solution.offered_utilization;
    if ratio >= 1.0 {
        return split_saturated_exponential((p_wait, rate), capacity, slots);
    }
    if ratio <= 0.0 || ratio.is_nan() {
        return for_a_connection(&solution.wait);
    }
    ConnectionSplit {
        pool: WaitDist::Exponential {
            p_wait: p_wait * ratio.powf(slots as f64),
            rate,
        },
        database: WaitDist::CappedStages {
            p_wait,
            ratio,
            stage_rate: rate / (1.0 - ratio),
            cap: slots,
        },
    }
}

/// [`split_exponential`] at or beyond saturation (the random part of a backlog's wait): the
/// database holds its `slots` waiting requests for slots/(c·μ) seconds, and the wait beyond
/// that, again exponential, is spent waiting for a connection.
fn split_saturated_exponential(
    (p_wait, rate): (f64, f64),
    capacity: f64,
    slots: u64,
) -> ConnectionSplit {
    let inside = slots as f64 / capacity;
    // Less than a millionth of the waits reaching past the connections is none.
    let reach = (-rate * inside).exp();
    let pool_p_wait = if reach < 1e-6 { 0.0 } else { p_wait * reach };
    let part = |p_wait: f64| {
        if p_wait > 0.0 {
            WaitDist::Exponential { p_wait, rate }
        } else {
            WaitDist::Zero
        }
    };
    ConnectionSplit {
        pool: part(pool_p_wait),
        database: part(p_wait - pool_p_wait),
    }
}

/// [`split_at_connections`] for a wait of listed stages: the first `slots` stages inside the
/// database (the last of them with the probability of every longer wait), the stages beyond
/// waiting for a connection.
fn split_erlang_mix(stage_probs: &[f64], stage_rate: f64, slots: u64) -> ConnectionSplit {
    let slots = usize::try_from(slots).unwrap_or(usize::MAX);
    let mut database = stage_probs.to_vec();
    let mut pool = Vec::new();
    if database.len() > slots {
        pool = database.split_off(slots);
        if let Some(last) = database.last_mut() {
            *last += pool.iter().sum::<f64>();
        }
    }
    let mix = |stage_probs: Vec<f64>| {
        if stage_probs.iter().any(|p| *p > 0.0) {
            WaitDist::ErlangMix {
                stage_probs,
                stage_rate,
            }
        } else {
            WaitDist::Zero
        }
    };
    ConnectionSplit {
        pool: mix(pool),
        database: mix(database),
    }
}

/// [`split_at_connections`] for a fluid backlog's uniform wait (`p_wait`, `max`, `cap`): the
/// database holds its `slots` waiting requests for slots/(c·μ) seconds; any wait beyond that
/// is spent waiting for a connection.
fn split_uniform(
    (p_wait, max, cap): (f64, f64, f64),
    capacity: f64,
    slots: u64,
) -> ConnectionSplit {
    let inside = slots as f64 / capacity;
    let pool = if cap > inside && max > inside {
        WaitDist::Uniform {
            p_wait: p_wait * (max - inside) / max,
            max: max - inside,
            cap: cap - inside,
        }
    } else {
        WaitDist::Zero
    };
    ConnectionSplit {
        pool,
        database: WaitDist::Uniform {
            p_wait,
            max,
            cap: cap.min(inside),
        },
    }
}

/// [`split_at_connections`] for a mixture of waits: each part split alone, the pool's parts
/// and the database's mixed with the same weights.
fn split_mixture(
    solution: &PoolSolution,
    parts: &[(f64, WaitDist)],
    capacity: f64,
    slots: u64,
) -> ConnectionSplit {
    let splits: Vec<(f64, ConnectionSplit)> = parts
        .iter()
        .map(|(weight, part)| {
            let alone = PoolSolution {
                wait: part.clone(),
                ..solution.clone()
            };
            (*weight, split_at_connections(&alone, capacity, slots))
        })
        .collect();
    ConnectionSplit {
        pool: WaitDist::Mixture(
            splits
                .iter()
                .map(|(w, split)| (*w, split.pool.clone()))
                .collect(),
        ),
        database: WaitDist::Mixture(
            splits
                .iter()
                .map(|(w, split)| (*w, split.database.clone()))
                .collect(),
        ),
    }
}

/// [`split_at_connections`] for exponential `stages` each made a gamma of `stage_shape`
/// ([`WaitDist::GammaStages`]): the stages split as the exponential ones do; each part keeps
/// the stages' shape.
fn split_gamma_stages(
    solution: &PoolSolution,
    stages: &WaitDist,
    (stage_rate, stage_shape): (f64, f64),
    capacity: f64,
    slots: u64,
) -> ConnectionSplit {
    let alone = PoolSolution {
        wait: stages.clone(),
        ..solution.clone()
    };
    let split = split_at_connections(&alone, capacity, slots);
    let shaped = |part: WaitDist| match part {
        WaitDist::Zero => WaitDist::Zero,
        part => WaitDist::GammaStages {
            stages: Box::new(part),
            stage_rate,
            stage_shape,
        },
    };
    ConnectionSplit {
        pool: shaped(split.pool),
        database: shaped(split.database),
    }
}

/// [`split_at_connections`] for a gamma or service-shaped `wait`: as for the exponential wait,
/// a share ρ^slots of the waits reach past the connections (the pool part keeps the wait's
/// shape), and the database keeps the rest of the mean.
fn split_shaped(solution: &PoolSolution, wait: &WaitDist, slots: u64) -> ConnectionSplit {
    let ratio = solution.offered_utilization;
    if !(ratio > 0.0 && ratio < 1.0) {
        return for_a_connection(&solution.wait);
    }
    let reach = ratio.powf(slots as f64);
    let database = if reach < 1.0 {
        reshaped(wait, 1.0, 1.0 - reach)
    } else {
        WaitDist::Zero
    };
    ConnectionSplit {
        pool: reshaped(wait, reach, 1.0),
        database,
    }
}

/// A gamma or service-shaped wait with its probability of waiting scaled by `p_scale` and its
/// conditional wait's time scale by `time_scale` (same shape); other waits unchanged.
fn reshaped(wait: &WaitDist, p_scale: f64, time_scale: f64) -> WaitDist {
    match wait {
        &WaitDist::Gamma {
            p_wait,
            shape,
            rate,
        } => WaitDist::Gamma {
            p_wait: p_wait * p_scale,
            shape,
            rate: rate / time_scale,
        },
        WaitDist::ServiceShaped {
            p_wait,
            rho,
            stretch,
            service,
        } => WaitDist::ServiceShaped {
            p_wait: p_wait * p_scale,
            rho: *rho,
            stretch: stretch * time_scale,
            service: service.clone(),
        },
        other => other.clone(),
    }
}

/// Most waiting places inside a database listed stage by stage when a long M/M/c/K wait is
/// split at a connection limit; beyond, the whole wait is shown inside the database.
const MAX_LISTED_SLOTS: u64 = 65_536;

/// [`split_at_connections`] for a [`WaitDist::Geometric`] wait of J stages: the pool waits
/// the J − slots stages beyond the slots (again a cut geometric, of stages − slots), the
/// database min(J, slots), listed stage by stage.
fn split_geometric(
    p_wait: f64,
    ratio: f64,
    stages: u64,
    stage_rate: f64,
    slots: u64,
) -> ConnectionSplit {
    let whole = WaitDist::Geometric {
        p_wait,
        ratio,
        stages,
        stage_rate,
    };
    if slots >= stages || slots > MAX_LISTED_SLOTS {
        return ConnectionSplit {
            pool: WaitDist::Zero,
            database: whole,
        };
    }
    let log_ratio = ratio.ln();
    let log_total = log_geometric_sum(stages, log_ratio);
    // P(J > slots) = ρ^slots·Σ_{i<stages−slots} ρⁱ / Σ_{i<stages} ρⁱ.
    let tail = log_geometric_sum(stages - slots, log_ratio);
    let beyond = SplitLog {
        powers: slots as f64 + tail.powers,
        rest: tail.rest,
    }
    .ratio_to(log_total, log_ratio);
    let mut stage_probs: Vec<f64> = (0..slots)
        .map(|i| p_wait * SplitLog::power(i).ratio_to(log_total, log_ratio))
        .collect();
    if let Some(last) = stage_probs.last_mut() {
        *last += p_wait * beyond;
    }
    ConnectionSplit {
        pool: WaitDist::Geometric {
            p_wait: p_wait * beyond,
            ratio,
            stages: stages - slots,
            stage_rate,
        },
        database: WaitDist::ErlangMix {
            stage_probs,
            stage_rate,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::pool::solve_pool;
    use super::super::pool::PoolInput;
    use super::*;

    #[test]
    fn connection_split_keeps_the_whole_mean() {
        // Finite buffer (M/M/2/10), infinite (M/M/2) and fluid overload, 3 slots inside.
        let mut input = PoolInput {
            arrival: 1.7,
            servers: 2,
            mean_service: 1.0,
            service_scv: 1.0,
            buffer: Some(8),
            overload_horizon: 60.0,
        };
        for (buffer, arrival) in [(Some(8), 1.7), (None, 1.7), (None, 2.5)] {
            input.buffer = buffer;
            input.arrival = arrival;
            let pool = solve_pool(&input);
            let split = split_at_connections(&pool, 2.0, 3);
            let total = split.pool.mean() + split.database.mean();
            assert!(
                (total - pool.mean_wait).abs() < 1e-9 * pool.mean_wait,
                "{buffer:?} {arrival}: {total} vs {}",
                pool.mean_wait
            );
            assert!(split.pool.mean() > 0.0 && split.database.mean() > 0.0);
        }
        // No slots inside: all of the wait is for a connection.
        let pool = solve_pool(&input);
        assert_eq!(split_at_connections(&pool, 2.0, 0).pool, pool.wait);
    }
}
