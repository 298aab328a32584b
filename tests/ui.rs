//! The desktop app driven headless with egui_kittest: click by label, read the document and the
//! figures on screen. File dialogs are answered by a fake picker.

use egui::{Key, Modifiers};
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
#[path = "support/picker.rs"]
mod picker;
use picker::FakePicker;
#[path = "support/menu.rs"]
mod menu;
use menu::click_menu;
use staircase::app::StaircaseApp;
use staircase::io::presets;
use std::time::Duration;

fn harness() -> (Harness<'static, StaircaseApp>, FakePicker) {
    harness_of_height(800.0)
}

/// A harness with a taller window, so the whole right-hand panel is on screen.
fn harness_of_height(height: f32) -> (Harness<'static, StaircaseApp>, FakePicker) {
    let picker = FakePicker::default();
    let topology = presets::default_topology().expect("default preset loads");
    let app = StaircaseApp::new(topology, Box::new(picker.clone()));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, height))
        .build_ui_state(|ui, app: &mut StaircaseApp| app.frame(ui), app);
    harness.run_steps(3);
    (harness, picker)
}

#[test]
fn default_topology_is_solved_and_shown() {
    let (harness, _) = harness();
    // Node titles on the canvas and the bottleneck named in the metrics panel.
    harness.get_by_label("Postgres");
    harness.get_by_label("Bottleneck: App server");
    let report = harness.state().report().expect("solved");
    assert!((report.offered_rps - 7e6 / 86_400.0 * 3.0).abs() < 1e-6);
}

#[test]
fn palette_adds_a_node() {
    let (mut harness, _) = harness();
    let before = harness.state().topology.nodes.len();
    harness.get_by_label("+ Cache").click();
    harness.run_steps(3);
    assert_eq!(harness.state().topology.nodes.len(), before + 1);
    let added = harness.state().topology.nodes.last().unwrap().name.clone();
    harness.get_by_label(&added);
    assert!(harness.state().is_dirty());
}

#[test]
fn editing_a_parameter_changes_the_figures_and_undo_restores_them() {
    let (mut harness, _) = harness();
    harness.state_mut().select_node(2); // the app server
    harness.run_steps(2);
    let utilization_before = harness
        .state()
        .report()
        .unwrap()
        .node(2)
        .unwrap()
        .utilization;
    assert!((utilization_before - 0.81).abs() < 0.01);
    // Untick "capacity limit": the app server becomes a pure delay, so the bottleneck moves.
    harness.get_by_label("capacity limit").click();
    harness.run_steps(3);
    assert_eq!(harness.state().topology.node(2).unwrap().capacity_rps, None);
    assert!(harness.query_by_label("Bottleneck: App server").is_none());
    harness.get_by_label("Bottleneck: Postgres");
    assert_eq!(
        harness
            .state()
            .report()
            .unwrap()
            .node(2)
            .unwrap()
            .utilization,
        0.0
    );

    harness.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    harness.run_steps(3);
    assert_eq!(
        harness.state().topology.node(2).unwrap().capacity_rps,
        Some(300.0)
    );
    harness.get_by_label("Bottleneck: App server");

    harness.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    harness.run_steps(3);
    assert_eq!(harness.state().topology.node(2).unwrap().capacity_rps, None);
}

#[test]
fn save_and_reopen_through_the_picker() {
    let (mut harness, picker) = harness();
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("saved.ron");
    harness.state_mut().topology.name = "renamed before saving".into();
    *picker.next.borrow_mut() = Some(path.clone());
    click_menu(&mut harness, "File", "Save As…");
    assert!(path.exists(), "the picker's path was written");
    assert!(!harness.state().is_dirty());
    assert_eq!(harness.state().path.as_deref(), Some(path.as_path()));
    let saved = harness.state().topology.clone();

    // Change the document, then open the saved file: the unsaved-changes prompt asks first.
    harness.state_mut().topology.name = "changed".into();
    harness.run_steps(2);
    *picker.next.borrow_mut() = Some(path.clone());
    click_menu(&mut harness, "File", "Open…");
    harness.get_by_label("Unsaved changes");
    harness.get_by_label("Discard").click();
    harness.run_steps(3);
    assert_eq!(harness.state().topology, saved);
    assert_eq!(harness.state().recent.first(), Some(&path));
}

