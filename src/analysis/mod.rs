//! What-if questions answered by solving a topology many times: load sweeps, the capacity
//! planner, the timeline, the advisor, calibration, generated topologies and the simulator.

pub mod advisor;
pub mod calibrate;
pub mod compare;
pub mod explain;
pub mod generate;
pub mod planner;
pub mod simulate;
pub mod sweep;
pub mod timeline;
