use super::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}
impl Sink for Captured {
    fn write_line(&self, line: &[u8]) {
        self.0.lock().unwrap().extend_from_slice(line);
    }
}
impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

fn formatter(w: Captured) -> impl Layer<tracing_subscriber::Registry> {
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_writer(w)
}

/// The access event exactly as the gateway's log phase (`pipeline/log.rs`) emits it, with
/// hostile values.
fn emit(path: &str) {
    let request_id = String::from("req\"\\\n\u{1}é");
    let method = hyper::Method::PUT;
    tracing::info!(
        target: ACCESS_TARGET,
        request_id = request_id.as_str(),
        method = method.as_str(),
        path = path,
        dialect = %"elasticpath",
        upstream = "medusa",
        status = 200u16,
        outcome = "ok",
        fault = "none",
        elapsed_us = 1234u64,
        "Request handled."
    );
}

/// Drops the timestamp's value (the two lines are written at different instants).
fn without_timestamp(line: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let ts = v["timestamp"].as_str().unwrap();
    line.replacen(ts, "TS", 1)
}

/// What `events` logs through the access writer (the access lines), and through the formatter.
fn by_hand_and_by_formatter(events: impl Fn()) -> (String, String) {
    let by_hand = Captured::default();
    let by_formatter = Captured::default();
    let subscriber = tracing_subscriber::registry().with(AccessLog::with_sink(
        formatter(Captured::default()),
        by_hand.clone(),
    ));
    tracing::subscriber::with_default(subscriber, &events);
    let subscriber = tracing_subscriber::registry().with(formatter(by_formatter.clone()));
    tracing::subscriber::with_default(subscriber, &events);
    (by_hand.text(), by_formatter.text())
}

#[test]
fn the_access_line_is_the_formatters_line_byte_for_byte() {
    let (a, b) = by_hand_and_by_formatter(|| emit("/v2/customers/\u{7f}\"x"));
    assert!(a.ends_with('\n') && a.matches('\n').count() == 1, "{a}");
    assert_eq!(without_timestamp(&a), without_timestamp(&b));
}

/// Another access event (its own callsite, other fields, in another order, a raw name).
fn emit_other() {
    tracing::info!(
        target: ACCESS_TARGET,
        outcome = "refused",
        r#type = "x\"y",
        status = 404u16,
        elapsed_us = 9u64,
        "Request handled."
    );
}

#[test]
fn each_access_event_keeps_its_own_members_when_several_share_one_writer() {
    // The first event's names are kept written; the second's callsite differs, and the first's
    // again after it, each line as the formatter writes it.
    let (ours, theirs) = by_hand_and_by_formatter(|| {
        emit("/a");
        emit_other();
        emit("/b");
    });
    assert_eq!(ours.lines().count(), 3, "{ours}");
    for (a, b) in ours.lines().zip(theirs.lines()) {
        assert_eq!(without_timestamp(a), without_timestamp(b));
    }
}

#[test]
fn other_events_go_to_the_formatter() {
    let by_hand = Captured::default();
    let by_formatter = Captured::default();
    let subscriber = tracing_subscriber::registry().with(AccessLog::with_sink(
        formatter(by_formatter.clone()),
        by_hand.clone(),
    ));
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(elapsed_us = 1u64, "Not the access event (another target).");
        tracing::warn!(target: ACCESS_TARGET, elapsed_us = 1u64, "A warning.");
    });
    assert_eq!(by_hand.text(), "");
    let lines = by_formatter.text();
    assert_eq!(lines.lines().count(), 2, "{lines}");
}

/// A warning inside a span whose fields are recorded at creation and later, twice.
fn in_span() {
    fill(tracing::info_span!(
        "request",
        request_id = %"r\"1",
        dialect = tracing::field::Empty,
        outcome = tracing::field::Empty,
        n = 7u64,
    ));
}

/// [`in_span`] in a span of the access event's target, as the gateway's request span is: its
/// member names are written from [`SPAN_KEYS`].
fn in_request_span() {
    fill(tracing::info_span!(
        target: ACCESS_TARGET,
        "request",
        request_id = %"r\"1",
        dialect = tracing::field::Empty,
        r#upstream = "medusa",
        outcome = tracing::field::Empty,
        n = 7u64,
    ));
}

/// Records `span`'s dialect twice and its outcome once, then warns inside it.
fn fill(span: tracing::Span) {
    span.record("dialect", "axim");
    span.record("outcome", "ok");
    span.record("dialect", "medusa\n");
    let _inside = span.enter();
    tracing::warn!(k = -3i64, yes = true, "Inside.");
}

