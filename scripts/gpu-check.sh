#!/usr/bin/env bash
# The GPU checks, on a machine with a CUDA device, from a bundle made by gpu-bundle.sh:
# the GPU kernels against the CPU reference, the index tests, `skyway bench gpu-get`, then `skyway bench index
# --device gpu` (GPU_CAGRA beside CPU HNSW and hnswlib) on a synthetic set and, when the IDX
# files are in DIR/fashion-mnist, on Fashion-MNIST. Output under OUT (default $OUT or .).
#   scripts/gpu-check.sh [DIR] [SYNTHETIC_ROWS]
set -uo pipefail
dir=${1:-gpu-bundle}
rows=${2:-1000000}
out=${OUT:-.}
if [ -f "$dir/bundle.tar.xz" ]; then
  tar -C "$dir" -xJf "$dir/bundle.tar.xz" || python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$dir/bundle.tar.xz" "$dir"
fi
export LD_LIBRARY_PATH="$PWD/$dir/lib:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
"$dir/gpu_test" 2>&1 | tee "$out/gpu_test.txt" | tail -25
"$dir/gpu_direct_test" 2>&1 | tee "$out/gpu_direct_test.txt" | tail -12
"$dir/cagra_test" 2>&1 | tail -3
"$dir/vector_test" --gtest_filter='*Recall*:*Filtered*' 2>&1 | grep -E 'CAGRA|BRUTE|PASSED|FAILED' | tail -20
# A 256 MiB GET into GPU memory: direct vs HTTP + copy vs pinned cudaMemcpy (target >= 80%).
timeout 120 "$dir/skyway" bench gpu-get --size 256M --repeats 5 --out "$out/bench-gpu-get.json" \
  2>&1 | tee "$out/bench-gpu-get.txt"
datasets=synthetic
[ -f "$dir/fashion-mnist/train-images-idx3-ubyte.gz" ] && datasets=both
timeout 420 "$dir/skyway" bench index --device gpu --dataset "$datasets" --synthetic-rows "$rows" \
  --fashion-mnist-dir "$dir/fashion-mnist" --queries 1000 --out "$out/bench-index-gpu.json" \
  2>&1 | tee "$out/bench-index-gpu.txt" | tail -60
# The kNN graph by clusters against the exact one (the default up to ~1M x 128 on a GPU):
# GPU_CAGRA alone, direct only, no CPU baseline.
timeout 150 "$dir/skyway" bench index --device gpu --index-types GPU_CAGRA --transports direct \
  --no-baseline --build-algo IVF --dataset synthetic --synthetic-rows "$rows" --queries 1000 \
  --out "$out/bench-index-gpu-ivf.json" 2>&1 | tee "$out/bench-index-gpu-ivf.txt" | tail -20
