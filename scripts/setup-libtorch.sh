#!/usr/bin/env bash
# Fetches the CPU parts of libtorch 2.13 (what tch 0.26 builds against) from PyPI into a
# per-user cache and links it to ./.libtorch, where .cargo/config.toml points LIBTORCH.
#
# Why PyPI: it is the only registry reachable from our machines and CI, and the torch wheel
# carries a complete libtorch. We keep only what the CPU build loads: libtorch_cpu.so, libc10.so,
# libgomp, the headers, and the two small CUDA runtime libraries libtorch_cpu.so is linked
# against (libcudart, libcupti) from their own pinned PyPI packages. torch-sys always links
# `-ltorch`, so libtorch.so is a symlink to libtorch_cpu.so.
#
# Idempotent: a complete cache is reused; a partial one (interrupted run) is rebuilt.
set -euo pipefail

TORCH_VERSION=2.13.0
CUDART_VERSION=13.0.96
CUPTI_VERSION=13.0.85
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${HAMLET_LIBTORCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hamlet/libtorch-$TORCH_VERSION}

if [ -f "$cache/.complete" ]; then
  ln -sfn "$cache" "$root/.libtorch"
  echo "libtorch $TORCH_VERSION: cached at $cache"
  exit 0
fi

command -v python3 >/dev/null || { echo "setup-libtorch: python3 with pip is needed to fetch libtorch from PyPI" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "libtorch $TORCH_VERSION: downloading the torch wheel from PyPI (~530 MB, once per machine)"
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" \
  "torch==$TORCH_VERSION" "nvidia-cuda-runtime==$CUDART_VERSION" "nvidia-cuda-cupti==$CUPTI_VERSION"

rm -rf "$cache.partial"
mkdir -p "$cache.partial/lib"
cd "$work"
python3 - "$cache.partial" <<'PY'
import glob, os, sys, zipfile
dest = sys.argv[1]
wanted_libs = ("libtorch_cpu.so", "libc10.so", "libgomp", "libcudart.so", "libcupti.so")
for wheel in glob.glob("*.whl"):
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            base = os.path.basename(name)
            if name.startswith("torch/include/") and not name.endswith("/"):
                out = os.path.join(dest, "include", name[len("torch/include/"):])
            elif base.startswith(wanted_libs) and "/lib" in name and ".so" in base:
                out = os.path.join(dest, "lib", base)
            else:
                continue
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(name) as src, open(out, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
PY
cd "$cache.partial/lib"
ln -sfn libtorch_cpu.so libtorch.so
# libtorch_cpu.so names its dependencies by soname; make sure each one resolves here.
for need in libc10.so libcudart.so.13 libcupti.so.13; do
  [ -e "$need" ] || { echo "setup-libtorch: $need missing from the wheels" >&2; exit 1; }
done
ls libgomp* >/dev/null 2>&1 || { echo "setup-libtorch: libgomp missing from the torch wheel" >&2; exit 1; }
touch "$cache.partial/.complete"
rm -rf "$cache"
mv "$cache.partial" "$cache"
ln -sfn "$cache" "$root/.libtorch"
echo "libtorch $TORCH_VERSION: installed at $cache ($(du -sh "$cache" | cut -f1))"
