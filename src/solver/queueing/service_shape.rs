//! The shape of a service time (exponential, constant, gamma, lognormal) and its
//! Laplace–Stieltjes transform.

use num_complex::Complex64;

/// Shape of a service-time distribution with a given mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ServiceShape {
    /// Coefficient of variation 1 (the M in M/M/c).
    Exponential,
    /// Coefficient of variation 0.
    Deterministic,
    /// Gamma with the given shape k = 1/cv².
    Gamma(f64),
    /// Lognormal with the given cv (its transform: [`crate::solver::delays::lognormal_lst`]).
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
            ServiceShape::Lognormal(cv) => crate::solver::delays::lognormal_lst(mean, cv, s),
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
