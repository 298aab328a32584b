//! Queueing formulas: Erlang B/C, M/M/c, M/M/c/K, Allen-Cunneen, fluid overload, and the
//! response-time distributions (closed form or by numerical Laplace-transform inversion).
//!
//! Every function here is pure and works in seconds and requests per second.

use super::gigc_wait::{
    arrivals_wait_factor, hidden_smoothness_share, many_server_wait_factor, peaked_share,
    peaked_weight, spread_wait,
};
use super::light_traffic::{ordered_delay_probability, ordered_wait_scv};
use num_complex::Complex64;
use std::f64::consts::PI;

/// Erlang B: the probability that an arrival finds all `servers` busy in an M/M/c/c loss system
/// offered `offered_load` erlangs (a = λ/μ), by the numerically stable recursion
/// B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)).
///
/// For very large loads the recursion starts 12 standard deviations below `a`, where the
/// influence of the starting value has decayed by e^{−72} (far below double precision), so
/// the cost is O(√a).
///
/// ```
/// // Textbook value: a = 2 erlangs on 3 servers gives B = (8/6) / (1 + 2 + 2 + 8/6) = 4/19.
/// let b = staircase::solver::queueing::erlang_b(3, 2.0);
/// assert!((b - 4.0 / 19.0).abs() < 1e-12);
/// ```
pub fn erlang_b(servers: u64, offered_load: f64) -> f64 {
    if offered_load <= 0.0 {
        return if servers == 0 { 1.0 } else { 0.0 };
    }
    let spread = poisson_spread(offered_load);
    let start = (offered_load - spread).floor().max(0.0) as u64;
    if (servers as f64) > offered_load + spread {
        // The Poisson tail beyond 12 standard deviations is below 1e-31.
        return 0.0;
    }
    let mut inverse = 1.0; // 1/B(start), exact when start = 0, forgotten geometrically otherwise
    for k in (start + 1)..=servers {
        inverse = 1.0 + (k as f64 / offered_load) * inverse;
    }
    1.0 / inverse
}

/// Twelve standard deviations of a Poisson count of mean `load`, plus a margin: beyond this,
/// its probabilities are below e^{−72} of the largest.
fn poisson_spread(load: f64) -> f64 {
    12.0 * load.sqrt() + 50.0
}

/// R = Σ_{n<c} (aⁿ/n!) / (aᶜ/c!): the weight of the states with an idle server relative to
/// the state with all `servers` busy, in an Erlang loss or delay system offered `load` = a.
/// By R_k = (k/a)(1 + R_{k−1}) from 12 standard deviations below a (the start is forgotten
/// as in [`erlang_b`]), or, when c is far below a, as the series c/a + c(c−1)/a² + … whose
/// terms fall geometrically. Infinite when c is so far above a that all-busy never happens.
/// Costs O(√a).
///
/// ```
/// // a = 2 on c = 3: (1 + 2 + 2)/(8/6) = 3.75; Erlang B is 1/(1 + R) = 4/19.
/// let r = staircase::solver::queueing::idle_weight_ratio(3, 2.0);
/// assert!((r - 3.75).abs() < 1e-12);
/// ```
pub fn idle_weight_ratio(servers: u64, load: f64) -> f64 {
    let c = servers as f64;
    let spread = poisson_spread(load);
    if c > load + spread {
        return f64::INFINITY;
    }
    let start = (load - spread).floor().max(0.0);
    if c <= start {
        // Far overloaded: each term is the last times (c − m)/a < 1.
        let (mut term, mut sum) = (1.0, 0.0);
        for m in 0..servers {
            term *= (c - m as f64) / load;
            sum += term;
            if term <= 1e-17 * sum {
                break;
            }
        }
        return sum;
    }
    let mut ratio = 0.0;
    for k in (start as u64 + 1)..=servers {
        ratio = (k as f64 / load) * (1.0 + ratio);
    }
    ratio
}

/// A logarithm held as k·L + rest, for a whole k and the log ratio L of a geometric sum: two
/// such logs of long sums differ by (k₁ − k₂)·L + (rest₁ − rest₂) without the rounding of
/// two numbers near 10⁶·L.
#[derive(Clone, Copy, Debug, PartialEq)]
struct SplitLog {
    powers: f64,
    rest: f64,
}

impl SplitLog {
    /// L^powers alone (ln ρ^i = i·L).
    fn power(powers: u64) -> SplitLog {
        SplitLog {
            powers: powers as f64,
            rest: 0.0,
        }
    }

    fn value(self, log_ratio: f64) -> f64 {
        if self.powers == 0.0 {
            self.rest
        } else {
            self.powers * log_ratio + self.rest
        }
    }

    /// e^{self − other}.
    fn ratio_to(self, other: SplitLog, log_ratio: f64) -> f64 {
        let powers = self.powers - other.powers;
        let from_powers = if powers == 0.0 {
            0.0
        } else {
            powers * log_ratio
        };
        (from_powers + (self.rest - other.rest)).exp()
    }
}

/// ln Σ_{i<m} e^{i·L}: the log of a geometric sum of m terms of ratio e^L, without overflow
/// for long sums that grow and without cancellation near ratio 1 (−∞ for m = 0).
fn log_geometric_sum(terms: u64, log_ratio: f64) -> SplitLog {
    let m = terms as f64;
    let rest = |rest: f64| SplitLog { powers: 0.0, rest };
    if terms == 0 {
        rest(f64::NEG_INFINITY)
    } else if log_ratio == 0.0 {
        rest(m.ln())
    } else if log_ratio < 0.0 {
        rest(((m * log_ratio).exp_m1() / log_ratio.exp_m1()).ln())
    } else {
        SplitLog {
            powers: m - 1.0,
            rest: (-(-m * log_ratio).exp_m1()).ln() - (-(-log_ratio).exp_m1()).ln(),
        }
    }
}

/// Mean of i on 0..=m with P(i) ∝ e^{i·L} (a geometric distribution cut at m):
/// 1/(e^{−L} − 1) − (m + 1)/(e^{−(m+1)L} − 1), by its series m/2 + m(m+2)L/12 near L = 0.
fn truncated_geometric_mean(m: u64, log_ratio: f64) -> f64 {
    let m = m as f64;
    let x = log_ratio;
    if m == 0.0 {
        0.0
    } else if (x * (m + 1.0)).abs() < 1e-3 {
        m / 2.0 + m * (m + 2.0) * x / 12.0
    } else {
        1.0 / (-x).exp_m1() - (m + 1.0) / (-(m + 1.0) * x).exp_m1()
    }
}

/// e^x − 1 for a complex x, by its series near 0.
fn exp_m1(x: Complex64) -> Complex64 {
    if x.norm() < 1e-5 {
        x * (x * (x / 6.0 + 0.5) + 1.0)
    } else {
        x.exp() - 1.0
    }
}

/// Σ_{i<m} (ρz)ⁱ / Σ_{i<m} ρⁱ for ρ = e^{log_ratio} and |z| ≤ 1 (so the result stays
/// bounded), with `scale` = [`log_geometric_sum`] of the denominator.
fn scaled_geometric_sum(
    terms: u64,
    log_z: Complex64,
    log_ratio: f64,
    scale: SplitLog,
) -> Complex64 {
    let m = terms as f64;
    let l = log_z + log_ratio;
    if terms == 0 {
        Complex64::new(0.0, 0.0)
    } else if l.norm() < 1e-300 {
        Complex64::new(m * (-scale.value(log_ratio)).exp(), 0.0)
    } else if l.re > 0.0 {
        // (ρz)^{m−1} / ρ^{powers} = z^{m−1}·ρ^{m−1−powers}.
        let exponent = log_z * (m - 1.0) + (m - 1.0 - scale.powers) * log_ratio - scale.rest;
        exponent.exp() * (-exp_m1(-l * m)) / (-exp_m1(-l))
    } else {
        exp_m1(l * m) / exp_m1(l) * (-scale.value(log_ratio)).exp()
    }
}

/// Erlang C: the probability that an arrival has to wait in an M/M/c queue,
/// C = c·B / (c − a·(1 − B)) with B the Erlang B value. Requires a < c; returns 1 otherwise.
///
/// ```
/// // Textbook value: c = 2 servers, a = 1 erlang gives C = 1/3.
/// let c = staircase::solver::queueing::erlang_c(2, 1.0);
/// assert!((c - 1.0 / 3.0).abs() < 1e-12);
/// ```
pub fn erlang_c(servers: u64, offered_load: f64) -> f64 {
    let c = servers as f64;
    if offered_load >= c {
        return 1.0;
    }
    let b = erlang_b(servers, offered_load);
    let denominator = c - offered_load * (1.0 - b);
    (c * b / denominator).clamp(0.0, 1.0)
}

/// Shape of a service-time distribution with a given mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ServiceShape {
    /// Coefficient of variation 1 (the M in M/M/c).
    Exponential,
    /// Coefficient of variation 0.
    Deterministic,
    /// Gamma with the given shape k = 1/cv².
    Gamma(f64),
    /// Lognormal with the given cv (its transform: [`super::delays::lognormal_lst`]).
    Lognormal(f64),
}

impl ServiceShape {
    /// The shape with coefficient of variation `cv` (0 deterministic, 1 exponential).
    pub fn from_cv(cv: f64) -> Self {
        if cv == 1.0 {
            ServiceShape::Exponential
        } else if cv == 0.0 {
            ServiceShape::Deterministic
        } else {
            ServiceShape::Gamma(1.0 / (cv * cv))
        }
    }

    /// The shape of family `family` with coefficient of variation `cv`: gamma (as
    /// [`ServiceShape::from_cv`]), or lognormal at any cv above 0.
    pub fn from_cv_family(cv: f64, family: crate::model::ServiceFamily) -> Self {
        match family {
            crate::model::ServiceFamily::Lognormal if cv > 0.0 => ServiceShape::Lognormal(cv),
            _ => ServiceShape::from_cv(cv),
        }
    }

    /// Squared coefficient of variation of a service time with this shape.
    pub fn scv(self) -> f64 {
        match self {
            ServiceShape::Exponential => 1.0,
            ServiceShape::Deterministic => 0.0,
            ServiceShape::Gamma(shape) => 1.0 / shape,
            ServiceShape::Lognormal(cv) => cv * cv,
        }
    }

    /// Laplace–Stieltjes transform E[e^{−sS}] of a service time with this shape and `mean`.
    pub fn lst(self, mean: f64, s: Complex64) -> Complex64 {
        match self {
            ServiceShape::Exponential => Complex64::new(1.0, 0.0) / (s * mean + 1.0),
            ServiceShape::Deterministic => (-s * mean).exp(),
            ServiceShape::Gamma(shape) => gamma_lst(s * (mean / shape), shape),
            ServiceShape::Lognormal(cv) => super::delays::lognormal_lst(mean, cv, s),
        }
    }
}

/// (1 + x)^(−shape) for Re x > −1: the transform of a gamma distribution of `shape` at
/// x = s/θ. By the principal logarithm, |1 + x|^(−shape)·e^{−i·shape·arg(1 + x)}, with one
/// logarithm of the squared modulus instead of a hypotenuse, and the phase's sine and cosine
/// taken together.
///
/// ```
/// # use num_complex::Complex64;
/// # use staircase::solver::queueing::gamma_lst;
/// // Erlang-2 with rate 1 per stage at s = 1: (1/2)² = 1/4.
/// let value = gamma_lst(Complex64::new(1.0, 0.0), 2.0);
/// assert!((value - Complex64::new(0.25, 0.0)).norm() < 1e-15);
/// ```
pub fn gamma_lst(x: Complex64, shape: f64) -> Complex64 {
    let base = x + 1.0;
    let magnitude = (-0.5 * shape * base.norm_sqr().ln()).exp();
    let (sin, cos) = (-shape * base.im.atan2(base.re)).sin_cos();
    Complex64::new(magnitude * cos, magnitude * sin)
}

