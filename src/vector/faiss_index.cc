// IVF_FLAT and IVF_PQ over faiss. faiss reports errors by throwing: every call into it is made
// inside a try block here, and its exceptions become Status values at this boundary.
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <omp.h>

#include <cstring>
#include <exception>
#include <numeric>
#include <random>

#include "vector/internal.h"

namespace skyway::vector::internal {
namespace {

constexpr int64_t kDefaultNlist = 128;
constexpr int64_t kMaxNlist = 65536;
constexpr int64_t kDefaultNprobe = 8;
constexpr int64_t kDefaultNbits = 8;
constexpr int64_t kTrainRowsPerCentroid = 256;
constexpr uint64_t kTrainSeed = 1234;

// Sets the OpenMP team size of the calling thread for the scope (faiss parallelizes with
// OpenMP); the setting is per thread, so concurrent builds do not see each other's. faiss's
// k-means runs many short parallel regions whose spinning barriers crawl when the cores are
// shared with other busy processes: callers on a loaded machine should pass few threads.
class OmpThreadsScope {
 public:
  explicit OmpThreadsScope(int threads) : saved_(omp_get_max_threads()) {
    omp_set_num_threads(threads);
  }
  ~OmpThreadsScope() { omp_set_num_threads(saved_); }
  OmpThreadsScope(const OmpThreadsScope&) = delete;
  OmpThreadsScope& operator=(const OmpThreadsScope&) = delete;

 private:
  int saved_;
};

// The RowFilter as faiss's IDSelector, so that faiss applies it while scanning the lists.
struct RowFilterSelector : faiss::IDSelector {
  explicit RowFilterSelector(const RowFilter* f) : filter(f) {}
  bool is_member(idx_t id) const override { return (*filter)(id); }
  const RowFilter* filter;
};

struct StringWriter : faiss::IOWriter {
  explicit StringWriter(std::string* o) : out(o) {}
  size_t operator()(const void* ptr, size_t size, size_t nitems) override {
    if (size * nitems > 0) out->append(static_cast<const char*>(ptr), size * nitems);
    return nitems;
  }
  std::string* out;
};

struct StringReader : faiss::IOReader {
  explicit StringReader(std::string_view b) : bytes(b) {}
  size_t operator()(void* ptr, size_t size, size_t nitems) override {
    if (size == 0) return 0;
    size_t items = std::min(nitems, (bytes.size() - pos) / size);
    if (items > 0) std::memcpy(ptr, bytes.data() + pos, items * size);
    pos += items * size;
    return items;
  }
  std::string_view bytes;
  size_t pos = 0;
};

Status FaissError(const char* what, const std::exception& e) {
  return Status::Internal(std::string("faiss ") + what + ": " + e.what());
}

class IvfIndex final : public Index {
 public:
  IvfIndex(IndexSpec spec, IndexType type, std::unique_ptr<faiss::IndexIVF> ivf,
           const float* vectors)
      : spec_(std::move(spec)), type_(type), ivf_(std::move(ivf)), vectors_(vectors) {}

  const IndexSpec& spec() const override { return spec_; }
  size_t size() const override { return static_cast<size_t>(ivf_->ntotal); }
  size_t dim() const override { return static_cast<size_t>(ivf_->d); }
  bool holds_vectors() const override {
    return type_ == IndexType::kIvfFlat && spec_.metric != Metric::kCosine;
  }
  Result<std::vector<std::vector<Hit>>> Search(const float* queries, size_t nq, size_t k,
                                               const Params& params,
                                               const RowFilter* filter) const override;
  Result<std::string> Serialize() const override;
  void Reconstruct(int64_t row, float* out) const override;

 private:
  // One faiss search of the queries listed in which, filling their results.
  Status SearchSome(const float* queries, const std::vector<size_t>& which, size_t k, size_t nprobe,
                    const RowFilter* filter, std::vector<std::vector<Hit>>* results) const;

