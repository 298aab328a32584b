#![no_main]
//! Bytes in, checked figures out: load + validate + save round trip + solve + every report
//! invariant + table + a timeline step (see `tests/common/fuzz_check.rs`). A broken invariant
//! is a crash, so libFuzzer keeps the input.

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/fuzz_check.rs"]
mod fuzz_check;

fuzz_target!(|data: &[u8]| {
    if let Err(problem) = fuzz_check::check_document(data) {
        panic!("{problem}");
    }
});
