//! Access tokens: the OAuth2 token endpoint a vendor SDK calls before its first request (Elastic
//! Path's `POST /oauth/access_token`), and the sealing of the tokens it issues.
//!
//! A token carries everything needed to check it, sealed with XChaCha20-Poly1305 (authenticated
//! encryption) under the key named by `credentials.token_key_env`: any replica with that key opens
//! it, it survives restarts and reloads, and the gateway keeps nothing per token (no store, no
//! cap, no eviction). It is `dgt_` and the URL-safe base64 (no padding) of
//!
//! ```text
//! key id (4 bytes) ‖ nonce (24 random bytes) ‖ ciphertext ‖ tag (16 bytes)
//! plaintext = mode (1 byte: 1 static, 2 passthrough) ‖ expiry (u64 big-endian, ms since the Unix
//!             epoch) ‖ binding (static: the 32-byte fingerprint of the caller key;
//!             passthrough: the client secret, 1 to MAX_FORM_SECRET_BYTES visible ASCII bytes)
//! associated data = "dgt_" ‖ key id
//! ```
//!
//! The key id names the key (previous or current) without trying each; the 192-bit random nonce
//! never repeats in practice, however many tokens the replicas issue. A token is valid only before
//! its expiry, only in the mode it was issued in and, in static mode, only while the caller key
//! it is bound to is configured (`pipeline::authenticate`). Anything else starting with `dgt_`
//! (tampered, truncated, expired, sealed under another key) is dead.
//!
//! The keys are derived from the variable's value (at least [`MIN_TOKEN_KEY_BYTES`] bytes) with
//! SHA-256 under distinct labels: one for the cipher key, one for the key id. Without a
//! configured key a random one is made once per process (kept over reloads in
//! [`Shared`](crate::Shared)): tokens are then valid on this process only.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::{AeadInOut, Key, KeyInit, Tag, XChaCha20Poly1305, XNonce};

pub(crate) use self::endpoint::{Asked, endpoint};
use crate::config::Secret;
use crate::fingerprint::labelled;
pub use crate::fingerprint::{Fingerprint, fingerprint};

mod endpoint;
#[cfg(test)]
mod tests;

/// Every token the gateway issues starts with this.
pub const TOKEN_PREFIX: &str = "dgt_";
/// Shortest token key accepted, in bytes of the variable's value.
pub const MIN_TOKEN_KEY_BYTES: usize = 32;
/// Longest secret the token endpoint takes (`client_secret`, or `client_id` for the implicit
/// grant); longer gets 400. In passthrough mode it is sealed into the token.
pub const MAX_FORM_SECRET_BYTES: usize = 512;

const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// The plaintext's mode byte and expiry.
const HEADER_LEN: usize = 1 + 8;
const MODE_STATIC: u8 = 1;
const MODE_PASSTHROUGH: u8 = 2;
/// The longest sealed token, in bytes and in characters: anything longer is dead unread.
const MAX_SEALED_LEN: usize = KEY_ID_LEN + NONCE_LEN + HEADER_LEN + MAX_FORM_SECRET_BYTES + TAG_LEN;
const MAX_TOKEN_CHARS: usize = TOKEN_PREFIX.len() + (MAX_SEALED_LEN * 4).div_ceil(3);

/// What a token stands for; its variant is the credential mode it was issued in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// Static mode: the [`fingerprint`] of the caller key that obtained it.
    Key(Fingerprint),
    /// Passthrough mode: the client secret that obtained it, passed upstream to be judged there.
    Secret(Secret),
}

impl Binding {
    /// The credential mode a token with this binding works in (the tests' view of a binding).
    #[cfg(test)]
    pub fn mode(&self) -> crate::config::CredentialMode {
        match self {
            Binding::Key(_) => crate::config::CredentialMode::Static,
            Binding::Secret(_) => crate::config::CredentialMode::Passthrough,
        }
    }
}

