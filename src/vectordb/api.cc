// The Milvus REST v2 calls: request bodies in, `data` out (service.cc wraps the envelope).
#include <algorithm>
#include <cmath>

#include "vectordb/service_impl.h"

namespace skyway::vectordb {

Result<std::string> RequiredString(const Json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return MilvusError(code::kMissingParameter, std::string("missing required parameter: ") + key);
  }
  return it->get<std::string>();
}

std::string OptionalString(const Json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

bool ValidCollectionName(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  if (!(isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

namespace {

const char* LoadStateName(LoadState s) {
  switch (s) {
    case LoadState::kLoaded: return "LoadStateLoaded";
    case LoadState::kLoading: return "LoadStateLoading";
    default: return "LoadStateNotLoad";
  }
}

// Index params values as strings ("16", 16 and 16.0 all become "16").
vector::Params ParamStrings(const Json& params) {
  vector::Params out;
  if (!params.is_object()) return out;
  for (const auto& [k, v] : params.items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
    else if (v.is_number_integer()) out[k] = std::to_string(v.get<int64_t>());
    else if (v.is_number_float() && v.get<double>() == std::floor(v.get<double>()))
      out[k] = std::to_string(static_cast<int64_t>(v.get<double>()));
    else if (v.is_number_float()) out[k] = std::to_string(v.get<double>());
  }
  return out;
}

// One entry of indexParams: {fieldName, indexName, metricType, params:{index_type, ...}} or
// with a top-level indexType (which wins, as in Milvus).
Result<IndexInfo> IndexFromRequest(const Schema& schema, const Json& p) {
  IndexInfo info;
  ASSIGN_OR_RETURN(info.field, RequiredString(p, "fieldName"));
  int idx = schema.Find(info.field);
  if (idx < 0) return MilvusError(code::kInvalidParameter, "field " + info.field + " not exist");
  if (idx != schema.vector) {
    return MilvusError(code::kInvalidParameter,
                       "only the vector field can be indexed here; " + info.field + " is scalar");
  }
  info.name = OptionalString(p, "indexName");
  if (info.name.empty()) info.name = info.field;
  std::string metric = OptionalString(p, "metricType");
  Json params = p.contains("params") ? p["params"] : Json::object();
  if (metric.empty() && params.is_object() && params.contains("metric_type")) {
    metric = params["metric_type"].get<std::string>();
  }
  auto m = vector::ParseMetric(metric.empty() ? "COSINE" : metric);
  if (!m.ok()) return MilvusError(code::kInvalidParameter, "invalid metric type: " + metric);
  info.spec.metric = *m;
  info.spec.params = ParamStrings(params);
  std::string type = OptionalString(p, "indexType");
  if (type.empty() && info.spec.params.count("index_type")) type = info.spec.params["index_type"];
  info.spec.params.erase("index_type");
  info.spec.params.erase("metric_type");
  if (type.empty() || type == "AUTOINDEX") {
    type = "HNSW";
    info.spec.params.emplace("M", "16");
    info.spec.params.emplace("efConstruction", "200");
  }
  info.spec.type = type;
  Status st = vector::ValidateSpec(info.spec, schema.dim());
  if (!st.ok()) return MilvusError(code::kInvalidParameter, st.message());
  return info;
}

Json DescribeIndex(Collection& c, const IndexInfo& info) {
  size_t total, indexed, pending;
  std::string fail;
  c.IndexProgress(&total, &indexed, &pending, &fail);
  std::string state = !fail.empty() ? "Failed" : pending == 0 ? "Finished" : "InProgress";
  Json params = Json::array();
  return Json{{"indexName", info.name},     {"fieldName", info.field},
              {"indexType", info.spec.type}, {"metricType", vector::MetricName(info.spec.metric)},
              {"indexState", state},         {"totalRows", total},
              {"indexedRows", indexed},      {"pendingRows", pending},
              {"failReason", fail},          {"params", info.spec.params}};
}

Result<Json> Describe(Collection& c) {
  Json indexes = Json::array();
  if (auto info = c.index()) {
    indexes.push_back({{"fieldName", info->field}, {"indexName", info->name},
                       {"metricType", vector::MetricName(info->spec.metric)}});
  }
  const Schema& s = c.schema();
  return Json{{"collectionName", c.name()}, {"collectionID", c.created_ms()},
              {"description", s.description}, {"autoId", s.auto_id},
              {"enableDynamicField", s.dynamic}, {"fields", DescribeFields(s)},
              {"indexes", indexes}, {"load", LoadStateName(c.load_state())},
              {"shardsNum", 1}, {"partitionsNum", c.Partitions().size()},
              {"consistencyLevel", "Bounded"}, {"properties", Json::array()},
              {"createTime", c.created_ms()}, {"functions", Json::array()},
              {"aliases", Json::array()}};
}

Result<Json> CreateCollection(Service::Impl& svc, const Json& body) {
  ASSIGN_OR_RETURN(std::string name, RequiredString(body, "collectionName"));
  if (!ValidCollectionName(name)) {
    return MilvusError(code::kInvalidParameter,
                       "invalid collection name " + name + ": letters, digits and _ only");
  }
  ASSIGN_OR_RETURN(Schema schema, SchemaFromCreateRequest(body));
  bool quick = !(body.contains("schema") && body["schema"].is_object() &&
                 body["schema"].contains("fields"));
  std::vector<IndexInfo> indexes;
  if (body.contains("indexParams") && body["indexParams"].is_array()) {
    for (const Json& p : body["indexParams"]) {
      ASSIGN_OR_RETURN(IndexInfo info, IndexFromRequest(schema, p));
      indexes.push_back(info);
    }
  } else if (quick) {  // Milvus quick setup: AUTOINDEX on the vector field, then load
    Json p = {{"fieldName", schema.vector_field().name},
              {"metricType", OptionalString(body, "metricType").empty()
                                 ? "COSINE" : OptionalString(body, "metricType")}};
    ASSIGN_OR_RETURN(IndexInfo info, IndexFromRequest(schema, p));
    indexes.push_back(info);
  }
  if (indexes.size() > 1) return MilvusError(code::kInvalidParameter, "one vector index per collection");
  std::shared_ptr<Collection> c;
  RETURN_IF_ERROR(svc.Create(name, std::move(schema), &c));
  if (!c) return Json::object();  // it existed already, the same
  for (auto& info : indexes) {
    RETURN_IF_ERROR(c->CreateIndex(info));
    RETURN_IF_ERROR(c->Load());
  }
  return Json::object();
}

}  // namespace

Result<Json> CollectionsCall(Service::Impl& svc, const std::string& verb, const Json& body,
                             const CallContext&) {
  if (verb == "list") return Json(svc.Names());
  if (verb == "create") return CreateCollection(svc, body);
  if (verb == "has") {
    ASSIGN_OR_RETURN(std::string name, RequiredString(body, "collectionName"));
    return Json{{"has", svc.Find(name).ok()}};
  }
  if (verb == "drop") {
    ASSIGN_OR_RETURN(std::string name, RequiredString(body, "collectionName"));
    RETURN_IF_ERROR(svc.Drop(name));
    return Json::object();
  }
  if (verb == "rename") {
    ASSIGN_OR_RETURN(std::string from, RequiredString(body, "collectionName"));
    ASSIGN_OR_RETURN(std::string to, RequiredString(body, "newCollectionName"));
    if (!ValidCollectionName(to)) return MilvusError(code::kInvalidParameter, "invalid collection name " + to);
    RETURN_IF_ERROR(svc.Rename(from, to));
    return Json::object();
  }
  ASSIGN_OR_RETURN(std::shared_ptr<Collection> c, svc.Get(body));
  if (verb == "describe") return Describe(*c);
  if (verb == "get_stats") return Json{{"rowCount", c->RowCount()}};
  if (verb == "load") {
    RETURN_IF_ERROR(c->Load());
    return Json::object();
  }
  if (verb == "release") {
    RETURN_IF_ERROR(c->Release());
    return Json::object();
  }
  if (verb == "get_load_state") {
    LoadState s = c->load_state();
    return Json{{"loadState", LoadStateName(s)},
                {"loadProgress", s == LoadState::kLoaded ? 100 : 0}};
  }
  if (verb == "flush") {
    RETURN_IF_ERROR(c->Flush());
    return Json::object();
  }
  return MilvusError(code::kInvalidParameter, "unknown API collections/" + verb);
}

Result<Json> IndexesCall(Service::Impl& svc, const std::string& verb, const Json& body) {
  ASSIGN_OR_RETURN(std::shared_ptr<Collection> c, svc.Get(body));
  if (verb == "create") {
    if (!body.contains("indexParams") || !body["indexParams"].is_array() || body["indexParams"].empty()) {
      return MilvusError(code::kMissingParameter, "missing required parameter: indexParams");
    }
    for (const Json& p : body["indexParams"]) {
      ASSIGN_OR_RETURN(IndexInfo info, IndexFromRequest(c->schema(), p));
      RETURN_IF_ERROR(c->CreateIndex(info));
    }
    return Json::object();
  }
  std::optional<IndexInfo> info = c->index();
  if (verb == "list") {
    Json names = Json::array();
    if (info) names.push_back(info->name);
    return names;
  }
  ASSIGN_OR_RETURN(std::string name, RequiredString(body, "indexName"));
  if (verb == "describe") {
    if (!info || info->name != name) {
      return MilvusError(code::kIndexNotFound, "index not found[indexName=" + name + "]");
    }
    return Json::array({DescribeIndex(*c, *info)});
  }
  if (verb == "drop") {
    RETURN_IF_ERROR(c->DropIndex(name));
    return Json::object();
  }
  return MilvusError(code::kInvalidParameter, "unknown API indexes/" + verb);
}

Result<Json> PartitionsCall(Service::Impl& svc, const std::string& verb, const Json& body) {
  ASSIGN_OR_RETURN(std::shared_ptr<Collection> c, svc.Get(body));
  if (verb == "list") return Json(c->Partitions());
  if (verb == "load" || verb == "release") {  // partitions load with their collection
    RETURN_IF_ERROR(verb == "load" ? c->Load() : c->Release());
    return Json::object();
  }
  ASSIGN_OR_RETURN(std::string name, RequiredString(body, "partitionName"));
  if (verb == "has") return Json{{"has", c->HasPartition(name)}};
  if (verb == "get_stats") {
    if (!c->HasPartition(name)) {
      return MilvusError(code::kPartitionNotFound, "partition not found[partition=" + name + "]");
    }
    return Json{{"rowCount", c->RowCount(name)}};
  }
  if (verb == "create") {
    RETURN_IF_ERROR(c->CreatePartition(name));
    return Json::object();
  }
  if (verb == "drop") {
    RETURN_IF_ERROR(c->DropPartition(name));
    return Json::object();
  }
  return MilvusError(code::kInvalidParameter, "unknown API partitions/" + verb);
}

}  // namespace skyway::vectordb