#[test]
fn a_broken_file_shows_its_error_and_keeps_the_document() {
    let (mut harness, picker) = harness();
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("broken.ron");
    std::fs::write(&path, "(\n  nodes: [(id: 1, kind: Teleporter)],\n)").unwrap();
    let before = harness.state().topology.clone();
    *picker.next.borrow_mut() = Some(path.clone());
    click_menu(&mut harness, "File", "Open…");
    let error = harness.state().error.clone().expect("an error is shown");
    assert!(
        error.starts_with(&format!("{}:2:", path.display())),
        "{error}"
    );
    assert!(error.contains("Teleporter"), "{error}");
    harness.get_by_label(&error);
    assert_eq!(harness.state().topology, before);
}

#[test]
fn cancelling_the_prompt_keeps_unsaved_work() {
    let (mut harness, _) = harness();
    harness.state_mut().topology.name = "work in progress".into();
    harness.run_steps(2);
    click_menu(&mut harness, "File", "New");
    harness.get_by_label("Unsaved changes");
    harness.get_by_label("Cancel").click();
    harness.run_steps(3);
    assert_eq!(harness.state().topology.name, "work in progress");
    assert!(harness.query_by_label("Unsaved changes").is_none());
}

/// File → Open preset… → the entry of `name` (the file name without `.ron`) → Open.
fn open_preset(harness: &mut Harness<'static, StaircaseApp>, name: &str) {
    let title = presets::find(name).expect("a preset").info().unwrap().title;
    harness.get_by_label("File").click();
    harness.run_steps(2);
    harness.get_by_label("Open preset…").click();
    harness.run_steps(2);
    // The entry in the list (the title may also be the open document's name in the menu bar).
    harness
        .get_all_by_label(&title)
        .find(|node| node.accesskit_node().role() != egui::accesskit::Role::Label)
        .expect("the preset's entry in the browser")
        .click();
    harness.run_steps(2);
    harness.get_by_label("Open").click();
    harness.run_steps(3);
}

#[test]
fn presets_open_from_the_menu() {
    let (mut harness, _) = harness();
    open_preset(
        &mut harness,
        presets::PRESETS[0].file.trim_end_matches(".ron"),
    );
    assert!(harness.state().error.is_none());
    let expected = presets::PRESETS[0].load().unwrap();
    let shown = harness.state().topology.clone();
    assert_eq!(shown.workloads, expected.workloads);
    assert_eq!(shown.nodes, expected.nodes);
    assert_eq!(shown.layout, expected.layout);
    assert!(!harness.state().is_dirty());
}

