//! Issue 10, one test per item: the figure each case must give, bounded work on files the
//! validator accepts, and clear errors where a limit is reached.

mod common;

use common::{single_station, staircase};
use staircase::model::{Edge, EdgeKind, LbPolicy, Node, NodeKind, Region};
use staircase::{solve, Params};

fn solved(topology: &staircase::Topology) -> staircase::Report {
    let report = solve(topology, &Params::default()).expect("solves");
    let problems = report.invariant_violations();
    assert!(problems.is_empty(), "{problems:#?}");
    report
}

/// `topology` with node 2 in region "eu" and retries back into it sent after `round_trip_ms`
/// (the same-region round trip; the client has no region, so its wire stays instant).
fn with_retry_round_trip(
    mut topology: staircase::Topology,
    round_trip_ms: f64,
) -> staircase::Topology {
    topology.regions.push(Region {
        name: "eu".into(),
        lat: 50.0,
        lon: 8.0,
        availability: None,
    });
    topology.nodes[1].region = "eu".into();
    topology.settings.same_region_rtt_ms = round_trip_ms;
    topology
}

/// A round trip after which an M/M/1/1 queue at these rates has long forgotten that it was
/// full (its transient decays as e^(−(λ + μ)t), about e^(−48) and less here): a retry then
/// meets the queue's stationary blocking, as a fresh arrival does.
const MIXED_ROUND_TRIP_MS: f64 = 200.0;

#[test]
fn retries_that_succeed_later_count_as_served() {
    // One server of μ = 100 req/s with no waiting place (M/M/1/1), offered 100 req/s; half of
    // its drops are retried into it after a round trip long enough for the queue to mix. With
    // Λ its total arrivals, blocking is B = a/(1 + a) for a = Λ/100, and Λ = 100 + ½·Λ·B.
    // With x = Λ/100: x = 1 + x²/(2(1 + x)), so x² = 2 and Λ = 100√2. The node serves
    // Λ(1 − B) = 100√2/(1 + √2) = 100(2 − √2) = 58.58 req/s, and each request is served at
    // most once, so that is also the end-to-end served rate (the first-attempt view counted
    // only 100·(1 − B) = 41.42). The rest, 100(√2 − 1) = 41.42, is dropped for good: the half
    // of Λ·B that is not retried.
    let mut topology = single_station(100.0, 1, 100.0, Some(0));
    topology
        .edges
        .push(Edge::of_kind(2, 2, EdgeKind::Retry(0.5)));
    let immediate = solved(&topology);
    let report = solved(&with_retry_round_trip(topology, MIXED_ROUND_TRIP_MS));
    let node = report.node(2).unwrap();
    let root2 = 2f64.sqrt();
    assert!(
        (node.arrival_rps - 100.0 * root2).abs() < 1e-6,
        "{}",
        node.arrival_rps
    );
    assert!((node.throughput_rps - 100.0 * (2.0 - root2)).abs() < 1e-6);
    assert!(
        (report.served_rps - 100.0 * (2.0 - root2)).abs() < 1e-6,
        "{}",
        report.served_rps
    );
    assert!(
        (report.dropped_rps - 100.0 * (root2 - 1.0)).abs() < 1e-6,
        "{}",
        report.dropped_rps
    );
    assert_eq!(report.backlog_rps, 0.0);
    // Sent at once, a retry finds the queue that refused it still full: only the 100 first
    // attempts get in, half of them (B = ½ at a = 1) are served, and each refused one comes
    // back ½ + ¼ + … = 1 more time on average, refused again every time.
    let node = immediate.node(2).unwrap();
    assert!(
        (node.arrival_rps - 150.0).abs() < 1e-6,
        "{}",
        node.arrival_rps
    );
    assert!((node.throughput_rps - 50.0).abs() < 1e-6);
    assert!((node.dropped_rps - 100.0).abs() < 1e-6);
    assert!((immediate.served_rps - 50.0).abs() < 1e-6);
    assert!((immediate.dropped_rps - 50.0).abs() < 1e-6);
}

