//! The node-graph canvas (egui-snarl): shows the document's nodes and wires, coloured by the
//! report, and turns the user's gestures into [`CanvasAction`]s for the app to apply.

use super::{format, theme};
use crate::model::{NodeId, NodeKind, Position, Topology};
use crate::report::{NodeReport, Report};
use egui::{Color32, Id, RichText, Ui};
use egui_snarl::ui::{PinInfo, SnarlStyle, SnarlViewer, SnarlWidget};
use egui_snarl::{InPin, InPinId, OutPin, OutPinId, Snarl};
use std::collections::{BTreeSet, HashMap};

/// The id of the canvas widget (for selection queries).
pub const CANVAS_ID: &str = "staircase-canvas";

/// What the user did on the canvas.
#[derive(Clone, Debug, PartialEq)]
pub enum CanvasAction {
    Add(NodeKind, Position),
    Remove(NodeId),
    Connect(NodeId, NodeId),
    Disconnect(NodeId, NodeId),
}

/// The snarl graph mirroring the document's structure.
#[derive(Default)]
pub struct Canvas {
    snarl: Snarl<NodeId>,
    by_id: HashMap<NodeId, egui_snarl::NodeId>,
    structure: (BTreeSet<NodeId>, BTreeSet<(NodeId, NodeId)>),
    /// Each node's rectangle in graph space, as last drawn (for fitting the view).
    node_rects: HashMap<egui_snarl::NodeId, egui::Rect>,
    /// Frames left during which the view is fitted to the nodes (node sizes settle over the
    /// first frames after a rebuild, so the fit is applied more than once).
    fit_frames: u8,
}

/// Screen margin kept around the nodes when fitting the view, in points.
const FIT_MARGIN: f32 = 16.0;
/// Smallest zoom the fit may choose: below it node bodies show only their utilization bar.
/// A graph too large for the view at this zoom shows its top-left part (where the clients
/// are); pan or zoom out for the rest.
const MIN_FIT_SCALE: f32 = 0.5;

/// The transform (graph → screen) that shows all of `nodes` inside `view`, at most at 100%.
pub fn fit_transform(nodes: egui::Rect, view: egui::Rect) -> egui::emath::TSTransform {
    let room =
        (view.size() - egui::vec2(2.0 * FIT_MARGIN, 2.0 * FIT_MARGIN)).max(egui::Vec2::splat(1.0));
    let size = nodes.size().max(egui::Vec2::splat(1.0));
    let scaling = (room / size).min_elem().clamp(MIN_FIT_SCALE, 1.0);
    // Centred along each axis where the nodes fit; else their top or left edge at the margin.
    let place = |axis: usize| {
        if size[axis] * scaling <= room[axis] {
            view.center()[axis] - nodes.center()[axis] * scaling
        } else {
            view.min[axis] + FIT_MARGIN - nodes.min[axis] * scaling
        }
    };
    let translation = egui::vec2(place(0), place(1));
    egui::emath::TSTransform::new(translation, scaling)
}

fn structure_of(topology: &Topology) -> (BTreeSet<NodeId>, BTreeSet<(NodeId, NodeId)>) {
    (
        topology.nodes.iter().map(|n| n.id).collect(),
        topology
            .edges
            .iter()
            .map(|e| (e.from, e.to))
            .filter(|(a, b)| a != b)
            .collect(),
    )
}

impl Canvas {
    /// Rebuilds the snarl graph when nodes or wires changed outside the canvas; moves nodes to
    /// the document's positions when those changed (undo, open).
    pub fn sync_from(&mut self, topology: &Topology) {
        let structure = structure_of(topology);
        if structure != self.structure {
            self.snarl = Snarl::new();
            self.by_id.clear();
            self.node_rects.clear();
            for (index, node) in topology.nodes.iter().enumerate() {
                let position = topology
                    .layout
                    .get(&node.id)
                    .copied()
                    .unwrap_or_else(|| default_position(index));
                let snarl_id = self
                    .snarl
                    .insert_node(egui::pos2(position.x, position.y), node.id);
                self.by_id.insert(node.id, snarl_id);
            }
            for (from, to) in &structure.1 {
                if let (Some(&a), Some(&b)) = (self.by_id.get(from), self.by_id.get(to)) {
                    self.snarl.connect(
                        OutPinId { node: a, output: 0 },
                        InPinId { node: b, input: 0 },
                    );
                }
            }
            self.structure = structure;
            return;
        }
        for (id, position) in &topology.layout {
            if let Some(info) = self
                .by_id
                .get(id)
                .and_then(|&snarl_id| self.snarl.get_node_info_mut(snarl_id))
            {
                let wanted = egui::pos2(position.x, position.y);
                if (info.pos - wanted).length() > 0.5 {
                    info.pos = wanted;
                }
            }
        }
    }

