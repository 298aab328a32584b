//! What a node shows on the canvas, painted in screen space so that text is rasterized at its
//! on-screen size (crisp from 25% to 400%), with semantic zoom: full figures close up, name and
//! utilization bar further out, a coloured tile with the name furthest out.
//!
//! Snarl lays nodes out in graph units in a transformed layer; glyphs drawn there are
//! rasterized once and then scaled, which breaks them up below 100% and blurs them above. The
//! node widgets therefore only reserve space (and carry the text for screen readers and tests);
//! the text itself is painted here, at `size × zoom`, in a layer without the transform.

use super::super::theme;
use crate::model::NodeId;
use egui::text::{LayoutJob, TextWrapping};
use egui::{Color32, FontId, Painter, Pos2, Rect, Stroke, StrokeKind};

/// Font size of a node name at 100% zoom, in points.
pub const NAME_SIZE: f32 = 14.0;
/// Font size of the figures in a node body at 100% zoom.
pub const BODY_SIZE: f32 = 13.0;
/// No text on the canvas is painted smaller than this on screen.
pub const MIN_TEXT_PX: f32 = 11.0;
/// Zoom from which a node shows all its figures (body text of at least 10 px).
pub const DETAIL_ZOOM: f32 = 10.0 / BODY_SIZE;
/// Zoom below which a node is a coloured tile with its name.
pub const TILE_ZOOM: f32 = 0.4;
/// Width of a node's content in graph units.
pub const CARD_WIDTH: f32 = 170.0;
/// Height of one line of figures in graph units.
pub const LINE_HEIGHT: f32 = 17.0;
/// Height of one row of the header (glyph and name) in graph units; a long name gets two.
pub const HEADER_HEIGHT: f32 = 20.0;
/// Width of the glyph square and the gap after it, graph units at 100%.
pub const GLYPH_ROOM: f32 = HEADER_HEIGHT + 4.0;

/// One line of figures in a node body, in graph units.
#[derive(Clone, Debug)]
pub struct Line {
    pub rect: Rect,
    pub text: String,
    pub color: Color32,
}

/// The utilization bar of a node body, in graph units.
#[derive(Clone, Debug)]
pub struct Bar {
    pub rect: Rect,
    /// Busy fraction drawn (0..=1).
    pub fraction: f32,
    pub color: Color32,
    pub text: String,
}

/// Everything a node shows, recorded while snarl lays it out.
#[derive(Clone, Debug)]
pub struct Card {
    pub id: NodeId,
    pub name: String,
    pub glyph: &'static str,
    pub kind_color: Color32,
    pub status_color: Color32,
    /// An outline that makes the node stand out at every zoom (bottleneck, overloaded).
    pub alarm: Option<Color32>,
    /// The badge of a check with simulation that found a figure differing here.
    pub simulation: Option<String>,
    /// The header row (glyph and name), graph units.
    pub header: Rect,
    pub lines: Vec<Line>,
    pub bar: Option<Bar>,
    /// The whole node as snarl drew it (set once the node is finished), graph units.
    pub node: Option<Rect>,
}

/// How much a node shows at a zoom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Name, kind, utilization bar and every figure.
    Full,
    /// Name and utilization bar.
    Compact,
    /// A tile in the node's status colour with its name.
    Tile,
}

impl Detail {
    /// The level of detail at zoom `scaling`.
    pub fn at(scaling: f32) -> Detail {
        if scaling >= DETAIL_ZOOM {
            Detail::Full
        } else if scaling >= TILE_ZOOM {
            Detail::Compact
        } else {
            Detail::Tile
        }
    }
}

/// A node name as painted: where on screen and at which font size (pixels per point = 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NameShown {
    pub id: NodeId,
    pub rect: Rect,
    pub font_px: f32,
}

/// Font sizes are rounded to half points so that the glyph atlas holds a few sizes only.
fn quantized(size: f32) -> f32 {
    (size * 2.0).round() / 2.0
}

/// Lays out `text` on one line at `size`, ending in "…" where it is wider than `max_width`.
fn one_line(
    painter: &Painter,
    text: &str,
    size: f32,
    color: Color32,
    max_width: f32,
) -> std::sync::Arc<egui::Galley> {
    rows(painter, text, size, color, max_width, 1)
}

