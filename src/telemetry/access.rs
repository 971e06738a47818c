//! The access log's fast path: the one "Request handled." JSON line per request, written by hand
//! into a reused buffer instead of by the general JSON formatter.
//!
//! `tracing-subscriber`'s JSON formatter spends about 50k instructions on that line (a
//! `serde_json` map, a `format!` per `Display` field, the current-span lookup, a timestamp through
//! the `time` machinery). This layer wraps the formatter: the access event (recognised by its
//! callsite's target and fields, see [`is_access_event`]) is written here, every other event and
//! span goes to the wrapped layer unchanged. The line has the same members, in the same order and
//! with the same JSON encoding as the formatter's (`tests` below pin it against the formatter).
//!
//! [`SpanFields`] does the same for the fields of spans (the request span, shown in the `spans`
//! list of the events inside a request): the formatter's own `JsonFields` parses and re-writes a
//! span's whole JSON object for every `Span::record` (about 10k instructions each); this one
//! appends.

use std::cell::RefCell;
use std::fmt;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::callsite::Identifier;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FormatFields, FormattedFields};
use tracing_subscriber::layer::{Context, Layer};

/// The target of the access event, as the gateway's log phase exports it.
const ACCESS_TARGET: &str = dialectgate_gateway::ACCESS_LOG_TARGET;
/// A field only the access event has.
const ACCESS_MARK: &str = "elapsed_us";
/// A line longer than this is not kept as the reused buffer (one hostile line does not pin
/// memory for the life of the thread). Every value in the line is bounded by the gateway.
const KEEP_BUFFER: usize = 4096;

/// Where finished lines go: the batched writer of standard error in the binary (`batched`), a
/// buffer in the tests.
pub trait Sink: Send + Sync + 'static {
    /// Takes one whole line (lines from threads never interleave).
    fn write_line(&self, line: &[u8]);
}

/// Wraps `inner` (the JSON formatter): the access event is written by hand to `sink`, the rest
/// goes to `inner`.
pub struct AccessLog<L, W> {
    inner: L,
    sink: W,
    /// The access event's member names as the line writes them, made at its first event.
    keys: OnceLock<Keys>,
}

impl<L, W> AccessLog<L, W> {
    /// Access lines to `sink`, every other event to `inner`.
    pub fn with_sink(inner: L, sink: W) -> Self {
        Self {
            inner,
            sink,
            keys: OnceLock::new(),
        }
    }
}

/// The members' names of one callsite's event or span as [`Fields`] writes them after the
/// first member (`,"request_id":`), by field index: escaped once, not on every line.
struct Keys {
    callsite: Identifier,
    written: Vec<String>,
}

impl Keys {
    fn new(meta: &Metadata<'_>) -> Keys {
        let written = meta
            .fields()
            .iter()
            .map(|field| {
                let mut key = String::from(",");
                write_key(&mut key, &field);
                key
            })
            .collect();
        Keys {
            callsite: meta.callsite(),
            written,
        }
    }

    /// These names, when `meta` is the callsite they were made for.
    fn of(&self, meta: &Metadata<'_>) -> Option<&Keys> {
        (self.callsite == meta.callsite()).then_some(self)
    }

    /// `field`'s name as written after the first member, when it is of this callsite.
    fn written(&self, field: &Field) -> Option<&str> {
        if field.callsite() != self.callsite {
            return None;
        }
        self.written.get(field.index()).map(String::as_str)
    }
}

/// The member names of the gateway's request span (its callsite's target is the access
/// event's, [`ACCESS_TARGET`]), made at the first such span: its fields are written on every
/// request, two when it opens and two when the log phase records them.
static SPAN_KEYS: OnceLock<Keys> = OnceLock::new();

/// Whether `meta` is the gateway's per-request access event.
fn is_access_event(meta: &Metadata<'_>) -> bool {
    meta.is_event()
        && *meta.level() == Level::INFO
        && meta.target() == ACCESS_TARGET
        && meta.fields().field(ACCESS_MARK).is_some()
}

thread_local! {
    static BUFFER: RefCell<String> = RefCell::new(String::with_capacity(512));
}

