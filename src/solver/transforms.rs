//! Laplace transforms of a class's end-to-end response time (and its point masses), inverted
//! by [`crate::solver::queueing`] for the percentiles.

use super::compile::post_order;
use super::compile::Compiled;
use super::compile::CompiledNode;
use super::compile::Source;
use super::delays::random_delay_lst;
use super::lists::Lists;
use super::paths::route_completion;
use super::paths::RetrySplit;
use super::paths::Splits;
use super::stations::NodeResult;
use super::vectors::widened;
use crate::solver::queueing::phases;
use crate::solver::queueing::ServiceShape;
use crate::solver::queueing::WaitDist;
use num_complex::Complex64;

/// Most point masses tracked per class; beyond that they are left in the smoothed part.
pub(super) const MAX_ATOMS: usize = 256;

/// Sorts point masses by time, adds up those at the same time and drops negligible ones.
pub(super) fn merge_atoms(mut atoms: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    atoms.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(atoms.len());
    for (time, mass) in atoms {
        match merged.last_mut() {
            Some(last) if (last.0 - time).abs() <= 1e-12 * time.abs().max(1e-3) => last.1 += mass,
            _ => merged.push((time, mass)),
        }
    }
    merged.retain(|(_, mass)| *mass > 1e-15);
    merged
}

/// Point masses (time, probability) of the response of class `k` at `node` alone: a pure
/// delay always takes `base`; a constant service time without waiting takes `base + S`.
pub(super) fn own_atoms(
    node: &CompiledNode,
    waits: &[(f64, WaitDist)],
    k: usize,
) -> Vec<(f64, f64)> {
    if node.base_cv > 0.0 && node.base > 0.0 {
        // A random delay spreads every point mass.
        return Vec::new();
    }
    match &node.service {
        None => vec![(node.base, 1.0)],
        Some(service) if node.shape == ServiceShape::Deterministic => {
            let no_wait: f64 = waits.iter().map(|(w, dist)| w * dist.zero_mass()).sum();
            if no_wait > 0.0 {
                vec![(node.base + service[k], no_wait)]
            } else {
                Vec::new()
            }
        }
        Some(_) => Vec::new(),
    }
}

/// Point masses of the end-to-end response of class `k` (acyclic graphs): products of the
/// nodes' own point masses along every path, mixed by the routing shares. Empty when there
/// are too many to track (the smoothed inversion then covers them), and where a node whose
/// drops are retried (`splits`) would carry point masses of its own or of a retry's target
/// (the retries' mixture is not tracked; the smoothed inversion covers it too).
pub(super) fn class_atoms(
    compiled: &Compiled,
    results: &[NodeResult],
    k: usize,
    (order, splits): (&[usize], &Splits),
    completion: &[f64],
) -> Vec<(f64, f64)> {
    let convolve = |a: &[(f64, f64)], b: &[(f64, f64)], delay: f64| -> Vec<(f64, f64)> {
        let mut out = Vec::with_capacity(a.len() * b.len());
        for &(ta, ma) in a {
            for &(tb, mb) in b {
                out.push((ta + tb + delay, ma * mb));
            }
        }
        merge_atoms(out)
    };
    let mut atoms: Vec<Vec<(f64, f64)>> = vec![Vec::new(); compiled.nodes.len()];
    for &v in order {
        let node = &compiled.nodes[v];
        let mut own = own_atoms(node, &results[v].waits, k);
        if splits.at(v).is_some() {
            let retried_atoms = compiled.out_edges[v].iter().any(|edge| {
                edge.source == Source::Dropped
                    && edge.factors[k] > 0.0
                    && !atoms[edge.to].is_empty()
            });
            if retried_atoms || !own.is_empty() {
                return Vec::new();
            }
        }
        if own.is_empty() {
            continue;
        }
        let completes = route_completion(compiled, completion, v, k);
        let mut route: Vec<(f64, f64)> = if node.detaches {
            vec![(0.0, 1.0)]
        } else if node.finish[k] > 0.0 {
            vec![(0.0, node.finish[k] / completes)]
        } else {
            Vec::new()
        };
        if !node.detaches {
            for edge in &compiled.out_edges[v] {
                let f = edge.served_factor(k);
                if f <= 0.0 {
                    continue;
                }
                if edge.is_call {
                    for _ in 0..edge.count {
                        own = convolve(&own, &atoms[edge.to], edge.rtt(k));
                    }
                } else {
                    let weight = f * completion[edge.to] / completes;
                    route.extend(
                        atoms[edge.to]
                            .iter()
                            .map(|&(t, m)| (t + edge.rtt(k), m * weight)),
                    );
                }
            }
        }
        let combined = convolve(&own, &merge_atoms(route), 0.0);
        if combined.len() > MAX_ATOMS {
            return Vec::new();
        }
        atoms[v] = combined;
    }
    std::mem::take(&mut atoms[compiled.classes[k].client])
}

