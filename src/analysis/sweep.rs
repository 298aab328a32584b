//! What-if sweeps: the topology solved at many load multipliers (in parallel with rayon).

use crate::model::Topology;
use crate::solver::{solve, Params, Precision, SolveError, Solver};
use serde::Serialize;

/// The figures of one class at one load.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassPoint {
    pub name: String,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
}

/// The topology at one load multiplier.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepPoint {
    pub load: f64,
    pub offered_rps: f64,
    pub served_rps: f64,
    pub dropped_rps: f64,
    pub classes: Vec<ClassPoint>,
}

/// A latency-versus-load sweep and where its knee is.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoadSweep {
    pub points: Vec<SweepPoint>,
    /// The load multiplier at which the bottleneck saturates (the knee of the hockey stick).
    pub knee: Option<f64>,
}

/// `count` evenly spaced load multipliers up to just below the knee (97% of the headroom,
/// where the hockey stick has turned up but latency is still finite), or up to 3x when nothing
/// saturates; 1 is always included when it is in range.
pub fn load_multipliers(headroom: Option<f64>, count: usize) -> Vec<f64> {
    let end = headroom.map_or(3.0, |h| (h * 0.97).clamp(0.05, 1e6));
    let count = count.max(2);
    let mut loads: Vec<f64> = (1..=count).map(|i| end * i as f64 / count as f64).collect();
    if !loads.iter().any(|l| (*l - 1.0).abs() < 1e-9) && end >= 1.0 {
        loads.push(1.0);
        loads.sort_by(f64::total_cmp);
    }
    loads
}

/// The compiled topology solved at one load multiplier, on the calling thread. The
/// percentiles are a chart's ([`Precision::Chart`]), except at the design load (1), whose point
/// is the report's figures exactly.
pub fn load_point(solver: &Solver, params: &Params, load: f64) -> Result<SweepPoint, SolveError> {
    let precision = if load == 1.0 {
        params.precision
    } else {
        Precision::Chart
    };
    let summary = solver.summary(&Params {
        load_multiplier: load,
        parallel: false,
        precision,
        ..params.clone()
    })?;
    Ok(SweepPoint {
        load,
        offered_rps: summary.offered_rps,
        served_rps: summary.served_rps,
        dropped_rps: summary.dropped_rps,
        classes: summary
            .classes
            .into_iter()
            .map(|class| ClassPoint {
                name: class.name,
                p50_ms: class.latency_ms.p50,
                p95_ms: class.latency_ms.p95,
                p99_ms: class.latency_ms.p99,
                mean_ms: class.latency_ms.mean,
            })
            .collect(),
    })
}

/// Solves `topology` at each multiplier in `loads`, in parallel, compiling it once.
pub fn load_sweep(
    topology: &Topology,
    params: &Params,
    loads: &[f64],
) -> Result<LoadSweep, SolveError> {
    let solver = Solver::new(topology)?;
    let solve_at = |load: f64| load_point(&solver, params, load);
    #[cfg(feature = "parallel")]
    let points: Result<Vec<SweepPoint>, SolveError> = {
        use rayon::prelude::*;
        loads.par_iter().map(|&load| solve_at(load)).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let points: Result<Vec<SweepPoint>, SolveError> =
        loads.iter().map(|&load| solve_at(load)).collect();
    let base = solver.solve(&Params {
        load_multiplier: 1.0,
        class_percentiles: false,
        ..params.clone()
    })?;
    Ok(LoadSweep {
        points: points?,
        knee: base.headroom,
    })
}

/// One instance count of a tier and what it buys.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstancePoint {
    pub instances: u32,
    pub monthly_cost_usd: f64,
    /// The worst p99 of any request class, ms (`None` when the tier is overloaded).
    pub worst_p99_ms: Option<f64>,
}

