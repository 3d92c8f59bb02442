// vector: metrics, parameters, the serialized header, exact search and the FLAT index; the
// dispatch to the faiss (faiss_index.cc) and hnswlib (hnsw_index.cc) indexes.
#include "vector/vector.h"

#include <zlib.h>

#include <cmath>
#include <cstring>
#include <thread>

#include "vector/gpu/device.h"
#include "vector/internal.h"

namespace skyway::vector {
namespace internal {

Result<IndexType> ParseIndexType(std::string_view name) {
  if (EqualsIgnoreCase(name, "FLAT")) return IndexType::kFlat;
  if (EqualsIgnoreCase(name, "IVF_FLAT")) return IndexType::kIvfFlat;
  if (EqualsIgnoreCase(name, "IVF_PQ")) return IndexType::kIvfPq;
  if (EqualsIgnoreCase(name, "HNSW")) return IndexType::kHnsw;
  if (EqualsIgnoreCase(name, "GPU_CAGRA")) return IndexType::kGpuCagra;
  if (EqualsIgnoreCase(name, "GPU_BRUTE_FORCE")) return IndexType::kGpuBruteForce;
  return Status::Invalid("unknown index type '" + std::string(name) +
                         "' (known: FLAT, IVF_FLAT, IVF_PQ, HNSW)");
}

Result<int64_t> IntParam(const Params& params, const char* name, int64_t def, int64_t lo,
                         int64_t hi) {
  auto it = params.find(name);
  if (it == params.end()) return def;
  std::optional<uint64_t> v = ParseUint64(Trim(it->second));
  if (!v || *v < static_cast<uint64_t>(lo) || *v > static_cast<uint64_t>(hi)) {
    return Status::Invalid("parameter " + std::string(name) + " must be an integer in [" +
                           std::to_string(lo) + ", " + std::to_string(hi) + "], got '" +
                           it->second + "'");
  }
  return static_cast<int64_t>(*v);
}

float InverseNorm(const float* x, size_t dim) {
  const float norm2 = InnerProduct(x, x, dim);
  return norm2 > 0 ? 1.0F / std::sqrt(norm2) : 0.0F;
}

std::vector<float> InverseNorms(const float* rows, size_t n, size_t dim) {
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = InverseNorm(rows + i * dim, dim);
  return out;
}

std::vector<float> NormalizedCopy(const float* rows, size_t n, size_t dim) {
  std::vector<float> out(rows, rows + n * dim);
  for (size_t i = 0; i < n; ++i) {
    float* row = out.data() + i * dim;
    const float inv = InverseNorm(row, dim);
    for (size_t j = 0; j < dim; ++j) row[j] *= inv;
  }
  return out;
}

namespace {
constexpr char kBlobMagic[4] = {'S', 'K', 'V', 'I'};
constexpr uint32_t kBlobVersion = 1;
}  // namespace

// Layout: magic, version (u32), type (u8), metric (u8), 2 zero bytes, payload CRC-32 (u32), dim,
// n, payload size (u64 each), host byte order.
void SealBlob(const BlobHeader& header, std::string* blob) {
  const uint64_t size = blob->size() - kBlobHeaderSize;
  const auto crc = static_cast<uint32_t>(
      crc32_z(0, reinterpret_cast<const Bytef*>(blob->data() + kBlobHeaderSize), size));
  char* out = blob->data();
  std::memcpy(out, kBlobMagic, 4);
  std::memcpy(out + 4, &kBlobVersion, 4);
  out[8] = static_cast<char>(header.type);
  out[9] = static_cast<char>(header.metric);
  std::memcpy(out + 12, &crc, 4);
  std::memcpy(out + 16, &header.dim, 8);
  std::memcpy(out + 24, &header.n, 8);
  std::memcpy(out + 32, &size, 8);
}

Result<std::string_view> DecodeHeader(std::string_view bytes, IndexType type, Metric metric,
                                      size_t dim, BlobHeader* header) {
  uint32_t version = 0, crc = 0;
  uint64_t size = 0;
  if (bytes.size() < kBlobHeaderSize || std::memcmp(bytes.data(), kBlobMagic, 4) != 0) {
    return Status::Invalid("not a serialized vector index");
  }
  std::memcpy(&version, bytes.data() + 4, 4);
  if (version != kBlobVersion) {
    return Status::Invalid("unsupported vector index version " + std::to_string(version));
  }
  header->type = static_cast<IndexType>(bytes[8]);
  header->metric = static_cast<Metric>(bytes[9]);
  std::memcpy(&crc, bytes.data() + 12, 4);
  std::memcpy(&header->dim, bytes.data() + 16, 8);
  std::memcpy(&header->n, bytes.data() + 24, 8);
  std::memcpy(&size, bytes.data() + 32, 8);
  if (header->type != type || header->metric != metric) {
    return Status::Invalid("serialized index is of another type or metric than the spec");
  }
  if (header->dim != dim) {
    return Status::Invalid("serialized index has dim " + std::to_string(header->dim) +
                           ", expected " + std::to_string(dim));
  }
  std::string_view payload = bytes.substr(kBlobHeaderSize);
  if (payload.size() != size ||
      crc32_z(0, reinterpret_cast<const Bytef*>(payload.data()), payload.size()) != crc) {
    return Status::Invalid("serialized vector index is truncated or damaged");
  }
  return payload;
}

std::vector<Hit> TopK::Take(Metric metric) {
  std::sort_heap(heap_.begin(), heap_.end());
  std::vector<Hit> hits;
  hits.reserve(heap_.size());
  bool negate = !SmallerIsCloser(metric);
  for (const auto& [distance, row] : heap_) hits.push_back({row, negate ? -distance : distance});
  heap_.clear();
  return hits;
}

int BuildThreads(int threads) {
  if (threads > 0) return threads;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace internal

using internal::IndexType;

namespace {

// Exact search of a tile of queries: rows are visited in cache-sized blocks, and every query of
// the tile is scored against a block while it is hot. The filter is asked once per row per tile.
void ExactSearchTile(Metric metric, const float* vectors, size_t n, size_t dim,
                     const float* queries, size_t nq, size_t k, const RowFilter* filter,
                     std::vector<Hit>* out) {
  constexpr size_t kBlockBytes = 64 << 10;
  const size_t block = std::max<size_t>(1, kBlockBytes / (dim * sizeof(float)));
  std::vector<internal::TopK> tops(nq, internal::TopK(k));
  std::vector<int64_t> rows;
  std::vector<float> inv_norms;
  rows.reserve(block);
  inv_norms.reserve(block);
  for (size_t start = 0; start < n; start += block) {
    const size_t end = std::min(n, start + block);
    rows.clear();
    inv_norms.clear();
    for (size_t r = start; r < end; ++r) {
      if (filter != nullptr && !(*filter)(static_cast<int64_t>(r))) continue;
      rows.push_back(static_cast<int64_t>(r));
      if (metric == Metric::kCosine) inv_norms.push_back(internal::InverseNorm(vectors + r * dim, dim));
    }
    for (size_t qi = 0; qi < nq; ++qi) {
      const float* q = queries + qi * dim;
      for (size_t i = 0; i < rows.size(); ++i) {
        const float* y = vectors + rows[i] * dim;
        const float inv = metric == Metric::kCosine ? inv_norms[i] : 1.0f;
        tops[qi].Push(internal::Distance(metric, q, y, inv, dim), rows[i]);
      }
    }
  }
  for (size_t qi = 0; qi < nq; ++qi) out[qi] = tops[qi].Take(metric);
}

class FlatIndex final : public internal::OverCallerVectors {
 public:
  using OverCallerVectors::OverCallerVectors;
  Result<std::vector<std::vector<Hit>>> Search(const float* queries, size_t nq, size_t k,
                                               const Params& /*params*/,
                                               const RowFilter* filter) const override {
    return ExactSearch(spec_.metric, vectors_, n_, dim_, queries, nq, k, filter);
  }
  Result<std::string> Serialize() const override {
    std::string blob = internal::NewBlob();
    internal::SealBlob({IndexType::kFlat, spec_.metric, dim_, n_}, &blob);
    return blob;
  }
};

}  // namespace

const char* MetricName(Metric metric) {
  switch (metric) {
    case Metric::kL2:
      return "L2";
    case Metric::kIP:
      return "IP";
    case Metric::kCosine:
      return "COSINE";
  }
  return "UNKNOWN";
}

Result<Metric> ParseMetric(std::string_view name) {
  if (EqualsIgnoreCase(name, "L2")) return Metric::kL2;
  if (EqualsIgnoreCase(name, "IP")) return Metric::kIP;
  if (EqualsIgnoreCase(name, "COSINE")) return Metric::kCosine;
  return Status::Invalid("unknown metric '" + std::string(name) + "' (known: L2, IP, COSINE)");
}

float Score(Metric metric, const float* a, const float* b, size_t dim) {
  double acc = 0, na = 0, nb = 0;
  for (size_t i = 0; i < dim; ++i) {
    if (metric == Metric::kL2) {
      double d = static_cast<double>(a[i]) - b[i];
      acc += d * d;
    } else {
      acc += static_cast<double>(a[i]) * b[i];
      na += static_cast<double>(a[i]) * a[i];
      nb += static_cast<double>(b[i]) * b[i];
    }
  }
  if (metric != Metric::kCosine) return static_cast<float>(acc);
  if (na <= 0 || nb <= 0) return 0;
  return static_cast<float>(acc / std::sqrt(na * nb));
}

std::vector<std::string> IndexTypes() {
  return {"FLAT", "IVF_FLAT", "IVF_PQ", "HNSW", "GPU_CAGRA", "GPU_BRUTE_FORCE"};
}

Status ValidateSpec(const IndexSpec& spec, size_t dim) {
  if (dim < 1) return Status::Invalid("vector dim must be at least 1");
  if (spec.metric != Metric::kL2 && spec.metric != Metric::kIP && spec.metric != Metric::kCosine) {
    return Status::Invalid("unknown metric");
  }
  ASSIGN_OR_RETURN(IndexType type, internal::ParseIndexType(spec.type));
  switch (type) {
    case IndexType::kFlat:
      return Status::Ok();
    case IndexType::kIvfFlat:
    case IndexType::kIvfPq:
      return internal::ValidateIvfParams(type, spec.params, dim);
    case IndexType::kHnsw:
      return internal::ValidateHnswParams(spec.params);
    case IndexType::kGpuCagra:
      return internal::ValidateCagraParams(spec.params);
    case IndexType::kGpuBruteForce:
      return Status::Ok();
  }
  return Status::Invalid("unknown index type");
}

bool HoldsVectors(const IndexSpec& spec) {
  Result<IndexType> type = internal::ParseIndexType(spec.type);
  if (!type.ok()) return false;
  // HNSW keeps COSINE points as given (with their inverse norm); faiss's IVF_FLAT keeps them
  // normalized, so the segment keeps the originals.
  return *type == IndexType::kHnsw || (*type == IndexType::kIvfFlat && spec.metric != Metric::kCosine);
}

std::vector<std::vector<Hit>> ExactSearch(Metric metric, const float* vectors, size_t n, size_t dim,
                                          const float* queries, size_t nq, size_t k,
                                          const RowFilter* filter) {
  constexpr size_t kTile = 16;
  std::vector<std::vector<Hit>> results(nq);
  if (n == 0 || k == 0 || nq == 0 || dim == 0) return results;
  std::vector<float> normalized;
  if (metric == Metric::kCosine) {
    normalized = internal::NormalizedCopy(queries, nq, dim);
    queries = normalized.data();
  }
  const int64_t tiles = static_cast<int64_t>((nq + kTile - 1) / kTile);
#pragma omp parallel for schedule(dynamic) if (tiles > 1)
  for (int64_t t = 0; t < tiles; ++t) {
    const size_t first = static_cast<size_t>(t) * kTile;
    const size_t count = std::min(kTile, nq - first);
    ExactSearchTile(metric, vectors, n, dim, queries + first * dim, count, k, filter,
                    results.data() + first);
  }
  return results;
}

Result<std::unique_ptr<Index>> BuildIndex(const IndexSpec& spec, const float* vectors, size_t n,
                                          size_t dim, int threads) {
  RETURN_IF_ERROR(ValidateSpec(spec, dim));
  if (vectors == nullptr && n > 0) return Status::Invalid("BuildIndex: vectors is null");
  ASSIGN_OR_RETURN(IndexType type, internal::ParseIndexType(spec.type));
  if (!gpu::IsDevicePointer(vectors)) {  // rows in device memory: the kNN graph says (gpu_index.cc)
    for (size_t i = 0; i < n * dim; ++i) {
      if (!std::isfinite(vectors[i])) {
        return Status::Invalid("BuildIndex: row " + std::to_string(i / dim) + " has a component that is not finite (" +
                               std::to_string(vectors[i]) + ")");
      }
    }
  }
  switch (type) {
    case IndexType::kFlat:
      return std::unique_ptr<Index>(new FlatIndex(spec, vectors, n, dim));
    case IndexType::kIvfFlat:
    case IndexType::kIvfPq:
      return internal::BuildIvfIndex(spec, type, vectors, n, dim, threads);
    case IndexType::kHnsw:
      return internal::BuildHnswIndex(spec, vectors, n, dim, threads);
    case IndexType::kGpuCagra:
      return internal::BuildCagraIndex(spec, vectors, n, dim);
    case IndexType::kGpuBruteForce:
      return internal::MakeGpuBruteForceIndex(spec, vectors, n, dim);
  }
  return Status::Invalid("unknown index type");
}

Result<std::unique_ptr<Index>> BuildIndexStreamed(const IndexSpec& spec, size_t n, size_t dim,
                                                  RowSource& source, const StreamOptions& options,
                                                  StreamStats* stats) {
  RETURN_IF_ERROR(ValidateSpec(spec, dim));
  ASSIGN_OR_RETURN(IndexType type, internal::ParseIndexType(spec.type));
  if (type != IndexType::kGpuCagra) {
    return Status::Invalid("a streamed build is for GPU_CAGRA only, not " + spec.type);
  }
  StreamStats local;
  return internal::BuildCagraIndexStreamed(spec, n, dim, source, options, stats ? stats : &local);
}

Result<std::unique_ptr<Index>> LoadIndex(const IndexSpec& spec, std::string_view bytes,
                                         const float* vectors, size_t n, size_t dim) {
  RETURN_IF_ERROR(ValidateSpec(spec, dim));
  ASSIGN_OR_RETURN(IndexType type, internal::ParseIndexType(spec.type));
  switch (type) {
    case IndexType::kFlat:
    case IndexType::kGpuBruteForce: {
      internal::BlobHeader header;
      RETURN_IF_ERROR(internal::DecodeHeader(bytes, type, spec.metric, dim, &header).status());
      if (header.n != n || (vectors == nullptr && n > 0)) {
        return Status::Invalid(spec.type + " index of " + std::to_string(header.n) +
                               " rows needs the caller's vectors, got " + std::to_string(n));
      }
      if (type == IndexType::kGpuBruteForce) {
        return internal::MakeGpuBruteForceIndex(spec, vectors, n, dim);
      }
      return std::unique_ptr<Index>(new FlatIndex(spec, vectors, n, dim));
    }
    case IndexType::kIvfFlat:
    case IndexType::kIvfPq:
      return internal::LoadIvfIndex(spec, type, bytes, vectors, n, dim);
    case IndexType::kHnsw:
      return internal::LoadHnswIndex(spec, bytes, vectors, n, dim);
    case IndexType::kGpuCagra:
      return internal::LoadCagraIndex(spec, bytes, vectors, n, dim);
  }
  return Status::Invalid("unknown index type");
}

}  // namespace skyway::vector
