//! Availability from the model against hand-computed values: one instance, two in parallel,
//! a 3-of-5 tier, three tiers in series, and the stage presets 1, 5 and 8.

mod common;

use common::{load_preset, solved};
use staircase::analysis::generate::station;
use staircase::model::{Edge, Node, NodeKind, Topology, Uptime};
use staircase::solver::availability::MINUTES_PER_MONTH;

const CLOSE: f64 = 1e-12;

fn class_availability(topology: &Topology, class: &str) -> f64 {
    solved(topology)
        .class(class)
        .unwrap_or_else(|| panic!("class {class}"))
        .availability
}

#[test]
fn one_instance_at_99_9_percent() {
    let mut topology = station(10.0, NodeKind::Service, 1, 100.0);
    topology.nodes[1].availability = Some(Uptime::Fraction(0.999));
    let report = solved(&topology);
    let class = report.class("w/read").expect("class");
    assert!((class.availability - 0.999).abs() < CLOSE);
    // 0.1% of a 730-hour month is 43.8 minutes.
    assert!((class.downtime_min_per_month - 43.8).abs() < 1e-9);
    assert!((class.nines.expect("fails") - 3.0).abs() < 1e-9);
    assert_eq!(class.downtime_by_part[0].id, Some(2));
    assert!((class.downtime_by_part[0].min_per_month - 43.8).abs() < 1e-9);
    assert!((report.availability - 0.999).abs() < CLOSE);
}

#[test]
fn repair_times_give_the_same_figure() {
    let mut topology = station(10.0, NodeKind::Service, 1, 100.0);
    topology.nodes[1].availability = Some(Uptime::Repair {
        mtbf_h: 999.0,
        mttr_h: 1.0,
    });
    assert!((class_availability(&topology, "w/read") - 0.999).abs() < CLOSE);
}

#[test]
fn two_in_parallel_as_instances_and_as_routed_targets() {
    // Two instances of which one carries the load (10 req/s, 100 each): 1 − 0.001².
    let mut topology = station(10.0, NodeKind::Service, 2, 100.0);
    topology.nodes[1].availability = Some(Uptime::Fraction(0.999));
    let report = solved(&topology);
    assert_eq!(report.nodes[1].availability.needed, 1);
    let up = report.class("w/read").expect("class").availability;
    assert!((up - 0.999_999).abs() < CLOSE, "{up}");

    // A load balancer that never fails in front of two single-instance targets.
    let mut topology = station(10.0, NodeKind::Service, 1, 100.0);
    topology.nodes[1].kind = NodeKind::LoadBalancer {
        policy: staircase::model::LbPolicy::RoundRobin,
    };
    topology.nodes[1].availability = Some(Uptime::Fraction(1.0));
    for id in [3, 4] {
        let mut target = Node::of_kind(id, NodeKind::Service);
        target.availability = Some(Uptime::Fraction(0.999));
        topology.nodes.push(target);
        topology.edges.push(Edge::route(2, id));
    }
    let up = class_availability(&topology, "w/read");
    assert!((up - 0.999_999).abs() < CLOSE, "{up}");
}

#[test]
fn three_of_five_from_the_load() {
    // Five instances of 100 req/s at 250 req/s: 2.5 instances of work, so 3 of 5 must be up.
    let mut topology = station(250.0, NodeKind::Service, 5, 100.0);
    topology.nodes[1].availability = Some(Uptime::Fraction(0.99));
    let report = solved(&topology);
    assert_eq!(report.nodes[1].availability.needed, 3);
    // Down when at most 2 are up: C(5,2)·a²·q³ + C(5,1)·a·q⁴ + q⁵ with a = 0.99, q = 0.01.
    let (a, q) = (0.99f64, 0.01f64);
    let down = 10.0 * a.powi(2) * q.powi(3) + 5.0 * a * q.powi(4) + q.powi(5);
    let up = report.class("w/read").expect("class").availability;
    assert!((up - (1.0 - down)).abs() < CLOSE, "{up} vs {}", 1.0 - down);
    assert!((report.nodes[1].availability.tier - (1.0 - down)).abs() < CLOSE);
}

