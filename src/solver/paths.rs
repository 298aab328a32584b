//! End-to-end figures per class: which nodes a class reaches, the probability that its requests
//! complete, and its mean response time and percentiles along the path mix.

use super::compile::post_order;
use super::compile::Compiled;
use super::compile::Graph;
use super::compile::Source;
use super::figure;
use super::lists::Lists;
use super::stations::NodeResult;
use super::traffic::Flows;
use super::transforms::class_atoms;
use super::transforms::class_transform;
use super::transforms::class_transform_acyclic;
use super::transforms::constant_service;
use super::transforms::route_shift_of;
use super::transforms::Feeds;
use super::transforms::Retried;
use super::transforms::TransformSteps;
use crate::solver::queueing::{grid_for, percentiles_within, Precision};
use crate::solver::report::Latency;
use std::borrow::Cow;

/// End-to-end results for one class.
pub(super) struct ClassResult {
    pub(super) latency: Latency,
    /// Probability a request completes now (not dropped, not stuck in a growing backlog).
    pub(super) completion: f64,
    /// Probability a request is not dropped.
    pub(super) completion_without_backlog: f64,
    /// The nodes the class visits, with its mean time at each (see [`class_path`]).
    pub(super) path: Vec<Visit>,
}

/// One node on a class's path (indices into the compiled nodes; times in seconds).
pub(super) struct Visit {
    pub(super) node: usize,
    pub(super) visits: f64,
    pub(super) mean: f64,
    pub(super) round_trip: f64,
    pub(super) calls: Targets,
    pub(super) routes: Targets,
    pub(super) standby: Vec<usize>,
    pub(super) answers: bool,
}

/// The nodes a visit calls or routes to, inline for the usual one or two.
pub(super) type Targets = smallvec::SmallVec<[usize; 2]>;

/// The nodes class `k` visits and how often per completed request, weighted exactly as the
/// mean recursion of [`class_result`] weighs them (calls by their count, routes by the
/// completed requests that take them), so that Σ visits × (mean at the node + round trips
/// of its hops) is the class mean. On cyclic graphs the visit equations are iterated.
fn class_path(
    (compiled, plan, results): (&Compiled, &ClassPlan, &[NodeResult]),
    (completion, completes): (&[f64], &[f64]),
    splits: &Splits,
    k: usize,
    (order, cyclic): (&[usize], bool),
) -> Vec<Visit> {
    let start = compiled.classes[k].client;
    let node_count = compiled.nodes.len();
    let weights = PathWeights {
        plan,
        completion,
        completes,
        splits,
    };
    let mut visits = vec![0.0; node_count];
    visits[start] = 1.0;
    if cyclic {
        let mut next = vec![0.0; node_count];
        for _ in 0..10_000 {
            next.fill(0.0);
            next[start] = 1.0;
            for &v in order {
                let from = visits[v];
                weights.for_each_hop(v, |to, weight, _| next[to] += from * weight);
            }
            let change = next
                .iter()
                .zip(&visits)
                .map(|(a, b)| (a - b).abs() / a.abs().max(1e-300))
                .fold(0.0, f64::max);
            std::mem::swap(&mut visits, &mut next);
            if change < 1e-13 {
                break;
            }
        }
    } else {
        for &v in order.iter().rev() {
            let from = visits[v];
            weights.for_each_hop(v, |to, weight, _| visits[to] += from * weight);
        }
    }
    let nodes = if plan.standby {
        with_standby(compiled, plan, k, order)
    } else {
        order.iter().rev().copied().collect()
    };
    nodes
        .iter()
        .map(|&v| {
            // Calls and routes sorted, each target once, in one pass over the hops.
            let (mut calls, mut routes) = (Targets::new(), Targets::new());
            for hop in plan.hops(v) {
                if hop.is_call {
                    calls.push(hop.to as usize);
                } else {
                    routes.push(hop.to as usize);
                }
            }
            for found in [&mut calls, &mut routes] {
                if found.len() > 1 {
                    found.sort_unstable();
                    found.dedup();
                }
            }
            let standby = if plan.standby {
                standby_targets(compiled, v, k).collect()
            } else {
                Vec::new()
            };
            let step = &plan.steps[v];
            Visit {
                node: v,
                visits: visits[v],
                mean: weights.first(v) * results[v].class_mean[k],
                round_trip: {
                    let mut round_trip = 0.0;
                    weights.for_each_hop(v, |_, weight, rtt| round_trip += weight * rtt);
                    round_trip + splits.at(v).map_or(0.0, |split| split.looped_time)
                },
                calls,
                routes,
                standby,
                answers: step.detaches || step.finish > 0.0,
            }
        })
        .collect()
}

/// How a class's path weighs the hops out of each node: as the mean recursion of
/// [`class_means`] weighs them (calls by their count, routes by the completed requests that
/// take them, retried drops by their [`RetrySplit`]).
struct PathWeights<'a> {
    plan: &'a ClassPlan,
    completion: &'a [f64],
    completes: &'a [f64],
    splits: &'a Splits,
}

