//! The engine never imports the user interface: no module outside `src/app/` (and the CLI's
//! `main.rs`, which launches the app) names egui or eframe.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source folder reads") {
        let path = entry.expect("entry reads").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "app") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_engine_module_uses_egui_or_eframe() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 10, "found only {files:?}");
    let offenders: Vec<String> = files
        .iter()
        .filter(|p| !p.ends_with("main.rs") && !p.ends_with("lib.rs"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).expect("file reads");
            text.lines().any(|line| {
                let code = line.split("//").next().unwrap_or("");
                code.contains("egui") || code.contains("eframe")
            })
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "engine modules using the UI: {offenders:?}"
    );
}
