//! The canvas and the plots as a new user sees them (egui_kittest, headless), at the three
//! window sizes users have: after Fit all every node lies inside the canvas and every node
//! name is painted at least 11 px high; the plots and their legends stay inside their own
//! rectangles.

use egui_kittest::Harness;
use staircase::app::{Command, StaircaseApp};
use staircase::io::presets;

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
    harness.get_by_label(&format!("{} to {}", name(from), name(to)));
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

/// A window large enough for stage 3 to leave empty canvas around its nodes.
const ROOMY: (f32, f32) = (1920.0, 1080.0);

/// The node rectangles on screen, by node.
fn rects_by_node(
    harness: &Harness<'static, StaircaseApp>,
) -> std::collections::BTreeMap<u32, egui::Rect> {
    harness.state().canvas_node_rects().into_iter().collect()
}

/// A point on empty canvas: beside, below or above every node, clear of the wires between
/// them (a wire bulges at most 40 points past the nodes it joins).
fn empty_spot(harness: &Harness<'static, StaircaseApp>) -> egui::Pos2 {
    let canvas = harness.state().canvas_rect().expect("the canvas is drawn");
    let nodes = rects_by_node(harness)
        .values()
        .fold(egui::Rect::NOTHING, |all, r| all.union(*r));
    let center = nodes.center();
    [
        egui::pos2(nodes.min.x - 60.0, center.y),
        egui::pos2(nodes.max.x + 60.0, center.y),
        egui::pos2(center.x, nodes.max.y + 60.0),
        egui::pos2(center.x, nodes.min.y - 60.0),
    ]
    .into_iter()
    .find(|p| canvas.shrink(10.0).contains(*p))
    .unwrap_or_else(|| panic!("no room around the nodes {nodes:?} in {canvas:?}"))
}

/// Drags with `button` from `from` by `by` in small moves, as a hand does.
fn drag(
    harness: &mut Harness<'static, StaircaseApp>,
    button: egui::PointerButton,
    from: egui::Pos2,
    by: egui::Vec2,
) {
    let press = |pos, pressed| egui::Event::PointerButton {
        pos,
        button,
        pressed,
        modifiers: egui::Modifiers::NONE,
    };
    harness.event(egui::Event::PointerMoved(from));
    harness.step();
    harness.event(press(from, true));
    harness.step();
    for step in 1..=10 {
        harness.event(egui::Event::PointerMoved(from + by * step as f32 / 10.0));
        harness.step();
    }
    harness.event(press(from + by, false));
    harness.run_steps(3);
}

/// Asserts that every node moved as `expected` maps its rectangle before, within `tolerance`
/// points (node positions are rounded to whole graph points).
fn assert_view_moved(
    before: &std::collections::BTreeMap<u32, egui::Rect>,
    after: &std::collections::BTreeMap<u32, egui::Rect>,
    expected: impl Fn(egui::Rect) -> egui::Rect,
    tolerance: f32,
    what: &str,
) {
    assert_eq!(before.len(), after.len(), "{what}");
    for (id, rect) in before {
        let wanted = expected(*rect);
        let got = after[id];
        assert!(
            (got.min - wanted.min).length() <= tolerance
                && (got.size() - wanted.size()).length() <= tolerance,
            "{what}: node {id} at {got:?}, expected {wanted:?}"
        );
    }
}

#[test]
fn dragging_empty_canvas_pans_the_view_and_leaves_the_document_alone() {
    for button in [egui::PointerButton::Primary, egui::PointerButton::Middle] {
        let mut harness = harness_of("stage-3-cache", ROOMY);
        let document = harness.state().topology.clone();
        let selected = harness.state().selection.clone();
        let before = rects_by_node(&harness);
        let by = egui::vec2(90.0, -35.0);
        let from = empty_spot(&harness);
        drag(&mut harness, button, from, by);
        let after = rects_by_node(&harness);
        assert_view_moved(
            &before,
            &after,
            |r| r.translate(by),
            1.0,
            &format!("{button:?} drag"),
        );
        assert_eq!(harness.state().topology, document, "{button:?} drag");
        assert!(!harness.state().is_dirty(), "{button:?} drag");
        assert_eq!(harness.state().selection, selected, "{button:?} drag");
    }
}

