//! The solver against textbook queueing results.

mod common;

use common::{assert_littles_law, single_station};
use staircase::model::{Edge, EdgeKind, Node, NodeKind, Region, RegionLink, Topology};
use staircase::{solve, Params};

fn relative(actual: f64, expected: f64) -> f64 {
    (actual - expected).abs() / expected.abs()
}

#[test]
fn mm1_at_ninety_percent() {
    // M/M/1, λ = 0.9, μ = 1: L = 9, W = 10 s, response time ~ Exp(0.1): p99 = 10·ln 100 = 46.05 s.
    // With a one-second service this queue needs many minutes to settle: an hour's horizon
    // gives the steady state (over the default minute, the wait that builds in a minute, with
    // a warning; see `reliability.rs`).
    let mut topology = single_station(0.9, 1, 1.0, None);
    topology.settings.overload_horizon_s = 3_600.0;
    let report = solve(&topology, &Params::default()).unwrap();
    let node = report.node(2).unwrap();
    assert!(
        (node.in_system - 9.0).abs() < 1e-9,
        "L = {}",
        node.in_system
    );
    assert!((node.latency_ms.mean - 10_000.0).abs() < 1e-6);
    assert!((node.utilization - 0.9).abs() < 1e-12);
    let p99 = 10.0 * 100f64.ln() * 1000.0;
    assert!(
        relative(node.latency_ms.p99, p99) < 1e-6,
        "p99 {}",
        node.latency_ms.p99
    );
    assert!(relative(node.latency_ms.p50, 10.0 * 2f64.ln() * 1000.0) < 1e-6);
    // End to end (client has no delay) by transform inversion on a 4,096-point grid: the same
    // distribution, within 5e-5 relative (a hundredth of a grid step).
    let class = report.class("w/read").unwrap();
    assert!(relative(class.latency_ms.mean, 10_000.0) < 1e-9);
    assert!(
        relative(class.latency_ms.p99, p99) < 5e-5,
        "e2e p99 {}",
        class.latency_ms.p99
    );
    assert!(relative(class.latency_ms.p95, 10.0 * 20f64.ln() * 1000.0) < 5e-5);
}

#[test]
fn mmc_waits_match_erlang_c() {
    // Erlang C table: (c, a, C). Wq = C/(cμ − λ) with μ = 1.
    for (servers, load, erlang_c) in [(2, 1.0, 1.0 / 3.0), (5, 4.0, 0.5541), (10, 8.0, 0.4092)] {
        let report = solve(
            &single_station(load, servers, 1.0, None),
            &Params::default(),
        )
        .unwrap();
        let node = report.node(2).unwrap();
        let wait_ms = node.latency_ms.mean - 1000.0;
        let expected = erlang_c / (f64::from(servers) - load) * 1000.0;
        // The table has 4 decimals: C within 5e-5, so Wq within 0.05 ms/(c − a).
        assert!(
            (wait_ms - expected).abs() < 0.05 / (f64::from(servers) - load) + 1e-9,
            "c={servers} a={load}: wait {wait_ms} ms, expected {expected} ms"
        );
        assert_littles_law(&report, "M/M/c");
    }
}

#[test]
fn mmck_drop_rate() {
    // M/M/2/5 with λ = 3, μ = 1 (a = 3, ρ = 1.5): π_n ∝ 3ⁿ/n! for n ≤ 2, π_2·1.5^{n−2} above.
    let weights = [1.0, 3.0, 4.5, 6.75, 10.125, 15.1875];
    let total: f64 = weights.iter().sum();
    let blocking = weights[5] / total;
    let report = solve(&single_station(3.0, 2, 1.0, Some(3)), &Params::default()).unwrap();
    let node = report.node(2).unwrap();
    assert!(
        (node.dropped_rps - 3.0 * blocking).abs() < 1e-12,
        "dropped {}",
        node.dropped_rps
    );
    let mean_in_system: f64 = weights
        .iter()
        .enumerate()
        .map(|(n, w)| n as f64 * w)
        .sum::<f64>()
        / total;
    assert!((node.in_system - mean_in_system).abs() < 1e-12);
    assert_littles_law(&report, "M/M/2/5");
    // The system total reports the same loss.
    assert!((report.dropped_rps - 3.0 * blocking).abs() < 1e-12);
}

