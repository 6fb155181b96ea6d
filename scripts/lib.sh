# Shared by scripts/run.sh and scripts/test.sh: system packages and a PostgreSQL.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian/Ubuntu packages the build, the tests and the service need.
SYSTEM_PACKAGES=(pkg-config libxml2-dev libxmlsec1-dev libxmlsec1-openssl libssl-dev libpq-dev
    libclang-dev clang xmlsec1 libxml2-utils openssl postgresql python3 python3-venv python3-pip curl
    wkhtmltopdf poppler-utils fonts-liberation)

ensure_system_packages() {
    ensure_packages "${SYSTEM_PACKAGES[@]}"
}

# Installs those of the given Debian packages that are missing.
ensure_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing system packages: ${missing[*]}"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] || { echo "PostgreSQL binaries not found" >&2; return 1; }
    echo "$dir"
}

# Runs a PostgreSQL command as the postgres user when we are root (initdb refuses root).
pg_run() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Starts a PostgreSQL of the project's own under .local/pg unless DATABASE_URL is set,
# and exports DATABASE_URL (an admin URL: tests create a database each).
ensure_database() {
    if [ -n "${DATABASE_URL:-}" ]; then
        log "using DATABASE_URL from the environment"
        return
    fi
    local bin data sock port
    bin=$(pg_bin)
    data="$LOCAL/pg/data"
    sock="$LOCAL/pg/run"
    mkdir -p "$LOCAL/pg" "$sock"
    # The port this checkout's cluster uses, chosen once: another checkout on the same
    # machine may hold 55432.
    if [ -s "$LOCAL/pg/port" ]; then
        port=$(cat "$LOCAL/pg/port")
    else
        port="${DTE_LOCAL_PG_PORT:-55432}"
        while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
        echo "$port" > "$LOCAL/pg/port"
    fi
    if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$LOCAL/pg"; fi
    if [ ! -f "$data/PG_VERSION" ]; then
        log "creating a PostgreSQL cluster in $data"
        pg_run "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! pg_run "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        log "starting PostgreSQL on 127.0.0.1:$port"
        pg_run "$bin/pg_ctl" -D "$data" -l "$LOCAL/pg/server.log" -w -t 60 \
            -o "-p $port -k $sock -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
    fi
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

# The project's database for `serve` (the test suite makes its own).
ensure_service_database() {
    local name="${1:-dte_sidecar}"
    if psql "$DATABASE_URL" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
        :
    else
        psql "$DATABASE_URL" -qc "CREATE DATABASE $name" >/dev/null
    fi
    DATABASE_URL="${DATABASE_URL%/*}/$name"
    export DATABASE_URL
}

ensure_diesel_cli() {
    if ! command -v diesel >/dev/null 2>&1; then
        log "installing diesel_cli (for the schema check)"
        cargo install diesel_cli --version '^2.3' --no-default-features --features postgres --locked --quiet
    fi
}

# The venv with helm-python-sdk (Helm 4 as a library: the real template engine, offline)
# and kubernetes-validate, under .cache/check-helm/ (gitignored), made on first use.
# Pinned: the lint/render API scripts/check-helm.sh and scripts/podman_from_chart.py use
# is helm-python-sdk 0.2.2's (Helm 4.2.3).
HELM_VENV="$ROOT/.cache/check-helm/venv"
HELM_VENV_REQUIREMENTS="helm-python-sdk==0.2.2 kubernetes-validate==1.37.0"
ensure_helm_venv() {
    if [ "$(cat "$HELM_VENV/.requirements" 2>/dev/null || true)" != "$HELM_VENV_REQUIREMENTS" ]; then
        log "making $HELM_VENV ($HELM_VENV_REQUIREMENTS)"
        rm -rf "$HELM_VENV"
        mkdir -p "$(dirname "$HELM_VENV")"
        python3 -m venv "$HELM_VENV" || { echo "python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; return 1; }
        # shellcheck disable=SC2086
        "$HELM_VENV/bin/pip" install --quiet --disable-pip-version-check $HELM_VENV_REQUIREMENTS
        printf '%s' "$HELM_VENV_REQUIREMENTS" >"$HELM_VENV/.requirements"
    fi
}
