// The clustered kNN graph (see knn_clustered.h). One driver for the CPU and the GPU: the work is
// gpu::BlockTopK calls over contiguous row ranges, which both provide, plus copies and a row
// gather that the Memory below does in host or device memory.
#include "vector/gpu/knn_clustered.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <numeric>
#include <random>

#include "vector/gpu/device.h"
#include "vector/gpu/knn_stream.h"
#include "vector/internal.h"

namespace skyway::vector::internal {
namespace {

constexpr uint32_t kNoRow = 0xFFFFFFFFu;
constexpr size_t kAssignTile = 1 << 16;  // rows per nearest-centroid pass

// Host or device arrays of floats, freed with the object, and the few operations on them.
class Memory {
 public:
  explicit Memory(bool device) : device_(device) {}
  Result<float*> Alloc(size_t floats) {
    if (device_) {
      ASSIGN_OR_RETURN(auto d, gpu::AllocateVectors(floats * sizeof(float)));
      device_arrays_.push_back(std::move(d));
      return device_arrays_.back()->data();
    }
    host_arrays_.emplace_back(floats);
    return host_arrays_.back().data();
  }
  Status Copy(float* dst, const float* src, size_t floats) {
    if (device_) return gpu::Copy(dst, src, floats * sizeof(float));
    std::memcpy(dst, src, floats * sizeof(float));
    return Status::Ok();
  }
  Status Gather(const float* src, const std::vector<uint32_t>& rows, size_t dim, float* dst) {
    if (device_) return gpu::GatherRows(src, rows.data(), rows.size(), dim, dst);
    for (size_t i = 0; i < rows.size(); ++i) {
      std::memcpy(dst + i * dim, src + static_cast<size_t>(rows[i]) * dim, dim * sizeof(float));
    }
    return Status::Ok();
  }
  Result<std::unique_ptr<gpu::BlockTopK>> TopK(Metric metric, size_t dim, size_t k, size_t max_q,
                                               size_t max_b, bool exclude_self) {
    if (device_) return gpu::NewBlockTopK(metric, dim, k, max_q, max_b, exclude_self);
    return NewHostBlockTopK(metric, dim, k, exclude_self);
  }

