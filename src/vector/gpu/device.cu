// The CUDA side of the GPU indexes (see device.h).
//
// Exact top-k by GEMM: for a tile of query rows and a tile of base rows, cuBLAS computes the
// dot products; a selection kernel (one block per query row) turns them into distances, a
// block's width at a time, and buffers those better than the row's current K2-th; a full buffer
// is merged into the running top-K2 (shared memory) with a bitonic sort. After the first tiles
// almost nothing passes, so a step costs one barrier whatever K is.
//
// Detours: one block per row x; x's kNN list goes into a shared-memory hash (row -> rank), the
// block walks every (i, r) pair of "the r-th neighbour of x's i-th neighbour" and counts the
// detours of each of x's edges; a bitonic sort of (detours, rank) keys orders the edges.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "common/cuda_probe.h"
#include "vector/gpu/device.h"
#include "vector/gpu/device_internal.cuh"
#include "vector/gpu/kernels_knn.cuh"
#include "vector/internal.h"

namespace skyway::vector::gpu {
namespace {

#ifdef SKYWAY_CUDA_EMULATION
constexpr size_t kQueryTile = 256;  // small inputs cross tiles when emulated
constexpr size_t kBaseTile = 256;
#else
constexpr size_t kQueryTile = 8192;
constexpr size_t kBaseTile = 8192;
#endif
constexpr size_t kMaxK = kMaxDeviceTopK;
// cuBLAS's handle and workspace (NVIDIA suggests a 32 MiB workspace on Hopper), and the lazily
// loaded kernels: device memory a plan must leave free besides its own arrays.
#ifdef SKYWAY_CUDA_EMULATION
constexpr uint64_t kBlasAllowance = uint64_t{1} << 20;  // sized with the emulated tiles
#else
constexpr uint64_t kBlasAllowance = uint64_t{64} << 20;
#endif

// cuBLAS is opened on first use rather than linked: libcublasLt alone is over 500 MB, and
// every `skyway` command (a server, a cp) would map and relocate it at start.
struct BlasApi {
  decltype(&cublasCreate_v2) create = nullptr;
  decltype(&cublasDestroy_v2) destroy = nullptr;
  decltype(&cublasSgemm_v2) sgemm = nullptr;
  std::string error;
};

const BlasApi& Cublas() {
  static const BlasApi api = [] {
    BlasApi a;
#ifdef SKYWAY_CUDA_EMULATION
    a.create = &cublasCreate_v2;
    a.destroy = &cublasDestroy_v2;
    a.sgemm = &cublasSgemm_v2;
    return a;
#endif
    void* lib = nullptr;
    for (const char* name : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"}) {
      if ((lib = dlopen(name, RTLD_NOW | RTLD_LOCAL)) != nullptr) break;
    }
    if (lib == nullptr) {
      a.error = std::string("cannot open libcublas: ") + dlerror();
      return a;
    }
    a.create = reinterpret_cast<decltype(a.create)>(dlsym(lib, "cublasCreate_v2"));
    a.destroy = reinterpret_cast<decltype(a.destroy)>(dlsym(lib, "cublasDestroy_v2"));
    a.sgemm = reinterpret_cast<decltype(a.sgemm)>(dlsym(lib, "cublasSgemm_v2"));
    if (a.create == nullptr || a.destroy == nullptr || a.sgemm == nullptr) {
      a.error = "libcublas lacks cublasCreate_v2/cublasSgemm_v2";
      a.create = nullptr;
    }
    return a;
  }();
  return api;
}

class Blas {
 public:
  ~Blas() {
    if (handle_ != nullptr) Cublas().destroy(handle_);
  }
  Status Init() {
    if (Cublas().create == nullptr) return Status::Internal(Cublas().error);
    CUBLAS_OR_RETURN(Cublas().create(&handle_));
    return Status::Ok();
  }
  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
};

Status CheckFits(uint64_t need) {
  size_t free_bytes = 0, total = 0;
  CUDA_OR_RETURN(cudaMemGetInfo(&free_bytes, &total));
  if (need > free_bytes) {
    return Status(Code::kResourceExhausted, "",
                  "the GPU build needs " + FormatBytes(need) + " of device memory, " +
                      FormatBytes(free_bytes) + " are free");
  }
  return Status::Ok();
}

// BlockTopK on the device: per (query tile, base tile) pair a cuBLAS GEMM of dot products, then
// SelectTopK merges the tile into the running top of each query row (all of the block's rows
// are held, so base blocks can come one at a time).
class DeviceBlockTopK final : public BlockTopK {
 public:
  DeviceBlockTopK(int metric, size_t dim, size_t k, bool exclude_self)
      : metric_(metric), dim_(dim), k_(k), k2_(NextPow2(k)), exclude_self_(exclude_self) {}

