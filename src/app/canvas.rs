//! The node-graph canvas (egui-snarl): shows the document's nodes and wires, coloured by the
//! report, and turns the user's gestures into [`CanvasAction`]s for the app to apply.

mod cards;
mod cull;
mod order;
mod overlay;
pub(super) mod traffic;

pub use cards::NameShown;
pub use overlay::CanvasOptions;

use super::selection::{Pick, Selection};
use super::simulation::NodeMarks;
use super::{format, theme};
use crate::model::{ClassKind, EdgeKind, NodeId, NodeKind, Position, Topology};
use crate::solver::report::{NodeReport, Report};
use cards::{Bar, Card, Line};
use egui::emath::TSTransform;
use egui::{Color32, Id, Pos2, Shape, Stroke, Ui};
use egui_snarl::ui::{PinInfo, PinWireInfo, SnarlPin, SnarlStyle, SnarlViewer, SnarlWidget};
use egui_snarl::{InPin, InPinId, OutPin, OutPinId, Snarl};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

/// The id of the canvas widget (for selection queries).
pub const CANVAS_ID: &str = "staircase-canvas";

/// What the user did on the canvas.
#[derive(Clone, Debug, PartialEq)]
pub enum CanvasAction {
    Add(NodeKind, Position),
    Remove(NodeId),
    Connect(NodeId, NodeId),
    Disconnect(NodeId, NodeId),
    /// A primary click on a node, a wire or empty canvas; `toggle` with Shift or Ctrl held.
    Click {
        pick: Option<Pick>,
        toggle: bool,
    },
    /// Nodes swept by a rubber band (Shift+drag): added to the selection.
    SelectMore(Vec<NodeId>),
}

/// Where each pin was drawn this frame (node, output?), in graph coordinates.
type PinPositions = Rc<RefCell<HashMap<(NodeId, bool), Pos2>>>;

/// The snarl graph holding the document's nodes in view (see [`cull`]) and their wires.
#[derive(Default)]
pub struct Canvas {
    snarl: Snarl<NodeId>,
    /// The snarl node of each document node snarl holds this frame.
    by_id: HashMap<NodeId, egui_snarl::NodeId>,
    structure: (BTreeSet<NodeId>, BTreeSet<(NodeId, NodeId)>),
    /// Every node's place, rectangle and pins in graph space, as last drawn (for the wires,
    /// regions, fitting the view and hit tests, whether snarl holds the node or not).
    placed: BTreeMap<NodeId, cull::Placed>,
    /// Frames left during which the view is fitted to the nodes (node sizes settle over the
    /// first frames after a rebuild, so the fit is applied more than once).
    fit_frames: u8,
    /// The view (graph → screen) as last drawn, and the canvas rectangle on screen.
    view: Option<TSTransform>,
    viewport: Option<egui::Rect>,
    /// A view to restore on the next frame (after the snarl state was reset).
    restore_view: Option<TSTransform>,
    /// Snarl keeps a selection of its own that cannot be cleared from outside; the app owns
    /// the selection, so snarl's is absorbed and then reset by starting a fresh widget state.
    generation: u64,
    pins: PinPositions,
    /// Every node name as painted last frame (screen rectangle and font size).
    names: Vec<NameShown>,
    /// The nodes drawn last frame with a mark of the check with simulation.
    simulation_marked: Vec<NodeId>,
    /// Grid, snapping and minimap as chosen in View.
    options: CanvasOptions,
    /// Node positions when the pointer went down (snapping moves only what a drag moved).
    drag_start: HashMap<NodeId, Pos2>,
    /// Each wire drawn last frame with its width on screen, in points.
    wire_widths: Vec<(NodeId, NodeId, f32)>,
}

