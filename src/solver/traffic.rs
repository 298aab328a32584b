//! The traffic equations: per-class arrival rates at every node (in topological order, or as a
//! fixed point when the graph has cycles), and the bounds on how much work one solve may take.

use super::compile::Compiled;
use super::compile::CompiledNode;
use super::compile::PoolGroup;
use super::compile::Source;
use super::figure;
use super::finite_wait::{effective_arrivals, retried_into_itself, settle_self_retry};
use super::finite_wait::{Retried, SelfRetry};
use super::paths::reachable_reverse_order;
use super::stations::has_closed_form;
use super::Params;
use super::SolveError;
use crate::model::EdgeKind;
use crate::model::Topology;
use crate::solver::queueing::solve_pool;
use crate::solver::queueing::PoolInput;
use crate::solver::queueing::PoolSolution;
use crate::solver::queueing::ServiceShape;
use crate::solver::queueing::{grid_for, GRID};
use crate::solver::report::EdgeReport;

/// The traffic equations solved three ways: with blocking (what is actually served), linear
/// (every node passes all it receives: the offered load, for headroom) and at the workloads'
/// average rates (for usage fees).
pub(super) struct Traffic {
    pub(super) solved: Flows,
    pub(super) linear: Flows,
    pub(super) average: Flows,
}

/// Solves the traffic equations of `compiled` (after refusing loops that multiply traffic
/// and solves that would take too long).
pub(super) fn solve_traffic(
    topology: &Topology,
    compiled: &Compiled,
    params: &Params,
) -> Result<Traffic, SolveError> {
    let class_count = compiled.classes.len();
    let horizon = topology.settings.overload_horizon_s;
    let external = |average: bool| {
        let mut rates = vec![0.0; compiled.nodes.len() * class_count];
        for (k, class) in compiled.classes.iter().enumerate() {
            rates[class.client * class_count + k] += if average {
                class.average_rate
            } else {
                class.rate
            };
        }
        rates
    };
    check_loops(topology, compiled, horizon)?;
    let peak = external(false);
    let parallel = params.parallel_for(compiled.nodes.len());
    let (solved, linear) = super::join(
        parallel,
        || propagate(topology, compiled, &peak, horizon, (true, parallel)),
        || propagate(topology, compiled, &peak, horizon, (false, parallel)),
    );
    let solved = solved?;
    check_work(compiled, &solved, params)?;
    let linear = linear?;
    let average = match linear.rescaled(compiled) {
        Some(average) => average,
        None => propagate(
            topology,
            compiled,
            &external(true),
            horizon,
            (false, parallel),
        )?,
    };
    Ok(Traffic {
        linear,
        average,
        solved,
    })
}

/// Arrival rates per node and class, and the pool solutions that go with them.
pub(super) struct Flows {
    pub(super) arrivals: Vec<f64>,
    pub(super) served_ratio: Vec<f64>,
    pub(super) drop_ratio: Vec<f64>,
    pub(super) pools: Vec<Vec<PoolSolution>>,
    /// Per node retrying its own drops: its shares for first attempts and retries.
    pub(super) self_retries: Vec<Option<SelfRetry>>,
}

impl Flows {
    /// The linear traffic (these flows, at the classes' rates) at the classes' average rates:
    /// without blocking each class's flows are proportional to its rate, so each is scaled by
    /// average over rate instead of solving the equations again. `None` where that ratio is
    /// not a finite number (a class at rate zero) or the scaled flows pass the divergence
    /// limit [`propagate`] enforces: those are solved again.
    fn rescaled(&self, compiled: &Compiled) -> Option<Flows> {
        let class_count = compiled.classes.len();
        let ratios: Vec<f64> = compiled
            .classes
            .iter()
            .map(|class| class.average_rate / class.rate)
            .collect();
        if ratios.iter().any(|ratio| !ratio.is_finite()) {
            return None;
        }
        let mut arrivals = self.arrivals.clone();
        for node in arrivals.chunks_exact_mut(class_count.max(1)) {
            for (rate, ratio) in node.iter_mut().zip(&ratios) {
                *rate *= ratio;
            }
        }
        let external: f64 = compiled.classes.iter().map(|c| c.average_rate).sum();
        let limit = divergence_limit(external);
        let within = arrivals
            .chunks_exact(class_count.max(1))
            .all(|node| !diverged(node.iter().sum(), limit));
        within.then(|| Flows {
            arrivals,
            served_ratio: self.served_ratio.clone(),
            drop_ratio: self.drop_ratio.clone(),
            pools: vec![Vec::new(); self.pools.len()],
            self_retries: self.self_retries.clone(),
        })
    }
}

