//! The article presets (`article-00N-…`) reproduce the worked numbers of reference articles
//! 001–004 from the model; where an article's own arithmetic does not hold, the test pins the
//! model's figure and a comment gives the article's. Also the model additions they need:
//! per-GB transfer and storage prices, payload sizes, a Client's call edges, calibration from
//! measurements and autoscaling bounds.

mod common;

use common::{
    load_preset as load, model_node_named as model_node, node_named as node, single_station,
    solved, solved_at_average, staircase,
};
use staircase::analysis::advisor::advise;
use staircase::analysis::calibrate::{calibrate, Measurements};
use staircase::analysis::timeline::{self, Autoscale, Policy, Scenario, Spike};
use staircase::io::presets;
use staircase::model::{Edge, EdgeKind, Node, NodeKind, Rate, StorageTier, Topology};
use staircase::{solve, Params, Report};

fn bottleneck(report: &Report) -> &str {
    &report.bottleneck.as_ref().expect("a bottleneck").name
}

/// Requests per second the system carries before its bottleneck saturates.
fn capacity(report: &Report) -> f64 {
    report.offered_rps * report.headroom.expect("a headroom")
}

fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
    (actual - expected).abs() <= tolerance
}

// ---------------------------------------------------------------- model additions

#[test]
fn a_client_whose_calls_answer_it_serves_everything() {
    // Article 000's five sequential calls drawn as a call edge straight out of the client:
    // the requests complete after their calls; before the fix they were "served 0, dropped 1".
    let mut topology = single_station(10.0, 1, 100.0, None);
    topology.edges[0].kind = EdgeKind::Call(5);
    let report = solved(&topology);
    assert!(
        close(report.served_rps, 10.0, 1e-9),
        "{}",
        report.served_rps
    );
    assert!(close(report.dropped_rps, 0.0, 1e-9));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    // The client waits for five visits in a row to an M/M/1 at ρ = 0.5 (10 ms each).
    assert!(close(report.classes[0].latency_ms.mean, 5.0 * 20.0, 1e-9));
    // A class the call edge does not carry still has nowhere to go, and is reported.
    topology.edges[0].classes = vec![staircase::model::ClassKind::Write];
    let report = solved(&topology);
    assert!(report.warnings.iter().any(|w| w.contains("no route")));
}

#[test]
fn requests_per_month_use_the_billing_month() {
    // 730 hours a month, as in the price catalog: 1M requests a month is 0.38 req/s.
    assert!(close(
        Rate::PerMonth(1e6).per_second(),
        1e6 / (730.0 * 3600.0),
        1e-12
    ));
}

#[test]
fn new_fields_stay_out_of_old_files() {
    // Files written before per-GB prices and payload sizes load unchanged, and saving them
    // writes none of the new fields (they hold their defaults).
    let text = std::fs::read_to_string(common::preset_path("stage-3-cache.ron")).unwrap();
    let topology = staircase::io::document::parse(&text, "stage-3-cache.ron").unwrap();
    let saved = staircase::io::document::to_string(&topology).unwrap();
    for field in ["payload_kb", "usd_per_gb", "storage_gb", "storage_tier"] {
        assert!(!saved.contains(field), "{field} in {saved}");
    }
    assert!(topology.nodes.iter().all(|n| n.storage_gb == 0.0));
}

#[test]
fn a_cdn_bills_the_gigabytes_it_delivers() {
    // Article 004: 1M page views a month × 2 MB ≈ 2 TB; CloudFront at $0.085/GB ≈ $170.
    let mut topology = load("article-004-cdn-cost.ron");
    let report = solved(&topology);
    let cdn = node(&report, "CloudFront");
    assert!(
        close(cdn.monthly_cost_usd, 170.0, 1e-6),
        "{}",
        cdn.monthly_cost_usd
    );
    // Fastly at $0.12/GB: $240.
    model_node(&mut topology, "CloudFront").usd_per_gb = 0.12;
    let report = solved(&topology);
    assert!(close(
        node(&report, "CloudFront").monthly_cost_usd,
        240.0,
        1e-6
    ));
    // No payload, no transfer bill.
    topology.workloads[0].payload_kb = 0.0;
    assert_eq!(node(&solved(&topology), "CloudFront").monthly_cost_usd, 0.0);
}

