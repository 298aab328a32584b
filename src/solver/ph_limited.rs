//! Limited queues PH/PH/c/K solved exactly on their continuous-time Markov chain: the gaps
//! between arrivals and the services are phase-type laws fitted to two moments (Erlang
//! mixtures below c² 1, exponential at 1, above it a gamma law's mixture of exponentials
//! discretized by Gauss quadrature into a few phases), and the state is the number present,
//! the arrival's phase and how many busy servers are in each service phase. The chain is a finite quasi-birth-death
//! process in the number present; its stationary law comes from linear level reduction
//! (block Gaussian elimination from the top level down, Gaver, Jacobs & Latouche 1984), all
//! blocks dense and small, with a residual check. From it: the share refused (arrivals that
//! find K present, read from the arrival phase's completions), P(wait), and the wait of those
//! admitted: the exact law of how many departures they wait for, and its first two moments
//! from the busy servers' phases (first-passage recursions), shaping a gamma-stage wait.

use super::queueing::{PoolInput, PoolSolution, WaitDist};

/// Most states of the chain solved; beyond, the Erlang orders of the fits are lowered, and if
/// that is not enough the caller's approximation is used. The chain is solved again in a
/// round of the limited queues' fixed point where its inputs changed (and in every pass of a
/// graph with loops), so it is kept to a few milliseconds (1.6 ms for 559 states here).
pub const MAX_STATES: usize = 800;

/// Most states of one level (arrival phases × busy-server phase counts): the reduction costs
/// about this cubed per level.
pub const MAX_LEVEL: usize = 100;

/// Highest Erlang order of a fit (c² 0, constant times, is taken as Erlang of this order).
pub const MAX_ORDER: usize = 12;

/// How far above its target c² a fit may be when its Erlang order is lowered to keep the
/// chain within bounds (c² 0 then takes Erlang 10 at least; beyond, the caller's
/// approximation is used).
const ORDER_SLACK: f64 = 0.1;

/// Exponential phases of a fit of c² > 1 (a gamma law's mixture, [`gamma_mixture`]). A
/// service's are lowered to 2 when the chain is too large, an arrival stream's are not: with
/// fewer phases a light load behind bursty arrivals sees too few of their short gaps (a constant service of 2 servers behind c_a² 7.3
/// at ρ 0.05 drops a quarter of what the simulation drops with 3 phases, against −23% by the
/// two-moment path).
pub const BURSTY_PHASES: usize = 6;

/// Largest relative residual ‖πQ‖/(‖π‖·max rate) accepted.
const RESIDUAL: f64 = 1e-9;

/// A phase-type law: start in phase i with probability `start[i]`, move from i to j at rate
/// `moves[i][j]`, end from i at rate `exits[i]`.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseType {
    /// Initial probabilities of the phases (they add up to 1).
    pub start: Vec<f64>,
    /// Rates between phases (zero on the diagonal).
    pub moves: Vec<Vec<f64>>,
    /// Rates at which the time ends from each phase.
    pub exits: Vec<f64>,
}

impl PhaseType {
    /// Number of phases.
    pub fn phases(&self) -> usize {
        self.start.len()
    }

    /// The mean and the squared coefficient of variation, from the moments
    /// E[Xᵏ] = k!·α(−T)⁻ᵏ1 (computed by solving (−T)x = 1 twice).
    ///
    /// ```
    /// use staircase::solver::ph_limited::PhaseType;
    /// let erlang = PhaseType::fit(2.0, 0.25, 12);
    /// let (mean, scv) = erlang.mean_and_scv();
    /// assert!((mean - 2.0).abs() < 1e-12 && (scv - 0.25).abs() < 1e-12);
    /// ```
    pub fn mean_and_scv(&self) -> (f64, f64) {
        let n = self.phases();
        let mut minus_t = vec![0.0; n * n];
        for i in 0..n {
            let out: f64 = self.moves[i].iter().sum::<f64>() + self.exits[i];
            minus_t[i * n + i] = out;
            for j in 0..n {
                if j != i {
                    minus_t[i * n + j] -= self.moves[i][j];
                }
            }
        }
        let Some(lu) = Lu::new(minus_t, n) else {
            return (0.0, 0.0);
        };
        let first = lu.solve(vec![1.0; n]);
        let second = lu.solve(first.clone());
        let m1: f64 = self.start.iter().zip(&first).map(|(a, x)| a * x).sum();
        let m2: f64 = 2.0
            * self
                .start
                .iter()
                .zip(&second)
                .map(|(a, x)| a * x)
                .sum::<f64>();
        (m1, m2 / (m1 * m1) - 1.0)
    }

    /// A phase-type law of mean `mean` and squared coefficient of variation `scv`, with at
    /// most `max_order` phases for c² < 1:
    /// - c² = 1: exponential;
    /// - 1/k ≤ c² < 1 (k ≤ `max_order`): Tijms' mixture of Erlang k − 1 and Erlang k of one
    ///   rate, exact in both moments; below 1/`max_order` (c² 0: constant): Erlang `max_order`;
    /// - c² > 1: a mixture of min(`max_order`, [`BURSTY_PHASES`]) exponential phases (at least
    ///   2) by Gauss quadrature of a gamma law of that mean and c² (the shape the simulator
    ///   draws), matching its first 2k − 1 moments ([`gamma_mixture`]); two phases of
    ///   balanced means where that fails numerically.
    ///
    /// ```
    /// use staircase::solver::ph_limited::PhaseType;
    /// for scv in [0.0, 0.3, 0.5, 1.0, 2.0, 9.0] {
    ///     let (mean, fitted) = PhaseType::fit(0.5, scv, 12).mean_and_scv();
    ///     assert!((mean - 0.5).abs() < 1e-12);
    ///     assert!((fitted - scv.max(1.0 / 12.0)).abs() < 1e-9, "{scv}: {fitted}");
    /// }
    /// ```
    pub fn fit(mean: f64, scv: f64, max_order: usize) -> PhaseType {
        let scv = scv.max(0.0);
        if (scv - 1.0).abs() < 1e-9 {
            return erlang_mixture(1, 0.0, 1.0 / mean);
        }
        if scv < 1.0 {
            let max_order = max_order.max(1);
            let order = erlang_order(scv, max_order);
            if scv * (order as f64) < 1.0 {
                // Not reachable within max_order phases: the smoothest there is.
                return erlang_mixture(order, 0.0, order as f64 / mean);
            }
            let k = order as f64;
            let p = ((k * scv - (k * (1.0 + scv) - k * k * scv).max(0.0).sqrt()) / (1.0 + scv))
                .clamp(0.0, 1.0);
            return erlang_mixture(order, p, (k - p) / mean);
        }
        (3..=max_order.clamp(2, BURSTY_PHASES))
            .rev()
            .find_map(|phases| gamma_mixture(mean, scv, phases))
            .unwrap_or_else(|| hyperexponential_gamma(mean, scv))
    }
}

