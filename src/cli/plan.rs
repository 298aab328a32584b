//! `plan`, `timeline` and `calibrate`: capacity for a goal, a scenario through time, and a
//! design built from measurements.

use super::args::{CalibrateArgs, PlanArgs, TimelineArgs};
use super::load_input;
use crate::InputError;

/// `staircase plan`: the cheapest instance counts that meet a rate and a p99.
pub fn plan(args: PlanArgs) -> anyhow::Result<()> {
    let PlanArgs {
        file,
        rps,
        p99_ms,
        json,
    } = args;
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

/// `staircase timeline`: a day (or any period) of load, spikes, backlogs, autoscaling and cost.
pub fn timeline(args: TimelineArgs) -> anyhow::Result<()> {
    let topology = load_input(Some(&args.file), None)?;
    let mut scenario = staircase::analysis::timeline::Scenario {
        duration_s: args.hours * 3600.0,
        step_s: args.step,
        diurnal: !args.flat,
        spikes: args.spike.clone(),
        ..Default::default()
    };
    scenario
        .autoscale
        .extend(autoscaled_tier(&args, &topology)?);
    let file = &args.file;
    let timeline = staircase::analysis::timeline::run(&topology, &scenario)
        .map_err(|e| InputError(format!("{}: {e}", file.display())))?;
    if let Some(path) = &args.csv {
        staircase::io::document::write_atomically(
            path,
            staircase::io::export::timeline_csv(&timeline)?.as_bytes(),
        )?;
    }
    if let Some(folder) = &args.out {
        let (stem, name) = staircase::io::export::export_names(Some(file), &topology.name);
        for path in staircase::io::export::export_timeline(&timeline, &name, folder, &stem)? {
            eprintln!("wrote {}", path.display());
        }
    }
    if args.json {
        say!("{}", serde_json::to_string_pretty(&timeline)?);
        return Ok(());
    }
    print_timeline(&timeline, &scenario)
}

/// The tier the timeline's autoscaling options name, with its policy (none when no option
/// is given).
fn autoscaled_tier(
    args: &TimelineArgs,
    topology: &staircase::model::Topology,
) -> anyhow::Result<Option<staircase::analysis::timeline::Autoscale>> {
    let TimelineArgs {
        file,
        autoscale,
        min,
        max,
        target,
        step_policy,
        schedule,
        cold_start,
        cooldown,
        ..
    } = args;
    let (min, max, target) = (*min, *max, *target);
    let wanted = autoscale.is_some()
        || min.is_some()
        || max.is_some()
        || step_policy.is_some()
        || schedule.is_some();
    if !wanted {
        return Ok(None);
    }
    let policy = match (step_policy, schedule) {
        (Some(text), _) => staircase::analysis::timeline::Policy::parse_steps(text),
        (None, Some(text)) => staircase::analysis::timeline::Policy::parse_schedule(text),
        (None, None) => Ok(staircase::analysis::timeline::Policy::TargetTracking),
    }
    .map_err(InputError)?;
    let settings = staircase::analysis::timeline::AutoscaleSettings {
        node: autoscale.flatten(),
        min,
        max,
        target_utilization: target / 100.0,
        policy,
        cold_start_s: *cold_start,
        cooldown_s: *cooldown,
    };
    let autoscaled = settings
        .resolve(topology)
        .map_err(|e| InputError(format!("{}: {e}", file.display())))?;
    Ok(autoscaled)
}

/// The timeline as a table of at most about 48 rows, the period's cost, each spike's drain
/// and the single points of failure.
fn print_timeline(
    timeline: &staircase::analysis::timeline::Timeline,
    scenario: &staircase::analysis::timeline::Scenario,
) -> anyhow::Result<()> {
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

/// `staircase calibrate`: a design from what one app tier and one database measure today.
pub fn calibrate(args: CalibrateArgs) -> anyhow::Result<()> {
    let CalibrateArgs {
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
    } = args;
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