/// The pool inputs of node `v` for per-class arrivals `arrivals`.
pub(super) fn pool_inputs(
    node: &CompiledNode,
    arrivals: &[f64],
    horizon: f64,
) -> Option<PoolInputs> {
    let service = node.service.as_ref()?;
    let total: f64 = arrivals.iter().sum();
    let scv_one = node.shape.scv();
    let mean = if total > 0.0 {
        arrivals
            .iter()
            .zip(service)
            .map(|(lambda, s)| lambda / total * s)
            .sum()
    } else {
        0.0
    };
    let mean = if mean > 0.0 {
        mean
    } else {
        service.iter().copied().fold(0.0, f64::max)
    };
    // The mix of the classes' services: c² = c_1² + (1 + c_1²)·Var/m² (c_1² the shape's, Var
    // the spread of the class means around m). Classes of equal service times then give the
    // shape's c² exactly, not a rounding error away from it (which would take a node of
    // exponential service off the exponential paths). An idle node, with no arrivals to
    // weigh its classes, is taken as exponential.
    let scv = if total > 0.0 {
        let spread: f64 = arrivals
            .iter()
            .zip(service)
            .map(|(lambda, s)| lambda / total * (s - mean) * (s - mean))
            .sum();
        (scv_one + (1.0 + scv_one) * spread / (mean * mean)).max(0.0)
    } else {
        1.0
    };
    let input = |group: &PoolGroup| PoolInput {
        arrival: total * group.share,
        servers: group.servers,
        mean_service: mean,
        service_scv: scv,
        buffer: node.buffer,
        overload_horizon: horizon,
    };
    Some(match node.groups.as_slice() {
        [] => PoolInputs::Heap(Vec::new()),
        [only] => PoolInputs::Inline {
            inputs: [input(only); 2],
            len: 1,
        },
        [first, second] => PoolInputs::Inline {
            inputs: [input(first), input(second)],
            len: 2,
        },
        groups => PoolInputs::Heap(groups.iter().map(input).collect()),
    })
}

/// A node's pool inputs, one per queue group. Nodes have one group or two (a hot shard and
/// the cold ones), so these are kept inline rather than on the heap: the stages ask for a
/// node's inputs some nine times per solve.
pub(super) enum PoolInputs {
    Inline { inputs: [PoolInput; 2], len: usize },
    Heap(Vec<PoolInput>),
}

impl std::ops::Deref for PoolInputs {
    type Target = [PoolInput];

    fn deref(&self) -> &[PoolInput] {
        match self {
            PoolInputs::Inline { inputs, len } => &inputs[..*len],
            PoolInputs::Heap(inputs) => inputs,
        }
    }
}

