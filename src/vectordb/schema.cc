// Schemas and rows: the JSON the Milvus REST API carries, checked field by field.
#include "vectordb/schema.h"

#include <cmath>
#include <limits>

namespace skyway::vectordb {

Status MilvusError(int milvus_code, std::string message) {
  return Status(Code::kInvalidArgument, std::to_string(milvus_code), std::move(message));
}

int MilvusCode(const Status& status) {
  if (auto n = ParseUint64(status.reason()); n && *n > 0 && *n < 100000) return static_cast<int>(*n);
  switch (status.code()) {
    case Code::kInvalidArgument: return code::kInvalidParameter;
    case Code::kUnauthenticated: return code::kUnauthenticated;
    default: return code::kInternal;
  }
}

int Schema::Find(const std::string& name) const {
  for (size_t i = 0; i < fields.size(); i++) {
    if (fields[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::vector<FilterField> Schema::FilterFields() const {
  std::vector<FilterField> out;
  for (size_t i = 0; i < fields.size(); i++) {
    if (fields[i].type == DataType::kFloatVector) continue;
    out.push_back({fields[i].name, fields[i].type, static_cast<int>(i)});
  }
  // Dynamic keys: the filter reads an unknown name as a key of "$meta".
  if (dynamic) out.push_back({"$meta", DataType::kJson, static_cast<int>(fields.size())});
  return out;
}

namespace {

// A number or a numeric string ("784"), as Milvus accepts for dim and maxLength.
Result<int64_t> IntParam(const Json& v, const std::string& what) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    if (auto n = ParseUint64(v.get<std::string>())) return static_cast<int64_t>(*n);
  }
  return MilvusError(code::kInvalidParameter, what + " must be an integer");
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  if (!(isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  for (char c : name) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

Status CheckField(Field& f, const Json& params) {
  if (!ValidName(f.name)) {
    return MilvusError(code::kInvalidParameter,
                       "invalid field name '" + f.name + "': letters, digits and _ only");
  }
  if (f.type == DataType::kFloatVector) {
    if (!params.is_object() || !params.contains("dim")) {
      return MilvusError(code::kMissingParameter, "field " + f.name + ": dim is required");
    }
    ASSIGN_OR_RETURN(int64_t dim, IntParam(params["dim"], "dim"));
    if (dim < 1 || dim > static_cast<int64_t>(kMaxDim)) {
      return MilvusError(code::kInvalidParameter,
                         "invalid dimension: " + std::to_string(dim) + " (1.." +
                             std::to_string(kMaxDim) + ")");
    }
    f.dim = static_cast<size_t>(dim);
  }
  if (f.type == DataType::kVarChar && params.is_object()) {
    for (const char* key : {"max_length", "maxLength"}) {
      if (!params.contains(key)) continue;
      ASSIGN_OR_RETURN(int64_t n, IntParam(params[key], "max_length"));
      if (n < 1 || n > static_cast<int64_t>(kMaxVarCharLength)) {
        return MilvusError(code::kInvalidParameter, "invalid max_length for " + f.name);
      }
      f.max_length = static_cast<size_t>(n);
    }
  }
  return Status::Ok();
}

Status Finish(Schema& s) {
  if (s.fields.empty()) return MilvusError(code::kMissingParameter, "schema has no fields");
  for (size_t i = 0; i < s.fields.size(); i++) {
    Field& f = s.fields[i];
    f.id = 100 + static_cast<int64_t>(i);
    for (size_t j = 0; j < i; j++) {
      if (s.fields[j].name == f.name) {
        return MilvusError(code::kInvalidParameter, "duplicated field name " + f.name);
      }
    }
    if (f.primary) {
      if (s.pk >= 0) return MilvusError(code::kInvalidParameter, "more than one primary key");
      if (f.type != DataType::kInt64 && f.type != DataType::kVarChar) {
        return MilvusError(code::kInvalidParameter,
                           "primary key must be Int64 or VarChar: " + f.name);
      }
      s.pk = static_cast<int>(i);
    }
    if (f.type == DataType::kFloatVector) {
      if (s.vector >= 0) {
        return MilvusError(code::kInvalidParameter, "only one FloatVector field is supported");
      }
      s.vector = static_cast<int>(i);
    }
  }
  if (s.pk < 0) return MilvusError(code::kMissingParameter, "schema has no primary key field");
  if (s.vector < 0) return MilvusError(code::kMissingParameter, "schema has no FloatVector field");
  s.fields[s.pk].auto_id = s.auto_id;
  if (s.auto_id && s.fields[s.pk].type != DataType::kInt64) {
    return MilvusError(code::kInvalidParameter, "autoID needs an Int64 primary key");
  }
  return Status::Ok();
}

Result<Schema> FullSchema(const Json& js) {
  Schema s;
  s.auto_id = js.value("autoID", js.value("autoId", false));
  s.dynamic = js.value("enableDynamicField", false);
  s.description = js.value("description", "");
  const Json& fields = js.contains("fields") ? js["fields"] : Json();
  if (!fields.is_array()) return MilvusError(code::kMissingParameter, "schema.fields must be a list");
  for (const Json& jf : fields) {
    if (!jf.is_object() || !jf.contains("fieldName") || !jf["fieldName"].is_string() ||
        !jf.contains("dataType") || !jf["dataType"].is_string()) {
      return MilvusError(code::kMissingParameter, "each field needs fieldName and dataType");
    }
    Field f;
    f.name = jf["fieldName"].get<std::string>();
    std::string type = jf["dataType"].get<std::string>();
    auto dt = ParseDataType(type);
    if (!dt) {
      return MilvusError(code::kInvalidParameter,
                         "field " + f.name + ": unsupported data type " + type);
    }
    f.type = *dt;
    f.primary = jf.value("isPrimary", false);
    f.description = jf.value("description", "");
    RETURN_IF_ERROR(CheckField(f, jf.value("elementTypeParams", Json::object())));
    s.fields.push_back(std::move(f));
  }
  RETURN_IF_ERROR(Finish(s));
  return s;
}

Result<Schema> QuickSchema(const Json& body) {
  Schema s;
  Field pk, vec;
  pk.name = body.value("primaryFieldName", "id");
  pk.primary = true;
  std::string id_type = body.value("idType", "Int64");
  if (id_type != "Int64" && id_type != "VarChar") {
    return MilvusError(code::kInvalidParameter, "idType must be Int64 or VarChar");
  }
  pk.type = id_type == "Int64" ? DataType::kInt64 : DataType::kVarChar;
  vec.name = body.value("vectorFieldName", "vector");
  vec.type = DataType::kFloatVector;
  Json params = Json::object();
  params["dim"] = body["dimension"];
  if (body.contains("params") && body["params"].is_object() &&
      body["params"].contains("max_length")) {
    params["max_length"] = body["params"]["max_length"];
  }
  RETURN_IF_ERROR(CheckField(pk, params));
  RETURN_IF_ERROR(CheckField(vec, params));
  s.fields = {pk, vec};
  s.auto_id = body.value("autoID", body.value("autoId", false));
  s.dynamic = true;  // Milvus: the quick form enables the dynamic field
  RETURN_IF_ERROR(Finish(s));
  return s;
}

}  // namespace

Result<Schema> SchemaFromCreateRequest(const Json& body) {
  if (body.contains("schema") && body["schema"].is_object() &&
      body["schema"].contains("fields")) {
    return FullSchema(body["schema"]);
  }
  if (body.contains("dimension")) return QuickSchema(body);
  return MilvusError(code::kMissingParameter, "dimension or schema is required");
}

Json SchemaToJson(const Schema& s) {
  Json fields = Json::array();
  for (const Field& f : s.fields) {
    Json jf = {{"fieldName", f.name}, {"dataType", DataTypeName(f.type)},
               {"isPrimary", f.primary}, {"description", f.description}};
    Json params = Json::object();
    if (f.type == DataType::kFloatVector) params["dim"] = f.dim;
    if (f.type == DataType::kVarChar) params["max_length"] = f.max_length;
    jf["elementTypeParams"] = params;
    fields.push_back(jf);
  }
  return {{"autoID", s.auto_id}, {"enableDynamicField", s.dynamic},
          {"description", s.description}, {"fields", fields}};
}

Result<Schema> SchemaFromJson(const Json& json) {
  if (!json.is_object()) return Status::Invalid("schema is not an object");
  return FullSchema(json);
}

Json DescribeFields(const Schema& s) {
  Json out = Json::array();
  for (const Field& f : s.fields) {
    Json jf = {{"name", f.name},         {"type", DataTypeName(f.type)},
               {"primaryKey", f.primary}, {"autoId", f.primary && s.auto_id},
               {"partitionKey", false},  {"clusteringKey", false},
               {"nullable", false},      {"description", f.description},
               {"id", f.id}};
    if (f.type == DataType::kFloatVector) {
      jf["params"] = Json::array({{{"key", "dim"}, {"value", std::to_string(f.dim)}}});
    } else if (f.type == DataType::kVarChar) {
      jf["params"] = Json::array({{{"key", "max_length"}, {"value", std::to_string(f.max_length)}}});
    }
    out.push_back(jf);
  }
  return out;
}

}  // namespace skyway::vectordb
