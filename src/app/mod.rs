//! The desktop app: canvas, palette, inspector, metrics and plots over one document, with
//! files, recent files, undo and an unsaved-changes prompt. Every menu, toolbar and shortcut
//! action is a [`Command`] handled in [`StaircaseApp::run`]; panels only read the [`Report`].

mod canvas;
pub use canvas::CANVAS_ID;
mod calibrate;
mod panels;
pub mod theme;

use crate::document;
use crate::model::{Edge, Node, NodeId, Topology};
use crate::presets;
use crate::report::Report;
use crate::solver::{solve, Params};
use crate::sweep::{load_multipliers, load_sweep, LoadSweep};
use canvas::{Canvas, CanvasAction};
use egui::util::undoer::Undoer;
use egui::{Key, KeyboardShortcut, Modifiers};
use std::path::{Path, PathBuf};

/// Native file dialogs, behind a trait so that tests can answer them.
pub trait FilePicker {
    /// A file to open, or `None` if the user cancelled.
    fn open_file(&mut self) -> Option<PathBuf>;
    /// Where to save, or `None` if the user cancelled.
    fn save_file(&mut self, suggested_name: &str) -> Option<PathBuf>;
    /// A folder to export into, or `None` if the user cancelled.
    fn pick_folder(&mut self) -> Option<PathBuf> {
        None
    }
}

/// The platform's dialogs (rfd).
pub struct NativePicker;

impl FilePicker for NativePicker {
    fn open_file(&mut self) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .add_filter("Staircase topology", &["ron"])
            .pick_file()
    }

    fn save_file(&mut self, suggested_name: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .add_filter("Staircase topology", &["ron"])
            .set_file_name(suggested_name)
            .save_file()
    }

    fn pick_folder(&mut self) -> Option<PathBuf> {
        rfd::FileDialog::new().pick_folder()
    }
}

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
    DeleteSelected,
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
    /// Replaces the document with a topology built in a dialog (From your measurements).
    OpenTopology(Box<Topology>),
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

