//! Access tokens: the OAuth2 token endpoint a vendor SDK calls before its first request (Elastic
//! Path's `POST /oauth/access_token`), and the store of the tokens it issued.
//!
//! A token is `dgt_` and 64 hex digits: 32 bytes from the operating system's CSPRNG, nothing
//! derived from the credential that obtained it. The first 16 bytes select the store entry; the
//! last 16 are compared in constant time, so how long a lookup takes says nothing about the
//! secret part. Each token is bound to the credential that obtained it (a configured caller key
//! in static mode, the client secret in passthrough mode) and to that mode, and stops working
//! `credentials.token_ttl_s` after it was issued.
//!
//! The store lives in [`Shared`](crate::Shared), so tokens survive configuration reloads; each
//! request checks the binding against the configuration in force (see
//! [`credentials::authenticate`](crate::credentials)). It holds at most [`MAX_LIVE_TOKENS`]. At
//! the cap, expired tokens are purged first; if every token is still live, the one that expires
//! soonest is dropped: its holder gets 401 and asks for a new token (the Elastic Path SDK does so
//! by itself on a 401). Refusing new tokens instead would let one caller lock every new client
//! out for a whole token lifetime.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use subtle::ConstantTimeEq;

pub(crate) use self::endpoint::endpoint;
use crate::config::{CredentialMode, Secret};

mod endpoint;

/// Every token the gateway issues starts with this.
pub const TOKEN_PREFIX: &str = "dgt_";
/// Most tokens held at once (about 200 bytes each, plus the bound credential).
pub const MAX_LIVE_TOKENS: usize = 65_536;

const SELECTOR_LEN: usize = 16;
const VERIFIER_LEN: usize = 16;
type Selector = [u8; SELECTOR_LEN];
type Verifier = [u8; VERIFIER_LEN];

/// What a token stands for: the credential that obtained it, in the mode it was issued in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub mode: CredentialMode,
    pub secret: Secret,
}

/// A token just issued.
#[derive(Debug)]
pub struct Issued {
    pub token: Secret,
    /// When it stops working, in seconds since the Unix epoch.
    pub expires_epoch: u64,
}

/// What a presented credential is to the store.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Not shaped like one of our tokens.
    NotAToken,
    /// A live token, and what it is bound to.
    Live(Binding),
    /// Shaped like one of our tokens, but expired, dropped or never issued.
    Dead,
}

/// The tokens issued and not yet expired. See the module documentation.
pub struct TokenStore {
    cap: usize,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_selector: HashMap<Selector, Entry>,
    /// The same entries, soonest to expire first.
    by_expiry: BTreeSet<(Instant, Selector)>,
}

struct Entry {
    verifier: Verifier,
    binding: Binding,
    expires: Instant,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenStore")
            .field("cap", &self.cap)
            .field("held", &self.len())
            .finish()
    }
}

impl Default for TokenStore {
    fn default() -> Self {
        TokenStore::new(MAX_LIVE_TOKENS)
    }
}

impl TokenStore {
    /// An empty store holding at most `cap` tokens (at least one).
    pub fn new(cap: usize) -> TokenStore {
        TokenStore {
            cap: cap.max(1),
            inner: Mutex::new(Entries::default()),
        }
    }

    /// Tokens held (live, or expired and not yet purged).
    pub fn len(&self) -> usize {
        self.entries().by_selector.len()
    }

    /// True when no token is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Issues a token bound to `binding`, valid for `ttl`.
    ///
    /// # Errors
    /// The operating system's random source failed; no token is issued.
    pub fn issue(&self, binding: Binding, ttl: Duration) -> Result<Issued, getrandom::Error> {
        let now_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let token = self.issue_at(binding, ttl, Instant::now())?;
        Ok(Issued {
            token,
            expires_epoch: now_epoch.saturating_add(ttl.as_secs()),
        })
    }

