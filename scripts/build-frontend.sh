#!/usr/bin/env bash
# Builds the WASM apps: the public portal (frontend/) into dist/ and the helpdesk staff console
# (console/) into dist/console/, both served by sspr-server from memory. One cargo build for
# both (they share their dependencies) and, beside it, the texts files (sspr-texts); then per
# app wasm-bindgen (the JS glue), scripts/trim-bindings.mjs, wasm-opt (size), one script of
# boot.js and the glue (esbuild), the page, its stylesheets and the texts; then every file is
# named by its content, stored with brotli and gzip copies beside it, and each app's size
# (brotli of wasm + js + css + the largest language's texts) is checked against its target and
# its limit. The tools are the ones scripts/setup.sh installs; nothing here downloads anything.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
TOOLS_DIR=${SSPR_TOOLS_DIR:-$HOME/.cache/sspr-tools}
export PATH="$TOOLS_DIR/binaryen/node_modules/.bin:$TOOLS_DIR/esbuild/node_modules/.bin:$HOME/.cargo/bin:$PATH"
for tool in wasm-bindgen wasm-opt wasm-metadce node esbuild brotli; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/setup.sh" >&2; exit 1; }
done
target_dir=$(cargo metadata --format-version 1 --no-deps --offline 2>/dev/null \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
# A target directory of its own: cargo locks the one it builds in, and this build shares nothing
# with the host's, so scripts/test.sh runs it beside the lints instead of after them.
target_dir=${target_dir:-target}/wasm-build

# Every crate optimised for size (the `wasm` profile in Cargo.toml). Beside it, natively, the
# texts files (`texts-<language>.json`, which the apps load instead of carrying every
# language), in a target directory of their own so neither build waits for the other's lock.
echo "Building the portal and the console (WASM, optimised for size)…"
texts=$(mktemp -d)
texts_job=""
# A failed or interrupted build leaves no texts job behind holding its lock.
trap '[ -z "$texts_job" ] || kill "$texts_job" 2>/dev/null; rm -rf "$texts"' EXIT
cargo run --quiet --locked --target-dir "${target_dir%/wasm-build}/texts-build" \
  -p sspr-protocol --bin sspr-texts -- "$texts" &
texts_job=$!
cargo build --quiet --locked --profile wasm --target wasm32-unknown-unknown \
  --target-dir "$target_dir" -p sspr-frontend -p sspr-console
wait "$texts_job" || { echo "writing the texts files failed (above)" >&2; exit 1; }
texts_job=""

app() { # crate, source dir, output dir, stylesheets…
  local crate=$1 src=$2 out=$3 wasm="$target_dir/wasm32-unknown-unknown/wasm/$1.wasm" css
  shift 3
  mkdir -p "$out"
  wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name "$crate" "$wasm"
  # The stream classes no page uses dropped, short names between glue and module, custom
  # sections gone: ~5.2 KB less brotli for the portal (scripts/trim-bindings.mjs says how).
  # Before wasm-opt, which then optimises what is left.
  node scripts/trim-bindings.mjs "$out" "$crate"
  # Rust keeps its stack above the lowest kilobyte, so wasm-opt may assume it is unused: ~1 KB
  # less brotli for the portal.
  wasm-opt -Oz --converge --low-memory-unused "$out/${crate}_bg.wasm" -o "$out/${crate}_bg.wasm"
  # Control flow rebuilt from scratch, then shrunk again: ~1 KB less brotli for 6 s more. The
  # target features, which only wasm-opt reads, are dropped on the way out. (A third round with
  # `--gufa-optimizing` took 150 bytes more off for 20 s: not kept.)
  wasm-opt --flatten --rereloop -Oz --low-memory-unused --strip-target-features \
    "$out/${crate}_bg.wasm" -o "$out/${crate}_bg.wasm"
  cp "$src/index.html" frontend/favicon.svg "$texts"/texts-*.json "$out/"
  # What both apps' pages say when their texts cannot be loaded, from one file.
  sed -i -e '/<!-- no-texts:/{r ui/no-texts.html' -e 'd}' "$out/index.html"
  # One script: the texts loader, boot.js and the JS glue it imports, bundled and minified
  # (what no page calls, such as the glue's synchronous start, left out): a request and
  # ~0.25 KB less than two files.
  cat ui/texts.js "$src/boot.js" >"$out/boot.js"
  esbuild "$out/boot.js" --bundle --format=esm --minify --log-level=warning \
    --outfile="$out/boot.js" --allow-overwrite
  rm "$out/$crate.js"
  for css in "$@"; do
    cp "$css" "$out/"
    esbuild "$out/${css##*/}" --minify --log-level=warning --outfile="$out/${css##*/}" --allow-overwrite
  done
}
# Built aside and swapped in whole, so a failed build leaves the last good one in place.
# The two apps side by side: wasm-opt runs mostly on one core, and this is a third of the build.
rm -rf dist.new
app sspr-frontend frontend dist.new style/main.css &
portal=$!
app sspr-console console dist.new/console style/main.css style/console.css &
console=$!
# Both waited for before failing: a job left running would write into the next build's tree.
failed=0
wait "$portal" || failed=1
wait "$console" || failed=1
[ "$failed" -eq 0 ] || { echo "building an app failed (above)" >&2; exit 1; }

# Names every file by its content (`name-<16 hex digits>.ext`, which the server serves
# `immutable` for a year) and rewrites what names it, innermost first: the wasm and the texts
# files in boot.js, boot.js, the stylesheets and the icon in index.html. Then lets the page
# fetch the wasm at once, beside boot.js, instead of after it.
fingerprint() { # dist dir, URL prefix, app name
  local dir=$1 prefix=$2 app=$3 f
  rename() { # file, then the files that name it
    local file=$1 hash new ref
    shift
    hash=$(sha256sum "$file" | cut -c1-16)
    new="${file%.*}-$hash.${file##*.}"
    mv "$file" "$new"
    for ref in "$@"; do sed -i "s|${file##*/}|${new##*/}|g" "$ref"; done
    renamed=${new##*/}
  }
  rename "$dir/${app}_bg.wasm" "$dir/boot.js"
  local wasm=$renamed
  for f in "$dir"/texts-*.json; do
    grep -q "${f##*/}" "$dir/boot.js" || { echo "boot.js does not name ${f##*/} (ui/texts.js)" >&2; exit 1; }
    rename "$f" "$dir/boot.js"
  done
  rename "$dir/boot.js" "$dir/index.html"
  # The icon first: the stylesheets name it too (the brand mark), then the stylesheets.
  for f in "$dir"/*.svg; do
    [ -f "$f" ] && rename "$f" "$dir/index.html" "$dir"/*.css
  done
  for f in "$dir"/*.css; do
    [ -f "$f" ] && rename "$f" "$dir/index.html"
  done
  sed -i "s|</head>|  <link rel=\"preload\" href=\"$prefix$wasm\" as=\"fetch\" type=\"application/wasm\" crossorigin />\n  </head>|" "$dir/index.html"
}
fingerprint dist.new / sspr-frontend
fingerprint dist.new/console /console/ sspr-console

# Brotli and gzip copies beside every file, made once here at their best settings (the server
# picks one by the browser's Accept-Encoding); a copy that saves nothing is not kept.
compress() { # dir
  local f
  for f in "$1"/*; do
    case "$f" in *.br|*.gz) continue ;; esac
    [ -f "$f" ] || continue
    gzip -9 -n -k -f "$f"
    brotli -q 11 -k -f "$f"
    for c in "$f.gz" "$f.br"; do
      [ "$(stat -c %s "$c")" -lt "$(stat -c %s "$f")" ] || rm -f "$c"
    done
  done
}
compress dist.new
compress dist.new/console
rm -rf dist
mv dist.new dist

# What a browser receives for each app (wasm + js + css + one language's texts): brotli against
# its target and its limit (a build above the limit fails), gzip beside it for browsers without
# brotli.
over=0
# A KB is 1,000 bytes here, the stricter reading of the targets.
sizes() { # title, brotli target in KB, brotli limit in KB, dir
  local title=$1 target=$(($2 * 1000)) limit=$(($3 * 1000)) dir=$4 total=0 gz_total=0 raw_total=0 f raw gz br
  # A visitor loads one language's texts: the largest counts.
  local largest="" largest_br=0 note
  for f in "$dir"/texts-*.json; do
    br=$(stat -c %s "$f.br" 2>/dev/null || stat -c %s "$f")
    [ "$br" -le "$largest_br" ] || { largest=$f; largest_br=$br; }
  done
  printf '%-44s %9s %9s %9s\n' "$title file" "bytes" "gzip" "brotli"
  for f in "$dir"/*.wasm "$dir"/*.js "$dir"/*.css $largest; do
    raw=$(stat -c %s "$f")
    gz=$(stat -c %s "$f.gz" 2>/dev/null || echo "$raw")
    br=$(stat -c %s "$f.br" 2>/dev/null || echo "$raw")
    raw_total=$((raw_total + raw)); gz_total=$((gz_total + gz)); total=$((total + br))
    note=""; [ "$f" != "$largest" ] || note="  (the largest language)"
    printf '%-44s %9d %9d %9d%s\n' "${f#dist/}" "$raw" "$gz" "$br" "$note"
  done
  local verdict="target $2 KB met"
  [ "$total" -le "$target" ] || verdict="over the $2 KB target"
  printf '%-44s %9d %9d %9d  (brotli: %s; limit %d KB)\n' "total" "$raw_total" "$gz_total" "$total" "$verdict" "$3"
  if [ "$total" -gt "$limit" ]; then
    echo "$title is over its size limit" >&2
    over=1
  fi
}
# The portal's target is 150 KB brotli (issue 12), and since 2026-12-07 also its limit: a change
# that grows it pays for itself. (The limit was 196 KiB until postcard replaced JSON; then came
# minified JS and CSS, the browser's Unicode tables for the password rules, the browser's fetch,
# the trimmed bindings, the texts loaded per language and the compact SHA-256.)
sizes frontend 150 150 dist
sizes console 250 250 dist/console
exit "$over"
