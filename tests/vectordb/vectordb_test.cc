// vectordb codecs and request parsing: column and WAL byte codecs, create-request schemas, insert
// rows, and request bodies with their vectors set aside (json_body.h).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "vectordb/json_body.h"
#include "vectordb/schema.h"
#include "vectordb/segment.h"

namespace skyway::vectordb {
namespace {

constexpr int64_t kMin64 = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax64 = std::numeric_limits<int64_t>::max();

// A schema with a field of every type: id (pk), b, i8, i16, i32, i64, f, d, s (max 16), j, v (4).
Json AllTypesRequest(bool dynamic, bool auto_id = false) {
  auto field = [](const char* name, const char* type) {
    return Json{{"fieldName", name}, {"dataType", type}};
  };
  Json fields = Json::array();
  Json id = field("id", "Int64");
  id["isPrimary"] = true;
  fields.push_back(id);
  const std::vector<std::pair<const char*, const char*>> scalars = {
      {"b", "Bool"},    {"i8", "Int8"}, {"i16", "Int16"}, {"i32", "Int32"},
      {"i64", "Int64"}, {"f", "Float"}, {"d", "Double"}};
  for (auto [n, t] : scalars) {
    fields.push_back(field(n, t));
  }
  Json s = field("s", "VarChar");
  s["elementTypeParams"] = {{"max_length", 16}};
  fields.push_back(s);
  fields.push_back(field("j", "JSON"));
  Json v = field("v", "FloatVector");
  v["elementTypeParams"] = {{"dim", 4}};
  fields.push_back(v);
  return {{"collectionName", "c"},
          {"schema", {{"autoID", auto_id}, {"enableDynamicField", dynamic}, {"fields", fields}}}};
}

Schema AllTypes(bool dynamic, bool auto_id = false) {
  auto s = SchemaFromCreateRequest(AllTypesRequest(dynamic, auto_id));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

Json Row(int64_t id) {
  return {{"id", id},
          {"b", id % 2 == 0},
          {"i8", -128},
          {"i16", 32767},
          {"i32", -7},
          {"i64", kMax64},
          {"f", 0.1},
          {"d", -2.5},
          {"s", "row" + std::to_string(id)},
          {"j", {{"k", id}, {"arr", {1, "x", nullptr}}}},
          {"v", {id, 0.5, -1, 1e-3}}};
}

// The Milvus code of a failed result ("ok" when it did not fail).
template <typename T>
std::string CodeOf(const Result<T>& r) {
  return r.ok() ? "ok" : std::to_string(MilvusCode(r.status()));
}

// ---- columns -------------------------------------------------------------------------------

Column RoundTrip(DataType type, const Column& in, size_t rows) {
  std::string bytes = EncodeColumn(type, in);
  Column out;
  Status st = DecodeColumn(type, bytes, rows, &out);
  EXPECT_TRUE(st.ok()) << DataTypeName(type) << ": " << st.ToString();
  return out;
}

TEST(ColumnCodec, IntegersKeepTheirRangeEdges) {
  struct Case {
    DataType type;
    std::vector<int64_t> values;
    size_t width;
  };
  const Case cases[] = {
      {DataType::kBool, {0, 1, 1, 0}, 1},
      {DataType::kInt8, {-128, 127, 0, -1, 1}, 1},
      {DataType::kInt16, {-32768, 32767, 0, -1}, 2},
      {DataType::kInt32,
       {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), 0},
       4},
      {DataType::kInt64, {kMin64, kMax64, 0, -1, 9007199254740993}, 8},
  };
  for (const Case& c : cases) {
    Column in;
    in.ints = c.values;
    EXPECT_EQ(EncodeColumn(c.type, in).size(), c.values.size() * c.width) << DataTypeName(c.type);
    EXPECT_EQ(RoundTrip(c.type, in, c.values.size()).ints, c.values) << DataTypeName(c.type);
  }
}

TEST(ColumnCodec, FloatAndDoubleAreExact) {
  Column floats;
  for (float f :
       {0.1f, -0.0f, 1.0f / 3, std::numeric_limits<float>::max(),
        std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::infinity()}) {
    floats.reals.push_back(f);
  }
  Column got = RoundTrip(DataType::kFloat, floats, floats.reals.size());
  ASSERT_EQ(got.reals.size(), floats.reals.size());
  for (size_t i = 0; i < got.reals.size(); i++) {
    EXPECT_EQ(std::memcmp(&got.reals[i], &floats.reals[i], sizeof(double)), 0) << i;
  }
  Column doubles;
  doubles.reals = {0.1, 1e308, -4.9e-324, -0.0, 1.0 / 3, std::numeric_limits<double>::quiet_NaN()};
  got = RoundTrip(DataType::kDouble, doubles, doubles.reals.size());
  ASSERT_EQ(got.reals.size(), doubles.reals.size());
  for (size_t i = 0; i < got.reals.size(); i++) {
    EXPECT_EQ(std::memcmp(&got.reals[i], &doubles.reals[i], sizeof(double)), 0) << i;
  }
}

TEST(ColumnCodec, VarCharKeepsEmptyAndBinaryStrings) {
  Column in;
  in.texts = {"", "abc", std::string("\0\xff\x01\n", 4), std::string(5000, 'z'), "caf\xc3\xa9", ""};
  EXPECT_EQ(RoundTrip(DataType::kVarChar, in, in.texts.size()).texts, in.texts);
  Column none;
  EXPECT_TRUE(RoundTrip(DataType::kVarChar, none, 0).texts.empty());
}

TEST(ColumnCodec, JsonDocsRoundTrip) {
  Column in;
  in.docs = {Json::object(),
             Json::array(),
             Json(nullptr),
             Json::parse(R"({"a": [1, 2.5, "x", {"b": null}], "big": 9007199254740993,
                 "neg": -9223372036854775808, "u": 18446744073709551615, "s": "caf\u00e9\u0000"})"),
             Json(0.1),
             Json("plain")};
  Column out = RoundTrip(DataType::kJson, in, in.docs.size());
  EXPECT_EQ(out.docs, in.docs);
  EXPECT_TRUE(out.docs[3]["big"].is_number_unsigned());
  EXPECT_EQ(out.docs[3]["big"].get<uint64_t>(), 9007199254740993u);
}

TEST(ColumnCodec, TruncatedOrOversizedInputIsRejected) {
  Column ints, reals, texts, docs;
  ints.ints = {1, -2, 3};
  reals.reals = {0.5, 1.5, -2};
  texts.texts = {"a", "", "xyz"};
  docs.docs = {Json(1), Json::object(), Json::array({1})};
  for (DataType t :
       {DataType::kBool, DataType::kInt8, DataType::kInt16, DataType::kInt32, DataType::kInt64,
        DataType::kFloat, DataType::kDouble, DataType::kVarChar, DataType::kJson}) {
    const Column& in = t == DataType::kVarChar                             ? texts
                       : t == DataType::kJson                              ? docs
                       : (t == DataType::kFloat || t == DataType::kDouble) ? reals
                                                                           : ints;
    std::string bytes = EncodeColumn(t, in);
    Column out;
    for (size_t n = 0; n < bytes.size(); n++) {
      EXPECT_FALSE(DecodeColumn(t, std::string_view(bytes).substr(0, n), 3, &out).ok())
          << DataTypeName(t) << " cut at " << n;
    }
    EXPECT_FALSE(DecodeColumn(t, bytes + "x", 3, &out).ok()) << DataTypeName(t);
    EXPECT_FALSE(DecodeColumn(t, bytes, 4, &out).ok()) << DataTypeName(t);
    EXPECT_FALSE(DecodeColumn(t, bytes, 2, &out).ok()) << DataTypeName(t);
    EXPECT_TRUE(DecodeColumn(t, bytes, 3, &out).ok()) << DataTypeName(t);
  }
  Column out;
  std::string huge_length(
      "\xff\xff\xff\xff"
      "abc",
      7);  // a u32 length past the end
  EXPECT_FALSE(DecodeColumn(DataType::kVarChar, huge_length, 1, &out).ok());
  std::string bad_json("\x03\0\0\0{x}", 7);
  EXPECT_FALSE(DecodeColumn(DataType::kJson, bad_json, 1, &out).ok());
}

// Regression (fixed): DecodeColumn checks `in.size() != rows * width`, which wraps: rows = 2^61 of Int64 gives
// 0, so an empty input passes the check and the loop reads 2^61 values past its end (SEGV).
// Reached from DecodeWal with a WAL header {"rows": 2305843009213693952}.
TEST(ColumnCodec, RowCountOverflowIsRejected) {
  Column out;
  EXPECT_FALSE(DecodeColumn(DataType::kInt64, "", size_t{1} << 61, &out).ok());
  EXPECT_FALSE(DecodeColumn(DataType::kInt32, "", size_t{1} << 62, &out).ok());
}

// Regression (fixed): GetStrings reserves `rows` strings before looking at the input: a row count larger than the
// bytes could hold throws std::length_error / std::bad_alloc (abort) instead of an error status.
TEST(ColumnCodec, HugeVarCharRowCountIsRejected) {
  Column out;
  EXPECT_FALSE(DecodeColumn(DataType::kVarChar, "", size_t{1} << 62, &out).ok());
  EXPECT_FALSE(DecodeColumn(DataType::kJson, "", size_t{1} << 40, &out).ok());
}

// ---- write-ahead log -----------------------------------------------------------------------

WalRecord InsertRecord(const Schema& schema) {
  Json rows = Json::array({Row(1), Row(2), Row(-3)});
  rows[0]["extra"] = {{"tags", {"a", "b"}}, {"n", 9007199254740993}};
  rows[2]["other"] = "x";
  int64_t next = 0;
  auto batch = ParseRows(schema, rows, &next);
  EXPECT_TRUE(batch.ok()) << batch.status().ToString();
  WalRecord r;
  r.partition = "p1";
  r.batch = std::move(batch).value();
  return r;
}

TEST(WalCodec, InsertRoundTripWithDynamicMeta) {
  Schema schema = AllTypes(/*dynamic=*/true);
  WalRecord in = InsertRecord(schema);
  ASSERT_EQ(in.batch.meta.size(), 3u);
  auto out = DecodeWal(schema, EncodeWal(schema, in));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->kind, WalRecord::kInsert);
  EXPECT_EQ(out->partition, "p1");
  EXPECT_EQ(out->batch.rows, 3u);
  EXPECT_EQ(out->batch.vectors, in.batch.vectors);
  EXPECT_EQ(out->batch.meta, in.batch.meta);
  EXPECT_EQ(out->batch.meta[0]["extra"]["n"].get<uint64_t>(), 9007199254740993u);
  EXPECT_EQ(out->batch.meta[1], Json::object());
  ASSERT_EQ(out->batch.columns.size(), schema.fields.size());
  for (size_t i = 0; i < schema.fields.size(); i++) {
    EXPECT_EQ(out->batch.columns[i].ints, in.batch.columns[i].ints) << schema.fields[i].name;
    EXPECT_EQ(out->batch.columns[i].reals, in.batch.columns[i].reals) << schema.fields[i].name;
    EXPECT_EQ(out->batch.columns[i].texts, in.batch.columns[i].texts) << schema.fields[i].name;
    EXPECT_EQ(out->batch.columns[i].docs, in.batch.columns[i].docs) << schema.fields[i].name;
  }
}

