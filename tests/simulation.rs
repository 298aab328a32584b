//! The simulator against textbook queueing results, each within the simulation's own 95%
//! confidence interval (and that interval tight enough to mean something).

mod common;

use common::single_station;
use staircase::analysis::simulate::{simulate, Estimate, SimParams, Simulation};
use staircase::model::Topology;

fn run(topology: &Topology, customers: u64) -> Simulation {
    let params = SimParams {
        customers,
        replications: 10,
        seed: 12,
        ..SimParams::default()
    };
    simulate(topology, &params).expect("simulates")
}

/// `expected` lies inside the interval, and the interval is within `width` of the value.
fn assert_covers(found: Estimate, expected: f64, width: f64, what: &str) {
    assert!(
        (found.mean - expected).abs() <= found.half_width,
        "{what}: simulated {} ± {} does not cover {expected}",
        found.mean,
        found.half_width
    );
    assert!(
        found.half_width <= width * expected.abs(),
        "{what}: interval ± {} wider than {}% of {expected}",
        found.half_width,
        width * 100.0
    );
}

#[test]
fn mm1_at_ninety_percent_holds_nine() {
    // M/M/1, λ = 0.9, μ = 1: L = ρ/(1−ρ) = 9, W = 10 s, response ~ Exp(0.1).
    let sim = run(&single_station(0.9, 1, 1.0, None), 200_000);
    let node = &sim.nodes[1];
    assert_covers(node.in_system, 9.0, 0.05, "L");
    assert_covers(node.utilization, 0.9, 0.01, "ρ");
    assert_covers(node.latency_ms.mean, 10_000.0, 0.05, "W");
    assert_covers(node.latency_ms.p95, 10_000.0 * 20f64.ln(), 0.08, "p95");
    let class = &sim.classes[0];
    assert_covers(class.latency_ms.mean, 10_000.0, 0.05, "end-to-end W");
}

#[test]
fn mmc_waits_follow_erlang_c() {
    // M/M/5 at a = 4 (ρ 0.8), μ = 1: C(5, 4) = 0.5541, Wq = C/(cμ − λ) = 0.5541 s,
    // Lq = λ·Wq = 2.2164.
    let sim = run(&single_station(4.0, 5, 1.0, None), 200_000);
    let node = &sim.nodes[1];
    let erlang_c = 0.554_113;
    assert_covers(node.latency_ms.mean, 1000.0 + erlang_c * 1000.0, 0.03, "W");
    assert_covers(node.queue_len, 4.0 * erlang_c, 0.06, "Lq");
}

#[test]
fn md1_wait_is_pollaczek_khinchine() {
    // M/D/1, λ = 0.7, S = 1 s: Wq = λE[S²]/(2(1−ρ)) = 0.7/(2·0.3) = 1.1667 s.
    let mut topology = single_station(0.7, 1, 1.0, None);
    topology.nodes[1].service_cv = 0.0;
    let sim = run(&topology, 200_000);
    let node = &sim.nodes[1];
    let wait = 0.7 / (2.0 * 0.3);
    assert_covers(node.latency_ms.mean, (1.0 + wait) * 1000.0, 0.03, "W");
    assert_covers(node.queue_len, 0.7 * wait, 0.06, "Lq");
}

#[test]
fn mmck_drops_the_blocking_share() {
    // M/M/2/5 with λ = 3, μ = 1: π_n ∝ 3ⁿ/n! up to n = 2, then ×1.5 per place; the blocking
    // probability is π_5 = 15.1875/40.5625 and the drop rate λ·π_5 = 1.1233 req/s.
    let weights = [1.0, 3.0, 4.5, 6.75, 10.125, 15.1875];
    let total: f64 = weights.iter().sum();
    let dropped = 3.0 * weights[5] / total;
    let sim = run(&single_station(3.0, 2, 1.0, Some(3)), 100_000);
    let node = &sim.nodes[1];
    assert_covers(node.dropped_rps, dropped, 0.02, "drops");
    assert_covers(node.throughput_rps, 3.0 - dropped, 0.02, "throughput");
    let mean_in_system: f64 = weights
        .iter()
        .enumerate()
        .map(|(n, w)| n as f64 * w)
        .sum::<f64>()
        / total;
    assert_covers(node.in_system, mean_in_system, 0.02, "L");
}

