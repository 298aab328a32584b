//! The panels around the canvas: menus, palette, workload, inspector, metrics, plots, prompts.
//! They edit the document or read the report; none of them computes a figure of its own.

use super::{format, keys, plot_axes, review, theme, Command, StaircaseApp};
use crate::model::{NodeKind, Rate, Workload, SECONDS_PER_DAY};
use egui::{DragValue, RichText, Ui};
use egui_plot::{Bar, BarChart, Legend, Line, LineStyle, Plot, PlotPoints, VLine};

/// A menu item with its keyboard shortcut shown beside it.
fn item(ui: &mut Ui, label: &str, shortcut: Option<&egui::KeyboardShortcut>) -> egui::Response {
    let mut button = egui::Button::new(label);
    if let Some(shortcut) = shortcut {
        button = button.shortcut_text(ui.ctx().format_shortcut(shortcut));
    }
    ui.add(button)
}

pub fn menu_bar(app: &mut StaircaseApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    // Colours of this frame follow the visuals egui chose (system, light or dark).
    theme::set_dark(ui.visuals().dark_mode);
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| file_menu(app, ui, commands));
        ui.menu_button("Edit", |ui| {
            let entries = [
                ("Undo", &keys::UNDO, Command::Undo),
                ("Redo", &keys::REDO, Command::Redo),
                ("Cut", &keys::CUT, Command::Cut),
                ("Copy", &keys::COPY, Command::Copy),
                ("Paste", &keys::PASTE, Command::Paste(None)),
                ("Duplicate", &keys::DUPLICATE, Command::Duplicate),
                ("Delete", &keys::DELETE, Command::DeleteSelected),
                ("Select all", &keys::SELECT_ALL, Command::SelectAll),
                ("Select none", &keys::ESCAPE, Command::ClearSelection),
            ];
            for (index, (label, shortcut, command)) in entries.into_iter().enumerate() {
                if index == 2 || index == 7 {
                    ui.separator();
                }
                if item(ui, label, Some(shortcut)).clicked() {
                    commands.push(command);
                    ui.close();
                }
            }
        });
        ui.menu_button("View", |ui| {
            if item(ui, "Fit all nodes", Some(&keys::FIT))
                .on_hover_text("Zooms and pans so every node is in view (double-clicking the canvas does the same).")
                .clicked()
            {
                commands.push(Command::FitView);
                ui.close();
            }
            ui.separator();
            canvas_toggles(app, ui);
            ui.separator();
            theme_choice(ui);
        });
        ui.menu_button("Simulate", |ui| {
            if ui.button("A day on the timeline…").clicked() {
                app.timeline.open = true;
                ui.close();
            }
            if ui.button("From your measurements…").clicked() {
                app.calibrate.open = true;
                ui.close();
            }
            if ui
                .button("Check with simulation")
                .on_hover_text("Simulates the design request by request and compares every figure with the model.")
                .clicked()
            {
                commands.push(Command::CheckWithSimulation);
                ui.close();
            }
        });
        super::review::compare_menu(app, ui, commands);
        ui.separator();
        ui.label(RichText::new(&app.topology.name).strong());
    });
}

/// View → theme: follow the system (the default), light or dark; egui remembers the choice.
fn theme_choice(ui: &mut Ui) {
    let before = ui.ctx().options(|o| o.theme_preference);
    let mut chosen = before;
    ui.label(RichText::new("Theme").small().color(theme::muted_text()));
    ui.radio_value(
        &mut chosen,
        egui::ThemePreference::System,
        "Follow the system",
    );
    ui.radio_value(&mut chosen, egui::ThemePreference::Light, "Light");
    ui.radio_value(&mut chosen, egui::ThemePreference::Dark, "Dark");
    if chosen != before {
        ui.ctx().set_theme(chosen);
    }
}

/// View → the canvas's grid, snapping and minimap.
fn canvas_toggles(app: &mut StaircaseApp, ui: &mut Ui) {
    let options = app.canvas.options_mut();
    ui.checkbox(&mut options.grid, "Grid");
    ui.add_enabled(
        options.grid,
        egui::Checkbox::new(&mut options.snap, "Snap to grid"),
    );
    ui.checkbox(&mut options.minimap, "Minimap");
    ui.checkbox(&mut options.flow, "Animated flow")
        .on_hover_text("Dots move along the wires, faster where more requests flow.");
}

fn file_menu(app: &mut StaircaseApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    if item(ui, "New", Some(&keys::NEW)).clicked() {
        commands.push(Command::New);
        ui.close();
    }
    if item(ui, "Open…", Some(&keys::OPEN)).clicked() {
        commands.push(Command::Open);
        ui.close();
    }
    if ui
        .button("Open preset…")
        .on_hover_text(
            "Browse the built-in designs: the scaling staircase, real companies, exercises.",
        )
        .clicked()
    {
        app.browser.show_window();
        ui.close();
    }
    ui.menu_button("Open recent", |ui| {
        if app.recent.is_empty() {
            ui.label("No recent files");
        }
        for path in app.recent.clone() {
            if ui.button(path.display().to_string()).clicked() {
                commands.push(Command::OpenPath(path));
                ui.close();
            }
        }
    });
    ui.separator();
    if item(ui, "Save", Some(&keys::SAVE)).clicked() {
        commands.push(Command::Save);
        ui.close();
    }
    if item(ui, "Save As…", Some(&keys::SAVE_AS)).clicked() {
        commands.push(Command::SaveAs);
        ui.close();
    }
    ui.separator();
    if ui.button("Export charts and CSV…").clicked() {
        commands.push(Command::Export);
        ui.close();
    }
    ui.separator();
    if item(ui, "Quit", Some(&keys::QUIT)).clicked() {
        commands.push(Command::Quit);
        ui.close();
    }
}

pub fn status_bar(app: &StaircaseApp, ui: &mut Ui) {
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} nodes, {} wires",
            format::count(app.topology.nodes.len() as u64),
            format::count(app.topology.edges.len() as u64)
        ));
        ui.separator();
        ui.label(format!("frame {}", format::duration_ms(app.frame_seconds * 1000.0)))
            .on_hover_text("Time to build the last frame, solve included.");
        if app.frame_interval > 0.0 && app.frame_interval < 1.0 {
            ui.label(format!("{} fps", format::grouped(1.0 / app.frame_interval, 0)))
                .on_hover_text("Frames per second while the window keeps repainting (dragging, panning); rendering included.");
        }
        if app.is_dirty() {
            ui.separator();
            ui.label("unsaved changes");
        }
        for (what, done, seconds) in app.background_status() {
            ui.separator();
            ui.spinner();
            ui.add(
                egui::ProgressBar::new(done)
                    .desired_width(90.0)
                    .text(format!("{what} {}", format::duration_ms(seconds * 1000.0))),
            )
            .on_hover_text("Computing in the background; the canvas and inspector stay live.");
        }
    });
}

