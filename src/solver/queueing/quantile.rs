//! Quantiles from a tail and its density: Newton's (or Halley's) search on ln P(T > t) inside
//! a bisection bracket.

/// Finds t ≥ 0 with F(t) = `probability`, given a function returning the tail P(T > t) and
/// the density at t, and `scale`, a typical value (the mean). Newton's method on
/// ln P(T > t), which is exactly linear for an exponential tail and nearly so for mixtures of
/// exponentials, from t₀ = scale·ln(1/(1 − p)); bisection keeps every step inside a bracket.
pub fn quantile(probability: f64, scale: f64, tail_and_density: impl Fn(f64) -> (f64, f64)) -> f64 {
    quantile_at(Level::new(probability), scale, tail_and_density)
}

/// A probability level of [`quantile`], with the logarithms every search at it starts from
/// (worked out once for levels searched many times).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Level {
    /// The tail probability 1 − p.
    pub(super) target: f64,
    /// ln(1 − p).
    pub(super) log_target: f64,
    /// ln(1/(1 − p)): the quantile of an exponential of mean 1.
    pub(super) unit_quantile: f64,
}

impl Level {
    /// The level of probability `probability`.
    pub fn new(probability: f64) -> Level {
        let target = 1.0 - probability;
        Level {
            target,
            log_target: target.ln(),
            unit_quantile: (1.0 / target).ln(),
        }
    }
}

/// [`quantile`] at a level whose logarithms are already known.
pub fn quantile_at(level: Level, scale: f64, tail_and_density: impl Fn(f64) -> (f64, f64)) -> f64 {
    let with_no_slope = |t: f64| {
        let (tail, density) = tail_and_density(t);
        (tail, density, 0.0)
    };
    search_tail(
        level,
        scale,
        scale * level.unit_quantile,
        with_no_slope,
        false,
    )
}

/// [`quantile_at`] for a smooth tail whose density's slope is known too: `tail` returns
/// P(T > t), the density f and its derivative f′. Halley's method on ln P(T > t) (cubic
/// convergence; a Newton step N becomes N/(1 + N·h′/(2h)) with the hazard h = f/P(T > t)) in
/// the same bracket, and the search ends once a Halley step falls below 1e-5 of t: the error
/// left is then of the order of that step cubed (1e-15 of t). A step where the correction
/// was too large to apply (a Newton step) must fall below 1e-7 of t, as before.
///
/// ```
/// use staircase::solver::queueing::{smooth_quantile_at, ExponentialTail, Level};
/// // M/M/1, λ = 0.9, μ = 1: the response is exponential at 0.1, p99 = ln(100)/0.1.
/// let mut tail = ExponentialTail::default();
/// tail.add_mmc(1.0, 0.9, 0.1, 1.0);
/// let p99 = smooth_quantile_at(Level::new(0.99), 10.0, |t| tail.at(t));
/// assert!((p99 - 100f64.ln() / 0.1).abs() < 1e-9);
/// ```
pub fn smooth_quantile_at(level: Level, scale: f64, tail: impl Fn(f64) -> (f64, f64, f64)) -> f64 {
    search_tail(level, scale, scale * level.unit_quantile, tail, true)
}

/// The search of [`quantile_at`] (Newton) and [`smooth_quantile_at`] (Halley when `smooth`).
pub(super) fn search_tail(
    level: Level,
    scale: f64,
    start: f64,
    tail_and_density: impl Fn(f64) -> (f64, f64, f64),
    smooth: bool,
) -> f64 {
    if scale.is_nan() || scale <= 0.0 || scale.is_infinite() {
        return 0.0;
    }
    let Level {
        target, log_target, ..
    } = level;
    let mut low = 0.0;
    let mut high = f64::INFINITY;
    let mut t = start;
    let mut last_step = f64::INFINITY;
    for _ in 0..200 {
        let (tail, density, slope) = tail_and_density(t);
        if tail > target {
            low = t;
        } else {
            high = t;
        }
        // g(t) = ln tail − ln target, g′(t) = −density/tail.
        let gap = tail.ln() - log_target;
        let step = SearchStep::at(t, gap, (tail, density, slope), smooth);
        if step.finished(t, smooth) {
            return step.next;
        }
        let (next, on_target) = (step.next, step.on_target());
        // Newton's steps must shrink (by half every step) or bisection takes over: on a tail
        // with a kink Newton can bounce between the two sides of the bracket.
        let shrinking = (next - t).abs() <= 0.5 * last_step;
        let next = if next.is_finite() && next >= low && next <= high && next != t && shrinking {
            next
        } else if high.is_finite() {
            (low + high) / 2.0
        } else {
            2.0 * t.max(scale)
        };
        if (on_target || high - low <= 1e-12 * high) && (next - t).abs() <= 1e-12 * t.max(1e-300) {
            return next;
        }
        last_step = (next - t).abs();
        t = next;
    }
    t
}

/// One step of [`search_tail`] from t: Newton's on g(t) = ln P(T > t) − ln(1 − p), or
/// Halley's where the search is smooth and the correction is moderate ([`halley_step`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct SearchStep {
    /// g(t), the gap to the target in logarithms.
    gap: f64,
    /// Where the step lands (NaN where the tail or the density is not positive).
    pub(super) next: f64,
    /// Whether the step is Halley's (cubic convergence).
    cubic: bool,
}

impl SearchStep {
    /// The step from `t`, where g(t) = `gap` and the tail, its density and the density's
    /// slope are `values`.
    pub(super) fn at(t: f64, gap: f64, values: (f64, f64, f64), smooth: bool) -> SearchStep {
        let (tail, density, slope) = values;
        let (next, cubic) = if tail > 0.0 && density > 0.0 {
            let newton = gap * tail / density;
            match smooth
                .then(|| halley_step(newton, tail, density, slope))
                .flatten()
            {
                Some(step) => (t + step, true),
                None => (t + newton, false),
            }
        } else {
            (f64::NAN, false)
        };
        SearchStep { gap, next, cubic }
    }

    /// Whether the tail at t is close enough to the target for a negligible step to end the
    /// search: a step can also vanish where the density is steep but the tail still far off
    /// (the sharp end of a fluid backlog's uniform wait), and bisection then takes over.
    fn on_target(&self) -> bool {
        self.gap.abs() < if self.cubic { 1e-3 } else { 1e-6 }
    }

    /// Whether the search ends with this step from `t`: on target and the step negligible.
    /// Halley's error after a step s is of the order of s³ (relative to t), so a Halley step
    /// may end the search at 1e-5 of t (about 1e-15 left); a Newton step of the smooth search
    /// at 1e-7, and the plain Newton search, quadratic, goes on to 1e-12.
    pub(super) fn finished(&self, t: f64, smooth: bool) -> bool {
        let negligible = match (self.cubic, smooth) {
            (true, _) => 1e-5,
            (false, true) => 1e-7,
            (false, false) => 1e-12,
        };
        self.on_target()
            && self.next.is_finite()
            && (self.next - t).abs() <= negligible * t.max(1e-300)
    }
}

/// Halley's correction of the Newton step `newton` on g = ln P(T > t): N/(1 + N·g″/(2g′)) with
/// g″/g′ = h′/h = f′/f + f/P(T > t); `None` where the correction is large (far from the
/// root, where the curvature says little: the Newton step is taken instead).
fn halley_step(newton: f64, tail: f64, density: f64, slope: f64) -> Option<f64> {
    let factor = 1.0 + 0.5 * newton * (slope / density + density / tail);
    (0.5..=2.0).contains(&factor).then(|| newton / factor)
}