#[test]
fn replications_are_reproducible_from_the_seed() {
    let topology = single_station(0.5, 1, 1.0, None);
    let params = SimParams {
        customers: 2_000,
        replications: 3,
        seed: 5,
        ..SimParams::default()
    };
    let a = simulate(&topology, &params).unwrap();
    let b = simulate(
        &topology,
        &SimParams {
            parallel: false,
            ..params.clone()
        },
    )
    .unwrap();
    assert_eq!(a, b);
    let c = simulate(&topology, &SimParams { seed: 6, ..params }).unwrap();
    assert_ne!(a.nodes[1].latency_ms.mean, c.nodes[1].latency_ms.mean);
}

#[test]
fn a_client_written_without_capacity_never_queues() {
    // 500 req/s into a client with no `capacity_rps` (the field's default is 100 req/s for
    // other nodes): no queue, no drops, no delay at the client.
    let text = r#"(version: 1, name: "bare client",
        workloads: [(name: "w", client: 1, rate: PerSecond(500.0), read: 1.0, write: 0.0, async: 0.0)],
        nodes: [(id: 1, name: "Users", kind: Client),
                (id: 2, name: "App", kind: Service, instances: 10, capacity_rps: 100.0)],
        edges: [(from: 1, to: 2)])"#;
    let topology = staircase::io::document::parse(text, "bare.ron").expect("parses");
    let report = staircase::solve(&topology, &staircase::Params::default()).unwrap();
    let client = report.node(1).unwrap();
    assert_eq!(client.servers, 0);
    assert_eq!(client.utilization, 0.0);
    assert_eq!(client.latency_ms.mean, 0.0);
    assert_eq!(client.throughput_rps, 500.0);
    let sim = run(&topology, 20_000);
    assert_eq!(sim.nodes[0].latency_ms.mean.mean, 0.0);
    assert_eq!(sim.nodes[0].utilization.mean, 0.0);
}

#[test]
fn end_to_end_latency_is_of_completed_requests() {
    // Half the requests go to a small limited queue that drops about a fifth of them (M/M/1/3
    // at ρ 0.9: blocking ρ³(1−ρ)/(1−ρ⁴) = 0.212), the other half to a roomy slow service that
    // drops nothing. The completed requests lean towards the slow branch, and the model must
    // weigh the branches by completions, as the simulation counts them.
    let text = r#"(version: 1, name: "uneven drops",
        workloads: [(name: "w", client: 1, rate: PerSecond(180.0), read: 1.0, write: 0.0, async: 0.0)],
        nodes: [(id: 1, name: "Users", kind: Client, capacity_rps: None),
                (id: 2, name: "Fast, small queue", kind: Service, capacity_rps: 100.0,
                 queue_limit: Some(2)),
                (id: 3, name: "Slow, roomy", kind: Service, instances: 40, capacity_rps: 100.0,
                 base_latency_ms: 60.0)],
        edges: [(from: 1, to: 2), (from: 1, to: 3)])"#;
    let topology = staircase::io::document::parse(text, "uneven.ron").expect("parses");
    let report = staircase::solve(&topology, &staircase::Params::default()).unwrap();
    let dropped = report.node(2).unwrap().dropped_rps / 90.0;
    assert!((dropped - 0.2120).abs() < 1e-3, "drop share {dropped}");
    let model = &report.classes[0].latency_ms;
    let sim = run(&topology, 100_000);
    let simulated = &sim.classes[0].latency_ms;
    for (what, model, simulated, tolerance) in [
        ("mean", model.mean, simulated.mean, 0.03),
        ("p50", model.p50, simulated.p50, 0.03),
        ("p95", model.p95, simulated.p95, 0.03),
    ] {
        let difference = (model - simulated.mean).abs();
        assert!(
            difference <= tolerance * simulated.mean || difference <= simulated.half_width,
            "{what}: model {model} vs simulated {} ± {}",
            simulated.mean,
            simulated.half_width
        );
    }
}

#[test]
fn a_simulated_day_carries_the_stated_requests_per_day() {
    // 8.64 million requests a day (100 req/s on average) with a peak of 5× at 18:00.
    let mut topology = single_station(100.0, 20, 100.0, None);
    topology.workloads[0].rate = staircase::model::Rate::PerDay(8.64e6);
    topology.workloads[0].peak_multiplier = 5.0;
    let timeline = staircase::analysis::timeline::run(
        &topology,
        &staircase::analysis::timeline::Scenario::default(),
    )
    .unwrap();
    let total: f64 = timeline.steps[1..]
        .iter()
        .map(|step| step.offered_rps * 300.0)
        .sum();
    assert!(
        (total / 8.64e6 - 1.0).abs() < 0.005,
        "a day carries {total}"
    );
    let peak = timeline
        .steps
        .iter()
        .map(|s| s.offered_rps)
        .fold(0.0, f64::max);
    assert!((peak - 500.0).abs() < 1e-6, "peak {peak}");
}

