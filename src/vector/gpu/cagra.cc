// CAGRA's CPU half: the exact kNN graph, the graph optimisation and the search.
#include "vector/gpu/cagra.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <mutex>
#include <numeric>
#include <queue>
#include <random>

#include "vector/internal.h"

namespace skyway::vector::cagra {
namespace {

// Rows marked in one search, reset in O(1) by bumping the epoch. Borrowed from a pool so that
// concurrent searches do not share one.
struct Visited {
  std::vector<uint32_t> mark;
  uint32_t epoch = 0;
  void Begin(size_t n) {
    if (mark.size() != n || epoch == UINT32_MAX) {
      mark.assign(n, 0);
      epoch = 0;
    }
    ++epoch;
  }
  bool TestAndSet(uint32_t row) {
    if (mark[row] == epoch) return true;
    mark[row] = epoch;
    return false;
  }
};

class VisitedPool {
 public:
  std::unique_ptr<Visited> Take() {
    std::lock_guard lock(mu_);
    if (free_.empty()) return std::make_unique<Visited>();
    auto v = std::move(free_.back());
    free_.pop_back();
    return v;
  }
  void Give(std::unique_ptr<Visited> v) {
    std::lock_guard lock(mu_);
    if (free_.size() < 64) free_.push_back(std::move(v));
  }

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<Visited>> free_;
};

VisitedPool& Pool() {
  static VisitedPool* pool = new VisitedPool();  // never destroyed: searches may outlive statics
  return *pool;
}

uint64_t SplitMix(uint64_t* state) {  // splitmix64's generator
  const uint64_t x = *state;
  *state += 0x9E3779B97F4A7C15ULL;
  return SplitMix64(x);
}

struct Entry {
  float distance;
  uint32_t row;
  bool explored;
};

}  // namespace

std::vector<uint32_t> ExactKnnGraph(Metric metric, const float* vectors, size_t n, size_t dim,
                                    size_t k) {
  std::vector<uint32_t> graph(n * k);
  constexpr size_t kChunk = 4096;  // queries per ExactSearch call, to bound the hit lists
  for (size_t first = 0; first < n; first += kChunk) {
    const size_t count = std::min(kChunk, n - first);
    auto hits = ExactSearch(metric, vectors, n, dim, vectors + first * dim, count, k + 1, nullptr);
    for (size_t q = 0; q < count; ++q) {
      const size_t self = first + q;
      uint32_t* out = &graph[self * k];
      size_t m = 0;
      for (const Hit& h : hits[q]) {
        if (static_cast<size_t>(h.row) == self || m == k) continue;
        out[m++] = static_cast<uint32_t>(h.row);
      }
      for (; m < k; ++m) out[m] = m > 0 ? out[m - 1] : static_cast<uint32_t>((self + 1) % n);
    }
  }
  return graph;
}

std::vector<uint32_t> PruneByDetours(const uint32_t* knn, size_t n, size_t k_init, size_t degree) {
  std::vector<uint32_t> pruned(n * degree);
  const int64_t rows = static_cast<int64_t>(n);
#pragma omp parallel
  {
    // rank_of[y] is y's rank in the current row's list when tag[y] names that row.
    std::vector<uint32_t> tag(n, UINT32_MAX), rank_of(n, 0);
    std::vector<uint32_t> detours(k_init), order(k_init);
#pragma omp for schedule(dynamic, 256)
    for (int64_t xi = 0; xi < rows; ++xi) {
      const auto x = static_cast<uint32_t>(xi);
      const uint32_t* list = knn + x * k_init;
      for (size_t j = k_init; j-- > 0;) {  // backwards: a repeated row keeps its best rank
        tag[list[j]] = x;
        rank_of[list[j]] = static_cast<uint32_t>(j);
      }
      std::fill(detours.begin(), detours.end(), 0);
      for (size_t i = 0; i < k_init; ++i) {
        const uint32_t* via = knn + static_cast<size_t>(list[i]) * k_init;
        for (size_t r = 0; r < k_init; ++r) {
          const uint32_t y = via[r];
          if (tag[y] != x) continue;
          const size_t j = rank_of[y];
          if (std::max(i, r) < j) ++detours[j];
        }
      }
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](uint32_t a, uint32_t b) { return detours[a] < detours[b]; });
      for (size_t e = 0; e < degree; ++e) pruned[x * degree + e] = list[order[e]];
    }
  }
  return pruned;
}