/// Screen margin kept around the nodes when fitting the view, in points.
const FIT_MARGIN: f32 = 16.0;
/// Smallest zoom the fit may choose (node names stay legible at any zoom: they are painted at
/// least 11 px high). A graph too large for the view even at this zoom shows its top-left part
/// (where the clients are); pan for the rest.
const MIN_FIT_SCALE: f32 = MIN_ZOOM;
/// The zoom range of the canvas (25% to 400%).
pub const MIN_ZOOM: f32 = 0.25;
pub const MAX_ZOOM: f32 = 4.0;

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
    /// Follows the document: nodes and wires added or removed outside the canvas, and nodes
    /// moved to the document's positions when those changed (undo, open).
    pub fn sync_from(&mut self, topology: &Topology) {
        self.placed.retain(|id, _| topology.node(*id).is_some());
        for (index, node) in topology.nodes.iter().enumerate() {
            let position = topology
                .layout
                .get(&node.id)
                .copied()
                .unwrap_or_else(|| default_position(index));
            let wanted = egui::pos2(position.x, position.y);
            let placed = self
                .placed
                .entry(node.id)
                .or_insert_with(|| cull::Placed::new(wanted));
            if (placed.pos - wanted).length() > 0.5 {
                placed.move_to(wanted);
            }
            if let Some(info) = self
                .by_id
                .get(&node.id)
                .and_then(|&snarl_id| self.snarl.get_node_info_mut(snarl_id))
            {
                if (info.pos - wanted).length() > 0.5 {
                    info.pos = wanted;
                }
            }
        }
        let structure = structure_of(topology);
        if structure != self.structure {
            let gone: Vec<NodeId> = self
                .by_id
                .keys()
                .filter(|id| !structure.0.contains(id))
                .copied()
                .collect();
            for id in gone {
                if let Some(snarl_id) = self.by_id.remove(&id) {
                    self.snarl.remove_node(snarl_id);
                }
            }
            for (from, to) in self.structure.1.difference(&structure.1) {
                if let (Some(&a), Some(&b)) = (self.by_id.get(from), self.by_id.get(to)) {
                    self.snarl.disconnect(
                        OutPinId { node: a, output: 0 },
                        InPinId { node: b, input: 0 },
                    );
                }
            }
            let added: Vec<(NodeId, NodeId)> =
                structure.1.difference(&self.structure.1).copied().collect();
            self.structure = structure;
            for (from, to) in added {
                self.connect_held(from, to);
            }
        }
    }

    /// Connects the wire from `from` to `to` in snarl where snarl holds both nodes.
    fn connect_held(&mut self, from: NodeId, to: NodeId) {
        if let (Some(&a), Some(&b)) = (self.by_id.get(&from), self.by_id.get(&to)) {
            self.snarl.connect(
                OutPinId { node: a, output: 0 },
                InPinId { node: b, input: 0 },
            );
        }
    }

    /// Makes snarl hold exactly the nodes in `wanted` (with the wires between them).
    fn hold(&mut self, wanted: &BTreeSet<NodeId>) {
        let leaving: Vec<NodeId> = self
            .by_id
            .keys()
            .filter(|id| !wanted.contains(id))
            .copied()
            .collect();
        for id in leaving {
            if let Some(snarl_id) = self.by_id.remove(&id) {
                self.snarl.remove_node(snarl_id);
            }
        }
        let entering: Vec<NodeId> = wanted
            .iter()
            .filter(|id| !self.by_id.contains_key(id))
            .copied()
            .collect();
        if entering.is_empty() {
            return;
        }
        for id in &entering {
            let Some(placed) = self.placed.get(id) else {
                continue;
            };
            let snarl_id = self.snarl.insert_node(placed.pos, *id);
            self.by_id.insert(*id, snarl_id);
        }
        let entering: BTreeSet<NodeId> = entering.into_iter().collect();
        let wires: Vec<(NodeId, NodeId)> = self
            .structure
            .1
            .iter()
            .filter(|(from, to)| entering.contains(from) || entering.contains(to))
            .copied()
            .collect();
        for (from, to) in wires {
            self.connect_held(from, to);
        }
    }

    /// The nodes snarl should hold this frame: those in view through `view` (all of them
    /// before the first frame has a view).
    fn wanted(&self, view: Option<TSTransform>) -> BTreeSet<NodeId> {
        match (view, self.viewport) {
            (Some(view), Some(viewport)) => cull::in_view(&self.placed, view, viewport),
            _ => self.placed.keys().copied().collect(),
        }
    }

    /// Node positions as the canvas has them now.
    pub fn positions(&self) -> Vec<(NodeId, Position)> {
        self.snarl
            .nodes_pos_ids()
            .map(|(_, pos, id)| (*id, Position { x: pos.x, y: pos.y }))
            .collect()
    }

    /// Fits the view to all nodes over the next frames (after open, new, or on request).
    pub fn request_fit(&mut self) {
        self.fit_frames = 3;
    }

    /// The layer the canvas draws its nodes in.
    pub fn layer(&self) -> egui::LayerId {
        egui::LayerId::new(egui::Order::Background, self.widget_id())
    }

    /// The canvas rectangle on screen as last drawn.
    pub fn viewport(&self) -> Option<egui::Rect> {
        self.viewport
    }

    /// The id of the snarl widget this frame.
    fn widget_id(&self) -> Id {
        Id::new(CANVAS_ID).with(self.generation)
    }

    /// Where a new node goes: the centre of what the canvas shows, moved down and right until
    /// it does not sit on another node.
    pub fn visible_spot(&self, topology: &Topology) -> Option<Position> {
        let view = self.view?;
        let viewport = self.viewport.filter(|v| v.is_positive())?;
        // A node is about 170 × 120 points: put its centre at the centre of the view.
        let centre = view.inverse() * viewport.center() - egui::vec2(85.0, 60.0);
        let mut spot = Position {
            x: centre.x,
            y: centre.y,
        };
        let taken = |p: &Position| {
            topology
                .layout
                .values()
                .any(|q| (q.x - p.x).abs() < 12.0 && (q.y - p.y).abs() < 12.0)
        };
        for _ in 0..50 {
            if !taken(&spot) {
                break;
            }
            spot.x += 24.0;
            spot.y += 24.0;
        }
        Some(spot)
    }

    /// Moves nodes on the canvas at once (the rest of a selection following a dragged node).
    pub fn set_positions(&mut self, positions: &[(NodeId, Position)]) {
        for (id, position) in positions {
            if let Some(info) = self
                .by_id
                .get(id)
                .and_then(|&snarl_id| self.snarl.get_node_info_mut(snarl_id))
            {
                info.pos = egui::pos2(position.x, position.y);
            }
        }
    }

    /// Each node's rectangle on screen as last drawn (for tests and hit testing).
    pub fn screen_rects(&self) -> Vec<(NodeId, egui::Rect)> {
        let Some(view) = self.view else {
            return Vec::new();
        };
        self.placed
            .iter()
            .map(|(id, placed)| (*id, view * placed.rect()))
            .collect()
    }

    /// The nodes snarl holds (lays out) this frame, in id order.
    pub fn laid_out(&self) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = self.by_id.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Each wire's end points on screen as last drawn: (from, to, start, end).
    pub fn screen_wires(&self) -> Vec<(NodeId, NodeId, Pos2, Pos2)> {
        let Some(view) = self.view else {
            return Vec::new();
        };
        self.structure
            .1
            .iter()
            .filter_map(|(from, to)| {
                let (start, end) = self.wire_ends(*from, *to)?;
                Some((*from, *to, view * start, view * end))
            })
            .collect()
    }

    /// Where the wire from `from` to `to` starts and ends, in graph units.
    fn wire_ends(&self, from: NodeId, to: NodeId) -> Option<(Pos2, Pos2)> {
        Some((
            self.placed.get(&from)?.pin(true),
            self.placed.get(&to)?.pin(false),
        ))
    }

    /// Draws the canvas and returns what the user did. `selection` is drawn highlighted.
    pub fn show(
        &mut self,
        ui: &mut Ui,
        topology: &Topology,
        report: Option<&Report>,
        selection: &Selection,
        marks: &NodeMarks,
    ) -> Vec<CanvasAction> {
        self.viewport = Some(ui.available_rect_before_wrap());
        let fit = self.pending_fit(ui);
        if fit.is_some() || self.fit_frames > 0 {
            ui.ctx().request_repaint();
        }
        let impose = fit.or(self.restore_view.take());
        let culled_by = impose.or(self.view);
        self.hold(&self.wanted(culled_by));
        self.pins.borrow_mut().clear();
        if ui.ctx().input(|i| i.pointer.any_pressed()) {
            self.drag_start = self.node_positions();
        }
        let wheel = self.plain_wheel(ui.ctx());
        let mut viewer = Viewer {
            topology,
            report,
            marks,
            selection,
            actions: Vec::new(),
            impose,
            view: self.view,
            drawn: Vec::new(),
            ctx: ui.ctx().clone(),
            layer: egui::LayerId::new(
                ui.layer_id().order,
                Id::new(CANVAS_ID).with(self.generation),
            ),
            span_start: None,
            spans: Vec::new(),
            pins: self.pins.clone(),
            wire_slot: None,
            cards: Vec::new(),
            card_of: HashMap::new(),
            wheel,
            grid: self.options.grid,
        };
        let widget_id = Id::new(CANVAS_ID).with(self.generation);
        let response = SnarlWidget::new().id(widget_id).style(canvas_style()).show(
            &mut self.snarl,
            &mut viewer,
            ui,
        );
        let Viewer {
            mut actions,
            view,
            wire_slot,
            cards,
            drawn,
            spans,
            layer,
            ..
        } = viewer;
        order::paint_in_order(ui.ctx(), layer, &spans, |id| {
            (selection.nodes.contains(&id), id)
        });
        self.view = view;
        self.record_drawn(drawn);
        // Names overlap at small zooms: painted in document order with the selection on top,
        // whatever order snarl holds its nodes in (which depends on what came into view when).
        let mut cards = cards;
        cards.sort_by_key(|card| (selection.nodes.contains(&card.id), card.id));
        if view != culled_by && view.is_some_and(|v| self.wanted(Some(v)) != self.wanted(culled_by))
        {
            // The view moved past the margin this frame: the nodes it brought in come next.
            ui.ctx().request_repaint();
        }
        let regions = self.region_frames(topology);
        if let (Some(wire_slot), Some(view)) = (wire_slot, view) {
            self.paint_wires(ui, wire_slot, (topology, report, selection), &regions, view);
        }
        self.names = self.paint_names(ui, (topology, report), &regions, &cards, view);
        self.simulation_marked = cards
            .iter()
            .filter(|card| card.simulation.is_some() && card.node.is_some())
            .map(|card| card.id)
            .collect();
        self.wire_tooltip(ui, topology, report);
        self.mark_tooltip(ui, topology, marks);
        self.snap_dropped_nodes(ui.ctx());
        if let Some(moved) = self.minimap_click(ui.ctx(), report) {
            self.restore_view = Some(moved);
            ui.ctx().request_repaint();
        }
        actions.extend(self.click(ui, &response));
        actions.extend(self.absorb_snarl_selection(ui.ctx()));
        actions
    }

    /// The region frames, then the wires (flowing when the option is on), into the slot
    /// snarl left under its nodes; remembers each wire's drawn width.
    fn paint_wires(
        &mut self,
        ui: &Ui,
        (painter, slot): (egui::Painter, egui::layers::ShapeIdx),
        (topology, report, selection): (&Topology, Option<&Report>, &Selection),
        regions: &[(String, egui::Rect)],
        view: TSTransform,
    ) {
        let mut shapes: Vec<Shape> = regions
            .iter()
            .map(|(_, rect)| Shape::rect_filled(*rect, 12.0, theme::region_fill()))
            .collect();
        let flow_time = self.options.flow.then(|| ui.ctx().input(|i| i.time));
        if flow_time.is_some() {
            ui.ctx().request_repaint();
        }
        let (wires, widths) = self.wire_shapes(topology, report, selection, view, flow_time);
        shapes.extend(wires);
        self.wire_widths = widths;
        painter.set(slot, Shape::Vec(shapes));
    }

    /// The region labels, the node names over the cards and the minimap; gives the names'
    /// rectangles.
    fn paint_names(
        &self,
        ui: &Ui,
        (topology, report): (&Topology, Option<&Report>),
        regions: &[(String, egui::Rect)],
        cards: &[cards::Card],
        view: Option<TSTransform>,
    ) -> Vec<NameShown> {
        match (view, self.viewport) {
            (Some(view), Some(viewport)) => {
                let painter = self.text_painter(ui, viewport);
                self.paint_region_labels(&painter, topology, regions, view);
                let names = cards::paint(&painter, cards, view, ui.visuals());
                if self.options.minimap {
                    let nodes = self.minimap_nodes(report);
                    overlay::paint_minimap(&painter, viewport, &nodes, view);
                }
                names
            }
            _ => Vec::new(),
        }
    }

    /// A scroll of the mouse wheel without modifiers over the canvas (not over a window).
    fn plain_wheel(&self, ctx: &egui::Context) -> Option<(egui::Vec2, Pos2)> {
        let viewport = self.viewport?;
        let (delta, pointer, modifiers) =
            ctx.input(|i| (i.smooth_scroll_delta, i.pointer.latest_pos(), i.modifiers));
        let pointer = pointer.filter(|p| viewport.contains(*p))?;
        let on_canvas = ctx
            .layer_id_at(pointer)
            .is_none_or(|layer| layer.order == egui::Order::Background);
        (delta != egui::Vec2::ZERO && modifiers.is_none() && on_canvas).then_some((delta, pointer))
    }

    /// The wire under the pointer (not over a node, a window or the minimap), if any.
    fn hovered_wire(&self, ctx: &egui::Context) -> Option<(NodeId, NodeId)> {
        let pointer = ctx.input(|i| i.pointer.hover_pos())?;
        let on_canvas = self.viewport.is_some_and(|v| v.contains(pointer))
            && !self.on_minimap(pointer)
            && ctx
                .layer_id_at(pointer)
                .is_none_or(|layer| layer.order == egui::Order::Background);
        let on_node = self
            .screen_rects()
            .iter()
            .any(|(_, rect)| rect.contains(pointer));
        if !on_canvas || on_node {
            return None;
        }
        self.screen_wires()
            .into_iter()
            .find(|(_, _, start, end)| wire_hit(*start, *end, pointer, 6.0))
            .map(|(from, to, _, _)| (from, to))
    }

    /// Hovering a node marked by a check with simulation tells which figures differ: the
    /// model's, the simulation's with its 95% interval, and the difference.
    fn mark_tooltip(&self, ui: &Ui, topology: &Topology, marks: &NodeMarks) {
        if marks.is_empty() {
            return;
        }
        let Some(pointer) = ui.ctx().input(|i| i.pointer.hover_pos()) else {
            return;
        };
        let on_canvas = self.viewport.is_some_and(|v| v.contains(pointer))
            && ui
                .ctx()
                .layer_id_at(pointer)
                .is_none_or(|layer| layer.order == egui::Order::Background);
        if !on_canvas {
            return;
        }
        let Some((id, mark)) = self
            .screen_rects()
            .into_iter()
            .filter(|(_, rect)| rect.expand(6.0).contains(pointer))
            .find_map(|(id, _)| Some((id, marks.get(&id)?)))
        else {
            return;
        };
        let name = topology.node(id).map_or("?", |n| n.name.as_str());
        egui::Tooltip::always_open(
            ui.ctx().clone(),
            ui.layer_id(),
            Id::new(CANVAS_ID).with("simulation-tooltip"),
            egui::PopupAnchor::Pointer,
        )
        .show(|ui| {
            ui.label(
                egui::RichText::new(format!("{name}: the model differs from the simulation"))
                    .strong(),
            );
            for line in &mark.lines {
                ui.colored_label(theme::SIMULATION_DIFFERS, line);
            }
            ui.label(
                egui::RichText::new(
                    "From Simulate > Check with simulation; an edit of the design clears the mark.",
                )
                .color(theme::muted_text()),
            );
        });
    }

    /// The nodes drawn with a mark of the check with simulation last frame.
    pub fn simulation_marked(&self) -> &[NodeId] {
        &self.simulation_marked
    }

    /// Hovering a wire tells what it carries (req/s in all and per class, each edge's kind
    /// with its figures, from the report's per-wire traffic), the load where it arrives, and
    /// the round trip when it crosses regions (all figures from the model).
    fn wire_tooltip(&self, ui: &Ui, topology: &Topology, report: Option<&Report>) {
        let Some((from, to)) = self.hovered_wire(ui.ctx()) else {
            return;
        };
        let name = |id: NodeId| topology.node(id).map_or("?", |n| n.name.as_str());
        egui::Tooltip::always_open(
            ui.ctx().clone(),
            ui.layer_id(),
            Id::new(CANVAS_ID).with("wire-tooltip"),
            egui::PopupAnchor::Pointer,
        )
        .show(|ui| {
            ui.label(egui::RichText::new(format!("{} to {}", name(from), name(to))).strong());
            traffic::show(ui, topology, report, from, to);
            if let Some(figures) = report.and_then(|r| r.node(to)) {
                ui.label(format!(
                    "{} receives {} in all, ρ {}",
                    name(to),
                    format::rate(figures.arrival_rps),
                    format::percent(figures.offered_utilization, 0)
                ));
            }
            let regions = (topology.node(from), topology.node(to));
            if let (Some(a), Some(b)) = regions {
                if !a.region.is_empty() && !b.region.is_empty() && a.region != b.region {
                    let rtt_ms = crate::solver::region_rtt(topology, &a.region, &b.region) * 1000.0;
                    ui.label(format!(
                        "{} to {}: round trip {}",
                        a.region,
                        b.region,
                        format::duration_ms(rtt_ms)
                    ));
                }
            }
        });
    }

    /// Each wire drawn last frame (those in view) with its width on screen, in points.
    pub fn wire_widths(&self) -> &[(NodeId, NodeId, f32)] {
        &self.wire_widths
    }

    /// Grid, snapping and minimap, for the View menu.
    pub fn options_mut(&mut self) -> &mut CanvasOptions {
        &mut self.options
    }

    fn node_positions(&self) -> HashMap<NodeId, Pos2> {
        self.snarl
            .nodes_pos_ids()
            .map(|(_, pos, id)| (*id, pos))
            .collect()
    }

    /// With snapping on, the nodes a drag moved land on the grid when the button is released.
    fn snap_dropped_nodes(&mut self, ctx: &egui::Context) {
        if !self.options.snap || !ctx.input(|i| i.pointer.any_released()) {
            return;
        }
        let start = std::mem::take(&mut self.drag_start);
        let moved: Vec<(NodeId, Position)> = self
            .node_positions()
            .into_iter()
            .filter(|(id, pos)| start.get(id).is_some_and(|before| before != pos))
            .map(|(id, pos)| {
                let x = overlay::snapped(pos.x);
                let y = overlay::snapped(pos.y);
                (id, Position { x, y })
            })
            .collect();
        self.set_positions(&moved);
    }

    /// A primary click in the minimap: the view centred on the point clicked.
    fn minimap_click(&self, ctx: &egui::Context, report: Option<&Report>) -> Option<TSTransform> {
        let (view, viewport) = (self.view?, self.viewport?);
        if !self.options.minimap {
            return None;
        }
        let click = ctx.input(|i| {
            i.pointer
                .interact_pos()
                .filter(|_| i.pointer.primary_clicked())
        })?;
        overlay::view_from_minimap(viewport, &self.minimap_nodes(report), view, click)
    }

    /// The nodes as the minimap draws them: rectangle (graph units) and status colour.
    fn minimap_nodes(&self, report: Option<&Report>) -> Vec<(egui::Rect, Color32)> {
        self.placed
            .iter()
            .map(|(id, placed)| {
                let color = report
                    .and_then(|r| r.node(*id))
                    .map_or(theme::IDLE, |f| theme::status_color(f.status));
                (placed.rect(), color)
            })
            .collect()
    }

    /// Takes what snarl drew this frame (node, its position then, its rectangle) with the
    /// pins recorded while drawing it.
    fn record_drawn(&mut self, drawn: Vec<(NodeId, Pos2, egui::Rect)>) {
        let pins = self.pins.borrow();
        for (id, pos, rect) in drawn {
            if let Some(placed) = self.placed.get_mut(&id) {
                let input = pins.get(&(id, false)).copied();
                let output = pins.get(&(id, true)).copied();
                placed.record(pos, rect, input, output);
            }
        }
    }

    /// Whether `position` (screen) is on the minimap (clicks there are not canvas clicks).
    fn on_minimap(&self, position: Pos2) -> bool {
        self.options.minimap
            && self
                .viewport
                .is_some_and(|v| overlay::minimap_rect(v).contains(position))
    }

    /// Each region's frame in graph units: the nodes placed in it, with a margin.
    fn region_frames(&self, topology: &Topology) -> Vec<(String, egui::Rect)> {
        let mut frames: std::collections::BTreeMap<&str, egui::Rect> = Default::default();
        for node in &topology.nodes {
            let rect = self.placed.get(&node.id).map(cull::Placed::rect);
            if let (false, Some(rect)) = (node.region.is_empty(), rect) {
                let frame = frames.entry(&node.region).or_insert(egui::Rect::NOTHING);
                *frame = frame.union(rect);
            }
        }
        frames
            .into_iter()
            .map(|(name, rect)| (name.to_owned(), rect.expand2(egui::vec2(14.0, 30.0))))
            .collect()
    }

    /// Region names on their frames, and the round trip of each wire between two regions at
    /// its middle (the model's figure: measured, or estimated from the distance).
    fn paint_region_labels(
        &self,
        painter: &egui::Painter,
        topology: &Topology,
        regions: &[(String, egui::Rect)],
        view: TSTransform,
    ) {
        let font = egui::FontId::proportional((13.0 * view.scaling).clamp(11.0, 28.0));
        for (name, rect) in regions {
            let corner = view * (rect.min + egui::vec2(10.0, 6.0));
            painter.text(
                corner,
                egui::Align2::LEFT_TOP,
                name,
                font.clone(),
                theme::region_text(),
            );
        }
        if regions.is_empty() {
            return;
        }
        let region_of = |id: &NodeId| topology.node(*id).map(|n| n.region.as_str());
        for (from, to, start, end) in self.screen_wires() {
            let (Some(a), Some(b)) = (region_of(&from), region_of(&to)) else {
                continue;
            };
            if a.is_empty() || b.is_empty() || a == b {
                continue;
            }
            let rtt_ms = crate::solver::region_rtt(topology, a, b) * 1000.0;
            let middle = bezier_points(start, end)[12];
            let text = format!("↔ {}", format::duration_ms(rtt_ms));
            let galley = painter.layout_no_wrap(text, font.clone(), theme::region_text());
            let rect = egui::Align2::CENTER_BOTTOM.anchor_size(middle, galley.size());
            painter.rect_filled(rect.expand(2.0), 3.0, theme::region_label_fill());
            painter.galley(rect.min, galley, theme::region_text());
        }
    }

    /// A painter above the canvas layer, without its transform, so that glyphs are
    /// rasterized at their on-screen size.
    fn text_painter(&self, ui: &Ui, viewport: egui::Rect) -> egui::Painter {
        let layer = egui::LayerId::new(
            egui::Order::Background,
            Id::new("staircase-canvas-text").with(self.generation),
        );
        // Snarl's layer is a sublayer of the panel's; ours is registered after it (a sublayer
        // keeps its place in the layer order), so it is painted right above it.
        ui.ctx().set_sublayer(ui.layer_id(), layer);
        egui::Painter::new(ui.ctx().clone(), layer, viewport.intersect(ui.clip_rect()))
    }

    /// Every node name as painted last frame: its screen rectangle and font size.
    pub fn names_shown(&self) -> &[NameShown] {
        &self.names
    }

    /// The fit transform to impose this frame, once every node has been drawn (sized).
    fn pending_fit(&mut self, ui: &Ui) -> Option<TSTransform> {
        // Every node snarl holds has been drawn once (its size is known, not estimated).
        let fit_ready = !self.placed.is_empty()
            && self
                .by_id
                .keys()
                .all(|id| self.placed.get(id).is_some_and(cull::Placed::is_drawn));
        if self.fit_frames == 0 || !fit_ready {
            return None;
        }
        self.fit_frames -= 1;
        let bounds = self
            .placed
            .values()
            .fold(egui::Rect::NOTHING, |all, placed| all.union(placed.rect()));
        Some(fit_transform(bounds, ui.available_rect_before_wrap()))
    }

    /// A primary click on the canvas: what it hit (node first, then wire), and whether Shift
    /// or Ctrl was held. Clicks on menus and windows above the canvas are not ours.
    fn click(&self, ui: &Ui, response: &egui::Response) -> Option<CanvasAction> {
        let ctx = ui.ctx();
        let (clicked, position, modifiers) = ctx.input(|i| {
            (
                i.pointer.primary_clicked(),
                i.pointer.interact_pos(),
                i.modifiers,
            )
        });
        let position = position.filter(|_| clicked)?;
        // Snarl's response spans everything; the canvas is the rectangle it was given.
        if !self.viewport.is_some_and(|v| v.contains(position)) || self.on_minimap(position) {
            return None;
        }
        let _ = response;
        let on_canvas = ctx
            .layer_id_at(position)
            .is_none_or(|layer| layer.order == egui::Order::Background);
        if !on_canvas {
            return None;
        }
        let toggle = modifiers.shift || modifiers.command;
        let node = self
            .screen_rects()
            .into_iter()
            .find(|(_, rect)| rect.contains(position))
            .map(|(id, _)| Pick::Node(id));
        let pick = node.or_else(|| {
            self.screen_wires()
                .into_iter()
                .find(|(_, _, start, end)| wire_hit(*start, *end, position, 6.0))
                .map(|(from, to, _, _)| Pick::Wire(from, to))
        });
        Some(CanvasAction::Click { pick, toggle })
    }

    /// Takes the nodes snarl selected itself (a Shift+drag rubber band, Shift+click) into the
    /// app's selection, then starts snarl afresh so it holds no selection of its own (it would
    /// otherwise drag and highlight its stale set).
    fn absorb_snarl_selection(&mut self, ctx: &egui::Context) -> Option<CanvasAction> {
        let chosen = egui_snarl::ui::get_selected_nodes(self.widget_id(), ctx);
        if chosen.is_empty() {
            return None;
        }
        let clicked = ctx.input(|i| i.pointer.primary_clicked());
        self.generation += 1;
        self.restore_view = self.view;
        ctx.request_repaint();
        // A click was handled as a click; only a rubber band adds what it swept.
        (!clicked).then(|| {
            CanvasAction::SelectMore(
                chosen
                    .into_iter()
                    .filter_map(|snarl_id| self.snarl.get_node(snarl_id).copied())
                    .collect(),
            )
        })
    }

    /// The wires, drawn by the app (snarl's own are transparent): as wide as the traffic the
    /// report gives each of them (log scale), coloured by the load of their target, dashed for
    /// async hand-offs, dotted for retries, highlighted when selected; with each one drawn and
    /// its width on screen. Coordinates are graph coordinates (the canvas layer is
    /// transformed).
    fn wire_shapes(
        &self,
        topology: &Topology,
        report: Option<&Report>,
        selection: &Selection,
        view: TSTransform,
        flow_time: Option<f64>,
    ) -> (Vec<Shape>, Vec<(NodeId, NodeId, f32)>) {
        let scaling = view.scaling;
        let seen = self
            .viewport
            .map_or(egui::Rect::EVERYTHING, |v| view.inverse() * v);
        let styles = wire_styles(topology);
        let mut shapes = Vec::new();
        let mut widths = Vec::new();
        let rates = traffic::wire_rates(report);
        for (from, to) in &self.structure.1 {
            let Some((start, end)) = self.wire_ends(*from, *to) else {
                continue;
            };
            // Wider than any wire's half width at the smallest zoom (graph units).
            let reach = WIRE_FRAME + 20.0 / scaling.max(MIN_ZOOM);
            if !cull::wire_in_view(start, end, reach, seen) {
                continue;
            }
            let color = report
                .and_then(|r| r.node(*to))
                .map_or(theme::IDLE, |f| theme::status_color(f.status));
            let selected = selection.wire == Some((*from, *to));
            // Wider for more traffic (log scale), in screen points at every zoom.
            let rate = rates.get(&(*from, *to)).copied();
            let screen_width = wire_width(rate) + if selected { 2.0 } else { 0.0 };
            widths.push((*from, *to, screen_width));
            let width = screen_width / scaling;
            let stroke = Stroke::new(width, if selected { theme::selection() } else { color });
            let points = bezier_points(start, end);
            let (retry, asynchronous) = styles.get(&(*from, *to)).copied().unwrap_or_default();
            if retry {
                shapes.extend(Shape::dotted_line(
                    &points,
                    stroke.color,
                    6.0 / scaling.max(0.25),
                    width * 0.6,
                ));
            } else if asynchronous {
                shapes.extend(Shape::dashed_line(
                    &points,
                    stroke,
                    10.0 / scaling.max(0.25),
                    6.0 / scaling.max(0.25),
                ));
            } else {
                shapes.push(Shape::line(points.clone(), stroke));
            }
            if let (true, Some(time)) = (self.options.flow, flow_time) {
                let dot =
                    Shape::circle_filled(Pos2::ZERO, (0.5 * screen_width + 1.5) / scaling, color);
                shapes.extend(
                    flow_dots(&points, scaling, rate, time)
                        .into_iter()
                        .map(|at| {
                            let mut dot = dot.clone();
                            dot.translate(at.to_vec2());
                            dot
                        }),
                );
            }
        }
        (shapes, widths)
    }
}