pub fn palette(ui: &mut Ui, commands: &mut Vec<Command>) {
    ui.heading("Add");
    ui.label(RichText::new("Click to add; right-click the canvas for the same list.").small());
    egui::Grid::new("palette-grid")
        .num_columns(2)
        .show(ui, |ui| {
            for (index, kind) in NodeKind::catalog().into_iter().enumerate() {
                if ui
                    .button(format!("+ {}", kind.label()))
                    .on_hover_text(kind_help(&kind))
                    .clicked()
                {
                    commands.push(Command::AddNode(kind));
                }
                if index % 2 == 1 {
                    ui.end_row();
                }
            }
        });
}

fn kind_help(kind: &NodeKind) -> &'static str {
    match kind {
        NodeKind::Client => "Where a workload's requests come from.",
        NodeKind::Dns { .. } => "Name lookup; GeoDNS sends users to their own region.",
        NodeKind::Cdn { .. } => "Edge cache: answers a share of reads near the user.",
        NodeKind::LoadBalancer { .. } => "Spreads requests over the instances behind it.",
        NodeKind::AppServer => "Stateless application servers.",
        NodeKind::Cache { .. } => "In-memory cache: hits never reach the database.",
        NodeKind::Database { .. } => "Primary database: all writes, and reads without replicas.",
        NodeKind::ReadReplica => "Copies of the database that serve reads.",
        NodeKind::ShardGroup { .. } => "Data split over shards; skew makes one shard hot.",
        NodeKind::ConnectionPooler { .. } => "Limits how many queries reach the database at once.",
        NodeKind::Queue => "Broker: acknowledges async work at once.",
        NodeKind::Workers => "Background workers that drain a queue.",
        NodeKind::ObjectStorage => "Blob storage (photos, files).",
        NodeKind::ExternalService => "A third-party API with its own latency.",
        NodeKind::Service => "Generic station: c servers, rate μ, optional buffer K.",
    }
}

/// The workload editor with the back-of-envelope arithmetic of article 000, step 0.
pub fn workload_panel(app: &mut StaircaseApp, ui: &mut Ui) {
    ui.heading("Workload");
    if app.topology.workloads.is_empty() {
        first_workload_button(app, ui);
        return;
    }
    let count = app.topology.workloads.len();
    app.workload_index = app.workload_index.min(count - 1);
    if count > 1 {
        egui::ComboBox::from_id_salt("workload-pick")
            .selected_text(app.topology.workloads[app.workload_index].name.clone())
            .show_ui(ui, |ui| {
                for index in 0..count {
                    let name = app.topology.workloads[index].name.clone();
                    ui.selectable_value(&mut app.workload_index, index, name);
                }
            });
    }
    let clients: Vec<(u32, String)> = app
        .topology
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Client)
        .map(|n| (n.id, n.name.clone()))
        .collect();
    let regions: Vec<String> = app
        .topology
        .regions
        .iter()
        .map(|r| r.name.clone())
        .collect();
    let app_capacity = app
        .topology
        .nodes
        .iter()
        .find(|n| n.kind == NodeKind::AppServer)
        .and_then(|n| n.capacity_rps);
    let workload = &mut app.topology.workloads[app.workload_index];
    workload_grid(ui, workload, &clients, &regions);
    request_mix(ui, workload);
    envelope_arithmetic(ui, workload, app_capacity);
}

/// With no workload yet: a button that adds one at the first client, or a hint to add a
/// client.
fn first_workload_button(app: &mut StaircaseApp, ui: &mut Ui) {
    let client = app
        .topology
        .nodes
        .iter()
        .find(|n| n.kind == NodeKind::Client)
        .map(|n| n.id);
    match client {
        Some(id) => {
            if ui.button("Add a workload").clicked() {
                app.topology.workloads.push(Workload {
                    client: id,
                    ..Workload::default()
                });
            }
        }
        None => {
            ui.label("Add a Client node to send traffic.");
        }
    }
}

/// A workload's name, volume, peak, burstiness, response size, client and region.
fn workload_grid(
    ui: &mut Ui,
    workload: &mut Workload,
    clients: &[(u32, String)],
    regions: &[String],
) {
    egui::Grid::new("workload-grid")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("Name");
            ui.text_edit_singleline(&mut workload.name);
            ui.end_row();
            ui.label("Requests/day");
            let mut per_day = workload.rate.per_second() * SECONDS_PER_DAY;
            let speed = per_day.max(1000.0) * 0.005;
            if ui
                .add(
                    DragValue::new(&mut per_day)
                        .range(0.0..=crate::model::checked::MAX_RATE)
                        .speed(speed)
                        .clamp_existing_to_range(false)
                        // Thousands separated; whole numbers unless the file has a fraction.
                        .custom_formatter(|n, _| {
                            format::grouped(n, if n.fract() == 0.0 { 0 } else { 2 })
                        })
                        .custom_parser(|text| text.replace(',', "").trim().parse().ok()),
                )
                .on_hover_text("Average volume; divided by 86,400 s for the average rate.")
                .changed()
            {
                workload.rate = Rate::PerDay(per_day);
            }
            ui.end_row();
            ui.label("Peak ×");
            ui.add(
                DragValue::new(&mut workload.peak_multiplier)
                    .range(1.0..=1000.0)
                    .speed(0.05)
                    .clamp_existing_to_range(false),
            )
            .on_hover_text("Peak over average: 3–5× for consumer traffic.");
            ui.end_row();
            ui.label("Burstiness");
            ui.add(
                DragValue::new(&mut workload.arrival_cv)
                    .range(0.0..=10.0)
                    .speed(0.01)
                    .clamp_existing_to_range(false)
                    .prefix("cv "),
            )
            .on_hover_text(
                "Coefficient of variation of the time between requests: 1 random (Poisson), \
                 0 evenly spaced, above 1 bursty (flash crowds, batch jobs). Reads, writes \
                 and jobs come in the same bursts; bursts travel downstream and lengthen \
                 the waits.",
            );
            ui.end_row();
            ui.label("Response size");
            ui.add(
                DragValue::new(&mut workload.payload_kb)
                    .range(0.0..=crate::model::checked::MAX_PAYLOAD_KB)
                    .speed(1.0)
                    .suffix(" KB"),
            )
            .on_hover_text("Average response, decimal KB: what per-GB transfer prices bill.");
            ui.end_row();
            ui.label("Client");
            egui::ComboBox::from_id_salt("workload-client")
                .selected_text(
                    clients
                        .iter()
                        .find(|(id, _)| *id == workload.client)
                        .map_or("?".into(), |(_, n)| n.clone()),
                )
                .show_ui(ui, |ui| {
                    for (id, name) in clients {
                        ui.selectable_value(&mut workload.client, *id, name);
                    }
                });
            ui.end_row();
            if !regions.is_empty() {
                ui.label("Region");
                region_picker(ui, "workload-region", &mut workload.region, regions);
                ui.end_row();
            }
        });
}

