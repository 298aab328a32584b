//! The editor as a user drives it (egui_kittest, headless): looking never edits, clicks and
//! rubber bands select, Delete removes the selection, the clipboard copies wires along, new
//! nodes appear in view, and the app goes idle.

use egui::{Event, Key, Modifiers, PointerButton, Pos2};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use staircase::app::selection::Selection;
use staircase::app::{Command, StaircaseApp};
use staircase::io::{document, presets};
use staircase::model::{NodeId, Topology};
use std::collections::BTreeSet;
use std::time::Duration;

#[path = "support/picker.rs"]
mod picker;

fn harness_of(topology: Topology, height: f32) -> Harness<'static, StaircaseApp> {
    let app = StaircaseApp::new(topology, Box::new(picker::FakePicker::default()));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, height))
        .build_ui_state(|ui, app: &mut StaircaseApp| app.frame(ui), app);
    harness.run_steps(4);
    harness
}

fn preset(name: &str) -> Topology {
    presets::find(name)
        .expect("preset exists")
        .load()
        .expect("preset loads")
}

fn run(harness: &mut Harness<'static, StaircaseApp>, command: Command) {
    let ctx = harness.ctx.clone();
    harness.state_mut().run(command, &ctx);
    harness.run_steps(2);
}

/// A primary click on node `id` with `modifiers` held.
fn click_node(harness: &mut Harness<'static, StaircaseApp>, id: NodeId, modifiers: Modifiers) {
    let centre = node_centre(harness, id);
    click_at(harness, centre, modifiers);
}

/// A primary click at `pos` with `modifiers` held, as a mouse does it.
fn click_at(harness: &mut Harness<'static, StaircaseApp>, pos: Pos2, modifiers: Modifiers) {
    harness.event(Event::ModifiersChanged(modifiers));
    harness.event(Event::PointerMoved(pos));
    for pressed in [true, false] {
        harness.event(Event::PointerButton {
            pos,
            button: PointerButton::Primary,
            pressed,
            modifiers,
        });
    }
    harness.event(Event::ModifiersChanged(Modifiers::NONE));
    harness.step();
    harness.run_steps(2);
}

fn node_centre(harness: &Harness<'static, StaircaseApp>, id: NodeId) -> Pos2 {
    harness
        .state()
        .canvas_node_rects()
        .into_iter()
        .find(|(node, _)| *node == id)
        .map(|(_, rect)| rect.center())
        .expect("the node is drawn")
}

/// A point of the canvas away from every node and wire.
fn empty_spot(harness: &Harness<'static, StaircaseApp>) -> Pos2 {
    let app = harness.state();
    let canvas = app.canvas_rect().expect("canvas drawn").shrink(10.0);
    let rects = app.canvas_node_rects();
    let wires = app.canvas_wire_midpoints();
    (0..400)
        .map(|i| canvas.lerp_inside(egui::vec2((i % 20) as f32 / 19.0, (i / 20) as f32 / 19.0)))
        .find(|p| {
            rects.iter().all(|(_, r)| !r.expand(30.0).contains(*p))
                && wires.iter().all(|(_, _, w)| w.distance(*p) > 60.0)
        })
        .expect("an empty spot on the canvas")
}

fn wires(topology: &Topology) -> BTreeSet<(NodeId, NodeId)> {
    topology.edges.iter().map(|e| (e.from, e.to)).collect()
}

#[test]
fn looking_at_every_node_and_wire_of_every_preset_never_edits() {
    for preset in presets::PRESETS {
        let file = preset.load().expect("preset loads");
        // Tall enough that the whole inspector is laid out on screen.
        let mut harness = harness_of(file.clone(), 2400.0);
        let ids: Vec<NodeId> = file.nodes.iter().map(|n| n.id).collect();
        for id in ids {
            harness.state_mut().select_node(id);
            harness.run_steps(2);
        }
        for (from, to) in wires(&file) {
            harness.state_mut().selection = Selection {
                nodes: BTreeSet::new(),
                wire: Some((from, to)),
            };
            harness.run_steps(2);
        }
        run(&mut harness, Command::SelectAll);
        let app = harness.state();
        assert!(!app.is_dirty(), "{} is marked unsaved", preset.file);
        assert_eq!(
            document::to_string(&app.topology).unwrap(),
            document::to_string(&file).unwrap(),
            "{} changed while it was only looked at",
            preset.file
        );
    }
}

