#!/bin/sh
# Runs the `skyway vectordb` API suite: installs @zilliz/milvus2-sdk-node (package-lock.json)
# when node_modules is missing, then pytest with Debian's interpreter. ctest runs this
# (tests/vectordb_api/CMakeLists.txt); by hand:
#   SKYWAY_BIN=build/skyway sh tests/vectordb_api/run.sh [pytest args]
set -eu
cd "$(dirname "$0")"
if [ ! -f node_modules/@zilliz/milvus2-sdk-node/dist/milvus/HttpClient.js ]; then
  npm ci --no-audit --no-fund
fi
exec "${SKYWAY_TEST_PYTHON:-/usr/bin/python3}" -m pytest -q -p no:cacheprovider "$@" .