#[test]
fn allen_cunneen_scales_the_wait() {
    // M/D/1 (cv 0): Wq = Wq(M/M/1)·(1 + 0)/2, the Pollaczek–Khinchine value ρ/(2μ(1−ρ)).
    let mut topology = single_station(0.5, 1, 1.0, None);
    topology.nodes[1].service_cv = 0.0;
    let report = solve(&topology, &Params::default()).unwrap();
    let wait_ms = report.node(2).unwrap().latency_ms.mean - 1000.0;
    assert!((wait_ms - 500.0).abs() < 1e-9, "M/D/1 wait {wait_ms}");
    // Its percentiles come from the transform: above the constant service time, below the
    // M/M/1 value at the same load (ln 100 / (μ − λ) = 9.21 s).
    let p99 = report.node(2).unwrap().latency_ms.p99;
    assert!(p99 > 1000.0 && p99 < 100f64.ln() / 0.5 * 1000.0, "{p99}");
}

#[test]
fn erlang_two_arrivals_wait_as_e2_m_1() {
    // E2/M/1 (a workload of arrival cv 1/√2, gamma inter-arrival times of shape 2) at ρ 0.5:
    // an arrival waits with probability σ = ((1 + 4ρ) − √(1 + 8ρ))/2 = (3 − √5)/2, the root
    // of σ = (1 + (1 − σ)/(2ρ))^−2, and Wq = σ/(μ(1 − σ)) (Kleinrock, §6.4).
    let mut topology = single_station(0.5, 1, 1.0, None);
    topology.workloads[0].arrival_cv = 0.5f64.sqrt();
    let report = solve(&topology, &Params::default()).unwrap();
    let node = report.node(2).unwrap();
    let sigma = (3.0 - 5f64.sqrt()) / 2.0;
    let p_wait = node.queue.as_ref().unwrap().wait_probability;
    assert!(
        relative(p_wait, sigma) < 1e-9,
        "P(wait) {p_wait} vs {sigma}"
    );
    let wait_ms = node.latency_ms.mean - 1000.0;
    let expected = sigma / (1.0 - sigma) * 1000.0;
    assert!(
        relative(wait_ms, expected) < 1e-9,
        "Wq {wait_ms} vs {expected}"
    );
    // The wait of those who wait is exponential at μ(1 − σ): P(W > t) = σ·e^{−μ(1−σ)t}. The
    // response time's p99 lies between the wait's and that plus an exponential service's.
    let wait_p99 = (sigma / 0.01).ln() / (1.0 - sigma) * 1000.0;
    let p99 = node.latency_ms.p99;
    assert!(
        p99 > wait_p99 && p99 < wait_p99 + 100f64.ln() * 1000.0,
        "{p99}"
    );
}

#[test]
fn overload_is_a_fluid_with_a_growing_backlog() {
    // 4 servers at 25/s each (capacity 100/s) offered 130/s: throughput 100, backlog +30/s.
    let report = solve(&single_station(130.0, 4, 25.0, None), &Params::default()).unwrap();
    let node = report.node(2).unwrap();
    assert!((node.throughput_rps - 100.0).abs() < 1e-9);
    assert!((node.backlog_growth_rps - 30.0).abs() < 1e-9);
    assert_eq!(node.utilization, 1.0);
    assert!((node.offered_utilization - 1.3).abs() < 1e-12);
    assert!((report.backlog_rps - 30.0).abs() < 1e-9);
    assert!(report.headroom.unwrap() < 1.0);
    assert_littles_law(&report, "fluid");
}

