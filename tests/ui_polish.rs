//! The small things users notice, driven headless with egui_kittest: the preset browser, the
//! design's description, the planner's apply-and-undo, and how figures read on screen.

use egui::accesskit::Role;
use egui::{Key, Modifiers};
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
#[path = "support/picker.rs"]
mod picker;
use picker::FakePicker;
#[path = "support/menu.rs"]
mod menu;
use menu::click_menu;
use staircase::app::{format, StaircaseApp};
use staircase::io::presets;
use staircase::model::{NodeKind, Rate, Topology};
use std::time::Duration;

/// The app on the default preset, in a window of `height` points.
fn harness_of_height(height: f32) -> (Harness<'static, StaircaseApp>, FakePicker) {
    harness_with_frames(height, 0.25)
}

/// The app on the default preset, with `step_seconds` between frames.
fn harness_with_frames(
    height: f32,
    step_seconds: f32,
) -> (Harness<'static, StaircaseApp>, FakePicker) {
    let picker = FakePicker::default();
    let topology = presets::default_topology().expect("default preset loads");
    let app = StaircaseApp::new(topology, Box::new(picker.clone()));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, height))
        .with_step_dt(step_seconds)
        .build_ui_state(|ui, app: &mut StaircaseApp| app.frame(ui), app);
    harness.run_steps(3);
    (harness, picker)
}

/// Lets the background work (solve, plan, sweeps) finish and shows its results.
fn settle(harness: &mut Harness<'static, StaircaseApp>) {
    harness.run_steps(1);
    harness.state_mut().settle(Duration::from_secs(60));
    harness.run_steps(2);
}

/// The browser's entry for the preset titled `title` (not the menu bar's document name).
fn entry<'t>(
    harness: &'t Harness<'static, StaircaseApp>,
    title: &'t str,
) -> egui_kittest::Node<'t> {
    harness
        .get_all_by_label(title)
        .find(|node| node.accesskit_node().role() != Role::Label)
        .unwrap_or_else(|| panic!("no browser entry titled {title}"))
}

/// Opens the file `topology` is saved to, through File → Open… and the fake picker.
fn open_document(
    harness: &mut Harness<'static, StaircaseApp>,
    picker: &FakePicker,
    topology: &Topology,
) -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("design.ron");
    staircase::io::document::save(&path, topology).unwrap();
    *picker.next.borrow_mut() = Some(path);
    click_menu(harness, "File", "Open…");
    settle(harness);
    assert!(
        harness.state().error.is_none(),
        "{:?}",
        harness.state().error
    );
    directory
}

#[test]
fn the_preset_browser_lists_the_shelves_and_opens_a_preset_by_clicking() {
    let (mut harness, _) = harness_with_frames(900.0, 0.05);
    click_menu(&mut harness, "File", "Open preset…");
    let groups = presets::groups();
    for group in &groups {
        harness.get_by_label(&group.title);
    }
    for title in ["The scaling staircase", "Real companies", "Exercises"] {
        assert!(groups.iter().any(|g| g.title == title), "{title}");
    }
    // An article shelf appears only when it has presets.
    let has_articles = presets::PRESETS
        .iter()
        .any(|p| p.file.starts_with("article-001-"));
    assert_eq!(
        harness.query_by_label("Article 001").is_some(),
        has_articles
    );

    // Each entry: its title, and its stage with the first sentence of its description.
    let instagram = presets::find("company-instagram").unwrap().info().unwrap();
    let stage5 = presets::find("stage-5-read-replicas")
        .unwrap()
        .info()
        .unwrap();
    harness.get_by_label(&instagram.summary);
    assert!(stage5.title.starts_with("Stage 5"), "{}", stage5.title);
    harness.get_by_label(&stage5.summary);
    entry(&harness, &stage5.title).click();
    harness.run_steps(2);
    harness.get_by_label("Stage 5 of the scaling staircase");

    // Selecting one shows its whole description; Open opens it, with nothing unsaved.
    entry(&harness, &instagram.title).click();
    harness.run_steps(2);
    harness.get_by_label(&instagram.description);
    harness.get_by_label("Open").click();
    harness.run_steps(3);
    let expected = presets::find("company-instagram").unwrap().load().unwrap();
    assert_eq!(harness.state().topology.nodes, expected.nodes);
    assert_eq!(harness.state().topology.description, expected.description);
    assert!(!harness.state().is_dirty());
    assert!(!harness.state().browser.open, "the browser closes on open");

    // A double click opens too; with unsaved changes, the prompt asks first.
    harness.state_mut().topology.name = "my edit".into();
    harness.run_steps(2);
    click_menu(&mut harness, "File", "Open preset…");
    let whatsapp = presets::find("company-whatsapp").unwrap().info().unwrap();
    // kittest gives every event its own frame: the two releases are 3 frames (0.15 s) apart,
    // within egui's 0.3 s double-click delay; the last click before is 0.75 s back (no triple).
    harness.run_steps(15);
    entry(&harness, &whatsapp.title).click();
    entry(&harness, &whatsapp.title).click();
    harness.run_steps(3);
    harness.get_by_label("Unsaved changes");
    assert_eq!(harness.state().topology.name, "my edit");
    harness.get_by_label("Discard").click();
    harness.run_steps(3);
    assert_eq!(harness.state().topology.name, whatsapp.title);
    assert!(!harness.state().is_dirty());
}

