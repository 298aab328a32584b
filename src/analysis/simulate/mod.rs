//! A discrete-event simulator of the model: the topology the solver compiles, run request by
//! request, so the closed-form figures can be checked against a simulation of the very same
//! assumptions (Poisson arrivals, or gamma ones at a workload's arrival cv; the service-time
//! shapes; every routing rule).
//!
//! Independent replications (seeded, reproducible) each discard a warm-up and measure a
//! window; every figure comes with a 95% confidence half-width from Student's t. Replications
//! run on rayon with the `parallel` feature. No user-interface code lives here.

pub mod compare;
pub mod events;
pub mod sampling;
pub mod stats;

use crate::model::Topology;
use crate::solver::network::{network, Network};
use crate::solver::{Params, SolveError};
use events::{Engine, RunConfig, RunFigures};
pub use sampling::Family;
use serde::Serialize;
use stats::estimate;
pub use stats::Estimate;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// How to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct SimParams {
    /// Scales every workload, as in the solver.
    pub load_multiplier: f64,
    /// Simulate at the workloads' peak rate (as the solver does by default).
    pub at_peak: bool,
    /// Requests entering at the clients in each replication's measured window.
    pub customers: u64,
    /// Share of `customers` simulated first and discarded (the warm-up).
    pub warmup_fraction: f64,
    /// Independent replications (at least 2 for a confidence interval).
    pub replications: u32,
    pub seed: u64,
    /// Distribution of service times whose cv is neither 0 nor 1.
    pub family: Family,
    /// Run replications on rayon (with the `parallel` feature).
    pub parallel: bool,
}

impl Default for SimParams {
    fn default() -> Self {
        SimParams {
            load_multiplier: 1.0,
            at_peak: true,
            customers: 200_000,
            warmup_fraction: 0.2,
            replications: 10,
            seed: 1,
            family: Family::Gamma,
            parallel: true,
        }
    }
}

/// Why a simulation did not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimulateError {
    #[error(transparent)]
    Solve(#[from] SolveError),
    #[error("{0}")]
    BadParams(String),
    #[error("the simulation was cancelled")]
    Cancelled,
}

/// Mean and percentiles of a simulated response time, milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LatencyEstimate {
    pub mean: Estimate,
    pub p50: Estimate,
    pub p95: Estimate,
    pub p99: Estimate,
}

/// Simulated figures of one node (the fields of [`crate::solver::report::NodeReport`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeEstimate {
    pub id: u32,
    pub name: String,
    pub arrival_rps: Estimate,
    pub throughput_rps: Estimate,
    pub dropped_rps: Estimate,
    pub utilization: Estimate,
    pub queue_len: Estimate,
    pub in_system: Estimate,
    pub latency_ms: LatencyEstimate,
    /// Mean wait for a database connection per request served here (pool holders), ms.
    pub connection_wait_ms: Estimate,
}

/// Simulated end-to-end figures of one class (the fields of [`crate::solver::report::ClassReport`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassEstimate {
    pub name: String,
    pub offered_rps: Estimate,
    pub served_rps: Estimate,
    pub latency_ms: LatencyEstimate,
}

/// What a simulation measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Simulation {
    pub nodes: Vec<NodeEstimate>,
    pub classes: Vec<ClassEstimate>,
    pub replications: u32,
    pub customers: u64,
    /// Node visits simulated over all replications, warm-ups included.
    pub visits: u64,
    /// Simulated seconds per replication, warm-up included.
    pub simulated_seconds: f64,
}

impl Simulation {
    /// The simulated means in the solver's [`crate::Report`] shape: `model` supplies what a
    /// simulation does not measure (costs, bottleneck, headroom, node kinds and tiers).
    pub fn to_report(&self, model: &crate::Report) -> crate::Report {
        let mut report = model.clone();
        let latency = |l: &LatencyEstimate| crate::solver::report::Latency {
            mean: l.mean.mean,
            p50: l.p50.mean,
            p95: l.p95.mean,
            p99: l.p99.mean,
        };
        for (node, sim) in report.nodes.iter_mut().zip(&self.nodes) {
            node.arrival_rps = sim.arrival_rps.mean;
            node.throughput_rps = sim.throughput_rps.mean;
            node.dropped_rps = sim.dropped_rps.mean;
            node.utilization = sim.utilization.mean;
            node.queue_len = sim.queue_len.mean;
            node.in_system = sim.in_system.mean;
            node.latency_ms = latency(&sim.latency_ms);
            node.connection_wait_ms = sim.connection_wait_ms.mean;
        }
        for (class, sim) in report.classes.iter_mut().zip(&self.classes) {
            class.offered_rps = sim.offered_rps.mean;
            class.served_rps = sim.served_rps.mean;
            class.latency_ms = latency(&sim.latency_ms);
        }
        report.offered_rps = self.classes.iter().map(|c| c.offered_rps.mean).sum();
        report.served_rps = self.classes.iter().map(|c| c.served_rps.mean).sum();
        report
    }
}

/// Simulates `topology` with `params`.
pub fn simulate(topology: &Topology, params: &SimParams) -> Result<Simulation, SimulateError> {
    simulate_with_progress(topology, params, &|_| true)
}

