// GPU_CAGRA and GPU_BRUTE_FORCE behind the Index interface. Both build and search on a CUDA
// device when one is present and on the CPU otherwise (same graph algorithm, same answers up to
// ties), so an index built on a GPU node serves on CPU-only nodes.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "vector/gpu/cagra.h"
#include "vector/gpu/device.h"
#include "vector/gpu/knn_clustered.h"
#include "vector/gpu/knn_descent.h"
#include "vector/gpu/knn_stream.h"
#include "vector/internal.h"

namespace skyway::vector::internal {
namespace {

constexpr int64_t kDefaultIntermediateDegree = 128;
constexpr int64_t kDefaultGraphDegree = 64;
constexpr int64_t kMaxDegree = 1024;
constexpr int64_t kDefaultItopk = 64;
constexpr int64_t kMaxItopk = 1 << 16;
constexpr uint64_t kSearchSeed = 0x5EED5EED;
// Ends a serialized graph that carries entry points: no edge equals it (rows are < n <= 2^32-1).
constexpr uint32_t kEntriesMark = 0xFFFFFFFFu;

// Device copies of an index's host arrays, made on its first device search and kept while it
// lives, so that later batches copy only their queries. Empty when the device has no room
// (then every batch copies, as before).
class DeviceCopies {
 public:
  // The device copy of each (pointer, bytes) pair, in order; nulls when they do not fit.
  std::vector<const void*> Get(std::initializer_list<std::pair<const void*, size_t>> arrays) const {
    std::call_once(once_, [&] {
      for (const auto& [host, bytes] : arrays) {
        if (bytes == 0) {  // nothing to copy (a graph saved without entry points)
          copies_.push_back(nullptr);
          continue;
        }
        auto copy = gpu::AllocateVectors(bytes);
        if (!copy.ok() || !(*copy)->Write(0, host, bytes).ok()) {
          copies_.clear();
          LogWarn("GPU index: no room to keep a device copy (" + FormatBytes(bytes) +
                  "); each search batch copies its arrays");
          return;
        }
        copies_.push_back(std::move(copy).value());
      }
    });
    std::vector<const void*> out(arrays.size(), nullptr);
    for (size_t i = 0; i < copies_.size(); ++i) out[i] = copies_[i] ? copies_[i]->data() : nullptr;
    return out;
  }

 private:
  mutable std::once_flag once_;
  mutable std::vector<std::unique_ptr<DeviceVectors>> copies_;
};

class CagraIndex final : public OverCallerVectors {
 public:
  CagraIndex(IndexSpec spec, const float* vectors, size_t n, size_t dim, size_t degree,
             std::vector<uint32_t> graph, std::vector<uint32_t> entries)
      : OverCallerVectors(std::move(spec), vectors, n, dim), degree_(degree),
        graph_(std::move(graph)), entries_(std::move(entries)) {
    if (spec_.metric == Metric::kCosine && vectors_ != nullptr) {
      inv_norms_ = InverseNorms(vectors_, n_, dim_);
    }
    if (vectors_ != nullptr) {  // the entry points' rows side by side: their scan is sequential
      entry_vectors_.resize(entries_.size() * dim_);
      for (size_t i = 0; i < entries_.size(); ++i) {
        std::memcpy(&entry_vectors_[i * dim_], vectors_ + static_cast<size_t>(entries_[i]) * dim_,
                    dim_ * sizeof(float));
      }
      entry_graph_ = cagra::EntryGraph(spec_.metric, entry_vectors_.data(), entries_.size(), dim_,
                                       &entry_degree_);
    }
  }

