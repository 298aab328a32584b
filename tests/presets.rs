//! The built-in presets: they load, solve to sound figures, reproduce the reference articles'
//! worked numbers, and climb the staircase (each stage's bottleneck is what the next relieves).

mod common;

use common::{
    assert_all_finite, assert_conservation, assert_littles_law, load_preset as load,
    model_node_named, node_named, single_station, solved, solved_at_average,
};
use staircase::analysis::advisor::advise;
use staircase::io::presets::{self, PRESETS};
use staircase::model::{Edge, EdgeKind, Node, NodeKind, Rate, Topology, Workload};
use staircase::Report;

/// Stage 4 with article 004's 20 app servers × 25 worker threads and a primary that accepts
/// `max_connections`.
fn stage_4_with_article_threads(max_connections: u32) -> Topology {
    let mut topology = load("stage-4-load-balancer.ron");
    let app = model_node_named(&mut topology, "App servers");
    app.instances = 20;
    app.concurrency = 25;
    set_max_connections(&mut topology, max_connections);
    topology
}

/// Sets the stage-4 primary's `max_connections`.
fn set_max_connections(topology: &mut Topology, allowed: u32) {
    let NodeKind::Database {
        max_connections, ..
    } = &mut model_node_named(topology, "Postgres primary").kind
    else {
        panic!("the primary is a database");
    };
    *max_connections = allowed;
}

#[test]
fn every_preset_solves_with_sound_figures() {
    for preset in PRESETS {
        let topology = load(preset.file);
        assert!(
            !topology.description.is_empty(),
            "{} has a description",
            preset.file
        );
        assert!(
            topology.description.contains("_") && topology.description.contains(".txt"),
            "{} cites its source article by file name",
            preset.file
        );
        let report = solved(&topology);
        assert_all_finite(&report);
        assert_littles_law(&report, preset.file);
        assert_conservation(&report, preset.file);
        assert!(
            report.headroom.is_some_and(|h| h > 1.0),
            "{} is stable at its design load",
            preset.file
        );
        // Nothing dropped or piling up (up to rounding in the completion products).
        let noise = 1e-9 * report.offered_rps;
        assert!(
            report.dropped_rps <= noise && report.backlog_rps <= noise,
            "{}",
            preset.file
        );
        assert!(
            report.warnings.is_empty(),
            "{}: {:?}",
            preset.file,
            report.warnings
        );
        assert!(report.monthly_cost_usd > 0.0);
    }
}

#[test]
fn daily_volume_to_average_and_peak() {
    // Article 000: 100M requests/day = 1,157 req/s on average, 5,787 at a 5x peak.
    let topology = load("stage-4-load-balancer.ron");
    let peak = solved(&topology);
    assert_eq!(peak.offered_rps.round(), 5_787.0);
    let average = solved_at_average(&topology);
    assert_eq!(average.offered_rps.round(), 1_157.0);
}

/// The fewest instances of a 300 req/s server that keep `headroom` at 5,800 req/s, found by
/// solving the model at each count.
fn servers_needed(headroom: f64) -> u32 {
    (1..=100)
        .find(|&instances| {
            let mut topology = single_station(5_800.0, instances, 300.0, None);
            topology.nodes[1].kind = NodeKind::AppServer;
            topology.nodes[1].concurrency = 1;
            solved(&topology).headroom.is_some_and(|h| h >= headroom)
        })
        .expect("some count suffices")
}

#[test]
fn server_count_for_peak_with_and_without_headroom() {
    // Article 000: ceil(5,800 / 300) = 20 servers, 26 with 30% headroom.
    assert_eq!(servers_needed(1.0), 20);
    assert_eq!(servers_needed(1.3), 26);
    // The stage-4 preset uses 26 of them: 5,787 / (26 × 300) = 74% busy at peak.
    let report = solved(&load("stage-4-load-balancer.ron"));
    assert!((node_named(&report, "App servers").utilization - 5_787.04 / 7_800.0).abs() < 1e-3);
}

#[test]
fn cache_hit_ratio_divides_database_reads() {
    // Article 000: 1,160 req/s with a 90% cache hit ratio leaves 116 reads/s for the database.
    let mut topology = single_station(1_160.0, 1, 1e6, None);
    topology.nodes[1].kind = NodeKind::Cache { hit_ratio: 0.9 };
    let mut database = Node::of_kind(
        3,
        NodeKind::Database {
            read_capacity_rps: 1_000.0,
            write_capacity_rps: 500.0,
            max_connections: 100,
        },
    );
    database.concurrency = 1;
    topology.nodes.push(database);
    topology.edges.push(Edge::route(2, 3));
    let report = solved(&topology);
    let db = report.node(3).unwrap();
    assert!((db.arrival_rps - 116.0).abs() < 1e-9);
    // "If the DB can handle 1,000 reads/s": 884 reads/s to spare.
    assert!((1_000.0 - db.arrival_rps - 884.0).abs() < 1e-9);
    assert!((db.utilization - 0.116).abs() < 1e-12);
}