/// A gamma law of c² > 1 (shape α = 1/c² < 1) is a mixture of exponentials: X = θ·E·B with
/// E exponential of mean 1 and B of the beta law (α, 1 − α), θ = mean·c². Gauss quadrature
/// of B at `phases` points (from B's moments (α)ₖ/k!, the nodes the roots of the orthogonal
/// polynomial of that degree) gives `phases` exponential phases matching the gamma's first
/// 2·`phases` − 1 moments, and its many short gaps (the two-phase fit of three moments puts
/// too few gaps near 0, so a limited queue at light load sees too few bursts). `None` where
/// the quadrature fails numerically.
fn gamma_mixture(mean: f64, scv: f64, phases: usize) -> Option<PhaseType> {
    let shape = 1.0 / scv;
    let n = phases;
    let mut moments = vec![1.0; 2 * n + 1];
    for k in 1..moments.len() {
        moments[k] = moments[k - 1] * (shape + (k - 1) as f64) / k as f64;
    }
    let mut hankel = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            hankel[i * n + j] = moments[i + j];
        }
    }
    let rhs: Vec<f64> = (0..n).map(|i| -moments[n + i]).collect();
    let coefficients = Lu::new(hankel, n)?.solve(rhs);
    let poly = |x: f64| coefficients.iter().rev().fold(1.0, |acc, c| acc * x + c);
    // The n simple roots lie in (0, 1): bracketed on a geometric grid, then bisected.
    let mut nodes = Vec::with_capacity(n);
    let grid: Vec<f64> = (0..=4000)
        .map(|i| 1e-16_f64.powf(1.0 - i as f64 / 4000.0))
        .collect();
    for pair in grid.windows(2) {
        let (mut lo, mut hi) = (pair[0], pair[1]);
        if poly(lo).signum() == poly(hi).signum() {
            continue;
        }
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if poly(mid).signum() == poly(lo).signum() {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        nodes.push(0.5 * (lo + hi));
    }
    if nodes.len() != n {
        return None;
    }
    let mut vandermonde = vec![0.0; n * n];
    for k in 0..n {
        for (j, x) in nodes.iter().enumerate() {
            vandermonde[k * n + j] = x.powi(k as i32);
        }
    }
    let weights = Lu::new(vandermonde, n)?.solve(moments[..n].to_vec());
    if !weights.iter().all(|w| *w > 0.0) {
        return None;
    }
    let total: f64 = weights.iter().sum();
    let scale = mean * scv;
    let fitted = PhaseType {
        start: weights.iter().map(|w| w / total).collect(),
        moves: vec![vec![0.0; n]; n],
        exits: nodes.iter().map(|x| 1.0 / (scale * x)).collect(),
    };
    let (fitted_mean, fitted_scv) = fitted.mean_and_scv();
    ((fitted_mean / mean - 1.0).abs() < 1e-6 && (fitted_scv / scv - 1.0).abs() < 1e-6)
        .then_some(fitted)
}

/// The Erlang order Tijms' mixture uses for c² < 1: ⌈1/c²⌉, at most `max_order`.
fn erlang_order(scv: f64, max_order: usize) -> usize {
    if scv * max_order as f64 <= 1.0 {
        return max_order;
    }
    ((1.0 / scv).ceil() as usize).clamp(1, max_order)
}

/// Erlang `order` phases of `rate` in a row, entered at the second with probability `skip`
/// (so Erlang order − 1 with probability `skip`).
fn erlang_mixture(order: usize, skip: f64, rate: f64) -> PhaseType {
    let mut start = vec![0.0; order];
    start[0] = 1.0 - skip;
    if order > 1 {
        start[1] += skip;
    } else {
        start[0] = 1.0;
    }
    let mut moves = vec![vec![0.0; order]; order];
    for (i, row) in moves.iter_mut().enumerate().take(order - 1) {
        row[i + 1] = rate;
    }
    let mut exits = vec![0.0; order];
    exits[order - 1] = rate;
    PhaseType {
        start,
        moves,
        exits,
    }
}

/// Two exponential phases (probabilities p, 1 − p; means x₁, x₂) with the first three
/// moments of a gamma law of `mean` and c² `scv` > 1: the two-point law with the reduced
/// moments rₖ = E[Xᵏ]/k! (Whitt 1982); balanced means if that fails numerically.
fn hyperexponential_gamma(mean: f64, scv: f64) -> PhaseType {
    let r1 = mean;
    let r2 = mean * mean * (1.0 + scv) / 2.0;
    let r3 = mean.powi(3) * (1.0 + scv) * (1.0 + 2.0 * scv) / 6.0;
    let c1 = (r1 * r2 - r3) / (r2 - r1 * r1);
    let c0 = -r2 - c1 * r1;
    let root = (c1 * c1 - 4.0 * c0).sqrt();
    let (x1, x2) = ((-c1 + root) / 2.0, (-c1 - root) / 2.0);
    let p = (r1 - x2) / (x1 - x2);
    let fits = x1 > 0.0 && x2 > 0.0 && p > 0.0 && p < 1.0 && p.is_finite();
    let (p, x1, x2) = if fits {
        (p, x1, x2)
    } else {
        let p = 0.5 * (1.0 + ((scv - 1.0) / (scv + 1.0)).sqrt());
        (p, mean / (2.0 * p), mean / (2.0 * (1.0 - p)))
    };
    PhaseType {
        start: vec![p, 1.0 - p],
        moves: vec![vec![0.0; 2]; 2],
        exits: vec![1.0 / x1, 1.0 / x2],
    }
}

/// A dense LU factorization with partial pivoting of an n × n matrix (row-major).
struct Lu {
    n: usize,
    a: Vec<f64>,
    pivots: Vec<usize>,
}