/// Screen width of a wire carrying `rate` req/s: 1 point plus 1.1 per decade of traffic
/// (of 1 + `rate`), from 1.5 to 9 points (2 where the report has no figure for the wire).
pub fn wire_width(rate: Option<f64>) -> f32 {
    rate.map_or(2.0, |r| {
        (1.0 + 1.1 * (1.0 + r.max(0.0)).log10() as f32).clamp(1.5, 9.0)
    })
}

/// Screen distance between two flow dots, points.
const FLOW_SPACING: f32 = 36.0;

/// Where the flow dots of a wire are at `time` seconds (graph units): every
/// [`FLOW_SPACING`] screen points along it, moving at 15 points per second plus 20 per decade
/// of traffic (a slow 15 where the rate is not known).
fn flow_dots(points: &[Pos2], scaling: f32, rate: Option<f64>, time: f64) -> Vec<Pos2> {
    let speed = 15.0 + rate.map_or(0.0, |r| 20.0 * (1.0 + r.max(0.0)).log10());
    let lengths: Vec<f32> = points
        .windows(2)
        .map(|pair| pair[0].distance(pair[1]) * scaling)
        .collect();
    let total: f32 = lengths.iter().sum();
    if total < FLOW_SPACING {
        return Vec::new();
    }
    let phase = (time * speed).rem_euclid(FLOW_SPACING as f64) as f32;
    let mut dots = Vec::new();
    let (mut walked, mut segment) = (0.0, 0);
    let mut along = phase;
    while along < total {
        while segment < lengths.len() && walked + lengths[segment] < along {
            walked += lengths[segment];
            segment += 1;
        }
        let Some(length) = lengths.get(segment) else {
            break;
        };
        let t = (along - walked) / length.max(1e-6);
        dots.push(points[segment] + (points[segment + 1] - points[segment]) * t);
        along += FLOW_SPACING;
    }
    dots
}