/// How a class's end-to-end transform walks its nodes: the order (every node after the
/// nodes it sends to), the passes (more than one on cyclic graphs) and each node's shift.
pub(super) struct TransformSteps<'a> {
    pub(super) order: &'a [usize],
    pub(super) passes: usize,
    pub(super) shift: &'a [f64],
    /// Per node, [`route_completion`]: the completing share its route branches weigh by.
    pub(super) completes: &'a [f64],
    /// Per node, [`route_shift_of`]: the shift of its cheapest route.
    pub(super) route_shifts: &'a [f64],
    /// The class's hops into each node.
    pub(super) feeds: &'a Feeds,
    /// Where the class's drops are retried, how ([`Retried`]); `None` when no wire retries.
    pub(super) retries: Option<Retried<'a>>,
}

impl TransformSteps<'_> {
    /// The retry split of node `v` and its served path's lead, if its drops are retried.
    #[inline(always)]
    fn split(&self, v: usize) -> Option<(&RetrySplit, f64)> {
        let retries = self.retries?;
        let split = retries.splits.at(v)?;
        Some((split, retries.leads.get(v).copied().unwrap_or(0.0)))
    }
}

/// The retries of a class's drops, for the walks: each node's [`RetrySplit`] and the lead of
/// its served path over its shift (`Means::leads` in [`super::paths`]).
#[derive(Clone, Copy)]
pub(super) struct Retried<'a> {
    pub(super) splits: &'a Splits,
    pub(super) leads: &'a [f64],
}

/// The served hops of one class into each node from the nodes it reaches (not past a queue,
/// none from the node itself), in the order of the node's wires in: the children-first walk
/// of [`class_transform_acyclic`] folds each finished node into its callers and routers
/// along them. Where some wire retries drops, also the retry edges into each node from
/// another (`retried`; the walk folds them only where the sender's drops are retried, see
/// [`RetrySplit`]), and the nodes reached count those reached along retries. It depends only
/// on the graph (see [`super::paths::ClassPlan`]).
pub(super) struct Feeds {
    served: Lists<Feed>,
    retried: Lists<Feed>,
}

/// A hop into a node of [`Feeds`].
struct Feed {
    from: u32,
    /// Calls per request (a call).
    count: u32,
    /// Share routed (a route) or calls per served request (a call).
    factor: f64,
    /// Round trip for the class, seconds.
    rtt: f64,
    is_call: bool,
}

impl Feeds {
    /// The feeds of class `k`.
    pub(super) fn of(compiled: &Compiled, k: usize) -> Feeds {
        let node_count = compiled.nodes.len();
        let mut reached = vec![false; node_count];
        if compiled.retries {
            // Along routes and calls (not past a queue) and along every retry edge.
            let client = compiled.classes[k].client;
            let along = |v: usize, edge: &super::compile::OutEdge| {
                edge.factors[k] > 0.0
                    && (edge.source == Source::Dropped || !compiled.nodes[v].detaches)
            };
            for v in post_order(compiled, client, along).0 {
                reached[v] = true;
            }
        } else {
            for &v in &compiled.reach[k].order {
                reached[v] = true;
            }
        }
        let served = Lists::by_key(node_count, |v, feeds| {
            for flow in &compiled.in_flows[v] {
                let u = flow.from;
                let edge = &compiled.out_edges[u][flow.edge];
                let factor = edge.served_factor(k);
                if !reached[u] || compiled.nodes[u].detaches || factor <= 0.0 || u == v {
                    continue;
                }
                feeds.push(Feed {
                    from: super::paths::plan_index(u),
                    count: edge.count,
                    factor,
                    rtt: edge.rtt(k),
                    is_call: edge.is_call,
                });
            }
        });
        let retried = if compiled.retries {
            Lists::by_key(node_count, |v, feeds| {
                for flow in &compiled.in_flows[v] {
                    let u = flow.from;
                    let edge = &compiled.out_edges[u][flow.edge];
                    let factor = edge.factors[k];
                    if !reached[u] || edge.source != Source::Dropped || factor <= 0.0 || u == v {
                        continue;
                    }
                    feeds.push(Feed {
                        from: super::paths::plan_index(u),
                        count: 1,
                        factor,
                        rtt: edge.rtt(k),
                        is_call: false,
                    });
                }
            })
        } else {
            Lists::empty()
        };
        Feeds { served, retried }
    }

