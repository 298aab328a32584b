//! Geometric sums in log space, free of overflow for long sums and of cancellation near ratio
//! 1: the cut geometric waits and M/M/c/K's busy states.

use num_complex::Complex64;

/// A logarithm held as k·L + rest, for a whole k and the log ratio L of a geometric sum: two
/// such logs of long sums differ by (k₁ − k₂)·L + (rest₁ − rest₂) without the rounding of
/// two numbers near 10⁶·L.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct SplitLog {
    pub(super) powers: f64,
    pub(super) rest: f64,
}

impl SplitLog {
    /// L^powers alone (ln ρ^i = i·L).
    pub(super) fn power(powers: u64) -> SplitLog {
        SplitLog {
            powers: powers as f64,
            rest: 0.0,
        }
    }

    pub(super) fn value(self, log_ratio: f64) -> f64 {
        if self.powers == 0.0 {
            self.rest
        } else {
            self.powers * log_ratio + self.rest
        }
    }

    /// e^{self − other}.
    pub(super) fn ratio_to(self, other: SplitLog, log_ratio: f64) -> f64 {
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
pub(super) fn log_geometric_sum(terms: u64, log_ratio: f64) -> SplitLog {
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
pub(super) fn truncated_geometric_mean(m: u64, log_ratio: f64) -> f64 {
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
pub(super) fn scaled_geometric_sum(
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