#[test]
fn storage_tiers_price_the_gigabytes_kept() {
    // Article 004: 2 TB hot + 3 TB warm + 5 TB cold = $160 + $37.50 + $20 = $217.50 a month.
    let mut topology = load("article-004-storage-tiers.ron");
    let report = solved(&topology);
    let storage: f64 = [
        "Hot volume (gp3)",
        "Warm (S3 Standard-IA)",
        "Cold (S3 Glacier)",
    ]
    .iter()
    .map(|name| node(&report, name).monthly_cost_usd)
    .sum();
    assert!(close(storage, 217.5, 1e-9), "{storage}");
    assert!(close(
        node(&report, "Hot volume (gp3)").monthly_cost_usd,
        160.0,
        1e-9
    ));
    assert!(close(
        node(&report, "Warm (S3 Standard-IA)").monthly_cost_usd,
        37.5,
        1e-9
    ));
    assert!(close(
        node(&report, "Cold (S3 Glacier)").monthly_cost_usd,
        20.0,
        1e-9
    ));
    // Everything on hot SSD: 10,000 GB × $0.08 = $800 (the article writes $1,000, pricing
    // the untiered case at $0.10/GB instead of its own $0.08).
    for name in ["Warm (S3 Standard-IA)", "Cold (S3 Glacier)"] {
        model_node(&mut topology, name).storage_tier = StorageTier::Hot;
    }
    let report = solved(&topology);
    let all_hot: f64 = report
        .nodes
        .iter()
        .filter(|n| n.kind == "ObjectStorage")
        .map(|n| n.monthly_cost_usd)
        .sum();
    assert!(close(all_hot, 800.0, 1e-9), "{all_hot}");
}

// ---------------------------------------------------------------- article 001

#[test]
fn article_001_capacity_cheat_sheet() {
    let topology = load("article-001-phase-0-one-server.ron");
    let average = solved_at_average(&topology);
    // 1,000,000 / 86,400 = 11.57 req/s (the article rounds to 12).
    assert!(close(average.offered_rps, 11.574, 1e-3));
    // Peak 10x–25x: 115.7–289.4 req/s (the article's 120–300 multiplies the rounded 12).
    let peak = solved(&topology);
    assert!(close(peak.offered_rps, 289.35, 0.01));
    assert!(close(average.offered_rps * 10.0, 115.74, 0.01));
    // 50 KB responses: 50 GB a day.
    assert!(close(topology.workloads[0].gb_per_day(), 50.0, 1e-9));
    // Reads and writes a day at 90:10: 900,000 and 100,000.
    let per_day = |name: &str| average.class(name).unwrap().offered_rps * 86_400.0;
    assert!(close(per_day("users/read"), 900_000.0, 1e-6));
    assert!(close(per_day("users/write"), 100_000.0, 1e-6));
    // At the 25x peak the one app server is the busier box.
    assert_eq!(bottleneck(&peak), "App server");
}

#[test]
fn article_001_pool_arithmetic_against_max_connections() {
    // Article 001: 1 instance × 20 connections = 20; 10 instances × 20 = 200, which can crush
    // a small database (max_connections 100 here). The preset puts PgBouncer in front.
    let pooled = load("article-001-phase-3-connection-pool.ron");
    assert!(solved(&pooled).warnings.is_empty());
    let mut direct = pooled.clone();
    direct.nodes.retain(|n| n.name != "PgBouncer");
    direct.edges.retain(|e| e.to != 5 && e.from != 5);
    direct.edges.push(Edge::of_kind(4, 6, EdgeKind::Call(1)));
    let report = solved(&direct);
    let warning = report
        .warnings
        .iter()
        .find(|w| w.contains("max_connections"))
        .expect("a connection warning");
    assert!(
        warning.contains("App servers (10 × 20) can open 200 connections")
            && warning.contains("max_connections allows 100"),
        "{warning}"
    );
    model_node(&mut direct, "App servers").instances = 1;
    assert!(solved(&direct)
        .warnings
        .iter()
        .all(|w| !w.contains("max_connections")));
}

#[test]
fn article_001_practical_architecture_splits_the_work() {
    let topology = load("article-001-practical-1m-day.ron");
    let report = solved(&topology);
    let peak = report.offered_rps;
    // The primary takes only the writes; the event queue one event per write.
    assert!(close(
        node(&report, "Postgres primary").arrival_rps,
        0.1 * peak,
        1e-9
    ));
    assert!(close(
        node(&report, "Event queue").arrival_rps,
        0.1 * peak,
        1e-9
    ));
    // Reads: 30% answered by the CDN, then 80% by Redis; the replica sees the rest.
    let replica = 0.9 * peak * 0.7 * 0.2;
    assert!(close(
        node(&report, "Read replica").arrival_rps,
        replica,
        1e-9
    ));
    // Every tier below the 70% trigger at the 25x peak.
    assert!(report.nodes.iter().all(|n| n.offered_utilization < 0.7));
    // Each phase keeps the system stable at the same peak, and the phases add headroom
    // from the one-server start.
    let start = solved(&load("article-001-phase-0-one-server.ron"))
        .headroom
        .unwrap();
    assert!(report.headroom.unwrap() > 4.0 * start);
}

// ---------------------------------------------------------------- article 002