    /// The hops that feed node `v`.
    #[inline(always)]
    fn feeding(&self, v: usize) -> &[Feed] {
        self.served.of(v)
    }

    /// The retry edges into node `v` from other nodes (none when no wire retries).
    #[inline(always)]
    fn retrying(&self, v: usize) -> &[Feed] {
        if v < self.retried.keys() {
            self.retried.of(v)
        } else {
            &[]
        }
    }
}

/// The service time of class `k` at `node` when it is a constant (deterministic service), else 0.
pub(super) fn constant_service(node: &CompiledNode, k: usize) -> f64 {
    match (&node.service, node.shape) {
        (Some(service), ServiceShape::Deterministic) => service[k],
        _ => 0.0,
    }
}

/// The route shift of node `v` for class `k`: the smallest constant delay of a route out of
/// it (0 when a request may finish here or the node detaches).
pub(super) fn route_shift_of(compiled: &Compiled, v: usize, k: usize, shift: &[f64]) -> f64 {
    let node = &compiled.nodes[v];
    let mut route_shift = if node.finish[k] > 0.0 || node.detaches {
        0.0
    } else {
        f64::INFINITY
    };
    if !node.detaches {
        for edge in &compiled.out_edges[v] {
            if edge.served_factor(k) > 0.0 && !edge.is_call {
                route_shift = route_shift.min(edge.rtt(k) + shift[edge.to]);
            }
        }
    }
    if route_shift.is_finite() {
        route_shift
    } else {
        0.0
    }
}

/// The transform of node `v`'s own response (its wait and service) at each point, written
/// into `out`.
#[inline(always)]
fn own_transform_into(
    node: &CompiledNode,
    result: &NodeResult,
    k: usize,
    points: &[Complex64],
    out: &mut [Complex64],
) {
    let one = Complex64::new(1.0, 0.0);
    let Some(service) = node.service.as_ref() else {
        out.fill(one);
        random_delay_into(node, points, out);
        return;
    };
    if let ([(weight, WaitDist::Exponential { p_wait, rate })], ServiceShape::Exponential) =
        (result.waits.as_slice(), node.shape)
    {
        // The usual M/M/c node: its wait and service over one common denominator,
        // w·((1 − p)(s + r) + p·r) / ((s + r)(1 + s·m)), one complex division per point.
        let (idle, waited, mean) = (weight * (1.0 - p_wait), weight * p_wait * rate, service[k]);
        for (value, &s) in out.iter_mut().zip(points) {
            let pending = s + rate;
            *value = (pending * idle + waited) / (pending * (s * mean + 1.0));
        }
        random_delay_into(node, points, out);
        return;
    }
    out.fill(Complex64::new(0.0, 0.0));
    for (weight, dist) in &result.waits {
        dist.add_lst_into(*weight, points, out);
    }
    match node.shape {
        ServiceShape::Deterministic => {}
        ServiceShape::Exponential => {
            // ServiceShape::lst's exponential, written here so that the loop inlines it.
            let mean = service[k];
            for (value, &s) in out.iter_mut().zip(points) {
                *value *= Complex64::new(1.0, 0.0) / (s * mean + 1.0);
            }
        }
        shape => {
            for (value, &s) in out.iter_mut().zip(points) {
                *value *= shape.lst(service[k], s);
            }
        }
    }
    random_delay_into(node, points, out);
}

