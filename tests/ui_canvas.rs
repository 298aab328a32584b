//! The canvas and the plots as a new user sees them (egui_kittest, headless), at the three
//! window sizes users have: after Fit all every node lies inside the canvas and every node
//! name is painted at least 11 px high; the plots and their legends stay inside their own
//! rectangles.

use egui_kittest::Harness;
use staircase::app::{Command, StaircaseApp};
use staircase::presets;

#[path = "support/picker.rs"]
mod picker;

const SIZES: [(f32, f32); 3] = [(1024.0, 640.0), (1280.0, 800.0), (1920.0, 1080.0)];
const PRESETS: [&str; 3] = ["stage-3-cache", "stage-8-multi-region", "company-netflix"];

fn harness_of(preset: &str, size: (f32, f32)) -> Harness<'static, StaircaseApp> {
    let topology = presets::find(preset)
        .expect("preset exists")
        .load()
        .expect("preset loads");
    let app = StaircaseApp::new(topology, Box::new(picker::FakePicker::default()));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(size.0, size.1))
        .build_ui_state(|ui, app: &mut StaircaseApp| app.frame(ui), app);
    harness.run_steps(6);
    let ctx = harness.ctx.clone();
    harness.state_mut().run(Command::FitView, &ctx);
    harness.run_steps(6);
    harness
}

#[test]
fn after_fit_all_every_node_is_inside_the_canvas_with_a_legible_name() {
    for preset in PRESETS {
        for size in SIZES {
            let harness = harness_of(preset, size);
            let app = harness.state();
            let canvas = app.canvas_rect().expect("the canvas is drawn");
            let nodes = app.canvas_node_rects();
            assert_eq!(
                nodes.len(),
                app.topology.nodes.len(),
                "{preset} at {size:?}"
            );
            for (id, rect) in &nodes {
                assert!(
                    canvas.contains_rect(*rect),
                    "{preset} at {size:?}: node {id} at {rect:?} outside the canvas {canvas:?}"
                );
            }
            let names = app.canvas_names();
            assert_eq!(names.len(), nodes.len(), "{preset} at {size:?}");
            for name in names {
                assert!(
                    name.font_px >= 11.0,
                    "{preset} at {size:?}: node {} name at {} px",
                    name.id,
                    name.font_px
                );
                assert!(
                    canvas.contains_rect(name.rect),
                    "{preset} at {size:?}: name of node {} at {:?} outside {canvas:?}",
                    name.id,
                    name.rect
                );
            }
        }
    }
}

#[test]
fn plot_legends_and_titles_stay_in_their_own_column() {
    use egui_kittest::kittest::Queryable;
    for preset in PRESETS {
        for size in SIZES {
            let mut harness = harness_of(preset, size);
            harness
                .state_mut()
                .settle(std::time::Duration::from_secs(120));
            harness.run_steps(4);
            let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(size.0, size.1));
            let latency = harness.get_by_label("Latency vs load multiplier").rect();
            let cost = harness.get_by_label("Monthly cost per tier").rect();
            assert!(latency.max.x <= cost.min.x, "{preset} at {size:?}");
            let classes: Vec<String> = harness
                .state()
                .report()
                .expect("solved")
                .classes
                .iter()
                .map(|c| c.name.clone())
                .collect();
            assert!(!classes.is_empty());
            for class in classes {
                let key = harness.get_by_label(&format!("■ {class}")).rect();
                assert!(
                    window.contains_rect(key)
                        && key.max.x <= cost.min.x
                        && key.min.y >= latency.max.y,
                    "{preset} at {size:?}: legend entry {class} at {key:?}, next plot from {}",
                    cost.min.x
                );
            }
        }
    }
}

#[test]
fn the_canvas_keeps_its_place_whatever_node_the_inspector_shows() {
    // Selecting a database (the widest inspector) used to widen the right panel and shift the
    // canvas; now every selection leaves the canvas where it was.
    for size in SIZES {
        let mut harness = harness_of("stage-8-multi-region", size);
        let ids: Vec<_> = harness
            .state()
            .topology
            .nodes
            .iter()
            .map(|n| n.id)
            .collect();
        let before = harness.state().canvas_rect().expect("the canvas is drawn");
        for id in ids {
            harness.state_mut().select_node(id);
            harness.run_steps(3);
            let now = harness.state().canvas_rect().expect("the canvas is drawn");
            assert_eq!(now, before, "at {size:?} with node {id} selected");
        }
    }
}

/// The view's zoom as the names show it: a name is painted at 14 px × zoom (never below 11).
fn name_px(harness: &Harness<'static, StaircaseApp>) -> f32 {
    harness
        .state()
        .canvas_names()
        .iter()
        .map(|n| n.font_px)
        .fold(0.0, f32::max)
}

fn wheel(
    harness: &mut Harness<'static, StaircaseApp>,
    at: egui::Pos2,
    dy: f32,
    modifiers: egui::Modifiers,
) {
    harness.event(egui::Event::PointerMoved(at));
    harness.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, dy),
        phase: egui::TouchPhase::Move,
        modifiers,
    });
    harness.run_steps(3);
}

