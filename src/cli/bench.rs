//! `bench` and `simulate`: the solver's and simulator's speed, and the model checked against a
//! simulation.

use super::args::{BenchArgs, SimulateArgs};
use super::{load_input, source_label};
use crate::InputError;
use anyhow::Context;
use staircase::io::presets;
use staircase::{solver, Params, Topology};

/// `staircase bench`: solve times on generated topologies of the given sizes, both fresh (check,
/// compile and solve) and re-solved on the compiled topology (what a parameter or load change
/// costs); or, with `--sweep`, 40-point load sweeps.
pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let BenchArgs {
        sizes,
        repeat,
        full,
        sweep,
        ..
    } = args;
    check_bench_arguments(&sizes, repeat)?;
    for size in sizes {
        let topology = staircase::analysis::generate::layered(size, 1);
        if sweep {
            let loads: Vec<f64> = (1..=SWEEP_POINTS).map(|i| i as f64 * 0.05).collect();
            let times = median_of(repeat, || {
                staircase::analysis::sweep::load_sweep(&topology, &Params::default(), &loads)
                    .map(|sweep| sweep.points.len())
            })?;
            say!(
                "{size:>8} nodes  {SWEEP_POINTS}-point load sweep  median {:>9.3} ms  min {:>9.3} ms  ({} sweeps)",
                times.median, times.min, repeat
            );
            continue;
        }
        let params = Params {
            class_percentiles: full,
            ..Params::default()
        };
        let fresh = median_of(repeat, || solver::solve(&topology, &params))?;
        let compiled = solver::Solver::new(&topology).map_err(|e| InputError(e.to_string()))?;
        let again = median_of(repeat, || compiled.solve(&params))?;
        say!(
            "{size:>8} nodes  median {:>9.3} ms  min {:>9.3} ms  per node {:>7.3} us  re-solve median {:>9.3} ms  min {:>9.3} ms  ({} solves{})",
            fresh.median,
            fresh.min,
            fresh.median * 1000.0 / size as f64,
            again.median,
            again.min,
            repeat,
            if full { ", with end-to-end percentiles" } else { "" }
        );
    }
    Ok(())
}

/// Load points of `bench --sweep` (as many as the app's latency chart).
const SWEEP_POINTS: usize = 40;

/// Median and fastest of `repeat` timed runs, ms.
struct Times {
    median: f64,
    min: f64,
}

/// Runs `work` `repeat` times and times it; the first error stops the bench.
fn median_of<T>(
    repeat: usize,
    mut work: impl FnMut() -> Result<T, solver::SolveError>,
) -> Result<Times, InputError> {
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let started = std::time::Instant::now();
        let result = work().map_err(|e| InputError(e.to_string()))?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(result);
    }
    times.sort_by(f64::total_cmp);
    Ok(Times {
        median: times[times.len() / 2],
        min: times[0],
    })
}

/// `staircase simulate`: a file or preset simulated and compared with the model, figure by figure.
pub fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    let SimulateArgs {
        file,
        preset,
        load,
        customers,
        replications,
        seed,
        json,
    } = args;
    let topology = load_input(file.as_deref(), preset.as_deref())?;
    let params = staircase::analysis::simulate::SimParams {
        load_multiplier: load,
        customers,
        replications,
        seed,
        ..Default::default()
    };
    simulate_and_compare(&topology, &params, &source_label(&file, &preset), json)
}

/// Most solves per size `bench` runs.
const MAX_BENCH_REPEAT: usize = 10_000;

/// Refuses bench arguments that would run without end or exhaust memory.
fn check_bench_arguments(sizes: &[usize], repeat: usize) -> Result<(), InputError> {
    if !(1..=MAX_BENCH_REPEAT).contains(&repeat) {
        return Err(InputError(format!(
            "--repeat must be from 1 to {MAX_BENCH_REPEAT}, found {repeat}"
        )));
    }
    let limit = staircase::model::MAX_NODES;
    if let Some(size) = sizes.iter().find(|&&size| !(1..=limit).contains(&size)) {
        return Err(InputError(format!(
            "--sizes must be node counts from 1 to {limit}, found {size}"
        )));
    }
    Ok(())
}

/// Solves and simulates `topology`, then prints the comparison.
fn simulate_and_compare(
    topology: &Topology,
    params: &staircase::analysis::simulate::SimParams,
    label: &str,
    json: bool,
) -> anyhow::Result<()> {
    use staircase::analysis::simulate::compare::Comparison;
    let solve_params = Params {
        load_multiplier: params.load_multiplier,
        ..Params::default()
    };
    let model =
        solver::solve(topology, &solve_params).map_err(|e| InputError(format!("{label}: {e}")))?;
    let simulation = staircase::analysis::simulate::simulate(topology, params)
        .map_err(|e| InputError(format!("{label}: {e}")))?;
    let comparison = Comparison::new(&model, &simulation);
    if json {
        let value = serde_json::json!({
            "model": model,
            "simulation": simulation,
            "comparison": comparison,
        });
        say!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    say!(
        "{}: {} replications of {} requests (seed {}), 95% confidence intervals",
        topology.name,
        params.replications,
        params.customers,
        params.seed
    );
    say_raw!("{}", comparison.to_text());
    let differing = comparison.differing().count();
    say!(
        "{differing} of {} figures differ beyond tolerance and noise (rates {:.0}%, means {:.0}%, p95 {:.0}%, p99 {:.0}%)",
        comparison.rows.len(),
        comparison.tolerances.rates * 100.0,
        comparison.tolerances.means * 100.0,
        comparison.tolerances.p95 * 100.0,
        comparison.tolerances.p99 * 100.0
    );
    for warning in &model.warnings {
        say!("model warning: {warning}");
    }
    Ok(())
}

/// Node visits per second of the simulator on one core, on the default preset.
pub fn bench_simulation() -> anyhow::Result<()> {
    let topology = presets::default_topology().context("the default preset")?;
    let params = staircase::analysis::simulate::SimParams {
        customers: 1_000_000,
        replications: 2,
        parallel: false,
        ..Default::default()
    };
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let simulation = staircase::analysis::simulate::simulate(&topology, &params)
            .map_err(|e| InputError(e.to_string()))?;
        let seconds = started.elapsed().as_secs_f64();
        say!(
            "simulate {}: {} node visits in {:.3} s on one core: {:.2} million visits/s",
            topology.name,
            simulation.visits,
            seconds,
            simulation.visits as f64 / seconds / 1e6
        );
    }
    Ok(())
}