impl<'a> IntoIterator for &'a PoolInputs {
    type Item = &'a PoolInput;
    type IntoIter = std::slice::Iter<'a, PoolInput>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Rejects a loop that multiplies the requests going round it (a gain of one or more), even
/// when the offered traffic never enters it without drops: the smallest trickle of retries
/// into such a loop grows until something saturates, so the linear view (zero flow) and the
/// blocking view (a self-sustaining storm) would disagree. Seeds one request of each class at
/// every node that class can reach and solves the linear traffic equations from there.
pub(super) fn check_loops(
    topology: &Topology,
    compiled: &Compiled,
    horizon: f64,
) -> Result<(), SolveError> {
    if compiled.acyclic {
        return Ok(());
    }
    let class_count = compiled.classes.len();
    let mut seed = vec![0.0; compiled.nodes.len() * class_count];
    let mut stack = Vec::new();
    for (k, class) in compiled.classes.iter().enumerate() {
        stack.push(class.client);
        while let Some(v) = stack.pop() {
            if seed[v * class_count + k] > 0.0 {
                continue;
            }
            seed[v * class_count + k] = 1.0;
            for edge in &compiled.out_edges[v] {
                if edge.factors[k] > 0.0 && seed[edge.to * class_count + k] == 0.0 {
                    stack.push(edge.to);
                }
            }
        }
    }
    propagate(topology, compiled, &seed, horizon, (false, false)).map(|_| ())
}

/// Solves the traffic equations. With `blocking` false, no node drops or caps throughput
/// (the linear, offered-load view used for headroom and average-load usage). With
/// `parallel`, an acyclic graph is solved a wave at a time ([`Graph::waves`]), the nodes of a
/// wide wave on rayon: each node needs only the nodes before it, so the figures are the same.
pub(super) fn propagate(
    topology: &Topology,
    compiled: &Compiled,
    external: &[f64],
    horizon: f64,
    (blocking, parallel): (bool, bool),
) -> Result<Flows, SolveError> {
    let solve = |_: usize, _: usize, input: &PoolInput| solve_pool(input);
    let solve = blocking.then_some(&solve as &PoolSolver);
    propagate_on(topology, compiled, external, horizon, (solve, parallel))
}

/// Solves pool `group` of node `v` for `input`.
pub(super) type PoolSolver<'a> = dyn Fn(usize, usize, &PoolInput) -> PoolSolution + Sync + 'a;

/// [`propagate`] with the pools solved by `solve` (`None`: the linear view, no blocking), on
/// one thread.
pub(super) fn propagate_with(
    topology: &Topology,
    compiled: &Compiled,
    external: &[f64],
    horizon: f64,
    solve: Option<&PoolSolver>,
) -> Result<Flows, SolveError> {
    propagate_on(topology, compiled, external, horizon, (solve, false))
}

/// [`propagate_with`], on rayon with `parallel`.
fn propagate_on(
    topology: &Topology,
    compiled: &Compiled,
    external: &[f64],
    horizon: f64,
    (solve, parallel): (Option<&PoolSolver>, bool),
) -> Result<Flows, SolveError> {
    let node_count = compiled.nodes.len();
    let mut flows = Flows {
        arrivals: external.to_vec(),
        served_ratio: vec![1.0; node_count],
        drop_ratio: vec![0.0; node_count],
        pools: vec![Vec::new(); node_count],
        self_retries: vec![None; node_count],
    };
    let total_external: f64 = external.iter().sum();
    let pass = Pass {
        compiled,
        external,
        horizon,
        solve,
        limit: divergence_limit(total_external),
    };
    if compiled.acyclic {
        // Without queues to solve a node's equation is a few multiplications: not worth
        // spreading a wave over threads.
        pass.waves(&mut flows, parallel && solve.is_some());
        // The first node in the order whose arrivals are not a number or beyond the limit.
        let limit = pass.limit;
        let class_count = compiled.classes.len();
        let failed = compiled.order.iter().find(|&&v| {
            let total: f64 = flows.arrivals[v * class_count..(v + 1) * class_count]
                .iter()
                .sum();
            diverged(total, limit)
        });
        return match failed {
            Some(&v) => Err(SolveError::Diverged {
                node: topology.nodes[v].name.clone(),
            }),
            None => Ok(flows),
        };
    }
    pass.iterate(topology, flows)
}

/// Arrivals at a node past which the traffic equations are taken to diverge, for `external`
/// requests per second entering the graph.
fn divergence_limit(external: f64) -> f64 {
    1e9 * (1.0 + external)
}

/// Whether a node's `total` arrivals are not a number or past `limit`.
fn diverged(total: f64, limit: f64) -> bool {
    total.is_nan() || total > limit
}

/// One node's traffic equation: its arrivals from the external ones and those its feeders
/// pass on, and (when blocking, with `solve`) its queues solved at them.
struct Pass<'a> {
    compiled: &'a Compiled,
    external: &'a [f64],
    horizon: f64,
    solve: Option<&'a PoolSolver<'a>>,
    /// Arrivals past which the flows are taken to diverge.
    limit: f64,
}