/// How each wire is drawn, from all the edges between its two nodes (one pass over the
/// edges): dotted when every edge is a retry, dashed when all carry only async work or the
/// target is a queue.
fn wire_styles(topology: &Topology) -> HashMap<(NodeId, NodeId), (bool, bool)> {
    let mut styles: HashMap<(NodeId, NodeId), (bool, bool)> = HashMap::new();
    for edge in &topology.edges {
        let retry = matches!(edge.kind, EdgeKind::Retry(_));
        let asynchronous = edge.classes == [ClassKind::Async]
            || topology
                .node(edge.to)
                .is_some_and(|n| matches!(n.kind, NodeKind::Queue));
        let style = styles.entry((edge.from, edge.to)).or_insert((true, true));
        style.0 &= retry;
        style.1 &= asynchronous;
    }
    styles
}

/// Pin size and wire curvature shared by snarl's (invisible, hit-tested) wires and ours.
const PIN_SIZE: f32 = 10.0;
const WIRE_FRAME: f32 = 40.0;

fn canvas_style() -> SnarlStyle {
    let mut style = SnarlStyle::new();
    style.bg_pattern = None;
    style.min_scale = Some(MIN_ZOOM);
    style.max_scale = Some(MAX_ZOOM);
    style.collapsible = Some(false);
    style.pin_size = Some(PIN_SIZE);
    style.wire_frame_size = Some(WIRE_FRAME);
    style.wire_style = Some(egui_snarl::ui::WireStyle::Bezier3);
    style.centering = Some(true);
    style
}

