//! The `diff` and `explain` subcommands: two designs side by side, and where a class's
//! latency comes from.

use super::args::{DiffArgs, ExplainArgs};
use crate::InputError;
use staircase::analysis::{compare, explain};
use staircase::io::document;
use staircase::{solver, Params, Report, Topology};
use std::path::Path;

/// Loads and solves a topology file; problems with the file are input errors (exit code 2).
fn solved(path: &Path) -> anyhow::Result<(Topology, Report)> {
    let topology = document::load(path).map_err(|e| InputError(e.to_string()))?;
    let report = solver::solve(&topology, &Params::default())
        .map_err(|e| InputError(format!("{}: {e}", path.display())))?;
    Ok((topology, report))
}

/// `staircase diff A B [--json]`: what changed from design A (the baseline) to design B.
pub fn diff(args: DiffArgs) -> anyhow::Result<()> {
    let DiffArgs {
        baseline,
        current,
        json,
    } = args;
    let (before_model, before) = solved(&baseline)?;
    let (after_model, after) = solved(&current)?;
    let comparison = compare::compare((&before_model, &before), (&after_model, &after));
    if json {
        say!("{}", serde_json::to_string_pretty(&comparison)?);
    } else {
        say_raw!("{}", compare::to_text(&comparison));
    }
    Ok(())
}

/// `staircase explain FILE --class NAME [--json]`: the class's mean split over its nodes.
pub fn explain(args: ExplainArgs) -> anyhow::Result<()> {
    let ExplainArgs { file, class, json } = args;
    let path = file.as_path();
    let (topology, report) = solved(path)?;
    let found = explain::find_class(&report, &class)
        .map_err(|e| InputError(format!("{}: {e}", path.display())))?;
    let explanation = explain::explain(&topology, &report, found);
    if json {
        say!("{}", serde_json::to_string_pretty(&explanation)?);
    } else {
        say_raw!("{}", explain::to_text(&explanation));
    }
    Ok(())
}
