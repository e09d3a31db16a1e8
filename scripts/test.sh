#!/usr/bin/env bash
# The whole test suite, on SQLite and on PostgreSQL: the README's test command, and what
# .ci/run runs. Installs what a fresh machine lacks (libtorch from PyPI, Debian's Chromium and
# ChromeDriver for the browser test, moto's S3 server and pyoai's OAI-PMH server from PyPI,
# tesseract and pdftoppm for the OCR test, gensim 4.4 in a venv for the interop test, a Postgres server where none
# answers, the Heroku CLI from npm for scripts/day-one.sh), then formatting and lint checks, then
# every test, then the first day of a deployment played end to end (scripts/day-one.sh).
#
# Tests build in release mode: the run command builds release too, so the heavy dependencies
# (torch-sys's C++ wrapper, sqlx, rocket) compile once for both.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-libtorch.sh
bash scripts/setup-browser.sh
# pyoai and tesseract + pdftoppm, for the harvest tests (tests/it/commands/harvest.rs).
bash scripts/setup-harvest.sh
# moto's S3 server, for the s3:// tests (tests/it/ops/remote.rs).
python3 -c 'import moto.server' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.1' \
  || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'moto[server]==5.2.1'
# bibtexparser, rispy and citeproc-py: real parsers that read back the exports
# (tests/it/web/lists.rs).
python3 -c 'import bibtexparser, rispy, citeproc' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check 'bibtexparser==1.4.3' 'rispy==0.9.0' 'citeproc-py==0.8.2' \
  || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'bibtexparser==1.4.3' 'rispy==0.9.0' 'citeproc-py==0.8.2'
# gensim 4.4 in a venv, for the gensim interop test (tests/it/commands/gensim.rs).
HAMLET_GENSIM_PYTHON=$(bash scripts/setup-gensim.sh)
export HAMLET_GENSIM_PYTHON
TEST_DATABASE_URL=$(bash scripts/ensure-postgres.sh)
export TEST_DATABASE_URL
echo "test.sh: Postgres tests use ${TEST_DATABASE_URL%%@*}@… (a fresh database per test)"
[ -d ../shared/corpora/rfc ] || { echo "test.sh: ../shared/corpora/rfc is missing (the tests read the RFC corpus there)" >&2; exit 1; }

cargo fmt --check
# Linted as the server's image builds it (no features) and with the research bench (`lab`);
# tested with the bench, so its dump is tested too.
cargo clippy --release --all-targets --quiet -- -D warnings
cargo clippy --release --all-targets --all-features --quiet -- -D warnings
cargo test --release --all-features --no-fail-fast "$@"
# The first day of a Heroku deployment with heroku local, moto and Postgres (docs/OPERATIONS.md: "Day one");
# a filtered run (arguments for cargo test) leaves it out.
[ $# -gt 0 ] || bash scripts/day-one.sh
