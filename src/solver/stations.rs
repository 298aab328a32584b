//! Each node as a station: its queues' throughput, drops, backlog, utilization, queue length,
//! and its response-time mean and percentiles.

use super::compile::ClassFigures;
use super::compile::Compiled;
use super::compile::CompiledNode;
use super::compile::PoolGroup;
use super::delays::random_delay_lst;
use super::figure;
use super::pools::HeldPoolWait;
use super::traffic::pool_inputs;
use super::traffic::Traffic;
use super::transforms::merge_atoms;
use super::transforms::own_atoms;
use crate::solver::queueing::exponential_quantiles;
use crate::solver::queueing::mmc_response_tail;
use crate::solver::queueing::percentiles_with_atoms;
use crate::solver::queueing::quantile_at;
use crate::solver::queueing::uniform_response_tail;
use crate::solver::queueing::unsettled_within_horizon;
use crate::solver::queueing::ExponentialTail;
use crate::solver::queueing::Level;
use crate::solver::queueing::PoolInput;
use crate::solver::queueing::PoolSolution;
use crate::solver::queueing::ServiceShape;
use crate::solver::queueing::WaitDist;
use crate::solver::report::Latency;
use crate::solver::report::QueueModel;
use crate::solver::report::Status;
use num_complex::Complex64;
use smallvec::{smallvec, SmallVec};

/// A node's wait as a mixture over its pool groups, inline for the usual single group.
pub(super) type Waits = SmallVec<[(f64, WaitDist); 1]>;

/// Per-node results kept for the end-to-end step.
pub(super) struct NodeResult {
    pub(super) servers: u64,
    pub(super) arrival: f64,
    pub(super) throughput: f64,
    pub(super) dropped: f64,
    pub(super) backlog: f64,
    pub(super) utilization: f64,
    pub(super) offered_utilization: f64,
    pub(super) queue_len: f64,
    pub(super) in_system: f64,
    pub(super) latency: Latency,
    pub(super) status: Status,
    /// Offered utilization of the busiest queue that decides the bottleneck and the headroom.
    pub(super) saturation: f64,
    pub(super) busiest_arrival: f64,
    pub(super) busiest_capacity: f64,
    /// The saturation comes from the solved traffic, retries included (not the linear view).
    pub(super) retried: bool,
    pub(super) average_throughput: f64,
    /// Per class: mean response at this node (seconds, including the fixed delay).
    pub(super) class_mean: ClassFigures,
    /// Mixture components of the wait: (weight, distribution) across pool groups.
    pub(super) waits: Waits,
    /// A queue below saturation would take longer than the horizon to settle: its wait is
    /// the one built within the horizon.
    pub(super) unsettled: bool,
    /// The busiest queue's inputs and results, for explaining the figures.
    pub(super) queue: Option<QueueModel>,
}

/// The figures of node `v` as a station, from the solved traffic; its latency percentiles only
/// with `percentiles` (else they are the mean: a load sweep plots the classes' figures only).
pub(super) fn node_result(
    compiled: &Compiled,
    v: usize,
    traffic: &Traffic,
    horizon: f64,
    percentiles: bool,
) -> NodeResult {
    let (flows, linear, average) = (&traffic.solved, &traffic.linear, &traffic.average);
    let class_count = compiled.classes.len();
    let node = &compiled.nodes[v];
    let arrivals = &flows.arrivals[v * class_count..(v + 1) * class_count];
    let arrival: f64 = arrivals.iter().sum();
    let average_throughput: f64 = average.arrivals[v * class_count..(v + 1) * class_count]
        .iter()
        .sum();
    let linear_arrivals = &linear.arrivals[v * class_count..(v + 1) * class_count];
    let Some(service) = node.service.as_ref() else {
        return delay_result(
            node,
            class_count,
            (arrival, average_throughput),
            percentiles,
        );
    };
    let pools = &flows.pools[v];
    let totals = PoolTotals::of(pools, &node.groups);
    let in_system = totals.in_queues + totals.throughput * node.base;
    let inputs = pool_inputs(node, arrivals, horizon);
    let queue = busiest_queue(node, inputs.as_deref(), pools);

    let linear_inputs = if same_bits(linear_arrivals, arrivals) {
        None
    } else {
        pool_inputs(node, linear_arrivals, horizon)
    };
    let Busiest {
        saturation,
        arrival: busiest_arrival,
        capacity: busiest_capacity,
        retried,
    } = Busiest::of(
        linear_inputs.as_deref().or(inputs.as_deref()),
        inputs.as_deref(),
        pools,
    );

    let (waits, mean_wait) = group_waits(pools, &node.groups);
    let mut class_mean = ClassFigures::new();
    for s in service.iter() {
        class_mean.push(node.base + mean_wait + s);
    }
    let class_weights = class_weights(arrivals, arrival);
    let mean = if class_count == 0 {
        node.base
    } else {
        class_mean
            .iter()
            .zip(&class_weights)
            .map(|(m, w)| m * w)
            .sum()
    };
    let latency = if percentiles {
        node_percentiles(node, &class_weights, &waits, mean, &[])
    } else {
        Latency::constant(mean)
    };
    NodeResult {
        servers: node.groups.iter().map(|g| g.count * g.servers).sum(),
        arrival,
        throughput: totals.throughput,
        dropped: totals.dropped,
        backlog: totals.backlog,
        utilization: totals.utilization,
        offered_utilization: totals.offered_utilization,
        queue_len: totals.queue_len,
        in_system,
        latency,
        status: totals.status(arrival),
        saturation,
        busiest_arrival,
        busiest_capacity,
        retried,
        average_throughput,
        class_mean,
        waits,
        unsettled: totals.utilization >= 0.5
            && inputs
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(unsettled_within_horizon),
        queue,
    }
}

