//! Transforms of random times given by a mean and a cv: a node's random delay (gamma) and a
//! lognormal service time (no closed form: a moment-matched mixture of gammas on a grid).

use super::compile::CompiledNode;
use super::queueing::ServiceShape;
use num_complex::Complex64;

/// Spacing of the lognormal grid in standard deviations of the underlying normal (45 gammas:
/// within 0.1% of the lognormal's p50, p95 and p99 at cv 1.5 and 0.5% at cv 3, checked by
/// computing the mixture's CDF directly; a step of 0.1 is ten times closer and three times
/// dearer).
const GRID_STEP: f64 = 0.25;
/// The grid covers the normal from −`GRID_REACH` to +`GRID_REACH` standard deviations
/// (the mass beyond is 4e-8, far below the 1% a p99 leaves).
const GRID_REACH: f64 = 5.5;

/// Laplace–Stieltjes transform E[e^{−sD}] of a random delay D with `mean` and coefficient of
/// variation `cv`: gamma with shape 1/cv² (exponential at cv 1), a constant at cv 0.
///
/// ```
/// use num_complex::Complex64;
/// use staircase::solver::delays::gamma_delay_lst;
/// // An exponential delay of mean 2 has transform 1/(1 + 2s): at s = 1, 1/3.
/// let value = gamma_delay_lst(2.0, 1.0, Complex64::new(1.0, 0.0));
/// assert!((value.re - 1.0 / 3.0).abs() < 1e-12 && value.im.abs() < 1e-12);
/// ```
pub fn gamma_delay_lst(mean: f64, cv: f64, s: Complex64) -> Complex64 {
    ServiceShape::from_cv(cv).lst(mean, s)
}

/// Laplace–Stieltjes transform of a lognormal time with `mean` and coefficient of variation
/// `cv` (> 0), which has no closed form. The lognormal e^{μ+σZ} is replaced by a mixture over
/// an even grid of Z (step 0.25, ±5.5) of gammas centred on the grid's points, each as wide in
/// log-time as the grid step, so that the mixture is smooth and its transform decays as the
/// lognormal's does (a bare quadrature of point masses would oscillate at large |s|). The
/// grid's normal is narrowed so that the mixture keeps the mean and the cv exactly:
/// (1 + cv²) = (1 + cv_grid²)(1 + 1/κ) for gammas of shape κ.
///
/// ```
/// use num_complex::Complex64;
/// use staircase::solver::delays::lognormal_lst;
/// // The transform's slope at 0 is −mean: (1 − L(h))/h → 0.01 for a mean of 10 ms.
/// let h = 1e-4;
/// let slope = (1.0 - lognormal_lst(0.01, 1.5, Complex64::new(h, 0.0)).re) / h;
/// assert!((slope / 0.01 - 1.0).abs() < 1e-3);
/// ```
pub fn lognormal_lst(mean: f64, cv: f64, s: Complex64) -> Complex64 {
    let sigma2 = (1.0 + cv * cv).ln();
    let sigma = sigma2.sqrt();
    let kernel_shape = 1.0 / (GRID_STEP * sigma).powi(2);
    let grid_sigma = (sigma2 - (1.0 + 1.0 / kernel_shape).ln()).max(0.0).sqrt();
    let steps = (GRID_REACH / GRID_STEP).round() as i32;
    let (mut weight_sum, mut mean_sum) = (0.0, 0.0);
    let mut terms = Vec::with_capacity(2 * steps as usize + 1);
    for i in -steps..=steps {
        let z = f64::from(i) * GRID_STEP;
        let weight = (-0.5 * z * z).exp();
        let point = (grid_sigma * z).exp();
        weight_sum += weight;
        mean_sum += weight * point;
        terms.push((weight, point));
    }
    // Scale the points so that the grid's mean is exactly `mean`, and widen the gammas by
    // what the cut grid lacks of the cv, so that the second moment is exact too.
    let scale = mean * weight_sum / mean_sum;
    let square_sum: f64 = terms.iter().map(|(w, p)| w * p * p).sum();
    let grid_scv = square_sum * weight_sum / (mean_sum * mean_sum) - 1.0;
    let widen = (1.0 + cv * cv) / (1.0 + grid_scv) - 1.0;
    let kernel_shape = if widen > 0.0 {
        1.0 / widen
    } else {
        kernel_shape
    };
    let mut total = Complex64::new(0.0, 0.0);
    for (weight, point) in terms {
        let kernel_mean = point * scale;
        total += (s * (kernel_mean / kernel_shape) + 1.0).powf(-kernel_shape) * weight;
    }
    total / weight_sum
}