/// Multiplies `out` by the transform of the node's random delay (nothing for a constant one,
/// which the shift carries).
#[inline(always)]
fn random_delay_into(node: &CompiledNode, points: &[Complex64], out: &mut [Complex64]) {
    if node.base_cv > 0.0 && node.base > 0.0 {
        for (value, &s) in out.iter_mut().zip(points) {
            *value *= random_delay_lst(node, s);
        }
    }
}

/// A node's values at every point of a walk with their real parts first and their imaginary
/// parts after them (`2 × width` numbers), so that the walks' loops load and store whole
/// vectors of either part instead of shuffling interleaved pairs apart and back. The
/// arithmetic is `Complex64`'s, on values put together from the two halves, so the figures
/// are those of interleaved buffers to the bit.
type Parts = Vec<f64>;

/// The real and the imaginary halves of a [`Parts`] buffer.
#[inline(always)]
fn halves(buffer: &[f64]) -> (&[f64], &[f64]) {
    buffer.split_at(buffer.len() / 2)
}

/// [`halves`], to write.
#[inline(always)]
fn halves_mut(buffer: &mut [f64]) -> (&mut [f64], &mut [f64]) {
    let width = buffer.len() / 2;
    buffer.split_at_mut(width)
}

/// The values of a [`Parts`] buffer, point by point.
#[inline(always)]
fn values(buffer: &[f64]) -> impl Iterator<Item = Complex64> + '_ {
    let (real, imaginary) = halves(buffer);
    real.iter()
        .zip(imaginary)
        .map(|(&re, &im)| Complex64::new(re, im))
}

/// Combines `incoming` into a [`Parts`] buffer point by point with `combine`.
#[inline(always)]
fn update<T>(
    buffer: &mut [f64],
    incoming: impl Iterator<Item = T>,
    combine: impl Fn(&mut Complex64, T),
) {
    let (real, imaginary) = halves_mut(buffer);
    for ((re, im), value) in real.iter_mut().zip(imaginary.iter_mut()).zip(incoming) {
        let mut into = Complex64::new(*re, *im);
        combine(&mut into, value);
        (*re, *im) = (into.re, into.im);
    }
}

/// The points of a walk, interleaved (for the formulas that take them so) and in halves.
struct Points<'a> {
    interleaved: &'a [Complex64],
    real: Vec<f64>,
    imaginary: Vec<f64>,
}

impl<'a> Points<'a> {
    /// `interleaved` and its two halves.
    fn of(interleaved: &'a [Complex64]) -> Points<'a> {
        Points {
            interleaved,
            real: interleaved.iter().map(|s| s.re).collect(),
            imaginary: interleaved.iter().map(|s| s.im).collect(),
        }
    }
}

/// [`own_transform_into`] written into a [`Parts`] buffer: the usual M/M/c node directly, any
/// other through `scratch`.
#[inline(always)]
fn own_transform_parts(
    (node, result, k): (&CompiledNode, &NodeResult, usize),
    points: &Points,
    scratch: &mut Vec<Complex64>,
    out: &mut [f64],
) {
    if let (
        Some(service),
        [(weight, WaitDist::Exponential { p_wait, rate })],
        ServiceShape::Exponential,
    ) = (node.service.as_ref(), result.waits.as_slice(), node.shape)
    {
        // As in own_transform_into, one complex division per point.
        let (idle, waited, mean) = (weight * (1.0 - p_wait), weight * p_wait * rate, service[k]);
        let (real, imaginary) = halves_mut(out);
        let at = points.real.iter().zip(&points.imaginary);
        for ((re, im), (&s_re, &s_im)) in real.iter_mut().zip(imaginary.iter_mut()).zip(at) {
            let s = Complex64::new(s_re, s_im);
            let pending = s + rate;
            let value = (pending * idle + waited) / (pending * (s * mean + 1.0));
            (*re, *im) = (value.re, value.im);
        }
        if node.base_cv > 0.0 && node.base > 0.0 {
            let delays = points
                .interleaved
                .iter()
                .map(|&s| random_delay_lst(node, s));
            update(out, delays, |value, delay| *value *= delay);
        }
        return;
    }
    scratch.resize(points.interleaved.len(), Complex64::new(0.0, 0.0));
    own_transform_into(node, result, k, points.interleaved, scratch);
    update(out, scratch.iter().copied(), |value, own| *value = own);
}

/// Per-point buffers of the nodes in progress, recycled so that a class's transform allocates
/// a few buffers rather than two per node.
struct Buffers {
    width: usize,
    spare: Vec<Parts>,
}

impl Buffers {
    /// Buffers of `width` points, starting from those the thread's last transform left.
    /// Walks at a few points (the inversion's first look at the spread) keep to their own.
    fn recycled(width: usize) -> Buffers {
        Buffers {
            width,
            spare: if width >= MIN_RECYCLED_WIDTH {
                SPARE_BUFFERS.take()
            } else {
                Vec::new()
            },
        }
    }

