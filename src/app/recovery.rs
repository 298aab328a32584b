//! Work is never lost: the unsaved document is autosaved to the user's data directory a few
//! seconds after a change, the next start after a crash offers to restore it, and the recent
//! files are written there whenever they change.
//!
//! Each running app writes its own autosave file, named after its process, so two instances
//! never overwrite each other; at start only the files of processes that no longer run are
//! offered.

use super::StaircaseApp;
use crate::io::document::{self, DocumentError};
use crate::model::{Invalid, Topology};
use ron::extensions::Extensions;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds between a change and its autosave.
pub const AUTOSAVE_DELAY_SECONDS: f64 = 3.0;
const AUTOSAVE_VERSION: u32 = 1;
const AUTOSAVE_FOLDER: &str = "autosave";
const RECENT_FILE: &str = "recent.ron";

/// Why an autosave or the recent-files list could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a Staircase autosave: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: the autosaved document is not valid: {problem}")]
    Invalid { path: String, problem: Invalid },
    #[error("cannot write to the data directory: {0}")]
    Write(#[from] DocumentError),
    #[error("cannot write as RON: {0}")]
    Serialize(#[from] ron::Error),
}

/// The user's data directory for Staircase (e.g. `~/.local/share/staircase` on Linux).
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "staircase").map(|dirs| dirs.data_dir().to_path_buf())
}

/// An autosaved document and the process that wrote it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autosave {
    #[serde(default)]
    pub version: u32,
    /// The process id of the app that wrote it.
    pub pid: u32,
    /// When that process started (Linux clock ticks since boot), to tell it from a later
    /// process given the same id.
    #[serde(default)]
    pub process_started: Option<u64>,
    /// When it was written, seconds since 1970 (UTC).
    pub saved_at_unix_s: u64,
    /// The file the document came from, if it has one.
    #[serde(default)]
    pub path: Option<PathBuf>,
    pub topology: Topology,
}

impl Autosave {
    /// An autosave of `topology` by this process, now.
    pub fn of_this_process(topology: Topology, path: Option<PathBuf>) -> Self {
        let pid = std::process::id();
        Autosave {
            version: AUTOSAVE_VERSION,
            pid,
            process_started: process_started(pid),
            saved_at_unix_s: unix_now(),
            path,
            topology,
        }
    }

    /// Where the process `pid` keeps its autosave.
    pub fn file_for(data_dir: &Path, pid: u32, process_started: Option<u64>) -> PathBuf {
        data_dir.join(AUTOSAVE_FOLDER).join(format!(
            "autosave-{pid}-{}.ron",
            process_started.unwrap_or(0)
        ))
    }

    /// Writes this autosave (atomically) into `data_dir`; returns its file.
    pub fn write(&self, data_dir: &Path) -> Result<PathBuf, RecoveryError> {
        let file = Self::file_for(data_dir, self.pid, self.process_started);
        write_ron(&file, self)?;
        Ok(file)
    }

    /// Reads and validates the autosave in `file`.
    pub fn read(file: &Path) -> Result<Self, RecoveryError> {
        let label = file.display().to_string();
        let text = std::fs::read_to_string(file).map_err(|source| RecoveryError::Read {
            path: label.clone(),
            source,
        })?;
        let autosave: Autosave =
            ron_options()
                .from_str(&text)
                .map_err(|error| RecoveryError::Parse {
                    path: label.clone(),
                    message: error.to_string(),
                })?;
        autosave
            .topology
            .validate()
            .map_err(|problem| RecoveryError::Invalid {
                path: label,
                problem,
            })?;
        Ok(autosave)
    }

    /// Whether the process that wrote this autosave is still running (another open window).
    pub fn writer_is_running(&self) -> bool {
        match process_started(self.pid) {
            Some(started) => self.process_started.is_none_or(|s| s == started),
            None => false,
        }
    }

    /// "'name' (path), autosaved at 2026-11-28 19:20 UTC, 4 minutes ago".
    pub fn describe(&self, now_unix_s: u64) -> String {
        let name = if self.topology.name.is_empty() {
            "untitled".to_string()
        } else {
            self.topology.name.clone()
        };
        let origin = self
            .path
            .as_ref()
            .map_or_else(|| "never saved".to_string(), |p| p.display().to_string());
        format!(
            "'{name}' ({origin}), autosaved at {} ({})",
            utc_text(self.saved_at_unix_s),
            age_text(now_unix_s.saturating_sub(self.saved_at_unix_s))
        )
    }
}

