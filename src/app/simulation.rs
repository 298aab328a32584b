//! Simulate → Check with simulation: runs [`crate::analysis::simulate`] on the current document in the
//! background (progress bar, cancel) and shows the model beside the simulation, figure by
//! figure, per node and per class. Self-contained: the app starts it from a command, shows it
//! each frame, and can ask it which nodes have a differing figure.

use super::jobs::Job;
use crate::analysis::simulate::compare::{Comparison, Row, Verdict};
use crate::analysis::simulate::{simulate_with_progress, SimParams};
use crate::model::{NodeId, Topology};
use crate::solver::{solve, Params};
use egui::{Color32, RichText, Ui};
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

    /// Ids of the nodes with a figure that differs beyond tolerance and noise.
    pub fn differing_nodes(&self) -> Vec<NodeId> {
        let Some(Ok(checked)) = &self.result else {
            return Vec::new();
        };
        let mut ids: Vec<NodeId> = checked
            .comparison
            .differing()
            .filter_map(|r| r.node)
            .collect();
        ids.dedup();
        ids
    }

    /// A short mark for node `id` when the last check found a differing figure there (the
    /// hook for the canvas to draw on the node body), e.g. "sim: mean ms +12%".
    pub fn node_mark(&self, id: NodeId) -> Option<String> {
        let Some(Ok(checked)) = &self.result else {
            return None;
        };
        let worst = checked
            .comparison
            .differing()
            .filter(|r| r.node == Some(id))
            .max_by(|a, b| a.relative.abs().total_cmp(&b.relative.abs()))?;
        Some(format!(
            "sim: {} {:+.0}%",
            worst.figure,
            worst.relative * 100.0
        ))
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
                if &checked.topology != current {
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
    Ok(Checked {
        comparison: Comparison::new(&model, &simulation),
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
                                Color32::from_rgb(220, 80, 60),
                                format!("differs (> {:.0}%)", row.tolerance * 100.0),
                            ),
                        };
                        ui.end_row();
                    }
                });
        });
}