#[test]
fn three_tiers_in_series() {
    let mut topology = station(10.0, NodeKind::Service, 1, 100.0);
    topology.nodes[1].availability = Some(Uptime::Fraction(0.999));
    for id in [3, 4] {
        let mut next = Node::of_kind(id, NodeKind::Service);
        next.availability = Some(Uptime::Fraction(0.999));
        topology.nodes.push(next);
        topology.edges.push(Edge::route(id - 1, id));
    }
    let report = solved(&topology);
    let class = report.class("w/read").expect("class");
    assert!((class.availability - 0.999f64.powi(3)).abs() < CLOSE);
    let minutes = (1.0 - 0.999f64.powi(3)) * MINUTES_PER_MONTH;
    assert!((class.downtime_min_per_month - minutes).abs() < 1e-8);
    // Each tier alone adds what it would remove if it never failed: 1 − 0.999² − (1 − 0.999³).
    let each = (0.999f64.powi(2) - 0.999f64.powi(3)) * MINUTES_PER_MONTH;
    assert_eq!(class.downtime_by_part.len(), 3);
    for part in &class.downtime_by_part {
        assert!((part.min_per_month - each).abs() < 1e-8);
    }
}

/// Default availabilities of the built-in catalog (assets/prices.ron).
const VM: f64 = 0.9995;
const MANAGED: f64 = 0.9999;
const REGION: f64 = 0.9999;

#[test]
fn stage_1_is_one_box_in_one_region() {
    let report = solved(&load_preset("stage-1-single-box.ron"));
    for class in &report.classes {
        assert!((class.availability - VM * REGION).abs() < CLOSE);
        assert_eq!(class.downtime_by_part[0].name, "App + DB box");
        assert!(
            (class.downtime_by_part[0].min_per_month - (1.0 - VM) * REGION * 43_800.0).abs() < 1e-8
        );
    }
    // 26.3 minutes a month.
    assert!((report.downtime_min_per_month - (1.0 - VM * REGION) * 43_800.0).abs() < 1e-8);
}

#[test]
fn stage_5_replicas_protect_reads_but_not_writes() {
    let topology = load_preset("stage-5-read-replicas.ron");
    let report = solved(&topology);
    let tier = |name: &str| common::node_named(&report, name).availability.clone();
    // Reads: load balancer, app servers, two Redis (1 needed), six replicas (5 needed), one
    // region.
    let redis = tier("Redis");
    assert_eq!(redis.needed, 1);
    assert!((redis.tier - (1.0 - (1.0 - VM).powi(2))).abs() < CLOSE);
    let replicas = tier("Read replicas");
    assert_eq!(replicas.needed, 5);
    let six_of_six = VM.powi(6);
    let five_of_six = 6.0 * VM.powi(5) * (1.0 - VM);
    assert!((replicas.tier - (six_of_six + five_of_six)).abs() < CLOSE);
    let apps = tier("App servers");
    let read = MANAGED * apps.tier * redis.tier * replicas.tier * REGION;
    let found = report.class("users/read").expect("reads").availability;
    assert!((found - read).abs() < CLOSE, "{found} vs {read}");
    // Writes: the single PgBouncer and the single primary are in series.
    let write = MANAGED * apps.tier * VM * VM * REGION;
    let class = report.class("users/write").expect("writes");
    assert!((class.availability - write).abs() < CLOSE);
    assert!(["Postgres primary", "PgBouncer"].contains(&class.downtime_by_part[0].name.as_str()));

    let stage_1 = solved(&load_preset("stage-1-single-box.ron"));
    assert!(found > stage_1.availability);
}