impl PathWeights<'_> {
    /// The share of the completed requests arriving at `v` that were served there.
    #[inline(always)]
    fn first(&self, v: usize) -> f64 {
        self.splits.at(v).map_or(1.0, |split| split.first)
    }

    /// Calls `visit(target, weight, round trip)` for each hop out of `v` a completed request
    /// takes.
    #[inline(always)]
    fn for_each_hop(&self, v: usize, mut visit: impl FnMut(usize, f64, f64)) {
        let completes = self.completes[v];
        let served_first = self.first(v);
        for hop in self.plan.hops(v) {
            let to = hop.to as usize;
            let weight = if hop.is_call {
                hop.factor
            } else {
                hop.factor * self.completion[to] / completes
            };
            visit(to, weight * served_first, hop.rtt);
        }
        let retried = self.splits.at(v).into_iter();
        for &(to, weight, delay) in retried.flat_map(|split| split.others.iter()) {
            visit(to, weight, delay);
        }
    }
}

/// The nodes of a class's path: those it visits (`order`, reversed), then the nodes a geo DNS
/// would fail over to: not visited now, but part of the class's structure for availability
/// (listed after the visited ones, with no visits).
fn with_standby(compiled: &Compiled, plan: &ClassPlan, k: usize, order: &[usize]) -> Vec<usize> {
    let mut listed = vec![false; compiled.nodes.len()];
    let mut nodes: Vec<usize> = order.iter().rev().copied().collect();
    for &v in &nodes {
        listed[v] = true;
    }
    let mut pending: Vec<usize> = order
        .iter()
        .flat_map(|&v| standby_targets(compiled, v, k))
        .collect();
    while let Some(v) = pending.pop() {
        if std::mem::replace(&mut listed[v], true) {
            continue;
        }
        nodes.push(v);
        pending.extend(plan.hops(v).iter().map(|hop| hop.to as usize));
        pending.extend(standby_targets(compiled, v, k));
    }
    nodes
}

/// The nodes node `v` would fail over to for class `k` (its route targets on standby).
fn standby_targets(compiled: &Compiled, v: usize, k: usize) -> impl Iterator<Item = usize> + '_ {
    compiled.nodes[v]
        .standby(k)
        .iter()
        .map(move |&position| compiled.out_edges[v][position].to)
}

/// One class's served hops, laid out flat for the walks of [`class_result`]: per node, the
/// constant part of its own delay and its finishing share, and the route and call edges that
/// carry the class out of it (served, with a positive factor; none past a queue), with their
/// factor and round trip for the class. It depends only on the graph, so it is found once per
/// compiled graph ([`super::compile`]) and every re-solve and sweep point reuses it.
pub(super) struct ClassPlan {
    /// Per node: its own figures for the class.
    steps: Vec<PlanStep>,
    /// Per node: its served hops.
    hops: Lists<Hop>,
    /// Some node has route targets on standby for the class (see `CompiledNode::standby`).
    standby: bool,
    /// The hops into each node, for the transform walks ([`Feeds`]); found at the first
    /// percentiles asked for.
    feeds: std::sync::OnceLock<Feeds>,
}

/// A node of a [`ClassPlan`].
struct PlanStep {
    /// The constant part of the node's own response: its constant delay and its constant
    /// service time (`CompiledNode::constant_base` + [`constant_service`]).
    own_shift: f64,
    /// Share of served requests of the class that finish here.
    finish: f64,
    detaches: bool,
}

/// A served edge of a [`ClassPlan`].
#[derive(Clone, Copy)]
struct Hop {
    to: u32,
    /// Share routed (a route) or calls per served request (a call).
    factor: f64,
    /// Round trip for the class, seconds.
    rtt: f64,
    is_call: bool,
}

impl ClassPlan {
    /// The plan of class `k` on `graph`.
    pub(super) fn of(graph: &Graph, k: usize) -> ClassPlan {
        let steps = graph
            .nodes
            .iter()
            .map(|node| PlanStep {
                own_shift: node.constant_base() + constant_service(node, k),
                finish: node.finish[k],
                detaches: node.detaches,
            })
            .collect();
        let standby = graph.nodes.iter().any(|node| !node.standby(k).is_empty());
        let hops = Lists::by_key(graph.nodes.len(), |v, hops| {
            if graph.nodes[v].detaches {
                return;
            }
            for edge in &graph.out_edges[v] {
                let factor = edge.served_factor(k);
                if factor > 0.0 {
                    hops.push(Hop {
                        to: plan_index(edge.to),
                        factor,
                        rtt: edge.rtt(k),
                        is_call: edge.is_call,
                    });
                }
            }
        });
        ClassPlan {
            steps,
            hops,
            standby,
            feeds: std::sync::OnceLock::new(),
        }
    }

    /// The hops of class `k` into each node ([`Feeds::of`]), found once.
    fn feeds(&self, compiled: &Compiled, k: usize) -> &Feeds {
        self.feeds.get_or_init(|| Feeds::of(compiled, k))
    }

    /// The served hops of the class out of node `v`.
    #[inline(always)]
    fn hops(&self, v: usize) -> &[Hop] {
        self.hops.of(v)
    }
}

