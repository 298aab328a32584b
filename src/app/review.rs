//! Design review in the app: a pinned baseline and the Compare window, the breakdown of a
//! class's latency, and the changes shown beside the metrics. The figures come from the
//! engine (`compare`, `explain`); this module only shows them.

use super::{format, theme, Command, StaircaseApp};
use crate::analysis::compare::{compare, Change, Comparison, NodeState};
use crate::analysis::explain::{explain, Explanation};
use crate::model::Topology;
use crate::solver::report::Report;
use egui::{RichText, Ui};

/// A design kept to compare the current one with.
#[derive(Clone, Debug)]
pub struct Baseline {
    pub topology: Topology,
    pub report: Report,
}

/// The review windows' state.
#[derive(Default)]
pub struct ReviewState {
    /// The pinned design, if any.
    pub baseline: Option<Baseline>,
    /// The Compare window is open.
    pub compare_open: bool,
    /// The class whose breakdown is open (`workload/class`).
    pub explain: Option<String>,
    /// Pin the current design before opening another one.
    pub pin_on_open: bool,
}

impl ReviewState {
    /// The comparison of the current design (and its report) with the baseline.
    pub fn comparison(&self, topology: &Topology, report: &Report) -> Option<Comparison> {
        let baseline = self.baseline.as_ref()?;
        Some(compare(
            (&baseline.topology, &baseline.report),
            (topology, report),
        ))
    }
}

/// The Compare menu.
pub fn compare_menu(app: &StaircaseApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    ui.menu_button("Compare", |ui| {
        if ui
            .button("Pin as baseline")
            .on_hover_text(
                "Keeps this design and its figures; every figure then shows its change against it.",
            )
            .clicked()
        {
            commands.push(Command::PinBaseline);
            ui.close();
        }
        let pinned = app.review.baseline.is_some();
        if ui
            .add_enabled(pinned, egui::Button::new("Compare with baseline…"))
            .clicked()
        {
            commands.push(Command::ShowCompare);
            ui.close();
        }
        if ui
            .add_enabled(pinned, egui::Button::new("Clear baseline"))
            .clicked()
        {
            commands.push(Command::ClearBaseline);
            ui.close();
        }
        ui.separator();
        let mut pin = app.review.pin_on_open;
        if ui
            .checkbox(&mut pin, "Pin the current design when opening another")
            .changed()
        {
            commands.push(Command::PinOnOpen(pin));
        }
    });
}

/// "(+$73.00/month)"-style change text, or nothing when the figure did not change.
pub fn change_text(change: &Change, decimals: usize, prefix: &str, suffix: &str) -> String {
    let shown = 10f64.powi(-(decimals as i32));
    if change.change.abs() < shown / 2.0 {
        String::new()
    } else {
        format!(
            "({})",
            crate::analysis::compare::signed(change.change, decimals, prefix, suffix)
        )
    }
}

/// A change label coloured by whether it is better (`lower_is_better` for cost and latency).
pub fn change_label(ui: &mut Ui, text: String, change: f64, lower_is_better: bool) {
    if text.is_empty() {
        return;
    }
    let better = if lower_is_better {
        change < 0.0
    } else {
        change > 0.0
    };
    let color = if better {
        theme::HEALTHY
    } else {
        theme::SATURATED
    };
    ui.colored_label(color, text)
        .on_hover_text("Change against the pinned baseline.");
}

/// The Compare window: totals and node by node.
pub fn compare_window(app: &mut StaircaseApp, ctx: &egui::Context) {
    if !app.review.compare_open {
        return;
    }
    let Ok(report) = &app.report else {
        return;
    };
    let Some(comparison) = app.review.comparison(&app.topology, report) else {
        return;
    };
    let mut open = true;
    egui::Window::new("Compare with baseline")
        .open(&mut open)
        .default_width(560.0)
        .show(ctx, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| comparison_ui(ui, &comparison));
        });
    app.review.compare_open = open;
}

