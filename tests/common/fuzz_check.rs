//! The checks the fuzz target (`fuzz/`) runs on every input, shared with the regression
//! tests that replay its minimized corpus (`tests/fuzz_regressions.rs`).

use staircase::analysis::timeline::{self, Scenario};
use staircase::io::document;
use staircase::{solve, Params, SolveError};

/// Loads `bytes` as a document, and if it is valid: saves it and loads it back (identical
/// bytes), solves it, checks every invariant of the report, renders it, and steps it through
/// a short timeline. Returns what went wrong, if anything; a document refused with a clear
/// error is no failure.
pub fn check_document(bytes: &[u8]) -> Result<(), String> {
    let topology = match document::parse_bytes(bytes, "fuzz.ron") {
        Ok(topology) => topology,
        Err(error) => {
            let message = error.to_string();
            if !message.starts_with("fuzz.ron") {
                return Err(format!("an error that does not name the file: {message}"));
            }
            if message.len() > 1_000 {
                return Err(format!("an error of {} bytes", message.len()));
            }
            return Ok(());
        }
    };
    let text = document::to_string(&topology).map_err(|e| format!("cannot save: {e}"))?;
    let again = document::parse(&text, "saved.ron")
        .map_err(|e| format!("a saved document does not load back: {e}"))?;
    let text_again = document::to_string(&again).map_err(|e| format!("cannot save: {e}"))?;
    if text != text_again {
        return Err("saving the reloaded document gives other bytes".into());
    }
    match solve(&topology, &Params::default()) {
        Ok(report) => {
            let problems = report.invariant_violations();
            if !problems.is_empty() {
                return Err(format!("invariants broken: {problems:#?}"));
            }
            let _ = report.to_table();
        }
        Err(
            SolveError::Diverged { .. }
            | SolveError::NotConverged { .. }
            | SolveError::TooMuchWork { .. },
        ) => return Ok(()),
        Err(error) => {
            return Err(format!(
                "a valid document is refused by the solver: {error}"
            ))
        }
    }
    let scenario = Scenario {
        duration_s: 600.0,
        step_s: 600.0,
        ..Scenario::default()
    };
    match timeline::run(&topology, &scenario) {
        Ok(run) => {
            for step in &run.steps {
                let figures = [
                    step.offered_rps,
                    step.served_rps,
                    step.dropped_rps,
                    step.cost_per_hour_usd,
                ];
                if figures.iter().any(|f| !f.is_finite() || *f < 0.0) {
                    return Err(format!("a timeline step with figures {figures:?}"));
                }
            }
            Ok(())
        }
        Err(timeline::TimelineError::Solve {
            source:
                SolveError::Diverged { .. }
                | SolveError::NotConverged { .. }
                | SolveError::TooMuchWork { .. },
            ..
        }) => Ok(()),
        Err(error) => Err(format!("the timeline fails: {error}")),
    }
}
