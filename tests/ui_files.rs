//! Files never fail silently and work is never lost, driven headless with egui_kittest: the
//! in-app path dialog when no system dialog exists, autosave and restore after an unclean
//! exit, recent files, broken files, and the unsaved-changes prompt. Every test keeps its
//! files and its data directory in a temporary folder.

use egui::{Key, Modifiers, ViewportCommand, ViewportEvent, ViewportId};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
#[path = "support/menu.rs"]
mod menu;
use menu::click_menu;
use staircase::app::recovery::{Autosave, AUTOSAVE_DELAY_SECONDS};
use staircase::app::{FilePicker, Picked, StaircaseApp};
use staircase::io::{document, presets};
use staircase::Topology;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Seconds of app time per harness step (kittest's default).
const STEP_SECONDS: f64 = 0.25;

/// A picker whose system dialog never works, like rfd with no portal and no zenity.
struct NoDialogService;

impl FilePicker for NoDialogService {
    fn open_file(&mut self) -> Picked {
        Picked::Unavailable("no dialog service in this test".into())
    }
    fn save_file(&mut self, _suggested_name: &str) -> Picked {
        Picked::Unavailable("no dialog service in this test".into())
    }
    fn pick_folder(&mut self) -> Picked {
        Picked::Unavailable("no dialog service in this test".into())
    }
}

/// Answers with the path in `next` (cancelled when empty) and records the suggested names.
#[derive(Clone, Default)]
struct FakePicker {
    next: Rc<RefCell<Option<PathBuf>>>,
    suggested: Rc<RefCell<Vec<String>>>,
}

impl FilePicker for FakePicker {
    fn open_file(&mut self) -> Picked {
        self.next.borrow_mut().take().into()
    }
    fn save_file(&mut self, suggested_name: &str) -> Picked {
        self.suggested.borrow_mut().push(suggested_name.into());
        self.next.borrow_mut().take().into()
    }
    fn pick_folder(&mut self) -> Picked {
        self.next.borrow_mut().take().into()
    }
}

fn harness_of(app: StaircaseApp) -> Harness<'static, StaircaseApp> {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut StaircaseApp| app.frame(ui), app);
    harness.run_steps(3);
    harness
}

fn default_topology() -> Topology {
    presets::default_topology().expect("default preset loads")
}

/// The app on the default preset with `picker`, keeping its data in `data_dir`.
fn app_with(picker: impl FilePicker + 'static, data_dir: &Path) -> StaircaseApp {
    StaircaseApp::new(default_topology(), Box::new(picker)).with_data_dir(data_dir.to_path_buf())
}

/// Replaces the text of the in-app dialog's path field as a user would: select all, type.
fn type_path(harness: &mut Harness<'static, StaircaseApp>, path: &Path) {
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Path")
        .focus();
    harness.run_steps(1);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness.run_steps(1);
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Path")
        .type_text(&path.display().to_string());
    harness.run_steps(1);
}

fn viewport_commands(harness: &Harness<'static, StaircaseApp>) -> Vec<ViewportCommand> {
    harness.output().viewport_output[&ViewportId::ROOT]
        .commands
        .clone()
}

/// Makes an unsaved change the way an edit in the inspector does.
fn edit(harness: &mut Harness<'static, StaircaseApp>, name: &str) {
    harness.state_mut().topology.name = name.into();
    harness.run_steps(1);
    assert!(harness.state().is_dirty());
}