#[test]
fn a_pinch_zooms_about_the_fingers_and_leaves_the_document_alone() {
    let mut harness = harness_of("stage-3-cache", ROOMY);
    let document = harness.state().topology.clone();
    let before = rects_by_node(&harness);
    let at = empty_spot(&harness);
    harness.event(egui::Event::PointerMoved(at));
    harness.step();
    // egui's pinch gesture (trackpads send it as Zoom events).
    harness.event(egui::Event::Zoom(1.5));
    harness.run_steps(3);
    let after = rects_by_node(&harness);
    // The point under the fingers stays put; everything else moves away from it by 1.5.
    let zoomed = |r: egui::Rect| egui::Rect::from_min_size(at + (r.min - at) * 1.5, r.size() * 1.5);
    assert_view_moved(&before, &after, zoomed, 1.5, "pinch out");
    harness.event(egui::Event::Zoom(1.0 / 1.5));
    harness.run_steps(3);
    assert_view_moved(&before, &rects_by_node(&harness), |r| r, 1.5, "pinch back");
    // Pinching in stops at 25%: a stage-3 node at 100% is then a quarter as wide.
    for _ in 0..10 {
        harness.event(egui::Event::Zoom(0.5));
        harness.step();
    }
    harness.run_steps(2);
    for (id, rect) in rects_by_node(&harness) {
        let width = before[&id].width() * 0.25;
        assert!(
            (rect.width() - width).abs() <= 1.0,
            "node {id} is {} wide at 25%, expected {width}",
            rect.width()
        );
    }
    assert_eq!(harness.state().topology, document);
    assert!(!harness.state().is_dirty());
}

#[test]
fn shift_and_the_wheel_scroll_the_view_sideways_without_zooming() {
    let mut harness = harness_of("stage-3-cache", ROOMY);
    let document = harness.state().topology.clone();
    let before = rects_by_node(&harness);
    let at = empty_spot(&harness);
    // Shift held through the scroll (egui spreads a wheel step over several frames).
    harness.event(egui::Event::ModifiersChanged(egui::Modifiers::SHIFT));
    wheel(&mut harness, at, -60.0, egui::Modifiers::SHIFT);
    harness.run_steps(20);
    harness.event(egui::Event::ModifiersChanged(egui::Modifiers::NONE));
    harness.run_steps(2);
    let after = rects_by_node(&harness);
    let id = *before.keys().next().expect("a node");
    let moved = after[&id].min - before[&id].min;
    assert!(
        moved.x.abs() > 10.0 && moved.y.abs() < 0.5,
        "moved {moved:?}"
    );
    assert_view_moved(&before, &after, |r| r.translate(moved), 1.0, "shift+wheel");
    assert_eq!(harness.state().topology, document);
    assert!(!harness.state().is_dirty());
}

