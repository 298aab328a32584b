//! Percentiles from a Laplace–Stieltjes transform by the damped Fourier-series method (Abate &
//! Whitt), the grid refined until they settle.

use super::precision::Precision;
use super::spectrum::{GridCdf, Spectrum};
use num_complex::Complex64;

/// Grid points of the Fourier-series inversion.
pub const GRID: usize = 4096;

/// The coarsest grid [`grid_for`] caps an end-to-end inversion at: 256 transform points over
/// the period.
pub const MIN_GRID: usize = 512;

/// The grid [`percentiles_on_grid`] starts from (its coarse companion has half as many points).
pub(super) const FIRST_GRID: usize = 256;

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
///
/// [`GRID_AGREEMENT`]: super::GRID_AGREEMENT
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

/// Whether every percentile of `estimate` is within `tolerance` (relative) of `previous`'s.
fn agree(estimate: &[f64], previous: &[f64], tolerance: f64) -> bool {
    estimate
        .iter()
        .zip(previous)
        .all(|(now, before)| (now - before).abs() <= tolerance * now.abs())
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
