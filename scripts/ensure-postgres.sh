#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers for the tests and prints the admin URL to use.
#
# Order: $TEST_DATABASE_URL if set; else the local server on 127.0.0.1:5432 (trust auth, as on
# our developer and CI machines), started if it is installed but stopped; else, where apt-get
# is available (root on Debian), PostgreSQL is installed, started, and given a password for
# the postgres user. Exits non-zero with a clear message when none of that works: the
# Postgres tests are never skipped silently.
set -euo pipefail

say() { echo "ensure-postgres: $*" >&2; }
reachable() { pg_isready -q -d "$1" -t 5 2>/dev/null || psql "$1" -qAtc 'select 1' >/dev/null 2>&1; }

url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
if ! command -v pg_isready >/dev/null && ! command -v psql >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    say "installing the PostgreSQL client and server (apt-get)"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  else
    say "no PostgreSQL client found; install postgresql or set TEST_DATABASE_URL"; exit 1
  fi
fi
if reachable "$url"; then echo "$url"; exit 0; fi
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  say "TEST_DATABASE_URL=$TEST_DATABASE_URL does not answer"; exit 1
fi

# Installed but stopped? Start every cluster.
if command -v pg_lsclusters >/dev/null; then
  say "no server on 127.0.0.1:5432; starting the local cluster(s)"
  pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start >&2 2>&1 || true
  done
  for _ in $(seq 1 20); do reachable "$url" && { echo "$url"; exit 0; }; sleep 0.5; done
fi

# Not installed: install, start, and use a password (Debian's default auth on TCP is scram).
if ! command -v pg_lsclusters >/dev/null || [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    say "installing PostgreSQL (apt-get)"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    pg_lsclusters -h | while read -r ver name _; do pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start >&2 || true; done
    su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >&2
    url=postgres://postgres:postgres@127.0.0.1:5432/postgres
    for _ in $(seq 1 20); do reachable "$url" && { echo "$url"; exit 0; }; sleep 0.5; done
  fi
fi
say "no PostgreSQL server answers on 127.0.0.1:5432 and none could be started."
say "Start one, or set TEST_DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/DB (a user allowed to CREATE DATABASE)."
exit 1