/// The warning of `emit` as written with [`SpanFields`] and as the formatter writes it on its
/// own, parsed (timestamps aside).
fn read_back(emit: fn()) -> (serde_json::Value, serde_json::Value) {
    let ours = Captured::default();
    let theirs = Captured::default();
    let subscriber = tracing_subscriber::registry().with(AccessLog::with_sink(
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .fmt_fields(SpanFields)
            .with_writer(ours.clone()),
        Captured::default(),
    ));
    tracing::subscriber::with_default(subscriber, emit);
    let subscriber = tracing_subscriber::registry().with(formatter(theirs.clone()));
    tracing::subscriber::with_default(subscriber, emit);
    let parse = |c: &Captured| {
        let mut v: serde_json::Value = serde_json::from_str(c.text().trim_end()).unwrap();
        v["timestamp"] = "TS".into();
        v
    };
    (parse(&ours), parse(&theirs))
}

#[test]
fn span_fields_read_back_as_the_formatters_own() {
    let (a, b) = read_back(in_span);
    assert_eq!(a, b);
    assert_eq!(a["spans"][0]["dialect"], "medusa\n", "{a}");
    assert_eq!(a["spans"][0]["outcome"], "ok", "{a}");
}

#[test]
fn request_span_fields_written_from_their_names_made_once_read_back_as_the_formatters_own() {
    let (a, b) = read_back(in_request_span);
    assert!(
        SPAN_KEYS.get().is_some(),
        "the request span's names are made once"
    );
    assert_eq!(a, b);
    assert_eq!(a["spans"][0]["request_id"], "r\"1", "{a}");
    assert_eq!(a["spans"][0]["upstream"], "medusa", "{a}");
    assert_eq!(a["spans"][0]["dialect"], "medusa\n", "{a}");
}

#[test]
fn numbers_are_written_as_fmt_writes_them() {
    for v in [0, 7, 10, 99, 1234, u64::MAX] {
        let mut buf = String::new();
        write_u64(&mut buf, v);
        assert_eq!(buf, v.to_string());
    }
}

#[test]
fn timestamps_are_rfc3339_utc_with_microseconds() {
    let at = |secs: u64, micros: u64| {
        let mut buf = String::new();
        write_timestamp(
            &mut buf,
            UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros),
        );
        buf
    };
    assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
    assert_eq!(at(951_782_400, 7), "2000-02-29T00:00:00.000007Z");
    assert_eq!(at(1_796_075_696, 123_456), "2026-11-30T21:54:56.123456Z");
    assert_eq!(at(4_102_444_799, 999_999), "2099-12-31T23:59:59.999999Z");
}

#[test]
fn strings_are_escaped_as_serde_json_escapes_them() {
    for s in ["plain", "q\"b\\", "\n\r\t\u{8}\u{c}\u{0}\u{1f}", "é€😀\u{7f}", ""] {
        let mut buf = String::new();
        write_json_str(&mut buf, s);
        assert_eq!(buf, serde_json::to_string(s).unwrap());
    }
}

/// The word-at-a-time scan: every byte that needs escaping, at every offset in and across
/// eight-byte words, next to clean ASCII and multi-byte characters.
#[test]
fn escapes_are_found_at_every_offset() {
    let specials = [
        '"', '\\', '\n', '\u{0}', '\u{1f}', '\u{7f}', ' ', '!', '#', '[', ']', 'é', '€',
    ];
    for len in 0..20 {
        for at in 0..=len {
            for &c in &specials {
                let mut s: String = "abcdefghijklmnopqrstuvwxyz".chars().take(len).collect();
                s.insert(at, c);
                s.push_str("é\"z");
                let mut buf = String::new();
                write_json_str(&mut buf, &s);
                assert_eq!(buf, serde_json::to_string(&s).unwrap(), "{s:?}");
            }
        }
    }
    for b in 0u8..=0x7f {
        let s = format!("{0}{0}{0}{0}{0}{0}{0}{0}{0}", char::from(b));
        let mut buf = String::new();
        write_json_str(&mut buf, &s);
        assert_eq!(buf, serde_json::to_string(&s).unwrap(), "{b:#x}");
    }
}

#[test]
fn a_seconds_text_made_once_serves_only_that_second() {
    // In turn: a second, the same one again, the next, the first again, the epoch (the
    // thread's first second is 0 too: an empty text is made whatever the second).
    for (secs, micros, text) in [
        (0, 0, "1970-01-01T00:00:00.000000Z"),
        (1_796_075_696, 1, "2026-11-30T21:54:56.000001Z"),
        (1_796_075_696, 999_999, "2026-11-30T21:54:56.999999Z"),
        (1_796_075_697, 0, "2026-11-30T21:54:57.000000Z"),
        (1_796_075_696, 5, "2026-11-30T21:54:56.000005Z"),
        (0, 10, "1970-01-01T00:00:00.000010Z"),
    ] {
        let mut buf = String::from("{");
        write_timestamp(
            &mut buf,
            UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros),
        );
        assert_eq!(buf, format!("{{{text}"));
    }
}