/// The M/M/1/1 of the retry tests (10 ms exponential service at 100 req/s offered) with a
/// 5 ms fixed delay, retrying half of its drops to itself after the 200 ms round trip.
fn retrying_delayed_station() -> staircase::Topology {
    let mut topology = single_station(100.0, 1, 100.0, Some(0));
    topology.nodes[1].base_latency_ms = 5.0;
    topology
        .edges
        .push(Edge::of_kind(2, 2, EdgeKind::Retry(0.5)));
    with_retry_round_trip(topology, MIXED_ROUND_TRIP_MS)
}

#[test]
fn a_retried_request_takes_its_extra_attempts() {
    // The M/M/1/1 above (10 ms service, half of the drops retried after the 200 ms round
    // trip) with a 5 ms fixed delay: blocking is B = √2/(1 + √2), an attempt is served with
    // s = 1 − B and retried with q = B/2. A completed request made N attempts with
    // P(N = n) ∝ qⁿ⁻¹·s, so E[N − 1] = q/(1 − q) = 0.4142 extra attempts, each turned away at
    // once (no service, no fixed delay) and sent again after the round trip:
    // 15 + 0.4142 × 200 = 97.84 ms.
    let report = solved(&retrying_delayed_station());
    let blocking = 2f64.sqrt() / (1.0 + 2f64.sqrt());
    let retried = blocking / 2.0;
    let expected = 15.0 + retried / (1.0 - retried) * MIXED_ROUND_TRIP_MS;
    assert!((expected - 97.84).abs() < 1e-2);
    let mean = report.classes[0].latency_ms.mean;
    assert!((mean - expected).abs() < 1e-6, "{mean} vs {expected}");
}

/// The M/M/1/1 of the retry tests (10 ms, offered 100 req/s), every drop failed over to a
/// spare node of a 20 ms fixed delay and a 1 µs service.
fn failing_over_station() -> staircase::Topology {
    let mut topology = single_station(100.0, 1, 100.0, Some(0));
    let mut spare = Node::of_kind(3, NodeKind::Service);
    spare.capacity_rps = Some(1e6);
    spare.base_latency_ms = 20.0;
    topology.nodes.push(spare);
    topology
        .edges
        .push(Edge::of_kind(2, 3, EdgeKind::Retry(1.0)));
    topology
}

#[test]
fn a_request_failed_over_takes_the_path_it_took() {
    // Node 2 (M/M/1/1, 10 ms, offered 100 req/s) blocks half of its arrivals (a = 1, B = 1/2);
    // every drop fails over to node 3 (a 20 ms fixed delay and a 1 µs service). Half of the
    // completed requests took 10 ms, half 20.001 ms: the mean is 15.0005 ms (10 ms before).
    let topology = failing_over_station();
    let report = solved(&topology);
    assert!(
        (report.served_rps - 100.0).abs() < 1e-6,
        "{}",
        report.served_rps
    );
    let mean = report.classes[0].latency_ms.mean;
    assert!((mean - 15.0005).abs() < 1e-6, "{mean}");
}

#[test]
fn a_retry_loop_with_gain_near_one_settles() {
    // The same station with 99.9% of drops retried after the round trip: Λ = 100 +
    // 0.999·Λ²/(100 + Λ), so 0.001·Λ² = 10⁴ and Λ = 1000√10 = 3162.28; served
    // Λ·100/(100 + Λ) = 96.93 req/s. The plain iteration contracts by about 0.999 per pass
    // here (10,000 passes to settle).
    let mut topology = single_station(100.0, 1, 100.0, Some(0));
    topology
        .edges
        .push(Edge::of_kind(2, 2, EdgeKind::Retry(0.999)));
    let report = solved(&with_retry_round_trip(topology, MIXED_ROUND_TRIP_MS));
    let arrivals = 1000.0 * 10f64.sqrt();
    let node = report.node(2).unwrap();
    assert!(
        (node.arrival_rps - arrivals).abs() < 1e-6 * arrivals,
        "{}",
        node.arrival_rps
    );
    let served = arrivals * 100.0 / (100.0 + arrivals);
    assert!(
        (report.served_rps - served).abs() < 1e-6,
        "{}",
        report.served_rps
    );
}

