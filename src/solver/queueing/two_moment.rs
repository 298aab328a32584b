//! Waits by two moments: M/M/c with Allen–Cunneen's service factor, Kingman's G/G/c scaling
//! with the Krämer–Langenbach-Belz correction, and Whitt's QNA P(wait).

use super::erlang::erlang_c;
use super::pool::{Arrivals, PoolInput};
use super::renewal::renewal_wait;
use crate::solver::gigc_wait::{arrivals_wait_factor, many_server_wait_factor};

/// The probability of waiting and the mean wait of an unlimited pool below saturation in its
/// steady state: textbook M/M/c, Wq = C/(cμ − λ) with C from Erlang C, scaled by
/// Allen-Cunneen's (1 + c_s²)/2 for other service-time variabilities.
pub(super) fn steady_state_wait(input: &PoolInput, servers: u64, offered_load: f64) -> (f64, f64) {
    let p_wait = erlang_c(servers, offered_load);
    (
        p_wait,
        mean_wait_given(p_wait, input, servers, offered_load),
    )
}

/// The mean wait of an unlimited pool of `servers` offered `offered_load` (below saturation)
/// in its steady state, given its probability of waiting C (`delay_probability`): textbook
/// M/M/c, Wq = C/(cμ − λ), scaled by Allen-Cunneen's (1 + c_s²)/2 for other service-time
/// variabilities. [`steady_state_wait`] takes C from Erlang C; with C = 1 it bounds the wait
/// from above where (1 + c_s²)/2 ≥ 0 (each operation rounds no higher for a smaller C).
#[inline]
pub(super) fn mean_wait_given(
    delay_probability: f64,
    input: &PoolInput,
    servers: u64,
    offered_load: f64,
) -> f64 {
    let variability = (1.0 + input.service_scv) / 2.0;
    delay_probability * input.mean_service / (servers as f64 - offered_load) * variability
}

/// The probability of waiting and the mean wait of an unlimited G/G/c pool below saturation
/// whose arrivals have squared coefficient of variation c_a² and service c_s²:
/// - Poisson arrivals: [`steady_state_wait`] (M/M/c exactly; Allen-Cunneen otherwise);
/// - renewal arrivals (a workload's own, or every k-th of them): GI/M/c with gamma
///   inter-arrival times, exact for exponential service at one server ([`renewal_wait`]);
/// - non-renewal arrivals (departures of a queue): Allen-Cunneen with c_a², Wq =
///   Wq(M/M/c)·(c_a² + c_s²)/2, times the Krämer–Langenbach-Belz factor where c_a² < 1
///   ([`klb_factor`]); a blend of the two by [`Arrivals::renewal`].
///
/// The wait of many servers whose service is not exponential is then scaled by
/// [`many_server_wait_factor`] (1 at one server, at exponential service and in heavy
/// traffic): a constant service frees the first of c servers later than Kingman's scaling
/// says, a very variable one sooner.
///
/// ```
/// use staircase::solver::queueing::{two_moment_wait, Arrivals, PoolInput};
/// // Kingman's G/G/1 at ρ = 0.8 with c_a² = 2 (departures of a bursty queue), exponential
/// // service S = 10 ms: Wq = (2 + 1)/2 · ρ/(1 − ρ) · S = 60 ms.
/// let input = PoolInput { arrival: 80.0, servers: 1, mean_service: 0.01, service_scv: 1.0,
///     buffer: None, overload_horizon: 3_600.0 };
/// let (_, wait) = two_moment_wait(&input, 1, 0.8, Arrivals { scv: 2.0, renewal: 0.0 });
/// assert!((wait - 0.060).abs() < 1e-12);
/// ```
pub fn two_moment_wait(
    input: &PoolInput,
    servers: u64,
    offered_load: f64,
    arrivals: Arrivals,
) -> (f64, f64) {
    if arrivals.scv == 1.0 {
        let (p_wait, wait) = steady_state_wait(input, servers, offered_load);
        let rho = offered_load / servers.max(1) as f64;
        let factor = many_server_wait_factor(rho, 1.0, input.service_scv, servers);
        return (p_wait, wait * factor);
    }
    let (p_mmc, wait_mmc) = steady_state_wait(
        &PoolInput {
            service_scv: 1.0,
            ..*input
        },
        servers,
        offered_load,
    );
    let (ca2, cs2) = (arrivals.scv.max(0.0), input.service_scv.max(0.0));
    let c = servers as f64;
    let rho = offered_load / c;
    if rho.is_nan() || rho <= 0.0 {
        return (0.0, 0.0);
    }
    let renewal = arrivals.renewal.clamp(0.0, 1.0);
    let two_moment = wait_mmc * (ca2 + cs2) / 2.0 * klb_factor(rho, ca2, cs2);
    // QNA's delay probability can fall to 0 for very smooth arrivals: P(wait) is kept at
    // least as large as the mean's share of the M/G/c one ([`mean_share_delay`]).
    let qna_p = (p_mmc * qna_delay_probability(rho, ca2, cs2) / rho).clamp(0.0, 1.0);
    let two_moment_p = if ca2 < 1.0 {
        qna_p.max(mean_share_delay(p_mmc, two_moment / wait_mmc, cs2))
    } else {
        qna_p
    };
    let factor = arrivals_wait_factor(rho, arrivals, cs2, servers);
    if renewal == 0.0 {
        return (two_moment_p, two_moment * factor);
    }
    let (renewal_p, renewal_wait) =
        match renewal_wait(input, p_mmc, rho, Arrivals { scv: ca2, renewal }) {
            // Smoother arrivals than Poisson wait no longer than Poisson ones (Stoyan's
            // convex-order comparison): KLB's ratio grows without bound at light load.
            Some((p_wait, wait)) if ca2 < 1.0 => (p_wait, wait.min(wait_mmc * (1.0 + cs2) / 2.0)),
            Some(found) => found,
            None => (p_mmc, wait_mmc * (ca2 + cs2) / 2.0),
        };
    (
        renewal * renewal_p + (1.0 - renewal) * two_moment_p,
        (renewal * renewal_wait + (1.0 - renewal) * two_moment) * factor,
    )
}