  Status Init(size_t max_queries, size_t max_base) {
    max_queries_ = max_queries;
    max_base_ = max_base;
    RETURN_IF_ERROR(blas_.Init());
    RETURN_IF_ERROR(query_norm_.Allocate(max_queries));
    RETURN_IF_ERROR(base_norm_.Allocate(max_base));
    RETURN_IF_ERROR(dots_.Allocate(std::min(max_queries, kQueryTile) * std::min(max_base, kBaseTile)));
    RETURN_IF_ERROR(top_d_.Allocate(max_queries * k2_));
    RETURN_IF_ERROR(top_i_.Allocate(max_queries * k2_));
    return Status::Ok();
  }

  Status Begin(const float* queries, size_t nq, size_t first) override {
    if (nq > max_queries_) return Status::Internal("BlockTopK: query block over its capacity");
    queries_ = queries;
    nq_ = nq;
    query_first_ = first;
    if (metric_ != kIP && nq > 0) {
      SKYWAY_LAUNCH(RowNorms, GridFor(nq), kThreads, 0, queries, nq, dim_, metric_, query_norm_.get());
    }
    SKYWAY_LAUNCH(FillTop, GridFor(nq * k2_), kThreads, 0, top_d_.get(), top_i_.get(), nq * k2_);
    CUDA_OR_RETURN(cudaGetLastError());
    return Status::Ok();
  }

  Status Merge(const float* base, size_t nb, size_t first) override {
    if (nb > max_base_) return Status::Internal("BlockTopK: base block over its capacity");
    if (nb == 0 || nq_ == 0) return Status::Ok();
    if (metric_ != kIP) SKYWAY_LAUNCH(RowNorms, GridFor(nb), kThreads, 0, base, nb, dim_, metric_, base_norm_.get());
    const float one = 1.0F, zero = 0.0F;
    const size_t shared = SelectTopKSharedBytes(k2_);
    for (size_t q0 = 0; q0 < nq_; q0 += kQueryTile) {
      const size_t tq = std::min(kQueryTile, nq_ - q0);
      for (size_t c0 = 0; c0 < nb; c0 += kBaseTile) {
        const size_t tc = std::min(kBaseTile, nb - c0);
        // Column-major: C (tc x tq) = Base_tile^T (tc x dim) * Q_tile (dim x tq); read
        // row-major it is tq x tc, a query row per line.
        CUBLAS_OR_RETURN(Cublas().sgemm(blas_.get(), CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(tc),
                                        static_cast<int>(tq), static_cast<int>(dim_), &one,
                                        base + c0 * dim_, static_cast<int>(dim_),
                                        queries_ + q0 * dim_, static_cast<int>(dim_), &zero,
                                        dots_.get(), static_cast<int>(tc)));
        SKYWAY_LAUNCH(SelectTopK, static_cast<unsigned>(tq), kThreads, shared,
            dots_.get(), static_cast<int>(tq), static_cast<int>(tc), base_norm_.get() + c0,
            static_cast<uint32_t>(first + c0), query_norm_.get() + q0,
            static_cast<uint32_t>(query_first_ + q0), metric_, exclude_self_,
            top_d_.get() + q0 * k2_, top_i_.get() + q0 * k2_, static_cast<int>(k2_));
        CUDA_OR_RETURN(cudaGetLastError());
      }
    }
    return Status::Ok();
  }

