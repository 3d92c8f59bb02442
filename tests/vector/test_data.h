// Helpers shared by the vector tests: random vectors and recall against an exact answer.
#pragma once

#include <zlib.h>

#include <cstring>
#include <string>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "vector/gpu/cagra.h"
#include "vector/vector.h"

namespace skyway::vector::test_data {

// Gaussian clusters: the shape of real embeddings, where IVF's lists mean something.
inline std::vector<float> ClusteredVectors(size_t n, size_t dim, uint32_t seed) {
  std::mt19937 rng(42);  // the same centers for base and queries
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> centers(64 * dim);
  for (float& c : centers) c = normal(rng);
  rng.seed(seed);
  std::uniform_int_distribution<size_t> pick(0, 63);
  std::vector<float> out(n * dim);
  for (size_t i = 0; i < n; ++i) {
    const float* c = &centers[pick(rng) * dim];
    for (size_t j = 0; j < dim; ++j) out[i * dim + j] = c[j] + 0.6F * normal(rng);
  }
  return out;
}

// Islands: `islands` Gaussian blobs (unit spread) whose centres lie about 28 x their spread apart,
// row i in blob i % islands. A kNN graph of them has no edge between blobs. The same centres for
// every seed (base rows and queries).
inline std::vector<float> IslandVectors(size_t n, size_t islands, size_t dim, uint32_t seed) {
  std::mt19937 rng(43);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> centers(islands * dim);
  for (float& c : centers) c = 20 * normal(rng);
  rng.seed(seed);
  std::vector<float> out(n * dim);
  for (size_t i = 0; i < n; ++i) {
    const float* c = &centers[(i % islands) * dim];
    for (size_t j = 0; j < dim; ++j) out[i * dim + j] = c[j] + normal(rng);
  }
  return out;
}

// The islands case of the entry-point tests: `blobs` blobs of 40 rows (16-d), two queries from
// each, the exact answers, the graph from the exact kNN graph (32 neighbours, degree 16), and the
// entry points drawn as a build draws them (k-means++ only: no cover, no fill).
struct Islands {
  static constexpr size_t dim = 16, k = 10, degree = 16;
  size_t blobs = 0, n = 0, nq = 0;
  std::vector<float> v, q;
  std::vector<std::vector<Hit>> exact;
  std::vector<uint32_t> graph, entries;
};
inline Islands MakeIslands(size_t blobs = 48) {
  Islands t;
  t.blobs = blobs;
  t.n = blobs * 40;
  t.nq = 2 * blobs;
  t.v = IslandVectors(t.n, blobs, t.dim, 1);
  t.q = IslandVectors(t.nq, blobs, t.dim, 2);
  t.exact = ExactSearch(Metric::kL2, t.v.data(), t.n, t.dim, t.q.data(), t.nq, t.k, nullptr);
  const auto knn = cagra::ExactKnnGraph(Metric::kL2, t.v.data(), t.n, t.dim, 32);
  t.graph = cagra::OptimizeGraph(knn.data(), t.n, 32, t.degree);
  const std::vector<uint32_t> ids = cagra::EntrySampleRows(t.n, t.dim, 5);
  std::vector<float> sample;
  for (uint32_t r : ids) sample.insert(sample.end(), &t.v[r * t.dim], &t.v[r * t.dim] + t.dim);
  t.entries = cagra::EntryPoints(Metric::kL2, sample.data(), ids.data(), ids.size(), t.dim,
                                 cagra::EntryCount(t.n, t.dim), 9);
  return t;
}

// The first n images of a Fashion-MNIST IDX file as floats in [0, 1]; empty when absent.
inline std::vector<float> ReadFashionMnist(const char* name, size_t n) {
  std::string path = std::string("/usr/share/datasets/fashion-mnist/") + name;
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return {};
  unsigned char header[16];
  std::vector<unsigned char> pixels(n * 784);
  bool ok = gzread(f, header, 16) == 16 &&
            gzread(f, pixels.data(), static_cast<unsigned>(pixels.size())) ==
                static_cast<int>(pixels.size());
  gzclose(f);
  if (!ok) return {};
  std::vector<float> out(pixels.size());
  for (size_t i = 0; i < pixels.size(); ++i) out[i] = pixels[i] / 255.0F;
  return out;
}

inline std::vector<float> RandomVectors(size_t n, size_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(n * dim);
  for (float& x : v) x = normal(rng);
  return v;
}

// The share of the exact answers' rows found, over all queries.
inline double Recall(const std::vector<std::vector<Hit>>& got,
                     const std::vector<std::vector<Hit>>& exact) {
  size_t found = 0, total = 0;
  for (size_t q = 0; q < exact.size(); ++q) {
    std::set<int64_t> truth;
    for (const Hit& h : exact[q]) truth.insert(h.row);
    for (const Hit& h : got[q]) found += truth.count(h.row);
    total += exact[q].size();
  }
  return total ? static_cast<double>(found) / total : 1.0;
}

// Share of the exact kNN lists (n x k) found in got (GEMM rounding or clusters may miss some).
inline double KnnRecall(const std::vector<uint32_t>& got, const std::vector<uint32_t>& want, size_t k) {
  size_t found = 0;
  for (size_t x = 0; x < want.size() / k; ++x) {
    std::set<uint32_t> truth(&want[x * k], &want[x * k] + k);
    for (size_t e = 0; e < k; ++e) found += truth.count(got[x * k + e]);
  }
  return static_cast<double>(found) / want.size();
}

// ArrayRows that counts what was asked of it, and can be told to fail its nth read.
class ArraySource final : public ArrayRows {
 public:
  ArraySource(const float* rows, size_t n, size_t dim) : ArrayRows(rows, n, dim) {}
  Result<float*> Buffer(size_t bytes, bool device) override {
    buffer_bytes += bytes;
    return ArrayRows::Buffer(bytes, device);
  }
  Status Read(size_t first, size_t count, float* dst) override {
    if (++reads == fail_read) return Status::IOError("read " + std::to_string(reads) + " failed");
    rows_read += count;
    return ArrayRows::Read(first, count, dst);
  }
  size_t reads = 0, rows_read = 0, buffer_bytes = 0, fail_read = 0;
};

}  // namespace skyway::vector::test_data