  Result<std::vector<std::vector<Hit>>> Search(const float* queries, size_t nq, size_t k,
                                               const Params& params,
                                               const RowFilter* filter) const override {
    ASSIGN_OR_RETURN(int64_t itopk, IntParam(params, "itopk_size", kDefaultItopk, 1, kMaxItopk));
    ASSIGN_OR_RETURN(int64_t width, IntParam(params, "search_width", 1, 1, kMaxDegree));
    ASSIGN_OR_RETURN(int64_t min_it, IntParam(params, "min_iterations", 0, 0, 1 << 20));
    ASSIGN_OR_RETURN(int64_t max_it, IntParam(params, "max_iterations", 0, 0, 1 << 20));
    cagra::SearchParams sp;
    sp.itopk = static_cast<size_t>(itopk);
    sp.search_width = static_cast<size_t>(width);
    sp.min_iterations = static_cast<size_t>(min_it);
    sp.max_iterations = static_cast<size_t>(max_it);
    // On the CPU a best-first walk (a heap, as hnswlib) beats CAGRA's list, which is shaped for
    // a GPU block: 1.0-1.7x the QPS at equal recall on 20k x 128, itopk 32-256.
    sp.best_first = true;
    std::vector<std::vector<Hit>> results(nq);
    if (nq == 0 || k == 0 || n_ == 0) return results;
    if (vectors_ == nullptr) {
      return Status(Code::kFailedPrecondition, "",
                    "this GPU_CAGRA index was built from GPU memory: load it over host vectors");
    }
    // A large unfiltered batch goes to the device when there is one (the CPU answers otherwise,
    // and when the device refuses: dims over 4096, itopk over 512).
    if (filter == nullptr && nq >= gpu::MinDeviceSearchBatch() && gpu::Available()) {
      auto on_device = device_.Get({{vectors_, n_ * dim_ * sizeof(float)},
                                    {graph_.data(), graph_.size() * sizeof(uint32_t)},
                                    {entries_.data(), entries_.size() * sizeof(uint32_t)},
                                    {entry_vectors_.data(), entry_vectors_.size() * sizeof(float)}});
      auto pick = [&on_device](size_t i, const auto* host) {
        return on_device[i] ? static_cast<decltype(host)>(on_device[i]) : host;
      };
      cagra::GraphView view{.graph = pick(1, graph_.data()), .n = n_, .degree = degree_,
                            .vectors = pick(0, vectors_), .dim = dim_,
                            .entries = pick(2, entries_.data()), .num_entries = entries_.size(),
                            .entry_vectors = pick(3, entry_vectors_.data())};
      auto hits = gpu::CagraSearch(spec_.metric, view, queries, nq, k, sp.itopk, sp.search_width,
                                   sp.max_iterations, kSearchSeed);
      if (hits.ok()) return hits;
      LogWarn("GPU_CAGRA: searching on the CPU: " + hits.status().ToString());
    }
    std::vector<float> normalized;
    if (spec_.metric == Metric::kCosine) {
      normalized = NormalizedCopy(queries, nq, dim_);
      queries = normalized.data();
    }
    cagra::GraphView view;
    view.graph = graph_.data();
    view.n = n_;
    view.degree = degree_;
    view.vectors = vectors_;
    view.inv_norms = inv_norms_.empty() ? nullptr : inv_norms_.data();
    view.dim = dim_;
    view.entries = entries_.data();
    view.num_entries = entries_.size();
    view.entry_vectors = entry_vectors_.empty() ? nullptr : entry_vectors_.data();
    view.entry_graph = entry_graph_.empty() ? nullptr : entry_graph_.data();
    view.entry_degree = entry_degree_;
    const int64_t count = static_cast<int64_t>(nq);
#pragma omp parallel for schedule(dynamic) if (count >= 16)
    for (int64_t q = 0; q < count; ++q) {
      results[q] = cagra::Search(spec_.metric, view, queries + q * dim_, k, sp, filter, kSearchSeed);
    }
    return results;
  }

  // The payload is the graph itself, n x degree uint32, row-major; then, when there are entry
  // points, their rows, their count and kEntriesMark (uint32 each).
  Result<std::string> Serialize() const override {
    std::string out = NewBlob();
    auto put = [&out](const uint32_t* v, size_t count) {
      out.append(reinterpret_cast<const char*>(v), count * sizeof(uint32_t));
    };
    put(graph_.data(), graph_.size());
    if (!entries_.empty()) {
      const uint32_t trailer[2] = {static_cast<uint32_t>(entries_.size()), kEntriesMark};
      put(entries_.data(), entries_.size());
      put(trailer, 2);
    }
    SealBlob({IndexType::kGpuCagra, spec_.metric, dim_, n_}, &out);
    return out;
  }