/// A pure delay (no service): no queue, everything passes after the fixed (or random)
/// latency. `rates` are the node's arrivals at the solved load and at the average.
fn delay_result(
    node: &CompiledNode,
    class_count: usize,
    (arrival, average_throughput): (f64, f64),
    percentiles: bool,
) -> NodeResult {
    let waits: Waits = smallvec![(1.0, WaitDist::Zero)];
    let latency = if node.base_cv > 0.0 && percentiles {
        node_percentiles(node, &[], &waits, node.base, &[])
    } else {
        Latency::constant(node.base)
    };
    NodeResult {
        servers: 0,
        arrival,
        throughput: arrival,
        dropped: 0.0,
        backlog: 0.0,
        utilization: 0.0,
        offered_utilization: 0.0,
        queue_len: 0.0,
        in_system: arrival * node.base,
        latency,
        status: if arrival > 0.0 {
            Status::Healthy
        } else {
            Status::Idle
        },
        saturation: 0.0,
        busiest_arrival: 0.0,
        busiest_capacity: 0.0,
        retried: false,
        average_throughput,
        class_mean: smallvec![node.base; class_count],
        waits,
        unsettled: false,
        queue: None,
    }
}

/// A node's figures summed over its queues (the busiest queue's for the utilizations).
struct PoolTotals {
    throughput: f64,
    dropped: f64,
    backlog: f64,
    queue_len: f64,
    in_queues: f64,
    utilization: f64,
    offered_utilization: f64,
}

impl PoolTotals {
    fn of(pools: &[PoolSolution], groups: &[PoolGroup]) -> PoolTotals {
        let mut totals = PoolTotals {
            throughput: 0.0,
            dropped: 0.0,
            backlog: 0.0,
            queue_len: 0.0,
            in_queues: 0.0,
            utilization: 0.0,
            offered_utilization: 0.0,
        };
        for (pool, group) in pools.iter().zip(groups) {
            let count = group.count as f64;
            totals.throughput += pool.throughput * count;
            totals.dropped += pool.dropped * count;
            totals.backlog += pool.backlog_growth * count;
            totals.queue_len += pool.mean_queue * count;
            totals.in_queues += pool.mean_in_system * count;
            totals.utilization = totals.utilization.max(pool.utilization);
            totals.offered_utilization = totals.offered_utilization.max(pool.offered_utilization);
        }
        totals
    }

    /// The node's status: idle, overloaded (a growing backlog), saturated (dropping more than
    /// 1%), warm (70% busy) or healthy.
    fn status(&self, arrival: f64) -> Status {
        if arrival <= 0.0 {
            Status::Idle
        } else if self.backlog > 0.0 {
            Status::Overloaded
        } else if self.dropped > 0.01 * arrival {
            Status::Saturated
        } else if self.utilization >= 0.7 {
            Status::Warm
        } else {
            Status::Healthy
        }
    }
}

