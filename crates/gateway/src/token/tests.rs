use super::*;
use crate::config::CredentialMode;

const KEY_A: &[u8] = b"token-tests-key-a-0123456789abcdef";
const KEY_B: &[u8] = b"token-tests-key-b-0123456789abcdef";
const HOUR: Duration = Duration::from_secs(3600);

fn keys(material: &[u8]) -> TokenKeys {
    TokenKeys::new(TokenKey::derive(material), None)
}

fn bound(key: &str) -> Binding {
    Binding::Key(fingerprint(key))
}

fn passthrough(secret: &str) -> Binding {
    Binding::Secret(Secret::new(secret))
}

/// The token's bytes after the prefix (the format in the module documentation).
fn decoded(token: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(token.strip_prefix("dgt_").unwrap())
        .unwrap()
}

fn encoded(bytes: &[u8]) -> String {
    format!("dgt_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A token sealed under `material` with `plaintext` as it is (mode byte, expiry, binding).
fn sealed_raw(material: &[u8], plaintext: &[u8]) -> String {
    let key = TokenKey::derive(material);
    let nonce = [7u8; 24];
    let mut buf = plaintext.to_vec();
    let tag = key
        .cipher
        .encrypt_inout_detached(
            &XNonce::from(nonce),
            &[b"dgt_".as_slice(), &key.id].concat(),
            buf.as_mut_slice().into(),
        )
        .unwrap();
    encoded(&[&key.id[..], &nonce, &buf, &tag].concat())
}

fn plaintext(mode: u8, expires_ms: u64, binding: &[u8]) -> Vec<u8> {
    [&[mode][..], &expires_ms.to_be_bytes(), binding].concat()
}

#[test]
fn a_token_is_sealed_opaque_fresh_and_opens_to_its_binding() {
    let keys = keys(KEY_A);
    let a = keys.issue(&bound("key_a"), HOUR).unwrap().token;
    let b = keys.issue(&bound("key_a"), HOUR).unwrap().token;
    assert_ne!(a, b, "two tokens for one key differ");
    for t in [&a, &b] {
        let t = t.expose();
        let body = t.strip_prefix("dgt_").unwrap();
        assert!(
            body.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "URL-safe base64 without padding: {t}"
        );
        // key id 4 + nonce 24 + mode 1 + expiry 8 + fingerprint 32 + tag 16 = 85 bytes.
        assert_eq!(decoded(t).len(), 85, "{t}");
        assert!(!t.contains("key_a"));
    }
    assert_eq!(keys.resolve(a.expose()), Lookup::Live(bound("key_a")));
    let c = keys.issue(&passthrough("client-secret-1"), HOUR).unwrap().token;
    assert!(!c.expose().contains("client-secret-1"));
    assert_eq!(decoded(c.expose()).len(), 4 + 24 + 1 + 8 + 15 + 16);
    assert_eq!(
        keys.resolve(c.expose()),
        Lookup::Live(passthrough("client-secret-1"))
    );
}

#[test]
fn the_key_id_names_the_key_and_the_nonce_is_fresh() {
    let (a, b) = (keys(KEY_A), keys(KEY_B));
    let t1 = decoded(a.issue(&bound("k"), HOUR).unwrap().token.expose());
    let t2 = decoded(a.issue(&bound("k"), HOUR).unwrap().token.expose());
    let t3 = decoded(b.issue(&bound("k"), HOUR).unwrap().token.expose());
    assert_eq!(t1[..4], t2[..4], "one key, one id");
    assert_ne!(t1[..4], t3[..4], "another key, another id");
    assert_ne!(t1[4..28], t2[4..28], "a fresh nonce per token");
}

#[test]
fn any_replica_with_the_same_key_opens_a_token() {
    // Two gateways derive their keys from the same secret independently.
    let token = keys(KEY_A).issue(&bound("k"), HOUR).unwrap().token;
    assert_eq!(keys(KEY_A).resolve(token.expose()), Lookup::Live(bound("k")));
    assert_eq!(keys(KEY_B).resolve(token.expose()), Lookup::Dead, "a foreign key");
}

#[test]
fn rotation_seals_with_the_current_key_and_still_opens_the_previous_keys_tokens() {
    let old = keys(KEY_A);
    let rotated = TokenKeys::new(TokenKey::derive(KEY_B), Some(TokenKey::derive(KEY_A)));
    let before = old.issue(&bound("k"), HOUR).unwrap().token;
    let after = rotated.issue(&bound("k"), HOUR).unwrap().token;
    assert_eq!(rotated.resolve(before.expose()), Lookup::Live(bound("k")));
    assert_eq!(rotated.resolve(after.expose()), Lookup::Live(bound("k")));
    assert_eq!(
        decoded(after.expose())[..4],
        decoded(keys(KEY_B).issue(&bound("k"), HOUR).unwrap().token.expose())[..4]
    );
    // A replica still on the old key alone does not open the new key's tokens.
    assert_eq!(old.resolve(after.expose()), Lookup::Dead);
    // Once the previous key is dropped, its tokens are dead.
    assert_eq!(keys(KEY_B).resolve(before.expose()), Lookup::Dead);
}

#[test]
fn a_token_expires_at_its_expiry_to_the_millisecond() {
    let keys = keys(KEY_A);
    let expires = 1_900_000_000_000;
    let token = keys.seal(&bound("k"), expires).unwrap();
    let at = |ms: u64| keys.resolve_at(token.expose(), ms);
    assert_eq!(at(0), Lookup::Live(bound("k")));
    assert_eq!(at(expires - 1), Lookup::Live(bound("k")));
    assert_eq!(at(expires), Lookup::Dead);
    assert_eq!(at(u64::MAX), Lookup::Dead);
}

#[test]
fn issued_reports_the_epoch_second_it_ends_and_lives_until_then() {
    let keys = keys(KEY_A);
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let issued = keys.issue(&bound("k"), Duration::from_secs(90)).unwrap();
    let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert!((before + 90..=after + 90).contains(&issued.expires_epoch));
    let end_ms = issued.expires_epoch * 1000;
    assert_eq!(
        keys.resolve_at(issued.token.expose(), end_ms - 1),
        Lookup::Live(bound("k"))
    );
    assert_eq!(
        keys.resolve_at(issued.token.expose(), end_ms + 1000),
        Lookup::Dead
    );
}

#[test]
fn every_changed_byte_kills_the_token() {
    let keys = keys(KEY_A);
    let token = keys.issue(&passthrough("s3cret"), HOUR).unwrap().token;
    let bytes = decoded(token.expose());
    for i in 0..bytes.len() {
        for flip in [0x01, 0x80] {
            let mut tampered = bytes.clone();
            tampered[i] ^= flip;
            assert_eq!(
                keys.resolve(&encoded(&tampered)),
                Lookup::Dead,
                "byte {i} ^ {flip:#x}"
            );
        }
    }
    assert_eq!(
        keys.resolve(&encoded(&bytes[..bytes.len() - 1])),
        Lookup::Dead,
        "truncated"
    );
    assert_eq!(
        keys.resolve(&encoded(&[&bytes[..], &[0]].concat())),
        Lookup::Dead,
        "extended"
    );
    assert_eq!(
        keys.resolve(&encoded(&bytes[..20])),
        Lookup::Dead,
        "too short to hold a tag"
    );
    assert_eq!(keys.resolve(&encoded(&[])), Lookup::Dead, "empty");
    assert_eq!(
        keys.resolve(&encoded(&bytes)),
        Lookup::Live(passthrough("s3cret"))
    );
}

#[test]
fn only_the_exact_text_opens() {
    let keys = keys(KEY_A);
    let token = keys.issue(&bound("k"), HOUR).unwrap().token;
    let t = token.expose();
    assert_eq!(keys.resolve("k"), Lookup::NotAToken);
    assert_eq!(keys.resolve(&t[4..]), Lookup::NotAToken, "without the prefix");
    assert_eq!(keys.resolve(&format!("DGT_{}", &t[4..])), Lookup::NotAToken);
    assert_eq!(keys.resolve(&t[..t.len() - 1]), Lookup::Dead);
    assert_eq!(
        keys.resolve(&format!("{t}=")),
        Lookup::Dead,
        "padding is not ours"
    );
    assert_eq!(
        keys.resolve(&format!("{}+", &t[..t.len() - 1])),
        Lookup::Dead,
        "standard alphabet"
    );
    assert_eq!(keys.resolve(&format!("{t} ")), Lookup::Dead);
    assert_eq!(
        keys.resolve(&format!("dgt_{}", "A".repeat(100_000))),
        Lookup::Dead,
        "too long"
    );
    assert_eq!(keys.resolve("dgt_"), Lookup::Dead);
    assert_eq!(keys.resolve(t), Lookup::Live(bound("k")));
}

#[test]
fn the_key_id_is_authenticated() {
    // A token of key A relabelled with key B's id does not open under B (nor A).
    let a = keys(KEY_A);
    let mut bytes = decoded(a.issue(&bound("k"), HOUR).unwrap().token.expose());
    bytes[..4].copy_from_slice(&TokenKey::derive(KEY_B).id);
    let both = TokenKeys::new(TokenKey::derive(KEY_B), Some(TokenKey::derive(KEY_A)));
    assert_eq!(both.resolve(&encoded(&bytes)), Lookup::Dead);
}

#[test]
fn a_sealed_plaintext_must_be_well_formed() {
    let far = u64::MAX;
    let opens = |pt: Vec<u8>| keys(KEY_A).resolve(&sealed_raw(KEY_A, &pt));
    // The helper seals as the gateway does.
    assert_eq!(
        opens(plaintext(1, far, &fingerprint("k"))),
        Lookup::Live(bound("k"))
    );
    assert_eq!(opens(plaintext(2, far, b"abc")), Lookup::Live(passthrough("abc")));
    assert_eq!(opens(plaintext(3, far, b"abc")), Lookup::Dead, "an unknown mode");
    assert_eq!(
        opens(plaintext(0, far, &fingerprint("k"))),
        Lookup::Dead,
        "an unknown mode"
    );
    assert_eq!(
        opens(plaintext(1, far, &[0; 31])),
        Lookup::Dead,
        "a short fingerprint"
    );
    assert_eq!(opens(plaintext(2, far, b"")), Lookup::Dead, "an empty secret");
    assert_eq!(opens(plaintext(2, far, &[0xff, 0xfe])), Lookup::Dead, "not UTF-8");
    assert_eq!(opens(vec![1, 0, 0]), Lookup::Dead, "no room for the expiry");
}

#[test]
fn the_longest_secret_the_endpoint_takes_fits_in_a_token() {
    let keys = keys(KEY_A);
    let longest = "s".repeat(MAX_FORM_SECRET_BYTES);
    let token = keys.issue(&passthrough(&longest), HOUR).unwrap().token;
    assert_eq!(keys.resolve(token.expose()), Lookup::Live(passthrough(&longest)));
}

#[test]
fn the_binding_says_the_mode() {
    assert_eq!(bound("k").mode(), CredentialMode::Static);
    assert_eq!(passthrough("k").mode(), CredentialMode::Passthrough);
    // Fingerprints are stable, distinct and not the key.
    assert_eq!(fingerprint("k1"), fingerprint("k1"));
    assert_ne!(fingerprint("k1"), fingerprint("k2"));
}

#[test]
fn configured_keys_win_and_without_them_the_process_key_stays() {
    let process = ProcessKey::default();
    let own = TokenKeys::configured_or(&[], &process).unwrap();
    let token = own.issue(&bound("k"), HOUR).unwrap().token;
    // A reload (the same process, no key configured): the same key.
    let again = TokenKeys::configured_or(&[], &process).unwrap();
    assert_eq!(again.resolve(token.expose()), Lookup::Live(bound("k")));
    // Another process: another key.
    let elsewhere = TokenKeys::configured_or(&[], &ProcessKey::default()).unwrap();
    assert_eq!(elsewhere.resolve(token.expose()), Lookup::Dead);
    // Configured: current, then previous.
    let configured = [
        Secret::new(String::from_utf8_lossy(KEY_B)),
        Secret::new(String::from_utf8_lossy(KEY_A)),
    ];
    let rotated = TokenKeys::configured_or(&configured, &process).unwrap();
    let old = keys(KEY_A).issue(&bound("k"), HOUR).unwrap().token;
    assert_eq!(rotated.resolve(old.expose()), Lookup::Live(bound("k")));
    assert_eq!(
        rotated.resolve(token.expose()),
        Lookup::Dead,
        "the process key is not configured"
    );
    let new = rotated.issue(&bound("k"), HOUR).unwrap().token;
    assert_eq!(keys(KEY_B).resolve(new.expose()), Lookup::Live(bound("k")));
}

#[test]
fn debug_shows_no_key_no_token_and_no_secret() {
    let keys = TokenKeys::new(TokenKey::derive(KEY_A), Some(TokenKey::derive(KEY_B)));
    let issued = keys.issue(&passthrough("sekrit_secret"), HOUR).unwrap();
    let shown = format!("{keys:?} {issued:?} {:?}", passthrough("sekrit_secret"));
    assert!(
        !shown.contains("sekrit_secret") && !shown.contains(&issued.token.expose()[4..]),
        "{shown}"
    );
    assert!(!shown.contains("token-tests-key"), "{shown}");
}