  Status Take(uint32_t* ids, float* dist) override {
    if (nq_ == 0) return Status::Ok();
    if (ids != nullptr) {
      CUDA_OR_RETURN(cudaMemcpy2D(ids, k_ * sizeof(uint32_t), top_i_.get(), k2_ * sizeof(uint32_t),
                                  k_ * sizeof(uint32_t), nq_, cudaMemcpyDefault));
    }
    if (dist != nullptr) {
      CUDA_OR_RETURN(cudaMemcpy2D(dist, k_ * sizeof(float), top_d_.get(), k2_ * sizeof(float),
                                  k_ * sizeof(float), nq_, cudaMemcpyDefault));
    }
    return Status::Ok();
  }

 private:
  int metric_;
  size_t dim_, k_, k2_;
  bool exclude_self_;
  size_t max_queries_ = 0, max_base_ = 0;
  Blas blas_;
  DeviceArray<float> query_norm_, base_norm_, dots_, top_d_;
  DeviceArray<uint32_t> top_i_;
  const float* queries_ = nullptr;
  size_t nq_ = 0, query_first_ = 0;
};

Result<std::unique_ptr<DeviceBlockTopK>> MakeBlockTopK(Metric metric, size_t dim, size_t k,
                                                      size_t max_queries, size_t max_base,
                                                      bool exclude_self) {
  if (!Available()) return NoDevice();
  if (k == 0 || k > kMaxK) return Status::Invalid("top-k on the GPU: k must be in [1, 1024]");
  auto topk = std::make_unique<DeviceBlockTopK>(CodeOf(metric), dim, k, exclude_self);
  RETURN_IF_ERROR(topk->Init(max_queries, max_base));
  return {std::move(topk)};
}

Status PruneOnDevice(const uint32_t* knn_device, size_t n, size_t k, size_t degree, uint32_t* out_host) {
  if (n == 0) return Status::Ok();  // a grid of no blocks is an invalid launch
  const size_t k2 = NextPow2(k), table = 2 * k2;
  DeviceArray<uint32_t> out;
  RETURN_IF_ERROR(out.Allocate(n * degree));
  const size_t shared = DetourPruneSharedBytes(k, k2, table);
  const unsigned grid = static_cast<unsigned>(std::min<size_t>(n, 1 << 20));
  SKYWAY_LAUNCH(DetourPrune, grid, kThreads, shared, knn_device, static_cast<uint32_t>(n), static_cast<int>(k),
                                          static_cast<int>(degree), static_cast<int>(table),
                                          static_cast<int>(k2), out.get());
  CUDA_OR_RETURN(cudaGetLastError());
  CUDA_OR_RETURN(cudaMemcpy(out_host, out.get(), n * degree * sizeof(uint32_t), cudaMemcpyDeviceToHost));
  return Status::Ok();
}

}  // namespace

namespace {
class CudaVectors final : public DeviceVectors {
 public:
  CudaVectors(float* p, size_t bytes) : p_(p), bytes_(bytes) {}
  ~CudaVectors() override { cudaFree(p_); }
  float* data() const override { return p_; }
  size_t bytes() const override { return bytes_; }
  Status Write(size_t offset, const void* src, size_t bytes) override {
    if (offset > bytes_ || bytes > bytes_ - offset) {
      return Status(Code::kOutOfRange, "", "write past the end of device vectors");
    }
    CUDA_OR_RETURN(cudaMemcpy(reinterpret_cast<char*>(p_) + offset, src, bytes, cudaMemcpyHostToDevice));
    return Status::Ok();
  }

