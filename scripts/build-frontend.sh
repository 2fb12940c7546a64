#!/usr/bin/env bash
# Builds the WASM frontend into dist/ with the installed Trunk, wasm-bindgen and wasm-opt, and
# checks the size budget (wasm + js + css under 250 KB gzip).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
TOOLS_DIR=${SSPR_TOOLS_DIR:-$HOME/.cache/sspr-tools}
export PATH="$TOOLS_DIR/binaryen/node_modules/.bin:$HOME/.cargo/bin:$PATH"
BUDGET_BYTES=$((250 * 1024))

cargo fetch --locked >/dev/null 2>&1 || cargo fetch --locked
trunk build --release --config Trunk.toml 2>&1 | grep -vE '^\s*$' | grep -E 'ERROR|error\[|^warning|success' || true
test -f dist/index.html && test -f dist/sspr-frontend_bg.wasm || { echo "frontend build failed" >&2; exit 1; }

total=0
printf '%-28s %10s %10s\n' "frontend file" "bytes" "gzip"
for f in dist/sspr-frontend_bg.wasm dist/sspr-frontend.js dist/main.css dist/boot.js; do
  raw=$(stat -c %s "$f"); gz=$(gzip -9 -c "$f" | wc -c); total=$((total + gz))
  printf '%-28s %10d %10d\n' "${f#dist/}" "$raw" "$gz"
done
printf '%-28s %10s %10d  (budget %d)\n' "total" "" "$total" "$BUDGET_BYTES"
if [ "$total" -gt "$BUDGET_BYTES" ]; then
  echo "frontend is over its size budget" >&2
  exit 1
fi
