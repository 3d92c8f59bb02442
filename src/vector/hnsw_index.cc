// HNSW over hnswlib 0.6.2: hnswlib builds the graph; the search is ours, over hnswlib's public
// graph structures, because 0.6.2 has no filter and keeps ef in the index (setEf would race
// between concurrent searches). The base-layer loop is hnswlib 0.7's searchBaseLayerST with
// isIdAllowed. Serialization mirrors HierarchicalNSW::saveIndex/loadIndex, in memory.
#include "vector/hnswlib_config.h"  // before hnswlib: its ASan setting
#include <hnswlib/hnswlib.h>  // NOLINT(build/include_order)

#include <atomic>
#include <cmath>
#include <cstring>
#include <exception>
#include <mutex>
#include <queue>
#include <thread>

#include "vector/internal.h"

namespace skyway::vector::internal {
namespace {

constexpr int64_t kDefaultM = 16;
constexpr int64_t kDefaultEfConstruction = 200;
constexpr int64_t kMaxEfConstruction = 65536;
constexpr int64_t kDefaultEf = 64;
constexpr int64_t kMaxEf = 1 << 20;
constexpr size_t kRandomSeed = 100;

using Graph = hnswlib::HierarchicalNSW<float>;
using hnswlib::tableint;
using Candidate = std::pair<float, tableint>;
using MaxHeap = std::priority_queue<Candidate, std::vector<Candidate>, Graph::CompareByFirst>;

// A visited list borrowed from the graph's pool for one search.
class VisitedScope {
 public:
  explicit VisitedScope(hnswlib::VisitedListPool* pool)
      : pool_(pool), list_(pool->getFreeVisitedList()) {}
  ~VisitedScope() { pool_->releaseVisitedList(list_); }
  VisitedScope(const VisitedScope&) = delete;
  VisitedScope& operator=(const VisitedScope&) = delete;
  hnswlib::vl_type* mass() const { return list_->mass; }
  hnswlib::vl_type tag() const { return list_->curV; }