#[test]
fn the_wheel_zooms_from_25_to_400_percent_and_text_is_painted_at_its_screen_size() {
    let mut harness = harness_of("stage-3-cache", (1280.0, 800.0));
    let canvas = harness.state().canvas_rect().expect("the canvas is drawn");
    // Stage 3 fits at 100%: names at 14 px.
    assert_eq!(name_px(&harness), 14.0);
    for _ in 0..40 {
        wheel(&mut harness, canvas.center(), 120.0, egui::Modifiers::NONE);
    }
    // At 400% the names are laid out at 56 px (glyphs rasterized at that size, not magnified).
    assert_eq!(name_px(&harness), 56.0);
    for _ in 0..80 {
        wheel(&mut harness, canvas.center(), -120.0, egui::Modifiers::NONE);
    }
    // At 25% nodes are tiles whose names stay at 11 px.
    assert_eq!(name_px(&harness), 11.0);
    let names = harness.state().canvas_names();
    assert!(names.iter().all(|n| n.font_px == 11.0));
    // Ctrl+wheel zooms too (egui's own zoom gesture, like a pinch).
    let width = |harness: &Harness<'static, StaircaseApp>| {
        harness
            .state()
            .canvas_node_rects()
            .iter()
            .map(|(_, r)| r.width())
            .fold(0.0, f32::max)
    };
    let before = width(&harness);
    wheel(&mut harness, canvas.center(), 200.0, egui::Modifiers::CTRL);
    assert!(
        width(&harness) > 1.5 * before,
        "{before} → {}",
        width(&harness)
    );
}

#[test]
fn hovering_a_wire_tells_what_it_carries_and_the_load_where_it_arrives() {
    use egui_kittest::kittest::Queryable;
    let mut harness = harness_of("stage-3-cache", (1280.0, 800.0));
    let topology = harness.state().topology.clone();
    let report = harness.state().report().expect("solved").clone();
    // A wire whose middle is not under a node.
    let nodes = harness.state().canvas_node_rects();
    let (from, to, middle) = harness
        .state()
        .canvas_wire_midpoints()
        .into_iter()
        .find(|(_, _, middle)| !nodes.iter().any(|(_, rect)| rect.contains(*middle)))
        .expect("a wire with its middle in the open");
    harness.event(egui::Event::PointerMoved(middle));
    harness.run_steps(3);
    let name = |id| topology.node(id).expect("node exists").name.clone();
    harness.get_by_label(&format!("{} → {}", name(from), name(to)));
    let target = report.node(to).expect("target solved");
    harness.get_by_label(&format!(
        "{} receives {} in all, ρ {}",
        name(to),
        staircase::app::format::rate(target.arrival_rps),
        staircase::app::format::percent(target.offered_utilization, 0)
    ));
}

#[test]
fn every_preset_fits_at_1280_by_800_with_legible_names() {
    for preset in presets::PRESETS {
        let name = preset.file.trim_end_matches(".ron");
        let harness = harness_of(name, (1280.0, 800.0));
        let app = harness.state();
        let canvas = app.canvas_rect().expect("the canvas is drawn");
        let nodes = app.canvas_node_rects();
        assert_eq!(nodes.len(), app.topology.nodes.len(), "{name}");
        for (id, rect) in &nodes {
            assert!(
                canvas.contains_rect(*rect),
                "{name}: node {id} at {rect:?} outside {canvas:?}"
            );
        }
        let names = app.canvas_names();
        assert_eq!(names.len(), nodes.len(), "{name}");
        for shown in names {
            assert!(
                shown.font_px >= 11.0,
                "{name}: node {} at {} px",
                shown.id,
                shown.font_px
            );
            assert!(
                canvas.contains_rect(shown.rect),
                "{name}: name of node {} clipped",
                shown.id
            );
        }
    }
}

/// Every text painted this frame with its position (plot tick labels are painted, not widgets).
fn painted_texts(harness: &Harness<'static, StaircaseApp>) -> Vec<(String, egui::Pos2)> {
    fn collect(shape: &egui::Shape, out: &mut Vec<(String, egui::Pos2)>) {
        match shape {
            egui::Shape::Text(text) => out.push((text.galley.text().to_owned(), text.pos)),
            egui::Shape::Vec(shapes) => shapes.iter().for_each(|s| collect(s, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for clipped in &harness.output().shapes {
        collect(&clipped.shape, &mut out);
    }
    out
}

#[test]
fn the_small_latency_plot_labels_its_value_axis_with_units() {
    use egui_kittest::kittest::Queryable;
    // Stage 8's small latency plot used to show a single "0" on its value axis: egui_plot's
    // ticks step by powers of ten and hide labels closer than 20 points.
    for size in SIZES {
        let mut harness = harness_of("stage-8-multi-region", size);
        harness
            .state_mut()
            .settle(std::time::Duration::from_secs(120));
        harness.run_steps(4);
        let title = harness.get_by_label("Latency vs load multiplier").rect();
        let next = harness.get_by_label("Monthly cost per tier").rect();
        let ticks: Vec<String> = painted_texts(&harness)
            .into_iter()
            .filter(|(_, at)| at.x >= title.min.x - 30.0 && at.x < next.min.x && at.y > title.max.y)
            .map(|(text, _)| text)
            .filter(|text| text.ends_with(" ms") || text.ends_with(" s"))
            .collect();
        assert!(
            ticks.len() >= 2,
            "at {size:?} the latency axis shows {ticks:?} besides 0"
        );
    }
}
