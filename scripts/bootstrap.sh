#!/usr/bin/env bash
# Installs, from Debian 12's packages, what Skyway needs. Idempotent: installs only what is
# missing, and runs apt-get update only then.
# usage: scripts/bootstrap.sh [build|test|bench]   (default build; test and bench include build)
set -euo pipefail
what=${1:-build}
packages=(build-essential cmake ninja-build pkg-config libssl-dev librocksdb-dev libpugixml-dev
          libcurl4-openssl-dev zlib1g-dev libgtest-dev libgmock-dev libbenchmark-dev
          libfaiss-dev libhnswlib-dev libopenblas-dev nlohmann-json3-dev libsimdjson-dev
          dataset-fashion-mnist)
case "$what" in
  build) ;;
  test) packages+=(python3 python3-boto3 python3-pytest python3-numpy awscli s3cmd rclone clang
                   libclang-rt-14-dev curl) ;;
  bench) packages+=(nginx-light curl) ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
echo "bootstrap: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
