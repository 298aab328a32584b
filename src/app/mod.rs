//! The desktop app: canvas, palette, inspector, metrics and plots over one document, with
//! files, recent files, undo and an unsaved-changes prompt. Every menu, toolbar and shortcut
//! action is a [`Command`] handled in [`StaircaseApp::run`]; panels only read the [`Report`].

mod about;
mod browser;
mod canvas;
pub use canvas::{CanvasOptions, NameShown, CANVAS_ID};
mod calibrate;
mod dialogs;
pub use dialogs::{suggested_file_name, FileAction, FilePicker, NativePicker, PathDialog, Picked};
pub mod format;
mod inspector;
pub mod jobs;
mod panels;
mod planning;
pub mod plot_axes;
pub mod recovery;
pub mod review;
pub mod selection;
pub mod simulation;
pub mod theme;

use crate::analysis::sweep::{load_multipliers, load_sweep, InstancePoint, LoadSweep};
use crate::io::document;
use crate::io::presets;
use crate::model::{Edge, Node, NodeId, Position, Topology};
use crate::solver::report::Report;
use crate::solver::{solve, Params};
use canvas::{Canvas, CanvasAction};
use egui::util::undoer::Undoer;
use egui::{Key, Modifiers};
use jobs::Job;
use selection::{Pick, Selection};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything the user can ask for from menus, shortcuts and the canvas.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    New,
    Open,
    OpenPath(PathBuf),
    OpenPreset(&'static str),
    Save,
    SaveAs,
    Undo,
    Redo,
    Quit,
    Canvas(CanvasAction),
    AddNode(crate::model::NodeKind),
    /// Removes the selected nodes with their wires, or the selected wire.
    DeleteSelected,
    SelectAll,
    ClearSelection,
    /// Copies the selected nodes and the wires between them (to the system clipboard too).
    Copy,
    /// Copies, then deletes the selection.
    Cut,
    /// Pastes a fragment: the system clipboard's text when it is one, else the app's own.
    Paste(Option<String>),
    /// Copies and pastes the selection in one step, without touching the clipboard.
    Duplicate,
    /// Runs the inner command only if the document has no unsaved changes (after a save that
    /// the user may have cancelled).
    IfSaved(Box<Command>),
    /// Writes the charts (PNG, SVG) and the per-node CSV into a folder the user picks.
    Export,
    /// Computes the cheapest instance counts for the planner's goal.
    Plan,
    /// Applies the last plan's instance counts to the document.
    ApplyPlan,
    /// Runs the timeline scenario set in the timeline window.
    RunTimeline,
    /// Writes the last timeline's chart and CSV into a folder the user picks.
    ExportTimeline,
    /// Zooms and pans the canvas so that every node is in view.
    FitView,
    /// Simulates the document in the background and compares it with the model.
    CheckWithSimulation,
    /// Replaces the document with a topology built in a dialog (From your measurements).
    OpenTopology(Box<Topology>),
    /// Keeps the current design and its report as the baseline to compare with.
    PinBaseline,
    /// Forgets the baseline.
    ClearBaseline,
    /// Opens the Compare window (current design against the baseline).
    ShowCompare,
    /// Whether opening another design pins the current one first.
    PinOnOpen(bool),
    /// Opens the breakdown of a class's latency (`workload/class`).
    ExplainClass(String),
}

impl Command {
    /// Whether running this command would throw away unsaved changes.
    fn discards_document(&self) -> bool {
        matches!(
            self,
            Command::New
                | Command::Open
                | Command::OpenPath(_)
                | Command::OpenPreset(_)
                | Command::OpenTopology(_)
                | Command::Quit
        )
    }
}

/// Keyboard shortcuts, shown beside their menu items.
pub mod keys {
    use egui::{Key, KeyboardShortcut, Modifiers};
    const fn command(key: Key) -> KeyboardShortcut {
        KeyboardShortcut::new(Modifiers::COMMAND, key)
    }
    pub const NEW: KeyboardShortcut = command(Key::N);
    pub const OPEN: KeyboardShortcut = command(Key::O);
    pub const SAVE: KeyboardShortcut = command(Key::S);
    pub const SAVE_AS: KeyboardShortcut =
        KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::S);
    pub const UNDO: KeyboardShortcut = command(Key::Z);
    pub const REDO: KeyboardShortcut =
        KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::Z);
    pub const REDO_Y: KeyboardShortcut = command(Key::Y);
    pub const COPY: KeyboardShortcut = command(Key::C);
    pub const CUT: KeyboardShortcut = command(Key::X);
    pub const PASTE: KeyboardShortcut = command(Key::V);
    pub const DUPLICATE: KeyboardShortcut = command(Key::D);
    pub const SELECT_ALL: KeyboardShortcut = command(Key::A);
    pub const FIT: KeyboardShortcut = command(Key::Num0);
    pub const QUIT: KeyboardShortcut = command(Key::Q);
    pub const DELETE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Delete);
    pub const ESCAPE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Escape);
}

const RECENT_KEY: &str = "staircase.recent";
const MAX_RECENT: usize = 8;
/// Above this many nodes, end-to-end percentiles are solved in the background once edits
/// settle; smaller documents are solved in full on the frame of the edit.
const LIVE_PERCENTILE_NODES: usize = 60;
/// Debounce of background work while the document keeps changing, seconds.
const SWEEP_SETTLE_SECONDS: f64 = 0.25;

/// The sweeps behind the plots, computed in the background for one document and load.
pub struct Sweeps {
    pub for_topology: Topology,
    pub load: Option<LoadSweep>,
    /// Cost against p99 for instance counts of the bottleneck tier.
    pub instances: Option<(String, Vec<InstancePoint>)>,
}

