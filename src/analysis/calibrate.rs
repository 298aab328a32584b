//! "Start from your numbers": a topology calibrated from what one app tier and one database
//! measure today (article 002's "know your numbers" list), and how far the model lands from
//! the measured response times.
//!
//! Service times come from the utilization law U = X·S/c (per server, c cores): a tier whose
//! CPU is busy U of the time while it completes X requests per second on c cores spends
//! S = U·c/X seconds of CPU on each. The measured mean response time is split into that CPU
//! work, the queueing the model predicts at the measured load, and a fixed remainder (network,
//! disk and other waits that use no CPU), which is put on the app servers as a fixed latency.

use crate::model::{Edge, EdgeKind, Node, NodeKind, Rate, Topology, Workload};
use crate::solver::{solve, Params, SolveError};
use serde::Serialize;

/// What was measured on the running system, at its current load.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measurements {
    /// Requests per second now.
    pub current_rps: f64,
    /// Requests per second at the busiest time.
    pub peak_rps: f64,
    /// Database queries per request (on average).
    pub db_queries_per_request: f64,
    /// Mean response time at `current_rps`, ms.
    pub mean_response_ms: f64,
    /// 95th percentile response time at `current_rps`, ms.
    pub p95_response_ms: f64,
    /// Share of requests that fail (0.001 = 0.1%).
    pub error_rate: f64,
    /// CPU busy share of the app servers (0.3 = 30%).
    pub app_cpu: f64,
    /// CPU busy share of the database (0.9 = 90%).
    pub db_cpu: f64,
    /// App server instances behind the traffic.
    pub app_instances: u32,
    /// Cores (or worker threads doing CPU work) per app server.
    pub app_cores: u32,
    /// Cores of the database server.
    pub db_cores: u32,
}

impl Default for Measurements {
    /// Article 002's starting point: 100 RPS, 200 ms, app CPU 30%, database CPU 90%, one app
    /// server and one database (the core counts are assumptions: a 2-vCPU app server and a
    /// 4-vCPU database).
    fn default() -> Self {
        Measurements {
            current_rps: 100.0,
            peak_rps: 100.0,
            db_queries_per_request: 1.0,
            mean_response_ms: 200.0,
            p95_response_ms: 500.0,
            error_rate: 0.0,
            app_cpu: 0.3,
            db_cpu: 0.9,
            app_instances: 1,
            app_cores: 2,
            db_cores: 4,
        }
    }
}

/// A measured figure the model cannot start from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrateError {
    #[error("{field} must be {expected}, found {value}")]
    OutOfRange {
        field: &'static str,
        expected: &'static str,
        value: f64,
    },
    #[error("the calibrated model does not solve: {0}")]
    Solve(#[from] SolveError),
}

/// The calibrated model and how close it comes to the measurements.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Calibration {
    #[serde(skip)]
    pub topology: Topology,
    /// CPU time per request on an app server, ms (from U = X·S/c).
    pub app_service_ms: f64,
    /// CPU time per database query, ms (from U = X·S/c).
    pub db_service_ms: f64,
    /// Fixed latency put on the app servers to match the measured mean, ms (0 when the model's
    /// CPU work and queueing alone already reach or pass it).
    pub fixed_latency_ms: f64,
    pub measured_mean_ms: f64,
    pub model_mean_ms: f64,
    pub measured_p95_ms: f64,
    pub model_p95_ms: f64,
    pub measured_error_rate: f64,
    /// Share of requests the model drops at the current load.
    pub model_error_rate: f64,
    /// The model's bottleneck at the current load.
    pub bottleneck: String,
    /// Load multiplier (of the current load) at which the bottleneck saturates.
    pub headroom: f64,
    /// Headroom at the measured peak.
    pub headroom_at_peak: f64,
}

fn check(
    field: &'static str,
    value: f64,
    ok: bool,
    expected: &'static str,
) -> Result<(), CalibrateError> {
    if ok && value.is_finite() {
        Ok(())
    } else {
        Err(CalibrateError::OutOfRange {
            field,
            expected,
            value,
        })
    }
}

