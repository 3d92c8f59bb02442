// vector internals shared by vector.cc, faiss_index.cc and hnsw_index.cc; not part of the
// module's contract.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if defined(__SSE2__) && !defined(__CUDA_ARCH__)
#include <emmintrin.h>
#endif

#include "vector/vector.h"

namespace skyway::vector::internal {

enum class IndexType : uint8_t {
  kFlat = 1, kIvfFlat = 2, kIvfPq = 3, kHnsw = 4, kGpuCagra = 5, kGpuBruteForce = 6
};

// "FLAT", "IVF_FLAT", "IVF_PQ", "HNSW", "GPU_CAGRA", "GPU_BRUTE_FORCE" (case-insensitive). Errors: kInvalidArgument.
Result<IndexType> ParseIndexType(std::string_view name);

// The integer parameter `name` in [lo, hi], or def when absent. Errors: kInvalidArgument naming
// the parameter when the value is not a decimal integer or out of range.
Result<int64_t> IntParam(const Params& params, const char* name, int64_t def, int64_t lo,
                         int64_t hi);

// Build parameters, checked against dim (ValidateSpec's per-family halves).
Status ValidateIvfParams(IndexType type, const Params& params, size_t dim);
Status ValidateHnswParams(const Params& params);
Status ValidateCagraParams(const Params& params);

// Distance kernels. Debian's faiss is built for baseline x86-64, where its fvec_* fall back to
// scalar loops; these keep 16 independent lanes, summed after the tail in lane order. On x86 the
// lanes are four SSE registers: left to the compiler, they lived on the stack, and each step
// waited on a store and a reload of its lane (75 TSC cycles a 128-float row in L2, against 43).
// Both forms give the same bits.
constexpr size_t kLanes = 16;

inline float SumLanes(const float* lanes, float tail) {
  for (size_t j = 0; j < kLanes; ++j) tail += lanes[j];
  return tail;
}

#if defined(__SSE2__) && !defined(__CUDA_ARCH__)
inline void StoreLanes(__m128 s0, __m128 s1, __m128 s2, __m128 s3, float* lanes) {
  _mm_storeu_ps(lanes, s0);
  _mm_storeu_ps(lanes + 4, s1);
  _mm_storeu_ps(lanes + 8, s2);
  _mm_storeu_ps(lanes + 12, s3);
}
#endif

inline float L2Sqr(const float* a, const float* b, size_t dim) {
  float lanes[kLanes] = {};
  size_t i = 0;
#if defined(__SSE2__) && !defined(__CUDA_ARCH__)
  __m128 s0 = _mm_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (; i + kLanes <= dim; i += kLanes) {
    const __m128 d0 = _mm_sub_ps(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i));
    const __m128 d1 = _mm_sub_ps(_mm_loadu_ps(a + i + 4), _mm_loadu_ps(b + i + 4));
    const __m128 d2 = _mm_sub_ps(_mm_loadu_ps(a + i + 8), _mm_loadu_ps(b + i + 8));
    const __m128 d3 = _mm_sub_ps(_mm_loadu_ps(a + i + 12), _mm_loadu_ps(b + i + 12));
    s0 = _mm_add_ps(s0, _mm_mul_ps(d0, d0));
    s1 = _mm_add_ps(s1, _mm_mul_ps(d1, d1));
    s2 = _mm_add_ps(s2, _mm_mul_ps(d2, d2));
    s3 = _mm_add_ps(s3, _mm_mul_ps(d3, d3));
  }
  StoreLanes(s0, s1, s2, s3, lanes);
#else
  for (; i + kLanes <= dim; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) {
      const float t = a[i + j] - b[i + j];
      lanes[j] += t * t;
    }
  }
#endif
  float sum = 0;
  for (; i < dim; ++i) sum += (a[i] - b[i]) * (a[i] - b[i]);
  return SumLanes(lanes, sum);
}

inline float InnerProduct(const float* a, const float* b, size_t dim) {
  float lanes[kLanes] = {};
  size_t i = 0;
#if defined(__SSE2__) && !defined(__CUDA_ARCH__)
  __m128 s0 = _mm_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (; i + kLanes <= dim; i += kLanes) {
    s0 = _mm_add_ps(s0, _mm_mul_ps(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i)));
    s1 = _mm_add_ps(s1, _mm_mul_ps(_mm_loadu_ps(a + i + 4), _mm_loadu_ps(b + i + 4)));
    s2 = _mm_add_ps(s2, _mm_mul_ps(_mm_loadu_ps(a + i + 8), _mm_loadu_ps(b + i + 8)));
    s3 = _mm_add_ps(s3, _mm_mul_ps(_mm_loadu_ps(a + i + 12), _mm_loadu_ps(b + i + 12)));
  }
  StoreLanes(s0, s1, s2, s3, lanes);
#else
  for (; i + kLanes <= dim; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) lanes[j] += a[i + j] * b[i + j];
  }
#endif
  float sum = 0;
  for (; i < dim; ++i) sum += a[i] * b[i];
  return SumLanes(lanes, sum);
}

// The metric's distance of row y from x, smaller nearer: L2's square, -ip, or COSINE's -ip x
// inv_norm (the row's InverseNorm, or the product of both when x is not unit).
inline float Distance(Metric metric, const float* x, const float* y, float inv_norm, size_t dim) {
  if (metric == Metric::kL2) return L2Sqr(x, y, dim);
  const float ip = InnerProduct(x, y, dim);
  return metric == Metric::kCosine ? -ip * inv_norm : -ip;
}