 private:
  float* p_;
  size_t bytes_;
};
}  // namespace

Status Copy(void* dst, const void* src, size_t bytes) {
  if (!Available()) return NoDevice();
  if (bytes > 0) CUDA_OR_RETURN(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
  return Status::Ok();
}

Status GatherRows(const float* src, const uint32_t* rows, size_t count, size_t dim, float* dst) {
  if (!Available()) return NoDevice();
  if (count == 0) return Status::Ok();
  DeviceArray<uint32_t> dev_rows;
  RETURN_IF_ERROR(dev_rows.Allocate(count));
  CUDA_OR_RETURN(cudaMemcpy(dev_rows.get(), rows, count * sizeof(uint32_t), cudaMemcpyHostToDevice));
  SKYWAY_LAUNCH(Gather, GridFor(count * dim), kThreads, 0, src, dev_rows.get(), count, dim, dst);
  CUDA_OR_RETURN(cudaGetLastError());
  CUDA_OR_RETURN(cudaDeviceSynchronize());
  return Status::Ok();
}

Result<std::unique_ptr<DeviceVectors>> AllocateVectors(size_t bytes) {
  if (!Available()) return NoDevice();
  RETURN_IF_ERROR(CheckFits(bytes));
  void* p = nullptr;
  CUDA_OR_RETURN(cudaMalloc(&p, std::max<size_t>(bytes, 1)));
  return std::unique_ptr<DeviceVectors>(new CudaVectors(static_cast<float*>(p), bytes));
}

bool IsDevicePointer(const void* p) {
  if (!Available() || p == nullptr) return false;
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, p) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return attr.type == cudaMemoryTypeDevice;
}

#ifdef SKYWAY_CUDA_EMULATION
bool Available() { return true; }
#else
bool Available() { return CudaDeviceAvailable(); }
#endif

std::string Describe() {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) return std::string("no CUDA device (") + cudaGetErrorString(err) + ")";
  if (count == 0) return "no CUDA device";
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return "a CUDA device (properties unreadable)";
  char buf[512];
  snprintf(buf, sizeof buf, "%s, %.1f GiB, sm_%d%d", prop.name,
           static_cast<double>(prop.totalGlobalMem) / (1 << 30), prop.major, prop.minor);
  return buf;
}

#ifdef SKYWAY_CUDA_EMULATION  // gpu_emu_test's batches are small
size_t MinDeviceSearchBatch() { return 64; }
uint64_t MinDeviceBruteForceWork() { return 1 << 16; }
#else
size_t MinDeviceSearchBatch() { return 256; }
uint64_t MinDeviceBruteForceWork() { return 1 << 24; }
#endif

uint64_t FreeBytes() {
  if (!Available()) return 0;
  size_t free_bytes = 0, total = 0;
  if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) return 0;
  return free_bytes;
}

uint64_t BlockTopKBytes(size_t dim, size_t k, size_t max_queries, size_t max_base) {
  (void)dim;
  const uint64_t k2 = NextPow2(k);
  return kBlasAllowance + (uint64_t{max_queries} + max_base) * sizeof(float) +
         uint64_t{std::min(max_queries, kQueryTile)} * std::min(max_base, kBaseTile) * sizeof(float) +
         uint64_t{max_queries} * k2 * (sizeof(float) + sizeof(uint32_t));
}

uint64_t KnnGraphBytes(size_t n, size_t dim, size_t k_init) {
  return uint64_t{n} * dim * sizeof(float) + BlockTopKBytes(dim, k_init, std::min(n, kQueryTile), n);
}

Result<std::unique_ptr<BlockTopK>> NewBlockTopK(Metric metric, size_t dim, size_t k,
                                                size_t max_queries, size_t max_base,
                                                bool exclude_self) {
  ASSIGN_OR_RETURN(auto topk, MakeBlockTopK(metric, dim, k, max_queries, max_base, exclude_self));
  return std::unique_ptr<BlockTopK>(std::move(topk));
}

