//! Resident memory held by many copies of one thing, for the examples that compare how a body
//! is held (`parsed_size`, `parse_options`).

/// This process's resident memory, in bytes (Linux: `/proc/self/statm`, in 4 KiB pages).
pub fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("statm's second field");
    pages * 4096
}

/// How many copies are held at once: enough for a few MiB, so the page granularity vanishes.
pub fn copies(len: usize) -> usize {
    (64 * 1024 * 1024 / len.max(1)).clamp(16, 100_000)
}

/// The resident bytes one of `n` results of `make` takes, all held at once; they are kept
/// (moved into `kept`) so that no freed memory is reused by a later measurement.
pub fn per_copy<T: 'static>(n: usize, make: impl Fn() -> T, kept: &mut Vec<Box<dyn std::any::Any>>) -> usize {
    let before = rss();
    let made: Vec<T> = (0..n).map(|_| make()).collect();
    let after = rss();
    kept.push(Box::new(made));
    after.saturating_sub(before) / n
}
