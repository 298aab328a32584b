//! Comparing two designs and explaining a class's latency: the engine and the CLI.

mod common;

use common::{load_preset, preset_path, solved, staircase};
use staircase::analysis::compare::{compare, NodeState};
use staircase::analysis::explain::{explain, find_class};

#[test]
fn stage_3_to_4_changes_are_the_reports_differences() {
    let (three, four) = (
        load_preset("stage-3-cache.ron"),
        load_preset("stage-4-load-balancer.ron"),
    );
    let (before, after) = (solved(&three), solved(&four));
    let comparison = compare((&three, &before), (&four, &after));
    let cost = after.monthly_cost_usd - before.monthly_cost_usd;
    assert!((comparison.monthly_cost_usd.change - cost).abs() < 1e-9);
    assert_eq!(comparison.monthly_cost_usd.before, before.monthly_cost_usd);
    for class in &comparison.classes {
        let p99 = class.p99_ms.expect("both designs have the class");
        let expected = after.class(&class.name).unwrap().latency_ms.p99
            - before.class(&class.name).unwrap().latency_ms.p99;
        assert!((p99.change - expected).abs() < 1e-9, "{}", class.name);
    }
    assert_eq!(comparison.classes.len(), 2);
    // The single app server became a tier of 26 behind a new load balancer; the bottleneck
    // moved to the primary.
    assert!(comparison.bottleneck_moved());
    assert_eq!(comparison.bottleneck_before.as_deref(), Some("App server"));
    let apps = comparison
        .nodes
        .iter()
        .find(|n| n.name == "App servers")
        .expect("paired with the single app server");
    assert_eq!(apps.state, NodeState::Changed);
    assert!(
        apps.fields.contains(&"instances: 1 to 26".to_string()),
        "{:?}",
        apps.fields
    );
    let added: Vec<&str> = comparison
        .nodes
        .iter()
        .filter(|n| n.state == NodeState::Added)
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(added, ["Load balancer"]);
}

#[test]
fn a_design_compared_with_itself_has_no_changes() {
    let topology = load_preset("stage-5-read-replicas.ron");
    let report = solved(&topology);
    let comparison = compare((&topology, &report), (&topology, &report));
    assert_eq!(comparison.monthly_cost_usd.change, 0.0);
    assert!(!comparison.bottleneck_moved());
    assert!(comparison.nodes.iter().all(|n| n.state == NodeState::Same));
}

#[test]
fn cli_diff_prints_text_and_json_and_exits_0() {
    let (a, b) = (
        preset_path("stage-3-cache.ron"),
        preset_path("stage-4-load-balancer.ron"),
    );
    let (code, text, stderr) = staircase(&["diff", &a, &b]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        text.contains("bottleneck moved from App server to Postgres primary"),
        "{text}"
    );
    let (code, json, _) = staircase(&["diff", &a, &b, "--json"]);
    assert_eq!(code, 0);
    let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let before = solved(&load_preset("stage-3-cache.ron"));
    let after = solved(&load_preset("stage-4-load-balancer.ron"));
    let change = value["monthly_cost_usd"]["change"].as_f64().unwrap();
    assert!((change - (after.monthly_cost_usd - before.monthly_cost_usd)).abs() < 1e-9);
    let (code, _, stderr) = staircase(&["diff", &a, "missing.ron"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing.ron"), "{stderr}");
}

#[test]
fn shares_add_up_to_the_class_mean_on_every_stage() {
    for preset in staircase::io::presets::stages() {
        let topology = preset.load().unwrap();
        let report = solved(&topology);
        for class in &report.classes {
            let explanation = explain(&topology, &report, class);
            let shares: f64 = explanation.contributions.iter().map(|c| c.share_ms).sum();
            let total = shares + explanation.round_trip_ms;
            assert!(
                (total - class.latency_ms.mean).abs() < 1e-9,
                "{} {}: {total} vs {}",
                preset.file,
                class.name,
                class.latency_ms.mean
            );
            for c in &explanation.contributions {
                let parts = c.base_ms + c.service_ms + c.wait_ms;
                assert!(
                    (parts - c.share_ms).abs() < 1e-9 * c.share_ms.max(1.0),
                    "{}",
                    c.name
                );
            }
        }
    }
}

#[test]
fn stage_3_names_the_bottleneck_tier_first() {
    let topology = load_preset("stage-3-cache.ron");
    let report = solved(&topology);
    let bottleneck = report.bottleneck.as_ref().expect("a bottleneck");
    let tier = &report.node(bottleneck.id).unwrap().tier;
    for class in &report.classes {
        let explanation = explain(&topology, &report, class);
        assert_eq!(&explanation.contributions[0].tier, tier, "{}", class.name);
        assert_eq!(explanation.tail.first(), Some(&bottleneck.id));
    }
    // The app server's queue in words, from the solver's inputs: 8 threads, a = λ·E[S].
    let read = explain(&topology, &report, find_class(&report, "read").unwrap());
    let app = &read.contributions[0];
    let queue = report.node(bottleneck.id).unwrap().queue.clone().unwrap();
    assert!(
        app.formula.starts_with("Erlang C with c = 8, a = λ·E[S]"),
        "{}",
        app.formula
    );
    assert!(
        app.formula.contains(&format!(
            "{:.0}% of requests wait",
            queue.wait_probability * 100.0
        )),
        "{}",
        app.formula
    );
    // Erlang C itself, from the same inputs.
    let c = staircase::solver::queueing::erlang_c(queue.servers, queue.offered_load);
    assert!((c - queue.wait_probability).abs() < 1e-9);
}

#[test]
fn cli_explain_by_class_name() {
    let file = preset_path("stage-3-cache.ron");
    let (code, text, stderr) = staircase(&["explain", &file, "--class", "users/read"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        text.lines().nth(3).unwrap().starts_with("App server"),
        "{text}"
    );
    let (code, json, _) = staircase(&["explain", &file, "--class", "write", "--json"]);
    assert_eq!(code, 0);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["class"], "users/write");
    let (code, _, stderr) = staircase(&["explain", &file, "--class", "nope"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("users/read, users/write"), "{stderr}");
}