 private:
  size_t degree_;
  std::vector<uint32_t> graph_;
  std::vector<uint32_t> entries_;  // the search's entry points (none in graphs saved before them)
  std::vector<float> entry_vectors_;  // their rows, in order
  std::vector<uint32_t> entry_graph_;  // cagra::EntryGraph of them (none for a few)
  size_t entry_degree_ = 0;
  std::vector<float> inv_norms_;      // COSINE
  DeviceCopies device_;           // vectors, graph, entry points, their rows
};

// Exact search, on the device when there is one (and no filter: the device path has none).
class GpuBruteForceIndex final : public OverCallerVectors {
 public:
  using OverCallerVectors::OverCallerVectors;
  Result<std::vector<std::vector<Hit>>> Search(const float* queries, size_t nq, size_t k,
                                               const Params& /*params*/,
                                               const RowFilter* filter) const override {
    if (vectors_ == nullptr && n_ > 0) {
      return Status(Code::kFailedPrecondition, "",
                    "this GPU_BRUTE_FORCE index was built from GPU memory: load it over host vectors");
    }
    if (filter == nullptr && gpu::Available() && nq * n_ >= gpu::MinDeviceBruteForceWork() &&
        std::min(k, n_) <= gpu::kMaxDeviceTopK) {
      auto on_device = device_.Get({{vectors_, n_ * dim_ * sizeof(float)}});
      const auto* vectors = on_device[0] ? static_cast<const float*>(on_device[0]) : vectors_;
      auto hits = gpu::BruteForce(spec_.metric, vectors, n_, dim_, queries, nq, k);
      if (hits.ok()) return hits;
      LogWarn("GPU_BRUTE_FORCE: searching on the CPU: " + hits.status().ToString());
    }
    return ExactSearch(spec_.metric, vectors_, n_, dim_, queries, nq, k, filter);
  }
  Result<std::string> Serialize() const override {
    std::string blob = NewBlob();
    SealBlob({IndexType::kGpuBruteForce, spec_.metric, dim_, n_}, &blob);
    return blob;
  }