#[test]
fn a_large_graph_lays_out_only_the_nodes_in_view_and_still_draws_every_wire() {
    let topology = staircase::analysis::generate::layered(500, 3);
    let edges: std::collections::BTreeSet<(u32, u32)> = topology
        .edges
        .iter()
        .filter(|e| e.from != e.to)
        .map(|e| (e.from, e.to))
        .collect();
    let app = StaircaseApp::new(topology, Box::new(picker::FakePicker::default()));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut StaircaseApp| app.frame(ui), app);
    harness.run_steps(6);
    let ctx = harness.ctx.clone();
    harness.state_mut().run(Command::FitView, &ctx);
    harness.run_steps(6);
    let check = |harness: &Harness<'static, StaircaseApp>, what: &str| {
        let app = harness.state();
        let canvas = app.canvas_rect().expect("the canvas is drawn");
        let rects = app.canvas_node_rects();
        assert_eq!(rects.len(), 500, "{what}: every node keeps a place");
        assert_eq!(app.canvas_wire_midpoints().len(), edges.len(), "{what}");
        let visible: Vec<u32> = rects
            .iter()
            .filter(|(_, r)| r.intersects(canvas))
            .map(|(id, _)| *id)
            .collect();
        let laid_out = app.canvas_nodes_laid_out();
        assert!(
            laid_out.len() < 250,
            "{what}: {} of 500 nodes laid out",
            laid_out.len()
        );
        let named: std::collections::BTreeSet<u32> =
            app.canvas_names().iter().map(|n| n.id).collect();
        for id in &visible {
            assert!(
                laid_out.contains(id),
                "{what}: node {id} in view not laid out"
            );
            assert!(named.contains(id), "{what}: node {id} in view has no name");
        }
        visible
    };
    let first = check(&harness, "after the fit");
    // Pan far: the nodes that come into view are laid out and named, the others let go.
    let at = harness.state().canvas_rect().expect("canvas").center();
    drag(
        &mut harness,
        egui::PointerButton::Middle,
        at,
        egui::vec2(-500.0, -350.0),
    );
    harness.run_steps(2);
    let second = check(&harness, "after panning");
    assert!(second.iter().any(|id| !first.contains(id)), "{second:?}");
}

/// Stage 3's peak: 7 million requests a day at three times the average (article 000).
const STAGE_3_PEAK_RPS: f64 = 7e6 / 86_400.0 * 3.0;

/// The req/s of each class along the wire from `from` to `to`, as the report gives it.
fn reported_class_rps(report: &staircase::solver::report::Report, from: u32, to: u32) -> Vec<f64> {
    let mut rates = vec![0.0; report.classes.len()];
    for edge in report.edges.iter().filter(|e| (e.from, e.to) == (from, to)) {
        for (sum, rate) in rates.iter_mut().zip(&edge.class_rps) {
            *sum += rate;
        }
    }
    rates
}

/// The wire from `from` to `to` on screen: its middle point.
fn wire_middle(harness: &Harness<'static, StaircaseApp>, from: u32, to: u32) -> egui::Pos2 {
    let middle = harness
        .state()
        .canvas_wire_midpoints()
        .into_iter()
        .find(|(a, b, _)| (*a, *b) == (from, to))
        .map(|(_, _, middle)| middle)
        .expect("the wire is drawn");
    let nodes = harness.state().canvas_node_rects();
    assert!(
        !nodes.iter().any(|(_, rect)| rect.contains(middle)),
        "the middle of wire {from} → {to} lies under a node"
    );
    middle
}

#[test]
fn hovering_the_app_server_to_redis_wire_shows_its_read_calls_and_edits_nothing() {
    use egui_kittest::kittest::Queryable;
    use staircase::app::format;
    let mut harness = harness_of("stage-3-cache", (1280.0, 800.0));
    let before = harness.state().topology.clone();
    let selection = harness.state().selection.clone();
    let report = harness.state().report().expect("solved").clone();
    let (app, redis) = (2, 3);
    let read = report
        .classes
        .iter()
        .position(|c| c.name == "users/read")
        .expect("a read class");
    let rates = reported_class_rps(&report, app, redis);
    // 90% of the peak are reads, and each read calls Redis 4 times: 875 calls/s.
    let expected = STAGE_3_PEAK_RPS * 0.9 * 4.0;
    assert!((expected - 875.0).abs() < 1e-9);
    assert!((rates[read] - expected).abs() < 1e-6, "{rates:?}");
    // Writes go to Postgres directly: none along this wire.
    assert!(rates
        .iter()
        .enumerate()
        .all(|(k, r)| k == read || *r == 0.0));

    harness.event(egui::Event::PointerMoved(wire_middle(&harness, app, redis)));
    harness.run_steps(3);
    harness.get_by_label("App server to Redis");
    harness.get_by_label(&format!("carries {} in all", format::rate(expected)));
    harness.get_by_label(&format!("■ users/read: {}", format::rate(rates[read])));
    // The wire's rows are "■ class: rate"; the latency chart's key ("■ users/write", once
    // the sweep is done) is not one of them.
    assert!(harness.query_by_label_contains("■ users/write:").is_none());
    harness.get_by_label(&format!(
        "call, 4 calls per request ({} × 4): {} of read",
        format::rate(STAGE_3_PEAK_RPS * 0.9),
        format::rate(expected)
    ));
    // Looking edits nothing.
    assert_eq!(harness.state().topology, before);
    assert!(!harness.state().is_dirty());
    assert_eq!(harness.state().selection, selection);
}

