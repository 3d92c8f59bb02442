// The exact kNN graph of an input read a block at a time (see knn_stream.cc). Private to vector/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "vector/gpu/device.h"
#include "vector/vector.h"

namespace skyway::vector::internal {

// gpu::BlockTopK on the CPU, over host memory: ExactSearch's per-pair distances, merged by
// (distance, row), so blocks do not change the answer.
std::unique_ptr<gpu::BlockTopK> NewHostBlockTopK(Metric metric, size_t dim, size_t k,
                                                 bool exclude_self);

// The working memory a streamed build may use: options.memory_limit, or on the GPU when 0 nine
// tenths of the free device memory (0 on the CPU: no limit).
uint64_t BuildMemoryLimit(const StreamOptions& options);

// Rows per block so that a build of n x dim into k neighbours works in `limit` bytes (0: no
// limit, one block of n). Errors: kResourceExhausted when even blocks of 256 rows do not fit.
Result<size_t> PlanBlockRows(size_t n, size_t dim, size_t k, uint64_t limit, bool device);

// The sample rows of cagra::EntrySampleRows, copied to the host from the blocks of rows a build
// holds (host or device memory), and the entry points drawn from them.
class EntrySampler {
 public:
  EntrySampler(size_t n, size_t dim);
  // Copies the sample rows among rows [first, first + count), which `block` holds.
  Status Collect(const float* block, size_t first, size_t count);
  // The entry points, once every row has been in a collected block: cagra::EntryPoints over the
  // sample, then cagra::CoverWithEntries of the search graph (n x degree), then
  // cagra::FillWithRandomEntries.
  std::vector<uint32_t> Entries(Metric metric, const std::vector<uint32_t>& graph, size_t degree) const;

 private:
  size_t n_, dim_;
  std::vector<uint32_t> ids_;
  std::vector<float> rows_;
};

// Each row's k nearest other rows (n x k, nearest first), exact, read from source in blocks;
// on the GPU when options.device. Fills *stats (not null); each block goes through `sampler`
// (when not null). REQUIRES: 1 <= k < n.
Result<std::vector<uint32_t>> StreamedKnnGraph(Metric metric, size_t n, size_t dim, size_t k,
                                               RowSource& source, const StreamOptions& options,
                                               StreamStats* stats, EntrySampler* sampler = nullptr);

}  // namespace skyway::vector::internal
