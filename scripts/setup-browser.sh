#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver for the end-to-end browser test (tests/it/web/browser.rs), from
# apt when missing, and axe-core from npm for its accessibility check. Prints nothing when both are there. A test tool's own browser download
# cannot work on these machines; Debian's package does.
set -euo pipefail
# axe-core from npm, for the accessibility check of every page (pinned; once per machine).
axe="$HOME/.cache/hamlet/axe"
if [ ! -f "$axe/node_modules/axe-core/axe.min.js" ]; then
  mkdir -p "$axe"
  npm install --prefix "$axe" --silent --no-audit --no-fund axe-core@4.10.2 >&2
fi
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
echo "setup-browser: installing chromium and chromium-driver with apt-get" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || {
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
}
command -v chromedriver >/dev/null || { echo "setup-browser: chromedriver is still missing" >&2; exit 1; }