Result<std::vector<uint32_t>> KnnGraph(Metric metric, const float* vectors, size_t n, size_t dim,
                                       size_t k) {
  if (!Available()) return NoDevice();
  if (k == 0 || k > kMaxK || k >= n) return Status::Invalid("kNN graph: k must be in [1, min(1024, n-1)]");
  // Vectors already on the device take no more of it.
  RETURN_IF_ERROR(CheckFits(IsDevicePointer(vectors)
                                ? BlockTopKBytes(dim, k, std::min(n, kQueryTile), n)
                                : KnnGraphBytes(n, dim, k)));
  DeviceRows rows;
  RETURN_IF_ERROR(rows.From(vectors, n * dim));
  // A tile of query rows at a time against all rows: the running lists stay tile-sized.
  const size_t tile = std::min(n, kQueryTile);
  ASSIGN_OR_RETURN(auto topk, MakeBlockTopK(metric, dim, k, tile, n, true));
  std::vector<uint32_t> graph(n * k);
  for (size_t q0 = 0; q0 < n; q0 += tile) {
    const size_t count = std::min(tile, n - q0);
    RETURN_IF_ERROR(topk->Begin(rows.get() + q0 * dim, count, q0));
    RETURN_IF_ERROR(topk->Merge(rows.get(), n, 0));
    RETURN_IF_ERROR(topk->Take(graph.data() + q0 * k, nullptr));
  }
  return graph;
}

Result<std::vector<uint32_t>> PruneByDetours(const uint32_t* knn, size_t n, size_t k_init,
                                             size_t degree) {
  if (!Available()) return NoDevice();
  if (degree > k_init || k_init > kMaxK) return Status::Invalid("detour pruning: bad degrees");
  const bool on_device = IsDevicePointer(knn);
  RETURN_IF_ERROR(CheckFits(uint64_t{n} * ((on_device ? 0 : k_init) + degree) * sizeof(uint32_t)));
  DeviceArray<uint32_t> copy;
  if (!on_device) {
    RETURN_IF_ERROR(copy.Allocate(n * k_init));
    CUDA_OR_RETURN(cudaMemcpy(copy.get(), knn, n * k_init * sizeof(uint32_t), cudaMemcpyHostToDevice));
  }
  std::vector<uint32_t> out(n * degree);
  RETURN_IF_ERROR(PruneOnDevice(on_device ? knn : copy.get(), n, k_init, degree, out.data()));
  return out;
}

Result<std::vector<std::vector<Hit>>> BruteForce(Metric metric, const float* vectors, size_t n,
                                                 size_t dim, const float* queries, size_t nq,
                                                 size_t k) {
  if (!Available()) return NoDevice();
  std::vector<std::vector<Hit>> results(nq);
  if (n == 0 || nq == 0 || k == 0) return results;
  const size_t kk = std::min(k, n);
  if (kk > kMaxK) return Status::Invalid("GPU top-k keeps at most 1024 rows, " + std::to_string(kk) + " were asked");
  RETURN_IF_ERROR(CheckFits(BlockTopKBytes(dim, kk, nq, n) + (uint64_t{n} + nq) * dim * sizeof(float)));
  DeviceRows base, q;
  RETURN_IF_ERROR(base.From(vectors, n * dim));
  RETURN_IF_ERROR(q.From(queries, nq * dim));
  ASSIGN_OR_RETURN(auto topk, MakeBlockTopK(metric, dim, kk, nq, n, false));
  RETURN_IF_ERROR(topk->Begin(q.get(), nq, 0));
  RETURN_IF_ERROR(topk->Merge(base.get(), n, 0));
  std::vector<uint32_t> ids(nq * kk);
  std::vector<float> dist(nq * kk);
  RETURN_IF_ERROR(topk->Take(ids.data(), dist.data()));
  for (size_t i = 0; i < nq; ++i) {
    for (size_t e = 0; e < kk; ++e) {
      const uint32_t id = ids[i * kk + e];
      if (id == kNone) break;
      const float d = dist[i * kk + e];
      results[i].push_back({static_cast<int64_t>(id), metric == Metric::kL2 ? d : -d});
    }
  }
  return results;
}

}  // namespace skyway::vector::gpu