#[test]
fn read_replicas_for_the_read_share() {
    // Article 000: 5,800 queries/s, 90% reads = 5,220 reads/s over replicas of 2,000 → 3
    // replicas; the primary keeps 580 writes/s.
    let build = |replicas: u32| {
        let mut topology = single_station(5_800.0, 1, 1e6, None);
        topology.workloads[0].read = 0.9;
        topology.workloads[0].write = 0.1;
        topology.nodes[1].kind = NodeKind::AppServer;
        let mut replica = Node::of_kind(3, NodeKind::ReadReplica);
        replica.instances = replicas;
        replica.concurrency = 1;
        replica.capacity_rps = Some(2_000.0);
        let primary = Node::of_kind(
            4,
            NodeKind::Database {
                read_capacity_rps: 2_000.0,
                write_capacity_rps: 5_000.0,
                max_connections: 400,
            },
        );
        topology.nodes.push(replica);
        topology.nodes.push(primary);
        topology.edges.push(Edge::route(2, 3));
        topology.edges.push(Edge::route(2, 4));
        topology
    };
    let report = solved(&build(3));
    assert!((report.node(3).unwrap().arrival_rps - 5_220.0).abs() < 1e-9);
    assert!((report.node(4).unwrap().arrival_rps - 580.0).abs() < 1e-9);
    let needed = (1..10)
        .find(|&n| solved(&build(n)).node(3).unwrap().offered_utilization < 1.0)
        .unwrap();
    assert_eq!(needed, 3);
}

#[test]
fn writes_spread_over_shards() {
    // Article 000: 1B requests/day at 20% writes → 11,574 writes/s at the 5x peak (~11,600),
    // 4 shards → about 2,900 each.
    let report = solved(&load("stage-6-sharding.ron"));
    let shards = node_named(&report, "Postgres shards");
    assert!((shards.arrival_rps - 1e9 / 86_400.0 * 5.0 * 0.2).abs() < 1e-6);
    let per_shard = shards.utilization * 7_000.0;
    assert!((per_shard - 2_893.5).abs() < 0.1, "{per_shard}");
    // And the article's exact figure: 11,600 writes/s over 4 shards.
    let mut topology = single_station(11_600.0, 1, 7_000.0, None);
    topology.workloads[0].read = 0.0;
    topology.workloads[0].write = 1.0;
    topology.nodes[1].kind = NodeKind::ShardGroup {
        shards: 4,
        hot_shard_skew: 1.0,
    };
    let shard = solved(&topology).node(2).unwrap().clone();
    assert!((shard.utilization * 7_000.0 - 2_900.0).abs() < 1e-9);
}

#[test]
fn queue_drain_time_from_worker_capacity() {
    // Article 000: 10,000 jobs drained by workers at 200/s take 50 s. The workers' capacity
    // comes from the model: offered far more than they can do, they serve exactly c·μ.
    let mut topology = single_station(1_000.0, 1, 1e6, None);
    topology.workloads[0].read = 0.0;
    topology.workloads[0].background = 1.0;
    topology.nodes[1].kind = NodeKind::Queue;
    let mut workers = Node::of_kind(3, NodeKind::Workers);
    workers.instances = 4;
    workers.concurrency = 1;
    workers.capacity_rps = Some(50.0);
    topology.nodes.push(workers);
    topology.edges.push(Edge::route(2, 3));
    let report = solved(&topology);
    let drained_per_second = report.node(3).unwrap().throughput_rps;
    assert!((drained_per_second - 200.0).abs() < 1e-9);
    assert!((10_000.0 / drained_per_second - 50.0).abs() < 1e-9);
    // The API is not held up: the queue acknowledges, the backlog is the workers' problem.
    assert!(report.async_bottleneck.as_ref().is_some_and(|b| b.id == 3));
    assert!(report.classes[0].latency_ms.p99 < 50.0);
}