/// Client → connection pooler with `pool` connections → database with `servers` servers of
/// rate 1 req/s each, at `lambda` req/s (the pooler itself serves in a microsecond).
fn pooled_database(lambda: f64, pool: u32, servers: u32) -> Topology {
    let text = format!(
        r#"(version: 1, name: "pool before a database",
        workloads: [(name: "w", client: 1, rate: PerSecond({lambda}), read: 1.0, write: 0.0, async: 0.0)],
        nodes: [(id: 1, name: "Users", kind: Client, capacity_rps: None),
                (id: 2, name: "Pooler", kind: ConnectionPooler(pool_size: {pool}), capacity_rps: 1000000.0),
                (id: 3, name: "DB", kind: Database(read_capacity_rps: {servers}.0,
                 write_capacity_rps: {servers}.0, max_connections: 100), concurrency: {servers},
                 capacity_rps: {servers}.0)],
        edges: [(from: 1, to: 2), (from: 2, to: 3)])"#
    );
    staircase::io::document::parse(&text, "pool.ron").expect("parses")
}

#[test]
fn a_pool_as_large_as_the_servers_waits_the_whole_erlang_c_wait_for_a_connection() {
    // M/M/2 at λ = 1.6, μ = 1 (ρ 0.8): C(2, 1.6) = 0.7111, Wq = C/(cμ − λ) = 1.7778 s. With
    // 2 connections for 2 servers no request waits inside the database: the whole wait is
    // for a connection, at the pooler; the database answers in the service time, 1 s.
    let sim = run(&pooled_database(1.6, 2, 2), 200_000);
    let (pooler, database) = (&sim.nodes[1], &sim.nodes[2]);
    let erlang_c = 0.711_111;
    assert_covers(
        pooler.connection_wait_ms,
        erlang_c / 0.4 * 1000.0,
        0.05,
        "wait for a connection",
    );
    assert_covers(database.latency_ms.mean, 1000.0, 0.02, "database W");
    assert_covers(database.utilization, 0.8, 0.01, "ρ");
    // Little's law at the pooler: Lq = λ·Wq of those waiting for a connection.
    assert_covers(pooler.queue_len, 1.6 * erlang_c / 0.4, 0.05, "pooler Lq");
}

#[test]
fn connections_beyond_the_servers_wait_inside_the_database() {
    // The same M/M/2 with a pool of 4: two requests may hold a connection and wait inside.
    // An arrival finding n = 4 + j in the system waits for j + 1 departures at rate cμ, so
    // the wait for a connection is C·ρ²/(cμ − λ) = 0.7111 × 0.64 / 0.4 = 1.1378 s and the
    // rest of Wq, 0.64 s, is spent inside: database W = 1.64 s.
    let sim = run(&pooled_database(1.6, 4, 2), 200_000);
    let (pooler, database) = (&sim.nodes[1], &sim.nodes[2]);
    let erlang_c = 0.711_111;
    let for_connection = erlang_c * 0.64 / 0.4;
    assert_covers(
        pooler.connection_wait_ms,
        for_connection * 1000.0,
        0.05,
        "wait for a connection",
    );
    assert_covers(
        database.latency_ms.mean,
        (1.0 + erlang_c / 0.4 - for_connection) * 1000.0,
        0.02,
        "database W",
    );
    // The model splits the wait the same way.
    let report = staircase::solve(&pooled_database(1.6, 4, 2), &staircase::Params::default())
        .expect("solves");
    let model = report.node(2).expect("pooler").connection_wait_ms;
    assert!(
        (model / (for_connection * 1000.0) - 1.0).abs() < 1e-3,
        "model {model}"
    );
}

