// CAGRA (Ootomo et al., arXiv 2308.15136): a fixed-degree proximity graph built from a kNN
// graph by rank-based edge reordering and reverse edges, searched with an internal top-k list
// that expands its best unexplored nodes a few at a time. The graph is a plain N x degree
// uint32 array, so a graph built on a GPU is searched on CPU-only nodes too.
//
// This header is the CPU half: the reference the GPU kernels are checked against, the build
// used when no GPU is present, and the CPU search. Private to vector/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "vector/vector.h"

namespace skyway::vector::cagra {

// Each row's k nearest other rows (n x k, nearest first; ties by row), exact. A row with fewer
// than k others (n <= k) repeats its last neighbour. REQUIRES: n >= 2, k >= 1.
std::vector<uint32_t> ExactKnnGraph(Metric metric, const float* vectors, size_t n, size_t dim,
                                    size_t k);

// Rank-based reordering (CAGRA section 3.2.1): the edge from x to its rank-j neighbour y has a
// detour when some neighbour z of x at rank i < j lists y at a rank r with max(i, r) < j. Each
// row keeps the `degree` edges with the fewest detours (rank breaks ties). knn: n x k_init.
// REQUIRES: degree <= k_init.
std::vector<uint32_t> PruneByDetours(const uint32_t* knn, size_t n, size_t k_init, size_t degree);

// Reverse edges (section 3.2.2): row x keeps its first degree/2 pruned edges, then the rows
// whose pruned lists name x (by their rank of x, then row), then the rest of its own, without
// repeats, to exactly `degree` edges. pruned: n x degree.
std::vector<uint32_t> AddReverseEdges(const uint32_t* pruned, size_t n, size_t degree);

// Both steps: the search graph from a kNN graph. REQUIRES: degree <= k_init.
std::vector<uint32_t> OptimizeGraph(const uint32_t* knn, size_t n, size_t k_init, size_t degree);

// Entry points of the search, an addition to CAGRA (whose seeds are random rows only): rows spread
// over the data by k-means++ seeding (D^2 sampling) over a sample, so that a graph made of
// islands (well-separated clusters, whose kNN edges never leave them) is entered in the query's
// island, as hnswlib's upper layers do. sample: count rows (host memory), ids their row numbers.
// COSINE compares directions. Up to `entries` row numbers, fewer when the sample has fewer
// distinct rows.
std::vector<uint32_t> EntryPoints(Metric metric, const float* sample, const uint32_t* ids,
                                  size_t count, size_t dim, size_t entries, uint64_t seed);

// How many entry points a graph of n rows of dim floats gets: 2 sqrt(n) in [64, 2048] (twice the
// islands of a mixture of sqrt(n) clusters), but no more than 2^19 / dim (each costs a distance
// per search: their scan reads at most 2 MiB), and how many sample rows they are drawn from
// (16 each).
size_t EntryCount(size_t n, size_t dim);
size_t EntrySampleCount(size_t n, size_t dim);
// The sample rows (sorted, distinct, fixed by n, dim and seed).
std::vector<uint32_t> EntrySampleRows(size_t n, size_t dim, uint64_t seed);

// Entry points added so that every row is one or lies within two edges of one, another addition:
// the search walks from its nearest entries, and rows whose edges stay among themselves (a small
// cluster, whose kNN edges rarely leave it, that k-means++ over a sample missed) are otherwise
// reached by no walk: on synthetic 100k x 128 every miss of the search was such a query, none of
// its 10 neighbours found. Rows no entry covers become entries in row order, up to
// EntryLimit(n, dim) entries in all. graph: n x degree.
void CoverWithEntries(const uint32_t* graph, size_t n, size_t degree, size_t dim,
                      std::vector<uint32_t>* entries);
// The most entry points a graph of n rows of dim floats has: min(n, max(64, 2^19 / dim)).
size_t EntryLimit(size_t n, size_t dim);

// Random rows added to the entries last (distinct, in the order drawn from seed), up to
// EntryFill(n, dim) = min(EntryLimit(n, dim), n / 16, kEntryGraphMost) entries: HNSW's first
// layer holds n / M of the rows at random; with the walk over the entry graph below, more
// entries cost little and catch the small clusters that k-means++ and the cover left out
// (synthetic 100k x 128, itopk 10: recall 0.976 with 720 entries scanned, 0.998 with 4096
// walked, 57 and 62 us per query).
size_t EntryFill(size_t n, size_t dim);
void FillWithRandomEntries(size_t n, size_t dim, uint64_t seed, std::vector<uint32_t>* entries);

// A graph over the entry points, another addition: each entry's nearest other entries (exact,
// 2 x degree of them), optimised as the search graph is (OptimizeGraph), in entry numbers
// (count x *degree). The search walks it best first to the entries nearest the query instead of
// scoring all of them: at 128-d 4096 entries are 2 MiB of rows per query (synthetic 100k x 128,
// itopk 10: 129 us per query scanning them, 62 us walking). entry_vectors: the entries' rows
// in order. Empty (and *degree 0) for kEntryScanMost entries or fewer (a scan of those is as
// cheap) and for more than kEntryGraphMost (its cost, count^2 x dim, is made at every load; a
// blob may name up to n).
constexpr size_t kEntryScanMost = 256, kEntryGraphMost = 4096, kMaxEntryDegree = 64;
// The entries the walk keeps by default. With 16, on synthetic 1M x 128 (1024 clusters, 4096
// entries) 7 queries of 500 found none of their neighbours (recall@10 0.982 at itopk 10, 0.986 at
// itopk 32 and beyond): each query's cluster had one entry, 13-17 of the other entries link to
// it, and the walk ended among other clusters' entries. With 32: 0.996 and 1.000, as a scan of
// all the entries, at 0.9 x the QPS of 16 (0.8 x at 100k, where 16 already found everything).
constexpr size_t kDefaultEntryList = 32;
std::vector<uint32_t> EntryGraph(Metric metric, const float* entry_vectors, size_t count,
                                 size_t dim, size_t* degree);

struct SearchParams {
  size_t itopk = 64;         // internal top-k list (at least k)
  size_t search_width = 1;   // nodes expanded per iteration
  size_t min_iterations = 0;
  size_t max_iterations = 0;  // 0: enough to explore the list several times over
  bool best_first = false;    // walk best first (a heap) rather than CAGRA's list, as with a filter
  size_t random_seeds = 0;    // random entry candidates; 0: DefaultRandomSeeds
  size_t entry_list = 0;      // with an entry graph: the entries its walk keeps; 0: kDefaultEntryList
};

// Random rows a search starts from besides the entry points: CAGRA's search_width x degree; with
// no entry points at least 4 x the list, so that a graph of well-separated clusters is more
// likely entered in the query's.
size_t DefaultRandomSeeds(size_t width, size_t degree, size_t list, size_t num_entries);

// A graph and what its search reads.
struct GraphView {
  const uint32_t* graph = nullptr;  // n x degree
  size_t n = 0, degree = 0;
  const float* vectors = nullptr;    // n x dim
  const float* inv_norms = nullptr;  // COSINE: the rows' 1/|x|; else null
  size_t dim = 0;
  const uint32_t* entries = nullptr;     // entry points (EntryPoints); none when num_entries is 0
  size_t num_entries = 0;
  const float* entry_vectors = nullptr;  // optional: their rows in order, contiguous (a scan
                                         // of them without a cache miss per row)
  const uint32_t* entry_graph = nullptr;  // optional: EntryGraph (then entry_vectors too)
  size_t entry_degree = 0;                // its first kMaxEntryDegree edges are walked
};

// Searches the graph for the k nearest rows of one query: hits best first, scores as vector.h
// says. Every entry point (with an entry graph: those its walk reaches) and `random_seeds` random
// rows are candidates to start from. COSINE:
// query normalized. With a filter the walk is best-first (hnswlib's filtered walk over this
// graph): rejected rows are waypoints, results are the best itopk accepted ones; a filter that
// accepts few rows ends in an exact scan of the accepted rows.
std::vector<Hit> Search(Metric metric, const GraphView& graph, const float* query, size_t k,
                        const SearchParams& params, const RowFilter* filter, uint64_t seed);

}  // namespace skyway::vector::cagra