/// Background jobs of the app.
#[derive(Default)]
struct Background {
    /// The full report (end-to-end percentiles included) of a large document.
    solve: Job<(Topology, f64, Result<Report, String>)>,
    sweeps: Job<Sweeps>,
    plan: Job<Result<crate::analysis::planner::Plan, String>>,
    timeline: Job<Result<crate::analysis::timeline::Timeline, String>>,
    /// A full report taken by `settle`, applied once the other jobs are collected.
    solve_done: Option<(Topology, f64, Result<Report, String>)>,
}

/// The application state.
pub struct StaircaseApp {
    /// The document being edited.
    pub topology: Topology,
    /// The document as last opened or saved, to tell whether there are unsaved changes.
    saved: Topology,
    pub path: Option<PathBuf>,
    undoer: Undoer<Topology>,
    /// The solved report of the current document, or why it could not be solved.
    pub report: Result<Report, String>,
    /// The document and what-if load the report belongs to.
    solved_for: Option<(Topology, f64)>,
    /// The sweeps behind the plots (from the background).
    pub sweeps: Option<Sweeps>,
    last_edit_time: f64,
    /// What the user selected on the canvas.
    pub selection: Selection,
    /// The last copied fragment (also put on the system clipboard).
    clipboard: Option<String>,
    picker: Box<dyn FilePicker>,
    pub recent: Vec<PathBuf>,
    /// A message for the user (failed load or save), shown until dismissed.
    pub error: Option<String>,
    /// A command waiting for the unsaved-changes answer.
    pub pending: Option<Command>,
    canvas: Canvas,
    close_confirmed: bool,
    pub(crate) workload_index: usize,
    /// Frame time of the last frames, seconds (shown in the status bar).
    pub frame_seconds: f64,
    /// Smoothed wall time between frames, seconds (rendering included).
    pub frame_interval: f64,
    last_frame_at: Option<std::time::Instant>,
    /// The end-to-end percentiles of the report are out of date (being recomputed).
    pub percentiles_pending: bool,
    /// Time of the current frame, seconds.
    now: f64,
    /// A message about the last export or plan.
    pub notice: Option<String>,
    /// What-if load multiplier: every workload × this (not part of the document).
    pub load_multiplier: f64,
    /// The SLO planner's goal: req/s and p99 in ms.
    pub plan_goal: crate::analysis::planner::Goal,
    /// The last plan, or why it failed.
    pub plan: Option<Result<crate::analysis::planner::Plan, String>>,
    /// The timeline window's settings and last run.
    pub timeline: panels::TimelineState,
    /// The From your measurements dialog.
    pub calibrate: calibrate::CalibrateDialog,
    background: Background,
    /// The window title last sent (sent again only when it changes).
    title: String,
    /// The document the running sweeps were started for.
    sweeps_started_for: Option<Topology>,
    /// The in-app path dialog, open while it waits for an answer.
    pub path_dialog: Option<PathDialog>,
    /// Autosave, crash recovery and the data directory.
    session: recovery::Session,
    /// The preset browser window (File → Open preset…).
    pub browser: browser::PresetBrowser,
    /// Simulate → Check with simulation.
    pub simulation: simulation::SimulationWindow,
    /// The pinned baseline, the Compare window and the latency breakdown.
    pub review: review::ReviewState,
}

impl StaircaseApp {
    /// A new app showing `topology`, with `picker` for file dialogs.
    pub fn new(topology: Topology, picker: Box<dyn FilePicker>) -> Self {
        let mut app = StaircaseApp {
            saved: topology.clone(),
            topology,
            path: None,
            undoer: Undoer::default(),
            report: Err("not solved yet".into()),
            solved_for: None,
            sweeps: None,
            last_edit_time: f64::NEG_INFINITY,
            selection: Selection::default(),
            clipboard: None,
            picker,
            recent: Vec::new(),
            error: None,
            pending: None,
            canvas: Canvas::default(),
            close_confirmed: false,
            workload_index: 0,
            frame_seconds: 0.0,
            frame_interval: 0.0,
            last_frame_at: None,
            percentiles_pending: false,
            now: 0.0,
            notice: None,
            load_multiplier: 1.0,
            plan_goal: crate::analysis::planner::Goal {
                rps: 1000.0,
                p99_ms: 200.0,
            },
            plan: None,
            timeline: panels::TimelineState::default(),
            calibrate: calibrate::CalibrateDialog::default(),
            background: Background::default(),
            title: String::new(),
            sweeps_started_for: None,
            path_dialog: None,
            session: recovery::Session::default(),
            browser: browser::PresetBrowser::default(),
            simulation: simulation::SimulationWindow::default(),
            review: review::ReviewState::default(),
        };
        let topology = app.topology.clone();
        app.replace_document(topology, None);
        app
    }

    /// Selects the bottleneck node, so the inspector opens on what limits the system.
    fn select_bottleneck(&mut self) {
        self.selection = self
            .report()
            .and_then(|r| r.bottleneck.as_ref())
            .map_or_else(Selection::default, |b| Selection::only(b.id));
    }

    /// Selects only node `id` (as a click on it does).
    pub fn select_node(&mut self, id: NodeId) {
        self.selection = Selection::only(id);
    }

    /// The single selected node, if exactly one is selected.
    pub fn selected(&self) -> Option<NodeId> {
        self.selection.single()
    }

