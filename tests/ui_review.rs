//! The design review in the app, driven headless with egui_kittest: pinning a baseline, the
//! changes beside the figures, the Compare window, a class's latency breakdown, and the
//! formula behind a figure on hover.

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
#[path = "support/picker.rs"]
mod picker;
use picker::FakePicker;
#[path = "support/menu.rs"]
mod menu;
use menu::click_menu;
use staircase::app::{review, StaircaseApp};
use staircase::io::presets;

fn harness() -> Harness<'static, StaircaseApp> {
    let topology = presets::default_topology().expect("default preset loads");
    let app = StaircaseApp::new(topology, Box::new(FakePicker::default()));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 1600.0))
        .build_ui_state(|ui, app: &mut StaircaseApp| app.frame(ui), app);
    harness.run_steps(3);
    harness
}

/// Pins the default design, then gives the app server a second instance.
fn pinned_then_scaled() -> Harness<'static, StaircaseApp> {
    let mut harness = harness();
    click_menu(&mut harness, "Compare", "Pin as baseline");
    assert!(harness.state().review.baseline.is_some());
    let app = harness
        .state_mut()
        .topology
        .nodes
        .iter_mut()
        .find(|n| n.name == "App server")
        .expect("the default design has an app server");
    app.instances = 2;
    harness.run_steps(4);
    harness
}

#[test]
fn pinned_baseline_shows_the_cost_change_beside_the_figure() {
    let harness = pinned_then_scaled();
    let state = harness.state();
    let report = state.report().expect("solved");
    let comparison = state
        .review
        .comparison(&state.topology, report)
        .expect("a baseline is pinned");
    // One more t3.large: +$61.00 a month (article 004's price), as the engine computes it.
    assert!((comparison.monthly_cost_usd.change - 61.0).abs() < 0.01);
    let text = review::change_text(&comparison.monthly_cost_usd, 2, "$", "/month");
    assert_eq!(text, "(+$61.00/month)");
    harness.get_by_label(&text);
}

#[test]
fn compare_window_lists_the_changed_node() {
    let mut harness = pinned_then_scaled();
    click_menu(&mut harness, "Compare", "Compare with baseline…");
    assert!(harness.state().review.compare_open);
    harness.get_by_label("Compare with baseline");
    harness.get_by_label("    instances: 1 to 2");
    harness.get_by_label("Unpin baseline").click();
    harness.run_steps(3);
    assert!(harness.state().review.baseline.is_none());
    assert!(!harness.state().review.compare_open);
    assert!(harness.query_by_label("Compare with baseline").is_none());
    // The metrics panel's own button opens the window too.
    click_menu(&mut harness, "Compare", "Pin as baseline");
    harness.get_by_label("Compare…").click();
    harness.run_steps(3);
    assert!(harness.state().review.compare_open);
    harness.get_by_label("Compare with baseline");
}

#[test]
fn clicking_a_class_p99_opens_its_breakdown() {
    let mut harness = harness();
    let (p99, served, name) = {
        let report = harness.state().report().expect("solved");
        let class = &report.classes[0];
        (class.latency_ms.p99, class.served_rps, class.name.clone())
    };
    let text = staircase::app::format::latency_ms(p99, served);
    harness
        .get_all_by_label(&text)
        .next()
        .expect("p99 shown")
        .click();
    harness.run_steps(4);
    assert_eq!(
        harness.state().review.explain.as_deref(),
        Some(name.as_str())
    );
    harness.get_by_label(&format!("Why this latency: {name}"));
    // The bottleneck's formula, in words from the solver's inputs, is listed in the window.
    harness.get_by_label_contains("App server: Erlang C with c = 8, a = λ·E[S]");
}

#[test]
fn hovering_the_queue_shows_its_formula() {
    let mut harness = harness();
    let id = {
        let report = harness.state().report().expect("solved");
        report.bottleneck.as_ref().expect("bottleneck").id
    };
    harness.state_mut().select_node(id);
    harness.run_steps(3);
    let shown = {
        let report = harness.state().report().expect("solved");
        let queue = report.node(id).unwrap().queue.clone().expect("queue");
        format!(
            "{} wait",
            staircase::app::format::percent(queue.wait_probability, 0)
        )
    };
    harness.get_by_label(&shown).hover();
    // Tooltips wait for the pointer to rest.
    harness.run_steps(4);
    harness.get_by_label_contains("of requests wait,");
}

#[test]
fn opening_another_design_can_pin_the_current_one_and_availability_is_shown() {
    let mut harness = harness();
    {
        let report = harness.state().report().expect("solved");
        let shown = staircase::app::format::percent(report.classes[0].availability, 3);
        harness
            .get_all_by_label(&shown)
            .next()
            .expect("class availability shown");
        harness.get_by_label_contains("min/month down)");
    }
    let ctx = harness.ctx.clone();
    let name = harness.state().topology.name.clone();
    harness
        .state_mut()
        .run(staircase::app::Command::PinOnOpen(true), &ctx);
    harness.state_mut().run(
        staircase::app::Command::OpenPreset("stage-4-load-balancer.ron"),
        &ctx,
    );
    harness.run_steps(4);
    let baseline = harness.state().review.baseline.as_ref().expect("pinned");
    assert_eq!(baseline.topology.name, name);
    assert_ne!(harness.state().topology.name, name);
    harness.get_by_label("Compare…");
}

#[test]
fn the_inspector_sets_a_node_availability() {
    let mut harness = harness();
    let id = harness
        .state()
        .topology
        .nodes
        .iter()
        .find(|n| n.name == "Postgres")
        .expect("a database")
        .id;
    harness.state_mut().select_node(id);
    harness.run_steps(3);
    let before = harness.state().report().unwrap().availability;
    harness.get_by_label("%").click();
    harness.run_steps(3);
    let node = harness.state().topology.node(id).unwrap().clone();
    assert_eq!(
        node.availability,
        Some(staircase::model::Uptime::Fraction(0.9995))
    );
    // The catalog's own figure: nothing changes until the user edits it.
    assert_eq!(harness.state().report().unwrap().availability, before);
    harness
        .state_mut()
        .topology
        .nodes
        .iter_mut()
        .find(|n| n.id == id)
        .unwrap()
        .availability = Some(staircase::model::Uptime::Fraction(0.99));
    harness.run_steps(3);
    assert!(harness.state().report().unwrap().availability < before);
}
