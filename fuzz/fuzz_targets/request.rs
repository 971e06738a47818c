//! `DIALECTGATE_FUZZ_DIALECT=axim cargo +nightly fuzz run request corpus/request_axim` (or
//! `fuzz/run.sh request_axim`): a caller's body in that dialect; see `fuzz/checks.rs`
//! (`check_request`) for the invariants. The dialect is any id of the registry.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::must_hold(checks::check_request(checks::fuzzed_dialect(), data)));