/// Lays out `text` at `size` wrapped at words into at most `max_rows` rows of `max_width`.
fn rows(
    painter: &Painter,
    text: &str,
    size: f32,
    color: Color32,
    max_width: f32,
    max_rows: usize,
) -> std::sync::Arc<egui::Galley> {
    let mut job = LayoutJob::simple(text.to_owned(), FontId::proportional(size), color, 0.0);
    job.wrap = TextWrapping {
        max_width: max_width.max(size),
        max_rows,
        break_anywhere: false,
        overflow_character: Some('…'),
    };
    painter.layout_job(job)
}

/// Paints `cards` on `painter` (a layer without transform) through `view` (graph → screen) and
/// returns where each name went.
pub fn paint(
    painter: &Painter,
    cards: &[Card],
    view: egui::emath::TSTransform,
    visuals: &egui::Visuals,
) -> Vec<NameShown> {
    let detail = Detail::at(view.scaling);
    let clip = painter.clip_rect();
    let mut names = Vec::with_capacity(cards.len());
    for card in cards {
        let Some(node) = card.node.map(|r| view * r) else {
            continue;
        };
        if !node.intersects(clip.expand(200.0)) {
            continue;
        }
        let name = match detail {
            Detail::Full | Detail::Compact => paint_card(painter, card, node, view, detail),
            Detail::Tile => paint_tile(painter, card, node, visuals),
        };
        names.push(name);
        if let Some(alarm) = card.alarm {
            painter.rect_stroke(
                node.expand(2.0),
                4.0,
                Stroke::new(3.0, alarm),
                StrokeKind::Outside,
            );
        }
        if let Some(badge) = &card.simulation {
            paint_simulation_mark(painter, badge, node, view.scaling);
        }
    }
    names
}

/// A ring outside any alarm outline and a badge on the top-right corner: the model's figures
/// here differ from the simulation's (the tooltip on the node tells which and by how much).
fn paint_simulation_mark(painter: &Painter, badge: &str, node: Rect, scaling: f32) {
    painter.rect_stroke(
        node.expand(6.0),
        6.0,
        Stroke::new(2.0, theme::SIMULATION_DIFFERS),
        StrokeKind::Outside,
    );
    let px = quantized((BODY_SIZE * 0.85 * scaling).max(MIN_TEXT_PX));
    let galley = one_line(
        painter,
        badge,
        px,
        theme::GLYPH_TEXT,
        node.width().max(120.0),
    );
    let size = galley.size() + egui::vec2(8.0, 2.0);
    let pill = Rect::from_min_size(
        egui::pos2(node.max.x + 6.0 - size.x, node.min.y - 6.0 - size.y / 2.0),
        size,
    );
    painter.rect_filled(pill, size.y / 2.0, theme::SIMULATION_DIFFERS);
    painter.galley(pill.min + egui::vec2(4.0, 1.0), galley, theme::GLYPH_TEXT);
}

