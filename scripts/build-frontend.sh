#!/usr/bin/env bash
# Builds the WASM apps with the installed Trunk, wasm-bindgen and wasm-opt: the public portal
# (frontend/) into dist/ and the helpdesk staff console (console/) into dist/console/, both
# served by sspr-server; checks each one's size budget (gzip of wasm + js + css):
# the portal 250 KB, the console 350 KB.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
TOOLS_DIR=${SSPR_TOOLS_DIR:-$HOME/.cache/sspr-tools}
export PATH="$TOOLS_DIR/binaryen/node_modules/.bin:$HOME/.cargo/bin:$PATH"

cargo fetch --locked >/dev/null 2>&1 || cargo fetch --locked

# Trunk empties its dist directory first: the portal (dist/) before the console (dist/console/).
build() { # config, what, wasm
  trunk build --release --config "$1" 2>&1 | grep -vE '^\s*$' | grep -E 'ERROR|error\[|^warning|success' || true
  test -f "$3" || { echo "$2 build failed" >&2; exit 1; }
}
build Trunk.toml frontend dist/sspr-frontend_bg.wasm
build Trunk.console.toml console dist/console/sspr-console_bg.wasm
test -f dist/index.html && test -f dist/console/index.html || { echo "index.html missing" >&2; exit 1; }

over=0
sizes() { # title, budget in KB, files…
  local title=$1 budget=$(($2 * 1024)) total=0 f raw gz
  shift 2
  printf '%-28s %10s %10s\n' "$title file" "bytes" "gzip"
  for f in "$@"; do
    raw=$(stat -c %s "$f"); gz=$(gzip -9 -c "$f" | wc -c); total=$((total + gz))
    printf '%-28s %10d %10d\n' "${f#dist/}" "$raw" "$gz"
  done
  printf '%-28s %10s %10d  (budget %d)\n' "total" "" "$total" "$budget"
  if [ "$total" -gt "$budget" ]; then
    echo "$title is over its size budget" >&2
    over=1
  fi
}
sizes frontend 250 dist/sspr-frontend_bg.wasm dist/sspr-frontend.js dist/main.css dist/boot.js
sizes console 350 dist/console/sspr-console_bg.wasm dist/console/sspr-console.js \
  dist/console/main.css dist/console/console.css dist/console/boot.js
exit "$over"
