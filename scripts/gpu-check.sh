#!/usr/bin/env bash
# The GPU checks, on a machine with a CUDA device, from a bundle made by gpu-bundle.sh:
# the GPU kernels against the CPU reference, the index tests, `skyway bench gpu-get`, then `skyway bench index
# --device gpu` (GPU_CAGRA beside CPU HNSW and hnswlib) on a synthetic set and, when the IDX
# files are in DIR/fashion-mnist, on Fashion-MNIST. Output under OUT (default $OUT or .).
# The whole script keeps within BUDGET seconds (default 540, under the device tool's 600 s per
# command): each step gets at most its own cap and what is left; a step with under 30 s left is
# skipped and says so. The four targets come first, the IVF graph comparison last.
#   scripts/gpu-check.sh [DIR] [SYNTHETIC_ROWS] [BUDGET]
set -uo pipefail
dir=${1:-gpu-bundle}
rows=${2:-1000000}
budget=${3:-540}
out=${OUT:-.}
# step CAP NAME COMMAND...: COMMAND under `timeout min(CAP, seconds left)`, or skipped.
step() {
  local cap=$1 name=$2 left=$((budget - SECONDS))
  shift 2
  if [ "$left" -lt 30 ]; then echo "== $name: skipped, ${left} s of the budget left"; return; fi
  [ "$cap" -gt "$left" ] && cap=$left
  echo "== $name (at ${SECONDS} s, up to ${cap} s)"
  timeout "$cap" "$@"
  local rc=$?
  [ "$rc" -eq 124 ] && echo "== $name: stopped at its ${cap} s"
  return 0
}
if [ -f "$dir/bundle.tar.xz" ]; then
  tar -C "$dir" -xJf "$dir/bundle.tar.xz" || python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$dir/bundle.tar.xz" "$dir"
fi
export LD_LIBRARY_PATH="$PWD/$dir/lib:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
nproc | tee -a "$out/gpu.txt"
step 90 gpu_test "$dir/gpu_test" > "$out/gpu_test.txt" 2>&1; tail -25 "$out/gpu_test.txt"
step 40 gpu_direct_test "$dir/gpu_direct_test" > "$out/gpu_direct_test.txt" 2>&1; tail -12 "$out/gpu_direct_test.txt"
step 30 cagra_test "$dir/cagra_test" 2>&1 | tail -3
step 60 vector_test "$dir/vector_test" --gtest_filter='*Recall*:*Filtered*' 2>&1 | grep -E 'CAGRA|BRUTE|PASSED|FAILED' | tail -20
# A 256 MiB GET into GPU memory: direct vs HTTP + copy vs pinned cudaMemcpy (target >= 80%).
step 60 "bench gpu-get" "$dir/skyway" bench gpu-get --size 256M --repeats 5 --out "$out/bench-gpu-get.json" \
  2>&1 | tee "$out/bench-gpu-get.txt"
datasets=synthetic
[ -f "$dir/fashion-mnist/train-images-idx3-ubyte.gz" ] && datasets=both
step 420 "bench index" "$dir/skyway" bench index --device gpu --dataset "$datasets" --synthetic-rows "$rows" \
  --fashion-mnist-dir "$dir/fashion-mnist" --queries 1000 --itopk 10,16,32,64,128 \
  --out "$out/bench-index-gpu.json" 2>&1 | tee "$out/bench-index-gpu.txt" | tail -60
# The kNN graph by clusters against the exact one (the default up to ~1M x 128 on a GPU):
# GPU_CAGRA alone, direct only, no CPU baseline.
step 150 "bench index, IVF graph" "$dir/skyway" bench index --device gpu --index-types GPU_CAGRA \
  --transports direct --no-baseline --build-algo IVF --dataset synthetic --synthetic-rows "$rows" \
  --queries 1000 --out "$out/bench-index-gpu-ivf.json" 2>&1 | tee "$out/bench-index-gpu-ivf.txt" | tail -20
echo "== done at ${SECONDS} s"