#[test]
fn sequential_calls_from_tokyo() {
    // Article 000: 5 sequential calls at 155 ms RTT = 775 ms; at 3 ms, 15 ms.
    let mut topology = single_station(1.0, 1, 1e6, None);
    topology.regions = vec![
        staircase::model::Region {
            name: "tokyo".into(),
            lat: 35.7,
            lon: 139.7,
            availability: None,
        },
        staircase::model::Region {
            name: "us-east".into(),
            lat: 38.9,
            lon: -77.4,
            availability: None,
        },
    ];
    topology.settings.region_rtt_ms = vec![staircase::model::RegionLink {
        a: "tokyo".into(),
        b: "us-east".into(),
        rtt_ms: 155.0,
    }];
    topology.settings.same_region_rtt_ms = 3.0;
    topology.nodes[0].region = "tokyo".into();
    topology.nodes[1].capacity_rps = None;
    topology.edges[0].kind = EdgeKind::Call(5);
    topology.nodes[1].region = "us-east".into();
    assert!((solved(&topology).classes[0].latency_ms.mean - 775.0).abs() < 1e-9);
    topology.nodes[1].region = "tokyo".into();
    assert!((solved(&topology).classes[0].latency_ms.mean - 15.0).abs() < 1e-9);
    // In the presets: Tokyo users' median drops by more than 100 ms with a Tokyo region.
    let before = solved(&load("stage-7-async-queue.ron"));
    let after = solved(&load("stage-8-multi-region.ron"));
    let p50 = |r: &Report| r.class("tokyo/read").unwrap().latency_ms.p50;
    assert!(
        p50(&before) - p50(&after) > 100.0,
        "{} → {}",
        p50(&before),
        p50(&after)
    );
}

#[test]
fn photo_feed_exercise_end_to_end() {
    // Article 000's exercise: 225M requests/day → 2,604 req/s; 4x peak ≈ 10,400; feed reads
    // 9,259/s at 95% hits → ~463 DB reads/s → one replica of 1,500; ~1,157 writes/s, no shards.
    let topology = load("exercise-photo-feed.ron");
    let average = solved_at_average(&topology);
    assert_eq!(average.offered_rps.round(), 2_604.0);
    let report = solved(&topology);
    assert!((report.offered_rps - 10_416.7).abs() < 0.1);
    assert!((node_named(&report, "Feed cache").arrival_rps - 9_259.3).abs() < 0.1);
    let replica = node_named(&report, "Read replica");
    assert!((replica.arrival_rps - 463.0).abs() < 0.1);
    assert_eq!((replica.arrival_rps / 1_500.0).ceil(), 1.0);
    assert!(replica.offered_utilization < 0.7);
    let primary = node_named(&report, "Postgres primary");
    assert!((primary.arrival_rps - 1_157.4).abs() < 0.1);
    // 1,157 writes/s on a 5,000 writes/s primary: far from the sharding trigger.
    assert!(primary.offered_utilization < 0.7);
    assert!(advise(&topology, &report)
        .iter()
        .all(|a| a.stage != Some(6)));
}

/// Each stage's expected bottleneck: the component the next stage relieves.
const EXPECTED_BOTTLENECK: [&str; 7] = [
    "App + DB box",
    "Postgres",
    "App server",
    "Postgres primary",
    "Postgres primary",
    "Email provider",
    "App servers",
];

#[test]
fn the_staircase_each_stage_relieves_the_last_bottleneck() {
    let stages: Vec<&str> = presets::stages().iter().map(|p| p.file).collect();
    assert_eq!(stages.len(), 8);
    for k in 0..7 {
        let current = load(stages[k]);
        let report = solved(&current);
        let bottleneck = report.bottleneck.as_ref().expect("a bottleneck");
        assert_eq!(bottleneck.name, EXPECTED_BOTTLENECK[k], "{}", stages[k]);
        assert!(
            bottleneck.utilization >= 0.7,
            "{} is at its trigger (70%)",
            stages[k]
        );
        // The next stage, at this stage's workload, has more headroom.
        let mut next = load(stages[k + 1]);
        next.workloads = current.workloads.clone();
        let next_report = solved(&next);
        let (before, after) = (report.headroom.unwrap(), next_report.headroom.unwrap());
        assert!(
            after > before,
            "{} → {}: headroom {before} → {after}",
            stages[k],
            stages[k + 1]
        );
        // And the advisor names that next stage.
        let advice = advise(&current, &report);
        assert_eq!(
            advice.first().and_then(|a| a.stage),
            Some(k as u8 + 2),
            "{}: {advice:?}",
            stages[k]
        );
    }
}

