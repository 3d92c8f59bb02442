// `skyway bench index`: its datasets (Fashion-MNIST's IDX files through zlib, which reads plain
// files as they are; the synthetic mixture generated in fixed-seed chunks on all cores), exact
// answers, recall and QPS, and hnswlib used directly.
#include "cli/dataset.h"

#include <assert.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <list>
#include <mutex>
#include <queue>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "vector/vector.h"

// hnswlib 0.6 defines functions and variables in its headers (cpuid, AVXCapable, the SIMD
// distance pointers), so it can be in one translation unit of a binary only, and vector/'s
// HNSW has it. This copy goes into an anonymous namespace instead: every system header it
// includes is included above, so only hnswlib's own declarations land inside.
#include "vector/hnswlib_config.h"  // hnswlib's ASan setting, as in vector/
namespace {
#include <hnswlib/hnswlib.h>  // NOLINT(build/include_order)
}  // namespace

namespace skyway::cli::dataset {
namespace {

constexpr uint32_t kIdx3UbyteMagic = 0x00000803;
constexpr size_t kChunkRows = 4096;  // rows per seeded generator chunk
constexpr size_t kRank = 16;         // dimensions of each cluster's spread
constexpr float kNoise = 0.05f;      // isotropic noise around each cluster's subspace
constexpr long kMaxNlist = 1024;

uint32_t BigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

Status ReadExactly(gzFile file, const std::string& path, void* dst, size_t n) {
  auto* out = static_cast<char*>(dst);
  while (n > 0) {
    unsigned want = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
    int got = gzread(file, out, want);
    if (got < 0) {
      int err = 0;
      const char* text = gzerror(file, &err);
      return Status::IOError(path + ": " + (text ? text : "read error"));
    }
    if (got == 0) return Status::Invalid(path + ": truncated IDX file");
    out += got;
    n -= static_cast<size_t>(got);
  }
  return Status::Ok();
}

// The mixture: centres, per-cluster bases (dim x kRank) and scales, cumulative weights.
struct Mixture {
  size_t dim = 0;
  std::vector<float> centres, bases, scales;
  std::vector<double> cumulative;
};

Mixture MakeMixture(const SyntheticSpec& spec) {
  Mixture m;
  m.dim = spec.dim;
  size_t clusters = std::clamp<size_t>(spec.rows / 100, 1, 1024);
  std::mt19937_64 rng(SplitMix64(spec.seed));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(0.5f, 1.0f);
  m.centres.resize(clusters * spec.dim);
  for (float& v : m.centres) v = normal(rng);
  m.bases.resize(clusters * spec.dim * kRank);
  float basis_scale = 1.0f / std::sqrt(static_cast<float>(kRank));
  for (float& v : m.bases) v = normal(rng) * basis_scale;
  m.scales.resize(clusters);
  for (float& s : m.scales) s = uniform(rng);
  // Log-normal weights: clusters of uneven size.
  double total = 0;
  for (size_t k = 0; k < clusters; k++) {
    total += std::exp(0.7 * normal(rng));
    m.cumulative.push_back(total);
  }
  for (double& c : m.cumulative) c /= total;
  return m;
}

// Fills rows [first, first + n) of out (row-major, m.dim wide) from the chunk's own generator.
void GenerateChunk(const Mixture& m, uint64_t seed, size_t chunk, size_t n, float* out) {
  std::mt19937_64 rng(SplitMix64(seed ^ SplitMix64(chunk + 1)));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  float z[kRank];
  for (size_t i = 0; i < n; i++) {
    double u = uniform(rng);
    size_t k = static_cast<size_t>(std::lower_bound(m.cumulative.begin(), m.cumulative.end(), u) -
                                   m.cumulative.begin());
    k = std::min(k, m.cumulative.size() - 1);
    for (float& v : z) v = normal(rng);
    const float* centre = &m.centres[k * m.dim];
    const float* basis = &m.bases[k * m.dim * kRank];
    float* row = out + i * m.dim;
    for (size_t d = 0; d < m.dim; d++) {
      float spread = 0;
      for (size_t r = 0; r < kRank; r++) spread += basis[d * kRank + r] * z[r];
      row[d] = centre[d] + m.scales[k] * spread + kNoise * normal(rng);
    }
  }
}

// Runs f(i) for i in [0, n) on `threads` threads taking the next i from a shared counter.
template <typename F>
void ParallelFor(size_t n, int threads, const F& f) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) f(i);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; t++) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

