// Runs CUDA kernels on the CPU, so their logic is tested where there is no GPU (CI, the
// development machine). A block's threads are fibers (ucontext) on the calling thread, blocks
// run one after another: __syncthreads parks a fiber until every live thread of the block has
// reached it, a warp shuffle until the warp's 32 have; __shared__ variables are statics (one
// block runs at a time) and dynamic shared memory is one buffer per launch, filled with garbage
// as on a GPU. A barrier that some threads never reach is reported (abort) rather than hung.
//
// Between barriers fibers run one at a time in thread order, so a missing barrier shows only
// when the order matters (a later thread's write read by an earlier one); the tests that were
// broken on purpose (a barrier removed from the bitonic sort) failed. Not modelled: the memory
// hierarchy, timing, warp-synchronous code without a barrier, grids in y/z.
//
// Include this header before the kernels: it defines SKYWAY_CUDA_EMULATION, which
// kernels_common.cuh reads.
#pragma once

#include <ucontext.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define CUDA_EMU_ASAN 1
#endif

#ifndef SKYWAY_CUDA_EMULATION
#define SKYWAY_CUDA_EMULATION 1
#endif

namespace cuda_emu {

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

// Context switches. On x86-64 a few instructions (callee-saved registers and the stack pointer:
// ucontext's swapcontext makes two system calls per switch, and a kernel switches millions of
// times); elsewhere ucontext.
#if defined(__x86_64__)
extern "C" void cuda_emu_switch(void** save_sp, void* load_sp);
asm(R"(
  .text
  .weak cuda_emu_switch
  .type cuda_emu_switch, @function
cuda_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size cuda_emu_switch, .-cuda_emu_switch
)");
struct Context {
  void* sp = nullptr;
};
inline void SwitchTo(Context* save, Context* load) { cuda_emu_switch(&save->sp, load->sp); }
// A context that starts entry() on [stack, stack + size); entry must never return.
inline void MakeContext(Context* c, char* stack, size_t size, void (*entry)()) {
  auto top = reinterpret_cast<uintptr_t>(stack + size) & ~uintptr_t{15};
  auto* sp = reinterpret_cast<void**>(top - 8);  // as after a call: rsp = 8 (mod 16)
  *--sp = reinterpret_cast<void*>(entry);         // popped by ret
  for (int i = 0; i < 6; ++i) *--sp = nullptr;    // rbp rbx r12-r15
  c->sp = sp;
}
#else
struct Context {
  ucontext_t uc;
};
inline void SwitchTo(Context* save, Context* load) { swapcontext(&save->uc, &load->uc); }
inline void MakeContext(Context* c, char* stack, size_t size, void (*entry)()) {
  getcontext(&c->uc);
  c->uc.uc_stack.ss_sp = stack;
  c->uc.uc_stack.ss_size = size;
  c->uc.uc_link = nullptr;
  makecontext(&c->uc, entry, 0);
}
#endif

enum class Wait { kNone, kBlock, kWarp };

constexpr size_t kStackBytes = 256 << 10;

struct Fiber {
  Context context;
  char* stack = nullptr;  // kStackBytes
  unsigned thread = 0;
  bool done = false;
  Wait wait = Wait::kNone;
};

// One launch's state. Launches are serialized (statics stand for shared memory).
struct Launcher {
  std::vector<Fiber> fibers;
  Context scheduler;
  const void* scheduler_stack = nullptr;
  size_t scheduler_stack_size = 0;
  Fiber* current = nullptr;
  const std::function<void()>* kernel = nullptr;
  std::vector<unsigned char> dynamic_shared;
  std::vector<float> lanes;
  int vote = 0;
};

inline std::mutex g_launch_mutex;
inline Launcher* g_launcher = nullptr;
inline Dim3 g_grid, g_block_dim, g_block;

inline const Dim3& ThreadIdx() {
  static thread_local Dim3 d;
  d.x = g_launcher->current->thread;
  return d;
}

inline unsigned char* DynamicShared() { return g_launcher->dynamic_shared.data(); }

// Back to the scheduler until this fiber's wait is released.
inline void Park(Wait wait) {
  Launcher& l = *g_launcher;
  Fiber* self = l.current;
  self->wait = wait;
#ifdef CUDA_EMU_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, l.scheduler_stack, l.scheduler_stack_size);
#endif
  SwitchTo(&self->context, &l.scheduler);
#ifdef CUDA_EMU_ASAN
  __sanitizer_finish_switch_fiber(fake, &l.scheduler_stack, &l.scheduler_stack_size);
#endif
}

inline void SyncThreads() { Park(Wait::kBlock); }

inline int SyncThreadsOr(int predicate) {
  SyncThreads();  // the previous vote has been read by everyone
  if (predicate) g_launcher->vote = 1;
  SyncThreads();
  const int any = g_launcher->vote;
  SyncThreads();
  if (ThreadIdx().x == 0) g_launcher->vote = 0;
  return any;
}

inline float ShuffleDown(float value, int offset) {
  const unsigned t = ThreadIdx().x, lane = t % 32;
  g_launcher->lanes[t] = value;
  Park(Wait::kWarp);
  const float out = lane + offset < 32 && t + offset < g_launcher->lanes.size() ? g_launcher->lanes[t + offset] : value;
  Park(Wait::kWarp);
  return out;
}

inline void FiberEntry() {
  Launcher& l = *g_launcher;
#ifdef CUDA_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &l.scheduler_stack, &l.scheduler_stack_size);
#endif
  (*l.kernel)();
  l.current->done = true;
#ifdef CUDA_EMU_ASAN
  __sanitizer_start_switch_fiber(nullptr, l.scheduler_stack, l.scheduler_stack_size);
#endif
  SwitchTo(&l.current->context, &l.scheduler);  // never resumed
  std::abort();
}

inline void Resume(Launcher& l, Fiber& f) {
  l.current = &f;
  f.wait = Wait::kNone;
#ifdef CUDA_EMU_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, f.stack, kStackBytes);
#endif
  SwitchTo(&l.scheduler, &f.context);
#ifdef CUDA_EMU_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
}

// Runs one block to completion.
inline void RunBlock(Launcher& l) {
  for (Fiber& f : l.fibers) {
    f.done = false;
    f.wait = Wait::kNone;
    MakeContext(&f.context, f.stack, kStackBytes, FiberEntry);
  }
  const size_t warps = (l.fibers.size() + 31) / 32;
  for (;;) {
    // Run every fiber that can run until it parks or ends.
    for (Fiber& f : l.fibers) {
      if (!f.done && f.wait == Wait::kNone) Resume(l, f);
    }
    bool live = false, released = false;
    // A warp whose live lanes all wait at a shuffle goes on.
    for (size_t w = 0; w < warps; ++w) {
      const size_t first = 32 * w, last = std::min(l.fibers.size(), first + 32);
      bool all = true, any = false;
      for (size_t i = first; i < last; ++i) {
        if (l.fibers[i].done) continue;
        any = true;
        if (l.fibers[i].wait != Wait::kWarp) all = false;
      }
      if (any && all) {
        for (size_t i = first; i < last; ++i) l.fibers[i].wait = Wait::kNone;
        released = true;
      }
      live = live || any;
    }
    if (!live) return;
    if (released) continue;
    bool all_block = true;
    for (const Fiber& f : l.fibers) {
      if (!f.done && f.wait != Wait::kBlock) all_block = false;
    }
    if (!all_block) {
      std::fprintf(stderr, "cuda_emu: block %u: threads wait at different barriers (divergent "
                   "__syncthreads or shuffle)\n", g_block.x);
      std::abort();
    }
    for (Fiber& f : l.fibers) f.wait = Wait::kNone;
  }
}

// kernel<<<grid, threads, shared_bytes>>>(...) is Launch(grid, threads, shared_bytes, [&] {
// kernel(...); }).
inline void Launch(unsigned grid, unsigned threads, size_t shared_bytes, const std::function<void()>& kernel) {
  std::lock_guard<std::mutex> lock(g_launch_mutex);
  Launcher l;
  l.kernel = &kernel;
  static std::vector<std::unique_ptr<char[]>> stacks;  // kept: launches come by the thousand
  while (stacks.size() < threads) stacks.emplace_back(new char[kStackBytes]);
  l.fibers.resize(threads);
  for (unsigned t = 0; t < threads; ++t) {
    l.fibers[t].thread = t;
    l.fibers[t].stack = stacks[t].get();
  }
  l.dynamic_shared.assign(std::max<size_t>(shared_bytes, 16), 0xA5);
  l.lanes.resize(threads);
  Launcher* outer = g_launcher;
  g_launcher = &l;
  g_grid = {grid, 1, 1};
  g_block_dim = {threads, 1, 1};
  for (unsigned b = 0; b < grid; ++b) {
    g_block = {b, 1, 1};
    RunBlock(l);
  }
  g_launcher = outer;
}

template <typename T>
T AtomicOr(T* p, T v) {
  const T old = *p;
  *p = old | v;
  return old;
}
template <typename T>
T AtomicAdd(T* p, T v) {
  const T old = *p;
  *p = old + v;
  return old;
}
template <typename T>
T AtomicCas(T* p, T expected, T desired) {
  const T old = *p;
  if (old == expected) *p = desired;
  return old;
}
template <typename T>
T AtomicMin(T* p, T v) {
  const T old = *p;
  if (v < old) *p = v;
  return old;
}

}  // namespace cuda_emu

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define threadIdx (::cuda_emu::ThreadIdx())
#define blockIdx (::cuda_emu::g_block)
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
