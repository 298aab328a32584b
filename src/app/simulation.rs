//! Simulate → Check with simulation: runs [`crate::analysis::simulate`] on the current document in the
//! background (progress bar, cancel) and shows the model beside the simulation, figure by
//! figure, per node and per class. Self-contained: the app starts it from a command, shows it
//! each frame, and can ask it which nodes have a differing figure.

use super::jobs::Job;
use crate::analysis::simulate::compare::{Comparison, Row, Verdict};
use crate::analysis::simulate::{simulate_with_progress, SimParams};
use crate::model::{NodeId, Topology};
use crate::solver::{solve, Params};
use egui::{RichText, Ui};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

/// Requests per replication in the app: a few seconds on two cores for a mid-size design.
const APP_CUSTOMERS: u64 = 100_000;
const APP_REPLICATIONS: u32 = 8;

/// The outcome of a check: the comparison, or why it could not run.
type Outcome = Result<Checked, String>;

/// A finished check.
pub struct Checked {
    pub comparison: Comparison,
    /// The document it was run on (the window says when the document has changed since).
    pub topology: Topology,
    pub load_multiplier: f64,
    /// The nodes with a differing figure, and what differs there.
    pub marks: NodeMarks,
}

/// What the canvas shows on a node whose model figures differ from the simulation.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeMark {
    /// A short badge, e.g. "sim: mean ms +56%" (the figure that differs most).
    pub badge: String,
    /// One line per differing figure: model, simulated mean ± 95% half-width, difference.
    pub lines: Vec<String>,
}

/// Marks by node id.
pub type NodeMarks = BTreeMap<NodeId, NodeMark>;

/// No marks: what the canvas gets when no check applies to the document shown.
pub static NO_MARKS: NodeMarks = BTreeMap::new();

/// The mark of every node with a figure that differs beyond tolerance and noise.
pub fn node_marks(comparison: &Comparison) -> NodeMarks {
    let mut differing: BTreeMap<NodeId, Vec<&Row>> = BTreeMap::new();
    for row in comparison.differing() {
        if let Some(id) = row.node {
            differing.entry(id).or_default().push(row);
        }
    }
    differing
        .into_iter()
        .filter_map(|(id, rows)| {
            let worst = rows
                .iter()
                .max_by(|a, b| a.relative.abs().total_cmp(&b.relative.abs()))?;
            let badge = format!("sim: {} {:+.0}%", worst.figure, worst.relative * 100.0);
            let lines = rows
                .iter()
                .map(|r| {
                    format!(
                        "{}: model {}, simulated {} ± {} ({:+.1}%, tolerance {:.0}%)",
                        r.figure,
                        figure(r.model),
                        figure(r.simulated.mean),
                        figure(r.simulated.half_width),
                        r.relative * 100.0,
                        r.tolerance * 100.0
                    )
                })
                .collect();
            Some((id, NodeMark { badge, lines }))
        })
        .collect()
}

/// A figure with four significant digits (as the comparison table shows it).
fn figure(value: f64) -> String {
    crate::analysis::simulate::compare::number(value)
}

/// The window's state.
#[derive(Default)]
pub struct SimulationWindow {
    pub open: bool,
    job: Job<Outcome>,
    pub result: Option<Outcome>,
    only_differing: bool,
}

impl SimulationWindow {
    /// Starts a check of `topology` at `load_multiplier`, replacing a running one.
    pub fn start(&mut self, ctx: &egui::Context, topology: &Topology, load_multiplier: f64) {
        self.open = true;
        self.result = None;
        let topology = topology.clone();
        self.job.start(ctx, move |progress| {
            progress.set_total(1000);
            let stepped = AtomicU32::new(0);
            let report = |share: f64| {
                let target = (share * 1000.0).clamp(0.0, 1000.0) as u32;
                let before = stepped.fetch_max(target, Ordering::Relaxed);
                for _ in before..target {
                    progress.step();
                }
                !progress.cancelled()
            };
            check(&topology, load_multiplier, &report)
        });
    }

    /// Waits up to `limit` for a running check to finish (tests); true when a result is in.
    pub fn wait(&mut self, limit: std::time::Duration) -> bool {
        if let Some(outcome) = self.job.wait(limit) {
            self.result = Some(outcome);
        }
        self.result.is_some()
    }

    /// Ids of the nodes with a figure that differs beyond tolerance and noise in the last
    /// check (whatever document it was run on).
    pub fn differing_nodes(&self) -> Vec<NodeId> {
        match &self.result {
            Some(Ok(checked)) => checked.marks.keys().copied().collect(),
            _ => Vec::new(),
        }
    }

    /// The marks to draw on the canvas for `current` at `load_multiplier`: those of the last
    /// check when it was run on the same model at the same load, else none (an edit clears
    /// them; moving nodes does not, nor does an undo back to the checked document).
    pub fn marks_for(&self, current: &Topology, load_multiplier: f64) -> &NodeMarks {
        match &self.result {
            Some(Ok(checked))
                if checked.load_multiplier == load_multiplier
                    && checked.topology.same_model(current) =>
            {
                &checked.marks
            }
            _ => &NO_MARKS,
        }
    }

    /// The mark of node `id` for `current` at `load_multiplier`, if any.
    pub fn node_mark(
        &self,
        id: NodeId,
        current: &Topology,
        load_multiplier: f64,
    ) -> Option<&NodeMark> {
        self.marks_for(current, load_multiplier).get(&id)
    }

    /// Draws the window while it is open.
    pub fn show(&mut self, ctx: &egui::Context, current: &Topology) {
        if let Some(outcome) = self.job.poll() {
            self.result = Some(outcome);
        }
        if !self.open {
            return;
        }
        let mut open = self.open;
        egui::Window::new("Check with simulation")
            .open(&mut open)
            .default_width(720.0)
            .show(ctx, |ui| self.contents(ui, current));
        self.open = open;
        if !self.open {
            self.job.cancel();
        }
    }

