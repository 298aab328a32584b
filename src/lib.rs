//! Staircase: draw a system architecture and see its queueing latency, bottleneck and cost.
//!
//! The crate is built in layers, each using only those listed before it (see ARCHITECTURE.md):
//!
//! - [`model`]: the document (topology, validation, ranges) and the price catalog;
//! - [`solver`]: queueing formulas and the pure `solve(&Topology, &Params) -> Report`;
//! - [`analysis`]: what-if questions answered by solving many times (sweeps, planner,
//!   timeline, advisor, calibration, generated topologies, the simulator);
//! - [`io`]: files in and out (documents, built-in presets, chart and CSV export);
//! - [`app`]: the desktop app (the only layer that knows egui).

pub mod analysis;
pub mod app;
pub mod io;
pub mod model;
pub mod solver;

pub use model::Topology;
pub use solver::report::Report;
pub use solver::{solve, Params, SolveError};
