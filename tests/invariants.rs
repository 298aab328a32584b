//! Properties that must hold on any topology: no NaN or infinity, no panic, flow conservation,
//! Little's law, utilization at most 1, latency rising with load; serial = parallel.

mod common;

use common::{assert_all_finite, assert_conservation, assert_littles_law};
use proptest::prelude::*;
use staircase::analysis::generate::{layered, SplitMix};
use staircase::model::{
    ClassKind, Edge, EdgeKind, LbPolicy, Node, NodeKind, Rate, ServiceFamily, Topology, Workload,
};
use staircase::solver::Solver;
use staircase::{solve, Params, SolveError};

/// A random but valid topology from `seed`. With `calm`, no finite buffers and no retries,
/// so that load only ever adds latency.
fn random_topology(seed: u64, calm: bool) -> Topology {
    let mut rng = SplitMix::new(seed);
    let node_count = rng.between(2, 12) as u32;
    let mut topology = Topology::default();
    topology.nodes.push(Node::of_kind(1, NodeKind::Client));
    for id in 2..=node_count {
        let kinds = NodeKind::catalog();
        let mut kind = kinds[rng.between(1, kinds.len() as u64 - 1) as usize].clone();
        match &mut kind {
            NodeKind::Cache { hit_ratio } | NodeKind::Cdn { hit_ratio } => *hit_ratio = rng.unit(),
            NodeKind::ShardGroup {
                shards,
                hot_shard_skew,
            } => {
                *shards = rng.between(1, 8) as u32;
                *hot_shard_skew = 1.0 + rng.unit() * (f64::from(*shards) - 1.0);
            }
            NodeKind::LoadBalancer { policy } => {
                *policy = [
                    LbPolicy::RoundRobin,
                    LbPolicy::LeastConnections,
                    LbPolicy::Weighted,
                    LbPolicy::IpHash,
                ][rng.between(0, 3) as usize]
            }
            NodeKind::Database {
                read_capacity_rps,
                write_capacity_rps,
                max_connections,
            } => {
                *read_capacity_rps = 1.0 + rng.unit() * 3000.0;
                *write_capacity_rps = 1.0 + rng.unit() * 1000.0;
                // Tight enough that connections run out and waits move to the pools.
                *max_connections = rng.between(1, 40) as u32;
            }
            NodeKind::ConnectionPooler { pool_size } => *pool_size = rng.between(1, 40) as u32,
            _ => {}
        }
        let mut node = Node::of_kind(id, kind);
        node.instances = rng.between(1, 5) as u32;
        node.concurrency = rng.between(1, 8) as u32;
        node.capacity_rps = if rng.unit() < 0.1 {
            None
        } else {
            Some(1.0 + rng.unit() * 2000.0)
        };
        node.queue_limit = if calm || rng.unit() < 0.6 {
            None
        } else {
            Some(rng.between(0, 20) as u32)
        };
        node.base_latency_ms = rng.unit() * 50.0;
        node.service_cv = [0.0, 0.5, 1.0, 2.0][rng.between(0, 3) as usize];
        topology.nodes.push(node);
    }
    let edge_count = rng.between(1, 2 * u64::from(node_count));
    for _ in 0..edge_count {
        let from = rng.between(1, u64::from(node_count)) as u32;
        let to = rng.between(2, u64::from(node_count)) as u32;
        let roll = rng.unit();
        let kind = if calm || roll < 0.8 {
            EdgeKind::Route
        } else if roll < 0.9 {
            EdgeKind::Call(rng.between(1, 3) as u32)
        } else {
            EdgeKind::Retry(rng.unit())
        };
        if from == to && !matches!(kind, EdgeKind::Retry(_)) {
            continue;
        }
        let mut edge = Edge {
            from,
            to,
            kind,
            weight: 0.1 + rng.unit() * 5.0,
            classes: Vec::new(),
            exit_share: 0.0,
        };
        if rng.unit() < 0.1 {
            edge.classes = vec![ClassKind::Write];
        }
        topology.edges.push(edge);
    }
    if calm {
        // Keep the calm graphs acyclic in routes and calls: only forward edges.
        topology.edges.retain(|e| e.from < e.to);
    }
    let read = rng.unit();
    let write = (1.0 - read) * rng.unit();
    topology.workloads.push(Workload {
        name: "users".into(),
        client: 1,
        rate: Rate::PerSecond(rng.unit() * 2000.0),
        peak_multiplier: 1.0 + rng.unit() * 4.0,
        read,
        write,
        background: 1.0 - read - write,
        region: String::new(),
        payload_kb: 0.0,
        arrival_cv: 1.0,
    });
    // Issue 13's fields, drawn last so that the rest of each topology is as it was: random
    // delays, lognormal service, per-class capacities at Service nodes, exit shares.
    for node in topology.nodes.iter_mut().skip(1) {
        if rng.unit() < 0.3 {
            node.latency_cv = [0.5, 1.0, 2.0][rng.between(0, 2) as usize];
        }
        if rng.unit() < 0.3 {
            node.service_family = ServiceFamily::Lognormal;
        }
        if node.kind == NodeKind::Service && node.capacity_rps.is_some() && rng.unit() < 0.5 {
            for class in ClassKind::ALL {
                if rng.unit() < 0.5 {
                    node.class_capacity_rps
                        .insert(class, 1.0 + rng.unit() * 2000.0);
                }
            }
        }
    }
    for edge in &mut topology.edges {
        if edge.kind == EdgeKind::Route && rng.unit() < 0.2 {
            edge.exit_share = rng.unit();
        }
    }
    topology
        .validate()
        .expect("generator makes valid topologies");
    topology
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    #[test]
    fn any_topology_solves_to_finite_conserved_figures(seed in any::<u64>(), load in 0.0f64..20.0) {
        let topology = random_topology(seed, false);
        let params = Params { load_multiplier: load, ..Params::default() };
        match solve(&topology, &params) {
            Ok(report) => {
                assert_all_finite(&report);
                assert_conservation(&report, &format!("seed {seed}"));
                assert_littles_law(&report, &format!("seed {seed}"));
                for node in &report.nodes {
                    prop_assert!(node.utilization <= 1.0 + 1e-12);
                    prop_assert!(node.latency_ms.p50 <= node.latency_ms.p95 * (1.0 + 1e-6) + 1e-9);
                    prop_assert!(node.latency_ms.p95 <= node.latency_ms.p99 * (1.0 + 1e-6) + 1e-9);
                }
                let stable = |h: Option<f64>| h.is_none_or(|h| h > 1.0);
                if report.headroom.is_some() && stable(report.headroom) && stable(report.async_headroom) {
                    for node in &report.nodes {
                        prop_assert!(node.backlog_growth_rps == 0.0);
                        prop_assert!(node.offered_utilization < 1.0 || node.dropped_rps > 0.0);
                    }
                }
            }
            Err(SolveError::Diverged { .. } | SolveError::NotConverged { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    /// The invariants of `Report::invariant_violations` (every figure finite and ≥ 0, served ≤
    /// offered, node mean ≤ p99, Little's law on every node, a finite headroom whenever a
    /// bottleneck is named) on random topologies, at loads from a trickle to far past
    /// saturation.
    #[test]
    fn every_report_keeps_the_invariants(seed in any::<u64>(), load in prop_oneof![0.0f64..3.0, 1e-12f64..1e-6, 1.0f64..1e4]) {
        let topology = random_topology(seed, false);
        let params = Params { load_multiplier: load, ..Params::default() };
        match solve(&topology, &params) {
            Ok(report) => {
                let problems = report.invariant_violations();
                prop_assert!(problems.is_empty(), "seed {seed} load {load}: {problems:#?}");
            }
            Err(SolveError::Diverged { .. } | SolveError::NotConverged { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    /// A topology compiled once and solved at other loads (`Solver`, as sweeps do) gives the
    /// very figures of a fresh solve at each load, and its summary the report's.
    #[test]
    fn a_compiled_topology_solves_as_a_fresh_one(seed in any::<u64>(), loads in proptest::collection::vec(0.0f64..3.0, 1..4), at_peak in any::<bool>()) {
        let topology = random_topology(seed, false);
        let Ok(solver) = Solver::new(&topology) else {
            return Ok(());
        };
        for load in loads {
            let params = Params { load_multiplier: load, at_peak, ..Params::default() };
            let fresh = solve(&topology, &params);
            prop_assert_eq!(&solver.solve(&params), &fresh);
            let (Ok(report), Ok(summary)) = (fresh, solver.summary(&params)) else {
                continue;
            };
            prop_assert_eq!(summary.offered_rps, report.offered_rps);
            prop_assert_eq!(summary.served_rps, report.served_rps);
            prop_assert_eq!(summary.dropped_rps, report.dropped_rps);
            prop_assert_eq!(summary.classes.len(), report.classes.len());
            for (short, full) in summary.classes.iter().zip(&report.classes) {
                prop_assert_eq!(&short.name, &full.name);
                prop_assert_eq!(short.latency_ms, full.latency_ms);
            }
        }
    }

    #[test]
    fn latency_rises_with_load_while_stable(seed in any::<u64>(), step in 1.01f64..1.5) {
        let topology = random_topology(seed, true);
        let low = solve(&topology, &Params::default()).unwrap();
        // Every node must stay stable: the synchronous headroom and the one behind queues.
        let headroom = match (low.headroom, low.async_headroom) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return Ok(()),
        };
        prop_assume!(headroom > step);
        let high = solve(&topology, &Params { load_multiplier: step, ..Params::default() }).unwrap();
        for (a, b) in low.classes.iter().zip(&high.classes) {
            prop_assert!(b.latency_ms.mean >= a.latency_ms.mean * (1.0 - 1e-12));
            // Percentiles come from a 4,096-point grid over 16 means: allow one grid step.
            let step = a.latency_ms.mean * 16.0 / 4096.0;
            prop_assert!(b.latency_ms.p95 >= a.latency_ms.p95 - step, "p95 {} {}", a.latency_ms.p95, b.latency_ms.p95);
            prop_assert!(b.latency_ms.p99 >= a.latency_ms.p99 - step, "p99 {} {}", a.latency_ms.p99, b.latency_ms.p99);
        }
        for (a, b) in low.nodes.iter().zip(&high.nodes) {
            prop_assert!(b.utilization < 1.0);
            prop_assert!(b.latency_ms.mean >= a.latency_ms.mean * (1.0 - 1e-12));
        }
    }
}

#[test]
fn serial_and_parallel_give_identical_reports() {
    for topology in [
        layered(2_000, 7),
        // Layers of about 78 nodes: wider than the waves the traffic and variability passes
        // solve on rayon (64), so those run in parallel too.
        layered(6_000, 3),
        random_topology(42, false),
        random_topology(9, true),
    ] {
        let parallel = solve(&topology, &Params::default());
        let serial = solve(
            &topology,
            &Params {
                parallel: false,
                ..Params::default()
            },
        );
        assert_eq!(parallel, serial);
    }
}

#[test]
fn generated_topologies_obey_littles_law_and_conservation() {
    for size in [10, 300, 3_000] {
        let report = solve(&layered(size, 1), &Params::default()).unwrap();
        assert_eq!(report.nodes.len(), size);
        assert_all_finite(&report);
        assert_littles_law(&report, &format!("layered {size}"));
        assert_conservation(&report, &format!("layered {size}"));
    }
}

#[test]
fn retry_storm_with_no_way_out_is_a_clear_error() {
    // Every drop is retried into the same full queue of zero waiting places, at 10x overload:
    // the retry loop diverges, and the solver says so instead of looping or returning infinity.
    let mut topology = common::single_station(1000.0, 1, 10.0, Some(0));
    topology
        .edges
        .push(Edge::of_kind(2, 2, EdgeKind::Retry(1.0)));
    match solve(&topology, &Params::default()) {
        Err(SolveError::Diverged { node }) => assert_eq!(node, "Service 2"),
        other => panic!("expected divergence, got {other:?}"),
    }
    // With half the drops retried, the loop converges: λ = 1000 + 0.5·drops.
    topology.edges[1].kind = EdgeKind::Retry(0.5);
    let report = solve(&topology, &Params::default()).unwrap();
    let node = report.node(2).unwrap();
    assert!((node.arrival_rps - (1000.0 + 0.5 * node.dropped_rps)).abs() < 1e-6);
    // A retry sent at once meets the queue that refused it, still full: only first attempts
    // get in, refused with M/M/1/1's blocking a/(1 + a) at a = 1000/μ, and each refused one
    // is refused 1/(1 − 0.5) times in all.
    let a = 1000.0 / 10.0;
    let blocking = a / (1.0 + a);
    assert!((node.throughput_rps - 1000.0 * (1.0 - blocking)).abs() < 1e-6);
    assert!((node.dropped_rps - 2000.0 * blocking).abs() < 1e-6);
}

#[test]
fn an_unwired_client_fails_its_requests_with_a_warning() {
    let mut topology = common::single_station(50.0, 1, 100.0, None);
    topology.edges.clear();
    let report = solve(&topology, &Params::default()).unwrap();
    assert_eq!(report.served_rps, 0.0);
    assert_eq!(report.dropped_rps, 50.0);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("no route from client")),
        "{:?}",
        report.warnings
    );
    assert_conservation(&report, "unwired");
}

#[test]
fn a_multiplying_loop_fed_only_by_retries_is_a_clear_error() {
    // Service 2 drops (no waiting places) and retries half its drops at Service 3; each request
    // served at 3 calls Service 4 twice, and 4 routes everything back to 3: a loop of gain 2.
    // In the linear view nothing enters it; with drops, any trickle grows into a storm that
    // only saturation stops. Found by proptest (seed 13962947890066125661).
    let mut topology = common::single_station(50.0, 1, 100.0, Some(0));
    for id in [3, 4] {
        topology.nodes.push(Node::of_kind(id, NodeKind::Service));
    }
    topology
        .edges
        .push(Edge::of_kind(2, 3, EdgeKind::Retry(0.5)));
    topology.edges.push(Edge::of_kind(3, 4, EdgeKind::Call(2)));
    topology.edges.push(Edge::route(4, 3));
    match solve(&topology, &Params::default()) {
        Err(SolveError::Diverged { node }) => assert!(node == "Service 3" || node == "Service 4"),
        other => panic!("expected divergence, got {other:?}"),
    }
    // One call per request, and half of 4's requests go on to Service 5 instead of back to 3:
    // gain 0.5, so 3 receives twice the retries it is sent.
    topology.edges[2].kind = EdgeKind::Call(1);
    topology.nodes.push(Node::of_kind(5, NodeKind::Service));
    topology.edges.push(Edge::route(4, 5));
    let report = solve(&topology, &Params::default()).unwrap();
    let retried = 0.5 * report.node(2).unwrap().dropped_rps;
    let looped = report.node(3).unwrap().arrival_rps;
    assert!(
        (looped - 2.0 * retried).abs() < 1e-9 * looped,
        "{looped} vs {retried}"
    );
    assert_conservation(&report, "gain 0.5");
    assert_littles_law(&report, "gain 0.5");
}

#[test]
fn a_retry_storm_at_the_current_load_leaves_no_headroom() {
    // Service 2 (μ = 100, no waiting place) gets 60 req/s: ρ = 0.6 in the linear view, which
    // sees no retries. But 90% of its drops are retried through Service 3 (μ = 50), which
    // calls it three times per request: the solved traffic overloads both. Found by proptest
    // (seed 3093332075540213991).
    let mut topology = common::single_station(60.0, 1, 100.0, Some(0));
    let mut amplifier = Node::of_kind(3, NodeKind::Service);
    amplifier.capacity_rps = Some(50.0);
    topology.nodes.push(amplifier);
    topology
        .edges
        .push(Edge::of_kind(2, 3, EdgeKind::Retry(0.9)));
    topology.edges.push(Edge::of_kind(3, 2, EdgeKind::Call(3)));
    let report = solve(&topology, &Params::default()).unwrap();
    assert_conservation(&report, "storm");
    let (front, amplifier) = (report.node(2).unwrap(), report.node(3).unwrap());
    // Service 3 is capped at 50 req/s, so Service 2 settles at 60 + 3 × 50 = 210 req/s.
    assert!(
        (front.arrival_rps - 210.0).abs() < 1e-6,
        "{}",
        front.arrival_rps
    );
    assert!(amplifier.backlog_growth_rps > 0.0);
    let headroom = report.headroom.unwrap();
    assert!((headroom - 100.0 / 210.0).abs() < 1e-9, "{headroom}");
    let bottleneck = report.bottleneck.unwrap();
    assert_eq!(bottleneck.id, 2);
    assert!(
        bottleneck.reason.contains("retries"),
        "{}",
        bottleneck.reason
    );
}

/// A loop through an overloaded node (ReadReplica 5 → ExternalService 10 → ReadReplica 5, the
/// latter offered more than it serves): the fixed point's arrivals must agree with what the
/// wires carry. Aitken's step once landed the arrivals on a point where nothing moved while
/// the overloaded node's share served still came from before the jump, so the replica took in
/// 1574.1 req/s against 1356.1 on its only wire (found by `every_report_keeps_the_invariants`).
#[test]
fn a_loop_through_an_overloaded_node_settles_its_shares_served() {
    let topology = random_topology(5_730_967_324_304_904_061, false);
    let report = solve(&topology, &Params::default()).expect("the loop converges");
    let problems = report.invariant_violations();
    assert!(problems.is_empty(), "{problems:#?}");
    let replica = report.node(5).expect("ReadReplica 5");
    let into_replica: f64 = report
        .edges
        .iter()
        .filter(|edge| edge.to == 5)
        .map(|edge| edge.rps)
        .sum();
    assert!(
        (replica.arrival_rps - into_replica).abs() < 1e-9 * into_replica,
        "{} arrive, the wires carry {into_replica}",
        replica.arrival_rps
    );
    let external = report.node(10).expect("ExternalService 10");
    assert!(external.backlog_growth_rps > 0.0, "still overloaded");
    assert_conservation(&report, "overloaded loop");
}