    /// The app as eframe starts it: the default preset, or `file` if given (a file that cannot
    /// be opened shows its error over the default preset), the recent files, and autosaves
    /// to restore, from the user's data directory.
    pub fn from_creation_context(cc: &eframe::CreationContext<'_>, file: Option<PathBuf>) -> Self {
        let topology = presets::default_topology().unwrap_or_default();
        let mut app = StaircaseApp::new(topology, Box::new(NativePicker::default()));
        if let Some(data_dir) = recovery::default_data_dir() {
            app = app.with_data_dir(data_dir);
        }
        if let Some(storage) = cc.storage.filter(|_| app.recent.is_empty()) {
            app.recent = eframe::get_value(storage, RECENT_KEY).unwrap_or_default();
        }
        app.with_file(file.as_deref())
    }

    /// Opens `file`, if given; when it cannot be opened, the error banner names the file, line
    /// and column, and the current document stays.
    pub fn with_file(mut self, file: Option<&Path>) -> Self {
        if let Some(path) = file {
            self.open_path(path);
        }
        self
    }

    /// Whether the document differs from the file it came from.
    pub fn is_dirty(&self) -> bool {
        self.topology != self.saved
    }

    /// The solved report, if the document could be solved.
    pub fn report(&self) -> Option<&Report> {
        self.report.as_ref().ok()
    }

    /// The solver's parameters for the document as shown (with the what-if load).
    fn params(&self, class_percentiles: bool) -> Params {
        Params {
            load_multiplier: self.load_multiplier,
            class_percentiles,
            ..Params::default()
        }
    }

    /// Solves the document if it (or the what-if load) changed since the last solve. Small
    /// documents are solved in full at once; on large ones every figure but the end-to-end
    /// percentiles is solved at once, and the full report follows from the background.
    pub fn ensure_solved(&mut self, ctx: &egui::Context) {
        let current = self.solved_for.as_ref().is_some_and(|(solved, load)| {
            solved.same_model(&self.topology) && *load == self.load_multiplier
        });
        if !current {
            // Any change to the model counts as an edit, wherever it came from.
            self.last_edit_time = self.now;
            let large = self.topology.nodes.len() > LIVE_PERCENTILE_NODES;
            self.report = solve(&self.topology, &self.params(!large)).map_err(|e| e.to_string());
            self.solved_for = Some((self.topology.clone(), self.load_multiplier));
            self.percentiles_pending = large && self.report.is_ok();
            self.background.solve.cancel();
        }
        if self.percentiles_pending && !self.background.solve.is_running() {
            let waited = self.now - self.last_edit_time;
            if waited < SWEEP_SETTLE_SECONDS {
                ctx.request_repaint_after(Duration::from_secs_f64(SWEEP_SETTLE_SECONDS - waited));
                return;
            }
            let topology = self.topology.clone();
            let params = Params {
                parallel: false,
                ..self.params(true)
            };
            self.background.solve.start(ctx, move |_| {
                let report = solve(&topology, &params).map_err(|e| e.to_string());
                (topology, params.load_multiplier, report)
            });
        }
    }

    /// Takes finished background work whose document is still the current one.
    fn collect_background(&mut self) {
        let same = |topology: &Topology, load: f64, app: &StaircaseApp| {
            topology.same_model(&app.topology) && load == app.load_multiplier
        };
        if let Some((topology, load, report)) = self.background.solve.poll() {
            if same(&topology, load, self) {
                self.report = report;
                self.percentiles_pending = false;
            }
        }
        if let Some(sweeps) = self.background.sweeps.poll() {
            self.sweeps = Some(sweeps);
        }
        if let Some(plan) = self.background.plan.poll() {
            self.plan = Some(plan);
        }
        if let Some(timeline) = self.background.timeline.poll() {
            self.timeline.result = Some(timeline);
        }
    }

    /// Starts the sweeps behind the plots once the document has settled.
    fn ensure_sweeps(&mut self, ctx: &egui::Context) {
        let current = self
            .sweeps
            .as_ref()
            .is_some_and(|s| s.for_topology.same_model(&self.topology));
        let started = self
            .sweeps_started_for
            .as_ref()
            .is_some_and(|t| t.same_model(&self.topology));
        if current || self.background.sweeps.is_running() && started {
            return;
        }
        let waited = self.now - self.last_edit_time;
        let small = self.topology.nodes.len() <= LIVE_PERCENTILE_NODES;
        if !small && waited < SWEEP_SETTLE_SECONDS {
            ctx.request_repaint_after(Duration::from_secs_f64(SWEEP_SETTLE_SECONDS - waited));
            return;
        }
        let topology = self.topology.clone();
        let report = self.report().cloned();
        self.sweeps_started_for = Some(topology.clone());
        self.background.sweeps.start(ctx, move |progress| {
            compute_sweeps(topology, report.as_ref(), progress)
        });
    }

    /// Runs `command`, asking first when it would discard unsaved changes.
    pub fn run(&mut self, command: Command, ctx: &egui::Context) {
        if command.discards_document() && self.is_dirty() {
            self.pending = Some(command);
            return;
        }
        self.run_confirmed(command, ctx);
    }

