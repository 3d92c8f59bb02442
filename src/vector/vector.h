// vector: approximate nearest-neighbour indexes over one block of float32 vectors, behind one
// interface (FAISS's `Index` is the model). FLAT (exact), IVF_FLAT and IVF_PQ (faiss), HNSW
// (hnswlib). An index knows no storage: it is built from memory and serialized to bytes; the
// caller decides where the bytes live. Rows are numbered 0..n-1 in the order they were given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/common.h"

namespace skyway::vector {

// L2 is squared Euclidean distance (smaller is closer). IP and COSINE are similarities (larger
// is closer); COSINE is the inner product of the normalized vectors.
enum class Metric { kL2, kIP, kCosine };

// "L2", "IP", "COSINE" (case-insensitive). Errors: kInvalidArgument.
Result<Metric> ParseMetric(std::string_view name);
const char* MetricName(Metric metric);
// True when a smaller score is a better match (L2).
inline bool SmallerIsCloser(Metric m) { return m == Metric::kL2; }
// The score of two vectors under the metric (exact; the reference for recall tests).
float Score(Metric metric, const float* a, const float* b, size_t dim);

// Build or search parameters by Milvus name, values as strings: "nlist", "m", "nbits" (IVF_PQ),
// "M", "efConstruction" (HNSW); "nprobe", "ef" at search. Unknown names are ignored, as Milvus
// does; a malformed or out-of-range value is kInvalidArgument. Defaults: nlist 128, nbits 8,
// M 16, efConstruction 200, nprobe 8, ef 64 (raised to k); IVF_PQ requires m (dividing dim).
using Params = std::map<std::string, std::string>;

struct IndexSpec {
  std::string type;  // "FLAT", "IVF_FLAT", "IVF_PQ", "HNSW"
  Metric metric = Metric::kL2;
  Params params;
};

// The CUDA device GPU_CAGRA and GPU_BRUTE_FORCE build on ("NVIDIA H100 ..., sm_90"), or empty
// when they build on the CPU (no device, or a build without CUDA). Same graph either way.
std::string GpuDevice();
// The fewest queries of one unfiltered Search call that a GPU index sends to the device (fewer
// are searched on the CPU); 0 without a device.
size_t GpuSearchBatch();

// GPU memory for a build fed straight from the store: the caller GETs a segment's vectors into
// it through the direct path (client::Client::RegisterDevice) and hands data() to BuildIndex of a
// GPU type. An index built so is good for Serialize only (its vectors are not host memory):
// serve it with LoadIndex over host vectors. Freed with the object.
class DeviceVectors {
 public:
  virtual ~DeviceVectors() = default;
  virtual float* data() const = 0;  // a device address
  virtual size_t bytes() const = 0;
  // Copies bytes of host memory to data() + offset (bytes). Errors: kOutOfRange past bytes().
  virtual Status Write(size_t offset, const void* src, size_t bytes) = 0;
};
// Errors: kFailedPrecondition without a CUDA device; kResourceExhausted when it does not fit.
Result<std::unique_ptr<DeviceVectors>> AllocateDeviceVectors(size_t bytes);
// Whether the index type builds on the GPU when one is present (GPU_CAGRA, GPU_BRUTE_FORCE).
bool IsGpuType(std::string_view type);

// The index types this build knows.
std::vector<std::string> IndexTypes();
// Checks type and build parameters against dim before any work. Errors: kInvalidArgument.
Status ValidateSpec(const IndexSpec& spec, size_t dim);

// Which rows a search may return. Called from the searching thread, or from several worker
// threads of one search of many queries, possibly many times per row; must be cheap and
// thread-safe.
using RowFilter = std::function<bool(int64_t row)>;

struct Hit {
  int64_t row = -1;
  float score = 0;  // in the metric's own sense (see Metric)
};

class Index {
 public:
  virtual ~Index() = default;
  virtual const IndexSpec& spec() const = 0;
  virtual size_t size() const = 0;
  virtual size_t dim() const = 0;

  // Up to k hits per query, best first, for queries (nq x dim, row-major). With a filter, only
  // rows it accepts are returned, and the search keeps looking until k accepted rows are found
  // or the index is exhausted (the filter is applied inside the traversal, not after it).
  // Thread-safe for concurrent searches. Errors: kInvalidArgument (params).
  virtual Result<std::vector<std::vector<Hit>>> Search(const float* queries, size_t nq, size_t k,
                                                       const Params& params,
                                                       const RowFilter* filter) const = 0;

