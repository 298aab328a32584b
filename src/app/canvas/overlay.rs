//! What the canvas draws besides nodes and wires: the dotted grid (and snapping to it) and the
//! minimap of large graphs.

use super::super::theme;
use egui::emath::TSTransform;
use egui::{Color32, Mesh, Pos2, Rect, Shape, Stroke, StrokeKind};

/// Distance between grid dots in graph units (snapping steps by the same amount).
pub const GRID_STEP: f32 = 20.0;
/// Dots closer than this on screen are thinned out (every fifth kept).
const MIN_DOT_SPACING_PX: f32 = 14.0;
/// Size of the minimap on screen, in points, and its margin from the canvas corner.
const MINIMAP_SIZE: egui::Vec2 = egui::vec2(180.0, 120.0);
const MINIMAP_MARGIN: f32 = 10.0;

/// What the user switched on in View for the canvas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanvasOptions {
    pub grid: bool,
    pub snap: bool,
    pub minimap: bool,
    /// Dots moving along the wires, faster where more traffic flows.
    pub flow: bool,
}

impl Default for CanvasOptions {
    fn default() -> Self {
        CanvasOptions {
            grid: true,
            snap: false,
            minimap: false,
            flow: false,
        }
    }
}

/// `value` moved to the nearest grid line.
pub fn snapped(value: f32) -> f32 {
    (value / GRID_STEP).round() * GRID_STEP
}

/// The grid dots over `viewport` (graph units) as one mesh, for a canvas layer at zoom
/// `scaling`: each dot is a square about 1.5 px wide on screen.
pub fn grid_mesh(viewport: Rect, scaling: f32) -> Shape {
    let mut step = GRID_STEP;
    while step * scaling < MIN_DOT_SPACING_PX {
        step *= 5.0;
    }
    let half = 0.75 / scaling;
    let color = theme::grid_dot();
    let mut mesh = Mesh::default();
    let first_x = (viewport.min.x / step).floor() as i64;
    let last_x = (viewport.max.x / step).ceil() as i64;
    let first_y = (viewport.min.y / step).floor() as i64;
    let last_y = (viewport.max.y / step).ceil() as i64;
    for i in first_x..=last_x {
        for j in first_y..=last_y {
            let centre = Pos2::new(i as f32 * step, j as f32 * step);
            mesh.add_colored_rect(
                Rect::from_center_size(centre, egui::vec2(2.0 * half, 2.0 * half)),
                color,
            );
        }
    }
    Shape::mesh(mesh)
}

/// Where the minimap goes in `canvas` (screen), bottom right.
pub fn minimap_rect(canvas: Rect) -> Rect {
    Rect::from_min_size(
        canvas.max - MINIMAP_SIZE - egui::vec2(MINIMAP_MARGIN, MINIMAP_MARGIN),
        MINIMAP_SIZE,
    )
}

/// The transform from graph units into the minimap for a graph spanning `bounds`.
fn minimap_transform(bounds: Rect, map: Rect) -> TSTransform {
    let bounds = bounds.expand(40.0);
    let scaling = (map.size() / bounds.size().max(egui::Vec2::splat(1.0))).min_elem();
    let translation = map.center().to_vec2() - bounds.center().to_vec2() * scaling;
    TSTransform::new(translation, scaling)
}

/// Paints the minimap: every node as a small box in its status colour and the part of the
/// graph the canvas shows as an outline.
pub fn paint_minimap(
    painter: &egui::Painter,
    canvas: Rect,
    nodes: &[(Rect, Color32)],
    view: TSTransform,
) {
    let map = minimap_rect(canvas);
    let bounds = nodes
        .iter()
        .fold(Rect::NOTHING, |all, (rect, _)| all.union(*rect));
    if !bounds.is_positive() {
        return;
    }
    let to_map = minimap_transform(bounds, map);
    painter.rect_filled(map, 4.0, theme::minimap_fill());
    for (rect, color) in nodes {
        painter.rect_filled(to_map * *rect, 1.0, *color);
    }
    let shown = to_map * (view.inverse() * canvas);
    painter.rect_stroke(
        shown.intersect(map),
        1.0,
        Stroke::new(1.5, theme::selection()),
        StrokeKind::Inside,
    );
    painter.rect_stroke(
        map,
        4.0,
        Stroke::new(1.0, theme::muted_text()),
        StrokeKind::Inside,
    );
}

/// The view that centres the canvas on the graph point under `click` in the minimap.
pub fn view_from_minimap(
    canvas: Rect,
    nodes: &[(Rect, Color32)],
    view: TSTransform,
    click: Pos2,
) -> Option<TSTransform> {
    let map = minimap_rect(canvas);
    let bounds = nodes
        .iter()
        .fold(Rect::NOTHING, |all, (rect, _)| all.union(*rect));
    if !map.contains(click) || !bounds.is_positive() {
        return None;
    }
    let target = minimap_transform(bounds, map).inverse() * click;
    Some(TSTransform::new(
        canvas.center().to_vec2() - target.to_vec2() * view.scaling,
        view.scaling,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapping_rounds_to_the_nearest_grid_line() {
        assert_eq!(snapped(29.0), 20.0);
        assert_eq!(snapped(31.0), 40.0);
        assert_eq!(snapped(-11.0), -20.0);
    }

    #[test]
    fn a_minimap_click_centres_the_view_on_that_point() {
        let canvas = Rect::from_min_size(Pos2::new(200.0, 30.0), egui::vec2(800.0, 500.0));
        let nodes = [
            (
                Rect::from_min_size(Pos2::new(0.0, 0.0), egui::vec2(100.0, 60.0)),
                Color32::RED,
            ),
            (
                Rect::from_min_size(Pos2::new(2000.0, 900.0), egui::vec2(100.0, 60.0)),
                Color32::RED,
            ),
        ];
        let view = TSTransform::new(egui::vec2(0.0, 0.0), 0.5);
        let map = minimap_rect(canvas);
        let bounds = nodes[0].0.union(nodes[1].0);
        let second = minimap_transform(bounds, map) * nodes[1].0.center();
        let moved = view_from_minimap(canvas, &nodes, view, second).expect("inside the minimap");
        let centre = moved * nodes[1].0.center();
        assert!((centre - canvas.center()).length() < 1e-3, "{centre:?}");
        assert_eq!(moved.scaling, 0.5);
        assert!(view_from_minimap(canvas, &nodes, view, canvas.min).is_none());
    }
}