/// The comparison with the pinned baseline: totals, the bottleneck, classes and nodes.
fn comparison_ui(ui: &mut Ui, c: &Comparison) {
    ui.label(format!("Baseline: {}", c.baseline));
    ui.label(format!("Current: {}", c.current));
    compared_totals(ui, c);
    let bottleneck = |name: &Option<String>| name.clone().unwrap_or_else(|| "none".into());
    if c.bottleneck_moved() {
        ui.colored_label(
            theme::BOTTLENECK,
            format!(
                "Bottleneck moved from {} to {}",
                bottleneck(&c.bottleneck_before),
                bottleneck(&c.bottleneck_after)
            ),
        );
    } else {
        ui.label(format!(
            "Bottleneck still {}",
            bottleneck(&c.bottleneck_after)
        ));
    }
    compared_classes(ui, c);
    compared_nodes(ui, c);
}

/// Cost, worst p99, availability, downtime and served: baseline, current and the change.
fn compared_totals(ui: &mut Ui, c: &Comparison) {
    egui::Grid::new("compare-totals")
        .num_columns(4)
        .striped(true)
        .show(ui, |ui| {
            let row = |ui: &mut Ui,
                       label: &str,
                       change: &Change,
                       show: &dyn Fn(f64) -> String,
                       delta: String,
                       lower: bool| {
                ui.label(label);
                ui.label(show(change.before));
                ui.label(show(change.after));
                change_label(ui, delta, change.change, lower);
                ui.end_row();
            };
            ui.label("");
            ui.label(RichText::new("baseline").strong());
            ui.label(RichText::new("current").strong());
            ui.label(RichText::new("change").strong());
            ui.end_row();
            row(
                ui,
                "Monthly cost",
                &c.monthly_cost_usd,
                &format::per_month,
                change_text(&c.monthly_cost_usd, 2, "$", "/month"),
                true,
            );
            row(
                ui,
                "Worst p99",
                &c.worst_p99_ms,
                &format::duration_ms,
                change_text(&c.worst_p99_ms, 1, "", " ms"),
                true,
            );
            row(
                ui,
                "Availability",
                &c.availability,
                &|v| format::percent(v, 4),
                change_text(
                    &Change::new(c.availability.before * 100.0, c.availability.after * 100.0),
                    4,
                    "",
                    "%",
                ),
                false,
            );
            row(
                ui,
                "Downtime",
                &c.downtime_min_per_month,
                &|v| format!("{v:.1} min/month"),
                change_text(&c.downtime_min_per_month, 1, "", " min"),
                true,
            );
            row(
                ui,
                "Served",
                &c.served_rps,
                &format::rate,
                change_text(&c.served_rps, 1, "", " req/s"),
                false,
            );
        });
}

/// Each class's p99 and availability change, or that it came or went.
fn compared_classes(ui: &mut Ui, c: &Comparison) {
    ui.separator();
    ui.label(RichText::new("Classes").strong());
    egui::Grid::new("compare-classes")
        .num_columns(4)
        .striped(true)
        .show(ui, |ui| {
            for class in &c.classes {
                ui.label(&class.name);
                if !class.presence.is_empty() {
                    ui.label(&class.presence);
                    ui.end_row();
                    continue;
                }
                if let Some(p99) = &class.p99_ms {
                    ui.label(format!(
                        "p99 {} to {}",
                        format::duration_ms(p99.before),
                        format::duration_ms(p99.after)
                    ));
                    change_label(ui, change_text(p99, 1, "", " ms"), p99.change, true);
                }
                if let Some(up) = &class.availability {
                    let points = Change::new(up.before * 100.0, up.after * 100.0);
                    change_label(
                        ui,
                        change_text(&points, 4, "", "% availability"),
                        points.change,
                        false,
                    );
                }
                ui.end_row();
            }
        });
}

