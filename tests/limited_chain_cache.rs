//! Limited queues of non-exponential service (solved on their PH/PH/c/K chain) in designs with
//! many of them: a serial and a parallel solve give the same report to the bit, and the
//! solve-cost guard counts the chains (a design of hundreds of them is refused before it
//! freezes the app; one of 50 is solved).

use staircase::io::document;
use staircase::solver::SolveError;
use staircase::{solve, Params, Topology};

/// `pairs` clients, each feeding one service of 2 servers (mean service 10 ms, c²
/// `service_scv`, `limit` waiting places or unlimited) at rate `rate(i)`.
fn clients_and_services(
    pairs: usize,
    service_scv: impl Fn(usize) -> f64,
    limit: impl Fn(usize) -> Option<u64>,
    rate: impl Fn(usize) -> f64,
) -> Topology {
    let mut workloads = Vec::new();
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for i in 0..pairs {
        let (client, service) = (2 * i + 1, 2 * i + 2);
        workloads.push(format!(
            "(name: \"w{i}\", client: {client}, rate: PerSecond({:?}), peak_multiplier: 1.0, \
             read: 1.0, write: 0.0, async: 0.0)",
            rate(i)
        ));
        nodes.push(format!(
            "(id: {client}, name: \"Users{i}\", kind: Client, capacity_rps: None)"
        ));
        let queue_limit = match limit(i) {
            Some(places) => format!("Some({places})"),
            None => "None".to_string(),
        };
        nodes.push(format!(
            "(id: {service}, name: \"Service{i}\", kind: Service, instances: 1, concurrency: 2, \
             capacity_rps: 200.0, service_cv: {:?}, queue_limit: {queue_limit}, \
             base_latency_ms: 0.0)",
            service_scv(i).sqrt()
        ));
        edges.push(format!("(from: {client}, to: {service})"));
    }
    let text = format!(
        "(version: 1, name: \"clients and services\", workloads: [{}], nodes: [{}], edges: [{}])",
        workloads.join(", "),
        nodes.join(", "),
        edges.join(", ")
    );
    document::parse(&text, "generated.ron").expect("a valid design")
}

#[test]
fn serial_and_parallel_solves_of_limited_chains_agree_to_the_bit() {
    // 2,000 nodes (enough for the parallel stages): every 100th service limited, of constant
    // or c² 0.5 service, two of each at the same rate (the same chain inputs twice); the
    // others exponential and unlimited.
    let topology = clients_and_services(
        1_000,
        |i| match (i % 100, (i / 100) % 2) {
            (0, 0) => 0.0,
            (0, _) => 0.5,
            _ => 1.0,
        },
        |i| (i % 100 == 0).then_some(6),
        |i| 150.0 + ((i / 400) as f64),
    );
    let report = |parallel: bool| {
        let params = Params {
            parallel,
            ..Params::default()
        };
        let report = solve(&topology, &params).expect("solves");
        serde_json::to_string(&report).expect("serializes")
    };
    let (serial, parallel) = (report(false), report(true));
    assert!(serial == parallel, "the serial and parallel reports differ");
    // The limited services refused what each refuses alone (so their chains were solved, and
    // the pairs do not disturb each other): 150/s into two constant servers of 100/s each
    // behind 6 places drops about 1.35/s, into c² 0.5 about 2.8/s.
    let value: serde_json::Value = serde_json::from_str(&serial).expect("parses");
    let dropped = value["dropped_rps"].as_f64().expect("a number");
    let alone: f64 = (0..10)
        .map(|j| {
            let scv = if j % 2 == 0 { 0.0 } else { 0.5 };
            let rate = 150.0 + ((j * 100 / 400) as f64);
            let pair = clients_and_services(1, |_| scv, |_| Some(6), |_| rate);
            solve(&pair, &Params::default())
                .expect("solves")
                .dropped_rps
        })
        .sum();
    assert!(
        alone > 10.0,
        "the limited services refuse little alone: {alone}"
    );
    assert!(
        (dropped - alone).abs() <= 1e-9 * alone,
        "dropped {dropped} in the design, {alone} by its limited services alone"
    );
}

#[test]
fn the_cost_guard_counts_limited_chains() {
    let constant_limited = |pairs: usize| {
        clients_and_services(pairs, |_| 0.0, |_| Some(6), |i| 150.0 + i as f64 * 1e-3)
    };
    // 50 of them: solved (about 130 ms here).
    assert!(solve(&constant_limited(50), &Params::default()).is_ok());
    // 500: each a chain of 559 states, refused by the estimate before the chains are solved.
    match solve(&constant_limited(500), &Params::default()) {
        Err(SolveError::TooMuchWork { seconds, .. }) => {
            assert!(seconds > staircase::solver::MAX_SOLVE_SECONDS, "{seconds}");
        }
        other => panic!("expected TooMuchWork, got {:?}", other.map(|_| ())),
    }
    // The same services unlimited (no chain) are not refused (and take about 0.1 s: each
    // node's percentiles mix only the one class that comes to it).
    let unlimited = clients_and_services(500, |_| 0.0, |_| None, |i| 150.0 + i as f64 * 1e-3);
    assert!(solve(&unlimited, &Params::default()).is_ok());
}
