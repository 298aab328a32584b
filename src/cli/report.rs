//! `solve`, `presets` and `export`: one design's report, the built-in designs, and its charts.

use super::args::{ExportArgs, SolveArgs};
use super::{load_input, source_label};
use crate::InputError;
use anyhow::Context;
use staircase::io::presets;
use staircase::{solver, Params};

/// `staircase presets`: every built-in preset with its title.
pub fn presets() -> anyhow::Result<()> {
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

/// `staircase solve`: the report of a file or preset, as a table or JSON.
pub fn solve(args: SolveArgs) -> anyhow::Result<()> {
    let SolveArgs {
        file,
        preset,
        load,
        average,
        json,
    } = args;
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

/// `staircase export`: the latency-vs-load and cost charts and the CSV tables of a file.
pub fn export(args: ExportArgs) -> anyhow::Result<()> {
    let ExportArgs { file, out, format } = args;
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
    let sweep = staircase::analysis::sweep::load_sweep(&topology, &Params::default(), &loads)
        .map_err(|e| InputError(format!("{label}: {e}")))?;
    let (stem, name) = staircase::io::export::export_names(Some(&file), &topology.name);
    let written = staircase::io::export::export_all(&report, &sweep, &name, &out, &stem, &formats)?;
    for path in written {
        say!("{}", path.display());
    }
    Ok(())
}
