//! Where the transform walks run their AVX2 build: the same arithmetic on four lanes of
//! doubles instead of SSE2's two, chosen once per process by what the processor offers.
//!
//! Both builds do the same operations in the same order (no fused multiply-adds), so they
//! give the same figures to the bit; `tests/wide_vectors.rs` holds them to it.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the wide build is allowed (on by default; [`allow_wide`] turns it off).
static ALLOWED: AtomicBool = AtomicBool::new(true);

/// Whether the transform walks take their AVX2 build: allowed, and the processor has AVX2
/// (the standard library caches the check).
#[inline]
pub fn wide() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        ALLOWED.load(Ordering::Relaxed) && std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Allows or forbids the AVX2 build for the rest of the process (for comparing the two builds
/// in a test or a benchmark; solving never needs it).
pub fn allow_wide(allowed: bool) {
    ALLOWED.store(allowed, Ordering::Relaxed);
}

/// Defines a function that runs the `#[inline(always)]` function `$body` with the same
/// arguments, built twice: for AVX2 (taken where [`wide`]) and for the baseline (SSE2).
macro_rules! widened {
    (
        $(#[$doc:meta])*
        $visibility:vis fn $name:ident => $body:ident($($argument:ident: $kind:ty),* $(,)?) -> $result:ty
    ) => {
        $(#[$doc])*
        $visibility fn $name($($argument: $kind),*) -> $result {
            #[cfg(target_arch = "x86_64")]
            {
                // The body with AVX2 enabled for all that is inlined into it.
                #[target_feature(enable = "avx2")]
                fn on_avx2($($argument: $kind),*) -> $result {
                    $body($($argument),*)
                }
                if $crate::solver::vectors::wide() {
                    // SAFETY: `wide` is true only where the processor has AVX2.
                    return unsafe { on_avx2($($argument),*) };
                }
            }
            $body($($argument),*)
        }
    };
}
pub(super) use widened;
