//! The shape of a steady-state wait from its moments: the conditional wait's c² by
//! Pollaczek–Khinchine, bursty arrivals taken as batches, and the light-traffic reshaping
//! behind bursty renewal arrivals.

use super::pool::{Arrivals, PoolInput};
use super::renewal::renewal_share;
use super::wait_dist::WaitDist;
use crate::solver::light_traffic::ordered_wait_scv;

/// Squared coefficient of variation of the wait of those who wait, in M/G/1 at utilization ρ
/// with a gamma (or constant) service of squared coefficient of variation c_s²: from the
/// Pollaczek–Khinchine moments E[W] = λE[S²]/(2(1 − ρ)) and E[W²] = 2E[W]² + λE[S³]/(3(1 − ρ))
/// with E[S³] = E[S]³(1 + c_s²)(1 + 2c_s²) and P(wait) = ρ:
/// 2ρ − 1 + 4(1 − ρ)(1 + 2c_s²) / (3(1 + c_s²)). Exponential service gives 1 (the M/M/1 wait);
/// with c servers the same is used at the servers' utilization.
///
/// ```
/// use staircase::solver::queueing::conditional_wait_scv;
/// // M/D/1 at ρ = 0.8: E[W|W > 0] = 2.5·S, E[W²|W > 0] = 11.667·S², scv 0.8667.
/// assert!((conditional_wait_scv(0.8, 0.0) - 0.86667).abs() < 1e-5);
/// assert!((conditional_wait_scv(0.3, 1.0) - 1.0).abs() < 1e-12);
/// ```
pub fn conditional_wait_scv(rho: f64, service_scv: f64) -> f64 {
    let rho = rho.clamp(0.0, 1.0);
    let cs2 = service_scv.max(0.0);
    (2.0 * rho - 1.0 + 4.0 * (1.0 - rho) * (1.0 + 2.0 * cs2) / (3.0 * (1.0 + cs2))).max(1e-6)
}

/// The squared coefficient of variation of the service that shapes the conditional wait of a
/// queue whose arrivals are bursty (c_a² > 1): the arrivals taken as Poisson batches of
/// geometric size with the same variability (index of dispersion 2m − 1 = c_a², so mean
/// batch m = (c_a² + 1)/2), a batch waits as one request of the batch's total service in
/// M/G/1, whose c² is (c_s² + m − 1)/m (a geometric sum of services). Smooth or Poisson
/// arrivals keep c_s². The wait's shape then follows [`conditional_wait_scv`].
///
/// ```
/// use staircase::solver::queueing::batch_service_scv;
/// // Constant service behind arrivals of c_a² 3: batches of 2 on average, c² (0 + 1)/2.
/// assert_eq!(batch_service_scv(3.0, 0.0), 0.5);
/// // Exponential service stays exponential (a geometric sum of exponentials is exponential).
/// assert_eq!(batch_service_scv(5.0, 1.0), 1.0);
/// assert_eq!(batch_service_scv(1.0, 0.0), 0.0);
/// ```
pub fn batch_service_scv(arrival_scv: f64, service_scv: f64) -> f64 {
    if arrival_scv <= 1.0 {
        return service_scv;
    }
    let batch = (arrival_scv + 1.0) / 2.0;
    (service_scv + batch - 1.0) / batch
}

/// How far from 1 the squared coefficient of variation of a conditional wait may be and the
/// wait still be taken as exponential (its closed-form percentiles are then kept): mixes of
/// classes with equal or nearly equal service times.
const EXPONENTIAL_WAIT_TOLERANCE: f64 = 0.01;

/// A wait with probability `p_wait` of waiting and mean `mean` (all requests), its
/// conditional part exponential for exponential service (M/M/c, GI/M/c) and gamma with
/// [`conditional_wait_scv`] otherwise.
pub fn shaped_wait(p_wait: f64, mean: f64, rho: f64, service_scv: f64) -> WaitDist {
    let scv = conditional_wait_scv(rho, service_scv);
    if service_scv == 1.0 || (scv - 1.0).abs() < EXPONENTIAL_WAIT_TOLERANCE {
        return WaitDist::Exponential {
            p_wait,
            rate: p_wait / mean,
        };
    }
    let conditional = mean / p_wait;
    let shape = 1.0 / scv;
    WaitDist::Gamma {
        p_wait,
        shape,
        rate: shape / conditional,
    }
}

/// The wait of those who wait behind bursty renewal arrivals (c_a² > 1) into one server of a
/// service smoother than exponential, reshaped between the light- and heavy-traffic forms: its c² is
/// [`ordered_wait_scv`]'s blend of the light-traffic wait S − T_c (the request c places
/// earlier had not waited; c² n/(n + 2) as ρ → 0, n = c/c_a²) and the model's heavy-traffic
/// c² (`wait`'s own: [`conditional_wait_scv`] of the batch service, [`spread_wait`]), weighted
/// by the light term's share of those who wait. That holds for a constant service; towards
/// exponential service (c_s² 1, where GI/M/c's exponential wait is exact) and for streams
/// that are less a renewal one ([`RENEWAL_BURSTS`]) the change is taken linearly smaller.
/// P(wait) and the mean are kept; other arrivals, services and shapes are returned unchanged.
/// Before, the one-server wait at c_a² 2, ρ 0.1 kept the heavy-traffic c² 0.7 and its p95 and
/// p99 were 10.5% and 13.5% long (`gigc_wait_table`).
///
/// [`spread_wait`]: crate::solver::gigc_wait::spread_wait
/// [`RENEWAL_BURSTS`]: super::renewal::RENEWAL_BURSTS
pub(super) fn ordered_wait_shape(
    wait: WaitDist,
    input: &PoolInput,
    rho: f64,
    arrivals: Arrivals,
) -> WaitDist {
    let service_scv = input.service_scv.max(0.0);
    let share = renewal_share(arrivals.renewal);
    // Many servers: `spread_wait` has already narrowed the wait by the many-server factor,
    // which stands for the same wait for servers filled together (blending the light term in
    // as well put p99 up to 10% short at 2 to 32 servers on `gigc_wait_table`).
    let one_server = input.servers <= 1;
    if !(one_server && arrivals.scv > 1.0 && service_scv < 1.0 && share > 0.0)
        || input.mean_service <= 0.0
    {
        return wait;
    }
    let (p_wait, shape, rate) = match wait {
        WaitDist::Gamma {
            p_wait,
            shape,
            rate,
        } => (p_wait, shape, rate),
        WaitDist::Exponential { p_wait, rate } => (p_wait, 1.0, rate),
        other => return other,
    };
    let conditional = shape / rate;
    let heavy = 1.0 / shape;
    let blended = ordered_wait_scv(
        rho,
        arrivals.scv,
        input.servers,
        conditional / input.mean_service,
        heavy,
    );
    match blended {
        Some(light) if conditional.is_finite() && conditional > 0.0 => {
            let scv = heavy + share * (1.0 - service_scv) * (light - heavy);
            let shape = 1.0 / scv;
            WaitDist::Gamma {
                p_wait,
                shape,
                rate: shape / conditional,
            }
        }
        _ => wait,
    }
}