    /// Runs `command` without asking.
    fn run_confirmed(&mut self, command: Command, ctx: &egui::Context) {
        match command {
            Command::New => self.replace_document(Topology::default(), None),
            Command::FitView => self.canvas.request_fit(),
            Command::OpenTopology(topology) => self.replace_document(*topology, None),
            Command::Open => self.ask_path(FileAction::Open),
            Command::OpenPath(path) => self.open_path(&path),
            Command::OpenPreset(file) => match presets::find(file).map(|p| p.load()) {
                Some(Ok(topology)) => self.replace_document(topology, None),
                Some(Err(error)) => self.error = Some(error.to_string()),
                None => self.error = Some(format!("no preset called {file}")),
            },
            Command::Save => match self.path.clone() {
                Some(path) => self.save_to(&path),
                None => self.run_confirmed(Command::SaveAs, ctx),
            },
            Command::SaveAs => self.ask_path(FileAction::SaveAs),
            Command::Undo => {
                if let Some(state) = self.undoer.undo(&self.topology) {
                    self.topology = state.clone();
                    self.selection.retain_existing(&self.topology);
                }
            }
            Command::Redo => {
                if let Some(state) = self.undoer.redo(&self.topology) {
                    self.topology = state.clone();
                    self.selection.retain_existing(&self.topology);
                }
            }
            Command::Quit => {
                self.close_confirmed = true;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            Command::Export => self.ask_path(FileAction::ExportCharts),
            Command::Plan => self.start_plan(ctx),
            Command::RunTimeline => self.start_timeline(ctx),
            Command::CheckWithSimulation => {
                self.simulation
                    .start(ctx, &self.topology, self.load_multiplier)
            }
            Command::ExportTimeline => self.ask_path(FileAction::ExportTimeline),
            Command::PinBaseline => self.pin_baseline(),
            Command::ClearBaseline => {
                self.review.baseline = None;
                self.review.compare_open = false;
            }
            Command::ShowCompare => self.review.compare_open = self.review.baseline.is_some(),
            Command::PinOnOpen(pin) => self.review.pin_on_open = pin,
            Command::ExplainClass(name) => self.review.explain = Some(name),
            Command::ApplyPlan => {
                self.apply_plan();
            }
            Command::IfSaved(inner) => {
                // A save through the in-app dialog runs `inner` once the user answers.
                if let Some(inner) = self.after_save_dialog(*inner) {
                    if !self.is_dirty() {
                        self.run_confirmed(inner, ctx);
                    }
                }
            }
            command => self.edit(command, ctx),
        }
    }

    /// Commands that edit the document or the selection.
    fn edit(&mut self, command: Command, ctx: &egui::Context) {
        match command {
            Command::AddNode(kind) => {
                let position = self
                    .canvas
                    .visible_spot(&self.topology)
                    .unwrap_or_else(|| canvas::default_position(self.topology.nodes.len()));
                self.add_node(kind, position);
            }
            Command::DeleteSelected => self.delete_selection(),
            Command::SelectAll => {
                self.selection = Selection {
                    nodes: self.topology.nodes.iter().map(|n| n.id).collect(),
                    wire: None,
                };
            }
            Command::ClearSelection => self.selection.clear(),
            Command::Copy => self.copy(ctx),
            Command::Cut => {
                self.copy(ctx);
                self.delete_selection();
            }
            Command::Paste(text) => {
                let fragment = text
                    .as_deref()
                    .and_then(selection::parse_fragment)
                    .or_else(|| {
                        self.clipboard
                            .as_deref()
                            .and_then(selection::parse_fragment)
                    });
                match fragment {
                    Some(fragment) => self.paste(&fragment),
                    None => self.notice = Some("Nothing to paste: copy nodes first.".into()),
                }
            }
            Command::Duplicate => {
                let fragment = selection::copy_fragment(&self.topology, &self.selection.nodes)
                    .as_deref()
                    .and_then(selection::parse_fragment);
                if let Some(fragment) = fragment {
                    self.paste(&fragment);
                }
            }
            Command::Canvas(action) => self.canvas_action(action),
            _ => {}
        }
    }

    fn canvas_action(&mut self, action: CanvasAction) {
        match action {
            CanvasAction::Add(kind, position) => self.add_node(kind, position),
            CanvasAction::Remove(id) => {
                // "Delete" on a selected node deletes the whole selection, as in other editors.
                if self.selection.nodes.contains(&id) {
                    self.delete_selection();
                } else {
                    self.remove_nodes(&[id]);
                    self.selection.retain_existing(&self.topology);
                }
            }
            CanvasAction::Connect(from, to) => {
                if !self
                    .topology
                    .edges
                    .iter()
                    .any(|e| e.from == from && e.to == to)
                {
                    self.topology.edges.push(Edge::route(from, to));
                    self.topology.normalize();
                }
            }
            CanvasAction::Disconnect(from, to) => {
                self.topology
                    .edges
                    .retain(|e| !(e.from == from && e.to == to));
                self.selection.retain_existing(&self.topology);
            }
            CanvasAction::Click { pick, toggle } => self.selection.click(pick, toggle),
            CanvasAction::SelectMore(nodes) => self.selection.extend(nodes),
        }
    }

    fn add_node(&mut self, kind: crate::model::NodeKind, position: Position) {
        let id = self.topology.next_id();
        let mut node = Node::of_kind(id, kind);
        if let Some(region) = self.topology.regions.first() {
            node.region = region.name.clone();
        }
        self.topology.nodes.push(node);
        self.topology.layout.insert(id, position);
        self.selection = Selection::only(id);
    }

    fn remove_nodes(&mut self, ids: &[NodeId]) {
        let gone = |id: &NodeId| ids.contains(id);
        self.topology.nodes.retain(|n| !gone(&n.id));
        self.topology
            .edges
            .retain(|e| !gone(&e.from) && !gone(&e.to));
        self.topology.layout.retain(|id, _| !gone(id));
        self.topology.workloads.retain(|w| !gone(&w.client));
    }

    /// Deletes every selected node with its wires, or the selected wire; nothing stays selected.
    fn delete_selection(&mut self) {
        let nodes: Vec<NodeId> = self.selection.nodes.iter().copied().collect();
        self.remove_nodes(&nodes);
        if let Some((from, to)) = self.selection.wire {
            self.topology
                .edges
                .retain(|e| !(e.from == from && e.to == to));
        }
        self.selection.clear();
    }

    fn copy(&mut self, ctx: &egui::Context) {
        if let Some(text) = selection::copy_fragment(&self.topology, &self.selection.nodes) {
            ctx.copy_text(text.clone());
            self.clipboard = Some(text);
        }
    }

    /// Pastes `fragment` beside its original when that is in view (a further step for each
    /// paste), else at the centre of the view; the pasted nodes become the selection.
    fn paste(&mut self, fragment: &Topology) {
        let corner = fragment
            .layout
            .values()
            .fold(None, |low: Option<Position>, p| {
                Some(low.map_or(*p, |l| Position {
                    x: l.x.min(p.x),
                    y: l.y.min(p.y),
                }))
            })
            .unwrap_or_default();
        let step = selection::PASTE_OFFSET;
        let near = |a: &Position, b: &Position| (a.x - b.x).abs() < 1.0 && (a.y - b.y).abs() < 1.0;
        let shifted = |p: &Position, offset: Position| Position {
            x: p.x + offset.x,
            y: p.y + offset.y,
        };
        // Copies of nodes still in this document go beside them (one more step for each
        // paste already there); anything else goes where the user is looking.
        let beside_original = fragment
            .layout
            .values()
            .any(|p| self.topology.layout.values().any(|q| near(p, q)));
        let mut offset = Position { x: step, y: step };
        if beside_original {
            let occupied = |offset: Position, topology: &Topology| {
                fragment.layout.values().any(|p| {
                    let moved = shifted(p, offset);
                    topology.layout.values().any(|q| near(&moved, q))
                })
            };
            while occupied(offset, &self.topology) && offset.x < step * 100.0 {
                offset.x += step;
                offset.y += step;
            }
        } else if let Some(spot) = self.canvas.visible_spot(&self.topology) {
            offset = Position {
                x: spot.x - corner.x,
                y: spot.y - corner.y,
            };
        }
        let added = selection::paste_fragment(&mut self.topology, fragment, offset);
        self.selection = Selection {
            nodes: added.into_iter().collect(),
            wire: None,
        };
    }

    fn start_plan(&mut self, ctx: &egui::Context) {
        let topology = self.topology.clone();
        let goal = self.plan_goal;
        self.background.plan.start(ctx, move |_| {
            crate::analysis::planner::plan(
                &topology,
                &goal,
                crate::model::catalog::Catalog::builtin(),
            )
            .map_err(|e| e.to_string())
        });
    }

    fn start_timeline(&mut self, ctx: &egui::Context) {
        let scenario = match self.timeline.scenario(&self.topology, self.report()) {
            Ok(scenario) => scenario,
            Err(error) => {
                self.timeline.result = Some(Err(error));
                return;
            }
        };
        let topology = self.topology.clone();
        self.background.timeline.start(ctx, move |_| {
            crate::analysis::timeline::run(&topology, &scenario).map_err(|e| e.to_string())
        });
    }

    /// The state of the background work, for the status bar: (what, share done, seconds).
    pub fn background_status(&self) -> Vec<(&'static str, f32, f64)> {
        let jobs = [
            ("percentiles", self.background.solve.status()),
            ("sweeps", self.background.sweeps.status()),
            ("planner", self.background.plan.status()),
            ("timeline", self.background.timeline.status()),
        ];
        jobs.into_iter()
            .filter_map(|(name, status)| status.map(|(f, t)| (name, f, t.as_secs_f64())))
            .collect()
    }

    /// The canvas layer (its transform maps node widgets to the screen).
    pub fn canvas_layer(&self) -> egui::LayerId {
        self.canvas.layer()
    }

    /// Each node's rectangle on screen as last drawn.
    pub fn canvas_node_rects(&self) -> Vec<(NodeId, egui::Rect)> {
        self.canvas.screen_rects()
    }

    /// Each wire's middle point on screen as last drawn: (from, to, point).
    pub fn canvas_wire_midpoints(&self) -> Vec<(NodeId, NodeId, egui::Pos2)> {
        self.canvas
            .screen_wires()
            .into_iter()
            .map(|(from, to, start, end)| (from, to, canvas::bezier_points(start, end)[12]))
            .collect()
    }

    /// Each wire drawn on the canvas last frame (those in view) with its width on screen.
    pub fn canvas_wire_widths(&self) -> Vec<(NodeId, NodeId, f32)> {
        self.canvas.wire_widths().to_vec()
    }

    /// The canvas's grid, snapping, minimap and flow animation (View menu).
    pub fn canvas_options_mut(&mut self) -> &mut canvas::CanvasOptions {
        self.canvas.options_mut()
    }

    /// Every node name as painted on the canvas last frame: screen rectangle and font size.
    pub fn canvas_names(&self) -> Vec<canvas::NameShown> {
        self.canvas.names_shown().to_vec()
    }

    /// The nodes drawn with a mark of the check with simulation last frame.
    pub fn canvas_simulation_marks(&self) -> Vec<NodeId> {
        self.canvas.simulation_marked().to_vec()
    }

    /// The nodes the canvas laid out last frame (those in view; the others keep their last
    /// drawn place).
    pub fn canvas_nodes_laid_out(&self) -> Vec<NodeId> {
        self.canvas.laid_out()
    }

    /// The canvas rectangle on screen as last drawn.
    pub fn canvas_rect(&self) -> Option<egui::Rect> {
        self.canvas.viewport()
    }

    /// Whether the planner or the timeline is computing (their buttons show a spinner).
    pub fn planning(&self) -> bool {
        self.background.plan.is_running()
    }

    pub fn timeline_running(&self) -> bool {
        self.background.timeline.is_running()
    }

    /// Blocks until every background job has finished and takes the results (tests and
    /// benchmarks; the app itself never waits).
    pub fn settle(&mut self, limit: Duration) {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let jobs = &mut self.background;
            if let Some(result) = jobs.solve.wait(left) {
                jobs.solve_done = Some(result);
            }
            if let Some(result) = jobs.sweeps.wait(left) {
                self.sweeps = Some(result);
            }
            if let Some(result) = jobs.plan.wait(left) {
                self.plan = Some(result);
            }
            if let Some(result) = jobs.timeline.wait(left) {
                self.timeline.result = Some(result);
            }
            if let Some((topology, load, report)) = self.background.solve_done.take() {
                if topology.same_model(&self.topology) && load == self.load_multiplier {
                    self.report = report;
                    self.percentiles_pending = false;
                }
            }
            let jobs = &self.background;
            if !(jobs.solve.is_running()
                || jobs.sweeps.is_running()
                || jobs.plan.is_running()
                || jobs.timeline.is_running())
            {
                break;
            }
        }
    }

