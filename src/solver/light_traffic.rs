//! P(wait) of a many-server queue with a constant service behind gamma renewal arrivals
//! (GI/D/c), from Lindley's relation for the request c places earlier instead of a
//! heavy-traffic form that vanishes with the load.
//!
//! With a constant service S and first-come-first-served order, requests leave in the order
//! they arrived, so an arrival finds all c servers busy exactly when the request c places
//! before it has not left yet: it waits iff T_c < S + W, where T_c is the sum of the c gaps
//! between the two (a gamma of shape c·k for gamma gaps of shape k = 1/c_a²) and W the wait of
//! that earlier request, independent of the gaps that followed it. This is exact; the only
//! approximation is the shape of W given that it waited (exponential, of the model's mean).
//! Its light-traffic limit is P(T_c < S), the chance that c arrivals fall within one service
//! (Whitt's and Reiman–Simon's light-traffic term), which behind bursty arrivals (k < 1)
//! vanishes like ρ^(ck) rather than like Kingman-style forms; in heavy traffic W carries the
//! queue. Nothing in it is fitted.

/// The regularized lower incomplete gamma function P(a, x) = γ(a, x)/Γ(a) and its complement
/// Q(a, x), both as natural logarithms (so that neither underflows when the other is near 1):
/// the series Σ xⁿ/(a(a + 1)…(a + n)) below x = a + 1, Legendre's continued fraction for Q
/// above (Lentz's method), as in Numerical Recipes §6.2. `None` for a ≤ 0 or x < 0, and where
/// neither settles within [`MAX_TERMS`] (a shape of millions) rather than a truncated sum.
///
/// ```
/// use staircase::solver::light_traffic::log_incomplete_gamma;
/// // Shape 1: P(1, x) = 1 − e^(−x).
/// let (log_p, log_q) = log_incomplete_gamma(1.0, 0.7).unwrap();
/// assert!((log_p.exp() - (1.0 - (-0.7f64).exp())).abs() < 1e-14);
/// assert!((log_q - (-0.7)).abs() < 1e-14);
/// // Shape ½: P(½, x) = erf(√x).
/// let (log_p, _) = log_incomplete_gamma(0.5, 3.0).unwrap();
/// assert!((log_p.exp() - libm::erf(3.0f64.sqrt())).abs() < 1e-14);
/// ```
pub fn log_incomplete_gamma(a: f64, x: f64) -> Option<(f64, f64)> {
    if !(a > 0.0 && x >= 0.0 && a.is_finite() && x.is_finite()) {
        return None;
    }
    if x == 0.0 {
        return Some((f64::NEG_INFINITY, 0.0));
    }
    // ln(xᵃe⁻ˣ/Γ(a)), the factor both expansions share.
    let log_front = a * x.ln() - x - libm::lgamma(a);
    if x < a + 1.0 {
        let (mut term, mut sum, mut next) = (1.0 / a, 1.0 / a, a);
        let mut converged = false;
        for _ in 0..MAX_TERMS {
            next += 1.0;
            term *= x / next;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                converged = true;
                break;
            }
        }
        if !converged {
            return None;
        }
        let log_p = log_front + sum.ln();
        Some((log_p, ln_one_minus_exp(log_p)))
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let (mut c, mut d) = (1.0 / tiny, 1.0 / b);
        let mut fraction = d;
        let mut last_change = f64::INFINITY;
        for step in 1..MAX_TERMS {
            let step = step as f64;
            let an = -step * (step - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let change = d * c;
            fraction *= change;
            last_change = change;
            if (change - 1.0).abs() < 1e-16 {
                break;
            }
        }
        // Settled within rounding (a step may hover an ulp from 1) or not at all.
        if (last_change - 1.0).abs() > 1e-14 {
            return None;
        }
        let log_q = log_front + fraction.ln();
        Some((ln_one_minus_exp(log_q), log_q))
    }
}

/// Terms of the series or steps of the continued fraction in [`log_incomplete_gamma`] before
/// it gives up (P(a, a) at a = 10⁸ would need more).
const MAX_TERMS: usize = 10_000;

/// ln(1 − eˣ) for x ≤ 0, accurate at both ends.
fn ln_one_minus_exp(x: f64) -> f64 {
    if x > -std::f64::consts::LN_2 {
        (-x.exp_m1()).ln()
    } else {
        (-x.exp()).ln_1p()
    }
}

