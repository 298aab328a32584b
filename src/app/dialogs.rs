//! Where file commands get their path: the system file dialog when there is one, otherwise an
//! in-app path dialog that says why; then the command acts on the path (open, save, export).

use super::{theme, Command, StaircaseApp};
use egui::{Key, Modifiers, RichText};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The answer of a file dialog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Picked {
    /// The user chose this path.
    Path(PathBuf),
    /// The user closed the dialog without choosing.
    Cancelled,
    /// No dialog could be shown; the text says why.
    Unavailable(String),
}

impl From<Option<PathBuf>> for Picked {
    /// A dialog that answers `None` was cancelled.
    fn from(answer: Option<PathBuf>) -> Self {
        answer.map_or(Picked::Cancelled, Picked::Path)
    }
}

/// File dialogs, behind a trait so that tests can answer them.
pub trait FilePicker {
    /// A topology file to open.
    fn open_file(&mut self) -> Picked;
    /// Where to save the topology; `suggested_name` is the file name offered.
    fn save_file(&mut self, suggested_name: &str) -> Picked;
    /// A folder to export into.
    fn pick_folder(&mut self) -> Picked {
        Picked::Unavailable("this picker has no folder dialog".into())
    }
}

/// Below this time, a dialog that answered "nothing" was never shown to the user.
const IMPLAUSIBLY_FAST: Duration = Duration::from_millis(300);

/// The platform's dialogs (rfd). On Linux they need an XDG desktop portal or zenity; without
/// either rfd answers `None` at once, which this picker reports as [`Picked::Unavailable`].
#[derive(Default)]
pub struct NativePicker {
    /// Set once the system dialog is known not to work; later requests go straight to the
    /// in-app dialog.
    unavailable: Option<String>,
}

impl NativePicker {
    fn ask(&mut self, dialog: impl FnOnce() -> Option<PathBuf>) -> Picked {
        let missing = match self.unavailable {
            Some(_) => None,
            None => missing_dialog_service(),
        };
        self.ask_with(missing, dialog)
    }

    /// [`Self::ask`] with the environment's verdict given (`missing`: why there is no dialog).
    fn ask_with(
        &mut self,
        missing: Option<String>,
        dialog: impl FnOnce() -> Option<PathBuf>,
    ) -> Picked {
        if let Some(reason) = &self.unavailable {
            return Picked::Unavailable(reason.clone());
        }
        if let Some(reason) = missing {
            self.unavailable = Some(reason.clone());
            return Picked::Unavailable(reason);
        }
        let started = Instant::now();
        match dialog() {
            Some(path) => Picked::Path(path),
            None if started.elapsed() < IMPLAUSIBLY_FAST => {
                let reason = "it closed at once without showing (no XDG desktop portal \
                              answered, and zenity did not run)"
                    .to_string();
                self.unavailable = Some(reason.clone());
                Picked::Unavailable(reason)
            }
            None => Picked::Cancelled,
        }
    }
}

impl FilePicker for NativePicker {
    fn open_file(&mut self) -> Picked {
        self.ask(|| {
            rfd::FileDialog::new()
                .add_filter("Staircase topology", &["ron"])
                .pick_file()
        })
    }

    fn save_file(&mut self, suggested_name: &str) -> Picked {
        self.ask(|| {
            rfd::FileDialog::new()
                .add_filter("Staircase topology", &["ron"])
                .set_file_name(suggested_name)
                .save_file()
        })
    }

    fn pick_folder(&mut self) -> Picked {
        self.ask(|| rfd::FileDialog::new().pick_folder())
    }
}

/// Why the system file dialog cannot work here, judged from the environment, or `None` when
/// it may. Only Linux and the BSDs depend on a portal or zenity.
fn missing_dialog_service() -> Option<String> {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        return None;
    }
    let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
    let session_bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        || runtime_dir.is_some_and(|dir| dir.join("bus").exists());
    let zenity = std::env::var_os("PATH").is_some_and(|path| on_path(&path, "zenity"));
    dialog_service_verdict(session_bus, zenity)
}