    /// Node positions as the canvas has them now.
    pub fn positions(&self) -> Vec<(NodeId, Position)> {
        self.snarl
            .nodes_pos_ids()
            .map(|(_, pos, id)| (*id, Position { x: pos.x, y: pos.y }))
            .collect()
    }

    /// The document ids of the nodes selected on the canvas.
    pub fn selected(&self, ctx: &egui::Context) -> Vec<NodeId> {
        egui_snarl::ui::get_selected_nodes(Id::new(CANVAS_ID), ctx)
            .into_iter()
            .filter_map(|snarl_id| self.snarl.get_node(snarl_id).copied())
            .collect()
    }

    /// Fits the view to all nodes over the next frames (after open, new, or on request).
    pub fn request_fit(&mut self) {
        self.fit_frames = 3;
    }

    /// Draws the canvas and returns what the user did.
    pub fn show(
        &mut self,
        ui: &mut Ui,
        topology: &Topology,
        report: Option<&Report>,
    ) -> Vec<CanvasAction> {
        // Only while a fit is pending: every node must have been drawn once (its size known).
        let fit_ready = || {
            !self.node_rects.is_empty()
                && self
                    .snarl
                    .node_ids()
                    .all(|(snarl_id, _)| self.node_rects.contains_key(&snarl_id))
        };
        let fit = if self.fit_frames > 0 && fit_ready() {
            self.fit_frames -= 1;
            let bounds = self
                .node_rects
                .values()
                .fold(egui::Rect::NOTHING, |all, rect| all.union(*rect));
            Some(fit_transform(bounds, ui.available_rect_before_wrap()))
        } else {
            None
        };
        if fit.is_some() || self.fit_frames > 0 {
            ui.ctx().request_repaint();
        }
        let mut viewer = Viewer {
            topology,
            report,
            actions: Vec::new(),
            fit,
            node_rects: &mut self.node_rects,
        };
        let mut style = SnarlStyle::new();
        style.bg_pattern = None;
        // The first view fits the nodes' corners; at most 100% keeps whole nodes in view.
        style.max_scale = Some(1.0);
        SnarlWidget::new().id(Id::new(CANVAS_ID)).style(style).show(
            &mut self.snarl,
            &mut viewer,
            ui,
        );
        viewer.actions
    }
}

/// Where a node without a stored position goes: a grid.
pub fn default_position(index: usize) -> Position {
    Position {
        x: 40.0 + 240.0 * (index % 6) as f32,
        y: 40.0 + 180.0 * (index / 6) as f32,
    }
}

/// The utilization bar of a node: filled to its busy fraction, coloured by its offered load.
fn utilization_bar(figures: &NodeReport) -> egui::ProgressBar {
    egui::ProgressBar::new(figures.utilization.clamp(0.0, 1.0) as f32)
        .fill(theme::utilization_color(figures.offered_utilization))
        .desired_width(130.0)
}

struct Viewer<'a> {
    topology: &'a Topology,
    report: Option<&'a Report>,
    actions: Vec<CanvasAction>,
    /// A view transform to impose this frame (fit to the nodes).
    fit: Option<egui::emath::TSTransform>,
    node_rects: &'a mut HashMap<egui_snarl::NodeId, egui::Rect>,
}

impl Viewer<'_> {
    fn figures(&self, id: NodeId) -> Option<&NodeReport> {
        self.report.and_then(|r| r.node(id))
    }

    fn color(&self, id: NodeId) -> Color32 {
        self.figures(id)
            .map_or(theme::IDLE, |f| theme::status_color(f.status))
    }

    fn is_bottleneck(&self, id: NodeId) -> bool {
        self.report
            .and_then(|r| r.bottleneck.as_ref())
            .is_some_and(|b| b.id == id)
    }
}

