// Insert rows: JSON objects checked against the schema into columns.
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "vectordb/json_body.h"
#include "vectordb/schema.h"

namespace skyway::vectordb {
namespace {

Status RowError(size_t row, const std::string& field, const std::string& what) {
  return MilvusError(code::kInvalidParameter,
                     "row " + std::to_string(row) + ", field " + field + ": " + what);
}

Status ParseVector(const Field& f, const Json& v, size_t row, std::vector<float>& out,
                   const FloatLists* floats) {
  if (const std::vector<float>* list = floats ? floats->Lookup(v) : nullptr) {
    if (list->size() != f.dim) {
      return RowError(row, f.name,
                      "the dimension of the vector is " + std::to_string(list->size()) +
                          ", expected " + std::to_string(f.dim));
    }
    out.insert(out.end(), list->begin(), list->end());
    return Status::Ok();
  }
  if (!v.is_array()) return RowError(row, f.name, "expected a list of numbers");
  if (v.size() != f.dim) {
    return RowError(row, f.name,
                    "the dimension of the vector is " + std::to_string(v.size()) +
                        ", expected " + std::to_string(f.dim));
  }
  for (const Json& x : v) {
    if (!x.is_number()) return RowError(row, f.name, "expected a list of numbers");
    double d = x.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max()) {
      return RowError(row, f.name, "value out of float32 range");
    }
    out.push_back(static_cast<float>(d));
  }
  return Status::Ok();
}

Status ParseInt(const Field& f, const Json& v, size_t row, Column& col) {
  if (f.type == DataType::kBool) {
    if (!v.is_boolean()) return RowError(row, f.name, "expected a boolean");
    col.ints.push_back(v.get<bool>() ? 1 : 0);
    return Status::Ok();
  }
  if (!v.is_number_integer()) return RowError(row, f.name, "expected an integer");
  int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  if (f.type == DataType::kInt8) lo = -128, hi = 127;
  if (f.type == DataType::kInt16) lo = -32768, hi = 32767;
  if (f.type == DataType::kInt32) lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi)) {
    return RowError(row, f.name, "value out of range for " + std::string(DataTypeName(f.type)));
  }
  int64_t n = v.get<int64_t>();
  if (n < lo || n > hi) {
    return RowError(row, f.name, "value out of range for " + std::string(DataTypeName(f.type)));
  }
  col.ints.push_back(n);
  return Status::Ok();
}

Status ParseValue(const Field& f, const Json& v, size_t row, Column& col,
                  const FloatLists* floats) {
  switch (f.type) {
    case DataType::kBool: case DataType::kInt8: case DataType::kInt16:
    case DataType::kInt32: case DataType::kInt64:
      return ParseInt(f, v, row, col);
    case DataType::kFloat: case DataType::kDouble: {
      if (!v.is_number()) return RowError(row, f.name, "expected a number");
      double d = v.get<double>();
      if (f.type == DataType::kFloat) d = static_cast<float>(d);
      col.reals.push_back(d);
      return Status::Ok();
    }
    case DataType::kVarChar: {
      if (!v.is_string()) return RowError(row, f.name, "expected a string");
      const std::string& s = v.get_ref<const std::string&>();
      if (s.size() > f.max_length) {
        return RowError(row, f.name, "string longer than max_length " +
                                         std::to_string(f.max_length));
      }
      col.texts.push_back(s);
      return Status::Ok();
    }
    case DataType::kJson:
      col.docs.push_back(v);
      if (floats) floats->Expand(&col.docs.back());
      return Status::Ok();
    case DataType::kFloatVector:
      break;
  }
  return RowError(row, f.name, "unsupported type");
}

Status ParseRow(const Schema& schema, const Json& r, size_t row, int64_t* next_auto_id,
                Batch& b, const FloatLists* floats) {
  if (!r.is_object()) return RowError(row, "-", "a row must be a JSON object");
  for (const auto& [key, value] : r.items()) {
    int idx = schema.Find(key);
    if (idx >= 0) continue;
    if (!schema.dynamic) {
      return MilvusError(code::kInvalidParameter, "row " + std::to_string(row) + ": field " +
                                                      key + " is not in the schema");
    }
  }
  if (schema.dynamic) {
    Json meta = Json::object();
    for (const auto& [key, value] : r.items()) {
      if (schema.Find(key) < 0) {
        meta[key] = value;
        if (floats) floats->Expand(&meta[key]);
      }
    }
    b.meta.push_back(std::move(meta));
  }
  for (size_t i = 0; i < schema.fields.size(); i++) {
    const Field& f = schema.fields[i];
    auto it = r.find(f.name);
    if (f.primary && schema.auto_id) {
      if (it != r.end()) return RowError(row, f.name, "the primary key is auto-generated");
      b.columns[i].ints.push_back((*next_auto_id)++);
      continue;
    }
    if (it == r.end()) return RowError(row, f.name, "missing");
    if (f.type == DataType::kFloatVector) {
      RETURN_IF_ERROR(ParseVector(f, *it, row, b.vectors, floats));
    } else {
      RETURN_IF_ERROR(ParseValue(f, *it, row, b.columns[i], floats));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Batch> ParseRows(const Schema& schema, const Json& data, int64_t* next_auto_id,
                        const FloatLists* floats) {
  Batch b;
  b.columns.resize(schema.fields.size());
  if (data.is_object()) {
    RETURN_IF_ERROR(ParseRow(schema, data, 0, next_auto_id, b, floats));
    b.rows = 1;
    return b;
  }
  if (!data.is_array() || data.empty()) {
    return MilvusError(code::kInvalidParameter, "data must be a non-empty list of rows");
  }
  b.vectors.reserve(data.size() * schema.dim());
  for (size_t i = 0; i < data.size(); i++) {
    RETURN_IF_ERROR(ParseRow(schema, data[i], i, next_auto_id, b, floats));
  }
  b.rows = data.size();
  return b;
}

Json FloatJson(float v) {
  if (v == std::floor(v) && std::fabs(v) < 9.0e15f) return static_cast<int64_t>(v);
  return static_cast<double>(v);
}

Json ShortFloatJson(float v) {
  if (v == std::floor(v) && std::fabs(v) < 9.0e15f) return static_cast<int64_t>(v);
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::strtod(std::string(buf, r.ptr).c_str(), nullptr);
}

Json ColumnValue(const Field& f, const Column& col, size_t row, bool int64_as_number) {
  switch (f.type) {
    case DataType::kBool: return col.ints[row] != 0;
    case DataType::kInt64:
      if (!int64_as_number) return std::to_string(col.ints[row]);
      return col.ints[row];
    case DataType::kInt8: case DataType::kInt16: case DataType::kInt32: return col.ints[row];
    case DataType::kFloat: return FloatJson(static_cast<float>(col.reals[row]));
    case DataType::kDouble: return col.reals[row];
    case DataType::kVarChar: return col.texts[row];
    case DataType::kJson: return col.docs[row];
    case DataType::kFloatVector: break;
  }
  return nullptr;
}

}  // namespace skyway::vectordb