#[test]
fn arrivals_equal_to_capacity_are_a_saturated_queue_not_a_huge_one() {
    // λ = cμ = 100/s exactly (and within 1e-12 either way), over the default 60 s horizon:
    // utilization 1 at most, and the queue a critically loaded M/M/1 builds from empty in that
    // time, ⅔·√(2·100·2·60/π) = 58.27 on average (not the 4.5e15 that ρ = 0.9999999999999999
    // once gave, nor the 0 of a fluid model), so the mean is 10 ms + 582.7 ms; Little's law
    // holds on the node.
    let expected_queue = 2.0 / 3.0 * (2.0 * 100.0 * 2.0 * 60.0 / std::f64::consts::PI).sqrt();
    assert!((expected_queue - 58.27).abs() < 0.01);
    for capacity in [100.0, 100.0 * (1.0 + 1e-12), 100.0 * (1.0 - 1e-12)] {
        let report = solved(&single_station(100.0, 1, capacity, None));
        let node = report.node(2).unwrap();
        assert!(node.utilization <= 1.0);
        assert!(
            (node.queue_len - expected_queue).abs() < 1e-6 * expected_queue,
            "{capacity}: queue {}",
            node.queue_len
        );
        let mean_ms = 10.0 + expected_queue * 10.0;
        assert!((node.latency_ms.mean - mean_ms).abs() < 1e-6 * mean_ms);
        assert!((report.classes[0].latency_ms.mean - mean_ms).abs() < 1e-6 * mean_ms);
        let little = node.throughput_rps * (node.latency_ms.mean - 10.0) / 1000.0;
        assert!((node.queue_len - little).abs() < 1e-6 * little);
    }
}

#[test]
fn the_class_mean_is_continuous_through_saturation() {
    // Capacities from 90 to 110 req/s in steps of 0.01 around 100 req/s of arrivals: the class
    // mean never falls as capacity shrinks, never jumps by more than 15 ms between neighbours
    // (it was 1.7e14 ms across two neighbouring capacities), and its p99 never by more than
    // 5% of the mean.
    let mut previous: Option<(f64, f64)> = None;
    for step in 0..=2_000 {
        let capacity = 110.0 - step as f64 * 0.01;
        let report = solved(&single_station(100.0, 1, capacity, None));
        let latency = report.classes[0].latency_ms;
        assert!(latency.mean.is_finite() && latency.p99.is_finite());
        if let Some((mean, p99)) = previous {
            assert!(
                latency.mean >= mean - 1e-9,
                "{capacity}: {} after {mean}",
                latency.mean
            );
            assert!(
                latency.mean - mean <= 15.0,
                "{capacity}: {} after {mean}",
                latency.mean
            );
            assert!(
                (latency.p99 - p99).abs() <= 0.05 * latency.mean,
                "{capacity}: p99 {} after {p99}",
                latency.p99
            );
        }
        previous = Some((latency.mean, latency.p99));
    }
    // Where the horizon, not the steady state, sets the wait, a warning says so.
    let unsettled = |capacity: f64| {
        solved(&single_station(100.0, 1, capacity, None))
            .warnings
            .iter()
            .any(|w| w.contains("longer than the 60 s horizon to settle"))
    };
    assert!(
        unsettled(101.0),
        "ρ = 0.99 with 10 ms service settles in minutes"
    );
    assert!(!unsettled(110.0), "ρ = 0.91 settles within the minute");
}

