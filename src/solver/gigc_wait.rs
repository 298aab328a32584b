//! The conditional wait of a many-server queue (GI/G/c) whose service is not exponential:
//! how much longer (constant service) or shorter (variable service) those who wait wait than
//! the two-moment model's Kingman scaling of the exponential-service wait says.
//!
//! The two-moment model scales the wait of those who wait in M/M/c or GI/M/c by Kingman's
//! ratio (c_a² + c_s²)/(c_a² + 1) (Allen-Cunneen for Poisson arrivals). That is right in
//! heavy traffic and at one server, but away from heavy traffic a many-server queue waits for
//! the first of its c servers to free, and how soon that happens depends on the service's
//! shape: with a constant service the servers that a burst (or a Poisson clump) filled free
//! together after a whole service, while with an exponential one the first of c frees after
//! 1/(cμ); a very variable service frees one of them sooner still. In the light-traffic
//! limit of M/D/c the conditional wait is S/(c + 1) against Kingman's S/(2c), which is what
//! Cosmetatos' M/D/c correction (1 + (1 − ρ)(c − 1)(√(4 + 5c) − 2)/(16ρc)) and Whitt's φ
//! for GI/G/m ("Approximations for the GI/G/m queue", 1993) carry; behind bursty arrivals the
//! servers are filled together more often and the effect is larger.
//!
//! Behind smooth arrivals into a service smoother than exponential, P(wait) itself is here too
//! ([`peaked_delay_probability`]): Takács' GI/M/c value scaled by Halfin and Whitt's
//! many-server limit at the peakedness of the busy servers (how much of the arrivals'
//! smoothness the service passes on to them).

use super::queueing::{gamma_renewal_delay_probability, renewal_share, Arrivals, WaitDist};

/// The utilization below which [`many_server_wait_factor`] keeps its value at this one (its
/// exponent grows as ρ^(−1/4) towards no load, where nobody waits anyway).
const LIGHT_LOAD: f64 = 0.05;

/// How far from 1 a service c² may be and still count as exponential in
/// [`many_server_wait_factor`]: a factor a rounding error from 1 would turn the node's
/// exponential wait into a gamma one (whose percentiles need a numerical inversion) for
/// nothing. The solver's own mix of classes of equal service times gives exactly 1
/// (`traffic::pool_inputs`); this guards callers whose c² comes out of other arithmetic
/// (by second moments it was 0.9999999999999998).
const EXPONENTIAL_SCV_TOLERANCE: f64 = 1e-9;

/// The fitted scale of [`many_server_wait_factor`]'s exponent.
const SCALE: f64 = 0.24;