/// The read and write sliders; async takes what is left.
fn request_mix(ui: &mut Ui, workload: &mut Workload) {
    ui.label("Request mix (read / write / async)");
    let mut read = workload.read;
    let mut write = workload.write;
    let mut changed = ui
        .add(egui::Slider::new(&mut read, 0.0..=1.0).text("read"))
        .changed();
    changed |= ui
        .add(egui::Slider::new(&mut write, 0.0..=1.0).text("write"))
        .changed();
    if changed {
        // Keep the three shares adding up to one: async takes what is left, and write gives way
        // when read grows past it.
        write = write.min(1.0 - read);
        workload.read = read;
        workload.write = write;
        workload.background = (1.0 - read - write).max(0.0);
    }
    ui.label(format!("async {}", format::percent(workload.background, 0)));
}

/// Step 0 of article 000: average and peak rate, and the servers they need at
/// `app_capacity` requests per second each (the first AppServer's).
fn envelope_arithmetic(ui: &mut Ui, workload: &Workload, app_capacity: Option<f64>) {
    let average = workload.rate.per_second();
    let peak = average * workload.peak_multiplier;
    ui.separator();
    ui.label(format!(
        "average {}, peak {}",
        format::rate(average),
        format::rate(peak)
    ))
    .on_hover_text("requests/day ÷ 86,400, then × peak multiplier");
    if let Some(capacity) = app_capacity {
        let servers = (peak / capacity).ceil();
        let with_headroom = (servers * 1.3).ceil();
        ui.label(format!(
            "app servers: ceil({} / {}) = {}, {} with 30% headroom",
            format::number(peak),
            format::number(capacity),
            format::grouped(servers, 0),
            format::grouped(with_headroom, 0)
        ))
        .on_hover_text("Per-server capacity from the first AppServer node.");
    }
}

pub(super) fn region_picker(ui: &mut Ui, id: &str, region: &mut String, regions: &[String]) {
    egui::ComboBox::from_id_salt(id)
        .selected_text(if region.is_empty() {
            "none".to_string()
        } else {
            region.clone()
        })
        .show_ui(ui, |ui| {
            ui.selectable_value(region, String::new(), "none");
            for name in regions {
                ui.selectable_value(region, name.clone(), name);
            }
        });
}

/// The what-if load: every workload times a factor, solved live (not saved in the document).
pub fn what_if(app: &mut StaircaseApp, ui: &mut Ui) {
    ui.horizontal(|ui| {
        ui.label("What-if load ×");
        ui.add(
            egui::Slider::new(&mut app.load_multiplier, 0.1..=10.0)
                .logarithmic(true)
                .clamping(egui::SliderClamping::Edits)
                .max_decimals(2),
        )
        .on_hover_text(
            "Multiplies every workload's rate; every figure follows. A view setting: the \
             document is not changed (the CLI's --load).",
        );
        if app.load_multiplier != 1.0 && ui.button("Reset").clicked() {
            app.load_multiplier = 1.0;
        }
    });
}

/// Totals, classes, cost per tier, headroom, availability and the bottleneck; with a pinned
/// baseline, each figure's change against it. Clicking a class's p50 or p99 opens its
/// breakdown.
pub fn metrics(app: &StaircaseApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    ui.heading("Metrics");
    let report = match &app.report {
        Ok(report) => report,
        Err(error) => {
            ui.colored_label(theme::error_text(), error);
            return;
        }
    };
    let comparison = app.review.comparison(&app.topology, report);
    let comparison = comparison.as_ref();
    if comparison.is_some() {
        baseline_actions(ui, commands);
    }
    totals_grid(ui, report, comparison);
    bottleneck_lines(ui, report, comparison);
    advisor_lines(ui, &app.topology, report);
    ui.separator();
    ui.label(RichText::new("End to end").strong());
    classes_grid(report, comparison, ui, commands);
    if let Some(node) = app.selected().and_then(|id| report.node(id)) {
        selected_node_grid(app, node, ui);
    }
    ui.separator();
    ui.label(RichText::new("Cost per tier").strong());
    for tier in &report.tiers {
        ui.label(format!(
            "{}: {}",
            tier.tier,
            format::per_month(tier.monthly_cost_usd)
        ));
    }
    for warning in &report.warnings {
        ui.colored_label(theme::WARM, warning);
    }
}

/// The note that changes against the pinned baseline are in brackets, with its buttons.
fn baseline_actions(ui: &mut Ui, commands: &mut Vec<Command>) {
    ui.label(
        RichText::new("Changes against the pinned baseline in brackets.")
            .small()
            .color(theme::muted_text()),
    );
    ui.horizontal(|ui| {
        if ui.button("Compare…").clicked() {
            commands.push(Command::ShowCompare);
        }
        if ui.button("Unpin baseline").clicked() {
            commands.push(Command::ClearBaseline);
        }
    });
}

/// Offered, served, dropped, backlog, cost, availability and headroom.
fn totals_grid(
    ui: &mut Ui,
    report: &crate::solver::report::Report,
    comparison: Option<&crate::analysis::compare::Comparison>,
) {
    egui::Grid::new("totals").num_columns(2).show(ui, |ui| {
        ui.label("Offered");
        ui.label(format::rate(report.offered_rps))
            .on_hover_text("Sum of the workloads at peak × load multiplier.");
        ui.end_row();
        ui.label("Served");
        ui.label(format::rate(report.served_rps))
            .on_hover_text("Requests that complete end to end.");
        ui.end_row();
        ui.label("Dropped");
        // Red only for a drop that shows: "0 req/s" is not an alarm.
        let color = if format::rate_is_zero(report.dropped_rps) {
            theme::muted_text()
        } else {
            theme::SATURATED
        };
        ui.colored_label(color, format::rate(report.dropped_rps))
            .on_hover_text("Refused by full queues (M/M/c/K blocking) and not retried.");
        ui.end_row();
        if report.backlog_rps > 0.0 && !format::rate_is_zero(report.backlog_rps) {
            ui.label("Backlog");
            ui.colored_label(
                theme::SATURATED,
                format!("+{}", format::rate(report.backlog_rps)),
            )
            .on_hover_text("Arrivals above capacity pile up: the queue grows without bound.");
            ui.end_row();
        }
        ui.label("Monthly cost");
        ui.horizontal(|ui| {
            ui.label(format::per_month(report.monthly_cost_usd))
                .on_hover_text("instances × hourly price × 730 h + managed fees");
            if let Some(c) = comparison {
                let change = &c.monthly_cost_usd;
                let text = review::change_text(change, 2, "$", "/month");
                review::change_label(ui, text, change.change, true);
            }
        });
        ui.end_row();
        availability_row(ui, report, comparison);
        ui.label("Headroom");
        match report.headroom {
            Some(headroom) => ui
                .colored_label(
                    theme::utilization_color(1.0 / headroom),
                    format!("{} load", format::multiplier(headroom)),
                )
                .on_hover_text("Load multiplier at which the bottleneck reaches ρ = 1."),
            None => ui.label("unbounded"),
        };
        ui.end_row();
    });
}

