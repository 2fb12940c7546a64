#!/usr/bin/env bash
# Sets everything up and runs the product: a throwaway Samba AD DC with demo users, an SMTP sink
# that prints each message, the server on SQLite and an onboarded agent. Extra arguments go to
# sspr-demo (try --help).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh
bash scripts/build-frontend.sh
cargo build --locked -p sspr-server -p sspr-agent -p sspr-tests --bins
exec target/debug/sspr-demo "$@"