    fn export(&mut self, folder: &Path) {
        let Ok(report) = self.report.clone() else {
            self.error = Some("nothing to export: the topology does not solve".into());
            return;
        };
        let loads = load_multipliers(report.headroom, 40);
        let result = load_sweep(&self.topology, &Params::default(), &loads)
            .map_err(|e| e.to_string())
            .and_then(|sweep| {
                let (stem, name) =
                    crate::io::export::export_names(self.path.as_deref(), &self.topology.name);
                use crate::io::export::Format;
                crate::io::export::export_all(
                    &report,
                    &sweep,
                    &name,
                    folder,
                    &stem,
                    &[Format::Png, Format::Svg, Format::Csv],
                )
                .map_err(|e| e.to_string())
            });
        match result {
            Ok(paths) => {
                self.notice = Some(format!(
                    "Exported {} files to {}",
                    paths.len(),
                    folder.display()
                ));
            }
            Err(error) => self.error = Some(error),
        }
    }

    /// Forgets the unsaved changes (the user chose to discard them).
    pub fn discard_changes(&mut self) {
        self.saved = self.topology.clone();
    }

    /// Keeps the current design and its report as the baseline (nothing to keep when the
    /// design does not solve).
    fn pin_baseline(&mut self) {
        match &self.report {
            Ok(report) => {
                self.review.baseline = Some(review::Baseline {
                    topology: self.topology.clone(),
                    report: report.clone(),
                });
                self.notice = Some(format!(
                    "Pinned \"{}\" as the baseline: figures now show their change against it.",
                    self.topology.name
                ));
            }
            Err(error) => self.error = Some(format!("Nothing to pin: {error}")),
        }
    }