int Threads(int threads) {
  return threads > 0 ? threads : static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
}

}  // namespace

Result<std::vector<float>> ReadIdxImages(const std::string& path, size_t max_rows, size_t* rows,
                                         size_t* dim) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) return Status::FromErrno("open " + path, errno ? errno : ENOENT);
  std::unique_ptr<gzFile_s, int (*)(gzFile)> closer(file, gzclose);
  gzbuffer(file, 1 << 20);
  unsigned char header[16];
  RETURN_IF_ERROR(ReadExactly(file, path, header, sizeof(header)));
  if (BigEndian32(header) != kIdx3UbyteMagic) {
    return Status::Invalid(path + ": not an IDX3 unsigned-byte file");
  }
  size_t count = BigEndian32(header + 4);
  size_t width = size_t{BigEndian32(header + 8)} * BigEndian32(header + 12);
  if (width == 0 || width > (1u << 20)) return Status::Invalid(path + ": bad image size");
  if (max_rows > 0) count = std::min(count, max_rows);
  std::vector<unsigned char> pixels(count * width);
  RETURN_IF_ERROR(ReadExactly(file, path, pixels.data(), pixels.size()));
  std::vector<float> out(pixels.begin(), pixels.end());
  *rows = count;
  *dim = width;
  return out;
}

Result<Dataset> LoadFashionMnist(const std::string& dir, size_t num_queries) {
  Dataset d;
  d.name = "fashion-mnist";
  ASSIGN_OR_RETURN(d.vectors,
                   ReadIdxImages(dir + "/train-images-idx3-ubyte.gz", 0, &d.rows, &d.dim));
  size_t query_dim = 0;
  ASSIGN_OR_RETURN(d.queries, ReadIdxImages(dir + "/t10k-images-idx3-ubyte.gz", num_queries,
                                            &d.num_queries, &query_dim));
  if (query_dim != d.dim) return Status::Invalid(dir + ": train and t10k image sizes differ");
  if (d.num_queries == 0) return Status::Invalid(dir + ": no query images");
  return d;
}

Dataset MakeSynthetic(const SyntheticSpec& spec, int threads) {
  Mixture mixture = MakeMixture(spec);
  size_t total = spec.rows + spec.num_queries;
  std::vector<float> all(total * spec.dim);
  size_t chunks = (total + kChunkRows - 1) / kChunkRows;
  ParallelFor(chunks, Threads(threads), [&](size_t c) {
    size_t first = c * kChunkRows, n = std::min(kChunkRows, total - first);
    GenerateChunk(mixture, spec.seed, c, n, &all[first * spec.dim]);
  });
  Dataset d;
  d.name = "synthetic";
  d.rows = spec.rows;
  d.dim = spec.dim;
  d.num_queries = spec.num_queries;
  d.queries.assign(all.begin() + static_cast<ptrdiff_t>(spec.rows * spec.dim), all.end());
  all.resize(spec.rows * spec.dim);
  all.shrink_to_fit();
  d.vectors = std::move(all);
  return d;
}

Result<Dataset> Open(const std::string& name, const std::string& dir, size_t rows,
                     size_t num_queries, int threads) {
  if (name == "fashion-mnist") return LoadFashionMnist(dir, num_queries);
  if (name != "synthetic") return Status::Invalid("unknown dataset '" + name + "'");
  SyntheticSpec spec;
  spec.rows = rows;
  spec.num_queries = num_queries;
  return MakeSynthetic(spec, threads);
}