/// How much the conditional wait of a GI/G/c queue (`servers` c, utilization ρ, arrivals c_a²,
/// service c_s²) differs from the two-moment model's (GI/M/c or M/M/c scaled by Kingman's
/// ratio): the factor exp(a·(1 − 1/c)·√c·(1 − ρ)^(5/4)/ρ^(1/4)), where
/// a = 0.24·(1 − c_s²)/(1 + c_s²) for c_s² ≥ 1 and a = 0.24·(1 − c_s²)/(1 + c_s²)·√(2/(1 + c_a²))
/// for c_s² < 1. It applies whole at any c_a²: behind a smoother service P(wait) of smooth
/// arrivals is [`peaked_share`]'s and behind a more variable one `hidden_variability`'s by the
/// busy servers' peakedness, and the mean follows it (`renewal_wait`; behind a more variable
/// service it follows the linear peakedness share's P(wait), 2κ(c_s²), on which those who
/// wait there come out 2% to 18% long behind evenly spaced arrivals). Before those it was
/// faded out behind smooth arrivals (linearly between c_a² 1 and 0.5), where P(wait) was the
/// larger error (up to 121% high behind a smooth service, the mean up to 60% short behind a
/// variable one) and the factor made the mean worse.
///
/// The form follows the heavy-traffic/light-traffic reasoning of Whitt's GI/G/m
/// approximation: 1 at one server (the G/G/1 wait is Kingman's), at exponential service
/// (M/M/c and GI/M/c exactly) and in heavy traffic, where the Halfin–Whitt parameter
/// √c(1 − ρ) vanishes; growing with it away from heavy traffic. Its exponents (5/4, 1/4),
/// the scale 0.24 and the dependence on c_a² are **fitted**, not derived: to a
/// request-by-request GI/G/c simulation of gamma arrivals into gamma services (2 × 10⁶
/// requests a point, c 2 to 32, ρ 0.1 to 0.9, c_a² 1 to 9, c_s² 0 to 5, the points where at
/// least 2% wait; `gigc_wait_table` in `tests/simulation_property.rs`). There the mean |error|
/// of the mean wait (c_a² ≥ 1) fell from 6.2% to 3.2%, and the conditional wait of those who
/// wait is within about 10% everywhere (it was up to 50% short behind constant and 35% long
/// behind c_s² 5 service). Checked out of sample on points the fit did not see (c 3 to 24,
/// ρ 0.2 to 0.8, c_a² 0.25 to 6, c_s² 0.25 and 3): mean |error| of the mean wait 9.6% → 4.4%
/// (docs/simulation.md).
///
/// ```
/// use staircase::solver::gigc_wait::many_server_wait_factor;
/// // M/M/c and GI/M/c: the exact exponential-service wait is kept, bit for bit.
/// assert_eq!(many_server_wait_factor(0.5, 1.0, 1.0, 16), 1.0);
/// assert_eq!(many_server_wait_factor(0.5, 4.0, 1.0, 16), 1.0);
/// // One server: M/D/1's Pollaczek–Khinchine wait is Kingman's.
/// assert_eq!(many_server_wait_factor(0.5, 1.0, 0.0, 1), 1.0);
/// // M/D/4 at ρ 0.5: Allen-Cunneen's Wq = ½·C(4, 2)/(4 − 2)·S = 0.04348·S is 13% short of the
/// // simulated 0.0498·S; Cosmetatos' M/D/c value is 0.0494·S. With the factor: 0.0521·S.
/// let allen_cunneen = 0.5 * 0.173913 / 2.0;
/// let wait = allen_cunneen * many_server_wait_factor(0.5, 1.0, 0.0, 4);
/// assert!((wait - 0.0521).abs() < 2e-4);
/// ```
pub fn many_server_wait_factor(rho: f64, arrival_scv: f64, service_scv: f64, servers: u64) -> f64 {
    let exponential = (service_scv - 1.0).abs() <= EXPONENTIAL_SCV_TOLERANCE;
    if exponential || servers <= 1 || !(rho > 0.0 && rho < 1.0) {
        return 1.0;
    }
    let (ca2, cs2) = (arrival_scv.max(0.0), service_scv.max(0.0));
    let by_service = (1.0 - cs2) / (1.0 + cs2);
    let by_arrivals = if cs2 < 1.0 {
        (2.0 / (1.0 + ca2)).sqrt()
    } else {
        1.0
    };
    let c = servers as f64;
    let rho = rho.max(LIGHT_LOAD);
    let spread = (1.0 - 1.0 / c) * c.sqrt() * (1.0 - rho).powf(1.25) / rho.powf(0.25);
    (SCALE * by_service * by_arrivals * spread).exp()
}

