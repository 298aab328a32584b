//! End-to-end figures per class: which nodes a class reaches, the probability that its requests
//! complete, and its mean response time and percentiles along the path mix.

use super::compile::post_order;
use super::compile::Compiled;
use super::compile::OutEdge;
use super::compile::Source;
use super::figure;
use super::stations::NodeResult;
use super::traffic::Flows;
use super::transforms::class_atoms;
use super::transforms::class_transform;
use super::transforms::class_transform_acyclic;
use super::transforms::constant_service;
use super::transforms::route_shift_of;
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
    compiled: &Compiled,
    results: &[NodeResult],
    (completion, completes): (&[f64], &[f64]),
    splits: &[Option<RetrySplit>],
    k: usize,
    (order, cyclic): (&[usize], bool),
) -> Vec<Visit> {
    let start = compiled.classes[k].client;
    let node_count = compiled.nodes.len();
    // The share of the completed requests arriving at a node that were served there.
    let first = |v: usize| splits[v].as_ref().map_or(1.0, |split| split.first);
    // Calls `visit(target, weight, round trip)` for each hop out of `v` a completed request
    // takes, weighted as the mean recursion weighs it.
    let for_each_hop = |v: usize, visit: &mut dyn FnMut(usize, f64, f64)| {
        let node = &compiled.nodes[v];
        if !node.detaches {
            let completes = completes[v];
            let served_first = first(v);
            for edge in &compiled.out_edges[v] {
                let f = edge.served_factor(k);
                if f <= 0.0 {
                    continue;
                }
                let weight = if edge.is_call {
                    f
                } else {
                    f * completion[edge.to] / completes
                };
                visit(edge.to, weight * served_first, edge.rtt(k));
            }
        }
        for &(to, weight, delay) in splits[v].iter().flat_map(|split| split.others.iter()) {
            visit(to, weight, delay);
        }
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
                for_each_hop(v, &mut |to, weight, _| next[to] += from * weight);
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
            for_each_hop(v, &mut |to, weight, _| visits[to] += from * weight);
        }
    }
    // Nodes a geo DNS would fail over to: not visited now, but part of the class's
    // structure for availability (listed after the visited ones, with no visits).
    let mut listed = vec![false; node_count];
    let mut nodes: Vec<usize> = order.iter().rev().copied().collect();
    for &v in &nodes {
        listed[v] = true;
    }
    let mut pending: Vec<usize> = order
        .iter()
        .flat_map(|&v| compiled.nodes[v].standby(k).iter().map(move |&p| (v, p)))
        .map(|(v, position)| compiled.out_edges[v][position].to)
        .collect();
    while let Some(v) = pending.pop() {
        if std::mem::replace(&mut listed[v], true) {
            continue;
        }
        nodes.push(v);
        if !compiled.nodes[v].detaches {
            pending.extend(
                compiled.out_edges[v]
                    .iter()
                    .filter(|edge| edge.served_factor(k) > 0.0)
                    .map(|edge| edge.to),
            );
        }
        pending.extend(
            compiled.nodes[v]
                .standby(k)
                .iter()
                .map(|&position| compiled.out_edges[v][position].to),
        );
    }
    let path: Vec<Visit> = nodes
        .iter()
        .map(|&v| {
            let node = &compiled.nodes[v];
            // The served edges of the class out of v (none past a queue), walked in place:
            // one allocation per non-empty list of targets and none for the edges.
            let edges: &[OutEdge] = if node.detaches {
                &[]
            } else {
                &compiled.out_edges[v]
            };
            // Calls and routes sorted, each target once, in one pass over the edges.
            let (mut calls, mut routes) = (Targets::new(), Targets::new());
            for edge in edges.iter().filter(|edge| edge.served_factor(k) > 0.0) {
                if edge.is_call {
                    calls.push(edge.to);
                } else {
                    routes.push(edge.to);
                }
            }
            for found in [&mut calls, &mut routes] {
                found.sort_unstable();
                found.dedup();
            }
            let standby = node
                .standby(k)
                .iter()
                .map(|&position| compiled.out_edges[v][position].to)
                .collect();
            Visit {
                node: v,
                visits: visits[v],
                mean: first(v) * results[v].class_mean[k],
                round_trip: {
                    let mut round_trip = 0.0;
                    for_each_hop(v, &mut |_, weight, rtt| round_trip += weight * rtt);
                    round_trip + splits[v].as_ref().map_or(0.0, |split| split.looped_time)
                },
                calls,
                routes,
                standby,
                answers: node.detaches || node.finish[k] > 0.0,
            }
        })
        .collect();
    path
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
    let with_percentiles = wanted.percentiles;
    let (order, cyclic) = reachable_reverse_order(compiled, k);
    let node_count = compiled.nodes.len();
    let passes = if cyclic { 10_000 } else { 1 };
    let start = compiled.classes[k].client;
    // Per node, the share of its arrivals that complete: the branches of the path mix weigh
    // by completed requests (the report's latency is that of completed requests).
    // Nodes in the order of the completion recursion: along retries of drops too.
    let (retry_order, retry_cyclic) = completion_order(compiled, flows, k);
    let retry_order: &[usize] = &retry_order;
    let completion = completion_probabilities(compiled, flows, k, (retry_order, retry_cyclic));
    // How the completed requests at each node got through when some of its drops are retried
    // (fixed once completion is known; used by the mean and the path).
    let splits: Vec<Option<RetrySplit>> = (0..node_count)
        .map(|v| RetrySplit::at(compiled, flows, &completion.0, v, k))
        .collect();
    let completes: Vec<f64> = (0..node_count)
        .map(|v| route_completion(compiled, &completion.0, v, k))
        .collect();

    // Exact mean and the smallest constant delay (shift) of any path, by the same recursion
    // over the nodes the class can reach (completion: [`completion_probabilities`]).
    let mut mean = vec![0.0; node_count];
    let mut shift = vec![0.0f64; node_count];
    let passes = passes.max(if retry_cyclic { 10_000 } else { 1 });
    for _ in 0..passes {
        let mut change: f64 = 0.0;
        for &v in retry_order {
            let node = &compiled.nodes[v];
            let mut m = results[v].class_mean[k];
            let mut own_shift = node.constant_base() + constant_service(node, k);
            let mut route_mean = 0.0;
            let mut route_shift = if node.finish[k] > 0.0 {
                0.0
            } else {
                f64::INFINITY
            };
            if node.detaches {
                route_shift = 0.0;
            } else {
                for edge in &compiled.out_edges[v] {
                    let f = edge.served_factor(k);
                    if f <= 0.0 {
                        continue;
                    }
                    let hop_shift = edge.rtt(k) + shift[edge.to];
                    if edge.is_call {
                        m += f * (edge.rtt(k) + mean[edge.to]);
                        own_shift += f * hop_shift;
                    } else {
                        // Latency of completed requests: each branch weighs by the
                        // requests that complete along it, not by its routing share.
                        route_mean += f * completion.0[edge.to] * (edge.rtt(k) + mean[edge.to]);
                        route_shift = route_shift.min(hop_shift);
                    }
                }
            }
            if !route_shift.is_finite() {
                route_shift = 0.0;
            }
            let route_mean = route_mean / completes[v];
            let first = m + route_mean;
            let new_mean = splits[v]
                .as_ref()
                .map_or(first, |split| split.mean(first, &mean));
            change = change.max((new_mean - mean[v]).abs() / new_mean.abs().max(1e-300));
            change =
                change.max((own_shift + route_shift - shift[v]).abs() / new_mean.abs().max(1e-300));
            mean[v] = new_mean;
            shift[v] = own_shift + route_shift;
        }
        if change < 1e-13 {
            break;
        }
    }
    let mean_latency = mean[start];
    let offset = shift[start].min(mean_latency);
    let latency = if with_percentiles && mean_latency > offset {
        let route_shifts: Vec<f64> = (0..node_count)
            .map(|v| route_shift_of(compiled, v, k, &shift))
            .collect();
        let atoms: Vec<(f64, f64)> = if cyclic {
            Vec::new()
        } else {
            class_atoms(compiled, results, k, order, &completion.0)
                .into_iter()
                .map(|(time, mass)| (time - offset, mass))
                .collect()
        };
        let found = percentiles_within(
            wanted.precision,
            grid_for(order.len()),
            mean_latency - offset,
            &[0.50, 0.95, 0.99],
            &atoms,
            |points, values| {
                let computed = if cyclic {
                    let steps = TransformSteps {
                        order,
                        passes,
                        shift: &shift,
                        completes: &completes,
                        route_shifts: &route_shifts,
                    };
                    class_transform(compiled, results, &completion.0, k, &steps, points)
                } else {
                    let steps = TransformSteps {
                        order,
                        passes: 1,
                        shift: &shift,
                        completes: &completes,
                        route_shifts: &route_shifts,
                    };
                    class_transform_acyclic(compiled, results, &completion.0, k, &steps, points)
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
    } else {
        Latency {
            mean: mean_latency,
            p50: mean_latency,
            p95: mean_latency,
            p99: mean_latency,
        }
    };
    ClassResult {
        latency,
        completion: completion.0[start],
        completion_without_backlog: completion.1[start],
        path: if wanted.path {
            class_path(
                compiled,
                results,
                (&completion.0, &completes),
                &splits,
                k,
                (retry_order, retry_cyclic),
            )
        } else {
            Vec::new()
        },
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
/// some of its drops are retried: a share `first` was served at its first attempt here; a
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
pub(super) struct RetrySplit {
    pub(super) first: f64,
    /// (target, weight, round trip of the turned-away attempt).
    pub(super) others: Vec<(usize, f64, f64)>,
    pub(super) looped_time: f64,
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
        for other in &mut others {
            other.1 *=
                shares.dropped * (1.0 + looped * shares.again * (1.0 + repeats)) / completing;
        }
        let looped_time = shares.dropped * looped_delay * retry * (1.0 + repeats);
        Some(RetrySplit {
            first: first / completing,
            others,
            looped_time: looped_time / completing,
        })
    }

    /// The mean response at the node of the requests that complete, given `first`, the mean of
    /// those served at their first attempt, and each node's `mean`. A single M/M/1/K node that
    /// retries every drop at once, its retries independent of its state: X + d/s·rtt, the
    /// mean (attempts − 1) = d/s extra attempts.
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