TEST(WalCodec, DeleteRoundTripIntAndVarCharKeys) {
  Schema ints = AllTypes(false);
  WalRecord del;
  del.kind = WalRecord::kDelete;
  del.partition = "_default";
  del.batch.columns.resize(ints.fields.size());
  del.batch.columns[ints.pk].ints = {kMin64, 0, kMax64};
  del.batch.rows = 3;
  auto out = DecodeWal(ints, EncodeWal(ints, del));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->kind, WalRecord::kDelete);
  EXPECT_EQ(out->batch.columns[ints.pk].ints, del.batch.columns[ints.pk].ints);

  auto texts = SchemaFromCreateRequest({{"dimension", 2}, {"idType", "VarChar"}});
  ASSERT_TRUE(texts.ok());
  del.batch.columns.assign(texts->fields.size(), Column());
  del.batch.columns[texts->pk].texts = {"", "k\0y", "\xff"};
  out = DecodeWal(*texts, EncodeWal(*texts, del));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->batch.columns[texts->pk].texts, del.batch.columns[texts->pk].texts);
}

TEST(WalCodec, TruncatedOrCorruptRecordsAreRejected) {
  Schema schema = AllTypes(true);
  WalRecord del;
  del.kind = WalRecord::kDelete;
  del.batch.columns.resize(schema.fields.size());
  del.batch.columns[schema.pk].ints = {4, 5};
  del.batch.rows = 2;
  for (const std::string& bytes :
       {EncodeWal(schema, InsertRecord(schema)), EncodeWal(schema, del)}) {
    ASSERT_TRUE(DecodeWal(schema, bytes).ok());
    for (size_t n = 0; n < bytes.size(); n++) {
      EXPECT_FALSE(DecodeWal(schema, std::string_view(bytes).substr(0, n)).ok()) << "cut at " << n;
    }
    for (size_t i = 0; i < bytes.size(); i++) {  // any single corrupt byte: an answer, no crash
      std::string bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ 0x5a);
      (void)DecodeWal(schema, bad);
    }
    std::string kind = bytes;
    kind[8] = 3;  // after the 8-byte magic
    EXPECT_FALSE(DecodeWal(schema, kind).ok());
    std::string magic = bytes;
    magic[0] = 'X';
    EXPECT_FALSE(DecodeWal(schema, magic).ok());
  }
  EXPECT_FALSE(DecodeWal(schema, "").ok());
  EXPECT_FALSE(DecodeWal(schema, std::string(100, '\0')).ok());
  // A record for another schema (its vector block has the wrong size for dim 4).
  auto other = SchemaFromCreateRequest({{"dimension", 3}});
  ASSERT_TRUE(other.ok());
  WalRecord rec;
  rec.batch.rows = 1;
  rec.batch.vectors = {1, 2, 3};
  rec.batch.columns.resize(other->fields.size());
  rec.batch.columns[other->pk].ints = {1};
  rec.batch.meta = {Json::object()};
  EXPECT_FALSE(DecodeWal(schema, EncodeWal(*other, rec)).ok());
}

