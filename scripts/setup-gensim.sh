#!/usr/bin/env bash
# gensim 4.4 in a venv (default ~/.cache/hamlet/venv-gensim; HAMLET_GENSIM_VENV moves it), for
# the gensim interop test (tests/it/commands/gensim.rs) and benches/gensim.sh. Installs once; prints the
# venv's python.
set -euo pipefail
venv=${HAMLET_GENSIM_VENV:-$HOME/.cache/hamlet/venv-gensim}
if ! "$venv/bin/python" -c "import gensim; assert gensim.__version__.startswith('4.4')" 2>/dev/null; then
  echo "setup-gensim: installing gensim 4.4.0 into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check gensim==4.4.0 >&2
fi
echo "$venv/bin/python"
