//! Waits behind renewal arrivals: GI/M/c's P(wait) and mean, carried over to other services
//! and to streams that are only partly renewal ones.

use super::gamma_arrivals::{gamma_arrival_sigma, gamma_renewal_delay_probability};
use super::pool::{Arrivals, PoolInput};
use super::two_moment::klb_factor;
use crate::solver::gigc_wait::{
    hidden_smoothness_share, many_server_wait_factor, peaked_share, peaked_weight,
};
use crate::solver::light_traffic::ordered_delay_probability;

/// The probability of waiting and the mean wait of an unlimited pool (below saturation, at
/// utilization ρ, Erlang C `p_mmc`) whose arrivals are a renewal stream of gamma
/// inter-arrival times (c_a², `arrivals.renewal` of its variability a renewal stream's):
/// GI/M/c with exponential service, P(wait) by
/// [`renewal_delay_probability`] and the wait of those who wait exponential at cμ(1 − σ)
/// (exact, Kleinrock §6.4), the mean scaled to the pool's service by
/// [`renewal_service_factor`]; P(wait) then by [`hidden_variability`], and behind smooth
/// arrivals into a service smoother than exponential by the busy servers' peakedness
/// ([`peaked_share`], the mean then following it with Kingman's ratio). Behind smooth arrivals
/// into a service more variable than exponential at two or more servers the mean is built on
/// the linear peakedness share's P(wait) (`linear_share_delay`; the P(wait) shown is
/// [`hidden_variability`]'s) times GI/M/c's conditional wait 1/(cμ(1 − σ)) scaled by
/// Kingman's (c_a² + c_s²)/(c_a² + 1) (and [`many_server_wait_factor`]); one server keeps
/// KLB's ratio on Takács' P(wait) and KLB's share of P(wait). Before issue 13's `waits`
/// branch (KLB's ratio on Takács' P(wait), which the variable service's hidden variability
/// had left far below the queue's P(wait))
/// the mean was up to 63% short at 8 to 16 servers (c_a² 0, c_s² 5, 8 servers, ρ 0.5).
/// `None` where σ ≥ 1 (GI/M/c has no steady state there).
///
/// ```
/// use staircase::solver::queueing::{
///     erlang_c, gamma_arrival_sigma, renewal_wait, Arrivals, PoolInput,
/// };
/// // E4/M/1 at ρ 0.85 (every 4th request of a Poisson stream): P(wait) = σ = 0.7677 and
/// // Wq = σ/(μ(1 − σ)) exactly.
/// let input = PoolInput { arrival: 85.0, servers: 1, mean_service: 0.01, service_scv: 1.0,
///     buffer: None, overload_horizon: 3_600.0 };
/// let arrivals = Arrivals { scv: 0.25, renewal: 1.0 };
/// let (p_wait, wait) = renewal_wait(&input, erlang_c(1, 0.85), 0.85, arrivals).unwrap();
/// let sigma = gamma_arrival_sigma(0.85, 0.25);
/// assert!((p_wait - sigma).abs() < 1e-12);
/// assert!((wait - sigma / (100.0 * (1.0 - sigma))).abs() < 1e-12);
/// ```
pub fn renewal_wait(
    input: &PoolInput,
    p_mmc: f64,
    rho: f64,
    arrivals: Arrivals,
) -> Option<(f64, f64)> {
    let (ca2, cs2) = (arrivals.scv.max(0.0), input.service_scv.max(0.0));
    let servers = input.servers.max(1) as f64;
    let sigma = gamma_arrival_sigma(rho, ca2);
    if sigma.is_nan() || sigma >= 1.0 {
        return None;
    }
    let exponential_p =
        renewal_delay_probability(p_mmc, rho, ca2, sigma, input.servers, arrivals.renewal, cs2);
    let p_wait = hidden_variability(p_mmc, exponential_p, ca2, cs2, input.servers);
    let p_wait = peaked_share(p_wait, rho, arrivals, cs2, input.servers);
    // Behind bursty arrivals the wait of those who wait stays GI/M/c's (scaled by Kingman's
    // ratio) and the mean follows P(wait); for smooth ones KLB's ratio already carries what
    // the service changes in the mean, except where P(wait) is the busy servers' peakedness
    // (a service smoother than exponential): there the mean follows it as behind bursty
    // ones. Where a more variable service hides the smoothness, at several servers, the mean
    // does not follow the P(wait) shown ([`linear_share_delay`]).
    let kingman = (ca2 + cs2) / (ca2 + 1.0);
    let (waiting, service) = if ca2 >= 1.0 {
        (p_wait, renewal_service_factor(rho, ca2, cs2))
    } else if cs2 > 1.0 && input.servers >= 2 {
        // Smooth arrivals into a service more variable than exponential at several servers:
        // P(wait) is `hidden_variability`'s (part of the smoothness hidden); the mean keeps
        // the linear peakedness share's P(wait) ([`linear_share_delay`]) times GI/M/c's
        // conditional wait scaled by Kingman's ratio. One server keeps the branch below and
        // KLB's share of P(wait).
        (linear_share_delay(p_mmc, exponential_p, cs2), kingman)
    } else {
        let klb = renewal_service_factor(rho, ca2, cs2);
        let peaked = peaked_weight(arrivals, cs2);
        (
            exponential_p + peaked * (p_wait - exponential_p),
            klb + peaked * (kingman - klb),
        )
    };
    let capacity = servers / input.mean_service;
    let wait = waiting / (capacity * (1.0 - sigma)) * service;
    Some((p_wait, wait))
}