impl Lu {
    /// Factors `a`; `None` when it is singular.
    fn new(mut a: Vec<f64>, n: usize) -> Option<Lu> {
        let mut pivots = vec![0; n];
        for k in 0..n {
            let (p, largest) = (k..n)
                .map(|i| (i, a[i * n + k].abs()))
                .fold((k, -1.0), |best, x| if x.1 > best.1 { x } else { best });
            if !(largest > 0.0 && largest.is_finite()) {
                return None;
            }
            pivots[k] = p;
            if p != k {
                for j in 0..n {
                    a.swap(k * n + j, p * n + j);
                }
            }
            // The rows below the pivot's, each less a multiple of it (row slices, so the
            // loop over the columns runs in vector lanes; the same operations as indexing).
            let (upper, lower) = a.split_at_mut((k + 1) * n);
            let pivot_row = &upper[k * n..];
            let diagonal = pivot_row[k];
            for row in lower.chunks_exact_mut(n) {
                let factor = row[k] / diagonal;
                if factor == 0.0 {
                    continue;
                }
                row[k] = factor;
                for (x, p) in row[k + 1..].iter_mut().zip(&pivot_row[k + 1..]) {
                    *x -= factor * p;
                }
            }
        }
        Some(Lu { n, a, pivots })
    }

    /// x with A·x = `b`.
    fn solve(&self, mut b: Vec<f64>) -> Vec<f64> {
        let n = self.n;
        for (k, &pivot) in self.pivots.iter().enumerate() {
            b.swap(k, pivot);
        }
        for i in 0..n {
            let row = &self.a[i * n..i * n + i];
            let sum: f64 = row.iter().zip(&b[..i]).map(|(l, x)| l * x).sum();
            b[i] -= sum;
        }
        for i in (0..n).rev() {
            let row = &self.a[i * n + i + 1..(i + 1) * n];
            let sum: f64 = row.iter().zip(&b[i + 1..]).map(|(u, x)| u * x).sum();
            b[i] = (b[i] - sum) / self.a[i * n + i];
        }
        b
    }

    /// X with A·X = `b` for `columns` right-hand sides at once: `b` is n × `columns`
    /// (row-major), its column j the j-th right-hand side. Each column goes through exactly
    /// [`Lu::solve`]'s operations in the same order (each sum from −0.0, as `Iterator::sum`
    /// starts, term by term), so it comes out the same to the bit; the columns side by side
    /// let those sums run in vector lanes instead of one long chain of additions.
    fn solve_columns(&self, mut b: Vec<f64>, columns: usize) -> Vec<f64> {
        let n = self.n;
        if columns == 0 || n == 0 {
            return b;
        }
        for (k, &pivot) in self.pivots.iter().enumerate() {
            if pivot != k {
                for j in 0..columns {
                    b.swap(k * columns + j, pivot * columns + j);
                }
            }
        }
        let mut sums = vec![0.0; columns];
        for i in 0..n {
            sums.fill(-0.0);
            let (solved, rest) = b.split_at_mut(i * columns);
            for (l, x) in self.a[i * n..i * n + i]
                .iter()
                .zip(solved.chunks_exact(columns))
            {
                sums.iter_mut().zip(x).for_each(|(s, x)| *s += l * x);
            }
            let target = &mut rest[..columns];
            target.iter_mut().zip(&sums).for_each(|(x, s)| *x -= s);
        }
        for i in (0..n).rev() {
            sums.fill(-0.0);
            let (head, solved) = b.split_at_mut((i + 1) * columns);
            for (u, x) in self.a[i * n + i + 1..(i + 1) * n]
                .iter()
                .zip(solved.chunks_exact(columns))
            {
                sums.iter_mut().zip(x).for_each(|(s, x)| *s += u * x);
            }
            let diagonal = self.a[i * n + i];
            head[i * columns..]
                .iter_mut()
                .zip(&sums)
                .for_each(|(x, s)| *x = (*x - s) / diagonal);
        }
        b
    }
}

/// The ways of putting `busy` servers into `phases` service phases (counts per phase), in a
/// fixed order, with a lookup from counts to index.
struct Occupancies {
    list: Vec<Vec<u16>>,
    index: std::collections::HashMap<Vec<u16>, usize>,
}

impl Occupancies {
    fn new(busy: usize, phases: usize) -> Occupancies {
        let mut list = Vec::new();
        let mut counts = vec![0u16; phases];
        fill(&mut list, &mut counts, 0, busy);
        let index = list
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i))
            .collect();
        Occupancies { list, index }
    }

    fn len(&self) -> usize {
        self.list.len()
    }

    fn at(&self, counts: &[u16]) -> usize {
        self.index.get(counts).copied().unwrap_or(0)
    }
}

fn fill(list: &mut Vec<Vec<u16>>, counts: &mut [u16], phase: usize, left: usize) {
    if phase + 1 == counts.len() {
        counts[phase] = left as u16;
        list.push(counts.to_vec());
        return;
    }
    for here in 0..=left {
        counts[phase] = here as u16;
        fill(list, counts, phase + 1, left - here);
    }
}

