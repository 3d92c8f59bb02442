// vector: every index against exact search (minimum recall per type and metric), filters,
// serialization, reconstruction, parameter errors and concurrent searches.
#include "vector/vector.h"

#include <faiss/utils/distances.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <thread>

#include "test_data.h"
#include "vector/internal.h"

namespace skyway::vector {
namespace {

using test_data::Recall;
using test_data::ClusteredVectors;
using test_data::ReadFashionMnist;

constexpr size_t kN = 5000;
constexpr size_t kDim = 32;
constexpr size_t kNq = 100;
constexpr size_t kK = 10;
const Metric kMetrics[] = {Metric::kL2, Metric::kIP, Metric::kCosine};

// faiss's BLAS distance blocks (4096 x 1024 floats, allocated per k-means iteration and per
// batched search) are mmapped and shadow-poisoned afresh by AddressSanitizer on every call, which
// makes an IVF_PQ build a hundred times slower; blocks under its size-class limit avoid that.
// Only the blocking changes, not the answers.
void UseSmallFaissBlocksUnderAsan() {
#if defined(__SANITIZE_ADDRESS__)
  faiss::distance_compute_blas_query_bs = 128;
  faiss::distance_compute_blas_database_bs = 128;
#endif
}

IndexSpec Spec(const std::string& type, Metric metric, Params params) {
  return IndexSpec{type, metric, std::move(params)};
}

// Build and search parameters per type, and the recall each must reach on the clustered data.
struct Case {
  std::string type;
  Params build;
  Params search;
  double min_recall;
};
const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {"FLAT", {}, {}, 1.0},
      {"IVF_FLAT", {{"nlist", "64"}}, {{"nprobe", "16"}}, 0.95},
      {"IVF_PQ", {{"nlist", "64"}, {"m", "16"}, {"nbits", "6"}}, {{"nprobe", "16"}}, 0.65},
      {"HNSW", {{"M", "16"}, {"efConstruction", "100"}}, {{"ef", "64"}}, 0.95},
      // Built on the CPU here unless a GPU is present: the same graph either way.
      {"GPU_CAGRA",
       {{"intermediate_graph_degree", "64"}, {"graph_degree", "32"}},
       {{"itopk_size", "64"}},
       0.95},
      {"GPU_BRUTE_FORCE", {}, {}, 1.0},
  };
  return cases;
}

// HNSW builds with two threads (its parallel insertion is under test); faiss with one, as its
// k-means barriers spin slowly on the shared cores of a test run.
std::unique_ptr<Index> MustBuild(const IndexSpec& spec, const float* v, size_t n, size_t dim) {
  auto built = BuildIndex(spec, v, n, dim, spec.type == "HNSW" ? 2 : 1);
  EXPECT_TRUE(built.ok()) << built.status().ToString();
  return built.ok() ? std::move(built).value() : nullptr;
}

std::vector<std::vector<Hit>> MustSearch(const Index& index, const float* q, size_t nq, size_t k,
                                         const Params& params, const RowFilter* filter = nullptr) {
  auto hits = index.Search(q, nq, k, params, filter);
  EXPECT_TRUE(hits.ok()) << hits.status().ToString();
  return hits.ok() ? std::move(hits).value() : std::vector<std::vector<Hit>>(nq);
}

// One index per (type, metric) over the clustered data, built once for the suite.
class VectorIndexTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    UseSmallFaissBlocksUnderAsan();
    base_ = new std::vector<float>(ClusteredVectors(kN, kDim, 1));
    queries_ = new std::vector<float>(ClusteredVectors(kNq, kDim, 2));
    indexes_ = new std::map<std::pair<std::string, Metric>, std::unique_ptr<Index>>();
    for (const Case& c : Cases()) {
      for (Metric m : kMetrics) {
        (*indexes_)[{c.type, m}] = MustBuild(Spec(c.type, m, c.build), base_->data(), kN, kDim);
      }
    }
  }
  static void TearDownTestSuite() {
    delete indexes_;
    delete queries_;
    delete base_;
  }
  static const Index& Get(const std::string& type, Metric m) { return *(*indexes_)[{type, m}]; }
  static std::vector<std::vector<Hit>> Exact(Metric m, size_t k = kK,
                                             const RowFilter* filter = nullptr) {
    return ExactSearch(m, base_->data(), kN, kDim, queries_->data(), kNq, k, filter);
  }

  static std::vector<float>* base_;
  static std::vector<float>* queries_;
  static std::map<std::pair<std::string, Metric>, std::unique_ptr<Index>>* indexes_;
};
std::vector<float>* VectorIndexTest::base_ = nullptr;
std::vector<float>* VectorIndexTest::queries_ = nullptr;
std::map<std::pair<std::string, Metric>, std::unique_ptr<Index>>* VectorIndexTest::indexes_ =
    nullptr;