/// A node at full or compact detail: header with glyph and name, then bar and figures.
fn paint_card(
    painter: &Painter,
    card: &Card,
    node: Rect,
    view: egui::emath::TSTransform,
    detail: Detail,
) -> NameShown {
    let scaling = view.scaling;
    let header = view * card.header;
    let name_px = quantized((NAME_SIZE * scaling).max(MIN_TEXT_PX));
    // The glyph on a square of the kind's colour, then the name.
    let glyph_side = (HEADER_HEIGHT * scaling).max(name_px + 2.0);
    let glyph_rect = Rect::from_min_size(
        egui::pos2(header.min.x, header.center().y - glyph_side / 2.0),
        egui::vec2(glyph_side, glyph_side),
    );
    painter.rect_filled(glyph_rect, 3.0, card.kind_color);
    painter.text(
        glyph_rect.center(),
        egui::Align2::CENTER_CENTER,
        card.glyph,
        FontId::proportional(quantized(glyph_side * 0.7)),
        theme::GLYPH_TEXT,
    );
    let left = glyph_rect.max.x + 4.0;
    let room = (node.max.x - 4.0 - left).max(name_px * 3.0);
    let galley = rows(painter, &card.name, name_px, card.status_color, room, 2);
    let at = Pos2::new(
        left,
        header.min.y.min(header.center().y - galley.size().y / 2.0),
    );
    let at = Pos2::new(at.x, at.y.max(node.min.y + 2.0));
    let rect = Rect::from_min_size(at, galley.size());
    painter.galley(at, galley, card.status_color);
    let body_px = quantized(BODY_SIZE * scaling);
    if let Some(bar) = &card.bar {
        if detail == Detail::Full {
            paint_bar(painter, bar, view * bar.rect, Some(body_px));
        } else {
            // Compact: the name may take the body's room; the bar sits at the bottom.
            let rect = Rect::from_min_max(
                egui::pos2(node.min.x + 4.0, node.max.y - 9.0),
                egui::pos2(node.max.x - 4.0, node.max.y - 3.0),
            );
            paint_bar(painter, bar, rect, None);
        }
    }
    if detail == Detail::Full {
        for line in &card.lines {
            let rect = view * line.rect;
            let galley = one_line(painter, &line.text, body_px, line.color, rect.width());
            painter.galley(
                rect.left_center() - egui::vec2(0.0, galley.size().y / 2.0),
                galley,
                line.color,
            );
        }
    }
    NameShown {
        id: card.id,
        rect,
        font_px: name_px,
    }
}

/// The utilization bar, with its figure when `text_px` is given.
fn paint_bar(painter: &Painter, bar: &Bar, rect: Rect, text_px: Option<f32>) {
    painter.rect_filled(rect, 2.0, theme::bar_track());
    let mut filled = rect;
    filled.max.x = rect.min.x + rect.width() * bar.fraction.clamp(0.0, 1.0);
    painter.rect_filled(filled, 2.0, bar.color);
    if let Some(px) = text_px {
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            &bar.text,
            FontId::proportional(px),
            theme::bar_text(),
        );
    }
}

/// A node far out: a tile in its status colour with its name at a legible size on top.
fn paint_tile(painter: &Painter, card: &Card, node: Rect, visuals: &egui::Visuals) -> NameShown {
    painter.rect_filled(node, 3.0, card.status_color.gamma_multiply(0.55));
    let strip = Rect::from_min_max(node.min, egui::pos2(node.min.x + 5.0, node.max.y));
    painter.rect_filled(strip, 2.0, card.kind_color);
    if let Some(bar) = &card.bar {
        let rect = Rect::from_min_max(
            egui::pos2(node.min.x + 7.0, node.max.y - 6.0),
            egui::pos2(node.max.x - 2.0, node.max.y - 2.0),
        );
        paint_bar(painter, bar, rect, None);
    }
    // The name may be wider than the tile: it is centred on it over a backing plate.
    let room = node.width().max(110.0);
    let text_color = visuals.strong_text_color();
    let galley = rows(painter, &card.name, MIN_TEXT_PX, text_color, room, 2);
    // Centred on the tile, moved inward where it would stick out of the canvas.
    let clip = painter.clip_rect();
    let mut at = node.center() - galley.size() / 2.0;
    at.x =
        at.x.min(clip.max.x - galley.size().x - 2.0)
            .max(clip.min.x + 2.0);
    let rect = Rect::from_min_size(at, galley.size());
    painter.rect_filled(
        rect.expand(1.5),
        2.0,
        visuals.extreme_bg_color.gamma_multiply(0.85),
    );
    painter.galley(at, galley, text_color);
    NameShown {
        id: card.id,
        rect,
        font_px: MIN_TEXT_PX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_falls_with_zoom_and_body_text_stays_legible() {
        assert_eq!(Detail::at(1.0), Detail::Full);
        assert_eq!(Detail::at(4.0), Detail::Full);
        assert_eq!(Detail::at(0.6), Detail::Compact);
        assert_eq!(Detail::at(0.25), Detail::Tile);
        // Figures are painted only where they are at least 10 px high.
        const { assert!(BODY_SIZE * DETAIL_ZOOM >= 10.0 - 1e-4) };
        assert_eq!(quantized(11.26), 11.5);
    }
}