#[test]
fn a_700_instance_tier_keeps_its_count_when_selected() {
    let mut harness = harness_of(preset("company-netflix"), 2400.0);
    let api = harness
        .state()
        .topology
        .nodes
        .iter()
        .find(|n| n.instances > 200)
        .map(|n| (n.id, n.instances))
        .expect("Netflix has a tier above 200 instances");
    harness.state_mut().select_node(api.0);
    harness.run_steps(3);
    let app = harness.state();
    assert_eq!(app.topology.node(api.0).unwrap().instances, api.1);
    assert!(!app.is_dirty());
}

#[test]
fn clicks_select_and_delete_removes_every_selected_node_undo_brings_them_back() {
    let mut harness = harness_of(preset("stage-3-cache"), 800.0);
    let before = harness.state().topology.clone();
    let ids: Vec<NodeId> = before.nodes.iter().map(|n| n.id).take(3).collect();
    // A plain click selects one node; Shift+click and Ctrl+click add.
    click_node(&mut harness, ids[0], Modifiers::NONE);
    assert_eq!(harness.state().selection, Selection::only(ids[0]));
    click_node(&mut harness, ids[1], Modifiers::SHIFT);
    click_node(&mut harness, ids[2], Modifiers::COMMAND);
    assert_eq!(
        harness.state().selection.nodes,
        ids.iter().copied().collect::<BTreeSet<_>>()
    );
    harness.get_by_label("3 nodes selected");
    // Shift+click again toggles a node out, and back in.
    click_node(&mut harness, ids[2], Modifiers::SHIFT);
    assert_eq!(harness.state().selection.nodes.len(), 2);
    click_node(&mut harness, ids[2], Modifiers::SHIFT);

    harness.key_press(Key::Delete);
    harness.run_steps(3);
    let app = harness.state();
    assert_eq!(app.topology.nodes.len(), before.nodes.len() - 3);
    assert!(app.selection.is_empty(), "nothing stays selected");
    assert!(app
        .topology
        .edges
        .iter()
        .all(|e| !ids.contains(&e.from) && !ids.contains(&e.to)));
    let survivors: Vec<NodeId> = app.topology.nodes.iter().map(|n| n.id).collect();
    assert!(before
        .nodes
        .iter()
        .filter(|n| !ids.contains(&n.id))
        .all(|n| survivors.contains(&n.id)));

    harness.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    harness.run_steps(3);
    let app = harness.state();
    assert_eq!(app.topology.nodes, before.nodes);
    assert_eq!(wires(&app.topology), wires(&before));
}

#[test]
fn a_click_on_empty_canvas_or_escape_clears_and_ctrl_a_selects_all() {
    let mut harness = harness_of(preset("stage-3-cache"), 800.0);
    let count = harness.state().topology.nodes.len();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness.run_steps(2);
    assert_eq!(harness.state().selection.nodes.len(), count);
    harness.key_press(Key::Escape);
    harness.run_steps(2);
    assert!(harness.state().selection.is_empty());
    let first = harness.state().topology.nodes[0].id;
    harness.state_mut().select_node(first);
    let empty = empty_spot(&harness);
    click_at(&mut harness, empty, Modifiers::NONE);
    assert!(harness.state().selection.is_empty());
}

#[test]
fn a_shift_drag_rubber_band_selects_the_nodes_it_sweeps() {
    let mut harness = harness_of(preset("stage-3-cache"), 800.0);
    let canvas = harness.state().canvas_rect().expect("canvas drawn");
    let (start, end) = (
        canvas.min + egui::vec2(3.0, 3.0),
        canvas.max - egui::vec2(3.0, 3.0),
    );
    harness.event(Event::ModifiersChanged(Modifiers::SHIFT));
    harness.event(Event::PointerMoved(start));
    harness.event(Event::PointerButton {
        pos: start,
        button: PointerButton::Primary,
        pressed: true,
        modifiers: Modifiers::SHIFT,
    });
    for step in 1..=8 {
        harness.event(Event::PointerMoved(start.lerp(end, step as f32 / 8.0)));
    }
    harness.event(Event::PointerButton {
        pos: end,
        button: PointerButton::Primary,
        pressed: false,
        modifiers: Modifiers::SHIFT,
    });
    harness.event(Event::ModifiersChanged(Modifiers::NONE));
    harness.step();
    harness.run_steps(3);
    let app = harness.state();
    assert_eq!(app.selection.nodes.len(), app.topology.nodes.len());
    assert!(!app.is_dirty(), "selecting moved nothing");
}