#[test]
fn export_writes_charts_and_csv_to_the_picked_folder() {
    let (mut harness, picker) = harness();
    let directory = tempfile::tempdir().unwrap();
    *picker.next.borrow_mut() = Some(directory.path().to_path_buf());
    click_menu(&mut harness, "File", "Export charts and CSV…");
    let written: Vec<String> = std::fs::read_dir(directory.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(written.len(), 7, "{written:?}");
    assert!(harness
        .state()
        .notice
        .as_ref()
        .is_some_and(|n| n.starts_with("Exported 7 files")));
}

#[test]
fn planner_finds_and_applies_instance_counts() {
    let (mut harness, _) = harness_of_height(2400.0);
    // The default preset at its own peak (243 req/s) with a 200 ms p99 goal.
    assert_eq!(harness.state().plan_goal.rps, 243.0);
    harness.state_mut().plan_goal.p99_ms = 200.0;
    harness.get_by_label("Plan").click();
    harness.run_steps(1);
    harness.state_mut().settle(Duration::from_secs(60));
    harness.run_steps(2);
    let plan = harness.state().plan.clone().unwrap().unwrap();
    assert!(plan.met);
    assert!(plan.worst_p99_ms <= 200.0);
    harness.get_by_label("Apply plan").click();
    harness.run_steps(3);
    for row in &plan.rows {
        assert_eq!(
            harness.state().topology.node(row.id).unwrap().instances,
            row.instances
        );
    }
    let report = harness.state().report().unwrap();
    assert!(report.classes.iter().all(|c| c.latency_ms.p99 <= 200.0));
}

#[test]
fn timeline_window_runs_a_day() {
    let (mut harness, picker) = harness();
    click_menu(&mut harness, "Simulate", "A day on the timeline…");
    assert!(harness.state().timeline.open);
    harness.state_mut().timeline.spike_multiplier = 3.0;
    harness.get_by_label("Run").click();
    harness.run_steps(1);
    harness.state_mut().settle(Duration::from_secs(60));
    harness.run_steps(2);
    let timeline = harness.state().timeline.result.clone().unwrap().unwrap();
    assert_eq!(timeline.steps.len(), 289);
    // The 3x spike at 18:00 overloads the single app server: a backlog builds while the new
    // instances boot (one 5-minute step later).
    let spike = timeline
        .steps
        .iter()
        .find(|s| s.t_s >= 18.0 * 3600.0 + 300.0)
        .unwrap();
    assert!(spike.backlog.values().sum::<f64>() > 0.0);
    assert!(timeline
        .single_points_of_failure
        .contains(&"App server".to_string()));
    harness.get_by_label_contains("cost of the period");
    // Its chart and CSV export through the picker.
    let directory = tempfile::tempdir().unwrap();
    *picker.next.borrow_mut() = Some(directory.path().to_path_buf());
    harness.get_by_label("Export…").click();
    harness.run_steps(3);
    let png = directory.path().join("topology-timeline.png");
    let image = image::open(&png).unwrap();
    assert_eq!(
        (image.width(), image.height()),
        staircase::io::export::CHART_SIZE
    );
    let csv = std::fs::read_to_string(directory.path().join("topology-timeline.csv")).unwrap();
    assert_eq!(csv.lines().count(), 290);
}

#[test]
fn an_opened_preset_is_fitted_into_the_canvas() {
    // Stage 5 spans more than the canvas at 100%: after opening it (and after View → Fit all
    // nodes) every node lies between the palette and the inspector.
    let (mut harness, _) = harness();
    open_preset(&mut harness, "stage-5-read-replicas");
    harness.run_steps(3);
    let inside = |harness: &Harness<'static, StaircaseApp>| {
        let left = harness.get_by_label("+ ConnectionPooler").rect().max.x;
        let right = harness.get_by_label("Inspector").rect().min.x;
        // Node widgets report graph coordinates; the canvas layer's transform maps them to
        // the screen.
        let canvas_layer = harness.state().canvas_layer();
        let to_screen = harness
            .ctx
            .layer_transform_to_global(canvas_layer)
            .expect("the canvas has a view transform");
        for title in [
            "Users",
            "Load balancer",
            "Redis",
            "Read replicas",
            "PgBouncer",
        ] {
            let rect = to_screen * harness.get_by_label(title).rect();
            assert!(
                rect.min.x > left && rect.max.x < right,
                "{title} at {rect:?}, canvas between {left} and {right}"
            );
        }
    };
    inside(&harness);
    click_menu(&mut harness, "View", "Fit all nodes");
    harness.run_steps(4);
    inside(&harness);
}