/// The node's wait as a mixture over its pool groups, weighted by throughput (the one
/// certain zero wait when idle), and the mean wait of that mixture.
fn group_waits(pools: &[PoolSolution], groups: &[PoolGroup]) -> (Waits, f64) {
    let total_weight: f64 = pools
        .iter()
        .zip(groups)
        .map(|(p, g)| p.throughput * g.count as f64)
        .sum();
    if total_weight <= 0.0 {
        return (smallvec![(1.0, WaitDist::Zero)], 0.0);
    }
    // Pushed one by one: a collect into the inline list is not inlined here and costs more.
    let mut waits = Waits::new();
    for (p, g) in pools.iter().zip(groups) {
        waits.push((p.throughput * g.count as f64 / total_weight, p.wait.clone()));
    }
    let mean_wait = pools
        .iter()
        .zip(groups)
        .map(|(p, g)| p.mean_wait * p.throughput * g.count as f64 / total_weight)
        .sum();
    (waits, mean_wait)
}

/// Each class's share of the node's arrivals (equal shares when none arrive).
pub(super) fn class_weights(arrivals: &[f64], arrival: f64) -> ClassFigures {
    if arrival > 0.0 {
        // Pushed one by one, as the waits: a collect here is not inlined.
        let mut weights = ClassFigures::new();
        for a in arrivals {
            weights.push(a / arrival);
        }
        weights
    } else {
        let n = arrivals.len().max(1) as f64;
        smallvec![1.0 / n; arrivals.len()]
    }
}

/// The bottleneck's measure at a node: the offered load of its busiest queue, with that
/// queue's arrivals and capacity (req/s per queue).
struct Busiest {
    saturation: f64,
    arrival: f64,
    capacity: f64,
    /// The saturation comes from the solved traffic, retries included (not the linear view).
    retried: bool,
}

impl Busiest {
    /// The busiest queue in the linear view (`linear_inputs`: every node passes all it
    /// receives, so the load scales with the multiplier). Retries of drops add load that view
    /// cannot see: where the solved traffic (`pools`, solved from `inputs`) overloads a queue
    /// beyond what the linear view offers it, that counts, so a retry storm at the current
    /// load is never reported as headroom. The capacity comes from the queue's input: its
    /// drops may include retries refused again, which never loaded it
    /// (`finite_wait::settle_self_retry`).
    fn of(
        linear_inputs: Option<&[PoolInput]>,
        inputs: Option<&[PoolInput]>,
        pools: &[PoolSolution],
    ) -> Busiest {
        let mut busiest = Busiest {
            saturation: 0.0,
            arrival: 0.0,
            capacity: 0.0,
            retried: false,
        };
        for input in linear_inputs.unwrap_or_default() {
            let offered = input.arrival * input.mean_service / input.servers as f64;
            if offered > busiest.saturation {
                busiest.saturation = offered;
                busiest.arrival = input.arrival;
                busiest.capacity = input.servers as f64 / input.mean_service;
            }
        }
        for (group, pool) in pools.iter().enumerate() {
            let offered = pool.offered_utilization;
            if offered >= 1.0 && offered > busiest.saturation * (1.0 + 1e-9) {
                let capacity = inputs
                    .and_then(|inputs| inputs.get(group))
                    .map(|input| input.servers as f64 / input.mean_service)
                    .filter(|capacity| capacity.is_finite() && *capacity > 0.0)
                    .unwrap_or((pool.throughput + pool.dropped + pool.backlog_growth) / offered);
                busiest = Busiest {
                    saturation: offered,
                    arrival: capacity * offered,
                    capacity,
                    retried: true,
                };
            }
        }
        busiest
    }
}

