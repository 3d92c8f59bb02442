// Filter::Parse and the Milvus data type names. The language itself is in filter_lex.cc,
// filter_parse.cc (syntax and types), filter_nodes.cc (the compiled tree) and filter_eval.cc.
#include "vectordb/filter.h"

#include "vectordb/filter_internal.h"

namespace skyway::vectordb {

namespace {

struct TypeName {
  DataType type;
  const char* name;
};
constexpr TypeName kTypeNames[] = {
    {DataType::kBool, "Bool"},     {DataType::kInt8, "Int8"},
    {DataType::kInt16, "Int16"},   {DataType::kInt32, "Int32"},
    {DataType::kInt64, "Int64"},   {DataType::kFloat, "Float"},
    {DataType::kDouble, "Double"}, {DataType::kVarChar, "VarChar"},
    {DataType::kJson, "JSON"},     {DataType::kFloatVector, "FloatVector"},
};

class CompiledFilter : public Filter {
 public:
  explicit CompiledFilter(filter_internal::NodePtr root) : root_(std::move(root)) {}
  bool Matches(const FilterRow& row) const override { return root_->Test(row); }
  std::optional<std::vector<Key>> KeysOf(int field_index) const override {
    return root_->KeysOf(field_index);
  }

 private:
  filter_internal::NodePtr root_;
};

}  // namespace

std::optional<DataType> ParseDataType(std::string_view name) {
  for (const TypeName& t : kTypeNames) {
    if (name == t.name) return t.type;
  }
  return std::nullopt;
}

const char* DataTypeName(DataType type) {
  for (const TypeName& t : kTypeNames) {
    if (t.type == type) return t.name;
  }
  return "Unknown";
}

Result<std::unique_ptr<Filter>> Filter::Parse(std::string_view expr,
                                              const std::vector<FilterField>& fields) {
  ASSIGN_OR_RETURN(filter_internal::NodePtr root, filter_internal::ParseFilter(expr, fields));
  return std::unique_ptr<Filter>(std::make_unique<CompiledFilter>(std::move(root)));
}

}  // namespace skyway::vectordb