/// The whole topology solved with `instances` instances of node `id`, on the calling thread.
pub fn instance_point(
    topology: &Topology,
    id: crate::model::NodeId,
    instances: u32,
) -> Result<InstancePoint, SolveError> {
    let mut variant = topology.clone();
    if let Some(node) = variant.nodes.iter_mut().find(|n| n.id == id) {
        node.instances = instances;
    }
    let report = solve(
        &variant,
        &Params {
            parallel: false,
            ..Params::default()
        },
    )?;
    let stable = report.headroom.is_none_or(|h| h >= 1.0);
    Ok(InstancePoint {
        instances,
        monthly_cost_usd: report.monthly_cost_usd,
        worst_p99_ms: stable.then(|| report.worst_p99_ms()),
    })
}

/// Cost against p99 as the instance count of node `id` varies over `counts` (in parallel).
pub fn instance_sweep(
    topology: &Topology,
    id: crate::model::NodeId,
    counts: &[u32],
) -> Result<Vec<InstancePoint>, SolveError> {
    let solve_with = |instances: u32| instance_point(topology, id, instances);
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        counts.par_iter().map(|&n| solve_with(n)).collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        counts.iter().map(|&n| solve_with(n)).collect()
    }
}

/// Instance counts around `current`: from the fewest that could be stable up to three times
/// the current count, at most `count` values.
pub fn instance_counts(current: u32, count: usize) -> Vec<u32> {
    let high = (current.max(1) * 3).max(4);
    let low = (current / 2).max(1);
    let step = ((high - low) as usize / count.max(1)).max(1) as u32;
    (low..=high).step_by(step as usize).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Edge, Node, NodeKind, Rate, Workload};

    #[test]
    fn instance_sweep_trades_cost_for_p99() {
        // Two app servers at 300 req/s offered 500 req/s: one instance is overloaded (no p99),
        // more instances cost more and lower the p99.
        let topology = crate::analysis::generate::station(500.0, NodeKind::AppServer, 1, 300.0);
        let points = instance_sweep(&topology, 2, &[1, 2, 4]).unwrap();
        assert_eq!(points[0].worst_p99_ms, None);
        let (two, four) = (&points[1], &points[2]);
        assert!(four.monthly_cost_usd > two.monthly_cost_usd);
        assert!(four.worst_p99_ms.unwrap() < two.worst_p99_ms.unwrap());
        // Per-instance M/M/1 with λ = 250, μ = 300: p99 = ln(100)/50 s = 92.1 ms (end to end by
        // transform inversion, within 5e-5 relative).
        let exact = 100f64.ln() / 50.0 * 1000.0;
        assert!((two.worst_p99_ms.unwrap() - exact).abs() < 5e-5 * exact);
    }

    #[test]
    fn sweep_follows_the_mm1_curve_and_marks_the_knee() {
        // M/M/1 with μ = 10 at λ = 5: at load m the mean response is 1/(10 − 5m) s.
        let mut server = Node::of_kind(2, NodeKind::Service);
        server.capacity_rps = Some(10.0);
        let mut topology = Topology {
            workloads: vec![Workload {
                name: "w".into(),
                client: 1,
                rate: Rate::PerSecond(5.0),
                read: 1.0,
                write: 0.0,
                ..Workload::default()
            }],
            nodes: vec![Node::of_kind(1, NodeKind::Client), server],
            edges: vec![Edge::route(1, 2)],
            ..Topology::default()
        };
        // At 97% of a 100 ms service the queue needs far more than a minute to settle: an
        // hour's horizon gives the steady state throughout.
        topology.settings.overload_horizon_s = 3_600.0;
        let loads = load_multipliers(Some(2.0), 8);
        assert!(loads.contains(&1.0));
        assert!((loads.last().unwrap() - 1.94).abs() < 1e-12);
        let sweep = load_sweep(&topology, &Params::default(), &loads).unwrap();
        assert_eq!(sweep.knee, Some(2.0));
        for point in &sweep.points {
            if point.load < 2.0 {
                let expected = 1000.0 / (10.0 - 5.0 * point.load);
                assert!((point.classes[0].mean_ms - expected).abs() < 1e-9 * expected);
            }
        }
    }
}
