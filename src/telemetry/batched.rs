//! Access lines written off the request path, in batches: a request hands its finished line to a
//! writer thread and goes on. The thread writes whatever has queued by then in one `write`: one
//! line per system call when the gateway is idle, many under load. Lines stay whole and in the
//! order they were handed over. The queue is bounded; when it is full a request waits for room,
//! so no line is dropped. [`Flusher::flush`] (called at exit) returns once every line handed over
//! before it has been written.

use std::io::Write;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

use super::access::Sink;

/// Lines queued at most before a request waits for the writer.
const QUEUE: usize = 8192;
/// Bytes written in one batch at most (a batch ends early when the queue is empty).
const BATCH: usize = 64 * 1024;
/// How long the writer lets lines gather after a batch (a line waits at most this long).
const GATHER: Duration = Duration::from_millis(5);
/// How long an exit waits for the writer (a blocked standard error must not hang the exit).
const FLUSH_WAIT: Duration = Duration::from_secs(5);

enum Message {
    Line(Vec<u8>),
    /// Answer once everything queued before this is written.
    Flush(SyncSender<()>),
}

/// The request side: hands lines to the writer thread.
pub struct Batched {
    tx: SyncSender<Message>,
}

/// Flushes the writer at exit.
pub struct Flusher {
    tx: SyncSender<Message>,
}

impl Batched {
    /// A writer thread writing to `out`, and the handle that flushes it.
    ///
    /// # Errors
    /// The thread could not be started.
    pub fn start(out: impl Write + Send + 'static) -> std::io::Result<(Batched, Flusher)> {
        let (tx, rx) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_batches(&rx, out))?;
        Ok((Batched { tx: tx.clone() }, Flusher { tx }))
    }
}

impl Sink for Batched {
    fn write_line(&self, line: &[u8]) {
        // The writer lives as long as the process; a send fails only if it died, and then the
        // line is lost as a failed write to standard error would lose it.
        let _ = self.tx.send(Message::Line(line.to_vec()));
    }
}

impl Flusher {
    /// Waits (at most a few seconds) until every line handed over so far is written.
    pub fn flush(&self) {
        let (ack, done) = sync_channel(1);
        if self.tx.send(Message::Flush(ack)).is_ok() {
            let _ = done.recv_timeout(FLUSH_WAIT);
        }
    }
}

fn write_batches(rx: &Receiver<Message>, mut out: impl Write) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut acks = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Line(line) => batch.extend_from_slice(&line),
                Message::Flush(ack) => acks.push(ack),
            }
            if batch.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            // A full or closed output loses the batch, as the formatter's writer would.
            let _ = out.write_all(&batch).and_then(|()| out.flush());
            batch.clear();
        }
        let flushed = !acks.is_empty();
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
        if !flushed {
            // Let lines gather: the requests hand theirs over without waking this thread.
            std::thread::sleep(GATHER);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// An output that records each `write_all` as one batch.
    #[derive(Clone, Default)]
    struct Recorded(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Recorded {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().push(b.to_vec());
            Ok(b.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_from_every_thread_is_written_whole_by_the_flush() {
        let out = Recorded::default();
        let (batched, flusher) = Batched::start(out.clone()).unwrap();
        let batched = Arc::new(batched);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let batched = batched.clone();
                std::thread::spawn(move || {
                    for i in 0..2500 {
                        batched.write_line(format!("{{\"thread\":{t},\"line\":{i}}}\n").as_bytes());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        flusher.flush();
        let batches = out.0.lock().unwrap().clone();
        let text = String::from_utf8(batches.concat()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 10_000, "no line lost");
        for t in 0..4 {
            let own: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|l| l.starts_with(&format!("{{\"thread\":{t},")))
                .collect();
            let expected: Vec<String> = (0..2500)
                .map(|i| format!("{{\"thread\":{t},\"line\":{i}}}"))
                .collect();
            assert_eq!(own, expected, "each thread's lines whole and in order");
        }
        assert!(
            batches.len() < 10_000,
            "lines are written in batches: {} writes",
            batches.len()
        );
    }

    #[test]
    fn a_flush_waits_for_the_lines_handed_over_before_it() {
        let out = Recorded::default();
        let (batched, flusher) = Batched::start(out.clone()).unwrap();
        batched.write_line(b"one\n");
        flusher.flush();
        assert_eq!(out.0.lock().unwrap().concat(), b"one\n");
        // Nothing queued: the flush returns at once.
        flusher.flush();
        batched.write_line(b"two\n");
        flusher.flush();
        assert_eq!(out.0.lock().unwrap().concat(), b"one\ntwo\n");
    }
}