/// [`many_server_wait_factor`] for arrivals that are only partly a renewal stream
/// ([`Arrivals::renewal`]): the factor applies in the renewal share and not at all to the rest
/// (the departures of queues, whose waits further on the two-moment model takes as before:
/// on the survey of random networks the factor there moved as many figures out of tolerance
/// as into it). Poisson arrivals (c_a² 1) take it whole.
///
/// ```
/// use staircase::solver::gigc_wait::{arrivals_wait_factor, many_server_wait_factor};
/// use staircase::solver::queueing::Arrivals;
/// let whole = many_server_wait_factor(0.5, 4.0, 0.0, 8);
/// assert_eq!(arrivals_wait_factor(0.5, Arrivals { scv: 4.0, renewal: 1.0 }, 0.0, 8), whole);
/// assert_eq!(arrivals_wait_factor(0.5, Arrivals { scv: 4.0, renewal: 0.0 }, 0.0, 8), 1.0);
/// let half = arrivals_wait_factor(0.5, Arrivals { scv: 4.0, renewal: 0.5 }, 0.0, 8);
/// assert!((half - (1.0 + whole) / 2.0).abs() < 1e-12);
/// ```
pub fn arrivals_wait_factor(rho: f64, arrivals: Arrivals, service_scv: f64, servers: u64) -> f64 {
    let factor = many_server_wait_factor(rho, arrivals.scv, service_scv, servers);
    if arrivals.scv == 1.0 || factor == 1.0 {
        return factor;
    }
    1.0 + arrivals.renewal.clamp(0.0, 1.0) * (factor - 1.0)
}

/// The wait of those who wait after [`many_server_wait_factor`] (`factor`) scaled its mean:
/// the variance of the two-moment model's conditional wait is kept, so its squared
/// coefficient of variation is divided by the factor squared. What the factor adds is the
/// wait for the first of servers filled together to free, at most about a service time: it
/// shifts the wait more than it spreads it (behind a constant service and bursty arrivals,
/// keeping the shape instead put p99 up to 17% high once the mean was right). A gamma wait
/// stays gamma; an exponential one becomes a gamma of shape factor²; other shapes, and a
/// factor of 1, are returned unchanged.
///
/// ```
/// use staircase::solver::gigc_wait::spread_wait;
/// use staircase::solver::queueing::WaitDist;
/// let wait = WaitDist::Gamma { p_wait: 0.4, shape: 1.25, rate: 2.5 };
/// assert_eq!(spread_wait(wait.clone(), 1.0), wait);
/// // Twice the mean (the factor is already in it): 4 times the shape, the same variance.
/// let WaitDist::Gamma { p_wait, shape, rate } = spread_wait(wait, 2.0) else { panic!() };
/// assert_eq!((p_wait, shape, rate), (0.4, 5.0, 10.0));
/// ```
pub fn spread_wait(wait: WaitDist, factor: f64) -> WaitDist {
    if factor == 1.0 || !(factor > 0.0 && factor.is_finite()) {
        return wait;
    }
    let squared = factor * factor;
    match wait {
        WaitDist::Gamma {
            p_wait,
            shape,
            rate,
        } => WaitDist::Gamma {
            p_wait,
            shape: shape * squared,
            rate: rate * squared,
        },
        WaitDist::Exponential { p_wait, rate } => WaitDist::Gamma {
            p_wait,
            shape: squared,
            rate: rate * squared,
        },
        other => other,
    }
}

/// The mean of the shorter of two independent services, in mean services, for a gamma
/// service of squared coefficient of variation c_s² (constant at 0): κ = E\[min(S₁, S₂)\]/E\[S\] =
/// 1 − ½·E|S₁ − S₂|/E\[S\], with Gini's mean difference of a gamma of shape k = 1/c_s²,
/// E|S₁ − S₂| = 2θ·Γ(k + ½)/(√π·Γ(k)) (scale θ = c_s²·E\[S\]). It is 1 for a constant service,
/// ½ for an exponential one and falls towards 0 as the service gets more variable. It is
/// μ∫(1 − G(t))² dt, the weight by which the service passes the arrivals' variability to the
/// number of busy servers of GI/G/∞ ([`busy_server_peakedness`]).
///
/// ```
/// use staircase::solver::gigc_wait::shorter_service_share;
/// assert_eq!(shorter_service_share(0.0), 1.0);
/// // Exponential: the shorter of two is exponential at twice the rate.
/// assert!((shorter_service_share(1.0) - 0.5).abs() < 1e-9);
/// // Erlang-2 (c_s² ½): 1 − ½·Γ(2.5)/(√π·Γ(2)) = 1 − 3/8.
/// assert!((shorter_service_share(0.5) - 0.625).abs() < 1e-9);
/// ```
pub fn shorter_service_share(service_scv: f64) -> f64 {
    if service_scv.is_nan() || service_scv <= 0.0 {
        return 1.0;
    }
    let shape = 1.0 / service_scv;
    let mean_difference = 2.0 * service_scv * gamma_half_ratio(shape) / std::f64::consts::PI.sqrt();
    (1.0 - mean_difference / 2.0).clamp(0.0, 1.0)
}

