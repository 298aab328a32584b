//! One period of the Fourier inversion: the transform at its frequencies (`Spectrum`), the
//! inverse FFT to a CDF on a grid (`GridCdf`), and the phases e^{−s·t} of constant delays.

use super::fourier::{FIRST_GRID, GRID};
use super::precision::CHART_PROBE_GRID;
use num_complex::Complex64;
use std::f64::consts::PI;

/// Damping e^{−a·T} applied to mass that would wrap around the period: 10^{-8}.
const DAMPING: f64 = 18.420_680_743_952_367;
/// Width of the Gaussian smoothing window, in grid steps (removes ringing at atoms).
const SMOOTHING_STEPS: f64 = 1.5;
/// Offset, in smoothing widths, so that smoothed mass never falls before time zero.
const GUARD_WIDTHS: f64 = 7.0;

/// The smallest inverse FFT [`percentiles_on_grid`] runs (the coarse companion of its first
/// grid).
///
/// [`percentiles_on_grid`]: super::percentiles_on_grid
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
pub(in crate::solver) fn phases(
    points: &[Complex64],
    time: f64,
) -> impl Iterator<Item = Complex64> + '_ {
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

/// The transform (less its atoms) at the inversion's frequencies s_k = a + 2πik/T, k = 0, 1, …,
/// for one period T; extended as finer grids need higher frequencies.
#[derive(Default)]
pub(super) struct Spectrum {
    horizon: f64,
    damping: f64,
    points: Vec<Complex64>,
    values: Vec<Complex64>,
}

impl Spectrum {
    /// Starts again for period `horizon`.
    pub(super) fn restart(&mut self, horizon: f64) {
        self.horizon = horizon;
        self.damping = DAMPING / horizon;
        self.points.clear();
        self.values.clear();
    }

    /// Evaluates `transform` at the frequencies up to index `count` − 1 not yet evaluated.
    pub(super) fn extend_to(
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
pub(super) struct GridCdf {
    cdf: Vec<f64>,
    step: f64,
    /// The grid's time j·step stands for time j·step − offset (the guard delay and the tilt of
    /// the smoothing window).
    pub(super) offset: f64,
    pub(super) total: f64,
}

impl GridCdf {
    /// Inverts the first `grid`/2 + 1 frequencies of `spectrum`: the damped density, smoothed
    /// by a Gaussian window of [`SMOOTHING_STEPS`] grid steps and delayed by a guard so that the
    /// smoothing never reaches negative time, undamped and summed (trapezoids) to the CDF.
    pub(super) fn invert(spectrum: &Spectrum, grid: usize) -> GridCdf {
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
    pub(super) fn at_half(&self) -> f64 {
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
    pub(super) fn percentiles(
        &self,
        probabilities: &[f64],
        sorted_atoms: &[(f64, f64)],
    ) -> Vec<f64> {
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
}