#[test]
fn article_002_starting_point_from_measurements() {
    // 100 RPS, 200 ms, DB CPU 90%, app CPU 30%: the database is the bottleneck and its
    // headroom is the CPU figure's (1 / 0.9).
    let calibration = calibrate(&Measurements::default()).expect("calibrates");
    assert_eq!(calibration.bottleneck, "Database");
    assert!(close(calibration.headroom, 1.0 / 0.9, 1e-9));
    assert!(close(calibration.model_mean_ms, 200.0, 1e-6));
    assert!(calibration.fixed_latency_ms > 0.0);
    // U = X·S/c: 0.3 × 2 cores / 100 req/s = 6 ms; 0.9 × 4 cores / 100 queries/s = 36 ms.
    assert!(close(calibration.app_service_ms, 6.0, 1e-9));
    assert!(close(calibration.db_service_ms, 36.0, 1e-9));
    let report = solved_at_average(&calibration.topology);
    assert!(close(report.nodes[1].utilization, 0.3, 1e-9));
    assert!(close(report.nodes[2].utilization, 0.9, 1e-9));
    // The preset is that calibration, rounded.
    let preset = solved(&load("article-002-week-0-start.ron"));
    assert_eq!(bottleneck(&preset), "Postgres");
    assert!(close(node(&preset, "App server").utilization, 0.3, 1e-4));
    assert!(close(node(&preset, "Postgres").utilization, 0.9, 1e-4));
    let mean = preset.classes[0].latency_ms.mean;
    assert!(close(mean, 200.0, 0.5), "{mean}");
}