/// A token just issued.
#[derive(Debug)]
pub struct Issued {
    pub token: Secret,
    /// When it stops working, in seconds since the Unix epoch.
    pub expires_epoch: u64,
}

/// Why no token was issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The operating system's random source failed (the nonce).
    #[error("the random source failed")]
    Random(#[from] getrandom::Error),
    /// The cipher refused the plaintext (it cannot: it is at most a few hundred bytes).
    #[error("the token could not be sealed")]
    Seal,
}

/// What a presented credential is.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Not shaped like one of our tokens (no `dgt_`).
    NotAToken,
    /// A live token, and what it is bound to.
    Live(Binding),
    /// Starts like one of our tokens, but expired, tampered with or sealed under a key not held.
    Dead,
}

/// One key tokens are sealed under. Its `Debug` shows the key id only.
#[derive(Clone)]
pub struct TokenKey {
    id: [u8; KEY_ID_LEN],
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenKey({:02x?})", self.id)
    }
}

impl TokenKey {
    /// The key made from a configured secret (see the module documentation).
    pub fn derive(material: &[u8]) -> TokenKey {
        let digest = labelled(b"dialectgate token key id", material);
        let mut id = [0; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        let key = Key::from(labelled(b"dialectgate token seal key", material));
        TokenKey {
            id,
            cipher: XChaCha20Poly1305::new(&key),
        }
    }

    /// A key from the operating system's CSPRNG, known to this process only.
    ///
    /// # Errors
    /// The random source failed.
    pub fn random() -> Result<TokenKey, getrandom::Error> {
        let mut material = [0u8; 32];
        getrandom::fill(&mut material)?;
        Ok(TokenKey::derive(&material))
    }
}

/// The per-process key, made on first need and kept over reloads.
#[derive(Debug, Default)]
pub(crate) struct ProcessKey(OnceLock<TokenKey>);

impl ProcessKey {
    fn get(&self) -> Result<TokenKey, getrandom::Error> {
        if let Some(key) = self.0.get() {
            return Ok(key.clone());
        }
        let made = TokenKey::random()?;
        // Two first uses at once: the first stored wins, for both.
        Ok(self.0.get_or_init(|| made).clone())
    }
}

/// The keys tokens are sealed with (the current one) and opened with (it and the previous one).
#[derive(Debug, Clone)]
pub struct TokenKeys {
    current: TokenKey,
    previous: Option<TokenKey>,
}

impl TokenKeys {
    /// Seals with `current`; opens tokens of `current` and `previous`.
    pub fn new(current: TokenKey, previous: Option<TokenKey>) -> TokenKeys {
        TokenKeys { current, previous }
    }

    /// The configured keys (current first), or else this process's own.
    pub(crate) fn configured_or(
        keys: &[Secret],
        process: &ProcessKey,
    ) -> Result<TokenKeys, getrandom::Error> {
        let derive = |s: &Secret| TokenKey::derive(s.expose().as_bytes());
        match keys {
            [] => Ok(TokenKeys::new(process.get()?, None)),
            [current, rest @ ..] => Ok(TokenKeys::new(derive(current), rest.first().map(derive))),
        }
    }

    /// Issues a token bound to `binding`, valid for `ttl` from now.
    ///
    /// # Errors
    /// See [`IssueError`]; no token is issued.
    pub fn issue(&self, binding: &Binding, ttl: Duration) -> Result<Issued, IssueError> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let expires_ms = now_ms().saturating_add(ttl_ms);
        Ok(Issued {
            token: self.seal(binding, expires_ms)?,
            expires_epoch: expires_ms / 1000,
        })
    }