/// The least P(wait) of smooth arrivals (c_a² < 1) into a queue whose two-moment mean wait is
/// `mean_ratio` times M/M/c's: the P(wait) at which that mean is carried by the wait of those
/// who wait in M/G/c, C·ratio/max(1, (1 + c_s²)/2). A service more variable than exponential
/// lengthens the wait of those who wait by Allen–Cunneen's (1 + c_s²)/2 (in M/G/1 exactly:
/// Pollaczek–Khinchine's E\[W | W > 0\] = E\[S²\]/(2E\[S\](1 − ρ)), while P(wait) stays ρ),
/// not the share who wait, so at c_a² 1 the bound is M/G/1's P(wait) ρ for every c_s² ≥ 1.
/// Before, the bound was C·ratio itself, which behind a variable service put P(wait) at
/// (c_a² + c_s²)/2 times C and clamped it to 1: a Database of c_s² 7.1 at ρ 0.27 behind
/// round-robin calls waited with P(wait) 1 for a short gamma wait of its right mean, p95 and
/// p99 27% and 30% short (survey seed 18071001718936054753). Services at least as smooth as
/// exponential keep C·ratio.
///
/// ```
/// use staircase::solver::queueing::mean_share_delay;
/// // One server, Poisson-like ratio (c_a² + c_s²)/2 at c_a² 1, c_s² 7: P(wait) = ρ = C.
/// assert!((mean_share_delay(0.27, 4.0, 7.0) - 0.27).abs() < 1e-12);
/// // Exponential or smoother service: C·ratio as before.
/// assert!((mean_share_delay(0.3, 0.5, 0.0) - 0.15).abs() < 1e-12);
/// ```
pub fn mean_share_delay(p_mmc: f64, mean_ratio: f64, service_scv: f64) -> f64 {
    let lengthened = ((1.0 + service_scv) / 2.0).max(1.0);
    (p_mmc * mean_ratio / lengthened).clamp(0.0, 1.0)
}

