//! Colours of the app, in one place: utilization bands, node kinds, plots.

use crate::solver::report::Status;
use egui::Color32;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the dark palette is in use (set once a frame from egui's visuals).
static DARK: AtomicBool = AtomicBool::new(true);

/// Chooses the palette for the frame: dark or light, as egui's visuals are.
pub fn set_dark(dark: bool) {
    DARK.store(dark, Ordering::Relaxed);
}

/// Whether the dark palette is in use.
pub fn is_dark() -> bool {
    DARK.load(Ordering::Relaxed)
}

/// `dark` in the dark theme, `light` in the light one.
const fn pick(dark: Color32, light: Color32, is_dark: bool) -> Color32 {
    if is_dark {
        dark
    } else {
        light
    }
}

/// Utilization below this is green.
pub const WARM_UTILIZATION: f64 = 0.7;

pub const HEALTHY: Color32 = Color32::from_rgb(64, 170, 90);
pub const WARM: Color32 = Color32::from_rgb(230, 160, 40);
pub const SATURATED: Color32 = Color32::from_rgb(220, 60, 50);
pub const IDLE: Color32 = Color32::from_rgb(120, 120, 130);
pub const BOTTLENECK: Color32 = Color32::from_rgb(255, 80, 200);
pub const P50_LINE: Color32 = Color32::from_rgb(90, 160, 255);
pub const P99_LINE: Color32 = Color32::from_rgb(255, 120, 80);
pub const KNEE_LINE: Color32 = Color32::from_rgb(220, 60, 50);
pub const COST_BAR: Color32 = Color32::from_rgb(120, 190, 140);
/// A figure the model gets differently from the simulation (Check with simulation): the
/// ring and badge on the node, the verdict in the comparison table.
pub const SIMULATION_DIFFERS: Color32 = Color32::from_rgb(150, 100, 255);

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

/// Glyph on a node's kind square.
pub const GLYPH_TEXT: Color32 = Color32::from_rgb(250, 250, 252);
/// The colour of a node kind (its glyph square and tile strip): related kinds share a hue
/// family (edge in blue, compute in violet, data in teal and green, async in orange).
pub fn kind_color(kind: &crate::model::NodeKind) -> Color32 {
    use crate::model::NodeKind as K;
    match kind {
        K::Client => Color32::from_rgb(110, 120, 140),
        K::Dns { .. } => Color32::from_rgb(70, 110, 190),
        K::Cdn { .. } => Color32::from_rgb(50, 140, 200),
        K::LoadBalancer { .. } => Color32::from_rgb(90, 100, 210),
        K::AppServer => Color32::from_rgb(140, 90, 200),
        K::Cache { .. } => Color32::from_rgb(200, 70, 90),
        K::Database { .. } => Color32::from_rgb(30, 140, 120),
        K::ReadReplica => Color32::from_rgb(60, 160, 140),
        K::ShardGroup { .. } => Color32::from_rgb(40, 120, 100),
        K::ConnectionPooler { .. } => Color32::from_rgb(100, 140, 60),
        K::Queue => Color32::from_rgb(210, 120, 40),
        K::Workers => Color32::from_rgb(180, 110, 60),
        K::ObjectStorage => Color32::from_rgb(120, 110, 80),
        K::ExternalService => Color32::from_rgb(130, 130, 130),
        K::Service => Color32::from_rgb(120, 100, 170),
    }
}

/// The plot colour of class number `index` (the palette the exported charts use too,
/// `export::CLASS_RGB`).
pub fn class_color(index: usize) -> Color32 {
    let palette = crate::io::export::CLASS_RGB;
    let (r, g, b) = palette[index % palette.len()];
    Color32::from_rgb(r, g, b)
}

/// Muted text colour of the current theme.
pub fn muted_text() -> Color32 {
    pick(
        Color32::from_rgb(160, 160, 170),
        Color32::from_rgb(95, 95, 105),
        is_dark(),
    )
}

/// Error text colour of the current theme.
pub fn error_text() -> Color32 {
    pick(
        Color32::from_rgb(255, 110, 100),
        Color32::from_rgb(190, 30, 30),
        is_dark(),
    )
}

/// Body text colour of the current theme.
pub fn body_text() -> Color32 {
    pick(
        Color32::from_rgb(215, 215, 222),
        Color32::from_rgb(40, 40, 48),
        is_dark(),
    )
}

/// Region text colour of the current theme.
pub fn region_text() -> Color32 {
    pick(
        Color32::from_rgb(150, 180, 220),
        Color32::from_rgb(40, 80, 140),
        is_dark(),
    )
}

/// Selection colour of the current theme.
pub fn selection() -> Color32 {
    pick(
        Color32::from_rgb(80, 200, 255),
        Color32::from_rgb(0, 120, 215),
        is_dark(),
    )
}

/// Bar track colour of the current theme.
pub fn bar_track() -> Color32 {
    pick(
        Color32::from_rgb(70, 72, 80),
        Color32::from_rgb(200, 202, 210),
        is_dark(),
    )
}

/// Bar text colour of the current theme.
pub fn bar_text() -> Color32 {
    pick(
        Color32::from_rgb(245, 245, 248),
        Color32::from_rgb(20, 20, 28),
        is_dark(),
    )
}

/// Fill of a region frame (translucent) in the current theme.
pub fn region_fill() -> Color32 {
    pick(
        Color32::from_rgba_unmultiplied(70, 110, 170, 50),
        Color32::from_rgba_unmultiplied(70, 120, 200, 40),
        is_dark(),
    )
}

/// Backing plate of a round-trip label on a wire.
pub fn region_label_fill() -> Color32 {
    pick(
        Color32::from_rgba_unmultiplied(15, 20, 30, 210),
        Color32::from_rgba_unmultiplied(245, 247, 252, 230),
        is_dark(),
    )
}

/// Dots of the canvas grid.
pub fn grid_dot() -> Color32 {
    pick(
        Color32::from_rgb(78, 82, 94),
        Color32::from_rgb(200, 202, 210),
        is_dark(),
    )
}

/// Background of the minimap.
pub fn minimap_fill() -> Color32 {
    pick(
        Color32::from_rgba_unmultiplied(20, 22, 28, 230),
        Color32::from_rgba_unmultiplied(250, 250, 252, 235),
        is_dark(),
    )
}