#[test]
fn end_to_end_percentiles_are_not_sums_of_hop_percentiles() {
    // Two M/M/1 stations in tandem, each at ρ = 0.5 (μ = 2, λ = 1): each response ~ Exp(1),
    // so the sum is Erlang(2, 1): P(T > t) = (1 + t)e^{−t}; p99 = 6.6384 s, while adding the
    // per-hop p99s gives 2·ln 100 = 9.21 s (39% high).
    let mut topology = single_station(1.0, 1, 2.0, None);
    let mut second = Node::of_kind(3, NodeKind::Service);
    second.capacity_rps = Some(2.0);
    topology.nodes.push(second);
    topology.edges.push(Edge::route(2, 3));
    let report = solve(&topology, &Params::default()).unwrap();
    let class = report.class("w/read").unwrap();
    let tail = |t: f64| (1.0 + t) * (-t).exp();
    let p99 = class.latency_ms.p99 / 1000.0;
    // Exact root of (1 + t)e^{−t} = 0.01 by Newton, then the inversion within 5e-5 relative.
    let mut exact = 6.0;
    for _ in 0..50 {
        exact -= (tail(exact) - 0.01) / (-exact * (-exact).exp());
    }
    assert!((exact - 6.638352).abs() < 1e-6);
    assert!((p99 - exact).abs() < 5e-5 * exact, "p99 {p99} vs {exact}");
    let summed = 2.0 * report.node(2).unwrap().latency_ms.p99 / 1000.0;
    assert!(summed / p99 > 1.35);
}

#[test]
fn cache_hits_split_traffic_and_mean_is_visit_weighted() {
    // Client → cache (no queue, 1 ms) → database (M/M/1, μ = 100): hit 0.9 at 200 req/s → 20 req/s.
    let mut topology = single_station(200.0, 1, 100.0, None);
    topology.nodes[1].kind = NodeKind::Cache { hit_ratio: 0.9 };
    topology.nodes[1].capacity_rps = None;
    topology.nodes[1].base_latency_ms = 1.0;
    let mut database = Node::of_kind(3, NodeKind::Service);
    database.capacity_rps = Some(100.0);
    topology.nodes.push(database);
    topology.edges.push(Edge::route(2, 3));
    let report = solve(&topology, &Params::default()).unwrap();
    assert!((report.node(3).unwrap().arrival_rps - 20.0).abs() < 1e-9);
    // Mean: 1 ms + 0.1 × (1/(100 − 20) s) = 1 + 1.25 ms.
    let class = report.class("w/read").unwrap();
    assert!(
        (class.latency_ms.mean - 2.25).abs() < 1e-9,
        "{}",
        class.latency_ms.mean
    );
    // Mixture percentile: P(T > t) = 0.1·e^{−80(t − 0.001)}; p95 → t − 1 ms = ln 2 / 80 s.
    let p95_expected = 1.0 + 2f64.ln() / 80.0 * 1000.0;
    assert!(
        (class.latency_ms.p95 - p95_expected).abs() < 1e-3,
        "{}",
        class.latency_ms.p95
    );
    // Median: 90% of requests finish at exactly 1 ms.
    assert!(
        (class.latency_ms.p50 - 1.0).abs() < 0.05,
        "{}",
        class.latency_ms.p50
    );
}