/// The bottleneck and why, and whether it moved since the baseline.
fn bottleneck_lines(
    ui: &mut Ui,
    report: &crate::solver::report::Report,
    comparison: Option<&crate::analysis::compare::Comparison>,
) {
    if let Some(bottleneck) = &report.bottleneck {
        ui.label(
            RichText::new(format!("Bottleneck: {}", bottleneck.name))
                .color(theme::BOTTLENECK)
                .strong(),
        )
        .on_hover_text("The node that saturates first as load grows.");
        ui.label(&bottleneck.reason);
    }
    if let Some(c) = comparison.filter(|c| c.bottleneck_moved()) {
        ui.label(format!(
            "(bottleneck moved from {} to {})",
            c.bottleneck_before.as_deref().unwrap_or("none"),
            c.bottleneck_after.as_deref().unwrap_or("none")
        ));
    }
}

/// The advisor's first triggers and the next move each suggests.
fn advisor_lines(
    ui: &mut Ui,
    topology: &crate::model::Topology,
    report: &crate::solver::report::Report,
) {
    let advice = crate::analysis::advisor::advise(topology, report);
    if !advice.is_empty() {
        ui.separator();
        ui.label(RichText::new("Advisor").strong());
        const SHOWN: usize = 4;
        if advice.len() > SHOWN {
            ui.label(format!(
                "{} triggers; the first {SHOWN}:",
                format::count(advice.len() as u64)
            ));
        }
        for item in advice.iter().take(SHOWN) {
            let stage = item
                .stage
                .map(|s| format!(" (stage {s})"))
                .unwrap_or_default();
            ui.colored_label(theme::WARM, format!("Trigger: {}", item.trigger));
            ui.label(format!("Next: {}{stage}", item.next_move));
        }
    }
}

/// The selected node's figures: λ, ρ, L_q, L, connection wait, latency and cost.
fn selected_node_grid(app: &StaircaseApp, node: &crate::solver::report::NodeReport, ui: &mut Ui) {
    ui.separator();
    ui.label(RichText::new(format!("Selected: {}", node.name)).strong());
    egui::Grid::new("node-figures")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("arrival λ");
            ui.label(format::rate(node.arrival_rps));
            ui.end_row();
            ui.label("utilization ρ");
            ui.label(format::percent(node.utilization, 1))
                .on_hover_text(utilization_formula(node));
            ui.end_row();
            ui.label("in queue L_q");
            ui.label(format::number(node.queue_len));
            ui.end_row();
            ui.label("in node L");
            ui.label(format::number(node.in_system))
                .on_hover_text("Little's law: L = X·W (throughput × mean latency)");
            ui.end_row();
            if node.connection_wait_ms > 0.0 && !format::duration_is_zero(node.connection_wait_ms) {
                ui.label("waiting for a connection");
                ui.label(format!(
                    "{} mean",
                    format::duration_ms(node.connection_wait_ms)
                ))
                .on_hover_text(
                    "Time requests wait here for a database connection because \
                         every connection of the pool is held (included in L and in \
                         the latency below). The database shows only the wait of the \
                         requests already holding one.",
                );
                ui.end_row();
            }
            ui.label("mean / p99");
            ui.label(format!(
                "{} / {}",
                format::latency_ms(node.latency_ms.mean, node.throughput_rps),
                format::latency_ms(node.latency_ms.p99, node.throughput_rps)
            ));
            ui.end_row();
            ui.label("cost");
            ui.label(format::per_month(node.monthly_cost_usd));
            ui.end_row();
            node_review_rows(app, node, ui);
        });
}

/// The availability row of the totals: the traffic-weighted availability of the classes and
/// the downtime a month it means.
fn availability_row(
    ui: &mut Ui,
    report: &crate::solver::report::Report,
    comparison: Option<&crate::analysis::compare::Comparison>,
) {
    ui.label("Availability");
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} ({} min/month down)",
            format::percent(report.availability, 3),
            format::grouped(report.downtime_min_per_month, 1)
        ))
        .on_hover_text(
            "Steady state with independent failures: each tier is up when enough instances to \
             carry its load are up (k of n), replicas and failover targets are parallel paths, \
             a region fails as a whole; averaged over the classes by their traffic. \
             Downtime is over a 730-hour month.",
        );
        if let Some(c) = comparison {
            let points = crate::analysis::compare::Change::new(
                c.availability.before * 100.0,
                c.availability.after * 100.0,
            );
            let text = review::change_text(&points, 3, "", "%");
            review::change_label(ui, text, points.change, false);
        }
    });
    ui.end_row();
}

/// The end-to-end table: p50 and p99 open the class's breakdown when clicked; availability and
/// downtime per class; with a baseline, the change of p99.
fn classes_grid(
    report: &crate::solver::report::Report,
    comparison: Option<&crate::analysis::compare::Comparison>,
    ui: &mut Ui,
    commands: &mut Vec<Command>,
) {
    egui::Grid::new("classes")
        .num_columns(6)
        .striped(true)
        .show(ui, |ui| {
            ui.label("class");
            ui.label("req/s");
            ui.label("mean")
                .on_hover_text("Mean response time. Click a figure for its breakdown.");
            ui.label("p50").on_hover_text("Median response time.");
            ui.label("p99").on_hover_text(
                "99th percentile from the distribution of the path mix (transform inversion), \
             not a sum of per-hop percentiles. Click a figure for its breakdown.",
            );
            ui.label("available");
            ui.end_row();
            for class in &report.classes {
                ui.label(&class.name);
                ui.label(format::number(class.offered_rps));
                let method = crate::analysis::explain::class_method(class);
                // A class whose requests are all dropped has no response time.
                for value in [
                    class.latency_ms.mean,
                    class.latency_ms.p50,
                    class.latency_ms.p99,
                ] {
                    let text = format::latency_ms(value, class.served_rps);
                    if ui
                        .link(text)
                        .on_hover_text(format!("{method}. Click for the breakdown."))
                        .clicked()
                    {
                        commands.push(Command::ExplainClass(class.name.clone()));
                    }
                }
                let worst = class
                    .downtime_by_part
                    .first()
                    .map_or_else(String::new, |part| {
                        format!("; most from {} ({:.1} min)", part.name, part.min_per_month)
                    });
                ui.label(format::percent(class.availability, 3))
                    .on_hover_text(format!(
                        "{} min/month down{}{worst}",
                        format::grouped(class.downtime_min_per_month, 1),
                        class
                            .nines
                            .map(|n| format!(", {n:.2} nines"))
                            .unwrap_or_default()
                    ));
                if let Some(change) = comparison
                    .and_then(|c| c.classes.iter().find(|k| k.name == class.name))
                    .and_then(|k| k.p99_ms)
                {
                    let text = review::change_text(&change, 1, "", " ms p99");
                    review::change_label(ui, text, change.change, true);
                }
                ui.end_row();
            }
        });
}