#[test]
fn without_a_pool_holder_the_wait_for_a_connection_stays_at_the_database() {
    // Users straight to a database with 4 workers but max_connections 2: only 2 queries run
    // at once (M/M/2 at λ = 1.6, μ = 1), and no pooler or app server holds the connections,
    // so the whole wait, Wq = 1.7778 s, is the database's: W = 2.7778 s.
    let text = r#"(version: 1, name: "no holder",
        workloads: [(name: "w", client: 1, rate: PerSecond(1.6), read: 1.0, write: 0.0, async: 0.0)],
        nodes: [(id: 1, name: "Users", kind: Client, capacity_rps: None),
                (id: 2, name: "DB", kind: Database(read_capacity_rps: 4.0, write_capacity_rps: 4.0,
                 max_connections: 2), concurrency: 4, capacity_rps: 4.0)],
        edges: [(from: 1, to: 2)])"#;
    let topology = staircase::io::document::parse(text, "no-holder.ron").expect("parses");
    let sim = run(&topology, 200_000);
    let database = &sim.nodes[1];
    assert_covers(database.latency_ms.mean, 2777.8, 0.03, "database W");
    assert_covers(database.utilization, 0.8, 0.01, "ρ");
    assert!(sim.nodes.iter().all(|n| n.connection_wait_ms.mean == 0.0));
    let report = staircase::solve(&topology, &staircase::Params::default()).expect("solves");
    let model = report.node(2).expect("database").latency_ms.mean;
    assert!((model / 2777.8 - 1.0).abs() < 1e-3, "model {model}");
}

#[test]
fn round_robin_wires_keep_their_own_exit_shares() {
    // A round robin over two wires, one letting half of its turns finish at the balancer
    // (exit share 0.5), the other none: each wire has every other request, so A receives
    // 0.5 · 0.5 · 200 = 50 req/s and B 100 req/s (the model's split), not 75 each.
    let text = r#"(version: 1, name: "round robin with exits",
        workloads: [(name: "w", client: 1, rate: PerSecond(200.0), read: 1.0, write: 0.0, async: 0.0)],
        nodes: [(id: 1, name: "Users", kind: Client, capacity_rps: None),
                (id: 2, name: "LB", kind: LoadBalancer(policy: RoundRobin), capacity_rps: Some(100000.0)),
                (id: 3, name: "A", kind: Service, capacity_rps: 400.0),
                (id: 4, name: "B", kind: Service, capacity_rps: 400.0)],
        edges: [(from: 1, to: 2), (from: 2, to: 3, exit_share: 0.5), (from: 2, to: 4)])"#;
    let topology = staircase::io::document::parse(text, "exits.ron").expect("parses");
    let report = staircase::solve(&topology, &staircase::Params::default()).expect("solves");
    let model = |id: u32| report.node(id).expect("node").arrival_rps;
    assert!((model(3) - 50.0).abs() < 1e-9 && (model(4) - 100.0).abs() < 1e-9);
    let sim = run(&topology, 100_000);
    assert_covers(sim.nodes[2].arrival_rps, 50.0, 0.01, "A");
    assert_covers(sim.nodes[3].arrival_rps, 100.0, 0.01, "B");
    // B takes every other request of a Poisson stream: Erlang-2 arrivals, c² 1/2, so its
    // M/M/1 queue at ρ 0.25 waits far less than Poisson arrivals would make it.
    assert!(sim.nodes[3].queue_len.mean < 0.25 * 0.25 / 0.75);
}

/// A workload's `arrival_cv` is the cv of the time between its requests, whatever their
/// class: the simulator draws one gamma stream per workload and makes each request a read or
/// a write at random, so at a FCFS queue both classes wait alike and differ by their service
/// only (20 − 2.5 = 17.5 ms). Drawn as two independent gamma streams (before issue 13's
/// survey found it), a write came in a burst of writes and waited behind their long services:
/// writes took 39.8 ms longer than reads, and the queue 25% longer than the model.
#[test]
fn a_bursty_workloads_classes_share_one_stream_of_arrivals() {
    let topology = staircase::io::document::parse(
        include_str!("../docs/simulation/bursty-classes.ron"),
        "docs/simulation/bursty-classes.ron",
    )
    .expect("parses");
    let sim = run(&topology, 200_000);
    let (read, write) = (
        &sim.classes[0].latency_ms.mean,
        &sim.classes[1].latency_ms.mean,
    );
    let gap = write.mean - read.mean;
    assert!(
        (gap - 17.5).abs() <= read.half_width + write.half_width,
        "writes take {gap} ms longer than reads (± {} and ± {}), not 17.5",
        read.half_width,
        write.half_width
    );
    // The model gives every class at the queue one wait, from the workload's c² of 4.
    let model = staircase::solve(&topology, &staircase::Params::default()).expect("solves");
    let node = model.node(2).expect("DB").latency_ms.mean;
    assert_covers(sim.nodes[1].latency_ms.mean, node, 0.05, "DB mean");
}