// A WAL record with a hand-made header; the rest as EncodeWal writes it for a delete.
std::string WalWithHeader(const std::string& header, std::string_view pk_column) {
  std::string out("SKYWAL1\n\x02", 9);
  uint64_t n = header.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  out += header;
  n = pk_column.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  out += pk_column;
  return out;
}

// Regression (fixed): DecodeWal reads the header with Json::value(), which throws nlohmann type_error when
// "rows" or "partition" has another type; ReplayWal does not catch it, so one such record in the
// store terminates Collection::Open (and the server at startup).
TEST(WalCodec, HeaderOfWrongTypesIsRejected) {
  Schema schema = AllTypes(false);
  EXPECT_FALSE(DecodeWal(schema, WalWithHeader(R"({"rows": "2"})", "")).ok());
  EXPECT_FALSE(DecodeWal(schema, WalWithHeader(R"({"partition": 7, "rows": 0})", "")).ok());
}

// Regression (fixed): a huge "rows" in the header wraps rows * 8 to the column's size (see
// RowCountOverflowIsRejected): the delete path then reads far past the record (SEGV); the insert
// path's rows * dim * 4 wraps the same way and vectors.resize() throws std::length_error.
TEST(WalCodec, HugeRowCountIsRejected) {
  Schema schema = AllTypes(false);
  EXPECT_FALSE(DecodeWal(schema, WalWithHeader(R"({"rows": 2305843009213693952})", "")).ok());
  EXPECT_FALSE(DecodeWal(schema, WalWithHeader(R"({"rows": -1})", "")).ok());
}

