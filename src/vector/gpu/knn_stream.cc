// The exact kNN graph of an input read a block at a time (vector.h's RowSource), for inputs
// larger than the memory a build may hold: GPU_CAGRA's build of a segment bigger than the GPU.
//
// Two block buffers: the query block, and a base block that every other block passes through
// in turn; each query block's running top-k (BlockTopK) is merged with its own block and then
// with every other. The base visits of block i end with block i + 1, which then becomes the
// next query block without a read: 2 blocks read 2 times in all, b blocks b + (b-1)(b-2).
#include "vector/gpu/knn_stream.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "vector/gpu/cagra.h"
#include "vector/gpu/device.h"
#include "vector/internal.h"

namespace skyway::vector::internal {
namespace {

constexpr size_t kMinBlockRows = 256;
constexpr uint32_t kNoRow = 0xFFFFFFFFu;

// BlockTopK on the CPU: ExactSearch of the query block against each base block, merged by
// (distance, row). ExactSearch's per-pair distances do not depend on the blocks, so the graph is
// ExactKnnGraph's to the bit.
class HostBlockTopK final : public gpu::BlockTopK {
 public:
  HostBlockTopK(Metric metric, size_t dim, size_t k, bool exclude_self)
      : metric_(metric), dim_(dim), k_(k), exclude_self_(exclude_self) {}

  Status Begin(const float* queries, size_t nq, size_t first) override {
    queries_ = queries;
    first_ = first;
    tops_.assign(nq, TopK(k_));
    return Status::Ok();
  }
  Status Merge(const float* base, size_t nb, size_t first) override {
    auto hits = ExactSearch(metric_, base, nb, dim_, queries_, tops_.size(), k_ + 1, nullptr);
    const bool negate = !SmallerIsCloser(metric_);
    for (size_t q = 0; q < tops_.size(); ++q) {
      for (const Hit& h : hits[q]) {
        const size_t row = first + static_cast<size_t>(h.row);
        if (exclude_self_ && row == first_ + q) continue;
        tops_[q].Push(negate ? -h.score : h.score, static_cast<int64_t>(row));
      }
    }
    return Status::Ok();
  }
  Status Take(uint32_t* ids, float* dist) override {
    const bool negate = !SmallerIsCloser(metric_);
    for (size_t q = 0; q < tops_.size(); ++q) {
      std::vector<Hit> best = tops_[q].Take(metric_);
      for (size_t e = 0; e < k_; ++e) {
        const bool have = e < best.size();
        if (ids != nullptr) ids[q * k_ + e] = have ? static_cast<uint32_t>(best[e].row) : kNoRow;
        if (dist != nullptr) dist[q * k_ + e] = have ? (negate ? -best[e].score : best[e].score) : 0;
      }
    }
    return Status::Ok();
  }

 private:
  Metric metric_;
  size_t dim_, k_;
  bool exclude_self_;
  const float* queries_ = nullptr;
  size_t first_ = 0;
  std::vector<TopK> tops_;
};

// Working memory of blocks of b rows: the vector buffers (one when the input is one block)
// and the top-k's own.
uint64_t WorkBytes(size_t b, size_t n, size_t dim, size_t k, bool device) {
  const uint64_t buffers = uint64_t{b} * dim * sizeof(float) * (b >= n ? 1 : 2);
  const uint64_t topk = device ? gpu::BlockTopKBytes(dim, k, b, b)
                               : uint64_t{b} * (2 * k + 1) * sizeof(std::pair<float, int64_t>);
  return buffers + topk;
}

}  // namespace

std::unique_ptr<gpu::BlockTopK> NewHostBlockTopK(Metric metric, size_t dim, size_t k,
                                                 bool exclude_self) {
  return std::make_unique<HostBlockTopK>(metric, dim, k, exclude_self);
}

}  // namespace skyway::vector::internal

namespace skyway::vector {

ArrayRows::ArrayRows(const float* rows, size_t n, size_t dim) : rows_(rows), n_(n), dim_(dim) {}
ArrayRows::~ArrayRows() = default;

Result<float*> ArrayRows::Buffer(size_t bytes, bool device) {
  if (device) {
    ASSIGN_OR_RETURN(std::unique_ptr<DeviceVectors> d, AllocateDeviceVectors(bytes));
    device_.push_back(std::move(d));
    return device_.back()->data();
  }
  host_.emplace_back(bytes / sizeof(float));
  return host_.back().data();
}

Status ArrayRows::Read(size_t first, size_t count, float* dst) {
  if (first > n_ || count > n_ - first) return Status::Internal("ArrayRows: a read past the rows");
  const size_t bytes = count * dim_ * sizeof(float);
  for (const auto& d : device_) {
    if (d->data() == dst) return d->Write(0, rows_ + first * dim_, bytes);
  }
  std::memcpy(dst, rows_ + first * dim_, bytes);
  return Status::Ok();
}

}  // namespace skyway::vector

