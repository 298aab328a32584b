//! Service-time samplers: exponential at cv 1, constant at cv 0, gamma (or lognormal, when
//! selected) otherwise, each with the node's mean for the class. The same samplers draw the
//! time between a class's arrivals when its workload's arrival cv is not 1 (gamma).

use rand::rngs::SmallRng;
use rand::RngExt;
use rand_distr::{Distribution, Exp1, Gamma, LogNormal};

/// Which distribution stands for a service time whose cv is neither 0 nor 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Family {
    /// Gamma with shape 1/cv² (the solver's own choice).
    #[default]
    Gamma,
    /// Lognormal with the same mean and cv.
    Lognormal,
}

/// Draws service times with one mean and one coefficient of variation.
#[derive(Clone, Debug)]
pub enum Sampler {
    Constant(f64),
    Exponential(f64),
    Gamma(Gamma<f64>),
    Lognormal(LogNormal<f64>),
}

impl Sampler {
    /// A sampler of mean `mean` and coefficient of variation `cv` (both finite, `mean` ≥ 0).
    pub fn new(mean: f64, cv: f64, family: Family) -> Sampler {
        if mean <= 0.0 || cv <= 0.0 {
            return Sampler::Constant(mean.max(0.0));
        }
        if cv == 1.0 {
            return Sampler::Exponential(mean);
        }
        match family {
            Family::Gamma => {
                let shape = 1.0 / (cv * cv);
                Gamma::new(shape, mean / shape)
                    .map(Sampler::Gamma)
                    .unwrap_or(Sampler::Constant(mean))
            }
            Family::Lognormal => Sampler::lognormal(mean, cv),
        }
    }

    /// A lognormal sampler of mean `mean` and coefficient of variation `cv` (also at cv 1);
    /// a constant at cv 0.
    pub fn lognormal(mean: f64, cv: f64) -> Sampler {
        if mean <= 0.0 || cv <= 0.0 {
            return Sampler::Constant(mean.max(0.0));
        }
        // E = e^{μ+σ²/2}, cv² = e^{σ²} − 1.
        let sigma2 = (1.0 + cv * cv).ln();
        LogNormal::new(mean.ln() - sigma2 / 2.0, sigma2.sqrt())
            .map(Sampler::Lognormal)
            .unwrap_or(Sampler::Constant(mean))
    }

    /// One service time, seconds.
    #[inline]
    pub fn sample(&self, rng: &mut SmallRng) -> f64 {
        match self {
            Sampler::Constant(value) => *value,
            Sampler::Exponential(mean) => {
                let unit: f64 = Exp1.sample(rng);
                mean * unit
            }
            Sampler::Gamma(gamma) => gamma.sample(rng),
            Sampler::Lognormal(lognormal) => lognormal.sample(rng),
        }
    }
}

/// An exponential time of rate `rate` (an inter-arrival time of a Poisson stream).
#[inline]
pub fn exponential(rng: &mut SmallRng, rate: f64) -> f64 {
    let unit: f64 = Exp1.sample(rng);
    unit / rate
}

/// A uniform number in [0, 1).
#[inline]
pub fn unit(rng: &mut SmallRng) -> f64 {
    rng.random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn moments(sampler: &Sampler) -> (f64, f64) {
        let mut rng = SmallRng::seed_from_u64(7);
        let n = 200_000;
        let draws: Vec<f64> = (0..n).map(|_| sampler.sample(&mut rng)).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (mean, var.sqrt() / mean)
    }

    #[test]
    fn samplers_keep_mean_and_cv() {
        for (cv, family) in [
            (1.0, Family::Gamma),
            (0.5, Family::Gamma),
            (2.0, Family::Gamma),
            (0.5, Family::Lognormal),
            (1.5, Family::Lognormal),
        ] {
            let (mean, measured_cv) = moments(&Sampler::new(0.02, cv, family));
            assert!((mean / 0.02 - 1.0).abs() < 0.02, "cv {cv}: mean {mean}");
            assert!(
                (measured_cv / cv - 1.0).abs() < 0.05,
                "cv {cv}: {measured_cv}"
            );
        }
        let mut rng = SmallRng::seed_from_u64(7);
        let constant = Sampler::new(0.02, 0.0, Family::Gamma);
        assert!((0..100).all(|_| constant.sample(&mut rng) == 0.02));
    }
}