/// The utilization's formula with the busiest queue's own figures.
fn utilization_formula(node: &crate::solver::report::NodeReport) -> String {
    match &node.queue {
        Some(queue) => format!(
            "ρ = X·E[S]/c for the busiest queue (served, so at most 100%); offered \
             a/c = λ·E[S]/c = {:.1}/s × {:.3} ms / {} = {}",
            queue.arrival_rps,
            queue.mean_service_ms,
            queue.servers,
            format::percent(node.offered_utilization, 1)
        ),
        None => "A pure delay: no servers to keep busy.".to_string(),
    }
}

/// The selected node's availability (k of n) and its queue's formula.
fn node_review_rows(app: &StaircaseApp, node: &crate::solver::report::NodeReport, ui: &mut Ui) {
    let up = &node.availability;
    ui.label("availability");
    ui.label(format::percent(up.tier, 4)).on_hover_text(format!(
        "{} of {} instances must be up to carry the load below saturation; one instance is up \
         {} of the time{}",
        up.needed,
        node.instances,
        format::percent(up.instance, 3),
        if up.region < 1.0 {
            format!("; its region {}", format::percent(up.region, 3))
        } else {
            String::new()
        }
    ));
    ui.end_row();
    ui.label("queue");
    let formula = crate::analysis::explain::node_formula(&app.topology, node);
    let short = match &node.queue {
        Some(queue) => format!("{} wait", format::percent(queue.wait_probability, 0)),
        None => "none".to_string(),
    };
    ui.label(short).on_hover_text(formula);
    ui.end_row();
}

/// Latency against load (p50 and p99 per class, knee marked) and cost per tier.
/// Runs `add_contents` in the room `ui` has and claims exactly that width, whatever the
/// contents' width: what is wider is clipped (a panel keeps the width the user gave it).
pub fn keep_width(ui: &mut Ui, add_contents: impl FnOnce(&mut Ui)) {
    let room = ui.available_rect_before_wrap();
    let mut child = ui.new_child(
        egui::UiBuilder::new()
            .max_rect(room)
            .layout(egui::Layout::top_down(egui::Align::Min)),
    );
    child.set_clip_rect(room.intersect(ui.clip_rect()));
    add_contents(&mut child);
    let height = child.min_rect().height().min(room.height());
    ui.allocate_rect(
        egui::Rect::from_min_size(room.min, egui::vec2(room.width(), height)),
        egui::Sense::hover(),
    );
}

/// The three plots side by side in the bottom panel, each with a button that opens it large
/// in a window of its own.
pub fn plots(app: &StaircaseApp, ui: &mut Ui) {
    let enlarged_id = egui::Id::new("staircase-enlarged-plot");
    let mut enlarged: Option<usize> = ui.ctx().data(|d| d.get_temp(enlarged_id)).flatten();
    ui.columns(3, |columns| {
        for (index, ui) in columns.iter_mut().enumerate() {
            ui.horizontal(|ui| {
                if ui
                    .small_button("⛶")
                    .on_hover_text("Open this plot in a large window")
                    .clicked()
                {
                    enlarged = Some(index);
                }
                ui.add(egui::Label::new(RichText::new(plot_title(app, index)).strong()).truncate());
            });
            plot(app, ui, index, "");
        }
    });
    if let Some(index) = enlarged {
        let mut open = true;
        egui::Window::new(plot_title(app, index))
            .id(egui::Id::new("staircase-plot-window"))
            .open(&mut open)
            .default_size([900.0, 560.0])
            .show(ui.ctx(), |ui| plot(app, ui, index, "-large"));
        if !open {
            enlarged = None;
        }
    }
    ui.ctx().data_mut(|d| d.insert_temp(enlarged_id, enlarged));
}

/// The title of plot `index`.
fn plot_title(app: &StaircaseApp, index: usize) -> String {
    match index {
        0 => "Latency vs load multiplier".to_owned(),
        1 => "Monthly cost per tier".to_owned(),
        _ => app
            .sweeps
            .as_ref()
            .and_then(|s| s.instances.as_ref())
            .map_or_else(
                || "Cost vs p99".to_owned(),
                |(name, _)| format!("Cost vs p99 as {name} grows"),
            ),
    }
}

/// Plot `index` filling the room `ui` has; `salt` keeps the large copy's state apart.
fn plot(app: &StaircaseApp, ui: &mut Ui, index: usize, salt: &str) {
    match index {
        0 => latency_plot(app, ui, salt),
        1 => cost_plot(app, ui, salt),
        _ => cost_p99_plot(app, ui, salt),
    }
}

/// The key of the latency plot, above it (never over the curves): a colour per class, then
/// the line style of each percentile.
fn latency_legend(ui: &mut Ui, names: &[String]) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 8.0;
        for (index, name) in names.iter().enumerate() {
            ui.label(
                RichText::new(format!("■ {name}"))
                    .color(theme::class_color(index))
                    .small(),
            );
        }
        ui.label(
            RichText::new("—— p50   - - - p95   · · · p99")
                .small()
                .color(theme::muted_text()),
        );
    });
}

/// Which figure of a class a line shows.
type Pick = fn(&crate::analysis::sweep::ClassPoint) -> f64;

