// NN-descent (see knn_descent.h). Each row's list is k (distance, row, new) entries sorted by
// distance, guarded by the row's mutex; its worst distance is also kept in an atomic, read
// without the lock, so most candidates are turned away without taking it.
#include "vector/gpu/knn_descent.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <span>

#include "vector/gpu/cagra.h"
#include "vector/internal.h"

namespace skyway::vector::internal {
namespace {

class Lists {
 public:
  Lists(size_t n, size_t k)
      : k_(k), ids_(n * k), dists_(n * k), fresh_(n * k), locks_(new std::mutex[n]),
        worst_(new std::atomic<float>[n]) {}

  uint32_t* ids(size_t row) { return &ids_[row * k_]; }
  float* dists(size_t row) { return &dists_[row * k_]; }
  uint8_t* fresh(size_t row) { return &fresh_[row * k_]; }

  // Row's list from k candidates (distinct, not row): sorted by (distance, row), all new.
  void Start(size_t row, const uint32_t* cand, const float* d) {
    std::vector<std::pair<float, uint32_t>> order(k_);
    for (size_t i = 0; i < k_; ++i) order[i] = {d[i], cand[i]};
    std::sort(order.begin(), order.end());
    for (size_t i = 0; i < k_; ++i) {
      ids(row)[i] = order[i].second;
      dists(row)[i] = order[i].first;
      fresh(row)[i] = 1;
    }
    worst_[row].store(dists(row)[k_ - 1], std::memory_order_relaxed);
  }

  // Offers `other` at distance d to row's list: it enters (flagged 2, new this round) when it is
  // not there and comes before the worst entry by (distance, row). The list after a round is
  // thus the best k of what it held and what it was offered, whatever the order of the offers.
  void Offer(uint32_t row, uint32_t other, float d) {
    if (!(d <= worst_[row].load(std::memory_order_relaxed))) return;  // NaN too
    std::lock_guard<std::mutex> lock(locks_[row]);
    uint32_t* id = ids(row);
    float* dist = dists(row);
    auto before = [&](size_t i) { return d < dist[i] || (d == dist[i] && other < id[i]); };
    if (!before(k_ - 1)) return;
    size_t at = k_ - 1;
    for (size_t i = 0; i < k_; ++i) {
      if (id[i] == other) return;
      if (at == k_ - 1 && before(i)) at = i;
    }
    uint8_t* f = fresh(row);
    for (size_t i = k_ - 1; i > at; --i) {
      id[i] = id[i - 1];
      dist[i] = dist[i - 1];
      f[i] = f[i - 1];
    }
    id[at] = other;
    dist[at] = d;
    f[at] = 2;
    worst_[row].store(dist[k_ - 1], std::memory_order_relaxed);
  }

  // Entries that entered row's list this round (now simply new).
  size_t Settle(size_t row) {
    size_t entered = 0;
    for (uint8_t& f : std::span<uint8_t>(fresh(row), k_)) {
      entered += f == 2;
      if (f == 2) f = 1;
    }
    return entered;
  }

