#!/usr/bin/env bash
# Fuzzes what Hamlet reads from outside with cargo-fuzz (libFuzzer): the upload parsers
# (.txt, .docx, .pdf), the tokenizer, the model-file loader and the gensim importer (pickle
# and .npy). Each target runs for
# FUZZ_SECONDS (default 120) from the seeds in fuzz/corpus/<target> (committed; new inputs go
# to target/fuzz-corpus/, not into the repo), with libFuzzer's limits on memory: 512 MB
# resident for the run (-rss_limit_mb) and 256 MB in any one allocation (-malloc_limit_mb), so
# an allocation bomb counts as a finding (issue 22; the seeds include small Flate and zip
# bombs), and 10 s per input (-timeout). A crash leaves its input in
# fuzz/artifacts/. Each target's last lines say how many inputs ran and what was found.
#
#   scripts/fuzz.sh                      # every target, 120 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh extract_docx
#
# cargo-fuzz drives rustc with flags that stable accepts only under RUSTC_BOOTSTRAP=1 (this
# machine has one stable toolchain and cannot fetch nightly); the sanitizer is off (`-s none`)
# because libtorch is linked into the model target; panics and limits are what is checked.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-libtorch.sh >/dev/null
command -v cargo-fuzz >/dev/null || cargo install --locked --quiet cargo-fuzz
seconds=${FUZZ_SECONDS:-120}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(extract_txt extract_docx extract_pdf tokenize model_file gensim_pickle)
export RUSTC_BOOTSTRAP=1
# The fuzz binaries do not get build.rs's rpath: point the loader at libtorch.
export LD_LIBRARY_PATH="$PWD/.libtorch/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
status=0
for t in "${targets[@]}"; do
  mkdir -p "target/fuzz-corpus/$t"
  echo "== $t: ${seconds} s"
  if cargo fuzz run -s none --fuzz-dir fuzz "$t" "target/fuzz-corpus/$t" "fuzz/corpus/$t" -- \
      -max_total_time="$seconds" -rss_limit_mb=512 -malloc_limit_mb=256 -timeout=10 -max_len=262144 \
      -print_final_stats=1 2>&1 | tee "target/fuzz-$t.log" | grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|panicked|SUMMARY|out-of-memory"; then
    :
  fi
  if grep -qE "ERROR: libFuzzer|panicked|SUMMARY:|out-of-memory" "target/fuzz-$t.log"; then
    echo "== $t: FOUND A PROBLEM (input in fuzz/artifacts/$t/)"; status=1
  else
    echo "== $t: no crash, no timeout, no memory limit hit"
  fi
done
exit $status
