//! The order in which nodes are painted: document order, the selection on top, the same in
//! every run. egui-snarl 0.12 appends nodes new to its draw order in the iteration order of
//! an ahash `HashSet` (seeded at random per process), so where two node frames touch, which
//! one was on top changed from run to run. Snarl paints each node as one run of shapes in its
//! layer; the canvas records where each run starts and ends and puts the runs in order.

use crate::model::NodeId;
use egui::layers::ShapeIdx;
use egui::{Context, LayerId};

/// The shapes snarl painted for one node: `[start, end)` in its layer's shape list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub node: NodeId,
    pub start: usize,
    pub end: usize,
}

/// The number of shapes in `layer` so far (where the next one goes).
pub fn next_shape(ctx: &Context, layer: LayerId) -> usize {
    ctx.graphics(|g| g.get(layer).map_or(0, |list| list.next_idx().0))
}

/// The spans in the order they should be painted (by `key`), or `None` when they already
/// are, or when they do not follow each other without gaps (then nothing is moved).
pub fn reordered<K: Ord>(spans: &[Span], key: impl Fn(NodeId) -> K) -> Option<Vec<Span>> {
    let contiguous = spans.windows(2).all(|pair| pair[0].end == pair[1].start);
    let mut sorted = spans.to_vec();
    sorted.sort_by_key(|span| key(span.node));
    (contiguous && sorted != spans).then_some(sorted)
}

/// Paints the node spans of `layer` in the order `key` gives.
pub fn paint_in_order<K: Ord>(
    ctx: &Context,
    layer: LayerId,
    spans: &[Span],
    key: impl Fn(NodeId) -> K,
) {
    let (Some(first), Some(sorted)) = (spans.first(), reordered(spans, key)) else {
        return;
    };
    let base = first.start;
    ctx.graphics_mut(|g| {
        let list = g.entry(layer);
        let shapes: Vec<egui::epaint::ClippedShape> = list
            .all_entries()
            .skip(base)
            .take(spans.last().map_or(0, |last| last.end) - base)
            .cloned()
            .collect();
        let mut at = base;
        for span in sorted {
            for shape in &shapes[span.start - base..span.end - base] {
                list.mutate_shape(ShapeIdx(at), |slot| *slot = shape.clone());
                at += 1;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_put_in_key_order_only_when_they_join_up() {
        let span = |node, start, end| Span { node, start, end };
        let spans = [span(7, 10, 14), span(3, 14, 15), span(5, 15, 20)];
        let sorted = reordered(&spans, |id| id).expect("out of order");
        assert_eq!(
            sorted.iter().map(|s| s.node).collect::<Vec<_>>(),
            vec![3, 5, 7]
        );
        // Already in order: nothing to do.
        assert_eq!(reordered(&sorted, |id| id), None);
        // Something else painted between two nodes: left alone.
        let gap = [span(7, 10, 14), span(3, 15, 16)];
        assert_eq!(reordered(&gap, |id| id), None);
        // The selection last.
        let on_top = reordered(&spans, |id| (id == 3, id)).expect("reordered");
        assert_eq!(on_top.last().map(|s| s.node), Some(3));
    }
}
