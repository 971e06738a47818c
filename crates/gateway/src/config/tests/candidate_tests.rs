//! `[candidate]`: defaults, flags, the environment, and each bad value reported.

use super::*;

#[test]
fn the_candidate_is_off_by_default_and_needs_nothing() {
    let cfg = build(RawConfig::default(), &Overrides::default(), &[]).unwrap();
    let c = &cfg.candidate;
    assert_eq!(c.mode, CandidateMode::Off);
    assert!(c.url.is_none());
    assert!(c.token.is_none());
    assert_eq!(c.timeout, Duration::from_secs(5));
    assert_eq!(c.queue.get(), 1024);
    // The sensible default: 16 MiB for what copies hold.
    assert_eq!(c.queue_bytes.get(), 16 * 1024 * 1024);
    assert!(!c.noise_probe);
    assert!(c.log.is_none());
    assert!(!c.log_values);
    // The shipped file says the same.
    let shipped = load_default(Some(Default::default()), &Overrides::default()).unwrap();
    assert_eq!(shipped.candidate.mode, CandidateMode::Off);
    assert_eq!(shipped.candidate.queue.get(), 1024);
    assert_eq!(shipped.candidate.queue_bytes.get(), 16 * 1024 * 1024);
    assert_eq!(shipped.candidate.timeout, Duration::from_secs(5));
}

#[test]
fn a_mode_other_than_off_needs_url_and_dialect() {
    for mode in [CandidateMode::Reads, CandidateMode::DualWrite] {
        let o = Overrides {
            candidate_mode: Some(mode),
            ..Overrides::default()
        };
        let problems = build(RawConfig::default(), &o, &[]).unwrap_err();
        assert!(
            problems.iter().any(|p| p.starts_with("candidate.url")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("candidate.dialect")),
            "{problems:?}"
        );
    }
}

#[test]
fn flags_win_over_the_environment_and_the_token_comes_from_its_variable() {
    let o = Overrides {
        candidate: Some("http://127.0.0.1:9/base/".into()),
        candidate_dialect: Some("elasticpath".into()),
        candidate_mode: Some(CandidateMode::DualWrite),
        candidate_log: Some("/tmp/cand.jsonl".into()),
        ..Overrides::default()
    };
    let cfg = build(
        RawConfig::default(),
        &o,
        &[("DIALECTGATE_CANDIDATE_TOKEN", " cand-secret ")],
    )
    .unwrap();
    let c = &cfg.candidate;
    assert_eq!(c.mode, CandidateMode::DualWrite);
    assert_eq!(c.url.as_deref(), Some("http://127.0.0.1:9/base"));
    assert_eq!(c.dialect, "elasticpath");
    assert_eq!(c.log.as_deref(), Some(Path::new("/tmp/cand.jsonl")));
    assert_eq!(c.token, Some(Secret::new("cand-secret")));
    assert!(!format!("{cfg:?}").contains("cand-secret"));
}

#[test]
fn the_environment_sets_every_candidate_key() {
    let cfg = load(
        None,
        Some(
            [
                ("K", "k"),
                ("DIALECTGATE__CREDENTIALS__KEYS_ENV", "K"),
                ("DIALECTGATE__CANDIDATE__MODE", "reads"),
                ("DIALECTGATE__CANDIDATE__URL", "http://127.0.0.1:9"),
                ("DIALECTGATE__CANDIDATE__DIALECT", "canonical"),
                ("DIALECTGATE__CANDIDATE__QUEUE", "3"),
                ("DIALECTGATE__CANDIDATE__QUEUE_BYTES", "65536"),
                ("DIALECTGATE__CANDIDATE__TIMEOUT_MS", "250"),
                ("DIALECTGATE__CANDIDATE__NOISE_PROBE", "true"),
                ("DIALECTGATE__CANDIDATE__LOG_VALUES", "true"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        ),
        &Overrides::default(),
    )
    .unwrap();
    let c = &cfg.candidate;
    assert_eq!(c.mode, CandidateMode::Reads);
    assert_eq!(c.queue.get(), 3);
    assert_eq!(c.queue_bytes.get(), 65_536);
    assert_eq!(c.timeout, Duration::from_millis(250));
    assert!(c.noise_probe && c.log_values);
}

#[test]
fn bad_candidate_values_are_each_reported() {
    let raw = RawConfig {
        candidate: RawCandidate {
            mode: CandidateMode::Reads,
            url: "http://user:pw@127.0.0.1:9".into(),
            dialect: "medusa".into(),
            timeout_ms: 0,
            queue: 0,
            queue_bytes: 0,
            token_file: Some("/nonexistent/dialectgate-candidate-token".into()),
            ..RawCandidate::default()
        },
        ..RawConfig::default()
    };
    let problems = build(raw, &Overrides::default(), &[]).unwrap_err();
    for key in [
        "candidate.url",
        "candidate.timeout_ms",
        "candidate.queue",
        "candidate.queue_bytes",
        "candidate.token_file",
    ] {
        let named = format!("{key}: ");
        assert!(
            problems.iter().any(|p| p.starts_with(&named)),
            "{key}: {problems:?}"
        );
    }
    assert!(
        problems.iter().any(|p| p.contains("candidate.token_env")),
        "the advice names the candidate's own keys: {problems:?}"
    );
    assert!(problems.iter().all(|p| !p.contains("pw@")), "{problems:?}");
    assert!("dual-write".parse::<CandidateMode>().is_ok());
    assert!("dual_write".parse::<CandidateMode>().is_err());
}