// ---- schemas -------------------------------------------------------------------------------

TEST(CreateSchema, QuickForm) {
  auto s = SchemaFromCreateRequest({{"collectionName", "c"}, {"dimension", 8}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->fields.size(), 2u);
  EXPECT_EQ(s->pk_field().name, "id");
  EXPECT_EQ(s->pk_field().type, DataType::kInt64);
  EXPECT_EQ(s->vector_field().name, "vector");
  EXPECT_EQ(s->dim(), 8u);
  EXPECT_TRUE(s->dynamic);
  EXPECT_FALSE(s->auto_id);

  s = SchemaFromCreateRequest({{"dimension", "784"},
                               {"primaryFieldName", "my_id"},
                               {"vectorFieldName", "emb"},
                               {"autoID", true}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->dim(), 784u);
  EXPECT_EQ(s->pk_field().name, "my_id");
  EXPECT_EQ(s->vector_field().name, "emb");
  EXPECT_TRUE(s->auto_id);
  EXPECT_TRUE(s->pk_field().auto_id);

  s = SchemaFromCreateRequest(
      {{"dimension", 4}, {"idType", "VarChar"}, {"params", {{"max_length", 32}}}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->pk_field().type, DataType::kVarChar);
  EXPECT_EQ(s->pk_field().max_length, 32u);

  EXPECT_EQ(
      CodeOf(SchemaFromCreateRequest({{"dimension", 4}, {"idType", "VarChar"}, {"autoID", true}})),
      "1100");
  EXPECT_EQ(CodeOf(SchemaFromCreateRequest({{"dimension", 4}, {"idType", "Int32"}})), "1100");
  EXPECT_EQ(CodeOf(SchemaFromCreateRequest({{"dimension", 0}})), "1100");
  EXPECT_EQ(CodeOf(SchemaFromCreateRequest({{"dimension", "abc"}})), "1100");
  EXPECT_EQ(CodeOf(SchemaFromCreateRequest({{"dimension", 8.5}})), "1100");
  EXPECT_EQ(CodeOf(SchemaFromCreateRequest({{"dimension", -8}})), "1100");
  EXPECT_EQ(CodeOf(SchemaFromCreateRequest({{"collectionName", "c"}})), "1802");
}

TEST(CreateSchema, FullFormEveryType) {
  Schema s = AllTypes(true);
  ASSERT_EQ(s.fields.size(), 11u);
  const DataType want[] = {DataType::kInt64, DataType::kBool,       DataType::kInt8,
                           DataType::kInt16, DataType::kInt32,      DataType::kInt64,
                           DataType::kFloat, DataType::kDouble,     DataType::kVarChar,
                           DataType::kJson,  DataType::kFloatVector};
  for (size_t i = 0; i < s.fields.size(); i++) {
    EXPECT_EQ(s.fields[i].type, want[i]) << s.fields[i].name;
    EXPECT_EQ(s.fields[i].id, 100 + static_cast<int64_t>(i));
  }
  EXPECT_EQ(s.pk, 0);
  EXPECT_EQ(s.vector, 10);
  EXPECT_EQ(s.dim(), 4u);
  EXPECT_EQ(s.fields[8].max_length, 16u);
  EXPECT_TRUE(s.dynamic);
  // The manifest form reads back the same.
  auto back = SchemaFromJson(SchemaToJson(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(SchemaToJson(*back), SchemaToJson(s));
  EXPECT_EQ(DescribeFields(*back).size(), 11u);
}

TEST(CreateSchema, FullFormErrorsCarryMilvusCodes) {
  auto with = [](auto edit) {
    Json body = AllTypesRequest(false);
    edit(body["schema"]["fields"]);
    return CodeOf(SchemaFromCreateRequest(body));
  };
  auto dim = [&](Json d) { return with([&](Json& f) { f[10]["elementTypeParams"]["dim"] = d; }); };
  EXPECT_EQ(dim(0), "1100");
  EXPECT_EQ(dim(32768), "ok");
  EXPECT_EQ(dim("32768"), "ok");
  EXPECT_EQ(dim(32769), "1100");
  EXPECT_EQ(dim("x"), "1100");
  EXPECT_EQ(with([](Json& f) { f[10].erase("elementTypeParams"); }), "1802");
  EXPECT_EQ(with([](Json& f) { f[3]["fieldName"] = "b"; }), "1100");    // duplicate name
  EXPECT_EQ(with([](Json& f) { f[5]["isPrimary"] = true; }), "1100");   // two primary keys
  EXPECT_EQ(with([](Json& f) { f.erase(10); }), "1802");                // no vector field
  EXPECT_EQ(with([](Json& f) { f[0]["isPrimary"] = false; }), "1802");  // no primary key
  EXPECT_EQ(with([](Json& f) {
              f[0]["isPrimary"] = false;
              f[6]["isPrimary"] = true;
            }),
            "1100");
  EXPECT_EQ(with([](Json& f) { f[2]["dataType"] = "Int128"; }), "1100");
  EXPECT_EQ(with([](Json& f) { f[2]["fieldName"] = "1abc"; }), "1100");
  EXPECT_EQ(with([](Json& f) { f[2].erase("dataType"); }), "1802");
  EXPECT_EQ(with([](Json& f) {
              f.push_back(f[10]);
              f[11]["fieldName"] = "w";
            }),
            "1100");
  EXPECT_EQ(with([](Json& f) { f[8]["elementTypeParams"]["max_length"] = 0; }), "1100");
  EXPECT_EQ(with([](Json& f) { f[8]["elementTypeParams"]["max_length"] = 65536; }), "1100");
  EXPECT_EQ(with([](Json& f) { f = Json::array(); }), "1802");
}

// ---- rows ----------------------------------------------------------------------------------

std::string RowsCode(const Schema& s, const Json& data) {
  int64_t next = 0;
  return CodeOf(ParseRows(s, data, &next));
}

TEST(InsertRows, ValuesLandInTheirColumns) {
  Schema s = AllTypes(false);
  int64_t next = 0;
  auto b = ParseRows(s, Json::array({Row(7), Row(8)}), &next);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->rows, 2u);
  EXPECT_EQ(b->columns[0].ints, (std::vector<int64_t>{7, 8}));
  EXPECT_EQ(b->columns[1].ints, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(b->columns[6].reals[0], static_cast<double>(0.1f));  // Float: rounded to float32
  EXPECT_EQ(b->columns[7].reals[0], -2.5);
  EXPECT_EQ(b->columns[8].texts[1], "row8");
  EXPECT_EQ(b->columns[9].docs[0]["arr"][1], "x");
  EXPECT_EQ(b->vectors, (std::vector<float>{7, 0.5, -1, 1e-3f, 8, 0.5, -1, 1e-3f}));
  EXPECT_TRUE(b->meta.empty());
  EXPECT_EQ(ColumnValue(s.fields[0], b->columns[0], 0, false), Json("7"));
  EXPECT_EQ(ColumnValue(s.fields[0], b->columns[0], 0, true), Json(7));
  // A stored Float comes back as the exact float32 value; a computed one (a distance) short.
  EXPECT_EQ(ColumnValue(s.fields[6], b->columns[6], 0, true).dump(), "0.10000000149011612");
  EXPECT_EQ(FloatJson(0.3037109375f).dump(), "0.3037109375");
  EXPECT_EQ(FloatJson(3.0f).dump(), "3");
  EXPECT_EQ(ShortFloatJson(0.1f).dump(), "0.1");
  EXPECT_EQ(ShortFloatJson(-2.0f).dump(), "-2");
  EXPECT_EQ(RowsCode(s, Row(1)), "ok");  // one object is one row
}

TEST(InsertRows, RowsThatDoNotFitTheSchemaAreRefused) {
  Schema s = AllTypes(false);
  auto with = [&](const char* key, Json v) {
    Json r = Row(1);
    r[key] = std::move(v);
    return RowsCode(s, Json::array({Row(0), r}));
  };
  EXPECT_EQ(with("v", {1, 2, 3}), "1100");  // wrong dimension
  EXPECT_EQ(with("v", {1, 2, 3, 4, 5}), "1100");
  EXPECT_EQ(with("v", {1, 2, "3", 4}), "1100");
  EXPECT_EQ(with("v", {1, 2, 1e39, 4}), "1100");
  EXPECT_EQ(with("v", "1,2,3,4"), "1100");
  EXPECT_EQ(with("i32", "7"), "1100");  // wrong types
  EXPECT_EQ(with("i32", 7.5), "1100");
  EXPECT_EQ(with("b", 1), "1100");
  EXPECT_EQ(with("s", 5), "1100");
  EXPECT_EQ(with("d", "x"), "1100");
  EXPECT_EQ(with("id", "1"), "1100");
  EXPECT_EQ(with("i8", 127), "ok");  // integer ranges
  EXPECT_EQ(with("i8", -128), "ok");
  EXPECT_EQ(with("i8", 128), "1100");
  EXPECT_EQ(with("i8", -129), "1100");
  EXPECT_EQ(with("i16", 32768), "1100");
  EXPECT_EQ(with("i32", int64_t{1} << 31), "1100");
  EXPECT_EQ(with("i64", uint64_t{1} << 63), "1100");
  EXPECT_EQ(with("s", std::string(16, 'x')), "ok");  // max_length 16
  EXPECT_EQ(with("s", std::string(17, 'x')), "1100");
  EXPECT_EQ(with("extra", 1), "1100");  // not in a non-dynamic schema
  Json missing = Row(1);
  missing.erase("i16");
  EXPECT_EQ(RowsCode(s, Json::array({missing})), "1100");
  EXPECT_EQ(RowsCode(s, Json::array()), "1100");
  EXPECT_EQ(RowsCode(s, Json::array({1})), "1100");
  EXPECT_EQ(RowsCode(s, Json(5)), "1100");
  int64_t next = 0;
  auto r = ParseRows(s, Json::array({Row(0), missing}), &next);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("row 1"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("i16"), std::string::npos) << r.status().message();
}

TEST(InsertRows, DynamicCollectionKeepsUnknownKeysInMeta) {
  Schema s = AllTypes(true);
  Json r = Row(1);
  r["color"] = "red";
  r["nums"] = {1, 9007199254740993, 0.5};
  int64_t next = 0;
  auto b = ParseRows(s, Json::array({r, Row(2)}), &next);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(b->meta.size(), 2u);
  EXPECT_EQ(b->meta[0], Json({{"color", "red"}, {"nums", {1, 9007199254740993, 0.5}}}));
  EXPECT_EQ(b->meta[1], Json::object());
}

TEST(InsertRows, AutoIdAssignsIncreasingIdsAndRefusesACarriedKey) {
  Schema s = AllTypes(false, /*auto_id=*/true);
  Json a = Row(0), b = Row(0);
  a.erase("id");
  b.erase("id");
  int64_t next = 1000;
  auto batch = ParseRows(s, Json::array({a, b, a}), &next);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(batch->columns[s.pk].ints, (std::vector<int64_t>{1000, 1001, 1002}));
  EXPECT_EQ(next, 1003);
  EXPECT_EQ(RowsCode(s, Json::array({a, Row(5)})), "1100");
}

// ---- request bodies ------------------------------------------------------------------------

TEST(RequestBody, VectorsAreSetAsideOnlyUnderTopLevelData) {
  std::string text = R"({"collectionName": "c", "filter": "id in [1, 2]", "id": [1, 2, 3],
      "outputFields": ["a"], "search": {"data": [1, 2]},
      "data": [{"id": 1, "vector": [0.5, -1, 3]}, [1.5, 2.5], [], [1, "x"]]})";
  FloatLists floats;
  auto body = ParseBody(text, &floats);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ((*body)["id"], Json::array({1, 2, 3}));
  EXPECT_EQ((*body)["search"]["data"], Json::array({1, 2}));
  EXPECT_EQ((*body)["filter"], "id in [1, 2]");
  const Json& data = (*body)["data"];
  ASSERT_EQ(floats.lists.size(), 2u);
  ASSERT_NE(floats.Lookup(data[0]["vector"]), nullptr);
  EXPECT_EQ(*floats.Lookup(data[0]["vector"]), (std::vector<float>{0.5, -1, 3}));
  EXPECT_EQ(*floats.Lookup(data[1]), (std::vector<float>{1.5, 2.5}));
  EXPECT_EQ(data[2], Json::array());  // empty and mixed lists stay JSON
  EXPECT_EQ(data[3], Json::array({1, "x"}));
  EXPECT_EQ(data[0]["id"], 1);
  EXPECT_EQ(floats.Lookup(data[2]), nullptr);
  EXPECT_EQ(floats.Lookup(Json{{"$f32", 9}}), nullptr);
}

TEST(RequestBody, ExpandRestoresNumberListsExactly) {
  Schema s = AllTypes(/*dynamic=*/true);
  std::string text = R"({"data": [{"id": 1, "b": true, "i8": 1, "i16": 1, "i32": 1, "i64": 1,
      "f": 1, "d": 1, "s": "x", "v": [1, 2, 3, 4],
      "j": {"nums": [9007199254740993, -9223372036854775808, 0.1, 1e30, 18446744073709551615]},
      "extra": [9007199254740993, 2], "deep": {"l": [[0.30000000000000004]]}}]})";
  FloatLists floats;
  auto body = ParseBody(text, &floats);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  int64_t next = 0;
  auto b = ParseRows(s, (*body)["data"], &next, &floats);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->vectors, (std::vector<float>{1, 2, 3, 4}));
  Json nums = b->columns[9].docs[0]["nums"];
  EXPECT_EQ(nums.dump(), "[9007199254740993,-9223372036854775808,0.1,1e+30,18446744073709551615]");
  EXPECT_TRUE(nums[0].is_number_integer());
  EXPECT_EQ(b->meta[0]["extra"], Json::parse("[9007199254740993, 2]"));
  EXPECT_EQ(b->meta[0]["deep"]["l"][0][0].get<double>(), 0.30000000000000004);
  Json plain = {{"a", {1, 2}}};
  floats.Expand(&plain);
  EXPECT_EQ(plain, Json({{"a", {1, 2}}}));
}

