//! Rendered images of the app, one per theme (egui_kittest with wgpu; on Linux the Vulkan
//! software driver lavapipe, package `mesa-vulkan-drivers`). The images live in
//! `tests/snapshots/`; after an intended change of the look, regenerate them with
//! `UPDATE_SNAPSHOTS=1 cargo test --test ui_snapshots` and look at them before committing.

use egui_kittest::{Harness, SnapshotOptions};
use staircase::app::{Command, StaircaseApp};
use staircase::io::presets;
use std::time::Duration;

#[path = "support/picker.rs"]
mod picker;

fn rendered(preset: &str, theme: egui::Theme) -> Harness<'static, StaircaseApp> {
    let topology = presets::find(preset)
        .expect("preset exists")
        .load()
        .expect("preset loads");
    let app = StaircaseApp::new(topology, Box::new(picker::FakePicker::default()));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut StaircaseApp| app.frame(ui), app);
    harness.ctx.set_theme(theme);
    harness.run_steps(4);
    // Background work first (the plots' sweeps change the panels' sizes), then the fit.
    harness.state_mut().settle(Duration::from_secs(120));
    harness.run_steps(4);
    let ctx = harness.ctx.clone();
    harness.state_mut().run(Command::FitView, &ctx);
    harness.run_steps(6);
    harness
}

/// The status bar shows the time the last frame took, which differs from run to run (up to
/// about 300 pixels of digits). Nothing else may change: node frames used to swap places
/// where two touch (about 1,200 pixels, one run in four or five) because egui-snarl 0.12
/// appends new nodes to its draw order in random hash order; the canvas now paints nodes in
/// document order (canvas/order.rs). A change of theme or layout changes tens of thousands of
/// pixels.
fn options() -> SnapshotOptions {
    SnapshotOptions::new().max_failed_pixels(1_000)
}

/// The theme's colours are process-wide, so the two tests, each in its own theme, take turns
/// (on parallel test threads they would paint with each other's palette).
static ONE_THEME_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn stage_3_in_the_light_theme() {
    let _turn = ONE_THEME_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mut harness = rendered("stage-3-cache", egui::Theme::Light);
    harness.snapshot_options("stage-3-light", &options());
}

#[test]
fn stage_8_with_its_regions_in_the_dark_theme() {
    let _turn = ONE_THEME_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mut harness = rendered("stage-8-multi-region", egui::Theme::Dark);
    harness.snapshot_options("stage-8-dark", &options());
}