    /// Leaves the spare buffers (a bounded number) to the thread's next transform.
    fn keep_for_next(mut self) {
        if self.width >= MIN_RECYCLED_WIDTH {
            self.spare.truncate(MAX_SPARE_BUFFERS);
            SPARE_BUFFERS.set(self.spare);
        }
    }

    /// A buffer whose contents the caller overwrites in full (a recycled one is resized, its
    /// old values left: they are all overwritten).
    #[inline(always)]
    fn take_to_overwrite(&mut self) -> Parts {
        match self.spare.pop() {
            Some(mut buffer) => {
                buffer.resize(2 * self.width, 0.0);
                buffer
            }
            None => vec![0.0; 2 * self.width],
        }
    }

    #[inline(always)]
    fn give(&mut self, buffer: Option<Parts>) {
        self.spare.extend(buffer);
    }
}

/// Most spare buffers a thread keeps between transforms.
const MAX_SPARE_BUFFERS: usize = 64;

/// Fewest points of a walk whose buffers are recycled (narrower ones would leave buffers that
/// the next wide walk must extend and zero anyway).
const MIN_RECYCLED_WIDTH: usize = 16;

thread_local! {
    /// The spare buffers each thread's last [`class_transform_acyclic`] left: the walks of one
    /// inversion (and the next class's, and a sweep's next load) reuse them instead of
    /// allocating and zeroing their own.
    static SPARE_BUFFERS: std::cell::Cell<Vec<Parts>> = const { std::cell::Cell::new(Vec::new()) };
}

/// What the finished children of a node in progress have given it so far: the product of its
/// calls' transforms and the sum over its routes, each `None` until the first one arrives (an
/// empty product is 1 and an empty sum 0, which then cost neither a fill nor a product).
#[derive(Default)]
struct Pending {
    calls: Option<Parts>,
    routes: Option<Parts>,
    /// Where the node's drops are retried, the sum over the retries to other nodes (see
    /// [`mix_retries`]).
    retried: Option<Parts>,
}

impl Pending {
    /// Multiplies a call's transform, raised to the edge's call count, into the product.
    #[inline(always)]
    fn call(&mut self, buffers: &mut Buffers, psi: &[f64], count: i32) {
        let powers = values(psi).map(|value| value.powi(count));
        fold_into(&mut self.calls, buffers, powers, |call, power| {
            *call *= power
        });
    }

    /// Adds a route's transform, weighted and delayed by `extra` seconds, to the sum.
    #[inline(always)]
    fn route(
        &mut self,
        buffers: &mut Buffers,
        psi: &[f64],
        points: &[Complex64],
        (weight, extra): (f64, f64),
    ) {
        add_delayed(&mut self.routes, buffers, psi, points, (weight, extra));
    }

    /// Adds a retry's target's transform, weighted and delayed by `extra` seconds, to the sum
    /// over the retries to other nodes.
    #[inline(always)]
    fn retry(
        &mut self,
        buffers: &mut Buffers,
        psi: &[f64],
        points: &[Complex64],
        (weight, extra): (f64, f64),
    ) {
        add_delayed(&mut self.retried, buffers, psi, points, (weight, extra));
    }