#[test]
fn with_no_dialog_service_save_as_open_and_export_go_through_the_in_app_dialog() {
    let folder = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let mut harness = harness_of(app_with(NoDialogService, data_dir.path()));
    edit(&mut harness, "Stage 3 — cache");

    // Save As: the dialog says why, and offers a name made from the document's name.
    click_menu(&mut harness, "File", "Save As…");
    harness.get_by_label("Save the topology as");
    harness.get_by_label_contains("no dialog service in this test");
    let offered = harness.state().path_dialog.as_ref().unwrap().text.clone();
    assert!(offered.ends_with("stage-3-cache.ron"), "{offered}");
    let saved = folder.path().join("mine.ron");
    type_path(&mut harness, &saved);
    harness.key_press(Key::Enter);
    harness.run_steps(2);
    assert!(harness.state().path_dialog.is_none());
    assert_eq!(harness.state().path.as_deref(), Some(saved.as_path()));
    assert!(!harness.state().is_dirty());
    assert_eq!(document::load(&saved).unwrap().name, "Stage 3 — cache");

    // Open: the dialog starts in the document's folder and lists its .ron files; clicking
    // one and OK opens it.
    let mut other = default_topology();
    other.name = "the other one".into();
    document::save(&folder.path().join("other.ron"), &other).unwrap();
    std::fs::write(folder.path().join("notes.txt"), "not a topology").unwrap();
    click_menu(&mut harness, "File", "Open…");
    harness.get_by_label("Open a topology");
    assert!(harness.query_by_label("notes.txt").is_none());
    harness.get_by_label("mine.ron");
    harness.get_by_label("other.ron").click();
    harness.run_steps(2);
    harness.get_by_label("OK").click();
    harness.run_steps(3);
    assert_eq!(harness.state().topology.name, "the other one");
    assert_eq!(
        harness.state().path.as_deref(),
        Some(folder.path().join("other.ron").as_path())
    );

    // Export charts: a typed folder (created) receives the charts and the CSV.
    click_menu(&mut harness, "File", "Export charts and CSV…");
    harness.get_by_label("Export charts and CSV into a folder");
    let charts = folder.path().join("charts");
    type_path(&mut harness, &charts);
    harness.get_by_label("OK").click();
    harness.run_steps(3);
    let mut written: Vec<String> = std::fs::read_dir(&charts)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written.len(), 7, "{written:?}");
    assert!(
        written.contains(&"other-latency.png".to_string()),
        "{written:?}"
    );
    assert!(
        harness.state().error.is_none(),
        "{:?}",
        harness.state().error
    );
}

#[test]
fn the_timeline_exports_through_the_in_app_dialog() {
    let folder = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let mut harness = harness_of(app_with(NoDialogService, data_dir.path()));
    click_menu(&mut harness, "Simulate", "A day on the timeline…");
    harness.get_by_label("Run").click();
    harness.run_steps(1);
    // The timeline runs in the background.
    harness
        .state_mut()
        .settle(std::time::Duration::from_secs(60));
    harness.run_steps(2);
    harness.get_by_label("Export…").click();
    harness.run_steps(3);
    harness.get_by_label("Export the timeline into a folder");
    type_path(&mut harness, folder.path());
    harness.key_press(Key::Enter);
    harness.run_steps(3);
    let csv = std::fs::read_to_string(folder.path().join("topology-timeline.csv")).unwrap();
    assert_eq!(csv.lines().count(), 290);
}

#[test]
fn escape_closes_the_in_app_dialog_without_writing() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut harness = harness_of(app_with(NoDialogService, data_dir.path()));
    edit(&mut harness, "kept");
    click_menu(&mut harness, "File", "Save As…");
    harness.get_by_label("Save the topology as");
    harness.key_press(Key::Escape);
    harness.run_steps(2);
    assert!(harness.query_by_label("Save the topology as").is_none());
    assert!(harness.state().path.is_none());
    assert!(harness.state().is_dirty());
}

#[test]
fn a_path_that_cannot_be_written_shows_in_the_banner() {
    let folder = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let mut harness = harness_of(app_with(NoDialogService, data_dir.path()));
    edit(&mut harness, "kept");
    click_menu(&mut harness, "File", "Save As…");
    let impossible = folder.path().join("no-such-folder").join("x.ron");
    type_path(&mut harness, &impossible);
    harness.key_press(Key::Enter);
    harness.run_steps(2);
    let error = harness.state().error.clone().expect("an error is shown");
    assert!(
        error.starts_with(&impossible.display().to_string()),
        "{error}"
    );
    harness.get_by_label(&error);
    assert!(harness.state().is_dirty());
}

