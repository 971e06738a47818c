//! `[candidate]`: migration mode's settings.

use super::super::{CandidateConfig, CandidateMode, RawCandidate, Secret};
use super::{Ctx, ca_file, path_params, upstream_url_problem};

/// `[candidate]`: off needs nothing; any other mode needs a URL and a dialect (checked against
/// the loaded dialects when the gateway is built, like `upstream.dialect`).
pub(super) fn candidate(ctx: &mut Ctx<'_>, raw: RawCandidate) -> CandidateConfig {
    let url = Some(raw.url.trim().trim_end_matches('/').to_owned()).filter(|u| !u.is_empty());
    let dialect = raw.dialect.trim().to_owned();
    let on = raw.mode != CandidateMode::Off;
    if let Some(url) = &url {
        if let Some(problem) = upstream_url_problem(url) {
            // The same rules as upstream.url, the credential named for the candidate.
            let problem = problem.replace(
                "the upstream credential with credentials.upstream_token_env or credentials.upstream_token_file",
                "the candidate's credential with candidate.token_env or candidate.token_file",
            );
            ctx.problem(format!("candidate.url: {problem}"));
        }
    } else if on {
        ctx.problem(format!(
            "candidate.url: candidate.mode `{}` needs the candidate's URL (candidate.url or --candidate)",
            raw.mode.as_str()
        ));
    }
    if on && dialect.is_empty() {
        ctx.problem(format!(
            "candidate.dialect: candidate.mode `{}` needs what the candidate speaks, `canonical` or a \
             dialect id (candidate.dialect or --candidate-dialect)",
            raw.mode.as_str()
        ));
    }
    let mut token = None;
    if let Some(name) = raw.token_env.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        token = ctx
            .env(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| Secret::new(v.trim()));
    }
    if let Some(path) = &raw.token_file {
        match std::fs::read_to_string(ctx.resolve(path)) {
            Ok(text) => token = Some(Secret::new(text.trim())).filter(|t| !t.expose().is_empty()),
            Err(e) => ctx.problem(format!(
                "candidate.token_file: cannot read {}: {e}",
                path.display()
            )),
        }
    }
    let log = Some(ctx.resolve(&raw.log)).filter(|p| !p.as_os_str().is_empty());
    CandidateConfig {
        mode: raw.mode,
        url,
        dialect,
        token,
        timeout: ctx.millis("candidate.timeout_ms", raw.timeout_ms),
        queue: ctx.non_zero("candidate.queue", raw.queue),
        queue_bytes: ctx.non_zero("candidate.queue_bytes", raw.queue_bytes),
        noise_probe: raw.noise_probe,
        log,
        log_values: raw.log_values,
        path_params: path_params(ctx, "candidate", raw.path_params),
        roots: ca_file(ctx, "candidate", &raw.ca_file),
    }
}