/// What a node's queues let through: the shares served and dropped, the pool solutions, and
/// the shares of a node retrying its own drops.
type Blocking = (f64, f64, Vec<PoolSolution>, Option<SelfRetry>);

impl Pass<'_> {
    /// Node `v`'s arrivals per class into `incoming` from the current `flows`, and what its
    /// queues let through when blocking.
    fn node(&self, flows: &Flows, v: usize, incoming: &mut [f64]) -> Option<Blocking> {
        let compiled = self.compiled;
        let class_count = compiled.classes.len();
        incoming.copy_from_slice(&self.external[v * class_count..(v + 1) * class_count]);
        for (flow, factors) in compiled.flows_into(v) {
            let u = flow.from;
            let ratio = match flow.source {
                Source::Served => flows.served_ratio[u],
                Source::Dropped => flows.drop_ratio[u],
            };
            if ratio == 0.0 {
                continue;
            }
            let from = &flows.arrivals[u * class_count..(u + 1) * class_count];
            for ((incoming, from), factor) in incoming.iter_mut().zip(from).zip(factors) {
                *incoming += from * ratio * factor;
            }
        }
        let solve = self.solve?;
        let total: f64 = incoming.iter().sum();
        if diverged(total, self.limit) {
            // Diverged: the solve stops with an error, whoever comes after.
            return None;
        }
        // Retries of the node's own drops that meet it full again do not move its queues.
        let retried = self_retried(compiled, flows, v);
        let effective = retried
            .as_ref()
            .map(|(retried, last)| effective_arrivals(incoming, retried, *last));
        let arriving: &[f64] = effective.as_deref().unwrap_or(incoming);
        let inputs = pool_inputs(&compiled.nodes[v], arriving, self.horizon)?;
        let mut pools: Vec<PoolSolution> = inputs
            .iter()
            .enumerate()
            .map(|(group, input)| solve(v, group, input))
            .collect();
        let self_retry = retried.map(|(retried, _)| {
            let node = &compiled.nodes[v];
            let totals = (total, arriving.iter().sum());
            settle_self_retry(node, &inputs, &mut pools, totals, retried.delay)
        });
        let groups = &compiled.nodes[v].groups;
        let throughput: f64 = pools
            .iter()
            .zip(groups)
            .map(|(p, g)| p.throughput * g.count as f64)
            .sum();
        let dropped: f64 = pools
            .iter()
            .zip(groups)
            .map(|(p, g)| p.dropped * g.count as f64)
            .sum();
        let (served, drop) = if total > 0.0 {
            (throughput / total, dropped / total)
        } else {
            (flows.served_ratio[v], flows.drop_ratio[v])
        };
        Some((served, drop, pools, self_retry))
    }

    /// Writes node `v`'s `blocking` figures into `flows`.
    fn settle(flows: &mut Flows, v: usize, blocking: Option<Blocking>) {
        if let Some((served, drop, pools, self_retry)) = blocking {
            flows.served_ratio[v] = served;
            flows.drop_ratio[v] = drop;
            flows.pools[v] = pools;
            flows.self_retries[v] = self_retry;
        }
    }

    /// One pass over an acyclic graph, wave by wave; a wide wave's nodes on rayon when
    /// `parallel`.
    fn waves(&self, flows: &mut Flows, parallel: bool) {
        let class_count = self.compiled.classes.len();
        let mut incoming = vec![0.0; class_count];
        for wave in self.compiled.waves() {
            #[cfg(feature = "parallel")]
            if parallel && class_count > 0 && wave.len() >= super::compile::WIDE_WAVE {
                use rayon::prelude::*;
                // The wave's arrivals side by side, one node's classes after another's.
                let mut arrivals = vec![0.0; wave.len() * class_count];
                let steps: Vec<Option<Blocking>> = wave
                    .par_iter()
                    .zip(arrivals.par_chunks_mut(class_count))
                    .map(|(&v, incoming)| self.node(flows, v, incoming))
                    .collect();
                for ((&v, blocking), incoming) in
                    wave.iter().zip(steps).zip(arrivals.chunks(class_count))
                {
                    flows.arrivals[v * class_count..(v + 1) * class_count]
                        .copy_from_slice(incoming);
                    Self::settle(flows, v, blocking);
                }
                continue;
            }
            let _ = parallel;
            for &v in wave {
                let blocking = self.node(flows, v, &mut incoming);
                flows.arrivals[v * class_count..(v + 1) * class_count].copy_from_slice(&incoming);
                Self::settle(flows, v, blocking);
            }
        }
    }

    /// The fixed point of a graph with loops: passes in topological order until nothing
    /// moves, with Aitken's extrapolation of slow loops and a check for divergence.
    fn iterate(&self, topology: &Topology, mut flows: Flows) -> Result<Flows, SolveError> {
        let compiled = self.compiled;
        let class_count = compiled.classes.len();
        let node_count = compiled.nodes.len();
        let total_external: f64 = self.external.iter().sum();
        let limit = self.limit;
        let edge_count: usize = compiled.out_edges.iter().map(<[_]>::len).sum();
        let max_passes = pass_budget(node_count + edge_count, 100_000);
        // The last three passes' arrivals, for Aitken's extrapolation of slow loops.
        let mut history: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut incoming = vec![0.0; class_count];
        let mut last_change = 0.0;
        // Divergence check: a loop that converges shrinks its growth geometrically; one that
        // diverges keeps growing at a steady or rising pace.
        const CHECK_EVERY: usize = 2_000;
        let mut checkpoint_total = total_external;
        let mut checkpoint_growth = f64::INFINITY;
        for pass in 0..max_passes {
            let mut change: f64 = 0.0;
            for &v in &compiled.order {
                let blocking = self.node(&flows, v, &mut incoming);
                let slot = &mut flows.arrivals[v * class_count..(v + 1) * class_count];
                for k in 0..class_count {
                    let scale = slot[k].abs().max(incoming[k].abs()).max(1e-300);
                    change = change.max((slot[k] - incoming[k]).abs() / scale);
                    slot[k] = incoming[k];
                }
                let total: f64 = incoming.iter().sum();
                if diverged(total, limit) {
                    return Err(SolveError::Diverged {
                        node: topology.nodes[v].name.clone(),
                    });
                }
                // The node's shares count too: an extrapolated pass can land the arrivals on
                // their fixed point while the shares served still come from before the jump.
                let shares = (flows.served_ratio[v], flows.drop_ratio[v]);
                Self::settle(&mut flows, v, blocking);
                change = change
                    .max((flows.served_ratio[v] - shares.0).abs())
                    .max((flows.drop_ratio[v] - shares.1).abs());
            }
            last_change = change;
            if pass > 0 && change < 1e-12 {
                return Ok(flows);
            }
            if pass % ACCELERATE_EVERY == ACCELERATE_EVERY - 2 {
                history[0].clone_from(&flows.arrivals);
            } else if pass % ACCELERATE_EVERY == ACCELERATE_EVERY - 1 {
                history[1].clone_from(&flows.arrivals);
            } else if pass % ACCELERATE_EVERY == 0
                && pass > 0
                && history[1].len() == flows.arrivals.len()
            {
                extrapolate(&history, &mut flows.arrivals);
            }
            if (pass + 1) % CHECK_EVERY == 0 {
                let total: f64 = flows.arrivals.iter().sum();
                let growth = total - checkpoint_total;
                if growth > 1e-3 * total && growth >= 0.5 * checkpoint_growth {
                    let busiest = (0..node_count)
                        .max_by(|&a, &b| {
                            let sum = |v: usize| -> f64 {
                                flows.arrivals[v * class_count..(v + 1) * class_count]
                                    .iter()
                                    .sum()
                            };
                            sum(a).total_cmp(&sum(b))
                        })
                        .unwrap_or(0);
                    return Err(SolveError::Diverged {
                        node: topology.nodes[busiest].name.clone(),
                    });
                }
                checkpoint_total = total;
                checkpoint_growth = growth;
            }
        }
        Err(SolveError::NotConverged {
            passes: max_passes,
            change: last_change,
        })
    }
}

