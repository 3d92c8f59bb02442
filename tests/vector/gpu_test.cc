// The CUDA kernels against the CPU reference (cagra.h, ExactSearch). Every test skips when no
// CUDA device is present (ctest label `gpu`); CI has none.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "vector/gpu/cagra.h"
#include "vector/gpu/device.h"
#include "vector/gpu/knn_clustered.h"
#include "vector/gpu/knn_stream.h"
#include "test_data.h"

namespace skyway::vector {
namespace {

using test_data::RandomVectors;

#define REQUIRE_GPU() \
  if (!gpu::Available()) GTEST_SKIP() << gpu::Describe()

// gpu_emu_test runs these tests on the emulated device of tests/vector/emu (the same code, tiles
// of 256 rows, fibers for threads): inputs a tenth of the size keep it to seconds.
#ifdef SKYWAY_GPU_EMULATION
constexpr size_t kScale = 10;
constexpr const char* kItopk = "64";  // the device search's list: emulated, its cost grows with it
#else
constexpr size_t kScale = 1;
constexpr const char* kItopk = "128";
#endif


using test_data::KnnRecall;

// Recall@10 of an index's search (itopk 128) for nq random queries against the exact answer.
double SearchRecall(const Index& index, const std::vector<float>& v, size_t n, size_t dim, size_t nq,
                    uint32_t seed) {
  auto q = RandomVectors(nq, dim, seed);
  auto got = index.Search(q.data(), nq, 10, {{"itopk_size", "128"}}, nullptr);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  if (!got.ok()) return 0;
  return test_data::Recall(*got, ExactSearch(index.spec().metric, v.data(), n, dim, q.data(), nq, 10, nullptr));
}

TEST(GpuTest, DescribesTheDevice) {
  REQUIRE_GPU();
  std::printf("device: %s\n", gpu::Describe().c_str());
  EXPECT_NE(gpu::Describe().find("sm_"), std::string::npos);
}

TEST(GpuTest, KnnGraphMatchesTheCpuReference) {
  REQUIRE_GPU();
  // Sizes that cross the 8192-row tiles and a K2 above k.
  for (auto [n, dim, k] : std::vector<std::tuple<size_t, size_t, size_t>>{{1000, 16, 10}, {9000 / kScale, 32, 40}}) {
    auto v = RandomVectors(n, dim, 11);
    for (Metric m : {Metric::kL2, Metric::kIP, Metric::kCosine}) {
      SCOPED_TRACE(std::string(MetricName(m)) + " n=" + std::to_string(n));
      auto got = gpu::KnnGraph(m, v.data(), n, dim, k);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      auto want = cagra::ExactKnnGraph(m, v.data(), n, dim, k);
      for (size_t x = 0; x < n; ++x) {
        for (size_t e = 0; e < k; ++e) ASSERT_NE((*got)[x * k + e], x) << "self edge";
      }
      EXPECT_GE(KnnRecall(*got, want, k), 0.995);
    }
  }
}

TEST(GpuTest, DetourPruningEqualsTheCpuReference) {
  REQUIRE_GPU();
  for (auto [n, k, degree] : std::vector<std::tuple<size_t, size_t, size_t>>{{500, 16, 8}, {4000, 64, 32}, {2000, 128, 64}}) {
    auto v = RandomVectors(n, 12, 12);
    auto knn = cagra::ExactKnnGraph(Metric::kL2, v.data(), n, 12, k);
    auto got = gpu::PruneByDetours(knn.data(), n, k, degree);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, cagra::PruneByDetours(knn.data(), n, k, degree)) << "n=" << n << " k=" << k;
  }
}

TEST(GpuTest, BruteForceMatchesExactSearch) {
  REQUIRE_GPU();
  constexpr size_t n = 20000 / kScale, dim = 64, nq = 300 / kScale, k = 10;
  auto v = RandomVectors(n, dim, 13);
  auto q = RandomVectors(nq, dim, 14);
  for (Metric m : {Metric::kL2, Metric::kIP, Metric::kCosine}) {
    SCOPED_TRACE(MetricName(m));
    auto got = gpu::BruteForce(m, v.data(), n, dim, q.data(), nq, k);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    auto want = ExactSearch(m, v.data(), n, dim, q.data(), nq, k, nullptr);
    size_t same = 0;
    for (size_t i = 0; i < nq; ++i) {
      ASSERT_EQ((*got)[i].size(), k);
      std::set<int64_t> truth;
      for (const Hit& h : want[i]) truth.insert(h.row);
      for (size_t e = 0; e < k; ++e) {
        same += truth.count((*got)[i][e].row);
        float score = Score(m, &q[i * dim], &v[(*got)[i][e].row * dim], dim);
        EXPECT_NEAR((*got)[i][e].score, score, 1e-2F * std::max(1.0F, std::fabs(score)));
      }
    }
    EXPECT_GE(static_cast<double>(same) / (nq * k), 0.995);
  }
}

// The index type end to end on the device: built there, searched on the CPU.
TEST(GpuTest, CagraIndexBuiltOnTheDeviceSearchesOnTheCpu) {
  REQUIRE_GPU();
  constexpr size_t n = 20000 / kScale, dim = 32, nq = 200 / kScale, k = 10;
  auto v = RandomVectors(n, dim, 15);
  auto q = RandomVectors(nq, dim, 16);
  IndexSpec spec{"GPU_CAGRA", Metric::kL2, {{"intermediate_graph_degree", "64"}, {"graph_degree", "32"}}};
  auto index = BuildIndex(spec, v.data(), n, dim);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  auto got = (*index)->Search(q.data(), nq, k, {{"itopk_size", "128"}}, nullptr);
  ASSERT_TRUE(got.ok());
  auto want = ExactSearch(Metric::kL2, v.data(), n, dim, q.data(), nq, k, nullptr);
  size_t found = 0;
  for (size_t i = 0; i < nq; ++i) {
    std::set<int64_t> truth;
    for (const Hit& h : want[i]) truth.insert(h.row);
    for (const Hit& h : (*got)[i]) found += truth.count(h.row);
  }
  EXPECT_GE(static_cast<double>(found) / (nq * k), 0.9);
}

// The batched device search walks the same graph as the CPU search: similar recall.
TEST(GpuTest, DeviceSearchMatchesCpuSearchRecall) {
  REQUIRE_GPU();
  constexpr size_t n = 20000 / kScale, dim = 32, nq = 500 / kScale, k = 10;
  auto v = RandomVectors(n, dim, 17);
  auto q = RandomVectors(nq, dim, 18);
  for (Metric m : {Metric::kL2, Metric::kIP, Metric::kCosine}) {
    SCOPED_TRACE(MetricName(m));
    auto knn = cagra::ExactKnnGraph(m, v.data(), n, dim, 64);
    auto graph = cagra::OptimizeGraph(knn.data(), n, 64, 32);
    auto exact = ExactSearch(m, v.data(), n, dim, q.data(), nq, k, nullptr);
    const cagra::GraphView device_view{.graph = graph.data(), .n = n, .degree = 32, .vectors = v.data(),
                                       .dim = dim};
    auto on_gpu = gpu::CagraSearch(m, device_view, q.data(), nq, k, 64, 1, 0, 7);
    ASSERT_TRUE(on_gpu.ok()) << on_gpu.status().ToString();
    std::vector<float> inv(n);
    for (size_t i = 0; i < n; ++i) {
      float s = 0;
      for (size_t j = 0; j < dim; ++j) s += v[i * dim + j] * v[i * dim + j];
      inv[i] = 1.0F / std::sqrt(s);
    }
    std::vector<float> qn(q);
    std::vector<std::vector<Hit>> on_cpu(nq);
    cagra::SearchParams params;
    for (size_t i = 0; i < nq; ++i) {
      float* query = &qn[i * dim];
      if (m == Metric::kCosine) {
        float s = 0;
        for (size_t j = 0; j < dim; ++j) s += query[j] * query[j];
        for (size_t j = 0; j < dim; ++j) query[j] /= std::sqrt(s);
      }
      const cagra::GraphView view{.graph = graph.data(), .n = n, .degree = 32, .vectors = v.data(),
                                  .inv_norms = m == Metric::kCosine ? inv.data() : nullptr, .dim = dim};
      on_cpu[i] = cagra::Search(m, view, query, k, params, nullptr, 7);
      ASSERT_EQ((*on_gpu)[i].size(), k);
    }
    const double gpu_recall = test_data::Recall(*on_gpu, exact), cpu_recall = test_data::Recall(on_cpu, exact);
    std::printf("CAGRA recall@10 %s: GPU %.4f, CPU %.4f\n", MetricName(m), gpu_recall, cpu_recall);
    EXPECT_GE(gpu_recall, 0.9);
    EXPECT_GE(gpu_recall, cpu_recall - 0.03);
  }
}

// Islands: the device search starts from the entry points (copied to the device with the call)
// and finds every query's island. With their rows, each query scores only its nearest entries (a
// round's worth, chosen by a brute-force search over them): the same recall.
TEST(GpuTest, DeviceSearchStartsFromTheEntryPoints) {
  REQUIRE_GPU();
  const test_data::Islands t = test_data::MakeIslands();
  std::vector<float> entry_vectors;
  for (uint32_t e : t.entries) entry_vectors.insert(entry_vectors.end(), &t.v[e * t.dim], &t.v[(e + 1) * t.dim]);
  // itopk 16 + degree 16: a round holds 16 candidates, fewer than the entries.
  ASSERT_GT(t.entries.size(), 16u);
  cagra::GraphView view{.graph = t.graph.data(), .n = t.n, .degree = t.degree, .vectors = t.v.data(),
                        .dim = t.dim, .entries = t.entries.data(), .num_entries = t.entries.size()};
  auto all = gpu::CagraSearch(Metric::kL2, view, t.q.data(), t.nq, t.k, 16, 1, 0, 7);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  view.entry_vectors = entry_vectors.data();
  auto nearest = gpu::CagraSearch(Metric::kL2, view, t.q.data(), t.nq, t.k, 16, 1, 0, 7);
  ASSERT_TRUE(nearest.ok()) << nearest.status().ToString();
  // Rows that are not the entries' make the choice wrong: proof that it is what starts the search.
  std::vector<float> wrong_rows(t.v.begin(), t.v.begin() + entry_vectors.size());
  view.entry_vectors = wrong_rows.data();
  auto misled = gpu::CagraSearch(Metric::kL2, view, t.q.data(), t.nq, t.k, 16, 1, 0, 7);
  ASSERT_TRUE(misled.ok()) << misled.status().ToString();
  view = {.graph = t.graph.data(), .n = t.n, .degree = t.degree, .vectors = t.v.data(), .dim = t.dim};
  auto without = gpu::CagraSearch(Metric::kL2, view, t.q.data(), t.nq, t.k, 16, 1, 0, 7);
  ASSERT_TRUE(without.ok()) << without.status().ToString();
  std::printf("islands on the device: recall@10 %.3f scoring all %zu entry points, %.3f their nearest, "
              "%.3f nearest by wrong rows, %.3f without\n",
              test_data::Recall(*all, t.exact), t.entries.size(), test_data::Recall(*nearest, t.exact),
              test_data::Recall(*misled, t.exact), test_data::Recall(*without, t.exact));
  EXPECT_GE(test_data::Recall(*all, t.exact), 0.99);
  EXPECT_GE(test_data::Recall(*nearest, t.exact), 0.99);
  EXPECT_LT(test_data::Recall(*misled, t.exact), 0.9);
  EXPECT_LT(test_data::Recall(*without, t.exact), 0.9);
}

// A segment bigger than the build's share of the GPU: blocks come from a RowSource into device
// buffers, each block pair is merged on the device; the kNN graph matches the CPU's, and the
// graph serves once loaded over host vectors.
TEST(GpuTest, StreamedBuildOnTheDevice) {
  REQUIRE_GPU();
  constexpr size_t n = 20000 / kScale, dim = 32, k = 32, nq = 200 / kScale;
  // Room for two blocks of a quarter of the rows: four blocks or more.
  const uint64_t kLimit = gpu::BlockTopKBytes(dim, k, n / 4, n / 4) + 2 * uint64_t{n / 4} * dim * sizeof(float);
  auto v = RandomVectors(n, dim, 19);
  for (Metric m : {Metric::kL2, Metric::kIP, Metric::kCosine}) {
    SCOPED_TRACE(MetricName(m));
    test_data::ArraySource source(v.data(), n, dim);
    StreamStats stats;
    auto knn = internal::StreamedKnnGraph(m, n, dim, k, source, {kLimit, true}, &stats);
    ASSERT_TRUE(knn.ok()) << knn.status().ToString();
    std::printf("streamed kNN %s: %zu blocks of %zu rows, %zu reads\n", MetricName(m), stats.blocks,
                stats.block_rows, stats.reads);
    EXPECT_GE(stats.blocks, 3u);
    EXPECT_LE(source.buffer_bytes, kLimit);
    for (size_t x = 0; x < n; ++x) {
      for (size_t e = 0; e < k; ++e) ASSERT_NE((*knn)[x * k + e], x) << "self edge";
    }
    EXPECT_GE(KnnRecall(*knn, cagra::ExactKnnGraph(m, v.data(), n, dim, k), k), 0.995);
  }
  IndexSpec spec{"GPU_CAGRA", Metric::kL2, {{"intermediate_graph_degree", "32"}, {"graph_degree", "16"}}};
  test_data::ArraySource source(v.data(), n, dim);
  StreamStats stats;
  auto index = BuildIndexStreamed(spec, n, dim, source, {kLimit, true}, &stats);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_TRUE(stats.pruned_on_device);
  auto bytes = (*index)->Serialize();
  ASSERT_TRUE(bytes.ok());
  auto loaded = LoadIndex(spec, *bytes, v.data(), n, dim);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_GE(SearchRecall(**loaded, v, n, dim, nq, 20), 0.9);
}

// BuildIndex of host rows that do not fit what is left of the device takes the streamed path
// by itself: the same graph quality.
TEST(GpuTest, BuildIndexStreamsWhenTheDeviceIsFull) {
  REQUIRE_GPU();
  constexpr size_t n = 60000 / kScale, dim = 64, nq = 500 / kScale;
  auto v = RandomVectors(n, dim, 23);
  // Leave 3/4 of what the in-memory build needs (on an H100 ~250 MiB: its GEMM tile alone is
  // 256 MiB), more than two blocks of 256 rows need.
  const uint64_t free_now = gpu::FreeBytes();
  ASSERT_GT(free_now, uint64_t{1} << 30);
  auto hog = AllocateDeviceVectors(free_now - gpu::KnnGraphBytes(n, dim, 32) * 3 / 4);
  ASSERT_TRUE(hog.ok()) << hog.status().ToString();
  IndexSpec spec{"GPU_CAGRA", Metric::kL2,
                 {{"intermediate_graph_degree", "32"}, {"graph_degree", "16"}, {"build_algo", "BRUTE_FORCE"}}};
  EXPECT_EQ(gpu::KnnGraph(Metric::kL2, v.data(), n, dim, 32).status().code(), Code::kResourceExhausted);
  auto index = BuildIndex(spec, v.data(), n, dim);
  hog = Status::Internal("freed");
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  const double recall = SearchRecall(**index, v, n, dim, nq, 24);
  std::printf("streamed build on a full device: recall@10 %.3f\n", recall);
  EXPECT_GE(recall, 0.9);
}

// Large unfiltered batches go to the device through the Index; the index keeps device copies
// of its arrays after the first, and the second batch gives the same answers.
TEST(GpuTest, IndexSearchesLargeBatchesOnTheDevice) {
  REQUIRE_GPU();
  constexpr size_t n = 20000 / kScale, dim = 32, nq = 1000 / kScale, k = 10;
  auto v = RandomVectors(n, dim, 25);
  auto q = RandomVectors(nq, dim, 26);
  auto exact = ExactSearch(Metric::kL2, v.data(), n, dim, q.data(), nq, k, nullptr);
  for (const char* type : {"GPU_CAGRA", "GPU_BRUTE_FORCE"}) {
    SCOPED_TRACE(type);
    IndexSpec spec{type, Metric::kL2, {{"intermediate_graph_degree", "64"}, {"graph_degree", "32"}}};
    auto index = BuildIndex(spec, v.data(), n, dim);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    const uint64_t free_before = gpu::FreeBytes();
    auto first = (*index)->Search(q.data(), nq, k, {{"itopk_size", kItopk}}, nullptr);
    ASSERT_TRUE(first.ok());
    EXPECT_LT(gpu::FreeBytes(), free_before) << "no device copy was kept";
    auto second = (*index)->Search(q.data(), nq, k, {{"itopk_size", kItopk}}, nullptr);
    ASSERT_TRUE(second.ok());
    for (size_t i = 0; i < nq; ++i) {
      ASSERT_EQ((*first)[i].size(), k);
      for (size_t e = 0; e < k; ++e) ASSERT_EQ((*first)[i][e].row, (*second)[i][e].row);
    }
    const double recall = test_data::Recall(*first, exact);
    std::printf("%s through the Index, on the device: recall@10 %.4f\n", type, recall);
    EXPECT_GE(recall, std::string(type) == "GPU_CAGRA" ? 0.9 : 0.99);
  }
}

// The clustered kNN graph on the device (k-means assignment, row gather and per-cluster merges
// there) finds what the CPU's finds.
TEST(GpuTest, ClusteredKnnGraphOnTheDevice) {
  REQUIRE_GPU();
  constexpr size_t n = 30000 / kScale, dim = 32, k = 32;
  auto v = test_data::ClusteredVectors(n, dim, 27);
  for (Metric m : {Metric::kL2, Metric::kIP, Metric::kCosine}) {
    SCOPED_TRACE(MetricName(m));
    internal::ClusterStats stats;
    auto got = internal::ClusteredKnnGraph(m, v.data(), n, dim, k, {}, true, &stats);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    auto want = cagra::ExactKnnGraph(m, v.data(), n, dim, k);
    const double recall = KnnRecall(*got, want, k);
    std::printf("clustered kNN on the device, %s: %zu clusters, recall %.4f\n", MetricName(m),
                stats.clusters, recall);
    EXPECT_GE(recall, 0.95);
    for (size_t x = 0; x < n; ++x) {
      for (size_t e = 0; e < k; ++e) ASSERT_NE((*got)[x * k + e], x) << "self edge";
    }
  }
}

TEST(GpuTest, WithoutADeviceCallsAreRefused) {
  if (gpu::Available()) GTEST_SKIP() << "a device is present";
  float v[4] = {1, 2, 3, 4};
  EXPECT_EQ(gpu::KnnGraph(Metric::kL2, v, 2, 2, 1).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(gpu::BruteForce(Metric::kL2, v, 2, 2, v, 1, 1).status().code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace skyway::vector
