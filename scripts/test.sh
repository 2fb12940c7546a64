#!/usr/bin/env bash
# The whole test suite, end-to-end tests included. On a fresh machine it first installs what it
# needs (scripts/setup.sh), so this command alone passes.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
export PATH="$HOME/.cargo/bin:$PATH"

# Each step says how long the run has taken so far, so a slow first run shows where it went.
step() { printf '\n\033[1m==> [%d:%02d] %s\033[0m\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

step "Setup (installs only what is missing)"
bash scripts/setup.sh
step "Formatting"
cargo fmt --all --check
# Side by side: the WASM build spends much of its time on one core (link-time optimisation,
# wasm-opt, brotli), which leaves the other to the lints. Its output follows theirs.
step "Frontend build (WASM, size budget) beside the lints"
frontend_log=$(mktemp)
bash scripts/build-frontend.sh >"$frontend_log" 2>&1 &
frontend_pid=$!
lints=0
cargo clippy --workspace --all-targets --locked --quiet -- -D warnings || lints=$?
frontend=0
wait "$frontend_pid" || frontend=$?
cat "$frontend_log"
rm -f "$frontend_log"
[ "$lints" -eq 0 ] || { echo "the lints failed" >&2; exit "$lints"; }
[ "$frontend" -eq 0 ] || { echo "the frontend build failed" >&2; exit "$frontend"; }
step "Tests: unit, Samba AD, API and headless Chromium"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Three tests at a time on two cores: the integration tests mostly wait (on Samba, the browser,
# timers), and three at a time took their run from 332 to 213 s (2026-12-07).
cargo test --workspace --locked -- --test-threads="${SSPR_TEST_THREADS:-3}" 2>&1 | tee "$log"
# One closing line for the whole run: the sum of every test binary's result.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "\nsuite: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
printf 'took %d:%02d\n' $((SECONDS / 60)) $((SECONDS % 60))