fn latency_plot(app: &StaircaseApp, ui: &mut Ui, salt: &str) {
    let sweep = app.sweeps.as_ref().and_then(|s| s.load.as_ref());
    let names: Vec<String> = sweep
        .and_then(|s| s.points.first())
        .map(|p| p.classes.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    latency_legend(ui, &names);
    // With no class completing there is nothing to draw: the axes start at zero rather than
    // centring on it (a negative latency reads as nonsense).
    let nothing_drawn = !sweep.is_some_and(|s| {
        s.points
            .iter()
            .any(|p| p.classes.iter().any(|c| c.mean_ms > 0.0))
    });
    let mut plot = Plot::new(format!("latency-plot{salt}"));
    if nothing_drawn {
        plot = plot.include_x(0.0).include_y(0.0).include_y(1.0);
    }
    plot.x_axis_label("load ×")
        .x_axis_formatter(|mark, _| format::si_axis(mark.value, mark.step_size))
        .custom_y_axes(vec![plot_axes::value_axis("latency", |mark, _| {
            format::latency_axis(mark.value, mark.step_size)
        })])
        .y_grid_spacer(plot_axes::marks)
        .allow_scroll(false)
        .show(ui, |plot| {
            let Some(sweep) = sweep else {
                return;
            };
            for (index, name) in names.iter().enumerate() {
                let series =
                    |pick: fn(&crate::analysis::sweep::ClassPoint) -> f64| -> Vec<[f64; 2]> {
                        sweep
                            .points
                            .iter()
                            .filter_map(|p| p.classes.get(index).map(|c| [p.load, pick(c)]))
                            .collect()
                    };
                // A class that never completes has no latency to draw (not a latency of 0).
                if series(|c| c.mean_ms).iter().all(|point| point[1] <= 0.0) {
                    continue;
                }
                let color = theme::class_color(index);
                let percentiles: [(&str, Pick, LineStyle); 3] = [
                    ("p50", |c| c.p50_ms, LineStyle::Solid),
                    ("p95", |c| c.p95_ms, LineStyle::dashed_dense()),
                    ("p99", |c| c.p99_ms, LineStyle::dotted_dense()),
                ];
                for (label, pick, style) in percentiles {
                    plot.line(
                        Line::new(format!("{name} {label}"), PlotPoints::from(series(pick)))
                            .color(color)
                            .style(style),
                    );
                }
            }
            if let Some(knee) = sweep.knee {
                plot.vline(VLine::new("knee (ρ = 1)", knee).color(theme::KNEE_LINE));
            }
            plot.vline(VLine::new("now", app.load_multiplier).color(theme::muted_text()));
        });
}

/// Monthly cost per tier as horizontal bars: every bar carries its tier's name and cost
/// (names on a horizontal axis would collide under narrow bars).
fn cost_plot(app: &StaircaseApp, ui: &mut Ui, salt: &str) {
    let tiers = app.report().map(|r| r.tiers.clone()).unwrap_or_default();
    let top = tiers.iter().map(|t| t.monthly_cost_usd).fold(0.0, f64::max);
    Plot::new(format!("cost-plot{salt}"))
        .x_axis_label("$/month")
        .x_axis_formatter(|mark, _| format!("${}", format::si_axis(mark.value, mark.step_size)))
        .y_axis_formatter(|_, _| String::new())
        .include_x(0.0)
        // Room right of the longest bar for its label.
        .include_x(top * 1.6)
        .include_y(-0.6)
        .include_y(tiers.len() as f64 - 0.4)
        .allow_scroll(false)
        .show(ui, |plot| {
            let bars = tiers
                .iter()
                .enumerate()
                .map(|(i, t)| Bar::new(i as f64, t.monthly_cost_usd).name(&t.tier))
                .collect();
            plot.bar_chart(
                BarChart::new("cost", bars)
                    .color(theme::COST_BAR)
                    .horizontal()
                    .width(0.7),
            );
            for (i, tier) in tiers.iter().enumerate() {
                let label = format!(
                    "{} {}",
                    tier.tier,
                    format::money_whole(tier.monthly_cost_usd)
                );
                plot.text(
                    egui_plot::Text::new(
                        tier.tier.clone(),
                        egui_plot::PlotPoint::new(tier.monthly_cost_usd + top * 0.02, i as f64),
                        RichText::new(label).small(),
                    )
                    .anchor(egui::Align2::LEFT_CENTER),
                );
            }
        });
}

fn cost_p99_plot(app: &StaircaseApp, ui: &mut Ui, salt: &str) {
    let instance_sweep = app.sweeps.as_ref().and_then(|s| s.instances.as_ref());
    let mut plot = Plot::new(format!("cost-p99-plot{salt}"));
    if instance_sweep.is_none_or(|(_, points)| points.is_empty()) {
        plot = plot.include_x(0.0).include_y(1.0);
    }
    plot
        .x_axis_label("$/month")
        .x_axis_formatter(|mark, _| format!("${}", format::si_axis(mark.value, mark.step_size)))
        .custom_y_axes(vec![plot_axes::value_axis("worst p99", |mark, _| {
            format::latency_axis(mark.value, mark.step_size)
        })])
        .y_grid_spacer(plot_axes::marks)
        // From zero: a flat curve (more instances no longer help) reads as flat, and a
        // change of a few hundredths of a millisecond is not blown up to fill the plot.
        .include_y(0.0)
        .allow_scroll(false)
        .show(ui, |plot| {
            let Some((_, points)) = instance_sweep else {
                return;
            };
            let series: Vec<[f64; 2]> = points
                .iter()
                .filter_map(|p| p.worst_p99_ms.map(|ms| [p.monthly_cost_usd, ms]))
                .collect();
            plot.line(
                Line::new("p99", PlotPoints::from(series.clone()))
                    .color(theme::P99_LINE)
                    .style(LineStyle::dotted_dense()),
            );
            plot.points(
                egui_plot::Points::new("instances", PlotPoints::from(series))
                    .radius(3.0)
                    .color(theme::P99_LINE),
            );
        })
        .response
        .on_hover_text("Each point is the whole topology solved with that many instances of the bottleneck tier; overloaded counts are left out.");
}

/// The SLO planner: a goal, the cheapest plan found by the model, and a button to apply it.
pub fn planner(app: &mut StaircaseApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    ui.heading("SLO planner");
    ui.horizontal_wrapped(|ui| {
        ui.add(
            DragValue::new(&mut app.plan_goal.rps)
                .range(0.01..=1e9)
                .speed(10.0)
                .suffix(" req/s"),
        );
        ui.add(
            DragValue::new(&mut app.plan_goal.p99_ms)
                .range(0.1..=1e6)
                .speed(1.0)
                .prefix("p99 ≤ ")
                .suffix(" ms"),
        );
        if ui
            .button("Plan")
            .on_hover_text("Cheapest instance counts per tier that carry this rate with every class's p99 under the goal.")
            .clicked()
        {
            commands.push(Command::Plan);
        }
    });
    match &app.plan {
        None => {}
        Some(Err(error)) => {
            ui.colored_label(theme::error_text(), error);
        }
        Some(Ok(plan)) => {
            if let Some(reason) = &plan.reason {
                ui.colored_label(theme::error_text(), reason);
            }
            egui::Grid::new("plan-grid").striped(true).show(ui, |ui| {
                ui.label("tier node");
                ui.label("now");
                ui.label("plan");
                ui.label("$/month");
                ui.end_row();
                for row in &plan.rows {
                    // "now" is the open document's count (it follows an applied plan and undo).
                    let now = app.topology.node(row.id).map(|n| n.instances);
                    ui.label(&row.name);
                    ui.label(now.map_or_else(|| format::NONE.to_string(), format::count));
                    ui.label(format::count(row.instances));
                    ui.label(format::money_whole(row.monthly_cost_usd));
                    ui.end_row();
                }
            });
            ui.label(format!(
                "worst p99 {}, {}/month{}",
                format::duration_ms(plan.worst_p99_ms),
                format::money_whole(plan.monthly_cost_usd),
                if plan.met { "" } else { " (goal not met)" }
            ));
            let pending = plan.rows.iter().any(|row| {
                app.topology
                    .node(row.id)
                    .is_some_and(|n| n.instances != row.instances)
            });
            if plan.met && pending && ui.button("Apply plan").clicked() {
                commands.push(Command::ApplyPlan);
            }
        }
    }
}

/// Asks what to do with unsaved changes before a command that would lose them.
pub fn unsaved_prompt(app: &mut StaircaseApp, ctx: &egui::Context, commands: &mut Vec<Command>) {
    let Some(pending) = app.pending.clone() else {
        return;
    };
    let question = app.unsaved_question(&pending);
    egui::Modal::new(egui::Id::new("unsaved-prompt")).show(ctx, |ui| {
        ui.heading("Unsaved changes");
        ui.label(question);
        ui.horizontal(|ui| {
            if ui.button("Save").clicked() {
                app.pending = None;
                commands.push(Command::Save);
                commands.push(Command::IfSaved(Box::new(pending.clone())));
            }
            if ui.button("Discard").clicked() {
                app.pending = None;
                // Mark as saved so that the pending command runs without asking again.
                app.discard_changes();
                commands.push(pending.clone());
            }
            if ui.button("Cancel").clicked() {
                app.pending = None;
            }
        });
        if ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape)) {
            app.pending = None;
        }
    });
}

