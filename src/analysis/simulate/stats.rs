//! Estimates from independent replications: the mean and a 95% confidence half-width by
//! Student's t.

use serde::Serialize;

/// A simulated figure: the mean over replications and its 95% confidence half-width.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub half_width: f64,
}

impl Estimate {
    /// The estimate scaled by `factor` (units).
    pub fn scaled(self, factor: f64) -> Estimate {
        Estimate {
            mean: self.mean * factor,
            half_width: self.half_width * factor,
        }
    }
}

/// Two-sided 97.5% quantile of Student's t with `df` degrees of freedom (table values;
/// 1.96 beyond 30).
///
/// ```
/// use staircase::analysis::simulate::stats::student_t975;
/// assert!((student_t975(9) - 2.262).abs() < 1e-3);
/// ```
pub fn student_t975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        _ => 1.96,
    }
}

/// Mean and 95% half-width t·s/√n of independent replications `values` (half-width 0 for
/// a single replication, where no interval can be given).
pub fn estimate(values: &[f64]) -> Estimate {
    let n = values.len();
    if n == 0 {
        return Estimate::default();
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Estimate {
            mean,
            half_width: 0.0,
        };
    }
    let variance = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    Estimate {
        mean,
        half_width: student_t975(n - 1) * (variance / n as f64).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_width_follows_student_t() {
        // 1..=5: mean 3, s = √2.5, t(4) = 2.776.
        let found = estimate(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(found.mean, 3.0);
        assert!((found.half_width - 2.776 * (2.5f64 / 5.0).sqrt()).abs() < 1e-12);
        assert_eq!(estimate(&[4.0]).half_width, 0.0);
    }
}