    /// ψ_v = own · Π calls · (finish + Σ routes), in place on the node's own transform.
    #[inline(always)]
    fn close(self, buffers: &mut Buffers, own: &mut [f64], finish: f64) {
        match (&self.calls, &self.routes) {
            (None, None) => {
                if finish != 1.0 {
                    for value in own.iter_mut() {
                        *value *= finish;
                    }
                }
            }
            (Some(calls), None) => {
                update(own, values(calls), |value, call| *value *= call * finish);
            }
            (None, Some(routes)) => {
                update(own, values(routes), |value, route| *value *= route + finish);
            }
            (Some(calls), Some(routes)) => {
                let both = values(calls).zip(values(routes));
                update(own, both, |value, (call, route)| {
                    *value *= call * (route + finish)
                });
            }
        }
        buffers.give(self.calls);
        buffers.give(self.routes);
    }
}

/// Adds `psi`, weighted and delayed by `extra` seconds, to the sum in `slot`.
#[inline(always)]
fn add_delayed(
    slot: &mut Option<Parts>,
    buffers: &mut Buffers,
    psi: &[f64],
    points: &[Complex64],
    (weight, extra): (f64, f64),
) {
    let add = |sum: &mut Complex64, term: Complex64| *sum += term;
    if extra > 0.0 {
        let terms = values(psi)
            .zip(phases(points, extra))
            .map(|(value, delay)| delay * value * weight);
        fold_into(slot, buffers, terms, add);
    } else {
        let terms = values(psi).map(|value| value * weight);
        fold_into(slot, buffers, terms, add);
    }
}

/// The transform of the response at a node whose drops are retried ([`RetrySplit`]), from
/// `served`, the transform of its served response (its own, its calls and routes), and
/// `retried`, the sum Σ_others b_t·e^{−s·(d_t + shift_t − shift_v)}·ψ_t over the retries to
/// other nodes, by the mixture law of [`RetrySplit`] (a geometric number of round trips back
/// into the node, each refused again with q):
/// ψ_v(s) = (a + a′·H(s))·e^{−s·lead}·served(s) + (1 + q·H(s))·retried(s),
/// H(s) = L(s)/(1 − q·L(s)), L(s) = Σ_self f·e^{−s·d}. With every round trip d ≥ 0 and
/// Re s ≥ 0, |L| ≤ G and q·G < 1 (else `loops` is empty), so nothing divides by zero.
/// Its mean is [`RetrySplit::mean`]'s; written over `served` in place.
fn mix_retries(
    (split, lead): (&RetrySplit, f64),
    points: &[Complex64],
    served: &mut [Complex64],
    retried: Option<&[Complex64]>,
) {
    let mut looped = vec![Complex64::new(0.0, 0.0); points.len()];
    for &(fraction, delay) in &split.loops {
        for (sum, phase) in looped.iter_mut().zip(phases(points, delay)) {
            *sum += phase * fraction;
        }
    }
    let leads = phases(points, lead.max(0.0));
    for (j, (value, lead_phase)) in served.iter_mut().zip(leads).enumerate() {
        let loop_value = looped[j];
        let repeats = loop_value / (Complex64::new(1.0, 0.0) - loop_value * split.again);
        let served_share = repeats * split.served_retried + split.served_at_once;
        let mut mixed = served_share * lead_phase * *value;
        if let Some(others) = retried {
            mixed += (repeats * split.again + 1.0) * others[j];
        }
        *value = mixed;
    }
}

/// The weight b_t = B/c·f·c_t and the delay d_t + shift_t − shift_v (none below 0) of a
/// retry of fraction f and round trip d_t from node v to target t ([`RetrySplit`]), from t's
/// completion c_t and the two nodes' shifts.
#[inline(always)]
fn retry_term(
    split: &RetrySplit,
    (fraction, round_trip): (f64, f64),
    (completion_to, shift_to, shift_from): (f64, f64, f64),
) -> (f64, f64) {
    let weight = split.dropped * fraction * completion_to;
    (weight, (round_trip + shift_to - shift_from).max(0.0))
}

/// Σ_others b_t·e^{−s·(d_t + shift_t − shift_v)}·ψ_t over the retry edges from node `v` to
/// other nodes (b_t = B/c·f·c_t, [`RetrySplit`]), with each target's transform from `psi`;
/// `None` when there are none.
fn retried_sum<'a>(
    compiled: &Compiled,
    (v, k): (usize, usize),
    split: &RetrySplit,
    (shift, completion): (&[f64], &[f64]),
    psi: impl Fn(usize) -> &'a [Complex64],
    points: &[Complex64],
) -> Option<Vec<Complex64>> {
    let mut sum: Option<Vec<Complex64>> = None;
    for edge in &compiled.out_edges[v] {
        let fraction = edge.factors[k];
        if edge.source != Source::Dropped || edge.to == v || fraction <= 0.0 {
            continue;
        }
        let (weight, extra) = retry_term(
            split,
            (fraction, edge.rtt(k)),
            (completion[edge.to], shift[edge.to], shift[v]),
        );
        let into = sum.get_or_insert_with(|| vec![Complex64::new(0.0, 0.0); points.len()]);
        for ((value, &target), delay) in
            into.iter_mut().zip(psi(edge.to)).zip(phases(points, extra))
        {
            *value += delay * target * weight;
        }
    }
    sum
}

