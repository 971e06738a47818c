//! Configuration tests: layering (file, environment, flags), every problem at once, and each
//! section's checks.

use super::build::PUBLIC_DEMO_KEY;
use super::*;

mod token_key;

/// `raw` with `o` and the environment `pairs` (plus a caller key, which every configuration
/// needs), built; the problems when it does not load.
fn build(raw: RawConfig, o: &Overrides, pairs: &[(&str, &str)]) -> Result<Config, Vec<String>> {
    let mut env: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    env.insert("K".into(), "k".into());
    let raw = RawConfig {
        credentials: RawCredentials {
            keys_env: Some("K".into()),
            ..RawCredentials::default()
        },
        ..raw
    };
    match from_raw(raw, o, Some(&env), None) {
        Ok(c) => Ok(c),
        Err(ConfigError::Invalid(problems)) => Err(problems),
        Err(e) => panic!("{e}"),
    }
}

mod unit {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> EnvSource {
        Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn environment_overrides_the_file_and_flags_override_both() {
        let dir = std::env::temp_dir().join(format!("dg-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("gw.toml");
        std::fs::write(
            &file,
            "[upstream]\ntimeout_ms = 100\n[credentials]\nkeys_env = \"K\"\n",
        )
        .unwrap();
        let cfg = load(
            Some(&file),
            env(&[("DIALECTGATE__UPSTREAM__TIMEOUT_MS", "250"), ("K", "a, b")]),
            &Overrides {
                listen: Some("127.0.0.1:9999".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(cfg.upstream.timeout, Duration::from_millis(250));
        assert_eq!(cfg.server.listen.port(), 9999);
        assert_eq!(
            cfg.credentials.caller_keys,
            vec![Secret::new("a"), Secret::new("b")]
        );
        assert_eq!(
            format!("{:?}", cfg.credentials.caller_keys),
            "[Secret(***), Secret(***)]"
        );
    }

    #[test]
    fn fill_and_overflow_default_to_reading_and_off_and_the_environment_sets_them() {
        let cfg = load_default(env(&[]), &Overrides::default()).unwrap();
        assert_eq!(cfg.translation.fill, dialectgate_dialect::Fill::Read);
        assert!(!cfg.translation.overflow);
        assert!(!cfg.translation.options().overflow);
        // The prefix is reserved even with overflow off: the documented default.
        assert_eq!(cfg.translation.options().overflow_prefix, "dialectgate:");
        let cfg = load_default(
            env(&[
                ("DIALECTGATE__TRANSLATION__FILL", "never"),
                ("DIALECTGATE__TRANSLATION__OVERFLOW", "true"),
                ("DIALECTGATE__TRANSLATION__OVERFLOW_PREFIX", "x-"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(cfg.translation.fill, dialectgate_dialect::Fill::Never);
        assert!(cfg.translation.options().overflow);
        assert_eq!(cfg.translation.options().overflow_prefix, "x-");
        let err = load_default(
            env(&[("DIALECTGATE__TRANSLATION__FILL", "sometimes")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(format!("{err:?}").contains("sometimes"), "{err:?}");
        for bad in ["", "a\u{7}b"] {
            let err = load_default(
                env(&[("DIALECTGATE__TRANSLATION__OVERFLOW_PREFIX", bad)]),
                &Overrides::default(),
            )
            .unwrap_err();
            assert!(
                format!("{err:?}").contains("translation.overflow_prefix"),
                "{err:?}"
            );
        }
    }

    #[test]
    fn conflict_retries_default_to_two_and_are_bounded() {
        let cfg = load_default(env(&[]), &Overrides::default()).unwrap();
        assert_eq!(cfg.translation.conflict_retries, 2);
        let cfg = load_default(
            env(&[("DIALECTGATE__TRANSLATION__CONFLICT_RETRIES", "0")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(cfg.translation.conflict_retries, 0);
        for bad in ["11", "-1", "two"] {
            let err = load_default(
                env(&[("DIALECTGATE__TRANSLATION__CONFLICT_RETRIES", bad)]),
                &Overrides::default(),
            )
            .unwrap_err();
            assert!(format!("{err:?}").contains("conflict_retries"), "{bad}: {err:?}");
        }
    }

    #[test]
    fn the_built_in_default_needs_no_file_and_names_the_built_in_dialects_and_demo_key() {
        let cfg = load_default(env(&[]), &Overrides::default()).unwrap();
        assert_eq!(cfg.server.listen.to_string(), "127.0.0.1:8080");
        assert!(cfg.upstream.url.is_none(), "the embedded backend");
        assert_eq!(cfg.dialects.dialects_source(), Source::Embedded);
        assert_eq!(cfg.dialects.schemas_source(), Source::Embedded);
        assert_eq!(cfg.credentials.caller_keys, vec![Secret::new(PUBLIC_DEMO_KEY)]);
        assert_eq!(
            cfg.credentials.key_sources,
            ["demo file built-in (embedded backend only): 1"]
        );
        // The shipped file and the built-in default are the same configuration.
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/dialectgate.toml");
        assert_eq!(std::fs::read_to_string(file).unwrap(), DEFAULT_CONFIG);
    }

    #[test]
    fn directories_and_a_demo_keys_file_override_the_built_in_copies() {
        let dir = std::env::temp_dir().join(format!("dg-config-dirs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let keys = dir.join("demo.txt");
        std::fs::write(&keys, "# demo\ndemo_one\n").unwrap();
        let cfg = load_default(
            env(&[
                ("DIALECTGATE__DIALECTS__DIR", "/srv/dialects"),
                ("DIALECTGATE__CREDENTIALS__DEMO_KEYS_FILE", keys.to_str().unwrap()),
            ]),
            &Overrides {
                schemas_dir: Some("/srv/schemas".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(
            cfg.dialects.dialects_source(),
            Source::Dir("/srv/dialects".into())
        );
        assert_eq!(cfg.dialects.schemas_source(), Source::Dir("/srv/schemas".into()));
        assert_eq!(cfg.credentials.caller_keys, vec![Secret::new("demo_one")]);

        // Without the key there are no demo keys, and static mode says what it needs.
        let file = dir.join("gw.toml");
        std::fs::write(&file, "[credentials]\nmode = \"static\"\n").unwrap();
        let err = load(Some(&file), env(&[]), &Overrides::default()).unwrap_err();
        assert!(
            format!("{err}").contains("static mode needs caller keys"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = std::env::temp_dir().join(format!("dg-config-typo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("gw.toml");
        std::fs::write(&file, "[server]\nlisten_adr = \"x\"\n").unwrap();
        let err = load(Some(&file), env(&[]), &Overrides::default()).unwrap_err();
        let chain = format!("{:#}", anyhow_like(&err));
        assert!(chain.contains("listen_adr"), "{chain}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let raw = RawConfig {
            server: RawServer {
                listen: "nope".into(),
                max_in_flight: 0,
                ..RawServer::default()
            },
            upstream: RawUpstream {
                dialect: "medusa".into(),
                ..RawUpstream::default()
            },
            ..RawConfig::default()
        };
        let Err(ConfigError::Invalid(problems)) =
            from_raw(raw, &Overrides::default(), Some(&Default::default()), None)
        else {
            panic!("expected invalid");
        };
        assert!(
            problems.iter().any(|p| p.starts_with("server.listen")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("server.max_in_flight")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("upstream.dialect")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("credentials")),
            "{problems:?}"
        );
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges_and_a_bad_entry_is_named() {
        let raw = |entries: &[&str]| RawConfig {
            server: RawServer {
                trusted_proxies: entries.iter().map(|e| (*e).to_owned()).collect(),
                ..RawServer::default()
            },
            credentials: RawCredentials {
                keys_env: Some("K".into()),
                ..RawCredentials::default()
            },
            ..RawConfig::default()
        };
        let env: std::collections::HashMap<String, String> = [("K".to_owned(), "k".to_owned())].into();
        let cfg = from_raw(
            raw(&["127.0.0.1", " 10.0.0.0/8 ", "", "2001:db8::/32", "::1"]),
            &Overrides::default(),
            Some(&env),
            None,
        )
        .unwrap();
        let shown: Vec<String> = cfg
            .server
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["127.0.0.1/32", "10.0.0.0/8", "2001:db8::/32", "::1/128"]);
        assert!(RawConfig::default().server.trusted_proxies.is_empty());
        for bad in [
            "proxy.example",
            "10.0.0.0/33",
            "10.0.0.1/",
            "/8",
            "1.2.3.4:80",
            "[::1]",
        ] {
            let Err(ConfigError::Invalid(problems)) =
                from_raw(raw(&["127.0.0.1", bad]), &Overrides::default(), Some(&env), None)
            else {
                panic!("`{bad}` accepted");
            };
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(
                problems[0].starts_with(&format!("server.trusted_proxies: `{bad}`")),
                "{problems:?}"
            );
        }
    }

    #[test]
    fn trusted_proxies_from_the_environment_are_a_list() {
        let with = |proxies: &str| {
            let env = [
                ("DIALECTGATE__SERVER__TRUSTED_PROXIES", proxies),
                ("DIALECTGATE__CREDENTIALS__KEYS_ENV", "K"),
                ("K", "k"),
            ];
            let env = env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            load(None, Some(env), &Overrides::default()).unwrap()
        };
        assert_eq!(with("127.0.0.1,10.0.0.0/8").server.trusted_proxies.len(), 2);
        assert!(with("").server.trusted_proxies.is_empty());
    }

    #[test]
    fn passthrough_without_an_upstream_refuses_to_start() {
        let raw = RawConfig {
            credentials: RawCredentials {
                mode: CredentialMode::Passthrough,
                ..RawCredentials::default()
            },
            ..RawConfig::default()
        };
        let Err(ConfigError::Invalid(problems)) = from_raw(
            raw.clone(),
            &Overrides::default(),
            Some(&Default::default()),
            None,
        ) else {
            panic!("expected invalid");
        };
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("credentials.mode: passthrough needs an upstream (set upstream.url")),
            "{problems:?}"
        );
        let with_upstream = RawConfig {
            upstream: RawUpstream {
                url: "http://127.0.0.1:1".into(),
                ..RawUpstream::default()
            },
            ..raw
        };
        assert!(
            from_raw(
                with_upstream,
                &Overrides::default(),
                Some(&Default::default()),
                None
            )
            .is_ok()
        );
    }

    #[test]
    fn token_settings_default_and_are_bounded() {
        let keys: std::collections::HashMap<String, String> =
            [("K".to_owned(), "k".to_owned())].into_iter().collect();
        let with = |token_ttl_s: u64| RawConfig {
            credentials: RawCredentials {
                keys_env: Some("K".into()),
                token_ttl_s,
                ..RawCredentials::default()
            },
            ..RawConfig::default()
        };
        let cfg = from_raw(with(3600), &Overrides::default(), Some(&keys), None).unwrap();
        assert_eq!(cfg.credentials.token_ttl, Duration::from_secs(3600));
        assert!(!cfg.credentials.implicit_grant);
        assert_eq!(RawCredentials::default().token_ttl_s, 3600);
        for bad in [0, 86_401] {
            let Err(ConfigError::Invalid(problems)) =
                from_raw(with(bad), &Overrides::default(), Some(&keys), None)
            else {
                panic!("{bad} accepted");
            };
            assert!(
                problems.iter().any(|p| p.starts_with("credentials.token_ttl_s")),
                "{problems:?}"
            );
        }
    }

    fn anyhow_like(e: &ConfigError) -> String {
        let mut out = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            out.push_str(": ");
            out.push_str(&s.to_string());
            src = s.source();
        }
        out
    }
}

mod env_tests {
    use super::*;

    #[test]
    fn small_numbers_from_the_environment() {
        let env: EnvSource = Some(
            [
                ("DIALECTGATE__SERVER__MAX_IN_FLIGHT", "1"),
                ("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "3"),
                ("K", "k"),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        );
        let dir = std::env::temp_dir().join(format!("dg-config-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("gw.toml");
        std::fs::write(
            &file,
            "[server]\nmax_in_flight = 1024\n[credentials]\nkeys_env = \"K\"\n",
        )
        .unwrap();
        let cfg = load(Some(&file), env, &Overrides::default()).unwrap();
        assert_eq!(cfg.server.max_in_flight.get(), 1);
        assert_eq!(cfg.upstream.breaker_failures, 3);
    }
}

mod transport_and_admin_tests;

mod candidate_tests;