/// The verdict of [`missing_dialog_service`] from what was found.
fn dialog_service_verdict(session_bus: bool, zenity: bool) -> Option<String> {
    (!session_bus && !zenity).then(|| {
        "there is no D-Bus session bus for an XDG desktop portal, and zenity is not installed"
            .to_string()
    })
}

/// Whether an executable called `program` is in one of the folders of `path_variable`.
fn on_path(path_variable: &OsStr, program: &str) -> bool {
    std::env::split_paths(path_variable).any(|folder| folder.join(program).is_file())
}

/// What a file command does with its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileAction {
    Open,
    SaveAs,
    /// Charts (PNG, SVG) and the per-node CSV into a folder.
    ExportCharts,
    /// The timeline's chart and CSV into a folder.
    ExportTimeline,
}

impl FileAction {
    fn wants_folder(self) -> bool {
        matches!(self, FileAction::ExportCharts | FileAction::ExportTimeline)
    }

    fn title(self) -> &'static str {
        match self {
            FileAction::Open => "Open a topology",
            FileAction::SaveAs => "Save the topology as",
            FileAction::ExportCharts => "Export charts and CSV into a folder",
            FileAction::ExportTimeline => "Export the timeline into a folder",
        }
    }
}

/// The file name offered when saving: the file's own name, or the document's name made into
/// a file name ("Stage 3 — cache" → `stage-3-cache.ron`).
///
/// ```
/// use staircase::app::suggested_file_name;
/// assert_eq!(suggested_file_name(None, "Stage 3 — cache"), "stage-3-cache.ron");
/// assert_eq!(suggested_file_name(None, ""), "topology.ron");
/// ```
pub fn suggested_file_name(path: Option<&Path>, document_name: &str) -> String {
    if let Some(name) = path.and_then(Path::file_name) {
        return name.to_string_lossy().into_owned();
    }
    let mut slug = String::new();
    for c in document_name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    format!("{}.ron", if slug.is_empty() { "topology" } else { slug })
}

/// One line of the in-app dialog's listing.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    name: String,
    is_folder: bool,
}

/// The in-app path dialog, shown when the system dialog is unavailable.
pub struct PathDialog {
    pub action: FileAction,
    /// Why the system dialog is not used.
    pub reason: String,
    /// The folder listed, and against which a relative path is read.
    pub directory: PathBuf,
    /// The path being typed.
    pub text: String,
    entries: Vec<Entry>,
    listing_error: Option<String>,
    /// Runs after a successful save (the unsaved-changes prompt's pending command).
    pub then: Option<Command>,
    focus_pending: bool,
}

impl PathDialog {
    /// A dialog for `action` listing `directory`; `file_name` pre-fills the path for saving.
    pub fn new(action: FileAction, reason: String, directory: PathBuf, file_name: &str) -> Self {
        let mut dialog = PathDialog {
            action,
            reason,
            directory: PathBuf::new(),
            text: String::new(),
            entries: Vec::new(),
            listing_error: None,
            then: None,
            focus_pending: true,
        };
        dialog.enter(directory, file_name);
        dialog
    }

    /// Lists `directory` and points the typed path into it.
    fn enter(&mut self, directory: PathBuf, file_name: &str) {
        self.text = match self.action {
            FileAction::SaveAs => directory.join(file_name).display().to_string(),
            FileAction::Open => format!("{}{}", directory.display(), std::path::MAIN_SEPARATOR),
            FileAction::ExportCharts | FileAction::ExportTimeline => {
                directory.display().to_string()
            }
        };
        match list_directory(&directory, self.action.wants_folder()) {
            Ok(entries) => {
                self.entries = entries;
                self.listing_error = None;
            }
            Err(error) => {
                self.entries.clear();
                self.listing_error = Some(format!("cannot list {}: {error}", directory.display()));
            }
        }
        self.directory = directory;
        self.focus_pending = true;
    }

    /// The typed path made absolute: `~/` is the home folder, a relative path is read from the
    /// listed folder; a folder given for a save gets the suggested name, a name without
    /// extension gets `.ron`.
    pub fn resolved(&self, file_name: &str) -> PathBuf {
        let typed = self.text.trim();
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut path = match (typed.strip_prefix("~/"), home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => self.directory.join(typed),
        };
        if self.action == FileAction::SaveAs {
            if path.is_dir() {
                path = path.join(file_name);
            } else if path.extension().is_none() {
                path.set_extension("ron");
            }
        }
        path
    }
}

