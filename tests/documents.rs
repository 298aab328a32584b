//! Reading and writing `.ron` files: round trips, determinism, and clear errors on bad input.

mod common;

use staircase::document::{self, DocumentError};
use staircase::presets;

const GOOD: &str = r#"(
    name: "ok",
    workloads: [(name: "u", client: 1, rate: PerSecond(10), read: 1, write: 0, async: 0)],
    nodes: [
        (id: 1, name: "c", kind: Client, capacity_rps: None),
        (id: 2, name: "s", kind: Service, capacity_rps: 100),
    ],
    edges: [(from: 1, to: 2)],
)"#;

/// The error text for `text`, which must fail to load.
fn error_of(text: &str) -> String {
    match document::parse(text, "bad.ron") {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn good_file_parses() {
    let topology = document::parse(GOOD, "good.ron").unwrap();
    assert_eq!(topology.nodes.len(), 2);
    assert_eq!(topology.nodes[1].capacity_rps, Some(100.0));
}

#[test]
fn malformed_file_names_file_line_and_column() {
    let text = GOOD.replace("edges: [(from: 1, to: 2)],", "edges: [(from: 1 to: 2)],");
    let message = error_of(&text);
    assert!(message.starts_with("bad.ron:8:"), "{message}");
}

#[test]
fn truncated_file_is_an_error() {
    // Cut mid-token: the parser names what it expected at the cut.
    let message = error_of(&GOOD[..GOOD.len() / 2]);
    assert!(
        message.starts_with("bad.ron:5:17: Expected colon"),
        "{message}"
    );
    // Cut just inside the node list: the parser says a node was expected where the file ends.
    let cut = GOOD.find("nodes: [").unwrap() + "nodes: [".len();
    let message = error_of(&GOOD[..cut]);
    assert!(message.starts_with("bad.ron:4:12:"), "{message}");
    assert!(
        message.contains("Expected opening `(` for struct `Node`"),
        "{message}"
    );
}

#[test]
fn negative_rate_is_refused_where_it_stands() {
    let message = error_of(&GOOD.replace("PerSecond(10)", "PerSecond(-5)"));
    assert!(message.starts_with("bad.ron:3:"), "{message}");
    assert!(
        message.contains("rate must be a number from 0"),
        "{message}"
    );
    assert!(message.contains("-5"), "{message}");
}

#[test]
fn absurd_instance_count_is_refused() {
    let message = error_of(&GOOD.replace("kind: Service,", "kind: Service, instances: 1e300,"));
    assert!(message.starts_with("bad.ron:6:"), "{message}");
    assert!(
        message.contains("instances must be a number from 1 to 100000"),
        "{message}"
    );
}

#[test]
fn unknown_kind_is_refused() {
    let message = error_of(&GOOD.replace("kind: Service", "kind: Teleporter"));
    assert!(message.starts_with("bad.ron:6:"), "{message}");
    assert!(message.contains("Teleporter"), "{message}");
}

#[test]
fn unknown_field_is_refused() {
    let message = error_of(&GOOD.replace("capacity_rps: 100", "capacity_rsp: 100"));
    assert!(message.starts_with("bad.ron:6:"), "{message}");
    assert!(message.contains("capacity_rsp"), "{message}");
}

#[test]
fn dangling_edge_points_at_the_edge() {
    let message = error_of(&GOOD.replace("(from: 1, to: 2)", "(from: 1, to: 9)"));
    assert!(message.starts_with("bad.ron:8:"), "{message}");
    assert!(message.contains("node 9 does not exist"), "{message}");
}

#[test]
fn class_fractions_must_add_up() {
    let message = error_of(&GOOD.replace("read: 1, write: 0", "read: 0.7, write: 0"));
    assert!(message.contains("add up to 1"), "{message}");
    assert!(message.starts_with("bad.ron:3:"), "{message}");
}

#[test]
fn newer_format_version_is_refused() {
    let message = error_of(&GOOD.replace("name: \"ok\",", "version: 99, name: \"ok\","));
    assert!(message.contains("format version 99"), "{message}");
}

#[test]
fn a_million_nodes_is_refused() {
    let mut text = String::from("(nodes: [");
    for id in 0..1_000_000 {
        text.push_str(&format!("(id:{id}),"));
    }
    text.push_str("])");
    let message = error_of(&text);
    assert!(
        message.contains("1000000 nodes; at most 200000"),
        "{message}"
    );
    assert!(message.starts_with("bad.ron:1:"), "{message}");
}

#[test]
fn missing_file_is_a_read_error() {
    let error = document::load(std::path::Path::new("/nonexistent/x.ron")).unwrap_err();
    assert!(matches!(error, DocumentError::Read { .. }));
    assert!(error
        .to_string()
        .starts_with("/nonexistent/x.ron: cannot read"));
}

#[test]
fn saving_twice_gives_identical_bytes_and_round_trips() {
    for preset in presets::PRESETS {
        let topology = preset.load().unwrap();
        let first = document::to_string(&topology).unwrap();
        let reread = document::parse(&first, preset.file).unwrap();
        let second = document::to_string(&reread).unwrap();
        assert_eq!(first, second, "{}", preset.file);
        let mut normalized = topology.clone();
        normalized.normalize();
        assert_eq!(reread, normalized, "{}", preset.file);
    }
}

#[test]
fn atomic_save_replaces_the_file_and_leaves_no_temporary() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("t.ron");
    std::fs::write(&path, "old contents").unwrap();
    let topology = document::parse(GOOD, "good.ron").unwrap();
    document::save(&path, &topology).unwrap();
    assert_eq!(document::load(&path).unwrap(), {
        let mut t = topology.clone();
        t.normalize();
        t
    });
    let names: Vec<_> = std::fs::read_dir(directory.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn failed_save_keeps_the_old_file() {
    let directory = tempfile::tempdir().unwrap();
    // Target is a directory: the rename fails, and nothing else is touched.
    let target = directory.path().join("occupied");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep.txt"), "keep").unwrap();
    let topology = document::parse(GOOD, "good.ron").unwrap();
    let error = document::save(&target, &topology).unwrap_err();
    assert!(matches!(error, DocumentError::Write { .. }));
    assert_eq!(
        std::fs::read_to_string(target.join("keep.txt")).unwrap(),
        "keep"
    );
    let leftovers = std::fs::read_dir(directory.path()).unwrap().count();
    assert_eq!(leftovers, 1);
}

#[test]
fn saved_files_leave_out_default_values_and_load_them_back() {
    use staircase::model::{Edge, Node, NodeKind, Pricing, Topology};
    let mut topology = Topology::default();
    topology.nodes.push(Node::of_kind(1, NodeKind::Client));
    let mut service = Node::of_kind(2, NodeKind::Service);
    service.capacity_rps = None;
    service.pricing = Pricing::Spot;
    topology.nodes.push(service);
    topology.edges.push(Edge::route(1, 2));
    let text = document::to_string(&topology).unwrap();
    // Defaults are not written: no instance count of 1, no on-demand pricing, no route kind
    // or weight 1 on the edge. Values that differ from the default are, `None` included.
    for absent in [
        "instances:",
        "OnDemand",
        "weight:",
        "kind: Route",
        "service_cv:",
    ] {
        assert!(!text.contains(absent), "{absent} in\n{text}");
    }
    for present in ["pricing: Spot", "capacity_rps: None"] {
        assert!(text.contains(present), "{present} missing in\n{text}");
    }
    assert_eq!(document::parse(&text, "short.ron").unwrap(), topology);
}

mod damaged_files {
    use super::*;
    use proptest::prelude::*;

    /// A preset's text with `cut` bytes removed at `at` and `insert` put in their place.
    fn damaged(text: &str, at: usize, cut: usize, insert: &str) -> String {
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let mut end = (at + cut).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        format!("{}{insert}{}", &text[..at], &text[end..])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        /// Whatever is done to a file, loading it either works (and the model then solves to
        /// finite figures or a clear error) or names the file and a line:column; never a panic.
        #[test]
        fn damaged_presets_load_or_fail_with_a_location(
            preset in 0..presets::PRESETS.len(),
            at in any::<usize>(),
            cut in 0usize..40,
            insert in prop_oneof![
                Just(String::new()),
                Just("-".to_string()),
                Just("1e308".to_string()),
                Just("(".to_string()),
                Just(")".to_string()),
                Just("\"".to_string()),
                Just("NaN".to_string()),
                Just("inf".to_string()),
                Just(", x: 1".to_string()),
                "[ -~]{0,12}",
            ],
        ) {
            let original =
                std::fs::read_to_string(common::preset_path(presets::PRESETS[preset].file))
                    .unwrap();
            let text = damaged(&original, at, cut, &insert);
            match document::parse(&text, "damaged.ron") {
                Ok(topology) => {
                    if let Ok(report) = staircase::solve(&topology, &staircase::Params::default()) {
                        common::assert_all_finite(&report);
                    }
                }
                Err(error) => {
                    let message = error.to_string();
                    prop_assert!(message.starts_with("damaged.ron"), "{message}");
                    if matches!(error, DocumentError::Parse { .. }) {
                        prop_assert!(
                            message.split(':').nth(1).is_some_and(|line| line.trim().parse::<u32>().is_ok()),
                            "no line in {message}"
                        );
                    }
                }
            }
        }
    }
}
