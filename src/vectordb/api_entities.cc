// The Milvus REST v2 entities calls: insert, upsert, delete, query, get, search.
#include <algorithm>
#include <cmath>
#include <limits>

#include "vectordb/service_impl.h"

namespace skyway::vectordb {
namespace {

constexpr size_t kMaxTopK = 16384;  // Milvus' limit on nq, limit and offset + limit

Result<std::vector<std::string>> StringList(const Json& body, const char* key) {
  std::vector<std::string> out;
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return out;
  if (it->is_string()) return std::vector<std::string>{it->get<std::string>()};
  if (!it->is_array()) return MilvusError(code::kInvalidParameter, std::string(key) + " must be a list of strings");
  for (const Json& v : *it) {
    if (!v.is_string()) return MilvusError(code::kInvalidParameter, std::string(key) + " must be a list of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<size_t> SizeParam(const Json& body, const char* key, size_t dflt, size_t max) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return dflt;
  if (!it->is_number_integer() || it->get<int64_t>() < 0 ||
      static_cast<uint64_t>(it->get<int64_t>()) > max) {
    return MilvusError(code::kInvalidParameter,
                       std::string(key) + " must be an integer in [0, " + std::to_string(max) + "]");
  }
  return static_cast<size_t>(it->get<int64_t>());
}

vector::Params SearchParams(const Json& sp) {
  vector::Params out;
  if (!sp.is_object()) return out;
  auto add = [&](const Json& obj) {
    for (const auto& [k, v] : obj.items()) {
      if (v.is_number_integer()) out[k] = std::to_string(v.get<int64_t>());
      else if (v.is_number_float()) out[k] = std::to_string(static_cast<int64_t>(v.get<double>()));
      else if (v.is_string()) out[k] = v.get<std::string>();
    }
  };
  add(sp);  // Milvus >= 2.5.2 accepts the flat form {"ef": 64}
  if (sp.contains("params") && sp["params"].is_object()) add(sp["params"]);
  out.erase("params");
  out.erase("metricType");
  return out;
}

Result<Json> Insert(Collection& c, const Json& body, const CallContext& ctx, bool upsert) {
  if (!body.contains("data")) return MilvusError(code::kMissingParameter, "missing required parameter: data");
  ASSIGN_OR_RETURN(std::vector<Json> ids, c.Insert(body["data"], OptionalString(body, "partitionName"),
                                                   ctx.int64_as_number, ctx.floats));
  const char* count = upsert ? "upsertCount" : "insertCount";
  const char* list = upsert ? "upsertIds" : "insertIds";
  return Json{{count, ids.size()}, {list, ids}};
}

Result<Json> Search(Collection& c, const Json& body, const CallContext& ctx, Json* extra) {
  SearchRequest q;
  const Schema& s = c.schema();
  std::string anns = OptionalString(body, "annsField");
  if (!anns.empty() && anns != s.vector_field().name) {
    return MilvusError(code::kInvalidParameter, "annsField " + anns + " is not the vector field");
  }
  auto data = body.find("data");
  if (data == body.end() || !data->is_array() || data->empty()) {
    return MilvusError(code::kMissingParameter, "missing required parameter: data (a list of vectors)");
  }
  if (data->size() > kMaxTopK) return MilvusError(code::kInvalidParameter, "nq must be <= 16384");
  size_t dim = s.dim();
  for (const Json& v : *data) {
    if (const std::vector<float>* list = ctx.floats ? ctx.floats->Lookup(v) : nullptr) {
      if (list->size() != dim) {
        return MilvusError(code::kInvalidParameter, "the dimension of a query vector is " +
                                                        std::to_string(list->size()) + ", expected " +
                                                        std::to_string(dim));
      }
      q.queries.insert(q.queries.end(), list->begin(), list->end());
      continue;
    }
    if (!v.is_array() || v.size() != dim) {
      return MilvusError(code::kInvalidParameter,
                         "the dimension of a query vector is " + std::to_string(v.is_array() ? v.size() : 0) +
                             ", expected " + std::to_string(dim));
    }
    for (const Json& x : v) {
      if (!x.is_number()) return MilvusError(code::kInvalidParameter, "query vectors must be lists of numbers");
      double d = x.get<double>();
      if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max()) {
        return MilvusError(code::kInvalidParameter, "a query vector value is out of float32 range");
      }
      q.queries.push_back(static_cast<float>(d));
    }
  }
  q.nq = data->size();
  ASSIGN_OR_RETURN(q.limit, SizeParam(body, "limit", 100, kMaxTopK));
  ASSIGN_OR_RETURN(q.offset, SizeParam(body, "offset", 0, kMaxTopK));
  if (q.limit == 0) return MilvusError(code::kInvalidParameter, "limit must be > 0");
  if (q.limit + q.offset > kMaxTopK) return MilvusError(code::kInvalidParameter, "offset + limit must be <= 16384");
  q.filter = OptionalString(body, "filter");
  ASSIGN_OR_RETURN(q.partitions, StringList(body, "partitionNames"));
  ASSIGN_OR_RETURN(q.output_fields, StringList(body, "outputFields"));
  if (body.contains("searchParams")) {
    const Json& sp = body["searchParams"];
    q.params = SearchParams(sp);
    if (sp.is_object() && sp.contains("metricType")) q.metric = sp["metricType"].get<std::string>();
  }
  if (q.metric.empty()) q.metric = OptionalString(body, "metricType");
  q.int64_as_number = ctx.int64_as_number;
  std::vector<size_t> topks;
  ASSIGN_OR_RETURN(Json rows, c.Search(q, &topks));
  (*extra)["topks"] = topks;
  (*extra)["cost"] = 0;
  return rows;
}

Result<Json> QueryOrGet(Collection& c, const Json& body, const CallContext& ctx, bool get) {
  QueryRequest q;
  if (get) {
    auto id = body.find("id");
    if (id == body.end() || id->is_null()) return MilvusError(code::kMissingParameter, "missing required parameter: id");
    if (id->is_array()) q.ids = id->get<std::vector<Json>>();
    else q.ids.push_back(*id);
    if (q.ids.empty()) return Json::array();
  } else {
    q.filter = OptionalString(body, "filter");
    ASSIGN_OR_RETURN(q.limit, SizeParam(body, "limit", 0, kMaxTopK));
    ASSIGN_OR_RETURN(q.offset, SizeParam(body, "offset", 0, kMaxTopK));
  }
  ASSIGN_OR_RETURN(q.partitions, StringList(body, "partitionNames"));
  ASSIGN_OR_RETURN(q.output_fields, StringList(body, "outputFields"));
  q.int64_as_number = ctx.int64_as_number;
  return c.Query(q);
}

}  // namespace

Result<Json> EntitiesCall(Service::Impl& svc, const std::string& verb, const Json& body,
                          const CallContext& ctx, Json* extra) {
  ASSIGN_OR_RETURN(std::shared_ptr<Collection> c, svc.Get(body));
  if (verb == "insert" || verb == "upsert") return Insert(*c, body, ctx, verb == "upsert");
  if (verb == "search") return Search(*c, body, ctx, extra);
  if (verb == "query") return QueryOrGet(*c, body, ctx, false);
  if (verb == "get") return QueryOrGet(*c, body, ctx, true);
  if (verb == "delete") {
    std::string filter = OptionalString(body, "filter");
    if (filter.empty() && body.contains("id")) {  // v1-style delete by ids
      const Json& id = body["id"];
      std::string list;
      for (const Json& v : id.is_array() ? id : Json::array({id})) {
        list += (list.empty() ? "" : ",") + v.dump();
      }
      filter = c->schema().pk_field().name + " in [" + list + "]";
    }
    ASSIGN_OR_RETURN(size_t n, c->Delete(filter, OptionalString(body, "partitionName")));
    (void)n;
    return Json::object();
  }
  return MilvusError(code::kInvalidParameter, "unknown API entities/" + verb);
}

}  // namespace skyway::vectordb
