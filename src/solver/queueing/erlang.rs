//! Erlang's loss and delay formulas: Erlang B, Erlang C (M/M/c's P(wait)) and the weight of
//! the states with an idle server, on which M/M/c/K's closed form builds.

/// Erlang B: the probability that an arrival finds all `servers` busy in an M/M/c/c loss system
/// offered `offered_load` erlangs (a = λ/μ), by the numerically stable recursion
/// B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)).
///
/// For very large loads the recursion starts 12 standard deviations below `a`, where the
/// influence of the starting value has decayed by e^{−72} (far below double precision), so
/// the cost is O(√a).
///
/// ```
/// // Textbook value: a = 2 erlangs on 3 servers gives B = (8/6) / (1 + 2 + 2 + 8/6) = 4/19.
/// let b = staircase::solver::queueing::erlang_b(3, 2.0);
/// assert!((b - 4.0 / 19.0).abs() < 1e-12);
/// ```
pub fn erlang_b(servers: u64, offered_load: f64) -> f64 {
    if offered_load <= 0.0 {
        return if servers == 0 { 1.0 } else { 0.0 };
    }
    let spread = poisson_spread(offered_load);
    let start = (offered_load - spread).floor().max(0.0) as u64;
    if (servers as f64) > offered_load + spread {
        // The Poisson tail beyond 12 standard deviations is below 1e-31.
        return 0.0;
    }
    let mut inverse = 1.0; // 1/B(start), exact when start = 0, forgotten geometrically otherwise
    for k in (start + 1)..=servers {
        inverse = 1.0 + (k as f64 / offered_load) * inverse;
    }
    1.0 / inverse
}

/// Twelve standard deviations of a Poisson count of mean `load`, plus a margin: beyond this,
/// its probabilities are below e^{−72} of the largest.
fn poisson_spread(load: f64) -> f64 {
    12.0 * load.sqrt() + 50.0
}

/// R = Σ_{n<c} (aⁿ/n!) / (aᶜ/c!): the weight of the states with an idle server relative to
/// the state with all `servers` busy, in an Erlang loss or delay system offered `load` = a.
/// By R_k = (k/a)(1 + R_{k−1}) from 12 standard deviations below a (the start is forgotten
/// as in [`erlang_b`]), or, when c is far below a, as the series c/a + c(c−1)/a² + … whose
/// terms fall geometrically. Infinite when c is so far above a that all-busy never happens.
/// Costs O(√a).
///
/// ```
/// // a = 2 on c = 3: (1 + 2 + 2)/(8/6) = 3.75; Erlang B is 1/(1 + R) = 4/19.
/// let r = staircase::solver::queueing::idle_weight_ratio(3, 2.0);
/// assert!((r - 3.75).abs() < 1e-12);
/// ```
pub fn idle_weight_ratio(servers: u64, load: f64) -> f64 {
    let c = servers as f64;
    let spread = poisson_spread(load);
    if c > load + spread {
        return f64::INFINITY;
    }
    let start = (load - spread).floor().max(0.0);
    if c <= start {
        // Far overloaded: each term is the last times (c − m)/a < 1.
        let (mut term, mut sum) = (1.0, 0.0);
        for m in 0..servers {
            term *= (c - m as f64) / load;
            sum += term;
            if term <= 1e-17 * sum {
                break;
            }
        }
        return sum;
    }
    let mut ratio = 0.0;
    for k in (start as u64 + 1)..=servers {
        ratio = (k as f64 / load) * (1.0 + ratio);
    }
    ratio
}

/// Erlang C: the probability that an arrival has to wait in an M/M/c queue,
/// C = c·B / (c − a·(1 − B)) with B the Erlang B value. Requires a < c; returns 1 otherwise.
///
/// ```
/// // Textbook value: c = 2 servers, a = 1 erlang gives C = 1/3.
/// let c = staircase::solver::queueing::erlang_c(2, 1.0);
/// assert!((c - 1.0 / 3.0).abs() < 1e-12);
/// ```
pub fn erlang_c(servers: u64, offered_load: f64) -> f64 {
    let c = servers as f64;
    if offered_load >= c {
        return 1.0;
    }
    let b = erlang_b(servers, offered_load);
    let denominator = c - offered_load * (1.0 - b);
    (c * b / denominator).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn erlang_c_by_sum(c: u64, a: f64) -> f64 {
        // Direct textbook form: C = (aᶜ/c!)(c/(c−a)) / (Σ_{k<c} aᵏ/k! + (aᶜ/c!)(c/(c−a))).
        let mut term = 1.0;
        let mut sum = 0.0;
        for k in 0..c {
            sum += term;
            term *= a / (k + 1) as f64;
        }
        let last = term * c as f64 / (c as f64 - a);
        last / (sum + last)
    }

    #[test]
    fn erlang_c_matches_textbook_values() {
        // Published Erlang C table values (4 decimals).
        let cases = [
            (1, 0.5, 0.5),
            (2, 1.0, 0.3333),
            (3, 2.0, 0.4444),
            (5, 4.0, 0.5541),
            (10, 8.0, 0.4092),
        ];
        for (c, a, expected) in cases {
            let value = erlang_c(c, a);
            assert!((value - expected).abs() < 5e-5, "C({c}, {a}) = {value}");
            assert!((value - erlang_c_by_sum(c, a)).abs() < 1e-12);
        }
    }

    #[test]
    fn erlang_b_is_stable_for_huge_loads() {
        let b = erlang_b(1_000_000, 999_000.0);
        assert!(b.is_finite() && b > 0.0 && b < 0.01, "{b}");
        // Far more servers than load: no blocking at all.
        assert_eq!(erlang_b(2_000, 100.0), 0.0);
        // Compare the truncated start with the full recursion at a moderate load.
        let full = {
            let mut inverse = 1.0;
            for k in 1..=5_000u64 {
                inverse = 1.0 + (k as f64 / 4_900.0) * inverse;
            }
            1.0 / inverse
        };
        assert!((erlang_b(5_000, 4_900.0) - full).abs() < 1e-14);
    }
}
