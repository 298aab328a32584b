//! Simulate → Check with simulation in the app: runs in the background, then shows the
//! comparison of the model with the simulation.

use egui_kittest::kittest::Queryable;
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

#[test]
fn check_with_simulation_shows_the_comparison() {
    let picker = FakePicker::default();
    let topology = presets::default_topology().expect("default preset loads");
    let app = StaircaseApp::new(topology, Box::new(picker));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut StaircaseApp| app.frame(ui), app);
    harness.run_steps(3);
    click_menu(&mut harness, "Simulate", "Check with simulation");
    harness.run_steps(1);
    assert!(harness.state().simulation.open);
    assert!(harness
        .state_mut()
        .simulation
        .wait(Duration::from_secs(300)));
    harness.run_steps(2);
    harness.get_by_label_contains("figures differ beyond both the tolerance");
    harness.get_by_label("Only differing figures");
    let Some(Ok(checked)) = &harness.state().simulation.result else {
        panic!("the check ran");
    };
    // Every node that carries traffic and every class has rows, with the model's own figure.
    let report = harness.state().report().expect("solved").clone();
    for class in &report.classes {
        let row = checked
            .comparison
            .rows
            .iter()
            .find(|r| r.subject == class.name && r.figure == "mean ms")
            .expect("a class row");
        assert_eq!(row.model, class.latency_ms.mean);
        // The simulated mean is a real measurement near the model's.
        assert!((row.simulated.mean / row.model - 1.0).abs() < 0.5);
    }
}