/// Longest a solve may be expected to take (estimated by [`check_work`]), in seconds.
pub const MAX_SOLVE_SECONDS: f64 = 1.5;

/// Refuses a solve whose cost, estimated from what it must compute, is beyond
/// [`MAX_SOLVE_SECONDS`]. Measured per item on a release build here (2 cores): about 5 µs per
/// node for the traffic and the closed forms (4.7 µs at 100,000 nodes), 1 ms per node whose
/// percentiles need a transform inversion (non-exponential service, finite buffers), 3 ms more
/// per pool of a limited queue of non-exponential service ([`CHAIN_MICROS`]), and 10 µs
/// (0.9 ms when the node is of the latter kind) per node each class's end-to-end transform
/// visits on the finest grid (1.05 µs per visit measured on the 512-point grid of a 10,000-node
/// class), in proportion to the grid on the coarser grids of large classes ([`grid_for`]).
pub(super) fn check_work(
    compiled: &Compiled,
    flows: &Flows,
    params: &Params,
) -> Result<(), SolveError> {
    let inverted: Vec<bool> = compiled
        .nodes
        .iter()
        .zip(&flows.pools)
        .map(|(node, pools)| {
            (node.service.is_some()
                && (node.shape != ServiceShape::Exponential
                    || pools.iter().any(|pool| !has_closed_form(&pool.wait))))
                || node.base_cv > 0.0
        })
        .collect();
    let inverted_count = inverted.iter().filter(|heavy| **heavy).count();
    let nodes = compiled.nodes.len();
    let mut micros = 5.0 * nodes as f64
        + 1_000.0 * inverted_count as f64
        + CHAIN_MICROS * chain_pools(compiled, flows) as f64;
    let mut visits = 0;
    if params.class_percentiles {
        for k in 0..compiled.classes.len() {
            let (order, _) = reachable_reverse_order(compiled, k);
            visits += order.len();
            // The per-visit figures are for the finest grid; coarser grids cost in proportion.
            let points = grid_for(order.len()) as f64 / GRID as f64;
            micros += points
                * order
                    .iter()
                    .map(|&v| match compiled.nodes[v].shape {
                        // A lognormal service's transform sums 45 gammas per point.
                        ServiceShape::Lognormal(_) => 9_000.0,
                        _ if inverted[v] => 900.0,
                        _ => 10.0,
                    })
                    .sum::<f64>();
        }
    }
    let seconds = micros / 1e6;
    if seconds > MAX_SOLVE_SECONDS {
        return Err(SolveError::TooMuchWork {
            seconds,
            nodes,
            inverted: inverted_count,
            visits,
        });
    }
    Ok(())
}