 private:
  DeviceCopies device_;                               // vectors
};

// The degrees a build of n rows uses: a small segment has fewer neighbours to offer than the
// parameters ask.
struct Degrees {
  size_t intermediate, graph;
};

Result<Degrees> DegreesOf(const Params& params) {
  ASSIGN_OR_RETURN(int64_t intermediate, IntParam(params, "intermediate_graph_degree",
                                                  kDefaultIntermediateDegree, 1, kMaxDegree));
  ASSIGN_OR_RETURN(int64_t graph,
                   IntParam(params, "graph_degree", kDefaultGraphDegree, 1, kMaxDegree));
  if (graph > intermediate) {
    return Status::Invalid("graph_degree (" + std::to_string(graph) +
                           ") must not exceed intermediate_graph_degree (" +
                           std::to_string(intermediate) + ")");
  }
  return Degrees{static_cast<size_t>(intermediate), static_cast<size_t>(graph)};
}

// How the kNN graph is found: exactly (every pair), by clusters (knn_clustered.h; Milvus's
// IVF_PQ name means this here) or by NN-descent (knn_descent.h, on the CPU only: on a GPU the
// clustered graph stands in for it). Default: exact while n^2 x dim stays under a budget (on a
// GPU about 1M x 128, some seconds of GEMM on an H100; on a CPU 6000 x 784); beyond it, by
// clusters on a GPU and by NN-descent on a CPU. On the CPU NN-descent is the cheaper: synthetic
// 100k x 128, k 64, 2 cores: 37 s for kNN recall 0.998; the clustered graph 131 s for 0.988 (its
// rows' probes span half the rows), the exact one 173 s. On Fashion-MNIST, whose clusters the
// probes find, the two cost the same (37 and 34 s; recall 0.9997 and 0.9988).
constexpr double kExactBudgetGpu = 2e14, kExactBudgetCpu = 3.2e10;
enum class KnnAlgo { kExact, kClustered, kDescent };

Result<KnnAlgo> KnnAlgoOf(const Params& params, size_t n, size_t dim, bool device) {
  const KnnAlgo approximate = device ? KnnAlgo::kClustered : KnnAlgo::kDescent;
  auto it = params.find("build_algo");
  if (it == params.end() || it->second.empty()) {
    const double work = static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(dim);
    return work <= (device ? kExactBudgetGpu : kExactBudgetCpu) ? KnnAlgo::kExact : approximate;
  }
  if (EqualsIgnoreCase(it->second, "BRUTE_FORCE")) return KnnAlgo::kExact;
  if (EqualsIgnoreCase(it->second, "IVF") || EqualsIgnoreCase(it->second, "IVF_PQ")) {
    return KnnAlgo::kClustered;
  }
  if (EqualsIgnoreCase(it->second, "NN_DESCENT")) return approximate;
  return Status::Invalid("build_algo must be IVF (IVF_PQ), NN_DESCENT or BRUTE_FORCE, not '" +
                         it->second + "'");
}

Result<Degrees> BuildDegrees(const IndexSpec& spec, size_t n) {
  ASSIGN_OR_RETURN(Degrees d, DegreesOf(spec.params));
  if (n > UINT32_MAX) return Status::Invalid("GPU_CAGRA: too many rows");
  const size_t k_init = std::min(d.intermediate, n > 1 ? n - 1 : 0);
  return Degrees{k_init, std::min(d.graph, k_init)};
}

// The search graph from the kNN graph (n x k_init): detour pruning on the device when asked
// (and it fits), else on the CPU; then the reverse edges.
Result<std::vector<uint32_t>> GraphFromKnn(const std::vector<uint32_t>& knn, size_t n, Degrees d,
                                           bool device, bool* pruned_on_device) {
  // A row short of neighbours (kNone) means distances that compare with nothing: NaN, from rows
  // BuildIndex could not check (device memory, streamed blocks). (NN-descent refuses such rows
  // itself.)
  for (size_t i = 0; i < knn.size(); ++i) {
    if (knn[i] >= n) {
      return Status::Invalid("GPU_CAGRA: row " + std::to_string(i / d.intermediate) +
                             " has no nearest neighbours: its distances are not finite (a NaN or "
                             "infinite component?)");
    }
  }
  if (device) {
    auto pruned = gpu::PruneByDetours(knn.data(), n, d.intermediate, d.graph);
    if (pruned.ok()) {
      *pruned_on_device = true;
      return cagra::AddReverseEdges(pruned->data(), n, d.graph);
    }
    LogWarn("GPU_CAGRA: detour pruning on the CPU: " + pruned.status().ToString());
  }
  *pruned_on_device = false;
  return cagra::OptimizeGraph(knn.data(), n, d.intermediate, d.graph);
}

}  // namespace

Status ValidateCagraParams(const Params& params) {
  RETURN_IF_ERROR(KnnAlgoOf(params, 0, 0, false).status());
  return DegreesOf(params).status();
}

// The kNN graph of an in-memory build: exact or by clusters, on the GPU when there is one, or by
// NN-descent (on the CPU only).
Result<std::vector<uint32_t>> KnnOf(const IndexSpec& spec, KnnAlgo algo, const float* vectors,
                                    size_t n, size_t dim, size_t k, bool device) {
  if (!device) {
    if (algo == KnnAlgo::kClustered) return ClusteredKnnGraph(spec.metric, vectors, n, dim, k, {}, false, nullptr);
    if (algo == KnnAlgo::kDescent) return NnDescentKnnGraph(spec.metric, vectors, n, dim, k, {}, nullptr);
    return cagra::ExactKnnGraph(spec.metric, vectors, n, dim, k);
  }
  auto knn = algo == KnnAlgo::kClustered
                 ? ClusteredKnnGraph(spec.metric, vectors, n, dim, k, {}, true, nullptr)
                 : gpu::KnnGraph(spec.metric, vectors, n, dim, k);
  if (knn.status().code() == Code::kResourceExhausted && !gpu::IsDevicePointer(vectors)) {
    // More than the device holds at once: the exact graph, the rows streamed through device
    // buffers a block at a time.
    LogInfo("GPU_CAGRA: " + knn.status().message() + "; building the exact graph in streamed blocks");
    ArrayRows rows(vectors, n, dim);
    StreamStats stats;
    knn = StreamedKnnGraph(spec.metric, n, dim, k, rows, {0, true}, &stats);
  }
  return knn;
}

Result<std::unique_ptr<Index>> BuildCagraIndex(const IndexSpec& spec, const float* vectors,
                                               size_t n, size_t dim) {
  ASSIGN_OR_RETURN(Degrees d, BuildDegrees(spec, n));
  const bool device = gpu::Available();
  ASSIGN_OR_RETURN(KnnAlgo algo, KnnAlgoOf(spec.params, n, dim, device));
  std::vector<uint32_t> graph, entries;
  if (d.graph > 0) {
    EntrySampler sampler(n, dim);
    RETURN_IF_ERROR(sampler.Collect(vectors, 0, n));
    ASSIGN_OR_RETURN(std::vector<uint32_t> knn, KnnOf(spec, algo, vectors, n, dim, d.intermediate, device));
    bool on_device = false;
    ASSIGN_OR_RETURN(graph, GraphFromKnn(knn, n, d, device, &on_device));
    entries = sampler.Entries(spec.metric, graph, d.graph);
  }
  // Built from device memory: the index keeps no pointer the CPU cannot read.
  const float* host_vectors = gpu::IsDevicePointer(vectors) ? nullptr : vectors;
  return std::unique_ptr<Index>(
      new CagraIndex(spec, host_vectors, n, dim, d.graph, std::move(graph), std::move(entries)));
}

Result<std::unique_ptr<Index>> BuildCagraIndexStreamed(const IndexSpec& spec, size_t n, size_t dim,
                                                       RowSource& source,
                                                       const StreamOptions& options,
                                                       StreamStats* stats) {
  ASSIGN_OR_RETURN(Degrees d, BuildDegrees(spec, n));
  if (options.device && !gpu::Available()) {
    return Status(Code::kFailedPrecondition, "", "a GPU build was asked for: " + gpu::Describe());
  }
  ASSIGN_OR_RETURN(KnnAlgo algo, KnnAlgoOf(spec.params, n, dim, options.device));
  std::vector<uint32_t> graph, entries;
  if (d.graph > 0) {
    ASSIGN_OR_RETURN(const size_t block_rows,
                     PlanBlockRows(n, dim, d.intermediate, BuildMemoryLimit(options), options.device));
    std::vector<uint32_t> knn;
    EntrySampler sampler(n, dim);
    if (block_rows >= n && algo != KnnAlgo::kExact) {
      // It fits at once: all rows in one buffer, then the in-memory build by clusters or by
      // NN-descent (only on the CPU: host memory).
      ASSIGN_OR_RETURN(float* rows, source.Buffer(n * dim * sizeof(float), options.device));
      RETURN_IF_ERROR(source.Read(0, n, rows));
      *stats = {n, 1, 1, uint64_t{n} * dim * sizeof(float), false};
      RETURN_IF_ERROR(sampler.Collect(rows, 0, n));
      ASSIGN_OR_RETURN(knn, KnnOf(spec, algo, rows, n, dim, d.intermediate, options.device));
    } else {  // the exact graph, a block pair at a time (one block when it fits)
      ASSIGN_OR_RETURN(knn, StreamedKnnGraph(spec.metric, n, dim, d.intermediate, source, options,
                                             stats, &sampler));
    }
    const uint64_t prune_bytes = uint64_t{n} * (d.intermediate + d.graph) * sizeof(uint32_t);
    const bool device = options.device && (options.memory_limit == 0 || prune_bytes <= options.memory_limit);
    ASSIGN_OR_RETURN(graph, GraphFromKnn(knn, n, d, device, &stats->pruned_on_device));
    entries = sampler.Entries(spec.metric, graph, d.graph);
  }
  return std::unique_ptr<Index>(
      new CagraIndex(spec, nullptr, n, dim, d.graph, std::move(graph), std::move(entries)));
}

Result<std::unique_ptr<Index>> LoadCagraIndex(const IndexSpec& spec, std::string_view bytes,
                                              const float* vectors, size_t n, size_t dim) {
  BlobHeader header;
  ASSIGN_OR_RETURN(std::string_view payload,
                   DecodeHeader(bytes, IndexType::kGpuCagra, spec.metric, dim, &header));
  if (header.n != n || (vectors == nullptr && n > 0)) {
    return Status::Invalid("GPU_CAGRA index of " + std::to_string(header.n) +
                           " rows needs the caller's vectors, got " + std::to_string(n));
  }
  // The entry points, when the payload ends with them.
  std::vector<uint32_t> entries;
  auto word_at_end = [&payload](size_t i) {  // the i-th uint32 from the end (1: the last)
    uint32_t v;
    std::memcpy(&v, payload.data() + payload.size() - i * sizeof(uint32_t), sizeof v);
    return v;
  };
  if (payload.size() >= 2 * sizeof(uint32_t) && payload.size() % sizeof(uint32_t) == 0 &&
      word_at_end(1) == kEntriesMark) {
    const size_t count = word_at_end(2);
    if (count == 0 || count > n || (count + 2) * sizeof(uint32_t) > payload.size()) {
      return Status::Invalid("not a serialized GPU_CAGRA graph (bad entry points)");
    }
    entries.resize(count);
    std::memcpy(entries.data(), payload.data() + payload.size() - (count + 2) * sizeof(uint32_t),
                count * sizeof(uint32_t));
    payload.remove_suffix((count + 2) * sizeof(uint32_t));
    std::vector<uint32_t> sorted = entries;
    std::sort(sorted.begin(), sorted.end());
    if (sorted.back() >= n || std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
      return Status::Invalid("not a serialized GPU_CAGRA graph (entry point out of range or repeated)");
    }
  }
  const size_t row_bytes = n * sizeof(uint32_t);
  if (n == 0 ? !payload.empty() : payload.size() % row_bytes != 0 ||
                                      payload.size() / row_bytes > static_cast<size_t>(kMaxDegree)) {
    return Status::Invalid("not a serialized GPU_CAGRA graph (bad size)");
  }
  const size_t degree = n == 0 ? 0 : payload.size() / row_bytes;
  std::vector<uint32_t> graph(n * degree);
  if (!graph.empty()) std::memcpy(graph.data(), payload.data(), payload.size());
  for (uint32_t v : graph) {
    if (v >= n) return Status::Invalid("not a serialized GPU_CAGRA graph (edge out of range)");
  }
  return std::unique_ptr<Index>(
      new CagraIndex(spec, vectors, n, dim, degree, std::move(graph), std::move(entries)));
}

Result<std::unique_ptr<Index>> MakeGpuBruteForceIndex(const IndexSpec& spec, const float* vectors,
                                                      size_t n, size_t dim) {
  const float* host_vectors = gpu::IsDevicePointer(vectors) ? nullptr : vectors;
  return std::unique_ptr<Index>(new GpuBruteForceIndex(spec, host_vectors, n, dim));
}

}  // namespace skyway::vector::internal

namespace skyway::vector {
std::string GpuDevice() { return gpu::Available() ? gpu::Describe() : ""; }
size_t GpuSearchBatch() { return gpu::Available() ? gpu::MinDeviceSearchBatch() : 0; }
Result<std::unique_ptr<DeviceVectors>> AllocateDeviceVectors(size_t bytes) {
  return gpu::AllocateVectors(bytes);
}
bool IsGpuType(std::string_view type) {
  return EqualsIgnoreCase(type, "GPU_CAGRA") || EqualsIgnoreCase(type, "GPU_BRUTE_FORCE");
}
}  // namespace skyway::vector