/// The transform of node `node`'s delay (`base` with cv `base_cv`) at `s`: 1 for a constant
/// delay, whose e^{−s·base} the end-to-end transform carries as a shift.
pub(super) fn random_delay_lst(node: &CompiledNode, s: Complex64) -> Complex64 {
    if node.base_cv > 0.0 && node.base > 0.0 {
        gamma_delay_lst(node.base, node.base_cv, s)
    } else {
        Complex64::new(1.0, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::queueing::percentiles_with_atoms;

    /// Percentiles of a time from its transform alone.
    fn invert(mean: f64, lst: impl Fn(Complex64) -> Complex64) -> Vec<f64> {
        percentiles_with_atoms(mean, &[0.5, 0.95, 0.99], &[], |points, values| {
            for (s, value) in points.iter().zip(values.iter_mut()) {
                *value = lst(*s);
            }
        })
    }

    #[test]
    fn lognormal_transform_inverts_to_the_lognormal_percentiles() {
        // Standard normal quantiles at 50%, 95%, 99%.
        let z = [0.0, 1.644_853_626_951_472_2, 2.326_347_874_040_841];
        for cv in [0.3f64, 1.0, 1.5, 3.0] {
            let mean: f64 = 0.02;
            let sigma2: f64 = (1.0 + cv * cv).ln();
            let mu = mean.ln() - sigma2 / 2.0;
            let found = invert(mean, |s| lognormal_lst(mean, cv, s));
            for (p, (&zp, got)) in z.iter().zip(&found).enumerate() {
                let exact = (mu + sigma2.sqrt() * zp).exp();
                assert!(
                    (got / exact - 1.0).abs() < 0.01,
                    "cv {cv}, level {p}: {got} vs exact {exact}"
                );
            }
        }
    }

    #[test]
    fn lognormal_transform_keeps_mean_and_second_moment() {
        // L(s) = 1 − m s + E[X²] s²/2 − …: fit the first two terms at small s.
        for cv in [0.2, 1.0, 2.5] {
            let mean = 1.0;
            let h = 1e-4;
            let at = |x: f64| lognormal_lst(mean, cv, Complex64::new(x, 0.0)).re;
            let first = (at(-h) - at(h)) / (2.0 * h);
            let second = (at(h) - 2.0 + at(-h)) / (h * h);
            assert!((first - mean).abs() < 1e-4, "cv {cv}: mean {first}");
            let expected = mean * mean * (1.0 + cv * cv);
            assert!(
                (second / expected - 1.0).abs() < 1e-3,
                "cv {cv}: E[X²] {second} vs {expected}"
            );
        }
    }

    #[test]
    fn gamma_delay_inverts_to_gamma_percentiles() {
        // Gamma of shape 4 (cv 0.5), mean 1 is Erlang-4 of rate 4, whose CDF is
        // 1 − e^{−4x}·Σ_{j<4} (4x)^j/j!: median 0.918015, p95 1.938414, p99 2.511279.
        let found = invert(1.0, |s| gamma_delay_lst(1.0, 0.5, s));
        for (got, exact) in found.iter().zip([0.918_015, 1.938_414, 2.511_279]) {
            assert!((got / exact - 1.0).abs() < 1e-3, "{got} vs {exact}");
        }
    }
}
