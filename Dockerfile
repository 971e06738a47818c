# syntax=docker/dockerfile:1.7
# Multi-stage build: a Rust builder, then a small runtime image running as a non-root user.
# The binary carries the dialect definitions, schemas, default configuration and demo key; the
# image adds only the configuration file the entrypoint reads, /etc/dialectgate/config/dialectgate.toml
# (mount over /etc/dialectgate/config to replace it). To replace the definitions or schemas,
# mount a folder and name it: -v ./dialects:/etc/dialectgate/dialects:ro
# -e DIALECTGATE__DIALECTS__DIR=/etc/dialectgate/dialects (schemas: DIALECTGATE__DIALECTS__SCHEMAS),
# or [dialects] dir/schemas in the mounted file. The demo key opens the embedded backend only: in
# front of an upstream (DIALECTGATE__UPSTREAM__URL) the gateway refuses to start until
# DIALECTGATE_KEYS (caller keys) and DIALECTGATE_UPSTREAM_TOKEN are set.

FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin dialectgate \
    && cp target/release/dialectgate /usr/local/bin/dialectgate

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin dialectgate
COPY --from=builder /usr/local/bin/dialectgate /usr/local/bin/dialectgate
COPY config/dialectgate.toml /etc/dialectgate/config/dialectgate.toml
WORKDIR /etc/dialectgate
USER 10001:10001
ENV RUST_LOG=info
EXPOSE 8080
# In a container the listener must not be loopback-only; everything else comes from the config
# file and DIALECTGATE__* variables.
ENTRYPOINT ["dialectgate", "serve", "--config", "/etc/dialectgate/config/dialectgate.toml"]
CMD ["--listen", "0.0.0.0:8080"]
HEALTHCHECK --interval=30s --timeout=3s CMD ["dialectgate", "check-config", "--config", "/etc/dialectgate/config/dialectgate.toml"]
