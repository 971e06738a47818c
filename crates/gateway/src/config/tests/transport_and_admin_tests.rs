//! The transport settings (their defaults, and limits that must be usable) and the admin token.

use super::*;

#[test]
fn transport_defaults() {
    let cfg = build(RawConfig::default(), &Overrides::default(), &[]).unwrap();
    assert_eq!(cfg.server.idle_timeout, Duration::from_secs(60));
    assert_eq!(cfg.server.max_connections.get(), 1024);
    assert_eq!(cfg.server.http2_max_concurrent_streams.get(), 100);
    assert_eq!(cfg.admin.token_env, "DIALECTGATE_ADMIN_TOKEN");
    assert!(cfg.admin.token.is_none(), "no variable, no remote reload");
}

#[test]
fn transport_limits_must_be_usable() {
    let raw = RawConfig {
        server: RawServer {
            idle_timeout_ms: 0,
            max_connections: 0,
            http2_max_concurrent_streams: 0,
            ..RawServer::default()
        },
        ..RawConfig::default()
    };
    let problems = build(raw, &Overrides::default(), &[]).unwrap_err();
    for key in [
        "server.idle_timeout_ms",
        "server.max_connections",
        "server.http2_max_concurrent_streams",
    ] {
        assert!(problems.iter().any(|p| p.starts_with(key)), "{key}: {problems:?}");
    }
    let raw = RawConfig {
        server: RawServer {
            max_connections: 2_000_000,
            ..RawServer::default()
        },
        ..RawConfig::default()
    };
    let problems = build(raw, &Overrides::default(), &[]).unwrap_err();
    assert!(problems.iter().any(|p| p.starts_with("server.max_connections")));
}

#[test]
fn the_admin_token_comes_from_the_named_variable() {
    let token = "0123456789abcdef-admin";
    let cfg = build(
        RawConfig::default(),
        &Overrides::default(),
        &[("DIALECTGATE_ADMIN_TOKEN", token)],
    )
    .unwrap();
    assert_eq!(cfg.admin.token, Some(Secret::new(token)));
    assert_eq!(format!("{:?}", cfg.admin.token), "Some(Secret(***))");
    let raw = RawConfig {
        admin: RawAdmin {
            token_env: "OTHER".into(),
            ..RawAdmin::default()
        },
        ..RawConfig::default()
    };
    let cfg = build(
        raw,
        &Overrides::default(),
        &[
            ("DIALECTGATE_ADMIN_TOKEN", token),
            ("OTHER", "  other-token-0123456789\n"),
        ],
    )
    .unwrap();
    assert_eq!(cfg.admin.token, Some(Secret::new("other-token-0123456789")));
    // Empty means off.
    let cfg = build(
        RawConfig::default(),
        &Overrides::default(),
        &[("DIALECTGATE_ADMIN_TOKEN", "")],
    )
    .unwrap();
    assert!(cfg.admin.token.is_none());
}

#[test]
fn a_short_admin_token_or_a_bad_variable_name_is_refused() {
    let problems = build(
        RawConfig::default(),
        &Overrides::default(),
        &[("DIALECTGATE_ADMIN_TOKEN", "tiny-tok")],
    )
    .unwrap_err();
    assert!(
        problems.iter().any(|p| p.starts_with("admin.token_env")),
        "{problems:?}"
    );
    assert!(
        problems.iter().all(|p| !p.contains("tiny-tok")),
        "the token is never quoted: {problems:?}"
    );
    for name in ["", "A=B"] {
        let raw = RawConfig {
            admin: RawAdmin {
                token_env: name.into(),
                ..RawAdmin::default()
            },
            ..RawConfig::default()
        };
        let problems = build(raw, &Overrides::default(), &[]).unwrap_err();
        assert!(
            problems.iter().any(|p| p.starts_with("admin.token_env")),
            "{problems:?}"
        );
    }
}
