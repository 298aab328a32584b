//! The command line's arguments: every subcommand and its options (clap).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "staircase",
    version,
    about = "Architecture sandbox: queueing latency, bottleneck and cost of a system you draw"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Open a topology file in the app (a file that cannot be read shows its error there).
    Open(OpenArgs),
    /// Solve a topology and print its report.
    Solve(SolveArgs),
    /// List the built-in presets.
    Presets,
    /// Compare two designs: cost, latency, availability, bottleneck, and node by node.
    Diff(DiffArgs),
    /// Why a class's latency is what it is: each node's share of its mean, round trips, the
    /// nodes whose waiting stretches its tail, and the formulas behind them.
    Explain(ExplainArgs),
    /// Write the latency-vs-load chart, the cost-per-tier chart and the per-node CSV.
    Export(ExportArgs),
    /// Cheapest instance counts that carry --rps with every class's p99 under --p99-ms.
    Plan(PlanArgs),
    /// Step a scenario through time: a day of diurnal load, spikes, backlogs and cost.
    Timeline(TimelineArgs),
    /// Build a topology from what one app tier and one database measure today, and show how
    /// far the model's mean and p95 land from the measured ones (article 002's "know your numbers").
    Calibrate(CalibrateArgs),
    /// Time the solver on generated topologies (use a release build).
    Bench(BenchArgs),
    /// Simulate a topology and compare every figure with the model's.
    Simulate(SimulateArgs),
}

/// The arguments of `staircase open`.
#[derive(Args)]
pub struct OpenArgs {
    /// A .ron topology file; without it the app starts on the default preset (the
    /// desktop entry's `%f` is empty when no file was chosen).
    pub file: Option<PathBuf>,
}