/// Simulates, calling `progress` with the share done (0 to 1) now and then; when it returns
/// false the simulation stops with [`SimulateError::Cancelled`].
pub fn simulate_with_progress(
    topology: &Topology,
    params: &SimParams,
    progress: &(dyn Fn(f64) -> bool + Sync),
) -> Result<Simulation, SimulateError> {
    check(params)?;
    let solver_params = Params {
        load_multiplier: params.load_multiplier,
        at_peak: params.at_peak,
        ..Params::default()
    };
    let network = network(topology, &solver_params)?;
    let total_rate: f64 = network.classes.iter().map(|c| c.rate).sum();
    let window = if total_rate > 0.0 {
        params.customers as f64 / total_rate
    } else {
        1.0
    };
    let warmup = window * params.warmup_fraction;
    let replications = params.replications as usize;
    let done = AtomicU64::new(0);
    let cancelled = AtomicBool::new(false);
    let run = |r: usize| -> Option<RunFigures> {
        let config = RunConfig {
            warmup,
            end: warmup + window,
            seed: replication_seed(params.seed, r),
            family: params.family,
        };
        // Progress in thousandths of the whole job.
        let mut last = 0u64;
        let mut keep_going = |share: f64| {
            let now = (share * 1000.0) as u64;
            let total =
                done.fetch_add(now - last.min(now), Ordering::Relaxed) + now - last.min(now);
            last = now;
            let fine = !cancelled.load(Ordering::Relaxed)
                && progress(total as f64 / (1000.0 * replications as f64));
            if !fine {
                cancelled.store(true, Ordering::Relaxed);
            }
            fine
        };
        let figures = Engine::new(&network, config).run(&mut keep_going);
        done.fetch_add(1000 - last.min(1000), Ordering::Relaxed);
        figures
    };
    let runs: Vec<Option<RunFigures>> = map_replications(replications, params.parallel, run);
    let runs: Option<Vec<RunFigures>> = runs.into_iter().collect();
    let runs = runs.ok_or(SimulateError::Cancelled)?;
    Ok(summarise(
        topology,
        &network,
        &runs,
        params,
        warmup + window,
    ))
}

fn check(params: &SimParams) -> Result<(), SimulateError> {
    if params.replications < 2 {
        return Err(SimulateError::BadParams(format!(
            "at least 2 replications are needed for a confidence interval, found {}",
            params.replications
        )));
    }
    if params.customers < 100 {
        return Err(SimulateError::BadParams(format!(
            "at least 100 customers per replication are needed, found {}",
            params.customers
        )));
    }
    if !(params.warmup_fraction.is_finite() && (0.0..=10.0).contains(&params.warmup_fraction)) {
        return Err(SimulateError::BadParams(format!(
            "the warm-up fraction must be from 0 to 10, found {}",
            params.warmup_fraction
        )));
    }
    Ok(())
}

/// A seed per replication, spread by the SplitMix64 increment so streams do not overlap in
/// their starting states.
fn replication_seed(seed: u64, replication: usize) -> u64 {
    seed.wrapping_add((replication as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn map_replications<T: Send>(
    n: usize,
    parallel: bool,
    f: impl Fn(usize) -> T + Sync + Send,
) -> Vec<T> {
    #[cfg(feature = "parallel")]
    if parallel {
        use rayon::prelude::*;
        return (0..n).into_par_iter().map(f).collect();
    }
    let _ = parallel;
    (0..n).map(f).collect()
}

/// Means and half-widths over the replications.
fn summarise(
    topology: &Topology,
    network: &Network,
    runs: &[RunFigures],
    params: &SimParams,
    seconds: f64,
) -> Simulation {
    let over = |f: &dyn Fn(&RunFigures) -> f64| estimate(&runs.iter().map(f).collect::<Vec<_>>());
    let latency = |f: &dyn Fn(&RunFigures) -> [f64; 4]| {
        let at = |i: usize| over(&|run| f(run)[i] * 1000.0);
        LatencyEstimate {
            mean: at(0),
            p50: at(1),
            p95: at(2),
            p99: at(3),
        }
    };
    let nodes = topology
        .nodes
        .iter()
        .enumerate()
        .map(|(v, node)| NodeEstimate {
            id: node.id,
            name: node.name.clone(),
            arrival_rps: over(&|run| run.nodes[v].arrival),
            throughput_rps: over(&|run| run.nodes[v].throughput),
            dropped_rps: over(&|run| run.nodes[v].dropped),
            utilization: over(&|run| run.nodes[v].utilization),
            queue_len: over(&|run| run.nodes[v].queue_len),
            in_system: over(&|run| run.nodes[v].in_system),
            latency_ms: latency(&|run| run.nodes[v].latency),
            connection_wait_ms: over(&|run| run.nodes[v].connection_wait * 1000.0),
        })
        .collect();
    let classes = network
        .classes
        .iter()
        .enumerate()
        .map(|(k, class)| ClassEstimate {
            name: class.name.clone(),
            offered_rps: over(&|run| run.classes[k].offered),
            served_rps: over(&|run| run.classes[k].served),
            latency_ms: latency(&|run| run.classes[k].latency),
        })
        .collect();
    Simulation {
        nodes,
        classes,
        replications: params.replications,
        customers: params.customers,
        visits: runs.iter().map(|r| r.visits).sum(),
        simulated_seconds: seconds,
    }
}