 private:
  hnswlib::VisitedListPool* pool_;
  hnswlib::VisitedList* list_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}
  bool Read(void* out, size_t n) {
    if (bytes_.size() - pos_ < n) return false;
    std::memcpy(out, bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  template <typename T>
  bool Pod(T* out) {
    return Read(out, sizeof(T));
  }
  bool done() const { return pos_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

template <typename T>
void AppendPod(std::string* out, const T& v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

// COSINE without a normalized copy: a point is stored as its dim original floats followed by
// 1/|x| (0 for a zero vector), so the graph holds the vectors exactly as given and the segment
// need not keep them too. Distance 1 - ip(a, b) * a[dim] * b[dim], with hnswlib's (SIMD) inner
// product over the first dim floats; a query is normalized, with 1 in the extra slot.
class CosineSpace final : public hnswlib::SpaceInterface<float> {
 public:
  explicit CosineSpace(size_t dim) : ip_(dim) { param_.dim = dim; param_.ip = ip_.get_dist_func(); }
  size_t get_data_size() override { return (param_.dim + 1) * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return &Distance; }
  void* get_dist_func_param() override { return &param_; }

  // x (dim floats) as stored: the floats, then 1/|x|.
  static void Encode(const float* x, size_t dim, float* out) {
    std::copy(x, x + dim, out);
    out[dim] = InverseNorm(x, dim);
  }

 private:
  struct Param {
    size_t dim;  // first: hnswlib's inner product reads its dim from here
    hnswlib::DISTFUNC<float> ip;
  };
  static float Distance(const void* a, const void* b, const void* param) {
    const auto* p = static_cast<const Param*>(param);
    const float ip = 1.0F - p->ip(a, b, param);
    return 1.0F - ip * static_cast<const float*>(a)[p->dim] * static_cast<const float*>(b)[p->dim];
  }

  hnswlib::InnerProductSpace ip_;
  Param param_{};
};

class HnswIndex final : public Index {
 public:
  HnswIndex(IndexSpec spec, size_t dim) : spec_(std::move(spec)), dim_(dim) {
    if (spec_.metric == Metric::kL2) {
      space_ = std::make_unique<hnswlib::L2Space>(dim);
    } else if (spec_.metric == Metric::kCosine) {
      space_ = std::make_unique<CosineSpace>(dim);
    } else {
      space_ = std::make_unique<hnswlib::InnerProductSpace>(dim);
    }
  }

  const IndexSpec& spec() const override { return spec_; }
  size_t size() const override { return graph_->cur_element_count; }
  size_t dim() const override { return dim_; }
  bool holds_vectors() const override { return true; }
  Result<std::vector<std::vector<Hit>>> Search(const float* queries, size_t nq, size_t k,
                                               const Params& params,
                                               const RowFilter* filter) const override;
  Result<std::string> Serialize() const override;
  void Reconstruct(int64_t row, float* out) const override;

  Status Build(const float* vectors, size_t n, size_t m, size_t ef_construction, int threads);
  Status Load(std::string_view payload, size_t n);

 private:
  std::vector<Hit> SearchOne(const float* query, size_t k, size_t ef,
                             const RowFilter* filter) const;
  tableint Descend(const float* query) const;
  template <bool kFiltered>
  MaxHeap SearchBaseLayer(tableint entry, const float* query, size_t ef, const RowFilter* filter,
                          bool* gave_up) const;
  std::vector<Hit> ScanAll(const float* query, size_t k, const RowFilter* filter) const;
  std::vector<Hit> ToHits(MaxHeap* top, const float* query, size_t k) const;
  const float* VectorOf(tableint id) const {
    return reinterpret_cast<const float*>(graph_->getDataByInternalId(id));
  }
  // The similarity of a (normalized, for COSINE) query to a point, computed in full.
  float Similarity(const float* query, tableint id) const {
    const float ip = InnerProduct(query, VectorOf(id), dim_);
    return spec_.metric == Metric::kCosine ? ip * VectorOf(id)[dim_] : ip;
  }
  float Distance(const float* query, tableint id) const {
    return graph_->fstdistfunc_(query, graph_->getDataByInternalId(id), graph_->dist_func_param_);
  }
  int64_t RowOf(tableint id) const { return static_cast<int64_t>(graph_->getExternalLabel(id)); }
  Status LoadLinks(ByteReader* reader, size_t count);
  Status CheckGraph();

  IndexSpec spec_;
  size_t dim_;
  std::unique_ptr<hnswlib::SpaceInterface<float>> space_;
  std::unique_ptr<Graph> graph_;
  std::vector<tableint> id_of_row_;
};

Result<std::vector<std::vector<Hit>>> HnswIndex::Search(const float* queries, size_t nq, size_t k,
                                                        const Params& params,
                                                        const RowFilter* filter) const {
  ASSIGN_OR_RETURN(int64_t ef_param, IntParam(params, "ef", kDefaultEf, 1, kMaxEf));
  const size_t ef = std::max(static_cast<size_t>(ef_param), k);
  std::vector<std::vector<Hit>> results(nq);
  if (nq == 0 || k == 0 || size() == 0) return results;
  // COSINE queries: normalized, with 1 in the extra slot of a stored point.
  const size_t stride = spec_.metric == Metric::kCosine ? dim_ + 1 : dim_;
  std::vector<float> padded;
  if (spec_.metric == Metric::kCosine) {
    std::vector<float> normalized = NormalizedCopy(queries, nq, dim_);
    padded.resize(nq * stride);
    for (size_t q = 0; q < nq; ++q) {
      std::memcpy(&padded[q * stride], &normalized[q * dim_], dim_ * sizeof(float));
      padded[q * stride + dim_] = 1.0F;
    }
    queries = padded.data();
  }
  const int64_t count = static_cast<int64_t>(nq);
#pragma omp parallel for schedule(dynamic) if (count >= 16)
  for (int64_t q = 0; q < count; ++q) {
    results[q] = SearchOne(queries + q * stride, k, ef, filter);
  }
  return results;
}

// A filter that accepts few rows would make the graph walk visit most of the graph to collect
// ef accepted rows; past n/8 distance computations it gives up, and a scan of the accepted rows
// (exact, and cheaper by then) answers instead. The scan also answers when the walk found fewer
// than k accepted rows (part of the graph unreachable, or fewer than k accepted).
std::vector<Hit> HnswIndex::SearchOne(const float* query, size_t k, size_t ef,
                                      const RowFilter* filter) const {
  const tableint entry = Descend(query);
  bool gave_up = false;
  MaxHeap top = filter ? SearchBaseLayer<true>(entry, query, ef, filter, &gave_up)
                       : SearchBaseLayer<false>(entry, query, ef, nullptr, &gave_up);
  if (filter != nullptr && (gave_up || top.size() < k)) return ScanAll(query, k, filter);
  return ToHits(&top, query, k);
}

// Greedy descent through the upper layers, as HierarchicalNSW::searchKnn.
tableint HnswIndex::Descend(const float* query) const {
  tableint current = graph_->enterpoint_node_;
  float current_distance = Distance(query, current);
  for (int level = graph_->maxlevel_; level > 0; --level) {
    bool changed = true;
    while (changed) {
      changed = false;
      const unsigned int* list = graph_->get_linklist(current, level);
      const int count = graph_->getListCount(const_cast<unsigned int*>(list));
      const tableint* neighbors = list + 1;
      for (int i = 0; i < count; ++i) {
        const float d = Distance(query, neighbors[i]);
        if (d < current_distance) {
          current_distance = d;
          current = neighbors[i];
          changed = true;
        }
      }
    }
  }
  return current;
}

// Every reached node enters the candidate queue; only accepted ones enter the results, and the
// walk stops when the nearest candidate is worse than the worst of ef accepted results.
template <bool kFiltered>
MaxHeap HnswIndex::SearchBaseLayer(tableint entry, const float* query, size_t ef,
                                   const RowFilter* filter, bool* gave_up) const {
  VisitedScope visited(graph_->visited_list_pool_);
  hnswlib::vl_type* mass = visited.mass();
  const hnswlib::vl_type tag = visited.tag();
  const size_t budget = std::max<size_t>(size() / 8, 4 * ef);
  size_t computed = 1;
  MaxHeap top, candidates;
  float lower_bound = Distance(query, entry);
  candidates.emplace(-lower_bound, entry);
  if (!kFiltered || (*filter)(RowOf(entry))) {
    top.emplace(lower_bound, entry);
  } else {
    lower_bound = std::numeric_limits<float>::max();
  }
  mass[entry] = tag;
  char* level0 = graph_->data_level0_memory_;
  const size_t stride = graph_->size_data_per_element_, offset = graph_->offsetData_;
  const hnswlib::DISTFUNC<float> distance = graph_->fstdistfunc_;
  void* const distance_param = graph_->dist_func_param_;
  while (!candidates.empty()) {
    const Candidate current = candidates.top();
    if (-current.first > lower_bound && (top.size() == ef || !kFiltered)) break;
    if (kFiltered && computed > budget && top.size() < ef) {
      *gave_up = true;
      break;
    }
    candidates.pop();
    const unsigned int* list = graph_->get_linklist0(current.second);
    const size_t count = graph_->getListCount(const_cast<unsigned int*>(list));
#ifdef USE_SSE
    _mm_prefetch(reinterpret_cast<const char*>(mass + list[1]), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(mass + list[1] + 64), _MM_HINT_T0);
    _mm_prefetch(level0 + list[1] * stride + offset, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(list + 2), _MM_HINT_T0);
#endif
    for (size_t j = 1; j <= count; ++j) {
      const tableint id = list[j];
#ifdef USE_SSE
      _mm_prefetch(reinterpret_cast<const char*>(mass + list[j + 1]), _MM_HINT_T0);
      _mm_prefetch(level0 + list[j + 1] * stride + offset, _MM_HINT_T0);
#endif
      if (mass[id] == tag) continue;
      mass[id] = tag;
      const float d = distance(query, level0 + id * stride + offset, distance_param);
      ++computed;
      if (top.size() < ef || lower_bound > d) {
        candidates.emplace(-d, id);
#ifdef USE_SSE
        _mm_prefetch(level0 + candidates.top().second * stride, _MM_HINT_T0);
#endif
        if (!kFiltered || (*filter)(RowOf(id))) top.emplace(d, id);
        if (top.size() > ef) top.pop();
        if (!top.empty()) lower_bound = top.top().first;
      }
    }
  }
  return top;
}

// Hits best first. IP and COSINE scores are computed again from the vectors: hnswlib's
// distance 1 - ip loses the low bits of a small similarity.
std::vector<Hit> HnswIndex::ToHits(MaxHeap* top, const float* query, size_t k) const {
  while (top->size() > k) top->pop();
  std::vector<Hit> hits(top->size());
  for (size_t i = hits.size(); i-- > 0; top->pop()) {
    const auto [distance, id] = top->top();
    hits[i] = {RowOf(id), spec_.metric == Metric::kL2 ? distance : Similarity(query, id)};
  }
  if (spec_.metric != Metric::kL2) {
    std::stable_sort(hits.begin(), hits.end(),
                     [](const Hit& a, const Hit& b) { return a.score > b.score; });
  }
  return hits;
}

std::vector<Hit> HnswIndex::ScanAll(const float* query, size_t k, const RowFilter* filter) const {
  TopK top(k);
  for (size_t row = 0; row < id_of_row_.size(); ++row) {
    if (filter != nullptr && !(*filter)(static_cast<int64_t>(row))) continue;
    const tableint id = id_of_row_[row];
    const float d = spec_.metric == Metric::kL2 ? L2Sqr(query, VectorOf(id), dim_)
                                                : -Similarity(query, id);
    top.Push(d, static_cast<int64_t>(row));
  }
  return top.Take(spec_.metric);
}

void HnswIndex::Reconstruct(int64_t row, float* out) const {
  std::memcpy(out, VectorOf(id_of_row_[row]), dim_ * sizeof(float));
}

// The first point alone, then the rest from `threads` threads, as hnswlib's Python bindings.
Status HnswIndex::Build(const float* vectors, size_t n, size_t m, size_t ef_construction,
                        int threads) {
  const bool cosine = spec_.metric == Metric::kCosine;
  // addPoint copies the point into the graph: a COSINE point goes through a per-call scratch.
  auto add = [&](size_t i, std::vector<float>* scratch) {
    const float* point = vectors + i * dim_;
    if (cosine) {
      scratch->resize(dim_ + 1);
      CosineSpace::Encode(point, dim_, scratch->data());
      point = scratch->data();
    }
    graph_->addPoint(point, i);
  };
  try {
    graph_ = std::make_unique<Graph>(space_.get(), std::max<size_t>(n, 1), m, ef_construction,
                                     kRandomSeed);
    std::vector<float> scratch;
    if (n > 0) add(0, &scratch);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("hnswlib build: ") + e.what());
  }
  std::atomic<size_t> next{1};
  std::mutex error_mutex;
  std::string error;
  auto add_points = [&] {
    std::vector<float> scratch;
    for (size_t i = next++; i < n; i = next++) {
      try {
        add(i, &scratch);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(error_mutex);
        error = e.what();
        next = n;
      }
    }
  };
  const size_t workers = std::min<size_t>(BuildThreads(threads), std::max<size_t>(n, 1));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < workers; ++t) pool.emplace_back(add_points);
  add_points();
  for (std::thread& t : pool) t.join();
  if (!error.empty()) return Status::Internal("hnswlib addPoint: " + error);
  id_of_row_.resize(n);
  for (tableint id = 0; id < n; ++id) id_of_row_[RowOf(id)] = id;
  return Status::Ok();
}

Result<std::string> HnswIndex::Serialize() const {
  const Graph& g = *graph_;
  std::string out = NewBlob();
  out.reserve(out.size() + g.cur_element_count * (g.size_data_per_element_ + 4) + 128);
  for (size_t v : {g.offsetLevel0_, g.max_elements_, g.cur_element_count, g.size_data_per_element_,
                   g.label_offset_, g.offsetData_}) {
    AppendPod(&out, v);
  }
  AppendPod(&out, g.maxlevel_);
  AppendPod(&out, g.enterpoint_node_);
  for (size_t v : {g.maxM_, g.maxM0_, g.M_}) AppendPod(&out, v);
  AppendPod(&out, g.mult_);
  AppendPod(&out, g.ef_construction_);
  out.append(g.data_level0_memory_, g.cur_element_count * g.size_data_per_element_);
  for (size_t i = 0; i < g.cur_element_count; ++i) {
    const auto size = static_cast<unsigned int>(
        g.element_levels_[i] > 0 ? g.size_links_per_element_ * g.element_levels_[i] : 0);
    AppendPod(&out, size);
    if (size > 0) out.append(g.linkLists_[i], size);
  }
  SealBlob({IndexType::kHnsw, spec_.metric, dim_, size()}, &out);
  return out;
}

// Mirrors HierarchicalNSW::loadIndex, into a graph constructed with the saved M and
// efConstruction; the saved layout must match the one that graph computed, and every link must
// point inside the graph, so that corrupt bytes are refused rather than read out of bounds.
Status HnswIndex::Load(std::string_view payload, size_t n) {
  ByteReader reader(payload);
  size_t offset_level0 = 0, max_elements = 0, count = 0, size_per_element = 0;
  size_t label_offset = 0, offset_data = 0, max_m = 0, max_m0 = 0, m = 0, ef_construction = 0;
  int max_level = 0;
  tableint entry = 0;
  double mult = 0;
  bool ok = reader.Pod(&offset_level0) && reader.Pod(&max_elements) && reader.Pod(&count) &&
            reader.Pod(&size_per_element) && reader.Pod(&label_offset) &&
            reader.Pod(&offset_data) && reader.Pod(&max_level) && reader.Pod(&entry) &&
            reader.Pod(&max_m) && reader.Pod(&max_m0) && reader.Pod(&m) && reader.Pod(&mult) &&
            reader.Pod(&ef_construction);
  const Status corrupt = Status::Invalid("not a serialized HNSW index (bad graph header)");
  if (!ok || count != n || m < 2 || m > 2048 || ef_construction > kMaxEfConstruction ||
      (count > 0 && (entry >= count || max_level < 0 || max_level > 64))) {
    return corrupt;
  }
  try {
    graph_ = std::make_unique<Graph>(space_.get(), std::max<size_t>(count, 1), m, ef_construction,
                                     kRandomSeed);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("hnswlib: ") + e.what());
  }
  Graph& g = *graph_;
  if (offset_level0 != g.offsetLevel0_ || size_per_element != g.size_data_per_element_ ||
      label_offset != g.label_offset_ || offset_data != g.offsetData_ || max_m != g.maxM_ ||
      max_m0 != g.maxM0_ || !reader.Read(g.data_level0_memory_, count * size_per_element)) {
    return corrupt;
  }
  g.mult_ = mult;
  g.revSize_ = mult > 0 ? 1.0 / mult : 0;
  g.maxlevel_ = count > 0 ? max_level : -1;
  g.enterpoint_node_ = count > 0 ? entry : static_cast<tableint>(-1);
  RETURN_IF_ERROR(LoadLinks(&reader, count));
  if (!reader.done()) return corrupt;
  return CheckGraph();
}

// The upper-layer link lists. cur_element_count grows with them, so that the graph's destructor
// frees exactly the lists loaded when a later one is refused.
Status HnswIndex::LoadLinks(ByteReader* reader, size_t count) {
  Graph& g = *graph_;
  for (size_t i = 0; i < count; ++i) {
    unsigned int size = 0;
    if (!reader->Pod(&size) || size % g.size_links_per_element_ != 0 ||
        size / g.size_links_per_element_ > static_cast<size_t>(std::max(g.maxlevel_, 0))) {
      return Status::Invalid("not a serialized HNSW index (bad link list)");
    }
    g.linkLists_[i] = nullptr;
    g.element_levels_[i] = static_cast<int>(size / g.size_links_per_element_);
    g.cur_element_count = i + 1;
    if (size == 0) continue;
    g.linkLists_[i] = static_cast<char*>(malloc(size));
    if (g.linkLists_[i] == nullptr) {
      g.element_levels_[i] = 0;
      return Status::Internal("hnswlib load: out of memory");
    }
    if (!reader->Read(g.linkLists_[i], size)) {
      return Status::Invalid("not a serialized HNSW index (short link list)");
    }
  }
  return Status::Ok();
}

// Every link in range and to a node present on that level, labels a permutation of the rows,
// and the entry point on the top level: what the search relies on to stay in bounds.
Status HnswIndex::CheckGraph() {
  const Graph& g = *graph_;
  const size_t count = g.cur_element_count;
  const Status corrupt = Status::Invalid("not a serialized HNSW index (bad graph)");
  if (count > 0 && g.element_levels_[g.enterpoint_node_] != g.maxlevel_) return corrupt;
  std::vector<tableint> id_of_row(count, static_cast<tableint>(-1));
  for (tableint id = 0; id < count; ++id) {
    const size_t row = g.getExternalLabel(id);
    if (row >= count || id_of_row[row] != static_cast<tableint>(-1)) return corrupt;
    id_of_row[row] = id;
    for (int level = 0; level <= g.element_levels_[id]; ++level) {
      unsigned int* list = g.get_linklist_at_level(id, level);
      const size_t links = g.getListCount(list);
      if (links > (level == 0 ? g.maxM0_ : g.maxM_)) return corrupt;
      for (size_t j = 1; j <= links; ++j) {
        if (list[j] >= count || g.element_levels_[list[j]] < level) return corrupt;
      }
    }
  }
  id_of_row_ = std::move(id_of_row);
  return Status::Ok();
}

}  // namespace

Status ValidateHnswParams(const Params& params) {
  RETURN_IF_ERROR(IntParam(params, "M", kDefaultM, 2, 2048).status());
  return IntParam(params, "efConstruction", kDefaultEfConstruction, 1, kMaxEfConstruction).status();
}

Result<std::unique_ptr<Index>> BuildHnswIndex(const IndexSpec& spec, const float* vectors, size_t n,
                                              size_t dim, int threads) {
  ASSIGN_OR_RETURN(int64_t m, IntParam(spec.params, "M", kDefaultM, 2, 2048));
  ASSIGN_OR_RETURN(
      int64_t ef_construction,
      IntParam(spec.params, "efConstruction", kDefaultEfConstruction, 1, kMaxEfConstruction));
  if (n > std::numeric_limits<tableint>::max()) return Status::Invalid("HNSW: too many rows");
  auto index = std::make_unique<HnswIndex>(spec, dim);
  RETURN_IF_ERROR(index->Build(vectors, n, m, ef_construction, threads));
  return std::unique_ptr<Index>(std::move(index));
}

Result<std::unique_ptr<Index>> LoadHnswIndex(const IndexSpec& spec, std::string_view bytes,
                                             const float* vectors, size_t n, size_t dim) {
  BlobHeader header;
  ASSIGN_OR_RETURN(std::string_view payload,
                   DecodeHeader(bytes, IndexType::kHnsw, spec.metric, dim, &header));
  if (vectors != nullptr && header.n != n) {
    return Status::Invalid("serialized index has " + std::to_string(header.n) + " rows, got " +
                           std::to_string(n) + " vectors");
  }
  auto index = std::make_unique<HnswIndex>(spec, dim);
  RETURN_IF_ERROR(index->Load(payload, header.n));
  return std::unique_ptr<Index>(std::move(index));
}

}  // namespace skyway::vector::internal