    fn contents(&mut self, ui: &mut Ui, current: &Topology) {
        if let Some((fraction, elapsed)) = self.job.status() {
            ui.label(format!(
                "Simulating {APP_REPLICATIONS} replications of {APP_CUSTOMERS} requests… {:.0} s",
                elapsed.as_secs_f64()
            ));
            ui.horizontal(|ui| {
                ui.add(egui::ProgressBar::new(fraction).show_percentage());
                if ui.button("Cancel").clicked() {
                    self.job.cancel();
                    self.result = Some(Err("cancelled".into()));
                }
            });
            return;
        }
        match &self.result {
            None => {
                ui.label("No check has run yet.");
            }
            Some(Err(error)) => {
                ui.colored_label(super::theme::error_text(), error);
            }
            Some(Ok(checked)) => {
                if !checked.topology.same_model(current) {
                    ui.label(
                        RichText::new("The document changed since this check: run it again.")
                            .italics(),
                    );
                }
                let differing = checked.comparison.differing().count();
                let t = checked.comparison.tolerances;
                ui.label(format!(
                    "Load × {}: {differing} of {} figures differ beyond both the tolerance \
                     (rates {:.0}%, means {:.0}%, p95 {:.0}%, p99 {:.0}%) and the simulation's \
                     95% interval.",
                    checked.load_multiplier,
                    checked.comparison.rows.len(),
                    t.rates * 100.0,
                    t.means * 100.0,
                    t.p95 * 100.0,
                    t.p99 * 100.0
                ));
                ui.checkbox(&mut self.only_differing, "Only differing figures");
                let only = self.only_differing;
                rows_table(
                    ui,
                    checked
                        .comparison
                        .rows
                        .iter()
                        .filter(|r| !only || r.verdict == Verdict::Differs),
                );
            }
        }
    }
}

/// Solves and simulates `topology`, reporting progress to `keep_going`.
fn check(
    topology: &Topology,
    load_multiplier: f64,
    keep_going: &(dyn Fn(f64) -> bool + Sync),
) -> Outcome {
    let params = Params {
        load_multiplier,
        ..Params::default()
    };
    let model = solve(topology, &params).map_err(|e| e.to_string())?;
    let sim_params = SimParams {
        load_multiplier,
        customers: APP_CUSTOMERS,
        replications: APP_REPLICATIONS,
        ..SimParams::default()
    };
    let simulation =
        simulate_with_progress(topology, &sim_params, keep_going).map_err(|e| e.to_string())?;
    let comparison = Comparison::new(&model, &simulation);
    Ok(Checked {
        marks: node_marks(&comparison),
        comparison,
        topology: topology.clone(),
        load_multiplier,
    })
}

fn rows_table<'a>(ui: &mut Ui, rows: impl Iterator<Item = &'a Row>) {
    egui::ScrollArea::vertical()
        .max_height(480.0)
        .show(ui, |ui| {
            egui::Grid::new("simulation rows")
                .striped(true)
                .num_columns(6)
                .show(ui, |ui| {
                    for heading in [
                        "node / class",
                        "figure",
                        "model",
                        "simulation ± 95%",
                        "diff",
                        "",
                    ] {
                        ui.label(RichText::new(heading).strong());
                    }
                    ui.end_row();
                    for row in rows {
                        ui.label(&row.subject);
                        ui.label(row.figure);
                        ui.label(format!("{:.4}", row.model));
                        ui.label(format!(
                            "{:.4} ± {:.4}",
                            row.simulated.mean, row.simulated.half_width
                        ));
                        ui.label(format!("{:+.1}%", row.relative * 100.0));
                        match row.verdict {
                            Verdict::Agrees => ui.label("ok"),
                            Verdict::Differs => ui.colored_label(
                                super::theme::SIMULATION_DIFFERS,
                                format!("differs (> {:.0}%)", row.tolerance * 100.0),
                            ),
                        };
                        ui.end_row();
                    }
                });
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::simulate::compare::Tolerances;
    use crate::analysis::simulate::Estimate;

    fn row(node: Option<u32>, figure: &'static str, model: f64, simulated: f64) -> Row {
        let relative = (model - simulated) / simulated;
        Row {
            subject: "x".into(),
            node,
            figure,
            model,
            simulated: Estimate {
                mean: simulated,
                half_width: 0.01 * simulated,
            },
            relative,
            tolerance: 0.03,
            verdict: if relative.abs() > 0.03 {
                Verdict::Differs
            } else {
                Verdict::Agrees
            },
        }
    }

    #[test]
    fn marks_name_the_worst_figure_and_list_every_differing_one() {
        let comparison = Comparison {
            rows: vec![
                row(Some(3), "mean ms", 66.67, 42.61),
                row(Some(3), "p99 ms", 307.0, 191.6),
                row(Some(3), "utilization", 0.85, 0.849),
                row(Some(2), "mean ms", 1.0, 1.001),
                row(None, "mean ms", 66.68, 42.62),
            ],
            tolerances: Tolerances::SINGLE_CLASS,
        };
        let marks = node_marks(&comparison);
        assert_eq!(marks.keys().copied().collect::<Vec<_>>(), vec![3]);
        let mark = &marks[&3];
        assert_eq!(mark.badge, "sim: p99 ms +60%");
        assert_eq!(
            mark.lines,
            vec![
                "mean ms: model 66.67, simulated 42.61 ± 0.4261 (+56.5%, tolerance 3%)",
                "p99 ms: model 307.0, simulated 191.6 ± 1.916 (+60.2%, tolerance 3%)",
            ]
        );
    }
}