/// The autosaves in `data_dir` whose writer no longer runs, oldest first, with their files;
/// and the files that could not be read.
pub fn orphaned_autosaves(data_dir: &Path) -> (Vec<(PathBuf, Autosave)>, Vec<RecoveryError>) {
    let mut orphans = Vec::new();
    let mut errors = Vec::new();
    let Ok(items) = std::fs::read_dir(data_dir.join(AUTOSAVE_FOLDER)) else {
        return (orphans, errors);
    };
    for item in items.flatten() {
        let file = item.path();
        let is_autosave = file.extension().is_some_and(|e| e == "ron")
            && file
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("autosave-"));
        if !is_autosave {
            continue;
        }
        match Autosave::read(&file) {
            Ok(autosave) if !autosave.writer_is_running() => orphans.push((file, autosave)),
            Ok(_) => {}
            Err(error) => errors.push(error),
        }
    }
    orphans.sort_by_key(|(file, autosave)| (autosave.saved_at_unix_s, file.clone()));
    (orphans, errors)
}

/// The recent files stored in `data_dir` (none if there is no list yet).
pub fn load_recent(data_dir: &Path) -> Result<Vec<PathBuf>, RecoveryError> {
    let file = data_dir.join(RECENT_FILE);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(RecoveryError::Read {
                path: file.display().to_string(),
                source,
            })
        }
    };
    ron_options()
        .from_str(&text)
        .map_err(|error| RecoveryError::Parse {
            path: file.display().to_string(),
            message: error.to_string(),
        })
}

/// Writes the recent files into `data_dir`.
pub fn store_recent(data_dir: &Path, recent: &[PathBuf]) -> Result<(), RecoveryError> {
    write_ron(&data_dir.join(RECENT_FILE), &recent)
}

fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME)
}

fn write_ron(file: &Path, value: &impl Serialize) -> Result<(), RecoveryError> {
    if let Some(folder) = file.parent() {
        std::fs::create_dir_all(folder).map_err(|source| DocumentError::Write {
            path: folder.display().to_string(),
            source,
        })?;
    }
    let pretty = ron::ser::PrettyConfig::new()
        .struct_names(false)
        .extensions(Extensions::IMPLICIT_SOME);
    let mut text = ron_options().to_string_pretty(value, pretty)?;
    text.push('\n');
    document::write_atomically(file, text.as_bytes())?;
    Ok(())
}

