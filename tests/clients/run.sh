#!/bin/sh
# Runs the real-client matrix: installs the npm packages (package-lock.json) when node_modules is
# missing, then pytest with Debian's interpreter. ctest runs this (tests/clients/CMakeLists.txt);
# by hand:  SKYWAY_BIN=build/skyway sh tests/clients/run.sh [pytest args]
set -eu
cd "$(dirname "$0")"
if [ ! -d node_modules/@aws-sdk/client-s3 ] || [ ! -d node_modules/@aws-sdk/s3-request-presigner ]; then
  npm ci --no-audit --no-fund
fi
exec "${SKYWAY_TEST_PYTHON:-/usr/bin/python3}" -m pytest -q -p no:cacheprovider "$@" .