std::vector<uint32_t> AddReverseEdges(const uint32_t* pruned, size_t n, size_t degree) {
  // Reverse lists, each ordered by (rank in the source's list, source row).
  std::vector<size_t> start(n + 1, 0);
  for (size_t e = 0; e < n * degree; ++e) ++start[pruned[e] + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<uint32_t> reverse(n * degree);
  std::vector<size_t> fill(start.begin(), start.end() - 1);
  for (size_t r = 0; r < degree; ++r) {  // rank-major, rows ascending: already in order
    for (size_t x = 0; x < n; ++x) reverse[fill[pruned[x * degree + r]]++] = static_cast<uint32_t>(x);
  }
  std::vector<uint32_t> out(n * degree);
  const int64_t rows = static_cast<int64_t>(n);
#pragma omp parallel for schedule(static)
  for (int64_t xi = 0; xi < rows; ++xi) {
    const auto x = static_cast<size_t>(xi);
    const uint32_t* own = pruned + x * degree;
    uint32_t* dst = out.data() + x * degree;
    size_t m = 0;
    auto add = [&](uint32_t y) {
      if (m == degree || y == x || std::find(dst, dst + m, y) != dst + m) return;
      dst[m++] = y;
    };
    const size_t half = degree / 2;
    for (size_t e = 0; e < half; ++e) add(own[e]);
    for (size_t e = start[x]; e < start[x + 1]; ++e) add(reverse[e]);
    for (size_t e = half; e < degree; ++e) add(own[e]);
    // Only when the lists repeat rows (tiny graphs): pad with the nearest.
    for (; m < degree; ++m) dst[m] = m > 0 ? dst[m - 1] : own[0];
  }
  return out;
}

std::vector<uint32_t> OptimizeGraph(const uint32_t* knn, size_t n, size_t k_init, size_t degree) {
  std::vector<uint32_t> pruned = PruneByDetours(knn, n, k_init, degree);
  return AddReverseEdges(pruned.data(), n, degree);
}

size_t EntryLimit(size_t n, size_t dim) {
  return std::min(n, std::max<size_t>(64, (size_t{1} << 19) / std::max<size_t>(dim, 1)));
}

size_t EntryCount(size_t n, size_t dim) {
  const auto root = static_cast<size_t>(std::sqrt(static_cast<double>(n)));
  return std::min(std::clamp<size_t>(2 * root, 64, 2048), EntryLimit(n, dim));
}

void CoverWithEntries(const uint32_t* graph, size_t n, size_t degree, size_t dim,
                      std::vector<uint32_t>* entries) {
  constexpr uint8_t kHops = 2, kFar = 255;
  std::vector<uint8_t> hops(n, kFar);  // fewest edges from an entry
  std::vector<uint32_t> frontier, next;
  auto cover = [&](uint32_t start) {
    hops[start] = 0;
    frontier.assign(1, start);
    for (uint8_t h = 1; h <= kHops && !frontier.empty(); ++h) {
      next.clear();
      for (uint32_t row : frontier) {
        const uint32_t* edges = graph + static_cast<size_t>(row) * degree;
        for (size_t e = 0; e < degree; ++e) {
          if (hops[edges[e]] <= h) continue;
          hops[edges[e]] = h;
          next.push_back(edges[e]);
        }
      }
      frontier.swap(next);
    }
  };
  for (uint32_t e : *entries) cover(e);
  const size_t limit = EntryLimit(n, dim);
  for (size_t row = 0; row < n && entries->size() < limit; ++row) {
    if (hops[row] != kFar) continue;
    entries->push_back(static_cast<uint32_t>(row));
    cover(static_cast<uint32_t>(row));
  }
}

size_t EntryFill(size_t n, size_t dim) {
  return std::min({EntryLimit(n, dim), n / 16, kEntryGraphMost});
}

void FillWithRandomEntries(size_t n, size_t dim, uint64_t seed, std::vector<uint32_t>* entries) {
  const size_t target = EntryFill(n, dim);
  if (entries->size() >= target) return;
  std::vector<bool> taken(n, false);
  for (uint32_t e : *entries) taken[e] = true;
  uint64_t state = seed;
  while (entries->size() < target) {
    const auto row = static_cast<uint32_t>(SplitMix(&state) % n);
    if (taken[row]) continue;
    taken[row] = true;
    entries->push_back(row);
  }
}

std::vector<uint32_t> EntryGraph(Metric metric, const float* entry_vectors, size_t count,
                                 size_t dim, size_t* degree) {
  *degree = 0;
  if (count <= kEntryScanMost || count > kEntryGraphMost) return {};
  constexpr size_t kDegree = 32;
  std::vector<uint32_t> knn = ExactKnnGraph(metric, entry_vectors, count, dim, 2 * kDegree);
  *degree = kDegree;
  return OptimizeGraph(knn.data(), count, 2 * kDegree, kDegree);
}

size_t DefaultRandomSeeds(size_t width, size_t degree, size_t list, size_t num_entries) {
  return num_entries > 0 ? width * degree : std::max(width * degree, 4 * list);
}

size_t EntrySampleCount(size_t n, size_t dim) { return std::min(n, 16 * EntryCount(n, dim)); }

std::vector<uint32_t> EntrySampleRows(size_t n, size_t dim, uint64_t seed) {
  const size_t count = EntrySampleCount(n, dim);
  std::vector<uint32_t> rows;
  rows.reserve(count);
  // Selection sampling (Knuth's algorithm S): each row in turn, with the odds of the rows left.
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (size_t row = 0; row < n && rows.size() < count; ++row) {
    if (static_cast<double>(n - row) * uniform(rng) < static_cast<double>(count - rows.size())) {
      rows.push_back(static_cast<uint32_t>(row));
    }
  }
  return rows;
}

std::vector<uint32_t> EntryPoints(Metric metric, const float* sample, const uint32_t* ids,
                                  size_t count, size_t dim, size_t entries, uint64_t seed) {
  std::vector<uint32_t> out;
  if (count == 0 || entries == 0) return out;
  std::vector<float> normalized;
  if (metric == Metric::kCosine) {
    normalized = internal::NormalizedCopy(sample, count, dim);
    sample = normalized.data();
  }
  std::vector<float> nearest(count, std::numeric_limits<float>::infinity());
  std::mt19937_64 rng(seed);
  size_t pick = rng() % count;
  const int64_t rows = static_cast<int64_t>(count);
  while (true) {
    out.push_back(ids[pick]);
    if (out.size() == entries) break;
    const float* center = sample + pick * dim;
    double total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (count * dim >= (1 << 16))
    for (int64_t i = 0; i < rows; ++i) {
      const float d = internal::L2Sqr(sample + static_cast<size_t>(i) * dim, center, dim);
      nearest[i] = std::min(nearest[i], d);
      total += nearest[i];
    }
    if (!(total > 0)) break;  // every sample row is an entry's duplicate
    // The next entry: a sample row drawn with odds its squared distance to the nearest entry.
    double target = std::uniform_real_distribution<double>(0.0, total)(rng);
    pick = count;
    for (size_t i = 0; i < count; ++i) {
      target -= nearest[i];
      if (nearest[i] > 0 && target < 0) {
        pick = i;
        break;
      }
    }
    if (pick == count) {  // rounding: the last row still far from every entry
      for (size_t i = count; i-- > 0;) {
        if (nearest[i] > 0) {
          pick = i;
          break;
        }
      }
    }
  }
  return out;
}

namespace {

// Distances from one query (COSINE: normalized) to rows of a GraphView: a row by its number, an
// entry point by its place in the list (from the contiguous copy when there is one).
class Scorer {
 public:
  Scorer(Metric metric, const GraphView& g, const float* query) : metric_(metric), g_(g), query_(query) {}
  float Row(uint32_t row) const {
    return internal::Distance(metric_, query_, g_.vectors + static_cast<size_t>(row) * g_.dim, InvNorm(row), g_.dim);
  }
  float Entry(size_t i) const {
    if (g_.entry_vectors == nullptr) return Row(g_.entries[i]);
    return internal::Distance(metric_, query_, g_.entry_vectors + i * g_.dim, InvNorm(g_.entries[i]), g_.dim);
  }
  // Asks for the first lines of a row ahead of its distance (a row far in memory is a cache
  // miss per line otherwise; the hardware prefetcher takes the lines after).
  void Prefetch(uint32_t row) const { PrefetchRow(g_.vectors + static_cast<size_t>(row) * g_.dim); }
  void PrefetchEntry(size_t i) const {
    PrefetchRow(g_.entry_vectors != nullptr ? g_.entry_vectors + i * g_.dim
                                            : g_.vectors + static_cast<size_t>(g_.entries[i]) * g_.dim);
  }

 private:
  float InvNorm(uint32_t row) const { return g_.inv_norms != nullptr ? g_.inv_norms[row] : 1.0F; }
  void PrefetchRow(const float* x) const {
    internal::PrefetchLines(x, std::min<size_t>(g_.dim * sizeof(float), 1024));
  }
  Metric metric_;
  const GraphView& g_;
  const float* query_;
};

// The not yet visited edges of `row` into fresh (marking them visited), their rows prefetched.
void FreshEdges(const GraphView& g, const Scorer& scorer, uint32_t row, Visited* visited,
                std::vector<uint32_t>* fresh) {
  fresh->clear();
  const uint32_t* edges = g.graph + static_cast<size_t>(row) * g.degree;
  for (size_t e = 0; e < g.degree; ++e) {
    if (visited->TestAndSet(edges[e])) continue;
    fresh->push_back(edges[e]);
    scorer.Prefetch(edges[e]);
  }
}

// `count` random rows not visited yet into fresh (marking them visited), their rows prefetched.
// Entry points are marked visited before, so the two never repeat a row.
void RandomSeeds(const GraphView& g, const Scorer& scorer, size_t count, uint64_t seed,
                 Visited* visited, std::vector<uint32_t>* fresh) {
  fresh->clear();
  uint64_t state = seed;
  for (size_t s = 0; s < count; ++s) {
    const auto row = static_cast<uint32_t>(SplitMix(&state) % g.n);
    if (visited->TestAndSet(row)) continue;
    fresh->push_back(row);
    scorer.Prefetch(row);
  }
}

// The walk over the entry graph, best first from entry 0 (k-means++'s first, a random row):
// every entry it scores is marked visited and given to take(row, distance); it keeps the `list`
// best and ends when the nearest unexpanded entry is worse than all of them.
template <typename Take>
void WalkEntries(const GraphView& g, const Scorer& scorer, size_t list, Visited* visited, Take take) {
  using Candidate = std::pair<float, uint32_t>;  // distance, entry number
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> candidates;
  std::priority_queue<float> best;  // the `list` best distances, worst on top
  auto offer = [&](uint32_t e, float d) {
    take(g.entries[e], d);
    if (best.size() >= list && d >= best.top()) return;
    candidates.emplace(d, e);
    best.push(d);
    if (best.size() > list) best.pop();
  };
  visited->TestAndSet(g.entries[0]);
  offer(0, scorer.Entry(0));
  uint32_t fresh[kMaxEntryDegree];
  const size_t degree = std::min(g.entry_degree, kMaxEntryDegree);
  while (!candidates.empty()) {
    const Candidate current = candidates.top();
    if (best.size() >= list && current.first > best.top()) break;
    candidates.pop();
    const uint32_t* edges = g.entry_graph + static_cast<size_t>(current.second) * g.entry_degree;
    size_t count = 0;
    for (size_t i = 0; i < degree; ++i) {
      if (visited->TestAndSet(g.entries[edges[i]])) continue;
      fresh[count++] = edges[i];
      scorer.PrefetchEntry(edges[i]);
    }
    for (size_t i = 0; i < count; ++i) offer(fresh[i], scorer.Entry(fresh[i]));
  }
}

// The search's start: the entry points (all, or those the walk over the entry graph reaches),
// then `seeds` random rows not among them, each given to take(row, distance). A scan marks the
// entries visited first, so the random rows are asked for while the entries are scored; a walk
// runs first, so the random rows skip what it reached and never cut it short.
template <typename Take>
void ScoreStart(const GraphView& g, const Scorer& scorer, size_t list, size_t seeds, uint64_t seed,
                Visited* visited, std::vector<uint32_t>* scratch, Take take) {
  if (g.entry_graph != nullptr && g.entry_degree > 0 && g.num_entries > 0) {
    WalkEntries(g, scorer, list, visited, take);
    RandomSeeds(g, scorer, seeds, seed, visited, scratch);
  } else {
    for (size_t e = 0; e < g.num_entries; ++e) visited->TestAndSet(g.entries[e]);
    RandomSeeds(g, scorer, seeds, seed, visited, scratch);
    for (size_t e = 0; e < g.num_entries; ++e) take(g.entries[e], scorer.Entry(e));
  }
  for (uint32_t row : *scratch) take(row, scorer.Row(row));
}

// Filtered search, best first as hnswlib's filtered base-layer walk, over the CAGRA graph: every
// reached row is a waypoint, only accepted rows enter the results, and the walk ends when the
// nearest waypoint is worse than the worst of `ef` accepted rows. Past max(n/8, 4 ef) distance
// computations with fewer than ef accepted, or with fewer than k accepted at the end, an exact
// scan of the accepted rows answers (the filter accepts few rows; the scan is cheaper then).
std::vector<Hit> FilteredSearch(Metric metric, const GraphView& g, const Scorer& scorer, size_t k,
                                size_t ef, size_t entry_list, size_t seeds, const RowFilter* filter,
                                uint64_t seed) {
  using Candidate = std::pair<float, uint32_t>;
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> candidates;
  std::priority_queue<Candidate> top;  // accepted, worst on top
  std::unique_ptr<Visited> visited = Pool().Take();
  visited->Begin(g.n);
  const size_t budget = std::max(g.n / 8, 4 * ef);
  size_t computed = 0;
  bool gave_up = false;
  auto offer = [&](uint32_t row, float d) {
    ++computed;
    if (top.size() >= ef && d >= top.top().first) return;
    candidates.emplace(d, row);
    if (filter == nullptr || (*filter)(row)) {
      top.emplace(d, row);
      if (top.size() > ef) top.pop();
    }
  };
  std::vector<uint32_t> fresh;
  fresh.reserve(std::max(g.degree, seeds));
  ScoreStart(g, scorer, entry_list, seeds, seed, visited.get(), &fresh, offer);
  while (!candidates.empty()) {
    const Candidate current = candidates.top();
    if (top.size() >= ef && current.first > top.top().first) break;
    if (computed > budget && top.size() < ef) {
      gave_up = true;
      break;
    }
    candidates.pop();
    FreshEdges(g, scorer, current.second, visited.get(), &fresh);
    for (uint32_t row : fresh) offer(row, scorer.Row(row));
  }
  Pool().Give(std::move(visited));
  internal::TopK out(k);
  if (filter != nullptr && (gave_up || top.size() < k)) {
    for (size_t row = 0; row < g.n; ++row) {
      if ((*filter)(static_cast<int64_t>(row))) out.Push(scorer.Row(static_cast<uint32_t>(row)), row);
    }
  } else {
    for (; !top.empty(); top.pop()) out.Push(top.top().first, top.top().second);
  }
  return out.Take(metric);
}

}  // namespace

std::vector<Hit> Search(Metric metric, const GraphView& g, const float* query, size_t k,
                        const SearchParams& params, const RowFilter* filter, uint64_t seed) {
  if (g.n == 0 || k == 0) return {};
  const Scorer scorer(metric, g, query);
  const size_t width = std::max<size_t>(1, params.search_width);
  const size_t list_size = std::max(params.itopk, k);
  const size_t seeds = std::min(g.n, params.random_seeds > 0
                                        ? params.random_seeds
                                        : DefaultRandomSeeds(width, g.degree, list_size, g.num_entries));
  const size_t entry_list = params.entry_list > 0 ? params.entry_list : kDefaultEntryList;
  if (filter != nullptr || params.best_first) {
    return FilteredSearch(metric, g, scorer, k, list_size, entry_list, seeds, filter, seed);
  }
  const size_t max_iterations =
      params.max_iterations > 0 ? params.max_iterations : 2 * (list_size / width) + 16;
  std::unique_ptr<Visited> visited = Pool().Take();
  visited->Begin(g.n);
  std::vector<Entry> list, fresh;
  list.reserve(list_size + width * g.degree);
  auto merge = [&] {
    list.insert(list.end(), fresh.begin(), fresh.end());
    fresh.clear();
    auto closer = [](const Entry& a, const Entry& b) {
      return a.distance < b.distance || (a.distance == b.distance && a.row < b.row);
    };
    if (list.size() > list_size) {
      std::partial_sort(list.begin(), list.begin() + list_size, list.end(), closer);
      list.resize(list_size);
    } else {
      std::sort(list.begin(), list.end(), closer);
    }
  };
  std::vector<uint32_t> parents, rows;
  rows.reserve(std::max(g.degree, seeds));
  ScoreStart(g, scorer, entry_list, seeds, seed, visited.get(), &rows,
             [&](uint32_t row, float d) { fresh.push_back({d, row, false}); });
  merge();
  for (size_t iteration = 0; iteration < max_iterations; ++iteration) {
    parents.clear();
    for (Entry& e : list) {
      if (parents.size() == width) break;
      if (!e.explored) {
        e.explored = true;
        parents.push_back(e.row);
      }
    }
    if (parents.empty() && iteration >= params.min_iterations) break;
    for (uint32_t p : parents) {
      FreshEdges(g, scorer, p, visited.get(), &rows);
      for (uint32_t row : rows) fresh.push_back({scorer.Row(row), row, false});
    }
    merge();
  }
  Pool().Give(std::move(visited));
  internal::TopK best(k);
  for (const Entry& e : list) best.Push(e.distance, e.row);
  return best.Take(metric);
}

}  // namespace skyway::vector::cagra