  IndexSpec spec_;
  IndexType type_;
  std::unique_ptr<faiss::IndexIVF> ivf_;
  const float* vectors_;  // the caller's, when it gave them (may be null)
};

// A filtered (or large-k) search may find fewer than k rows in nprobe lists; the queries that
// did are searched again with four times the lists, up to all of them, so that the search keeps
// looking until it has k hits or has seen every row.
Result<std::vector<std::vector<Hit>>> IvfIndex::Search(const float* queries, size_t nq, size_t k,
                                                       const Params& params,
                                                       const RowFilter* filter) const {
  ASSIGN_OR_RETURN(int64_t nprobe_param, IntParam(params, "nprobe", kDefaultNprobe, 1, kMaxNlist));
  std::vector<std::vector<Hit>> results(nq);
  if (nq == 0 || k == 0 || ivf_->ntotal == 0) return results;
  std::vector<float> normalized;
  if (spec_.metric == Metric::kCosine) {
    normalized = NormalizedCopy(queries, nq, dim());
    queries = normalized.data();
  }
  const size_t nlist = ivf_->nlist;
  const size_t wanted = filter ? k : std::min(k, size());
  size_t nprobe = std::min<size_t>(nprobe_param, nlist);
  std::vector<size_t> which(nq);
  std::iota(which.begin(), which.end(), 0);
  while (true) {
    RETURN_IF_ERROR(SearchSome(queries, which, k, nprobe, filter, &results));
    std::vector<size_t> short_of_k;
    for (size_t q : which) {
      if (results[q].size() < wanted) short_of_k.push_back(q);
    }
    if (short_of_k.empty() || nprobe >= nlist) break;
    nprobe = std::min(nlist, nprobe * 4);
    which = std::move(short_of_k);
  }
  return results;
}

Status IvfIndex::SearchSome(const float* queries, const std::vector<size_t>& which, size_t k,
                            size_t nprobe, const RowFilter* filter,
                            std::vector<std::vector<Hit>>* results) const {
  const size_t d = dim(), m = which.size();
  std::vector<float> gathered;
  if (m != results->size()) {
    gathered.resize(m * d);
    for (size_t i = 0; i < m; ++i) {
      std::memcpy(&gathered[i * d], queries + which[i] * d, d * sizeof(float));
    }
    queries = gathered.data();
  }
  std::vector<float> distances(m * k);
  std::vector<faiss::Index::idx_t> labels(m * k);
  RowFilterSelector selector(filter);
  faiss::SearchParametersIVF sp;
  sp.nprobe = nprobe;
  sp.sel = filter ? &selector : nullptr;
  try {
    ivf_->search(static_cast<faiss::Index::idx_t>(m), queries, static_cast<faiss::Index::idx_t>(k),
                 distances.data(), labels.data(), &sp);
  } catch (const std::exception& e) {
    return FaissError("search", e);
  }
  for (size_t i = 0; i < m; ++i) {
    std::vector<Hit>& hits = (*results)[which[i]];
    hits.clear();
    for (size_t j = 0; j < k; ++j) {
      if (labels[i * k + j] < 0) break;  // faiss pads with -1 when it found fewer than k
      hits.push_back({labels[i * k + j], distances[i * k + j]});
    }
  }
  return Status::Ok();
}

Result<std::string> IvfIndex::Serialize() const {
  std::string blob = NewBlob();
  StringWriter writer(&blob);
  try {
    faiss::write_index(ivf_.get(), &writer);
  } catch (const std::exception& e) {
    return FaissError("write_index", e);
  }
  SealBlob({type_, spec_.metric, dim(), size()}, &blob);
  return blob;
}

void IvfIndex::Reconstruct(int64_t row, float* out) const {
  if (!holds_vectors()) {
    if (vectors_ != nullptr) {
      std::memcpy(out, vectors_ + row * dim(), dim() * sizeof(float));
    } else {
      std::fill(out, out + dim(), 0.0F);
    }
    return;
  }
  try {
    ivf_->reconstruct(row, out);
  } catch (const std::exception& e) {
    std::fill(out, out + dim(), 0.0F);  // row out of range: a REQUIRES violation
  }
}

struct IvfShape {
  size_t nlist = 0;
  size_t m = 0;      // IVF_PQ subquantizers
  size_t nbits = 0;  // IVF_PQ bits per code
};

Result<IvfShape> ParseShape(IndexType type, const Params& params, size_t dim) {
  IvfShape shape;
  ASSIGN_OR_RETURN(int64_t nlist, IntParam(params, "nlist", kDefaultNlist, 1, kMaxNlist));
  shape.nlist = static_cast<size_t>(nlist);
  if (type != IndexType::kIvfPq) return shape;
  if (params.find("m") == params.end()) {
    return Status::Invalid("IVF_PQ needs parameter m (number of subquantizers, dividing dim)");
  }
  ASSIGN_OR_RETURN(int64_t m, IntParam(params, "m", 0, 1, static_cast<int64_t>(dim)));
  ASSIGN_OR_RETURN(int64_t nbits, IntParam(params, "nbits", kDefaultNbits, 1, 16));
  if (dim % static_cast<size_t>(m) != 0) {
    return Status::Invalid("parameter m=" + std::to_string(m) + " must divide dim " +
                           std::to_string(dim));
  }
  shape.m = static_cast<size_t>(m);
  shape.nbits = static_cast<size_t>(nbits);
  return shape;
}

std::unique_ptr<faiss::IndexIVF> MakeIvf(IndexType type, Metric metric, size_t dim,
                                         const IvfShape& shape) {
  const bool ip = metric != Metric::kL2;
  std::unique_ptr<faiss::IndexFlat> quantizer;
  if (ip) {
    quantizer = std::make_unique<faiss::IndexFlatIP>(dim);
  } else {
    quantizer = std::make_unique<faiss::IndexFlatL2>(dim);
  }
  const faiss::MetricType faiss_metric = ip ? faiss::METRIC_INNER_PRODUCT : faiss::METRIC_L2;
  std::unique_ptr<faiss::IndexIVF> ivf;
  if (type == IndexType::kIvfPq) {
    ivf = std::make_unique<faiss::IndexIVFPQ>(quantizer.get(), dim, shape.nlist, shape.m,
                                              shape.nbits, faiss_metric);
  } else {
    ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer.get(), dim, shape.nlist, faiss_metric);
  }
  ivf->own_fields = true;
  (void)quantizer.release();  // now owned by ivf
  // faiss prints a warning per k-means run (one per PQ subquantizer) under 39 rows per
  // centroid; the row minimum that matters is checked by BuildIvfIndex.
  ivf->cp.min_points_per_centroid = 1;
  if (auto* pq = dynamic_cast<faiss::IndexIVFPQ*>(ivf.get())) pq->pq.cp.min_points_per_centroid = 1;
  return ivf;
}

// At most max_rows rows of base, drawn with a fixed seed so that builds are reproducible.
std::vector<float> TrainingSample(const float* base, size_t n, size_t dim, size_t max_rows) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(kTrainSeed);
  for (size_t i = 0; i < max_rows; ++i) {
    std::uniform_int_distribution<size_t> pick(i, n - 1);
    std::swap(order[i], order[pick(rng)]);
  }
  std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(max_rows));  // read the base in order
  std::vector<float> sample(max_rows * dim);
  for (size_t i = 0; i < max_rows; ++i) {
    std::memcpy(&sample[i * dim], base + order[i] * dim, dim * sizeof(float));
  }
  return sample;
}

}  // namespace

