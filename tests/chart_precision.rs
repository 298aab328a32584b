//! The latency-versus-load chart's percentiles ([`Precision::Chart`], issue 11) against the
//! report's ([`Precision::Report`]) at the same loads: every preset and two generated layered
//! networks, at the 40 loads the chart and the export use. The chart stops refining its
//! inversion grid at a looser agreement (10⁻³ instead of 2·10⁻⁴); its points must stay within
//! a fraction of a pixel of the report's figures, and its design-load point must be the
//! report's exactly.

mod common;

use staircase::analysis::generate;
use staircase::analysis::sweep::{load_multipliers, load_point, load_sweep};
use staircase::solver::{Precision, Solver};
use staircase::{solve, Params, Topology};

/// Largest relative difference allowed between a chart point's percentile and the report's:
/// a third of a percent, under a pixel on a chart 300 pixels tall whose axis starts at zero.
const CHART_TOLERANCE: f64 = 3e-3;

/// Every preset, a generated network of the golden reports and the 500-node bench network.
fn cases() -> Vec<(String, Topology)> {
    common::presets_and_generated(&[(120, 11), (500, 1)])
}

/// The largest relative difference between two percentiles (absolute below a microsecond).
fn difference(chart: f64, report: f64) -> f64 {
    (chart - report).abs() / report.abs().max(1e-3)
}

#[test]
fn chart_points_stay_within_a_fraction_of_a_pixel_of_the_reports_figures() {
    let report_params = Params {
        parallel: false,
        ..Params::default()
    };
    let mut worst = (0.0_f64, String::new());
    let mut compared = 0;
    for (name, topology) in cases() {
        let Ok(report) = solve(&topology, &report_params) else {
            continue;
        };
        let solver = Solver::new(&topology).expect("compiles");
        for load in load_multipliers(report.headroom, 40) {
            let chart = load_point(&solver, &report_params, load).expect("chart point");
            let exact = solver
                .summary(&Params {
                    load_multiplier: load,
                    ..report_params.clone()
                })
                .expect("report point");
            for (point, class) in chart.classes.iter().zip(&exact.classes) {
                let pairs = [
                    (point.p50_ms, class.latency_ms.p50),
                    (point.p95_ms, class.latency_ms.p95),
                    (point.p99_ms, class.latency_ms.p99),
                ];
                assert_eq!(
                    point.mean_ms, class.latency_ms.mean,
                    "{name}: means are exact"
                );
                for (level, (chart_value, report_value)) in pairs.into_iter().enumerate() {
                    assert!(chart_value.is_finite(), "{name} at load {load}");
                    compared += 1;
                    let found = difference(chart_value, report_value);
                    if load == 1.0 {
                        assert_eq!(chart_value, report_value, "{name}: the design load");
                    }
                    if found > worst.0 {
                        worst = (
                            found,
                            format!(
                                "{name} at load {load:.3}, {} level {level}: chart {chart_value} report {report_value}",
                                point.name
                            ),
                        );
                    }
                }
            }
        }
    }
    println!(
        "{compared} percentiles compared; largest difference {:.2e} ({})",
        worst.0, worst.1
    );
    assert!(compared > 1_000, "only {compared} percentiles compared");
    assert!(worst.0 <= CHART_TOLERANCE, "{}", worst.1);
}

#[test]
fn the_chart_precision_only_reaches_the_sweep() {
    // A solve keeps the report's precision unless asked; a sweep asks for the chart's.
    assert_eq!(Params::default().precision, Precision::Report);
    let topology = generate::layered(60, 3);
    let sweep = load_sweep(&topology, &Params::default(), &[0.5, 1.0]).expect("sweeps");
    let report = solve(&topology, &Params::default()).expect("solves");
    let at_design = &sweep.points[1];
    for (point, class) in at_design.classes.iter().zip(&report.classes) {
        assert_eq!(point.p99_ms, class.latency_ms.p99);
    }
}