vector::IndexSpec BenchSpec(const std::string& type, const Dataset& d) {
  vector::IndexSpec spec;
  spec.type = type;
  spec.metric = vector::Metric::kL2;
  long nlist = std::clamp(std::lround(4 * std::sqrt(double(d.rows))), 1L, kMaxNlist);
  if (type == "HNSW") {
    spec.params = {{"M", std::to_string(kHnswM)},
                   {"efConstruction", std::to_string(kHnswEfConstruction)}};
  } else if (type == "IVF_FLAT") {
    spec.params = {{"nlist", std::to_string(nlist)}};
  } else if (type == "IVF_PQ") {
    size_t m = std::max<size_t>(1, d.dim / 8);
    while (m > 1 && d.dim % m != 0) m--;
    spec.params = {{"nlist", std::to_string(nlist)}, {"m", std::to_string(m)}, {"nbits", "8"}};
  } else if (type == "GPU_CAGRA") {  // Milvus's defaults
    spec.params = {{"intermediate_graph_degree", "128"}, {"graph_degree", "64"}};
  }
  return spec;
}

std::string ParamsText(const vector::Params& params) {
  std::string text;
  for (const auto& [name, value] : params) text += (text.empty() ? "" : " ") + name + "=" + value;
  return text;
}

std::vector<Setting> SearchSettings(const std::string& type, const std::vector<int>& ef,
                                    const std::vector<int>& nprobe, const std::vector<int>& itopk) {
  std::vector<Setting> out;
  if (type == "HNSW") {
    for (int v : ef) out.push_back({"ef", v});
  } else if (type == "GPU_CAGRA") {
    for (int v : itopk) out.push_back({"itopk_size", v});
  } else if (StartsWith(type, "IVF")) {
    for (int v : nprobe) out.push_back({"nprobe", v});
  } else {
    out.push_back({"", 0});
  }
  return out;
}

GroundTruth ComputeGroundTruth(const Dataset& d, size_t k) {
  auto exact = vector::ExactSearch(vector::Metric::kL2, d.vectors.data(), d.rows, d.dim,
                                   d.queries.data(), d.num_queries, k, nullptr);
  GroundTruth truth;
  truth.k = k;
  for (size_t q = 0; q < d.num_queries; q++) {
    const float* query = &d.queries[q * d.dim];
    float worst = 0;
    std::vector<int64_t> rows;
    for (const auto& hit : exact[q]) {
      rows.push_back(hit.row);
      worst = std::max(worst, vector::Score(vector::Metric::kL2, query,
                                            &d.vectors[size_t(hit.row) * d.dim], d.dim));
    }
    truth.rows.push_back(std::move(rows));
    truth.worst.push_back(worst * (1 + 1e-5f) + 1e-6f);  // rounding of the same sum
  }
  return truth;
}

double Recall(const GroundTruth& truth, const Dataset& d, size_t q,
              const std::vector<int64_t>& found) {
  std::vector<int64_t> counted;
  const float* query = &d.queries[q * d.dim];
  const auto& exact = truth.rows[q];
  for (size_t i = 0; i < found.size() && i < truth.k; i++) {
    int64_t row = found[i];
    if (row < 0 || size_t(row) >= d.rows) continue;
    if (std::find(counted.begin(), counted.end(), row) != counted.end()) continue;
    if (std::find(exact.begin(), exact.end(), row) != exact.end() ||
        vector::Score(vector::Metric::kL2, query, &d.vectors[size_t(row) * d.dim], d.dim) <=
            truth.worst[q]) {
      counted.push_back(row);
    }
  }
  return static_cast<double>(counted.size()) / static_cast<double>(truth.k);
}

