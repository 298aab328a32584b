//! Staircase: draw a system architecture and see its queueing latency, bottleneck and cost.
//!
//! The engine (`advisor`, `calibrate`, `model`, `queueing`, `solver`, `report`, `catalog`, `document`, `presets`,
//! `generate`, `sweep`) has no user-interface dependency; `solve(&Topology, &Params) -> Report`
//! is pure. The desktop app lives in `app`.

pub mod advisor;
pub mod app;
pub mod availability;
pub mod calibrate;
pub mod catalog;
pub mod compare;
pub mod document;
pub mod explain;
pub mod export;
pub mod generate;
pub mod model;
pub mod planner;
pub mod presets;
pub mod queueing;
pub mod report;
pub mod simulate;
pub mod solver;
pub mod sweep;
pub mod timeline;

pub use model::Topology;
pub use report::Report;
pub use solver::{solve, Params, SolveError};
