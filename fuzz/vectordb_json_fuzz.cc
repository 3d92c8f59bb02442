// vectordb request bodies from arbitrary bytes, decoded as the server does: ParseBody (vectors
// under "data" set aside as float32), then SchemaFromCreateRequest on the body and ParseRows of
// its "data" against a fixed schema with every field type (dynamic on). Rows that parse must
// survive a WAL record round trip unchanged. The raw bytes are also decoded as a WAL record of
// that schema (records come back from the store at reopen).
#include <cstdint>
#include <string>

#include "vectordb/json_body.h"
#include "vectordb/schema.h"
#include "vectordb/segment.h"

namespace {

using skyway::vectordb::Batch;
using skyway::vectordb::FloatLists;
using skyway::vectordb::Json;
using skyway::vectordb::Schema;
using skyway::vectordb::WalRecord;
namespace vdb = skyway::vectordb;

const Schema& EveryType() {
  static const Schema schema = [] {
    auto s = vdb::SchemaFromCreateRequest(Json::parse(R"({"schema": {"enableDynamicField": true,
        "fields": [{"fieldName": "id", "dataType": "Int64", "isPrimary": true},
          {"fieldName": "b", "dataType": "Bool"}, {"fieldName": "i8", "dataType": "Int8"},
          {"fieldName": "i16", "dataType": "Int16"}, {"fieldName": "i32", "dataType": "Int32"},
          {"fieldName": "i64", "dataType": "Int64"}, {"fieldName": "f", "dataType": "Float"},
          {"fieldName": "d", "dataType": "Double"},
          {"fieldName": "s", "dataType": "VarChar", "elementTypeParams": {"max_length": 64}},
          {"fieldName": "j", "dataType": "JSON"},
          {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}}]}})"));
    if (!s.ok()) __builtin_trap();
    return *s;
  }();
  return schema;
}

bool SameColumns(const Batch& a, const Batch& b) {
  if (a.columns.size() != b.columns.size()) return false;
  for (size_t i = 0; i < a.columns.size(); i++) {
    const auto &x = a.columns[i], &y = b.columns[i];
    if (x.ints != y.ints || x.texts != y.texts || x.docs != y.docs) return false;
    if (x.reals.size() != y.reals.size()) return false;
    for (size_t r = 0; r < x.reals.size(); r++) {
      if (x.reals[r] != y.reals[r] && !(x.reals[r] != x.reals[r] && y.reals[r] != y.reals[r])) {
        return false;
      }
    }
  }
  return true;
}

void CheckRows(const Schema& schema, Json& body, const FloatLists& floats) {
  int64_t next_auto_id = 0;
  auto batch = vdb::ParseRows(schema, body["data"], &next_auto_id, &floats);
  if (!batch.ok()) return;
  const Batch& b = *batch;
  if (b.vectors.size() != b.rows * schema.dim() || b.meta.size() != b.rows) __builtin_trap();
  WalRecord rec;
  rec.partition = "p";
  rec.batch = b;
  auto back = vdb::DecodeWal(schema, vdb::EncodeWal(schema, rec));
  if (!back.ok() || back->batch.rows != b.rows || back->batch.vectors != b.vectors ||
      back->batch.meta != b.meta || !SameColumns(back->batch, b)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Schema& schema = EveryType();
  std::string text(reinterpret_cast<const char*>(data), size);
  // Not under try: ReplayWal does not catch, so an exception here is a crash at reopen.
  (void)vdb::DecodeWal(schema, text);

  FloatLists floats;
  auto body = vdb::ParseBody(text, &floats);
  if (!body.ok()) {
    int code = vdb::MilvusCode(body.status());
    if (code != vdb::code::kBadRequestFormat && code != vdb::code::kInvalidParameter)
      __builtin_trap();
    return 0;
  }
  // The server answers an nlohmann exception from a handler with 1100; so the harness catches
  // exactly that type (anything else escapes and is reported).
  try {
    auto created = vdb::SchemaFromCreateRequest(*body);
    if (created.ok()) {
      auto again = vdb::SchemaFromJson(vdb::SchemaToJson(*created));
      if (!again.ok() || vdb::SchemaToJson(*again) != vdb::SchemaToJson(*created)) __builtin_trap();
      (void)vdb::DescribeFields(*created);
    }
  } catch (const Json::exception&) {
  }
  if (body->is_object() && body->contains("data")) {
    try {
      CheckRows(schema, *body, floats);
    } catch (const Json::exception&) {
    }
  }
  return 0;
}