#[test]
fn sequential_calls_across_regions_add_round_trips() {
    // Article 000: 5 sequential calls Tokyo → Virginia at 155 ms RTT = 775 ms of wire time,
    // against 5 × 3 ms = 15 ms in region.
    let build = |server_region: &str| {
        let mut topology = Topology {
            regions: vec![
                Region {
                    name: "tokyo".into(),
                    lat: 35.7,
                    lon: 139.7,
                    availability: None,
                },
                Region {
                    name: "virginia".into(),
                    lat: 38.9,
                    lon: -77.4,
                    availability: None,
                },
            ],
            ..single_station(1.0, 1, 1e6, None)
        };
        topology.settings.same_region_rtt_ms = 3.0;
        topology.settings.region_rtt_ms = vec![RegionLink {
            a: "tokyo".into(),
            b: "virginia".into(),
            rtt_ms: 155.0,
        }];
        topology.nodes[0].region = "tokyo".into();
        topology.nodes[1].capacity_rps = None;
        topology.nodes[1].region = server_region.into();
        topology.edges[0].kind = EdgeKind::Call(5);
        topology
    };
    let far = solve(&build("virginia"), &Params::default()).unwrap();
    let near = solve(&build("tokyo"), &Params::default()).unwrap();
    assert!((far.classes[0].latency_ms.mean - 775.0).abs() < 1e-9);
    assert!((near.classes[0].latency_ms.mean - 15.0).abs() < 1e-9);
}

#[test]
fn distance_gives_fiber_round_trip() {
    // Article 004: New York → Tokyo 10,800 km at 200 km/ms is 108 ms round trip.
    let km = staircase::solver::distance_km(40.71, -74.01, 35.68, 139.69);
    assert!((km - 10_850.0).abs() < 60.0, "{km}");
    let rtt_ms = 2.0 * km / 200.0;
    assert!((rtt_ms - 108.0).abs() < 1.0);
}

/// Client → pooler (`pool_size` connections, no delay of its own) → M/M/16 with μ = 1 at λ.
fn pooled_station(lambda: f64, pool_size: u32) -> Topology {
    let mut topology = single_station(lambda, 16, 1.0, None);
    topology.nodes[1].id = 3;
    topology.edges[0].to = 3;
    let mut pooler = Node::of_kind(2, NodeKind::ConnectionPooler { pool_size });
    pooler.capacity_rps = None;
    pooler.base_latency_ms = 0.0;
    topology.nodes.insert(1, pooler);
    topology.edges = vec![Edge::route(1, 2), Edge::route(2, 3)];
    topology
}

#[test]
fn pool_exhaustion_shows_as_queueing_at_the_pooler() {
    // M/M/16 at ρ = 0.9 behind a pool of 20 connections: the database holds at most 4 waiting
    // requests. An arrival waits for a connection when it finds 20 or more present, with
    // probability C(16, 14.4)·ρ⁴, and then for an Exp(cμ − λ) time (memoryless): the pooler
    // shows Lq·ρ⁴ waiting, the database the other Lq·(1 − ρ⁴).
    let (lambda, rho) = (14.4, 0.9);
    let erlang_c = staircase::solver::queueing::erlang_c(16, lambda);
    let lq = erlang_c * rho / (1.0 - rho);
    let share = rho.powi(4);
    let report = solve(&pooled_station(lambda, 20), &Params::default()).unwrap();
    assert_littles_law(&report, "pooled");
    let pooler = report.node(2).unwrap();
    let database = report.node(3).unwrap();
    assert!(
        relative(pooler.queue_len, lq * share) < 1e-9,
        "{}",
        pooler.queue_len
    );
    assert!(relative(database.queue_len, lq * (1.0 - share)) < 1e-9);
    let connection_wait_ms = erlang_c * share / (16.0 - lambda) * 1000.0;
    assert!(relative(pooler.connection_wait_ms, connection_wait_ms) < 1e-9);
    assert!(relative(pooler.latency_ms.mean, connection_wait_ms) < 1e-9);
    // The pooler's time is 0 with probability 1 − C·ρ⁴, else Exp(1.6): a closed-form p99.
    let p99_ms = (erlang_c * share / 0.01).ln() / (16.0 - lambda) * 1000.0;
    assert!(
        relative(pooler.latency_ms.p99, p99_ms) < 2e-3,
        "pooler p99 {} vs {p99_ms}",
        pooler.latency_ms.p99
    );

    // Where the wait is shown changes nothing end to end: a pool too large to run out
    // gives the same mean and p99 (now all of the wait is at the database).
    let roomy = solve(&pooled_station(lambda, 100_000), &Params::default()).unwrap();
    assert!(roomy.node(2).unwrap().connection_wait_ms < 1e-300);
    let (pooled, unpooled) = (
        &report.class("w/read").unwrap().latency_ms,
        &roomy.class("w/read").unwrap().latency_ms,
    );
    assert!(relative(pooled.mean, unpooled.mean) < 1e-12);
    assert!(relative(pooled.p99, unpooled.p99) < 1e-9);
    assert!(relative(roomy.node(3).unwrap().queue_len, lq) < 1e-9);

    // A pool smaller than the servers: only 10 queries run at once and every wait is for a
    // connection, at the pooler (M/M/10 at λ = 8).
    let report = solve(&pooled_station(8.0, 10), &Params::default()).unwrap();
    let database = report.node(3).unwrap();
    assert_eq!(database.servers, 10);
    assert!(database.queue_len.abs() < 1e-12);
    let expected = staircase::solver::queueing::erlang_c(10, 8.0) * 0.8 / 0.2;
    assert!(relative(report.node(2).unwrap().queue_len, expected) < 1e-9);
}

