// CAGRA's CPU half: the kNN graph, detour pruning and reverse edges against definitions written
// out plainly here, and the search on graphs built from them.
#include "vector/gpu/cagra.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>

#include "test_data.h"
#include "vector/gpu/knn_clustered.h"
#include "vector/gpu/knn_descent.h"
#include "vector/internal.h"

namespace skyway::vector::cagra {
namespace {

using test_data::Recall;
using test_data::RandomVectors;


// The definition: for each edge x -> list[j], count i < j, r with list[i]'s r-th == list[j]
// and r < j; stable order by count.
std::vector<uint32_t> PruneByDefinition(const std::vector<uint32_t>& knn, size_t n, size_t k,
                                        size_t degree) {
  std::vector<uint32_t> out;
  for (size_t x = 0; x < n; ++x) {
    const uint32_t* list = &knn[x * k];
    std::vector<std::pair<size_t, size_t>> keyed;  // (detours, rank)
    for (size_t j = 0; j < k; ++j) {
      size_t first_rank = std::find(list, list + k, list[j]) - list;
      size_t detours = 0;
      for (size_t i = 0; i < k; ++i) {
        for (size_t r = 0; r < k; ++r) {
          if (knn[list[i] * k + r] == list[j] && std::max(i, r) < first_rank) ++detours;
        }
      }
      // A repeated row counts at its first rank only (the later copies get no detours).
      keyed.push_back({first_rank == j ? detours : 0, j});
    }
    std::stable_sort(keyed.begin(), keyed.end(),
                     [](auto a, auto b) { return a.first < b.first; });
    for (size_t e = 0; e < degree; ++e) out.push_back(list[keyed[e].second]);
  }
  return out;
}

TEST(CagraTest, ExactKnnGraphIsEachRowsNearestOthers) {
  constexpr size_t n = 400, dim = 8, k = 12;
  auto v = RandomVectors(n, dim, 1);
  for (Metric m : {Metric::kL2, Metric::kIP, Metric::kCosine}) {
    SCOPED_TRACE(MetricName(m));
    auto graph = ExactKnnGraph(m, v.data(), n, dim, k);
    ASSERT_EQ(graph.size(), n * k);
    for (size_t x = 0; x < n; x += 37) {
      std::vector<std::pair<float, uint32_t>> all;
      for (size_t y = 0; y < n; ++y) {
        if (y == x) continue;
        float s = Score(m, &v[x * dim], &v[y * dim], dim);
        all.push_back({SmallerIsCloser(m) ? s : -s, static_cast<uint32_t>(y)});
      }
      std::sort(all.begin(), all.end());
      for (size_t e = 0; e < k; ++e) {
        EXPECT_NE(graph[x * k + e], x);
        EXPECT_EQ(graph[x * k + e], all[e].second) << "row " << x << " rank " << e;
      }
    }
  }
}

TEST(CagraTest, PruneByDetoursMatchesTheDefinition) {
  constexpr size_t n = 300, dim = 6, k = 16, degree = 8;
  auto v = RandomVectors(n, dim, 2);
  auto knn = ExactKnnGraph(Metric::kL2, v.data(), n, dim, k);
  EXPECT_EQ(PruneByDetours(knn.data(), n, k, degree), PruneByDefinition(knn, n, k, degree));
  // The rank-0 edge never has a detour, so it always survives, first.
  auto pruned = PruneByDetours(knn.data(), n, k, degree);
  for (size_t x = 0; x < n; ++x) EXPECT_EQ(pruned[x * degree], knn[x * k]);
}

TEST(CagraTest, PruneByDetoursOnAHandMadeGraph) {
  // Row 0 lists 1, 2, 3; row 1 lists 2 first, so 0 -> 2 has a detour via 1 (ranks 0 and 0 < 1)
  // and 0 -> 3 has one via 1 (1 lists 3 at rank 1 < 2) and one via 2 (2 lists 3 at rank 0).
  const std::vector<uint32_t> knn = {1, 2, 3,  //
                                     2, 3, 0,  //
                                     3, 0, 1,  //
                                     0, 1, 2};
  auto pruned = PruneByDetours(knn.data(), 4, 3, 2);
  EXPECT_EQ(pruned[0], 1u);
  EXPECT_EQ(pruned[1], 2u);  // 1 detour for 2, 2 for 3
  EXPECT_EQ(pruned, PruneByDefinition(knn, 4, 3, 2));
}

TEST(CagraTest, ReverseEdgesKeepHalfAndAddReverse) {
  constexpr size_t n = 500, dim = 8, k = 32, degree = 16;
  auto v = RandomVectors(n, dim, 3);
  auto knn = ExactKnnGraph(Metric::kL2, v.data(), n, dim, k);
  auto pruned = PruneByDetours(knn.data(), n, k, degree);
  auto graph = AddReverseEdges(pruned.data(), n, degree);
  ASSERT_EQ(graph.size(), n * degree);
  std::vector<std::set<uint32_t>> has_edge_to(n);  // who lists x in the pruned graph
  for (size_t x = 0; x < n; ++x) {
    for (size_t e = 0; e < degree; ++e) has_edge_to[pruned[x * degree + e]].insert(x);
  }
  size_t reverse_added = 0;
  for (size_t x = 0; x < n; ++x) {
    const uint32_t* row = &graph[x * degree];
    std::set<uint32_t> unique(row, row + degree);
    EXPECT_EQ(unique.size(), degree) << "row " << x << " repeats an edge";
    EXPECT_EQ(unique.count(x), 0u);
    for (size_t e = 0; e < degree / 2; ++e) EXPECT_EQ(row[e], pruned[x * degree + e]);
    for (size_t e = degree / 2; e < degree; ++e) {
      const bool own = std::count(&pruned[x * degree], &pruned[x * degree] + degree, row[e]) > 0;
      const bool reverse = has_edge_to[x].count(row[e]) > 0;
      EXPECT_TRUE(own || reverse);
      if (!own) ++reverse_added;
    }
  }
  EXPECT_GT(reverse_added, n);  // most rows got reverse edges
}


TEST(CagraTest, SearchFindsTheNearestRows) {
  constexpr size_t n = 3000, dim = 16, k = 10, nq = 50;
  auto v = RandomVectors(n, dim, 4);
  auto q = RandomVectors(nq, dim, 5);
  auto knn = ExactKnnGraph(Metric::kL2, v.data(), n, dim, 32);
  auto graph = OptimizeGraph(knn.data(), n, 32, 16);
  auto exact = ExactSearch(Metric::kL2, v.data(), n, dim, q.data(), nq, k, nullptr);
  std::vector<std::vector<Hit>> got(nq);
  SearchParams params;
  params.itopk = 64;
  const GraphView view{.graph = graph.data(), .n = n, .degree = 16, .vectors = v.data(), .dim = dim};
  for (size_t i = 0; i < nq; ++i) {
    got[i] = Search(Metric::kL2, view, &q[i * dim], k, params, nullptr, 7);
    ASSERT_EQ(got[i].size(), k);
    for (size_t e = 1; e < k; ++e) EXPECT_LE(got[i][e - 1].score, got[i][e].score);
  }
  EXPECT_GE(Recall(got, exact), 0.95);
  // A filter accepting one row in 200 still yields k accepted rows, the nearest of them.
  const RowFilter rare = [](int64_t row) { return row % 200 == 3; };
  auto exact_rare = ExactSearch(Metric::kL2, v.data(), n, dim, q.data(), 1, k, &rare);
  auto hits = Search(Metric::kL2, view, q.data(), k, params, &rare, 7);
  ASSERT_EQ(hits.size(), k);
  for (size_t e = 0; e < k; ++e) EXPECT_EQ(hits[e].row, exact_rare[0][e].row);
}

// Data of well-separated blobs: the kNN graph is islands, and a search stays in the island it
// starts in. Random seeds miss the query's island now and then; the entry points (k-means++ over
// a sample) put a start in every island.
TEST(CagraTest, EntryPointsReachEveryIsland) {
  const test_data::Islands t = test_data::MakeIslands();
  const size_t n = t.n, dim = t.dim, nq = t.nq;
  const std::vector<uint32_t> ids = EntrySampleRows(n, dim, 5);
  ASSERT_EQ(ids.size(), EntrySampleCount(n, dim));
  ASSERT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  ASSERT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
  ASSERT_EQ(t.entries.size(), EntryCount(n, dim));
  std::set<uint32_t> reached;
  for (uint32_t e : t.entries) reached.insert(e % t.blobs);
  EXPECT_EQ(reached.size(), t.blobs);

  SearchParams params;
  params.itopk = 16;
  const GraphView random_only{.graph = t.graph.data(), .n = n, .degree = t.degree, .vectors = t.v.data(), .dim = dim};
  GraphView with_entries = random_only;
  with_entries.entries = t.entries.data();
  with_entries.num_entries = t.entries.size();
  for (bool best_first : {false, true}) {
    SCOPED_TRACE(best_first ? "best first" : "list");
    params.best_first = best_first;
    std::vector<std::vector<Hit>> with(nq), without(nq);
    for (size_t i = 0; i < nq; ++i) {
      with[i] = Search(Metric::kL2, with_entries, &t.q[i * dim], t.k, params, nullptr, 7);
      without[i] = Search(Metric::kL2, random_only, &t.q[i * dim], t.k, params, nullptr, 7);
    }
    std::printf("islands: recall@10 %.3f with entry points, %.3f with random seeds only\n",
                Recall(with, t.exact), Recall(without, t.exact));
    EXPECT_GE(Recall(with, t.exact), 0.99);
    EXPECT_LT(Recall(without, t.exact), 0.9);  // the data does split the graph
  }
  // A sample of one row repeated gives one entry point.
  const std::vector<float> same(10 * dim, 1.0F);
  EXPECT_EQ(EntryPoints(Metric::kL2, same.data(), ids.data(), 10, dim, 5, 1).size(), 1u);
}

// Rows within `hops` edges of the entries, by breadth-first search (the test's own).
std::vector<bool> WithinHops(const std::vector<uint32_t>& graph, size_t n, size_t degree,
                             const std::vector<uint32_t>& entries, size_t hops) {
  std::vector<size_t> depth(n, SIZE_MAX);
  std::vector<uint32_t> queue;
  for (uint32_t e : entries) {
    depth[e] = 0;
    queue.push_back(e);
  }
  for (size_t head = 0; head < queue.size(); ++head) {
    const uint32_t row = queue[head];
    if (depth[row] == hops) continue;
    for (size_t e = 0; e < degree; ++e) {
      const uint32_t to = graph[row * degree + e];
      if (depth[to] != SIZE_MAX) continue;
      depth[to] = depth[row] + 1;
      queue.push_back(to);
    }
  }
  std::vector<bool> within(n);
  for (size_t r = 0; r < n; ++r) within[r] = depth[r] != SIZE_MAX;
  return within;
}

// Islands entered by one entry point only: the search finds the other islands' queries nowhere.
// The cover adds entries until every row is within two edges of one, and the search finds them.
TEST(CagraTest, CoverPutsEveryRowWithinTwoEdgesOfAnEntry) {
  const test_data::Islands t = test_data::MakeIslands();
  const size_t n = t.n, dim = t.dim;
  std::vector<uint32_t> entries = {t.entries[0]};
  CoverWithEntries(t.graph.data(), n, t.degree, dim, &entries);
  ASSERT_GT(entries.size(), t.blobs / 2);
  EXPECT_LT(entries.size(), n / 4);
  EXPECT_EQ(entries[0], t.entries[0]);  // the given entries stay first
  std::vector<uint32_t> sorted = entries;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
  const std::vector<bool> within = WithinHops(t.graph, n, t.degree, entries, 2);
  EXPECT_EQ(std::count(within.begin(), within.end(), true), static_cast<long>(n));

  SearchParams params;
  params.itopk = 16;
  params.best_first = true;
  const GraphView one{.graph = t.graph.data(), .n = n, .degree = t.degree, .vectors = t.v.data(),
                      .dim = dim, .entries = &t.entries[0], .num_entries = 1};
  GraphView covered = one;
  covered.entries = entries.data();
  covered.num_entries = entries.size();
  std::vector<std::vector<Hit>> with(t.nq), without(t.nq);
  for (size_t i = 0; i < t.nq; ++i) {
    with[i] = Search(Metric::kL2, covered, &t.q[i * dim], t.k, params, nullptr, 7);
    without[i] = Search(Metric::kL2, one, &t.q[i * dim], t.k, params, nullptr, 7);
  }
  std::printf("islands, one entry point: recall@10 %.3f; covered (%zu entries): %.3f\n",
              Recall(without, t.exact), entries.size(), Recall(with, t.exact));
  EXPECT_LT(Recall(without, t.exact), 0.5);
  EXPECT_GE(Recall(with, t.exact), 0.99);

  // Entries already covering everything: nothing added.
  std::vector<uint32_t> again = entries;
  CoverWithEntries(t.graph.data(), n, t.degree, dim, &again);
  EXPECT_EQ(again, entries);
}

// A graph whose rows only point at themselves needs every row as an entry: the cover stops at
// EntryLimit (a 2 MiB scan), taking rows in order.
TEST(CagraTest, CoverStopsAtTheEntryLimit) {
  const size_t n = 200, degree = 4;
  std::vector<uint32_t> graph(n * degree);
  for (size_t r = 0; r < n; ++r) std::fill_n(&graph[r * degree], degree, static_cast<uint32_t>(r));
  std::vector<uint32_t> entries = {7};
  const size_t wide = size_t{1} << 19;  // EntryLimit: 64
  ASSERT_EQ(EntryLimit(n, wide), 64u);
  CoverWithEntries(graph.data(), n, degree, wide, &entries);
  ASSERT_EQ(entries.size(), 64u);
  EXPECT_EQ(entries[0], 7u);
  EXPECT_EQ(entries[1], 0u);
  EXPECT_EQ(entries[63], 63u);  // 0..6, 8..63
  entries = {};
  CoverWithEntries(graph.data(), n, degree, 16, &entries);
  EXPECT_EQ(entries.size(), n);
  EXPECT_EQ(EntryLimit(n, 16), n);
  EXPECT_EQ(EntryLimit(1000000, 128), 4096u);
  EXPECT_EQ(EntryLimit(1000000, 32768), 64u);
}

// Random rows fill the entries up to EntryFill (after k-means++ and the cover, which stay first);
// with more than kEntryScanMost of them the search walks a graph over the entries instead of
// scoring all, and finds what the scan finds.
TEST(CagraTest, EntryGraphWalkFindsWhatTheScanFinds) {
  EXPECT_EQ(EntryFill(100000, 128), 4096u);
  EXPECT_EQ(EntryFill(60000, 784), 668u);  // Fashion-MNIST: EntryLimit
  EXPECT_EQ(EntryFill(1920, 16), 120u);    // n / 16
  EXPECT_EQ(EntryFill(1000000, 16), 4096u);  // kEntryGraphMost
  const test_data::Islands t = test_data::MakeIslands(200);
  const size_t n = t.n, dim = t.dim, nq = t.nq, k = t.k, degree = t.degree;
  const auto& v = t.v;
  const auto& q = t.q;
  const auto& exact = t.exact;
  const auto& graph = t.graph;
  std::vector<uint32_t> entries = t.entries;
  CoverWithEntries(graph.data(), n, degree, dim, &entries);
  const std::vector<uint32_t> before = entries;
  ASSERT_LT(before.size(), EntryFill(n, dim));
  FillWithRandomEntries(n, dim, 3, &entries);
  ASSERT_EQ(entries.size(), EntryFill(n, dim));
  ASSERT_GT(entries.size(), kEntryScanMost);
  EXPECT_TRUE(std::equal(before.begin(), before.end(), entries.begin()));
  std::vector<uint32_t> sorted = entries;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
  std::vector<uint32_t> again = before;
  FillWithRandomEntries(n, dim, 3, &again);
  EXPECT_EQ(again, entries);  // fixed by the seed
  FillWithRandomEntries(n, dim, 3, &again);
  EXPECT_EQ(again, entries);  // full: nothing added

  std::vector<float> entry_vectors;
  for (uint32_t e : entries) entry_vectors.insert(entry_vectors.end(), &v[e * dim], &v[e * dim] + dim);
  size_t entry_degree = 99;
  EXPECT_TRUE(EntryGraph(Metric::kL2, entry_vectors.data(), kEntryScanMost, dim, &entry_degree).empty());
  EXPECT_EQ(entry_degree, 0u);
  EXPECT_TRUE(EntryGraph(Metric::kL2, v.data(), kEntryGraphMost + 1, dim, &entry_degree).empty());
  const std::vector<uint32_t> entry_graph =
      EntryGraph(Metric::kL2, entry_vectors.data(), entries.size(), dim, &entry_degree);
  ASSERT_EQ(entry_degree, 32u);
  ASSERT_EQ(entry_graph.size(), entries.size() * entry_degree);
  for (size_t i = 0; i < entry_graph.size(); ++i) {
    ASSERT_LT(entry_graph[i], entries.size());
    ASSERT_NE(entry_graph[i], i / entry_degree);
  }

  const GraphView scan{.graph = graph.data(), .n = n, .degree = degree, .vectors = v.data(), .dim = dim,
                       .entries = entries.data(), .num_entries = entries.size(),
                       .entry_vectors = entry_vectors.data()};
  GraphView walk = scan;
  walk.entry_graph = entry_graph.data();
  walk.entry_degree = entry_degree;
  SearchParams params;
  params.itopk = 16;
  for (bool best_first : {false, true}) {
    SCOPED_TRACE(best_first ? "best first" : "list");
    params.best_first = best_first;
    std::vector<std::vector<Hit>> walked(nq), scanned(nq);
    for (size_t i = 0; i < nq; ++i) {
      walked[i] = Search(Metric::kL2, walk, &q[i * dim], k, params, nullptr, 7);
      scanned[i] = Search(Metric::kL2, scan, &q[i * dim], k, params, nullptr, 7);
    }
    std::printf("%zu islands, %zu entries: recall@10 %.4f walked, %.4f scanned\n", t.blobs,
                entries.size(), Recall(walked, exact), Recall(scanned, exact));
    EXPECT_GE(Recall(walked, exact), 0.99);
    EXPECT_GE(Recall(walked, exact), Recall(scanned, exact) - 0.01);
  }
  // Random rows that are entries too (half the rows drawn, under 20 seeds): the walk's first
  // entry, the query itself, is found once, never twice.
  SearchParams many_seeds;
  many_seeds.itopk = 16;
  many_seeds.random_seeds = n / 2;
  const float* at_entry = &v[entries[0] * dim];
  for (bool best_first : {false, true}) {
    many_seeds.best_first = best_first;
    for (uint64_t seed = 0; seed < 20; ++seed) {
      const std::vector<Hit> hits = Search(Metric::kL2, walk, at_entry, k, many_seeds, nullptr, seed);
      ASSERT_EQ(hits.size(), k);
      EXPECT_EQ(hits[0].row, entries[0]);
      std::set<int64_t> rows;
      for (const Hit& h : hits) rows.insert(h.row);
      EXPECT_EQ(rows.size(), k) << "seed " << seed << (best_first ? ", best first" : ", list");
    }
  }
}

// The walk over the entry graph must reach an entry that few others link to: 1024 islands in
// 128-d (centres about 16 apart, rows 0.5 per component around theirs), every fourth island a
// single row and the others five. Every row is an entry; each query comes from a lone island,
// whose only row is its nearest. A walk that keeps 16 entries ends among other islands' entries
// for some of them (as on synthetic 1M x 128, where 7 queries of 500 found nothing).
TEST(CagraTest, EntryWalkReachesALoneEntry) {
  constexpr size_t kBlobs = 1024, kPer = 5, kDim = 128, kQueries = 1000;
  std::mt19937 rng(43);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> centres(kBlobs * kDim);
  for (float& c : centres) c = normal(rng);
  std::vector<uint32_t> blob_of;
  for (size_t b = 0; b < kBlobs; ++b) blob_of.insert(blob_of.end(), b % 4 == 0 ? 1 : kPer, b);
  const size_t n = blob_of.size();
  auto around = [&](size_t blob, float* out) {
    for (size_t j = 0; j < kDim; ++j) out[j] = centres[blob * kDim + j] + 0.5f * normal(rng);
  };
  std::vector<float> v(n * kDim), q(kQueries * kDim);
  for (size_t i = 0; i < n; ++i) around(blob_of[i], &v[i * kDim]);
  for (size_t i = 0; i < kQueries; ++i) around((4 * i) % kBlobs, &q[i * kDim]);
  const auto knn = ExactKnnGraph(Metric::kL2, v.data(), n, kDim, 32);
  const std::vector<uint32_t> graph = OptimizeGraph(knn.data(), n, 32, 16);
  std::vector<uint32_t> entries(n);
  for (size_t i = 0; i < n; ++i) entries[i] = static_cast<uint32_t>(i);
  size_t entry_degree = 0;
  const std::vector<uint32_t> entry_graph = EntryGraph(Metric::kL2, v.data(), n, kDim, &entry_degree);
  ASSERT_GT(entry_degree, 0u);
  const GraphView g{.graph = graph.data(), .n = n, .degree = 16, .vectors = v.data(), .dim = kDim,
                    .entries = entries.data(), .num_entries = n, .entry_vectors = v.data(),
                    .entry_graph = entry_graph.data(), .entry_degree = entry_degree};
  auto missed = [&](size_t entry_list) {
    SearchParams params;
    params.itopk = 10;
    params.best_first = true;
    params.random_seeds = 1;
    params.entry_list = entry_list;
    size_t count = 0;
    for (size_t i = 0; i < kQueries; ++i) {
      const std::vector<Hit> hits = Search(Metric::kL2, g, &q[i * kDim], 1, params, nullptr, 7);
      count += hits.empty() || blob_of[hits[0].row] != (4 * i) % kBlobs;
    }
    return count;
  };
  const size_t by_default = missed(0), with_16 = missed(16);
  std::printf("lone islands missed: %zu of %zu (list of 16: %zu)\n", by_default, kQueries, with_16);
  EXPECT_LE(by_default, 2u);
  EXPECT_GE(with_16, 10u);  // the case is one a short list fails
}

// 2 sqrt(n) entry points in [64, 2048], no more than the rows, and no more than a 2 MiB scan.
TEST(CagraTest, EntryCountFollowsRowsAndDim) {
  EXPECT_EQ(EntryCount(10, 4), 10u);
  EXPECT_EQ(EntryCount(100, 16), 64u);
  EXPECT_EQ(EntryCount(60000, 784), 488u);         // Fashion-MNIST
  EXPECT_EQ(EntryCount(1000000, 128), 2000u);      // the bench's synthetic set
  EXPECT_EQ(EntryCount(100000000, 128), 2048u);
  EXPECT_EQ(EntryCount(1000000, 1536), 341u);      // 2^19 / 1536
  EXPECT_EQ(EntryCount(1000000, 32768), 64u);
  EXPECT_EQ(EntrySampleCount(1000000, 128), 32000u);
  EXPECT_EQ(EntrySampleCount(100, 16), 100u);
}

// The entry points are part of the index: built, serialized and loaded with it. A graph saved
// without them (before they existed) still loads; damaged ones are refused.
TEST(CagraTest, EntryPointsTravelWithTheIndex) {
  const test_data::Islands t = test_data::MakeIslands();
  const size_t n = t.n, dim = t.dim, k = t.k, nq = t.nq;
  const auto& v = t.v;
  const auto& q = t.q;
  const auto& exact = t.exact;
  IndexSpec spec{"GPU_CAGRA", Metric::kL2, {{"intermediate_graph_degree", "32"}, {"graph_degree", "16"}}};
  auto index = BuildIndex(spec, v.data(), n, dim);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  const Params search = {{"itopk_size", "16"}};
  auto hits = (*index)->Search(q.data(), nq, k, search, nullptr);
  ASSERT_TRUE(hits.ok());
  EXPECT_GE(Recall(*hits, exact), 0.99);
  auto blob = (*index)->Serialize();
  ASSERT_TRUE(blob.ok());
  // Graph, entries, their count, the mark: the k-means++ ones and any the cover added.
  uint32_t count = 0;
  ASSERT_GT(blob->size(), internal::kBlobHeaderSize + 2 * sizeof(uint32_t));
  std::memcpy(&count, blob->data() + blob->size() - 2 * sizeof(uint32_t), sizeof count);
  EXPECT_GE(count, std::max(EntryCount(n, dim), EntryFill(n, dim)));
  EXPECT_LE(count, EntryLimit(n, dim));
  ASSERT_EQ(blob->size(), internal::kBlobHeaderSize + (n * 16 + count + 2) * sizeof(uint32_t));
  auto loaded = LoadIndex(spec, *blob, v.data(), n, dim);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  auto again = (*loaded)->Search(q.data(), nq, k, search, nullptr);
  ASSERT_TRUE(again.ok());
  for (size_t i = 0; i < nq; ++i) {
    ASSERT_EQ((*again)[i].size(), (*hits)[i].size());
    for (size_t e = 0; e < (*hits)[i].size(); ++e) EXPECT_EQ((*again)[i][e].row, (*hits)[i][e].row);
  }
  // The payload rewritten, then sealed again as a valid blob.
  auto reseal = [&](size_t words_kept, std::vector<uint32_t> tail) {
    std::string out = internal::NewBlob();
    out.append(*blob, internal::kBlobHeaderSize, words_kept * sizeof(uint32_t));
    out.append(reinterpret_cast<const char*>(tail.data()), tail.size() * sizeof(uint32_t));
    internal::SealBlob({internal::IndexType::kGpuCagra, Metric::kL2, dim, n}, &out);
    return out;
  };
  auto old = LoadIndex(spec, reseal(n * 16, {}), v.data(), n, dim);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  auto old_hits = (*old)->Search(q.data(), nq, k, search, nullptr);
  ASSERT_TRUE(old_hits.ok());
  for (const auto& h : *old_hits) EXPECT_EQ(h.size(), k);
  for (const auto& bad : {reseal(n * 16, {7, 1}),                      // no mark: a torn row
                          reseal(n * 16, {static_cast<uint32_t>(n), 1, 0xFFFFFFFFu}),  // row n
                          reseal(n * 16, {5, 5, 2, 0xFFFFFFFFu}),         // a row twice
                          reseal(n * 16, {0, 0xFFFFFFFFu}),               // zero entries
                          reseal(n * 16, {3, 0xFFFFFFFFu}),               // entries cut from the graph
                          reseal(0, {0xFFFFFFFFu})}) {                    // a mark alone
    auto refused = LoadIndex(spec, bad, v.data(), n, dim);
    EXPECT_EQ(refused.status().code(), Code::kInvalidArgument) << refused.status().ToString();
  }
}

// A segment bigger than the build's memory: rows come through a RowSource in blocks, each block
// pair merged, and the graph is the in-memory build's to the byte (ExactSearch's distances do
// not depend on the blocks). The planner's reads: b + (b-1)(b-2) for b blocks.
TEST(CagraTest, StreamedBuildEqualsTheInMemoryBuild) {
  constexpr size_t n = 3000, dim = 24;
  auto v = RandomVectors(n, dim, 21);
  for (Metric m : {Metric::kL2, Metric::kIP, Metric::kCosine}) {
    SCOPED_TRACE(MetricName(m));
    IndexSpec spec{"GPU_CAGRA", m, {{"intermediate_graph_degree", "32"}, {"graph_degree", "16"}}};
    auto whole = BuildIndex(spec, v.data(), n, dim);
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    auto want = (*whole)->Serialize();
    ASSERT_TRUE(want.ok());
    constexpr uint64_t kLimit = 1 << 20;
    test_data::ArraySource source(v.data(), n, dim);
    StreamStats stats;
    auto streamed = BuildIndexStreamed(spec, n, dim, source, {kLimit, false}, &stats);
    ASSERT_TRUE(streamed.ok()) << streamed.status().ToString();
    EXPECT_GE(stats.blocks, 3u);
    EXPECT_EQ(stats.blocks, (n + stats.block_rows - 1) / stats.block_rows);
    EXPECT_LE(source.buffer_bytes, kLimit);
    EXPECT_EQ(source.buffer_bytes, 2 * stats.block_rows * dim * sizeof(float));
    const size_t b = stats.blocks;
    EXPECT_EQ(source.reads, b + (b - 1) * (b - 2));
    EXPECT_EQ(stats.reads, source.reads);
    EXPECT_GE(source.rows_read, n);
    auto got = (*streamed)->Serialize();
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(*got == *want) << "the streamed graph differs from the in-memory one";
    // It holds no vectors: it serves once loaded over them.
    std::vector<float> q(v.begin(), v.begin() + dim);
    auto refused = (*streamed)->Search(q.data(), 1, 5, {}, nullptr);
    EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
    auto loaded = LoadIndex(spec, *got, v.data(), n, dim);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    auto hits = (*loaded)->Search(q.data(), 1, 5, {}, nullptr);
    ASSERT_TRUE(hits.ok());
    EXPECT_EQ((*hits)[0][0].row, 0);  // itself
  }
  // Without a limit it is one block, read once; with build_algo IVF or NN_DESCENT too, and then
  // the graph is BuildIndex's by clusters or by NN-descent (without a GPU: with one, BuildIndex
  // runs there, and NN_DESCENT becomes the clustered graph).
  for (const char* algo : {"BRUTE_FORCE", "IVF", "NN_DESCENT"}) {
    SCOPED_TRACE(algo);
    IndexSpec spec{"GPU_CAGRA", Metric::kL2,
                   {{"intermediate_graph_degree", "32"}, {"graph_degree", "16"}, {"build_algo", algo}}};
    test_data::ArraySource source(v.data(), n, dim);
    StreamStats stats;
    auto streamed = BuildIndexStreamed(spec, n, dim, source, {0, false}, &stats);
    ASSERT_TRUE(streamed.ok()) << streamed.status().ToString();
    EXPECT_EQ(stats.blocks, 1u);
    EXPECT_EQ(source.reads, 1u);
    EXPECT_EQ(source.rows_read, n);
    if (!GpuDevice().empty()) continue;
    auto whole = BuildIndex(spec, v.data(), n, dim);
    ASSERT_TRUE(whole.ok());
    EXPECT_TRUE(*(*streamed)->Serialize() == *(*whole)->Serialize());
  }
}

TEST(CagraTest, StreamedBuildErrors) {
  constexpr size_t n = 2000, dim = 16;
  auto v = RandomVectors(n, dim, 22);
  IndexSpec spec{"GPU_CAGRA", Metric::kL2, {{"intermediate_graph_degree", "16"}, {"graph_degree", "8"}}};
  {  // a limit that cannot hold two blocks of 256 rows
    test_data::ArraySource source(v.data(), n, dim);
    auto r = BuildIndexStreamed(spec, n, dim, source, {4096, false});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
    EXPECT_NE(r.status().message().find("working memory"), std::string::npos) << r.status().message();
    EXPECT_EQ(source.reads, 0u);
  }
  {  // the source's error comes back, nothing is built
    test_data::ArraySource source(v.data(), n, dim);
    source.fail_read = 3;
    auto r = BuildIndexStreamed(spec, n, dim, source, {256 << 10, false});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kIOError) << r.status().ToString();
  }
  {  // only GPU_CAGRA streams; bad params are refused before any read
    test_data::ArraySource source(v.data(), n, dim);
    IndexSpec hnsw{"HNSW", Metric::kL2, {}};
    EXPECT_EQ(BuildIndexStreamed(hnsw, n, dim, source, {}).status().code(), Code::kInvalidArgument);
    IndexSpec bad{"GPU_CAGRA", Metric::kL2, {{"graph_degree", "64"}, {"intermediate_graph_degree", "32"}}};
    EXPECT_EQ(BuildIndexStreamed(bad, n, dim, source, {}).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(source.reads, 0u);
  }
  if (GpuDevice().empty()) {  // a GPU build without a GPU
    test_data::ArraySource source(v.data(), n, dim);
    auto r = BuildIndexStreamed(spec, n, dim, source, {0, true});
    EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  }
}

// The approximate kNN graphs' cases: clustered 6000 x 32 under each metric, and the first 4000
// Fashion-MNIST images (when installed) under L2 (there the exact reference is slow). fn(name,
// vectors, n, dim, metric, exact graph).
template <typename Fn>
void ForEachKnnCase(size_t k, const Fn& fn) {
  struct Case {
    const char* name;
    std::vector<float> v;
    size_t n, dim;
  };
  std::vector<Case> cases;
  cases.push_back({"clustered 6000x32", test_data::ClusteredVectors(6000, 32, 31), 6000, 32});
  auto fm = test_data::ReadFashionMnist("train-images-idx3-ubyte.gz", 4000);
  if (!fm.empty()) cases.push_back({"Fashion-MNIST 4000", std::move(fm), 4000, 784});
  for (const auto& c : cases) {
    for (Metric m : {Metric::kL2, Metric::kCosine, Metric::kIP}) {
      if (c.dim > 100 && m != Metric::kL2) continue;
      SCOPED_TRACE(std::string(c.name) + " " + MetricName(m));
      fn(c.name, c.v, c.n, c.dim, m, ExactKnnGraph(m, c.v.data(), c.n, c.dim, k));
    }
  }
}

// Every row of an n x k graph names k distinct rows other than itself.
void ExpectDistinctNeighbours(const std::vector<uint32_t>& graph, size_t n, size_t k) {
  ASSERT_EQ(graph.size(), n * k);
  for (size_t x = 0; x < n; ++x) {
    std::set<uint32_t> seen;
    for (size_t e = 0; e < k; ++e) {
      const uint32_t y = graph[x * k + e];
      ASSERT_LT(y, n);
      ASSERT_NE(y, x);
      seen.insert(y);
    }
    ASSERT_EQ(seen.size(), k) << "row " << x;
  }
}

// The clustered kNN graph finds most of each row's exact neighbours at a fraction of the
// distances, and every row gets k distinct neighbours other than itself.
TEST(CagraTest, ClusteredKnnGraphIsCloseToExact) {
  constexpr size_t k = 32;
  ForEachKnnCase(k, [](const char* name, const std::vector<float>& v, size_t n, size_t dim, Metric m,
                       const std::vector<uint32_t>& want) {
    internal::ClusterStats stats;
    auto got = internal::ClusteredKnnGraph(m, v.data(), n, dim, k, {}, false, &stats);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    const double recall = test_data::KnnRecall(*got, want, k);
    const double share = static_cast<double>(stats.pairs) / (static_cast<double>(n) * n);
    std::printf("%s %s: %zu clusters, %zu probes, kNN recall %.4f, %.3f of the pairs\n", name,
                MetricName(m), stats.clusters, stats.probes, recall, share);
    EXPECT_GE(recall, m == Metric::kIP ? 0.85 : 0.95);
    EXPECT_LT(share, 0.6);  // not every pair (at these small sizes the probed union is large)
    ExpectDistinctNeighbours(*got, n, k);
  });
}

// NN-descent finds nearly all of each row's exact neighbours; every row gets k distinct
// neighbours other than itself, nearest first; and the graph is the same on any number of threads.
TEST(CagraTest, NnDescentKnnGraphIsCloseToExact) {
  constexpr size_t k = 32;
  ForEachKnnCase(k, [](const char* name, const std::vector<float>& v, size_t n, size_t dim, Metric m,
                       const std::vector<uint32_t>& want) {
    internal::DescentStats stats;
    const auto got = internal::NnDescentKnnGraph(m, v.data(), n, dim, k, {}, &stats);
    const double recall = got.ok() ? test_data::KnnRecall(*got, want, k) : 0;
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    std::printf("%s %s: NN-descent kNN recall %.4f, %d rounds, %.0f distances per row\n", name,
                MetricName(m), recall, stats.iterations, static_cast<double>(stats.distances) / n);
    // Inner product is no metric: a neighbour's neighbour is a weaker guess.
    EXPECT_GE(recall, m == Metric::kIP ? 0.85 : 0.97);
    EXPECT_LE(stats.last_updates, internal::DescentParams{}.delta * n * k);  // it converged
    ExpectDistinctNeighbours(*got, n, k);
    for (size_t x = 0; x < n && m == Metric::kL2; ++x) {
      for (size_t e = 1; e < k; ++e) {
        ASSERT_LE(internal::L2Sqr(&v[x * dim], &v[(*got)[x * k + e - 1] * dim], dim),
                  internal::L2Sqr(&v[x * dim], &v[(*got)[x * k + e] * dim], dim))
            << "row " << x << " is not nearest first";
      }
    }
  });
  // Four threads or one: the same graph; another seed: another. A row with a NaN: refused.
  auto v = test_data::ClusteredVectors(6000, 32, 31);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(4);
  const auto four = internal::NnDescentKnnGraph(Metric::kL2, v.data(), 6000, 32, k, {}, nullptr);
  omp_set_num_threads(1);
  const auto one = internal::NnDescentKnnGraph(Metric::kL2, v.data(), 6000, 32, k, {}, nullptr);
  omp_set_num_threads(threads);
  ASSERT_TRUE(four.ok() && one.ok());
  EXPECT_TRUE(*four == *one) << "the graph depends on the threads";
  internal::DescentParams other_seed;
  other_seed.seed = 99;
  EXPECT_FALSE(*internal::NnDescentKnnGraph(Metric::kL2, v.data(), 6000, 32, k, other_seed, nullptr) == *four);
  v[1234 * 32 + 5] = std::nanf("");
  const auto refused = internal::NnDescentKnnGraph(Metric::kL2, v.data(), 6000, 32, k, {}, nullptr);
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("row 1234"), std::string::npos) << refused.status().message();
  // Few rows for k (k >= n / 4): the exact graph.
  const auto few = internal::NnDescentKnnGraph(Metric::kL2, v.data(), 100, 32, 60, {}, nullptr);
  ASSERT_TRUE(few.ok());
  EXPECT_TRUE(*few == ExactKnnGraph(Metric::kL2, v.data(), 100, 32, 60));
}

// build_algo picks the kNN graph's construction: IVF (clusters; the default for large inputs on
// a GPU), NN_DESCENT (the default for large inputs on a CPU) or BRUTE_FORCE (exact); all graphs
// search well, anything else is refused before any work.
TEST(CagraTest, BuildAlgoParameter) {
  constexpr size_t n = 8000, dim = 32, nq = 100, k = 10;
  auto v = test_data::ClusteredVectors(n, dim, 33);
  auto q = test_data::ClusteredVectors(nq, dim, 34);
  auto exact = ExactSearch(Metric::kL2, v.data(), n, dim, q.data(), nq, k, nullptr);
  for (const char* algo : {"IVF", "BRUTE_FORCE", "IVF_PQ", "NN_DESCENT"}) {
    SCOPED_TRACE(algo);
    IndexSpec spec{"GPU_CAGRA", Metric::kL2,
                   {{"intermediate_graph_degree", "32"}, {"graph_degree", "16"}, {"build_algo", algo}}};
    ASSERT_TRUE(ValidateSpec(spec, dim).ok());
    auto index = BuildIndex(spec, v.data(), n, dim);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    auto got = (*index)->Search(q.data(), nq, k, {{"itopk_size", "64"}}, nullptr);
    ASSERT_TRUE(got.ok());
    EXPECT_GE(Recall(*got, exact), 0.95);
  }
  IndexSpec bad{"GPU_CAGRA", Metric::kL2, {{"build_algo", "HNSW"}}};
  EXPECT_EQ(ValidateSpec(bad, dim).code(), Code::kInvalidArgument);
  EXPECT_NE(ValidateSpec(bad, dim).message().find("build_algo"), std::string::npos);
  EXPECT_EQ(BuildIndex(bad, v.data(), n, dim).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace skyway::vector::cagra