/// Γ(k + ½)/Γ(k) for k > 0: by Γ(x + 1) = xΓ(x) up to k ≥ 20, then its asymptotic series
/// √k·(1 − 1/(8k) + 1/(128k²) + 5/(1024k³) − 21/(32768k⁴)) (relative error below 10⁻¹⁰).
fn gamma_half_ratio(shape: f64) -> f64 {
    let (mut k, mut product) = (shape, 1.0);
    while k < 20.0 {
        product *= k / (k + 0.5);
        k += 1.0;
    }
    let series = 1.0 - 1.0 / (8.0 * k) + 1.0 / (128.0 * k * k) + 5.0 / (1024.0 * k.powi(3))
        - 21.0 / (32768.0 * k.powi(4));
    product * k.sqrt() * series
}

/// The peakedness of the number of busy servers of GI/G/∞ fed the same arrivals as the queue:
/// its variance over its mean, z = 1 + (c_a² − 1)·κ with κ = [`shorter_service_share`]
/// (Whitt, "Heavy-traffic approximations for service systems with blocking", 1984; the
/// variance of GI/G/∞ in heavy traffic). Poisson arrivals give 1 at any service (M/G/∞'s
/// count is Poisson), exponential service (1 + c_a²)/2, a constant one c_a² (the count of
/// arrivals within one service).
///
/// ```
/// use staircase::solver::gigc_wait::busy_server_peakedness;
/// assert_eq!(busy_server_peakedness(1.0, 0.0), 1.0);
/// assert!((busy_server_peakedness(4.0, 1.0) - 2.5).abs() < 1e-9);
/// assert_eq!(busy_server_peakedness(0.5, 0.0), 0.5);
/// ```
pub fn busy_server_peakedness(arrival_scv: f64, service_scv: f64) -> f64 {
    (1.0 + (arrival_scv.max(0.0) - 1.0) * shorter_service_share(service_scv)).max(0.0)
}

