//! `DIALECTGATE_FUZZ_DIALECT=axim cargo +nightly fuzz run answer corpus/answer_axim` (or
//! `fuzz/run.sh answer_axim`): an upstream's answer in that dialect; see `fuzz/checks.rs`
//! (`check_answer`) for the invariants. The dialect is any id of the registry.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::must_hold(checks::check_answer(checks::fuzzed_dialect(), data)));