impl Measurements {
    fn validate(&self) -> Result<(), CalibrateError> {
        let m = self;
        check(
            "current_rps",
            m.current_rps,
            m.current_rps > 0.0 && m.current_rps <= 1e9,
            "above 0",
        )?;
        check(
            "peak_rps",
            m.peak_rps,
            m.peak_rps >= m.current_rps && m.peak_rps <= 1000.0 * m.current_rps,
            "at least the current rps (and at most 1000 times it)",
        )?;
        check(
            "db_queries_per_request",
            m.db_queries_per_request,
            m.db_queries_per_request > 0.0 && m.db_queries_per_request <= 1000.0,
            "above 0 and at most 1000",
        )?;
        check(
            "mean_response_ms",
            m.mean_response_ms,
            m.mean_response_ms > 0.0 && m.mean_response_ms <= 1e6,
            "above 0",
        )?;
        check(
            "p95_response_ms",
            m.p95_response_ms,
            m.p95_response_ms >= m.mean_response_ms && m.p95_response_ms <= 1e7,
            "at least the mean response time",
        )?;
        check(
            "error_rate",
            m.error_rate,
            (0.0..1.0).contains(&m.error_rate),
            "a share from 0 to below 1",
        )?;
        for (field, cpu) in [("app_cpu", m.app_cpu), ("db_cpu", m.db_cpu)] {
            check(
                field,
                cpu,
                cpu > 0.0 && cpu < 1.0,
                "a busy share above 0 and below 1 (at 100% the service time cannot be inferred)",
            )?;
        }
        for (field, count) in [
            ("app_instances", m.app_instances),
            ("app_cores", m.app_cores),
            ("db_cores", m.db_cores),
        ] {
            check(
                field,
                f64::from(count),
                (1..=10_000).contains(&count),
                "a whole number from 1 to 10000",
            )?;
        }
        Ok(())
    }
}

/// Service time from the utilization law U = X·S/c: S = U·c/X, in seconds.
///
/// ```
/// // Article 002: a database at 90% CPU on 4 cores answering 100 queries/s spends 36 ms of
/// // CPU on each query.
/// let s = staircase::analysis::calibrate::service_time(0.9, 4, 100.0);
/// assert!((s - 0.036).abs() < 1e-12);
/// ```
pub fn service_time(utilization: f64, cores: u32, throughput: f64) -> f64 {
    utilization * f64::from(cores) / throughput
}

/// The topology implied by `m`, with `fixed_ms` of fixed latency on the app servers.
fn build(m: &Measurements, fixed_ms: f64) -> Topology {
    let per_instance = m.current_rps / f64::from(m.app_instances);
    // Capacity = c / S = X / U per instance.
    let app_capacity = per_instance / m.app_cpu;
    let queries = m.current_rps * m.db_queries_per_request;
    let whole_queries = m.db_queries_per_request.fract() == 0.0;
    // A whole number of queries is drawn as that many sequential calls; a fractional one as
    // one call carrying the average query work of a request.
    let (calls, db_capacity) = if whole_queries {
        (m.db_queries_per_request as u32, queries / m.db_cpu)
    } else {
        (1, m.current_rps / m.db_cpu)
    };
    let mut app = Node::of_kind(2, NodeKind::AppServer);
    app.name = "App servers".into();
    app.instances = m.app_instances;
    app.concurrency = m.app_cores;
    app.capacity_rps = Some(app_capacity);
    app.base_latency_ms = fixed_ms;
    let connections = (m.app_instances * m.app_cores).max(100);
    let mut database = Node::of_kind(
        3,
        NodeKind::Database {
            read_capacity_rps: db_capacity,
            write_capacity_rps: db_capacity,
            max_connections: connections,
        },
    );
    database.name = "Database".into();
    database.concurrency = m.db_cores;
    database.capacity_rps = Some(db_capacity);
    database.base_latency_ms = 0.0;
    let mut client = Node::of_kind(1, NodeKind::Client);
    client.name = "Users".into();
    Topology {
        name: "From your measurements".into(),
        description: format!(
            "Calibrated from measurements (article 002_0e7e0f797c9c98a6.txt, \"know your numbers\"): \
             {:.0} req/s now, {:.0} at peak, {} database queries per request, mean {:.0} ms and \
             p95 {:.0} ms, app CPU {:.0}% on {} × {} cores, database CPU {:.0}% on {} cores. \
             Service times follow from the utilization law U = X·S/c; {:.1} ms per request of \
             fixed latency (time that uses no CPU) makes the model's mean match.",
            m.current_rps,
            m.peak_rps,
            m.db_queries_per_request,
            m.mean_response_ms,
            m.p95_response_ms,
            m.app_cpu * 100.0,
            m.app_instances,
            m.app_cores,
            m.db_cpu * 100.0,
            m.db_cores,
            fixed_ms
        ),
        workloads: vec![Workload {
            name: "users".into(),
            client: 1,
            rate: Rate::PerSecond(m.current_rps),
            peak_multiplier: m.peak_rps / m.current_rps,
            read: 0.9,
            write: 0.1,
            ..Workload::default()
        }],
        nodes: vec![client, app, database],
        edges: vec![
            Edge::route(1, 2),
            Edge::of_kind(2, 3, EdgeKind::Call(calls)),
        ],
        layout: [(1, (0.0, 0.0)), (2, (200.0, 0.0)), (3, (400.0, 0.0))]
            .into_iter()
            .map(|(id, (x, y))| (id, crate::model::Position { x, y }))
            .collect(),
        ..Topology::default()
    }
}