/// Each node: added, removed, changed or the same, with its cost and utilization changes
/// and the fields that differ.
fn compared_nodes(ui: &mut Ui, c: &Comparison) {
    ui.separator();
    ui.label(RichText::new("Nodes").strong());
    for node in &c.nodes {
        let (mark, color) = match node.state {
            NodeState::Added => ("added", theme::HEALTHY),
            NodeState::Removed => ("removed", theme::SATURATED),
            NodeState::Changed => ("changed", theme::WARM),
            NodeState::Same => ("same", theme::muted_text()),
        };
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(color, mark);
            ui.label(RichText::new(&node.name).strong());
            if let Some(cost) = &node.monthly_cost_usd {
                change_label(ui, change_text(cost, 2, "$", "/month"), cost.change, true);
            }
            if let Some(u) = &node.utilization {
                if (u.change * 1000.0).round() != 0.0 {
                    ui.label(format!(
                        "utilization {} to {}",
                        format::percent(u.before, 1),
                        format::percent(u.after, 1)
                    ));
                }
            }
        });
        for field in &node.fields {
            ui.label(RichText::new(format!("    {field}")).small());
        }
    }
}

/// The breakdown window of the class chosen by clicking its p50/p99 in the metrics.
pub fn explain_window(app: &mut StaircaseApp, ctx: &egui::Context) {
    let Some(name) = app.review.explain.clone() else {
        return;
    };
    let Ok(report) = &app.report else {
        return;
    };
    let Some(class) = report.class(&name) else {
        app.review.explain = None;
        return;
    };
    let explanation = explain(&app.topology, report, class);
    let mut open = true;
    egui::Window::new(format!("Why this latency: {name}"))
        .id(egui::Id::new("explain-window"))
        .open(&mut open)
        .default_width(520.0)
        .show(ctx, |ui| explanation_ui(ui, &explanation));
    if !open {
        app.review.explain = None;
    }
}

fn explanation_ui(ui: &mut Ui, e: &Explanation) {
    ui.label(format!(
        "mean {}, p50 {}, p95 {}, p99 {}",
        format::duration_ms(e.mean_ms),
        format::duration_ms(e.p50_ms),
        format::duration_ms(e.p95_ms),
        format::duration_ms(e.p99_ms)
    ))
    .on_hover_text(&e.method);
    egui::Grid::new("explain-shares")
        .num_columns(6)
        .striped(true)
        .show(ui, |ui| {
            for title in [
                "node",
                "visits",
                "share of mean",
                "fixed",
                "service",
                "waiting",
            ] {
                ui.label(RichText::new(title).strong());
            }
            ui.end_row();
            for c in &e.contributions {
                ui.label(&c.name).on_hover_text(&c.formula);
                ui.label(format!("{:.2}", c.visits));
                ui.label(format!(
                    "{} ({})",
                    format::duration_ms(c.share_ms),
                    format::percent(c.fraction, 1)
                ))
                .on_hover_text(format!(
                    "visits × mean per visit = {:.3} × {}",
                    c.visits,
                    format::duration_ms(c.mean_ms)
                ));
                ui.label(format::duration_ms(c.base_ms));
                ui.label(format::duration_ms(c.service_ms));
                ui.label(format::duration_ms(c.wait_ms));
                ui.end_row();
            }
            ui.label("round trips");
            ui.label("");
            ui.label(format::duration_ms(e.round_trip_ms));
            ui.end_row();
        });
    let tail: Vec<String> = e
        .tail
        .iter()
        .take(3)
        .filter_map(|id| e.contributions.iter().find(|c| c.id == *id))
        .map(|c| format!("{} ({})", c.name, format::duration_ms(c.tail_ms)))
        .collect();
    if !tail.is_empty() {
        ui.label(format!("Waiting that stretches the tail: {}", tail.join(", ")))
            .on_hover_text("Per node: visits × the 99th percentile of its wait (Erlang C's exponential wait tail).");
    }
    ui.separator();
    for c in &e.contributions {
        ui.label(RichText::new(format!("{}: {}", c.name, c.formula)).small());
    }
}
