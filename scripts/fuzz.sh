#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for a bounded time.
# usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
build=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSKYWAY_FUZZ=ON -DSKYWAY_TESTS=OFF -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" >/dev/null
targets=(fuzz_http_request fuzz_sigv4 fuzz_s3_xml fuzz_meta_codec fuzz_token fuzz_aws_chunked fuzz_filter
  fuzz_vectordb_json fuzz_cagra_blob)
ninja -C "$build" "${targets[@]}"
status=0
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  mkdir -p "$corpus"
  seeds="fuzz/seeds/${target#fuzz_}"
  echo "== $target: ${seconds}s"
  if ! "$build/fuzz/$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
      -print_final_stats=0 "$corpus" $( [ -d "$seeds" ] && echo "$seeds" ) 2>"$build/$target.log"; then
    echo "FAILED: $target (log: $build/$target.log)"; tail -40 "$build/$target.log"; status=1
  else
    grep -E "^#[0-9]+.*DONE" "$build/$target.log" | tail -1 || true
  fi
done
exit $status
