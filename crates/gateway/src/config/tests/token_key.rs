//! `credentials.token_key_env`: the key (and previous key) access tokens are sealed with.

use super::*;

/// 48 bytes, as `openssl rand -base64 36` prints.
const KEY: &str = "q0v9JtF1rW3m8XyB2nK5pL7sD4gH6jC1aZ0eU9iO3tR5wQ8y";
const OLD: &str = "Zz1Yy2Xx3Ww4Vv5Uu6Tt7Ss8Rr9Qq0Pp1Oo2Nn3Mm4Ll5Kk6";

/// The built-in default plus the environment `pairs`; the problems when it does not load.
fn load_with(pairs: &[(&str, &str)]) -> Result<Config, Vec<String>> {
    let env = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    match load_default(Some(env), &Overrides::default()) {
        Ok(c) => Ok(c),
        Err(ConfigError::Invalid(problems)) => Err(problems),
        Err(e) => panic!("{e:?}"),
    }
}

#[test]
fn by_default_the_key_is_read_from_dialectgate_token_key() {
    let cfg = load_with(&[]).unwrap();
    assert_eq!(cfg.credentials.token_key_env, "DIALECTGATE_TOKEN_KEY");
    assert!(cfg.credentials.token_keys.is_empty());
    assert_eq!(
        cfg.credentials.token_key_summary(),
        "valid on this process only (DIALECTGATE_TOKEN_KEY is not set: a random key per process)"
    );
    // Set but empty is unset.
    let cfg = load_with(&[("DIALECTGATE_TOKEN_KEY", "  ")]).unwrap();
    assert!(cfg.credentials.token_keys.is_empty());
}

#[test]
fn one_key_or_the_current_and_the_previous_key() {
    let cfg = load_with(&[("DIALECTGATE_TOKEN_KEY", KEY)]).unwrap();
    assert_eq!(cfg.credentials.token_keys, [Secret::new(KEY)]);
    let summary = cfg.credentials.token_key_summary();
    assert_eq!(summary, "sealed with the key in DIALECTGATE_TOKEN_KEY");
    let cfg = load_with(&[("DIALECTGATE_TOKEN_KEY", &format!("{KEY}, {OLD}"))]).unwrap();
    assert_eq!(cfg.credentials.token_keys, [Secret::new(KEY), Secret::new(OLD)]);
    let summary = cfg.credentials.token_key_summary();
    assert!(summary.contains("previous key is still accepted"), "{summary}");
    assert!(!summary.contains(KEY) && !format!("{cfg:?}").contains(KEY));
}

#[test]
fn the_variable_is_named_by_token_key_env() {
    let cfg = load_with(&[
        ("DIALECTGATE__CREDENTIALS__TOKEN_KEY_ENV", "MY_TOKEN_KEY"),
        ("MY_TOKEN_KEY", KEY),
        ("DIALECTGATE_TOKEN_KEY", OLD),
    ])
    .unwrap();
    assert_eq!(cfg.credentials.token_keys, [Secret::new(KEY)]);
    assert_eq!(
        cfg.credentials.token_key_summary(),
        "sealed with the key in MY_TOKEN_KEY"
    );
    for bad in ["", "A=B"] {
        let problems = load_with(&[("DIALECTGATE__CREDENTIALS__TOKEN_KEY_ENV", bad)]).unwrap_err();
        assert_eq!(
            problems,
            ["credentials.token_key_env: must name an environment variable (e.g. DIALECTGATE_TOKEN_KEY)"],
            "{bad:?}"
        );
    }
}

#[test]
fn a_short_key_or_a_third_key_refuses_to_start_without_showing_a_key() {
    let short = "k".repeat(31);
    let problems = load_with(&[("DIALECTGATE_TOKEN_KEY", &short)]).unwrap_err();
    assert_eq!(
        problems,
        [
            "credentials.token_key_env: the current key in DIALECTGATE_TOKEN_KEY is 31 bytes; at least 32 \
          are needed (e.g. `openssl rand -base64 48`)"
        ]
    );
    // 32 bytes is enough.
    assert!(load_with(&[("DIALECTGATE_TOKEN_KEY", &"k".repeat(32))]).is_ok());
    let problems = load_with(&[("DIALECTGATE_TOKEN_KEY", &format!("{KEY},{short}"))]).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .starts_with("credentials.token_key_env: the previous key in DIALECTGATE_TOKEN_KEY is 31 bytes"),
        "{problems:?}"
    );
    let problems = load_with(&[("DIALECTGATE_TOKEN_KEY", &format!("{KEY},"))]).unwrap_err();
    assert!(
        problems[0].contains("the previous key in DIALECTGATE_TOKEN_KEY is 0 bytes"),
        "{problems:?}"
    );
    let problems = load_with(&[("DIALECTGATE_TOKEN_KEY", &format!("{KEY},{OLD},{KEY}"))]).unwrap_err();
    assert_eq!(
        problems,
        [
            "credentials.token_key_env: DIALECTGATE_TOKEN_KEY holds 3 keys; at most two, comma-separated: \
          the current key, then the previous one"
        ]
    );
    for p in problems {
        assert!(!p.contains(KEY) && !p.contains(&short), "{p}");
    }
}

#[test]
fn caller_keys_come_with_their_fingerprints() {
    let cfg = load_with(&[("DIALECTGATE_KEYS", "k1,k2")]).unwrap();
    let keys: Vec<&str> = cfg.credentials.caller_keys.iter().map(Secret::expose).collect();
    let expected: Vec<_> = keys.iter().map(|k| crate::token::fingerprint(k)).collect();
    assert_eq!(cfg.credentials.key_fingerprints, expected);
    assert!(keys.contains(&"k1") && keys.contains(&"k2"), "{keys:?}");
}
