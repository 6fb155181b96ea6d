# syntax=docker/dockerfile:1
#
# Image of dte-sidecar, the one the Helm chart (helm/dte-sidecar) runs.
#
# NOT BUILT HERE: no Docker engine runs on the project's machines, so this file
# has never been built by the project; scripts/check-helm.sh only checks that its
# user, port and exec-form ENTRYPOINT match the chart's. It is kept deliberately
# plain: two stages, the Debian packages the stack notes list (the same build
# packages scripts/lib.sh installs), no tricks. Build it where an engine runs:
#
#   docker build -t dte-sidecar:0.1.0 .
#   docker run --rm -p 8070:8070 -e DATABASE_URL=postgresql://... dte-sidecar:0.1.0 serve
#
# The binary has the subcommands `serve` (the default here) and `migrate`; the
# chart runs `migrate` in a hook Job before `serve` pods start. Migrations are
# embedded in the binary; the SII XSDs the service loads are copied to
# /app/schemas (the working directory, so a relative "schemas/..." resolves).
#
# For reproducible builds pin both images by digest (rust:1-bookworm@sha256:...).

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------- build stage
FROM ${RUST_IMAGE} AS build

# libxml and xmlsec run bindgen at build time (libclang-dev); diesel links libpq.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      pkg-config libxml2-dev libxmlsec1-dev libxmlsec1-openssl libssl-dev libpq-dev libclang-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# The whole context (see .dockerignore): Cargo.toml declares benches and tests
# by path, and migrations/ is embedded at compile time.
COPY . .
# Cache mounts keep the crates.io download and the target dir between builds
# (BuildKit, the default builder since Docker 23); the binary is copied out of
# the cached target dir inside the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin dte-sidecar \
 && install -D -m 0755 target/release/dte-sidecar /out/dte-sidecar

# -------------------------------------------------------------- runtime stage
FROM ${RUNTIME_IMAGE}

# Shared libraries the binary links (libpq5, libxml2, libxmlsec1 and its OpenSSL
# backend, libssl3; libssl3 also ships the OpenSSL "legacy" provider that older
# RC2-40 .pfx certificates need) and the CA roots for TLS to the SII.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libpq5 libxml2 libxmlsec1 libxmlsec1-openssl libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# A fixed non-root user; the chart's securityContext runs as the same ids.
RUN groupadd --system --gid 10001 dte \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin dte

COPY --from=build /out/dte-sidecar /usr/local/bin/dte-sidecar
COPY schemas/ /app/schemas/
WORKDIR /app

# Inside a container the service listens on every interface (its built-in
# default is 127.0.0.1:8070). DTE__ variables override the settings file.
ENV DTE__SERVER__BIND=0.0.0.0:8070
EXPOSE 8070

USER 10001:10001
# Exec form: the binary is PID 1 and receives SIGTERM itself, finishing in-flight
# uploads within server.shutdown_timeout_secs before it exits.
ENTRYPOINT ["/usr/local/bin/dte-sidecar"]
CMD ["serve"]