#[test]
fn advisor_stays_quiet_with_room_to_spare() {
    let topology = Topology {
        workloads: vec![Workload {
            name: "w".into(),
            client: 1,
            rate: Rate::PerSecond(10.0),
            ..Workload::default()
        }],
        ..single_station(10.0, 1, 100.0, None)
    };
    let report = solved(&topology);
    assert!(advise(&topology, &report).is_empty());
}

#[test]
fn too_many_connections_are_flagged() {
    // Article 004: 20 app servers × 25 worker threads = 500 connections, max_connections 400.
    let mut topology = stage_4_with_article_threads(400);
    let report = solved(&topology);
    let warning = report
        .warnings
        .iter()
        .find(|w| w.contains("max_connections"))
        .expect("a connection warning");
    assert!(
        warning.contains("App servers (20 × 25) can open 500 connections"),
        "{warning}"
    );
    assert!(
        warning.contains("allows 400; 100 requests wait"),
        "{warning}"
    );
    assert!(advise(&topology, &report)
        .iter()
        .any(|a| a.next_move.contains("connection pooler")));
    // With a pooler of 100 connections in front, the demand fits.
    let pooler_id = topology.next_id();
    let mut pooler = Node::of_kind(pooler_id, NodeKind::ConnectionPooler { pool_size: 100 });
    pooler.capacity_rps = Some(1e6);
    topology.nodes.push(pooler);
    for edge in &mut topology.edges {
        if edge.to == 5 && edge.from == 3 {
            edge.to = pooler_id;
        }
    }
    topology.edges.push(Edge::route(pooler_id, 5));
    let report = solved(&topology);
    assert!(
        report
            .warnings
            .iter()
            .all(|w| !w.contains("max_connections")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn connection_exhaustion_queues_at_the_app_servers_pools() {
    // Article 004's 20 app servers × 25 threads against max_connections 400, with a primary
    // too small for its load (1,000 reads/s, 500 writes/s): the primary saturates and its
    // backlog grows. At most 400 requests hold a connection (32 running, 368 waiting inside);
    // the rest wait in the app servers' pools, so the wait shows there.
    let mut topology = stage_4_with_article_threads(400);
    model_node_named(&mut topology, "App servers").capacity_rps = Some(1000.0);
    model_node_named(&mut topology, "Postgres primary").kind = NodeKind::Database {
        read_capacity_rps: 1000.0,
        write_capacity_rps: 500.0,
        max_connections: 400,
    };
    let report = solved(&topology);
    assert_littles_law(&report, "exhausted");
    assert_conservation(&report, "exhausted");
    let app = node_named(&report, "App servers");
    let database = node_named(&report, "Postgres primary");
    assert!(database.backlog_growth_rps > 0.0);
    assert!(app.connection_wait_ms > 100.0, "{}", app.connection_wait_ms);
    // Inside the database a request waits behind at most the 368 others holding connections:
    // 368 departures at its capacity (the throughput it carries when saturated).
    let inside_ms = 368.0 / database.throughput_rps * 1000.0;
    let service_ms = 32.0 / database.throughput_rps * 1000.0;
    assert!(
        database.latency_ms.mean <= 1.0 + inside_ms + service_ms + 1e-6,
        "{} vs {}",
        database.latency_ms.mean,
        1.0 + inside_ms + service_ms
    );
    assert!(app.queue_len > 100.0 * database.queue_len);

    // With connections to spare, the same wait is all at the database; end to end nothing
    // changes, because only where the wait is shown moved.
    set_max_connections(&mut topology, 1_000_000);
    let roomy = solved(&topology);
    assert_eq!(node_named(&roomy, "App servers").connection_wait_ms, 0.0);
    for (a, b) in report.classes.iter().zip(&roomy.classes) {
        assert!((a.latency_ms.mean - b.latency_ms.mean).abs() < 1e-9 * b.latency_ms.mean);
    }
    let total = |r: &Report| r.nodes.iter().map(|n| n.in_system).sum::<f64>();
    assert!((total(&report) - total(&roomy)).abs() < 1e-9 * total(&roomy));
}

#[test]
fn a_pool_of_twenty_cannot_hold_a_hundred_busy_connections() {
    // Article 004: 2,000 req/s whose queries hold a connection for 50 ms need 2,000 × 0.05 =
    // 100 connections at any moment (Little's law); a pool of 20 becomes the bottleneck and
    // requests queue for a free connection; a pool of 100+ moves the bottleneck elsewhere.
    let pooled = |pool_size: u32| {
        let mut topology = single_station(2000.0, 1, 4000.0, None);
        // One database of 200 query slots at 50 ms each (4,000 queries/s if it had them all).
        let database = &mut topology.nodes[1];
        database.id = 3;
        database.concurrency = 200;
        let mut pooler = Node::of_kind(2, NodeKind::ConnectionPooler { pool_size });
        pooler.capacity_rps = None;
        pooler.base_latency_ms = 0.0;
        topology.nodes.insert(1, pooler);
        topology.edges = vec![Edge::route(1, 2), Edge::route(2, 3)];
        solved(&topology)
    };
    let starved = pooled(20);
    assert_littles_law(&starved, "pool 20");
    let database = starved.node(3).unwrap();
    // 20 connections at 50 ms carry 400 queries/s; the other 1,600/s pile up at the pooler.
    assert_eq!(database.servers, 20);
    assert!((database.throughput_rps - 400.0).abs() < 1e-9);
    assert!((database.backlog_growth_rps - 1600.0).abs() < 1e-9);
    assert!(
        (database.in_system - 20.0).abs() < 1e-9,
        "{}",
        database.in_system
    );
    let pooler = starved.node(2).unwrap();
    assert!(pooler.queue_len > 1000.0 && pooler.connection_wait_ms > 1000.0);
    assert_eq!(starved.bottleneck.as_ref().unwrap().id, 3);

    let roomy = pooled(120);
    assert_littles_law(&roomy, "pool 120");
    let database = roomy.node(3).unwrap();
    // Busy connections by Little's law: exactly 2,000 × 0.05 = 100 (the wait for one of the
    // 120 is shown at the pooler).
    assert!(
        (database.in_system - 100.0).abs() < 1e-9,
        "{}",
        database.in_system
    );
    assert!((database.utilization - 100.0 / 120.0).abs() < 1e-12);
    assert!(roomy.node(2).unwrap().connection_wait_ms < 0.1);
    assert!(roomy.headroom.unwrap() > 1.19);
}

#[test]
fn autoscaling_grows_a_tier_that_scales_out_not_the_primary() {
    // In stage 5 the primary database is the bottleneck (writes), but a primary does not
    // scale out by adding instances: the autoscaler takes the busiest stateless tier.
    let topology = load("stage-5-read-replicas.ron");
    let report = solved(&topology);
    assert_eq!(report.bottleneck.as_ref().unwrap().name, "Postgres primary");
    let tier = staircase::analysis::timeline::scalable_tier(&topology, &report).unwrap();
    assert!(
        matches!(tier.kind, NodeKind::AppServer | NodeKind::ReadReplica),
        "{}",
        tier.name
    );
    let busiest = ["App servers", "Read replicas"]
        .map(|name| node_named(&report, name).offered_utilization)
        .into_iter()
        .fold(0.0, f64::max);
    assert_eq!(node_named(&report, &tier.name).offered_utilization, busiest);
}

#[test]
fn every_wire_reports_the_traffic_it_carries() {
    // Stage 3: 7M requests a day at a peak of 3x is 243.06 req/s, 90% reads. Every read calls
    // Redis 4 times (972.2 calls/s); 10% of them miss and go on to Postgres (97.2/s), and each
    // write calls Postgres once (24.3/s). Each wire's per-class figures follow the classes.
    let report = solved(&load("stage-3-cache.ron"));
    let rate = 7_000_000.0 / 86_400.0 * 3.0;
    let wire = |from: u32, to: u32| {
        report
            .edges
            .iter()
            .find(|e| e.from == from && e.to == to)
            .unwrap_or_else(|| panic!("wire {from}→{to}"))
    };
    let class = |name: &str| report.classes.iter().position(|c| c.name == name).unwrap();
    let (reads, writes) = (class("users/read"), class("users/write"));
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.max(1.0);
    assert_eq!(report.edges.len(), 4);
    assert!(close(wire(1, 2).rps, rate), "{}", wire(1, 2).rps);
    assert!(close(wire(2, 3).class_rps[reads], rate * 0.9 * 4.0));
    assert_eq!(wire(2, 3).class_rps[writes], 0.0);
    assert!(close(wire(3, 4).class_rps[reads], rate * 0.9 * 4.0 * 0.1));
    assert!(close(wire(2, 4).class_rps[writes], rate * 0.1));
    assert_eq!(wire(2, 4).kind, "call");
    // What the wires bring is what Postgres receives.
    let postgres = node_named(&report, "Postgres");
    assert!(close(wire(3, 4).rps + wire(2, 4).rps, postgres.arrival_rps));
}
