//! The file format's ways to say what is known (issue 13): per-class capacities at a Service
//! node, exit shares on route wires, random delays and the lognormal service family. Each
//! loads with a range check, saves only when set, and moves the solver's figures as queueing
//! theory says it should.

use staircase::io::{document, presets};
use staircase::model::{ClassKind, Edge, Node, NodeKind, Rate, ServiceFamily, Topology, Workload};
use staircase::solver::{solve, Params};

const NEW_FIELDS: [&str; 4] = [
    "latency_cv",
    "service_family",
    "class_capacity_rps",
    "exit_share",
];

const BASE: &str = r#"(
    name: "fields",
    workloads: [(name: "u", client: 1, rate: PerSecond(10), read: 1, write: 0, async: 0)],
    nodes: [
        (id: 1, name: "c", kind: Client, capacity_rps: None),
        (id: 2, name: "s", kind: Service, capacity_rps: 100),
        (id: 3, name: "t", kind: Service, capacity_rps: 100),
    ],
    edges: [
        (from: 1, to: 2),
        (from: 2, to: 3),
    ],
)"#;

fn error_of(text: &str) -> String {
    match document::parse(text, "bad.ron") {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn new_fields_load_and_save_deterministically_and_only_when_set() {
    let text = BASE
        .replace(
            r#"(id: 2, name: "s", kind: Service, capacity_rps: 100)"#,
            r#"(id: 2, name: "s", kind: Service, capacity_rps: 100, base_latency_ms: 5, latency_cv: 0.5, service_cv: 1.5, service_family: Lognormal, class_capacity_rps: {Write: 40, Read: 250})"#,
        )
        .replace("(from: 2, to: 3)", "(from: 2, to: 3, exit_share: 0.25)");
    let topology = document::parse(&text, "fields.ron").unwrap();
    let node = topology.node(2).unwrap();
    assert_eq!(node.latency_cv, 0.5);
    assert_eq!(node.service_family, ServiceFamily::Lognormal);
    assert_eq!(node.class_capacity_rps.get(&ClassKind::Read), Some(&250.0));
    assert_eq!(node.class_capacity_rps.get(&ClassKind::Write), Some(&40.0));
    assert_eq!(topology.edges[1].exit_share, 0.25);
    let saved = document::to_string(&topology).unwrap();
    assert_eq!(saved, document::to_string(&topology).unwrap());
    let again = document::parse(&saved, "saved.ron").unwrap();
    assert_eq!(again, topology);
    assert_eq!(document::to_string(&again).unwrap(), saved);
    // The map is written in class order whatever order the file gave.
    let (read, write) = (saved.find("Read: 250.0"), saved.find("Write: 40.0"));
    assert!(read.is_some() && read < write, "{saved}");
    // Defaults are left out.
    let plain = document::to_string(&document::parse(BASE, "base.ron").unwrap()).unwrap();
    for field in NEW_FIELDS {
        assert!(saved.contains(field), "{field} missing from\n{saved}");
        assert!(!plain.contains(field), "{field} written at its default");
    }
}

#[test]
fn old_presets_load_with_defaults_and_save_the_same_bytes() {
    for preset in presets::PRESETS {
        let topology = preset.load().expect("preset loads");
        for node in &topology.nodes {
            assert_eq!(node.latency_cv, 0.0);
            assert_eq!(node.service_family, ServiceFamily::Gamma);
            assert!(node.class_capacity_rps.is_empty());
        }
        assert!(topology.edges.iter().all(|edge| edge.exit_share == 0.0));
        let saved = document::to_string(&topology).unwrap();
        for field in NEW_FIELDS {
            assert!(!saved.contains(field), "{}: {field} written", preset.file);
        }
        // Loading the saved text gives the same document and the same bytes (tests/golden.rs
        // checks that every preset's figures did not move).
        let reloaded = document::parse(&saved, preset.file).unwrap();
        assert!(
            reloaded.same_model(&topology) || {
                let mut sorted = topology.clone();
                sorted.normalize();
                reloaded == sorted
            }
        );
        assert_eq!(
            document::to_string(&reloaded).unwrap(),
            saved,
            "{}",
            preset.file
        );
    }
}

#[test]
fn out_of_range_values_are_refused_with_the_field_and_its_range() {
    let cases = [
        (
            BASE.replace("(from: 2, to: 3)", "(from: 2, to: 3, exit_share: 1.5)"),
            "exit_share must be a number from 0 to 1, found 1.5",
        ),
        (
            BASE.replace(
                "capacity_rps: 100),\n        (id: 3",
                "capacity_rps: 100, latency_cv: 12),\n        (id: 3",
            ),
            "latency_cv must be a number from 0 to 10, found 12",
        ),
        (
            BASE.replace(
                "capacity_rps: 100),\n        (id: 3",
                "capacity_rps: 100, class_capacity_rps: {Read: 0}),\n        (id: 3",
            ),
            "class_capacity_rps of read must be a number from 0.000001",
        ),
        (
            BASE.replace(
                r#"kind: Service, capacity_rps: 100),
        (id: 3"#,
                r#"kind: AppServer, capacity_rps: 100, class_capacity_rps: {Read: 50}),
        (id: 3"#,
            ),
            "class_capacity_rps applies to Service nodes only, not to a AppServer",
        ),
        (
            BASE.replace(
                "(from: 2, to: 3)",
                "(from: 2, to: 3, kind: Call(1), exit_share: 0.5)",
            ),
            "exit_share applies to route edges only",
        ),
        (
            BASE.replace(
                "capacity_rps: 100),\n        (id: 3",
                "capacity_rps: 100, service_family: Pareto),\n        (id: 3",
            ),
            "Pareto",
        ),
    ];
    for (text, expected) in cases {
        let message = error_of(&text);
        assert!(message.starts_with("bad.ron:"), "{message}");
        assert!(
            message.contains(expected),
            "{message}\nexpected: {expected}"
        );
    }
}

fn service(id: u32, capacity: f64) -> Node {
    Node {
        capacity_rps: Some(capacity),
        name: format!("s{id}"),
        ..Node::of_kind(id, NodeKind::Service)
    }
}

fn open_network(read: f64, write: f64, nodes: Vec<Node>, edges: Vec<Edge>) -> Topology {
    let rate = read + write;
    let mut all = vec![Node {
        capacity_rps: None,
        ..Node::of_kind(1, NodeKind::Client)
    }];
    all.extend(nodes);
    Topology {
        workloads: vec![Workload {
            name: "users".into(),
            client: 1,
            rate: Rate::PerSecond(rate),
            read: read / rate,
            write: write / rate,
            ..Workload::default()
        }],
        nodes: all,
        edges,
        ..Topology::default()
    }
}

fn class_latency(
    report: &staircase::solver::report::Report,
    class: ClassKind,
) -> (f64, f64, f64, f64) {
    let found = report
        .classes
        .iter()
        .find(|c| c.class == class)
        .expect("class reported");
    let l = &found.latency_ms;
    (l.mean, l.p50, l.p95, l.p99)
}

#[test]
fn per_class_capacity_at_a_service_node_is_the_multi_class_mg1_queue() {
    // Reads at 200/s and writes at 50/s per server; 60 reads and 10 writes a second:
    // ρ = 60/200 + 10/50 = 0.5. Exponential per class, so the mixed service time has
    // E[S²] = Σ pᵢ·2sᵢ² = (6/7)·2·(5 ms)² + (1/7)·2·(20 ms)² and the Pollaczek–Khinchine
    // wait is λE[S²]/(2(1 − ρ)) = 70 × 1.5714e-4 / 1 = 11 ms: reads 16 ms, writes 31 ms.
    let mut node = service(2, 100.0);
    node.class_capacity_rps = [(ClassKind::Read, 200.0), (ClassKind::Write, 50.0)].into();
    let topology = open_network(60.0, 10.0, vec![node], vec![Edge::route(1, 2)]);
    let report = solve(&topology, &Params::default()).unwrap();
    let station = report.node(2).unwrap();
    assert!(
        (station.utilization - 0.5).abs() < 1e-9,
        "{}",
        station.utilization
    );
    let (read, ..) = class_latency(&report, ClassKind::Read);
    let (write, ..) = class_latency(&report, ClassKind::Write);
    assert!((read - 16.0).abs() < 1e-6, "read mean {read} ms");
    assert!((write - 31.0).abs() < 1e-6, "write mean {write} ms");
    // A class without its own capacity uses the node's: writes at the node's 50/s give the
    // same queue.
    let mut fallback = service(2, 50.0);
    fallback.class_capacity_rps = [(ClassKind::Read, 200.0)].into();
    let same = open_network(60.0, 10.0, vec![fallback], vec![Edge::route(1, 2)]);
    let again = solve(&same, &Params::default()).unwrap();
    assert_eq!(
        class_latency(&again, ClassKind::Write),
        class_latency(&report, ClassKind::Write)
    );
    assert_eq!(
        class_latency(&again, ClassKind::Read),
        class_latency(&report, ClassKind::Read)
    );
}

#[test]
fn an_exit_share_lets_part_of_the_traffic_finish_at_the_source() {
    // 40 req/s into A (M/M/1 at 100/s: 1/60 s); a quarter finishes at A, the rest goes on to
    // B (30 req/s, M/M/1: 1/70 s). Completed requests take 1/60 + 0.75/70 s on average.
    let mut edge = Edge::route(2, 3);
    edge.exit_share = 0.25;
    let topology = open_network(
        40.0,
        0.0,
        vec![service(2, 100.0), service(3, 100.0)],
        vec![Edge::route(1, 2), edge],
    );
    let report = solve(&topology, &Params::default()).unwrap();
    let (a, b) = (report.node(2).unwrap(), report.node(3).unwrap());
    assert!((a.throughput_rps - 40.0).abs() < 1e-9);
    assert!((b.arrival_rps - 30.0).abs() < 1e-9, "{}", b.arrival_rps);
    assert!(
        (report.served_rps - 40.0).abs() < 1e-9,
        "{}",
        report.served_rps
    );
    let (mean, ..) = class_latency(&report, ClassKind::Read);
    let expected = 1000.0 * (1.0 / 60.0 + 0.75 / 70.0);
    assert!((mean - expected).abs() < 1e-6, "{mean} vs {expected}");
    // With two routes of equal weight, each route's exit applies to its own half.
    let mut half = Edge::route(2, 3);
    half.exit_share = 0.5;
    let mut c = service(4, 100.0);
    c.name = "c4".into();
    let topology = open_network(
        40.0,
        0.0,
        vec![service(2, 100.0), service(3, 100.0), c],
        vec![Edge::route(1, 2), half, Edge::route(2, 4)],
    );
    let report = solve(&topology, &Params::default()).unwrap();
    assert!((report.node(3).unwrap().arrival_rps - 10.0).abs() < 1e-9);
    assert!((report.node(4).unwrap().arrival_rps - 20.0).abs() < 1e-9);
}

#[test]
fn a_random_delay_has_gamma_percentiles_and_the_same_mean() {
    // An external API of 100 ms mean with cv 1 (exponential): median 100·ln 2 = 69.31 ms,
    // p95 100·ln 20 = 299.57 ms, p99 100·ln 100 = 460.52 ms.
    let external = |cv: f64| Node {
        base_latency_ms: 100.0,
        latency_cv: cv,
        ..Node::of_kind(2, NodeKind::ExternalService)
    };
    let topology = open_network(5.0, 0.0, vec![external(1.0)], vec![Edge::route(1, 2)]);
    let report = solve(&topology, &Params::default()).unwrap();
    let expected = [
        100.0,
        100.0 * 2f64.ln(),
        100.0 * 20f64.ln(),
        100.0 * 100f64.ln(),
    ];
    let node = &report.node(2).unwrap().latency_ms;
    let (mean, p50, p95, p99) = class_latency(&report, ClassKind::Read);
    for (got, want) in [
        (node.mean, expected[0]),
        (node.p50, expected[1]),
        (node.p95, expected[2]),
        (node.p99, expected[3]),
        (mean, expected[0]),
        (p50, expected[1]),
        (p95, expected[2]),
        (p99, expected[3]),
    ] {
        assert!((got / want - 1.0).abs() < 2e-3, "{got} vs {want}");
    }
    // cv 0 keeps today's constant delay: every percentile is the 100 ms.
    let constant = open_network(5.0, 0.0, vec![external(0.0)], vec![Edge::route(1, 2)]);
    let report = solve(&constant, &Params::default()).unwrap();
    let (mean, p50, _, p99) = class_latency(&report, ClassKind::Read);
    assert_eq!((mean, p50, p99), (100.0, 100.0, 100.0));
}

#[test]
fn a_lognormal_service_at_light_load_has_lognormal_percentiles() {
    // 10 ms mean, cv 1.5: σ² = ln(1 + 2.25), μ = ln(10 ms) − σ²/2. At 0.01 req/s nobody
    // waits, so the response time is the service time.
    let mut node = service(2, 100.0);
    node.service_cv = 1.5;
    node.service_family = ServiceFamily::Lognormal;
    let topology = open_network(0.01, 0.0, vec![node.clone()], vec![Edge::route(1, 2)]);
    let report = solve(&topology, &Params::default()).unwrap();
    let sigma2 = 3.25f64.ln();
    let mu = 10f64.ln() - sigma2 / 2.0;
    let quantile = |z: f64| (mu + sigma2.sqrt() * z).exp();
    let (mean, p50, p95, p99) = class_latency(&report, ClassKind::Read);
    assert!((mean - 10.0).abs() < 0.01, "{mean}");
    for (got, z) in [(p50, 0.0), (p95, 1.644_853_6), (p99, 2.326_347_9)] {
        let want = quantile(z);
        assert!((got / want - 1.0).abs() < 0.01, "{got} vs lognormal {want}");
    }
    // The same cv as a gamma keeps the mean; only the shape moves (a gamma of shape 0.44
    // puts much of its mass near 0: its median is below the lognormal's 5.5 ms).
    node.service_family = ServiceFamily::Gamma;
    let gamma = open_network(0.01, 0.0, vec![node], vec![Edge::route(1, 2)]);
    let report = solve(&gamma, &Params::default()).unwrap();
    let (gamma_mean, gamma_p50, ..) = class_latency(&report, ClassKind::Read);
    assert!((gamma_mean - mean).abs() < 1e-9);
    assert!(
        gamma_p50 < p50,
        "gamma median {gamma_p50} vs lognormal {p50}"
    );
}

/// A random delay behind a queue: an M/M/1 node (λ 5, μ 10, response Exp(5)) whose delay is
/// exponential with mean 100 ms. The end-to-end time is the sum of two exponentials, so
/// P(T > t) = 2e^{−5t} − e^{−10t} and the 99th percentile is −ln(1 − √0.99)/5 = 1.0591 s.
#[test]
fn a_random_delay_adds_to_a_queue_s_response_end_to_end() {
    let mut topology = staircase::analysis::generate::station(5.0, NodeKind::AppServer, 1, 10.0);
    topology.nodes[1].base_latency_ms = 100.0;
    topology.nodes[1].latency_cv = 1.0;
    let report = solve(&topology, &Params::default()).expect("solves");
    let class = &report.classes[0];
    assert!(
        (class.latency_ms.mean - 300.0).abs() < 1e-6,
        "{:?}",
        class.latency_ms
    );
    let p99 = -(1.0 - 0.99f64.sqrt()).ln() / 5.0 * 1000.0;
    assert!(
        (class.latency_ms.p99 / p99 - 1.0).abs() < 5e-3,
        "p99 {} vs {p99}",
        class.latency_ms.p99
    );
}