/// The wire from `start` to `end` as snarl shapes it (a cubic Bézier leaving and entering
/// horizontally), sampled as a polyline.
pub fn bezier_points(start: Pos2, end: Pos2) -> Vec<Pos2> {
    let frame = WIRE_FRAME.min((end - start).length() / 6.0);
    let control = [
        start,
        start + egui::vec2(frame, 0.0),
        end - egui::vec2(frame, 0.0),
        end,
    ];
    (0..=24)
        .map(|step| {
            let t = step as f32 / 24.0;
            let u = 1.0 - t;
            let weights = [u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t];
            control
                .iter()
                .zip(weights)
                .fold(Pos2::ZERO, |sum, (p, w)| sum + p.to_vec2() * w)
        })
        .collect()
}

/// Whether `position` lies within `tolerance` of the wire from `start` to `end`.
fn wire_hit(start: Pos2, end: Pos2, position: Pos2, tolerance: f32) -> bool {
    bezier_points(start, end).windows(2).any(|segment| {
        let (a, b) = (segment[0], segment[1]);
        let along = b - a;
        let t = ((position - a).dot(along) / along.length_sq().max(1e-6)).clamp(0.0, 1.0);
        (a + along * t).distance(position) <= tolerance
    })
}

/// Where a node without a stored position goes: a grid.
pub fn default_position(index: usize) -> Position {
    Position {
        x: 40.0 + 240.0 * (index % 6) as f32,
        y: 40.0 + 180.0 * (index / 6) as f32,
    }
}

