#!/usr/bin/env bash
# The README's run command: Hamlet on its embedded default, a SQLite file in ./data.
# First run: installs libtorch, builds, imports the RFC collection from ../shared/corpora/rfc
# (seconds) and trains the default engine (3-4 minutes on 2 cores, then the collection map), each
# with a progress bar. Later runs skip both and start in seconds.
# Settings come from the environment or .env (see .env.example); HAMLET_DEMO_CORPUS points
# at another RFC corpus directory.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-libtorch.sh
cargo build --release --quiet --bin hamlet --bin hamlet-extract
hamlet=./target/release/hamlet
"$hamlet" migrate
"$hamlet" import rfc "${HAMLET_DEMO_CORPUS:-../shared/corpora/rfc}" --if-empty
"$hamlet" train --if-missing
exec "$hamlet" serve