TEST(VectorTest, MetricsAndTypes) {
  EXPECT_EQ(*ParseMetric("cosine"), Metric::kCosine);
  EXPECT_EQ(*ParseMetric("L2"), Metric::kL2);
  EXPECT_EQ(ParseMetric("hamming").status().code(), Code::kInvalidArgument);
  EXPECT_STREQ(MetricName(Metric::kIP), "IP");
  EXPECT_EQ(IndexTypes(), (std::vector<std::string>{"FLAT", "IVF_FLAT", "IVF_PQ", "HNSW",
                                                     "GPU_CAGRA", "GPU_BRUTE_FORCE"}));
  const float a[] = {1, 2, 2}, b[] = {2, 0, 0}, zero[] = {0, 0, 0};
  EXPECT_FLOAT_EQ(Score(Metric::kL2, a, b, 3), 9);
  EXPECT_FLOAT_EQ(Score(Metric::kIP, a, b, 3), 2);
  EXPECT_FLOAT_EQ(Score(Metric::kCosine, a, b, 3), 1.0F / 3);
  EXPECT_FLOAT_EQ(Score(Metric::kCosine, a, zero, 3), 0);
}

// The distance kernels sum 16 lanes (lane j takes elements j, j + 16, ...), then the tail, then
// the lanes in order, whatever instructions do it: the same bits as this loop, at every length
// (unaligned starts included), and close to a double-precision sum.
TEST(VectorTest, DistanceKernelsSumTheirLanesInOrder) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0F, 3.0F);
  std::vector<float> a(300), b(300);
  for (float& v : a) v = normal(rng);
  for (float& v : b) v = normal(rng);
  for (size_t offset : {0, 1, 3}) {
    for (size_t dim = 0; dim <= 200; ++dim) {
      const float* x = a.data() + offset;
      const float* y = b.data() + offset;
      float l2_lanes[internal::kLanes] = {}, ip_lanes[internal::kLanes] = {};
      size_t i = 0;
      for (; i + internal::kLanes <= dim; i += internal::kLanes) {
        for (size_t j = 0; j < internal::kLanes; ++j) {
          const float t = x[i + j] - y[i + j];
          l2_lanes[j] += t * t;
          ip_lanes[j] += x[i + j] * y[i + j];
        }
      }
      float l2 = 0, ip = 0;
      double l2_exact = 0, ip_exact = 0;
      for (size_t t = i; t < dim; ++t) {
        l2 += (x[t] - y[t]) * (x[t] - y[t]);
        ip += x[t] * y[t];
      }
      for (size_t j = 0; j < internal::kLanes; ++j) l2 += l2_lanes[j], ip += ip_lanes[j];
      for (size_t t = 0; t < dim; ++t) {
        l2_exact += (double{x[t]} - y[t]) * (double{x[t]} - y[t]);
        ip_exact += double{x[t]} * y[t];
      }
      const float got_l2 = internal::L2Sqr(x, y, dim), got_ip = internal::InnerProduct(x, y, dim);
      EXPECT_EQ(std::memcmp(&got_l2, &l2, sizeof(float)), 0) << "dim " << dim << " offset " << offset;
      EXPECT_EQ(std::memcmp(&got_ip, &ip, sizeof(float)), 0) << "dim " << dim << " offset " << offset;
      EXPECT_NEAR(got_l2, l2_exact, 1e-4 * (1 + l2_exact));
      EXPECT_NEAR(got_ip, ip_exact, 1e-4 * (1 + std::abs(ip_exact)) + 1e-3 * std::sqrt(l2_exact));
    }
  }
}