/// The Krämer–Langenbach-Belz correction to Kingman's G/G/1 wait for smooth arrivals
/// (c_a² < 1): exp(−2(1 − ρ)(1 − c_a²)² / (3ρ(c_a² + c_s²))), 1 otherwise (as in Whitt's
/// Queueing Network Analyzer).
///
/// ```
/// use staircase::solver::queueing::klb_factor;
/// // D/M/1 at ρ = 0.5: e^(−2·0.5/(3·0.5)) = e^(−2/3).
/// assert!((klb_factor(0.5, 0.0, 1.0) - (-2.0f64 / 3.0).exp()).abs() < 1e-12);
/// assert_eq!(klb_factor(0.5, 2.0, 1.0), 1.0);
/// ```
pub fn klb_factor(rho: f64, arrival_scv: f64, service_scv: f64) -> f64 {
    if arrival_scv >= 1.0 || rho <= 0.0 {
        return 1.0;
    }
    let spread = arrival_scv + service_scv;
    if spread <= 0.0 {
        return 1.0;
    }
    (-2.0 * (1.0 - rho) * (1.0 - arrival_scv).powi(2) / (3.0 * rho * spread)).exp()
}

/// Probability that an arrival waits at a G/G/1 queue of utilization ρ, arrivals c_a² and
/// service c_s² (Whitt's QNA, eq. 46–47): ρ + (c_a² − 1)ρ(1 − ρ)h with
/// h = (1 + c_a² + ρc_s²)/(1 + ρ(c_s² − 1) + ρ²(4c_a² + c_s²)) for c_a² ≥ 1 and
/// h = 4ρ/(c_a² + ρ²(4c_a² + c_s²)) for c_a² < 1; ρ for Poisson arrivals (as in M/G/1).
///
/// ```
/// use staircase::solver::queueing::qna_delay_probability;
/// assert_eq!(qna_delay_probability(0.6, 1.0, 3.0), 0.6);
/// // Bursty arrivals (c_a² = 2.92) at ρ = 0.8, exponential service: about 0.959.
/// assert!((qna_delay_probability(0.8, 2.92, 1.0) - 0.9591).abs() < 1e-4);
/// ```
pub fn qna_delay_probability(rho: f64, arrival_scv: f64, service_scv: f64) -> f64 {
    let (ca2, cs2) = (arrival_scv.max(0.0), service_scv.max(0.0));
    let rho2 = rho * rho;
    let h = if ca2 >= 1.0 {
        (1.0 + ca2 + rho * cs2) / (1.0 + rho * (cs2 - 1.0) + rho2 * (4.0 * ca2 + cs2))
    } else {
        4.0 * rho / (ca2 + rho2 * (4.0 * ca2 + cs2))
    };
    (rho + (ca2 - 1.0) * rho * (1.0 - rho) * h).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The departures of a queue (not a renewal stream) into one server of c_s² 7.1 at ρ 0.267,
    /// the Database of survey seed 18071001718936054753 (round robin).
    fn variable_service_queue(arrival_scv: f64) -> (f64, f64, f64) {
        let input = PoolInput {
            arrival: 136.69,
            servers: 1,
            mean_service: 0.001_954_8,
            service_scv: 7.1,
            buffer: None,
            overload_horizon: 60.0,
        };
        let rho = input.arrival * input.mean_service;
        let arrivals = Arrivals {
            scv: arrival_scv,
            renewal: 0.0,
        };
        let (p_wait, wait) = two_moment_wait(&input, 1, rho, arrivals);
        (rho, p_wait, wait)
    }

    #[test]
    fn a_variable_service_lengthens_the_wait_not_the_share_who_wait() {
        // Smooth departures (c_a² ½): the mean is Kingman's with KLB's factor; P(wait) carries
        // it at M/G/1's conditional wait, ρ·(c_a² + c_s²)/(1 + c_s²)·KLB = 0.2361, where the
        // M/M/1 conditional wait made it 0.9561 (simulated: p95 and p99 27% and 30% short).
        let (rho, p_wait, wait) = variable_service_queue(0.5);
        let klb = klb_factor(rho, 0.5, 7.1);
        let kingman = rho / (1.0 - rho) * 0.001_954_8 * (0.5 + 7.1) / 2.0 * klb;
        assert!((wait / kingman - 1.0).abs() < 1e-12, "{wait} vs {kingman}");
        let expected = rho * (0.5 + 7.1) / (1.0 + 7.1) * klb;
        assert!((p_wait - expected).abs() < 1e-12, "{p_wait} vs {expected}");
        assert!((p_wait - 0.2361).abs() < 1e-4, "{p_wait}");
        // Towards Poisson arrivals P(wait) tends to M/G/1's ρ, whatever the service.
        let (rho, p_wait, _) = variable_service_queue(0.999);
        assert!((p_wait / rho - 1.0).abs() < 2e-3, "{p_wait} vs ρ {rho}");
    }
}