/// Estimated cost of one limited queue of non-exponential service, µs: its PH/PH/c/K chain
/// (`ph_limited`) took 1.6 ms here for constant service, 2 servers and 6 places (559 states;
/// 50 such queues add 80 ms to a solve), and it is solved again in a later round of the
/// limited queues' fixed point only if its inputs changed (`finite_wait::apply`), usually
/// once or twice.
const CHAIN_MICROS: f64 = 3_000.0;

/// The pools with arrivals of the limited queues whose service is not exponential: those
/// `finite_wait` may solve on their PH/PH/c/K chain.
fn chain_pools(compiled: &Compiled, flows: &Flows) -> usize {
    compiled
        .nodes
        .iter()
        .zip(&flows.pools)
        .filter(|(node, _)| {
            node.buffer.is_some()
                && node.service.is_some()
                && node.shape != ServiceShape::Exponential
        })
        .map(|(_, pools)| {
            pools
                .iter()
                .filter(|pool| pool.throughput + pool.dropped > 0.0)
                .count()
        })
        .sum()
}

/// Work (node and edge visits) the fixed-point iterations of one solve may spend per loop: a
/// pass over a large cyclic graph is dear, so it gets fewer passes.
pub(super) const WORK_BUDGET: usize = 30_000_000;

/// Passes of an iteration whose one pass costs `work_per_pass`: as many as the budget
/// allows, at least 200 and at most `most`.
pub(super) fn pass_budget(work_per_pass: usize, most: usize) -> usize {
    (WORK_BUDGET / work_per_pass.max(1)).clamp(200.min(most), most)
}

