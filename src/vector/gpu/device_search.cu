// CAGRA search on the GPU (see device.h): one block per query keeps its sorted candidate list and
// this round's candidates in shared memory; each round takes the best `width` unexplored entries
// as parents, scores their graph neighbours not yet visited (a warp per candidate, a bitmap of
// visited rows per query) and merges them with a bitonic sort. Seeds are the entry points (all of
// them, or each query's nearest by a brute-force search over them) and random rows, drawn from
// the query's global index so a batch split does not change the answer.
#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <vector>

#include "vector/gpu/cagra.h"
#include "vector/gpu/device.h"
#include "vector/gpu/device_internal.cuh"
#include "vector/gpu/kernels_search.cuh"
#include "vector/internal.h"

namespace skyway::vector::gpu {
namespace {

#ifdef SKYWAY_CUDA_EMULATION
constexpr int kSearchThreads = 32;
#else
constexpr int kSearchThreads = 256;
#endif
constexpr size_t kMaxSearchDim = 4096;
constexpr size_t kMaxItopk = 512;

// The dynamic shared memory a search block may use: the kernel's limit is raised once to all the
// device allows (the attribute is per function, so setting it per call would race between
// searches of different sizes on other threads).
Result<size_t> SearchSharedLimit() {
  static const Result<size_t> limit = []() -> Result<size_t> {
    int optin = 0;
    CUDA_OR_RETURN(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
    cudaFuncAttributes attributes{};
    CUDA_OR_RETURN(cudaFuncGetAttributes(&attributes, CagraSearchKernel));
    const size_t dynamic = static_cast<size_t>(optin) - std::min<size_t>(optin, attributes.sharedSizeBytes);
    CUDA_OR_RETURN(cudaFuncSetAttribute(CagraSearchKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(dynamic)));
    return dynamic;
  }();
  return limit;
}

// Each of nq queries' `per_query` nearest entry points (nq x per_query rows, kNone pads), by
// one brute-force search over the entries' rows; `rows` is g.entries on the host.
Result<std::vector<uint32_t>> NearestEntries(Metric metric, const cagra::GraphView& g,
                                             const std::vector<uint32_t>& rows,
                                             const float* queries, size_t nq, size_t per_query) {
  ASSIGN_OR_RETURN(const auto nearest,
                   BruteForce(metric, g.entry_vectors, g.num_entries, g.dim, queries, nq, per_query));
  std::vector<uint32_t> out(nq * per_query, kNone);
  for (size_t q = 0; q < nq; ++q) {
    for (size_t j = 0; j < nearest[q].size() && j < per_query; ++j) {
      out[q * per_query + j] = rows[static_cast<size_t>(nearest[q][j].row)];
    }
  }
  return out;
}

}  // namespace

Result<std::vector<std::vector<Hit>>> CagraSearch(Metric metric, const cagra::GraphView& g,
                                                  const float* queries, size_t nq, size_t k,
                                                  size_t itopk, size_t search_width,
                                                  size_t max_iterations, uint64_t seed) {
  if (!Available()) return NoDevice();
  const size_t n = g.n, degree = g.degree, dim = g.dim;
  std::vector<std::vector<Hit>> results(nq);
  if (n == 0 || nq == 0 || k == 0 || degree == 0) return results;
  const size_t list = std::max(itopk, k);  // as the CPU search (the sort covers m, a power of 2)
  const size_t width = std::min<size_t>(std::max<size_t>(search_width, 1), 64);
  if (dim > kMaxSearchDim || list > kMaxItopk || n >= 0x80000000u) {
    return Status::Invalid("GPU CAGRA search: dim <= 4096, itopk <= 512 and n < 2^31 only");
  }
  const size_t m = NextPow2(list + width * degree);
  // The list and this round's candidates live in shared memory: refuse before copying anything
  // when they cannot (the caller then searches on the CPU).
  const size_t shared = CagraSearchSharedBytes(dim, m);
  ASSIGN_OR_RETURN(const size_t shared_limit, SearchSharedLimit());
  if (shared > shared_limit) {
    return Status::Invalid("GPU CAGRA search: itopk + search_width x graph_degree needs " +
                           std::to_string(shared >> 10) + " KiB of shared memory, the device has " +
                           std::to_string(shared_limit >> 10) + " KiB");
  }
  const size_t iterations = max_iterations > 0 ? max_iterations : 2 * (list / width) + 16;
  const size_t seeds = std::min(n, cagra::DefaultRandomSeeds(width, degree, list, g.num_entries));
  // Entry points beyond one round of candidates: each query gets its nearest round's worth
  // instead of scoring them all a round at a time (4096 entries at itopk 10 and degree 32 would
  // be 76 rounds before the first step on the graph).
  const size_t room = m - list;
  const size_t per_query =
      g.num_entries > room && g.entry_vectors != nullptr ? std::min(room, kMaxDeviceTopK) : 0;
  const size_t words = (n + 31) / 32;
  const size_t batch = std::max<size_t>(1, std::min<size_t>(nq, (size_t{1} << 30) / (words * 4)));
  const int metric_code = CodeOf(metric);
  DeviceRows base, q_rows;
  RETURN_IF_ERROR(base.From(g.vectors, n * dim));
  std::vector<float> normalized;
  if (metric == Metric::kCosine) {  // as the CPU search: the query normalized
    normalized = internal::NormalizedCopy(queries, nq, dim);
    queries = normalized.data();
  }
  RETURN_IF_ERROR(q_rows.From(queries, nq * dim));
  DeviceArray<uint32_t> dev_graph, dev_entries, visited, out_i;
  DeviceArray<float> inv_norms, out_d;
  const uint32_t* graph_on_device = g.graph;
  if (!IsDevicePointer(g.graph)) {
    RETURN_IF_ERROR(dev_graph.Allocate(n * degree));
    CUDA_OR_RETURN(cudaMemcpy(dev_graph.get(), g.graph, n * degree * sizeof(uint32_t), cudaMemcpyHostToDevice));
    graph_on_device = dev_graph.get();
  }
  const uint32_t* entries_on_device = g.entries;
  std::vector<uint32_t> entry_rows;  // on the host, for NearestEntries
  if (per_query > 0) {
    entry_rows.resize(g.num_entries);
    if (IsDevicePointer(g.entries)) {
      RETURN_IF_ERROR(Copy(entry_rows.data(), g.entries, entry_rows.size() * sizeof(uint32_t)));
    } else {
      entry_rows.assign(g.entries, g.entries + g.num_entries);
    }
    RETURN_IF_ERROR(dev_entries.Allocate(batch * per_query));
    entries_on_device = dev_entries.get();
  } else if (g.num_entries > 0 && !IsDevicePointer(g.entries)) {
    RETURN_IF_ERROR(dev_entries.Allocate(g.num_entries));
    CUDA_OR_RETURN(cudaMemcpy(dev_entries.get(), g.entries, g.num_entries * sizeof(uint32_t),
                              cudaMemcpyHostToDevice));
    entries_on_device = dev_entries.get();
  }
  RETURN_IF_ERROR(inv_norms.Allocate(n));
  if (metric == Metric::kCosine) {
    SKYWAY_LAUNCH(RowNorms, GridFor(n), kThreads, 0, base.get(), n, dim, metric_code, inv_norms.get());
  }
  RETURN_IF_ERROR(visited.Allocate(batch * words));
  RETURN_IF_ERROR(out_i.Allocate(batch * k));
  RETURN_IF_ERROR(out_d.Allocate(batch * k));
  std::vector<uint32_t> ids(batch * k);
  std::vector<float> dist(batch * k);
  for (size_t q0 = 0; q0 < nq; q0 += batch) {
    const size_t count = std::min(batch, nq - q0);
    if (per_query > 0) {
      ASSIGN_OR_RETURN(const std::vector<uint32_t> nearest,
                       NearestEntries(metric, g, entry_rows, queries + q0 * dim, count, per_query));
      CUDA_OR_RETURN(cudaMemcpy(dev_entries.get(), nearest.data(), nearest.size() * sizeof(uint32_t),
                                cudaMemcpyHostToDevice));
    }
    CUDA_OR_RETURN(cudaMemset(visited.get(), 0, count * words * sizeof(uint32_t)));
    SKYWAY_LAUNCH(CagraSearchKernel, static_cast<unsigned>(count), kSearchThreads, shared,
        graph_on_device, static_cast<uint32_t>(n), static_cast<int>(degree), entries_on_device,
        static_cast<int>(per_query > 0 ? per_query : g.num_entries), static_cast<int>(per_query),
        base.get(), inv_norms.get(), dim, metric_code, q_rows.get() + q0 * dim, static_cast<int>(list),
        static_cast<int>(width), static_cast<int>(iterations), static_cast<int>(seeds), seed, q0,
        static_cast<int>(m), visited.get(), words, static_cast<int>(k), out_i.get(), out_d.get());
    CUDA_OR_RETURN(cudaGetLastError());
    CUDA_OR_RETURN(cudaMemcpy(ids.data(), out_i.get(), count * k * sizeof(uint32_t), cudaMemcpyDeviceToHost));
    CUDA_OR_RETURN(cudaMemcpy(dist.data(), out_d.get(), count * k * sizeof(float), cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < count; ++i) {
      for (size_t e = 0; e < k; ++e) {
        const uint32_t row = ids[i * k + e];
        if (row == kNone) break;
        const float dd = dist[i * k + e];
        results[q0 + i].push_back({static_cast<int64_t>(row), metric == Metric::kL2 ? dd : -dd});
      }
    }
  }
  return results;
}
}  // namespace skyway::vector::gpu
