//! `WaitDist`: the distribution of the time an accepted request waits before service, with
//! its point mass at zero, its mean and its Laplace–Stieltjes transform.

use super::geometric::{log_geometric_sum, scaled_geometric_sum, truncated_geometric_mean};
use super::service_shape::gamma_lst;
use super::spectrum::phases;
use num_complex::Complex64;

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
    ///
    /// [`conditional_wait_scv`]: super::conditional_wait_scv
    Gamma { p_wait: f64, shape: f64, rate: f64 },
    /// Waits with probability `p_wait`, then for the M/G/1 wait of those who wait at
    /// utilization `rho` with service `service` (Pollaczek–Khinchine), its time scaled by
    /// `stretch`: a wait shaped by a heavy-tailed service
    /// ([`crate::solver::service_wait::conditional_lst`]).
    ServiceShaped {
        p_wait: f64,
        rho: f64,
        stretch: f64,
        service: crate::solver::service_wait::ServiceMix,
    },
    /// `stages` (a wait of exponential stages of rate `stage_rate`: an M/M/c/K wait) with
    /// every stage a gamma of the same mean and `stage_shape` (a limited queue's wait behind a
    /// service that is not exponential, [`crate::solver::finite_wait::gamma_stages`]).
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
            } => p_wait * stretch * crate::solver::service_wait::conditional_mean(*rho, service),
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
                let waited =
                    crate::solver::service_wait::conditional_lst(*rho, service, s * *stretch);
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// −d/ds of the transform at 0, by a central difference.
    pub(in crate::solver::queueing) fn mean_from_transform(dist: &WaitDist) -> f64 {
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
}