/// Passes between Aitken extrapolations of the traffic equations.
pub(super) const ACCELERATE_EVERY: usize = 20;

/// Aitken's Δ² step for each arrival rate that has been converging steadily over the last
/// three passes (`history` and `current`): a loop whose gain is close to 1 converges
/// geometrically with ratio r per pass, and x + Δ·r/(1 − r) jumps to its limit. Rates that
/// oscillate, grow or barely move are left for the plain iteration.
pub(super) fn extrapolate(history: &[Vec<f64>; 2], current: &mut [f64]) {
    for ((x0, x1), x2) in history[0].iter().zip(&history[1]).zip(current.iter_mut()) {
        let (step, last) = (x1 - x0, *x2 - x1);
        if step == 0.0 || last == 0.0 {
            continue;
        }
        let ratio = last / step;
        if ratio > 0.0 && ratio < 0.999_999 && last.abs() > 1e-15 * x2.abs() {
            *x2 = (*x2 + last * ratio / (1.0 - ratio)).max(0.0);
        }
    }
}

/// The traffic along every wire, per class, in the topology's edge order: what the source
/// sends (served requests on routes and calls, dropped ones on retries) times the wire's
/// share, calls per request or retried fraction for the class.
pub(super) fn edge_reports(
    topology: &Topology,
    compiled: &Compiled,
    flows: &Flows,
    parallel: bool,
) -> Vec<EdgeReport> {
    let class_count = compiled.classes.len();
    super::map_indices(topology.edges.len(), parallel, |e| {
        let wire = &topology.edges[e];
        let slot = compiled.wire_slots[e];
        let u = slot.from;
        let edge = &compiled.out_edges.flat()[slot.position];
        let arrivals = &flows.arrivals[u * class_count..(u + 1) * class_count];
        let ratio = match edge.source {
            Source::Served => flows.served_ratio[u],
            Source::Dropped => flows.drop_ratio[u],
        };
        // Pushed one by one: a collect into the inline list would not be inlined.
        let mut class_rps = smallvec::SmallVec::<[f64; 4]>::with_capacity(class_count);
        for (rate, factor) in arrivals.iter().zip(&edge.factors) {
            class_rps.push(figure(rate * ratio * factor));
        }
        EdgeReport {
            from: wire.from,
            to: wire.to,
            kind: match wire.kind {
                EdgeKind::Route => "route",
                EdgeKind::Call(_) => "call",
                EdgeKind::Retry(_) => "retry",
            },
            rps: figure(class_rps.iter().sum::<f64>()),
            class_rps,
        }
    })
}