#[test]
fn the_prompts_save_of_an_untitled_document_asks_for_a_path_then_does_the_action() {
    let folder = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let mut harness = harness_of(app_with(NoDialogService, data_dir.path()));
    edit(&mut harness, "Draft");
    click_menu(&mut harness, "File", "New");
    harness.get_by_label("Save changes to 'Draft' before creating a new document?");
    harness.get_by_label("Save").click();
    harness.run_steps(3);
    harness.get_by_label("Save the topology as");
    let saved = folder.path().join("draft.ron");
    type_path(&mut harness, &saved);
    harness.key_press(Key::Enter);
    harness.run_steps(3);
    assert_eq!(document::load(&saved).unwrap().name, "Draft");
    // ... and then the new document.
    assert!(harness.state().topology.nodes.is_empty());
    assert!(harness.state().path.is_none());
    assert!(!harness.state().is_dirty());
}

#[test]
fn save_as_suggests_a_name_from_the_document() {
    let data_dir = tempfile::tempdir().unwrap();
    let picker = FakePicker::default();
    let mut harness = harness_of(app_with(picker.clone(), data_dir.path()));
    edit(&mut harness, "Stage 3 — cache");
    click_menu(&mut harness, "File", "Save As…");
    assert_eq!(*picker.suggested.borrow(), ["stage-3-cache.ron"]);
}

#[test]
fn a_broken_file_given_at_start_opens_the_app_with_the_banner() {
    let folder = tempfile::tempdir().unwrap();
    let broken = folder.path().join("broken.ron");
    std::fs::write(&broken, "(\n  nodes: [(id: 1, kind: Teleporter)],\n)").unwrap();
    let app =
        StaircaseApp::new(default_topology(), Box::new(NoDialogService)).with_file(Some(&broken));
    let harness = harness_of(app);
    let error = harness.state().error.clone().expect("an error is shown");
    assert!(
        error.starts_with(&format!("{}:2:", broken.display())),
        "{error}"
    );
    assert!(error.contains("Teleporter"), "{error}");
    harness.get_by_label(&error);
    assert_eq!(harness.state().topology, default_topology());
    assert!(harness.state().path.is_none());

    let missing = folder.path().join("missing.ron");
    let app =
        StaircaseApp::new(default_topology(), Box::new(NoDialogService)).with_file(Some(&missing));
    let harness = harness_of(app);
    let error = harness.state().error.clone().expect("an error is shown");
    assert!(
        error.starts_with(&format!("{}: cannot read the file", missing.display())),
        "{error}"
    );
    harness.get_by_label(&error);
}

#[test]
fn autosave_is_written_after_a_change_and_removed_after_saving() {
    let folder = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let picker = FakePicker::default();
    let mut harness = harness_of(app_with(picker.clone(), data_dir.path()));
    let autosave = harness.state().autosave_file().unwrap();
    assert!(autosave.starts_with(data_dir.path()));
    harness.run_steps(20);
    assert!(!autosave.exists(), "nothing to autosave without changes");

    edit(&mut harness, "work in progress");
    harness.run_steps(((AUTOSAVE_DELAY_SECONDS - 1.0) / STEP_SECONDS) as usize);
    assert!(!autosave.exists(), "not before the delay");
    harness.run_steps((2.0 / STEP_SECONDS) as usize);
    harness.state_mut().wait_for_autosave();
    let written = Autosave::read(&autosave).unwrap();
    assert_eq!(written.topology, harness.state().topology);
    assert_eq!(written.pid, std::process::id());
    assert_eq!(written.path, None);

    // A later change is autosaved again.
    edit(&mut harness, "more work");
    harness.run_steps((AUTOSAVE_DELAY_SECONDS / STEP_SECONDS) as usize + 2);
    harness.state_mut().wait_for_autosave();
    assert_eq!(
        Autosave::read(&autosave).unwrap().topology.name,
        "more work"
    );

    *picker.next.borrow_mut() = Some(folder.path().join("saved.ron"));
    click_menu(&mut harness, "File", "Save As…");
    assert!(!harness.state().is_dirty());
    assert!(!autosave.exists(), "saving removes the autosave");
}