/// P(wait) of GI/D/c with gamma inter-arrival times of squared coefficient of variation c_a²
/// (shape k = 1/c_a²) at utilization ρ, given the mean wait of those who wait
/// (`conditional_wait`, in service times): p = P(T_c < S + W) with T_c the gamma sum of c gaps
/// (shape ck, rate kλ = kcρ per service) and W = 0 with probability 1 − p, exponential of mean
/// m otherwise. With F = P(T_c < S) and
/// E = P(S < T_c < S + X) = e^(S/m)·(r/(r + 1/m))^(ck)·Q(ck, (r + 1/m)S), X exponential of mean
/// m and r = kcρ, p = (1 − p)·F + p·(F + E), so p = F/(1 − E). As ρ → 0 it tends to
/// F = γ(ck, kcρ)/Γ(ck) ≈ (kcρ)^(ck)/Γ(ck + 1), the light-traffic limit. `None` where an
/// input is out of range (ρ outside (0, 1), c_a² ≤ 0, m ≤ 0).
///
/// ```
/// use staircase::solver::light_traffic::ordered_delay_probability;
/// // M/D/1 at ρ 0.5 (P(wait) = ρ exactly; the conditional wait S/(2(1 − ρ)) = S): the
/// // exponential shape of W puts it at 0.4932.
/// let p = ordered_delay_probability(0.5, 1.0, 1, 1.0).unwrap();
/// assert!((p - 0.5).abs() < 0.01);
/// // Light traffic, gamma gaps of c_a² 4 into 4 constant servers at ρ 0.01: P(T_4 < S),
/// // the regularized γ(1, 0.01) = 1 − e^(−0.01).
/// let light = ordered_delay_probability(0.01, 4.0, 4, 0.3).unwrap();
/// let limit = 1.0 - (-0.01f64).exp();
/// assert!((light / limit - 1.0).abs() < 0.01);
/// ```
pub fn ordered_delay_probability(
    rho: f64,
    arrival_scv: f64,
    servers: u64,
    conditional_wait: f64,
) -> Option<f64> {
    ordered_terms(rho, arrival_scv, servers, conditional_wait).map(|terms| terms.p_wait)
}

/// What [`ordered_delay_probability`] computes on the way, for [`ordered_wait_scv`] too.
struct OrderedTerms {
    /// P(wait) = F/(1 − E).
    p_wait: f64,
    /// Shape n = c/c_a² and rate r = nρ (per service) of T_c, the c gaps.
    shape: f64,
    rate: f64,
    /// ln F = ln P(T_c < S).
    log_within: f64,
}

/// [`ordered_delay_probability`]'s terms; `None` where an input is out of range or a term
/// cannot be evaluated.
fn ordered_terms(
    rho: f64,
    arrival_scv: f64,
    servers: u64,
    conditional_wait: f64,
) -> Option<OrderedTerms> {
    if !(rho > 0.0 && rho < 1.0 && arrival_scv > 0.0 && conditional_wait > 0.0) {
        return None;
    }
    let shape = servers.max(1) as f64 / arrival_scv;
    let rate = rho * shape;
    let (log_within, _) = log_incomplete_gamma(shape, rate)?;
    let slower = rate + 1.0 / conditional_wait;
    let (_, log_beyond) = log_incomplete_gamma(shape, slower)?;
    let log_extra = 1.0 / conditional_wait + shape * (rate / slower).ln() + log_beyond;
    let p_wait = log_within.exp() / -log_extra.exp_m1();
    p_wait.is_finite().then_some(OrderedTerms {
        p_wait: p_wait.clamp(0.0, 1.0),
        shape,
        rate,
        log_within,
    })
}