    fn replace_document(&mut self, mut topology: Topology, path: Option<PathBuf>) {
        if self.review.pin_on_open {
            self.pin_baseline();
        }
        // Nodes without a stored position get one on a grid; that is not an unsaved change.
        for (index, node) in topology.nodes.iter().enumerate() {
            topology
                .layout
                .entry(node.id)
                .or_insert_with(|| canvas::default_position(index));
        }
        self.saved = topology.clone();
        self.topology = topology;
        self.path = path;
        self.undoer = Undoer::default();
        self.workload_index = 0;
        self.error = None;
        // A newly opened document is solved in full at once.
        self.report = solve(&self.topology, &self.params(true)).map_err(|e| e.to_string());
        self.solved_for = Some((self.topology.clone(), self.load_multiplier));
        self.percentiles_pending = false;
        self.background.solve.cancel();
        self.select_bottleneck();
        self.background.plan.cancel();
        self.sweeps = None;
        self.reset_planner();
        self.canvas.request_fit();
    }

    /// Opens `path`; on failure shows the error and keeps the current document.
    pub fn open_path(&mut self, path: &Path) {
        match document::load(path) {
            Ok(topology) => {
                self.replace_document(topology, Some(path.to_path_buf()));
                self.remember(path);
            }
            Err(error) => self.error = Some(error.to_string()),
        }
    }

    fn save_to(&mut self, path: &Path) {
        match document::save(path, &self.topology) {
            Ok(()) => {
                self.topology.normalize();
                self.saved = self.topology.clone();
                self.path = Some(path.to_path_buf());
                self.remember(path);
            }
            Err(error) => self.error = Some(error.to_string()),
        }
    }

    fn remember(&mut self, path: &Path) {
        self.recent.retain(|p| p != path);
        self.recent.insert(0, path.to_path_buf());
        self.recent.truncate(MAX_RECENT);
        self.store_recent();
    }

