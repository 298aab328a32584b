//! GI/M/c with gamma inter-arrival times, exactly: the root σ and Takács' P(wait).

/// GI/M/c with gamma inter-arrival times (mean 1/λ, squared coefficient of variation c_a²) at
/// utilization ρ: the root σ in (0, 1) of σ = A*(cμ(1 − σ)) = (1 + (1 − σ)·c_a²/ρ)^(−1/c_a²)
/// (e^(−(1 − σ)/ρ) for evenly spaced arrivals). An arrival finds the servers all busy with
/// probability σ at one server; the wait given waiting is exponential at cμ(1 − σ)
/// (Kleinrock, Queueing Systems I, §6.4). For Poisson arrivals σ = ρ.
///
/// f(σ) = A*(σ) − σ is convex (a Laplace transform is), positive below the root and negative
/// between it and 1, so Newton's method started below the root climbs to it monotonically
/// and quadratically; the start is ρ (or the tangent's zero there, which lies below the root).
///
/// ```
/// use staircase::solver::queueing::gamma_arrival_sigma;
/// // D/M/1 at ρ = 0.5: σ = e^(−2(1 − σ)), σ = 0.2032.
/// assert!((gamma_arrival_sigma(0.5, 0.0) - 0.20319).abs() < 1e-5);
/// assert!((gamma_arrival_sigma(0.7, 1.0) - 0.7).abs() < 1e-12);
/// ```
pub fn gamma_arrival_sigma(rho: f64, arrival_scv: f64) -> f64 {
    if rho.is_nan() || rho <= 0.0 {
        return 0.0;
    }
    if rho >= 1.0 {
        return 1.0;
    }
    // f(σ) and f′(σ), with A′(σ) = A(σ)/(ρ(1 + x·c_a²)) (A/ρ for evenly spaced arrivals).
    let f = |sigma: f64| {
        let x = (1.0 - sigma) / rho;
        let (transform, slope) = if arrival_scv <= 0.0 {
            let transform = (-x).exp();
            (transform, transform / rho)
        } else {
            let base = 1.0 + x * arrival_scv;
            let transform = base.powf(-1.0 / arrival_scv);
            (transform, transform / (rho * base))
        };
        (transform - sigma, slope - 1.0)
    };
    let (value, slope) = f(rho);
    let mut sigma = if value >= 0.0 {
        rho
    } else if slope < 0.0 {
        (rho - value / slope).max(0.0)
    } else {
        0.0
    };
    for _ in 0..200 {
        let (value, slope) = f(sigma);
        let step = -value / slope;
        // Below the root the step is positive; rounding ends the climb.
        if !(step > 0.0 && sigma + step < 1.0) {
            break;
        }
        sigma += step;
        if step <= 1e-16 * sigma {
            break;
        }
    }
    sigma
}

/// P(wait) in GI/M/c with gamma inter-arrival times (squared coefficient of variation c_a²)
/// at utilization ρ, exactly, by Takács' formula (Gross & Harris, Fundamentals of Queueing
/// Theory, GI/M/c): with β_j = A*(jμ) = (1 + j·c_a²/(cρ))^(−1/c_a²) (e^(−j/(cρ)) for evenly
/// spaced arrivals), C_j = Π_{i ≤ j} β_i/(1 − β_i) and σ from [`gamma_arrival_sigma`],
/// P(wait) = 1/(1 + (1 − σ)·Σ_{j=1..c} C(c, j)/(C_j(1 − β_j))·(c(1 − β_j) − j)/(c(1 − σ) − j)).
/// It is σ at one server and Erlang C for Poisson arrivals. Every term is positive (the
/// numerator and the denominator change sign together at j = c(1 − σ), where the ratio
/// tends to 1 − β_j/(ρ(1 + c_a²·j/(cρ)))); the sum is taken in logarithms, so that any
/// number of servers neither overflows nor underflows. Nothing is fitted.
///
/// ```
/// use staircase::solver::queueing::{erlang_c, gamma_arrival_sigma, gamma_renewal_delay_probability};
/// // One server: σ.
/// let sigma = gamma_arrival_sigma(0.5, 4.0);
/// assert!((gamma_renewal_delay_probability(0.5, 4.0, 1) - sigma).abs() < 1e-12);
/// // Poisson arrivals: Erlang C (16 servers at ρ 0.5).
/// let c = erlang_c(16, 8.0);
/// assert!((gamma_renewal_delay_probability(0.5, 1.0, 16) - c).abs() < 1e-12);
/// ```
pub fn gamma_renewal_delay_probability(rho: f64, arrival_scv: f64, servers: u64) -> f64 {
    if rho.is_nan() || rho <= 0.0 {
        return 0.0;
    }
    if rho >= 1.0 {
        return 1.0;
    }
    let ca2 = arrival_scv.max(0.0);
    let sigma = gamma_arrival_sigma(rho, ca2);
    let c = servers.max(1) as f64;
    // ln β_j for x = j/(cρ), with dβ/dj = −β/(cρ(1 + x·c_a²)).
    let log_beta = |x: f64| {
        if ca2 > 0.0 {
            -(x * ca2).ln_1p() / ca2
        } else {
            -x
        }
    };
    let mut log_binomial = 0.0;
    let mut log_product = 0.0;
    // Σ e^term as e^largest · scaled_sum, kept as the terms come.
    let (mut largest, mut scaled_sum) = (f64::NEG_INFINITY, 0.0);
    for index in 1..=servers.max(1) {
        let j = index as f64;
        let x = j / (c * rho);
        let ln_beta = log_beta(x);
        let beta = ln_beta.exp();
        let ln_rest = (-beta).ln_1p();
        log_binomial += ((c - j + 1.0) / j).ln();
        log_product += ln_beta - ln_rest;
        let denominator = c * (1.0 - sigma) - j;
        let ratio = if denominator.abs() < 1e-7 * c {
            1.0 - beta / (rho * (1.0 + x * ca2))
        } else {
            (c * (1.0 - beta) - j) / denominator
        };
        if ratio > 0.0 {
            let term = log_binomial - log_product - ln_rest + ratio.ln();
            if term > largest {
                scaled_sum = scaled_sum * (largest - term).exp() + 1.0;
                largest = term;
            } else {
                scaled_sum += (term - largest).exp();
            }
        }
    }
    if scaled_sum <= 0.0 {
        return 1.0;
    }
    let scaled = (1.0 - sigma).ln() + largest + scaled_sum.ln();
    (1.0 / (1.0 + scaled.exp())).clamp(0.0, 1.0)
}