#[test]
fn stage_8_reads_fail_over_between_regions_and_writes_do_not() {
    let report = solved(&load_preset("stage-8-multi-region.ron"));
    let tier = |name: &str| common::node_named(&report, name).availability.tier;
    // Reads: GeoDNS (no region), then either region's stack (load balancer, app servers,
    // Redis, replicas, the region itself).
    let east = MANAGED * tier("App servers") * tier("Redis") * tier("Read replicas") * REGION;
    let tokyo = MANAGED
        * tier("Tokyo app servers")
        * tier("Tokyo Redis")
        * tier("Tokyo read replicas")
        * REGION;
    let read = MANAGED * (1.0 - (1.0 - east) * (1.0 - tokyo));
    for name in ["users/read", "tokyo/read"] {
        let found = report.class(name).expect("reads").availability;
        assert!((found - read).abs() < CLOSE, "{name}: {found} vs {read}");
    }
    // Writes go to the shard group in us-east from either region: the shards (4 of them,
    // one instance each) and the us-east region are shared by both branches and counted once.
    let shards = VM.powi(4);
    assert!((tier("Postgres shards") - shards).abs() < CLOSE);
    let stack_east = MANAGED * tier("App servers");
    let stack_tokyo = MANAGED * tier("Tokyo app servers") * REGION;
    // Given us-east up: east stack or Tokyo stack; the shards and us-east in series.
    let write = MANAGED * shards * REGION * (1.0 - (1.0 - stack_east) * (1.0 - stack_tokyo));
    let class = report.class("users/write").expect("writes");
    assert!(
        (class.availability - write).abs() < CLOSE,
        "{} vs {write}",
        class.availability
    );
    assert!(class.availability_exact);
    assert_eq!(class.downtime_by_part[0].name, "Postgres shards");

    let stage_5 = solved(&load_preset("stage-5-read-replicas.ron"));
    let read_5 = stage_5.class("users/read").expect("reads").availability;
    assert!(read > read_5, "two regions {read} vs one {read_5}");
}

#[test]
fn old_files_load_unchanged_and_availability_round_trips() {
    let topology = load_preset("stage-3-cache.ron");
    assert!(topology
        .nodes
        .iter()
        .all(|node| node.availability.is_none()));
    let text = staircase::io::document::to_string(&topology).expect("saves");
    assert!(!text.contains("availability"));
    let mut edited = topology.clone();
    edited.nodes[1].availability = Some(Uptime::Repair {
        mtbf_h: 2000.0,
        mttr_h: 0.5,
    });
    edited.nodes[2].availability = Some(Uptime::Fraction(0.99));
    edited.regions[0].availability = Some(0.999);
    let text = staircase::io::document::to_string(&edited).expect("saves");
    let back = staircase::io::document::parse(&text, "edited.ron").expect("loads");
    assert_eq!(back, {
        let mut sorted = edited.clone();
        sorted.normalize();
        sorted
    });
    assert_eq!(
        staircase::io::document::to_string(&back).expect("saves"),
        text
    );
}

#[test]
fn availability_out_of_range_is_refused_at_its_place() {
    let text = "(nodes: [(id: 1, name: \"a\", kind: Service,\n availability: Fraction(1.5))])";
    let error = staircase::io::document::parse(text, "bad.ron").expect_err("refused");
    let message = error.to_string();
    assert!(message.contains("bad.ron:2:"), "{message}");
    assert!(message.contains("availability"), "{message}");
}

#[test]
fn advisor_names_the_single_primary_and_its_downtime() {
    // A single primary on one instance at 99.5% (a single-VM service level) is down 0.5% of
    // 730 hours: 3.65 hours a month, for every write.
    let mut topology = load_preset("stage-5-read-replicas.ron");
    common::model_node_named(&mut topology, "Postgres primary").availability =
        Some(Uptime::Fraction(0.995));
    let report = solved(&topology);
    let advice = staircase::analysis::advisor::advise(&topology, &report);
    let found = advice
        .iter()
        .find(|a| a.trigger.contains("downtime"))
        .unwrap_or_else(|| panic!("{advice:?}"));
    assert!(
        found.trigger.starts_with(
            "the single Postgres primary costs 3.6 h a month of downtime for users/write"
        ),
        "{}",
        found.trigger
    );
    // With the catalog's 99.95% the same primary costs 22 minutes: below the advisor's hour.
    let report = solved(&load_preset("stage-5-read-replicas.ron"));
    let advice =
        staircase::analysis::advisor::advise(&load_preset("stage-5-read-replicas.ron"), &report);
    assert!(
        advice.iter().all(|a| !a.trigger.contains("downtime")),
        "{advice:?}"
    );
}