TEST(VectorTest, BadParamsAreInvalidArgument) {
  const std::vector<std::pair<IndexSpec, size_t>> bad = {
      {Spec("DISKANN", Metric::kL2, {}), 8},
      {Spec("FLAT", Metric::kL2, {}), 0},
      {Spec("IVF_FLAT", Metric::kL2, {{"nlist", "abc"}}), 8},
      {Spec("IVF_FLAT", Metric::kL2, {{"nlist", "16.0"}}), 8},
      {Spec("IVF_FLAT", Metric::kL2, {{"nlist", "0"}}), 8},
      {Spec("IVF_FLAT", Metric::kL2, {{"nlist", "-4"}}), 8},
      {Spec("IVF_PQ", Metric::kL2, {{"nlist", "4"}}), 8},
      {Spec("IVF_PQ", Metric::kL2, {{"m", "3"}}), 8},
      {Spec("IVF_PQ", Metric::kL2, {{"m", "4"}, {"nbits", "17"}}), 8},
      {Spec("HNSW", Metric::kL2, {{"M", "1"}}), 8},
      {Spec("HNSW", Metric::kL2, {{"efConstruction", "x"}}), 8},
      {Spec("GPU_CAGRA", Metric::kL2, {{"graph_degree", "0"}}), 8},
      {Spec("GPU_CAGRA", Metric::kL2, {{"intermediate_graph_degree", "2000"}}), 8},
      {Spec("GPU_CAGRA", Metric::kL2, {{"intermediate_graph_degree", "32"}, {"graph_degree", "64"}}), 8},
  };
  for (const auto& [spec, dim] : bad) {
    SCOPED_TRACE(spec.type);
    EXPECT_EQ(ValidateSpec(spec, dim).code(), Code::kInvalidArgument);
    std::vector<float> v(dim * 300, 1.0F);
    EXPECT_EQ(BuildIndex(spec, v.data(), 300, dim).status().code(), Code::kInvalidArgument);
  }
  EXPECT_TRUE(ValidateSpec(Spec("IVF_PQ", Metric::kIP, {{"m", "4"}, {"M", "x"}}), 8).ok());
  std::vector<float> few = ClusteredVectors(50, 8, 3);
  auto too_few = BuildIndex(Spec("IVF_FLAT", Metric::kL2, {{"nlist", "64"}}), few.data(), 50, 8);
  EXPECT_EQ(too_few.status().code(), Code::kInvalidArgument);
  EXPECT_NE(too_few.status().message().find("nlist"), std::string::npos);
}

TEST(VectorTest, NonFiniteVectorsAreRefusedByEveryBuild) {
  // A NaN or an infinity has no distance to anything: every index type refuses the rows (named)
  // rather than build a graph or lists around them.
  for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    std::vector<float> v = ClusteredVectors(300, 8, 4);
    v[123 * 8 + 5] = bad;
    for (const char* type : {"FLAT", "IVF_FLAT", "IVF_PQ", "HNSW", "GPU_CAGRA", "GPU_BRUTE_FORCE"}) {
      SCOPED_TRACE(type);
      auto index = BuildIndex(Spec(type, Metric::kL2, {{"nlist", "4"}, {"m", "4"}}), v.data(), 300, 8);
      ASSERT_EQ(index.status().code(), Code::kInvalidArgument);
      EXPECT_NE(index.status().message().find("row 123"), std::string::npos) << index.status().ToString();
    }
  }
}

TEST_F(VectorIndexTest, BadSearchParamsAreInvalidArgument) {
  EXPECT_EQ(Get("HNSW", Metric::kL2)
                .Search(queries_->data(), 1, kK, {{"ef", "abc"}}, nullptr)
                .status()
                .code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Get("IVF_FLAT", Metric::kL2)
                .Search(queries_->data(), 1, kK, {{"nprobe", "-1"}}, nullptr)
                .status()
                .code(),
            Code::kInvalidArgument);
}

// FLAT is exact: the same rows as ExactSearch, scores as Score() computes them.
TEST_F(VectorIndexTest, FlatIsExact) {
  for (Metric m : kMetrics) {
    SCOPED_TRACE(MetricName(m));
    auto got = MustSearch(Get("FLAT", m), queries_->data(), kNq, kK, {});
    auto exact = Exact(m);
    for (size_t q = 0; q < kNq; ++q) {
      ASSERT_EQ(got[q].size(), kK);
      for (size_t i = 0; i < kK; ++i) {
        EXPECT_EQ(got[q][i].row, exact[q][i].row);
        float want = Score(m, &(*queries_)[q * kDim], &(*base_)[got[q][i].row * kDim], kDim);
        EXPECT_NEAR(got[q][i].score, want, 1e-3 * std::max(1.0F, std::fabs(want)));
      }
    }
  }
}