/// When process `pid` started (field 22 of `/proc/PID/stat`), or `None` if it does not run:
/// no such process, a zombie that was killed but not yet reaped, or no `/proc` on this system.
fn process_started(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces; the state (field 3)
    // follows it, and field 22 is the 20th after the state.
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace();
    let state = fields.next()?;
    if matches!(state, "Z" | "X" | "x") {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `unix_s` as "YYYY-MM-DD HH:MM UTC" (proleptic Gregorian calendar).
///
/// ```
/// assert_eq!(staircase::app::recovery::utc_text(1_700_000_000), "2023-11-14 22:13 UTC");
/// ```
pub fn utc_text(unix_s: u64) -> String {
    let days = (unix_s / 86_400) as i64;
    let seconds = unix_s % 86_400;
    // Days to civil date (H. Hinnant's algorithm), counting eras of 400 years from 0000-03-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        seconds / 3600,
        seconds % 3600 / 60
    )
}

/// "just now", "1 minute ago", "3 hours ago", "2 days ago".
fn age_text(seconds: u64) -> String {
    let (count, unit) = match seconds {
        0..60 => return "just now".into(),
        60..3600 => (seconds / 60, "minute"),
        3600..86_400 => (seconds / 3600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    format!("{count} {unit}{} ago", if count == 1 { "" } else { "s" })
}

/// A write of this process's autosave on its own thread, so that serializing and flushing a
/// large document never holds up a frame.
type AutosaveWriter = std::thread::JoinHandle<Result<PathBuf, RecoveryError>>;

/// Between checks on an autosave being written, seconds.
const WRITER_POLL_SECONDS: f64 = 0.1;

/// The app's autosave and data-directory state.
#[derive(Default)]
pub struct Session {
    /// Where autosaves and recent files go; `None` keeps everything in memory (tests that do
    /// not inject a directory never touch the user's).
    pub data_dir: Option<PathBuf>,
    /// The document and path of the last autosave started (the file may still be written).
    written: Option<(Topology, Option<PathBuf>)>,
    writer: Option<AutosaveWriter>,
    /// When the pending autosave is due (app time, seconds).
    due: Option<f64>,
    /// Autosaves left by instances that did not close normally, to offer one by one.
    pub offers: Vec<(PathBuf, Autosave)>,
    /// The last autosave failure shown, so that it is not repeated every few seconds.
    failure: Option<String>,
}

impl StaircaseApp {
    /// Keeps autosaves and recent files in `data_dir` (instead of only in memory): loads the
    /// recent files and finds autosaves to offer.
    pub fn with_data_dir(mut self, data_dir: PathBuf) -> Self {
        match load_recent(&data_dir) {
            Ok(recent) if !recent.is_empty() => self.recent = recent,
            Ok(_) => {}
            Err(error) => self.error = Some(error.to_string()),
        }
        let (offers, errors) = orphaned_autosaves(&data_dir);
        if let Some(error) = errors.first() {
            self.error = Some(format!("an autosave could not be restored: {error}"));
        }
        self.session.offers = offers;
        self.session.data_dir = Some(data_dir);
        self
    }

    /// The file this app autosaves into, if it has a data directory.
    pub fn autosave_file(&self) -> Option<PathBuf> {
        let data_dir = self.session.data_dir.as_deref()?;
        let pid = std::process::id();
        Some(Autosave::file_for(data_dir, pid, process_started(pid)))
    }

    /// Writes the recent files into the data directory.
    pub(super) fn store_recent(&mut self) {
        let Some(data_dir) = &self.session.data_dir else {
            return;
        };
        if let Err(error) = store_recent(data_dir, &self.recent) {
            self.error = Some(format!("cannot remember the recent files: {error}"));
        }
    }

    /// Autosaves the document [`AUTOSAVE_DELAY_SECONDS`] after a change while it has unsaved
    /// changes (on a background thread); removes the autosave once there are none.
    pub(super) fn autosave_tick(&mut self, ctx: &egui::Context) {
        let Some(data_dir) = self.session.data_dir.clone() else {
            return;
        };
        let poll = std::time::Duration::from_secs_f64(WRITER_POLL_SECONDS);
        if self
            .session
            .writer
            .as_ref()
            .is_some_and(|w| w.is_finished())
        {
            self.wait_for_autosave();
        }
        let writing = self.session.writer.is_some();
        if !self.is_dirty() {
            self.session.due = None;
            if writing {
                // Removed once the write in progress has landed.
                ctx.request_repaint_after(poll);
            } else {
                self.remove_autosave();
            }
            return;
        }
        let current = self
            .session
            .written
            .as_ref()
            .is_some_and(|(topology, path)| *topology == self.topology && *path == self.path);
        if current {
            self.session.due = None;
            if writing {
                ctx.request_repaint_after(poll);
            }
            return;
        }
        let now = self.now;
        let due = *self.session.due.get_or_insert(now + AUTOSAVE_DELAY_SECONDS);
        if now < due || writing {
            let wait = if writing {
                WRITER_POLL_SECONDS
            } else {
                due - now
            };
            ctx.request_repaint_after(std::time::Duration::from_secs_f64(wait));
            return;
        }
        self.session.due = None;
        let autosave = Autosave::of_this_process(self.topology.clone(), self.path.clone());
        self.session.written = Some((self.topology.clone(), self.path.clone()));
        let spawned = std::thread::Builder::new()
            .name("autosave".into())
            .spawn(move || autosave.write(&data_dir));
        match spawned {
            Ok(writer) => self.session.writer = Some(writer),
            Err(error) => self.show_autosave_failure(&error.to_string()),
        }
        ctx.request_repaint_after(poll);
    }

    /// Waits for the autosave being written, if any, and reports a failure.
    pub fn wait_for_autosave(&mut self) {
        let Some(writer) = self.session.writer.take() else {
            return;
        };
        match writer.join() {
            Ok(Ok(_)) => self.session.failure = None,
            Ok(Err(error)) => self.show_autosave_failure(&error.to_string()),
            Err(_) => self.show_autosave_failure("the autosave thread stopped"),
        }
    }

    /// Shows an autosave failure once (not again every few seconds while it lasts). The
    /// document is retried after its next change.
    fn show_autosave_failure(&mut self, error: &str) {
        let message = format!("autosave failed: {error}");
        if self.session.failure.as_ref() != Some(&message) {
            self.error = Some(message.clone());
            self.session.failure = Some(message);
        }
    }

    /// Removes this app's autosave (the document was saved or discarded, or the app quits).
    pub fn remove_autosave(&mut self) {
        self.wait_for_autosave();
        if self.session.written.take().is_some() {
            if let Some(file) = self.autosave_file() {
                // Best effort: a file already gone is what we want.
                let _ = std::fs::remove_file(file);
            }
        }
    }

    /// Brings back the first offered autosave: the document, marked unsaved, with its path.
    pub fn restore_offered(&mut self) {
        if self.session.offers.is_empty() {
            return;
        }
        let (file, autosave) = self.session.offers.remove(0);
        let original = autosave
            .path
            .as_deref()
            .and_then(|p| document::load(p).ok());
        self.replace_document(autosave.topology, autosave.path);
        self.saved = original.unwrap_or_default();
        let _ = std::fs::remove_file(file);
        // Kept as this process's autosave at once, in case it crashes again.
        self.session.due = Some(self.now);
    }

    /// Deletes the first offered autosave.
    pub fn discard_offered(&mut self) {
        if self.session.offers.is_empty() {
            return;
        }
        let (file, _) = self.session.offers.remove(0);
        if let Err(error) = std::fs::remove_file(&file) {
            self.error = Some(format!("cannot delete {}: {error}", file.display()));
        }
    }
}

/// Offers to restore work left by an instance that did not close normally.
pub fn restore_prompt(app: &mut StaircaseApp, ctx: &egui::Context) {
    // A further offer waits until the work restored first is saved or discarded.
    if app.is_dirty() {
        return;
    }
    let Some((_, autosave)) = app.session.offers.first() else {
        return;
    };
    let description = autosave.describe(unix_now());
    let mut restore = None;
    egui::Modal::new(egui::Id::new("restore-prompt")).show(ctx, |ui| {
        ui.set_max_width(520.0);
        ui.heading("Restore unsaved work?");
        ui.label("Staircase did not close normally. It kept the changes of");
        ui.label(egui::RichText::new(&description).strong());
        ui.horizontal(|ui| {
            if ui.button("Restore").clicked() {
                restore = Some(true);
            }
            if ui.button("Discard").clicked() {
                restore = Some(false);
            }
        });
    });
    match restore {
        Some(true) => app.restore_offered(),
        Some(false) => app.discard_offered(),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc_text(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_text(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_text(1_700_000_000), "2023-11-14 22:13 UTC");
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age_text(5), "just now");
        assert_eq!(age_text(60), "1 minute ago");
        assert_eq!(age_text(7200), "2 hours ago");
        assert_eq!(age_text(3 * 86_400), "3 days ago");
    }

    #[test]
    fn this_process_runs_and_a_reaped_child_does_not() {
        let this = Autosave::of_this_process(Topology::default(), None);
        assert!(this.writer_is_running());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        let dead = Autosave {
            pid: child.id(),
            process_started: None,
            ..this.clone()
        };
        assert!(!dead.writer_is_running());
        // Same id, other start time: a later process that reused the id.
        let reused = Autosave {
            process_started: this.process_started.map(|s| s + 1),
            ..this
        };
        assert!(!reused.writer_is_running());
    }

    #[test]
    fn a_killed_process_not_yet_reaped_does_not_run() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(process_started(pid).is_some());
        child.kill().unwrap();
        // Until `wait`, the child is a zombie with an entry in /proc.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !stat.contains(") Z "))
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
        assert_eq!(process_started(pid), None);
        child.wait().unwrap();
    }

    #[test]
    fn autosaves_round_trip_and_only_orphans_are_offered() {
        let data_dir = tempfile::tempdir().unwrap();
        let mut topology = crate::io::presets::default_topology().unwrap();
        topology.name = "work in progress".into();
        let mine = Autosave::of_this_process(topology.clone(), Some("/x/y.ron".into()));
        let file = mine.write(data_dir.path()).unwrap();
        assert_eq!(Autosave::read(&file).unwrap(), mine);
        assert!(orphaned_autosaves(data_dir.path()).0.is_empty());

        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        let orphan = Autosave {
            pid: child.id(),
            process_started: Some(1),
            ..mine
        };
        let orphan_file = orphan.write(data_dir.path()).unwrap();
        let (offers, errors) = orphaned_autosaves(data_dir.path());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(offers, vec![(orphan_file, orphan)]);
    }

    #[test]
    fn recent_files_round_trip() {
        let data_dir = tempfile::tempdir().unwrap();
        assert!(load_recent(data_dir.path()).unwrap().is_empty());
        let recent = vec![PathBuf::from("/a/b.ron"), PathBuf::from("/c d/e.ron")];
        store_recent(data_dir.path(), &recent).unwrap();
        assert_eq!(load_recent(data_dir.path()).unwrap(), recent);
    }
}