/// Node response-time percentiles: closed form for a single M/M/c queue, transform inversion
/// for mixtures (shards, classes with different service rates, finite buffers, non-exponential
/// service, overload, waits for a connection at a pool the node holds).
pub(super) fn node_percentiles(
    node: &CompiledNode,
    class_weights: &[f64],
    waits: &[(f64, WaitDist)],
    mean: f64,
    held: &[HeldPoolWait],
) -> Latency {
    // A random delay goes into the inverted transform; a constant one is added after.
    let random_delay = node.base_cv > 0.0 && node.base > 0.0;
    let base = node.constant_base();
    let queue_mean = mean - base;
    let service = node.service.as_deref().unwrap_or(&[]);
    if queue_mean <= 0.0 || (service.is_empty() && held.is_empty() && !random_delay) {
        return Latency::constant(mean);
    }
    // Closed form whenever every component is an exponential, uniform (or no) wait followed by
    // an exponential service: a mixture over pool groups and classes of M/M/c response times
    // and of fluid-backlog ones.
    let closed = (node.shape == ServiceShape::Exponential && held.is_empty() && !random_delay)
        .then(|| match single_mmc(waits, service, class_weights) {
            Some(term) => Some(mmc_percentiles(term, queue_mean)),
            None => CLOSED_FORM.with_borrow_mut(|(components, exponentials)| {
                closed_form_components(waits, service, class_weights, components)
                    .then(|| closed_form_percentiles(components, exponentials, queue_mean))
            }),
        })
        .flatten();
    let [p50, p95, p99] = match closed {
        Some(found) => found,
        None => {
            let no_held_wait: f64 = held.iter().map(HeldPoolWait::zero_mass).product();
            // Only the classes that come here: a design of many workloads would otherwise
            // evaluate every class's service at every node and point (a term of weight 0 adds
            // nothing to the mixture, so the figures are the same to the bit).
            let classes: Vec<(f64, f64)> = service
                .iter()
                .zip(class_weights)
                .map(|(mean, weight)| (*mean, *weight))
                .filter(|(_, weight)| *weight != 0.0)
                .collect();
            let mut atoms = Vec::new();
            for (k, weight) in class_weights.iter().enumerate() {
                if *weight == 0.0 {
                    continue;
                }
                for (time, mass) in own_atoms(node, waits, k) {
                    atoms.push((time - base, mass * weight * no_held_wait));
                }
            }
            let atoms = merge_atoms(atoms);
            let found = percentiles_with_atoms(queue_mean, &LEVELS, &atoms, |points, values| {
                for (s, value) in points.iter().zip(values.iter_mut()) {
                    let own = if service.is_empty() {
                        Complex64::new(1.0, 0.0)
                    } else {
                        queue_lst(node, &classes, waits, *s)
                    };
                    let own = own * random_delay_lst(node, *s);
                    *value = held.iter().fold(own, |total, pool| total * pool.lst(*s));
                }
            });
            [found[0], found[1], found[2]]
        }
    };
    Latency {
        mean,
        p50: base + p50,
        p95: base + p95,
        p99: base + p99,
    }
}

/// p50, p95 and p99 of a mixture of closed-form responses of mean `mean`: M/M/c ones as one
/// sum of exponentials ([`ExponentialTail`], Halley's method), others term by term.
fn closed_form_percentiles(
    components: &[Component],
    exponentials: &mut ExponentialTail,
    mean: f64,
) -> [f64; 3] {
    exponentials.clear();
    for component in components {
        let WaitShape::Exponential(rate) = component.wait else {
            return NODE_LEVELS.map(|level| {
                quantile_at(level, mean, |t| {
                    let (mut tail, mut density) = (0.0, 0.0);
                    for component in components {
                        let (component_tail, component_density) = component.tail(t);
                        tail += component.weight * component_tail;
                        density += component.weight * component_density;
                    }
                    (tail, density)
                })
            });
        };
        exponentials.add_mmc(
            component.weight,
            component.p_wait,
            rate,
            component.service_rate,
        );
    }
    exponential_quantiles(*NODE_LEVELS, mean, exponentials)
}

/// The one M/M/c term of a node's response-time mixture: its weight, P(wait), the wait's
/// rate θ and the service rate μ.
#[derive(Clone, Copy, Debug, PartialEq)]
struct MmcTerm {
    weight: f64,
    p_wait: f64,
    wait_rate: f64,
    service_rate: f64,
}

/// The one term of a node with a single queue group whose wait is exponential (or none) and
/// whose classes here all have the same service time, the usual node: the [`Component`] that
/// [`closed_form_components`] would merge them into, its weight summed in the same order (so
/// the figures are the same to the bit); `None` for any other node.
fn single_mmc(
    waits: &[(f64, WaitDist)],
    service: &[f64],
    class_weights: &[f64],
) -> Option<MmcTerm> {
    let [(group_weight, dist)] = waits else {
        return None;
    };
    let (p_wait, wait_rate) = match dist {
        WaitDist::Zero => (0.0, 1.0),
        WaitDist::Exponential { p_wait, rate } => (*p_wait, *rate),
        _ => return None,
    };
    let mut single: Option<MmcTerm> = None;
    let classes = service.iter().zip(class_weights);
    for (mean_service, class_weight) in classes.filter(|(_, weight)| **weight > 0.0) {
        let (weight, service_rate) = (group_weight * class_weight, 1.0 / mean_service);
        match &mut single {
            None => {
                single = Some(MmcTerm {
                    weight,
                    p_wait,
                    wait_rate,
                    service_rate,
                });
            }
            Some(term) if term.service_rate == service_rate => term.weight += weight,
            Some(_) => return None,
        }
    }
    single
}