Status ValidateIvfParams(IndexType type, const Params& params, size_t dim) {
  return ParseShape(type, params, dim).status();
}

Result<std::unique_ptr<Index>> BuildIvfIndex(const IndexSpec& spec, IndexType type,
                                             const float* vectors, size_t n, size_t dim,
                                             int threads) {
  ASSIGN_OR_RETURN(IvfShape shape, ParseShape(type, spec.params, dim));
  size_t min_rows = shape.nlist;
  if (type == IndexType::kIvfPq) min_rows = std::max<size_t>(min_rows, size_t{1} << shape.nbits);
  if (n < min_rows) {
    return Status::Invalid(spec.type + " with nlist=" + std::to_string(shape.nlist) +
                           (shape.nbits ? " nbits=" + std::to_string(shape.nbits) : "") +
                           " needs at least " + std::to_string(min_rows) + " rows to train, got " +
                           std::to_string(n));
  }
  std::vector<float> normalized;
  const float* base = vectors;
  if (spec.metric == Metric::kCosine) {
    normalized = NormalizedCopy(vectors, n, dim);
    base = normalized.data();
  }
  const size_t centroids = std::max(shape.nlist, shape.nbits ? size_t{1} << shape.nbits : 0);
  const size_t train_rows = std::min(n, kTrainRowsPerCentroid * centroids);
  OmpThreadsScope omp_threads(BuildThreads(threads));
  std::unique_ptr<faiss::IndexIVF> ivf;
  try {
    ivf = MakeIvf(type, spec.metric, dim, shape);
    if (train_rows == n) {
      ivf->train(static_cast<faiss::Index::idx_t>(n), base);
    } else {
      std::vector<float> sample = TrainingSample(base, n, dim, train_rows);
      ivf->train(static_cast<faiss::Index::idx_t>(train_rows), sample.data());
    }
    ivf->add(static_cast<faiss::Index::idx_t>(n), base);
    if (type == IndexType::kIvfFlat) ivf->make_direct_map(true);
  } catch (const std::exception& e) {
    return FaissError("build", e);
  }
  return std::unique_ptr<Index>(new IvfIndex(spec, type, std::move(ivf), vectors));
}

