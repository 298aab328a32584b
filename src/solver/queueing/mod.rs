//! Queueing formulas: Erlang B/C, M/M/c, M/M/c/K, Allen-Cunneen, fluid overload, and the
//! response-time distributions (closed form or by numerical Laplace-transform inversion).
//!
//! Every function here is pure and works in seconds and requests per second. Each room holds
//! one idea; the names every other module uses are re-exported here:
//! - a pool and its solve: `pool` (`solve_pool`, the horizon and the overload), `erlang`
//!   (Erlang B and C), `finite` (M/M/c/K), `geometric` (its sums in log space),
//!   `connections` (a wait split at a connection limit);
//! - waits by their moments: `two_moment` (Allen–Cunneen, Kingman, KLB, QNA), `renewal`
//!   (GI/M/c behind renewal arrivals), `gamma_arrivals` (GI/M/c's σ and Takács' P(wait)),
//!   `wait_shape` (the conditional wait's shape);
//! - distributions: `service_shape`, `wait_dist` (`WaitDist` and its transform);
//! - percentiles: `fourier` (inversion of a transform, grid by grid), `precision` (how fine),
//!   `spectrum` (one period's FFT), `quantile` (search on a tail), `tails` (closed-form
//!   response tails, `ExponentialTail`).

mod connections;
mod erlang;
mod finite;
mod fourier;
mod gamma_arrivals;
mod geometric;
mod pool;
mod precision;
mod quantile;
mod renewal;
mod service_shape;
mod spectrum;
mod tails;
mod two_moment;
mod wait_dist;
mod wait_shape;

pub use connections::{split_at_connections, ConnectionSplit};
pub use erlang::{erlang_b, erlang_c, idle_weight_ratio};
pub use fourier::{
    grid_for, percentiles_by_fourier, percentiles_on_grid, percentiles_with_atoms,
    percentiles_within, GRID, MIN_GRID,
};
pub use gamma_arrivals::{gamma_arrival_sigma, gamma_renewal_delay_probability};
pub use pool::{
    horizon_wait, solve_pool, solve_pool_with, unsettled_within_horizon, Arrivals, PoolInput,
    PoolSolution, MAX_FINITE_STATES, SATURATION_EPSILON,
};
pub use precision::{Precision, CHART_AGREEMENT, GRID_AGREEMENT};
pub use quantile::{quantile, quantile_at, smooth_quantile_at, Level};
pub(crate) use renewal::renewal_share;
pub use renewal::{
    hidden_variability, renewal_delay_probability, renewal_service_factor, renewal_wait,
};
pub use service_shape::{gamma_lst, ServiceShape};
pub(super) use spectrum::phases;
pub use tails::{exponential_quantiles, mmc_response_tail, uniform_response_tail, ExponentialTail};
pub use two_moment::{klb_factor, mean_share_delay, qna_delay_probability, two_moment_wait};
pub use wait_dist::WaitDist;
pub use wait_shape::{batch_service_scv, conditional_wait_scv, shaped_wait};
