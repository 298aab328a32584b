//! How finely the Fourier inversion refines: to the report's agreement or a chart's.

use super::fourier::FIRST_GRID;

/// How finely [`percentiles_within`] inverts: the report's figures, or a chart's points.
/// Both start from the same grid; a chart stops refining sooner.
///
/// [`percentiles_within`]: super::percentiles_within
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// The report's percentiles: refined until two successive extrapolations agree within
    /// [`GRID_AGREEMENT`] (2·10⁻⁴).
    #[default]
    Report,
    /// A chart's points (the latency-versus-load sweep): refined until they agree within
    /// [`CHART_AGREEMENT`] (10⁻³), after a probe of a grid 1.5 times the first
    /// ([`Precision::probe_grid`]). On the 500-node bench every class then settles on the
    /// probe's 384 points (193 transform points), where the report's need 512 or 1,024; over
    /// every preset and load the chart's percentiles stay within 0.3% of the report's
    /// (`tests/chart_precision.rs`).
    Chart,
}

impl Precision {
    /// A chart's probe after the grid of [`FIRST_GRID`] points: a grid 1.5 times as fine
    /// ([`CHART_PROBE_GRID`], 193 transform points where the doubled grid needs 257). Its
    /// extrapolation (Richardson's at ratio r = 1.5) is taken when it agrees with the first
    /// grid's within the agreement times r − 1 (for an error of first order, two estimates
    /// that agree within d on grids of ratio r leave about d/(r − 1)); else the refinement goes
    /// on by doubling as if there had been no probe. On the 500-node bench the probe's
    /// extrapolation is within about 2·10⁻⁴ of the converged percentiles. None for the report.
    pub(super) fn probe_grid(self, grid: usize, max_grid: usize) -> Option<usize> {
        match self {
            Precision::Chart if grid == FIRST_GRID && CHART_PROBE_GRID < max_grid => {
                Some(CHART_PROBE_GRID)
            }
            _ => None,
        }
    }

    /// Relative agreement of two successive extrapolations at which refinement stops.
    pub(super) fn agreement(self) -> f64 {
        match self {
            Precision::Report => GRID_AGREEMENT,
            Precision::Chart => CHART_AGREEMENT,
        }
    }
}

/// Relative agreement of two successive extrapolated percentiles at which
/// [`percentiles_on_grid`] stops refining. Five exponential hops, an exponential, an M/M/1
/// response and an atom plus an Erlang then stop at 1,024 points, within 3·10⁻⁵ of the exact
/// percentiles (a plain 4,096-point grid: 3·10⁻⁵).
///
/// [`percentiles_on_grid`]: super::percentiles_on_grid
pub const GRID_AGREEMENT: f64 = 2e-4;

/// [`Precision::Chart`]'s agreement of two successive extrapolated percentiles.
pub const CHART_AGREEMENT: f64 = 1e-3;

/// [`Precision::Chart`]'s probe grid ([`Precision::probe_grid`]): 1.5 times [`FIRST_GRID`].
pub(super) const CHART_PROBE_GRID: usize = FIRST_GRID / 2 * 3;
