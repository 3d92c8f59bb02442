// Milvus filter expressions from arbitrary bytes: parsed or refused with kInvalidArgument, and
// what parses evaluates on rows with ordinary and extreme values without crashing.
#include <cmath>
#include <limits>

#include "vectordb/filter.h"

namespace {

using skyway::vectordb::DataType;
using skyway::vectordb::Filter;
using skyway::vectordb::FilterField;
using skyway::vectordb::FilterRow;
using skyway::vectordb::FilterValue;
using Json = nlohmann::json;

constexpr int kFields = 12;

std::vector<FilterField> Schema(bool dynamic) {
  std::vector<FilterField> fields = {
      {"id", DataType::kInt64, 0},  {"b", DataType::kBool, 1},        {"i8", DataType::kInt8, 2},
      {"i16", DataType::kInt16, 3}, {"i32", DataType::kInt32, 4},     {"i64", DataType::kInt64, 5},
      {"f", DataType::kFloat, 6},   {"d", DataType::kDouble, 7},      {"s", DataType::kVarChar, 8},
      {"j", DataType::kJson, 9},    {"v", DataType::kFloatVector, 10}};
  if (dynamic) fields.push_back({"$meta", DataType::kJson, 11});
  return fields;
}

// Values given per field index; monostate where a row has none.
struct Row : FilterRow {
  FilterValue values[kFields];
  FilterValue Get(int index) const override {
    if (index < 0 || index >= kFields) __builtin_trap();
    return values[index];
  }
};

struct Rows {
  std::string text = "caf\xc3\xa9 50%_off";
  std::string empty;
  Json doc = Json::parse(R"({"a": 1, "s": "x%y", "arr": [1, 2.5, "z", [3], {"k": true}],
      "o": {"k": [0, -1]}, "n": null, "big": 18446744073709551615, "neg": -9223372036854775808,
      "f": 1e308, "t": true})");
  Json scalar = Json(-0.0);
  std::vector<Row> rows;

  Rows() {
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    Row typical, extreme, missing, odd;
    FilterValue t[] = {int64_t{7},       true, int64_t{-8}, int64_t{300},           int64_t{70000},
                       int64_t{1} << 40, 0.5,  2.25,        std::string_view(text), &doc,
                       std::monostate(), &doc};
    FilterValue e[] = {
        kMin, int64_t{0}, int64_t{-128},           kMax,    int64_t{-1},      kMin,
        nan,  -inf,       std::string_view(empty), &scalar, std::monostate(), &scalar};
    // A row whose values are not of the declared kinds (a store may hand back anything).
    FilterValue o[] = {2.5,
                       int64_t{1},
                       std::string_view(text),
                       true,
                       &doc,
                       nan,
                       kMax,
                       int64_t{3},
                       int64_t{4},
                       static_cast<const Json*>(nullptr),
                       std::string_view(text),
                       std::monostate()};
    for (int i = 0; i < kFields; ++i) {
      typical.values[i] = t[i];
      extreme.values[i] = e[i];
      odd.values[i] = o[i];
    }
    rows = {typical, extreme, missing, odd};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Rows kRows;
  static const std::vector<FilterField> kSchemas[] = {Schema(false), Schema(true)};
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (const auto& fields : kSchemas) {
    auto filter = Filter::Parse(input, fields);
    if (!filter.ok()) {
      if (filter.status().code() != skyway::Code::kInvalidArgument) __builtin_trap();
      if (filter.status().message().find("filter parse error at ") != 0) __builtin_trap();
      continue;
    }
    for (const Row& row : kRows.rows) (void)(*filter)->Matches(row);
    for (int i = -1; i <= kFields; ++i) (void)(*filter)->KeysOf(i);
  }
  return 0;
}