namespace skyway::vector::internal {

uint64_t BuildMemoryLimit(const StreamOptions& options) {
  if (options.device && options.memory_limit == 0) return gpu::FreeBytes() / 10 * 9;  // headroom for CUDA
  return options.memory_limit;
}

Result<size_t> PlanBlockRows(size_t n, size_t dim, size_t k, uint64_t limit, bool device) {
  if (limit == 0 || WorkBytes(n, n, dim, k, device) <= limit) return n;
  size_t lo = std::min(kMinBlockRows, n), hi = n;  // the answer lies in [lo, hi)
  if (WorkBytes(lo, n, dim, k, device) > limit) {
    return Status(Code::kResourceExhausted, "",
                  "a streamed build of " + std::to_string(n) + " x " + std::to_string(dim) +
                      " needs at least " + FormatBytes(WorkBytes(lo, n, dim, k, device)) +
                      " of working memory (blocks of " + std::to_string(lo) +
                      " rows); the limit is " + FormatBytes(limit));
  }
  while (hi - lo > 1) {
    const size_t mid = lo + (hi - lo) / 2;
    (WorkBytes(mid, n, dim, k, device) <= limit ? lo : hi) = mid;
  }
  return lo;
}

namespace {
constexpr uint64_t kEntrySeed = 0xE17E5EED;
}  // namespace

EntrySampler::EntrySampler(size_t n, size_t dim)
    : n_(n), dim_(dim), ids_(cagra::EntrySampleRows(n, dim, kEntrySeed)), rows_(ids_.size() * dim) {}

Status EntrySampler::Collect(const float* block, size_t first, size_t count) {
  const auto lo = std::lower_bound(ids_.begin(), ids_.end(), first);
  const auto hi = std::lower_bound(lo, ids_.end(), first + count);
  if (lo == hi) return Status::Ok();
  float* dst = rows_.data() + static_cast<size_t>(lo - ids_.begin()) * dim_;
  std::vector<uint32_t> local(lo, hi);  // row numbers within the block
  for (uint32_t& r : local) r -= static_cast<uint32_t>(first);
  if (!gpu::IsDevicePointer(block)) {
    for (size_t i = 0; i < local.size(); ++i) {
      std::memcpy(dst + i * dim_, block + static_cast<size_t>(local[i]) * dim_, dim_ * sizeof(float));
    }
    return Status::Ok();
  }
  const size_t floats = local.size() * dim_;
  ASSIGN_OR_RETURN(auto gathered, gpu::AllocateVectors(floats * sizeof(float)));
  RETURN_IF_ERROR(gpu::GatherRows(block, local.data(), local.size(), dim_, gathered->data()));
  return gpu::Copy(dst, gathered->data(), floats * sizeof(float));
}

std::vector<uint32_t> EntrySampler::Entries(Metric metric, const std::vector<uint32_t>& graph,
                                            size_t degree) const {
  std::vector<uint32_t> entries = cagra::EntryPoints(metric, rows_.data(), ids_.data(), ids_.size(),
                                                     dim_, cagra::EntryCount(n_, dim_), kEntrySeed);
  cagra::CoverWithEntries(graph.data(), n_, degree, dim_, &entries);
  cagra::FillWithRandomEntries(n_, dim_, kEntrySeed, &entries);
  return entries;
}

Result<std::vector<uint32_t>> StreamedKnnGraph(Metric metric, size_t n, size_t dim, size_t k,
                                               RowSource& source, const StreamOptions& options,
                                               StreamStats* stats, EntrySampler* sampler) {
  ASSIGN_OR_RETURN(const size_t b, PlanBlockRows(n, dim, k, BuildMemoryLimit(options), options.device));
  const size_t blocks = (n + b - 1) / b;
  stats->block_rows = b;
  stats->blocks = blocks;
  std::unique_ptr<gpu::BlockTopK> topk;
  if (options.device) {
    ASSIGN_OR_RETURN(topk, gpu::NewBlockTopK(metric, dim, k, b, b, true));
  } else {
    topk = NewHostBlockTopK(metric, dim, k, true);
  }
  const size_t block_bytes = b * dim * sizeof(float);
  float* buffer[2] = {nullptr, nullptr};
  ASSIGN_OR_RETURN(buffer[0], source.Buffer(block_bytes, options.device));
  if (blocks > 1) {
    ASSIGN_OR_RETURN(buffer[1], source.Buffer(block_bytes, options.device));
  }
  auto first_of = [&](size_t i) { return i * b; };
  auto rows_of = [&](size_t i) { return std::min(b, n - i * b); };
  auto read = [&](size_t i, float* dst) {
    ++stats->reads;
    stats->bytes_read += uint64_t{rows_of(i)} * dim * sizeof(float);
    return source.Read(first_of(i), rows_of(i), dst);
  };
  std::vector<uint32_t> knn(n * k);
  float* query = buffer[0];
  float* base = buffer[1];
  size_t held = blocks;  // the block in `base` (blocks: none)
  for (size_t i = 0; i < blocks; ++i) {
    if (held == i) {  // the last base block of the previous round is this query block
      std::swap(query, base);
      held = i - 1;
    } else {
      RETURN_IF_ERROR(read(i, query));
    }
    if (sampler != nullptr) RETURN_IF_ERROR(sampler->Collect(query, first_of(i), rows_of(i)));
    RETURN_IF_ERROR(topk->Begin(query, rows_of(i), first_of(i)));
    RETURN_IF_ERROR(topk->Merge(query, rows_of(i), first_of(i)));
    std::vector<size_t> order;
    if (held < blocks) order.push_back(held);
    for (size_t j = 0; j < blocks; ++j) {
      if (j != i && j != held && j != i + 1) order.push_back(j);
    }
    if (i + 1 < blocks && i + 1 != held) order.push_back(i + 1);
    for (size_t j : order) {
      if (j != held) {
        RETURN_IF_ERROR(read(j, base));
        held = j;
      }
      RETURN_IF_ERROR(topk->Merge(base, rows_of(j), first_of(j)));
    }
    RETURN_IF_ERROR(topk->Take(knn.data() + first_of(i) * k, nullptr));
  }
  return knn;
}

}  // namespace skyway::vector::internal