/// A node position as a plan stores it (graphs are far smaller than 2³² nodes:
/// [`crate::model::MAX_NODES`]).
pub(super) fn plan_index(position: usize) -> u32 {
    u32::try_from(position).unwrap_or(u32::MAX)
}

/// Requests per second offered, served, dropped and left in a growing backlog, over all classes.
pub(super) struct Totals {
    pub(super) offered: f64,
    pub(super) served: f64,
    pub(super) dropped: f64,
    pub(super) backlog: f64,
}

impl Totals {
    /// Sums over the classes; they start from +0 (an empty float sum is −0) and each total is
    /// clamped at zero, so served + dropped + backlog = offered.
    pub(super) fn of(compiled: &Compiled, results: &[ClassResult]) -> Totals {
        let classes = || compiled.classes.iter().zip(results);
        let offered = figure(compiled.classes.iter().map(|c| c.rate).sum::<f64>());
        let served = figure(
            classes()
                .map(|(class, result)| figure(class.rate * result.completion.min(1.0)))
                .sum::<f64>()
                .min(offered),
        );
        let dropped = figure(
            classes()
                .map(|(class, result)| {
                    class.rate * (1.0 - result.completion_without_backlog.min(1.0))
                })
                .sum::<f64>()
                .min(offered - served),
        );
        Totals {
            offered,
            served,
            dropped,
            backlog: figure(offered - served - dropped),
        }
    }
}

/// Nodes reachable by class `k` from its client, in an order where (on acyclic graphs) every
/// node comes after the nodes it sends to, and whether a loop was found. Traffic past a queue
/// is detached and not followed. Found once per compiled graph ([`class_reach`]), since it does not depend on the load.
pub(super) fn reachable_reverse_order(compiled: &Compiled, k: usize) -> (&[usize], bool) {
    let reach = &compiled.reach[k];
    (&reach.order, reach.cyclic)
}

pub(super) fn class_result(
    compiled: &Compiled,
    results: &[NodeResult],
    flows: &Flows,
    k: usize,
    wanted: Wanted,
) -> ClassResult {
    let plan = &compiled.plans[k];
    let cyclic = reachable_reverse_order(compiled, k).1;
    let node_count = compiled.nodes.len();
    let start = compiled.classes[k].client;
    // Per node, the share of its arrivals that complete: the branches of the path mix weigh
    // by completed requests (the report's latency is that of completed requests).
    // Nodes in the order of the completion recursion: along retries of drops too.
    let (retry_order, retry_cyclic) = completion_order(compiled, flows, k);
    let retry_order: &[usize] = &retry_order;
    let completion = completion_probabilities(compiled, flows, k, (retry_order, retry_cyclic));
    // How the completed requests at each node got through when some of its drops are retried
    // (fixed once completion is known; used by the mean and the path).
    let splits = Splits::of(compiled, flows, &completion.0, k);
    let passes = if cyclic || retry_cyclic { 10_000 } else { 1 };
    let mut means = class_means(
        (compiled, plan, results),
        (&completion.0, &splits),
        k,
        (retry_order, passes),
    );
    if plan.standby {
        // The path lists nodes on standby too, outside the recursion's order.
        means.completes = (0..node_count)
            .map(|v| route_completion(compiled, &completion.0, v, k))
            .collect();
    }
    let latency = if wanted.percentiles {
        // Along the retries of drops too (the class's own reach where no wire retries).
        class_latency(
            (compiled, results, &completion.0),
            (&means, &splits),
            k,
            (retry_order, cyclic || retry_cyclic, passes),
            wanted.precision,
        )
    } else {
        Latency::constant(means.mean[start])
    };
    ClassResult {
        latency,
        completion: completion.0[start],
        completion_without_backlog: completion.1[start],
        path: if wanted.path {
            class_path(
                (compiled, plan, results),
                (&completion.0, &means.completes),
                &splits,
                k,
                (retry_order, retry_cyclic),
            )
        } else {
            Vec::new()
        },
    }
}

/// Per node, what the mean recursion of [`class_means`] finds for one class.
struct Means {
    /// Mean response time of the requests that complete.
    mean: Vec<f64>,
    /// The smallest constant delay of any path from the node.
    shift: Vec<f64>,
    /// [`route_completion`] (1 at nodes the recursion does not reach).
    completes: Vec<f64>,
    /// The shift of the node's cheapest route ([`route_shift_of`]); final after one pass.
    route_shifts: Vec<f64>,
    /// Where drops are retried, how much the served path's shift exceeds the node's (which
    /// a retry to another target may set, [`retried_shift`]); empty when no wire retries.
    leads: Vec<f64>,
}