    /// The token for `binding`, expiring at `expires_ms` (ms since the Unix epoch).
    fn seal(&self, binding: &Binding, expires_ms: u64) -> Result<Secret, IssueError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)?;
        let (mode, bound) = match binding {
            Binding::Key(fingerprint) => (MODE_STATIC, &fingerprint[..]),
            Binding::Secret(secret) => (MODE_PASSTHROUGH, secret.expose().as_bytes()),
        };
        let key = &self.current;
        let mut sealed = Vec::with_capacity(KEY_ID_LEN + NONCE_LEN + HEADER_LEN + bound.len() + TAG_LEN);
        sealed.extend_from_slice(&key.id);
        sealed.extend_from_slice(&nonce);
        sealed.push(mode);
        sealed.extend_from_slice(&expires_ms.to_be_bytes());
        sealed.extend_from_slice(bound);
        let start = KEY_ID_LEN + NONCE_LEN;
        let tag = key
            .cipher
            .encrypt_inout_detached(
                &XNonce::from(nonce),
                &associated_data(&key.id),
                sealed[start..].as_mut().into(),
            )
            // Only a plaintext longer than 256 GiB fails.
            .map_err(|_| IssueError::Seal)?;
        sealed.extend_from_slice(&tag);
        let mut token = String::with_capacity(TOKEN_PREFIX.len() + (sealed.len() * 4).div_ceil(3));
        token.push_str(TOKEN_PREFIX);
        URL_SAFE_NO_PAD.encode_string(&sealed, &mut token);
        Ok(Secret::new(token))
    }

    /// What `presented` is: one of our live tokens (and its binding), a dead one, or no token.
    pub fn resolve(&self, presented: &str) -> Lookup {
        self.resolve_at(presented, now_ms())
    }

    fn resolve_at(&self, presented: &str, now_ms: u64) -> Lookup {
        let Some(encoded) = presented.strip_prefix(TOKEN_PREFIX) else {
            return Lookup::NotAToken;
        };
        if presented.len() > MAX_TOKEN_CHARS {
            return Lookup::Dead;
        }
        let Ok(sealed) = URL_SAFE_NO_PAD.decode(encoded) else {
            return Lookup::Dead;
        };
        if sealed.len() < KEY_ID_LEN + NONCE_LEN + HEADER_LEN + TAG_LEN {
            return Lookup::Dead;
        }
        let (id, rest) = sealed.split_at(KEY_ID_LEN);
        let (nonce, rest) = rest.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let (Ok(nonce), Ok(tag)) = (XNonce::try_from(nonce), Tag::try_from(tag)) else {
            return Lookup::Dead;
        };
        let aad = associated_data(id);
        let opened = std::iter::once(&self.current)
            .chain(&self.previous)
            .filter(|key| key.id == id)
            .find_map(|key| {
                let mut plaintext = ciphertext.to_vec();
                key.cipher
                    .decrypt_inout_detached(&nonce, &aad, plaintext.as_mut_slice().into(), &tag)
                    .ok()
                    .map(|()| plaintext)
            });
        let Some(plaintext) = opened else {
            return Lookup::Dead;
        };
        let (header, bound) = plaintext.split_at(HEADER_LEN);
        let mut expiry = [0u8; 8];
        expiry.copy_from_slice(&header[1..]);
        if now_ms >= u64::from_be_bytes(expiry) {
            return Lookup::Dead;
        }
        match header[0] {
            MODE_STATIC => match Fingerprint::try_from(bound) {
                Ok(fingerprint) => Lookup::Live(Binding::Key(fingerprint)),
                Err(_) => Lookup::Dead,
            },
            MODE_PASSTHROUGH => match std::str::from_utf8(bound) {
                Ok(secret) if !secret.is_empty() => Lookup::Live(Binding::Secret(Secret::new(secret))),
                _ => Lookup::Dead,
            },
            _ => Lookup::Dead,
        }
    }
}

/// What each token's tag also covers: the format (its prefix) and the key id.
fn associated_data(id: &[u8]) -> Vec<u8> {
    [TOKEN_PREFIX.as_bytes(), id].concat()
}

/// Milliseconds since the Unix epoch (0 for a clock before it).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
