//! `cargo +nightly fuzz run request_microbase`: see `fuzz/checks.rs` (`check_request`) for the invariants.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::must_hold(checks::check_request("microbase", data)));