  // The index as bytes, for LoadIndex. Does not include the vectors unless the index keeps its
  // own copy of them (holds_vectors()).
  virtual Result<std::string> Serialize() const = 0;

  // Whether the index keeps its own exact copy of the vectors (then the caller may drop its copy
  // and read rows back with Reconstruct).
  virtual bool holds_vectors() const = 0;
  // Copies row's original vector into out (dim floats). REQUIRES: holds_vectors().
  virtual void Reconstruct(int64_t row, float* out) const = 0;
};

// Builds an index over vectors (n x dim, row-major). The vectors must outlive the index when
// the built index does not hold its own copy (holds_vectors() false). threads <= 0: all cores.
// Errors: kInvalidArgument (spec, dim, n too small for nlist).
Result<std::unique_ptr<Index>> BuildIndex(const IndexSpec& spec, const float* vectors, size_t n,
                                          size_t dim, int threads = 0);

// Rebuilds an index from Serialize()'s bytes. vectors (n x dim) must be given, and outlive the
// index, for index types that do not hold their own copy; may be null otherwise.
// Errors: kInvalidArgument when the bytes are not such an index.
Result<std::unique_ptr<Index>> LoadIndex(const IndexSpec& spec, std::string_view bytes,
                                         const float* vectors, size_t n, size_t dim);

// Rows of a build's input read a block at a time, for a build whose input does not fit in
// memory at once (a segment larger than GPU memory, fed from the store).
class RowSource {
 public:
  virtual ~RowSource() = default;
  // A buffer of `bytes` that Read fills, kept until the source is destroyed: device memory when
  // `device` (the build runs on the GPU), else host memory.
  virtual Result<float*> Buffer(size_t bytes, bool device) = 0;
  // Rows [first, first + count) into dst, the start of a buffer from Buffer().
  virtual Status Read(size_t first, size_t count, float* dst) = 0;
};

// A RowSource over rows already in host memory (n x dim, outliving it): how an array larger
// than the GPU's memory goes through device buffers a block at a time.
class ArrayRows : public RowSource {
 public:
  ArrayRows(const float* rows, size_t n, size_t dim);
  ~ArrayRows() override;
  Result<float*> Buffer(size_t bytes, bool device) override;
  Status Read(size_t first, size_t count, float* dst) override;

 private:
  const float* rows_;
  size_t n_, dim_;
  std::vector<std::vector<float>> host_;
  std::vector<std::unique_ptr<DeviceVectors>> device_;
};

struct StreamOptions {
  // Bytes of working memory (vector blocks, norms, top-k lists) the build may hold at once;
  // 0: the GPU's free memory, or no limit on the CPU.
  uint64_t memory_limit = 0;
  bool device = false;  // build on the GPU (GpuDevice() non-empty), reading into device buffers
};

struct StreamStats {
  size_t block_rows = 0;   // rows per block (n when the input fits at once)
  size_t blocks = 0;
  size_t reads = 0;        // RowSource::Read calls
  uint64_t bytes_read = 0;
  bool pruned_on_device = false;
};

// Builds a GPU_CAGRA graph from rows read through `source` in blocks that fit memory_limit: the
// exact kNN graph is merged block against block (each block pair once as query and base), then
// pruned and given reverse edges as BuildIndex does; same graph as BuildIndex over the whole
// array. When the rows fit at once and the kNN graph is to be found by clusters (build_algo),
// they are read in one block and built as BuildIndex does. The index holds no vectors: Serialize it, then LoadIndex over the vectors to serve.
// Errors: kInvalidArgument (spec, or a type other than GPU_CAGRA), kResourceExhausted (the limit
// cannot hold two blocks of a minimal size), kFailedPrecondition (device asked, none), the
// source's errors.
Result<std::unique_ptr<Index>> BuildIndexStreamed(const IndexSpec& spec, size_t n, size_t dim,
                                                  RowSource& source, const StreamOptions& options,
                                                  StreamStats* stats = nullptr);

// Whether an index of this spec keeps its own copy of the vectors (so a loaded index needs no
// vectors from the caller).
bool HoldsVectors(const IndexSpec& spec);

// Exact top-k over vectors (n x dim): the reference for recall, and the search of a growing
// segment. Same conventions as Index::Search.
std::vector<std::vector<Hit>> ExactSearch(Metric metric, const float* vectors, size_t n, size_t dim,
                                          const float* queries, size_t nq, size_t k,
                                          const RowFilter* filter);

}  // namespace skyway::vector