const RECENT_KEY: &str = "staircase.recent";
const MAX_RECENT: usize = 8;
/// Above this many nodes, end-to-end percentiles wait for edits to settle.
const LIVE_PERCENTILE_NODES: usize = 60;
/// Debounce of the load sweep while the document keeps changing, seconds.
const SWEEP_SETTLE_SECONDS: f64 = 0.25;

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
    solved_for: Option<Topology>,
    pub sweep: Option<LoadSweep>,
    sweep_for: Option<Topology>,
    last_edit_time: f64,
    pub selected: Option<NodeId>,
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
    /// The SLO planner's goal: req/s and p99 in ms.
    pub plan_goal: crate::planner::Goal,
    /// The last plan, or why it failed.
    pub plan: Option<Result<crate::planner::Plan, String>>,
    /// Cost against p99 for instance counts of the bottleneck tier.
    pub instance_sweep: Option<(String, Vec<crate::sweep::InstancePoint>)>,
    /// The timeline window's settings and last run.
    pub timeline: panels::TimelineState,
    /// The From your measurements dialog.
    pub calibrate: calibrate::CalibrateDialog,
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
            sweep: None,
            sweep_for: None,
            last_edit_time: f64::NEG_INFINITY,
            selected: None,
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
            plan_goal: crate::planner::Goal {
                rps: 1000.0,
                p99_ms: 200.0,
            },
            plan: None,
            instance_sweep: None,
            timeline: panels::TimelineState::default(),
            calibrate: calibrate::CalibrateDialog::default(),
        };
        let topology = app.topology.clone();
        app.replace_document(topology, None);
        app
    }

    /// Selects the bottleneck node, so the inspector opens on what limits the system.
    fn select_bottleneck(&mut self) {
        self.selected = self
            .report()
            .and_then(|r| r.bottleneck.as_ref())
            .map(|b| b.id);
    }

    /// The app as eframe starts it: the default preset, or `file` if given, and the recent
    /// files from the previous session.
    pub fn from_creation_context(cc: &eframe::CreationContext<'_>, file: Option<PathBuf>) -> Self {
        let topology = presets::default_topology().unwrap_or_default();
        let mut app = StaircaseApp::new(topology, Box::new(NativePicker));
        if let Some(storage) = cc.storage {
            app.recent = eframe::get_value(storage, RECENT_KEY).unwrap_or_default();
        }
        if let Some(path) = file {
            app.open_path(&path);
        }
        app
    }

    /// Whether the document differs from the file it came from.
    pub fn is_dirty(&self) -> bool {
        self.topology != self.saved
    }

    /// The solved report, if the document could be solved.
    pub fn report(&self) -> Option<&Report> {
        self.report.as_ref().ok()
    }

    /// Solves the document if it changed since the last solve. On large topologies, while the
    /// user keeps editing, the end-to-end percentiles (the costly part) wait until the
    /// document settles; every other figure is solved on the same frame.
    pub fn ensure_solved(&mut self) {
        let current = self
            .solved_for
            .as_ref()
            .is_some_and(|solved| solved.same_model(&self.topology));
        if current && !self.percentiles_pending {
            return;
        }
        if !current {
            // Any change to the model counts as an edit, wherever it came from.
            self.last_edit_time = self.now;
        }
        let large = self.topology.nodes.len() > LIVE_PERCENTILE_NODES;
        let editing = self.now - self.last_edit_time < SWEEP_SETTLE_SECONDS;
        let defer = large && editing;
        if current && defer {
            return;
        }
        let params = Params {
            class_percentiles: !defer,
            ..Params::default()
        };
        self.report = solve(&self.topology, &params).map_err(|e| e.to_string());
        self.percentiles_pending = defer;
        self.solved_for = Some(self.topology.clone());
    }

    /// Recomputes the latency-versus-load sweep once the document has settled.
    fn ensure_sweep(&mut self, now: f64) {
        if self
            .sweep_for
            .as_ref()
            .is_some_and(|swept| swept.same_model(&self.topology))
        {
            return;
        }
        let small = self.topology.nodes.len() <= LIVE_PERCENTILE_NODES;
        if !small && now - self.last_edit_time < SWEEP_SETTLE_SECONDS {
            return;
        }
        let headroom = self.report().and_then(|r| r.headroom);
        let loads = load_multipliers(headroom, 24);
        self.sweep = load_sweep(&self.topology, &Params::default(), &loads).ok();
        let bottleneck = self
            .report()
            .and_then(|r| r.bottleneck.as_ref())
            .and_then(|b| self.topology.node(b.id))
            .map(|n| (n.id, n.name.clone(), n.instances));
        self.instance_sweep = bottleneck.and_then(|(id, name, instances)| {
            let counts = crate::sweep::instance_counts(instances, 12);
            crate::sweep::instance_sweep(&self.topology, id, &counts)
                .ok()
                .map(|points| (name, points))
        });
        self.sweep_for = Some(self.topology.clone());
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
            Command::Open => {
                if let Some(path) = self.picker.open_file() {
                    self.open_path(&path);
                }
            }
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
            Command::SaveAs => {
                let suggested = self.path.as_ref().and_then(|p| p.file_name()).map_or_else(
                    || "topology.ron".to_string(),
                    |n| n.to_string_lossy().into(),
                );
                if let Some(path) = self.picker.save_file(&suggested) {
                    self.save_to(&path);
                }
            }
            Command::Undo => {
                if let Some(state) = self.undoer.undo(&self.topology) {
                    self.topology = state.clone();
                }
            }
            Command::Redo => {
                if let Some(state) = self.undoer.redo(&self.topology) {
                    self.topology = state.clone();
                }
            }
            Command::Quit => {
                self.close_confirmed = true;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            Command::AddNode(kind) => {
                let index = self.topology.nodes.len();
                self.add_node(kind, canvas::default_position(index));
            }
            Command::Export => self.export(),
            Command::Plan => {
                self.plan = Some(
                    crate::planner::plan(
                        &self.topology,
                        &self.plan_goal,
                        crate::catalog::Catalog::builtin(),
                    )
                    .map_err(|e| e.to_string()),
                );
            }
            Command::RunTimeline => {
                let scenario = self.timeline.scenario(&self.topology, self.report());
                self.timeline.result = Some(scenario.and_then(|scenario| {
                    crate::timeline::run(&self.topology, &scenario).map_err(|e| e.to_string())
                }));
            }
            Command::ExportTimeline => {
                let Some(Ok(timeline)) = self.timeline.result.clone() else {
                    return;
                };
                let Some(folder) = self.picker.pick_folder() else {
                    return;
                };
                let (stem, name) =
                    crate::export::export_names(self.path.as_deref(), &self.topology.name);
                match crate::export::export_timeline(&timeline, &name, &folder, &stem) {
                    Ok(paths) => {
                        self.notice = Some(format!(
                            "Exported {} files to {}",
                            paths.len(),
                            folder.display()
                        ));
                    }
                    Err(error) => self.error = Some(error.to_string()),
                }
            }
            Command::ApplyPlan => {
                if let Some(Ok(plan)) = &self.plan {
                    self.topology = plan.apply(&self.topology);
                }
            }
            Command::IfSaved(inner) => {
                if !self.is_dirty() {
                    self.run_confirmed(*inner, ctx);
                }
            }
            Command::DeleteSelected => {
                if let Some(id) = self.selected.take() {
                    self.remove_node(id);
                }
            }
            Command::Canvas(action) => match action {
                CanvasAction::Add(kind, position) => self.add_node(kind, position),
                CanvasAction::Remove(id) => self.remove_node(id),
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
                }
            },
        }
    }

    fn add_node(&mut self, kind: crate::model::NodeKind, position: crate::model::Position) {
        let id = self.topology.next_id();
        let mut node = Node::of_kind(id, kind);
        if let Some(region) = self.topology.regions.first() {
            node.region = region.name.clone();
        }
        self.topology.nodes.push(node);
        self.topology.layout.insert(id, position);
        self.selected = Some(id);
    }

    fn remove_node(&mut self, id: NodeId) {
        self.topology.nodes.retain(|n| n.id != id);
        self.topology.edges.retain(|e| e.from != id && e.to != id);
        self.topology.layout.remove(&id);
        self.topology.workloads.retain(|w| w.client != id);
        if self.selected == Some(id) {
            self.selected = None;
        }
    }

    fn export(&mut self) {
        let Some(folder) = self.picker.pick_folder() else {
            return;
        };
        let Ok(report) = self.report.clone() else {
            self.error = Some("nothing to export: the topology does not solve".into());
            return;
        };
        let loads = load_multipliers(report.headroom, 40);
        let result = load_sweep(&self.topology, &Params::default(), &loads)
            .map_err(|e| e.to_string())
            .and_then(|sweep| {
                let (stem, name) =
                    crate::export::export_names(self.path.as_deref(), &self.topology.name);
                use crate::export::Format;
                crate::export::export_all(
                    &report,
                    &sweep,
                    &name,
                    &folder,
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

    fn replace_document(&mut self, mut topology: Topology, path: Option<PathBuf>) {
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
        self.selected = None;
        self.workload_index = 0;
        self.error = None;
        // A newly opened document is solved in full at once.
        self.report = solve(&self.topology, &Params::default()).map_err(|e| e.to_string());
        self.solved_for = Some(self.topology.clone());
        self.percentiles_pending = false;
        self.select_bottleneck();
        self.plan = None;
        self.canvas.request_fit();
        if let Some(offered) = self.report().map(|r| r.offered_rps).filter(|r| *r > 0.0) {
            self.plan_goal.rps = offered.round().max(1.0);
        }
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
    }

    fn shortcuts(&mut self, ctx: &egui::Context) -> Vec<Command> {
        let mut commands = Vec::new();
        let bindings = [
            (Modifiers::COMMAND | Modifiers::SHIFT, Key::Z, Command::Redo),
            (
                Modifiers::COMMAND | Modifiers::SHIFT,
                Key::S,
                Command::SaveAs,
            ),
            (Modifiers::COMMAND, Key::Z, Command::Undo),
            (Modifiers::COMMAND, Key::Y, Command::Redo),
            (Modifiers::COMMAND, Key::N, Command::New),
            (Modifiers::COMMAND, Key::O, Command::Open),
            (Modifiers::COMMAND, Key::S, Command::Save),
        ];
        ctx.input_mut(|input| {
            for (modifiers, key, command) in bindings {
                if input.consume_shortcut(&KeyboardShortcut::new(modifiers, key)) {
                    commands.push(command);
                }
            }
        });
        if !ctx.egui_wants_keyboard_input()
            && ctx.input(|i| i.key_pressed(Key::Delete))
            && self.selected.is_some()
        {
            commands.push(Command::DeleteSelected);
        }
        commands
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

    /// One frame of the whole UI.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        let started = std::time::Instant::now();
        if let Some(previous) = self.last_frame_at.replace(started) {
            let interval = (started - previous).as_secs_f64();
            self.frame_interval = if self.frame_interval == 0.0 {
                interval
            } else {
                0.9 * self.frame_interval + 0.1 * interval
            };
        }
        let now = ctx.input(|i| i.time);
        self.now = now;
        let before = self.topology.clone();

        for command in self.shortcuts(&ctx) {
            self.run(command, &ctx);
        }
        if ctx.input(|i| i.viewport().close_requested()) && !self.close_confirmed && self.is_dirty()
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.pending = Some(Command::Quit);
        }
        self.canvas.sync_from(&self.topology);
        self.ensure_solved();

        let mut commands = Vec::new();
        egui::Panel::top("menu").show(ui, |ui| {
            panels::menu_bar(self, ui, &mut commands);
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            panels::status_bar(self, ui);
        });
        egui::Panel::left("palette")
            .resizable(true)
            .default_size(230.0)
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
            .default_size(320.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("right-scroll")
                    .show(ui, |ui| {
                        panels::inspector(self, ui);
                        // Edits above are solved before the figures below are drawn.
                        self.ensure_solved();
                        ui.separator();
                        panels::metrics(self, ui);
                        ui.separator();
                        panels::planner(self, ui, &mut commands);
                    });
            });
        self.ensure_sweep(now);
        egui::Panel::bottom("plots")
            .resizable(true)
            .default_size(230.0)
            .show(ui, |ui| {
                panels::plots(self, ui);
            });
        egui::CentralPanel::default().show(ui, |ui| {
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
                    ui.colored_label(theme::ERROR_TEXT, &error);
                    if ui.button("Dismiss").clicked() {
                        self.error = None;
                    }
                });
            }
            let actions = self
                .canvas
                .show(ui, &self.topology, self.report.as_ref().ok());
            commands.extend(actions.into_iter().map(Command::Canvas));
        });
        panels::timeline_window(self, &ctx, &mut commands);
        if let Some(topology) = self.calibrate.show(&ctx) {
            commands.push(Command::OpenTopology(Box::new(topology)));
        }
        panels::unsaved_prompt(self, &ctx, &mut commands);
        // Canvas positions are part of the document (metadata beside the model); they are read
        // before the commands run, since a command may replace the document.
        for (id, position) in self.canvas.positions() {
            let stored = self.topology.layout.get(&id).copied();
            let moved = stored
                .is_none_or(|p| (p.x - position.x).abs() > 0.5 || (p.y - position.y).abs() > 0.5);
            if moved && self.topology.node(id).is_some() {
                self.topology.layout.insert(id, position);
            }
        }

        for command in commands {
            self.run(command, &ctx);
        }
        if let Some(&id) = self.canvas.selected(&ctx).first() {
            self.selected = Some(id);
        }
        if !self.topology.same_model(&before) {
            self.last_edit_time = now;
            self.ensure_solved();
            ctx.request_repaint();
        }
        if self.percentiles_pending {
            ctx.request_repaint_after(std::time::Duration::from_secs_f64(SWEEP_SETTLE_SECONDS));
        }
        if !self
            .sweep_for
            .as_ref()
            .is_some_and(|swept| swept.same_model(&self.topology))
        {
            ctx.request_repaint_after(std::time::Duration::from_secs_f64(SWEEP_SETTLE_SECONDS));
        }
        self.undoer.feed_state(now, &self.topology);
        ctx.send_viewport_cmd(egui::ViewportCommand::Title(self.window_title()));
        self.frame_seconds = started.elapsed().as_secs_f64();
    }
}

impl eframe::App for StaircaseApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, RECENT_KEY, &self.recent);
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