TEST_F(VectorIndexTest, RecallAgainstExact) {
  for (const Case& c : Cases()) {
    for (Metric m : kMetrics) {
      auto got = MustSearch(Get(c.type, m), queries_->data(), kNq, kK, c.search);
      double recall = Recall(got, Exact(m));
      std::printf("recall@10 %-8s %-6s %.3f (min %.2f)\n", c.type.c_str(), MetricName(m), recall,
                  c.min_recall);
      EXPECT_GE(recall, c.min_recall) << c.type << " " << MetricName(m);
      for (const auto& hits : got) {
        ASSERT_EQ(hits.size(), kK) << c.type;
        for (size_t i = 1; i < hits.size(); ++i) {
          if (SmallerIsCloser(m)) {
            EXPECT_LE(hits[i - 1].score, hits[i].score);
          } else {
            EXPECT_GE(hits[i - 1].score, hits[i].score);
          }
        }
      }
    }
  }
}

// IP and COSINE scores are similarities as Score() defines them (IVF_PQ's are approximate).
TEST_F(VectorIndexTest, SimilarityScoresMatchScore) {
  for (const std::string type : {"FLAT", "IVF_FLAT", "HNSW"}) {
    for (Metric m : {Metric::kIP, Metric::kCosine}) {
      auto got = MustSearch(Get(type, m), queries_->data(), kNq, kK, {});
      for (size_t q = 0; q < kNq; ++q) {
        for (const Hit& h : got[q]) {
          float want = Score(m, &(*queries_)[q * kDim], &(*base_)[h.row * kDim], kDim);
          EXPECT_NEAR(h.score, want, 1e-4 * std::max(1.0F, std::fabs(want))) << type;
        }
      }
    }
  }
}

// A filter accepting 1% of rows still yields k accepted hits (the filter acts inside the
// search); one accepting nothing yields none. Minimum recall against the filtered exact answer
// per type for the 1% and 30% filters: IVF finds the nearest accepted rows of its nprobe lists
// only, which are not all the nearest accepted rows when the filter is selective.
TEST_F(VectorIndexTest, FilteredSearch) {
  const RowFilter one_percent = [](int64_t row) { return row % 100 == 7; };
  const RowFilter thirty_percent = [](int64_t row) { return row % 10 < 3; };
  const RowFilter none = [](int64_t) { return false; };
  const std::map<std::string, std::pair<double, double>> min_recall = {{"FLAT", {1.0, 1.0}},
                                                                       {"IVF_FLAT", {0.7, 0.95}},
                                                                       {"IVF_PQ", {0.7, 0.75}},
                                                                       {"HNSW", {0.9, 0.9}},
                                                                       {"GPU_CAGRA", {0.9, 0.9}},
                                                                       {"GPU_BRUTE_FORCE", {1.0, 1.0}}};
  for (const Case& c : Cases()) {
    for (Metric m : kMetrics) {
      SCOPED_TRACE(c.type + " " + MetricName(m));
      const Index& index = Get(c.type, m);
      for (const RowFilter* f : {&one_percent, &thirty_percent}) {
        auto got = MustSearch(index, queries_->data(), kNq, kK, c.search, f);
        for (const auto& hits : got) {
          ASSERT_EQ(hits.size(), kK);
          for (const Hit& h : hits) EXPECT_TRUE((*f)(h.row));
        }
        const double recall = Recall(got, Exact(m, kK, f));
        const auto [min_selective, min_broad] = min_recall.at(c.type);
        std::printf("filtered recall@10 %-8s %-6s %s %.3f\n", c.type.c_str(), MetricName(m),
                    f == &one_percent ? "1% " : "30%", recall);
        EXPECT_GE(recall, f == &one_percent ? min_selective : min_broad);
      }
      for (const auto& hits : MustSearch(index, queries_->data(), kNq, kK, c.search, &none)) {
        EXPECT_TRUE(hits.empty());
      }
    }
  }
}

