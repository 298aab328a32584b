//! What the user has selected on the canvas (nodes, or one wire) and the clipboard fragment
//! that copy, paste and duplicate move between documents.

use crate::io::document;
use crate::model::{NodeId, Position, Topology};
use std::collections::{BTreeMap, BTreeSet};

/// Something a click can land on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    Node(NodeId),
    /// The wire (or parallel wires) from the first node to the second.
    Wire(NodeId, NodeId),
}

/// The selection: any number of nodes, or one wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub nodes: BTreeSet<NodeId>,
    pub wire: Option<(NodeId, NodeId)>,
}

impl Selection {
    /// Only `id` is selected.
    pub fn only(id: NodeId) -> Selection {
        Selection {
            nodes: BTreeSet::from([id]),
            wire: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.wire.is_none()
    }

    pub fn clear(&mut self) {
        self.nodes.clear();
        self.wire = None;
    }

    /// The single selected node, if exactly one is selected.
    pub fn single(&self) -> Option<NodeId> {
        match (self.nodes.len(), self.wire) {
            (1, None) => self.nodes.first().copied(),
            _ => None,
        }
    }

    /// Applies a click as every editor does: a plain click selects what it hit (or clears on
    /// empty canvas); with Shift or Ctrl it toggles a node in or out of the selection.
    pub fn click(&mut self, pick: Option<Pick>, toggle: bool) {
        match (pick, toggle) {
            (Some(Pick::Node(id)), false) => *self = Selection::only(id),
            (Some(Pick::Node(id)), true) => {
                self.wire = None;
                if !self.nodes.remove(&id) {
                    self.nodes.insert(id);
                }
            }
            (Some(Pick::Wire(from, to)), _) => {
                self.nodes.clear();
                self.wire = Some((from, to));
            }
            (None, false) => self.clear(),
            (None, true) => {}
        }
    }

    /// Adds nodes (a rubber band) to the selection.
    pub fn extend(&mut self, nodes: impl IntoIterator<Item = NodeId>) {
        self.wire = None;
        self.nodes.extend(nodes);
    }

    /// Forgets nodes and wires that no longer exist (after undo, delete, open).
    pub fn retain_existing(&mut self, topology: &Topology) {
        self.nodes.retain(|id| topology.node(*id).is_some());
        if let Some((from, to)) = self.wire {
            if !topology.edges.iter().any(|e| e.from == from && e.to == to) {
                self.wire = None;
            }
        }
    }
}

/// The first line of a clipboard fragment: tells our own text apart from anything else.
const FRAGMENT_NAME: &str = "Staircase clipboard";

/// Copies `nodes` of `topology` with the wires between them, the workloads of copied clients
/// and the regions they use, as the text of a topology file.
pub fn copy_fragment(topology: &Topology, nodes: &BTreeSet<NodeId>) -> Option<String> {
    if nodes.is_empty() {
        return None;
    }
    let mut fragment = Topology {
        name: FRAGMENT_NAME.to_string(),
        settings: topology.settings.clone(),
        ..Topology::default()
    };
    fragment.nodes = topology
        .nodes
        .iter()
        .filter(|n| nodes.contains(&n.id))
        .cloned()
        .collect();
    fragment.edges = topology
        .edges
        .iter()
        .filter(|e| nodes.contains(&e.from) && nodes.contains(&e.to))
        .cloned()
        .collect();
    fragment.workloads = topology
        .workloads
        .iter()
        .filter(|w| nodes.contains(&w.client))
        .cloned()
        .collect();
    let used: BTreeSet<&str> = fragment
        .nodes
        .iter()
        .map(|n| n.region.as_str())
        .chain(fragment.workloads.iter().map(|w| w.region.as_str()))
        .collect();
    fragment.regions = topology
        .regions
        .iter()
        .filter(|r| used.contains(r.name.as_str()))
        .cloned()
        .collect();
    fragment.layout = topology
        .layout
        .iter()
        .filter(|(id, _)| nodes.contains(id))
        .map(|(id, p)| (*id, *p))
        .collect();
    document::to_string(&fragment).ok()
}

/// Reads a clipboard text as a fragment; `None` when it is not one of ours (or is broken).
pub fn parse_fragment(text: &str) -> Option<Topology> {
    let fragment = document::parse(text, "clipboard").ok()?;
    (fragment.name == FRAGMENT_NAME && !fragment.nodes.is_empty()).then_some(fragment)
}

/// Distance between a pasted copy and its original, in canvas units.
pub const PASTE_OFFSET: f32 = 40.0;

/// Adds `fragment` to `topology` with fresh ids, its wires and workloads, its nodes moved by
/// `offset`; regions the document lacks are added. Returns the new node ids.
pub fn paste_fragment(
    topology: &mut Topology,
    fragment: &Topology,
    offset: Position,
) -> Vec<NodeId> {
    let ids: BTreeMap<NodeId, NodeId> = fragment
        .nodes
        .iter()
        .zip(topology.next_id()..)
        .map(|(node, id)| (node.id, id))
        .collect();
    for region in &fragment.regions {
        if !topology.regions.iter().any(|r| r.name == region.name) {
            topology.regions.push(region.clone());
        }
    }
    for node in &fragment.nodes {
        let mut copy = node.clone();
        copy.id = ids[&node.id];
        let position = fragment.layout.get(&node.id).copied().unwrap_or_default();
        topology.layout.insert(
            copy.id,
            Position {
                x: position.x + offset.x,
                y: position.y + offset.y,
            },
        );
        topology.nodes.push(copy);
    }
    for edge in &fragment.edges {
        let mut copy = edge.clone();
        copy.from = ids[&edge.from];
        copy.to = ids[&edge.to];
        topology.edges.push(copy);
    }
    for workload in &fragment.workloads {
        let mut copy = workload.clone();
        copy.client = ids[&workload.client];
        copy.name = unique_workload_name(topology, &workload.name);
        topology.workloads.push(copy);
    }
    topology.normalize();
    ids.into_values().collect()
}

fn unique_workload_name(topology: &Topology, name: &str) -> String {
    let taken = |candidate: &str| topology.workloads.iter().any(|w| w.name == candidate);
    if !taken(name) {
        return name.to_string();
    }
    (2..)
        .map(|n| format!("{name} {n}"))
        .find(|candidate| !taken(candidate))
        .unwrap_or_else(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::presets;

    #[test]
    fn clicks_select_toggle_and_clear_like_an_editor() {
        let mut selection = Selection::default();
        selection.click(Some(Pick::Node(1)), false);
        assert_eq!(selection, Selection::only(1));
        selection.click(Some(Pick::Node(2)), true);
        selection.click(Some(Pick::Node(3)), true);
        assert_eq!(selection.nodes, BTreeSet::from([1, 2, 3]));
        selection.click(Some(Pick::Node(2)), true);
        assert_eq!(selection.nodes, BTreeSet::from([1, 3]));
        selection.click(None, true);
        assert_eq!(
            selection.nodes.len(),
            2,
            "a toggle-click on empty canvas keeps it"
        );
        selection.click(Some(Pick::Wire(1, 3)), false);
        assert!(selection.nodes.is_empty());
        assert_eq!(selection.wire, Some((1, 3)));
        selection.click(None, false);
        assert!(selection.is_empty());
    }

    #[test]
    fn a_copied_fragment_pastes_with_fresh_ids_its_wires_and_an_offset() {
        let topology = presets::find("stage-4-load-balancer")
            .unwrap()
            .load()
            .unwrap();
        let picked: BTreeSet<NodeId> = topology.nodes.iter().take(3).map(|n| n.id).collect();
        let inner_edges = topology
            .edges
            .iter()
            .filter(|e| picked.contains(&e.from) && picked.contains(&e.to))
            .count();
        assert!(inner_edges > 0, "the first three nodes are wired together");
        let text = copy_fragment(&topology, &picked).unwrap();
        let fragment = parse_fragment(&text).expect("our own text parses back");
        let mut target = topology.clone();
        let added = paste_fragment(
            &mut target,
            &fragment,
            Position {
                x: PASTE_OFFSET,
                y: PASTE_OFFSET,
            },
        );
        assert_eq!(added.len(), 3);
        assert_eq!(target.nodes.len(), topology.nodes.len() + 3);
        assert_eq!(target.edges.len(), topology.edges.len() + inner_edges);
        assert!(target.validate().is_ok());
        let original = topology.layout[picked.first().unwrap()];
        let copy = target.layout[added.first().unwrap()];
        assert_eq!((copy.x - original.x, copy.y - original.y), (40.0, 40.0));
        // Pasting into an empty document works too (and brings the client's workload along).
        let mut empty = Topology::default();
        paste_fragment(&mut empty, &fragment, Position::default());
        assert_eq!(empty.nodes.len(), 3);
        assert!(empty.validate().is_ok());
    }

    #[test]
    fn text_that_is_not_a_fragment_is_ignored() {
        assert!(parse_fragment("hello").is_none());
        let preset = presets::find("stage-1-single-box").unwrap();
        assert!(parse_fragment(preset.text).is_none());
    }
}
