//! The "From your measurements" dialog: the figures article 002 asks a team to know, turned
//! into a topology by [`crate::analysis::calibrate`], with the model's mean and p95 beside the measured
//! ones. Self-contained: the app opens it, shows it each frame, and opens the topology it returns.

use crate::analysis::calibrate::{calibrate, Calibration, Measurements};
use crate::model::Topology;
use egui::{DragValue, Ui};

/// The dialog's state: whether it is open, the figures typed so far and their calibration.
#[derive(Default)]
pub struct CalibrateDialog {
    pub open: bool,
    measured: Measurements,
    /// The calibration of `measured` (or why it failed), recomputed when a figure changes.
    result: Option<Result<Calibration, String>>,
}

impl CalibrateDialog {
    /// Draws the dialog while it is open. Returns the calibrated topology when the user asks
    /// to open it (the caller replaces the document, asking about unsaved changes first).
    pub fn show(&mut self, ctx: &egui::Context) -> Option<Topology> {
        if !self.open {
            return None;
        }
        let mut open = self.open;
        let mut chosen = None;
        egui::Window::new("From your measurements")
            .open(&mut open)
            .resizable(false)
            .show(ctx, |ui| {
                ui.label("What one app tier and its database measure today, at the current load.");
                if self.inputs(ui) || self.result.is_none() {
                    self.result = Some(calibrate(&self.measured).map_err(|e| e.to_string()));
                }
                ui.separator();
                match &self.result {
                    Some(Ok(calibration)) => {
                        comparison(ui, calibration);
                        if ui.button("Open as a new document").clicked() {
                            chosen = Some(calibration.topology.clone());
                        }
                    }
                    Some(Err(error)) => {
                        ui.colored_label(super::theme::error_text(), error);
                    }
                    None => {}
                }
            });
        self.open = open && chosen.is_none();
        chosen
    }

    /// The input grid; true when a figure changed.
    fn inputs(&mut self, ui: &mut Ui) -> bool {
        let m = &mut self.measured;
        let mut changed = false;
        let percent = |ui: &mut Ui, share: &mut f64| {
            let mut value = *share * 100.0;
            let edited = ui
                .add(
                    DragValue::new(&mut value)
                        .range(0.0..=100.0)
                        .speed(0.5)
                        .suffix(" %"),
                )
                .changed();
            if edited {
                *share = value / 100.0;
            }
            edited
        };
        egui::Grid::new("calibrate-inputs")
            .num_columns(2)
            .show(ui, |ui| {
                let number = |ui: &mut Ui, label: &str, value: &mut f64, suffix: &str| {
                    ui.label(label);
                    let edited = ui
                        .add(
                            DragValue::new(value)
                                .range(0.0..=1e9)
                                .speed(1.0)
                                .suffix(suffix),
                        )
                        .changed();
                    ui.end_row();
                    edited
                };
                changed |= number(ui, "Current RPS", &mut m.current_rps, " req/s");
                changed |= number(ui, "Peak RPS", &mut m.peak_rps, " req/s");
                changed |= number(
                    ui,
                    "DB queries per request",
                    &mut m.db_queries_per_request,
                    "",
                );
                changed |= number(ui, "Mean response time", &mut m.mean_response_ms, " ms");
                changed |= number(ui, "p95 response time", &mut m.p95_response_ms, " ms");
                for (label, share) in [
                    ("Error rate", &mut m.error_rate),
                    ("App server CPU", &mut m.app_cpu),
                    ("Database CPU", &mut m.db_cpu),
                ] {
                    ui.label(label);
                    changed |= percent(ui, share);
                    ui.end_row();
                }
                for (label, count) in [
                    ("App server instances", &mut m.app_instances),
                    ("Cores per app server", &mut m.app_cores),
                    ("Database cores", &mut m.db_cores),
                ] {
                    ui.label(label);
                    changed |= ui.add(DragValue::new(count).range(1..=10_000)).changed();
                    ui.end_row();
                }
            });
        changed
    }
}

/// Measured against modelled figures, and what the model concludes.
fn comparison(ui: &mut Ui, c: &Calibration) {
    ui.label(format!(
        "Utilization law U = X·S/c: {:.2} ms of app CPU per request, {:.2} ms of database CPU \
         per query; {:.1} ms of fixed latency (time that uses no CPU) on the app servers.",
        c.app_service_ms, c.db_service_ms, c.fixed_latency_ms
    ));
    egui::Grid::new("calibrate-comparison")
        .num_columns(4)
        .striped(true)
        .show(ui, |ui| {
            for header in ["", "measured", "model", "gap"] {
                ui.strong(header);
            }
            ui.end_row();
            let gap = |model: f64, measured: f64| (model - measured) / measured * 100.0;
            for (label, measured, model) in [
                ("mean", c.measured_mean_ms, c.model_mean_ms),
                ("p95", c.measured_p95_ms, c.model_p95_ms),
            ] {
                ui.label(label);
                ui.label(format!("{measured:.1} ms"));
                ui.label(format!("{model:.1} ms"));
                ui.label(format!("{:+.1}%", gap(model, measured)));
                ui.end_row();
            }
            ui.label("errors");
            ui.label(format!("{:.3}%", c.measured_error_rate * 100.0));
            ui.label(format!("{:.3}%", c.model_error_rate * 100.0));
            ui.label("");
            ui.end_row();
        });
    ui.label(format!(
        "Bottleneck: {}, headroom ×{:.2} now and ×{:.2} at the measured peak.",
        c.bottleneck, c.headroom, c.headroom_at_peak
    ));
}