/// Node `v`'s retries back into itself from the last pass's `flows` (per class, and their
/// delay), with its shares then (first attempts and retries alike before it had any).
fn self_retried(compiled: &Compiled, flows: &Flows, v: usize) -> Option<(Retried, SelfRetry)> {
    let class_count = compiled.classes.len();
    let arrivals = &flows.arrivals[v * class_count..(v + 1) * class_count];
    let retried = retried_into_itself(compiled, v, arrivals, flows.drop_ratio[v])?;
    let last = flows.self_retries[v].unwrap_or(SelfRetry {
        served: flows.served_ratio[v],
        dropped: flows.drop_ratio[v],
        again: flows.drop_ratio[v],
    });
    Some((retried, last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Edge, Node, NodeKind, Rate, Workload};
    use crate::solver::compile::compile;

    /// Users → a cache hitting half the reads → an app calling a database twice per request.
    fn cached_app() -> Topology {
        let mut topology = Topology {
            nodes: vec![
                Node::of_kind(1, NodeKind::Client),
                Node::of_kind(2, NodeKind::Cache { hit_ratio: 0.5 }),
                Node::of_kind(3, NodeKind::AppServer),
                Node::of_kind(
                    4,
                    NodeKind::Database {
                        read_capacity_rps: 5_000.0,
                        write_capacity_rps: 2_000.0,
                        max_connections: 1_000,
                    },
                ),
            ],
            edges: vec![
                Edge::route(1, 2),
                Edge::route(2, 3),
                Edge::of_kind(3, 4, EdgeKind::Call(2)),
            ],
            ..Topology::default()
        };
        topology.workloads.push(Workload {
            client: 1,
            rate: Rate::PerSecond(100.0),
            peak_multiplier: 3.0,
            read: 0.7,
            write: 0.3,
            ..Workload::default()
        });
        topology
    }

    #[test]
    fn average_traffic_scaled_from_the_linear_view_is_the_one_solved_again() {
        let topology = cached_app();
        let params = Params {
            load_multiplier: 1.7,
            at_peak: true,
            ..Params::default()
        };
        let compiled = compile(&topology, &Params::default()).at_load(1.7, true);
        // At 1.7 × the peak (3 × average), each class's rate is 5.1 times its average one.
        for class in &compiled.classes {
            assert!((class.rate / class.average_rate - 5.1).abs() < 1e-12);
        }
        let traffic = solve_traffic(&topology, &compiled, &params).expect("solves");
        let class_count = compiled.classes.len();
        let mut average = vec![0.0; compiled.nodes.len() * class_count];
        for (k, class) in compiled.classes.iter().enumerate() {
            average[class.client * class_count + k] += class.average_rate;
        }
        let solved =
            propagate(&topology, &compiled, &average, 60.0, (false, false)).expect("solves");
        assert_eq!(traffic.average.arrivals.len(), solved.arrivals.len());
        for (scaled, again) in traffic.average.arrivals.iter().zip(&solved.arrivals) {
            assert!(
                (scaled - again).abs() <= 1e-12 * again.abs(),
                "{scaled} vs {again}"
            );
        }
        // The database: half the reads miss the cache, every request calls it twice.
        let reads = 100.0 * 0.7 * 0.5 * 2.0;
        let writes = 100.0 * 0.3 * 2.0;
        let database: f64 = traffic.average.arrivals[3 * class_count..4 * class_count]
            .iter()
            .sum();
        assert!((database - (reads + writes)).abs() < 1e-9, "{database}");
    }

    #[test]
    fn classes_of_equal_service_keep_the_shapes_service_variability_exactly() {
        let compiled = compile(&cached_app(), &Params::default());
        // The app serves reads and writes alike; weighed 450:50 their mix's c² by second
        // moments came out 1.0000000000000004.
        let app = pool_inputs(&compiled.nodes[2], &[450.0, 50.0], 60.0).expect("queues");
        assert_eq!(app[0].service_scv, 1.0);
        // The database's reads (5,000/s) and writes (2,000/s) differ: c² = 1 + 2·Var/m².
        let database = pool_inputs(&compiled.nodes[3], &[450.0, 50.0], 60.0).expect("queues");
        let service = compiled.nodes[3].service.as_ref().expect("a queue");
        let (read, write): (f64, f64) = (service[0], service[1]);
        assert!((write / read - 2.5).abs() < 1e-12);
        let mean = 0.9 * read + 0.1 * write;
        let variance = 0.9 * (read - mean).powi(2) + 0.1 * (write - mean).powi(2);
        let expected = 1.0 + 2.0 * variance / (mean * mean);
        assert!((database[0].service_scv - expected).abs() < 1e-12);
        assert!(database[0].service_scv > 1.1);
    }
}