/// The squared coefficient of variation of the wait of those who wait in GI/D/c behind gamma
/// renewal arrivals (c_a², shape k = 1/c_a²) at utilization ρ, blended from the two kinds of
/// waiting request in Lindley's relation for the request c places earlier
/// ([`ordered_delay_probability`], `conditional_wait` m in service times as there):
///
/// - that request did not wait (probability 1 − p): the arrival waits S − T_c given T_c < S,
///   T_c the gamma sum of c gaps (shape n = ck, rate r = nρ per service). Its moments are in
///   closed form: E\[T_c^j | T_c < S\] = (n)_j/r^j · P(n + j, r)/P(n, r) (rising factorial
///   (n)_j, regularized lower incomplete gamma P, S = 1). As ρ → 0, (T_c/S | T_c < S) is a
///   Beta(n, 1) and the wait's c² tends to n/(n + 2) (k/(k + 2) at one server), the
///   light-traffic limit;
/// - that request waited (probability p): the wait carries the queue, its c² the heavy-traffic
///   value the model has anyway (`heavy_scv`).
///
/// The weight of the first is its share of the conditional wait's mass: its share of those
/// who wait, (1 − p)·F/p = (1 − p)(1 − E) (F = P(T_c < S) and E as in
/// [`ordered_delay_probability`]), times its mean E\[S − T_c | T_c < S\] over m; 1 as ρ → 0,
/// 0 as ρ → 1. The result is w·c²_light + (1 − w)·`heavy_scv`. Nothing is fitted (weighted by
/// the share of those who wait alone, the tails at ρ 0.3 to 0.9 came out up to 8% short). `None` where an input is out
/// of range or a moment cannot be evaluated.
///
/// ```
/// use staircase::solver::light_traffic::ordered_wait_scv;
/// // One server, c_a² 2 (k ½) at ρ 0.001: nearly all the wait is the light-traffic one,
/// // c² → k/(k + 2) = 0.2 whatever the heavy-traffic value.
/// let light = ordered_wait_scv(0.001, 2.0, 1, 0.6, 0.7).unwrap();
/// assert!((light - 0.2).abs() < 0.01);
/// // Near saturation the heavy-traffic value is kept.
/// let heavy = ordered_wait_scv(0.98, 2.0, 1, 50.0, 0.7).unwrap();
/// assert!((heavy - 0.7).abs() < 0.05);
/// ```
pub fn ordered_wait_scv(
    rho: f64,
    arrival_scv: f64,
    servers: u64,
    conditional_wait: f64,
    heavy_scv: f64,
) -> Option<f64> {
    if !(heavy_scv > 0.0 && heavy_scv.is_finite()) {
        return None;
    }
    let OrderedTerms {
        p_wait,
        shape,
        rate,
        log_within,
    } = ordered_terms(rho, arrival_scv, servers, conditional_wait)?;
    if p_wait <= 0.0 {
        return None;
    }
    let (log_within_1, _) = log_incomplete_gamma(shape + 1.0, rate)?;
    let (log_within_2, _) = log_incomplete_gamma(shape + 2.0, rate)?;
    // E[T_c | T_c < S] and E[T_c² | T_c < S], S = 1.
    let first = shape / rate * (log_within_1 - log_within).exp();
    let second = shape * (shape + 1.0) / (rate * rate) * (log_within_2 - log_within).exp();
    let mean = 1.0 - first;
    let variance = second - first * first;
    let light_scv = variance / (mean * mean);
    // Share of those who wait whose request c places earlier did not: (1 − p)·F/p.
    let light_share = ((1.0 - p_wait) * log_within.exp() / p_wait).clamp(0.0, 1.0);
    // Weighted by its share of the wait itself (share × its mean / the whole mean): the light
    // term's waits are short, and the tail is the heavy term's.
    let weight = (light_share * mean / conditional_wait).clamp(0.0, 1.0);
    let blended = weight * light_scv + (1.0 - weight) * heavy_scv;
    (blended.is_finite() && blended > 0.0 && light_scv > 0.0).then_some(blended)
}

#[cfg(test)]
mod tests {
    use super::log_incomplete_gamma;

    #[test]
    fn a_shape_too_large_to_sum_is_refused_rather_than_truncated() {
        // P(a, a) = 1/2 + 1/(3√(2πa)) + O(1/a): 0.504205 at a = 1,000.
        let (log_p, _) = log_incomplete_gamma(1e3, 1e3).expect("sums");
        assert!((log_p.exp() - 0.504205).abs() < 1e-5, "{}", log_p.exp());
        // At a = 10⁸ the series needs far more terms than it may take (truncated it gave 0.341).
        assert_eq!(log_incomplete_gamma(1e8, 1e8), None);
    }
}
