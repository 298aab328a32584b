//! The inspector's fields for issue 13 (egui_kittest, headless): a Service node's per-class
//! capacities, its latency cv and service family, a route wire's exit share. Looking never
//! edits; each edit is one undo step.

use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use staircase::app::selection::Selection;
use staircase::app::StaircaseApp;
use staircase::io::document;
use staircase::model::{ClassKind, ServiceFamily, Topology};
use std::collections::BTreeSet;

#[path = "support/picker.rs"]
mod picker;

/// A client, a Service node with every new field set, a plain Service node behind it on a
/// route wire with an exit share.
const FILE: &str = r#"(
    name: "fields",
    workloads: [(name: "u", client: 1, rate: PerSecond(50), read: 0.8, write: 0.2, async: 0)],
    nodes: [
        (id: 1, name: "Users", kind: Client, capacity_rps: None),
        (id: 2, name: "Orders", kind: Service, capacity_rps: 100, base_latency_ms: 3, latency_cv: 0.7, service_cv: 1.3, service_family: Lognormal, class_capacity_rps: {Read: 250}),
        (id: 3, name: "Billing", kind: Service, capacity_rps: 120),
    ],
    edges: [
        (from: 1, to: 2),
        (from: 2, to: 3, exit_share: 0.35),
    ],
    layout: {1: (x: 0, y: 0), 2: (x: 220, y: 0), 3: (x: 440, y: 0)},
)"#;

fn topology() -> Topology {
    document::parse(FILE, "fields.ron").expect("the test file loads")
}

fn harness() -> Harness<'static, StaircaseApp> {
    let app = StaircaseApp::new(topology(), Box::new(picker::FakePicker::default()));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 2400.0))
        .build_ui_state(|ui, app: &mut StaircaseApp| app.frame(ui), app);
    harness.run_steps(4);
    harness
}

fn select_wire(harness: &mut Harness<'static, StaircaseApp>, from: u32, to: u32) {
    harness.state_mut().selection = Selection {
        nodes: BTreeSet::new(),
        wire: Some((from, to)),
    };
    harness.run_steps(3);
}

fn undo(harness: &mut Harness<'static, StaircaseApp>) {
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    harness.run_steps(3);
}

#[test]
fn looking_at_the_new_fields_never_edits() {
    let mut harness = harness();
    let before = document::to_string(&harness.state().topology).unwrap();
    for id in [2, 3, 1, 2] {
        harness.state_mut().select_node(id);
        harness.run_steps(3);
        if id == 2 {
            // Every new field is on screen for the Service node.
            for label in [
                "Latency cv",
                "Service family",
                "Capacity, read",
                "Capacity, write",
                "Capacity, async",
            ] {
                harness.get_by_label(label);
            }
            assert_eq!(harness.query_all_by_label("own rate").count(), 3);
            // The family list shows the node's family.
            harness.get_by_value("lognormal");
        }
    }
    select_wire(&mut harness, 2, 3);
    harness.get_by_label("Exit share");
    select_wire(&mut harness, 1, 2);
    let app = harness.state();
    assert!(!app.is_dirty(), "looking marked the document unsaved");
    assert_eq!(document::to_string(&app.topology).unwrap(), before);
    let node = app.topology.node(2).unwrap();
    assert_eq!(node.latency_cv, 0.7);
    assert_eq!(node.service_family, ServiceFamily::Lognormal);
    assert_eq!(node.class_capacity_rps.len(), 1);
    assert_eq!(app.topology.edges[1].exit_share, 0.35);
}

#[test]
fn a_class_gets_its_own_capacity_in_one_undo_step() {
    let mut harness = harness();
    harness.state_mut().select_node(2);
    harness.run_steps(3);
    let before = harness.state().topology.clone();
    let writes_before = harness
        .state()
        .report()
        .unwrap()
        .node(2)
        .unwrap()
        .utilization;
    // The second "own rate" box is the write class's; ticking it copies the node's 100 req/s.
    let boxes: Vec<_> = harness.query_all_by_label("own rate").collect();
    boxes[1].click();
    harness.run_steps(3);
    let node = harness.state().topology.node(2).unwrap().clone();
    assert_eq!(node.class_capacity_rps.get(&ClassKind::Write), Some(&100.0));
    assert_eq!(node.class_capacity_rps.get(&ClassKind::Read), Some(&250.0));
    assert!(harness.state().is_dirty());
    // Same rate as before, so the same utilization: the copy moves nothing by itself.
    let writes_after = harness
        .state()
        .report()
        .unwrap()
        .node(2)
        .unwrap()
        .utilization;
    assert!((writes_after - writes_before).abs() < 1e-12);
    undo(&mut harness);
    assert_eq!(harness.state().topology, before);
}

#[test]
fn unticking_a_class_capacity_falls_back_to_the_node_and_moves_the_figures() {
    let mut harness = harness();
    harness.state_mut().select_node(2);
    harness.run_steps(3);
    let before = harness.state().topology.clone();
    // Reads at 250/s and writes at 100/s: ρ = 40/250 + 10/100 = 0.26.
    let utilization = harness
        .state()
        .report()
        .unwrap()
        .node(2)
        .unwrap()
        .utilization;
    assert!((utilization - 0.26).abs() < 1e-9, "{utilization}");
    let boxes: Vec<_> = harness.query_all_by_label("own rate").collect();
    boxes[0].click();
    harness.run_steps(3);
    assert!(harness
        .state()
        .topology
        .node(2)
        .unwrap()
        .class_capacity_rps
        .is_empty());
    // Every class at the node's 100/s: ρ = 50/100.
    let utilization = harness
        .state()
        .report()
        .unwrap()
        .node(2)
        .unwrap()
        .utilization;
    assert!((utilization - 0.5).abs() < 1e-9, "{utilization}");
    undo(&mut harness);
    assert_eq!(harness.state().topology, before);
}

#[test]
fn the_service_family_is_picked_from_a_list_in_one_undo_step() {
    let mut harness = harness();
    harness.state_mut().select_node(3);
    harness.run_steps(3);
    let before = harness.state().topology.clone();
    harness.get_by_value("gamma").click();
    harness.run_steps(2);
    harness.get_by_label("lognormal").click();
    harness.run_steps(3);
    assert_eq!(
        harness.state().topology.node(3).unwrap().service_family,
        ServiceFamily::Lognormal
    );
    undo(&mut harness);
    assert_eq!(harness.state().topology, before);
}

#[test]
fn the_exit_share_slider_moves_the_traffic_on_in_one_undo_step() {
    let mut harness = harness();
    select_wire(&mut harness, 2, 3);
    let before = harness.state().topology.clone();
    // 50 req/s reach Orders; 65% of them go on to Billing.
    let billing = |h: &Harness<'static, StaircaseApp>| {
        h.state().report().unwrap().node(3).unwrap().arrival_rps
    };
    assert!((billing(&harness) - 32.5).abs() < 1e-9);
    harness
        .get_by(|node| {
            node.role() == egui::accesskit::Role::Slider && node.numeric_value() == Some(0.35)
        })
        .focus();
    harness.run_steps(3);
    harness.key_press(Key::ArrowRight);
    harness.run_steps(3);
    let share = harness.state().topology.edges[1].exit_share;
    assert!(share > 0.35 && share <= 1.0, "{share}");
    assert!((billing(&harness) - 50.0 * (1.0 - share)).abs() < 1e-9);
    undo(&mut harness);
    assert_eq!(harness.state().topology, before);
}