#[test]
fn a_bottleneck_is_named_only_with_a_finite_headroom() {
    // At a load of 1e-309 the busiest queue is offered a subnormal share of its capacity, whose
    // inverse overflows: no bottleneck and no headroom, rather than a bottleneck beside null.
    let topology = single_station(100.0, 1, 200.0, None);
    for load in [1e-309, 1e-300, 1.0] {
        let report = solve(
            &topology,
            &Params {
                load_multiplier: load,
                ..Params::default()
            },
        )
        .unwrap();
        assert!(report.invariant_violations().is_empty(), "{load}");
        match (&report.bottleneck, report.headroom) {
            (Some(_), Some(headroom)) => {
                assert!(headroom.is_finite());
                assert!((headroom - 2.0 / load).abs() < 1e-9 * headroom);
            }
            (None, None) => assert!(load < 1e-300, "{load}"),
            other => panic!("{load}: {other:?}"),
        }
    }
}

#[test]
fn no_figure_is_negative_or_minus_zero() {
    // No priced node: the cost is +0 (an empty float sum is −0), shown as $0.00.
    let topology = single_station(100.0, 1, 200.0, None);
    let report = solved(&topology);
    assert!(report.monthly_cost_usd == 0.0 && report.monthly_cost_usd.is_sign_positive());
    assert!(report.to_table().contains("monthly cost $0.00"));
    // No workload at all: offered and served are +0.
    let mut idle = topology.clone();
    idle.workloads.clear();
    let report = solved(&idle);
    assert!(report.offered_rps.is_sign_positive() && report.served_rps.is_sign_positive());
    // Nine parallel route edges of uneven weight into a finite queue behind a weighted
    // balancer: the shares add up to a hair off 1, and the drops and the served rate must
    // still be ≥ 0 and ≤ the arrivals.
    let mut fan = single_station(150.0, 1, 100.0, Some(3));
    fan.nodes.push(Node::of_kind(
        3,
        NodeKind::LoadBalancer {
            policy: LbPolicy::Weighted,
        },
    ));
    fan.edges = vec![Edge::route(1, 3)];
    for i in 1..=9 {
        fan.edges.push(Edge {
            weight: 0.1 * f64::from(i),
            ..Edge::route(3, 2)
        });
    }
    let report = solved(&fan);
    let node = report.node(2).unwrap();
    assert!(node.dropped_rps >= 0.0 && node.throughput_rps <= node.arrival_rps);
    assert!(report.served_rps <= report.offered_rps);
}