// Regression (fixed): number lists anywhere under "data" go through the float32 side table, so a JSON or dynamic
// field holding a list with a double beyond float32 range ([1e300]) fails the whole insert with
// 1100 "a vector value is out of float32 range", though only vectors need to fit float32.
TEST(RequestBody, JsonFieldListBeyondFloat32IsKept) {
  Schema s = AllTypes(/*dynamic=*/true);
  std::string text = R"({"data": [{"id": 1, "b": true, "i8": 1, "i16": 1, "i32": 1, "i64": 1,
      "f": 1, "d": 1, "s": "x", "v": [1, 2, 3, 4], "j": {"nums": [1e300, -1e39]}, "x": [1e300]}]})";
  FloatLists floats;
  auto body = ParseBody(text, &floats);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  int64_t next = 0;
  auto b = ParseRows(s, (*body)["data"], &next, &floats);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->columns[9].docs[0]["nums"], Json::parse("[1e300, -1e39]"));
  EXPECT_EQ(b->meta[0]["x"], Json::parse("[1e300]"));
}

// A JSON field whose value looks like a placeholder ({"$f32": 0} as sent) is not one: the parser
// makes placeholders of unsigned numbers only, and simdjson gives 0 as signed.
TEST(RequestBody, LiteralPlaceholderObjectIsKeptAsSent) {
  Schema s = AllTypes(false);
  std::string text = R"({"data": [{"id": 1, "b": true, "i8": 1, "i16": 1, "i32": 1, "i64": 1,
      "f": 1, "d": 1, "s": "x", "v": [1, 2, 3, 4], "j": {"$f32": 0}}]})";
  FloatLists floats;
  auto body = ParseBody(text, &floats);
  ASSERT_TRUE(body.ok());
  int64_t next = 0;
  auto b = ParseRows(s, (*body)["data"], &next, &floats);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->columns[9].docs[0], Json({{"$f32", 0}}));
}

