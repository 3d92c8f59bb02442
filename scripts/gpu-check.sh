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
# step CAP NAME LOG COMMAND...: COMMAND under `timeout min(CAP, seconds left)`, its output into
# OUT/LOG (shown by the caller, filtered), or skipped. Any failure sets the exit status.
status=0
step() {
  local cap=$1 name=$2 log=$out/$3 left=$((budget - SECONDS))
  shift 3
  if [ "$left" -lt 30 ]; then echo "== $name: skipped, ${left} s of the budget left"; status=1; return; fi
  [ "$cap" -gt "$left" ] && cap=$left
  echo "== $name (at ${SECONDS} s, up to ${cap} s): $log"
  timeout -k 10 "$cap" "$@" >"$log" 2>&1
  local rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "== $name: stopped at its ${cap} s"
  elif [ "$rc" -ne 0 ]; then
    echo "== $name: exit status $rc"
  fi
  [ "$rc" -ne 0 ] && status=1
  return 0
}
if [ -f "$dir/bundle.tar.xz" ]; then
  tar -C "$dir" -xJf "$dir/bundle.tar.xz" || python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$dir/bundle.tar.xz" "$dir"
fi
export LD_LIBRARY_PATH="$PWD/$dir/lib:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
nproc | tee -a "$out/gpu.txt"
step 90 gpu_test gpu_test.txt "$dir/gpu_test"
tail -25 "$out/gpu_test.txt"
step 40 gpu_direct_test gpu_direct_test.txt "$dir/gpu_direct_test"
tail -12 "$out/gpu_direct_test.txt"
step 30 cagra_test cagra_test.txt "$dir/cagra_test"
tail -3 "$out/cagra_test.txt"
step 60 vector_test vector_test.txt "$dir/vector_test" --gtest_filter='*Recall*:*Filtered*'
grep -E 'CAGRA|BRUTE|PASSED|FAILED' "$out/vector_test.txt" | tail -20
# A 256 MiB GET into GPU memory: direct vs HTTP + copy vs pinned cudaMemcpy (target >= 80%).
step 60 "bench gpu-get" bench-gpu-get.txt "$dir/skyway" bench gpu-get --size 256M --repeats 5 \
  --out "$out/bench-gpu-get.json"
cat "$out/bench-gpu-get.txt"
datasets=synthetic
[ -f "$dir/fashion-mnist/train-images-idx3-ubyte.gz" ] && datasets=both
step 420 "bench index" bench-index-gpu.txt "$dir/skyway" bench index --device gpu --dataset "$datasets" \
  --synthetic-rows "$rows" --fashion-mnist-dir "$dir/fashion-mnist" --queries 1000 --itopk 10,16,32,64,128 \
  --out "$out/bench-index-gpu.json"
tail -60 "$out/bench-index-gpu.txt"
# The kNN graph by clusters against the exact one (the default up to ~1M x 128 on a GPU):
# GPU_CAGRA alone, direct only, no CPU baseline.
step 150 "bench index, IVF graph" bench-index-gpu-ivf.txt "$dir/skyway" bench index --device gpu \
  --index-types GPU_CAGRA --transports direct --no-baseline --build-algo IVF --dataset synthetic \
  --synthetic-rows "$rows" --queries 1000 --out "$out/bench-index-gpu-ivf.json"
tail -20 "$out/bench-index-gpu-ivf.txt"
echo "== done at ${SECONDS} s, exit status $status"
exit "$status"
