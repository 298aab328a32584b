//! Replays the fuzz target's minimized corpus (`tests/fuzz-corpus/`, from
//! `cargo +nightly fuzz run load_solve` in `fuzz/`, then `cargo fuzz cmin`) through the same
//! checks the target runs: every input loads with a clear error or solves to a report that
//! keeps every invariant.

#[path = "common/fuzz_check.rs"]
mod fuzz_check;

#[test]
fn the_minimized_fuzz_corpus_keeps_every_invariant() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .expect("the corpus folder exists")
        .map(|entry| entry.expect("a readable entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 20, "only {} corpus files", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).expect("a readable corpus file");
        if let Err(problem) = fuzz_check::check_document(&bytes) {
            failures.push(format!("{}: {problem}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
