// dataset: what `skyway bench index` measures against, private to cli/. The vectors (Fashion-MNIST
// from the IDX files of Debian's dataset-fashion-mnist, a fixed-seed synthetic Gaussian mixture),
// the exact answers of their queries, recall@k and QPS of a search, and the reference it is
// compared with: hnswlib's HierarchicalNSW used directly.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/common.h"
#include "vector/vector.h"

namespace skyway::cli::dataset {

struct Dataset {
  std::string name;  // "fashion-mnist", "synthetic"
  size_t rows = 0;
  size_t dim = 0;
  size_t num_queries = 0;
  std::vector<float> vectors;  // rows x dim, row-major
  std::vector<float> queries;  // num_queries x dim, not among the vectors
};

constexpr char kFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

// The images of an IDX3 unsigned-byte file (gzip-compressed or not) as float32 rows of
// height x width pixels, values 0..255; at most max_rows rows (0: all).
// Errors: kIOError (cannot read), kInvalidArgument (not an IDX3 ubyte file, truncated).
Result<std::vector<float>> ReadIdxImages(const std::string& path, size_t max_rows, size_t* rows,
                                         size_t* dim);

// "fashion-mnist" (from dir) or "synthetic" (rows x 128); num_queries queries.
// Errors: LoadFashionMnist's; kInvalidArgument for another name.
Result<Dataset> Open(const std::string& name, const std::string& dir, size_t rows,
                     size_t num_queries, int threads);

// train-images (60000 x 784) as the vectors, the first num_queries of t10k-images as queries.
Result<Dataset> LoadFashionMnist(const std::string& dir, size_t num_queries);

struct SyntheticSpec {
  size_t rows = 1000000;
  size_t dim = 128;
  size_t num_queries = 1000;
  uint64_t seed = 20240611;
};

// A mixture of clusters of uneven size, each a random low-rank Gaussian around its centre plus
// a little isotropic noise (lower intrinsic dimension than uniform noise, as real embeddings
// have). The same spec gives the same bytes whatever the thread count. Queries are held-out
// draws from the same mixture. threads <= 0: all cores.
Dataset MakeSynthetic(const SyntheticSpec& spec, int threads);

// The exact top k of each query (vector::ExactSearch, L2) and the k-th exact distance: a hit at
// that distance or closer counts as found, so ties (duplicate images) do not lower the recall of
// an exact index.
struct GroundTruth {
  size_t k = 0;
  std::vector<std::vector<int64_t>> rows;
  std::vector<float> worst;
};
GroundTruth ComputeGroundTruth(const Dataset& d, size_t k);

// The fraction of the first k rows found for query q that are true top-k neighbours
// (duplicates and invalid rows do not count).
double Recall(const GroundTruth& truth, const Dataset& d, size_t q,
              const std::vector<int64_t>& found);

// One search for one query: the rows found, best first.
using SearchOne = std::function<Status(const float* query, std::vector<int64_t>* rows)>;

struct Measured {
  double recall = 0;  // mean recall@k over the queries
  double qps = 0;     // queries per second, one call per query on this thread
};
// Runs every query once, timed; recall is computed after the clock stops. Errors: search's.
Result<Measured> MeasureSearch(const GroundTruth& truth, const Dataset& d, const SearchOne& search);

// One search setting of one index: recall@k against exact search and single-thread QPS.
struct SearchPoint {
  std::string param;  // "ef", "nprobe"; empty when the index takes none (FLAT)
  int value = 0;
  double recall = -1;  // < 0: not measured
  double qps = -1;
};
// "ef=16 recall 0.912 12345 QPS; ef=32 ...", for the log and the report (inline: the report's
// test links no dataset.cc).
inline std::string Summary(const std::vector<SearchPoint>& points) {
  std::string text;
  for (const auto& p : points) {
    char buf[64];
    snprintf(buf, sizeof(buf), "recall %.3f %.0f QPS", p.recall, p.qps);
    if (!text.empty()) text += "; ";
    if (!p.param.empty()) text += p.param + "=" + std::to_string(p.value) + " ";
    text += buf;
  }
  return text;
}

constexpr int kHnswM = 16, kHnswEfConstruction = 200;

// The index the bench builds of a type over d, L2: HNSW M=16 efConstruction=200; IVF nlist =
// min(1024, 4 sqrt(rows)); IVF_PQ m = dim/8 (or the next smaller divisor of dim), nbits 8.
vector::IndexSpec BenchSpec(const std::string& type, const Dataset& d);
// "M=16 efConstruction=200".
std::string ParamsText(const vector::Params& params);

class HnswlibIndex;
// A search setting: {"ef", 32}, {"nprobe", 16}, or {"", 0} for an index that takes none.
using Setting = std::pair<std::string, int>;

// The settings a type is searched at: HNSW each ef, IVF_* each nprobe, GPU_CAGRA each
// itopk_size, others {"", 0}.
std::vector<Setting> SearchSettings(const std::string& type, const std::vector<int>& ef,
                                    const std::vector<int>& nprobe, const std::vector<int>& itopk);

// Measures index (k nearest, one query per call, OpenMP limited to one thread) at each setting: the
// best QPS of `passes` timed passes. With raw (may be null), the hnswlib index is measured at the
// same ef values, its passes alternating with index's so that both see the same background load.
// Errors: the index's search errors; kAborted once *stop is set.
Status MeasureIndex(const GroundTruth& truth, const Dataset& d, const vector::Index& index,
                    size_t k, const std::vector<Setting>& settings, int passes, HnswlibIndex* raw,
                    const std::atomic<bool>* stop, std::vector<SearchPoint>* points,
                    std::vector<SearchPoint>* raw_points);

// Measures index at each setting and raw at each ef of raw_efs in turn, pass after pass (all of
// index's settings, then all of raw's efs), the best QPS of `passes`: two curves measured side by
// side, for a comparison at the same QPS. Errors: as MeasureIndex.
Status MeasureBeside(const GroundTruth& truth, const Dataset& d, const vector::Index& index,
                     size_t k, const std::vector<Setting>& settings, HnswlibIndex& raw,
                     const std::vector<int>& raw_efs, int passes, const std::atomic<bool>* stop,
                     std::vector<SearchPoint>* points, std::vector<SearchPoint>* raw_points);

// Measures index at each setting with all the queries in one call (the index's batch search: on
// a GPU when it has one, else on all cores), the best QPS of `passes` (the first pays for any
// device copy the index keeps). Errors: as MeasureIndex.
Status MeasureBatch(const GroundTruth& truth, const Dataset& d, const vector::Index& index,
                    size_t k, const std::vector<Setting>& settings, int passes,
                    const std::atomic<bool>* stop, std::vector<SearchPoint>* points);

// hnswlib::HierarchicalNSW (L2) used directly: the yardstick for the HNSW index.
class HnswlibIndex {
 public:
  // Adds the rows from `threads` threads taking the next row from a shared counter (as hnswlib's
  // Python binding does). Errors: kInternal when hnswlib throws.
  static Result<std::unique_ptr<HnswlibIndex>> Build(const float* vectors, size_t n, size_t dim,
                                                     int m, int ef_construction, int threads);
  ~HnswlibIndex();
  HnswlibIndex(const HnswlibIndex&) = delete;
  HnswlibIndex& operator=(const HnswlibIndex&) = delete;

  // Sets ef for the searches that follow. Not thread-safe.
  void SetEf(int ef);
  // The top k rows for one query (searchKnn), best first.
  void Search(const float* query, size_t k, std::vector<int64_t>* rows) const;

 private:
  struct Impl;
  explicit HnswlibIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace skyway::cli::dataset
