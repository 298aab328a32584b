//! Helpers shared by the integration tests.
#![allow(dead_code)]

use staircase::analysis::generate::station;
use staircase::model::{NodeKind, Topology};
use staircase::Report;

/// Client → one `Service` station with `servers` servers of rate `mu` each, at rate `lambda`.
pub fn single_station(lambda: f64, servers: u32, mu: f64, buffer: Option<u32>) -> Topology {
    let mut topology = station(lambda, NodeKind::Service, servers, mu);
    topology.nodes[1].queue_limit = buffer;
    topology
}

/// Every number in the report is finite (serde_json turns NaN and infinity into null, so a
/// null anywhere but the optional bottleneck and headroom is a failure).
pub fn assert_all_finite(report: &Report) {
    let value = serde_json::to_value(report).expect("report serializes");
    fn walk(value: &serde_json::Value, path: &str) {
        match value {
            serde_json::Value::Null => {
                assert!(
                    matches!(
                        path,
                        ".bottleneck" | ".headroom" | ".async_bottleneck" | ".async_headroom"
                    ),
                    "null (NaN or infinity) at {path}"
                );
            }
            serde_json::Value::Number(n) => {
                assert!(
                    n.as_f64().is_some_and(f64::is_finite),
                    "non-finite at {path}"
                )
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"));
                }
            }
            serde_json::Value::Object(map) => {
                for (key, item) in map {
                    walk(item, &format!("{path}.{key}"));
                }
            }
            _ => {}
        }
    }
    walk(&value, "");
}

/// Little's law L = X·W on every node, with L from the queue's state distribution.
pub fn assert_littles_law(report: &Report, context: &str) {
    for node in &report.nodes {
        let from_law = node.throughput_rps * node.latency_ms.mean / 1000.0;
        let tolerance = 1e-6 * node.in_system.abs().max(1.0);
        assert!(
            (node.in_system - from_law).abs() <= tolerance,
            "{context}: node {} \"{}\": L = {} but X·W = {}",
            node.id,
            node.name,
            node.in_system,
            from_law
        );
    }
}

/// Flow conservation on every node and for the whole system.
pub fn assert_conservation(report: &Report, context: &str) {
    for node in &report.nodes {
        let out = node.throughput_rps + node.dropped_rps + node.backlog_growth_rps;
        let tolerance = 1e-9 * node.arrival_rps.max(1.0);
        assert!(
            (node.arrival_rps - out).abs() <= tolerance,
            "{context}: node {}: in {} ≠ served {} + dropped {} + backlog {}",
            node.id,
            node.arrival_rps,
            node.throughput_rps,
            node.dropped_rps,
            node.backlog_growth_rps
        );
    }
    let total = report.served_rps + report.dropped_rps + report.backlog_rps;
    assert!(
        (report.offered_rps - total).abs() <= 1e-9 * report.offered_rps.max(1.0),
        "{context}: offered {} ≠ served + dropped + backlog {}",
        report.offered_rps,
        total
    );
}

/// Runs the `staircase` binary with `args`: (exit code, stdout, stderr).
pub fn staircase(args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_staircase"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The path of the built-in preset file `name`.
pub fn preset_path(name: &str) -> String {
    format!("{}/presets/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A built-in preset by file name, loaded (the test fails with the loader's message if not).
pub fn load_preset(file: &str) -> staircase::model::Topology {
    staircase::io::presets::find(file)
        .unwrap_or_else(|| panic!("preset {file} is listed"))
        .load()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The report at the workloads' peak rate (the default parameters).
pub fn solved(topology: &staircase::model::Topology) -> Report {
    staircase::solve(topology, &staircase::Params::default()).expect("solves")
}

/// The report at the workloads' average rate instead of their peak.
pub fn solved_at_average(topology: &staircase::model::Topology) -> Report {
    let params = staircase::Params {
        at_peak: false,
        ..staircase::Params::default()
    };
    staircase::solve(topology, &params).expect("solves")
}

/// The figures of the node called `name` (the test fails if there is none).
pub fn node_named<'a>(report: &'a Report, name: &str) -> &'a staircase::solver::report::NodeReport {
    report
        .nodes
        .iter()
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("no node {name}"))
}

/// The node of `topology` called `name`, to edit.
pub fn model_node_named<'a>(
    topology: &'a mut staircase::model::Topology,
    name: &str,
) -> &'a mut staircase::model::Node {
    topology
        .nodes
        .iter_mut()
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("no node {name}"))
}

/// Every preset (named by its file without `.ron`) and the generated layered networks of
/// `generated` ((nodes, seed) pairs, named `generated-<nodes>-<seed>`).
pub fn presets_and_generated(generated: &[(usize, u64)]) -> Vec<(String, Topology)> {
    let mut cases: Vec<(String, Topology)> = staircase::io::presets::PRESETS
        .iter()
        .map(|preset| {
            let topology =
                staircase::io::document::parse(preset.text, preset.file).expect("preset parses");
            (preset.file.trim_end_matches(".ron").to_string(), topology)
        })
        .collect();
    for &(nodes, seed) in generated {
        cases.push((
            format!("generated-{nodes}-{seed}"),
            staircase::analysis::generate::layered(nodes, seed),
        ));
    }
    cases
}