TEST_F(VectorIndexTest, SerializeRoundTrip) {
  for (const Case& c : Cases()) {
    for (Metric m : kMetrics) {
      SCOPED_TRACE(c.type + " " + MetricName(m));
      const Index& index = Get(c.type, m);
      auto bytes = index.Serialize();
      ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
      const IndexSpec spec = Spec(c.type, m, c.build);
      EXPECT_EQ(index.holds_vectors(), HoldsVectors(spec));
      const float* vectors = HoldsVectors(spec) ? nullptr : base_->data();
      auto loaded = LoadIndex(spec, *bytes, vectors, kN, kDim);
      ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
      EXPECT_EQ((*loaded)->size(), kN);
      auto before = MustSearch(index, queries_->data(), kNq, kK, c.search);
      auto after = MustSearch(**loaded, queries_->data(), kNq, kK, c.search);
      for (size_t q = 0; q < kNq; ++q) {
        ASSERT_EQ(before[q].size(), after[q].size());
        for (size_t i = 0; i < before[q].size(); ++i) {
          EXPECT_EQ(before[q][i].row, after[q][i].row);
          EXPECT_EQ(before[q][i].score, after[q][i].score);
        }
      }
      // Bytes of another metric, or cut short, are refused.
      Metric other = m == Metric::kL2 ? Metric::kIP : Metric::kL2;
      EXPECT_EQ(LoadIndex(Spec(c.type, other, {}), *bytes, base_->data(), kN, kDim).status().code(),
                Code::kInvalidArgument);
      if (c.type == "FLAT") continue;
      std::string_view cut(*bytes);
      cut = cut.substr(0, cut.size() / 2);
      EXPECT_EQ(LoadIndex(spec, cut, base_->data(), kN, kDim).status().code(),
                Code::kInvalidArgument);
    }
  }
}

// A graph whose bytes are intact (CRC resealed) but whose links point outside it is refused,
// not searched out of bounds.
TEST_F(VectorIndexTest, HnswLoadRefusesLinksOutsideTheGraph) {
  const Index& index = Get("HNSW", Metric::kL2);
  std::string blob = *index.Serialize();
  // The graph header (saveIndex's layout) is 96 bytes; then node 0's base-layer list: its count,
  // then its first neighbour.
  const size_t first_link = internal::kBlobHeaderSize + 96 + 4;
  const uint32_t outside = kN + 7;
  std::memcpy(&blob[first_link], &outside, 4);
  internal::SealBlob({internal::IndexType::kHnsw, Metric::kL2, kDim, kN}, &blob);
  auto loaded = LoadIndex(index.spec(), blob, nullptr, kN, kDim);
  EXPECT_EQ(loaded.status().code(), Code::kInvalidArgument);
  blob[internal::kBlobHeaderSize + 200] ^= 1;  // and any damaged byte fails the CRC
  EXPECT_EQ(LoadIndex(index.spec(), blob, nullptr, kN, kDim).status().code(),
            Code::kInvalidArgument);
}

TEST_F(VectorIndexTest, ReconstructReturnsOriginalVectors) {
  for (const std::string type : {"IVF_FLAT", "HNSW"}) {
    for (Metric m : {Metric::kL2, Metric::kIP, Metric::kCosine}) {
      if (type == "IVF_FLAT" && m == Metric::kCosine) continue;  // faiss keeps them normalized
      SCOPED_TRACE(type + " " + MetricName(m));
      const Index& built = Get(type, m);
      ASSERT_TRUE(built.holds_vectors());
      auto loaded = LoadIndex(built.spec(), *built.Serialize(), nullptr, 0, kDim);
      ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
      std::vector<float> out(kDim);
      for (int64_t row : {0, 1, 2499, 4999}) {
        for (const Index* index : std::vector<const Index*>{&built, loaded->get()}) {
          index->Reconstruct(row, out.data());
          EXPECT_EQ(0, std::memcmp(out.data(), &(*base_)[row * kDim], kDim * sizeof(float)));
        }
      }
    }
  }
  EXPECT_FALSE(Get("IVF_PQ", Metric::kL2).holds_vectors());
  EXPECT_FALSE(Get("IVF_FLAT", Metric::kCosine).holds_vectors());
}