/// Reserves a row of `height` graph units for `text` painted later in screen space; the row
/// carries the text for screen readers and UI tests.
fn reserve_text(ui: &mut Ui, text: &str, height: f32) -> egui::Rect {
    let (rect, response) =
        ui.allocate_exact_size(egui::vec2(cards::CARD_WIDTH, height), egui::Sense::hover());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::WidgetType::Label, true, text));
    rect
}

/// One line of figures in a node body.
fn body_line(ui: &mut Ui, text: String, color: Color32) -> Line {
    let rect = reserve_text(ui, &text, cards::LINE_HEIGHT);
    Line { rect, text, color }
}

/// The figures a node body lists under its utilization bar; alarms only for figures that show
/// as more than zero.
fn figure_lines(figures: &NodeReport, bottleneck: bool) -> Vec<(String, Color32)> {
    let mut lines = vec![
        (format::rate(figures.throughput_rps), theme::body_text()),
        (
            format!(
                "p99 {}",
                format::latency_ms(figures.latency_ms.p99, figures.throughput_rps)
            ),
            theme::body_text(),
        ),
    ];
    if figures.dropped_rps > 0.0 && !format::rate_is_zero(figures.dropped_rps) {
        lines.push((
            format!("dropping {}", format::rate(figures.dropped_rps)),
            theme::SATURATED,
        ));
    }
    if figures.backlog_growth_rps > 0.0 && !format::rate_is_zero(figures.backlog_growth_rps) {
        lines.push((
            format!("backlog +{}", format::rate(figures.backlog_growth_rps)),
            theme::SATURATED,
        ));
    }
    if figures.connection_wait_ms > 0.0 && !format::duration_is_zero(figures.connection_wait_ms) {
        lines.push((
            format!(
                "waits {} for a connection",
                format::duration_ms(figures.connection_wait_ms)
            ),
            theme::WARM,
        ));
    }
    if bottleneck {
        lines.push(("bottleneck".to_owned(), theme::BOTTLENECK));
    }
    lines
}