/// C(n, k) in floating point (the sizes are compared with small bounds).
fn choose(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// States at `busy` servers: arrival phases × C(busy + phases − 1, phases − 1).
fn level_size(arrival_phases: usize, service_phases: usize, busy: usize) -> f64 {
    arrival_phases as f64 * choose(busy + service_phases - 1, service_phases - 1)
}

/// The fits of arrivals and service for a chain within [`MAX_STATES`] and [`MAX_LEVEL`]:
/// orders lowered one at a time (the higher first; Erlang orders within [`ORDER_SLACK`], a
/// bursty service's phases to 2, a bursty stream's not); `None` if
/// even that is too large.
fn fitted_within_bounds(
    input: &PoolInput,
    arrival_scv: f64,
    servers: usize,
    buffer: usize,
) -> Option<(PhaseType, PhaseType)> {
    let order = |scv: f64| {
        if scv < 1.0 - 1e-9 {
            erlang_order(scv, MAX_ORDER)
        } else if scv > 1.0 + 1e-9 {
            BURSTY_PHASES
        } else {
            1
        }
    };
    let (mut arrival_order, mut service_order) = (order(arrival_scv), order(input.service_scv));
    loop {
        let arrivals = PhaseType::fit(1.0 / input.arrival, arrival_scv, arrival_order);
        let service = PhaseType::fit(input.mean_service, input.service_scv, service_order);
        let (a, s) = (arrivals.phases(), service.phases());
        let total: f64 = (0..=servers + buffer)
            .map(|n| level_size(a, s, n.min(servers)))
            .sum();
        if total <= MAX_STATES as f64 && level_size(a, s, servers) <= MAX_LEVEL as f64 {
            return Some((arrivals, service));
        }
        // An order is lowered only while the fit's c² stays within [`ORDER_SLACK`] of the
        // target (the smoothest law of k phases has c² 1/k).
        // A bursty service's phases may go down to 2; a bursty stream's may not (with fewer
        // phases a light load behind it sees too few of its short gaps).
        let lower = |order: &mut usize, scv: f64, bursty_may: bool| {
            let lowest = *order as f64 - 1.0;
            let smooth = scv < 1.0 && *order > 1 && 1.0 / lowest - scv <= ORDER_SLACK;
            let bursty = bursty_may && scv > 1.0 && *order > 2;
            if smooth || bursty {
                *order -= 1;
                true
            } else {
                false
            }
        };
        let service_first = service_order >= arrival_order;
        let lowered = (service_first && lower(&mut service_order, input.service_scv, true))
            || lower(&mut arrival_order, arrival_scv, false)
            || lower(&mut service_order, input.service_scv, true);
        if !lowered {
            return None;
        }
    }
}

/// The chain's blocks at each level n = 0..=K: `local[n]` (within the level, diagonal holding
/// every rate out), `up[n]` (to n + 1) and `down[n]` (to n − 1), dense row-major.
struct Blocks {
    sizes: Vec<usize>,
    local: Vec<Vec<f64>>,
    up: Vec<Vec<f64>>,
    down: Vec<Vec<f64>>,
    /// The largest total rate out of a state (the residual's scale).
    max_rate: f64,
}

/// The generator of PH/PH/c/K (`servers` = c, K = c + `buffer`) by levels; the index of a
/// state at level n is arrival phase × occupancies(min(n, c)) + occupancy.
fn build_blocks(
    arrivals: &PhaseType,
    service: &PhaseType,
    servers: usize,
    buffer: usize,
    occupancies: &[Occupancies],
) -> Blocks {
    let top = servers + buffer;
    let a_phases = arrivals.phases();
    let busy = |n: usize| n.min(servers);
    let sizes: Vec<usize> = (0..=top)
        .map(|n| a_phases * occupancies[busy(n)].len())
        .collect();
    let mut local: Vec<Vec<f64>> = sizes.iter().map(|d| vec![0.0; d * d]).collect();
    let mut up: Vec<Vec<f64>> = (0..=top)
        .map(|n| vec![0.0; sizes[n] * if n < top { sizes[n + 1] } else { 0 }])
        .collect();
    let mut down: Vec<Vec<f64>> = (0..=top)
        .map(|n| vec![0.0; sizes[n] * if n > 0 { sizes[n - 1] } else { 0 }])
        .collect();
    let mut max_rate = 0.0_f64;
    for n in 0..=top {
        let here = &occupancies[busy(n)];
        let width = here.len();
        for a in 0..a_phases {
            for (o, counts) in here.list.iter().enumerate() {
                let from = a * width + o;
                let mut out = 0.0;
                // Arrival phase moves, and completions of a gap.
                for b in 0..a_phases {
                    let rate = arrivals.moves[a][b];
                    if rate > 0.0 {
                        local[n][from * sizes[n] + b * width + o] += rate;
                        out += rate;
                    }
                }
                let ends = arrivals.exits[a];
                for b in 0..a_phases {
                    let rate = ends * arrivals.start[b];
                    if rate <= 0.0 {
                        continue;
                    }
                    out += rate;
                    if n == top {
                        // Refused: only the arrival phase restarts.
                        local[n][from * sizes[n] + b * width + o] += rate;
                    } else if n < servers {
                        let next = &occupancies[n + 1];
                        for (j, begin) in service.start.iter().enumerate() {
                            if *begin > 0.0 {
                                let mut after = counts.clone();
                                after[j] += 1;
                                let to = b * next.len() + next.at(&after);
                                up[n][from * sizes[n + 1] + to] += rate * begin;
                            }
                        }
                    } else {
                        up[n][from * sizes[n + 1] + b * width + o] += rate;
                    }
                }
                // Service phase moves and completions.
                let (moves, completions) = service_events(service, counts);
                for (after, rate) in moves {
                    local[n][from * sizes[n] + a * width + here.at(&after)] += rate;
                    out += rate;
                }
                for (after, rate) in completions {
                    out += rate;
                    if n > servers {
                        // The next in line starts at once: still c busy.
                        for (j, begin) in service.start.iter().enumerate() {
                            let mut started = after.clone();
                            started[j] += 1;
                            let to = a * width + here.at(&started);
                            down[n][from * sizes[n - 1] + to] += rate * begin;
                        }
                    } else {
                        let below = &occupancies[n - 1];
                        let to = a * below.len() + below.at(&after);
                        down[n][from * sizes[n - 1] + to] += rate;
                    }
                }
                local[n][from * sizes[n] + from] -= out;
                max_rate = max_rate.max(out);
            }
        }
    }
    Blocks {
        sizes,
        local,
        up,
        down,
        max_rate,
    }
}

/// What the busy servers in occupancy `counts` do next: the phase moves (the occupancy after,
/// rate) and the completions (the occupancy left, before anyone starts; rate).
type Events = Vec<(Vec<u16>, f64)>;

fn service_events(service: &PhaseType, counts: &[u16]) -> (Events, Events) {
    let (mut moves, mut completions) = (Vec::new(), Vec::new());
    for (i, &count) in counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let count = f64::from(count);
        for (j, &rate) in service.moves[i].iter().enumerate() {
            if rate > 0.0 {
                let mut after = counts.to_vec();
                after[i] -= 1;
                after[j] += 1;
                moves.push((after, count * rate));
            }
        }
        if service.exits[i] > 0.0 {
            let mut after = counts.to_vec();
            after[i] -= 1;
            completions.push((after, count * service.exits[i]));
        }
    }
    (moves, completions)
}

/// `a` (r × m) times `b` (m × c), row-major.
fn multiply(a: &[f64], b: &[f64], (r, m, c): (usize, usize, usize)) -> Vec<f64> {
    let mut out = vec![0.0; r * c];
    if r == 0 || m == 0 || c == 0 {
        return out;
    }
    // By rows of slices (the loop over the columns in vector lanes): each entry sums the
    // same terms in the same order as indexing would.
    for (a_row, out_row) in a.chunks_exact(m).zip(out.chunks_exact_mut(c)) {
        for (&x, b_row) in a_row.iter().zip(b.chunks_exact(c)) {
            if x == 0.0 {
                continue;
            }
            out_row.iter_mut().zip(b_row).for_each(|(o, y)| *o += x * y);
        }
    }
    out
}