/// Distribution of the time an accepted request waits before service starts.
#[derive(Clone, Debug, PartialEq)]
pub enum WaitDist {
    /// Never waits.
    Zero,
    /// Waits with probability `p_wait`, then for an exponential time with `rate`
    /// (exact for M/M/c, where p_wait is Erlang C and rate = cμ − λ).
    Exponential { p_wait: f64, rate: f64 },
    /// Waits for `j` exponential stages of `stage_rate` with probability `stage_probs[j-1]`
    /// (exact for M/M/c/K: an arrival finding n ≥ c present waits n − c + 1 departures).
    ErlangMix {
        stage_probs: Vec<f64>,
        stage_rate: f64,
    },
    /// Fluid overload: with probability `p_wait`, a wait uniform between 0 and `max`, cut off
    /// at `cap` (`cap` = `max` for no cut-off). A queue overloaded over the horizon has
    /// `p_wait` 1 and `cap` = `max`; the cut-off and the probability describe the parts of
    /// that wait spent in front of and behind a connection limit.
    Uniform { p_wait: f64, max: f64, cap: f64 },
    /// Waits with probability `p_wait` for j of `stages` exponential stages of `stage_rate`,
    /// P(j) ∝ ratio^{j−1} for j = 1..=stages: the M/M/c/K wait (ratio ρ, stages K − c) in
    /// closed form, so that a long buffer costs no more than a short one.
    Geometric {
        p_wait: f64,
        ratio: f64,
        stages: u64,
        stage_rate: f64,
    },
    /// Waits with probability `p_wait` for a geometric number of exponential stages
    /// (P(j stages) = (1 − ratio)·ratio^{j−1}, each of rate `stage_rate`), but for at most
    /// `cap` stages: the wait inside a database that holds `cap` more requests than it has
    /// servers, when the rest wait for a connection in front of it.
    CappedStages {
        p_wait: f64,
        ratio: f64,
        stage_rate: f64,
        cap: u64,
    },
    /// One of several waits, each with its weight (the weights add up to 1): a blend of
    /// shapes, e.g. the random and the fluid part of a wait at the edge of an overload.
    Mixture(Vec<(f64, WaitDist)>),
    /// Waits with probability `p_wait`, then for a gamma time of `shape` and `rate` (mean
    /// shape/rate, squared coefficient of variation 1/shape): a wait fitted by its first two
    /// moments where the service is not exponential ([`conditional_wait_scv`]).
    Gamma { p_wait: f64, shape: f64, rate: f64 },
    /// Waits with probability `p_wait`, then for the M/G/1 wait of those who wait at
    /// utilization `rho` with service `service` (Pollaczek–Khinchine), its time scaled by
    /// `stretch`: a wait shaped by a heavy-tailed service
    /// ([`super::service_wait::conditional_lst`]).
    ServiceShaped {
        p_wait: f64,
        rho: f64,
        stretch: f64,
        service: super::service_wait::ServiceMix,
    },
    /// `stages` (a wait of exponential stages of rate `stage_rate`: an M/M/c/K wait) with
    /// every stage a gamma of the same mean and `stage_shape` (a limited queue's wait behind a
    /// service that is not exponential, [`super::finite_wait::gamma_stages`]).
    GammaStages {
        stages: Box<WaitDist>,
        stage_rate: f64,
        stage_shape: f64,
    },
}

impl WaitDist {
    /// Probability of not waiting at all (the point mass at zero).
    pub fn zero_mass(&self) -> f64 {
        match self {
            WaitDist::Zero => 1.0,
            WaitDist::Exponential { p_wait, .. } => 1.0 - p_wait,
            WaitDist::ErlangMix { stage_probs, .. } => 1.0 - stage_probs.iter().sum::<f64>(),
            WaitDist::Uniform { p_wait, .. }
            | WaitDist::Gamma { p_wait, .. }
            | WaitDist::ServiceShaped { p_wait, .. }
            | WaitDist::CappedStages { p_wait, .. }
            | WaitDist::Geometric { p_wait, .. } => 1.0 - p_wait,
            WaitDist::Mixture(parts) => parts.iter().map(|(w, part)| w * part.zero_mass()).sum(),
            WaitDist::GammaStages { stages, .. } => stages.zero_mass(),
        }
    }

    /// Mean wait.
    pub fn mean(&self) -> f64 {
        match self {
            WaitDist::Zero => 0.0,
            WaitDist::Exponential { p_wait, rate } => p_wait / rate,
            WaitDist::ErlangMix {
                stage_probs,
                stage_rate,
            } => {
                stage_probs
                    .iter()
                    .enumerate()
                    .map(|(j, p)| (j + 1) as f64 * p)
                    .sum::<f64>()
                    / stage_rate
            }
            WaitDist::Uniform { p_wait, max, cap } => p_wait * (cap - cap * cap / (2.0 * max)),
            WaitDist::Geometric {
                p_wait,
                ratio,
                stages,
                stage_rate,
            } => {
                // E[J] = 1 + E[J − 1], with J − 1 a geometric cut at stages − 1.
                let stages_mean =
                    1.0 + truncated_geometric_mean(stages.saturating_sub(1), ratio.ln());
                p_wait * stages_mean / stage_rate
            }
            WaitDist::CappedStages {
                p_wait,
                ratio,
                stage_rate,
                cap,
            } => {
                // E[min(J, cap)] = Σ_{j=1..cap} P(J ≥ j) = (1 − ratio^cap)/(1 − ratio).
                p_wait * (1.0 - ratio.powf(*cap as f64)) / ((1.0 - ratio) * stage_rate)
            }
            WaitDist::Mixture(parts) => parts.iter().map(|(w, part)| w * part.mean()).sum(),
            WaitDist::Gamma {
                p_wait,
                shape,
                rate,
            } => p_wait * shape / rate,
            WaitDist::ServiceShaped {
                p_wait,
                rho,
                stretch,
                service,
            } => p_wait * stretch * super::service_wait::conditional_mean(*rho, service),
            WaitDist::GammaStages { stages, .. } => stages.mean(),
        }
    }

    /// Laplace–Stieltjes transform of the wait.
    pub fn lst(&self, s: Complex64) -> Complex64 {
        let one = Complex64::new(1.0, 0.0);
        match self {
            WaitDist::Zero => one,
            WaitDist::Exponential { p_wait, rate } => exponential_wait_lst(*p_wait, *rate, s),
            WaitDist::ErlangMix {
                stage_probs,
                stage_rate,
            } => {
                let stage = *stage_rate / (s + *stage_rate);
                let zero_mass = 1.0 - stage_probs.iter().sum::<f64>();
                let mut total = one * zero_mass;
                let mut power = one;
                for probability in stage_probs {
                    power *= stage;
                    total += power * *probability;
                }
                total
            }
            WaitDist::Uniform { p_wait, max, cap } => {
                uniform_lst((*p_wait, *max, *cap), s, (-s * *cap).exp())
            }
            WaitDist::Geometric {
                p_wait,
                ratio,
                stages,
                stage_rate,
            } => {
                // z·Σ_{i<stages} (ρz)ⁱ / Σ_{i<stages} ρⁱ with z = θ/(s + θ).
                let z = *stage_rate / (s + *stage_rate);
                let log_ratio = ratio.ln();
                let scale = log_geometric_sum(*stages, log_ratio);
                let waited = z * scaled_geometric_sum(*stages, z.ln(), log_ratio, scale);
                one * (1.0 - p_wait) + waited * *p_wait
            }
            WaitDist::CappedStages {
                p_wait,
                ratio,
                stage_rate,
                cap,
            } => {
                // Σ_{j<cap} (1 − r)·r^{j−1}·z^j + r^{cap−1}·z^cap with z = θ/(s + θ).
                let z = *stage_rate / (s + *stage_rate);
                let rz = z * *ratio;
                let below = cap.saturating_sub(1) as f64;
                let geometric = if (one - rz).norm() < 1e-12 {
                    one * below
                } else {
                    (one - rz.powf(below)) / (one - rz)
                };
                let waited =
                    z * geometric * (1.0 - ratio) + z.powf(*cap as f64) * ratio.powf(below);
                one * (1.0 - p_wait) + waited * *p_wait
            }
            WaitDist::Mixture(parts) => parts.iter().map(|(w, part)| part.lst(s) * *w).sum(),
            WaitDist::Gamma {
                p_wait,
                shape,
                rate,
            } => {
                // (θ/(θ + s))^k, the gamma's transform in closed form.
                let waited = gamma_lst(s / *rate, *shape);
                one * (1.0 - p_wait) + waited * *p_wait
            }
            WaitDist::ServiceShaped {
                p_wait,
                rho,
                stretch,
                service,
            } => {
                let waited = super::service_wait::conditional_lst(*rho, service, s * *stretch);
                one * (1.0 - p_wait) + waited * *p_wait
            }
            WaitDist::GammaStages {
                stages,
                stage_rate,
                stage_shape,
            } => {
                // The exponential stages' transform at the s′ where θ/(θ + s′) is the gamma
                // stage's transform at s.
                let stage = gamma_lst(s / (*stage_rate * *stage_shape), *stage_shape);
                if stage.norm() < 1e-150 {
                    // No stage ends that fast: only the requests that do not wait are left.
                    return one * stages.zero_mass();
                }
                stages.lst((one / stage - one) * *stage_rate)
            }
        }
    }

    /// Adds `weight`·[`WaitDist::lst`] at each of `points` to `out`. On an evenly spaced grid
    /// (the Fourier inversion's) the fluid wait's e^{−s·cap} turns by one complex product
    /// from a point to the next ([`phases`]) instead of an exponential per point.
    pub fn add_lst_into(&self, weight: f64, points: &[Complex64], out: &mut [Complex64]) {
        match self {
            WaitDist::Mixture(parts) => {
                for (part_weight, part) in parts {
                    part.add_lst_into(weight * part_weight, points, out);
                }
            }
            // Each point's transform in one plain loop here (vectorised), not by a call per
            // point to [`WaitDist::lst`]: the same operations, so the same values to the bit.
            WaitDist::Exponential { p_wait, rate } => {
                for (value, &s) in out.iter_mut().zip(points) {
                    *value += exponential_wait_lst(*p_wait, *rate, s) * weight;
                }
            }
            WaitDist::Uniform { p_wait, max, cap } => {
                for ((value, &s), beyond) in out.iter_mut().zip(points).zip(phases(points, *cap)) {
                    *value += uniform_lst((*p_wait, *max, *cap), s, beyond) * weight;
                }
            }
            _ => {
                for (value, &s) in out.iter_mut().zip(points) {
                    *value += self.lst(s) * weight;
                }
            }
        }
    }
}

/// The transform of [`WaitDist::Exponential`] at `s`: no wait with probability 1 − p_wait,
/// else an exponential wait of `rate`: 1 − p_wait + p_wait·rate/(s + rate).
#[inline(always)]
fn exponential_wait_lst(p_wait: f64, rate: f64, s: Complex64) -> Complex64 {
    Complex64::new(1.0, 0.0) * (1.0 - p_wait) + p_wait * rate / (s + rate)
}

/// The transform of [`WaitDist::Uniform`] at `s`, given `beyond` = e^{−s·cap}: a wait with
/// probability `p_wait`, (1/max)·∫₀^cap e^{−st} dt + (1 − cap/max)·e^{−s·cap}.
#[inline]
fn uniform_lst((p_wait, max, cap): (f64, f64, f64), s: Complex64, beyond: Complex64) -> Complex64 {
    let one = Complex64::new(1.0, 0.0);
    let x = s * cap;
    let spread = if x.norm_sqr() < 1e-6 {
        // (1 − e^{−x})/x by its series, free of cancellation near 0.
        (one - x * (one - x * (one - x * 0.25) / 3.0) * 0.5) * (cap / max)
    } else {
        (one - beyond) / (s * max)
    };
    let waited = spread + beyond * (1.0 - cap / max);
    one * (1.0 - p_wait) + waited * p_wait
}

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
    // P(wait) ≤ 1: where even a certain wait, [`steady_state_wait`]'s formula with C = 1 (the
    // same operations, each rounding no higher), stays within the limit, the queue settles
    // in time and Erlang C's O(c) sum is not needed.
    let variability = (1.0 + input.service_scv) / 2.0;
    if variability >= 0.0 && input.mean_service / (c - offered_load) * variability <= limit {
        return false;
    }
    let (_, steady_wait) = steady_state_wait(input, servers, offered_load);
    steady_wait > limit
}