TEST(RequestBody, MalformedOverflowingOrDeepBodiesAreRefused) {
  auto code = [](std::string text) {
    FloatLists floats;
    return CodeOf(ParseBody(text, &floats));
  };
  EXPECT_EQ(code("{"), "1801");
  EXPECT_EQ(code(""), "1801");
  EXPECT_EQ(code(R"({"a": [1, 2})"), "1801");
  EXPECT_EQ(code(R"({"a": 1} x)"), "1801");
  EXPECT_EQ(code(R"({"a": 1,})"), "1801");
  EXPECT_EQ(code("{\"a\": \"\xff\xfe\"}"), "1801");  // not UTF-8
  // Beyond float32: kept as JSON by the body parser (a JSON field may hold it); a vector
  // holding it is refused by the row parser (InsertRows tests) and the search handler.
  EXPECT_EQ(code(R"({"data": [[1e39, 0]]})"), "ok");
  EXPECT_EQ(code(R"({"data": [{"v": [-1e39]}]})"), "ok");
  EXPECT_EQ(code(R"({"other": [1e39]})"), "ok");  // not a vector: kept as a double
  EXPECT_EQ(code(R"({"data": [[1e400]]})"), "1801");
  EXPECT_EQ(code(std::string(40, '[') + std::string(40, ']')), "ok");
  EXPECT_EQ(code(std::string(100, '[') + std::string(100, ']')), "1801");
  EXPECT_EQ(code(std::string(100000, '[') + std::string(100000, ']')), "1801");
  std::string objects;
  for (int i = 0; i < 5000; i++) objects += "{\"a\":";
  objects += "1" + std::string(5000, '}');
  EXPECT_EQ(code(objects), "1801");
  std::string padded = R"({"data": [[1, 2]]})";
  padded.reserve(padded.size() + 64);  // parsed in place
  EXPECT_EQ(code(padded), "ok");
}

}  // namespace
}  // namespace skyway::vectordb