 private:
  bool device_;
  std::vector<std::unique_ptr<DeviceVectors>> device_arrays_;
  std::vector<std::vector<float>> host_arrays_;
};

// The `nearest` nearest centroids of each of n rows (in `mem`; n x nearest, nearest first),
// tiles of rows at a time.
Result<std::vector<uint32_t>> Assign(Memory& mem, Metric metric, const float* rows, size_t n,
                                     size_t dim, const float* centroids, size_t clusters,
                                     size_t nearest = 1) {
  const size_t tile = std::min(n, kAssignTile);
  ASSIGN_OR_RETURN(auto topk, mem.TopK(metric, dim, nearest, tile, clusters, false));
  std::vector<uint32_t> out(n * nearest);
  for (size_t q0 = 0; q0 < n; q0 += tile) {
    const size_t count = std::min(tile, n - q0);
    RETURN_IF_ERROR(topk->Begin(rows + q0 * dim, count, q0));
    RETURN_IF_ERROR(topk->Merge(centroids, clusters, 0));
    RETURN_IF_ERROR(topk->Take(out.data() + q0 * nearest, nullptr));
  }
  return out;
}

// Lloyd's k-means on a host sample; centroids go to `mem` for each assignment.
Result<std::vector<float>> TrainCentroids(Memory& mem, Metric metric, const std::vector<float>& sample,
                                          size_t count, size_t dim, size_t clusters,
                                          const ClusterParams& params) {
  std::mt19937_64 rng(params.seed);
  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<float> centroids(clusters * dim);
  for (size_t c = 0; c < clusters; ++c) {
    std::memcpy(&centroids[c * dim], &sample[order[c] * dim], dim * sizeof(float));
  }
  ASSIGN_OR_RETURN(float* dev_sample, mem.Alloc(count * dim));
  ASSIGN_OR_RETURN(float* dev_centroids, mem.Alloc(clusters * dim));
  RETURN_IF_ERROR(mem.Copy(dev_sample, sample.data(), count * dim));
  std::vector<double> sums(clusters * dim);
  std::vector<size_t> sizes(clusters);
  for (int it = 0; it < params.iterations; ++it) {
    RETURN_IF_ERROR(mem.Copy(dev_centroids, centroids.data(), clusters * dim));
    ASSIGN_OR_RETURN(std::vector<uint32_t> assigned,
                     Assign(mem, metric, dev_sample, count, dim, dev_centroids, clusters));
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(sizes.begin(), sizes.end(), 0);
    for (size_t i = 0; i < count; ++i) {
      const uint32_t c = assigned[i] < clusters ? assigned[i] : 0;
      ++sizes[c];
      for (size_t j = 0; j < dim; ++j) sums[c * dim + j] += sample[i * dim + j];
    }
    for (size_t c = 0; c < clusters; ++c) {
      if (sizes[c] == 0) {  // an empty cluster restarts at a random sample row
        const size_t r = rng() % count;
        std::memcpy(&centroids[c * dim], &sample[r * dim], dim * sizeof(float));
        continue;
      }
      for (size_t j = 0; j < dim; ++j) {
        centroids[c * dim + j] = static_cast<float>(sums[c * dim + j] / static_cast<double>(sizes[c]));
      }
    }
  }
  return centroids;
}

}  // namespace

Result<std::vector<uint32_t>> ClusteredKnnGraph(Metric metric, const float* vectors, size_t n,
                                                size_t dim, size_t k, const ClusterParams& params,
                                                bool device, ClusterStats* stats) {
  if (k == 0 || k >= n) return Status::Invalid("clustered kNN graph: k must be in [1, n-1]");
  const Metric cluster_metric = metric == Metric::kCosine ? Metric::kCosine : Metric::kL2;
  size_t clusters = params.clusters > 0
                        ? params.clusters
                        : std::clamp<size_t>(static_cast<size_t>(std::sqrt(static_cast<double>(n))), 16, 4096);
  clusters = std::min(clusters, n);
  const size_t probes = std::min(clusters, params.probes > 0 ? params.probes : size_t{8});
  const size_t sample_rows = std::min(n, params.sample > 0 ? params.sample : 64 * clusters);
  Memory mem(device);

  // The rows in `mem` (a device copy of host rows on the GPU).
  const float* rows = vectors;
  if (device && !gpu::IsDevicePointer(vectors)) {
    ASSIGN_OR_RETURN(float* copy, mem.Alloc(n * dim));
    RETURN_IF_ERROR(mem.Copy(copy, vectors, n * dim));
    rows = copy;
  }

  // k-means on a sample (its rows gathered, then brought to the host).
  std::mt19937_64 rng(params.seed);
  std::vector<uint32_t> picked(n);
  std::iota(picked.begin(), picked.end(), 0u);
  std::shuffle(picked.begin(), picked.end(), rng);
  picked.resize(sample_rows);
  std::sort(picked.begin(), picked.end());
  std::vector<float> sample(sample_rows * dim);
  {
    ASSIGN_OR_RETURN(float* gathered, mem.Alloc(sample_rows * dim));
    RETURN_IF_ERROR(mem.Gather(rows, picked, dim, gathered));
    RETURN_IF_ERROR(mem.Copy(sample.data(), gathered, sample_rows * dim));
  }
  ASSIGN_OR_RETURN(std::vector<float> centroids,
                   TrainCentroids(mem, cluster_metric, sample, sample_rows, dim, clusters, params));

  // Every row's `probes` nearest centroids, the first its cluster; the rows reordered cluster by
  // cluster.
  ASSIGN_OR_RETURN(float* dev_centroids, mem.Alloc(clusters * dim));
  RETURN_IF_ERROR(mem.Copy(dev_centroids, centroids.data(), clusters * dim));
  ASSIGN_OR_RETURN(std::vector<uint32_t> nearest,
                   Assign(mem, cluster_metric, rows, n, dim, dev_centroids, clusters, probes));
  std::vector<uint32_t> assigned(n);
  for (size_t r = 0; r < n; ++r) assigned[r] = nearest[r * probes];
  std::vector<size_t> start(clusters + 1, 0);
  for (uint32_t c : assigned) ++start[(c < clusters ? c : 0) + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<uint32_t> order(n);  // position -> original row
  {
    std::vector<size_t> next(start.begin(), start.end() - 1);
    for (size_t r = 0; r < n; ++r) order[next[assigned[r] < clusters ? assigned[r] : 0]++] = static_cast<uint32_t>(r);
  }
  ASSIGN_OR_RETURN(float* sorted, mem.Alloc(n * dim));
  RETURN_IF_ERROR(mem.Gather(rows, order, dim, sorted));
  size_t largest = 0;
  for (size_t c = 0; c < clusters; ++c) largest = std::max(largest, start[c + 1] - start[c]);

  // The clusters each cluster is merged with: every cluster its rows probe (a row's own nearest
  // centroids, as IVF searches, so a row at a cell's edge sees the cells beside it), then, while
  // those hold k rows or fewer, the clusters nearest its centroid.
  std::vector<std::vector<size_t>> probed(clusters);
  {
    std::vector<uint32_t> mark(clusters, UINT32_MAX);
    for (size_t c = 0; c < clusters; ++c) {
      if (start[c + 1] == start[c]) continue;
      probed[c].push_back(c);
      mark[c] = static_cast<uint32_t>(c);
    }
    for (size_t c = 0; c < clusters; ++c) {  // cluster c's rows are order[start[c]..start[c+1])
      for (size_t pos = start[c]; pos < start[c + 1]; ++pos) {
        const uint32_t* list = &nearest[static_cast<size_t>(order[pos]) * probes];
        for (size_t e = 1; e < probes; ++e) {
          if (list[e] >= clusters || mark[list[e]] == c) continue;
          mark[list[e]] = static_cast<uint32_t>(c);
          probed[c].push_back(list[e]);
        }
      }
    }
    auto near = ExactSearch(cluster_metric, centroids.data(), clusters, dim, centroids.data(),
                            clusters, std::min<size_t>(clusters, 64), nullptr);
    for (size_t c = 0; c < clusters; ++c) {
      if (probed[c].empty()) continue;
      size_t rows_probed = 0;
      for (size_t p : probed[c]) rows_probed += start[p + 1] - start[p];
      for (size_t i = 0; rows_probed <= k && i < clusters; ++i) {
        const size_t p = i < near[c].size() ? static_cast<size_t>(near[c][i].row) : i - near[c].size();
        if (std::find(probed[c].begin(), probed[c].end(), p) != probed[c].end()) continue;
        probed[c].push_back(p);
        rows_probed += start[p + 1] - start[p];
      }
    }
  }

  // Each cluster's rows (contiguous in `sorted`) merged with its probed clusters'.
  std::vector<uint32_t> knn_sorted(n * k);
  std::vector<uint64_t> pairs(clusters, 0);
  auto merge_cluster = [&](gpu::BlockTopK& topk, size_t c) -> Status {
    const size_t size = start[c + 1] - start[c];
    if (size == 0) return Status::Ok();
    RETURN_IF_ERROR(topk.Begin(sorted + start[c] * dim, size, start[c]));
    for (size_t p : probed[c]) {
      const size_t rows_p = start[p + 1] - start[p];
      if (rows_p == 0) continue;
      RETURN_IF_ERROR(topk.Merge(sorted + start[p] * dim, rows_p, start[p]));
      pairs[c] += uint64_t{size} * rows_p;
    }
    return topk.Take(knn_sorted.data() + start[c] * k, nullptr);
  };
  if (device) {
    ASSIGN_OR_RETURN(auto topk, mem.TopK(metric, dim, k, largest, largest, true));
    for (size_t c = 0; c < clusters; ++c) RETURN_IF_ERROR(merge_cluster(*topk, c));
  } else {
    // Clusters in parallel, each merge on one thread (the blocks are small).
    Status first_error = Status::Ok();
    std::mutex error_mu;
    const int64_t count = static_cast<int64_t>(clusters);
#pragma omp parallel
    {
      auto topk = NewHostBlockTopK(metric, dim, k, true);
#pragma omp for schedule(dynamic)
      for (int64_t c = 0; c < count; ++c) {
        Status st = merge_cluster(*topk, static_cast<size_t>(c));
        if (!st.ok()) {
          std::lock_guard lock(error_mu);
          if (first_error.ok()) first_error = st;
        }
      }
    }
    RETURN_IF_ERROR(first_error);
  }

  // Back to the original row numbers.
  std::vector<uint32_t> knn(n * k);
  for (size_t pos = 0; pos < n; ++pos) {
    uint32_t* out = &knn[static_cast<size_t>(order[pos]) * k];
    const uint32_t* in = &knn_sorted[pos * k];
    for (size_t e = 0; e < k; ++e) {
      out[e] = in[e] == kNoRow ? (e > 0 ? out[e - 1] : order[(pos + 1) % n]) : order[in[e]];
    }
  }
  if (stats != nullptr) {
    *stats = {clusters, probes, largest, std::accumulate(pairs.begin(), pairs.end(), uint64_t{0})};
  }
  return knn;
}

}  // namespace skyway::vector::internal
