//! The `staircase` command line: output shape, exit codes and error messages.

mod common;

use common::{preset_path, staircase};
use std::process::Command;

#[test]
fn solve_json_has_the_documented_fields() {
    let (code, stdout, stderr) = staircase(&["solve", &preset_path("stage-3-cache.ron"), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("valid JSON");
    for key in [
        "offered_rps",
        "served_rps",
        "dropped_rps",
        "monthly_cost_usd",
        "bottleneck",
        "headroom",
        "classes",
        "nodes",
        "tiers",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    let class = &json["classes"][0];
    for key in ["mean", "p50", "p95", "p99"] {
        assert!(
            class["latency_ms"][key].as_f64().is_some(),
            "class latency {key}"
        );
    }
    let node = &json["nodes"][1];
    for key in [
        "id",
        "name",
        "kind",
        "instances",
        "arrival_rps",
        "throughput_rps",
        "dropped_rps",
        "utilization",
        "queue_len",
        "latency_ms",
        "monthly_cost_usd",
    ] {
        assert!(node.get(key).is_some(), "node field {key}");
    }
    assert!(json["tiers"][0]["tier"].is_string());
    assert!(json["tiers"][0]["monthly_cost_usd"].is_number());
    // The stage-3 preset's numbers, from the model: 7M requests/day at 3x peak.
    let offered = json["offered_rps"].as_f64().unwrap();
    assert!((offered - 7e6 / 86_400.0 * 3.0).abs() < 1e-6);
}

#[test]
fn load_multiplier_scales_offered_traffic() {
    let (_, base, _) = staircase(&["solve", &preset_path("stage-3-cache.ron"), "--json"]);
    let (code, doubled, _) = staircase(&[
        "solve",
        &preset_path("stage-3-cache.ron"),
        "--json",
        "--load",
        "0.5",
    ]);
    assert_eq!(code, 0);
    let offered = |text: &str| {
        serde_json::from_str::<serde_json::Value>(text).unwrap()["offered_rps"]
            .as_f64()
            .unwrap()
    };
    assert!((offered(&doubled) - offered(&base) / 2.0).abs() < 1e-9);
}

#[test]
fn table_output_names_the_bottleneck() {
    let (code, stdout, _) = staircase(&["solve", "--preset", "stage-3-cache"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("bottleneck App server"), "{stdout}");
    assert!(stdout.contains("users/read"));
}

#[test]
fn bad_file_exits_2_with_position_and_no_panic() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("broken.ron");
    std::fs::write(
        &path,
        "(\n  nodes: [\n    (id: 1, kind: Client, instances: -3),\n  ],\n)",
    )
    .unwrap();
    let (code, stdout, stderr) = staircase(&["solve", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    let expected = format!("{}:3:", path.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(
        stderr.contains("instances must be a number from 1"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn missing_file_and_unknown_preset_exit_2() {
    let (code, _, stderr) = staircase(&["solve", "/no/such/file.ron"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("/no/such/file.ron: cannot read"),
        "{stderr}"
    );
    let (code, _, stderr) = staircase(&["solve", "--preset", "nope"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no preset called \"nope\""), "{stderr}");
}

#[test]
fn bad_load_exits_2() {
    let (code, _, stderr) =
        staircase(&["solve", &preset_path("stage-3-cache.ron"), "--load", "-1"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("load multiplier"), "{stderr}");
}

#[test]
fn presets_lists_every_builtin() {
    let (code, stdout, _) = staircase(&["presets"]);
    assert_eq!(code, 0);
    for preset in staircase::io::presets::PRESETS {
        assert!(stdout.contains(preset.file.trim_end_matches(".ron")));
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_staircase"))
        .args(["solve", "--preset", "stage-8-multi-region", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here: the rest of the output meets a closed pipe.
    let output = child.wait_with_output().unwrap();
    assert_eq!(first.trim(), "{");
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn timeline_writes_every_step_as_csv() {
    let folder = tempfile::tempdir().unwrap();
    let csv = folder.path().join("day.csv");
    let (code, stdout, stderr) = staircase(&[
        "timeline",
        &preset_path("stage-3-cache.ron"),
        "--hours",
        "1",
        "--step",
        "600",
        "--spike",
        "0:1200:2",
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("cost of the period $"), "{stdout}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 1 + 7, "{text}");
    // A bad spike is refused with the expected form.
    let (code, _, stderr) = staircase(&[
        "timeline",
        &preset_path("stage-3-cache.ron"),
        "--spike",
        "soon",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("START_S:DURATION_S:MULTIPLIER"), "{stderr}");
}