/// Folds `incoming` into `slot` point by point with `combine`; the first values to arrive are
/// written as they are (into a buffer from `buffers`), so an empty product or sum costs no fill.
#[inline(always)]
fn fold_into(
    slot: &mut Option<Parts>,
    buffers: &mut Buffers,
    incoming: impl Iterator<Item = Complex64>,
    combine: impl Fn(&mut Complex64, Complex64),
) {
    match slot {
        Some(folded) => update(folded, incoming, combine),
        None => {
            let mut first = buffers.take_to_overwrite();
            update(&mut first, incoming, |into, value| *into = value);
            *slot = Some(first);
        }
    }
}

widened! {
    /// [`class_transform`] on an acyclic graph, with memory for the nodes in progress only: nodes
    /// are taken children first (`order`), and each, once done, is folded into its callers'
    /// products and its routers' sums and dropped. A chain or a fan-out of 100,000 nodes then
    /// holds a few transforms at a time instead of one per node.
    pub(super) fn class_transform_acyclic => acyclic_walk(
        compiled: &Compiled,
        results: &[NodeResult],
        completion: &[f64],
        k: usize,
        steps: &TransformSteps,
        points: &[Complex64],
    ) -> Vec<Complex64>
}

/// The body of [`class_transform_acyclic`], inlined into each build of it (baseline, AVX2:
/// [`widened`]).
#[inline(always)]
fn acyclic_walk(
    compiled: &Compiled,
    results: &[NodeResult],
    completion: &[f64],
    k: usize,
    steps: &TransformSteps,
    points: &[Complex64],
) -> Vec<Complex64> {
    let (order, shift) = (steps.order, steps.shift);
    let (completes, route_shifts) = (steps.completes, steps.route_shifts);
    let width = points.len();
    let start = compiled.classes[k].client;
    let node_count = compiled.nodes.len();
    let mut pending: Vec<Pending> = std::iter::repeat_with(Pending::default)
        .take(node_count)
        .collect();
    let at = Points::of(points);
    let mut scratch = Vec::new();
    let mut buffers = Buffers::recycled(width);
    for &v in order {
        let node = &compiled.nodes[v];
        let mut psi = buffers.take_to_overwrite();
        own_transform_parts((node, &results[v], k), &at, &mut scratch, &mut psi);
        let mut children = std::mem::take(&mut pending[v]);
        let retried = children.retried.take();
        if node.detaches {
            buffers.give(children.calls);
            buffers.give(children.routes);
        } else {
            let finish = node.finish[k] / completes[v];
            children.close(&mut buffers, &mut psi, finish);
        }
        let split = steps.split(v);
        if let Some(split) = split {
            let mut mixed: Vec<Complex64> = values(&psi).collect();
            let others: Option<Vec<Complex64>> = retried.as_deref().map(|r| values(r).collect());
            mix_retries(split, points, &mut mixed, others.as_deref());
            update(&mut psi, mixed.into_iter(), |value, mixed| *value = mixed);
        }
        buffers.give(retried);
        if v == start {
            let found = values(&psi).collect();
            buffers.give(Some(psi));
            buffers.keep_for_next();
            return found;
        }
        for feed in steps.feeds.feeding(v) {
            let u = feed.from as usize;
            if feed.is_call {
                pending[u].call(&mut buffers, &psi, feed.count as i32);
            } else {
                let extra = feed.rtt + shift[v] - route_shifts[u];
                // Branches weigh by the requests that complete along them.
                let weight = feed.factor * completion[v] / completes[u];
                pending[u].route(&mut buffers, &psi, points, (weight, extra));
            }
        }
        for feed in steps.feeds.retrying(v) {
            let u = feed.from as usize;
            if let Some((split, _)) = steps.split(u) {
                let term = retry_term(
                    split,
                    (feed.factor, feed.rtt),
                    (completion[v], shift[v], shift[u]),
                );
                pending[u].retry(&mut buffers, &psi, points, term);
            }
        }
        buffers.give(Some(psi));
    }
    buffers.keep_for_next();
    vec![Complex64::new(1.0, 0.0); width]
}