/// The probability of waiting and the mean wait of an unlimited pool below saturation in its
/// steady state: textbook M/M/c, Wq = C/(cμ − λ) with C from Erlang C, scaled by
/// Allen-Cunneen's (1 + c_s²)/2 for other service-time variabilities.
fn steady_state_wait(input: &PoolInput, servers: u64, offered_load: f64) -> (f64, f64) {
    let p_wait = erlang_c(servers, offered_load);
    let variability = (1.0 + input.service_scv) / 2.0;
    let wait = p_wait * input.mean_service / (servers as f64 - offered_load) * variability;
    (p_wait, wait)
}

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
    // least as large as the mean's share of the M/M/c one.
    let qna_p = (p_mmc * qna_delay_probability(rho, ca2, cs2) / rho).clamp(0.0, 1.0);
    let two_moment_p = if ca2 < 1.0 {
        qna_p.max((p_mmc * two_moment / wait_mmc).clamp(0.0, 1.0))
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
fn ordered_wait_shape(wait: WaitDist, input: &PoolInput, rho: f64, arrivals: Arrivals) -> WaitDist {
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
/// ([`busy_server_peakedness`](super::gigc_wait::busy_server_peakedness)); c_s² 2: 0.612,
/// 5: 0.289 behind evenly spaced arrivals. Nothing is fitted. Before, s was the linear
/// 2κ(c_s²) (κ the mean of the shorter of two services,
/// [`shorter_service_share`](super::gigc_wait::shorter_service_share)), which hid
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
/// [`shorter_service_share`](super::gigc_wait::shorter_service_share)), which
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
    let share = 2.0 * super::gigc_wait::shorter_service_share(service_scv);
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

/// GI/M/c with gamma inter-arrival times (mean 1/λ, squared coefficient of variation c_a²) at
/// utilization ρ: the root σ in (0, 1) of σ = A*(cμ(1 − σ)) = (1 + (1 − σ)·c_a²/ρ)^(−1/c_a²)
/// (e^(−(1 − σ)/ρ) for evenly spaced arrivals). An arrival finds the servers all busy with
/// probability σ at one server; the wait given waiting is exponential at cμ(1 − σ)
/// (Kleinrock, Queueing Systems I, §6.4). For Poisson arrivals σ = ρ.
///
/// f(σ) = A*(σ) − σ is convex (a Laplace transform is), positive below the root and negative
/// between it and 1, so Newton's method started below the root climbs to it monotonically
/// and quadratically; the start is ρ (or the tangent's zero there, which lies below the root).
///
/// ```
/// use staircase::solver::queueing::gamma_arrival_sigma;
/// // D/M/1 at ρ = 0.5: σ = e^(−2(1 − σ)), σ = 0.2032.
/// assert!((gamma_arrival_sigma(0.5, 0.0) - 0.20319).abs() < 1e-5);
/// assert!((gamma_arrival_sigma(0.7, 1.0) - 0.7).abs() < 1e-12);
/// ```
pub fn gamma_arrival_sigma(rho: f64, arrival_scv: f64) -> f64 {
    if rho.is_nan() || rho <= 0.0 {
        return 0.0;
    }
    if rho >= 1.0 {
        return 1.0;
    }
    // f(σ) and f′(σ), with A′(σ) = A(σ)/(ρ(1 + x·c_a²)) (A/ρ for evenly spaced arrivals).
    let f = |sigma: f64| {
        let x = (1.0 - sigma) / rho;
        let (transform, slope) = if arrival_scv <= 0.0 {
            let transform = (-x).exp();
            (transform, transform / rho)
        } else {
            let base = 1.0 + x * arrival_scv;
            let transform = base.powf(-1.0 / arrival_scv);
            (transform, transform / (rho * base))
        };
        (transform - sigma, slope - 1.0)
    };
    let (value, slope) = f(rho);
    let mut sigma = if value >= 0.0 {
        rho
    } else if slope < 0.0 {
        (rho - value / slope).max(0.0)
    } else {
        0.0
    };
    for _ in 0..200 {
        let (value, slope) = f(sigma);
        let step = -value / slope;
        // Below the root the step is positive; rounding ends the climb.
        if !(step > 0.0 && sigma + step < 1.0) {
            break;
        }
        sigma += step;
        if step <= 1e-16 * sigma {
            break;
        }
    }
    sigma
}

/// P(wait) in GI/M/c with gamma inter-arrival times (squared coefficient of variation c_a²)
/// at utilization ρ, exactly, by Takács' formula (Gross & Harris, Fundamentals of Queueing
/// Theory, GI/M/c): with β_j = A*(jμ) = (1 + j·c_a²/(cρ))^(−1/c_a²) (e^(−j/(cρ)) for evenly
/// spaced arrivals), C_j = Π_{i ≤ j} β_i/(1 − β_i) and σ from [`gamma_arrival_sigma`],
/// P(wait) = 1/(1 + (1 − σ)·Σ_{j=1..c} C(c, j)/(C_j(1 − β_j))·(c(1 − β_j) − j)/(c(1 − σ) − j)).
/// It is σ at one server and Erlang C for Poisson arrivals. Every term is positive (the
/// numerator and the denominator change sign together at j = c(1 − σ), where the ratio
/// tends to 1 − β_j/(ρ(1 + c_a²·j/(cρ)))); the sum is taken in logarithms, so that any
/// number of servers neither overflows nor underflows. Nothing is fitted.
///
/// ```
/// use staircase::solver::queueing::{erlang_c, gamma_arrival_sigma, gamma_renewal_delay_probability};
/// // One server: σ.
/// let sigma = gamma_arrival_sigma(0.5, 4.0);
/// assert!((gamma_renewal_delay_probability(0.5, 4.0, 1) - sigma).abs() < 1e-12);
/// // Poisson arrivals: Erlang C (16 servers at ρ 0.5).
/// let c = erlang_c(16, 8.0);
/// assert!((gamma_renewal_delay_probability(0.5, 1.0, 16) - c).abs() < 1e-12);
/// ```
pub fn gamma_renewal_delay_probability(rho: f64, arrival_scv: f64, servers: u64) -> f64 {
    if rho.is_nan() || rho <= 0.0 {
        return 0.0;
    }
    if rho >= 1.0 {
        return 1.0;
    }
    let ca2 = arrival_scv.max(0.0);
    let sigma = gamma_arrival_sigma(rho, ca2);
    let c = servers.max(1) as f64;
    // ln β_j for x = j/(cρ), with dβ/dj = −β/(cρ(1 + x·c_a²)).
    let log_beta = |x: f64| {
        if ca2 > 0.0 {
            -(x * ca2).ln_1p() / ca2
        } else {
            -x
        }
    };
    let mut log_binomial = 0.0;
    let mut log_product = 0.0;
    // Σ e^term as e^largest · scaled_sum, kept as the terms come.
    let (mut largest, mut scaled_sum) = (f64::NEG_INFINITY, 0.0);
    for index in 1..=servers.max(1) {
        let j = index as f64;
        let x = j / (c * rho);
        let ln_beta = log_beta(x);
        let beta = ln_beta.exp();
        let ln_rest = (-beta).ln_1p();
        log_binomial += ((c - j + 1.0) / j).ln();
        log_product += ln_beta - ln_rest;
        let denominator = c * (1.0 - sigma) - j;
        let ratio = if denominator.abs() < 1e-7 * c {
            1.0 - beta / (rho * (1.0 + x * ca2))
        } else {
            (c * (1.0 - beta) - j) / denominator
        };
        if ratio > 0.0 {
            let term = log_binomial - log_product - ln_rest + ratio.ln();
            if term > largest {
                scaled_sum = scaled_sum * (largest - term).exp() + 1.0;
                largest = term;
            } else {
                scaled_sum += (term - largest).exp();
            }
        }
    }
    if scaled_sum <= 0.0 {
        return 1.0;
    }
    let scaled = (1.0 - sigma).ln() + largest + scaled_sum.ln();
    (1.0 / (1.0 + scaled.exp())).clamp(0.0, 1.0)
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
    let whole = || ConnectionSplit {
        pool: solution.wait.clone(),
        database: WaitDist::Zero,
    };
    match &solution.wait {
        WaitDist::Zero => ConnectionSplit {
            pool: WaitDist::Zero,
            database: WaitDist::Zero,
        },
        _ if slots == 0 => whole(),
        &WaitDist::Exponential { p_wait, rate } => {
            let ratio = solution.offered_utilization;
            if ratio >= 1.0 {
                // At or beyond saturation (the random part of a backlog's wait): the database
                // holds its `slots` waiting requests for slots/(c·μ) seconds, and the wait
                // beyond that, again exponential, is spent waiting for a connection.
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
                return ConnectionSplit {
                    pool: part(pool_p_wait),
                    database: part(p_wait - pool_p_wait),
                };
            }
            if ratio <= 0.0 || ratio.is_nan() {
                return whole();
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
        WaitDist::ErlangMix {
            stage_probs,
            stage_rate,
        } => {
            let slots = usize::try_from(slots).unwrap_or(usize::MAX);
            let mut database = stage_probs.clone();
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
                        stage_rate: *stage_rate,
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
        &WaitDist::Uniform { p_wait, max, cap } => {
            // In a fluid backlog the database holds its `slots` waiting requests for
            // slots/(c·μ) seconds; any wait beyond that is spent waiting for a connection.
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
        &WaitDist::Geometric {
            p_wait,
            ratio,
            stages,
            stage_rate,
        } => split_geometric(p_wait, ratio, stages, stage_rate, slots),
        WaitDist::Mixture(parts) => {
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
        WaitDist::CappedStages { .. } => ConnectionSplit {
            pool: WaitDist::Zero,
            database: solution.wait.clone(),
        },
        WaitDist::GammaStages {
            stages,
            stage_rate,
            stage_shape,
        } => {
            // The stages split as the exponential ones do; each part keeps the stages' shape.
            let alone = PoolSolution {
                wait: (**stages).clone(),
                ..solution.clone()
            };
            let split = split_at_connections(&alone, capacity, slots);
            let shaped = |part: WaitDist| match part {
                WaitDist::Zero => WaitDist::Zero,
                part => WaitDist::GammaStages {
                    stages: Box::new(part),
                    stage_rate: *stage_rate,
                    stage_shape: *stage_shape,
                },
            };
            ConnectionSplit {
                pool: shaped(split.pool),
                database: shaped(split.database),
            }
        }
        wait @ (WaitDist::Gamma { .. } | WaitDist::ServiceShaped { .. }) => {
            // As for the exponential wait: a share ρ^slots of the waits reach past the
            // connections (the pool part keeps the wait's shape), and the database keeps the
            // rest of the mean.
            let ratio = solution.offered_utilization;
            if !(ratio > 0.0 && ratio < 1.0) {
                return whole();
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

/// Largest K (servers plus waiting places) whose M/M/c/K states are listed one by one; larger
/// systems are solved in closed form ([`solve_finite_closed`]).
const MAX_LISTED_STATES: u64 = 4_096;

/// Longest M/M/c/K wait listed stage by stage; longer ones are a [`WaitDist::Geometric`].
const MAX_LISTED_STAGES: u64 = 1_024;

/// M/M/c/K: by listing its states when there are few, else in closed form.
fn solve_finite(
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

/// Grid points of the Fourier-series inversion.
pub const GRID: usize = 4096;
/// Damping e^{−a·T} applied to mass that would wrap around the period: 10^{-8}.
const DAMPING: f64 = 18.420_680_743_952_367;
/// Width of the Gaussian smoothing window, in grid steps (removes ringing at atoms).
const SMOOTHING_STEPS: f64 = 1.5;
/// Offset, in smoothing widths, so that smoothed mass never falls before time zero.
const GUARD_WIDTHS: f64 = 7.0;

/// The coarsest grid [`grid_for`] caps an end-to-end inversion at: 256 transform points over
/// the period.
pub const MIN_GRID: usize = 512;

/// The smallest inverse FFT [`percentiles_on_grid`] runs (the coarse companion of its first
/// grid).
const SMALLEST_FFT: usize = FIRST_GRID / 2;

/// The inverse FFT of size `grid` (a power of two from [`SMALLEST_FFT`] to [`GRID`], or a
/// chart's [`CHART_PROBE_GRID`]), planned once per size and shared between threads.
fn inverse_fft(grid: usize) -> std::sync::Arc<dyn rustfft::Fft<f64>> {
    type Plan = std::sync::OnceLock<std::sync::Arc<dyn rustfft::Fft<f64>>>;
    const SIZES: usize = (GRID / SMALLEST_FFT).trailing_zeros() as usize + 1;
    static PLANS: [Plan; SIZES] = [const { Plan::new() }; SIZES];
    static CHART_PLAN: Plan = Plan::new();
    if grid == CHART_PROBE_GRID {
        return CHART_PLAN
            .get_or_init(|| rustfft::FftPlanner::<f64>::new().plan_fft_inverse(grid))
            .clone();
    }
    let slot = ((grid / SMALLEST_FFT).trailing_zeros() as usize).min(SIZES - 1);
    PLANS[slot]
        .get_or_init(|| rustfft::FftPlanner::<f64>::new().plan_fft_inverse(SMALLEST_FFT << slot))
        .clone()
}

/// The largest grid for an end-to-end transform that visits `nodes` nodes: [`GRID`] points
/// while nodes × points stays within a budget of 2¹⁸ node-points, fewer (down to [`MIN_GRID`])
/// on larger networks, so that the cost of a class's percentiles stops growing with its size.
/// [`percentiles_on_grid`] refines up to it only while the percentiles have not settled; for
/// five exponential hops it is 1.2·10⁻⁴ of the mean at the coarsest cap.
pub fn grid_for(nodes: usize) -> usize {
    let mut grid = GRID;
    while grid > MIN_GRID && nodes.saturating_mul(grid / 2 + 1) > 1 << 18 {
        grid /= 2;
    }
    grid
}

/// Percentiles of a non-negative random variable from its Laplace–Stieltjes transform, by the
/// damped Fourier-series method (Abate & Whitt): the transform is evaluated once on
/// s_k = a + 2πik/T, k = 0..N/2; an inverse FFT gives the density on a grid of N points over
/// [0, T), which is summed to the CDF. Constant delays are exact phases, so mixtures of paths
/// with different fixed latencies are handled; a Gaussian window of 1.5 grid steps removes the
/// ringing that atoms (requests that never wait) would cause. The period T starts at 16 means
/// and doubles until the CDF at T/2 is past the highest requested level (halfway from it to
/// 1). N grows from 256 to at most 4,096 only while the percentiles have not settled, and the
/// two finest grids are combined by Richardson's extrapolation ([`percentiles_on_grid`]).
///
/// `transform` fills `values[k]` with E[e^{−s_k X}] for `points[k]`.
///
/// ```
/// use num_complex::Complex64;
/// // Exp(1): the 99th percentile is ln 100 = 4.605.
/// let p = staircase::solver::queueing::percentiles_by_fourier(1.0, &[0.99], |points, values| {
///     for (s, v) in points.iter().zip(values.iter_mut()) { *v = 1.0 / (s + 1.0); }
/// });
/// assert!((p[0] - 100f64.ln()).abs() < 2e-3);
/// ```
pub fn percentiles_by_fourier(
    mean: f64,
    probabilities: &[f64],
    transform: impl Fn(&[Complex64], &mut [Complex64]),
) -> Vec<f64> {
    percentiles_with_atoms(mean, probabilities, &[], transform)
}

/// Like [`percentiles_by_fourier`], for a distribution with point masses `atoms`
/// ((time, probability) pairs) included in its transform: the atoms are subtracted from the
/// transform and added back to the CDF exactly, so that only the continuous part is smoothed.
/// This keeps percentiles exact when most requests take a fixed time (pure delays, constant
/// service without waiting).
pub fn percentiles_with_atoms(
    mean: f64,
    probabilities: &[f64],
    atoms: &[(f64, f64)],
    transform: impl Fn(&[Complex64], &mut [Complex64]),
) -> Vec<f64> {
    percentiles_on_grid(GRID, mean, probabilities, atoms, transform)
}

/// Subtracts the transforms of point masses, Σ mass·e^{−s·time}, from `values` at `points`,
/// by [`phases`].
fn remove_atoms(values: &mut [Complex64], points: &[Complex64], atoms: &[(f64, f64)]) {
    for &(time, mass) in atoms {
        for (value, phase) in values.iter_mut().zip(phases(points, time)) {
            *value -= phase * mass;
        }
    }
}

/// e^{−s·time} at each of `points`. Where they are evenly spaced (the Fourier inversion's grid)
/// the factor turns by the same e^{−Δs·time} from one point to the next, so it costs one
/// complex product per point instead of an exponential, recomputed exactly every
/// [`PHASE_ANCHOR`] points so that rounding cannot build up; other points get the exponential.
pub(super) fn phases(points: &[Complex64], time: f64) -> impl Iterator<Item = Complex64> + '_ {
    let (spacing, anchor) = match points {
        [first, second, .., last] => {
            let spacing = second - first;
            let end = first + spacing * (points.len() - 1) as f64;
            let even = (end - last).norm() <= 1e-9 * last.norm();
            (spacing, if even { PHASE_ANCHOR } else { 1 })
        }
        _ => (Complex64::new(0.0, 0.0), 1),
    };
    let turn = (-spacing * time).exp();
    let mut phase = Complex64::new(1.0, 0.0);
    points.iter().enumerate().map(move |(j, s)| {
        phase = if j % anchor == 0 {
            (-s * time).exp()
        } else {
            phase * turn
        };
        phase
    })
}

/// Points between exact evaluations in [`phases`].
const PHASE_ANCHOR: usize = 64;

/// [`percentiles_with_atoms`] on a grid of at most `max_grid` points (a power of two from
/// [`MIN_GRID`] to [`GRID`]; see [`grid_for`]), refined only as far as the percentiles need.
///
/// The inversion's error falls with the square of the grid step (the Gaussian window, the
/// trapezoid sum and the interpolation are each of second order), and a grid of N points over
/// the period uses the transform at N/2 + 1 frequencies whose first N/4 + 1 are those of the
/// grid of N/2. So each refinement evaluates the transform only at the new frequencies, the
/// percentiles of the two finest grids are combined by Richardson's extrapolation,
/// (4·p_N − p_{N/2})/3, which cancels the second-order error, and refinement stops once two
/// successive extrapolations agree within [`GRID_AGREEMENT`] of the percentile, or at
/// `max_grid`. Where the density jumps (a constant delay on some paths) the error is of first
/// order there and the agreement comes only on finer grids.
pub fn percentiles_on_grid(
    max_grid: usize,
    mean: f64,
    probabilities: &[f64],
    atoms: &[(f64, f64)],
    transform: impl Fn(&[Complex64], &mut [Complex64]),
) -> Vec<f64> {
    percentiles_within(
        Precision::Report,
        max_grid,
        mean,
        probabilities,
        atoms,
        transform,
    )
}

/// How finely [`percentiles_within`] inverts: the report's figures, or a chart's points.
/// Both start from the same grid; a chart stops refining sooner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// The report's percentiles: refined until two successive extrapolations agree within
    /// [`GRID_AGREEMENT`] (2·10⁻⁴).
    #[default]
    Report,
    /// A chart's points (the latency-versus-load sweep): refined until they agree within
    /// [`CHART_AGREEMENT`] (10⁻³), after a probe of a grid 1.5 times the first
    /// ([`Precision::probe_grid`]). On the 500-node bench every class then settles on the
    /// probe's 384 points (193 transform points), where the report's need 512 or 1,024; over
    /// every preset and load the chart's percentiles stay within 0.3% of the report's
    /// (`tests/chart_precision.rs`).
    Chart,
}

impl Precision {
    /// A chart's probe after the grid of [`FIRST_GRID`] points: a grid 1.5 times as fine
    /// ([`CHART_PROBE_GRID`], 193 transform points where the doubled grid needs 257). Its
    /// extrapolation (Richardson's at ratio r = 1.5) is taken when it agrees with the first
    /// grid's within the agreement times r − 1 (for an error of first order, two estimates
    /// that agree within d on grids of ratio r leave about d/(r − 1)); else the refinement goes
    /// on by doubling as if there had been no probe. On the 500-node bench the probe's
    /// extrapolation is within about 2·10⁻⁴ of the converged percentiles. None for the report.
    fn probe_grid(self, grid: usize, max_grid: usize) -> Option<usize> {
        match self {
            Precision::Chart if grid == FIRST_GRID && CHART_PROBE_GRID < max_grid => {
                Some(CHART_PROBE_GRID)
            }
            _ => None,
        }
    }

    /// Relative agreement of two successive extrapolations at which refinement stops.
    fn agreement(self) -> f64 {
        match self {
            Precision::Report => GRID_AGREEMENT,
            Precision::Chart => CHART_AGREEMENT,
        }
    }
}

/// [`Precision::Chart`]'s agreement of two successive extrapolated percentiles.
pub const CHART_AGREEMENT: f64 = 1e-3;

/// [`Precision::Chart`]'s probe grid ([`Precision::probe_grid`]): 1.5 times [`FIRST_GRID`].
const CHART_PROBE_GRID: usize = FIRST_GRID / 2 * 3;

/// Whether every percentile of `estimate` is within `tolerance` (relative) of `previous`'s.
fn agree(estimate: &[f64], previous: &[f64], tolerance: f64) -> bool {
    estimate
        .iter()
        .zip(previous)
        .all(|(now, before)| (now - before).abs() <= tolerance * now.abs())
}

/// [`percentiles_on_grid`] at the given [`Precision`].
pub fn percentiles_within(
    precision: Precision,
    max_grid: usize,
    mean: f64,
    probabilities: &[f64],
    atoms: &[(f64, f64)],
    transform: impl Fn(&[Complex64], &mut [Complex64]),
) -> Vec<f64> {
    if !(mean > 0.0 && mean.is_finite()) {
        return vec![0.0; probabilities.len()];
    }
    let max_grid = max_grid.clamp(MIN_GRID, GRID).next_power_of_two();
    let mut sorted_atoms: Vec<(f64, f64)> = atoms.to_vec();
    sorted_atoms.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Long enough when the highest requested level (and a margin above it) lies in the first
    // half of the period; mass beyond the period is damped by e^{−aT} = 10⁻⁸ and does not alias.
    let highest = probabilities.iter().copied().fold(0.5, f64::max);
    let needed = highest + (1.0 - highest) / 2.0;
    let mut horizon = first_period(mean, &transform);
    let mut spectrum = Spectrum::default();
    for attempt in 0..MAX_PERIOD_DOUBLINGS {
        spectrum.restart(horizon);
        let first = FIRST_GRID.min(max_grid);
        // The first grid is never accepted alone (two extrapolations must agree), so the
        // frequencies of the next one are evaluated with it, in one walk of the transform.
        // A chart's probe needs fewer (see Precision::probe_grid).
        let upfront = precision.probe_grid(first, max_grid).unwrap_or(2 * first);
        spectrum.extend_to(upfront.min(max_grid) / 2 + 1, atoms, &transform);
        let fine = GridCdf::invert(&spectrum, first);
        let atom_mass: f64 = atoms
            .iter()
            .filter(|(time, _)| *time < horizon / 2.0 - fine.offset)
            .map(|(_, mass)| mass)
            .sum();
        let long_enough = fine.total.is_finite() && fine.at_half() + atom_mass >= needed;
        if !long_enough && attempt + 1 < MAX_PERIOD_DOUBLINGS {
            horizon *= 2.0;
            continue;
        }
        let mut coarse =
            GridCdf::invert(&spectrum, first / 2).percentiles(probabilities, &sorted_atoms);
        let mut fine = fine.percentiles(probabilities, &sorted_atoms);
        let mut previous: Option<Vec<f64>> = None;
        let mut grid = first;
        loop {
            let estimate = extrapolated(probabilities, &fine, &coarse, 2.0);
            let settled = previous
                .as_ref()
                .is_some_and(|previous| agree(&estimate, previous, precision.agreement()));
            if settled || grid >= max_grid {
                return estimate;
            }
            if let Some(probe) = precision.probe_grid(grid, max_grid) {
                let probed =
                    GridCdf::invert(&spectrum, probe).percentiles(probabilities, &sorted_atoms);
                let ratio = probe as f64 / grid as f64;
                let probed = extrapolated(probabilities, &probed, &fine, ratio);
                if agree(&probed, &estimate, precision.agreement() * (ratio - 1.0)) {
                    return probed;
                }
            }
            grid *= 2;
            spectrum.extend_to(grid / 2 + 1, atoms, &transform);
            previous = Some(estimate);
            coarse = fine;
            fine = GridCdf::invert(&spectrum, grid).percentiles(probabilities, &sorted_atoms);
        }
    }
    vec![0.0; probabilities.len()]
}

/// Doublings of the inversion's period (from 16 means) before the last period is used as is.
const MAX_PERIOD_DOUBLINGS: usize = 12;

/// The first period [`percentiles_on_grid`] tries for a distribution of `mean` with Laplace
/// transform `transform`: 16 means, or less for a distribution concentrated about its mean,
/// twice (mean + 8 standard deviations), so that its grid steps are fine where its mass is.
/// The variance is the second cumulant from the transform at one small real point h,
/// ln φ(h) = −κ₁h + κ₂h²/2 − κ₃h³/6 + …, which errs low by κ₃h/3 (6% for an exponential);
/// a period found too short is doubled by the caller's check.
fn first_period(mean: f64, transform: &impl Fn(&[Complex64], &mut [Complex64])) -> f64 {
    let widest = 16.0 * mean;
    let step = SPREAD_STEP / mean;
    let mut value = [Complex64::new(0.0, 0.0)];
    transform(&[Complex64::new(step, 0.0)], &mut value);
    let variance = 2.0 * (value[0].re.ln() + mean * step) / (step * step);
    if !(variance.is_finite() && variance > 0.0) {
        return widest;
    }
    (2.0 * (mean + 8.0 * variance.sqrt())).min(widest)
}

/// The real point, in reciprocal means, at which [`first_period`] reads the variance.
const SPREAD_STEP: f64 = 0.05;

/// The grid [`percentiles_on_grid`] starts from (its coarse companion has half as many points).
const FIRST_GRID: usize = 256;

/// Relative agreement of two successive extrapolated percentiles at which
/// [`percentiles_on_grid`] stops refining. Five exponential hops, an exponential, an M/M/1
/// response and an atom plus an Erlang then stop at 1,024 points, within 3·10⁻⁵ of the exact
/// percentiles (a plain 4,096-point grid: 3·10⁻⁵).
pub const GRID_AGREEMENT: f64 = 2e-4;

/// Richardson's extrapolation of the percentiles at `probabilities` found on grids of steps h
/// (`fine`) and r·h (`coarse`, `ratio` r), with an error of order h²:
/// (r²·fine − coarse)/(r² − 1), which is (4·fine − coarse)/3 for r = 2, kept at or above 0
/// and non-decreasing in the level.
fn extrapolated(probabilities: &[f64], fine: &[f64], coarse: &[f64], ratio: f64) -> Vec<f64> {
    let squared = ratio * ratio;
    let mut values: Vec<f64> = fine
        .iter()
        .zip(coarse)
        .map(|(f, c)| {
            if f == c {
                *f
            } else {
                (squared * f - c) / (squared - 1.0)
            }
        })
        .collect();
    let mut by_level: Vec<usize> = (0..values.len()).collect();
    by_level.sort_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]));
    let mut floor: f64 = 0.0;
    for i in by_level {
        floor = floor.max(values[i]);
        values[i] = floor;
    }
    values
}

/// The transform (less its atoms) at the inversion's frequencies s_k = a + 2πik/T, k = 0, 1, …,
/// for one period T; extended as finer grids need higher frequencies.
#[derive(Default)]
struct Spectrum {
    horizon: f64,
    damping: f64,
    points: Vec<Complex64>,
    values: Vec<Complex64>,
}

impl Spectrum {
    /// Starts again for period `horizon`.
    fn restart(&mut self, horizon: f64) {
        self.horizon = horizon;
        self.damping = DAMPING / horizon;
        self.points.clear();
        self.values.clear();
    }

    /// Evaluates `transform` at the frequencies up to index `count` − 1 not yet evaluated.
    fn extend_to(
        &mut self,
        count: usize,
        atoms: &[(f64, f64)],
        transform: &impl Fn(&[Complex64], &mut [Complex64]),
    ) {
        let known = self.points.len();
        if count <= known {
            return;
        }
        let (damping, horizon) = (self.damping, self.horizon);
        self.points
            .extend((known..count).map(|k| Complex64::new(damping, 2.0 * PI * k as f64 / horizon)));
        self.values.resize(count, Complex64::new(0.0, 0.0));
        let (points, values) = (&self.points[known..], &mut self.values[known..]);
        transform(points, values);
        remove_atoms(values, points, atoms);
    }
}

/// The continuous part of a distribution's CDF on a grid of `grid` points over the period,
/// from its transform by one inverse FFT.
struct GridCdf {
    cdf: Vec<f64>,
    step: f64,
    /// The grid's time j·step stands for time j·step − offset (the guard delay and the tilt of
    /// the smoothing window).
    offset: f64,
    total: f64,
}

impl GridCdf {
    /// Inverts the first `grid`/2 + 1 frequencies of `spectrum`: the damped density, smoothed
    /// by a Gaussian window of [`SMOOTHING_STEPS`] grid steps and delayed by a guard so that the
    /// smoothing never reaches negative time, undamped and summed (trapezoids) to the CDF.
    fn invert(spectrum: &Spectrum, grid: usize) -> GridCdf {
        let horizon = spectrum.horizon;
        let damping = spectrum.damping;
        let step = horizon / grid as f64;
        let sigma = SMOOTHING_STEPS * step;
        let guard = GUARD_WIDTHS * sigma;
        let tilt_mass = (damping * damping * sigma * sigma / 2.0).exp();
        let tilt_shift = damping * sigma * sigma;
        let points = &spectrum.points[..=grid / 2];
        let mut values = vec![Complex64::new(0.0, 0.0); grid];
        let delays = phases(points, guard);
        for (k, ((value, s), delay)) in spectrum.values.iter().zip(points).zip(delays).enumerate() {
            let window = (-(s.im * sigma).powi(2) / 2.0).exp();
            let shifted = value * delay * window;
            values[k] = shifted;
            if k > 0 && k < grid / 2 {
                values[grid - k] = shifted.conj();
            }
        }
        inverse_fft(grid).process(&mut values);
        // g(t_j) = (1/T) Σ_k G_k e^{2πi kj/N}; f(t_j) = e^{a t_j} g(t_j).
        let mut cdf = vec![0.0; grid];
        let mut total = 0.0;
        let mut previous_density = 0.0;
        for (j, value) in values.iter().enumerate() {
            let t = j as f64 * step;
            // Smoothing the damped density g = e^{−at}f and undamping tilts the Gaussian kernel
            // to K(u)·e^{au}: mass e^{a²σ²/2}, centre aσ². Both are divided out here and below.
            // Not clipped at zero: the small ringing on either side cancels in the sum.
            let density = value.re / horizon * (damping * t).exp() / tilt_mass;
            if j > 0 {
                total += 0.5 * (density + previous_density) * step;
            }
            cdf[j] = total;
            previous_density = density;
        }
        GridCdf {
            cdf,
            step,
            offset: guard + tilt_shift,
            total,
        }
    }

    /// The CDF at the middle of the period (undoing the damping multiplies numerical noise by
    /// up to 10⁸ at the end of the period, so the period is judged long enough by its middle).
    fn at_half(&self) -> f64 {
        self.cdf[self.cdf.len() / 2]
    }

    /// The continuous part of the CDF at `time`, interpolated linearly between grid points.
    fn continuous(&self, time: f64) -> f64 {
        let position = (time + self.offset) / self.step;
        if position <= 0.0 {
            return 0.0;
        }
        let j = position.floor() as usize;
        let last = self.cdf.len() - 1;
        if j >= last {
            return self.cdf[last];
        }
        let fraction = position - j as f64;
        self.cdf[j] + (self.cdf[j + 1] - self.cdf[j]) * fraction
    }

    /// The times at which the CDF (this continuous part plus the atoms' steps, `sorted_atoms`
    /// by time) first reaches each of `probabilities`: walks the merged list of grid times and
    /// atom times to each crossing.
    fn percentiles(&self, probabilities: &[f64], sorted_atoms: &[(f64, f64)]) -> Vec<f64> {
        let atoms_up_to = |time: f64| -> f64 {
            sorted_atoms
                .iter()
                .take_while(|(at, _)| *at <= time)
                .map(|(_, mass)| mass)
                .sum()
        };
        let mut events: Vec<f64> = (0..self.cdf.len())
            .map(|j| j as f64 * self.step - self.offset)
            .filter(|time| *time >= 0.0)
            .chain(sorted_atoms.iter().map(|(time, _)| *time))
            .collect();
        events.insert(0, 0.0);
        events.sort_by(f64::total_cmp);
        events.dedup();
        let totals: Vec<(f64, f64)> = events
            .iter()
            .map(|&time| {
                let after = self.continuous(time) + atoms_up_to(time);
                let at_time: f64 = sorted_atoms
                    .iter()
                    .filter(|(at, _)| *at == time)
                    .map(|(_, mass)| mass)
                    .sum();
                (after - at_time, after)
            })
            .collect();
        probabilities
            .iter()
            .map(|&p| {
                let Some(i) = totals.iter().position(|(_, after)| *after >= p) else {
                    return events.last().copied().unwrap_or(0.0);
                };
                let (before, _) = totals[i];
                if before >= p && i > 0 {
                    // Crossed on the continuous stretch from the previous event.
                    let (low_time, low_value) = (events[i - 1], totals[i - 1].1);
                    let high_time = events[i];
                    if before > low_value {
                        low_time + (high_time - low_time) * (p - low_value) / (before - low_value)
                    } else {
                        high_time
                    }
                } else {
                    events[i]
                }
            })
            .collect()
    }
}

/// Finds t ≥ 0 with F(t) = `probability`, given a function returning the tail P(T > t) and
/// the density at t, and `scale`, a typical value (the mean). Newton's method on
/// ln P(T > t), which is exactly linear for an exponential tail and nearly so for mixtures of
/// exponentials, from t₀ = scale·ln(1/(1 − p)); bisection keeps every step inside a bracket.
pub fn quantile(probability: f64, scale: f64, tail_and_density: impl Fn(f64) -> (f64, f64)) -> f64 {
    quantile_at(Level::new(probability), scale, tail_and_density)
}

/// A probability level of [`quantile`], with the logarithms every search at it starts from
/// (worked out once for levels searched many times).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Level {
    /// The tail probability 1 − p.
    target: f64,
    /// ln(1 − p).
    log_target: f64,
    /// ln(1/(1 − p)): the quantile of an exponential of mean 1.
    unit_quantile: f64,
}

impl Level {
    /// The level of probability `probability`.
    pub fn new(probability: f64) -> Level {
        let target = 1.0 - probability;
        Level {
            target,
            log_target: target.ln(),
            unit_quantile: (1.0 / target).ln(),
        }
    }
}

/// [`quantile`] at a level whose logarithms are already known.
pub fn quantile_at(level: Level, scale: f64, tail_and_density: impl Fn(f64) -> (f64, f64)) -> f64 {
    let with_no_slope = |t: f64| {
        let (tail, density) = tail_and_density(t);
        (tail, density, 0.0)
    };
    search_tail(
        level,
        scale,
        scale * level.unit_quantile,
        with_no_slope,
        false,
    )
}

/// [`quantile_at`] for a smooth tail whose density's slope is known too: `tail` returns
/// P(T > t), the density f and its derivative f′. Halley's method on ln P(T > t) (cubic
/// convergence; a Newton step N becomes N/(1 + N·h′/(2h)) with the hazard h = f/P(T > t)) in
/// the same bracket, and the search ends once a Halley step falls below 1e-5 of t: the error
/// left is then of the order of that step cubed (1e-15 of t). A step where the correction
/// was too large to apply (a Newton step) must fall below 1e-7 of t, as before.
///
/// ```
/// use staircase::solver::queueing::{smooth_quantile_at, ExponentialTail, Level};
/// // M/M/1, λ = 0.9, μ = 1: the response is exponential at 0.1, p99 = ln(100)/0.1.
/// let mut tail = ExponentialTail::default();
/// tail.add_mmc(1.0, 0.9, 0.1, 1.0);
/// let p99 = smooth_quantile_at(Level::new(0.99), 10.0, |t| tail.at(t));
/// assert!((p99 - 100f64.ln() / 0.1).abs() < 1e-9);
/// ```
pub fn smooth_quantile_at(level: Level, scale: f64, tail: impl Fn(f64) -> (f64, f64, f64)) -> f64 {
    search_tail(level, scale, scale * level.unit_quantile, tail, true)
}

/// The quantiles at `levels` of the sum of exponentials `tail` ([`smooth_quantile_at`] on
/// [`ExponentialTail::at`]), each search started where the slowest term alone, a·e^{−rt},
/// falls to the target, ln(a/(1 − p))/r: exact for one exponential, and for an M/M/c
/// response at p95 and p99 within a hair of the root (the faster terms have died out there),
/// so Halley's method needs a step or two fewer than from the mean (`scale`). The mean's
/// start is kept where that term is not a plain positive exponential. The first step takes
/// no exponential of the slowest term (it is the target there) nor of a term too small to
/// count, and no logarithm near the root ([`ExponentialTail::first_step`]); most searches end
/// with it.
///
/// ```
/// use staircase::solver::queueing::{exponential_quantiles, smooth_quantile_at, ExponentialTail, Level};
/// // M/M/2, λ = 1.5, μ = 1: C = 9/14, wait rate θ = 0.5, response tail
/// // (1 + Cμ/(θ − μ))·e^{−t} − Cμ/(θ − μ)·e^{−θt}; its p99 solves that = 0.01.
/// let mut tail = ExponentialTail::default();
/// tail.add_mmc(1.0, 9.0 / 14.0, 0.5, 1.0);
/// let mean = 1.0 + (9.0 / 14.0) / 0.5;
/// let [p50, p99] = exponential_quantiles([Level::new(0.5), Level::new(0.99)], mean, &tail);
/// assert!((tail.at(p99).0 - 0.01).abs() < 1e-12);
/// assert!((tail.at(p50).0 - 0.5).abs() < 1e-12);
/// let from_mean = smooth_quantile_at(Level::new(0.99), mean, |t| tail.at(t));
/// assert!((p99 - from_mean).abs() < 1e-12 * p99);
/// ```
pub fn exponential_quantiles<const N: usize>(
    levels: [Level; N],
    scale: f64,
    tail: &ExponentialTail,
) -> [f64; N] {
    let slowest = tail.slowest();
    levels.map(|level| {
        let start = match slowest.and_then(|slowest| tail.first_step(slowest, level)) {
            Some(FirstStep::Done(quantile)) if scale > 0.0 && scale.is_finite() => return quantile,
            Some(FirstStep::Done(_)) | None => scale * level.unit_quantile,
            Some(FirstStep::Continue(next)) => next,
        };
        search_tail(level, scale, start, |t| tail.at(t), true)
    })
}

/// The search of [`quantile_at`] (Newton) and [`smooth_quantile_at`] (Halley when `smooth`).
fn search_tail(
    level: Level,
    scale: f64,
    start: f64,
    tail_and_density: impl Fn(f64) -> (f64, f64, f64),
    smooth: bool,
) -> f64 {
    if scale.is_nan() || scale <= 0.0 || scale.is_infinite() {
        return 0.0;
    }
    let Level {
        target, log_target, ..
    } = level;
    let mut low = 0.0;
    let mut high = f64::INFINITY;
    let mut t = start;
    let mut last_step = f64::INFINITY;
    for _ in 0..200 {
        let (tail, density, slope) = tail_and_density(t);
        if tail > target {
            low = t;
        } else {
            high = t;
        }
        // g(t) = ln tail − ln target, g′(t) = −density/tail.
        let gap = tail.ln() - log_target;
        let step = SearchStep::at(t, gap, (tail, density, slope), smooth);
        if step.finished(t, smooth) {
            return step.next;
        }
        let (next, on_target) = (step.next, step.on_target());
        // Newton's steps must shrink (by half every step) or bisection takes over: on a tail
        // with a kink Newton can bounce between the two sides of the bracket.
        let shrinking = (next - t).abs() <= 0.5 * last_step;
        let next = if next.is_finite() && next >= low && next <= high && next != t && shrinking {
            next
        } else if high.is_finite() {
            (low + high) / 2.0
        } else {
            2.0 * t.max(scale)
        };
        if (on_target || high - low <= 1e-12 * high) && (next - t).abs() <= 1e-12 * t.max(1e-300) {
            return next;
        }
        last_step = (next - t).abs();
        t = next;
    }
    t
}

/// One step of [`search_tail`] from t: Newton's on g(t) = ln P(T > t) − ln(1 − p), or
/// Halley's where the search is smooth and the correction is moderate ([`halley_step`]).
#[derive(Clone, Copy, Debug)]
struct SearchStep {
    /// g(t), the gap to the target in logarithms.
    gap: f64,
    /// Where the step lands (NaN where the tail or the density is not positive).
    next: f64,
    /// Whether the step is Halley's (cubic convergence).
    cubic: bool,
}

impl SearchStep {
    /// The step from `t`, where g(t) = `gap` and the tail, its density and the density's
    /// slope are `values`.
    fn at(t: f64, gap: f64, values: (f64, f64, f64), smooth: bool) -> SearchStep {
        let (tail, density, slope) = values;
        let (next, cubic) = if tail > 0.0 && density > 0.0 {
            let newton = gap * tail / density;
            match smooth
                .then(|| halley_step(newton, tail, density, slope))
                .flatten()
            {
                Some(step) => (t + step, true),
                None => (t + newton, false),
            }
        } else {
            (f64::NAN, false)
        };
        SearchStep { gap, next, cubic }
    }

    /// Whether the tail at t is close enough to the target for a negligible step to end the
    /// search: a step can also vanish where the density is steep but the tail still far off
    /// (the sharp end of a fluid backlog's uniform wait), and bisection then takes over.
    fn on_target(&self) -> bool {
        self.gap.abs() < if self.cubic { 1e-3 } else { 1e-6 }
    }

    /// Whether the search ends with this step from `t`: on target and the step negligible.
    /// Halley's error after a step s is of the order of s³ (relative to t), so a Halley step
    /// may end the search at 1e-5 of t (about 1e-15 left); a Newton step of the smooth search
    /// at 1e-7, and the plain Newton search, quadratic, goes on to 1e-12.
    fn finished(&self, t: f64, smooth: bool) -> bool {
        let negligible = match (self.cubic, smooth) {
            (true, _) => 1e-5,
            (false, true) => 1e-7,
            (false, false) => 1e-12,
        };
        self.on_target()
            && self.next.is_finite()
            && (self.next - t).abs() <= negligible * t.max(1e-300)
    }
}

/// How the first step of [`exponential_quantiles`] from the slowest term's start ended.
#[derive(Clone, Copy, Debug, PartialEq)]
enum FirstStep {
    /// The search ended there: the quantile.
    Done(f64),
    /// The search goes on from here.
    Continue(f64),
}

/// ln(1 + x): by its series x − x²/2 + … − x⁶/6 where |x| < 1/1024 (the remainder is below
/// 1e-21·|x|), `ln_1p` beyond.
fn ln_one_plus(x: f64) -> f64 {
    if x.abs() < 1.0 / 1024.0 {
        x * (1.0
            - x * (1.0 / 2.0
                - x * (1.0 / 3.0 - x * (1.0 / 4.0 - x * (1.0 / 5.0 - x * (1.0 / 6.0))))))
    } else {
        x.ln_1p()
    }
}

/// Whether |a|·e^{−x} is below 2⁻⁶⁴ of `target` (> 0), from the exponent of |a|/target alone
/// (2^e ≤ |a|/target < 2^{e+1}): no exponential is taken for a term that cannot move the
/// sum's last bit.
fn below_last_bit(a: f64, x: f64, target: f64) -> bool {
    let ratio = (a / target).abs();
    let exponent = ((ratio.to_bits() >> 52) & 0x7ff) as f64 - 1023.0;
    x * std::f64::consts::LOG2_E >= exponent + 65.0
}

/// Halley's correction of the Newton step `newton` on g = ln P(T > t): N/(1 + N·g″/(2g′)) with
/// g″/g′ = h′/h = f′/f + f/P(T > t); `None` where the correction is large (far from the
/// root, where the curvature says little: the Newton step is taken instead).
fn halley_step(newton: f64, tail: f64, density: f64, slope: f64) -> Option<f64> {
    let factor = 1.0 + 0.5 * newton * (slope / density + density / tail);
    (0.5..=2.0).contains(&factor).then(|| newton / factor)
}

/// The slowest-decaying term a·e^{−rt} of an [`ExponentialTail`], where it is a plain
/// positive exponential: the term the tail follows far out.
#[derive(Clone, Copy, Debug, PartialEq)]
struct SlowestTerm {
    /// Its place among the tail's terms.
    index: usize,
    /// r.
    rate: f64,
    /// ln a.
    log_weight: f64,
}

/// A response-time tail that is a sum of exponential terms, P(T > t) = Σ (a + b·t)·e^{−rt}:
/// M/M/c response times ([`mmc_response_tail`]) and mixtures of them, one term per rate, so
/// that every step of a quantile search takes each exponential once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExponentialTail {
    /// (rate r, a, b): inline for the two terms of one M/M/c response and a few more, so that
    /// a tail built on the stack allocates nothing.
    terms: smallvec::SmallVec<[(f64, f64, f64); 4]>,
}

impl ExponentialTail {
    /// An empty tail with room for `terms` terms.
    pub fn with_capacity(terms: usize) -> ExponentialTail {
        ExponentialTail {
            terms: smallvec::SmallVec::with_capacity(terms),
        }
    }

    /// Removes every term (keeping the room for them).
    pub fn clear(&mut self) {
        self.terms.clear();
    }

    /// Adds `weight` times the M/M/c response tail of [`mmc_response_tail`]:
    /// (1 − C + Cθ/(θ − μ))·e^{−μt} − Cμ/(θ − μ)·e^{−θt}, or (1 + Cμt)·e^{−μt} where θ = μ.
    pub fn add_mmc(&mut self, weight: f64, p_wait: f64, wait_rate: f64, service_rate: f64) {
        let (mu, theta) = (service_rate, wait_rate);
        if p_wait <= 0.0 {
            self.add(mu, weight, 0.0);
        } else if ((theta - mu) / mu).abs() < 1e-9 {
            self.add(mu, weight, weight * p_wait * mu);
        } else {
            let gap = theta - mu;
            self.add(mu, weight * ((1.0 - p_wait) + p_wait * theta / gap), 0.0);
            self.add(theta, -weight * p_wait * mu / gap, 0.0);
        }
    }

    /// Adds (a + b·t)·e^{−rt}, to the term of the same rate if there is one.
    fn add(&mut self, rate: f64, a: f64, b: f64) {
        match self.terms.iter_mut().find(|term| term.0 == rate) {
            Some(term) => {
                term.1 += a;
                term.2 += b;
            }
            None => self.terms.push((rate, a, b)),
        }
    }

    /// The slowest-decaying term when it is a plain exponential a·e^{−rt} with a > 0.
    fn slowest(&self) -> Option<SlowestTerm> {
        let (index, &(rate, a, b)) = self
            .terms
            .iter()
            .enumerate()
            .min_by(|x, y| x.1 .0.total_cmp(&y.1 .0))?;
        (b == 0.0 && a > 0.0 && rate > 0.0).then(|| SlowestTerm {
            index,
            rate,
            log_weight: a.ln(),
        })
    }

    /// The first step of the search for the quantile at `level`, from t₀ = ln(a/(1 − p))/r,
    /// where the slowest term a·e^{−rt} alone falls to the target 1 − p: there that term *is*
    /// the target, so only the other terms are evaluated (one exponential each, none for a
    /// term below 2⁻⁶⁴ of the target, [`below_last_bit`]), and g(t₀) = ln P(T > t₀) −
    /// ln(1 − p) = ln(1 + x), x the other terms' sum over the target ([`ln_one_plus`]). The
    /// step and the test that ends the search are [`search_tail`]'s; where the others all
    /// vanish the quantile is t₀ itself, the closed form of a single exponential. `None` where
    /// t₀ is not a positive time.
    fn first_step(&self, slowest: SlowestTerm, level: Level) -> Option<FirstStep> {
        let SlowestTerm {
            index,
            rate,
            log_weight,
        } = slowest;
        let target = level.target;
        let t = (log_weight - level.log_target) / rate;
        if !(t.is_finite() && t > 0.0) {
            return None;
        }
        let (mut others, mut density, mut slope) = (0.0, rate * target, -rate * rate * target);
        for (_, &(other_rate, a, b)) in self.terms.iter().enumerate().filter(|(i, _)| *i != index) {
            if b == 0.0 && below_last_bit(a, other_rate * t, target) {
                continue;
            }
            let (tail, term_density, term_slope) = term_at((other_rate, a, b), t);
            others += tail;
            density += term_density;
            slope += term_slope;
        }
        let gap = ln_one_plus(others / target);
        let step = SearchStep::at(t, gap, (target + others, density, slope), true);
        Some(if step.finished(t, true) {
            FirstStep::Done(step.next)
        } else if step.next.is_finite() && step.next > 0.0 {
            FirstStep::Continue(step.next)
        } else {
            FirstStep::Continue(t)
        })
    }

    /// P(T > t), the density f(t) and its derivative f′(t).
    pub fn at(&self, t: f64) -> (f64, f64, f64) {
        let (mut tail, mut density, mut slope) = (0.0, 0.0, 0.0);
        for &term in &self.terms {
            let (term_tail, term_density, term_slope) = term_at(term, t);
            tail += term_tail;
            density += term_density;
            slope += term_slope;
        }
        (tail, density, slope)
    }
}

/// One term (r, a, b) of an [`ExponentialTail`] at t: (a + b·t)·e^{−rt}, its density
/// (r(a + b·t) − b)·e^{−rt} and the density's derivative r(2b − r(a + b·t))·e^{−rt}.
#[inline(always)]
fn term_at((rate, a, b): (f64, f64, f64), t: f64) -> (f64, f64, f64) {
    let decay = (-rate * t).exp();
    let linear = a + b * t;
    (
        linear * decay,
        (rate * linear - b) * decay,
        rate * (2.0 * b - rate * linear) * decay,
    )
}

/// Closed-form survival function P(T > t) and density of the M/M/c response time T = Wq + S,
/// where the wait is 0 with probability 1 − C and Exp(θ) with probability C, and S ~ Exp(μ):
/// P(T > t) = (1 − C)e^{−μt} + C·(θe^{−μt} − μe^{−θt})/(θ − μ), with the θ = μ limit
/// C·(1 + μt)e^{−μt}.
///
/// ```
/// // M/M/1, λ = 0.9, μ = 1: T ~ Exp(0.1), so P(T > 46.05) = e^{−4.605} ≈ 0.01.
/// let (survival, _) = staircase::solver::queueing::mmc_response_tail(0.9, 0.1, 1.0, 46.0517);
/// assert!((survival - 0.01).abs() < 1e-6);
/// ```
pub fn mmc_response_tail(p_wait: f64, wait_rate: f64, service_rate: f64, t: f64) -> (f64, f64) {
    let mu = service_rate;
    let theta = wait_rate;
    let exp_mu = (-mu * t).exp();
    let (tail, density) = if p_wait <= 0.0 {
        (0.0, 0.0)
    } else if ((theta - mu) / mu).abs() < 1e-9 {
        ((1.0 + mu * t) * exp_mu, mu * mu * t * exp_mu)
    } else {
        let exp_theta = (-theta * t).exp();
        (
            (theta * exp_mu - mu * exp_theta) / (theta - mu),
            theta * mu * (exp_theta - exp_mu) / (mu - theta),
        )
    };
    (
        (1.0 - p_wait) * exp_mu + p_wait * tail,
        (1.0 - p_wait) * mu * exp_mu + p_wait * density,
    )
}

/// Closed-form survival function P(T > t) and density of T = W + S where the wait W is 0 with
/// probability 1 − p and uniform on [0, M] with probability p (the fluid backlog of an
/// overloaded queue), and S ~ Exp(μ): for the uniform part,
/// P(U + S > t) = (M − t + (1 − e^{−μt})/μ)/M for t < M and (e^{−μ(t−M)} − e^{−μt})/(μM)
/// beyond.
///
/// ```
/// // Waits uniform on [0, 10 s] and a 1 s service: the response exceeds 10 s with
/// // probability (1 − e^{−10})/10 = 0.099995.
/// let (survival, _) = staircase::solver::queueing::uniform_response_tail(1.0, 10.0, 1.0, 10.0);
/// assert!((survival - (1.0 - (-10.0f64).exp()) / 10.0).abs() < 1e-12);
/// ```
pub fn uniform_response_tail(p_wait: f64, max: f64, service_rate: f64, t: f64) -> (f64, f64) {
    let mu = service_rate;
    let exp_mu = (-mu * t).exp();
    let (tail, density) = if p_wait <= 0.0 || max <= 0.0 {
        (exp_mu, mu * exp_mu)
    } else if t <= 0.0 {
        (1.0, 0.0)
    } else if t < max {
        ((max - t + (1.0 - exp_mu) / mu) / max, (1.0 - exp_mu) / max)
    } else {
        let exp_after = (-mu * (t - max)).exp();
        (
            (exp_after - exp_mu) / (mu * max),
            (exp_after - exp_mu) / max,
        )
    };
    (
        (1.0 - p_wait) * exp_mu + p_wait * tail,
        (1.0 - p_wait) * mu * exp_mu + p_wait * density,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Turning each atom's phase point by point gives the direct e^{−s·t} to 1e-12 over the
    /// longest grid.
    #[test]
    fn removing_atoms_by_phase_steps_matches_direct_exponentials() {
        let horizon = 3.7;
        let points: Vec<Complex64> = (0..=GRID / 2)
            .map(|k| Complex64::new(0.9, 2.0 * PI * k as f64 / horizon))
            .collect();
        let atoms = [(0.013, 0.2), (1.234_567, 0.05), (2.9, 0.001)];
        let mut stepped = vec![Complex64::new(1.0, 0.0); points.len()];
        remove_atoms(&mut stepped, &points, &atoms);
        for (value, s) in stepped.iter().zip(&points) {
            let direct = atoms.iter().fold(Complex64::new(1.0, 0.0), |acc, &(t, m)| {
                acc - (-s * t).exp() * m
            });
            assert!(
                (value - direct).norm() < 1e-12,
                "{value} vs {direct} at {s}"
            );
        }
        // Points that are not evenly spaced get the exponential itself.
        let uneven = [
            Complex64::new(0.1, 1.0),
            Complex64::new(0.2, 3.0),
            Complex64::new(0.5, 7.0),
        ];
        for (phase, s) in phases(&uneven, 0.7).zip(&uneven) {
            assert_eq!(phase, (-s * 0.7).exp());
        }
    }

    fn erlang_c_by_sum(c: u64, a: f64) -> f64 {
        // Direct textbook form: C = (aᶜ/c!)(c/(c−a)) / (Σ_{k<c} aᵏ/k! + (aᶜ/c!)(c/(c−a))).
        let mut term = 1.0;
        let mut sum = 0.0;
        for k in 0..c {
            sum += term;
            term *= a / (k + 1) as f64;
        }
        let last = term * c as f64 / (c as f64 - a);
        last / (sum + last)
    }

    /// The quantile where `tail` falls to 1 − p, by bisection to the last bit.
    fn bisected_quantile(tail: &ExponentialTail, probability: f64) -> f64 {
        let (mut low, mut high) = (0.0f64, 1.0f64);
        while tail.at(high).0 > 1.0 - probability {
            high *= 2.0;
        }
        for _ in 0..200 {
            let middle = 0.5 * (low + high);
            if middle <= low || middle >= high {
                break;
            }
            if tail.at(middle).0 > 1.0 - probability {
                low = middle;
            } else {
                high = middle;
            }
        }
        0.5 * (low + high)
    }

    #[test]
    fn node_quantiles_from_the_slowest_term_match_bisection_to_1e_12() {
        let levels = [0.5, 0.95, 0.99].map(Level::new);
        let mut worst: f64 = 0.0;
        for servers in [1u64, 2, 8, 64] {
            for rho in [0.05, 0.3, 0.55, 0.8, 0.95, 0.999] {
                for second_service in [None, Some(0.3), Some(4.0)] {
                    let mu = 1.0;
                    let load = rho * servers as f64;
                    let p_wait = erlang_c(servers, load);
                    let theta = servers as f64 * mu - load * mu;
                    let mut tail = ExponentialTail::default();
                    let mut mean = 1.0 / mu + p_wait / theta;
                    match second_service {
                        None => tail.add_mmc(1.0, p_wait, theta, mu),
                        Some(service) => {
                            tail.add_mmc(0.7, p_wait, theta, mu);
                            tail.add_mmc(0.3, p_wait, theta, 1.0 / service);
                            mean = 0.7 * mean + 0.3 * (service + p_wait / theta);
                        }
                    }
                    let found = exponential_quantiles(levels, mean, &tail);
                    for (level, value) in [0.5, 0.95, 0.99].iter().zip(found) {
                        let exact = bisected_quantile(&tail, *level);
                        worst = worst.max((value - exact).abs() / exact);
                    }
                }
            }
        }
        assert!(worst < 1e-12, "worst relative error {worst:e}");
    }

    /// One exponential term: the quantile is its closed form ln(a/(1 − p))/r to the bit.
    #[test]
    fn single_exponential_quantiles_are_the_closed_form() {
        let levels = [0.5, 0.95, 0.99].map(Level::new);
        for (rate, weight) in [(0.1, 1.0), (3.0, 0.7), (250.0, 1.0)] {
            let mut tail = ExponentialTail::default();
            tail.add(rate, weight, 0.0);
            let found = exponential_quantiles(levels, 1.0 / rate, &tail);
            for (level, value) in levels.iter().zip(found) {
                let closed = (weight.ln() - level.log_target) / rate;
                if closed > 0.0 {
                    assert_eq!(value, closed, "rate {rate}, weight {weight}");
                }
            }
        }
    }

    /// Tails the local search must leave to the full one or treat with care: a term of
    /// (a + b·t)·e^{−rt}, a negative middle term that puts the root before the slowest term's
    /// start while a much faster term, negligible there, grows, and many terms.
    #[test]
    fn awkward_exponential_tails_match_bisection_to_1e_12() {
        let levels = [0.5, 0.95, 0.99].map(Level::new);
        let cases: [&[(f64, f64, f64)]; 4] = [
            &[(1.0, 0.6, 0.3), (0.4, 0.5, 0.0)],
            &[(0.2, 1.2, 0.0), (0.5, -0.3, 0.0), (400.0, 1e-3, 0.0)],
            &[(0.2, 1.05, 0.0), (0.25, -0.1, 0.0), (60.0, 0.05, 0.0)],
            &[
                (0.5, 0.2, 0.0),
                (0.6, 0.1, 0.0),
                (0.7, 0.1, 0.0),
                (0.8, 0.1, 0.0),
                (0.9, 0.1, 0.0),
                (1.0, 0.1, 0.0),
                (1.1, 0.1, 0.0),
                (1.2, 0.1, 0.0),
                (1.3, 0.1, 0.0),
            ],
        ];
        for terms in cases {
            let mut tail = ExponentialTail::default();
            for &(rate, a, b) in terms {
                tail.add(rate, a, b);
            }
            let found = exponential_quantiles(levels, 2.0, &tail);
            for (level, value) in [0.5, 0.95, 0.99].iter().zip(found) {
                let exact = bisected_quantile(&tail, *level);
                assert!(
                    (value - exact).abs() <= 1e-12 * exact,
                    "{terms:?} at {level}: {value} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn erlang_c_matches_textbook_values() {
        // Published Erlang C table values (4 decimals).
        let cases = [
            (1, 0.5, 0.5),
            (2, 1.0, 0.3333),
            (3, 2.0, 0.4444),
            (5, 4.0, 0.5541),
            (10, 8.0, 0.4092),
        ];
        for (c, a, expected) in cases {
            let value = erlang_c(c, a);
            assert!((value - expected).abs() < 5e-5, "C({c}, {a}) = {value}");
            assert!((value - erlang_c_by_sum(c, a)).abs() < 1e-12);
        }
    }

    #[test]
    fn erlang_b_is_stable_for_huge_loads() {
        let b = erlang_b(1_000_000, 999_000.0);
        assert!(b.is_finite() && b > 0.0 && b < 0.01, "{b}");
        // Far more servers than load: no blocking at all.
        assert_eq!(erlang_b(2_000, 100.0), 0.0);
        // Compare the truncated start with the full recursion at a moderate load.
        let full = {
            let mut inverse = 1.0;
            for k in 1..=5_000u64 {
                inverse = 1.0 + (k as f64 / 4_900.0) * inverse;
            }
            1.0 / inverse
        };
        assert!((erlang_b(5_000, 4_900.0) - full).abs() < 1e-14);
    }

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

    /// −d/ds of the transform at 0, by a central difference.
    fn mean_from_transform(dist: &WaitDist) -> f64 {
        let h = 1e-6;
        let at = |x: f64| dist.lst(Complex64::new(x, 0.0)).re;
        -(at(h) - at(-h)) / (2.0 * h)
    }

    #[test]
    fn capped_stages_match_the_explicit_erlang_mix() {
        // Geometric stages (ratio 0.8) cut off at 5: the same as listing the five stage counts.
        let (p_wait, ratio, stage_rate, cap) = (0.6, 0.8, 3.0, 5u64);
        let capped = WaitDist::CappedStages {
            p_wait,
            ratio,
            stage_rate,
            cap,
        };
        let mut stage_probs: Vec<f64> = (1..cap)
            .map(|j| p_wait * (1.0 - ratio) * ratio.powi(j as i32 - 1))
            .collect();
        stage_probs.push(p_wait * ratio.powi(cap as i32 - 1));
        let explicit = WaitDist::ErlangMix {
            stage_probs,
            stage_rate,
        };
        for s in [
            Complex64::new(0.0, 0.0),
            Complex64::new(0.5, 2.0),
            Complex64::new(3.0, -7.0),
        ] {
            assert!((capped.lst(s) - explicit.lst(s)).norm() < 1e-12, "at {s}");
        }
        assert!((capped.mean() - explicit.mean()).abs() < 1e-12);
        assert!((capped.mean() - mean_from_transform(&capped)).abs() < 1e-6);
        assert!((capped.zero_mass() - explicit.zero_mass()).abs() < 1e-15);
    }

    #[test]
    fn a_cut_off_uniform_wait_has_the_mean_of_its_transform() {
        for dist in [
            WaitDist::Uniform {
                p_wait: 1.0,
                max: 2.0,
                cap: 2.0,
            },
            WaitDist::Uniform {
                p_wait: 0.7,
                max: 2.0,
                cap: 0.5,
            },
        ] {
            assert!((dist.lst(Complex64::new(0.0, 0.0)).re - 1.0).abs() < 1e-12);
            assert!(
                (dist.mean() - mean_from_transform(&dist)).abs() < 1e-6,
                "{dist:?}"
            );
        }
    }

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

    #[test]
    fn fourier_inversion_recovers_known_percentiles() {
        // Exp(2): p = 1 − e^{−2t}.
        let exponential = percentiles_by_fourier(0.5, &[0.5, 0.95, 0.99], |points, values| {
            for (s, v) in points.iter().zip(values.iter_mut()) {
                *v = Complex64::new(2.0, 0.0) / (s + 2.0);
            }
        });
        for (p, t) in [0.5f64, 0.95, 0.99].iter().zip(&exponential) {
            let exact = -(1.0 - p).ln() / 2.0;
            assert!((t - exact).abs() < 1e-3 * exact, "p{p}: {t} vs {exact}");
        }
        // A mixture of two constants (atoms at 1 and 10, weights 0.97 and 0.03) plus Exp(1):
        // for t ≥ 10, P(T > t) = 0.97e^{−(t−1)} + 0.03e^{−(t−10)}, so p99 = 10 + ln(3 + 97e^{−9}).
        let mixture = percentiles_by_fourier(1.0 + 0.97 + 0.3, &[0.5, 0.99], |points, values| {
            for (s, v) in points.iter().zip(values.iter_mut()) {
                let delays = (-s).exp() * 0.97 + (-s * 10.0).exp() * 0.03;
                *v = delays / (s + 1.0);
            }
        });
        let median = 1.0 - (1.0 - 0.5 / 0.97f64).ln();
        assert!(
            (mixture[0] - median).abs() < 2e-3,
            "{} vs {median}",
            mixture[0]
        );
        let p99 = 10.0 + (3.0 + 97.0 * (-9f64).exp()).ln();
        assert!((mixture[1] - p99).abs() < 1e-3, "{} vs {p99}", mixture[1]);
    }

    #[test]
    fn atoms_are_exact_percentiles() {
        // 80% of requests take exactly 31 ms, 20% an exponential time of mean 5 ms: the CDF jumps
        // from 0.2(1 − e^{−31/5}) to 0.9996 at 31, so p50 = p95 = p99 = 31.
        let atoms = [(31.0, 0.8)];
        let found = percentiles_with_atoms(25.8, &[0.5, 0.95, 0.99], &atoms, |points, values| {
            for (s, v) in points.iter().zip(values.iter_mut()) {
                *v = (-s * 31.0).exp() * 0.8 + 0.2 / (s * 5.0 + 1.0);
            }
        });
        for value in found {
            assert!((value - 31.0).abs() < 1e-9, "{value}");
        }
        // p10 falls in the exponential part: 0.2(1 − e^{−t/5}) = 0.1 → t = 5 ln 2.
        let low = percentiles_with_atoms(25.8, &[0.1], &atoms, |points, values| {
            for (s, v) in points.iter().zip(values.iter_mut()) {
                *v = (-s * 31.0).exp() * 0.8 + 0.2 / (s * 5.0 + 1.0);
            }
        });
        assert!((low[0] - 5.0 * 2f64.ln()).abs() < 1e-2, "{}", low[0]);
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

    /// The smallest t with `cdf`(t) ≥ p, by bisection on [0, 100].
    fn exact_quantile(cdf: impl Fn(f64) -> f64, p: f64) -> f64 {
        let (mut low, mut high) = (0.0, 100.0);
        for _ in 0..200 {
            let middle = 0.5 * (low + high);
            if cdf(middle) < p {
                low = middle;
            } else {
                high = middle;
            }
        }
        low
    }

    /// P(Erlang-n of rate 1 ≤ t) = 1 − e^{−t}·Σ_{i<n} tⁱ/i!.
    fn erlang_cdf(n: usize, t: f64) -> f64 {
        let mut term = 1.0;
        let mut sum = 0.0;
        for i in 0..n {
            if i > 0 {
                term *= t / i as f64;
            }
            sum += term;
        }
        1.0 - (-t).exp() * sum
    }

    #[test]
    fn every_grid_cap_keeps_percentiles_within_two_ten_thousandths_of_the_mean() {
        // Five exponential hops of 1 s (Erlang-5). Measured: at most 1.2e-4 of the mean at the
        // coarsest cap (extrapolated from 256 and 512 points; a plain 512-point grid was off
        // by 0.39%), 5e-6 when the grids may refine.
        let levels = [0.5, 0.95, 0.99];
        for cap in [MIN_GRID, 1024, 2048, GRID] {
            let found = percentiles_on_grid(cap, 5.0, &levels, &[], |points, values| {
                for (s, v) in points.iter().zip(values.iter_mut()) {
                    *v = (1.0 / (s + 1.0)).powi(5);
                }
            });
            for (p, value) in levels.iter().zip(&found) {
                let exact = exact_quantile(|t| erlang_cdf(5, t), *p);
                assert!(
                    (value - exact).abs() / 5.0 < 2e-4,
                    "cap {cap}, p{p}: {value} vs {exact}"
                );
            }
        }
        // The cap shrinks with the class's size, never below the coarsest.
        assert_eq!(grid_for(100), GRID);
        assert_eq!(grid_for(500), 1024);
        assert_eq!(grid_for(10_000), MIN_GRID);
        assert_eq!(grid_for(usize::MAX), MIN_GRID);
    }

    #[test]
    fn a_concentrated_distribution_gets_a_period_sized_to_its_spread() {
        // Forty exponential hops of 25 ms (Erlang-40, mean 1 s, standard deviation 0.158 s):
        // the period is about 2·(1 + 8·0.158) = 4.5 s instead of 16 s, and the percentiles
        // on the coarsest cap are within 2e-4 of the mean. Measured: period 4.53 s, errors
        // 3e-6, 5.4e-5 and 3e-5 s at p50, p95 and p99.
        let erlang = |points: &[Complex64], values: &mut [Complex64]| {
            for (s, v) in points.iter().zip(values.iter_mut()) {
                *v = (1.0 / (s / 40.0 + 1.0)).powi(40);
            }
        };
        let period = first_period(1.0, &erlang);
        assert!((4.3..4.6).contains(&period), "period {period}");
        let levels = [0.5, 0.95, 0.99];
        let found = percentiles_on_grid(MIN_GRID, 1.0, &levels, &[], erlang);
        for (p, value) in levels.iter().zip(&found) {
            let exact = exact_quantile(|t| erlang_cdf(40, 40.0 * t), *p);
            assert!((value - exact).abs() < 2e-4, "p{p}: {value} vs {exact}");
        }
        // An exponential keeps the widest period, 16 means.
        let exponential = |points: &[Complex64], values: &mut [Complex64]| {
            for (s, v) in points.iter().zip(values.iter_mut()) {
                *v = 1.0 / (s * 2.0 + 1.0);
            }
        };
        assert_eq!(first_period(2.0, &exponential), 32.0);
    }

    #[test]
    fn a_kinked_distribution_refines_its_grid_until_the_percentiles_settle() {
        // Half the requests take an exponential of 1 s, half a constant 2 s plus one of 1 s:
        // the density jumps at 2 s, where the grid's error is of first order, not second, and
        // extrapolation alone is not enough. The levels sit just past the jump.
        let cdf = |t: f64| 0.5 * erlang_cdf(1, t) + 0.5 * erlang_cdf(1, (t - 2.0).max(0.0));
        let levels = [0.5 * (1.0 - (-2.0f64).exp()) + 0.02, 0.5, 0.95];
        let found = percentiles_on_grid(GRID, 2.0, &levels, &[], |points, values| {
            for (s, v) in points.iter().zip(values.iter_mut()) {
                *v = (Complex64::new(1.0, 0.0) + (-s * 2.0).exp()) * 0.5 / (s + 1.0);
            }
        });
        for (p, value) in levels.iter().zip(&found) {
            let exact = exact_quantile(cdf, *p);
            // Measured: within 3e-4 s at the finest grid (the plain 4,096-point value alone: 7e-5 s).
            assert!((value - exact).abs() < 1e-3, "p{p}: {value} vs {exact}");
        }
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
