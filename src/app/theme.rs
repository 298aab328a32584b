//! Colours of the app, in one place: utilization bands, node kinds, plots.

use crate::report::Status;
use egui::Color32;

/// Utilization below this is green.
pub const WARM_UTILIZATION: f64 = 0.7;

pub const HEALTHY: Color32 = Color32::from_rgb(64, 170, 90);
pub const WARM: Color32 = Color32::from_rgb(230, 160, 40);
pub const SATURATED: Color32 = Color32::from_rgb(220, 60, 50);
pub const IDLE: Color32 = Color32::from_rgb(120, 120, 130);
pub const BOTTLENECK: Color32 = Color32::from_rgb(255, 80, 200);
pub const ERROR_TEXT: Color32 = Color32::from_rgb(255, 110, 100);
pub const MUTED_TEXT: Color32 = Color32::from_rgb(160, 160, 170);
pub const P50_LINE: Color32 = Color32::from_rgb(90, 160, 255);
pub const P99_LINE: Color32 = Color32::from_rgb(255, 120, 80);
pub const KNEE_LINE: Color32 = Color32::from_rgb(220, 60, 50);
pub const COST_BAR: Color32 = Color32::from_rgb(120, 190, 140);
/// Outline of selected nodes and the selected wire.
pub const SELECTION: Color32 = Color32::from_rgb(80, 200, 255);

/// Colour of a node or wire by its status.
pub fn status_color(status: Status) -> Color32 {
    match status {
        Status::Idle => IDLE,
        Status::Healthy => HEALTHY,
        Status::Warm => WARM,
        Status::Saturated | Status::Overloaded => SATURATED,
    }
}

/// Colour for a bare utilization figure.
pub fn utilization_color(utilization: f64) -> Color32 {
    if utilization >= 1.0 {
        SATURATED
    } else if utilization >= WARM_UTILIZATION {
        WARM
    } else {
        HEALTHY
    }
}
