// The GPU kernels run on the CPU (cuda_emu.h) against the CPU reference: their logic is checked
// everywhere, CI included, while gpu_test checks them (and the host code, cuBLAS, memory
// limits) on a real device when there is one. Block sizes are smaller than the launches in
// device.cu use, to keep the thread count low; every kernel loops over blockDim.
#include "cuda_emu.h"  // first: the kernels compile against it

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "test_data.h"
#include "vector/gpu/cagra.h"
#include "vector/gpu/kernels_knn.cuh"
#include "vector/gpu/kernels_search.cuh"
#include "vector/internal.h"

namespace skyway::vector::gpu {
namespace {

using test_data::ClusteredVectors;
using test_data::RandomVectors;

size_t Pow2(size_t v) {
  size_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

int CodeFor(Metric m) { return m == Metric::kL2 ? kL2 : m == Metric::kIP ? kIP : kCos; }

// Sorts (distance, id) pairs in shared memory, a block of `threads`, and returns them.
std::vector<std::pair<float, uint32_t>> SortOnBlock(std::vector<std::pair<float, uint32_t>> in,
                                                    unsigned threads) {
  const int m = static_cast<int>(in.size());
  cuda_emu::Launch(1, threads, m * 8, [&] {
    SKYWAY_DYNAMIC_SHARED(unsigned char, smem);
    float* d = reinterpret_cast<float*>(smem);
    uint32_t* id = reinterpret_cast<uint32_t*>(d + m);
    for (int t = threadIdx.x; t < m; t += blockDim.x) {
      d[t] = in[t].first;
      id[t] = in[t].second;
    }
    BitonicSort(ByDistanceThenId{d, id}, m);
    for (int t = threadIdx.x; t < m; t += blockDim.x) in[t] = {d[t], id[t]};
  });
  return in;
}

TEST(KernelsTest, BitonicSortOrdersByDistanceThenId) {
  std::mt19937 rng(7);
  for (int m : {2, 4, 64, 512}) {
    for (unsigned threads : {32U, 96U}) {  // fewer and more threads than m / 2
      std::vector<std::pair<float, uint32_t>> in(m);
      for (int i = 0; i < m; ++i) in[i] = {static_cast<float>(rng() % 16), static_cast<uint32_t>(rng())};
      in[0].first = kInf;  // empty slots sort last
      in[0].second = kNone;
      std::vector<std::pair<float, uint32_t>> want = in;
      std::sort(want.begin(), want.end());
      EXPECT_EQ(SortOnBlock(in, threads), want) << "m=" << m << " threads=" << threads;
    }
  }
}

TEST(KernelsTest, BitonicSortOrdersKeys) {
  std::mt19937 rng(8);
  std::vector<uint32_t> keys(256);
  for (uint32_t& k : keys) k = rng() % 1000;
  std::vector<uint32_t> want = keys;
  std::sort(want.begin(), want.end());
  cuda_emu::Launch(1, 64, 0, [&] { BitonicSort(ByKey{keys.data()}, 256); });
  EXPECT_EQ(keys, want);
}

// What DeviceBlockTopK does for one query block, the GEMM on the CPU: norms, FillTop, then per
// base tile the dot products (tq x tc, row-major as the cuBLAS call leaves them) and SelectTopK.
struct TopK {
  std::vector<float> d;
  std::vector<uint32_t> id;
  std::vector<float> qn, bn;  // RowNorms' output
};
float Dot(const float* a, const float* b, size_t dim) {
  float s = 0;
  for (size_t e = 0; e < dim; ++e) s += a[e] * b[e];
  return s;
}
TopK SelectOnBlocks(Metric metric, const float* q, size_t nq, const float* base, size_t nb,
                    size_t dim, size_t k, size_t tile, bool exclude_self) {
  const int code = CodeFor(metric);
  const size_t k2 = Pow2(k);
  std::vector<float> dots;
  TopK top{std::vector<float>(nq * k2), std::vector<uint32_t>(nq * k2), std::vector<float>(nq),
           std::vector<float>(nb)};
  std::vector<float>& qn = top.qn;
  std::vector<float>& bn = top.bn;
  cuda_emu::Launch(2, 32, 0, [&] {
    RowNorms(q, nq, dim, code, qn.data());
    RowNorms(base, nb, dim, code, bn.data());
    FillTop(top.d.data(), top.id.data(), nq * k2);
  });
  for (size_t c0 = 0; c0 < nb; c0 += tile) {
    const size_t tc = std::min(tile, nb - c0);
    dots.assign(nq * tc, 0);
    for (size_t i = 0; i < nq; ++i) {
      for (size_t j = 0; j < tc; ++j) dots[i * tc + j] = Dot(&q[i * dim], &base[(c0 + j) * dim], dim);
    }
    cuda_emu::Launch(static_cast<unsigned>(nq), 32, SelectTopKSharedBytes(k2), [&] {
      SelectTopK(dots.data(), static_cast<int>(nq), static_cast<int>(tc), bn.data() + c0,
                 static_cast<uint32_t>(c0), qn.data(), 0, code, exclude_self, top.d.data(),
                 top.id.data(), static_cast<int>(k2));
    });
  }
  return top;
}

TEST(KernelsTest, SelectTopKKeepsTheExactNearestAcrossTiles) {
  const size_t n = 160, dim = 24;
  const std::vector<float> v = ClusteredVectors(n, dim, 3);
  for (Metric metric : {Metric::kL2, Metric::kIP, Metric::kCosine}) {
    // k2 below the block (32 threads: a step overflows the buffer) and above it (several steps
    // fill it, the last flush is partial).
    for (size_t k : {size_t{10}, size_t{100}}) {
      SCOPED_TRACE(std::to_string(static_cast<int>(metric)) + " k=" + std::to_string(k));
      const size_t k2 = Pow2(k);
      // Self-excluded kNN of the set itself (the graph build), tiles of 70 and a partial one.
      TopK top = SelectOnBlocks(metric, v.data(), n, v.data(), n, dim, k, 70, true);
      for (size_t x = 0; x < n; ++x) {
        // The same distances the kernel computes, sorted by (distance, row): the running list
        // must be exactly their first k2.
        std::vector<std::pair<float, uint32_t>> want;
        for (size_t y = 0; y < n; ++y) {
          if (y == x) continue;
          const float dot = Dot(&v[x * dim], &v[y * dim], dim);
          const float d = metric == Metric::kL2   ? std::fmax(top.bn[y] + top.qn[x] - 2.0F * dot, 0.0F)
                          : metric == Metric::kIP ? -dot
                                                  : -dot * top.bn[y] * top.qn[x];
          want.push_back({d, static_cast<uint32_t>(y)});
        }
        std::sort(want.begin(), want.end());
        for (size_t e = 0; e < k2; ++e) {
          ASSERT_EQ(top.id[x * k2 + e], want[e].second) << "row " << x << " rank " << e;
          ASSERT_EQ(top.d[x * k2 + e], want[e].first) << "row " << x << " rank " << e;
        }
      }
      // And they are the metric's nearest rows (the norms' formulas aside).
      std::vector<uint32_t> got(n * k);
      for (size_t x = 0; x < n; ++x) {
        for (size_t e = 0; e < k; ++e) got[x * k + e] = top.id[x * k2 + e];
      }
      const std::vector<uint32_t> exact = cagra::ExactKnnGraph(metric, v.data(), n, dim, k);
      EXPECT_GE(test_data::KnnRecall(got, exact, k), 0.995);
    }
  }
}

TEST(KernelsTest, SelectTopKFillsShortListsWithEmptySlots) {
  // 5 base rows, k = 8: the last 3 slots stay (kInf, kNone); no self exclusion for queries.
  const size_t dim = 8;
  const std::vector<float> base = RandomVectors(5, dim, 1), q = RandomVectors(3, dim, 2);
  TopK top = SelectOnBlocks(Metric::kL2, q.data(), 3, base.data(), 5, dim, 8, 2, false);
  for (size_t i = 0; i < 3; ++i) {
    std::set<uint32_t> rows(&top.id[i * 8], &top.id[i * 8] + 5);
    EXPECT_EQ(rows, (std::set<uint32_t>{0, 1, 2, 3, 4}));
    for (size_t e = 5; e < 8; ++e) {
      EXPECT_EQ(top.id[i * 8 + e], kNone);
      EXPECT_EQ(top.d[i * 8 + e], kInf);
    }
  }
}

TEST(KernelsTest, GatherCopiesTheNamedRows) {
  const size_t dim = 5;
  const std::vector<float> src = RandomVectors(20, dim, 4);
  const std::vector<uint32_t> rows = {19, 0, 7, 7};
  std::vector<float> dst(rows.size() * dim, -1);
  cuda_emu::Launch(3, 32, 0, [&] { Gather(src.data(), rows.data(), rows.size(), dim, dst.data()); });
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t e = 0; e < dim; ++e) EXPECT_EQ(dst[i * dim + e], src[rows[i] * dim + e]);
  }
}

std::vector<uint32_t> PruneOnBlocks(const std::vector<uint32_t>& knn, size_t n, size_t k,
                                    size_t degree, unsigned grid) {
  const size_t k2 = Pow2(k), table = 2 * k2;
  std::vector<uint32_t> out(n * degree, kNone);
  cuda_emu::Launch(grid, 64, DetourPruneSharedBytes(k, k2, table), [&] {
    DetourPrune(knn.data(), static_cast<uint32_t>(n), static_cast<int>(k), static_cast<int>(degree),
                static_cast<int>(table), static_cast<int>(k2), out.data());
  });
  return out;
}

TEST(KernelsTest, DetourPruneEqualsTheCpuReference) {
  // Real data: Fashion-MNIST's first 400 images when installed, clustered vectors otherwise.
  size_t n = 400, dim = 784;
  std::vector<float> v = test_data::ReadFashionMnist("train-images-idx3-ubyte.gz", n);
  if (v.empty()) {
    dim = 32;
    v = ClusteredVectors(n, dim, 5);
  }
  for (size_t k : {size_t{24}, size_t{32}}) {  // a partial and a full power of two
    const std::vector<uint32_t> knn = cagra::ExactKnnGraph(Metric::kL2, v.data(), n, dim, k);
    const std::vector<uint32_t> want = cagra::PruneByDetours(knn.data(), n, k, 16);
    // Fewer blocks than rows: each block walks several rows, reusing its shared memory.
    EXPECT_EQ(PruneOnBlocks(knn, n, k, 16, 37), want) << "k=" << k;
  }
}

TEST(KernelsTest, DetourPruneHandlesRepeatedNeighbours) {
  // n <= k: ExactKnnGraph repeats a row's last neighbour; a repeat keeps its best rank.
  const size_t n = 6, dim = 4, k = 8;
  const std::vector<float> v = RandomVectors(n, dim, 6);
  const std::vector<uint32_t> knn = cagra::ExactKnnGraph(Metric::kL2, v.data(), n, dim, k);
  EXPECT_EQ(PruneOnBlocks(knn, n, k, 4, 2), cagra::PruneByDetours(knn.data(), n, k, 4));
}

// CagraSearchKernel over a batch, as device_search.cu launches it.
std::vector<std::vector<Hit>> SearchOnBlocks(Metric metric, const std::vector<uint32_t>& graph,
                                             size_t degree, const std::vector<float>& v, size_t dim,
                                             std::vector<float> q, size_t k, size_t itopk,
                                             size_t width, size_t query_base, unsigned threads = 32,
                                             const std::vector<uint32_t>& entries = {},
                                             size_t entry_stride = 0) {
  const size_t n = v.size() / dim, nq = q.size() / dim;
  const size_t list = std::max(itopk, k);
  const size_t m = Pow2(list + width * degree);
  std::vector<float> inv(n, 0);
  if (metric == Metric::kCosine) {
    for (size_t i = 0; i < n; ++i) inv[i] = internal::InverseNorm(&v[i * dim], dim);
    q = internal::NormalizedCopy(q.data(), nq, dim);
  }
  const size_t words = (n + 31) / 32;
  std::vector<uint32_t> visited(nq * words, 0), ids(nq * k);
  std::vector<float> dist(nq * k);
  const size_t iterations = 2 * (list / width) + 16;
  const size_t seeds = std::min(n, cagra::DefaultRandomSeeds(width, degree, list, entries.size()));
  cuda_emu::Launch(static_cast<unsigned>(nq), threads, CagraSearchSharedBytes(dim, m), [&] {
    CagraSearchKernel(graph.data(), static_cast<uint32_t>(n), static_cast<int>(degree),
                      entries.data(), static_cast<int>(entry_stride > 0 ? entry_stride : entries.size()),
                      static_cast<int>(entry_stride), v.data(),
                      inv.data(), dim, CodeFor(metric), q.data(), static_cast<int>(list),
                      static_cast<int>(width), static_cast<int>(iterations), static_cast<int>(seeds),
                      /*seed=*/11, query_base, static_cast<int>(m), visited.data(), words,
                      static_cast<int>(k), ids.data(), dist.data());
  });
  std::vector<std::vector<Hit>> out(nq);
  for (size_t i = 0; i < nq; ++i) {
    for (size_t e = 0; e < k && ids[i * k + e] != kNone; ++e) {
      const float d = dist[i * k + e];
      out[i].push_back({static_cast<int64_t>(ids[i * k + e]), metric == Metric::kL2 ? d : -d});
    }
  }
  return out;
}

TEST(KernelsTest, CagraSearchFindsTheNearestRows) {
  // Real data: Fashion-MNIST when installed (the first 3000 images, queries the next 8), else
  // Gaussian vectors. (Well separated clusters would split the graph into islands, and random
  // seeds would decide the recall.)
  const size_t n = 3000, degree = 16, k = 10, nq = 8;
  size_t dim = 784;
  std::vector<float> v = test_data::ReadFashionMnist("train-images-idx3-ubyte.gz", n + nq);
  if (v.empty()) {
    dim = 32;
    v = RandomVectors(n + nq, dim, 9);
  }
  const std::vector<float> q(v.begin() + n * dim, v.end());
  v.resize(n * dim);
  for (Metric metric : {Metric::kL2, Metric::kIP, Metric::kCosine}) {
    SCOPED_TRACE(static_cast<int>(metric));
    const std::vector<uint32_t> knn = cagra::ExactKnnGraph(metric, v.data(), n, dim, 32);
    const std::vector<uint32_t> graph = cagra::OptimizeGraph(knn.data(), n, 32, degree);
    const auto exact = ExactSearch(metric, v.data(), n, dim, q.data(), nq, k, nullptr);
    // The CPU search of the same graph with the same list: the bar for the kernel's recall.
    std::vector<float> inv(n, 0), unit = q;
    if (metric == Metric::kCosine) {
      for (size_t i = 0; i < n; ++i) inv[i] = internal::InverseNorm(&v[i * dim], dim);
      unit = internal::NormalizedCopy(q.data(), nq, dim);
    }
    std::vector<std::vector<Hit>> cpu(nq);
    cagra::SearchParams params;
    params.itopk = 32;
    for (size_t i = 0; i < nq; ++i) {
      const cagra::GraphView view{.graph = graph.data(), .n = n, .degree = degree, .vectors = v.data(),
                                  .inv_norms = metric == Metric::kCosine ? inv.data() : nullptr,
                                  .dim = dim};
      cpu[i] = cagra::Search(metric, view, &unit[i * dim], k, params, nullptr, 11);
    }
    const double cpu_recall = test_data::Recall(cpu, exact);
    // L2 also with two parents a round and two warps scoring candidates, and with a list that
    // is not a power of two.
    struct Case {
      size_t itopk, width;
      unsigned threads;
    };
    std::vector<Case> cases = {{32, 1, 32}};
    if (metric == Metric::kL2) cases.insert(cases.end(), {{32, 2, 64}, {40, 2, 64}});
    for (const Case& c : cases) {
      SCOPED_TRACE("itopk " + std::to_string(c.itopk) + " width " + std::to_string(c.width));
      const auto got = SearchOnBlocks(metric, graph, degree, v, dim, q, k, c.itopk, c.width, 0, c.threads);
      for (size_t i = 0; i < nq; ++i) {
        ASSERT_EQ(got[i].size(), k);
        std::set<int64_t> rows;
        for (size_t e = 0; e < k; ++e) {
          rows.insert(got[i][e].row);
          // Scores are the metric's, the same as the exact scan's for the same row.
          const auto& h = got[i][e];
          float want = 0;
          const auto* x = &v[h.row * dim];
          const auto* y = &q[i * dim];
          float dot = 0, nx = 0, ny = 0;
          for (size_t j = 0; j < dim; ++j) {
            want += (x[j] - y[j]) * (x[j] - y[j]);
            dot += x[j] * y[j];
            nx += x[j] * x[j];
            ny += y[j] * y[j];
          }
          if (metric == Metric::kIP) want = dot;
          if (metric == Metric::kCosine) want = dot / std::sqrt(nx * ny);
          EXPECT_NEAR(h.score, want, 1e-3F * std::max(1.0F, std::fabs(want)));
          if (e > 0) {
            const bool ordered = metric == Metric::kL2 ? got[i][e - 1].score <= h.score
                                                       : got[i][e - 1].score >= h.score;
            EXPECT_TRUE(ordered) << "query " << i << " rank " << e;
          }
        }
        EXPECT_EQ(rows.size(), k) << "a row returned twice for query " << i;
      }
      EXPECT_GE(test_data::Recall(got, exact), std::min(0.95, cpu_recall - 0.03))
          << "the CPU search finds " << cpu_recall;
    }
  }
}

TEST(KernelsTest, CagraSearchDependsOnTheQueryNotItsBatch) {
  // Seeds come from the query's global index: a query searched alone (query_base 5) answers as
  // it does as the sixth of a batch.
  const size_t n = 1000, dim = 16, degree = 8;
  const std::vector<float> v = ClusteredVectors(n, dim, 12), q = ClusteredVectors(8, dim, 13);
  const std::vector<uint32_t> knn = cagra::ExactKnnGraph(Metric::kL2, v.data(), n, dim, 16);
  const std::vector<uint32_t> graph = cagra::OptimizeGraph(knn.data(), n, 16, degree);
  const auto batch = SearchOnBlocks(Metric::kL2, graph, degree, v, dim, q, 5, 16, 1, 0);
  const std::vector<float> sixth(q.begin() + 5 * dim, q.begin() + 6 * dim);
  const auto alone = SearchOnBlocks(Metric::kL2, graph, degree, v, dim, sixth, 5, 16, 1, 5);
  ASSERT_EQ(alone[0].size(), batch[5].size());
  for (size_t e = 0; e < alone[0].size(); ++e) EXPECT_EQ(alone[0][e].row, batch[5][e].row);
}

// Islands (blobs whose kNN graph has no edge between them): the kernel starts from the entry
// points as the CPU search does, so it finds every query's island; random seeds alone do not.
TEST(KernelsTest, CagraSearchStartsFromTheEntryPoints) {
  const test_data::Islands t = test_data::MakeIslands();
  const auto with = SearchOnBlocks(Metric::kL2, t.graph, t.degree, t.v, t.dim, t.q, t.k, 16, 1, 0, 32, t.entries);
  const auto without = SearchOnBlocks(Metric::kL2, t.graph, t.degree, t.v, t.dim, t.q, t.k, 16, 1, 0, 32);
  std::printf("islands, kernel: recall@10 %.3f with entry points, %.3f with random seeds only\n",
              test_data::Recall(with, t.exact), test_data::Recall(without, t.exact));
  EXPECT_GE(test_data::Recall(with, t.exact), 0.99);
  EXPECT_LT(test_data::Recall(without, t.exact), 0.9);
  // Each query its own entries (entry_stride apart, kNone pads): those of its island, or those
  // of the next island.
  constexpr size_t kStride = 4;
  for (size_t shift : {0, 1}) {
    std::vector<uint32_t> own(t.nq * kStride, kNone);
    for (size_t i = 0; i < t.nq; ++i) {
      size_t taken = 0;
      for (uint32_t e : t.entries) {  // row r and query i lie in blob r % blobs, i % blobs
        if (e % t.blobs == (i + shift) % t.blobs && taken < kStride - 1) own[i * kStride + taken++] = e;
      }
      ASSERT_GT(taken, 0u);
    }
    const auto got = SearchOnBlocks(Metric::kL2, t.graph, t.degree, t.v, t.dim, t.q, t.k, 16, 1, 0, 32,
                                    own, kStride);
    std::printf("islands, kernel, each query's own entries from %s: recall@10 %.3f\n",
                shift == 0 ? "its island" : "the next island", test_data::Recall(got, t.exact));
    if (shift == 0) {
      EXPECT_GE(test_data::Recall(got, t.exact), 0.99);
    } else {
      EXPECT_LT(test_data::Recall(got, t.exact), 0.9);
    }
  }
}

}  // namespace
}  // namespace skyway::vector::gpu
