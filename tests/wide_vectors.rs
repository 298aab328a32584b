//! The transform walks' AVX2 build against their baseline (SSE2) build (issue 11): the same
//! operations on wider lanes, so every report must be the same to the bit. Every preset, the
//! networks of the simulation notes (cycles among them: retries) and two generated networks,
//! solved serially both ways. On a processor without AVX2 both solves take the baseline build
//! (the last assertion checks which build was taken).

mod common;

use staircase::solver::vectors;
use staircase::{solve, Params, Topology};

/// The presets, the generated networks of the golden reports and the bench, and every network
/// in docs/simulation.
fn cases() -> Vec<(String, Topology)> {
    let mut cases = common::presets_and_generated(&[(120, 11), (500, 1)]);
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/simulation");
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .expect("docs/simulation is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "ron"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("a simulation note's network");
        let name = path.display().to_string();
        let topology = staircase::io::document::parse(&text, &name).expect("it parses");
        cases.push((name, topology));
    }
    cases
}

#[test]
fn the_wide_build_gives_the_baseline_builds_reports_to_the_bit() {
    let params = Params {
        parallel: false,
        ..Params::default()
    };
    let cases = cases();
    assert!(cases.len() > 40, "only {} networks", cases.len());
    let mut compared = 0;
    for (name, topology) in &cases {
        vectors::allow_wide(false);
        assert!(!vectors::wide());
        let baseline = solve(topology, &params);
        vectors::allow_wide(true);
        let wide = solve(topology, &params);
        // As text, so that −0 and +0 differ too (f64's == holds them equal).
        assert_eq!(format!("{wide:?}"), format!("{baseline:?}"), "{name}");
        compared += usize::from(baseline.is_ok());
    }
    assert!(compared > 40, "only {compared} networks solved");
    #[cfg(target_arch = "x86_64")]
    assert_eq!(
        vectors::wide(),
        std::arch::is_x86_feature_detected!("avx2"),
        "the wide build is taken wherever the processor has AVX2"
    );
}
