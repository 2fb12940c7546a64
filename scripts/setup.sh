#!/usr/bin/env bash
# Installs what building, running and testing the project needs, and nothing twice:
# every tool is checked at the pinned version before anything is fetched.
# Only package registries are used (Debian, crates.io, npm); no tool may download its own binaries.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BINARYEN_VERSION=132.0.0
TOOLS_DIR=${SSPR_TOOLS_DIR:-$HOME/.cache/sspr-tools}
# wasm-bindgen-cli must match the library in Cargo.lock to the patch level.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$here/Cargo.lock" 2>/dev/null || true)
WASM_BINDGEN_VERSION=${WASM_BINDGEN_VERSION:-0.2.130}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

apt_packages=(samba samba-ad-dc samba-ad-provision samba-dsdb-modules winbind ldap-utils krb5-user
              chromium chromium-driver oathtool openssl systemd brotli
              postgresql haproxy)
# Node may come from elsewhere (NodeSource ships its own npm): ask for the commands, not the packages.
command -v npm >/dev/null || apt_packages+=(nodejs npm)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# The Debian packages install in the background while the Rust tools compile (one waits on the
# network and disk, the other on the CPU); the script waits for both before it ends.
apt_pid=""
apt_log=$(mktemp)
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then echo "Missing packages (${missing[*]}) and no apt-get: install them by hand." >&2; exit 1; fi
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  say "Installing Debian packages in the background: ${missing[*]}"
  ( $sudo apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" ) \
    >"$apt_log" 2>&1 &
  apt_pid=$!
fi

# A tool's own release profile (fat LTO, one codegen unit) takes nearly twice as long to build a
# program that runs for seconds: an install-only profile, without debug info.
cargo_install_fast() {
  CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=2 \
  CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_INCREMENTAL=false \
    cargo install "$@"
}

if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  say "Adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  say "Installing wasm-bindgen-cli $WASM_BINDGEN_VERSION from crates.io (about 3 minutes, once)"
  # Not --locked: its lock file names a webpki-roots version the registry no longer serves.
  cargo_install_fast wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if [ -n "$apt_pid" ]; then
  if ! wait "$apt_pid"; then
    cat "$apt_log" >&2
    echo "Installing the Debian packages failed (above)." >&2
    exit 1
  fi
  say "Debian packages installed"
fi
rm -f "$apt_log"

# Debian's binaryen 108 silently produces broken modules; the npm build of 132 is correct.
if [ ! -x "$TOOLS_DIR/binaryen/node_modules/.bin/wasm-opt" ] \
   || ! "$TOOLS_DIR/binaryen/node_modules/.bin/wasm-opt" --version | grep -q "version ${BINARYEN_VERSION%%.*}"; then
  say "Installing binaryen $BINARYEN_VERSION (wasm-opt) from npm"
  mkdir -p "$TOOLS_DIR/binaryen"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR/binaryen" "binaryen@$BINARYEN_VERSION" >/dev/null
fi

# esbuild minifies the apps' JavaScript and stylesheets (about 3 KB brotli less for the portal).
ESBUILD_VERSION=0.28.2
if [ "$("$TOOLS_DIR/esbuild/node_modules/.bin/esbuild" --version 2>/dev/null)" != "$ESBUILD_VERSION" ]; then
  say "Installing esbuild $ESBUILD_VERSION from npm"
  mkdir -p "$TOOLS_DIR/esbuild"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR/esbuild" "esbuild@$ESBUILD_VERSION" >/dev/null
fi

# axe-core checks every page the browser tests walk for accessibility violations.
AXE_VERSION=4.14.1
if [ "$(cat "$TOOLS_DIR/axe/node_modules/axe-core/package.json" 2>/dev/null | sed -n 's/.*"version": "\([^"]*\)".*/\1/p' | head -1)" != "$AXE_VERSION" ]; then
  say "Installing axe-core $AXE_VERSION from npm"
  mkdir -p "$TOOLS_DIR/axe"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR/axe" "axe-core@$AXE_VERSION" >/dev/null
fi

# The packaged Samba service would hold the LDAP ports our throwaway DCs need.
for svc in samba-ad-dc smbd nmbd winbind; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done
