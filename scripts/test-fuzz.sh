#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (cargo fuzz) and runs each one for a few seconds
# from its committed corpus (fuzz/corpus/<target>/). Fails when any target finds a crash,
# a leak of memory past the RSS limit or a timeout; prints the executions of each target.
#
# Environment (all optional):
#   FUZZ_SECONDS     seconds per target (5)
#   FUZZ_TARGETS     the targets to run (all of fuzz/Cargo.toml's)
#   FUZZ_RSS_MB      libFuzzer's -rss_limit_mb (2048)
#   FUZZ_TIMEOUT     libFuzzer's -timeout, seconds one input may take (30)
#   FUZZ_KEEP        a directory to keep the inputs the run found (default: a temporary one)
#
# cargo-fuzz is installed (`cargo install cargo-fuzz --locked`) when missing. It needs a
# nightly rustc only for sanitizers: the targets are built without one (`-s none`, with
# debug assertions and overflow checks), which stable rustc compiles.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ="$ROOT/fuzz"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-5}"
RSS_MB="${FUZZ_RSS_MB:-2048}"
TIMEOUT="${FUZZ_TIMEOUT:-30}"
log() { printf '==> %s\n' "$*" >&2; }

if ! cargo fuzz --version >/dev/null 2>&1; then
    log "installing cargo-fuzz"
    cargo install cargo-fuzz --locked --quiet
fi

TARGETS="${FUZZ_TARGETS:-$(sed -n 's/^name = "\(.*\)"$/\1/p' "$FUZZ/Cargo.toml" | grep -v '^dte-sidecar-fuzz$')}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
log "building the fuzz targets: $(echo $TARGETS)"
started=$(date +%s)
# The main build's target directory: build scripts and proc macros (built without the
# fuzzing flags) are shared with it rather than compiled again.
(cd "$FUZZ" && cargo fuzz build --dev -s none --target-dir "$ROOT/target")
log "fuzz targets built in $(( $(date +%s) - started )) s"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/dte-fuzz.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
KEEP="${FUZZ_KEEP:-$WORK/found}"
failed=0
ran=0
for target in $TARGETS; do
    binary="$ROOT/target/$triple/debug/$target"
    corpus="$KEEP/$target"
    artifacts="$WORK/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    dict=()
    case "$target" in
        domain | document_json) dict=(-dict="$FUZZ/dicts/json.dict") ;;
        xml_content | caf | verify) dict=(-dict="$FUZZ/dicts/xml.dict") ;;
    esac
    # New inputs go to the first directory; the committed corpus is only read.
    set +e
    "$binary" "$corpus" "$FUZZ/corpus/$target" "${dict[@]}" -max_total_time="$SECONDS_PER_TARGET" \
        -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT" -artifact_prefix="$artifacts/" -print_final_stats=1 \
        >"$WORK/$target.log" 2>&1
    rc=$?
    set -e
    ran=$((ran + 1))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$target.log" | tail -n 1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$WORK/$target.log" | tail -n 1)
    cov=$(grep -oE '(INITED|DONE) +cov: [0-9]+ ft: [0-9]+' "$WORK/$target.log" | tail -n 1 | sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+)/cov \1, ft \2/')
    found=$(find "$artifacts" -type f | wc -l)
    if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
        failed=$((failed + 1))
        echo "  fuzz $target: FAILED (exit $rc, $found artifacts)"
        grep -E '^(==[0-9]+==|thread .* panicked|SUMMARY|Test unit written|artifact_prefix)' "$WORK/$target.log" | head -n 20 | sed 's/^/    /'
        tail -n 30 "$WORK/$target.log" | sed 's/^/    /'
        mkdir -p "$ROOT/fuzz/artifacts/$target"
        cp "$artifacts"/* "$ROOT/fuzz/artifacts/$target/" 2>/dev/null || true
    else
        echo "  fuzz $target: ${execs:-?} executions in ${SECONDS_PER_TARGET} s, ${cov:-cov ?}, peak RSS ${rss:-?} MB"
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "fuzz: inputs that fail are in fuzz/artifacts/; replay one with target/$triple/debug/<target> FILE"
fi
echo "fuzz: $((ran - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