/// Runs `write` with this thread's reused buffer, cleared (the access line, a span's first
/// fields): no allocation per use. A buffer that grew past [`KEEP_BUFFER`] is not kept.
fn with_buffer<T>(write: impl FnOnce(&mut String) -> T) -> T {
    BUFFER.with(|cell| {
        // Re-entrance (a log call while writing) cannot happen here, but if the buffer is
        // busy, a fresh one does the job.
        let mut fresh = String::new();
        let mut guard = cell.try_borrow_mut();
        let buf = match guard.as_deref_mut() {
            Ok(buf) => buf,
            Err(_) => &mut fresh,
        };
        buf.clear();
        let done = write(buf);
        if buf.capacity() > KEEP_BUFFER {
            *buf = String::with_capacity(512);
        }
        done
    })
}

impl<S, L, W> Layer<S> for AccessLog<L, W>
where
    S: Subscriber,
    L: Layer<S>,
    W: Sink,
{
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        self.inner.on_register_dispatch(subscriber);
    }
    fn on_layer(&mut self, subscriber: &mut S) {
        self.inner.on_layer(subscriber);
    }
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.inner.register_callsite(metadata)
    }
    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.enabled(metadata, ctx)
    }
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if meta.target() == ACCESS_TARGET && SPAN_KEYS.get().is_none() {
            let _ = SPAN_KEYS.set(Keys::new(meta));
        }
        self.inner.on_new_span(attrs, id, ctx);
    }
    fn on_record(&self, span: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.inner.on_record(span, values, ctx);
    }
    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        self.inner.on_follows_from(span, follows, ctx);
    }
    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.event_enabled(event, ctx)
    }
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if !is_access_event(event.metadata()) {
            return self.inner.on_event(event, ctx);
        }
        with_buffer(|buf| {
            let keys = self.keys.get_or_init(|| Keys::new(event.metadata()));
            write_line(buf, event, SystemTime::now(), keys.of(event.metadata()));
            self.sink.write_line(buf.as_bytes());
        });
    }
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_enter(id, ctx);
    }
    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_exit(id, ctx);
    }
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.inner.on_close(id, ctx);
    }
    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        self.inner.on_id_change(old, new, ctx);
    }
}

/// The formatter's line: `{"timestamp":…,"level":"INFO",<fields in order>,"target":…}` + `\n`.
/// `keys`: the event's member names already written ([`Keys`]), if at hand.
fn write_line(buf: &mut String, event: &Event<'_>, now: SystemTime, keys: Option<&Keys>) {
    buf.push_str("{\"timestamp\":\"");
    write_timestamp(buf, now);
    buf.push_str("\",\"level\":\"INFO\"");
    event.record(&mut Fields {
        buf,
        first: false,
        keys,
    });
    buf.push_str(",\"target\":");
    write_json_str(buf, event.metadata().target());
    buf.push_str("}\n");
}

/// Writes each field as `"name":value` (comma-separated), values JSON-encoded as the
/// formatter's visitor encodes them: strings and `Debug`/`Display` values as strings, numbers
/// and booleans as such.
struct Fields<'a> {
    buf: &'a mut String,
    /// No member written yet (no comma before the next).
    first: bool,
    /// The members' names already written with their comma, by field index ([`Keys`]).
    keys: Option<&'a Keys>,
}

impl Fields<'_> {
    fn key(&mut self, field: &Field) {
        if let Some(written) = self.keys.and_then(|keys| keys.written(field)) {
            // The first member goes without the comma.
            let written = if std::mem::take(&mut self.first) {
                &written[1..]
            } else {
                written
            };
            self.buf.push_str(written);
            return;
        }
        if !std::mem::take(&mut self.first) {
            self.buf.push(',');
        }
        write_key(self.buf, field);
    }
}

