// ParseBody: simdjson's DOM, converted to nlohmann::json with float lists set aside.
#include "vectordb/json_body.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace skyway::vectordb {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr size_t kMaxDepth = 64;

// A non-empty list of numbers that all fit a float32: a vector. Anything else stays JSON (a
// JSON field may hold 1e300; a vector holding it is refused later, by the row parser).
bool AllFloat32(simdjson::dom::array a) {
  if (a.size() == 0) return false;
  for (element e : a) {
    element_type t = e.type();
    if (t == element_type::DOUBLE) {
      double d = double(e);
      if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max()) return false;
    } else if (t != element_type::INT64 && t != element_type::UINT64) {
      return false;
    }
  }
  return true;
}

Status ToFloats(simdjson::dom::array a, std::vector<float>* out) {
  out->reserve(a.size());
  for (element e : a) {
    double d;
    switch (e.type()) {
      case element_type::INT64: d = static_cast<double>(int64_t(e)); break;
      case element_type::UINT64: d = static_cast<double>(uint64_t(e)); break;
      default: d = double(e); break;
    }
    if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max()) {
      return MilvusError(code::kInvalidParameter, "a vector value is out of float32 range");
    }
    out->push_back(static_cast<float>(d));
  }
  return Status::Ok();
}

// in_data: below the top-level "data" key, where number lists are vectors.
Result<Json> Convert(element e, bool in_data, size_t depth, FloatLists* floats,
                     std::vector<simdjson::dom::element>* arrays) {
  if (depth > kMaxDepth) return MilvusError(code::kBadRequestFormat, "JSON nested too deep");
  switch (e.type()) {
    case element_type::ARRAY: {
      simdjson::dom::array a = e;
      if (in_data && AllFloat32(a)) {
        floats->lists.emplace_back();
        arrays->push_back(e);
        RETURN_IF_ERROR(ToFloats(a, &floats->lists.back()));
        return Json{{"$f32", floats->lists.size() - 1}};
      }
      Json out = Json::array();
      for (element x : a) {
        ASSIGN_OR_RETURN(Json v, Convert(x, in_data, depth + 1, floats, arrays));
        out.push_back(std::move(v));
      }
      return out;
    }
    case element_type::OBJECT: {
      Json out = Json::object();
      for (auto field : simdjson::dom::object(e)) {
        bool data = in_data || (depth == 0 && field.key == "data");
        ASSIGN_OR_RETURN(Json v, Convert(field.value, data, depth + 1, floats, arrays));
        out[std::string(field.key)] = std::move(v);
      }
      return out;
    }
    case element_type::INT64: return Json(int64_t(e));
    case element_type::UINT64: return Json(uint64_t(e));
    case element_type::DOUBLE: return Json(double(e));
    case element_type::STRING: return Json(std::string(std::string_view(e)));
    case element_type::BOOL: return Json(bool(e));
    case element_type::NULL_VALUE: return Json(nullptr);
  }
  return Json(nullptr);
}

}  // namespace

const std::vector<float>* FloatLists::Lookup(const Json& v) const {
  if (!v.is_object() || v.size() != 1) return nullptr;
  auto it = v.find("$f32");
  if (it == v.end() || !it->is_number_unsigned()) return nullptr;
  size_t k = it->get<size_t>();
  return k < lists.size() ? &lists[k] : nullptr;
}

void FloatLists::Expand(Json* v) const {
  if (Lookup(*v)) {
    *v = exact((*v)["$f32"].get<size_t>());
    return;
  }
  if (v->is_structured()) {
    for (auto& x : *v) Expand(&x);
  }
}

namespace {
struct Parsed {  // what the arrays set aside point into
  simdjson::dom::parser parser;
  simdjson::dom::document doc;
  std::vector<simdjson::dom::element> arrays;
};
}  // namespace

Result<Json> ParseBody(const std::string& text, FloatLists* floats) {
  // One parser per thread, kept: its buffers are reused (no page faults per request). A
  // request is handled on one thread, so what `exact` points into lives until its reply.
  thread_local Parsed state;
  Parsed* parsed = &state;
  parsed->arrays.clear();
  // Grow with headroom: bodies of one client vary a little in size, and each new largest one
  // would otherwise reallocate (and page-fault in) the parser's buffers and tape.
  if (text.size() > parsed->parser.capacity() || text.size() > parsed->doc.capacity()) {
    size_t want = std::max<size_t>(text.size() + text.size() / 4, 1 << 20);
    want = std::max(std::min(want, parsed->parser.max_capacity()), text.size());
    if (parsed->parser.allocate(want) != simdjson::SUCCESS || parsed->doc.allocate(want) != simdjson::SUCCESS) {
      return MilvusError(code::kBadRequestFormat, "invalid JSON body: out of memory");
    }
  }
  element doc;
  auto error = parsed->parser.parse_into_document(parsed->doc, text).get(doc);  // copies only when capacity is short
  if (error) {
    return MilvusError(code::kBadRequestFormat,
                       std::string("invalid JSON body: ") + simdjson::error_message(error));
  }
  ASSIGN_OR_RETURN(Json out, Convert(doc, false, 0, floats, &parsed->arrays));
  floats->exact = [parsed](size_t k) -> Json {
    FloatLists none;
    auto v = Convert(parsed->arrays[k], false, 1, &none, nullptr);
    return v.ok() ? *v : Json();
  };
  return out;
}

}  // namespace skyway::vectordb