namespace {

// Mean recall@k of found[q] over the queries.
double MeanRecall(const GroundTruth& truth, const Dataset& d,
                  const std::vector<std::vector<int64_t>>& found) {
  double sum = 0;
  for (size_t q = 0; q < d.num_queries; q++) sum += Recall(truth, d, q, found[q]);
  return sum / static_cast<double>(std::max<size_t>(1, d.num_queries));
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Result<Measured> MeasureSearch(const GroundTruth& truth, const Dataset& d,
                               const SearchOne& search) {
  std::vector<std::vector<int64_t>> found(d.num_queries);
  auto t0 = std::chrono::steady_clock::now();
  for (size_t q = 0; q < d.num_queries; q++) {
    RETURN_IF_ERROR(search(&d.queries[q * d.dim], &found[q]));
  }
  Measured m;
  m.qps = static_cast<double>(d.num_queries) / std::max(1e-9, SecondsSince(t0));
  m.recall = MeanRecall(truth, d, found);
  return m;
}

namespace {

// One thread: faiss would otherwise open an OpenMP team for each single-query call.
struct OneOmpThread {
  int before = omp_get_max_threads();
  OneOmpThread() { omp_set_num_threads(1); }
  ~OneOmpThread() { omp_set_num_threads(before); }
};

vector::Params ParamsOf(const Setting& setting) {
  vector::Params params;
  if (!setting.first.empty()) params[setting.first] = std::to_string(setting.second);
  return params;
}

SearchOne SearchOf(const vector::Index& index, size_t k, const Setting& setting) {
  return [&index, k, params = ParamsOf(setting)](const float* query, std::vector<int64_t>* rows) -> Status {
    ASSIGN_OR_RETURN(auto hits, index.Search(query, 1, k, params, nullptr));
    rows->clear();
    for (const auto& hit : hits.at(0)) rows->push_back(hit.row);
    return Status::Ok();
  };
}

// One timed pass of search into *point: its recall, the best QPS so far.
Status MeasurePass(const GroundTruth& truth, const Dataset& d, const SearchOne& search,
                   SearchPoint* point) {
  ASSIGN_OR_RETURN(Measured m, MeasureSearch(truth, d, search));
  point->recall = m.recall, point->qps = std::max(point->qps, m.qps);
  return Status::Ok();
}

// One timed pass of hnswlib at ef into *point.
Status MeasureRaw(const GroundTruth& truth, const Dataset& d, HnswlibIndex& raw, size_t k, int ef,
                  SearchPoint* point) {
  raw.SetEf(ef);
  SearchOne theirs = [&raw, k](const float* query, std::vector<int64_t>* rows) {
    raw.Search(query, k, rows);
    return Status::Ok();
  };
  return MeasurePass(truth, d, theirs, point);
}

}  // namespace

Status MeasureIndex(const GroundTruth& truth, const Dataset& d, const vector::Index& index,
                    size_t k, const std::vector<Setting>& settings, int passes, HnswlibIndex* raw,
                    const std::atomic<bool>* stop, std::vector<SearchPoint>* points,
                    std::vector<SearchPoint>* raw_points) {
  OneOmpThread one_thread;
  for (const auto& setting : settings) {
    const SearchOne ours = SearchOf(index, k, setting);
    SearchPoint point{setting.first, setting.second, -1, -1}, raw_point = point;
    for (int pass = 0; pass < passes; pass++) {
      if (stop && *stop) return Status::Aborted("interrupted");
      RETURN_IF_ERROR(MeasurePass(truth, d, ours, &point));
      if (raw) RETURN_IF_ERROR(MeasureRaw(truth, d, *raw, k, setting.second, &raw_point));
    }
    points->push_back(point);
    if (raw) raw_points->push_back(raw_point);
  }
  return Status::Ok();
}

Status MeasureBeside(const GroundTruth& truth, const Dataset& d, const vector::Index& index,
                     size_t k, const std::vector<Setting>& settings, HnswlibIndex& raw,
                     const std::vector<int>& raw_efs, int passes, const std::atomic<bool>* stop,
                     std::vector<SearchPoint>* points, std::vector<SearchPoint>* raw_points) {
  OneOmpThread one_thread;
  std::vector<SearchOne> searches;
  std::vector<SearchPoint> ours, theirs;
  for (const auto& setting : settings) {
    searches.push_back(SearchOf(index, k, setting));
    ours.push_back({setting.first, setting.second, -1, -1});
  }
  for (int ef : raw_efs) theirs.push_back({"ef", ef, -1, -1});
  for (int pass = 0; pass < passes; pass++) {
    for (size_t i = 0; i < settings.size(); i++) {
      if (stop && *stop) return Status::Aborted("interrupted");
      RETURN_IF_ERROR(MeasurePass(truth, d, searches[i], &ours[i]));
    }
    for (size_t i = 0; i < raw_efs.size(); i++) {
      if (stop && *stop) return Status::Aborted("interrupted");
      RETURN_IF_ERROR(MeasureRaw(truth, d, raw, k, raw_efs[i], &theirs[i]));
    }
  }
  *points = std::move(ours);
  *raw_points = std::move(theirs);
  return Status::Ok();
}

Status MeasureBatch(const GroundTruth& truth, const Dataset& d, const vector::Index& index,
                    size_t k, const std::vector<Setting>& settings, int passes,
                    const std::atomic<bool>* stop, std::vector<SearchPoint>* points) {
  for (const auto& setting : settings) {
    const vector::Params params = ParamsOf(setting);
    SearchPoint point{setting.first, setting.second, -1, -1};
    for (int pass = 0; pass < passes; pass++) {
      if (stop && *stop) return Status::Aborted("interrupted");
      const auto t0 = std::chrono::steady_clock::now();
      ASSIGN_OR_RETURN(auto hits, index.Search(d.queries.data(), d.num_queries, k, params, nullptr));
      const double seconds = SecondsSince(t0);
      point.qps = std::max(point.qps, static_cast<double>(d.num_queries) / std::max(1e-9, seconds));
      std::vector<std::vector<int64_t>> found(d.num_queries);
      for (size_t q = 0; q < d.num_queries; q++) {
        for (const auto& hit : hits.at(q)) found[q].push_back(hit.row);
      }
      point.recall = MeanRecall(truth, d, found);
    }
    points->push_back(point);
  }
  return Status::Ok();
}

// ---- hnswlib ---------------------------------------------------------------------------------

struct HnswlibIndex::Impl {
  explicit Impl(size_t dim) : space(dim) {}
  hnswlib::L2Space space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;
};

HnswlibIndex::HnswlibIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HnswlibIndex::~HnswlibIndex() = default;

Result<std::unique_ptr<HnswlibIndex>> HnswlibIndex::Build(const float* vectors, size_t n,
                                                          size_t dim, int m, int ef_construction,
                                                          int threads) {
  auto impl = std::make_unique<Impl>(dim);
  std::atomic<bool> failed{false};
  std::string error;
  try {
    impl->index = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        &impl->space, n, static_cast<size_t>(m), static_cast<size_t>(ef_construction));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("hnswlib: ") + e.what());
  }
  auto* index = impl->index.get();
  ParallelFor(n, Threads(threads), [&](size_t i) {
    try {
      index->addPoint(vectors + i * dim, i);
    } catch (const std::exception& e) {
      if (!failed.exchange(true)) error = e.what();
    }
  });
  if (failed) return Status::Internal("hnswlib addPoint: " + error);
  return std::unique_ptr<HnswlibIndex>(new HnswlibIndex(std::move(impl)));
}

void HnswlibIndex::SetEf(int ef) { impl_->index->setEf(static_cast<size_t>(ef)); }

void HnswlibIndex::Search(const float* query, size_t k, std::vector<int64_t>* rows) const {
  auto queue = impl_->index->searchKnn(query, k);
  rows->resize(queue.size());
  for (size_t i = queue.size(); i > 0; i--) {
    (*rows)[i - 1] = static_cast<int64_t>(queue.top().second);
    queue.pop();
  }
}

}  // namespace skyway::cli::dataset