/// [`multiply`] for a sparse `b` (a block of the chain: a few rates a row): only `b`'s
/// nonzero entries are visited. Each entry of the product sums the same nonzero terms in the
/// same order, and the terms left out are ±0 added to a sum that starts at +0, which changes
/// nothing, so for a finite `a` the product is the same to the bit.
fn multiply_sparse(a: &[f64], b: &[f64], (r, m, c): (usize, usize, usize)) -> Vec<f64> {
    let mut out = vec![0.0; r * c];
    if r == 0 || m == 0 || c == 0 {
        return out;
    }
    // b's rows as (column, value) lists, flat: row k is entries[starts[k]..starts[k + 1]].
    let mut entries: Vec<(usize, f64)> = Vec::new();
    let mut starts = Vec::with_capacity(m + 1);
    for b_row in b.chunks_exact(c) {
        starts.push(entries.len());
        entries.extend(
            b_row
                .iter()
                .enumerate()
                .filter(|(_, y)| **y != 0.0)
                .map(|(j, y)| (j, *y)),
        );
    }
    starts.push(entries.len());
    for (a_row, out_row) in a.chunks_exact(m).zip(out.chunks_exact_mut(c)) {
        for (k, &x) in a_row.iter().enumerate() {
            if x == 0.0 {
                continue;
            }
            for &(j, y) in &entries[starts[k]..starts[k + 1]] {
                out_row[j] += x * y;
            }
        }
    }
    out
}

/// The row vector `v` times the matrix `m` (`v.len()` × `columns`).
fn row_times(v: &[f64], m: &[f64], columns: usize) -> Vec<f64> {
    multiply(v, m, (1, v.len(), columns))
}

/// The stationary law π (by level) of the chain by linear level reduction: π_K = π_{K−1}R_K
/// with R_K = U_{K−1}(−L_K)⁻¹, R_n = U_{n−1}(−(L_n + R_{n+1}D_{n+1}))⁻¹, π₀ the null vector of
/// the censored generator L₀ + R₁D₁, then π_n = π_{n−1}R_n and normalized. `None` if a block
/// is singular or the residual ‖πQ‖ exceeds [`RESIDUAL`].
fn stationary(blocks: &Blocks) -> Option<Vec<Vec<f64>>> {
    let top = blocks.sizes.len() - 1;
    let sizes = &blocks.sizes;
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); top + 1];
    let mut censored = blocks.local[top].clone();
    for n in (1..=top).rev() {
        let (d, above) = (sizes[n], sizes[n - 1]);
        // R_n (above × d) solves R_n·(−X) = U_{n−1}, i.e. (−X)ᵀ·R_nᵀ = U_{n−1}ᵀ.
        let mut transposed = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                transposed[j * d + i] = -censored[i * d + j];
            }
        }
        let lu = Lu::new(transposed, d)?;
        // Every row of U_{n−1} at once: the right-hand sides are the columns of U_{n−1}ᵀ.
        let up = &blocks.up[n - 1];
        let mut columns = vec![0.0; d * above];
        for row in 0..above {
            for k in 0..d {
                columns[k * above + row] = up[row * d + k];
            }
        }
        let solved = lu.solve_columns(columns, above);
        let mut r = vec![0.0; above * d];
        for row in 0..above {
            for k in 0..d {
                r[row * d + k] = solved[k * above + row];
            }
        }
        let below = sizes[n - 1];
        let mut next = blocks.local[n - 1].clone();
        let fed_back = multiply_sparse(&r, &blocks.down[n], (above, d, below));
        next.iter_mut().zip(&fed_back).for_each(|(x, y)| *x += y);
        censored = next;
        rates[n] = r;
    }
    // π₀·X₀ = 0 with Σπ₀ = 1: X₀ᵀ with its last equation replaced by the sum.
    let d = sizes[0];
    let mut system = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            system[j * d + i] = censored[i * d + j];
        }
    }
    system[(d - 1) * d..].iter_mut().for_each(|x| *x = 1.0);
    let mut rhs = vec![0.0; d];
    rhs[d - 1] = 1.0;
    let first = Lu::new(system, d)?.solve(rhs);
    let mut pi = vec![first];
    for n in 1..=top {
        let next = row_times(&pi[n - 1], &rates[n], sizes[n]);
        pi.push(next);
    }
    let total: f64 = pi.iter().flatten().sum();
    if !(total > 0.0 && total.is_finite()) {
        return None;
    }
    for level in &mut pi {
        level.iter_mut().for_each(|p| *p = (*p / total).max(0.0));
    }
    (residual(blocks, &pi) <= RESIDUAL).then_some(pi)
}

/// The squared coefficient of variation of the time between two departures in steady state:
/// just after a departure the chain is in φ ∝ Σₙ πₙDₙ; the time to the next departure is
/// phase-type with the generator Q₀ of every move but departures (local and up blocks, block
/// upper bidiagonal, so (−Q₀)x = b is solved level by level from the top), mean φ(−Q₀)⁻¹1 and
/// second moment 2φ(−Q₀)⁻²1.
fn departure_interval_scv(blocks: &Blocks, pi: &[Vec<f64>]) -> Option<f64> {
    let sizes = &blocks.sizes;
    let top = sizes.len() - 1;
    let factors: Vec<Lu> = (0..=top)
        .map(|n| Lu::new(blocks.local[n].iter().map(|x| -x).collect(), sizes[n]))
        .collect::<Option<_>>()?;
    // x with (−Q₀)x = b: x_K = (−L_K)⁻¹b_K, x_n = (−L_n)⁻¹(b_n + U_n·x_{n+1}).
    let solve = |b: &[Vec<f64>]| {
        let mut x: Vec<Vec<f64>> = vec![Vec::new(); top + 1];
        for n in (0..=top).rev() {
            let mut rhs = b[n].clone();
            if n < top {
                let d = sizes[n + 1];
                for (i, r) in rhs.iter_mut().enumerate() {
                    *r += blocks.up[n][i * d..(i + 1) * d]
                        .iter()
                        .zip(&x[n + 1])
                        .map(|(u, v)| u * v)
                        .sum::<f64>();
                }
            }
            x[n] = factors[n].solve(rhs);
        }
        x
    };
    let ones: Vec<Vec<f64>> = sizes.iter().map(|d| vec![1.0; *d]).collect();
    let first = solve(&ones);
    let second = solve(&first);
    let mut after: Vec<Vec<f64>> = sizes.iter().map(|d| vec![0.0; *d]).collect();
    for n in 1..=top {
        let flow = row_times(&pi[n], &blocks.down[n], sizes[n - 1]);
        after[n - 1]
            .iter_mut()
            .zip(&flow)
            .for_each(|(a, f)| *a += f);
    }
    let rate: f64 = after.iter().flatten().sum();
    let dot = |x: &[Vec<f64>]| -> f64 {
        after
            .iter()
            .flatten()
            .zip(x.iter().flatten())
            .map(|(a, b)| a * b)
            .sum::<f64>()
            / rate
    };
    let (mean, moment) = (dot(&first), 2.0 * dot(&second));
    let scv = moment / (mean * mean) - 1.0;
    (rate > 0.0 && scv.is_finite() && scv >= 0.0).then_some(scv)
}

