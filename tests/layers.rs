//! The crate's rooms keep their order: `model` < `solver` < `analysis` < `io` < `app`. No module
//! uses one in a room above its own, and no module outside `src/app/` (and the CLI's `main.rs`,
//! which launches the app) names egui or eframe.

use std::path::{Path, PathBuf};

/// The rooms from the bottom up; each may use those before it.
const ROOMS: [&str; 5] = ["model", "solver", "analysis", "io", "app"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source folder reads") {
        let path = entry.expect("entry reads").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The room a source file lives in (`None` for `lib.rs` and `main.rs`).
fn room_of(path: &Path) -> Option<usize> {
    let relative = path.strip_prefix(src()).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    ROOMS.iter().position(|room| *room == first)
}

/// The code of a file without its comments (doc comments name other rooms freely).
fn code_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("file reads")
        .lines()
        .map(|line| line.split("//").next().unwrap_or("").to_string())
        .collect()
}

/// The rooms a line of code reaches into through `crate::ROOM` or `super::…` paths that
/// resolve to a room (only `crate::` paths are used across rooms here).
fn rooms_used(line: &str) -> Vec<usize> {
    ROOMS
        .iter()
        .enumerate()
        .filter(|(_, room)| line.contains(&format!("crate::{room}")))
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn every_room_exists_and_holds_code() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for (i, room) in ROOMS.iter().enumerate() {
        let count = files.iter().filter(|p| room_of(p) == Some(i)).count();
        assert!(count >= 2, "src/{room}/ holds {count} files");
    }
}

#[test]
fn no_module_uses_a_room_above_its_own() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut offenders = Vec::new();
    for path in &files {
        let Some(own) = room_of(path) else {
            continue;
        };
        for (number, line) in code_lines(path).iter().enumerate() {
            for used in rooms_used(line) {
                if used > own {
                    offenders.push(format!(
                        "{}:{}: {} uses {}",
                        path.display(),
                        number + 1,
                        ROOMS[own],
                        ROOMS[used]
                    ));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

#[test]
fn no_engine_module_uses_egui_or_eframe() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let engine: Vec<&PathBuf> = files
        .iter()
        .filter(|p| room_of(p).is_some_and(|room| ROOMS[room] != "app"))
        .collect();
    assert!(engine.len() > 10, "found only {engine:?}");
    let offenders: Vec<String> = engine
        .iter()
        .filter(|p| {
            code_lines(p)
                .iter()
                .any(|code| code.contains("egui") || code.contains("eframe"))
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "engine modules using the UI: {offenders:?}"
    );
}

#[test]
fn the_room_checks_see_an_upward_use() {
    assert_eq!(rooms_used("use crate::io::export::timeline_csv;"), vec![3]);
    assert_eq!(room_of(&src().join("solver/traffic.rs")), Some(1));
    assert_eq!(room_of(&src().join("main.rs")), None);
}