/// p50, p95 and p99 of the one M/M/c term `term` ([`single_mmc`]) of mean `mean`:
/// [`closed_form_percentiles`] of that term alone, on a tail built on the stack.
fn mmc_percentiles(term: MmcTerm, mean: f64) -> [f64; 3] {
    let mut exponentials = ExponentialTail::default();
    exponentials.add_mmc(term.weight, term.p_wait, term.wait_rate, term.service_rate);
    exponential_quantiles(*NODE_LEVELS, mean, &exponentials)
}

thread_local! {
    /// Each thread's buffers for [`closed_form_percentiles`] (the terms of one node at a time),
    /// so that a node's closed-form percentiles allocate nothing.
    static CLOSED_FORM: std::cell::RefCell<(Vec<Component>, ExponentialTail)> =
        std::cell::RefCell::default();
}

/// The levels of a node's percentiles: p50, p95, p99.
const LEVELS: [f64; 3] = [0.50, 0.95, 0.99];

/// [`LEVELS`] with their logarithms, worked out once.
static NODE_LEVELS: std::sync::LazyLock<[Level; 3]> =
    std::sync::LazyLock::new(|| LEVELS.map(Level::new));

/// The inputs and results of the node's queue with the highest offered load, as the report
/// shows them (ms).
fn busiest_queue(
    node: &CompiledNode,
    inputs: Option<&[PoolInput]>,
    pools: &[PoolSolution],
) -> Option<QueueModel> {
    let (input, pool, group) = inputs?
        .iter()
        .zip(pools)
        .zip(&node.groups)
        .map(|((input, pool), group)| (input, pool, group))
        .max_by(|a, b| a.1.offered_utilization.total_cmp(&b.1.offered_utilization))?;
    Some(QueueModel {
        queues: group.count,
        servers: input.servers,
        arrival_rps: figure(input.arrival),
        mean_service_ms: figure(input.mean_service * 1000.0),
        service_scv: figure(input.service_scv),
        buffer: input.buffer,
        offered_load: figure(input.arrival * input.mean_service),
        wait_probability: figure((1.0 - pool.wait.zero_mass()).clamp(0.0, 1.0)),
        mean_wait_ms: figure(pool.mean_wait * 1000.0),
    })
}

/// Whether two slices hold the same numbers to the bit (the same pool inputs follow).
fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// A wait whose response tail (with an exponential service) has a closed form.
#[derive(Clone, Copy, Debug, PartialEq)]
enum WaitShape {
    /// Exponential with this rate (M/M/c).
    Exponential(f64),
    /// Uniform between 0 and this maximum (a fluid backlog).
    Uniform(f64),
}

/// One term of a node's response-time mixture in closed form.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Component {
    weight: f64,
    p_wait: f64,
    wait: WaitShape,
    service_rate: f64,
}

impl Component {
    /// P(T > t) and the density of T for this term's wait plus service.
    fn tail(&self, t: f64) -> (f64, f64) {
        match self.wait {
            WaitShape::Exponential(rate) => {
                mmc_response_tail(self.p_wait, rate, self.service_rate, t)
            }
            WaitShape::Uniform(max) => {
                uniform_response_tail(self.p_wait, max, self.service_rate, t)
            }
        }
    }
}

/// The terms of a node's response-time mixture in closed form (one per pool group's wait part
/// and class, equal ones merged), for exponential service times `service` and `waits`, into
/// `merged` (emptied first); false when some wait has no closed form.
fn closed_form_components(
    waits: &[(f64, WaitDist)],
    service: &[f64],
    class_weights: &[f64],
    merged: &mut Vec<Component>,
) -> bool {
    merged.clear();
    let mut add = |group_weight: f64, p_wait: f64, wait: WaitShape| {
        let classes = service.iter().zip(class_weights);
        for (mean_service, class_weight) in classes.filter(|(_, weight)| **weight > 0.0) {
            merge_component(
                merged,
                Component {
                    weight: group_weight * class_weight,
                    p_wait,
                    wait,
                    service_rate: 1.0 / mean_service,
                },
            );
        }
    };
    waits
        .iter()
        .all(|(group_weight, dist)| closed_form_waits(dist, *group_weight, &mut add))
}

