//! `cargo +nightly fuzz run answer_medusa`: see `fuzz/checks.rs` (`check_answer`) for the invariants.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::must_hold(checks::check_answer("medusa", data)));