impl SnarlViewer<NodeId> for Viewer<'_> {
    fn title(&mut self, node: &NodeId) -> String {
        self.topology
            .node(*node)
            .map_or_else(|| format!("node {node}"), |n| n.name.clone())
    }

    fn show_header(
        &mut self,
        node: egui_snarl::NodeId,
        _inputs: &[InPin],
        _outputs: &[OutPin],
        ui: &mut Ui,
        snarl: &mut Snarl<NodeId>,
    ) {
        let id = snarl[node];
        let title = self.title(&id);
        let text = if self.is_bottleneck(id) {
            RichText::new(format!("⚠ {title}")).color(theme::BOTTLENECK)
        } else {
            RichText::new(title).color(self.color(id))
        };
        ui.label(text.strong());
    }

    fn current_transform(
        &mut self,
        to_global: &mut egui::emath::TSTransform,
        _snarl: &mut Snarl<NodeId>,
    ) {
        if let Some(fit) = self.fit {
            *to_global = fit;
        }
    }

    fn final_node_rect(
        &mut self,
        node: egui_snarl::NodeId,
        rect: egui::Rect,
        _ui: &mut Ui,
        _snarl: &mut Snarl<NodeId>,
    ) {
        self.node_rects.insert(node, rect);
    }

    fn inputs(&mut self, node: &NodeId) -> usize {
        match self.topology.node(*node).map(|n| &n.kind) {
            Some(NodeKind::Client) => 0,
            _ => 1,
        }
    }

    fn outputs(&mut self, _node: &NodeId) -> usize {
        1
    }

    fn show_input(
        &mut self,
        pin: &InPin,
        ui: &mut Ui,
        snarl: &mut Snarl<NodeId>,
    ) -> impl egui_snarl::ui::SnarlPin + 'static {
        // No label: the body already shows what arrives (served + dropped + backlog), and a
        // narrow node keeps graphs readable when the view is fitted to them.
        let id = snarl[pin.id.node];
        let _ = ui;
        PinInfo::circle().with_fill(self.color(id))
    }

    fn show_output(
        &mut self,
        pin: &OutPin,
        ui: &mut Ui,
        snarl: &mut Snarl<NodeId>,
    ) -> impl egui_snarl::ui::SnarlPin + 'static {
        let id = snarl[pin.id.node];
        let _ = ui;
        let color = self.color(id);
        PinInfo::circle().with_fill(color).with_wire_color(color)
    }

    fn has_body(&mut self, _node: &NodeId) -> bool {
        true
    }

    fn show_body(
        &mut self,
        node: egui_snarl::NodeId,
        _inputs: &[InPin],
        _outputs: &[OutPin],
        ui: &mut Ui,
        snarl: &mut Snarl<NodeId>,
    ) {
        let id = snarl[node];
        let Some(model) = self.topology.node(id) else {
            return;
        };
        // Zoomed far out the text is unreadable: draw only the utilization bar (cheaper too).
        let scale = ui
            .ctx()
            .layer_transform_to_global(ui.layer_id())
            .map_or(1.0, |t| t.scaling);
        if scale < 0.5 {
            if let Some(figures) = self.figures(id).filter(|_| model.capacity_rps.is_some()) {
                ui.add(utilization_bar(figures));
            }
            return;
        }
        ui.vertical(|ui| {
            ui.set_max_width(150.0);
            ui.label(
                RichText::new(format!(
                    "{} × {}",
                    model.kind.label(),
                    format::count(model.instances)
                ))
                .color(theme::MUTED_TEXT),
            );
            let Some(figures) = self.figures(id) else {
                return;
            };
            if model.capacity_rps.is_some() {
                let bar = utilization_bar(figures).text(format!(
                    "ρ {}",
                    format::percent(figures.offered_utilization, 0)
                ));
                ui.add(bar).on_hover_text(
                    "Utilization ρ = λ/(c·μ) of the busiest queue: arrivals over capacity.",
                );
            }
            ui.label(format::rate(figures.throughput_rps));
            ui.label(format!(
                "p99 {}",
                format::latency_ms(figures.latency_ms.p99, figures.throughput_rps)
            ));
            // Alarms only for figures that show as more than zero.
            if figures.dropped_rps > 0.0 && !format::rate_is_zero(figures.dropped_rps) {
                ui.colored_label(
                    theme::SATURATED,
                    format!("dropping {}", format::rate(figures.dropped_rps)),
                );
            }
            if figures.backlog_growth_rps > 0.0 && !format::rate_is_zero(figures.backlog_growth_rps)
            {
                ui.colored_label(
                    theme::SATURATED,
                    format!("backlog +{}", format::rate(figures.backlog_growth_rps)),
                );
            }
            if figures.connection_wait_ms > 0.0
                && !format::duration_is_zero(figures.connection_wait_ms)
            {
                ui.colored_label(
                    theme::WARM,
                    format!(
                        "waits {} for a connection",
                        format::duration_ms(figures.connection_wait_ms)
                    ),
                )
                .on_hover_text(
                    "Every database connection of this pool is held: requests queue here for one.",
                );
            }
            if self.is_bottleneck(id) {
                ui.colored_label(theme::BOTTLENECK, "bottleneck");
            }
        });
    }

    fn connect(&mut self, from: &OutPin, to: &InPin, snarl: &mut Snarl<NodeId>) {
        let (a, b) = (snarl[from.id.node], snarl[to.id.node]);
        if a != b {
            self.actions.push(CanvasAction::Connect(a, b));
        }
    }

    fn disconnect(&mut self, from: &OutPin, to: &InPin, snarl: &mut Snarl<NodeId>) {
        self.actions.push(CanvasAction::Disconnect(
            snarl[from.id.node],
            snarl[to.id.node],
        ));
    }

    fn drop_outputs(&mut self, pin: &OutPin, snarl: &mut Snarl<NodeId>) {
        let from = snarl[pin.id.node];
        for remote in &pin.remotes {
            self.actions
                .push(CanvasAction::Disconnect(from, snarl[remote.node]));
        }
    }

    fn drop_inputs(&mut self, pin: &InPin, snarl: &mut Snarl<NodeId>) {
        let to = snarl[pin.id.node];
        for remote in &pin.remotes {
            self.actions
                .push(CanvasAction::Disconnect(snarl[remote.node], to));
        }
    }

    fn has_graph_menu(&mut self, _pos: egui::Pos2, _snarl: &mut Snarl<NodeId>) -> bool {
        true
    }

    fn show_graph_menu(&mut self, pos: egui::Pos2, ui: &mut Ui, _snarl: &mut Snarl<NodeId>) {
        ui.label("Add node");
        for kind in NodeKind::catalog() {
            if ui.button(kind.label()).clicked() {
                self.actions
                    .push(CanvasAction::Add(kind, Position { x: pos.x, y: pos.y }));
                ui.close();
            }
        }
    }

    fn has_node_menu(&mut self, _node: &NodeId) -> bool {
        true
    }

    fn show_node_menu(
        &mut self,
        node: egui_snarl::NodeId,
        _inputs: &[InPin],
        _outputs: &[OutPin],
        ui: &mut Ui,
        snarl: &mut Snarl<NodeId>,
    ) {
        if ui.button("Delete node").clicked() {
            self.actions.push(CanvasAction::Remove(snarl[node]));
            ui.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_shows_every_node_centred_or_from_the_top_left() {
        let view = egui::Rect::from_min_size(egui::pos2(250.0, 30.0), egui::vec2(650.0, 500.0));
        // Small graph: 100% zoom, centred.
        let nodes = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(400.0, 200.0));
        let fit = fit_transform(nodes, view);
        assert_eq!(fit.scaling, 1.0);
        let shown = fit * nodes;
        assert!((shown.center() - view.center()).length() < 1e-3);
        // Wide graph: zoomed out until it fits inside the margins.
        let nodes = egui::Rect::from_min_max(egui::pos2(-50.0, 0.0), egui::pos2(1150.0, 300.0));
        let fit = fit_transform(nodes, view);
        let shown = fit * nodes;
        assert!(fit.scaling < 1.0 && fit.scaling >= MIN_FIT_SCALE);
        assert!(
            view.shrink(FIT_MARGIN - 1e-3).contains_rect(shown),
            "{shown:?}"
        );
        // Too wide even at the smallest zoom: its left edge at the margin, centred vertically.
        let nodes = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(5000.0, 300.0));
        let fit = fit_transform(nodes, view);
        let shown = fit * nodes;
        assert_eq!(fit.scaling, MIN_FIT_SCALE);
        assert!((shown.min.x - (view.min.x + FIT_MARGIN)).abs() < 1e-3);
        assert!((shown.center().y - view.center().y).abs() < 1e-3);
    }
}