/// Exact mean and the smallest constant delay (shift) of any path, per node, by one recursion
/// over the nodes the class can reach (`passes` of it on a cyclic graph): at node v,
/// mean_v = m_v + Σ_calls f·(rtt + mean_t) + Σ_routes f·c_t·(rtt + mean_t) / completes_v, with
/// m_v the class's mean at the node and c_t the completion ([`completion_probabilities`]):
/// each route branch weighs by the requests that complete along it, not by its routing share
/// (the latency of completed requests); where drops are retried, [`RetrySplit::mean`] then
/// weighs that with the retries' paths. Walks the class's flat [`ClassPlan`].
fn class_means(
    (compiled, plan, results): (&Compiled, &ClassPlan, &[NodeResult]),
    (completion, splits): (&[f64], &Splits),
    k: usize,
    (order, passes): (&[usize], usize),
) -> Means {
    let node_count = compiled.nodes.len();
    let mut mean = vec![0.0; node_count];
    let mut shift = vec![0.0f64; node_count];
    let mut completes = vec![1.0; node_count];
    let mut route_shifts = vec![0.0; node_count];
    let mut leads = if splits.0.is_empty() {
        Vec::new()
    } else {
        vec![0.0; node_count]
    };
    for _ in 0..passes {
        let mut change: f64 = 0.0;
        for &v in order {
            let step = &plan.steps[v];
            let mut m = results[v].class_mean[k];
            let mut own_shift = step.own_shift;
            let (mut route_mean, mut completing) = (0.0, 0.0);
            let mut route_shift = if step.finish > 0.0 || step.detaches {
                0.0
            } else {
                f64::INFINITY
            };
            for hop in plan.hops(v) {
                let to = hop.to as usize;
                let hop_shift = hop.rtt + shift[to];
                if hop.is_call {
                    m += hop.factor * (hop.rtt + mean[to]);
                    own_shift += hop.factor * hop_shift;
                } else {
                    let completes_along = hop.factor * completion[to];
                    completing += completes_along;
                    route_mean += completes_along * (hop.rtt + mean[to]);
                    route_shift = route_shift.min(hop_shift);
                }
            }
            if !route_shift.is_finite() {
                route_shift = 0.0;
            }
            // route_completion, from the same products (past a queue, over all its edges).
            let completes_here = if step.detaches {
                route_completion(compiled, completion, v, k)
            } else if step.finish + completing > 0.0 {
                step.finish + completing
            } else {
                1.0
            };
            let first = m + route_mean / completes_here;
            let split = splits.at(v);
            let new_mean = split.map_or(first, |split| split.mean(first, &mean));
            let served_shift = own_shift + route_shift;
            let new_shift = split.map_or(served_shift, |split| {
                retried_shift(split, served_shift, &shift)
            });
            if passes > 1 {
                let scale = new_mean.abs().max(1e-300);
                change = change.max((new_mean - mean[v]).abs() / scale);
                change = change.max((new_shift - shift[v]).abs() / scale);
            }
            if split.is_some() {
                leads[v] = served_shift - new_shift;
            }
            mean[v] = new_mean;
            shift[v] = new_shift;
            completes[v] = completes_here;
            route_shifts[v] = route_shift;
        }
        if change < 1e-13 {
            break;
        }
    }
    Means {
        mean,
        shift,
        completes,
        route_shifts,
        leads,
    }
}

/// The smallest constant delay from node `v` of a class whose drops are retried there: the
/// least of the served path's (`served_shift`, when some completed requests are served here)
/// and of each retry to another target, its round trip plus the target's shift (a refused
/// attempt is turned away at once). A retry back into the node only adds to a path that
/// ends with one of these, so it never sets the least.
fn retried_shift(split: &RetrySplit, served_shift: f64, shift: &[f64]) -> f64 {
    let mut least = if split.first > 0.0 {
        served_shift
    } else {
        f64::INFINITY
    };
    if split.dropped > 0.0 {
        for &(to, _, rtt) in &split.others {
            least = least.min(rtt + shift[to]);
        }
    }
    if least.is_finite() {
        least
    } else {
        served_shift
    }
}

/// The class's mean and its percentiles, by inverting its end-to-end transform above its
/// smallest constant delay (with its point masses on acyclic graphs).
fn class_latency(
    (compiled, results, completion): (&Compiled, &[NodeResult], &[f64]),
    (means, splits): (&Means, &Splits),
    k: usize,
    (order, cyclic, passes): (&[usize], bool, usize),
    precision: Precision,
) -> Latency {
    let start = compiled.classes[k].client;
    let shift = &means.shift;
    let mean_latency = means.mean[start];
    let offset = shift[start].min(mean_latency);
    let spread = mean_latency > offset;
    if !spread {
        return Latency::constant(mean_latency);
    }
    // After one pass the recursion's route shifts are those of the final shifts.
    let recomputed: Vec<f64>;
    let route_shifts: &[f64] = if passes == 1 {
        &means.route_shifts
    } else {
        recomputed = (0..compiled.nodes.len())
            .map(|v| route_shift_of(compiled, v, k, shift))
            .collect();
        &recomputed
    };
    let atoms: Vec<(f64, f64)> = if cyclic {
        Vec::new()
    } else {
        class_atoms(compiled, results, k, (order, splits), completion)
            .into_iter()
            .map(|(time, mass)| (time - offset, mass))
            .collect()
    };
    let steps = TransformSteps {
        order,
        passes: if cyclic { passes } else { 1 },
        shift,
        completes: &means.completes,
        route_shifts,
        feeds: compiled.plans[k].feeds(compiled, k),
        retries: if compiled.retries {
            Some(Retried {
                splits,
                leads: &means.leads,
            })
        } else {
            None
        },
    };
    let found = percentiles_within(
        precision,
        grid_for(order.len()),
        mean_latency - offset,
        &[0.50, 0.95, 0.99],
        &atoms,
        |points, values| {
            let computed = if cyclic {
                class_transform(compiled, results, completion, k, &steps, points)
            } else {
                class_transform_acyclic(compiled, results, completion, k, &steps, points)
            };
            values.copy_from_slice(&computed);
        },
    );
    Latency {
        mean: mean_latency,
        p50: offset + found[0],
        p95: offset + found[1],
        p99: offset + found[2],
    }
}