widened! {
    /// Transform of the end-to-end response time of class `k` minus its smallest constant delay
    /// (`shift`), at each point:
    /// φ_v(s) = e^{−s·base}·R_v(s)·Π_calls (e^{−s·rtt}φ_t(s))^n · (finish + Σ f·e^{−s·rtt}φ_t(s)),
    /// computed as ψ_v = e^{s·shift_v}·φ_v so that only the random part is inverted (the Euler
    /// inversion is inaccurate for distributions that are a long constant delay plus a narrow
    /// spread). Every exponent stays non-positive, so nothing overflows.
    pub(super) fn class_transform => cyclic_walk(
        compiled: &Compiled,
        results: &[NodeResult],
        completion: &[f64],
        k: usize,
        steps: &TransformSteps,
        points: &[Complex64],
    ) -> Vec<Complex64>
}

/// The body of [`class_transform`], inlined into each build of it (baseline, AVX2).
#[inline(always)]
fn cyclic_walk(
    compiled: &Compiled,
    results: &[NodeResult],
    completion: &[f64],
    k: usize,
    steps: &TransformSteps,
    points: &[Complex64],
) -> Vec<Complex64> {
    let (order, passes, shift) = (steps.order, steps.passes, steps.shift);
    let width = points.len();
    let node_count = compiled.nodes.len();
    let one = Complex64::new(1.0, 0.0);
    let mut psi = vec![one; node_count * width];
    let mut route = vec![Complex64::new(0.0, 0.0); width];
    let mut own = vec![Complex64::new(0.0, 0.0); width];
    for _ in 0..passes {
        let mut change: f64 = 0.0;
        for &v in order {
            let node = &compiled.nodes[v];
            let result = &results[v];
            // The shift of the cheapest route out of v (0 when a request may finish here).
            let route_shift = steps.route_shifts[v];
            let completes = steps.completes[v];
            own_transform_into(node, result, k, points, &mut own);
            route.fill(if node.detaches {
                one
            } else {
                Complex64::new(node.finish[k] / completes, 0.0)
            });
            if !node.detaches {
                for edge in &compiled.out_edges[v] {
                    let f = edge.served_factor(k);
                    if f <= 0.0 {
                        continue;
                    }
                    let extra = if edge.is_call {
                        0.0
                    } else {
                        edge.rtt(k) + shift[edge.to] - route_shift
                    };
                    if edge.is_call {
                        for j in 0..width {
                            own[j] *= psi[edge.to * width + j].powi(edge.count as i32);
                        }
                    } else {
                        // e^{−s·extra} along the points (by phase steps on an even grid).
                        let delays = phases(points, extra.max(0.0));
                        let weight = f * completion[edge.to] / completes;
                        for (j, delay) in delays.enumerate() {
                            route[j] += delay * psi[edge.to * width + j] * weight;
                        }
                    }
                }
            }
            for (value, route) in own.iter_mut().zip(&route) {
                *value *= route;
            }
            if let Some(split) = steps.split(v) {
                let retried = retried_sum(
                    compiled,
                    (v, k),
                    split.0,
                    (shift, completion),
                    |to| &psi[to * width..(to + 1) * width],
                    points,
                );
                mix_retries(split, points, &mut own, retried.as_deref());
            }
            for j in 0..width {
                let value = own[j];
                let slot = &mut psi[v * width + j];
                if passes > 1 {
                    change = change.max((value - *slot).norm());
                }
                *slot = value;
            }
        }
        if passes == 1 || change < 1e-14 {
            break;
        }
    }
    let start = compiled.classes[k].client;
    psi[start * width..(start + 1) * width].to_vec()
}