#[test]
fn quitting_after_discard_closes_and_leaves_no_autosave() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut harness = harness_of(app_with(FakePicker::default(), data_dir.path()));
    let autosave = harness.state().autosave_file().unwrap();
    edit(&mut harness, "throwaway");
    harness.run_steps((AUTOSAVE_DELAY_SECONDS / STEP_SECONDS) as usize + 2);
    harness.state_mut().wait_for_autosave();
    assert!(autosave.exists());
    click_menu(&mut harness, "File", "Quit");
    harness.get_by_label("Save changes to 'throwaway' before quitting?");
    harness.get_by_label("Discard").click();
    harness.step();
    assert!(viewport_commands(&harness).contains(&ViewportCommand::Close));
    assert!(!autosave.exists());
}

/// An autosave left by a process that has ended (a child that ran and was reaped).
fn left_behind(topology: Topology, path: Option<PathBuf>) -> Autosave {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    child.wait().unwrap();
    Autosave {
        pid: child.id(),
        process_started: None,
        saved_at_unix_s: 1_700_000_000,
        ..Autosave::of_this_process(topology, path)
    }
}

#[test]
fn after_an_unclean_exit_the_next_start_offers_to_restore() {
    let folder = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let original = folder.path().join("plan.ron");
    let mut on_disk = default_topology();
    on_disk.name = "Plan".into();
    document::save(&original, &on_disk).unwrap();
    let mut edited = on_disk.clone();
    edited.name = "Plan, edited".into();
    edited.nodes[1].instances = 7;
    let left = left_behind(edited.clone(), Some(original.clone()));
    let left_file = left.write(data_dir.path()).unwrap();

    let mut harness = harness_of(app_with(FakePicker::default(), data_dir.path()));
    harness.get_by_label("Restore unsaved work?");
    harness.get_by_label(&format!(
        "'Plan, edited' ({}), autosaved at 2023-11-14 22:13 UTC ({} days ago)",
        original.display(),
        (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            - 1_700_000_000)
            / 86_400
    ));
    harness.get_by_label("Restore").click();
    harness.run_steps(3);
    assert!(harness.query_by_label("Restore unsaved work?").is_none());
    let state = harness.state();
    assert_eq!(state.topology.name, "Plan, edited");
    assert_eq!(state.topology.nodes, edited.nodes);
    assert_eq!(state.path.as_deref(), Some(original.as_path()));
    assert!(state.is_dirty(), "restored work is unsaved");
    assert!(!left_file.exists(), "the offered autosave is taken over");
    harness.state_mut().wait_for_autosave();
    let mine = Autosave::read(&harness.state().autosave_file().unwrap()).unwrap();
    assert_eq!(mine.topology.name, "Plan, edited");
    assert_eq!(mine.path.as_deref(), Some(original.as_path()));

    // Saving writes the restored work to its original file.
    harness.key_press_modifiers(Modifiers::COMMAND, Key::S);
    harness.run_steps(2);
    assert_eq!(document::load(&original).unwrap().nodes[1].instances, 7);
}

#[test]
fn a_discarded_offer_is_deleted_and_not_offered_again() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut untitled = default_topology();
    untitled.name = "Never saved".into();
    let left_file = left_behind(untitled, None).write(data_dir.path()).unwrap();
    let mut harness = harness_of(app_with(FakePicker::default(), data_dir.path()));
    harness.get_by_label_contains("'Never saved' (never saved)");
    harness.get_by_label("Discard").click();
    harness.run_steps(3);
    assert!(!left_file.exists());
    assert_eq!(harness.state().topology, default_topology());
    let harness = harness_of(app_with(FakePicker::default(), data_dir.path()));
    assert!(harness.query_by_label("Restore unsaved work?").is_none());
}

