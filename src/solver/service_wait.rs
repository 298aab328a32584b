//! Waits shaped by the service's own distribution: behind a heavy-tailed (lognormal) service,
//! the wait of those who wait is given the shape of the exact M/G/1 conditional wait
//! (Pollaczek–Khinchine: a geometric number of residual service times), stretched in time to
//! the mean the two-moment model gives. A gamma fitted to two moments has a light tail there:
//! the lognormal's third moment, which sets the wait's spread, is far above a gamma's.

use super::compile::Compiled;
use super::traffic::Flows;
use crate::solver::queueing::{ServiceShape, WaitDist, SATURATION_EPSILON};
use num_complex::Complex64;

/// The service time of a queue serving several classes: one family (`shape`), and per class
/// its share of the arrivals and its mean service time in seconds, (share, mean).
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceMix {
    pub shape: ServiceShape,
    pub parts: Vec<(f64, f64)>,
}

impl ServiceMix {
    /// Mean service time E[S].
    pub fn mean(&self) -> f64 {
        self.parts.iter().map(|(share, mean)| share * mean).sum()
    }

    /// Second moment E[S²] = Σ share·mean²·(1 + c_s²).
    pub fn second_moment(&self) -> f64 {
        let scv = self.shape.scv();
        self.parts
            .iter()
            .map(|(share, mean)| share * mean * mean * (1.0 + scv))
            .sum()
    }

    /// Laplace–Stieltjes transform E[e^{−sS}].
    pub fn lst(&self, s: Complex64) -> Complex64 {
        self.parts
            .iter()
            .map(|(share, mean)| self.shape.lst(*mean, s) * *share)
            .sum()
    }

    /// Transform of the residual (equilibrium) service time, (1 − S*(s))/(s·E[S]); by its
    /// first two terms where s·E[S] is too small for the difference.
    fn residual_lst(&self, s: Complex64) -> Complex64 {
        let mean = self.mean();
        let one = Complex64::new(1.0, 0.0);
        if (s * mean).norm() < 1e-7 {
            return one - s * (self.second_moment() / (2.0 * mean));
        }
        (one - self.lst(s)) / (s * mean)
    }
}

/// Mean of the M/G/1 wait of those who wait at utilization ρ (Pollaczek–Khinchine):
/// E[W | W > 0] = E[S²]/(2·E[S]·(1 − ρ)).
///
/// ```
/// use staircase::solver::queueing::ServiceShape;
/// use staircase::solver::service_wait::{conditional_mean, ServiceMix};
/// // M/M/1 at ρ 0.8, S = 10 ms: those who wait wait S/(1 − ρ) = 50 ms.
/// let mix = ServiceMix { shape: ServiceShape::Exponential, parts: vec![(1.0, 0.01)] };
/// assert!((conditional_mean(0.8, &mix) - 0.05).abs() < 1e-15);
/// ```
pub fn conditional_mean(rho: f64, service: &ServiceMix) -> f64 {
    let mean = service.mean();
    service.second_moment() / (2.0 * mean * (1.0 - rho.clamp(0.0, 1.0 - SATURATION_EPSILON)))
}

/// Transform of the M/G/1 wait of those who wait at utilization ρ, from the
/// Pollaczek–Khinchine transform W*(s) = (1 − ρ)/(1 − ρ·S_e*(s)) (S_e the residual service):
/// a geometric number N ≥ 1 (P(N = n) = (1 − ρ)ρ^{n−1}) of residual service times,
/// (1 − ρ)S_e*(s)/(1 − ρS_e*(s)).
///
/// ```
/// use num_complex::Complex64;
/// use staircase::solver::queueing::ServiceShape;
/// use staircase::solver::service_wait::{conditional_lst, ServiceMix};
/// // M/M/1 at ρ 0.5, μ = 1: the wait of those who wait is exponential at μ − λ = 0.5,
/// // whose transform at s = 1 is 0.5/1.5.
/// let mix = ServiceMix { shape: ServiceShape::Exponential, parts: vec![(1.0, 1.0)] };
/// let value = conditional_lst(0.5, &mix, Complex64::new(1.0, 0.0));
/// assert!((value.re - 1.0 / 3.0).abs() < 1e-12 && value.im.abs() < 1e-12);
/// ```
pub fn conditional_lst(rho: f64, service: &ServiceMix, s: Complex64) -> Complex64 {
    let rho = rho.clamp(0.0, 1.0 - SATURATION_EPSILON);
    let residual = service.residual_lst(s);
    residual * (1.0 - rho) / (Complex64::new(1.0, 0.0) - residual * rho)
}

/// Whether a queue's wait is shaped by its service ([`conditional_lst`]) rather than by a
/// gamma fitted to two moments: for the heavy-tailed lognormal family, and for classes of
/// different mean service times (a hyperexponential-like mix, whose third moment is above a
/// gamma's of the same c²). `times` are the mean service times of the classes that arrive.
fn shaped_by_service(shape: ServiceShape, mut times: impl Iterator<Item = f64>) -> bool {
    if matches!(shape, ServiceShape::Lognormal(_)) {
        return true;
    }
    let Some(first) = times.next() else {
        return false;
    };
    // Consecutive times differ somewhere exactly when some time differs from the first.
    times.any(|time| time != first)
}