/// max |(πQ)_i| / max rate out of a state.
fn residual(blocks: &Blocks, pi: &[Vec<f64>]) -> f64 {
    let sizes = &blocks.sizes;
    let top = sizes.len() - 1;
    let mut worst = 0.0_f64;
    for n in 0..=top {
        let mut flow = row_times(&pi[n], &blocks.local[n], sizes[n]);
        if n > 0 {
            let from_below = row_times(&pi[n - 1], &blocks.up[n - 1], sizes[n]);
            flow.iter_mut().zip(&from_below).for_each(|(x, y)| *x += y);
        }
        if n < top {
            let from_above = row_times(&pi[n + 1], &blocks.down[n + 1], sizes[n]);
            flow.iter_mut().zip(&from_above).for_each(|(x, y)| *x += y);
        }
        worst = flow.iter().fold(worst, |w, x| w.max(x.abs()));
    }
    worst / blocks.max_rate.max(f64::MIN_POSITIVE)
}

/// What PH/PH/c/K's stationary law says about one queue.
#[derive(Clone, Debug, PartialEq)]
pub struct PhLimited {
    /// Share of arrivals refused (they find K present).
    pub refused: f64,
    /// P(an admitted arrival waits j departures), j = 1..=K − c.
    pub stage_probs: Vec<f64>,
    /// Mean wait of an admitted arrival (0 for those who do not wait).
    pub mean_wait: f64,
    /// Second moment of that wait.
    pub wait_second_moment: f64,
    /// Mean number waiting (time average).
    pub mean_queue: f64,
}

/// The fits, the occupancies by busy servers, the blocks and the stationary law of the chain
/// of `input` (see [`ph_limited`]).
type Chain = (
    PhaseType,
    PhaseType,
    Vec<Occupancies>,
    Blocks,
    Vec<Vec<f64>>,
);

fn solved_chain(input: &PoolInput, arrival_scv: f64) -> Option<Chain> {
    let buffer = usize::try_from(input.buffer?).ok()?;
    let servers = usize::try_from(input.servers.max(1)).ok()?;
    let usable = input.arrival > 0.0
        && input.arrival.is_finite()
        && input.mean_service > 0.0
        && input.mean_service.is_finite()
        && arrival_scv.is_finite()
        && input.service_scv.is_finite()
        && servers + buffer <= MAX_STATES;
    if !usable {
        return None;
    }
    let (arrivals, service) = fitted_within_bounds(input, arrival_scv.max(0.0), servers, buffer)?;
    let occupancies: Vec<Occupancies> = (0..=servers)
        .map(|busy| Occupancies::new(busy, service.phases()))
        .collect();
    let blocks = build_blocks(&arrivals, &service, servers, buffer, &occupancies);
    let pi = stationary(&blocks)?;
    Some((arrivals, service, occupancies, blocks, pi))
}

/// The squared coefficient of variation of the time between two departures of a limited
/// queue, exactly on its PH/PH/c/K chain ([`departure_interval_scv`]); `None` where
/// [`ph_limited`] is. (A study aid: the stream a limited queue sends on; see
/// docs/simulation.md on what a queue behind it sees.)
///
/// M/G/1 far from its limit: Whitt's exact 1 − ρ² + ρ²c_s² (ρ 0.5, Erlang-2 service: 0.875).
///
/// ```
/// use staircase::solver::ph_limited::departure_scv;
/// use staircase::solver::queueing::PoolInput;
/// let input = PoolInput { arrival: 50.0, servers: 1, mean_service: 0.01, service_scv: 0.5,
///     buffer: Some(60), overload_horizon: 3_600.0 };
/// assert!((departure_scv(&input, 1.0).unwrap() - 0.875).abs() < 1e-6);
/// ```
pub fn departure_scv(input: &PoolInput, arrival_scv: f64) -> Option<f64> {
    let (.., blocks, pi) = solved_chain(input, arrival_scv)?;
    departure_interval_scv(&blocks, &pi)
}

/// PH/PH/c/K with arrivals and service fitted by [`PhaseType::fit`] to (1/λ, c_a²) and
/// (`input.mean_service`, `input.service_scv`) within the bounds ([`MAX_STATES`]): the
/// share refused, the law of the departures an admitted request waits for, the mean and
/// second moment of its wait, and the mean number waiting. `None` for an unlimited queue, no
/// arrivals, a chain beyond the bounds, or a residual too large.
///
/// Poisson arrivals and exponential service give M/M/c/K's closed forms to rounding: M/M/1/K
/// refuses (1 − ρ)ρᴷ/(1 − ρᴷ⁺¹).
///
/// ```
/// use staircase::solver::ph_limited::ph_limited;
/// use staircase::solver::queueing::{solve_pool, PoolInput};
/// let input = PoolInput { arrival: 90.0, servers: 1, mean_service: 0.01, service_scv: 1.0,
///     buffer: Some(4), overload_horizon: 3_600.0 };
/// let chain = ph_limited(&input, 1.0).unwrap();
/// let rho: f64 = 0.9;
/// let exact = (1.0 - rho) * rho.powi(5) / (1.0 - rho.powi(6));
/// assert!((chain.refused - exact).abs() < 1e-12);
/// // M/M/3/8 (Erlang's loss and delay with 5 places), against the solver's closed form.
/// let input = PoolInput { arrival: 250.0, servers: 3, buffer: Some(5), ..input };
/// let chain = ph_limited(&input, 1.0).unwrap();
/// let closed = solve_pool(&input);
/// assert!((chain.refused * 250.0 - closed.dropped).abs() < 1e-9);
/// assert!((chain.mean_wait - closed.mean_wait).abs() < 1e-12);
/// ```
pub fn ph_limited(input: &PoolInput, arrival_scv: f64) -> Option<PhLimited> {
    let buffer = usize::try_from(input.buffer?).ok()?;
    let servers = usize::try_from(input.servers.max(1)).ok()?;
    let (arrivals, service, occupancies, _, pi) = solved_chain(input, arrival_scv)?;
    let width = occupancies[servers].len();
    // What arrivals see: π weighted by the arrival phase's completion rate.
    let seen: Vec<Vec<f64>> = pi
        .iter()
        .enumerate()
        .map(|(n, level)| {
            let w = occupancies[n.min(servers)].len();
            level
                .iter()
                .enumerate()
                .map(|(i, p)| p * arrivals.exits[i / w])
                .collect()
        })
        .collect();
    let arriving: f64 = seen.iter().flatten().sum();
    if !arriving.is_finite() || arriving <= 0.0 {
        return None;
    }
    let top = servers + buffer;
    let refused = seen[top].iter().sum::<f64>() / arriving;
    let admitted = arriving * (1.0 - refused);
    // The busy servers' phases an admitted waiting arrival finds, for each count of
    // departures it waits for (j = n − c + 1).
    let found: Vec<Vec<f64>> = (servers..top)
        .map(|n| {
            let mut by_occupancy = vec![0.0; width];
            for (i, w) in seen[n].iter().enumerate() {
                by_occupancy[i % width] += w / admitted.max(f64::MIN_POSITIVE);
            }
            by_occupancy
        })
        .collect();
    let stage_probs: Vec<f64> = found.iter().map(|v| v.iter().sum()).collect();
    let (mean_wait, wait_second_moment) =
        wait_moments(&service, &occupancies[servers], &found).unwrap_or((0.0, 0.0));
    let mean_queue: f64 = pi
        .iter()
        .enumerate()
        .skip(servers + 1)
        .map(|(n, level)| (n - servers) as f64 * level.iter().sum::<f64>())
        .sum();
    Some(PhLimited {
        refused: refused.clamp(0.0, 1.0),
        stage_probs,
        mean_wait,
        wait_second_moment,
        mean_queue,
    })
}