/// The renewal share ([`Arrivals::renewal`]) below which a bursty stream's P(wait) is taken
/// as C·(σ/ρ)^√c ([`renewal_delay_probability`]): the departures of a queue whose own service
/// adds even a little irregularity have had their bursts spread by its servers.
const RENEWAL_BURSTS: f64 = 0.95;

/// How much of a stream counts as a renewal one: its renewal share ([`Arrivals::renewal`])
/// beyond [`RENEWAL_BURSTS`], from 0 (at or below it) to 1 (a renewal stream).
pub(crate) fn renewal_share(renewal: f64) -> f64 {
    ((renewal - RENEWAL_BURSTS) / (1.0 - RENEWAL_BURSTS)).clamp(0.0, 1.0)
}

/// P(wait) in GI/M/c at utilization ρ with `servers` servers, from Erlang C (M/M/c's
/// P(wait), `p_mmc`), the arrivals' c_a², σ ([`gamma_arrival_sigma`]) and the service's c_s²:
/// C·(σ/ρ)^e. At one server it is σ, for Poisson arrivals (σ = ρ) C (both exact). For a
/// renewal stream (`renewal` 1) e is the exponent that gives Takács' exact GI/M/c value
/// ([`gamma_renewal_delay_probability`]), except behind bursty arrivals (σ > ρ) into a
/// service smoother than exponential: there e moves linearly in c_s² from Takács' (c_s² 1)
/// to the one that gives GI/D/c's P(wait) by Lindley's relation for the request c places
/// earlier (c_s² 0; [`ordered_delay_probability`]: an arrival waits iff the c gaps since that
/// request are shorter than its service plus its wait; nothing fitted). On the GI/G/c grid
/// (`gigc_wait_table`, gamma arrivals of c_a² 2 to 9 into 1 to 32 constant servers at ρ 0.1
/// to 0.9) that is within 3% wherever at least 2% wait (8% at 16 servers, ρ 0.1, where 0.07%
/// do), while the exact GI/M/c value is 3% to 63% short and the fitted C^(ln σ/ln ρ) used
/// before was −71% to +22% off (a constant service leaves a burst waiting longer than an
/// exponential one, and light load leaves only the requests close together waiting).
/// A stream whose variability is less than 95% a
/// renewal stream's (departures of a queue, whose bursts its servers have spread) takes
/// e = √c, the exponents linearly between.
///
/// Before issue 13's many-server work e was ln C/ln ρ at every service behind bursty arrivals
/// (50% high at 16 exponential servers, c_a² 4, ρ 0.5: 0.17 against 0.113; Takács 0.1131) and
/// √c behind smooth ones (−6% to +24% where P(wait) is above 1%).
///
/// ```
/// use staircase::solver::queueing::{erlang_c, gamma_arrival_sigma, renewal_delay_probability};
/// let sigma = gamma_arrival_sigma(0.3, 4.0);
/// // One server: σ itself.
/// assert!((renewal_delay_probability(0.3, 0.3, 4.0, sigma, 1, 1.0, 1.0) - sigma).abs() < 1e-12);
/// // Poisson arrivals: Erlang C.
/// let c = erlang_c(4, 1.2);
/// assert!((renewal_delay_probability(c, 0.3, 1.0, 0.3, 4, 1.0, 1.0) - c).abs() < 1e-15);
/// // Gamma arrivals of c_a² 4 into 4 exponential servers at ρ 0.3 (simulated: 0.2565).
/// assert!((renewal_delay_probability(c, 0.3, 4.0, sigma, 4, 1.0, 1.0) - 0.2565).abs() < 1e-3);
/// // The same into constant servers: GI/D/c by Lindley's relation (simulated: 0.2991).
/// let constant = renewal_delay_probability(c, 0.3, 4.0, sigma, 4, 1.0, 0.0);
/// assert!((constant / 0.2991 - 1.0).abs() < 0.02);
/// // 16 exponential servers at ρ 0.5 (simulated: 0.1131).
/// let (c16, sigma16) = (erlang_c(16, 8.0), gamma_arrival_sigma(0.5, 4.0));
/// let p16 = renewal_delay_probability(c16, 0.5, 4.0, sigma16, 16, 1.0, 1.0);
/// assert!((p16 - 0.1131).abs() < 1e-3);
/// // Not a renewal stream: C·(σ/ρ)².
/// let root = c * (sigma / 0.3).powi(2);
/// assert!((renewal_delay_probability(c, 0.3, 4.0, sigma, 4, 0.9, 1.0) - root).abs() < 1e-12);
/// // 100 constant servers at ρ 10⁻⁴, where Erlang C underflows: a number, not NaN.
/// let (c100, sigma100) = (erlang_c(100, 0.01), gamma_arrival_sigma(1e-4, 4.0));
/// assert_eq!(c100, 0.0);
/// assert_eq!(renewal_delay_probability(c100, 1e-4, 4.0, sigma100, 100, 1.0, 0.0), 0.0);
/// ```
pub fn renewal_delay_probability(
    p_mmc: f64,
    rho: f64,
    arrival_scv: f64,
    sigma: f64,
    servers: u64,
    renewal: f64,
    service_scv: f64,
) -> f64 {
    if sigma == rho {
        return p_mmc;
    }
    if !(rho > 0.0 && rho < 1.0) || sigma <= 0.0 {
        return 0.0;
    }
    let root = (servers.max(1) as f64).sqrt();
    let share = renewal_share(renewal);
    let exact = if share > 0.0 {
        gamma_renewal_delay_probability(rho, arrival_scv, servers)
    } else {
        0.0
    };
    let exact_exponent = if exact > 0.0 && p_mmc > 0.0 {
        (exact / p_mmc).ln() / (sigma / rho).ln()
    } else {
        root
    };
    let exponent = if sigma > rho {
        // Constant service: Lindley's relation for the request c places earlier
        // (`constant_service_exponent`); exponential: Takács; between, by c_s².
        // Computed only where it weighs: exponential service and streams that are not
        // renewal ones keep their exponent bit for bit.
        let weight = service_scv.clamp(0.0, 1.0);
        let renewal_exponent = if weight >= 1.0 || share <= 0.0 {
            exact_exponent
        } else {
            let constant_exponent =
                constant_service_exponent(p_mmc, rho, arrival_scv, sigma, servers);
            weight * exact_exponent + (1.0 - weight) * constant_exponent
        };
        share * renewal_exponent + (1.0 - share) * root
    } else {
        share * exact_exponent + (1.0 - share) * root
    };
    let p_wait = p_mmc * (sigma / rho).powf(exponent);
    // Where Erlang C underflows to 0 an exponent may be infinite (0·∞); nobody waits there
    // by this form (the light-traffic value it would scale is lost with C).
    if p_wait.is_finite() {
        p_wait.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// The exponent e of [`renewal_delay_probability`]'s C·(σ/ρ)^e that gives GI/D/c's P(wait)
/// behind bursty gamma arrivals by Lindley's relation for the request c places earlier
/// ([`ordered_delay_probability`]), with the wait of those who wait as the model gives it at a
/// constant service: GI/M/c's 1/(cμ(1 − σ)) scaled by Kingman's c_a²/(c_a² + 1) and
/// [`many_server_wait_factor`]. Where that cannot be evaluated (P(wait) underflows) the
/// earlier fitted C^(ln σ/ln ρ), that is e = ln C/ln ρ; where C itself underflows to 0, √c
/// (any exponent leaves P(wait) 0 there).
fn constant_service_exponent(
    p_mmc: f64,
    rho: f64,
    arrival_scv: f64,
    sigma: f64,
    servers: u64,
) -> f64 {
    let c = servers.max(1) as f64;
    let fitted = if p_mmc > 0.0 {
        p_mmc.ln() / rho.ln()
    } else {
        c.sqrt()
    };
    let kingman = arrival_scv / (arrival_scv + 1.0);
    let conditional =
        kingman * many_server_wait_factor(rho, arrival_scv, 0.0, servers) / (c * (1.0 - sigma));
    match ordered_delay_probability(rho, arrival_scv, servers, conditional) {
        Some(p_wait) if p_wait > 0.0 && p_mmc > 0.0 && sigma > rho => {
            let exponent = (p_wait / p_mmc).ln() / (sigma / rho).ln();
            if exponent.is_finite() {
                exponent
            } else {
                fitted
            }
        }
        _ => fitted,
    }
}

/// P(wait) of a queue of `servers` fed renewal arrivals when its service is more variable
/// than exponential (c_s² > 1): a variable service hides part of the arrivals' own
/// variability, so that P(wait) lies between GI/M/c's (`exponential_p`) and M/M/c's
/// (`p_mmc`), C·(P_GI/M/c / C)^s. For smooth arrivals (c_a² < 1) at two or more servers s is
/// the share of the arrivals' smoothness that still reaches the number of busy servers,
/// [`hidden_smoothness_share`]: ln P(wait) linear in Halfin and Whitt's x = β/√z between
/// Erlang C (z 1) and GI/M/c (z = (1 + c_a²)/2), z the busy servers' peakedness
/// ([`busy_server_peakedness`](crate::solver::gigc_wait::busy_server_peakedness)); c_s² 2: 0.612,
/// 5: 0.289 behind evenly spaced arrivals. Nothing is fitted. Before, s was the linear
/// 2κ(c_s²) (κ the mean of the shorter of two services,
/// [`shorter_service_share`](crate::solver::gigc_wait::shorter_service_share)), which hid
/// too little behind evenly spaced arrivals (P(wait) 8% to 28% low at c_a² 0, c_s² 2 and 5,
/// `gigc_wait_table`); before that (issue 13, branch `waits`) (c_a² + 1)/(c_a² + c_s²), the
/// Krämer–Langenbach-Belz exponent's dependence on c_a² + c_s² ([`klb_factor`]), which hid
/// too much (+20% to +35% at light load). One server keeps that KLB share (with KLB's ratio
/// on Takács' P(wait) for the mean, in [`renewal_wait`]): the peakedness share is the number
/// of busy servers' and was measured from two servers on; at one server, behind evenly spaced
/// arrivals into c_s² 5, 2κ made P(wait) 8% low at an unchanged mean, so those who wait
/// waited too long (p99 −0.3% → +11.2% at ρ 0.5, GI/G/1 grid). For bursty arrivals s is
/// √((c_a² + 1)/(c_a² + c_s²)) at any number of servers (KLB's factor is 1 there; the root
/// is what a request-by-request simulation of gamma arrivals of c_a² 2 to 9 into 1, 2 and 4
/// servers of c_s² 2 and 5 at ρ 0.1 to 0.85 shows: P(wait) within 4.5% on average, 24% at
/// worst, where GI/M/c's was up to 170% high). Exponential or smoother services keep
/// GI/M/c's.
///
/// ```
/// use staircase::solver::queueing::hidden_variability;
/// assert_eq!(hidden_variability(0.3, 0.1, 0.25, 1.0, 4), 0.1);
/// assert_eq!(hidden_variability(0.3, 0.1, 0.25, 0.0, 4), 0.1);
/// // Four servers: s = 0.3239 (`hidden_smoothness_share`), 0.3·(1/3)^0.3239 = 0.2102.
/// assert!((hidden_variability(0.3, 0.1, 0.25, 5.0, 4) - 0.2102).abs() < 1e-4);
/// // One server: s = 1.25/5.25, 0.3·(1/3)^0.2381 = 0.2309.
/// assert!((hidden_variability(0.3, 0.1, 0.25, 5.0, 1) - 0.2309).abs() < 1e-4);
/// // Bursty: s = √(5/9), 0.1·5^0.7454 = 0.3318, at any number of servers.
/// assert!((hidden_variability(0.1, 0.5, 4.0, 5.0, 4) - 0.3318).abs() < 1e-4);
/// assert_eq!(hidden_variability(0.1, 0.5, 4.0, 5.0, 1), hidden_variability(0.1, 0.5, 4.0, 5.0, 4));
/// ```
pub fn hidden_variability(
    p_mmc: f64,
    exponential_p: f64,
    arrival_scv: f64,
    service_scv: f64,
    servers: u64,
) -> f64 {
    if service_scv <= 1.0 || p_mmc <= 0.0 || exponential_p <= 0.0 {
        return exponential_p;
    }
    let share = if arrival_scv >= 1.0 {
        ((arrival_scv + 1.0) / (arrival_scv + service_scv)).sqrt()
    } else if servers <= 1 {
        (arrival_scv + 1.0) / (arrival_scv + service_scv)
    } else {
        hidden_smoothness_share(arrival_scv, service_scv)
    };
    share_hidden(p_mmc, exponential_p, share)
}

/// C·(P_GI/M/c / C)^s: P(wait) between M/M/c's (`p_mmc`) and GI/M/c's (`exponential_p`) when
/// a share s of the arrivals' own variability reaches it ([`hidden_variability`]).
fn share_hidden(p_mmc: f64, exponential_p: f64, share: f64) -> f64 {
    (p_mmc * (exponential_p / p_mmc).powf(share)).clamp(0.0, 1.0)
}

/// The P(wait) on which the mean wait of smooth renewal arrivals (c_a² < 1) into a service
/// more variable than exponential (c_s² > 1) at two or more servers is built:
/// C·(P_GI/M/c / C)^(2κ(c_s²)), the share of the arrivals' smoothness linear in the busy
/// servers' peakedness (κ the mean of the shorter of two services,
/// [`shorter_service_share`](crate::solver::gigc_wait::shorter_service_share)), which
/// [`hidden_variability`] used for P(wait) itself until
/// [`hidden_smoothness_share`] replaced it. That P(wait) is 8% to 28% low behind evenly spaced
/// arrivals, and those who wait there wait 2% (ρ 0.9) to 18% (2 servers, ρ 0.3) less than
/// GI/M/c's 1/(cμ(1 − σ)) times Kingman's ratio (and [`many_server_wait_factor`]) say (c_a² 0,
/// c_s² 2 and 5, 2 to 32 servers, `gigc_wait_table`; within 1% at c_a² ½, c_s² 2, up to 11%
/// at c_a² ½, c_s² 5): on the P(wait) shown that conditional wait put the mean up to 23%
/// high (c_s² 5, 2 servers, ρ 0.3; +13% at 16 servers, ρ 0.7; mean |error| at c_a² 0 3.7% →
/// 6.3%), so until the conditional wait behind smooth arrivals is modeled the mean keeps this
/// product. The two errors partly cancel; it is not a law of its own.
fn linear_share_delay(p_mmc: f64, exponential_p: f64, service_scv: f64) -> f64 {
    if service_scv <= 1.0 || p_mmc <= 0.0 || exponential_p <= 0.0 {
        return exponential_p;
    }
    let share = 2.0 * crate::solver::gigc_wait::shorter_service_share(service_scv);
    share_hidden(p_mmc, exponential_p, share)
}

/// How much a service of squared coefficient of variation c_s² changes the wait of a queue
/// whose renewal arrivals (c_a²) wait as in GI/M/c with exponential service: Kingman's
/// (c_a² + c_s²)/(c_a² + 1), times the Krämer–Langenbach-Belz factor ([`klb_factor`]) at c_s²
/// relative to the one at exponential service. For smooth arrivals the exact GI/M/c already
/// holds the smoothing that KLB's factor stands for at c_s² = 1; a variable service hides
/// much of that smoothness (its factor tends to 1 as c_s² grows), a constant one keeps more
/// of it. 1 at exponential service; Kingman's ratio alone for Poisson or bursty arrivals.
/// Below ρ 0.1 the factor is the one at ρ 0.1 (KLB's exponent, in 1/ρ, would otherwise make
/// the wait fall as the load rises).
///
/// ```
/// use staircase::solver::queueing::{klb_factor, renewal_service_factor};
/// assert_eq!(renewal_service_factor(0.5, 0.25, 1.0), 1.0);
/// // Every 4th request of a Poisson stream at ρ 0.5 into a service of c_s² 5:
/// // (0.25 + 5)/1.25 · e^(−2·0.5·0.5625/(3·0.5·5.25)) / e^(−2·0.5·0.5625/(3·0.5·1.25)) = 5.279.
/// let factor = renewal_service_factor(0.5, 0.25, 5.0);
/// assert!((factor - 4.2 * klb_factor(0.5, 0.25, 5.0) / klb_factor(0.5, 0.25, 1.0)).abs() < 1e-12);
/// assert!((factor - 5.2786).abs() < 1e-4);
/// // Bursty arrivals: Kingman's ratio, (4 + 0)/(4 + 1).
/// assert_eq!(renewal_service_factor(0.5, 4.0, 0.0), 0.8);
/// ```
pub fn renewal_service_factor(rho: f64, arrival_scv: f64, service_scv: f64) -> f64 {
    let (ca2, cs2) = (arrival_scv.max(0.0), service_scv.max(0.0));
    let kingman = (ca2 + cs2) / (ca2 + 1.0);
    if kingman <= 0.0 {
        return 0.0;
    }
    // KLB's exponent grows as 1/ρ at light load, where the ratio would outgrow the exact
    // GI/M/c wait it scales (the wait would fall as the load rises): held at ρ 0.1 below it.
    let rho = rho.max(KLB_LIGHT_LOAD);
    kingman * klb_factor(rho, ca2, cs2) / klb_factor(rho, ca2, 1.0)
}

/// The utilization below which [`renewal_service_factor`] keeps its value at this one.
const KLB_LIGHT_LOAD: f64 = 0.1;