#[test]
fn the_autosave_of_a_running_instance_is_not_offered() {
    let data_dir = tempfile::tempdir().unwrap();
    // This test process stands for another open window.
    let running = Autosave::of_this_process(default_topology(), None);
    let file = running.write(data_dir.path()).unwrap();
    let harness = harness_of(app_with(FakePicker::default(), data_dir.path()));
    assert!(harness.query_by_label("Restore unsaved work?").is_none());
    assert!(file.exists());
}

#[test]
fn recent_files_are_stored_when_they_change() {
    let folder = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let path = folder.path().join("recent.ron");
    document::save(&path, &default_topology()).unwrap();
    let picker = FakePicker::default();
    let mut harness = harness_of(app_with(picker.clone(), data_dir.path()));
    *picker.next.borrow_mut() = Some(path.clone());
    click_menu(&mut harness, "File", "Open…");
    assert_eq!(harness.state().recent, std::slice::from_ref(&path));
    // No clean quit: a new app on the same data directory knows the file.
    let again = app_with(FakePicker::default(), data_dir.path());
    assert_eq!(again.recent, [path]);
}

#[test]
fn the_prompt_names_the_action_and_escape_cancels_it() {
    let folder = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let picker = FakePicker::default();
    let mut harness = harness_of(app_with(picker.clone(), data_dir.path()));
    let current = folder.path().join("current.ron");
    *picker.next.borrow_mut() = Some(current.clone());
    click_menu(&mut harness, "File", "Save As…");
    let other = folder.path().join("other.ron");
    document::save(&other, &default_topology()).unwrap();
    harness.state_mut().recent.insert(0, other.clone());
    edit(&mut harness, "changed");

    click_menu(&mut harness, "File", "New");
    harness.get_by_label("Save changes to 'current.ron' before creating a new document?");
    harness.key_press(Key::Escape);
    harness.run_steps(2);
    assert!(harness.query_by_label("Unsaved changes").is_none());
    assert_eq!(harness.state().topology.name, "changed");

    harness.get_by_label("File").click();
    harness.run_steps(2);
    harness.get_by_label_contains("Open recent").click();
    harness.run_steps(2);
    harness.get_by_label(&other.display().to_string()).click();
    harness.run_steps(3);
    harness.get_by_label("Save changes to 'current.ron' before opening 'other.ron'?");
    harness.get_by_label("Cancel").click();
    harness.run_steps(2);

    click_menu(&mut harness, "File", "Quit");
    harness.get_by_label("Save changes to 'current.ron' before quitting?");
    harness.key_press(Key::Escape);
    harness.run_steps(2);
    assert!(harness.query_by_label("Unsaved changes").is_none());
    assert!(!viewport_commands(&harness).contains(&ViewportCommand::Close));
    assert_eq!(harness.state().topology.name, "changed");
}

#[test]
fn closing_the_window_asks_first_and_discard_closes_it() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut harness = harness_of(app_with(FakePicker::default(), data_dir.path()));
    edit(&mut harness, "unsaved");
    harness
        .input_mut()
        .viewports
        .entry(ViewportId::ROOT)
        .or_default()
        .events
        .push(ViewportEvent::Close);
    harness.step();
    assert!(viewport_commands(&harness).contains(&ViewportCommand::CancelClose));
    harness.run_steps(2);
    harness.get_by_label("Save changes to 'unsaved' before quitting?");
    harness.get_by_label("Discard").click();
    harness.step();
    assert!(viewport_commands(&harness).contains(&ViewportCommand::Close));

    // With nothing unsaved, the window closes without a question.
    let mut harness = harness_of(app_with(FakePicker::default(), data_dir.path()));
    harness
        .input_mut()
        .viewports
        .entry(ViewportId::ROOT)
        .or_default()
        .events
        .push(ViewportEvent::Close);
    harness.step();
    assert!(!viewport_commands(&harness).contains(&ViewportCommand::CancelClose));
    assert!(harness.query_by_label("Unsaved changes").is_none());
}