/// The arguments of `staircase solve`.
#[derive(Args)]
pub struct SolveArgs {
    /// A .ron topology file.
    #[arg(required_unless_present = "preset")]
    pub file: Option<PathBuf>,
    /// Solve a built-in preset instead of a file (see `staircase presets`).
    #[arg(long, conflicts_with = "file")]
    pub preset: Option<String>,
    /// Multiply every workload by this factor.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub load: f64,
    /// Solve at the average rate instead of the peak.
    #[arg(long)]
    pub average: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The arguments of `staircase diff`.
#[derive(Args)]
pub struct DiffArgs {
    /// The baseline .ron topology file.
    pub baseline: PathBuf,
    /// The design to compare with it.
    pub current: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The arguments of `staircase explain`.
#[derive(Args)]
pub struct ExplainArgs {
    /// A .ron topology file.
    pub file: PathBuf,
    /// The class: workload/class (users/read), or just read when one workload has it.
    #[arg(long)]
    pub class: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The arguments of `staircase export`.
#[derive(Args)]
pub struct ExportArgs {
    /// A .ron topology file.
    pub file: PathBuf,
    /// Folder to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Comma-separated formats: png, svg, csv.
    #[arg(long, value_delimiter = ',', default_values_t = ["png".to_string(), "svg".to_string(), "csv".to_string()])]
    pub format: Vec<String>,
}

/// The arguments of `staircase plan`.
#[derive(Args)]
pub struct PlanArgs {
    /// A .ron topology file.
    pub file: PathBuf,
    /// Target offered load, req/s (at peak, all workloads together).
    #[arg(long)]
    pub rps: f64,
    /// p99 goal for every request class, ms.
    #[arg(long = "p99-ms")]
    pub p99_ms: f64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The arguments of `staircase timeline`.
#[derive(Args)]
pub struct TimelineArgs {
    /// A .ron topology file.
    pub file: PathBuf,
    /// Simulated hours.
    #[arg(long, default_value_t = 24.0)]
    pub hours: f64,
    /// Step, seconds.
    #[arg(long, default_value_t = 300.0)]
    pub step: f64,
    /// Hold the peak rate instead of following a day.
    #[arg(long)]
    pub flat: bool,
    /// A spike START_S:DURATION_S:MULTIPLIER, e.g. 64800:1200:10 (10x for 20 minutes at 18:00).
    #[arg(long, value_parser = parse_spike)]
    pub spike: Vec<staircase::analysis::timeline::Spike>,
    /// Also write every step as CSV to this file.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Also write the timeline chart (PNG, SVG) and CSV into this folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Autoscale the node with this id; without an id, the busiest tier that scales out.
    /// Also on when --min, --max, --step-policy or --schedule is given.
    #[arg(long, num_args = 0..=1)]
    pub autoscale: Option<Option<u32>>,
    /// Fewest instances the autoscaler keeps (default: the node's instances).
    #[arg(long)]
    pub min: Option<u32>,
    /// Most instances the autoscaler may run (default: 10 × the node's instances).
    #[arg(long)]
    pub max: Option<u32>,
    /// Target utilization of target tracking, percent.
    #[arg(long, default_value_t = 60.0)]
    pub target: f64,
    /// A step policy instead of target tracking: bands AT_PERCENT:CHANGE, e.g.
    /// "90:5,75:3,60:1,30:0,0:-1" (the highest band the utilization reaches applies).
    #[arg(long, conflicts_with = "schedule")]
    pub step_policy: Option<String>,
    /// A schedule instead of target tracking: FROM_S:INSTANCES, e.g. "0:4,21600:20".
    #[arg(long)]
    pub schedule: Option<String>,
    /// Seconds from a scaling decision until new instances serve.
    #[arg(long, default_value_t = 120.0)]
    pub cold_start: f64,
    /// Seconds after a scaling action before the next.
    #[arg(long, default_value_t = 300.0)]
    pub cooldown: f64,
}

/// The arguments of `staircase calibrate`.
#[derive(Args)]
pub struct CalibrateArgs {
    /// Requests per second now.
    #[arg(long)]
    pub rps: f64,
    /// Requests per second at peak (default: the current rate).
    #[arg(long)]
    pub peak_rps: Option<f64>,
    /// Database queries per request.
    #[arg(long, default_value_t = 1.0)]
    pub queries: f64,
    /// Mean response time now, ms.
    #[arg(long)]
    pub mean_ms: f64,
    /// 95th percentile response time now, ms.
    #[arg(long)]
    pub p95_ms: f64,
    /// Error rate now, percent.
    #[arg(long, default_value_t = 0.0)]
    pub error_percent: f64,
    /// App server CPU now, percent.
    #[arg(long)]
    pub app_cpu: f64,
    /// Database CPU now, percent.
    #[arg(long)]
    pub db_cpu: f64,
    /// App server instances.
    #[arg(long, default_value_t = 1)]
    pub app_instances: u32,
    /// Cores per app server.
    #[arg(long, default_value_t = 2)]
    pub app_cores: u32,
    /// Cores of the database server.
    #[arg(long, default_value_t = 4)]
    pub db_cores: u32,
    /// Write the calibrated topology to this .ron file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The arguments of `staircase bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Node counts to generate.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000usize, 10_000, 100_000])]
    pub sizes: Vec<usize>,
    /// Solves per size (the median is reported).
    #[arg(long, default_value_t = 20)]
    pub repeat: usize,
    /// Also compute end-to-end percentiles.
    #[arg(long)]
    pub full: bool,
    /// Time 40-point load sweeps (what the app's latency chart computes) of each size instead,
    /// with end-to-end percentiles, on all cores.
    #[arg(long, conflicts_with = "simulate")]
    pub sweep: bool,
    /// Time the simulator instead: node visits per second on one core.
    #[arg(long)]
    pub simulate: bool,
}

/// The arguments of `staircase simulate`.
#[derive(Args)]
pub struct SimulateArgs {
    /// A .ron topology file.
    #[arg(required_unless_present = "preset")]
    pub file: Option<PathBuf>,
    /// Simulate a built-in preset instead of a file.
    #[arg(long, conflicts_with = "file")]
    pub preset: Option<String>,
    /// Multiply every workload by this factor.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub load: f64,
    /// Requests entering per replication (after the warm-up).
    #[arg(long, default_value_t = 200_000)]
    pub customers: u64,
    /// Independent replications (at least 2).
    #[arg(long, default_value_t = 10)]
    pub replications: u32,
    /// Seed of the random streams (the same seed gives the same figures).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Parses a spike given as `START_S:DURATION_S:MULTIPLIER`.
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