 private:
  size_t k_;
  std::vector<uint32_t> ids_;
  std::vector<float> dists_;
  std::vector<uint8_t> fresh_;
  std::unique_ptr<std::mutex[]> locks_;
  std::unique_ptr<std::atomic<float>[]> worst_;
};

// Up to `cap` row numbers per row (n x cap, `count` each).
struct Candidates {
  Candidates(size_t n, size_t cap) : cap(cap), rows(n * cap), count(n, 0), seen(n, 0) {}
  size_t cap;
  std::vector<uint32_t> rows;
  std::vector<uint32_t> count;
  std::vector<uint32_t> seen;  // offers so far (reservoir sampling)
  void Clear() {
    std::fill(count.begin(), count.end(), 0);
    std::fill(seen.begin(), seen.end(), 0);
  }
  // A uniform sample of the offers, by reservoir; `draw` a random number for this offer.
  void Add(size_t row, uint32_t value, uint64_t draw) {
    const uint32_t s = seen[row]++;
    if (count[row] < cap) {
      rows[row * cap + count[row]++] = value;
    } else if (const uint64_t j = draw % (uint64_t{s} + 1); j < cap) {
      rows[row * cap + j] = value;
    }
  }
  const uint32_t* begin(size_t row) const { return &rows[row * cap]; }
  const uint32_t* end(size_t row) const { return &rows[row * cap] + count[row]; }
};

}  // namespace

Result<std::vector<uint32_t>> NnDescentKnnGraph(Metric metric, const float* vectors, size_t n,
                                                size_t dim, size_t k, const DescentParams& params,
                                                DescentStats* stats) {
  for (size_t i = 0; i < n * dim; ++i) {
    if (!std::isfinite(vectors[i])) {
      return Status::Invalid("row " + std::to_string(i / dim) +
                             " has a component that is not finite (NaN or infinite)");
    }
  }
  if (n <= 4 * k) {
    if (stats != nullptr) *stats = {0, static_cast<uint64_t>(n) * n, 0};
    return cagra::ExactKnnGraph(metric, vectors, n, dim, k);
  }
  const size_t cap = params.candidates > 0 ? params.candidates : std::min<size_t>(k, 32);
  const std::vector<float> inv =
      metric == Metric::kCosine ? InverseNorms(vectors, n, dim) : std::vector<float>();
  // Smaller is nearer. (a, b) and (b, a) give the same bits: cosine's products are taken in one
  // order.
  auto distance = [&](uint32_t a, uint32_t b) -> float {
    if (a > b) std::swap(a, b);
    const float* x = vectors + static_cast<size_t>(a) * dim;
    const float* y = vectors + static_cast<size_t>(b) * dim;
    return Distance(metric, x, y, metric == Metric::kCosine ? inv[a] * inv[b] : 1.0f, dim);
  };
  const int64_t rows = static_cast<int64_t>(n);
  Lists lists(n, k);
  uint64_t distances = 0;
#pragma omp parallel
  {
    std::vector<uint32_t> cand(k);
    std::vector<float> d(k);
#pragma omp for schedule(static)
    for (int64_t v = 0; v < rows; ++v) {
      uint64_t draw = SplitMix64(params.seed ^ static_cast<uint64_t>(v));
      for (size_t i = 0; i < k; ++i) {  // k distinct random rows, not v (4k < n: few redraws)
        uint32_t r;
        do {
          draw = SplitMix64(draw);
          r = static_cast<uint32_t>(draw % n);
        } while (r == v || std::find(cand.begin(), cand.begin() + i, r) != cand.begin() + i);
        cand[i] = r;
        d[i] = distance(static_cast<uint32_t>(v), r);
        if (std::isnan(d[i])) d[i] = INFINITY;  // finite rows, an overflowing product
      }
      lists.Start(static_cast<size_t>(v), cand.data(), d.data());
    }
  }
  distances += n * k;
  Candidates fresh_out(n, cap), old_out(n, cap), fresh_in(n, cap), old_in(n, cap);
  int iteration = 0;
  uint64_t updates = 0;
  const uint64_t enough = static_cast<uint64_t>(params.delta * static_cast<double>(n * k));
  while (iteration < params.max_iterations) {
    const uint64_t round_seed = SplitMix64(params.seed + 0x1000 + static_cast<uint64_t>(iteration));
    // Each row's sample of its new entries (they become old) and of its old ones.
    fresh_out.Clear();
    old_out.Clear();
#pragma omp parallel for schedule(static)
    for (int64_t v = 0; v < rows; ++v) {
      uint8_t* f = lists.fresh(v);
      const uint32_t* id = lists.ids(v);
      uint64_t draw = SplitMix64(round_seed ^ static_cast<uint64_t>(v));
      for (size_t i = 0; i < k; ++i) {
        draw = SplitMix64(draw);
        if (f[i]) {
          fresh_out.Add(v, static_cast<uint32_t>(i), draw);
        } else {
          old_out.Add(v, id[i], draw);
        }
      }
      // fresh_out holds list positions: turn them into rows, and mark those entries old.
      uint32_t* pos = &fresh_out.rows[v * cap];
      for (uint32_t j = 0; j < fresh_out.count[v]; ++j) {
        f[pos[j]] = 0;
        pos[j] = id[pos[j]];
      }
    }
    // The reverse samples, in row order (the same sample whatever the threads).
    fresh_in.Clear();
    old_in.Clear();
    for (size_t v = 0; v < n; ++v) {
      uint64_t draw = SplitMix64(round_seed ^ (static_cast<uint64_t>(v) << 20) ^ 0xABCDEF);
      for (const uint32_t* u = fresh_out.begin(v); u != fresh_out.end(v); ++u) {
        draw = SplitMix64(draw);
        fresh_in.Add(*u, static_cast<uint32_t>(v), draw);
      }
      for (const uint32_t* u = old_out.begin(v); u != old_out.end(v); ++u) {
        draw = SplitMix64(draw);
        old_in.Add(*u, static_cast<uint32_t>(v), draw);
      }
    }
    // The local join. Offers race, but each list ends the round as the best of all it was
    // offered, so the result does not depend on the threads.
    uint64_t round_distances = 0;
#pragma omp parallel reduction(+ : round_distances)
    {
      std::vector<uint32_t> fresh, old;
#pragma omp for schedule(dynamic, 256)
      for (int64_t v = 0; v < rows; ++v) {
        fresh.assign(fresh_out.begin(v), fresh_out.end(v));
        fresh.insert(fresh.end(), fresh_in.begin(v), fresh_in.end(v));
        std::sort(fresh.begin(), fresh.end());
        fresh.erase(std::unique(fresh.begin(), fresh.end()), fresh.end());
        old.assign(old_out.begin(v), old_out.end(v));
        old.insert(old.end(), old_in.begin(v), old_in.end(v));
        std::sort(old.begin(), old.end());
        old.erase(std::unique(old.begin(), old.end()), old.end());
        for (size_t i = 0; i < fresh.size(); ++i) {
          const uint32_t a = fresh[i];
          for (size_t j = i + 1; j < fresh.size(); ++j) {
            const float dd = distance(a, fresh[j]);
            lists.Offer(a, fresh[j], dd);
            lists.Offer(fresh[j], a, dd);
          }
          round_distances += fresh.size() - i - 1;
          for (const uint32_t b : old) {
            if (b == a || std::binary_search(fresh.begin(), fresh.end(), b)) continue;
            const float dd = distance(a, b);
            ++round_distances;
            lists.Offer(a, b, dd);
            lists.Offer(b, a, dd);
          }
        }
      }
    }
    uint64_t round_updates = 0;
#pragma omp parallel for schedule(static) reduction(+ : round_updates)
    for (int64_t v = 0; v < rows; ++v) round_updates += lists.Settle(v);
    ++iteration;
    updates = round_updates;
    distances += round_distances;
    if (updates <= enough) break;
  }
  // Nearest first, ties by row.
  std::vector<uint32_t> graph(n * k);
#pragma omp parallel
  {
    std::vector<std::pair<float, uint32_t>> order(k);
#pragma omp for schedule(static)
    for (int64_t v = 0; v < rows; ++v) {
      for (size_t i = 0; i < k; ++i) order[i] = {lists.dists(v)[i], lists.ids(v)[i]};
      std::sort(order.begin(), order.end());
      for (size_t i = 0; i < k; ++i) graph[v * k + i] = order[i].second;
    }
  }
  if (stats != nullptr) {
    stats->iterations = iteration;
    stats->distances = distances;
    stats->last_updates = updates;
  }
  return graph;
}

}  // namespace skyway::vector::internal
