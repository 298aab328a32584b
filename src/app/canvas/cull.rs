//! Which nodes snarl lays out in a frame: the ones on screen, with a margin. Snarl builds a
//! dozen widgets for every node it holds, visible or not, which made a 500-node graph cost
//! 20 ms a frame while 66 of its nodes were on screen. The canvas therefore gives snarl only
//! the nodes in view and keeps every node's place, rectangle and pins from when it was last
//! drawn ([`Placed`]), so wires, regions, Fit all, the minimap and hit tests still cover the
//! nodes snarl does not hold this frame.

use super::cards;
use crate::model::NodeId;
use egui::emath::TSTransform;
use egui::{Pos2, Rect, Vec2};
use std::collections::{BTreeMap, BTreeSet};

/// Screen margin around the canvas inside which nodes are laid out too (a pan of up to this
/// much in one frame shows no node late).
pub const MARGIN: f32 = 64.0;

/// Size assumed for a node not drawn yet, graph units: a card with its header, bar and three
/// lines of figures inside snarl's frame.
pub const ESTIMATED_SIZE: Vec2 = Vec2::new(cards::CARD_WIDTH + 16.0, 120.0);

/// Where a node is and how it looked when last drawn, in graph units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placed {
    /// Its position (snarl's node origin).
    pub pos: Pos2,
    drawn: Option<Drawn>,
}

/// A node's rectangle and pin centres as snarl last drew them.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Drawn {
    rect: Rect,
    input: Option<Pos2>,
    output: Option<Pos2>,
}

impl Placed {
    /// A node at `pos` that has not been drawn yet.
    pub fn new(pos: Pos2) -> Self {
        Self { pos, drawn: None }
    }

    /// Moves the node, and what was drawn of it with it.
    pub fn move_to(&mut self, pos: Pos2) {
        let delta = pos - self.pos;
        if let Some(drawn) = &mut self.drawn {
            drawn.rect = drawn.rect.translate(delta);
            drawn.input = drawn.input.map(|p| p + delta);
            drawn.output = drawn.output.map(|p| p + delta);
        }
        self.pos = pos;
    }

    /// Records how snarl drew the node at `pos` this frame.
    pub fn record(&mut self, pos: Pos2, rect: Rect, input: Option<Pos2>, output: Option<Pos2>) {
        self.pos = pos;
        self.drawn = Some(Drawn {
            rect,
            input,
            output,
        });
    }

    /// Whether snarl has drawn the node (its size and pins are known, not estimated).
    pub fn is_drawn(&self) -> bool {
        self.drawn.is_some()
    }

    /// The node's rectangle: as drawn, or of [`ESTIMATED_SIZE`] at its position.
    pub fn rect(&self) -> Rect {
        self.drawn.map_or_else(
            || Rect::from_min_size(self.pos, ESTIMATED_SIZE),
            |drawn| drawn.rect,
        )
    }

    /// The centre of the output pin (`output`) or the input pin: as drawn, or on the node's
    /// edge below its header.
    pub fn pin(&self, output: bool) -> Pos2 {
        let drawn = self
            .drawn
            .and_then(|d| if output { d.output } else { d.input });
        drawn.unwrap_or_else(|| {
            let rect = self.rect();
            let y = rect.min.y + cards::HEADER_HEIGHT + 24.0;
            Pos2::new(if output { rect.max.x } else { rect.min.x }, y)
        })
    }
}

/// The nodes whose rectangle meets the canvas `viewport` (screen) widened by [`MARGIN`],
/// seen through `view` (graph → screen).
pub fn in_view(
    placed: &BTreeMap<NodeId, Placed>,
    view: TSTransform,
    viewport: Rect,
) -> BTreeSet<NodeId> {
    let seen = view.inverse() * viewport.expand(MARGIN);
    placed
        .iter()
        .filter(|(_, node)| node.rect().intersects(seen))
        .map(|(id, _)| *id)
        .collect()
}

/// Whether a wire from `start` to `end` (graph units) can show inside `seen` (graph units):
/// its curve stays within `frame` of the box of its ends.
pub fn wire_in_view(start: Pos2, end: Pos2, frame: f32, seen: Rect) -> bool {
    Rect::from_two_pos(start, end)
        .expand(frame)
        .intersects(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_nodes_near_the_view_are_laid_out() {
        let mut placed = BTreeMap::new();
        for i in 0..10u32 {
            placed.insert(i, Placed::new(Pos2::new(300.0 * i as f32, 0.0)));
        }
        // At 100% a 1000-point canvas from the origin shows the nodes starting before 1064.
        let viewport = Rect::from_min_size(Pos2::ZERO, Vec2::new(1000.0, 600.0));
        let shown = in_view(&placed, TSTransform::IDENTITY, viewport);
        assert_eq!(shown, (0..4u32).collect());
        // At 50% twice as much.
        let half = TSTransform::from_scaling(0.5);
        assert_eq!(in_view(&placed, half, viewport).len(), 8);
    }

    #[test]
    fn a_moved_node_keeps_its_drawn_shape() {
        let mut node = Placed::new(Pos2::new(10.0, 10.0));
        assert_eq!(node.rect().size(), ESTIMATED_SIZE);
        let rect = Rect::from_min_size(Pos2::new(10.0, 10.0), Vec2::new(190.0, 140.0));
        node.record(
            Pos2::new(10.0, 10.0),
            rect,
            Some(Pos2::new(10.0, 50.0)),
            Some(Pos2::new(200.0, 50.0)),
        );
        node.move_to(Pos2::new(110.0, 60.0));
        assert_eq!(node.rect(), rect.translate(Vec2::new(100.0, 50.0)));
        assert_eq!(node.pin(false), Pos2::new(110.0, 100.0));
        assert_eq!(node.pin(true), Pos2::new(300.0, 100.0));
    }

    #[test]
    fn wires_are_kept_while_their_curve_can_reach_the_view() {
        let seen = Rect::from_min_size(Pos2::ZERO, Vec2::new(100.0, 100.0));
        assert!(wire_in_view(
            Pos2::new(-50.0, 50.0),
            Pos2::new(200.0, 50.0),
            40.0,
            seen
        ));
        assert!(wire_in_view(
            Pos2::new(130.0, 0.0),
            Pos2::new(300.0, 0.0),
            40.0,
            seen
        ));
        assert!(!wire_in_view(
            Pos2::new(150.0, 0.0),
            Pos2::new(300.0, 0.0),
            40.0,
            seen
        ));
    }
}