#[test]
fn a_pool_that_runs_out_shows_its_wait_on_the_canvas_and_in_the_inspector() {
    // Stage 5 with PgBouncer's pool cut from 300 to 36 connections (4 beyond the primary's 32
    // query slots) at 15% more traffic: requests queue at the pooler for a connection.
    let (mut harness, picker) = harness();
    let mut topology = presets::PRESETS
        .iter()
        .find(|p| p.file == "stage-5-read-replicas.ron")
        .unwrap()
        .load()
        .unwrap();
    for node in &mut topology.nodes {
        if let staircase::model::NodeKind::ConnectionPooler { pool_size } = &mut node.kind {
            *pool_size = 36;
        }
    }
    if let staircase::model::Rate::PerDay(per_day) = &mut topology.workloads[0].rate {
        *per_day *= 1.15;
    }
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("pool.ron");
    staircase::io::document::save(&path, &topology).unwrap();
    *picker.next.borrow_mut() = Some(path);
    click_menu(&mut harness, "File", "Open…");
    let report = harness.state().report().unwrap().clone();
    let pooler = report.nodes.iter().find(|n| n.name == "PgBouncer").unwrap();
    assert!(
        pooler.connection_wait_ms > 1.0,
        "{}",
        pooler.connection_wait_ms
    );
    // The node body says it, with the model's figure.
    harness.get_by_label(&format!(
        "waits {} for a connection",
        staircase::app::format::duration_ms(pooler.connection_wait_ms)
    ));
    // Selecting the pooler shows the same figure in the inspector.
    harness.state_mut().select_node(pooler.id);
    harness.run_steps(2);
    harness.get_by_label(&format!(
        "{} mean",
        staircase::app::format::duration_ms(pooler.connection_wait_ms)
    ));
}

#[test]
fn from_your_measurements_opens_a_calibrated_document() {
    // Simulate → From your measurements…: article 002's starting point (100 RPS, 200 ms,
    // DB CPU 90%, app CPU 30%) calibrates to a model whose database is the bottleneck.
    let (mut harness, _) = harness();
    click_menu(&mut harness, "Simulate", "From your measurements…");
    harness
        .get_by_label("Bottleneck: Database, headroom ×1.11 now and ×1.11 at the measured peak.");
    harness.get_by_label("Open as a new document").click();
    harness.run_steps(3);
    let state = harness.state();
    assert_eq!(state.topology.name, "From your measurements");
    let report = state.report().expect("solved");
    assert_eq!(report.bottleneck.as_ref().unwrap().name, "Database");
    assert!(!state.calibrate.open);
}

#[test]
fn timeline_window_autoscales_within_min_max_with_a_step_policy() {
    let (mut harness, _) = harness();
    let topology = presets::find("article-004-exercise-black-friday")
        .unwrap()
        .load()
        .unwrap();
    let report = staircase::solve(&topology, &staircase::Params::default()).unwrap();
    let state = &mut harness.state_mut().timeline;
    state.min_instances = 20;
    state.max_instances = 80;
    state.step_policy = "50:10,40:0,0:-1".into();
    let scenario = state
        .scenario(&topology, Some(&report))
        .expect("a scenario");
    let autoscale = &scenario.autoscale[0];
    assert_eq!((autoscale.min, autoscale.max), (20, 80));
    assert_eq!(
        autoscale.policy,
        staircase::analysis::timeline::Policy::Step(vec![(0.5, 10), (0.4, 0), (0.0, -1)])
    );
    state.step_policy = "fifty".into();
    let error = state.scenario(&topology, Some(&report)).unwrap_err();
    assert!(error.contains("AT_PERCENT:CHANGE"), "{error}");
    state.step_policy.clear();
    state.min_instances = 90;
    let error = state.scenario(&topology, Some(&report)).unwrap_err();
    assert!(error.contains("min 90, max 80"), "{error}");
}

#[test]
fn transfer_and_storage_prices_are_edited_in_the_inspector() {
    // Article 004's CDN bill: the CDN's $/GB in the inspector, the response size in the
    // workload panel; raising the price to Fastly's $0.12 raises the monthly cost by $70.
    let (mut harness, _) = harness();
    let topology = presets::find("article-004-cdn-cost")
        .unwrap()
        .load()
        .unwrap();
    harness.state_mut().topology = topology;
    harness.state_mut().selection = staircase::app::selection::Selection::only(2);
    harness.run_steps(3);
    harness.get_by_label("Response size");
    harness.get_by_label("/GB sent");
    let before = harness.state().report().unwrap().monthly_cost_usd;
    harness.state_mut().topology.nodes[1].usd_per_gb = 0.12;
    harness.run_steps(3);
    let after = harness.state().report().unwrap().monthly_cost_usd;
    assert!((after - before - 70.0).abs() < 1e-6, "{before} → {after}");
}
