// GPU_CAGRA index blobs as read back from the store, with a valid header so that the bytes reach
// the graph and entry-point parser: a damaged graph or trailer is an error, never a crash, and an
// index that loads answers with rows that exist, each once. The first byte picks n (1..16).
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "vector/internal.h"

using namespace skyway::vector;  // NOLINT(build/namespaces): a fuzzer's one function

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t n = data[0] % 16 + 1, dim = 2;
  std::string blob = internal::NewBlob();
  blob.append(reinterpret_cast<const char*>(data + 1), size - 1);
  internal::SealBlob({internal::IndexType::kGpuCagra, Metric::kL2, dim, n}, &blob);
  std::vector<float> vectors(n * dim);
  for (size_t i = 0; i < vectors.size(); ++i) vectors[i] = static_cast<float>(i % 7);
  const IndexSpec spec{"GPU_CAGRA", Metric::kL2, {}};
  auto index = LoadIndex(spec, blob, vectors.data(), n, dim);
  if (!index.ok()) return 0;
  const float query[dim] = {1.5F, 2.5F};
  const RowFilter even = [](int64_t row) { return row % 2 == 0; };
  for (const char* width : {"1", "3"}) {
    for (const RowFilter* filter : {static_cast<const RowFilter*>(nullptr), &even}) {
      auto hits = (*index)->Search(query, 1, 4, {{"search_width", width}}, filter);
      if (!hits.ok()) __builtin_trap();
      std::set<int64_t> seen;
      for (const Hit& h : (*hits)[0]) {
        if (h.row < 0 || static_cast<size_t>(h.row) >= n || !seen.insert(h.row).second) __builtin_trap();
        if (filter != nullptr && h.row % 2 != 0) __builtin_trap();
      }
    }
  }
  return 0;
}
