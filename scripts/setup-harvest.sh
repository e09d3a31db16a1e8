#!/usr/bin/env bash
# What tests/it/commands/harvest.rs needs: pyoai (a real OAI-PMH server implementation, from PyPI) and
# tesseract with poppler's pdftoppm (Debian packages), so the OCR path of `hamlet harvest` is
# tested too. Prints nothing when all are there.
set -euo pipefail
python3 -c 'import oaipmh.server' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check 'pyoai==2.5.0' \
  || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'pyoai==2.5.0'
if command -v tesseract >/dev/null && command -v pdftoppm >/dev/null; then
  exit 0
fi
echo "setup-harvest: installing tesseract-ocr and poppler-utils with apt-get" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -qq tesseract-ocr poppler-utils >/dev/null 2>&1 || {
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq tesseract-ocr poppler-utils >/dev/null
}