#[test]
fn calibrate_writes_a_file_the_model_solves() {
    let directory = tempfile::tempdir().unwrap();
    let out = directory.path().join("mine.ron");
    let out_text = out.to_str().unwrap();
    let (code, stdout, stderr) = staircase(&[
        "calibrate",
        "--rps",
        "100",
        "--mean-ms",
        "200",
        "--p95-ms",
        "500",
        "--app-cpu",
        "30",
        "--db-cpu",
        "90",
        "--out",
        out_text,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("bottleneck Database"), "{stdout}");
    let topology = staircase::io::document::load(&out).unwrap();
    assert!(close(solved(&topology).headroom.unwrap(), 1.0 / 0.9, 1e-9));
    // A CPU of 100% cannot be inverted: a clear error, exit code 2.
    let (code, _, stderr) = staircase(&[
        "calibrate",
        "--rps",
        "100",
        "--mean-ms",
        "200",
        "--p95-ms",
        "500",
        "--app-cpu",
        "30",
        "--db-cpu",
        "100",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("db_cpu must be"), "{stderr}");
}

/// Article 002's weeks: (preset, the model's bottleneck, the model's capacity in req/s).
/// The article's claimed capacities are, in order: —, 300, 800, 2,000, 2,100, 5,000+, 10,000.
const JOURNEY: [(&str, &str, f64); 7] = [
    ("article-002-week-0-start.ron", "Postgres", 111.1),
    ("article-002-week-2-cache.ron", "Postgres", 251.4),
    ("article-002-week-3-query-fixes.ron", "App server", 333.3),
    ("article-002-week-4-replicas.ron", "App server", 333.3),
    ("article-002-week-5-horizontal.ron", "App servers", 1_000.0),
    ("article-002-week-6-cdn.ron", "App servers", 1_666.7),
    ("article-002-week-7-queue.ron", "App servers", 1_666.7),
];

#[test]
fn article_002_journey_capacities_from_the_model() {
    for (file, expected_bottleneck, expected_capacity) in JOURNEY {
        let report = solved(&load(file));
        assert_eq!(bottleneck(&report), expected_bottleneck, "{file}");
        // The CDN's 44.44% hit ratio on reads is 40% of requests to within 0.01%.
        assert!(
            close(capacity(&report), expected_capacity, 0.5),
            "{file}: {}",
            capacity(&report)
        );
    }
    // Week 2: database load 90% → 40% (article: 40%).
    let cache = solved(&load("article-002-week-2-cache.ron"));
    assert!(close(node(&cache, "Postgres").utilization, 0.40, 0.005));
    // Week 3: 40% → 15% (article: 15%).
    let queries = solved(&load("article-002-week-3-query-fixes.ron"));
    assert!(close(node(&queries, "Postgres").utilization, 0.15, 0.001));
    // Week 4: the primary keeps the writes, 10 of 294.7 queries/s (article: 5%).
    let replicas = solved(&load("article-002-week-4-replicas.ron"));
    let primary = node(&replicas, "Postgres primary").utilization;
    assert!(close(primary, 10.0 / 294.7, 1e-4), "{primary}");
}

#[test]
fn article_002_three_servers_of_700_give_1723_not_2100() {
    // With the article's own 700 req/s per server, the two replicas saturate first: they
    // see 0.9 × 0.38 of the requests, 2 × 294.7 / 0.342 = 1,723 req/s.
    let mut topology = load("article-002-week-5-horizontal.ron");
    model_node(&mut topology, "App servers").capacity_rps = Some(700.0);
    let report = solved(&topology);
    assert_eq!(bottleneck(&report), "Read replicas");
    assert!(close(capacity(&report), 2.0 * 294.7 / (0.9 * 0.38), 0.5));
    // With replicas to spare, the app tier gives the article's 3 × 700 = 2,100.
    model_node(&mut topology, "Read replicas").instances = 4;
    assert!(close(capacity(&solved(&topology)), 2_100.0, 1e-6));
}

#[test]
fn article_002_cdn_offload_gives_3500_not_5000() {
    // 40% of requests at the edge multiplies the origin's capacity by 1 / 0.6: in front of
    // the article's 2,100 req/s that is 3,500, not "5,000+".
    let mut topology = load("article-002-week-6-cdn.ron");
    let report = solved(&topology);
    let cdn = node(&report, "CDN");
    let answered = 1.0 - node(&report, "Load balancer").arrival_rps / cdn.arrival_rps;
    assert!(close(answered, 0.4, 1e-3), "{answered}");
    model_node(&mut topology, "App servers").capacity_rps = Some(700.0);
    model_node(&mut topology, "Read replicas").instances = 4;
    // At that rate the primary's writes (10%) saturate it first, at 294.7 / 0.1 = 2,947 req/s.
    let report = solved(&topology);
    assert_eq!(bottleneck(&report), "Postgres primary");
    assert!(close(capacity(&report), 2_947.0, 0.5));
    let NodeKind::Database {
        write_capacity_rps, ..
    } = &mut model_node(&mut topology, "Postgres primary").kind
    else {
        panic!("a database");
    };
    *write_capacity_rps = 1_000.0;
    assert!(close(capacity(&solved(&topology)), 2_100.0 / 0.6, 0.5));
}

#[test]
fn article_002_final_architecture_carries_10000() {
    let report = solved(&load("article-002-final-10k-rps.ron"));
    assert!(close(report.offered_rps, 10_000.0, 1e-9));
    assert_eq!(bottleneck(&report), "App servers");
    assert!(report.headroom.unwrap() > 1.4);
    // The origin sees 6,000 req/s: 18 servers of 333 req/s would be saturated, 26 keep 30%.
    let app = node(&report, "App servers");
    assert!(close(app.arrival_rps, 6_000.0, 1.0));
    assert!(app.arrival_rps / (18.0 * 333.3333) > 0.99);
}

#[test]
fn article_002_practice_scenarios_get_the_articles_answers() {
    // Scenario 1: DB 85%, app 20% → the database (replicas or queries), answer B.
    let topology = load("article-002-exercise-db-85-app-20.ron");
    let report = solved(&topology);
    assert!(close(node(&report, "Postgres").utilization, 0.85, 0.005));
    assert!(close(node(&report, "App servers").utilization, 0.20, 1e-9));
    assert_eq!(
        advise(&topology, &report).first().and_then(|a| a.stage),
        Some(5)
    );
    let mut more_apps = topology.clone();
    model_node(&mut more_apps, "App servers").instances = 4;
    assert!(close(
        solved(&more_apps).headroom.unwrap(),
        report.headroom.unwrap(),
        1e-9
    ));
    // Scenario 2: 3–5 s image processing in the upload → queue it, answer C.
    let topology = load("article-002-exercise-image-processing.ron");
    let report = solved(&topology);
    let upload = report.classes[0].latency_ms;
    assert!(upload.p50 > 3_000.0 && upload.p50 < 5_000.0, "{upload:?}");
    let advice = advise(&topology, &report);
    assert_eq!(advice.first().and_then(|a| a.stage), Some(7), "{advice:?}");
    assert!(advice[0].next_move.contains("queue"));
    // Scenario 3: 500 RPS at 40% CPU → not yet, answer B: 2.5x headroom, no advice.
    let topology = load("article-002-exercise-500-rps-40-cpu.ron");
    let report = solved(&topology);
    assert!(close(report.headroom.unwrap(), 2.5, 1e-9));
    assert!(advise(&topology, &report).is_empty());
}

// ---------------------------------------------------------------- article 003

const STAGES_003: [(&str, &str); 6] = [
    ("article-003-stage-1-single-box.ron", "App + DB box"),
    ("article-003-stage-2-split-database.ron", "Postgres"),
    ("article-003-stage-3-cache-cdn.ron", "App server"),
    ("article-003-stage-4-load-balancer.ron", "Postgres primary"),
    ("article-003-stage-5-read-replicas.ron", "Postgres primary"),
    ("article-003-stage-6-shards-queue.ron", "App servers"),
];

#[test]
fn article_003_each_stage_relieves_the_last() {
    for pair in STAGES_003.windows(2) {
        let (file, expected) = pair[0];
        let current = load(file);
        let report = solved(&current);
        assert_eq!(bottleneck(&report), expected, "{file}");
        let mut next = load(pair[1].0);
        next.workloads = current.workloads.clone();
        let (before, after) = (report.headroom.unwrap(), solved(&next).headroom.unwrap());
        assert!(after > before, "{file}: {before} → {after}");
    }
    // Stage 2 → 5 bottlenecks at their user counts are at the 70% trigger.
    for (file, _) in &STAGES_003[1..5] {
        let report = solved(&load(file));
        assert!(
            report.bottleneck.as_ref().unwrap().utilization >= 0.69,
            "{file}"
        );
    }
    // Stage 5: the replicas take every read; the primary only the writes (10:1 → 9.1%).
    let report = solved(&load("article-003-stage-5-read-replicas.ron"));
    assert!(close(
        node(&report, "Postgres primary").arrival_rps,
        report.offered_rps * 0.0909,
        1e-6
    ));
}

#[test]
fn article_003_multi_region_with_geodns() {
    // Stage 6: Singapore users 200 ms from Virginia; the advisor asks for a region near them.
    let stage_6 = load("article-003-stage-6-shards-queue.ron");
    let before = solved(&stage_6);
    assert!(advise(&stage_6, &before).iter().any(|a| a.stage == Some(8)));
    // Stage 7: GeoDNS sends each group to its own region; Singapore reads become local.
    let after = solved(&load("article-003-stage-7-multi-region.ron"));
    let p50 = |r: &Report| r.class("singapore/read").unwrap().latency_ms.p50;
    assert!(
        p50(&before) - p50(&after) > 150.0,
        "{} → {}",
        p50(&before),
        p50(&after)
    );
    let static_share = 0.86 * 0.3;
    let singapore = after
        .nodes
        .iter()
        .find(|n| n.name == "Singapore users")
        .unwrap();
    assert!(close(
        node(&after, "Singapore load balancer").arrival_rps,
        singapore.arrival_rps * (1.0 - static_share),
        1e-6
    ));
    assert!(close(
        node(&after, "Load balancer").arrival_rps,
        node(&after, "Users").arrival_rps * (1.0 - static_share),
        1e-6
    ));
}

#[test]
fn article_003_stateless_trace() {
    // 1,000 req/s over two stateless servers: 500 each; Redis 1,000 ops/s at ~0.5 ms.
    let mut topology = load("article-003-stateless-sessions.ron");
    let report = solved(&topology);
    let servers = node(&report, "Stateless servers");
    assert!(close(servers.arrival_rps / 2.0, 500.0, 1e-9));
    let redis = node(&report, "Redis sessions");
    assert!(close(redis.arrival_rps, 1_000.0, 1e-9));
    assert!(close(redis.latency_ms.mean, 0.5, 0.01));
    // A third server: 3/2 of the capacity. Then one fails: two carry it at 62.5%.
    model_node(&mut topology, "Stateless servers").instances = 3;
    let three = solved(&topology);
    assert!(close(
        three.headroom.unwrap(),
        1.5 * report.headroom.unwrap(),
        1e-9
    ));
    model_node(&mut topology, "Stateless servers").instances = 2;
    assert!(close(
        node(&solved(&topology), "Stateless servers").utilization,
        0.625,
        1e-9
    ));
}

#[test]
fn article_003_photo_app_exercise() {
    // 800K DAU: DB CPU 90%, app CPU 30%, cache hit 85% → the primary; read replicas.
    let topology = load("article-003-exercise-photo-app-800k.ron");
    let report = solved(&topology);
    assert!(close(
        node(&report, "Postgres primary").utilization,
        0.90,
        0.005
    ));
    assert!(close(node(&report, "App servers").utilization, 0.30, 0.005));
    assert_eq!(
        advise(&topology, &report).first().and_then(|a| a.stage),
        Some(5)
    );
    // Reads are 20:1 of requests (95%), but behind the 85% cache only 75% of DB queries.
    let reads_at_db = node(&report, "Redis").arrival_rps * 0.15;
    let share = reads_at_db / node(&report, "Postgres primary").arrival_rps;
    assert!(close(share, 0.75, 0.01), "{share}");
    // Replicas of the primary's size that bring every database node under 70%: 1 (the
    // article suggests 2–3, which leaves them near 34% and 22%).
    let with_replicas = |count: u32| {
        let mut t = topology.clone();
        let mut replica = Node::of_kind(6, NodeKind::ReadReplica);
        replica.name = "Read replicas".into();
        replica.instances = count;
        replica.concurrency = 8;
        replica.capacity_rps = Some(293.8);
        t.nodes.push(replica);
        t.edges.retain(|e| !(e.from == 4 && e.to == 5));
        t.edges.push(Edge::route(4, 6));
        solved(&t)
    };
    let needed = (1..5)
        .find(|&n| {
            let r = with_replicas(n);
            ["Postgres primary", "Read replicas"]
                .iter()
                .all(|name| node(&r, name).utilization < 0.7)
        })
        .unwrap();
    assert_eq!(needed, 1);
    let two = with_replicas(2);
    assert!(node(&two, "Read replicas").utilization < 0.35);
}

// ---------------------------------------------------------------- article 004

#[test]
fn article_004_one_big_box_against_many_small_ones() {
    let big = solved(&load("article-004-one-big-box.ron"));
    let small_topology = load("article-004-many-small-boxes.ron");
    let small = solved(&small_topology);
    // Same 20,000 req/s ceiling.
    assert!(close(capacity(&big), 20_000.0, 1e-6));
    assert!(close(capacity(&small), 20_000.0, 1e-6));
    // $2,940 against 20 × $61 = $1,220: 2.4x (2.37x with the $22 ALB).
    assert!(close(big.monthly_cost_usd, 2_940.0, 0.01));
    let servers = node(&small, "t3.large servers").monthly_cost_usd;
    assert!(close(servers, 1_220.0, 0.01));
    assert!(close(big.monthly_cost_usd / servers, 2.41, 0.01));
    assert!(close(
        big.monthly_cost_usd / small.monthly_cost_usd,
        2.367,
        0.001
    ));
    // One of 20 fails: 95% of the capacity stays.
    let mut degraded = small_topology.clone();
    model_node(&mut degraded, "t3.large servers").instances = 19;
    assert!(close(capacity(&solved(&degraded)), 19_000.0, 1e-6));
}

#[test]
fn article_004_littles_law_pool_cases() {
    // 10,000 users, one request every 30 s, 10 ms per query: 3.3 busy connections.
    let report = solved(&load("article-004-pool-10k-users.ron"));
    let database = node(&report, "Postgres");
    assert!(
        close(database.in_system, 3.333, 1e-3),
        "{}",
        database.in_system
    );
    assert_eq!(database.servers, 100);
    // 2,000 req/s: 23.2 in flight with the cache (80% at 2 ms, 20% at 50 ms), 100 without.
    let mut topology = load("article-004-exercise-pool-cached-api.ron");
    let in_flight = |r: &Report| r.nodes.iter().map(|n| n.in_system).sum::<f64>();
    let cached = solved(&topology);
    assert!(
        close(in_flight(&cached), 23.2, 1e-3),
        "{}",
        in_flight(&cached)
    );
    assert!(close(cached.classes[0].latency_ms.mean, 11.6, 1e-3));
    let NodeKind::Cache { hit_ratio } = &mut model_node(&mut topology, "Cache").kind else {
        panic!("a cache");
    };
    *hit_ratio = 0.0;
    let uncached = solved(&topology);
    assert!(
        close(in_flight(&uncached), 100.0, 1e-3),
        "{}",
        in_flight(&uncached)
    );
}

#[test]
fn article_004_black_friday_autoscaling() {
    // 4 servers at 50% normally; 20x for six hours; min 20, max 80, target 50% CPU.
    let topology = load("article-004-exercise-black-friday.ron");
    let app = topology
        .nodes
        .iter()
        .find(|n| n.name == "App servers")
        .unwrap();
    let scenario = Scenario {
        duration_s: 12.0 * 3600.0,
        step_s: 300.0,
        diurnal: false,
        spikes: vec![Spike {
            start_s: 6.0 * 3600.0,
            duration_s: 6.0 * 3600.0,
            multiplier: 20.0,
        }],
        autoscale: vec![Autoscale {
            node: app.id,
            target_utilization: 0.5,
            policy: Policy::TargetTracking,
            min: 20,
            max: 80,
            cold_start_s: 120.0,
            cooldown_s: 300.0,
        }],
        ..Scenario::default()
    };
    let run = timeline::run(&topology, &scenario).expect("runs");
    let counts: Vec<u32> = run.steps.iter().map(|s| s.instances[&app.id]).collect();
    assert_eq!(counts[0], 20, "the scheduled minimum from the start");
    assert_eq!(*counts.iter().max().unwrap(), 80);
    // At 20x with 80 servers: exactly the 50% target.
    let mut peak = topology.clone();
    model_node(&mut peak, "App servers").instances = 80;
    let report = solve(
        &peak,
        &Params {
            load_multiplier: 20.0,
            ..Params::default()
        },
    )
    .unwrap();
    assert!(close(node(&report, "App servers").utilization, 0.5, 1e-9));
    // The same from the command line, with a step policy instead.
    let (code, stdout, stderr) = staircase(&[
        "timeline",
        &common::preset_path("article-004-exercise-black-friday.ron"),
        "--flat",
        "--hours",
        "12",
        "--spike",
        "21600:21600:20",
        "--autoscale",
        "3",
        "--min",
        "20",
        "--max",
        "80",
        "--step-policy",
        "50:10,40:0,0:-1",
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let most = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["instances"]["3"].as_u64().unwrap())
        .max()
        .unwrap();
    assert_eq!(most, 80);
}

#[test]
fn step_policies_and_schedules_parse_or_say_why_not() {
    assert_eq!(
        Policy::parse_steps("90:+5,30:0,0:-1"),
        Ok(Policy::Step(vec![(0.9, 5), (0.3, 0), (0.0, -1)]))
    );
    assert_eq!(
        Policy::parse_schedule("0:4,21600:20"),
        Ok(Policy::Scheduled(vec![(0.0, 4), (21_600.0, 20)]))
    );
    assert!(Policy::parse_steps("90")
        .unwrap_err()
        .contains("AT_PERCENT:CHANGE"));
    assert!(Policy::parse_schedule("0:0")
        .unwrap_err()
        .contains("whole number"));
    let (code, _, stderr) = staircase(&[
        "timeline",
        &common::preset_path("article-004-exercise-black-friday.ron"),
        "--min",
        "9",
        "--max",
        "3",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("min 9, max 3"), "{stderr}");
}

#[test]
fn article_004_recipe_app_stages() {
    let files = [
        "article-004-recipe-stage-1.ron",
        "article-004-recipe-stage-2.ron",
        "article-004-recipe-stage-3.ron",
        "article-004-recipe-stage-4.ron",
        "article-004-recipe-stage-5.ron",
    ];
    let reports: Vec<Report> = files.iter().map(|f| solved(&load(f))).collect();
    // Stage 1: a few percent of one server (the article: about 5%).
    assert!(reports[0].bottleneck.as_ref().unwrap().utilization < 0.06);
    // Stage 3 (the article's exercise): primary at 85%, from writes.
    let stage_3 = load(files[2]);
    let primary = node(&reports[2], "Postgres primary");
    assert!(close(primary.utilization, 0.85, 0.005));
    assert_eq!(bottleneck(&reports[2]), "Postgres primary");
    // The staircase advisor names sharding; article 004 would first queue and batch writes.
    assert_eq!(
        advise(&stage_3, &reports[2]).first().and_then(|a| a.stage),
        Some(6)
    );
    // Monthly cost grows stage by stage. The article's tiers: hobby $30–80, startup
    // $200–500, growth $1,500–3,000, scale $10K–30K, massive $100K–1M+. The model prices
    // only the drawn instances: stage 2 falls inside its tier, the others below theirs.
    let costs: Vec<f64> = reports.iter().map(|r| r.monthly_cost_usd).collect();
    assert!(costs.windows(2).all(|w| w[1] > w[0]), "{costs:?}");
    assert!((200.0..=500.0).contains(&costs[1]), "{costs:?}");
    assert!(costs[0] < 30.0 && costs[2] < 1_500.0 && costs[3] < 10_000.0);
    assert!(costs[4] < 100_000.0);
}

#[test]
fn article_004_blog_needs_no_scaling() {
    // 500 visitors × 3 pages = 1,500 requests/day = 0.017 req/s; in 8 hours 0.05 req/s;
    // a 10x spike 0.5 req/s on a 50 req/s VPS is 1%.
    let topology = load("article-004-exercise-blog.ron");
    assert!(close(
        solved_at_average(&topology).offered_rps,
        0.01736,
        1e-5
    ));
    let peak = solved(&topology);
    assert!(close(peak.offered_rps, 0.05208, 1e-5));
    let spike = solve(
        &topology,
        &Params {
            load_multiplier: 10.0,
            ..Params::default()
        },
    )
    .unwrap();
    assert!(close(spike.nodes[1].utilization, 0.0104, 1e-4));
    assert!(advise(&topology, &peak).is_empty());
}

#[test]
fn article_004_photo_roadmap_rates_and_cost() {
    // 50 views per user per day: ~0.6, ~6, ~60, ~600 req/s (article), 0.58, 5.8, 57.9, 579.
    for (file, users) in [
        ("article-004-exercise-photo-1k-users.ron", 1_000.0),
        ("article-004-exercise-photo-10k-users.ron", 10_000.0),
        ("article-004-exercise-photo-100k-users.ron", 100_000.0),
        ("article-004-exercise-photo-1m-users.ron", 1_000_000.0),
    ] {
        let report = solved_at_average(&load(file));
        let views = report.class("viewers/read").unwrap().offered_rps;
        assert!(close(views, users * 50.0 / 86_400.0, 1e-9), "{file}");
        // 2 photos per user per week: 286 uploads a day per 1,000 users (article: ~140).
        let uploads = report.class("uploads/write").unwrap().offered_rps * 86_400.0;
        assert!(close(uploads, users * 2.0 / 7.0, 1e-3), "{file}: {uploads}");
    }
    // At 1M users: the article's ~$2–5K a month.
    let cost = solved(&load("article-004-exercise-photo-1m-users.ron")).monthly_cost_usd;
    assert!((2_000.0..=5_000.0).contains(&cost), "{cost}");
}

#[test]
fn article_004_websocket_fan_out() {
    // 100K users × 1 message/min = 1,667 messages/s; × 20 members = 33K deliveries/s.
    let report = solved(&load("article-004-exercise-websocket-chat.ron"));
    assert!(close(
        node(&report, "Redis Pub/Sub").arrival_rps,
        1_666.667,
        1e-3
    ));
    assert!(close(
        node(&report, "Push to members").arrival_rps,
        33_333.34,
        0.01
    ));
}

#[test]
fn article_004_netflix_open_connect_and_geodns() {
    let report = solved(&load("article-004-netflix-open-connect.ron"));
    // Open Connect answers 98% of video segments; S3 fills the other 2%.
    assert!(close(
        node(&report, "S3 video masters").arrival_rps,
        4_000.0,
        1e-6
    ));
    // GeoDNS sends each continent's members to its own region.
    assert!(close(node(&report, "Zuul US").arrival_rps, 20_000.0, 1e-6));
    assert!(close(node(&report, "Zuul EU").arrival_rps, 12_000.0, 1e-6));
}

#[test]
fn geodns_counts_the_users_round_trip_and_picks_the_nearest_region() {
    // Tokyo users resolve through a GeoDNS node with no region of its own: the hop to the
    // server it picks costs the users' round trip to that server's region.
    use staircase::model::{Region, RegionLink};
    let mut topology = single_station(10.0, 1, 1e6, None);
    topology.regions = vec![
        Region {
            name: "ap-northeast".into(),
            lat: 35.7,
            lon: 139.7,
            availability: None,
        },
        Region {
            name: "tokyo".into(),
            lat: 35.7,
            lon: 139.7,
            availability: None,
        },
        Region {
            name: "us-east".into(),
            lat: 38.9,
            lon: -77.4,
            availability: None,
        },
    ];
    topology.settings.region_rtt_ms = vec![
        RegionLink {
            a: "ap-northeast".into(),
            b: "tokyo".into(),
            rtt_ms: 3.0,
        },
        RegionLink {
            a: "tokyo".into(),
            b: "us-east".into(),
            rtt_ms: 155.0,
        },
    ];
    topology.nodes[0].region = "tokyo".into();
    topology.nodes[1].capacity_rps = None;
    topology.nodes[1].region = "us-east".into();
    let mut dns = Node::of_kind(3, NodeKind::Dns { geo: true });
    dns.capacity_rps = None;
    dns.base_latency_ms = 0.0;
    topology.nodes.push(dns);
    topology.edges = vec![Edge::route(1, 3), Edge::route(3, 2)];
    let mean = |t: &Topology| solved(t).classes[0].latency_ms.mean;
    // Only a US server: 155 ms.
    assert!(close(mean(&topology), 155.0, 1e-9), "{}", mean(&topology));
    // A Tokyo server too, and the workload names no region: the nearest one, 3 ms away.
    let mut local = Node::of_kind(4, NodeKind::Service);
    local.capacity_rps = None;
    local.region = "ap-northeast".into();
    topology.nodes.push(local);
    topology.edges.push(Edge::route(3, 4));
    let report = solved(&topology);
    assert!(close(report.classes[0].latency_ms.mean, 3.0, 1e-9));
    assert!(close(report.node(4).unwrap().arrival_rps, 10.0, 1e-9));
    assert_eq!(report.node(2).unwrap().arrival_rps, 0.0);
    // A workload that names us-east goes there, paying the ocean.
    topology.workloads[0].region = "us-east".into();
    assert!(close(mean(&topology), 155.0, 1e-9));
}

#[test]
fn every_article_preset_cites_its_own_article() {
    let articles = [
        ("article-001-", "001_85886a9cb72e6d33.txt"),
        ("article-002-", "002_0e7e0f797c9c98a6.txt"),
        ("article-003-", "003_d73144a2f1351735.txt"),
        ("article-004-", "004_3db2f34f4172a6bf.txt"),
    ];
    let mut counts = [0; 4];
    for preset in presets::PRESETS {
        for (index, (prefix, source)) in articles.iter().enumerate() {
            if preset.file.starts_with(prefix) {
                counts[index] += 1;
                let topology = preset.load().unwrap();
                assert!(topology.description.contains(source), "{}", preset.file);
                assert!(topology
                    .name
                    .contains(&format!("Article {}", &prefix[8..11])));
            }
        }
    }
    assert!(counts.iter().all(|&n| n >= 5), "{counts:?}");
}