#[test]
fn an_overloaded_station_has_the_percentiles_of_its_blended_wait() {
    // M/M/4 of μ = 25/s offered 130/s over the default 60 s horizon: capacity 100/s, a fluid
    // backlog of 30/s, whose mean wait over the horizon is 30·60/(2·100) = 9 s, plus the random
    // part ⅔·√(2·130·2·60/π)/100 = 0.664 s. The wait is exponential with weight 0.664/9.664 and
    // uniform on [0, 2·9.664 s] with the rest; the response adds an Exp(25) service. The
    // percentiles the report gives in closed form match a numerical inversion of that
    // transform (an independent method) to 0.3%: the inversion's smoothing window (57 ms here)
    // blurs the uniform's sharp end near 19.3 s by about that much.
    use num_complex::Complex64;
    use staircase::solver::queueing::percentiles_by_fourier;
    let report = solve(&single_station(130.0, 4, 25.0, None), &Params::default()).unwrap();
    let node = report.node(2).unwrap();
    let random = 2.0 / 3.0 * (2.0 * 130.0 * 2.0 * 60.0 / std::f64::consts::PI).sqrt() / 100.0;
    let mean_wait = 9.0 + random;
    assert!((mean_wait - 9.664).abs() < 1e-3);
    let random_share = random / mean_wait;
    let mean_response = mean_wait + 0.04;
    assert!(relative(node.latency_ms.mean, 1000.0 * mean_response) < 1e-9);
    let found = percentiles_by_fourier(mean_response, &[0.5, 0.95, 0.99], |points, values| {
        for (s, value) in points.iter().zip(values.iter_mut()) {
            let one = Complex64::new(1.0, 0.0);
            let exponential = one / (one + s * mean_wait);
            let width = 2.0 * mean_wait;
            let uniform = (one - (-s * width).exp()) / (s * width);
            let service = 25.0 / (s + 25.0);
            *value = (exponential * random_share + uniform * (1.0 - random_share)) * service;
        }
    });
    for (shown, expected) in [
        node.latency_ms.p50,
        node.latency_ms.p95,
        node.latency_ms.p99,
    ]
    .iter()
    .zip(&found)
    {
        assert!(
            relative(*shown, 1000.0 * expected) < 3e-3,
            "{shown} ms vs {} ms",
            1000.0 * expected
        );
    }
}