    fn issue_at(&self, binding: Binding, ttl: Duration, now: Instant) -> Result<Secret, getrandom::Error> {
        let mut bytes = [0u8; SELECTOR_LEN + VERIFIER_LEN];
        getrandom::fill(&mut bytes)?;
        let mut selector = Selector::default();
        let mut verifier = Verifier::default();
        selector.copy_from_slice(&bytes[..SELECTOR_LEN]);
        verifier.copy_from_slice(&bytes[SELECTOR_LEN..]);
        let mut token = String::with_capacity(TOKEN_PREFIX.len() + 2 * bytes.len());
        token.push_str(TOKEN_PREFIX);
        push_hex(&mut token, &bytes);
        // A lifetime too long for the clock is no lifetime at all.
        let expires = now.checked_add(ttl).unwrap_or(now);
        let mut entries = self.entries();
        if entries.by_selector.len() >= self.cap {
            entries.purge(now);
        }
        while entries.by_selector.len() >= self.cap {
            let Some(&(_, soonest)) = entries.by_expiry.first() else {
                break;
            };
            entries.remove(&soonest);
        }
        // 128 random bits do not repeat; if they ever did, the older token goes.
        entries.remove(&selector);
        entries.by_expiry.insert((expires, selector));
        entries.by_selector.insert(
            selector,
            Entry {
                verifier,
                binding,
                expires,
            },
        );
        Ok(Secret::new(token))
    }

    /// What `presented` is: one of our live tokens (and its binding), a dead one, or no token.
    pub fn resolve(&self, presented: &str) -> Lookup {
        self.resolve_at(presented, Instant::now())
    }

    fn resolve_at(&self, presented: &str, now: Instant) -> Lookup {
        let Some((selector, verifier)) = parse(presented) else {
            return Lookup::NotAToken;
        };
        let mut entries = self.entries();
        let Some(entry) = entries.by_selector.get(&selector) else {
            return Lookup::Dead;
        };
        if !bool::from(entry.verifier.ct_eq(&verifier)) {
            return Lookup::Dead;
        }
        if entry.expires <= now {
            entries.remove(&selector);
            return Lookup::Dead;
        }
        Lookup::Live(entry.binding.clone())
    }

