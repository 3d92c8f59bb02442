// Request bodies: JSON parsed with simdjson into the nlohmann::json the handlers use, except
// that a list of numbers under the top-level "data" key (vectors of an insert or a search,
// megabytes of them) is not turned into a JSON tree: its values go, as float32, into a side
// table, and the list is replaced by {"$f32": <index>}. Private to vectordb/.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "common/common.h"
#include "vectordb/schema.h"

namespace skyway::vectordb {

struct FloatLists {
  std::vector<std::vector<float>> lists;
  // The list k exactly as sent (numbers keep their JSON type and precision).
  std::function<Json(size_t k)> exact;
  // The floats a {"$f32": k} placeholder names, or null when v is not one.
  const std::vector<float>* Lookup(const Json& v) const;
  // Replaces every placeholder in v by its list as sent (for JSON and dynamic fields).
  void Expand(Json* v) const;
};

// Errors: MilvusError(kBadRequestFormat) naming the JSON error; kInvalidArgument when a number
// in a vector is out of float32 range.
// text with capacity() >= size() + 64 is parsed in place, otherwise copied first.
Result<Json> ParseBody(const std::string& text, FloatLists* floats);

}  // namespace skyway::vectordb