#[test]
fn open_does_not_refuse_a_broken_file_before_the_window_but_solve_exits_2() {
    let folder = tempfile::tempdir().unwrap();
    let broken = folder.path().join("broken.ron");
    std::fs::write(&broken, "(\n  nodes: [(id: 1, kind: Teleporter)],\n)").unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_staircase"))
            .args(args)
            // No display: the window cannot open, so the command ends instead of showing it.
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("WAYLAND_SOCKET")
            .output()
            .unwrap()
    };
    let path = broken.to_str().unwrap();
    let open = run(&["open", path]);
    let stderr = String::from_utf8_lossy(&open.stderr);
    // It got as far as opening the window (where the banner would show the error).
    assert!(stderr.contains("cannot open the window"), "{stderr}");
    assert!(!stderr.contains("Teleporter"), "{stderr}");
    // The desktop entry's `%f` may be empty: `open` without a file starts the app too.
    let stderr = String::from_utf8_lossy(&run(&["open"]).stderr).into_owned();
    assert!(stderr.contains("cannot open the window"), "{stderr}");

    let solve = run(&["solve", path]);
    assert_eq!(solve.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&solve.stderr);
    assert!(stderr.contains(&format!("{path}:2:")), "{stderr}");
}

#[test]
fn two_left_behind_are_offered_one_after_the_other_without_losing_either() {
    let folder = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let mut first = default_topology();
    first.name = "First".into();
    let mut second = default_topology();
    second.name = "Second".into();
    left_behind(first, None).write(data_dir.path()).unwrap();
    let mut older = left_behind(second, None);
    older.saved_at_unix_s -= 60;
    older.write(data_dir.path()).unwrap();

    let picker = FakePicker::default();
    let mut harness = harness_of(app_with(picker.clone(), data_dir.path()));
    // The older one first.
    harness.get_by_label_contains("'Second' (never saved)");
    harness.get_by_label("Restore").click();
    harness.run_steps(3);
    assert_eq!(harness.state().topology.name, "Second");
    // The other waits while the restored work is unsaved ...
    assert!(harness.query_by_label("Restore unsaved work?").is_none());
    *picker.next.borrow_mut() = Some(folder.path().join("second.ron"));
    click_menu(&mut harness, "File", "Save As…");
    // ... and comes once it is saved.
    harness.get_by_label_contains("'First' (never saved)");
    harness.get_by_label("Restore").click();
    harness.run_steps(3);
    assert_eq!(harness.state().topology.name, "First");
    assert_eq!(
        document::load(&folder.path().join("second.ron"))
            .unwrap()
            .name,
        "Second"
    );
}

#[test]
fn an_autosave_that_cannot_be_written_says_so_once() {
    let folder = tempfile::tempdir().unwrap();
    // A data "directory" that is a file: nothing can be written under it.
    let not_a_folder = folder.path().join("data");
    std::fs::write(&not_a_folder, "").unwrap();
    let mut harness = harness_of(app_with(FakePicker::default(), &not_a_folder));
    harness.state_mut().error = None;
    edit(&mut harness, "unsaved");
    harness.run_steps((AUTOSAVE_DELAY_SECONDS / STEP_SECONDS) as usize + 2);
    harness.state_mut().wait_for_autosave();
    let error = harness.state().error.clone().expect("the failure is shown");
    assert!(error.starts_with("autosave failed: "), "{error}");
    assert!(
        error.contains(&not_a_folder.display().to_string()),
        "{error}"
    );
    harness.run_steps(2);
    harness.get_by_label(&error);
    // Dismissed, it does not come back while the same failure lasts.
    harness.state_mut().error = None;
    edit(&mut harness, "more");
    harness.run_steps((AUTOSAVE_DELAY_SECONDS / STEP_SECONDS) as usize + 2);
    harness.state_mut().wait_for_autosave();
    assert_eq!(harness.state().error, None);
}