/// `"name":`, the name as the formatter writes it (without a raw identifier's `r#`).
fn write_key(buf: &mut String, field: &Field) {
    let name = field.name();
    write_json_str(buf, name.strip_prefix("r#").unwrap_or(name));
    buf.push(':');
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        write_json_str(self.buf, value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        write_u64(self.buf, value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        if value < 0 {
            self.buf.push('-');
        }
        write_u64(self.buf, value.unsigned_abs());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.buf.push_str(if value { "true" } else { "false" });
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        use fmt::Write as _;
        self.key(field);
        self.buf.push('"');
        let _ = write!(Escaper { buf: self.buf }, "{value:?}");
        self.buf.push('"');
    }
}

/// The fields of spans as one JSON object, for the JSON formatter (which parses it back when it
/// prints an event's span list): the first fields make the object, later `Span::record` calls
/// are appended before its closing brace (a repeated name: the last value wins when read).
pub struct SpanFields;

impl<'w> FormatFields<'w> for SpanFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> fmt::Result {
        // Written into the reused buffer, then copied once into the span's own.
        with_buffer(|buf| {
            buf.push('{');
            fields.record(&mut Fields {
                buf,
                first: true,
                keys: SPAN_KEYS.get(),
            });
            buf.push('}');
            writer.write_str(buf)
        })
    }

    fn add_fields(&self, current: &'w mut FormattedFields<Self>, fields: &Record<'_>) -> fmt::Result {
        let object = &mut current.fields;
        if object.pop() != Some('}') {
            // Nothing formatted yet (or not an object of ours): start the object afresh.
            object.clear();
            object.push('{');
        }
        let first = object.len() == 1;
        fields.record(&mut Fields {
            buf: object,
            first,
            keys: SPAN_KEYS.get(),
        });
        object.push('}');
        Ok(())
    }
}

/// A `fmt::Write` that JSON-escapes what it is given (the inside of a string).
struct Escaper<'a> {
    buf: &'a mut String,
}

impl fmt::Write for Escaper<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape_into(self.buf, s);
        Ok(())
    }
}

fn write_json_str(buf: &mut String, s: &str) {
    buf.push('"');
    escape_into(buf, s);
    buf.push('"');
}

/// `serde_json`'s string escaping: `"` `\` and the control characters; the rest as is (the
/// gateway's, shared with the bodies it writes).
fn escape_into(buf: &mut String, s: &str) {
    dialectgate_gateway::json_escape(s, |part| buf.push_str(part));
}

/// A decimal number, without `fmt` (itoa: two digits a step, written once).
fn write_u64(buf: &mut String, v: u64) {
    buf.push_str(itoa::Buffer::new().format(v));
}

/// `v` on `width` digits (zero-padded; `v` < 10^width).
fn write_padded(buf: &mut String, v: u64, width: u32) {
    let mut div = 10u64.pow(width - 1);
    while div > 0 {
        buf.push(char::from(b'0' + (v / div % 10) as u8));
        div /= 10;
    }
}

/// RFC 3339 in UTC with microseconds, as the formatter's default timer writes it
/// (`2026-11-30T21:54:56.123456Z`). The text up to the seconds is made once a second per
/// thread ([`SECOND`]): the lines of one second share it, only the fraction is written each time.
fn write_timestamp(buf: &mut String, now: SystemTime) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    SECOND.with(|cell| {
        let mut second = cell.borrow_mut();
        let (at, text) = &mut *second;
        if *at != secs || text.is_empty() {
            text.clear();
            write_second(text, secs);
            *at = secs;
        }
        buf.push_str(text);
    });
    buf.push('.');
    write_padded(buf, u64::from(since.subsec_micros()), 6);
    buf.push('Z');
}

thread_local! {
    /// The second [`write_timestamp`] wrote last on this thread, and its text
    /// (`2026-11-30T21:54:56`).
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((0, String::new())) };
}

/// `2026-11-30T21:54:56`: the date and time of `secs` since the epoch, in UTC.
fn write_second(buf: &mut String, secs: u64) {
    let (year, month, day) = dialectgate_gateway::civil_from_days(secs / 86_400);
    let rem = secs % 86_400;
    write_padded(buf, year, 4);
    for (sep, v) in [
        ('-', month),
        ('-', day),
        ('T', rem / 3600),
        (':', rem / 60 % 60),
        (':', rem % 60),
    ] {
        buf.push(sep);
        write_padded(buf, v, 2);
    }
}

#[cfg(test)]
mod tests;