    /// Drops `presented` if it is one of our tokens (its binding no longer holds).
    pub fn forget(&self, presented: &str) {
        if let Some((selector, verifier)) = parse(presented) {
            let mut entries = self.entries();
            if entries
                .by_selector
                .get(&selector)
                .is_some_and(|e| bool::from(e.verifier.ct_eq(&verifier)))
            {
                entries.remove(&selector);
            }
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        // The entries stay consistent at every await-free step: a panic elsewhere leaves them
        // usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Entries {
    fn remove(&mut self, selector: &Selector) {
        if let Some(entry) = self.by_selector.remove(selector) {
            self.by_expiry.remove(&(entry.expires, *selector));
        }
    }

    /// Drops every expired token.
    fn purge(&mut self, now: Instant) {
        while let Some(&(expires, selector)) = self.by_expiry.first()
            && expires <= now
        {
            self.remove(&selector);
        }
    }
}

/// The selector and verifier of a string shaped like one of our tokens.
fn parse(presented: &str) -> Option<(Selector, Verifier)> {
    let hex = presented.strip_prefix(TOKEN_PREFIX)?.as_bytes();
    if hex.len() != 2 * (SELECTOR_LEN + VERIFIER_LEN) {
        return None;
    }
    let mut bytes = [0u8; SELECTOR_LEN + VERIFIER_LEN];
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
    }
    let mut selector = Selector::default();
    let mut verifier = Verifier::default();
    selector.copy_from_slice(&bytes[..SELECTOR_LEN]);
    verifier.copy_from_slice(&bytes[SELECTOR_LEN..]);
    Some((selector, verifier))
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(secret: &str) -> Binding {
        Binding {
            mode: CredentialMode::Static,
            secret: Secret::new(secret),
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_token_is_random_opaque_and_bound_to_its_credential() {
        let store = TokenStore::new(8);
        let a = store.issue(bound("key_a"), HOUR).unwrap().token;
        let b = store.issue(bound("key_a"), HOUR).unwrap().token;
        assert_ne!(a, b, "two tokens for one key differ");
        for t in [&a, &b] {
            let t = t.expose();
            assert!(
                t.starts_with(TOKEN_PREFIX) && t.len() == TOKEN_PREFIX.len() + 64,
                "{t}"
            );
            assert!(!t.contains("key_a"));
        }
        assert_eq!(store.resolve(a.expose()), Lookup::Live(bound("key_a")));
        let passthrough = Binding {
            mode: CredentialMode::Passthrough,
            secret: Secret::new("client-secret"),
        };
        let c = store.issue(passthrough.clone(), HOUR).unwrap().token;
        assert_eq!(store.resolve(c.expose()), Lookup::Live(passthrough));
    }

    #[test]
    fn only_the_exact_token_resolves() {
        let store = TokenStore::new(8);
        let token = store.issue(bound("k"), HOUR).unwrap().token;
        let t = token.expose();
        assert_eq!(store.resolve("k"), Lookup::NotAToken);
        assert_eq!(store.resolve(&t[..t.len() - 1]), Lookup::NotAToken);
        assert_eq!(store.resolve(&t.to_uppercase()), Lookup::NotAToken);
        // Same selector, another verifier.
        let last = if t.ends_with('0') { "1" } else { "0" };
        let forged = format!("{}{last}", &t[..t.len() - 1]);
        assert_eq!(store.resolve(&forged), Lookup::Dead);
        // Never issued.
        assert_eq!(
            store.resolve(&format!("{TOKEN_PREFIX}{}", "ab".repeat(32))),
            Lookup::Dead
        );
        assert!(matches!(store.resolve(t), Lookup::Live(_)));
    }

    #[test]
    fn a_token_expires_after_its_ttl() {
        let store = TokenStore::new(8);
        let now = Instant::now();
        let token = store.issue_at(bound("k"), Duration::from_secs(2), now).unwrap();
        let at = |s: u64| store.resolve_at(token.expose(), now + Duration::from_millis(s));
        assert_eq!(at(0), Lookup::Live(bound("k")));
        assert_eq!(at(1999), Lookup::Live(bound("k")));
        assert_eq!(at(2000), Lookup::Dead);
        assert!(store.is_empty(), "an expired token found on lookup is dropped");
    }

    #[test]
    fn issued_reports_the_epoch_second_it_ends() {
        let store = TokenStore::new(8);
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let issued = store.issue(bound("k"), Duration::from_secs(90)).unwrap();
        let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert!((before + 90..=after + 90).contains(&issued.expires_epoch));
    }

    #[test]
    fn at_the_cap_expired_tokens_go_first_then_the_soonest_to_expire() {
        let store = TokenStore::new(3);
        let now = Instant::now();
        let short = store.issue_at(bound("a"), Duration::from_secs(1), now).unwrap();
        let long = store.issue_at(bound("b"), Duration::from_secs(100), now).unwrap();
        let middle = store.issue_at(bound("c"), Duration::from_secs(50), now).unwrap();
        // Full; `short` has expired by now + 2 s: it is purged, nothing live is dropped.
        let later = now + Duration::from_secs(2);
        let d = store
            .issue_at(bound("d"), Duration::from_secs(100), later)
            .unwrap();
        assert_eq!(store.len(), 3);
        assert_eq!(store.resolve_at(short.expose(), later), Lookup::Dead);
        for t in [&long, &middle, &d] {
            assert!(matches!(store.resolve_at(t.expose(), later), Lookup::Live(_)));
        }
        // Full of live tokens: the one that expires soonest (`middle`) makes room.
        let e = store
            .issue_at(bound("e"), Duration::from_secs(100), later)
            .unwrap();
        assert_eq!(store.len(), 3);
        assert_eq!(store.resolve_at(middle.expose(), later), Lookup::Dead);
        for t in [&long, &d, &e] {
            assert!(matches!(store.resolve_at(t.expose(), later), Lookup::Live(_)));
        }
    }

    #[test]
    fn the_store_never_holds_more_than_its_cap() {
        let store = TokenStore::new(16);
        for i in 0..200 {
            store.issue(bound(&format!("k{i}")), HOUR).unwrap();
            assert!(store.len() <= 16);
        }
        let entries = store.entries();
        assert_eq!(entries.by_selector.len(), entries.by_expiry.len());
    }

    #[test]
    fn forget_drops_only_the_exact_token() {
        let store = TokenStore::new(8);
        let a = store.issue(bound("k"), HOUR).unwrap().token;
        let b = store.issue(bound("k"), HOUR).unwrap().token;
        store.forget("not a token");
        store.forget(&format!("{TOKEN_PREFIX}{}", "00".repeat(32)));
        assert_eq!(store.len(), 2);
        store.forget(a.expose());
        assert_eq!(store.resolve(a.expose()), Lookup::Dead);
        assert!(matches!(store.resolve(b.expose()), Lookup::Live(_)));
    }

    #[test]
    fn debug_shows_no_token_and_no_secret() {
        let store = TokenStore::new(8);
        let t = store.issue(bound("sekrit_key"), HOUR).unwrap().token;
        let shown = format!("{store:?} {t:?}");
        assert!(
            !shown.contains("sekrit_key") && !shown.contains(&t.expose()[4..]),
            "{shown}"
        );
    }
}