    /// Keyboard shortcuts and the clipboard events of the platform. Editing keys act on the
    /// canvas only while no text field has the keyboard.
    fn shortcuts(&mut self, ctx: &egui::Context) -> Vec<Command> {
        let mut commands = Vec::new();
        let global = [
            (keys::REDO, Command::Redo),
            (keys::SAVE_AS, Command::SaveAs),
            (keys::UNDO, Command::Undo),
            (keys::REDO_Y, Command::Redo),
            (keys::NEW, Command::New),
            (keys::OPEN, Command::Open),
            (keys::SAVE, Command::Save),
            (keys::FIT, Command::FitView),
            (keys::QUIT, Command::Quit),
        ];
        // Text fields and open prompts keep their keys (Escape closes a prompt, not a selection).
        let typing = ctx.egui_wants_keyboard_input() || self.modal_open();
        ctx.input_mut(|input| {
            for (shortcut, command) in global {
                if input.consume_shortcut(&shortcut) {
                    commands.push(command);
                }
            }
            if typing {
                return;
            }
            let editing = [
                (keys::COPY, Command::Copy),
                (keys::CUT, Command::Cut),
                (keys::PASTE, Command::Paste(None)),
                (keys::DUPLICATE, Command::Duplicate),
                (keys::SELECT_ALL, Command::SelectAll),
                (keys::DELETE, Command::DeleteSelected),
                (keys::ESCAPE, Command::ClearSelection),
            ];
            for (shortcut, command) in editing {
                if input.consume_shortcut(&shortcut) {
                    commands.push(command);
                }
            }
            if input.consume_key(Modifiers::NONE, Key::Backspace) {
                commands.push(Command::DeleteSelected);
            }
            // The platform turns Ctrl+C/X/V into these events (with the clipboard's text).
            for event in &input.events {
                match event {
                    egui::Event::Copy => commands.push(Command::Copy),
                    egui::Event::Cut => commands.push(Command::Cut),
                    egui::Event::Paste(text) => commands.push(Command::Paste(Some(text.clone()))),
                    _ => {}
                }
            }
        });
        commands
    }

    /// Whether a prompt or dialog is open (it takes the keyboard, Escape included).
    fn modal_open(&self) -> bool {
        self.pending.is_some()
            || self.path_dialog.is_some()
            || (!self.is_dirty() && !self.session.offers.is_empty())
    }

    fn window_title(&self) -> String {
        let name = self.path.as_ref().map_or_else(
            || {
                if self.topology.name.is_empty() {
                    "untitled".to_string()
                } else {
                    self.topology.name.clone()
                }
            },
            |p| p.display().to_string(),
        );
        format!(
            "{}{} — Staircase",
            if self.is_dirty() { "• " } else { "" },
            name
        )
    }

    /// Measures the time between frames (shown in the status bar).
    fn time_frame(&mut self, started: std::time::Instant) {
        if let Some(previous) = self.last_frame_at.replace(started) {
            let interval = (started - previous).as_secs_f64();
            self.frame_interval = if self.frame_interval == 0.0 {
                interval
            } else {
                0.9 * self.frame_interval + 0.1 * interval
            };
        }
    }

    /// One frame of the whole UI.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        let started = std::time::Instant::now();
        self.time_frame(started);
        self.now = ctx.input(|i| i.time);
        let before = self.topology.clone();