#[test]
fn the_design_description_is_shown_and_looking_changes_nothing() {
    let (mut harness, _) = harness_of_height(900.0);
    let description = harness.state().topology.description.clone();
    assert!(!description.is_empty());
    assert!(harness.query_by_label(&description).is_none());
    harness.get_by_label("About this design").click();
    harness.run_steps(2);
    harness.get_by_label(&description);
    // Opening the editor is still only looking.
    harness.get_by_label("Edit name and description").click();
    harness.run_steps(2);
    assert!(!harness.state().is_dirty());
    // Typing is an edit: the description changes and the document is unsaved.
    harness.get_by_value(&description).focus();
    harness.run_steps(1);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::End);
    harness.get_by_value(&description).type_text(" Edited.");
    harness.run_steps(2);
    assert!(harness.state().topology.description.contains(" Edited."));
    assert!(harness.state().is_dirty());
    harness.get_by_label("Done").click();
    harness.run_steps(2);
    harness.get_by_label_contains(" Edited.");
}

#[test]
fn applying_a_plan_is_one_undo_step_and_says_what_changed() {
    let (mut harness, _) = harness_of_height(2400.0);
    // The rate starts at the document's peak: 7M a day at a 3x peak is 243 req/s.
    assert_eq!(harness.state().plan_goal.rps, 243.0);
    harness.state_mut().plan_goal.p99_ms = 200.0;
    harness.get_by_label("Plan").click();
    settle(&mut harness);
    let plan = harness.state().plan.clone().unwrap().unwrap();
    assert!(plan.met);
    let changed: Vec<_> = plan
        .rows
        .iter()
        .filter(|r| r.instances != r.instances_before)
        .collect();
    assert!(!changed.is_empty(), "the 200 ms goal needs more instances");
    let before = harness.state().topology.clone();

    harness.get_by_label("Apply plan").click();
    harness.run_steps(3);
    for row in &plan.rows {
        assert_eq!(
            harness.state().topology.node(row.id).unwrap().instances,
            row.instances
        );
    }
    let expected = format!(
        "Applied plan: {}",
        changed
            .iter()
            .map(|r| format!("{}: {} to {}", r.name, r.instances_before, r.instances))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert_eq!(harness.state().notice.as_deref(), Some(expected.as_str()));
    harness.get_by_label(&expected);
    // The "now" column follows the document: nothing is left to apply.
    assert!(harness.query_by_label("Apply plan").is_none());

    // One Ctrl+Z restores every count; Ctrl+Shift+Z applies them again.
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    harness.run_steps(3);
    assert_eq!(harness.state().topology, before);
    harness.get_by_label("Apply plan");
    harness.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    harness.run_steps(3);
    for row in &plan.rows {
        assert_eq!(
            harness.state().topology.node(row.id).unwrap().instances,
            row.instances
        );
    }
}

#[test]
fn the_planner_starts_over_with_each_document() {
    let (mut harness, _) = harness_of_height(2400.0);
    harness.state_mut().plan_goal.rps = 5.0;
    harness.get_by_label("Plan").click();
    settle(&mut harness);
    assert!(harness.state().plan.is_some());
    click_menu(&mut harness, "File", "Open preset…");
    let instagram = presets::find("company-instagram").unwrap().info().unwrap();
    entry(&harness, &instagram.title).click();
    harness.run_steps(2);
    harness.get_by_label("Open").click();
    harness.run_steps(3);
    let offered = harness.state().report().unwrap().offered_rps;
    assert!(offered > 1000.0);
    assert_eq!(harness.state().plan_goal.rps, offered.round());
    assert!(harness.state().plan.is_none());
}

/// Every label and value in the UI: none may read as a negative zero.
fn assert_no_negative_zero(harness: &Harness<'static, StaircaseApp>, context: &str) -> usize {
    let mut texts = 0;
    for node in harness.query_all_by(|_| true) {
        let node = node.accesskit_node();
        for text in [node.label(), node.value()].into_iter().flatten() {
            texts += 1;
            for bad in ["-0.0", "$-0", "-$0.00", "NaN", "+0.0 req/s", "+0 req/s"] {
                assert!(!text.contains(bad), "{context}: \"{text}\" contains {bad}");
            }
        }
    }
    texts
}

#[test]
fn no_figure_on_screen_reads_as_a_negative_zero_in_any_preset() {
    let (mut harness, picker) = harness_of_height(2400.0);
    let ctx = harness.ctx.clone();
    for preset in presets::PRESETS {
        // Opening must not wait on an unsaved-changes prompt (this test only reads figures).
        harness.state_mut().discard_changes();
        harness
            .state_mut()
            .run(staircase::app::Command::OpenPreset(preset.file), &ctx);
        settle(&mut harness);
        let expected = preset.load().unwrap();
        assert_eq!(harness.state().topology.name, expected.name);
        assert!(
            harness.state().error.is_none(),
            "{}: {:?}",
            preset.file,
            harness.state().error
        );
        let texts = assert_no_negative_zero(&harness, preset.file);
        assert!(texts > 50, "{}: only {texts} texts on screen", preset.file);
        // Each node's figures in the metrics panel.
        let ids: Vec<u32> = harness
            .state()
            .topology
            .nodes
            .iter()
            .map(|n| n.id)
            .collect();
        for id in ids {
            harness.state_mut().select_node(id);
            harness.run_steps(2);
            assert_no_negative_zero(&harness, &format!("{} node {id}", preset.file));
        }
        // Looking at every node's figures changed nothing.
        assert!(!harness.state().is_dirty(), "{}", preset.file);
    }
    // A design with no prices: its cost is an empty sum, which is -0.0 in floating point.
    let unpriced = staircase::analysis::generate::station(50.0, NodeKind::Service, 2, 100.0);
    harness.state_mut().discard_changes();
    let _file = open_document(&mut harness, &picker, &unpriced);
    assert_eq!(harness.state().topology.name, unpriced.name);
    assert_eq!(harness.state().report().unwrap().monthly_cost_usd, 0.0);
    harness.get_by_label("Monthly cost");
    assert!(harness
        .query_all_by_label(&format::per_month(0.0))
        .next()
        .is_some());
    assert_no_negative_zero(&harness, "unpriced station");
}

#[test]
fn a_backlog_that_rounds_to_zero_raises_no_alarm_and_nothing_served_has_no_latency() {
    let (mut harness, picker) = harness_of_height(2400.0);
    // 100.0001 req/s into 100 req/s: the backlog grows by 0.0001 req/s, shown as 0.
    let mut barely = staircase::analysis::generate::station(100.0001, NodeKind::Service, 1, 100.0);
    barely.name = "barely over".into();
    let _file = open_document(&mut harness, &picker, &barely);
    let report = harness.state().report().unwrap().clone();
    assert!(
        report.backlog_rps > 0.0 && report.backlog_rps < 0.001,
        "{}",
        report.backlog_rps
    );
    assert!(harness.query_by_label("Backlog").is_none());
    assert!(harness.query_by_label_contains("backlog +").is_none());
    assert_no_negative_zero(&harness, "barely over");

    // A workload of 0 requests: its class completes nothing, so it has no percentiles.
    let mut idle = staircase::analysis::generate::station(1.0, NodeKind::Service, 1, 100.0);
    idle.workloads[0].rate = Rate::PerSecond(0.0);
    let _file = open_document(&mut harness, &picker, &idle);
    let report = harness.state().report().unwrap().clone();
    assert_eq!(report.classes[0].served_rps, 0.0);
    let dashes = harness.query_all_by_label(format::NONE).count();
    assert!(
        dashes >= 2,
        "p50 and p99 of the class show {}, found {dashes}",
        format::NONE
    );
    assert!(harness.query_by_label("waiting for a connection").is_none());
}

/// The workload panel shows its burstiness; a burstier workload (arrival cv 3 instead of 1)
/// lengthens the solved end-to-end tail the panels show.
#[test]
fn burstiness_is_shown_and_bursty_arrivals_lengthen_the_tail() {
    let (mut harness, _) = harness_of_height(900.0);
    settle(&mut harness);
    harness.get_by_label("Burstiness");
    let calm = harness.state().report().expect("solved").worst_p99_ms();
    harness.state_mut().topology.workloads[0].arrival_cv = 3.0;
    settle(&mut harness);
    let bursty = harness.state().report().expect("solved").worst_p99_ms();
    assert!(
        bursty > calm * 1.05,
        "p99 {calm} ms calm, {bursty} ms bursty"
    );
}