// Asks for the cache lines of [p, p + bytes) ahead of their use. The asm is what keeps it: GCC 12
// (at -O1 and up) finds a helper made only of __builtin_prefetch calls side-effect free and drops
// every call to it, so the CAGRA search prefetched nothing until this.
inline void PrefetchLines(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (size_t off = 0; off < bytes; off += 64) {
#if defined(__x86_64__) || defined(__i386__)
    asm volatile("prefetcht0 %0" : : "m"(c[off]));
#else
    __builtin_prefetch(c + off);
#endif
  }
}

// 1/|x| (0 for a zero vector): COSINE scores are -ip * InverseNorm of the row, queries unit.
float InverseNorm(const float* x, size_t dim);
// InverseNorm of each of n rows.
std::vector<float> InverseNorms(const float* rows, size_t n, size_t dim);
// Unit-length copies of n rows (a zero row stays zero).
std::vector<float> NormalizedCopy(const float* rows, size_t n, size_t dim);

// Every serialized index starts with this header, so that LoadIndex can refuse bytes of another
// type, metric or dim, or damaged ones (the header carries the payload's size and CRC-32), before
// handing the payload to faiss (whose reader leaks what it read when it throws) or to the HNSW
// loader.
struct BlobHeader {
  IndexType type;
  Metric metric;
  uint64_t dim = 0;
  uint64_t n = 0;
};
constexpr size_t kBlobHeaderSize = 40;
// A blob holding room for the header; append the payload, then SealBlob.
inline std::string NewBlob() { return std::string(kBlobHeaderSize, '\0'); }
void SealBlob(const BlobHeader& header, std::string* blob);
// Checks the header against type, metric and dim and the payload against its size and CRC, and
// returns the payload. Errors: kInvalidArgument.
Result<std::string_view> DecodeHeader(std::string_view bytes, IndexType type, Metric metric,
                                      size_t dim, BlobHeader* header);

// Keeps the k best (smallest) distances seen; a distance is the score turned so that smaller is
// closer (L2 as is, similarities negated).
class TopK {
 public:
  explicit TopK(size_t k) : k_(k) { heap_.reserve(k + 1); }
  // The distance a new entry must beat to enter (infinite while not full).
  float bound() const { return heap_.size() < k_ ? kInf : heap_.front().first; }
  void Push(float distance, int64_t row) {
    if (k_ == 0 || distance >= bound()) return;
    heap_.emplace_back(distance, row);
    std::push_heap(heap_.begin(), heap_.end());
    if (heap_.size() > k_) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.pop_back();
    }
  }
  size_t size() const { return heap_.size(); }
  // Hits best first, distances turned back into scores of metric.
  std::vector<Hit> Take(Metric metric);

 private:
  static constexpr float kInf = 3.402823466e+38F;
  size_t k_;
  std::vector<std::pair<float, int64_t>> heap_;
};

Result<std::unique_ptr<Index>> BuildIvfIndex(const IndexSpec& spec, IndexType type,
                                             const float* vectors, size_t n, size_t dim,
                                             int threads);
Result<std::unique_ptr<Index>> LoadIvfIndex(const IndexSpec& spec, IndexType type,
                                            std::string_view bytes, const float* vectors, size_t n,
                                            size_t dim);
Result<std::unique_ptr<Index>> BuildHnswIndex(const IndexSpec& spec, const float* vectors, size_t n,
                                              size_t dim, int threads);
Result<std::unique_ptr<Index>> LoadHnswIndex(const IndexSpec& spec, std::string_view bytes,
                                             const float* vectors, size_t n, size_t dim);

Result<std::unique_ptr<Index>> BuildCagraIndex(const IndexSpec& spec, const float* vectors,
                                               size_t n, size_t dim);
Result<std::unique_ptr<Index>> BuildCagraIndexStreamed(const IndexSpec& spec, size_t n, size_t dim,
                                                       RowSource& source,
                                                       const StreamOptions& options,
                                                       StreamStats* stats);
Result<std::unique_ptr<Index>> LoadCagraIndex(const IndexSpec& spec, std::string_view bytes,
                                              const float* vectors, size_t n, size_t dim);
Result<std::unique_ptr<Index>> MakeGpuBruteForceIndex(const IndexSpec& spec, const float* vectors,
                                                      size_t n, size_t dim);

// An index over the caller's vectors, which it keeps no copy of (FLAT, GPU_CAGRA,
// GPU_BRUTE_FORCE): rows read back from them.
class OverCallerVectors : public Index {
 public:
  OverCallerVectors(IndexSpec spec, const float* vectors, size_t n, size_t dim)
      : spec_(std::move(spec)), vectors_(vectors), n_(n), dim_(dim) {}
  const IndexSpec& spec() const override { return spec_; }
  size_t size() const override { return n_; }
  size_t dim() const override { return dim_; }
  bool holds_vectors() const override { return false; }
  void Reconstruct(int64_t row, float* out) const override {
    std::copy(vectors_ + row * dim_, vectors_ + (row + 1) * dim_, out);
  }

 protected:
  IndexSpec spec_;
  const float* vectors_;
  size_t n_, dim_;
};

// Threads to use for a build: threads, or all cores when threads <= 0.
int BuildThreads(int threads);

}  // namespace skyway::vector::internal