        self.collect_background();
        for command in self.shortcuts(&ctx) {
            self.run(command, &ctx);
        }
        if ctx.input(|i| i.viewport().close_requested()) && !self.close_confirmed && self.is_dirty()
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.pending = Some(Command::Quit);
        }
        self.canvas.sync_from(&self.topology);
        self.ensure_solved(&ctx);

        let mut commands = self.panels(ui, &ctx);
        self.follow_dragged_node();
        for command in commands.drain(..) {
            self.run(command, &ctx);
        }
        self.selection.retain_existing(&self.topology);
        if !self.topology.same_model(&before) {
            self.ensure_solved(&ctx);
            ctx.request_repaint();
        }
        self.ensure_sweeps(&ctx);
        if self.background_status().iter().any(|(_, _, _)| true) {
            // Progress bars move while work runs; results themselves wake the UI up.
            ctx.request_repaint_after(Duration::from_millis(200));
        }
        self.undoer.feed_state(self.now, &self.topology);
        self.autosave_tick(&ctx);
        let title = self.window_title();
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
        self.frame_seconds = started.elapsed().as_secs_f64();
    }

    /// Draws the panels and the canvas; returns the commands they asked for.
    fn panels(&mut self, ui: &mut egui::Ui, ctx: &egui::Context) -> Vec<Command> {
        let mut commands = Vec::new();
        egui::Panel::top("menu").show(ui, |ui| {
            panels::menu_bar(self, ui, &mut commands);
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            panels::status_bar(self, ui);
        });
        // First sizes leave the canvas room in small windows; the user's sizes are remembered.
        let window = ctx.content_rect().size();
        egui::Panel::left("palette")
            .resizable(true)
            .default_size((window.x * 0.19).clamp(180.0, 230.0))
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("left-scroll")
                    .show(ui, |ui| {
                        panels::palette(ui, &mut commands);
                        ui.separator();
                        panels::workload_panel(self, ui);
                    });
            });
        egui::Panel::right("inspector")
            .resizable(true)
            .default_size((window.x * 0.25).clamp(250.0, 320.0))
            .show(ui, |ui| {
                // Wide content (a database's fields) is clipped rather than widening the panel:
                // the canvas never jumps when another node is selected.
                panels::keep_width(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("right-scroll")
                        .show(ui, |ui| {
                            about::about_section(self, ui);
                            ui.separator();
                            inspector::inspector(self, ui);
                            // Edits above are solved before the figures below are drawn.
                            self.ensure_solved(ctx);
                            ui.separator();
                            panels::what_if(self, ui);
                            self.ensure_solved(ctx);
                            panels::metrics(self, ui, &mut commands);
                            ui.separator();
                            panels::planner(self, ui, &mut commands);
                        });
                });
            });
        egui::Panel::bottom("plots")
            .resizable(true)
            .default_size((window.y * 0.3).clamp(170.0, 260.0))
            .show(ui, |ui| {
                panels::plots(self, ui);
            });
        egui::CentralPanel::default().show(ui, |ui| {
            self.banners(ui);
            let marks = self
                .simulation
                .marks_for(&self.topology, self.load_multiplier);
            let actions = self.canvas.show(
                ui,
                &self.topology,
                self.report.as_ref().ok(),
                &self.selection,
                marks,
            );
            commands.extend(actions.into_iter().map(Command::Canvas));
        });
        panels::timeline_window(self, ctx, &mut commands);
        recovery::restore_prompt(self, ctx);
        dialogs::path_dialog(self, ctx, &mut commands);
        self.browser.show(ctx, &mut commands);
        self.simulation.show(ctx, &self.topology);
        review::compare_window(self, ctx);
        review::explain_window(self, ctx);
        if let Some(topology) = self.calibrate.show(ctx) {
            commands.push(Command::OpenTopology(Box::new(topology)));
        }
        panels::unsaved_prompt(self, ctx, &mut commands);
        commands
    }

    /// The notice and error banners above the canvas.
    fn banners(&mut self, ui: &mut egui::Ui) {
        if let Some(notice) = self.notice.clone() {
            ui.horizontal(|ui| {
                ui.label(&notice);
                if ui.button("OK").clicked() {
                    self.notice = None;
                }
            });
        }
        if let Some(error) = self.error.clone() {
            ui.horizontal(|ui| {
                ui.colored_label(theme::error_text(), &error);
                if ui.button("Dismiss").clicked() {
                    self.error = None;
                }
            });
        }
    }

    /// Canvas positions are part of the document (metadata beside the model). A node dragged
    /// while others are selected with it brings them along by the same distance.
    fn follow_dragged_node(&mut self) {
        let moved: Vec<(NodeId, Position)> = self
            .canvas
            .positions()
            .into_iter()
            .filter(|(id, position)| {
                let stored = self.topology.layout.get(id).copied();
                self.topology.node(*id).is_some()
                    && stored.is_none_or(|p| {
                        (p.x - position.x).abs() > 0.5 || (p.y - position.y).abs() > 0.5
                    })
            })
            .collect();
        let mut followers = Vec::new();
        if let [(dragged, position)] = moved.as_slice() {
            if self.selection.nodes.contains(dragged) {
                if let Some(old) = self.topology.layout.get(dragged).copied() {
                    let (dx, dy) = (position.x - old.x, position.y - old.y);
                    for id in self.selection.nodes.iter().filter(|id| *id != dragged) {
                        if let Some(p) = self.topology.layout.get(id).copied() {
                            followers.push((
                                *id,
                                Position {
                                    x: p.x + dx,
                                    y: p.y + dy,
                                },
                            ));
                        }
                    }
                }
            }
        }
        self.canvas.set_positions(&followers);
        for (id, position) in moved.into_iter().chain(followers) {
            self.topology.layout.insert(id, position);
        }
    }
}

/// The load sweep and the instance sweep of the bottleneck tier, one solve at a time on this
/// (low-priority) thread, so that the UI keeps a core, progress shows and a newer document
/// can cancel them.
fn compute_sweeps(
    topology: Topology,
    report: Option<&Report>,
    progress: &jobs::Progress,
) -> Sweeps {
    let serial = Params {
        parallel: false,
        ..Params::default()
    };
    let base = solve(
        &topology,
        &Params {
            class_percentiles: false,
            ..serial.clone()
        },
    );
    let knee = base.as_ref().ok().and_then(|r| r.headroom);
    let loads = load_multipliers(knee, 24);
    let bottleneck = report
        .and_then(|r| r.bottleneck.as_ref())
        .and_then(|b| topology.node(b.id))
        .map(|n| (n.id, n.name.clone(), n.instances));
    let counts = bottleneck
        .as_ref()
        .map(|(_, _, instances)| crate::analysis::sweep::instance_counts(*instances, 12))
        .unwrap_or_default();
    progress.set_total((loads.len() + counts.len()) as u32);
    let mut points = Vec::new();
    let solver = crate::solver::Solver::new(&topology);
    let mut failed = base.is_err() || solver.is_err();
    for load in loads {
        if progress.cancelled() {
            break;
        }
        let point = solver
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|solver| crate::analysis::sweep::load_point(solver, &serial, load));
        match point {
            Ok(point) => points.push(point),
            Err(_) => failed = true,
        }
        progress.step();
    }
    let load = (!failed).then_some(LoadSweep { points, knee });
    let mut instance_points = Vec::new();
    if let Some((id, _, _)) = &bottleneck {
        for count in counts {
            if progress.cancelled() {
                break;
            }
            if let Ok(point) = crate::analysis::sweep::instance_point(&topology, *id, count) {
                instance_points.push(point);
            }
            progress.step();
        }
    }
    Sweeps {
        instances: bottleneck.map(|(_, name, _)| (name, instance_points)),
        for_topology: topology,
        load,
    }
}

impl eframe::App for StaircaseApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, RECENT_KEY, &self.recent);
    }

    /// A clean exit leaves no autosave behind.
    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.remove_autosave();
    }
}

/// Opens the app window.
pub fn run_native(file: Option<PathBuf>) -> eframe::Result {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Staircase")
            .with_inner_size([1280.0, 800.0])
            .with_app_id("staircase"),
        ..Default::default()
    };
    eframe::run_native(
        "Staircase",
        options,
        Box::new(move |cc| Ok(Box::new(StaircaseApp::from_creation_context(cc, file)))),
    )
}