/// The first two moments of the wait of an admitted arrival that finds all c servers busy in
/// occupancy m with j − 1 ahead of it (`found[j − 1][m]`, weights adding up to P(wait)): the
/// time to the j-th departure. With N = (−A)⁻¹ (A: the busy servers' phase moves, no
/// departure) and B the departures (with the next service's start), h₁(j) = N·1 + N·B·h₁(j−1)
/// and h₂(j) = 2N·h₁(j) + N·B·h₂(j−1) (first-passage recursions), h(0) = 0.
fn wait_moments(
    service: &PhaseType,
    occupancy: &Occupancies,
    found: &[Vec<f64>],
) -> Option<(f64, f64)> {
    let d = occupancy.len();
    let mut minus_a = vec![0.0; d * d];
    let mut departures = vec![0.0; d * d];
    for (o, counts) in occupancy.list.iter().enumerate() {
        let (moves, completions) = service_events(service, counts);
        for (after, rate) in moves {
            minus_a[o * d + occupancy.at(&after)] -= rate;
            minus_a[o * d + o] += rate;
        }
        for (after, rate) in completions {
            minus_a[o * d + o] += rate;
            for (j, begin) in service.start.iter().enumerate() {
                let mut started = after.clone();
                started[j] += 1;
                departures[o * d + occupancy.at(&started)] += rate * begin;
            }
        }
    }
    let lu = Lu::new(minus_a, d)?;
    let step = |v: &[f64]| lu.solve(multiply(&departures, v, (d, d, 1)));
    let passage = lu.solve(vec![1.0; d]);
    let (mut h1, mut h2) = (vec![0.0; d], vec![0.0; d]);
    let (mut m1, mut m2) = (0.0, 0.0);
    for weights in found {
        let carried = step(&h1);
        let next_h1: Vec<f64> = passage.iter().zip(&carried).map(|(a, b)| a + b).collect();
        let twice = lu.solve(next_h1.clone());
        let carried2 = step(&h2);
        h2 = twice
            .iter()
            .zip(&carried2)
            .map(|(a, b)| 2.0 * a + b)
            .collect();
        h1 = next_h1;
        m1 += weights.iter().zip(&h1).map(|(w, h)| w * h).sum::<f64>();
        m2 += weights.iter().zip(&h2).map(|(w, h)| w * h).sum::<f64>();
    }
    Some((m1, m2))
}