/// Whether a node's response with the wait `dist` and an exponential service has a closed
/// form (no numerical inversion is needed for its percentiles): [`closed_form_waits`] with
/// its parts passed nowhere.
pub(super) fn has_closed_form(dist: &WaitDist) -> bool {
    closed_form_waits(dist, 1.0, &mut |_, _, _| {})
}

/// Passes the closed-form parts of `dist` (weighted by `weight`) to `out` as (weight,
/// P(wait), shape); false when some part has no closed form (it is then inverted numerically).
fn closed_form_waits(
    dist: &WaitDist,
    weight: f64,
    out: &mut impl FnMut(f64, f64, WaitShape),
) -> bool {
    match dist {
        WaitDist::Zero => out(weight, 0.0, WaitShape::Exponential(1.0)),
        WaitDist::Exponential { p_wait, rate } => {
            out(weight, *p_wait, WaitShape::Exponential(*rate))
        }
        WaitDist::Uniform { p_wait, max, cap } if cap >= max => {
            out(weight, *p_wait, WaitShape::Uniform(*max))
        }
        WaitDist::Mixture(parts) => {
            return parts
                .iter()
                .all(|(part_weight, part)| closed_form_waits(part, weight * part_weight, out))
        }
        _ => return false,
    }
    true
}

/// Adds `component` to `merged`, to the weight of a component of the same distribution if there
/// is one (e.g. classes with one service time): fewer terms to evaluate in every step of the
/// quantile search, and the same mixture.
fn merge_component(merged: &mut Vec<Component>, component: Component) {
    let same = |m: &&mut Component| {
        (m.p_wait, m.wait, m.service_rate)
            == (component.p_wait, component.wait, component.service_rate)
    };
    match merged.iter_mut().find(same) {
        Some(existing) => existing.weight += component.weight,
        None => merged.push(component),
    }
}

/// Transform of a node's queueing response (wait + service), mixed over pools and over
/// `classes`, each class's (mean service, weight).
pub(super) fn queue_lst(
    node: &CompiledNode,
    classes: &[(f64, f64)],
    waits: &[(f64, WaitDist)],
    s: Complex64,
) -> Complex64 {
    let wait: Complex64 = waits.iter().map(|(w, dist)| dist.lst(s) * *w).sum();
    let service: Complex64 = classes
        .iter()
        .map(|(mean, w)| node.shape.lst(*mean, s) * *w)
        .sum();
    wait * service
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The general closed-form path of a node: its components merged, then their tail searched.
    fn general(waits: &[(f64, WaitDist)], service: &[f64], weights: &[f64], mean: f64) -> [f64; 3] {
        let mut components = Vec::new();
        assert!(closed_form_components(
            waits,
            service,
            weights,
            &mut components
        ));
        closed_form_percentiles(&components, &mut ExponentialTail::default(), mean)
    }

    #[test]
    fn the_single_mmc_path_gives_the_general_paths_percentiles_to_the_bit() {
        let exponential = WaitDist::Exponential {
            p_wait: 0.37,
            rate: 41.0,
        };
        // Weights whose sum rounds (0.7 + 0.2 + 0.1 ≠ 1 in floating point), so the order of
        // the sum matters; an idle class; no wait at all.
        let cases: [(WaitDist, &[f64], &[f64]); 4] = [
            (exponential.clone(), &[0.01, 0.01, 0.01], &[0.7, 0.2, 0.1]),
            (exponential.clone(), &[0.02, 0.5], &[1.0, 0.0]),
            (exponential, &[0.004], &[1.0]),
            (WaitDist::Zero, &[0.01, 0.01], &[0.3, 0.7]),
        ];
        for (dist, service, weights) in cases {
            let waits = [(1.0, dist)];
            let mean = 0.012;
            let term = single_mmc(&waits, service, weights).expect("one M/M/c term");
            let direct = mmc_percentiles(term, mean);
            let expected = general(&waits, service, weights, mean);
            assert_eq!(direct.map(f64::to_bits), expected.map(f64::to_bits));
            assert!(direct[0] > 0.0 && direct[0] < direct[1] && direct[1] < direct[2]);
        }
    }

    #[test]
    fn nodes_with_two_service_times_or_two_groups_take_the_general_path() {
        let wait = WaitDist::Exponential {
            p_wait: 0.2,
            rate: 30.0,
        };
        assert_eq!(
            single_mmc(&[(1.0, wait.clone())], &[0.01, 0.02], &[0.5, 0.5]),
            None
        );
        assert_eq!(
            single_mmc(&[(0.5, wait.clone()), (0.5, wait)], &[0.01], &[1.0]),
            None
        );
    }
}