/// Per node, how the completed requests of a class got through when some of its drops are
/// retried ([`RetrySplit`]); none is kept when no wire retries (every node then is `None`).
pub(super) struct Splits(Vec<Option<RetrySplit>>);

impl Splits {
    /// The splits of class `k` given its completion probabilities.
    fn of(compiled: &Compiled, flows: &Flows, completion: &[f64], k: usize) -> Splits {
        if !compiled.retries {
            return Splits(Vec::new());
        }
        Splits(
            (0..compiled.nodes.len())
                .map(|v| RetrySplit::at(compiled, flows, completion, v, k))
                .collect(),
        )
    }

    /// The split at node `v`, if some of its completed requests were retried.
    #[inline(always)]
    pub(super) fn at(&self, v: usize) -> Option<&RetrySplit> {
        self.0.get(v).and_then(Option::as_ref)
    }
}

/// What [`class_result`] computes beyond the mean and the completion.
#[derive(Clone, Copy, Debug)]
pub(super) struct Wanted {
    /// End-to-end percentiles (else they are the mean).
    pub(super) percentiles: bool,
    /// How finely they are inverted.
    pub(super) precision: Precision,
    /// The path breakdown (else empty).
    pub(super) path: bool,
}

/// How the requests of class `k` that complete after arriving at node `v` got through, when
/// some of its drops are retried: a share `first` was served here (at its first attempt or
/// after retries back into the node); a
/// request dropped here and sent again along a retry edge (fraction f of drops) spends the
/// edge's round trip d (a refused request is turned away at once, before any service or
/// fixed delay), then the response of the retry's target.
///
/// A first attempt is served with share s (completing at once with R, the product of its
/// calls' and routes' completions) and dropped with share B; a retry back into the node
/// itself (fractions G in all, mean delay d_self) is dropped again with share q
/// ([`RetryShares`]; q = B when the node's drops are not correlated with its retries) and
/// served with 1 − q. With X = Σ_others f·c_t over the retries to other targets, a retry
/// completes with c' = ((1 − q)·R + q·X)/(1 − q·G) and a first attempt with
/// c = s·R + B·(X + G·c'). Its mean, M/c, splits by the same geometric sums: the share
/// served here (at the first or a later attempt) α = s·R + B·G·(1 − q)·R/(1 − q·G), each
/// other target β = B·f·c_t·(1 + G·q/(1 − q·G)), and the turned-away round trips back into
/// the node γ = B·G·(c'·d_self + q·G·c'·d_self/(1 − q·G)); first = α/c.
///
/// The end-to-end transform ([`super::transforms`]) splits the same sums by the number of
/// retries back into the node: with L(s) = Σ_self f·e^{−s·d} (L(0) = G) and
/// H(s) = L(s)/(1 − q·L(s)), the response of a completed request is
/// (a + a′·H(s))·(served response) + (1 + q·H(s))·Σ_others b_t·e^{−s·d_t}·(target's response),
/// with a = s·R/c, a′ = B·(1 − q)·R/c and b_t = B·f·c_t/c; at s = 0 these are `first` and the
/// others' weights, and its mean is [`RetrySplit::mean`].
pub(super) struct RetrySplit {
    pub(super) first: f64,
    /// (target, weight, round trip of the turned-away attempt).
    pub(super) others: Vec<(usize, f64, f64)>,
    pub(super) looped_time: f64,
    /// a: the share of completed requests served at their first attempt.
    pub(super) served_at_once: f64,
    /// a′: the share served at a retry back into the node, per unit of H.
    pub(super) served_retried: f64,
    /// q: the share of the retries back into the node that are refused again.
    pub(super) again: f64,
    /// B/c: the drops per completed request, which the retries to other targets carry
    /// (b_t = B/c·f·c_t).
    pub(super) dropped: f64,
    /// The retry edges back into the node: (fraction f, round trip d); none where such retries
    /// never complete (q·G ≥ 1).
    pub(super) loops: Vec<(f64, f64)>,
}

/// The shares of node `v` that the completion and the retry split weigh: first attempts
/// served and dropped, and its own retries served and dropped again.
#[derive(Clone, Copy, Debug)]
pub(super) struct RetryShares {
    pub(super) served: f64,
    pub(super) dropped: f64,
    pub(super) retry_served: f64,
    pub(super) again: f64,
}

