//! Response-time tails in closed form: M/M/c and fluid-backlog responses, sums of exponential
//! terms (`ExponentialTail`) and their quantiles.

use super::quantile::{search_tail, Level, SearchStep};

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
///
/// [`smooth_quantile_at`]: super::smooth_quantile_at
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
    use super::super::erlang::erlang_c;
    use super::*;

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
}
