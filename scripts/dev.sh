#!/usr/bin/env bash
# The developer's entry point: each command installs what it needs, builds, and runs.
#   scripts/dev.sh server [ARGS]  the S3 server on its embedded default (127.0.0.1:9000, ./data)
#   scripts/dev.sh test           every test: unit, integration (real clients), the same under
#                                 ASan+UBSan, and the fuzzers for a bounded time
#   scripts/dev.sh bench          the S3 benchmark beside nginx
set -euo pipefail
cd "$(dirname "$0")/.."
command=${1:-}
shift || true
jobs=$(nproc)

build() {  # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  ninja -C "$dir" -j "$jobs"
}

case "$command" in
  server)
    scripts/bootstrap.sh build
    build build -DSKYWAY_TESTS=OFF >/dev/null
    exec build/skyway server "$@"
    ;;
  test)
    scripts/bootstrap.sh test
    build build-test -DSKYWAY_TESTS=ON
    (cd build-test && ctest --output-on-failure -j 2)
    echo "== the same tests under AddressSanitizer + UndefinedBehaviorSanitizer"
    build build-asan -DSKYWAY_TESTS=ON -DSKYWAY_SANITIZE=ON
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --output-on-failure -j 2)
    echo "== fuzzers"
    scripts/fuzz.sh "${SKYWAY_FUZZ_SECONDS:-30}"
    ;;
  bench)
    scripts/bootstrap.sh bench
    build build -DSKYWAY_TESTS=OFF >/dev/null
    exec scripts/bench-s3-vs-nginx.sh "$@"
    ;;
  *)
    sed -n '2,7p' "$0" >&2
    exit 2
    ;;
esac
