#!/usr/bin/env bash
# The whole test suite, end-to-end tests included. On a fresh machine it first installs what it
# needs (scripts/setup.sh), so this command alone passes.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Setup (installs only what is missing)"
bash scripts/setup.sh
step "Formatting"
cargo fmt --all --check
step "Frontend build (WASM, size budget)"
bash scripts/build-frontend.sh
step "Lints"
cargo clippy --workspace --all-targets --locked --quiet -- -D warnings
step "Tests: unit, Samba AD, API and headless Chromium"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
# One closing line for the whole run: the sum of every test binary's result.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "\nsuite: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
