//! The `staircase` command: launches the app, or solves, lists and benchmarks from the terminal.

use anyhow::Context;
use clap::{Parser, Subcommand};
use staircase::io::{document, presets};
use staircase::{solver, Params, Topology};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "staircase",
    version,
    about = "Architecture sandbox: queueing latency, bottleneck and cost of a system you draw"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Open a topology file in the app (a file that cannot be read shows its error there).
    Open {
        /// A .ron topology file; without it the app starts on the default preset (the
        /// desktop entry's `%f` is empty when no file was chosen).
        file: Option<PathBuf>,
    },
    /// Solve a topology and print its report.
    Solve {
        /// A .ron topology file.
        #[arg(required_unless_present = "preset")]
        file: Option<PathBuf>,
        /// Solve a built-in preset instead of a file (see `staircase presets`).
        #[arg(long, conflicts_with = "file")]
        preset: Option<String>,
        /// Multiply every workload by this factor.
        #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
        load: f64,
        /// Solve at the average rate instead of the peak.
        #[arg(long)]
        average: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List the built-in presets.
    Presets,
    /// Compare two designs: cost, latency, availability, bottleneck, and node by node.
    Diff {
        /// The baseline .ron topology file.
        baseline: PathBuf,
        /// The design to compare with it.
        current: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Why a class's latency is what it is: each node's share of its mean, round trips, the
    /// nodes whose waiting stretches its tail, and the formulas behind them.
    Explain {
        /// A .ron topology file.
        file: PathBuf,
        /// The class: workload/class (users/read), or just read when one workload has it.
        #[arg(long)]
        class: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write the latency-vs-load chart, the cost-per-tier chart and the per-node CSV.
    Export {
        /// A .ron topology file.
        file: PathBuf,
        /// Folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Comma-separated formats: png, svg, csv.
        #[arg(long, value_delimiter = ',', default_values_t = ["png".to_string(), "svg".to_string(), "csv".to_string()])]
        format: Vec<String>,
    },
    /// Cheapest instance counts that carry --rps with every class's p99 under --p99-ms.
    Plan {
        /// A .ron topology file.
        file: PathBuf,
        /// Target offered load, req/s (at peak, all workloads together).
        #[arg(long)]
        rps: f64,
        /// p99 goal for every request class, ms.
        #[arg(long = "p99-ms")]
        p99_ms: f64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Step a scenario through time: a day of diurnal load, spikes, backlogs and cost.
    Timeline {
        /// A .ron topology file.
        file: PathBuf,
        /// Simulated hours.
        #[arg(long, default_value_t = 24.0)]
        hours: f64,
        /// Step, seconds.
        #[arg(long, default_value_t = 300.0)]
        step: f64,
        /// Hold the peak rate instead of following a day.
        #[arg(long)]
        flat: bool,
        /// A spike START_S:DURATION_S:MULTIPLIER, e.g. 64800:1200:10 (10x for 20 minutes at 18:00).
        #[arg(long, value_parser = parse_spike)]
        spike: Vec<staircase::analysis::timeline::Spike>,
        /// Also write every step as CSV to this file.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Also write the timeline chart (PNG, SVG) and CSV into this folder.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Autoscale the node with this id; without an id, the busiest tier that scales out.
        /// Also on when --min, --max, --step-policy or --schedule is given.
        #[arg(long, num_args = 0..=1)]
        autoscale: Option<Option<u32>>,
        /// Fewest instances the autoscaler keeps (default: the node's instances).
        #[arg(long)]
        min: Option<u32>,
        /// Most instances the autoscaler may run (default: 10 × the node's instances).
        #[arg(long)]
        max: Option<u32>,
        /// Target utilization of target tracking, percent.
        #[arg(long, default_value_t = 60.0)]
        target: f64,
        /// A step policy instead of target tracking: bands AT_PERCENT:CHANGE, e.g.
        /// "90:5,75:3,60:1,30:0,0:-1" (the highest band the utilization reaches applies).
        #[arg(long, conflicts_with = "schedule")]
        step_policy: Option<String>,
        /// A schedule instead of target tracking: FROM_S:INSTANCES, e.g. "0:4,21600:20".
        #[arg(long)]
        schedule: Option<String>,
        /// Seconds from a scaling decision until new instances serve.
        #[arg(long, default_value_t = 120.0)]
        cold_start: f64,
        /// Seconds after a scaling action before the next.
        #[arg(long, default_value_t = 300.0)]
        cooldown: f64,
    },
    /// Build a topology from what one app tier and one database measure today, and show how
    /// far the model's mean and p95 land from the measured ones (article 002's "know your numbers").
    Calibrate {
        /// Requests per second now.
        #[arg(long)]
        rps: f64,
        /// Requests per second at peak (default: the current rate).
        #[arg(long)]
        peak_rps: Option<f64>,
        /// Database queries per request.
        #[arg(long, default_value_t = 1.0)]
        queries: f64,
        /// Mean response time now, ms.
        #[arg(long)]
        mean_ms: f64,
        /// 95th percentile response time now, ms.
        #[arg(long)]
        p95_ms: f64,
        /// Error rate now, percent.
        #[arg(long, default_value_t = 0.0)]
        error_percent: f64,
        /// App server CPU now, percent.
        #[arg(long)]
        app_cpu: f64,
        /// Database CPU now, percent.
        #[arg(long)]
        db_cpu: f64,
        /// App server instances.
        #[arg(long, default_value_t = 1)]
        app_instances: u32,
        /// Cores per app server.
        #[arg(long, default_value_t = 2)]
        app_cores: u32,
        /// Cores of the database server.
        #[arg(long, default_value_t = 4)]
        db_cores: u32,
        /// Write the calibrated topology to this .ron file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Time the solver on generated topologies (use a release build).
    Bench {
        /// Node counts to generate.
        #[arg(long, value_delimiter = ',', default_values_t = [1_000usize, 10_000, 100_000])]
        sizes: Vec<usize>,
        /// Solves per size (the median is reported).
        #[arg(long, default_value_t = 20)]
        repeat: usize,
        /// Also compute end-to-end percentiles.
        #[arg(long)]
        full: bool,
        /// Time the simulator instead: node visits per second on one core.
        #[arg(long)]
        simulate: bool,
    },
    /// Simulate a topology and compare every figure with the model's.
    Simulate {
        /// A .ron topology file.
        #[arg(required_unless_present = "preset")]
        file: Option<PathBuf>,
        /// Simulate a built-in preset instead of a file.
        #[arg(long, conflicts_with = "file")]
        preset: Option<String>,
        /// Multiply every workload by this factor.
        #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
        load: f64,
        /// Requests entering per replication (after the warm-up).
        #[arg(long, default_value_t = 200_000)]
        customers: u64,
        /// Independent replications (at least 2).
        #[arg(long, default_value_t = 10)]
        replications: u32,
        /// Seed of the random streams (the same seed gives the same figures).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Writes a line to standard output; a closed pipe (`staircase presets | head -1`) ends the
/// program quietly instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// Like [`say!`] without the newline.
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// An error caused by the input (exit code 2), as opposed to the environment (exit code 1).
#[derive(Debug)]
struct InputError(String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for InputError {}

mod review;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`staircase presets | head -1`): nothing to say.
        Err(error)
            if error.chain().any(|cause| {
                cause
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("staircase: {error:#}");
            if error.downcast_ref::<InputError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn load_input(file: Option<&Path>, preset: Option<&str>) -> anyhow::Result<Topology> {
    if let Some(name) = preset {
        let Some(found) = presets::find(name) else {
            return Err(InputError(format!(
                "no preset called \"{name}\"; `staircase presets` lists them"
            ))
            .into());
        };
        return found.load().map_err(|e| InputError(e.to_string()).into());
    }
    let Some(path) = file else {
        return Err(InputError("give a topology file or --preset NAME".into()).into());
    };
    document::load(path).map_err(|e| InputError(e.to_string()).into())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => launch(None),
        Some(Command::Open { file }) => launch(file),
        Some(Command::Presets) => {
            for preset in presets::PRESETS {
                let topology = preset
                    .load()
                    .with_context(|| format!("preset {}", preset.file))?;
                say!(
                    "{:<44} {}",
                    preset.file.trim_end_matches(".ron"),
                    topology.name
                );
            }
            Ok(())
        }
        Some(Command::Diff {
            baseline,
            current,
            json,
        }) => review::diff(&baseline, &current, json),
        Some(Command::Explain { file, class, json }) => review::explain(&file, &class, json),
        Some(Command::Export { file, out, format }) => {
            let topology = load_input(Some(&file), None)?;
            let formats = format
                .iter()
                .map(|f| f.parse::<staircase::io::export::Format>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(InputError)?;
            let label = file.display().to_string();
            let report = solver::solve(&topology, &Params::default())
                .map_err(|e| InputError(format!("{label}: {e}")))?;
            let loads = staircase::analysis::sweep::load_multipliers(report.headroom, 40);
            let sweep =
                staircase::analysis::sweep::load_sweep(&topology, &Params::default(), &loads)
                    .map_err(|e| InputError(format!("{label}: {e}")))?;
            let (stem, name) = staircase::io::export::export_names(Some(&file), &topology.name);
            let written =
                staircase::io::export::export_all(&report, &sweep, &name, &out, &stem, &formats)?;
            for path in written {
                say!("{}", path.display());
            }
            Ok(())
        }
        Some(Command::Plan {
            file,
            rps,
            p99_ms,
            json,
        }) => {
            let topology = load_input(Some(&file), None)?;
            let goal = staircase::analysis::planner::Goal { rps, p99_ms };
            let plan = staircase::analysis::planner::plan(
                &topology,
                &goal,
                staircase::model::catalog::Catalog::builtin(),
            )
            .map_err(|e| InputError(format!("{}: {e}", file.display())))?;
            if json {
                say!("{}", serde_json::to_string_pretty(&plan)?);
            } else {
                say!(
                    "goal {rps} req/s (load x{:.3}), p99 <= {p99_ms} ms: {}",
                    plan.load_multiplier,
                    if plan.met { "met" } else { "NOT met" }
                );
                if let Some(reason) = &plan.reason {
                    say!("{reason}");
                }
                say!(
                    "{:>5} {:<28} {:<10} {:>8} {:>8} {:>12}",
                    "id",
                    "name",
                    "tier",
                    "before",
                    "plan",
                    "$/month"
                );
                for row in &plan.rows {
                    say!(
                        "{:>5} {:<28} {:<10} {:>8} {:>8} {:>12.2}",
                        row.id,
                        row.name,
                        row.tier,
                        row.instances_before,
                        row.instances,
                        row.monthly_cost_usd
                    );
                }
                say!(
                    "worst p99 {:.2} ms, monthly cost ${:.2}",
                    plan.worst_p99_ms,
                    plan.monthly_cost_usd
                );
            }
            Ok(())
        }
        Some(Command::Timeline {
            file,
            hours,
            step,
            flat,
            spike,
            csv,
            out,
            json,
            autoscale,
            min,
            max,
            target,
            step_policy,
            schedule,
            cold_start,
            cooldown,
        }) => {
            let topology = load_input(Some(&file), None)?;
            let mut scenario = staircase::analysis::timeline::Scenario {
                duration_s: hours * 3600.0,
                step_s: step,
                diurnal: !flat,
                spikes: spike,
                ..Default::default()
            };
            let wanted = autoscale.is_some()
                || min.is_some()
                || max.is_some()
                || step_policy.is_some()
                || schedule.is_some();
            if wanted {
                let policy = match (&step_policy, &schedule) {
                    (Some(text), _) => staircase::analysis::timeline::Policy::parse_steps(text),
                    (None, Some(text)) => {
                        staircase::analysis::timeline::Policy::parse_schedule(text)
                    }
                    (None, None) => Ok(staircase::analysis::timeline::Policy::TargetTracking),
                }
                .map_err(InputError)?;
                let settings = staircase::analysis::timeline::AutoscaleSettings {
                    node: autoscale.flatten(),
                    min,
                    max,
                    target_utilization: target / 100.0,
                    policy,
                    cold_start_s: cold_start,
                    cooldown_s: cooldown,
                };
                let autoscaled = settings
                    .resolve(&topology)
                    .map_err(|e| InputError(format!("{}: {e}", file.display())))?;
                scenario.autoscale.extend(autoscaled);
            }
            let timeline = staircase::analysis::timeline::run(&topology, &scenario)
                .map_err(|e| InputError(format!("{}: {e}", file.display())))?;
            if let Some(path) = &csv {
                staircase::io::document::write_atomically(
                    path,
                    staircase::io::export::timeline_csv(&timeline)?.as_bytes(),
                )?;
            }
            if let Some(folder) = &out {
                let (stem, name) = staircase::io::export::export_names(Some(&file), &topology.name);
                for path in staircase::io::export::export_timeline(&timeline, &name, folder, &stem)?
                {
                    eprintln!("wrote {}", path.display());
                }
            }
            if json {
                say!("{}", serde_json::to_string_pretty(&timeline)?);
                return Ok(());
            }
            say!(
                "{:>8} {:>7} {:>12} {:>12} {:>10} {:>14} {:>10} {:>10}",
                "time",
                "load",
                "offered/s",
                "served/s",
                "dropped/s",
                "backlog",
                "p99 ms",
                "$/hour"
            );
            let every = (timeline.steps.len() / 48).max(1);
            for step in timeline.steps.iter().step_by(every) {
                let seconds = step.t_s as u64;
                say!(
                    "{:>5}:{:02} {:>7.3} {:>12.1} {:>12.1} {:>10.1} {:>14.0} {:>10} {:>10.2}",
                    seconds / 3600,
                    seconds % 3600 / 60,
                    step.load_multiplier,
                    step.offered_rps,
                    step.served_rps,
                    step.dropped_rps,
                    step.total_backlog(),
                    step.worst_p99_ms
                        .map_or_else(|| "-".to_string(), |p| format!("{p:.1}")),
                    step.cost_per_hour_usd
                );
            }
            say!("cost of the period ${:.2}", timeline.cost_usd);
            for (spike, drain) in scenario.spikes.iter().zip(&timeline.drain_after_spikes_s) {
                match drain {
                    Some(seconds) => say!(
                        "spike x{} at {} s: backlogs drained {seconds:.0} s after it ended",
                        spike.multiplier,
                        spike.start_s
                    ),
                    None => say!(
                        "spike x{} at {} s: backlogs not drained by the end",
                        spike.multiplier,
                        spike.start_s
                    ),
                }
            }
            if !timeline.single_points_of_failure.is_empty() {
                say!(
                    "single points of failure: {}",
                    timeline.single_points_of_failure.join(", ")
                );
            }
            Ok(())
        }
        Some(Command::Calibrate {
            rps,
            peak_rps,
            queries,
            mean_ms,
            p95_ms,
            error_percent,
            app_cpu,
            db_cpu,
            app_instances,
            app_cores,
            db_cores,
            out,
            json,
        }) => {
            let measured = staircase::analysis::calibrate::Measurements {
                current_rps: rps,
                peak_rps: peak_rps.unwrap_or(rps),
                db_queries_per_request: queries,
                mean_response_ms: mean_ms,
                p95_response_ms: p95_ms,
                error_rate: error_percent / 100.0,
                app_cpu: app_cpu / 100.0,
                db_cpu: db_cpu / 100.0,
                app_instances,
                app_cores,
                db_cores,
            };
            let calibration = staircase::analysis::calibrate::calibrate(&measured)
                .map_err(|e| InputError(e.to_string()))?;
            if let Some(path) = &out {
                staircase::io::document::save(path, &calibration.topology)?;
                eprintln!("wrote {}", path.display());
            }
            if json {
                say!("{}", serde_json::to_string_pretty(&calibration)?);
            } else {
                say_raw!("{}", calibration.to_table());
            }
            Ok(())
        }
        Some(Command::Bench { simulate: true, .. }) => bench_simulation(),
        Some(Command::Simulate {
            file,
            preset,
            load,
            customers,
            replications,
            seed,
            json,
        }) => {
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
        Some(Command::Bench {
            sizes,
            repeat,
            full,
            ..
        }) => {
            check_bench_arguments(&sizes, repeat)?;
            for size in sizes {
                let topology = staircase::analysis::generate::layered(size, 1);
                let params = Params {
                    class_percentiles: full,
                    ..Params::default()
                };
                let mut times = Vec::with_capacity(repeat);
                for _ in 0..repeat {
                    let started = std::time::Instant::now();
                    let report =
                        solver::solve(&topology, &params).map_err(|e| InputError(e.to_string()))?;
                    times.push(started.elapsed().as_secs_f64() * 1000.0);
                    std::hint::black_box(report);
                }
                times.sort_by(f64::total_cmp);
                say!(
                    "{size:>8} nodes  median {:>9.3} ms  min {:>9.3} ms  per node {:>7.3} us  ({} solves{})",
                    times[times.len() / 2],
                    times[0],
                    times[times.len() / 2] * 1000.0 / size as f64,
                    times.len(),
                    if full { ", with end-to-end percentiles" } else { "" }
                );
            }
            Ok(())
        }
        Some(Command::Solve {
            file,
            preset,
            load,
            average,
            json,
        }) => {
            let topology = load_input(file.as_deref(), preset.as_deref())?;
            let params = Params {
                load_multiplier: load,
                at_peak: !average,
                ..Params::default()
            };
            let report = solver::solve(&topology, &params)
                .map_err(|e| InputError(format!("{}: {e}", source_label(&file, &preset))))?;
            if json {
                say!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                say!("{}", topology.name);
                say_raw!("{}", report.to_table());
            }
            Ok(())
        }
    }
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
fn bench_simulation() -> anyhow::Result<()> {
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

fn parse_spike(text: &str) -> Result<staircase::analysis::timeline::Spike, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let [start, duration, multiplier] = parts.as_slice() else {
        return Err(format!(
            "expected START_S:DURATION_S:MULTIPLIER, found \"{text}\""
        ));
    };
    let number = |field: &str, value: &str| {
        value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("{field} must be a non-negative number, found \"{value}\""))
    };
    Ok(staircase::analysis::timeline::Spike {
        start_s: number("start", start)?,
        duration_s: number("duration", duration)?,
        multiplier: number("multiplier", multiplier)?,
    })
}

fn source_label(file: &Option<PathBuf>, preset: &Option<String>) -> String {
    match (file, preset) {
        (Some(path), _) => path.display().to_string(),
        (None, Some(name)) => format!("preset {name}"),
        (None, None) => String::new(),
    }
}

/// Opens the window. A file that cannot be opened does not stop it: the app shows the error
/// (file:line:column) in its banner over the default document, since a user who launched it
/// from a file manager sees no terminal.
fn launch(file: Option<PathBuf>) -> anyhow::Result<()> {
    presets::default_topology().context("the default preset")?;
    staircase::app::run_native(file).map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