/// The share s of smooth renewal arrivals' (c_a² < 1) smoothness that still reaches the
/// number of busy servers of a many-server queue whose service is more variable than
/// exponential (c_s² > 1), as the exponent of `hidden_variability`'s C·(P_GI/M/c / C)^s.
/// That power law interpolates ln P(wait) between two exact values: Erlang C, where the
/// busy servers are as peaked as a Poisson count (z = 1: Poisson arrivals at any service),
/// and Takács' GI/M/c value, at the peakedness z_M = (1 + c_a²)/2 of an exponential service
/// ([`busy_server_peakedness`]). In Halfin and Whitt's many-server limit P(wait) depends on
/// the peakedness only through x = β/√z (β = √c(1 − ρ): the spare servers in standard
/// deviations of the busy ones), and near heavy traffic ln α(x) = −ln(1 + xΦ(x)/φ(x)) is
/// linear in x (−x·√(π/2)). Taking ln P(wait) linear in x between the two exact ends, the
/// queue's own peakedness z_G gives s = (x_G − x_1)/(x_M − x_1) = (z_G^(−½) − 1)/(z_M^(−½) − 1),
/// the same at every load and server count (β cancels). With 1/√z − 1 = (1 − z)/(√z(1 + √z))
/// and (1 − z_G)/(1 − z_M) = κ(c_s²)/κ(1) = 2κ(c_s²) (κ = [`shorter_service_share`]) that is
/// s = 2κ(c_s²)·√z_M(1 + √z_M)/(√z_G(1 + √z_G)), without cancellation near Poisson arrivals.
/// Nothing is fitted. Before (issue 13, session 13) s was 2κ(c_s²) itself, the first-order
/// term about z = 1 (linear in z), which is right near Poisson arrivals but, behind evenly
/// spaced ones (z_M = ½), hid too little: shares 0.727, 0.574, 0.405 at c_s² 2, 3, 5 where
/// the GI/G/c simulation's effective share is 0.60, 0.45, 0.30; this one gives 0.612, 0.445,
/// 0.289 (at c_a² ½: 0.682, 0.520, 0.354). 1 at Poisson or bursty arrivals and at exponential
/// or smoother services (where it is not used).
///
/// ```
/// use staircase::solver::gigc_wait::{hidden_smoothness_share, shorter_service_share};
/// // Evenly spaced arrivals into c_s² 5: z_M = ½, z_G = 1 − κ(5) (κ(1) = ½ within 10⁻⁹).
/// let kappa = shorter_service_share(5.0);
/// let root = |z: f64| 1.0 / z.sqrt() - 1.0;
/// let direct = root(1.0 - kappa) / root(0.5);
/// assert!((hidden_smoothness_share(0.0, 5.0) - direct).abs() < 1e-9);
/// assert!((hidden_smoothness_share(0.0, 5.0) - 0.2890).abs() < 1e-4);
/// // Towards Poisson arrivals it tends to the linear share 2κ(c_s²).
/// assert!((hidden_smoothness_share(1.0 - 1e-12, 5.0) - 2.0 * kappa).abs() < 1e-9);
/// assert_eq!(hidden_smoothness_share(2.0, 5.0), 1.0);
/// assert_eq!(hidden_smoothness_share(0.5, 1.0), 1.0);
/// ```
pub fn hidden_smoothness_share(arrival_scv: f64, service_scv: f64) -> f64 {
    if !(arrival_scv < 1.0 && service_scv > 1.0) {
        return 1.0;
    }
    let z_queue = busy_server_peakedness(arrival_scv, service_scv);
    let z_exponential = busy_server_peakedness(arrival_scv, 1.0);
    let spread = |z: f64| z.sqrt() * (1.0 + z.sqrt());
    let share = 2.0 * shorter_service_share(service_scv) * spread(z_exponential) / spread(z_queue);
    if share.is_finite() {
        share.clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// The logarithm of Halfin and Whitt's many-server limit of P(wait),
/// ln(1/(1 + x·Φ(x)/φ(x))) at x = β/√z (β = √c(1 − ρ), z the peakedness of the busy
/// servers; Φ, φ the standard normal distribution and density), in logarithms so that it
/// neither overflows nor reaches 0 far from heavy traffic: x·Φ(x)/φ(x) =
/// e^(ln x + ½ln 2π + x²/2 + ln Φ(x)).
fn log_halfin_whitt_delay(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 0.0;
    }
    let log_normal_cdf = (libm::erfc(-x / std::f64::consts::SQRT_2) / 2.0).ln();
    let exponent = x.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln() + x * x / 2.0 + log_normal_cdf;
    // −ln(1 + e^exponent), without overflow.
    if exponent > 0.0 {
        -(exponent + (-exponent).exp().ln_1p())
    } else {
        -exponent.exp().ln_1p()
    }
}

/// P(wait) of GI/G/c with gamma arrivals (c_a²) and a gamma service (c_s²) at utilization ρ:
/// the exact GI/M/c value (Takács, [`gamma_renewal_delay_probability`]) scaled by how much
/// the service changes the many-server limit of P(wait), Halfin and Whitt's
/// α(β/√z) = 1/(1 + xΦ(x)/φ(x)) at x = β/√z, β = √c(1 − ρ), z the peakedness of the busy
/// servers ([`busy_server_peakedness`]): P ≈ P_GI/M/c · α(β/√z_G)/α(β/√z_M), z_G with the
/// queue's service and z_M = (1 + c_a²)/2 with an exponential one. Whether an arrival finds
/// every server busy depends on how the number of busy servers spreads around its mean cρ;
/// the service decides how much of the arrivals' variability reaches that number (all of it
/// behind a constant service, half behind an exponential one, little behind a very variable
/// one). Exact for exponential service (the ratio is 1) and for D/D/c (z 0: nobody waits);
/// Erlang C for Poisson arrivals at any service (z 1), the usual M/G/c value.
///
/// ```
/// use staircase::solver::gigc_wait::peaked_delay_probability;
/// use staircase::solver::queueing::{erlang_c, gamma_renewal_delay_probability};
/// // GI/M/c: Takács' value itself.
/// let exact = gamma_renewal_delay_probability(0.5, 4.0, 16);
/// assert!((peaked_delay_probability(0.5, 4.0, 1.0, 16) - exact).abs() < 1e-12);
/// // M/G/c: Erlang C.
/// assert!((peaked_delay_probability(0.7, 1.0, 0.0, 8) - erlang_c(8, 5.6)).abs() < 1e-12);
/// // D/D/c: nobody waits.
/// assert_eq!(peaked_delay_probability(0.7, 0.0, 0.0, 8), 0.0);
/// // Gamma arrivals of c_a² ½ into 16 constant servers at ρ 0.7: Takács (exponential
/// // service) 0.0779, simulated 0.0352; here 0.0396.
/// let p = peaked_delay_probability(0.7, 0.5, 0.0, 16);
/// assert!((p - 0.0396).abs() < 5e-4, "{p}");
/// ```
pub fn peaked_delay_probability(rho: f64, arrival_scv: f64, service_scv: f64, servers: u64) -> f64 {
    let exponential = gamma_renewal_delay_probability(rho, arrival_scv, servers);
    if !(rho > 0.0 && rho < 1.0) {
        return exponential;
    }
    let z_queue = busy_server_peakedness(arrival_scv, service_scv);
    let z_exponential = busy_server_peakedness(arrival_scv, 1.0);
    if z_queue <= 0.0 {
        return 0.0;
    }
    let beta = (servers.max(1) as f64).sqrt() * (1.0 - rho);
    let log_ratio = log_halfin_whitt_delay(beta / z_queue.sqrt())
        - log_halfin_whitt_delay(beta / z_exponential.sqrt());
    // In logarithms: far from heavy traffic the ratio may overflow where Takács' value
    // underflows (bursty arrivals into a constant service).
    if exponential.is_nan() || exponential <= 0.0 {
        return 0.0;
    }
    (exponential.ln() + log_ratio).exp().clamp(0.0, 1.0)
}

/// P(wait) of a queue fed a smooth renewal stream (c_a² < 1, wholly or in part: `arrivals`)
/// through a service smoother than exponential (c_s² < 1), given the model's value before
/// (`p_wait`, Takács' GI/M/c value, which leaves out that a smooth service keeps the busy
/// servers as even as the arrivals): [`peaked_delay_probability`] in the share of the stream
/// that is a renewal one beyond 0.95 (`renewal_share`) (the departures of queues keep `p_wait`,
/// as in `renewal_delay_probability`), linearly between. Everything else keeps `p_wait`:
/// bursty arrivals (there the fitted C^(ln σ/ln ρ) blend of `renewal_delay_probability` and
/// `hidden_variability` are nearer the simulation: behind a constant service the peaked
/// form's mean |error| of P(wait) is 8.9% against 5.4%), and services more variable than
/// exponential (peakedness says they hide more of the arrivals' smoothness than they do:
/// 17% against 8% at c_s² 5); `gigc_peaked_delay_table` in `tests/simulation_property.rs`.
///
/// ```
/// use staircase::solver::gigc_wait::{peaked_delay_probability, peaked_share};
/// use staircase::solver::queueing::Arrivals;
/// let smooth = Arrivals { scv: 0.5, renewal: 1.0 };
/// let peaked = peaked_delay_probability(0.7, 0.5, 0.0, 16);
/// assert_eq!(peaked_share(0.078, 0.7, smooth, 0.0, 16), peaked);
/// let departures = Arrivals { scv: 0.5, renewal: 0.5 };
/// assert_eq!(peaked_share(0.078, 0.7, departures, 0.0, 16), 0.078);
/// assert_eq!(peaked_share(0.078, 0.7, smooth, 1.0, 16), 0.078);
/// assert_eq!(peaked_share(0.078, 0.7, smooth, 2.0, 16), 0.078);
/// let bursty = Arrivals { scv: 4.0, renewal: 1.0 };
/// assert_eq!(peaked_share(0.2, 0.5, bursty, 0.0, 16), 0.2);
/// ```
pub fn peaked_share(
    p_wait: f64,
    rho: f64,
    arrivals: Arrivals,
    service_scv: f64,
    servers: u64,
) -> f64 {
    let share = peaked_weight(arrivals, service_scv);
    if share == 0.0 {
        return p_wait;
    }
    let peaked = peaked_delay_probability(rho, arrivals.scv, service_scv, servers);
    p_wait + share * (peaked - p_wait)
}

/// How much of a queue's P(wait) [`peaked_share`] takes from [`peaked_delay_probability`]:
/// the renewal share of the stream beyond 0.95 (`renewal_share`, 0 to 1) for smooth arrivals
/// (c_a² < 1) into a service smoother than exponential (c_s² < 1), 0 elsewhere. Where it is
/// above 0 the mean wait follows that P(wait) too (`renewal_wait`: those who wait wait as in
/// GI/M/c scaled by Kingman's ratio, as behind bursty arrivals).
///
/// ```
/// use staircase::solver::gigc_wait::peaked_weight;
/// use staircase::solver::queueing::Arrivals;
/// assert_eq!(peaked_weight(Arrivals { scv: 0.5, renewal: 1.0 }, 0.0), 1.0);
/// assert_eq!(peaked_weight(Arrivals { scv: 0.5, renewal: 0.975 }, 0.0), 0.5);
/// assert_eq!(peaked_weight(Arrivals { scv: 0.5, renewal: 0.5 }, 0.0), 0.0);
/// assert_eq!(peaked_weight(Arrivals { scv: 2.0, renewal: 1.0 }, 0.0), 0.0);
/// assert_eq!(peaked_weight(Arrivals { scv: 0.5, renewal: 1.0 }, 1.0), 0.0);
/// ```
pub fn peaked_weight(arrivals: Arrivals, service_scv: f64) -> f64 {
    let smoother = service_scv < 1.0 - EXPONENTIAL_SCV_TOLERANCE;
    if !(arrivals.scv < 1.0 && smoother) {
        return 0.0;
    }
    renewal_share(arrivals.renewal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_service_waits_longer_and_variable_shorter() {
        let constant = many_server_wait_factor(0.5, 4.0, 0.0, 16);
        let variable = many_server_wait_factor(0.5, 4.0, 5.0, 16);
        assert!(constant > 1.3 && constant < 1.6, "{constant}");
        assert!(variable > 0.6 && variable < 0.8, "{variable}");
        // Heavy traffic: Kingman's scaling is kept.
        assert!((many_server_wait_factor(0.999, 4.0, 0.0, 16) - 1.0).abs() < 1e-3);
        // More servers, further from heavy traffic: a larger correction.
        assert!(many_server_wait_factor(0.5, 4.0, 0.0, 32) > constant);
    }

    #[test]
    fn a_rounding_error_from_exponential_service_keeps_the_exponential_wait() {
        // The c² of two classes of equal service times, from their moments.
        for service_scv in [0.9999999999999998, 1.0000000000000009] {
            assert_eq!(many_server_wait_factor(0.5, 1.0, service_scv, 8), 1.0);
            let wait = WaitDist::Exponential {
                p_wait: 0.3,
                rate: 50.0,
            };
            let factor = many_server_wait_factor(0.5, 1.0, service_scv, 8);
            assert_eq!(spread_wait(wait.clone(), factor), wait);
        }
        // A service that is really not exponential still moves the wait.
        assert!(many_server_wait_factor(0.5, 1.0, 1.0001, 8) < 1.0);
    }

    #[test]
    fn continuous_across_poisson_arrivals() {
        let below = many_server_wait_factor(0.4, 1.0 - 1e-9, 0.0, 8);
        let at = many_server_wait_factor(0.4, 1.0, 0.0, 8);
        assert!((below - at).abs() < 1e-6);
    }

    #[test]
    fn peaked_delay_is_continuous_into_exponential_service_and_poisson_arrivals() {
        use crate::solver::queueing::erlang_c;
        for servers in [1_u64, 2, 8, 32] {
            for rho in [0.1, 0.5, 0.9] {
                let takacs = gamma_renewal_delay_probability(rho, 0.5, servers);
                let near = peaked_delay_probability(rho, 0.5, 1.0 - 1e-9, servers);
                assert!(
                    (near - takacs).abs() < 1e-6 * takacs.max(1e-12),
                    "{near} {takacs}"
                );
                let c = erlang_c(servers, rho * servers as f64);
                let near = peaked_delay_probability(rho, 1.0 - 1e-9, 0.0, servers);
                assert!((near - c).abs() < 1e-6 * c.max(1e-12), "{near} {c}");
            }
        }
    }

    #[test]
    fn a_smoother_service_waits_less_often_behind_smooth_arrivals() {
        let exponential = peaked_delay_probability(0.7, 0.5, 1.0, 16);
        let erlang = peaked_delay_probability(0.7, 0.5, 0.5, 16);
        let constant = peaked_delay_probability(0.7, 0.5, 0.0, 16);
        assert!(constant < erlang && erlang < exponential);
        // Simulated (gigc_wait_table): 0.0352 behind the constant service.
        assert!((constant / 0.0352 - 1.0).abs() < 0.15, "{constant}");
    }

    #[test]
    fn peaked_delay_stays_finite_far_from_heavy_traffic() {
        for servers in [1_u64, 64, 100_000] {
            for rho in [1e-9, 0.01, 0.999_999] {
                for (ca2, cs2) in [
                    (0.0, 0.0),
                    (0.01, 0.99),
                    (0.9, 0.0),
                    (9.0, 0.0),
                    (0.5, 25.0),
                ] {
                    let p = peaked_delay_probability(rho, ca2, cs2, servers);
                    assert!((0.0..=1.0).contains(&p), "{servers} {rho} {ca2} {cs2}: {p}");
                }
            }
        }
    }

    #[test]
    fn shorter_service_share_matches_a_numerical_integral() {
        // κ = ∫ (1 − G(t))² dt for a mean-1 Erlang-3 service (c_s² 1/3), by the trapezoid rule.
        let survival = |t: f64| (-3.0 * t).exp() * (1.0 + 3.0 * t + 4.5 * t * t);
        let step = 1e-4;
        let integral: f64 = (0..200_000)
            .map(|i| {
                let t = (i as f64 + 0.5) * step;
                survival(t).powi(2) * step
            })
            .sum();
        assert!((shorter_service_share(1.0 / 3.0) - integral).abs() < 1e-6);
    }
}
