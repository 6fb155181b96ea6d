# syntax=docker/dockerfile:1
#
# Image of dte-sidecar, the one the Helm chart (helm/dte-sidecar) runs.
#
# Two ways to build it, chosen by build arguments:
#
# 1. Where public images exist (Docker, BuildKit), the binary is compiled in
#    the build stage:
#
#      docker build -t dte-sidecar:0.1.0 .
#
# 2. Where no Rust toolchain can be fetched inside a build (no registry of
#    images, as on the project's machines), the binary is compiled on the host
#    (the same Debian release as the runtime image, so the same glibc and
#    libraries) and copied in from dist/dte-sidecar; the runtime base is any
#    Debian bookworm image, e.g. one made with debootstrap:
#
#      cargo build --locked --bin dte-sidecar       # or --release
#      install -D -m 0755 target/debug/dte-sidecar dist/dte-sidecar && strip --strip-debug dist/dte-sidecar
#      podman build --network host --build-arg BINARY=prebuilt \
#        --build-arg RUNTIME_IMAGE=localhost/debian-base:bookworm -t dte-sidecar:0.1.0 .
#
#    scripts/test-image.sh does exactly this (and makes the debootstrap base),
#    then runs the image the way the chart does.
#
# Run it:
#
#   docker run --rm -p 8070:8070 -e DATABASE_URL=postgresql://... \
#     -e DTE__SECRETS__MASTER_KEY=$(openssl rand -hex 32) \
#     -v dte-backups:/var/lib/dte-sidecar/backups dte-sidecar:0.1.0 serve
#
# The binary (`dte-sidecar [--config FILE] COMMAND`, or DTE_CONFIG=FILE) has the
# commands serve (the default here), migrate, sii-sim (the SII simulator, no
# database), restore and verify (backups against their second copies). The
# chart runs `migrate` in a hook Job before `serve` pods start, and `sii-sim`
# for demo/staging releases. Migrations are embedded in the binary; the SII
# XSDs the service loads (sii.schemas_dir, default "schemas/sii" relative to the
# working directory) are copied to /app/schemas/sii, and /app is the working
# directory.
#
# For reproducible builds pin both images by digest (rust:1-bookworm@sha256:...).

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim
# Where the binary comes from: "compile" (cargo in the build stage) or
# "prebuilt" (dist/dte-sidecar from the build context). Only the stage named
# here is built (BuildKit and buildah skip the other).
ARG BINARY=compile

# ---------------------------------------------------------------- build stage
FROM ${RUST_IMAGE} AS compile

# libxml and xmlsec run bindgen at build time (libclang-dev); diesel links libpq.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      pkg-config libxml2-dev libxmlsec1-dev libxmlsec1-openssl libssl-dev libpq-dev libclang-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# The whole context (see .dockerignore): Cargo.toml declares benches and tests
# by path, and migrations/ is embedded at compile time.
COPY . .
# Cache mounts keep the crate downloads and the target dir between builds
# (BuildKit, the default builder since Docker 23); the binary is copied out of
# the cached target dir inside the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin dte-sidecar \
 && install -D -m 0755 target/release/dte-sidecar /out/dte-sidecar

# ------------------------------------------------------- or a host-built binary
FROM scratch AS prebuilt
# (The label lets scripts/test-image.sh remove this stage's image after a build.)
LABEL dte-sidecar.stage=prebuilt
COPY dist/dte-sidecar /out/dte-sidecar

FROM ${BINARY} AS binary

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

# backup.store = "dir" writes the second copy of every sent document to
# backup.dir, by default "dte-backups" relative to the working directory: that
# is a link to /var/lib/dte-sidecar/backups, owned by the service's user, where
# a volume belongs (the chart sets backup.dir to its volume's absolute path).
RUN install -d -o 10001 -g 10001 -m 0750 /var/lib/dte-sidecar/backups \
 && install -d -m 0755 /app \
 && ln -s /var/lib/dte-sidecar/backups /app/dte-backups

COPY --from=binary /out/dte-sidecar /usr/local/bin/dte-sidecar
COPY schemas/ /app/schemas/
WORKDIR /app

# Inside a container the service listens on every interface (its built-in
# default is 127.0.0.1:8070). DTE__ variables override the settings file, so
# this one wins over server.bind in a config file (the chart sets both alike).
# The admin board (admin.bind, off unless set) is usually put on 8073.
ENV DTE__SERVER__BIND=0.0.0.0:8070
EXPOSE 8070

USER 10001:10001
# Exec form: the binary is PID 1 and receives SIGTERM itself, finishing in-flight
# requests within server.shutdown_timeout_secs before it exits.
ENTRYPOINT ["/usr/local/bin/dte-sidecar"]
CMD ["serve"]
