// Collection schemas and rows as the REST API carries them: parsing a create request's schema
// (quick form or full form), rows of an insert into a columnar Batch, and the describe shape.
// Private to vectordb/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/common.h"
#include "vector/vector.h"
#include "vectordb/filter.h"

namespace skyway::vectordb {

using Json = nlohmann::json;

// Milvus error codes (carried in Status::reason as decimal text).
namespace code {
constexpr int kCollectionNotFound = 100;
constexpr int kCollectionNotLoaded = 101;
constexpr int kPartitionNotFound = 200;
constexpr int kIndexNotFound = 700;
constexpr int kInvalidParameter = 1100;
constexpr int kUnauthenticated = 1800;
constexpr int kBadRequestFormat = 1801;
constexpr int kMissingParameter = 1802;
constexpr int kInternal = 65535;
}  // namespace code

// A Status whose reason is the Milvus code.
Status MilvusError(int milvus_code, std::string message);
// The Milvus code of a failed status: its reason when numeric, else by the status code.
int MilvusCode(const Status& status);

constexpr size_t kMaxDim = 32768;
constexpr size_t kMaxVarCharLength = 65535;

struct Field {
  std::string name;
  DataType type = DataType::kInt64;
  bool primary = false;
  bool auto_id = false;
  size_t dim = 0;             // FloatVector
  size_t max_length = 65535;  // VarChar
  std::string description;
  int64_t id = 100;  // Milvus field ids start at 100
};

struct Schema {
  std::vector<Field> fields;
  int pk = -1;      // index into fields
  int vector = -1;  // index into fields
  bool auto_id = false;
  bool dynamic = false;  // enableDynamicField: extra keys land in the "$meta" JSON field
  std::string description;

  const Field& pk_field() const { return fields[pk]; }
  const Field& vector_field() const { return fields[vector]; }
  size_t dim() const { return fields[vector].dim; }
  // Index of the field with that name, or -1.
  int Find(const std::string& name) const;
  // The fields a filter may name (scalars and the primary key; "$meta", numbered
  // fields.size(), in a dynamic collection).
  std::vector<FilterField> FilterFields() const;
};

// From a collections/create body: "schema" (full form) or "dimension" (+ idType, primaryFieldName,
// vectorFieldName, autoId, maxLength). Errors: MilvusError(kInvalidParameter / kMissingParameter).
Result<Schema> SchemaFromCreateRequest(const Json& body);
// Persistent form (manifest) and back.
Json SchemaToJson(const Schema& schema);
Result<Schema> SchemaFromJson(const Json& json);
// The "fields" array of collections/describe.
Json DescribeFields(const Schema& schema);

// Columns of rows being inserted, in schema field order (the vector field's column is empty;
// vectors are in `vectors`). pk values live in their column like any other field.
struct Column {
  std::vector<int64_t> ints;        // Bool, Int8..Int64
  std::vector<double> reals;        // Float, Double
  std::vector<std::string> texts;   // VarChar
  std::vector<Json> docs;           // JSON
};

struct Batch {
  size_t rows = 0;
  std::vector<float> vectors;    // rows x dim
  std::vector<Column> columns;   // one per schema field
  std::vector<Json> meta;        // per row, keys outside the schema (dynamic collections)
};

// Rows of an insert/upsert ("data": object or array of objects). Auto ids are assigned from
// *next_auto_id (advanced) when the schema has autoID; a row then must not carry the pk.
// Errors name the row and the field: missing field, wrong type, wrong dimension, unknown field
// (when the collection is not dynamic), out-of-range integer, over-long VarChar.
struct FloatLists;
// floats: where json_body.h's ParseBody set vectors aside ({"$f32": k} placeholders); may be null.
Result<Batch> ParseRows(const Schema& schema, const Json& data, int64_t* next_auto_id,
                        const FloatLists* floats = nullptr);

// A stored float32 as JSON: whole numbers without a decimal point, others as the exact value
// (0.3037109375 comes back as sent; 0.1 comes back as 0.10000000149011612, the float32 that
// was stored). Embeddings arrive as exact float32 values, so they round-trip unchanged.
Json FloatJson(float v);
// A computed float32 (a distance) in its shortest form: 0.01, not 0.010000000707805157.
Json ShortFloatJson(float v);

// One value of a column as JSON for a response; int64 values as strings unless int64_as_number.
Json ColumnValue(const Field& field, const Column& column, size_t row, bool int64_as_number);

}  // namespace skyway::vectordb
