//! Solver speed on generated layered topologies of 1k, 10k and 100k nodes (at most 128 servers
//! per queue). Goal: 10,000 nodes in under 5 ms on a 2-core machine, cost linear in node count.
//! Two figures per size: the per-node model (traffic, queues, bottleneck, cost, class means) and
//! the full solve with end-to-end percentiles by transform inversion. And the app's latency
//! curve: a 40-point load sweep of a 500-node topology with percentiles (goal 40 ms).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use staircase::analysis::generate::layered;
use staircase::analysis::sweep::load_sweep;
use staircase::{solve, Params};
use std::hint::black_box;
use std::time::Duration;

fn solver(c: &mut Criterion) {
    let mut group = c.benchmark_group("solve");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for size in [1_000usize, 10_000, 100_000] {
        let topology = layered(size, 1);
        group.throughput(Throughput::Elements(size as u64));
        let nodes_only = Params {
            class_percentiles: false,
            ..Params::default()
        };
        group.bench_with_input(BenchmarkId::new("nodes", size), &topology, |b, t| {
            b.iter(|| black_box(solve(t, &nodes_only).map(|r| r.nodes.len())))
        });
        // A refused solve would time the refusal: the benchmark stops instead.
        assert!(
            solve(&topology, &Params::default()).is_ok(),
            "{size} nodes are refused"
        );
        group.bench_with_input(BenchmarkId::new("full", size), &topology, |b, t| {
            b.iter(|| black_box(solve(t, &Params::default()).map(|r| r.nodes.len())))
        });
    }
    group.finish();
}

fn sweep(c: &mut Criterion) {
    let mut group = c.benchmark_group("sweep");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let topology = layered(500, 1);
    let loads: Vec<f64> = (1..=40).map(|i| i as f64 * 0.05).collect();
    group.bench_function("500 nodes x 40 loads", |b| {
        b.iter(|| {
            black_box(load_sweep(&topology, &Params::default(), &loads).map(|s| s.points.len()))
        })
    });
    group.finish();
}

criterion_group!(benches, solver, sweep);
/// The allocator the `staircase` binary runs with (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

criterion_main!(benches);
