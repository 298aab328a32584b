//! Frame time of the app on a 500-node topology while a node is dragged (CPU side: layout,
//! canvas, panels, and the solve when the model changes). Goal: well under 16.7 ms (60 fps).
//! Rendering is the GPU's part and is not included; kittest drives the UI headless.

use criterion::{criterion_group, criterion_main, Criterion};
use egui_kittest::Harness;
use staircase::app::{FilePicker, Picked, StaircaseApp};
use staircase::generate::layered;
use std::time::Duration;

struct NoDialogs;

impl FilePicker for NoDialogs {
    fn open_file(&mut self) -> Picked {
        Picked::Cancelled
    }
    fn save_file(&mut self, _suggested_name: &str) -> Picked {
        Picked::Cancelled
    }
}

fn harness(nodes: usize) -> Harness<'static, StaircaseApp> {
    let app = StaircaseApp::new(layered(nodes, 3), Box::new(NoDialogs));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut StaircaseApp| app.frame(ui), app);
    harness.run_steps(5);
    harness
}

fn frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    let mut dragging = harness(500);
    let mut step = 0.0f32;
    group.bench_function("drag_node_500", |b| {
        b.iter(|| {
            // Move one node a little, as a drag does every frame.
            step += 1.0;
            let app = dragging.state_mut();
            let id = app.topology.nodes[10].id;
            app.topology.layout.insert(
                id,
                staircase::model::Position {
                    x: 300.0 + step % 200.0,
                    y: 200.0,
                },
            );
            dragging.step();
        })
    });
    let mut editing = harness(500);
    let mut instances = 1u32;
    group.bench_function("edit_parameter_500", |b| {
        b.iter(|| {
            // Change a parameter every frame, as a slider drag does: the model is re-solved.
            instances = instances % 16 + 1;
            editing.state_mut().topology.nodes[10].instances = instances;
            editing.step();
        })
    });
    group.finish();
}

criterion_group!(benches, frames);
criterion_main!(benches);