/// [`ph_limited`] as a pool: throughput and drops, the mean wait and queue, and the wait as
/// the exact law of departures waited for, each departure a gamma stage with the rate and
/// shape that give the chain's mean and second moment (exactly that law, in Erlang stages of
/// rate cμ, at exponential service). `None` where [`ph_limited`] is.
///
/// GI/M/c/K agrees with the embedded chain of `renewal_limited` (Erlang-4 arrivals):
///
/// ```
/// use staircase::solver::ph_limited::solve_ph_limited;
/// use staircase::solver::renewal_limited::solve_renewal_limited;
/// use staircase::solver::queueing::PoolInput;
/// let input = PoolInput { arrival: 160.0, servers: 2, mean_service: 0.01, service_scv: 1.0,
///     buffer: Some(2), overload_horizon: 3_600.0 };
/// let chain = solve_ph_limited(&input, 0.25).unwrap();
/// let embedded = solve_renewal_limited(&input, 0.25).unwrap();
/// assert!((chain.dropped - embedded.dropped).abs() < 1e-9);
/// assert!((chain.mean_wait - embedded.mean_wait).abs() < 1e-12);
/// ```
pub fn solve_ph_limited(input: &PoolInput, arrival_scv: f64) -> Option<PoolSolution> {
    let chain = ph_limited(input, arrival_scv)?;
    let c = input.servers.max(1) as f64;
    let throughput = input.arrival * (1.0 - chain.refused);
    let busy = throughput * input.mean_service;
    let p_wait: f64 = chain.stage_probs.iter().sum();
    let wait = if p_wait <= 0.0 || chain.mean_wait <= 0.0 {
        WaitDist::Zero
    } else {
        let departures: f64 = chain
            .stage_probs
            .iter()
            .enumerate()
            .map(|(j, p)| (j + 1) as f64 * p)
            .sum();
        let departures2: f64 = chain
            .stage_probs
            .iter()
            .enumerate()
            .map(|(j, p)| ((j + 1) * (j + 1)) as f64 * p)
            .sum();
        let stage_rate = departures / chain.mean_wait;
        let stages = WaitDist::ErlangMix {
            stage_probs: chain.stage_probs.clone(),
            stage_rate,
        };
        // Var of a stage (times rate²) = (E[W²]·r² − E[J²])/E[J].
        let stage_scv =
            (chain.wait_second_moment * stage_rate * stage_rate - departures2) / departures;
        if (stage_scv - 1.0).abs() < 1e-9 {
            stages
        } else {
            WaitDist::GammaStages {
                stages: Box::new(stages),
                stage_rate,
                stage_shape: 1.0 / stage_scv.clamp(1e-3, 1e3),
            }
        }
    };
    Some(PoolSolution {
        throughput,
        dropped: input.arrival - throughput,
        utilization: (busy / c).min(1.0),
        offered_utilization: input.arrival * input.mean_service / c,
        mean_wait: chain.mean_wait,
        mean_queue: throughput * chain.mean_wait,
        mean_in_system: throughput * chain.mean_wait + busy,
        backlog_growth: 0.0,
        wait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(arrival: f64, servers: u64, buffer: u64, service_scv: f64) -> PoolInput {
        PoolInput {
            arrival,
            servers,
            mean_service: 0.01,
            service_scv,
            buffer: Some(buffer),
            overload_horizon: 3_600.0,
        }
    }

    #[test]
    fn solving_columns_together_gives_each_column_to_the_bit() {
        // The censored block of a constant service behind Poisson arrivals (78 states at
        // two busy servers), against one column at a time.
        let pool = input(150.0, 2, 6, 0.0);
        let (arrivals, service) = fitted_within_bounds(&pool, 1.0, 2, 6).expect("fits");
        let occupancies: Vec<Occupancies> = (0..=2)
            .map(|busy| Occupancies::new(busy, service.phases()))
            .collect();
        let blocks = build_blocks(&arrivals, &service, 2, 6, &occupancies);
        let d = blocks.sizes[8];
        let minus_local: Vec<f64> = blocks.local[8].iter().map(|x| -x).collect();
        let lu = Lu::new(minus_local.clone(), d).expect("regular");
        let columns = 5;
        let b: Vec<f64> = (0..d * columns)
            .map(|i| ((i * 7919) % 101) as f64 / 13.0 - 3.0)
            .collect();
        let together = lu.solve_columns(b.clone(), columns);
        for j in 0..columns {
            let column: Vec<f64> = (0..d).map(|k| b[k * columns + j]).collect();
            let alone = lu.solve(column);
            for k in 0..d {
                assert_eq!(together[k * columns + j].to_bits(), alone[k].to_bits());
            }
        }
        // The product by slices against the plain triple loop.
        let (r, m, c) = (3, d, d);
        let product = multiply(&b[..r * m], &minus_local, (r, m, c));
        let sparse = multiply_sparse(&b[..r * m], &minus_local, (r, m, c));
        for i in 0..r {
            for j in 0..c {
                let mut plain = 0.0;
                for k in 0..m {
                    let x = b[i * m + k];
                    if x != 0.0 {
                        plain += x * minus_local[k * c + j];
                    }
                }
                assert_eq!(product[i * c + j].to_bits(), plain.to_bits());
                assert_eq!(sparse[i * c + j].to_bits(), plain.to_bits());
            }
        }
    }

    #[test]
    fn little_law_holds_for_the_wait_moments() {
        for (arrival, servers, buffer, ca2, cs2) in [
            (80.0, 1, 5, 1.0, 0.0),
            (150.0, 2, 4, 2.0, 4.0),
            (300.0, 4, 3, 0.25, 0.5),
            (500.0, 1, 8, 9.0, 0.0),
            (120.0, 4, 6, 9.0, 5.0),
        ] {
            let pool = input(arrival, servers, buffer, cs2);
            let chain = ph_limited(&pool, ca2).expect("chain");
            let little = chain.mean_queue / (arrival * (1.0 - chain.refused));
            assert!(
                (chain.mean_wait / little - 1.0).abs() < 1e-8,
                "{arrival} {servers}: {} vs {little}",
                chain.mean_wait
            );
            assert!(chain.wait_second_moment >= chain.mean_wait * chain.mean_wait);
        }
    }

    #[test]
    fn m_g_1_k_blocking_against_its_known_value() {
        // M/G/1/2 (one waiting place) at ρ = 1 (Gross & Harris §5.1.2): the chain at
        // departures leaves 0 behind with π₀ = a₀ = P(no arrival during a service) from either
        // state, and P_K = 1 − 1/(π₀ + ρ). Constant service is taken as Erlang 12, for which
        // a₀ = (12/13)¹²; that is exact, and within 3% of M/D/1/2's 1 − 1/(e^{−1} + 1).
        let pool = PoolInput {
            arrival: 1.0,
            servers: 1,
            mean_service: 1.0,
            service_scv: 0.0,
            buffer: Some(1),
            overload_horizon: 3_600.0,
        };
        let chain = ph_limited(&pool, 1.0).expect("chain");
        let erlang = 1.0 - 1.0 / ((12.0f64 / 13.0).powi(12) + 1.0);
        assert!(
            (chain.refused - erlang).abs() < 1e-12,
            "{} vs {erlang}",
            chain.refused
        );
        let constant = 1.0 - 1.0 / ((-1.0f64).exp() + 1.0);
        assert!((chain.refused / constant - 1.0).abs() < 0.03);
    }

    #[test]
    fn bounds_fall_back_and_extremes_stay_finite() {
        assert!(ph_limited(&input(100.0, 64, 500, 0.0), 0.0).is_none());
        // Erlang 10 (c² 0.1 for 0) is the least: constant arrivals into 2 constant servers
        // (10 × 55 states a level) are left to the caller.
        assert!(ph_limited(&input(100.0, 2, 4, 0.0), 0.0).is_none());
        // A bursty stream keeps its 6 phases: into 2 constant servers (6 × 55 a level) it
        // is left to the caller too.
        assert!(ph_limited(&input(100.0, 2, 4, 0.0), 9.0).is_none());
        for (arrival, ca2, cs2) in [(1e-6, 0.5, 0.5), (1e6, 9.0, 5.0), (50.0, 9.0, 0.5)] {
            let solved = solve_ph_limited(&input(arrival, 2, 4, cs2), ca2).expect("chain");
            for x in [
                solved.dropped,
                solved.mean_wait,
                solved.wait.mean(),
                solved.mean_queue,
            ] {
                assert!(
                    x.is_finite() && x >= 0.0,
                    "{arrival} {ca2} {cs2}: {solved:?}"
                );
            }
            assert!(
                (solved.wait.mean() - solved.mean_wait).abs() <= 1e-9 * solved.mean_wait.max(1e-9)
            );
        }
    }
}
