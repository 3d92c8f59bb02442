#!/usr/bin/env bash
# Packs what a GPU machine needs to run the GPU checks (it has CUDA but none of our Debian
# libraries, and no network): stripped binaries from BUILD and the shared libraries ldd lists,
# glibc's and the CUDA driver's excepted, packed as DIR/bundle.tar.xz (DIR default gpu-bundle,
# git-ignored; unpacked it is over the device tool's 64 MiB carry limit, packed about a quarter).
#   scripts/gpu-bundle.sh [BUILD] [DIR]     then: run scripts/gpu-check.sh there, carrying DIR
set -euo pipefail
build=${1:-build}
dir=${2:-gpu-bundle}
rm -rf "$dir" && mkdir -p "$dir/lib"
for b in skyway tests/gpu_test tests/gpu_direct_test tests/cagra_test tests/vector_test; do
  strip -o "$dir/$(basename "$b")" "$build/$b"
done
ldd "$build/skyway" "$build/tests/gpu_test" "$build/tests/gpu_direct_test" "$build/tests/vector_test" | awk '/=> \// {print $3}' | sort -u |
  grep -v -E '/(libc|libm|libpthread|libdl|librt|ld-linux-x86-64|libcuda)\.so' |
  while read -r lib; do cp -L "$lib" "$dir/lib/"; done
# Fashion-MNIST's images for the bench (already gzip'ed: about 30 MB of the bundle).
fm=/usr/share/datasets/fashion-mnist
if [ -f "$fm/train-images-idx3-ubyte.gz" ]; then
  mkdir -p "$dir/fashion-mnist" && cp "$fm"/train-images-idx3-ubyte.gz "$fm"/t10k-images-idx3-ubyte.gz "$dir/fashion-mnist/"
fi
grep -q "^/$dir/" .git/info/exclude 2>/dev/null || echo "/$dir/" >>.git/info/exclude
tar -C "$dir" -cJf "$dir.tar.xz" . && rm -rf "$dir" && mkdir -p "$dir" && mv "$dir.tar.xz" "$dir/bundle.tar.xz"
du -sh "$dir/bundle.tar.xz"