/// Builds the calibrated topology for `m` and compares its figures with the measured ones.
pub fn calibrate(m: &Measurements) -> Result<Calibration, CalibrateError> {
    m.validate()?;
    let now = Params {
        at_peak: false,
        ..Params::default()
    };
    let bare = solve(&build(m, 0.0), &now)?;
    let bare_mean = bare.classes.first().map_or(0.0, |c| c.latency_ms.mean);
    let fixed_ms = (m.mean_response_ms - bare_mean).max(0.0);
    let topology = build(m, fixed_ms);
    let report = solve(&topology, &now)?;
    let peak = solve(&topology, &Params::default())?;
    let offered: f64 = report.classes.iter().map(|c| c.offered_rps).sum();
    let weighted = |pick: fn(&crate::solver::report::Latency) -> f64| {
        report
            .classes
            .iter()
            .map(|c| c.offered_rps * pick(&c.latency_ms))
            .sum::<f64>()
            / offered
    };
    let app = &topology.nodes[1];
    let database = &topology.nodes[2];
    let service_ms = |node: &Node| {
        node.capacity_rps.map_or(0.0, |capacity| {
            f64::from(node.concurrency) / capacity * 1000.0
        })
    };
    let per_query = if m.db_queries_per_request.fract() == 0.0 {
        1.0
    } else {
        m.db_queries_per_request
    };
    Ok(Calibration {
        app_service_ms: service_ms(app),
        db_service_ms: service_ms(database) / per_query,
        fixed_latency_ms: fixed_ms,
        measured_mean_ms: m.mean_response_ms,
        model_mean_ms: weighted(|l| l.mean),
        measured_p95_ms: m.p95_response_ms,
        // The classes share one path here, so their p95 are equal; the larger is shown.
        model_p95_ms: report
            .classes
            .iter()
            .map(|c| c.latency_ms.p95)
            .fold(0.0, f64::max),
        measured_error_rate: m.error_rate,
        model_error_rate: report.dropped_rps / offered,
        bottleneck: report
            .bottleneck
            .as_ref()
            .map_or_else(String::new, |b| b.name.clone()),
        headroom: report.headroom.unwrap_or(f64::INFINITY),
        headroom_at_peak: peak.headroom.unwrap_or(f64::INFINITY),
        topology,
    })
}

impl Calibration {
    /// The comparison as a plain-text table.
    pub fn to_table(&self) -> String {
        let gap = |model: f64, measured: f64| (model - measured) / measured * 100.0;
        format!(
            "app CPU per request {:.2} ms, database CPU per query {:.2} ms (U = X·S/c)\n\
             fixed latency added to the app servers {:.1} ms\n\
             {:<12} {:>12} {:>12} {:>9}\n\
             {:<12} {:>12.1} {:>12.1} {:>8.1}%\n\
             {:<12} {:>12.1} {:>12.1} {:>8.1}%\n\
             {:<12} {:>11.3}% {:>11.3}%\n\
             bottleneck {}: headroom x{:.3} now, x{:.3} at the measured peak\n",
            self.app_service_ms,
            self.db_service_ms,
            self.fixed_latency_ms,
            "",
            "measured",
            "model",
            "gap",
            "mean ms",
            self.measured_mean_ms,
            self.model_mean_ms,
            gap(self.model_mean_ms, self.measured_mean_ms),
            "p95 ms",
            self.measured_p95_ms,
            self.model_p95_ms,
            gap(self.model_p95_ms, self.measured_p95_ms),
            "errors",
            self.measured_error_rate * 100.0,
            self.model_error_rate * 100.0,
            self.bottleneck,
            self.headroom,
            self.headroom_at_peak
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cpu_at_100_percent_is_refused_with_its_field() {
        let measured = Measurements {
            db_cpu: 1.0,
            ..Measurements::default()
        };
        let error = calibrate(&measured).unwrap_err();
        assert!(error.to_string().starts_with("db_cpu must be"), "{error}");
    }

    #[test]
    fn fractional_queries_per_request_keep_the_database_busy_share() {
        let measured = Measurements {
            db_queries_per_request: 2.5,
            ..Measurements::default()
        };
        let calibration = calibrate(&measured).expect("calibrates");
        let report = solve(
            &calibration.topology,
            &Params {
                at_peak: false,
                ..Params::default()
            },
        )
        .expect("solves");
        assert!((report.nodes[2].utilization - 0.9).abs() < 1e-9);
        // 90% of 4 cores over 250 queries/s: 14.4 ms of CPU per query.
        assert!((calibration.db_service_ms - 14.4).abs() < 1e-9);
    }
}
