// Runs CUDA kernels on the CPU, so their logic is tested where there is no GPU (CI, the
// development machine). One OS thread per CUDA thread of a block, the blocks of a grid one after
// another: __syncthreads is a barrier of the block's threads, warp shuffles a barrier of the
// warp's 32, atomics std::atomic_ref, __shared__ variables statics (one block runs at a time) and
// dynamic shared memory one buffer per launch. Threads of a block really run concurrently, so a
// missing barrier shows up as a wrong answer here (or under ThreadSanitizer), as on a GPU.
//
// What it does not model: the memory hierarchy, timing, warp-synchronous code without a
// barrier, grids in y/z. Include this header before the kernels (it defines
// SKYWAY_CUDA_EMULATION, which kernels_common.cuh reads).
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#define SKYWAY_CUDA_EMULATION 1

namespace cuda_emu {

// A barrier whose waiters yield rather than sleep: blocks have more threads than the machine
// has cores, and a futex wake-up per thread per __syncthreads costs several times more.
class YieldBarrier {
 public:
  explicit YieldBarrier(unsigned count) : count_(count) {}
  void arrive_and_wait() {
    const unsigned generation = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == count_) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.store(generation + 1, std::memory_order_release);
      return;
    }
    while (generation_.load(std::memory_order_acquire) == generation) std::this_thread::yield();
  }

 private:
  const unsigned count_;
  std::atomic<unsigned> arrived_{0}, generation_{0};
};

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

// One launch's shared state.
struct Block {
  unsigned threads = 0;
  std::vector<unsigned char> dynamic_shared;
  std::unique_ptr<YieldBarrier> all;
  std::vector<std::unique_ptr<YieldBarrier>> warps;
  std::vector<float> lanes;  // shuffle slots, one per thread
  std::atomic<int> vote{0};
};

inline Block* g_block = nullptr;
inline Dim3 g_grid, g_block_dim;
inline thread_local Dim3 t_thread, t_block;

inline unsigned char* DynamicShared() { return g_block->dynamic_shared.data(); }

inline void SyncThreads() { g_block->all->arrive_and_wait(); }

inline int SyncThreadsOr(int predicate) {
  SyncThreads();  // the previous vote has been read by everyone
  if (predicate) g_block->vote.store(1, std::memory_order_relaxed);
  SyncThreads();
  const int any = g_block->vote.load(std::memory_order_relaxed);
  SyncThreads();
  if (t_thread.x == 0) g_block->vote.store(0, std::memory_order_relaxed);
  return any;
}

inline float ShuffleDown(float value, int offset) {
  const unsigned lane = t_thread.x % 32, warp = t_thread.x / 32;
  g_block->lanes[t_thread.x] = value;
  g_block->warps[warp]->arrive_and_wait();
  const float out = lane + offset < 32 ? g_block->lanes[t_thread.x + offset] : value;
  g_block->warps[warp]->arrive_and_wait();
  return out;
}

// kernel<<<grid, threads, shared_bytes>>>(...) is Launch(grid, threads, shared_bytes, [&] {
// kernel(...); }). REQUIRES: threads a multiple of 32 when the kernel shuffles.
inline void Launch(unsigned grid, unsigned threads, size_t shared_bytes, const std::function<void()>& kernel) {
  Block block;
  block.threads = threads;
  block.dynamic_shared.assign(std::max<size_t>(shared_bytes, 16), 0xA5);  // garbage, as on a GPU
  block.all = std::make_unique<YieldBarrier>(threads);
  for (unsigned w = 0; w < (threads + 31) / 32; ++w) {
    block.warps.push_back(std::make_unique<YieldBarrier>(std::min(32U, threads - 32 * w)));
  }
  block.lanes.resize(threads);
  g_block = &block;
  g_grid = {grid, 1, 1};
  g_block_dim = {threads, 1, 1};
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      t_thread = {t, 0, 0};
      for (unsigned b = 0; b < grid; ++b) {
        t_block = {b, 0, 0};
        kernel();
        SyncThreads();  // the block is done before the next reuses shared memory
      }
    });
  }
  for (std::thread& t : pool) t.join();
  g_block = nullptr;
}

template <typename T>
T AtomicOr(T* p, T v) {
  return std::atomic_ref<T>(*p).fetch_or(v);
}
template <typename T>
T AtomicAdd(T* p, T v) {
  return std::atomic_ref<T>(*p).fetch_add(v);
}
template <typename T>
T AtomicCas(T* p, T expected, T desired) {
  std::atomic_ref<T>(*p).compare_exchange_strong(expected, desired);
  return expected;  // the old value either way
}
template <typename T>
T AtomicMin(T* p, T v) {
  std::atomic_ref<T> a(*p);
  T old = a.load();
  while (v < old && !a.compare_exchange_weak(old, v)) {
  }
  return old;
}

}  // namespace cuda_emu

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define threadIdx (::cuda_emu::t_thread)
#define blockIdx (::cuda_emu::t_block)
#define blockDim (::cuda_emu::g_block_dim)
#define gridDim (::cuda_emu::g_grid)
#define __syncthreads() ::cuda_emu::SyncThreads()
#define __syncthreads_or(p) ::cuda_emu::SyncThreadsOr(p)
#define __shfl_down_sync(mask, value, offset) ::cuda_emu::ShuffleDown(value, offset)
#define atomicOr(p, v) ::cuda_emu::AtomicOr(p, v)
#define atomicAdd(p, v) ::cuda_emu::AtomicAdd(p, v)
#define atomicCAS(p, e, d) ::cuda_emu::AtomicCas(p, e, d)
#define atomicMin(p, v) ::cuda_emu::AtomicMin(p, v)

inline float rsqrtf(float x) { return 1.0F / std::sqrt(x); }
using std::max;
using std::min;
