// The Milvus boolean expression language, for query, delete and filtered search: comparisons
// (== != < <= > >=, chained `1 < x < 5`), `in` / `not in` lists, `like` with % and _ wildcards,
// `and` / `&&`, `or` / `||`, `not` / `!`, parentheses, arithmetic (+ - * / %) on numbers,
// JSON field paths `meta["k"][0]`, booleans true/false, string literals in '' or "". Private to
// vectordb/ (and its fuzzer): it knows field names and types, not where rows are stored.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/common.h"

namespace skyway::vectordb {

enum class DataType { kBool, kInt8, kInt16, kInt32, kInt64, kFloat, kDouble, kVarChar, kJson,
                      kFloatVector };

// "Bool", "Int8", ... "VarChar", "JSON", "FloatVector" (Milvus spelling); nullopt if unknown.
std::optional<DataType> ParseDataType(std::string_view name);
const char* DataTypeName(DataType type);

// A field a filter may name. index is the caller's own number for the field (Row::Get's arg).
struct FilterField {
  std::string name;
  DataType type;
  int index;
};

// One value of a row, as the filter sees it. Ints (Bool, Int8..Int64) are int64_t; Float and
// Double are double; VarChar is a string_view; JSON is a pointer to the parsed document.
using FilterValue =
    std::variant<std::monostate, bool, int64_t, double, std::string_view, const nlohmann::json*>;

// The row being tested. Get(field.index) returns that field's value in this row.
class FilterRow {
 public:
  virtual ~FilterRow() = default;
  virtual FilterValue Get(int field_index) const = 0;
};

class Filter {
 public:
  // Parses expr against fields. Errors: kInvalidArgument with a message naming the position and
  // what was expected, an unknown field, or a type mismatch (e.g. `label like "a%"` on Int64,
  // a string compared with a number). Expressions nest at most 256 deep; the text is at most
  // 64 KiB.
  static Result<std::unique_ptr<Filter>> Parse(std::string_view expr,
                                               const std::vector<FilterField>& fields);
  virtual ~Filter() = default;

  // Whether the row satisfies the expression. A comparison that cannot be evaluated for this row
  // (a JSON path that is absent or of another type, a division by zero) is false.
  virtual bool Matches(const FilterRow& row) const = 0;

  // When the whole expression is `pk == v` or `pk in [v, ...]` on the field with this index
  // (with int64_t or std::string values), those values, so the caller can look them up instead
  // of scanning. nullopt otherwise.
  using Key = std::variant<int64_t, std::string>;
  virtual std::optional<std::vector<Key>> KeysOf(int field_index) const = 0;
};

}  // namespace skyway::vectordb