/// Settings of the timeline window and its last run.
pub struct TimelineState {
    pub open: bool,
    pub hours: f64,
    pub spike_hour: f64,
    pub spike_minutes: f64,
    pub spike_multiplier: f64,
    pub autoscale: bool,
    pub target_utilization: f64,
    pub cold_start_s: f64,
    /// Fewest and most instances the autoscaler may run (`max` 0: ten times the tier's count).
    pub min_instances: u32,
    pub max_instances: u32,
    /// Step-policy bands `AT_PERCENT:CHANGE, …`; empty means target tracking.
    pub step_policy: String,
    pub cache_flush: bool,
    pub cache_flush_hour: f64,
    /// Lose instances of the bottleneck tier at an hour.
    pub instances_down: u32,
    pub instances_down_hour: f64,
    /// Lose a whole region at an hour (empty: none).
    pub region_lost: String,
    pub region_lost_hour: f64,
    pub result: Option<Result<crate::analysis::timeline::Timeline, String>>,
}

impl Default for TimelineState {
    fn default() -> Self {
        TimelineState {
            open: false,
            hours: 24.0,
            spike_hour: 18.0,
            spike_minutes: 20.0,
            spike_multiplier: 1.0,
            autoscale: true,
            target_utilization: 0.6,
            cold_start_s: 180.0,
            min_instances: 1,
            max_instances: 0,
            step_policy: String::new(),
            cache_flush: false,
            cache_flush_hour: 12.0,
            instances_down: 0,
            instances_down_hour: 14.0,
            region_lost: String::new(),
            region_lost_hour: 16.0,
            result: None,
        }
    }
}

impl TimelineState {
    /// The scenario these settings describe: a day, an optional spike, autoscaling of the
    /// busiest tier that scales out, an optional cache flush on the first cache; an error
    /// when the autoscaling settings do not make sense.
    pub fn scenario(
        &self,
        topology: &crate::model::Topology,
        report: Option<&crate::solver::report::Report>,
    ) -> Result<crate::analysis::timeline::Scenario, String> {
        use crate::analysis::timeline::{
            AutoscaleSettings, Failure, FailureKind, Policy, Scenario, Spike,
        };
        let mut scenario = Scenario {
            duration_s: self.hours * 3600.0,
            step_s: (self.hours * 3600.0 / 288.0).max(1.0),
            ..Scenario::default()
        };
        if self.spike_multiplier != 1.0 {
            scenario.spikes.push(Spike {
                start_s: self.spike_hour * 3600.0,
                duration_s: self.spike_minutes * 60.0,
                multiplier: self.spike_multiplier,
            });
        }
        if self.autoscale {
            if let Some(node) =
                report.and_then(|r| crate::analysis::timeline::scalable_tier(topology, r))
            {
                let policy = if self.step_policy.trim().is_empty() {
                    Policy::TargetTracking
                } else {
                    Policy::parse_steps(&self.step_policy)?
                };
                let settings = AutoscaleSettings {
                    node: Some(node.id),
                    min: Some(self.min_instances),
                    max: Some(if self.max_instances == 0 {
                        (node.instances * 10).max(10)
                    } else {
                        self.max_instances
                    }),
                    target_utilization: self.target_utilization,
                    policy,
                    cold_start_s: self.cold_start_s,
                    cooldown_s: 300.0,
                };
                scenario.autoscale.extend(settings.resolve(topology)?);
            }
        }
        let bottleneck = report.and_then(|r| r.bottleneck.as_ref()).map(|b| b.id);
        if let Some(node) = bottleneck.filter(|_| self.instances_down > 0) {
            scenario.failures.push(Failure {
                at_s: self.instances_down_hour * 3600.0,
                kind: FailureKind::InstancesDown {
                    node,
                    count: self.instances_down,
                },
            });
        }
        if !self.region_lost.is_empty() {
            scenario.failures.push(Failure {
                at_s: self.region_lost_hour * 3600.0,
                kind: FailureKind::RegionLost {
                    region: self.region_lost.clone(),
                },
            });
        }
        if self.cache_flush {
            if let Some(cache) = topology
                .nodes
                .iter()
                .find(|n| matches!(n.kind, NodeKind::Cache { .. }))
            {
                scenario.failures.push(Failure {
                    at_s: self.cache_flush_hour * 3600.0,
                    kind: FailureKind::CacheFlush {
                        node: cache.id,
                        warmup_s: 600.0,
                    },
                });
            }
        }
        Ok(scenario)
    }
}

/// The timeline window: scenario settings, then load, backlog, instances and cost over time.
pub fn timeline_window(app: &mut StaircaseApp, ctx: &egui::Context, commands: &mut Vec<Command>) {
    let mut open = app.timeline.open;
    egui::Window::new("Timeline")
        .open(&mut open)
        .default_size([760.0, 560.0])
        .show(ctx, |ui| {
            let regions: Vec<String> = app
                .topology
                .regions
                .iter()
                .map(|r| r.name.clone())
                .collect();
            let tier = app
                .report()
                .and_then(|r| crate::analysis::timeline::scalable_tier(&app.topology, r))
                .map_or_else(
                    || "the busiest scalable tier".to_string(),
                    |n| n.name.clone(),
                );
            let state = &mut app.timeline;
            scenario_settings(ui, state, (&tier, &regions), commands);
            match &state.result {
                None => {
                    ui.label("Set a scenario and press Run.");
                }
                Some(Err(error)) => {
                    ui.colored_label(theme::error_text(), error);
                }
                Some(Ok(timeline)) => timeline_figures(ui, timeline),
            }
        });
    app.timeline.open = open;
}