Result<std::unique_ptr<Index>> LoadIvfIndex(const IndexSpec& spec, IndexType type,
                                            std::string_view bytes, const float* vectors, size_t n,
                                            size_t dim) {
  BlobHeader header;
  ASSIGN_OR_RETURN(std::string_view payload, DecodeHeader(bytes, type, spec.metric, dim, &header));
  if (vectors != nullptr && header.n != n) {
    return Status::Invalid("serialized index has " + std::to_string(header.n) + " rows, got " +
                           std::to_string(n) + " vectors");
  }
  std::unique_ptr<faiss::Index> loaded;
  try {
    StringReader reader(payload);
    loaded.reset(faiss::read_index(&reader));
  } catch (const std::exception& e) {
    return Status::Invalid(std::string("not a serialized ") + spec.type + " index: " + e.what());
  }
  auto* ivf = dynamic_cast<faiss::IndexIVF*>(loaded.get());
  bool right_class = type == IndexType::kIvfPq ? dynamic_cast<faiss::IndexIVFPQ*>(ivf) != nullptr
                                               : dynamic_cast<faiss::IndexIVFFlat*>(ivf) != nullptr;
  if (!right_class || static_cast<size_t>(ivf->d) != dim ||
      static_cast<uint64_t>(ivf->ntotal) != header.n) {
    return Status::Invalid("serialized " + spec.type + " index does not match its header");
  }
  std::unique_ptr<faiss::IndexIVF> owned(ivf);
  (void)loaded.release();  // now owned by owned
  try {
    if (type == IndexType::kIvfFlat && owned->direct_map.type == faiss::DirectMap::NoMap) {
      owned->make_direct_map(true);
    }
  } catch (const std::exception& e) {
    return FaissError("make_direct_map", e);
  }
  return std::unique_ptr<Index>(new IvfIndex(spec, type, std::move(owned), vectors));
}

}  // namespace skyway::vector::internal