/// The glyph of a node kind (from the fonts egui bundles).
fn kind_glyph(kind: &NodeKind) -> &'static str {
    match kind {
        NodeKind::Client => "👤",
        NodeKind::Dns { .. } => "📖",
        NodeKind::Cdn { .. } => "🌐",
        NodeKind::LoadBalancer { .. } => "⚖",
        NodeKind::AppServer => "⚙",
        NodeKind::Cache { .. } => "⚡",
        NodeKind::Database { .. } => "🗄",
        NodeKind::ReadReplica => "📑",
        NodeKind::ShardGroup { .. } => "▦",
        NodeKind::ConnectionPooler { .. } => "🔌",
        NodeKind::Queue => "📨",
        NodeKind::Workers => "🔧",
        NodeKind::ObjectStorage => "📦",
        NodeKind::ExternalService => "☁",
        NodeKind::Service => "◆",
    }
}

/// The mouse wheel without a modifier zooms about the pointer (as in Figma or draw.io), where
/// egui's scene would have panned: undoes that pan and applies the zoom. Ctrl+wheel and pinch
/// zoom through the scene itself.
fn wheel_zooms(before: TSTransform, to_global: &mut TSTransform, wheel: (egui::Vec2, Pos2)) {
    let (delta, pointer) = wheel;
    let panned = TSTransform::from_translation(delta) * before;
    let scene_panned = to_global.scaling == before.scaling
        && (to_global.translation - panned.translation).length() < 0.01;
    if !scene_panned {
        return;
    }
    // egui's own Ctrl+wheel speed: a factor of e per 200 points of scrolling.
    let factor = ((delta.x + delta.y) / 200.0).exp();
    let scaling = (before.scaling * factor).clamp(MIN_ZOOM, MAX_ZOOM);
    let in_graph = before.inverse() * pointer;
    *to_global = TSTransform::new(pointer.to_vec2() - in_graph.to_vec2() * scaling, scaling);
}

struct Viewer<'a> {
    topology: &'a Topology,
    report: Option<&'a Report>,
    /// Nodes whose model figures differ from the last check with simulation.
    marks: &'a NodeMarks,
    selection: &'a Selection,
    actions: Vec<CanvasAction>,
    /// A view transform to impose this frame (fit to the nodes, or restored after a reset).
    impose: Option<TSTransform>,
    /// The view as snarl has it this frame.
    view: Option<TSTransform>,
    /// Each node snarl drew: its position then and its rectangle (graph units).
    drawn: Vec<(NodeId, Pos2, egui::Rect)>,
    /// Snarl's layer, and where in it each node's shapes went (see [`order`]).
    ctx: egui::Context,
    layer: egui::LayerId,
    span_start: Option<usize>,
    spans: Vec<order::Span>,
    pins: PinPositions,
    /// Where the wires go in the canvas layer's shape list (behind the nodes).
    wire_slot: Option<(egui::Painter, egui::layers::ShapeIdx)>,
    /// What each node shows, painted in screen space once snarl has laid the nodes out.
    cards: Vec<Card>,
    card_of: HashMap<egui_snarl::NodeId, usize>,
    /// A plain mouse-wheel scroll over the canvas this frame, and where the pointer is.
    wheel: Option<(egui::Vec2, Pos2)>,
    /// Whether to draw the dotted grid.
    grid: bool,
}

/// A pin that remembers where snarl drew it, so the app can draw and hit-test the wires.
struct RecordedPin {
    info: PinInfo,
    key: (NodeId, bool),
    pins: PinPositions,
}

impl SnarlPin for RecordedPin {
    fn draw(
        self,
        snarl_style: &SnarlStyle,
        style: &egui::Style,
        rect: egui::Rect,
        painter: &egui::Painter,
    ) -> PinWireInfo {
        self.pins.borrow_mut().insert(self.key, rect.center());
        let mut wire = self.info.draw(snarl_style, style, rect, painter);
        wire.color = Color32::TRANSPARENT;
        wire
    }
}