#[test]
fn a_node_with_connection_waits_keeps_mean_p99_and_littles_law_together() {
    // Two app servers of 8 threads call a database that allows 3 connections, far too few:
    // 50 req/s against 3 × 100/16 = 18.75 queries/s. The wait for a connection is shown at
    // the app servers: their mean includes it, their p99 is at least their mean (most of
    // their requests wait), and L = X·W on both nodes.
    let text = std::fs::read_to_string(format!(
        "{}/fuzz/seeds/connections.ron",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let topology = staircase::io::document::parse(&text, "connections.ron").unwrap();
    let report = solved(&topology);
    let app = report.node(2).unwrap();
    assert!(
        app.connection_wait_ms > 1000.0,
        "{}",
        app.connection_wait_ms
    );
    assert!(
        app.latency_ms.mean <= app.latency_ms.p99,
        "{:?}",
        app.latency_ms
    );
    let database = report.node(3).unwrap();
    assert!((database.throughput_rps - 18.75).abs() < 1e-9);
}

#[test]
fn a_million_waiting_places_solve_in_closed_form() {
    // λ = μ = 100 with 10⁶ waiting places: every state of M/M/1/K is equally likely, so
    // 1/(10⁶ + 2) of arrivals are refused and the mean queue is about 5·10⁵.
    let buffer = 1_000_000u32;
    let report = solved(&single_station(100.0, 1, 100.0, Some(buffer)));
    let node = report.node(2).unwrap();
    let states = f64::from(buffer) + 2.0;
    assert!((node.dropped_rps - 100.0 / states).abs() < 1e-9);
    let queue = (states - 1.0) / states * f64::from(buffer) / 2.0;
    assert!(
        (node.queue_len - queue).abs() < 1e-6 * queue,
        "{}",
        node.queue_len
    );
    // And with a retry loop around it (half of the drops retried) it settles too.
    let mut looped = single_station(100.0, 1, 100.0, Some(buffer));
    looped.edges.push(Edge::of_kind(2, 2, EdgeKind::Retry(0.5)));
    solved(&looped);
}

#[test]
fn a_chart_never_gets_an_infinite_or_empty_range() {
    use staircase::analysis::sweep::{ClassPoint, LoadSweep, SweepPoint};
    let point = |load: f64, p99: f64| SweepPoint {
        load,
        offered_rps: 1.0,
        served_rps: 1.0,
        dropped_rps: 0.0,
        classes: vec![ClassPoint {
            name: "w/read".into(),
            p50_ms: p99,
            p95_ms: p99,
            p99_ms: p99,
            mean_ms: p99,
        }],
    };
    for (knee, points) in [
        (
            Some(f64::INFINITY),
            vec![point(1.0, 5.0), point(2.0, f64::INFINITY)],
        ),
        (None, vec![point(1.0, 5.0), point(1.0, 5.0)]),
        (Some(f64::NAN), vec![point(f64::NAN, 1e300)]),
    ] {
        let sweep = LoadSweep { points, knee };
        let svg = staircase::io::export::latency_svg(&sweep, "ranges").unwrap();
        assert!(svg.contains("<svg"));
    }
}

#[test]
fn svg_export_alone_writes_its_charts() {
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().display().to_string();
    let preset = common::preset_path("stage-1-single-box.ron");
    let (code, stdout, stderr) = staircase(&["export", &preset, "--out", &out, "--format", "svg"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    for line in stdout.lines() {
        let svg = std::fs::read_to_string(line).unwrap();
        assert!(svg.contains("<text"), "{line} has no text");
    }
}

#[test]
fn timelines_of_unbounded_length_are_refused() {
    let preset = common::preset_path("stage-1-single-box.ron");
    for args in [
        vec!["--hours", "inf"],
        vec!["--hours", "1e6"],
        vec!["--step", "1e-300"],
        vec!["--hours", "NaN"],
    ] {
        let mut all = vec!["timeline", preset.as_str()];
        all.extend(&args);
        let (code, _, stderr) = staircase(&all);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("step"), "{args:?}: {stderr}");
    }
}

#[test]
fn bench_arguments_are_checked() {
    let (code, _, stderr) = staircase(&["bench", "--repeat", "18446744073709551615"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--repeat must be from 1 to 10000"),
        "{stderr}"
    );
    let (code, _, stderr) = staircase(&["bench", "--sizes", "100000000"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--sizes must be node counts from 1 to 100000"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn an_endless_file_is_read_through_a_limit() {
    let (code, _, stderr) = staircase(&["solve", "/dev/zero"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("/dev/zero: the file is at least"),
        "{stderr}"
    );
}

/// Client → a chain of `length` Service nodes of μ = 100 at 50 req/s.
fn chain(length: u32, cv: f64, queue_limit: Option<u32>) -> staircase::Topology {
    let mut topology = single_station(50.0, 1, 100.0, queue_limit);
    topology.nodes[1].service_cv = cv;
    for id in 3..=length + 1 {
        let mut node = topology.nodes[1].clone();
        node.id = id;
        topology.nodes.push(node);
        topology.edges.push(Edge::route(id - 1, id));
    }
    topology
}

#[test]
fn a_solve_beyond_its_time_budget_is_refused_before_it_starts() {
    // 1,000 exponential stations in a chain: about 5 + 10 µs each, well within 1.5 s.
    let light = chain(1_000, 1.0, None);
    assert_eq!(solved(&light).nodes.len(), 1_001);
    // The same chain with a service cv of 0.5 and 20 waiting places: every node needs its own
    // transform inversion and a dearer end-to-end transform, about 1.1 ms each: 3.3 s.
    let heavy = chain(3_000, 0.5, Some(20));
    match solve(&heavy, &Params::default()) {
        Err(staircase::SolveError::TooMuchWork {
            nodes, inverted, ..
        }) => {
            assert_eq!((nodes, inverted), (3_001, 3_000));
        }
        other => panic!("expected a refusal, got {:?}", other.map(|r| r.served_rps)),
    }
    // Without end-to-end percentiles, 300 such nodes fit (about 0.3 s).
    let shorter = chain(300, 0.5, Some(20));
    let params = Params {
        class_percentiles: false,
        ..Params::default()
    };
    assert!(solve(&shorter, &params).is_ok());
}

#[test]
fn a_timeline_is_bounded_in_steps_times_nodes() {
    let topology = chain(1_000, 1.0, None);
    let scenario = staircase::analysis::timeline::Scenario {
        duration_s: 10_080.0 * 60.0,
        step_s: 60.0,
        ..Default::default()
    };
    let error = staircase::analysis::timeline::run(&topology, &scenario).unwrap_err();
    assert!(
        error.to_string().contains("node solves; at most 10000000"),
        "{error}"
    );
}

/// The smallest t with `cdf(t) ≥ p`, by bisection on [0, `high`] ms.
fn quantile_ms(cdf: impl Fn(f64) -> f64, p: f64, high: f64) -> f64 {
    let (mut low, mut high) = (0.0, high);
    for _ in 0..200 {
        let middle = 0.5 * (low + high);
        if cdf(middle) >= p {
            high = middle;
        } else {
            low = middle;
        }
    }
    high
}

#[test]
fn a_retried_request_takes_its_round_trips_in_the_percentiles() {
    // The M/M/1/1 of `a_retried_request_takes_its_extra_attempts` (10 ms exponential service,
    // no wait, 5 ms fixed delay, half of the drops retried after 200 ms): a completed request
    // made N attempts, N − 1 geometric with q = B/2, so its time is 5 ms + Exp(10 ms) +
    // 200 ms·(N − 1) and P(T ≤ t) = Σ_n (1 − q)·qⁿ·(1 − e^{−(t − 5 − 200n)/10}).
    let report = solved(&retrying_delayed_station());
    let retried = 2f64.sqrt() / (1.0 + 2f64.sqrt()) / 2.0;
    let cdf = |t: f64| {
        (0..60)
            .map(|n| {
                let served = t - 5.0 - MIXED_ROUND_TRIP_MS * f64::from(n);
                let within = if served > 0.0 {
                    1.0 - (-served / 10.0).exp()
                } else {
                    0.0
                };
                (1.0 - retried) * retried.powi(n) * within
            })
            .sum::<f64>()
    };
    let latency = &report.classes[0].latency_ms;
    // p50 on the first attempt, p95 and p99 on the second and third.
    for (p, model) in [
        (0.50, latency.p50),
        (0.95, latency.p95),
        (0.99, latency.p99),
    ] {
        let expected = quantile_ms(cdf, p, 5_000.0);
        assert!(
            (model - expected).abs() < 0.005 * expected,
            "p{}: {model} ms against {expected} ms",
            100.0 * p
        );
    }
    // A drop failed over to another node (`a_request_failed_over_takes_the_path_it_took`):
    // half the completed requests take Exp(10 ms), half 20 ms and a 1 µs service, so the
    // p95 and p99 are where ½·(1 − e^{−t/10}) reaches 0.45 and 0.49.
    let topology = failing_over_station();
    let latency = solved(&topology).classes[0].latency_ms;
    for (p, model) in [(0.95f64, latency.p95), (0.99, latency.p99)] {
        let expected = -10.0 * (1.0 - 2.0 * (p - 0.5)).ln();
        assert!(
            (model - expected).abs() < 0.005 * expected,
            "failed over p{}: {model} ms against {expected} ms",
            100.0 * p
        );
    }
}
