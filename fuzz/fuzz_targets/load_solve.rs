#![no_main]
//! Bytes in, checked figures out: load + validate + solve + report + one timeline step.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) { let _ = staircase::document::parse(text, "fuzz.ron"); }
});
