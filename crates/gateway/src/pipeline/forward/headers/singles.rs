//! The caller headers an upstream call may carry only when they were sent once
//! (`Idempotency-Key`, `Accept-Language`, `traceparent`, and `Host` for `Forwarded`), found in
//! one walk over the request's headers: a hashed look-up of each name cost more than the walk
//! over the few headers a request has.

use http::{HeaderMap, HeaderName, HeaderValue, header};

use super::TRACEPARENT;
use crate::pipeline::read_body::IDEMPOTENCY_KEY;

/// How often a request carried one header name: never, once (with its value), or more.
#[derive(Debug, Default, Clone, Copy)]
enum Seen<'h> {
    #[default]
    Never,
    Once(&'h HeaderValue),
    Several,
}

impl<'h> Seen<'h> {
    fn add(&mut self, value: &'h HeaderValue) {
        *self = match self {
            Seen::Never => Seen::Once(value),
            _ => Seen::Several,
        };
    }

    /// The value when the name was sent exactly once.
    fn single(self) -> Option<&'h HeaderValue> {
        match self {
            Seen::Once(value) => Some(value),
            _ => None,
        }
    }
}

/// Each header name the upstream headers read, with the value it had when it was sent once.
#[derive(Debug, Default)]
pub(super) struct Singles<'h> {
    idempotency_key: Seen<'h>,
    accept_language: Seen<'h>,
    traceparent: Seen<'h>,
    host: Seen<'h>,
}

impl<'h> Singles<'h> {
    pub(super) fn of(incoming: &'h HeaderMap) -> Singles<'h> {
        let mut found = Singles::default();
        for (name, value) in incoming {
            if let Some(seen) = found.slot(name) {
                seen.add(value);
            }
        }
        found
    }

    fn slot(&mut self, name: &HeaderName) -> Option<&mut Seen<'h>> {
        if *name == header::HOST {
            Some(&mut self.host)
        } else if *name == header::ACCEPT_LANGUAGE {
            Some(&mut self.accept_language)
        } else if *name == TRACEPARENT {
            Some(&mut self.traceparent)
        } else if *name == IDEMPOTENCY_KEY {
            Some(&mut self.idempotency_key)
        } else {
            None
        }
    }

    pub(super) fn idempotency_key(&self) -> Option<&'h HeaderValue> {
        self.idempotency_key.single()
    }

    pub(super) fn accept_language(&self) -> Option<&'h HeaderValue> {
        self.accept_language.single()
    }

    pub(super) fn traceparent(&self) -> Option<&'h HeaderValue> {
        self.traceparent.single()
    }

    pub(super) fn host(&self) -> Option<&'h HeaderValue> {
        self.host.single()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::headers;

    /// The value of `name` when the request carries exactly one such header, looked up by
    /// name: what each of [`Singles`] must say.
    fn looked_up<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h HeaderValue> {
        let mut values = headers.get_all(name).iter();
        let first = values.next()?;
        values.next().is_none().then_some(first)
    }

    #[test]
    fn the_walk_finds_what_a_look_up_of_each_name_finds() {
        let cases: [&[(&str, &[u8])]; 8] = [
            &[],
            &[
                ("host", b"gw.example"),
                ("accept-language", b"de"),
                ("traceparent", b"00-x"),
                ("idempotency-key", b"k1"),
            ],
            &[("host", b"a"), ("host", b"b")],
            &[
                ("accept-language", b"de"),
                ("x-other", b"1"),
                ("accept-language", b"fr"),
            ],
            &[
                ("traceparent", b"one"),
                ("traceparent", b"two"),
                ("traceparent", b"three"),
            ],
            &[("idempotency-key", b"k1"), ("idempotency-key", b"k1")],
            &[
                ("Host", b"upper.example"),
                ("IDEMPOTENCY-KEY", b"k2"),
                ("tracestate", b"a=b"),
            ],
            &[
                ("x-traceparent", b"no"),
                ("idempotency-keys", b"no"),
                ("accept", b"*/*"),
                ("traceparen", b"no"),
            ],
        ];
        for pairs in cases {
            let incoming = headers(pairs);
            let singles = Singles::of(&incoming);
            assert_eq!(singles.host(), looked_up(&incoming, &header::HOST), "{pairs:?}");
            assert_eq!(
                singles.accept_language(),
                looked_up(&incoming, &header::ACCEPT_LANGUAGE),
                "{pairs:?}"
            );
            assert_eq!(
                singles.traceparent(),
                looked_up(&incoming, &TRACEPARENT),
                "{pairs:?}"
            );
            assert_eq!(
                singles.idempotency_key(),
                looked_up(&incoming, &IDEMPOTENCY_KEY),
                "{pairs:?}"
            );
        }
    }
}