/// The scenario's settings (spike, autoscaling, failures) and the Run and Export buttons;
/// `tier` names the tier that autoscales.
fn scenario_settings(
    ui: &mut Ui,
    state: &mut TimelineState,
    (tier, regions): (&str, &[String]),
    commands: &mut Vec<Command>,
) {
    ui.horizontal(|ui| {
        ui.label("Hours");
        ui.add(DragValue::new(&mut state.hours).range(0.1..=168.0));
        ui.separator();
        ui.label("Spike ×");
        ui.add(
            DragValue::new(&mut state.spike_multiplier)
                .range(0.0..=100.0)
                .speed(0.1),
        );
        ui.label("at hour");
        ui.add(DragValue::new(&mut state.spike_hour).range(0.0..=168.0));
        ui.label("for");
        ui.add(
            DragValue::new(&mut state.spike_minutes)
                .range(0.0..=10_000.0)
                .suffix(" min"),
        );
    });
    ui.horizontal(|ui| {
    ui.checkbox(&mut state.autoscale, format!("autoscale {tier}"))
        .on_hover_text("Target tracking: instances × utilization / target, after a cold start, 5 min cooldown.");
    ui.add(egui::Slider::new(&mut state.target_utilization, 0.2..=0.95).text("target"));
    ui.add(DragValue::new(&mut state.cold_start_s).range(0.0..=3600.0).suffix(" s cold start"));
});
    ui.horizontal(|ui| {
    ui.label("min");
    ui.add(DragValue::new(&mut state.min_instances).range(1..=100_000));
    ui.label("max");
    ui.add(DragValue::new(&mut state.max_instances).range(0..=100_000))
        .on_hover_text("0: ten times the tier's instances.");
    ui.label("step policy");
    ui.add(egui::TextEdit::singleline(&mut state.step_policy).hint_text("90:5,75:3,30:0,0:-1").desired_width(180.0))
        .on_hover_text("Bands AT_PERCENT:CHANGE; the highest band the utilization reaches applies. Empty: target tracking.");
});
    ui.horizontal(|ui| {
        ui.label("Lose");
        ui.add(DragValue::new(&mut state.instances_down).range(0..=1000));
        ui.label("bottleneck instances at hour");
        ui.add(DragValue::new(&mut state.instances_down_hour).range(0.0..=168.0));
        if !regions.is_empty() {
            ui.separator();
            ui.label("Lose region");
            region_picker(ui, "timeline-region", &mut state.region_lost, regions);
            ui.label("at hour");
            ui.add(DragValue::new(&mut state.region_lost_hour).range(0.0..=168.0));
        }
    });
    ui.horizontal(|ui| {
        ui.checkbox(&mut state.cache_flush, "flush the cache at hour");
        ui.add(DragValue::new(&mut state.cache_flush_hour).range(0.0..=168.0));
        if ui.button("Run").clicked() {
            commands.push(Command::RunTimeline);
        }
        if matches!(state.result, Some(Ok(_))) && ui.button("Export…").clicked() {
            commands.push(Command::ExportTimeline);
        }
    });
}

/// A run's drains, cost and single points of failure, then its plots.
fn timeline_figures(ui: &mut Ui, timeline: &crate::analysis::timeline::Timeline) {
    for drain in &timeline.drain_after_spikes_s {
        ui.label(match drain {
            Some(seconds) => format!(
                "backlogs drained {} after the spike",
                format::duration_ms(seconds * 1000.0)
            ),
            None => "backlogs not drained by the end".to_string(),
        });
    }
    ui.label(format!(
        "cost of the period {}; single points of failure: {}",
        format::money(timeline.cost_usd),
        if timeline.single_points_of_failure.is_empty() {
            "none".to_string()
        } else {
            timeline.single_points_of_failure.join(", ")
        }
    ));
    timeline_plots(ui, timeline);
}

/// A timeline plot against the hour: legend at the top left, the y axis's numbers
/// shortened.
fn hourly_plot(id: &str, height: f32, y_label: &str) -> Plot<'static> {
    Plot::new(id)
        .height(height)
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .x_axis_label("hour")
        .y_axis_label(y_label.to_string())
        .y_axis_formatter(|mark, _| format::axis(mark.value, mark.step_size))
}

/// The load, backlog, instance, cost and worst-p99 plots of a run, against the hour.
fn timeline_plots(ui: &mut Ui, timeline: &crate::analysis::timeline::Timeline) {
    let hours = |t: f64| t / 3600.0;
    let series = |pick: &dyn Fn(&crate::analysis::timeline::Step) -> f64| -> Vec<[f64; 2]> {
        timeline
            .steps
            .iter()
            .map(|s| [hours(s.t_s), pick(s)])
            .collect()
    };
    ui.columns(2, |columns| {
        hourly_plot("timeline-load", 200.0, "req/s").show(&mut columns[0], |plot| {
            plot.line(
                Line::new("offered", PlotPoints::from(series(&|s| s.offered_rps)))
                    .color(theme::P50_LINE),
            );
            plot.line(
                Line::new("served", PlotPoints::from(series(&|s| s.served_rps)))
                    .color(theme::HEALTHY),
            );
            plot.line(
                Line::new("dropped", PlotPoints::from(series(&|s| s.dropped_rps)))
                    .color(theme::SATURATED),
            );
        });
        hourly_plot("timeline-backlog", 200.0, "requests waiting")
            // No backlog is a line on the floor, not in the middle of ±10.
            .include_y(0.0)
            .include_y(1.0)
            .show(&mut columns[1], |plot| {
                plot.line(
                    Line::new("backlog", PlotPoints::from(series(&|s| s.total_backlog())))
                        .color(theme::WARM),
                );
            });
    });
    ui.columns(2, |columns| {
        Plot::new("timeline-instances")
            .height(160.0)
            .x_axis_label("hour")
            .y_axis_label("instances")
            .show(&mut columns[0], |plot| {
                plot.line(
                    Line::new(
                        "instances",
                        PlotPoints::from(series(&|s| {
                            s.instances
                                .values()
                                .map(|i| f64::from(*i))
                                .fold(0.0, |a, b| a + b)
                        })),
                    )
                    .color(theme::P99_LINE),
                );
            });
        hourly_plot("timeline-cost", 160.0, "$/hour").show(&mut columns[1], |plot| {
            plot.line(
                Line::new(
                    "cost $/hour",
                    PlotPoints::from(series(&|s| s.cost_per_hour_usd)),
                )
                .color(theme::COST_BAR),
            );
        });
    });
    let p99: Vec<[f64; 2]> = timeline
        .steps
        .iter()
        .filter_map(|s| s.worst_p99_ms.map(|p| [hours(s.t_s), p]))
        .collect();
    if !p99.is_empty() {
        Plot::new("timeline-p99")
            .height(140.0)
            .x_axis_label("hour")
            .y_axis_label("worst p99 ms")
            .include_y(0.0)
            .show(ui, |plot| {
                plot.line(Line::new("p99", PlotPoints::from(p99)).color(theme::P99_LINE));
            });
    }
}
