#!/usr/bin/env bash
# Import speed on the whole RFC collection (9,211 documents, 494 MB of text): the issue's
# target is <= 60 s into SQLite. Prints, from one run on this machine:
#   - the reference: the same import as a --dry-run (decompress, parse, extract references;
#     no database writes), so the write cost shows as a ratio on a noisy shared machine;
#   - the import into a fresh SQLite file;
#   - the import into a fresh Postgres database, when one answers (scripts/ensure-postgres.sh).
# Usage: benches/import.sh [CORPUS_DIR]   (default ../shared/corpora/rfc)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpora/rfc}
bash scripts/setup-libtorch.sh >/dev/null
cargo build --release --quiet --bin hamlet --bin hamlet-extract
hamlet=$PWD/target/release/hamlet
tmp=$(mktemp -d)
pgdb=""
cleanup() {
  rm -rf "$tmp"
  [ -n "$pgdb" ] && psql "$pgurl" -qc "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

timed() { # label, command...: runs the command, prints its wall time, returns the seconds
  local label=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; exit 1; }
  t1=$(date +%s.%N)
  secs=$(echo "$t1 - $t0" | bc -l 2>/dev/null || python3 -c "print($t1 - $t0)")
  printf '%-44s %6.1f s   (%s)\n' "$label" "$secs" "$(tail -n1 "$tmp/out")"
}

echo "benches/import.sh on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
DATABASE_URL="sqlite://$tmp/dry.sqlite3" timed "reference: parse only (--dry-run)" "$hamlet" import rfc "$corpus" --dry-run
ref=$secs
DATABASE_URL="sqlite://$tmp/hamlet.sqlite3" timed "import into SQLite" "$hamlet" import rfc "$corpus"
sqlite=$secs
printf 'SQLite import: %.1f s (target <= 60 s), %.2fx the parse-only reference\n' "$sqlite" "$(python3 -c "print($sqlite / $ref)")"
if pgurl=$(bash scripts/ensure-postgres.sh 2>/dev/null); then
  pgdb="hamlet_bench_$$"
  psql "$pgurl" -qc "CREATE DATABASE $pgdb" >/dev/null
  DATABASE_URL="${pgurl%/*}/$pgdb" timed "import into Postgres" "$hamlet" import rfc "$corpus"
  printf 'Postgres import: %.1f s, %.2fx the parse-only reference\n' "$secs" "$(python3 -c "print($secs / $ref)")"
else
  echo "Postgres: no server answers; skipped"
fi