#[test]
fn the_selected_wire_inspector_shows_the_same_figures_and_edits_nothing() {
    use egui_kittest::kittest::Queryable;
    use staircase::app::format;
    let mut harness = harness_of("stage-3-cache", ROOMY);
    let before = harness.state().topology.clone();
    let report = harness.state().report().expect("solved").clone();
    // Redis → Postgres carries Redis's misses: 10% of the 875 read calls/s.
    let misses = reported_class_rps(&report, 3, 4);
    let expected = STAGE_3_PEAK_RPS * 0.9 * 4.0 * 0.1;
    assert!((misses[0] - expected).abs() < 1e-6, "{misses:?}");
    let middle = wire_middle(&harness, 3, 4);
    harness.event(egui::Event::PointerMoved(middle));
    harness.step();
    for pressed in [true, false] {
        harness.event(egui::Event::PointerButton {
            pos: middle,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        harness.step();
    }
    // The pointer leaves the wire: only the inspector shows its figures now.
    harness.event(egui::Event::PointerMoved(empty_spot(&harness)));
    harness.run_steps(3);
    assert_eq!(harness.state().selection.wire, Some((3, 4)));
    harness.get_by_label("Wire from Redis to Postgres");
    harness.get_by_label(&format!("carries {} in all", format::rate(expected)));
    harness.get_by_label(&format!("■ users/read: {}", format::rate(misses[0])));
    assert_eq!(harness.state().topology, before);
    assert!(!harness.state().is_dirty());
}

#[test]
fn wire_widths_order_like_the_traffic_the_report_gives_each_wire() {
    let harness = harness_of("stage-3-cache", (1280.0, 800.0));
    let report = harness.state().report().expect("solved").clone();
    let mut wires: Vec<(f64, f32, (u32, u32))> = harness
        .state()
        .canvas_wire_widths()
        .into_iter()
        .map(|(from, to, width)| {
            let rps: f64 = reported_class_rps(&report, from, to).iter().sum();
            (rps, width, (from, to))
        })
        .collect();
    assert_eq!(wires.len(), 4, "{wires:?}");
    wires.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Stage 3: writes to Postgres (24.3/s), Redis's misses (87.5/s), users (243/s), read
    // calls to Redis (875/s). The two wires into Postgres differ (each has its own rate).
    let rates: Vec<f64> = wires.iter().map(|w| w.0).collect();
    let peak = STAGE_3_PEAK_RPS;
    let expected = [peak * 0.1, peak * 0.9 * 4.0 * 0.1, peak, peak * 0.9 * 4.0];
    for (got, want) in rates.iter().zip(expected) {
        assert!((got - want).abs() < 1e-6, "{rates:?}");
    }
    for pair in wires.windows(2) {
        assert!(
            pair[0].1 < pair[1].1,
            "{:?} at {} req/s is not narrower than {:?} at {} req/s: {wires:?}",
            pair[0].2,
            pair[0].0,
            pair[1].2,
            pair[1].0
        );
    }
    assert!(
        wires.iter().all(|w| (1.5..=9.0).contains(&w.1)),
        "{wires:?}"
    );
}