/// The sub-folders (and, unless `folders_only`, the `.ron` files) of `directory`, folders first,
/// each group sorted by name; hidden entries are left out.
fn list_directory(directory: &Path, folders_only: bool) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for item in std::fs::read_dir(directory)? {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let is_folder = item.path().is_dir();
        let is_topology = Path::new(&name).extension().is_some_and(|e| e == "ron");
        if is_folder || (is_topology && !folders_only) {
            entries.push(Entry { name, is_folder });
        }
    }
    entries.sort_by(|a, b| b.is_folder.cmp(&a.is_folder).then(a.name.cmp(&b.name)));
    Ok(entries)
}

impl StaircaseApp {
    /// The folder a dialog starts in: the document's, else the working directory.
    fn dialog_directory(&self) -> PathBuf {
        self.path
            .as_deref()
            .and_then(Path::parent)
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("/"))
    }

    fn suggested_name(&self) -> String {
        suggested_file_name(self.path.as_deref(), &self.topology.name)
    }

    /// Asks for the path of `action` and acts on it; when the system dialog is unavailable, the
    /// in-app dialog asks instead (and acts when the user confirms).
    pub(super) fn ask_path(&mut self, action: FileAction) {
        let suggested = self.suggested_name();
        let picked = match action {
            FileAction::Open => self.picker.open_file(),
            FileAction::SaveAs => self.picker.save_file(&suggested),
            FileAction::ExportCharts | FileAction::ExportTimeline => self.picker.pick_folder(),
        };
        match picked {
            Picked::Path(path) => self.act_on_path(action, &path),
            Picked::Cancelled => {}
            Picked::Unavailable(reason) => {
                let directory = self.dialog_directory();
                self.path_dialog = Some(PathDialog::new(action, reason, directory, &suggested));
            }
        }
    }

    /// Does `action` with `path`; failures show in the error banner.
    pub(super) fn act_on_path(&mut self, action: FileAction, path: &Path) {
        match action {
            FileAction::Open => self.open_path(path),
            FileAction::SaveAs => self.save_to(path),
            FileAction::ExportCharts => self.export(path),
            FileAction::ExportTimeline => self.export_timeline(path),
        }
    }

    /// Keeps `command` until the in-app save dialog is answered, if one is open; otherwise
    /// gives it back.
    pub(super) fn after_save_dialog(&mut self, command: Command) -> Option<Command> {
        match &mut self.path_dialog {
            Some(dialog) if dialog.action == FileAction::SaveAs => {
                dialog.then = Some(command);
                None
            }
            _ => Some(command),
        }
    }

    /// Writes the last timeline's chart and CSV into `folder`.
    fn export_timeline(&mut self, folder: &Path) {
        let Some(Ok(timeline)) = self.timeline.result.clone() else {
            self.error = Some("nothing to export: run the timeline first".into());
            return;
        };
        let (stem, name) =
            crate::io::export::export_names(self.path.as_deref(), &self.topology.name);
        match crate::io::export::export_timeline(&timeline, &name, folder, &stem) {
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

    /// The name of the open document for prompts: its file name, else its name.
    pub(super) fn document_label(&self) -> String {
        match self.path.as_deref().and_then(Path::file_name) {
            Some(name) => name.to_string_lossy().into_owned(),
            None if !self.topology.name.is_empty() => self.topology.name.clone(),
            None => "untitled".into(),
        }
    }

    /// The unsaved-changes question for `pending`, naming the document and the action.
    pub(super) fn unsaved_question(&self, pending: &Command) -> String {
        let action = match pending {
            Command::New => "creating a new document".to_string(),
            Command::Open => "opening another file".to_string(),
            Command::OpenPath(path) => format!(
                "opening '{}'",
                path.file_name()
                    .unwrap_or(path.as_os_str())
                    .to_string_lossy()
            ),
            Command::OpenPreset(file) => {
                format!("opening the preset '{}'", file.trim_end_matches(".ron"))
            }
            Command::Quit => "quitting".to_string(),
            other => format!("{other:?}"),
        };
        format!(
            "Save changes to '{}' before {action}?",
            self.document_label()
        )
    }
}

/// What the user did in the in-app dialog this frame.
enum Answer {
    Confirm,
    Cancel,
    Enter(PathBuf),
    Pick(PathBuf),
}

/// Shows the in-app path dialog, if one is open, and acts on its answer.
pub fn path_dialog(app: &mut StaircaseApp, ctx: &egui::Context, commands: &mut Vec<Command>) {
    let Some(dialog) = app.path_dialog.as_mut() else {
        return;
    };
    let suggested = suggested_file_name(app.path.as_deref(), &app.topology.name);
    let mut answer = None;
    egui::Modal::new(egui::Id::new("path-dialog")).show(ctx, |ui| {
        ui.set_width(560.0);
        ui.heading(dialog.action.title());
        ui.label(format!(
            "The system file dialog is not used: {}. Type a path, or pick from the list. \
             Installing xdg-desktop-portal-gtk or zenity brings the system dialog back.",
            dialog.reason
        ));
        ui.separator();
        answer = listing(ui, dialog);
        let field = ui
            .horizontal(|ui| {
                let label = ui.label("Path");
                ui.add(
                    egui::TextEdit::singleline(&mut dialog.text)
                        .desired_width(f32::INFINITY)
                        .hint_text("a path, absolute or in the folder above"),
                )
                .labelled_by(label.id)
            })
            .inner;
        if std::mem::take(&mut dialog.focus_pending) {
            field.request_focus();
        }
        let target = dialog.resolved(&suggested);
        if dialog.action == FileAction::SaveAs && target.is_file() {
            ui.label(format!(
                "{} exists; OK replaces it.",
                target.file_name().unwrap_or_default().to_string_lossy()
            ));
        }
        ui.horizontal(|ui| {
            if ui.button("OK").clicked() {
                answer = Some(Answer::Confirm);
            }
            if ui.button("Cancel").clicked() {
                answer = Some(Answer::Cancel);
            }
        });
        ui.input_mut(|input| {
            if input.consume_key(Modifiers::NONE, Key::Escape) {
                answer = Some(Answer::Cancel);
            } else if input.consume_key(Modifiers::NONE, Key::Enter) {
                answer = Some(Answer::Confirm);
            }
        });
    });
    match answer {
        None => {}
        Some(Answer::Cancel) => app.path_dialog = None,
        Some(Answer::Enter(folder)) => dialog.enter(folder, &suggested),
        Some(Answer::Pick(file)) => dialog.text = file.display().to_string(),
        Some(Answer::Confirm) => {
            let target = dialog.resolved(&suggested);
            if dialog.action == FileAction::Open && target.is_dir() {
                dialog.enter(target, &suggested);
                return;
            }
            let Some(dialog) = app.path_dialog.take() else {
                return;
            };
            app.act_on_path(dialog.action, &target);
            if let Some(then) = dialog.then.filter(|_| !app.is_dirty()) {
                commands.push(then);
            }
        }
    }
}

/// The listed folder with its parent, sub-folders and files; clicking answers.
fn listing(ui: &mut egui::Ui, dialog: &PathDialog) -> Option<Answer> {
    let mut answer = None;
    ui.horizontal(|ui| {
        ui.label(RichText::new(dialog.directory.display().to_string()).strong());
        if let Some(parent) = dialog.directory.parent() {
            if ui.button("⬆ Up").clicked() {
                answer = Some(Answer::Enter(parent.to_path_buf()));
            }
        }
    });
    if let Some(error) = &dialog.listing_error {
        ui.colored_label(theme::error_text(), error);
    }
    egui::ScrollArea::vertical()
        .id_salt("path-dialog-listing")
        .max_height(260.0)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            if dialog.entries.is_empty() && dialog.listing_error.is_none() {
                ui.weak(if dialog.action.wants_folder() {
                    "No sub-folders here."
                } else {
                    "No folders or .ron files here."
                });
            }
            for entry in &dialog.entries {
                let path = dialog.directory.join(&entry.name);
                if entry.is_folder {
                    if ui
                        .selectable_label(
                            false,
                            format!("{}{}", entry.name, std::path::MAIN_SEPARATOR),
                        )
                        .clicked()
                    {
                        answer = Some(Answer::Enter(path));
                    }
                } else {
                    let chosen = dialog.text.trim() == path.display().to_string();
                    let item = ui.selectable_label(chosen, &entry.name);
                    if item.double_clicked() {
                        answer = Some(Answer::Confirm);
                    } else if item.clicked() {
                        answer = Some(Answer::Pick(path));
                    }
                }
            }
        });
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggested_names_come_from_the_document() {
        assert_eq!(
            suggested_file_name(None, "Stage 3 — cache"),
            "stage-3-cache.ron"
        );
        assert_eq!(
            suggested_file_name(None, "  Netflix: API (700 × app) "),
            "netflix-api-700-app.ron"
        );
        assert_eq!(suggested_file_name(None, "—"), "topology.ron");
        assert_eq!(
            suggested_file_name(Some(Path::new("/tmp/mine.ron")), "Other name"),
            "mine.ron"
        );
    }

    #[test]
    fn no_bus_and_no_zenity_means_no_dialog() {
        assert!(dialog_service_verdict(false, false).is_some());
        assert_eq!(dialog_service_verdict(true, false), None);
        assert_eq!(dialog_service_verdict(false, true), None);
    }

    #[test]
    fn a_dialog_that_answers_nothing_at_once_was_never_shown() {
        let mut picker = NativePicker::default();
        assert_eq!(
            picker.ask_with(None, || Some(PathBuf::from("/a.ron"))),
            Picked::Path("/a.ron".into())
        );
        let slow_cancel = || {
            std::thread::sleep(IMPLAUSIBLY_FAST + Duration::from_millis(50));
            None
        };
        assert_eq!(picker.ask_with(None, slow_cancel), Picked::Cancelled);
        assert!(matches!(
            picker.ask_with(None, || None),
            Picked::Unavailable(reason) if reason.contains("closed at once")
        ));
        // From then on the system dialog is not tried again.
        let mut tried = false;
        let answer = picker.ask_with(None, || {
            tried = true;
            Some(PathBuf::from("/b.ron"))
        });
        assert!(matches!(answer, Picked::Unavailable(_)) && !tried);
    }

    #[test]
    fn a_missing_service_is_reported_without_trying_the_dialog() {
        let mut picker = NativePicker::default();
        let answer = picker.ask_with(Some("no bus".into()), || panic!("not tried"));
        assert_eq!(answer, Picked::Unavailable("no bus".into()));
    }

    #[test]
    fn on_path_finds_only_existing_programs() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("zenity"), "").unwrap();
        let path = std::env::join_paths([Path::new("/nonexistent"), folder.path()]).unwrap();
        assert!(on_path(&path, "zenity"));
        assert!(!on_path(&path, "kdialog"));
    }

    #[test]
    fn listing_shows_folders_then_topologies_and_hides_the_rest() {
        let folder = tempfile::tempdir().unwrap();
        for file in ["b.ron", "a.ron", "notes.txt", ".hidden.ron"] {
            std::fs::write(folder.path().join(file), "").unwrap();
        }
        std::fs::create_dir(folder.path().join("zoo")).unwrap();
        let names = |folders_only| {
            list_directory(folder.path(), folders_only)
                .unwrap()
                .into_iter()
                .map(|e| e.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(false), ["zoo", "a.ron", "b.ron"]);
        assert_eq!(names(true), ["zoo"]);
    }

    #[test]
    fn typed_paths_resolve_against_the_listed_folder() {
        let folder = tempfile::tempdir().unwrap();
        let mut dialog = PathDialog::new(
            FileAction::SaveAs,
            "test".into(),
            folder.path().to_path_buf(),
            "x.ron",
        );
        assert_eq!(dialog.resolved("x.ron"), folder.path().join("x.ron"));
        dialog.text = "plan".into();
        assert_eq!(dialog.resolved("x.ron"), folder.path().join("plan.ron"));
        dialog.text = folder.path().display().to_string();
        assert_eq!(dialog.resolved("x.ron"), folder.path().join("x.ron"));
    }
}