/// The wait `wait` (P(wait) and mean kept) of a queue at utilization `rho` serving `service`,
/// with the Pollaczek–Khinchine shape ([`WaitDist::ServiceShaped`]); `None` for a wait that
/// is not a steady state below saturation (none, an overload's, a limited queue's).
pub fn service_shaped(wait: &WaitDist, rho: f64, service: &ServiceMix) -> Option<WaitDist> {
    let p_wait = match wait {
        WaitDist::Gamma { p_wait, .. } | WaitDist::Exponential { p_wait, .. } => *p_wait,
        _ => return None,
    };
    let mean = wait.mean();
    let shape_mean = conditional_mean(rho, service);
    let usable = p_wait > 0.0
        && mean > 0.0
        && rho > 0.0
        && rho < 1.0 - SATURATION_EPSILON
        && shape_mean.is_finite()
        && shape_mean > 0.0;
    if !usable {
        return None;
    }
    let stretch = mean / p_wait / shape_mean;
    stretch.is_finite().then(|| WaitDist::ServiceShaped {
        p_wait,
        rho,
        stretch,
        service: service.clone(),
    })
}

/// Gives the unlimited queues of heavy-tailed service ([`shaped_by_service`]) below
/// saturation the Pollaczek–Khinchine shape of wait, keeping their P(wait) and mean.
pub(super) fn apply(compiled: &Compiled, flows: &mut Flows) {
    let class_count = compiled.classes.len();
    for (v, node) in compiled.nodes.iter().enumerate() {
        let Some(times) = &node.service else {
            continue;
        };
        if node.buffer.is_some() {
            continue;
        }
        let arrivals = &flows.arrivals[v * class_count..(v + 1) * class_count];
        let total: f64 = arrivals.iter().sum();
        if total.is_nan() || total <= 0.0 {
            continue;
        }
        let arriving = arrivals.iter().zip(times).filter(|(rate, _)| **rate > 0.0);
        if !shaped_by_service(node.shape, arriving.map(|(_, time)| *time)) {
            continue;
        }
        let service = ServiceMix {
            shape: node.shape,
            parts: arrivals
                .iter()
                .zip(times)
                .filter(|(rate, _)| **rate > 0.0)
                .map(|(rate, time)| (rate / total, *time))
                .collect(),
        };
        for pool in flows.pools[v].iter_mut() {
            if let Some(wait) = service_shaped(&pool.wait, pool.offered_utilization, &service) {
                pool.wait = wait;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lognormal(mean: f64, cv: f64) -> ServiceMix {
        ServiceMix {
            shape: ServiceShape::Lognormal(cv),
            parts: vec![(1.0, mean)],
        }
    }

    #[test]
    fn conditional_wait_has_the_pollaczek_khinchine_mean() {
        // The slope of the transform at 0 is −E[W | W > 0].
        for (rho, cv) in [(0.3, 1.5), (0.8, 0.5), (0.6, 3.0)] {
            let mix = lognormal(0.005, cv);
            let h = 1e-3;
            let slope = (1.0 - conditional_lst(rho, &mix, Complex64::new(h, 0.0)).re) / h;
            let expected = conditional_mean(rho, &mix);
            assert!(
                (slope / expected - 1.0).abs() < 1e-3,
                "{rho} {cv}: {slope} vs {expected}"
            );
        }
    }

    #[test]
    fn md1_conditional_wait_is_exact() {
        // M/D/1 at ρ 0.5, S = 1: Erlang's M/D/1 wait CDF is P(W ≤ t) = (1 − ρ)·e^{ρt} for
        // t ≤ 1, so P(W ≤ t | W > 0) = e^{0.5t} − 1 there.
        let mix = ServiceMix {
            shape: ServiceShape::Deterministic,
            parts: vec![(1.0, 1.0)],
        };
        let mean = conditional_mean(0.5, &mix);
        assert!((mean - 1.0).abs() < 1e-12);
        let p = crate::solver::queueing::percentiles_by_fourier(mean, &[0.5], |points, values| {
            for (s, value) in points.iter().zip(values.iter_mut()) {
                *value = conditional_lst(0.5, &mix, *s);
            }
        });
        // The median t: (e^{0.5t} − 1) = 0.5, t = 2·ln 1.5 (below 1, where the formula holds).
        let expected = 2.0 * 1.5f64.ln();
        assert!((p[0] - expected).abs() < 5e-3, "{} vs {expected}", p[0]);
    }

    #[test]
    fn shaped_wait_keeps_p_wait_and_mean() {
        let gamma = WaitDist::Gamma {
            p_wait: 0.4,
            shape: 0.5,
            rate: 25.0,
        };
        let mix = lognormal(0.005, 1.5);
        let shaped = service_shaped(&gamma, 0.4, &mix).expect("below saturation");
        assert!((shaped.zero_mass() - 0.6).abs() < 1e-15);
        assert!((shaped.mean() / gamma.mean() - 1.0).abs() < 1e-12);
        // The transform's slope at 0 is the mean.
        let h = 1e-4;
        let slope = (1.0 - shaped.lst(Complex64::new(h, 0.0)).re) / h;
        assert!((slope / gamma.mean() - 1.0).abs() < 1e-3);
        // Saturated or idle queues keep their wait.
        assert!(service_shaped(&gamma, 1.0, &mix).is_none());
        assert!(service_shaped(&WaitDist::Zero, 0.4, &mix).is_none());
    }
}