impl Viewer<'_> {
    fn figures(&self, id: NodeId) -> Option<&NodeReport> {
        self.report.and_then(|r| r.node(id))
    }

    fn color(&self, id: NodeId) -> Color32 {
        self.figures(id)
            .map_or(theme::IDLE, |f| theme::status_color(f.status))
    }

    /// The card of `node`, started on first use (snarl lays out the body before the header).
    fn card(&mut self, node: egui_snarl::NodeId, id: NodeId) -> &mut Card {
        let index = *self.card_of.entry(node).or_insert_with(|| {
            self.cards.push(Card {
                id,
                name: String::new(),
                glyph: "",
                kind_color: theme::IDLE,
                status_color: theme::IDLE,
                alarm: None,
                simulation: None,
                header: egui::Rect::NOTHING,
                lines: Vec::new(),
                bar: None,
                node: None,
            });
            self.cards.len() - 1
        });
        &mut self.cards[index]
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
        let name = self.title(&id);
        // A name too long for one row at 100% gets two (the node keeps its size at every zoom).
        let width = ui.fonts_mut(|fonts| {
            fonts
                .layout_no_wrap(
                    name.clone(),
                    egui::FontId::proportional(cards::NAME_SIZE),
                    Color32::WHITE,
                )
                .size()
                .x
        });
        let two_rows = width > cards::CARD_WIDTH - cards::GLYPH_ROOM - 4.0;
        let height = cards::HEADER_HEIGHT * if two_rows { 1.8 } else { 1.0 };
        let header = reserve_text(ui, &name, height);
        let figures = self.figures(id);
        let overloaded = figures.is_some_and(|f| {
            f.offered_utilization >= 1.0
                || (f.dropped_rps > 0.0 && !format::rate_is_zero(f.dropped_rps))
        });
        let alarm = if self.is_bottleneck(id) {
            Some(theme::BOTTLENECK)
        } else {
            overloaded.then_some(theme::SATURATED)
        };
        let kind = self.topology.node(id).map(|n| &n.kind);
        let name = if self.is_bottleneck(id) {
            format!("⚠ {name}")
        } else {
            name
        };
        let glyph = kind.map_or("?", kind_glyph);
        let kind_color = kind.map_or(theme::IDLE, theme::kind_color);
        let status_color = self.color(id);
        let simulation = self.marks.get(&id).map(|mark| mark.badge.clone());
        let card = self.card(node, id);
        card.simulation = simulation;
        card.name = name;
        card.glyph = glyph;
        card.kind_color = kind_color;
        card.status_color = status_color;
        card.alarm = alarm;
        card.header = header;
    }

    fn current_transform(&mut self, to_global: &mut TSTransform, _snarl: &mut Snarl<NodeId>) {
        if let Some(view) = self.impose {
            *to_global = view;
        } else if let (Some(before), Some(wheel)) = (self.view, self.wheel) {
            wheel_zooms(before, to_global, wheel);
        }
        self.view = Some(*to_global);
    }

    fn draw_background(
        &mut self,
        _background: Option<&egui_snarl::ui::BackgroundPattern>,
        viewport: &egui::Rect,
        _snarl_style: &SnarlStyle,
        _style: &egui::Style,
        painter: &egui::Painter,
        _snarl: &Snarl<NodeId>,
    ) {
        if let (true, Some(view)) = (self.grid, self.view) {
            painter.add(overlay::grid_mesh(*viewport, view.scaling));
        }
        let slot = painter.add(Shape::Noop);
        self.wire_slot = Some((painter.clone(), slot));
    }

    fn node_frame(
        &mut self,
        default: egui::Frame,
        node: egui_snarl::NodeId,
        _inputs: &[InPin],
        _outputs: &[OutPin],
        snarl: &Snarl<NodeId>,
    ) -> egui::Frame {
        // Snarl asks for the frame before it paints anything of the node.
        self.span_start = Some(order::next_shape(&self.ctx, self.layer));
        if self.selection.nodes.contains(&snarl[node]) {
            default.stroke(Stroke::new(2.5, theme::selection()))
        } else {
            default
        }
    }

    fn final_node_rect(
        &mut self,
        node: egui_snarl::NodeId,
        rect: egui::Rect,
        _ui: &mut Ui,
        snarl: &mut Snarl<NodeId>,
    ) {
        if let Some(info) = snarl.get_node_info(node) {
            self.drawn.push((info.value, info.pos, rect));
            if let Some(start) = self.span_start.take() {
                self.spans.push(order::Span {
                    node: info.value,
                    start,
                    end: order::next_shape(&self.ctx, self.layer),
                });
            }
        }
        if let Some(card) = self.card_of.get(&node).and_then(|&i| self.cards.get_mut(i)) {
            card.node = Some(rect);
        }
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
        RecordedPin {
            info: PinInfo::circle().with_fill(self.color(id)),
            key: (id, false),
            pins: self.pins.clone(),
        }
    }

    fn show_output(
        &mut self,
        pin: &OutPin,
        ui: &mut Ui,
        snarl: &mut Snarl<NodeId>,
    ) -> impl egui_snarl::ui::SnarlPin + 'static {
        let id = snarl[pin.id.node];
        let _ = ui;
        RecordedPin {
            info: PinInfo::circle().with_fill(self.color(id)),
            key: (id, true),
            pins: self.pins.clone(),
        }
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
        let mut lines = Vec::new();
        let mut bar = None;
        ui.vertical(|ui| {
            ui.spacing_mut().item_spacing.y = 1.0;
            let kind = format!(
                "{} × {}",
                model.kind.label(),
                format::count(model.instances)
            );
            lines.push(body_line(ui, kind, theme::muted_text()));
            let figures = self.figures(id);
            if let Some(figures) = figures.filter(|_| model.capacity_rps.is_some()) {
                let text = format!("ρ {}", format::percent(figures.offered_utilization, 0));
                let (rect, response) = ui.allocate_exact_size(
                    egui::vec2(cards::CARD_WIDTH, cards::LINE_HEIGHT - 2.0),
                    egui::Sense::hover(),
                );
                let label = text.clone();
                response.widget_info(|| {
                    egui::WidgetInfo::labeled(egui::WidgetType::ProgressIndicator, true, &label)
                });
                response.on_hover_text(
                    "Utilization ρ = λ/(c·μ) of the busiest queue: arrivals over capacity.",
                );
                bar = Some(Bar {
                    rect,
                    fraction: figures.utilization.clamp(0.0, 1.0) as f32,
                    color: theme::utilization_color(figures.offered_utilization),
                    text,
                });
            }
            let Some(figures) = figures else {
                return;
            };
            for (text, color) in figure_lines(figures, self.is_bottleneck(id)) {
                lines.push(body_line(ui, text, color));
            }
        });
        let card = self.card(node, id);
        card.lines = lines;
        card.bar = bar;
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

    // Wires come from the document, not from snarl: snarl holds only the nodes in view, so a
    // pin's remotes there may miss wires to nodes off screen.
    fn drop_outputs(&mut self, pin: &OutPin, snarl: &mut Snarl<NodeId>) {
        let from = snarl[pin.id.node];
        let targets: BTreeSet<NodeId> = self
            .topology
            .edges
            .iter()
            .filter(|e| e.from == from && e.to != from)
            .map(|e| e.to)
            .collect();
        self.actions.extend(
            targets
                .into_iter()
                .map(|to| CanvasAction::Disconnect(from, to)),
        );
    }

    fn drop_inputs(&mut self, pin: &InPin, snarl: &mut Snarl<NodeId>) {
        let to = snarl[pin.id.node];
        let sources: BTreeSet<NodeId> = self
            .topology
            .edges
            .iter()
            .filter(|e| e.to == to && e.from != to)
            .map(|e| e.from)
            .collect();
        self.actions.extend(
            sources
                .into_iter()
                .map(|from| CanvasAction::Disconnect(from, to)),
        );
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
    fn wires_widen_by_decade_of_traffic() {
        assert_eq!(wire_width(None), 2.0);
        assert_eq!(wire_width(Some(0.0)), 1.5);
        assert!((wire_width(Some(999.0)) - 4.3).abs() < 1e-4);
        assert!(wire_width(Some(1e4)) > wire_width(Some(1e3)));
        assert_eq!(wire_width(Some(1e12)), 9.0);
    }

    #[test]
    fn flow_dots_are_evenly_spaced_and_move_faster_with_more_traffic() {
        let line: Vec<Pos2> = (0..=24).map(|i| egui::pos2(i as f32 * 15.0, 0.0)).collect();
        // 360 points long at 100%: ten dots 36 apart, the first at the phase.
        let dots = flow_dots(&line, 1.0, None, 0.0);
        assert_eq!(dots.len(), 10);
        assert!(dots
            .windows(2)
            .all(|d| (d[1].x - d[0].x - FLOW_SPACING).abs() < 1e-3));
        // After half a second: 7.5 points at the slow speed (15/s), 37.5 at 999 req/s (75/s),
        // which wraps to 1.5.
        assert!((flow_dots(&line, 1.0, None, 0.5)[0].x - 7.5).abs() < 1e-3);
        assert!((flow_dots(&line, 1.0, Some(999.0), 0.5)[0].x - 1.5).abs() < 1e-3);
        // Zoomed out to 50% the dots stay 36 screen points apart (72 graph units).
        let half = flow_dots(&line, 0.5, None, 0.0);
        assert_eq!(half.len(), 5);
        assert!((half[1].x - half[0].x - 72.0).abs() < 1e-3);
    }

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