/// P(T > t) of an M/H2/1 response time T = W + S (FCFS, Poisson arrivals of two classes with
/// exponential services of rates μ₁, μ₂ in shares p₁, p₂): the Pollaczek–Khinchine transform
/// is rational, W*(s) = (1 − ρ)(μ₁ + s)(μ₂ + s)/((s + r₁)(s + r₂)), so the wait is an atom
/// 1 − ρ plus two exponentials, and the tail of W + S follows in closed form.
fn mh21_response_tail(lambda: f64, shares: [f64; 2], rates: [f64; 2], t: f64) -> f64 {
    let [p1, p2] = shares;
    let [m1, m2] = rates;
    let rho = lambda * (p1 / m1 + p2 / m2);
    let b = m1 + m2 - lambda;
    let c = m1 * m2 - lambda * (p1 * m2 + p2 * m1);
    let root = (b * b - 4.0 * c).sqrt();
    let r = [(b - root) / 2.0, (b + root) / 2.0];
    let a = [
        (m1 - r[0]) * (m2 - r[0]) / (r[1] - r[0]),
        (m1 - r[1]) * (m2 - r[1]) / (r[0] - r[1]),
    ];
    let mut tail = 0.0;
    for (p, m) in [(p1, m1), (p2, m2)] {
        // P(S > t), plus ∫₀ᵗ f_S(x)·P(W > t − x) dx with P(W > w) = Σ (1 − ρ)(aᵢ/rᵢ)e^{−rᵢw}.
        tail += p * (-m * t).exp();
        for (ai, ri) in a.iter().zip(r) {
            let waited = (1.0 - rho) * ai / ri;
            tail += p * waited * m * ((-ri * t).exp() - (-m * t).exp()) / (m - ri);
        }
    }
    tail
}

#[test]
fn classes_of_different_service_times_wait_as_m_g_1() {
    // One server, reads (S 2 ms) and writes (S 6.667 ms) at 150 and 50 req/s, ρ 0.633:
    // Pollaczek–Khinchine with the mix's second moment, Wq = λE[S²]/(2(1 − ρ)) = 7.697 ms;
    // every class waits the same and adds its own service.
    let text = r#"(version: 1, name: "M/H2/1",
        workloads: [(name: "w", client: 1, rate: PerSecond(200.0), read: 0.75, write: 0.25, async: 0.0)],
        nodes: [(id: 1, name: "Users", kind: Client, capacity_rps: None),
                (id: 2, name: "Store", kind: Service, capacity_rps: 100.0, base_latency_ms: 0.0,
                 class_capacity_rps: {Read: 500.0, Write: 150.0})],
        edges: [(from: 1, to: 2)])"#;
    let topology = staircase::io::document::parse(text, "mh21.ron").expect("parses");
    let report = solve(&topology, &Params::default()).expect("solves");
    let (read, write): (f64, f64) = (0.002, 1.0 / 150.0);
    let second = 0.75 * 2.0 * read * read + 0.25 * 2.0 * write * write;
    let rho = 150.0 * read + 50.0 * write;
    let wait = 200.0 * second / (2.0 * (1.0 - rho));
    assert!((wait * 1000.0 - 7.697).abs() < 1e-3);
    let node = report.node(2).expect("Store");
    let mean = wait + 0.75 * read + 0.25 * write;
    assert!(relative(node.latency_ms.mean, mean * 1000.0) < 1e-9);
    for (class, service) in report.classes.iter().zip([read, write]) {
        assert!(relative(class.latency_ms.mean, (wait + service) * 1000.0) < 1e-9);
    }
    // Percentiles: the exact M/H2/1 response tail, to the Fourier inversion's accuracy.
    for (level, model) in [
        (0.5, node.latency_ms.p50),
        (0.95, node.latency_ms.p95),
        (0.99, node.latency_ms.p99),
    ] {
        let (mut low, mut high) = (0.0, 1.0);
        for _ in 0..100 {
            let middle = 0.5 * (low + high);
            if mh21_response_tail(200.0, [0.75, 0.25], [500.0, 150.0], middle) > 1.0 - level {
                low = middle;
            } else {
                high = middle;
            }
        }
        let exact = 500.0 * (low + high);
        assert!(
            relative(model, exact) < 5e-3,
            "p{level}: {model} vs {exact}"
        );
    }
}