impl RetryShares {
    /// From the solved `flows`: a node retrying its own drops has its first attempts' and
    /// retries' shares ([`super::finite_wait::SelfRetry`]); any other treats all arrivals
    /// alike, at its served and dropped ratios.
    pub(super) fn at(flows: &Flows, v: usize) -> RetryShares {
        match flows.self_retries.get(v).copied().flatten() {
            Some(own) => RetryShares {
                served: own.served,
                dropped: own.dropped,
                retry_served: 1.0 - own.again,
                again: own.again,
            },
            None => RetryShares {
                served: flows.served_ratio[v],
                dropped: flows.drop_ratio[v],
                retry_served: flows.served_ratio[v],
                again: flows.drop_ratio[v],
            },
        }
    }

    /// c' and c of [`RetrySplit`] for a request completing at once with `at_once` (R) when
    /// served, `elsewhere` (X) by the retries to other targets and `looped` (G) retried
    /// into the node itself: (retry, first attempt), each within [0, 1].
    fn completions(&self, at_once: f64, elsewhere: f64, looped: f64) -> (f64, f64) {
        let again = self.again * looped;
        let retry = if again < 1.0 {
            ((self.retry_served * at_once + self.again * elsewhere) / (1.0 - again)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let first = self.served * at_once + self.dropped * (elsewhere + looped * retry);
        (retry, first.clamp(0.0, 1.0))
    }
}

impl RetrySplit {
    /// `None` when no request of the class is retried at `v` (everything completes as served).
    pub(super) fn at(
        compiled: &Compiled,
        flows: &Flows,
        completion: &[f64],
        v: usize,
        k: usize,
    ) -> Option<RetrySplit> {
        let shares = RetryShares::at(flows, v);
        if shares.dropped <= 0.0 {
            return None;
        }
        let node = &compiled.nodes[v];
        let (mut calls, mut routes) = (1.0, node.finish[k]);
        let mut others = Vec::new();
        let (mut looped, mut looped_delay) = (0.0, 0.0);
        let mut loops = Vec::new();
        for edge in &compiled.out_edges[v] {
            let f = edge.factors[k];
            if f <= 0.0 {
                continue;
            }
            let to = edge.to;
            match edge.source {
                Source::Dropped if to == v => {
                    looped += f;
                    looped_delay += f * edge.rtt(k);
                    loops.push((f, edge.rtt(k)));
                }
                Source::Dropped => others.push((to, f * completion[to], edge.rtt(k))),
                Source::Served if node.detaches => {}
                Source::Served if edge.is_call => calls *= completion[to].powi(edge.count as i32),
                Source::Served => routes += f * completion[to],
            }
        }
        if others.is_empty() && looped == 0.0 {
            return None;
        }
        let at_once = calls * if node.detaches { 1.0 } else { routes };
        let elsewhere: f64 = others.iter().map(|(_, w, _)| w).sum();
        let (retry, completing) = shares.completions(at_once, elsewhere, looped);
        if completing <= 0.0 || completing.is_nan() {
            return None;
        }
        let again = shares.again * looped;
        // Each retry back into the node is followed by q·G/(1 − q·G) more on average.
        let repeats = if again < 1.0 {
            again / (1.0 - again)
        } else {
            0.0
        };
        let first = shares.served * at_once
            + shares.dropped * looped * shares.retry_served * at_once * (1.0 + repeats);
        // A drop reaches the other targets once, and again after each retry back into the
        // node that is refused: 1/(1 − q·G) times in all, once where the loop never ends
        // (q·G ≥ 1: those retries never complete, as in `completions`).
        let reaching_others = if again < 1.0 {
            1.0 + again * (1.0 + repeats)
        } else {
            1.0
        };
        for other in &mut others {
            other.1 *= shares.dropped * reaching_others / completing;
        }
        let looped_time = shares.dropped * looped_delay * retry * (1.0 + repeats);
        let loop_ends = again < 1.0;
        if !loop_ends {
            loops.clear();
        }
        Some(RetrySplit {
            first: first / completing,
            others,
            looped_time: looped_time / completing,
            served_at_once: shares.served * at_once / completing,
            served_retried: if loop_ends {
                shares.dropped * shares.retry_served * at_once / completing
            } else {
                0.0
            },
            again: shares.again,
            dropped: shares.dropped / completing,
            loops,
        })
    }

    /// The mean response at the node of the requests that complete, given `first`, the mean of
    /// those served here (at the first or a later attempt), and each node's `mean`. A single
    /// M/M/1/K node that retries every drop after a round trip d long enough for the queue to
    /// forget it was full (its retries then fare as first attempts, blocking B, served share
    /// s = 1 − B): X + B/s·d, the mean (attempts − 1) = B/s extra attempts.
    pub(super) fn mean(&self, first: f64, mean: &[f64]) -> f64 {
        self.first * first
            + self
                .others
                .iter()
                .map(|&(to, weight, delay)| weight * (delay + mean[to]))
                .sum::<f64>()
            + self.looped_time
    }
}

/// Most Gauss–Seidel passes over a class's nodes for its completion probabilities on a
/// cyclic graph (each pass is linear in the edges; loops of gain below 1 settle long before).
pub(super) const MAX_COMPLETION_PASSES: usize = 2_000;

/// Probability that a request of class `k` completes (is served end to end, counting the
/// retries of its drops that succeed later), and that it is not dropped for good (it
/// completes or waits in a growing backlog), from its client.
///
/// At node v with served share s, dropped share d and retry edges of fractions f_e:
/// c_v = s·Π_calls c_t^n·(finish + Σ_routes f·c_t) + d·Σ_retries f_e·c_{t_e}, and the same
/// with 1 − d (not dropped) in place of s for the second figure. A retry back into v itself
/// is solved in closed form: c_v = rest/(1 − d·f_self) when the node's retries fare as its
/// first attempts; when a retry meets the queue that refused it (dropped again with share
/// q ≠ d, [`RetryShares`]) a retry completes with c' = ((1 − q)·R + q·X)/(1 − q·f_self) and
/// a first attempt with s·R + d·(X + f_self·c'). Other loops are iterated from 0 upwards, so
/// an unfinished iteration can only under-count (never serve more than offered).
pub(super) fn completion_probabilities(
    compiled: &Compiled,
    flows: &Flows,
    k: usize,
    (order, cyclic): (&[usize], bool),
) -> (Vec<f64>, Vec<f64>) {
    let node_count = compiled.nodes.len();
    let start = if cyclic { 0.0 } else { 1.0 };
    let mut completion = vec![start; node_count];
    let mut no_drop = vec![start; node_count];
    let passes = if cyclic { MAX_COMPLETION_PASSES } else { 1 };
    for _ in 0..passes {
        let mut change: f64 = 0.0;
        for &v in order {
            let node = &compiled.nodes[v];
            let served = flows.served_ratio[v];
            let dropped = flows.drop_ratio[v];
            let own = flows.self_retries.get(v).copied().flatten();
            let (mut calls_c, mut calls_d) = (1.0, 1.0);
            let (mut route_c, mut route_d) = if node.detaches {
                (1.0, 1.0)
            } else {
                (node.finish[k], node.finish[k])
            };
            let (mut retry_c, mut retry_d, mut retry_self) = (0.0, 0.0, 0.0);
            for edge in &compiled.out_edges[v] {
                let f = edge.factors[k];
                if f <= 0.0 {
                    continue;
                }
                match edge.source {
                    Source::Dropped if edge.to == v => retry_self += f,
                    Source::Dropped => {
                        retry_c += f * completion[edge.to];
                        retry_d += f * no_drop[edge.to];
                    }
                    Source::Served if node.detaches => {}
                    Source::Served if edge.is_call => {
                        calls_c *= completion[edge.to].powi(edge.count as i32);
                        calls_d *= no_drop[edge.to].powi(edge.count as i32);
                    }
                    Source::Served => {
                        route_c += f * completion[edge.to];
                        route_d += f * no_drop[edge.to];
                    }
                }
            }
            let solve = |first_try: f64, retried: f64| -> f64 {
                let rest = first_try + dropped * retried;
                let looped = dropped * retry_self;
                let value = if looped < 1.0 {
                    rest / (1.0 - looped)
                } else if rest > 0.0 {
                    1.0
                } else {
                    0.0
                };
                value.clamp(0.0, 1.0)
            };
            let (c, d) = match own {
                None => (
                    solve(served * calls_c * route_c, retry_c),
                    solve((1.0 - dropped) * calls_d * route_d, retry_d),
                ),
                Some(_) => {
                    let shares = RetryShares::at(flows, v);
                    let not_dropped = RetryShares {
                        served: 1.0 - shares.dropped,
                        ..shares
                    };
                    let c = shares.completions(calls_c * route_c, retry_c, retry_self).1;
                    let d = not_dropped
                        .completions(calls_d * route_d, retry_d, retry_self)
                        .1;
                    (c, d)
                }
            };
            change = change
                .max((c - completion[v]).abs())
                .max((d - no_drop[v]).abs());
            completion[v] = c;
            no_drop[v] = d;
        }
        if change < 1e-14 {
            break;
        }
    }
    (completion, no_drop)
}

/// The nodes a request of class `k` can reach from its client, along routes and calls (not
/// past a queue) and along the retries of nodes that drop, in post-order (on acyclic graphs
/// every node after the nodes it sends to), and whether any loop was found.
pub(super) fn completion_order<'a>(
    compiled: &'a Compiled,
    flows: &Flows,
    k: usize,
) -> (Cow<'a, [usize]>, bool) {
    if !compiled.retries {
        // With no retries, the same walk as the class's reach.
        let (order, cyclic) = reachable_reverse_order(compiled, k);
        return (Cow::Borrowed(order), cyclic);
    }
    let (order, cyclic) = post_order(compiled, compiled.classes[k].client, |v, edge| {
        let followed = match edge.source {
            Source::Dropped => flows.drop_ratio[v] > 0.0 && edge.to != v,
            Source::Served => !compiled.nodes[v].detaches,
        };
        followed && edge.factors[k] > 0.0
    });
    (Cow::Owned(order), cyclic)
}

/// The share of the requests served at node `v` whose route out completes (answered here, or
/// completed downstream): the normaliser that weighs the branches of the path mix by
/// completed requests. 1 when nothing completes (there is then no latency to weigh).
pub(super) fn route_completion(compiled: &Compiled, completion: &[f64], v: usize, k: usize) -> f64 {
    let node = &compiled.nodes[v];
    let completes = node.finish[k]
        + compiled.out_edges[v]
            .iter()
            .filter(|edge| !edge.is_call)
            .map(|edge| edge.served_factor(k) * completion[edge.to])
            .sum::<f64>();
    if completes > 0.0 {
        completes
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::compile::compile;
    use crate::solver::Params;
    use num_complex::Complex64;

    /// One app queue retrying half its drops to itself after 50 ms (`docs/simulation/
    /// retries-slow.ron`).
    const SELF_RETRY: &str = include_str!("../../docs/simulation/retries-slow.ron");

    /// The same app retrying half its drops to itself after 20 ms and the other half to a
    /// second app after 5 ms, which retries a quarter of its own drops to itself.
    const RETRY_ELSEWHERE: &str = r#"(version:1,name:"Retries elsewhere",settings:(same_region_rtt_ms:5.0),regions:[(name:"eu",lat:50.0,lon:8.0)],workloads:[(name:"w",client:1,rate:PerSecond(170.0),peak_multiplier:1.0,read:1.0,write:0.0,async:0.0)],nodes:[(id:1,name:"Users",kind:Client,instances:1,concurrency:1,capacity_rps:None,base_latency_ms:0.0,service_cv:1.0),(id:2,name:"App",kind:AppServer,region:"eu",instances:1,concurrency:2,capacity_rps:Some(200.0),queue_limit:Some(2),base_latency_ms:0.0,service_cv:1.0),(id:3,name:"Spare",kind:AppServer,region:"eu",instances:1,concurrency:1,capacity_rps:Some(60.0),queue_limit:Some(1),base_latency_ms:2.0,service_cv:1.0)],edges:[(from:1,to:2),(from:2,to:2,kind:Retry(0.5)),(from:2,to:3,kind:Retry(0.5)),(from:3,to:3,kind:Retry(0.25))])"#;

    /// The class mean of the recursion and the mean of the end-to-end transform, by both walks:
    /// (recursion, acyclic walk, cyclic walk), seconds. The transform's mean is its shift
    /// plus (1 − ψ(h))/h extrapolated to h → 0 (Richardson, from h and 2h).
    fn means_of(text: &str) -> (f64, f64, f64) {
        // Parsed as the document loader does (implicit `Some`), without reaching up into `io`.
        let options = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        let topology: crate::Topology = options.from_str(text).expect("parses");
        topology.validate().expect("valid");
        let params = Params::default();
        let compiled = compile(&topology, &params);
        let queues =
            crate::solver::solve_queues(&topology, &compiled, &params, false).expect("solves");
        let (results, flows, k) = (&queues.node_results, &queues.traffic.solved, 0);
        let plan = &compiled.plans[k];
        let (order, cyclic) = completion_order(&compiled, flows, k);
        assert!(!cyclic);
        let completion = completion_probabilities(&compiled, flows, k, (&order, false));
        let splits = Splits::of(&compiled, flows, &completion.0, k);
        let means = class_means(
            (&compiled, plan, results),
            (&completion.0, &splits),
            k,
            (&order, 1),
        );
        let steps = TransformSteps {
            order: &order,
            passes: 1,
            shift: &means.shift,
            completes: &means.completes,
            route_shifts: &means.route_shifts,
            feeds: plan.feeds(&compiled, k),
            retries: Some(Retried {
                splits: &splits,
                leads: &means.leads,
            }),
        };
        let start = compiled.classes[k].client;
        let h = 1e-3;
        let points = [Complex64::new(h, 0.0), Complex64::new(2.0 * h, 0.0)];
        let transform_mean = |values: Vec<Complex64>| {
            let at = |j: usize, s: f64| (1.0 - values[j].re) / s;
            means.shift[start] + 2.0 * at(0, h) - at(1, 2.0 * h)
        };
        let acyclic =
            class_transform_acyclic(&compiled, results, &completion.0, k, &steps, &points);
        let cyclic = class_transform(&compiled, results, &completion.0, k, &steps, &points);
        (
            means.mean[start],
            transform_mean(acyclic),
            transform_mean(cyclic),
        )
    }

    /// The end-to-end transform with retries of drops has the class mean of the recursion
    /// (the round trips back into the node and the retries to another one weigh alike in
    /// both, [`RetrySplit`]), by either walk. Held to 1e-5 relative: the extrapolation's
    /// error is of order h²·E[T³] for h = 1 ms.
    #[test]
    fn retry_transform_has_the_mean_of_the_recursion() {
        for (name, text) in [("self", SELF_RETRY), ("elsewhere", RETRY_ELSEWHERE)] {
            let (recursion, acyclic, cyclic) = means_of(text);
            assert!(recursion > 0.0 && recursion.is_finite());
            for (walk, mean) in [("acyclic", acyclic), ("cyclic", cyclic)] {
                assert!(
                    ((mean - recursion) / recursion).abs() < 1e-5,
                    "{name} {walk}: transform mean {mean} against the recursion's {recursion}"
                );
            }
        }
    }
}