// Concurrent Search() calls (one query at a time, so that HNSW runs its per-query path on
// every thread) give the serial answers.
TEST_F(VectorIndexTest, ConcurrentSearchesMatchSerial) {
  for (const Case& c : Cases()) {
    const Index& index = Get(c.type, Metric::kCosine);
    auto serial = MustSearch(index, queries_->data(), kNq, kK, c.search);
    std::vector<std::vector<std::vector<Hit>>> per_thread(4);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (size_t q = 0; q < kNq; ++q) {
          auto one = index.Search(&(*queries_)[q * kDim], 1, kK, c.search, nullptr);
          per_thread[t].push_back(one.ok() ? (*one)[0] : std::vector<Hit>());
        }
      });
    }
    for (auto& t : threads) t.join();
    for (size_t t = 0; t < 4; ++t) {
      for (size_t q = 0; q < kNq; ++q) {
        ASSERT_EQ(per_thread[t][q].size(), serial[q].size()) << c.type;
        for (size_t i = 0; i < serial[q].size(); ++i) {
          EXPECT_EQ(per_thread[t][q][i].row, serial[q][i].row) << c.type;
        }
      }
    }
  }
}

TEST_F(VectorIndexTest, KLargerThanRowsAndZero) {
  std::vector<float> small(ClusteredVectors(300, kDim, 5));
  for (const Case& c : Cases()) {
    Params build = c.build;
    if (build.count("nlist")) build["nlist"] = "4";
    if (c.type == "IVF_PQ") build["nbits"] = "4";
    auto index = MustBuild(Spec(c.type, Metric::kL2, build), small.data(), 300, kDim);
    ASSERT_NE(index, nullptr);
    auto all = MustSearch(*index, queries_->data(), 2, 400, c.search);
    EXPECT_EQ(all[0].size(), 300u) << c.type;
    auto zero = MustSearch(*index, queries_->data(), 2, 0, c.search);
    EXPECT_TRUE(zero[0].empty());
  }
}

// Real data: 5000 Fashion-MNIST training images (784 dims), 100 test images as queries.
TEST(VectorFashionMnistTest, RecallAgainstExact) {
  constexpr size_t kBase = 5000, kQueries = 100, kMnistDim = 784;
  std::vector<float> base = ReadFashionMnist("train-images-idx3-ubyte.gz", kBase);
  std::vector<float> queries = ReadFashionMnist("t10k-images-idx3-ubyte.gz", kQueries);
  if (base.empty() || queries.empty()) GTEST_SKIP() << "Fashion-MNIST is not installed";
  UseSmallFaissBlocksUnderAsan();
  std::map<Metric, std::vector<std::vector<Hit>>> exact;
  for (Metric m : {Metric::kL2, Metric::kCosine}) {
    exact[m] = ExactSearch(m, base.data(), kBase, kMnistDim, queries.data(), kQueries, kK, nullptr);
  }
  const std::vector<std::tuple<std::string, Metric, Params, Params, double>> cases = {
      {"IVF_FLAT", Metric::kL2, {{"nlist", "64"}}, {{"nprobe", "16"}}, 0.95},
      {"IVF_PQ",
       Metric::kL2,
       {{"nlist", "64"}, {"m", "56"}, {"nbits", "6"}},
       {{"nprobe", "16"}},
       0.65},
      {"HNSW", Metric::kL2, {{"M", "16"}, {"efConstruction", "64"}}, {{"ef", "64"}}, 0.95},
      {"HNSW", Metric::kCosine, {{"M", "16"}, {"efConstruction", "64"}}, {{"ef", "64"}}, 0.95},
      {"GPU_CAGRA", Metric::kL2, {{"intermediate_graph_degree", "64"}, {"graph_degree", "32"}},
       {{"itopk_size", "64"}}, 0.95},
      {"GPU_CAGRA", Metric::kCosine, {{"intermediate_graph_degree", "64"}, {"graph_degree", "32"}},
       {{"itopk_size", "64"}}, 0.95},
  };
  for (const auto& [type, metric, build, search, min_recall] : cases) {
    auto index = MustBuild(Spec(type, metric, build), base.data(), kBase, kMnistDim);
    ASSERT_NE(index, nullptr);
    auto got = MustSearch(*index, queries.data(), kQueries, kK, search);
    double recall = Recall(got, exact[metric]);
    std::printf("fashion-mnist recall@10 %-8s %-6s %.3f (min %.2f)\n", type.c_str(),
                MetricName(metric), recall, min_recall);
    EXPECT_GE(recall, min_recall) << type << " " << MetricName(metric);
  }
}

}  // namespace
}  // namespace skyway::vector