#[test]
fn a_click_on_a_wire_selects_it_and_the_inspector_edits_it() {
    let mut harness = harness_of(preset("stage-3-cache"), 800.0);
    let rects = harness.state().canvas_node_rects();
    let (from, to, middle) = harness
        .state()
        .canvas_wire_midpoints()
        .into_iter()
        .find(|(_, _, p)| rects.iter().all(|(_, r)| !r.expand(8.0).contains(*p)))
        .expect("a wire with its middle in the open");
    click_at(&mut harness, middle, Modifiers::NONE);
    assert_eq!(harness.state().selection.wire, Some((from, to)));
    harness.get_by_label_contains("Wire ");
    harness.get_by_label("Delete wire").click();
    harness.run_steps(3);
    let app = harness.state();
    assert!(!app
        .topology
        .edges
        .iter()
        .any(|e| e.from == from && e.to == to));
    assert!(app.selection.is_empty());
}

#[test]
fn copy_paste_and_duplicate_bring_the_wires_between_the_copied_nodes() {
    let mut harness = harness_of(preset("stage-4-load-balancer"), 800.0);
    let before = harness.state().topology.clone();
    let picked: BTreeSet<NodeId> = before.nodes.iter().map(|n| n.id).take(3).collect();
    let inner = before
        .edges
        .iter()
        .filter(|e| picked.contains(&e.from) && picked.contains(&e.to))
        .count();
    harness.state_mut().selection = Selection {
        nodes: picked.clone(),
        wire: None,
    };
    harness.key_press_modifiers(Modifiers::COMMAND, Key::C);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::V);
    harness.run_steps(3);
    let app = harness.state();
    assert_eq!(app.topology.nodes.len(), before.nodes.len() + 3);
    assert_eq!(app.topology.edges.len(), before.edges.len() + inner);
    assert_eq!(app.selection.nodes.len(), 3, "the pasted copy is selected");
    assert!(app.selection.nodes.is_disjoint(&picked));
    // One undo step takes the whole paste back.
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    harness.run_steps(3);
    assert_eq!(harness.state().topology.nodes, before.nodes);
    assert_eq!(harness.state().topology.edges, before.edges);

    // Ctrl+D duplicates without the clipboard.
    harness.state_mut().selection = Selection {
        nodes: picked,
        wire: None,
    };
    harness.key_press_modifiers(Modifiers::COMMAND, Key::D);
    harness.run_steps(3);
    assert_eq!(harness.state().topology.nodes.len(), before.nodes.len() + 3);

    // Pasting works in another document.
    run(&mut harness, Command::New);
    harness.get_by_label("Discard").click();
    harness.run_steps(3);
    assert!(harness.state().topology.nodes.is_empty());
    harness.key_press_modifiers(Modifiers::COMMAND, Key::V);
    harness.run_steps(3);
    let app = harness.state();
    assert_eq!(app.topology.nodes.len(), 3);
    assert_eq!(app.topology.edges.len(), inner);
    assert!(app.topology.validate().is_ok());
}

#[test]
fn a_node_added_from_the_palette_appears_in_view_and_in_the_inspector() {
    let mut harness = harness_of(preset("stage-5-read-replicas"), 800.0);
    harness.get_by_label("+ Cache").click();
    harness.run_steps(4);
    let app = harness.state();
    let added = app.topology.nodes.iter().map(|n| n.id).max().unwrap();
    assert_eq!(app.selection, Selection::only(added));
    let canvas = app.canvas_rect().unwrap();
    let (_, rect) = app
        .canvas_node_rects()
        .into_iter()
        .find(|(id, _)| *id == added)
        .expect("the new node is drawn");
    assert!(canvas.contains_rect(rect), "{rect:?} outside {canvas:?}");
    harness.get_by_label("Hit ratio");
}

#[test]
fn menus_show_their_shortcuts_and_ctrl_0_fits() {
    let mut harness = harness_of(preset("stage-3-cache"), 800.0);
    harness.get_by_label("Edit").click();
    harness.run_steps(2);
    let copy_shortcut = harness.ctx.format_shortcut(&staircase::app::keys::COPY);
    assert!(harness
        .query_all_by_label_contains(&copy_shortcut)
        .next()
        .is_some());
    harness.key_press(Key::Escape);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Num0);
    harness.run_steps(4);
}

#[test]
fn the_app_goes_idle_when_nothing_happens() {
    let mut harness = harness_of(preset("stage-8-multi-region"), 800.0);
    // A frame that collects one job's result may start the next (the sweeps follow the solve);
    // settle until the frames after a settle start nothing new, however slow the machine.
    for _ in 0..10 {
        harness.state_mut().settle(Duration::from_secs(60));
        harness.run_steps(3);
        if harness.state().background_status().is_empty() {
            break;
        }
    }
    assert!(
        harness.state().background_status().is_empty(),
        "background work keeps starting: {:?}",
        harness.state().background_status()
    );
    // `try_run` steps until no immediate repaint is requested, failing past its step limit.
    let steps = harness.try_run().expect("the app stops repainting");
    assert!(steps <= 2, "{steps} frames after settling");
}
