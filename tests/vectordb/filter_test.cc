// The Milvus filter language: syntax, types, evaluation, KeysOf and errors.
#include "vectordb/filter.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace skyway::vectordb {
namespace {

using Json = nlohmann::json;

enum FieldIndex { kId, kLabel, kPrice, kScore, kName, kFlag, kMeta, kVec, kSmall, kTag };

std::vector<FilterField> TestFields() {
  return {{"id", DataType::kInt64, kId},        {"label", DataType::kInt64, kLabel},
          {"price", DataType::kDouble, kPrice}, {"score", DataType::kFloat, kScore},
          {"name", DataType::kVarChar, kName},  {"flag", DataType::kBool, kFlag},
          {"meta", DataType::kJson, kMeta},     {"vec", DataType::kFloatVector, kVec},
          {"small", DataType::kInt8, kSmall},   {"tag", DataType::kVarChar, kTag}};
}

struct TestRow : FilterRow {
  int64_t id = 1;
  int64_t label = 4;
  double price = 7.5;
  double score = 0.25;
  std::string name = "apple pie";
  bool flag = true;
  bool flag_as_int = false;  // give Bool as int64_t, as a columnar store may
  Json meta = Json::parse(R"({"color": "red", "size": 3, "ratio": 0.5, "on": true,
      "tags": ["a", "b", 7], "nested": {"k": [10, 20, {"deep": "x"}]}, "nil": null})");
  int64_t small = -3;
  std::string tag = "";

  FilterValue Get(int index) const override {
    switch (index) {
      case kId:
        return id;
      case kLabel:
        return label;
      case kPrice:
        return price;
      case kScore:
        return score;
      case kName:
        return std::string_view(name);
      case kFlag:
        return flag_as_int ? FilterValue(int64_t{flag}) : FilterValue(flag);
      case kMeta:
        return &meta;
      case kSmall:
        return small;
      case kTag:
        return std::string_view(tag);
      default:
        return std::monostate();
    }
  }
};

std::unique_ptr<Filter> MustParse(std::string_view expr) {
  auto f = Filter::Parse(expr, TestFields());
  EXPECT_TRUE(f.ok()) << expr << ": " << f.status().message();
  if (!f.ok()) return nullptr;
  return std::move(f).value();
}

bool Eval(std::string_view expr, const TestRow& row = TestRow()) {
  auto f = MustParse(expr);
  return f != nullptr && f->Matches(row);
}

// The error message of a failing parse ("" if it parsed).
std::string ErrorOf(std::string_view expr) {
  auto f = Filter::Parse(expr, TestFields());
  if (f.ok()) return "";
  EXPECT_EQ(f.status().code(), Code::kInvalidArgument);
  return f.status().message();
}

#define EXPECT_MATCH(expr) EXPECT_TRUE(Eval(expr)) << (expr)
#define EXPECT_NO_MATCH(expr) EXPECT_FALSE(Eval(expr)) << (expr)
#define EXPECT_PARSE_ERROR(expr, substr) \
  EXPECT_NE(ErrorOf(expr).find(substr), std::string::npos) << (expr) << " -> " << ErrorOf(expr)

TEST(DataTypeTest, MilvusNamesRoundTrip) {
  for (const char* name : {"Bool", "Int8", "Int16", "Int32", "Int64", "Float", "Double", "VarChar",
                           "JSON", "FloatVector"}) {
    auto t = ParseDataType(name);
    ASSERT_TRUE(t.has_value()) << name;
    EXPECT_STREQ(DataTypeName(*t), name);
  }
  EXPECT_FALSE(ParseDataType("int64").has_value());
  EXPECT_FALSE(ParseDataType("Varchar").has_value());
  EXPECT_FALSE(ParseDataType("").has_value());
}

TEST(FilterTest, IntegerComparisons) {
  EXPECT_MATCH("label == 4");
  EXPECT_MATCH("label != 5");
  EXPECT_MATCH("label < 5");
  EXPECT_MATCH("label <= 4");
  EXPECT_MATCH("label > 3");
  EXPECT_MATCH("label >= 4");
  EXPECT_NO_MATCH("label > 4");
  EXPECT_MATCH("4 == label");
  EXPECT_MATCH("small == -3");
  EXPECT_MATCH("small < label");
  EXPECT_MATCH("label == 4.0");
  EXPECT_NO_MATCH("label == 4.5");
  EXPECT_MATCH("label < 4.5");
}

TEST(FilterTest, FloatsCompareNumericallyAndInt64StaysExact) {
  EXPECT_MATCH("price == 7.5");
  EXPECT_MATCH("price > 7");
  EXPECT_MATCH("score < .5");
  EXPECT_MATCH("price < 1e3");
  EXPECT_MATCH("price > 75e-1 - 1");
  TestRow row;
  row.id = (int64_t{1} << 53) + 1;  // not representable as a double
  EXPECT_TRUE(Eval("id == 9007199254740993", row));
  EXPECT_FALSE(Eval("id == 9007199254740992", row));
  EXPECT_TRUE(Eval("id > 9007199254740992.0", row));
  row.id = std::numeric_limits<int64_t>::min();
  EXPECT_TRUE(Eval("id == -9223372036854775808", row));
  EXPECT_TRUE(Eval("id < -9.3e18 + 1e17", row));
}

TEST(FilterTest, Strings) {
  EXPECT_MATCH("name == \"apple pie\"");
  EXPECT_MATCH("name == 'apple pie'");
  EXPECT_MATCH("name > 'apple'");
  EXPECT_MATCH("name < 'b'");
  EXPECT_MATCH("tag == ''");
  EXPECT_MATCH("'apple pie' == name");
  TestRow row;
  row.name = "say \"hi\"\n\t'x'\\";
  EXPECT_TRUE(Eval(R"(name == "say \"hi\"\n\t\'x\'\\")", row));
  EXPECT_TRUE(Eval(R"(name == 'say "hi"\n\t\'x\'\\')", row));
}

TEST(FilterTest, BoolFields) {
  EXPECT_MATCH("flag");
  EXPECT_NO_MATCH("not flag");
  EXPECT_MATCH("flag == true");
  EXPECT_MATCH("flag == True");
  EXPECT_MATCH("flag != FALSE");
  EXPECT_MATCH("true");
  EXPECT_NO_MATCH("false");
  TestRow row;
  row.flag = false;
  row.flag_as_int = true;
  EXPECT_TRUE(Eval("!flag", row));
  EXPECT_TRUE(Eval("flag == false", row));
  EXPECT_PARSE_ERROR("flag < true", "not defined on booleans");
  EXPECT_PARSE_ERROR("flag == 1", "cannot compare boolean with integer");
}

TEST(FilterTest, LogicAndPrecedence) {
  EXPECT_MATCH("label == 4 and name == 'apple pie'");
  EXPECT_NO_MATCH("label == 4 and name == 'x'");
  EXPECT_MATCH("label == 5 or name == 'apple pie'");
  // `a or b and c` is `a or (b and c)`.
  EXPECT_MATCH("label == 4 or label == 5 and label == 6");
  EXPECT_NO_MATCH("(label == 4 or label == 5) and label == 6");
  EXPECT_NO_MATCH("not label == 4 or false");
  EXPECT_MATCH("not (label == 5 and flag)");
  EXPECT_MATCH("label == 4 && flag || false");
  EXPECT_MATCH("!(label != 4)");
  EXPECT_MATCH("not not flag");
  EXPECT_MATCH("(flag == true) == (label > 0)");
}

TEST(FilterTest, KeywordsAreCaseInsensitive) {
  EXPECT_MATCH("label == 4 AND flag");
  EXPECT_MATCH("label == 5 OR flag");
  EXPECT_MATCH("NOT label == 5");
  EXPECT_MATCH("label IN [4]");
  EXPECT_MATCH("label NOT IN [5]");
  EXPECT_MATCH("name LIKE 'apple%'");
  EXPECT_MATCH("label == 4 And flag Or false");
}

TEST(FilterTest, ChainedComparisons) {
  EXPECT_MATCH("1 < label < 5");
  EXPECT_MATCH("4 <= label <= 4");
  EXPECT_NO_MATCH("4 < label < 10");
  EXPECT_MATCH("10 >= label > 1");
  EXPECT_NO_MATCH("10 >= label > 4");
  EXPECT_MATCH("7.0 < price <= 7.5");
  EXPECT_MATCH("'a' < name < 'b'");
  EXPECT_MATCH("-5 < small < 0");
  EXPECT_MATCH("0 <= label % 3 < 2");
  EXPECT_PARSE_ERROR("1 < label > 0", "chained comparison");
  EXPECT_PARSE_ERROR("id < label < 5", "chained comparison");
  EXPECT_PARSE_ERROR("label == 4 == 4", "chained comparison");
  EXPECT_PARSE_ERROR("1 < name < 5", "cannot compare");
}

TEST(FilterTest, LikePatterns) {
  EXPECT_MATCH("name like 'apple%'");
  EXPECT_MATCH("name like '%pie'");
  EXPECT_MATCH("name like '%le p%'");
  EXPECT_MATCH("name like 'apple pie'");
  EXPECT_MATCH("name like '%'");
  EXPECT_MATCH("name like 'a%p%e'");
  EXPECT_MATCH("name like '_pple_pie'");
  EXPECT_MATCH("name like '%%p_e'");
  EXPECT_NO_MATCH("name like 'apple'");
  EXPECT_NO_MATCH("name like 'pie%'");
  EXPECT_NO_MATCH("name like '_apple pie'");
  EXPECT_NO_MATCH("name like 'a%x%'");
  EXPECT_MATCH("tag like ''");
  EXPECT_MATCH("tag like '%'");
  EXPECT_NO_MATCH("tag like '_'");
  TestRow row;
  row.name = "50%_off";
  EXPECT_TRUE(Eval(R"(name like '50\%\_off')", row));
  EXPECT_TRUE(Eval(R"(name like '50\\%\\_off')", row));
  EXPECT_TRUE(Eval(R"(name like '%\%%')", row));
  row.name = "50x_off";
  EXPECT_FALSE(Eval(R"(name like '50\%_off')", row));
  row.name = "caf\xc3\xa9!";  // café!: _ is one character, not one byte
  EXPECT_TRUE(Eval("name like 'caf_!'", row));
  EXPECT_FALSE(Eval("name like 'caf__!'", row));
  row.name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab";
  EXPECT_FALSE(Eval("name like '%a%a%a%a%a%a%a%a%c'", row));
  EXPECT_PARSE_ERROR("label like 'a%'", "'like' needs a string or JSON operand, not integer");
  EXPECT_PARSE_ERROR("name like label", "expected a string pattern");
}

TEST(FilterTest, InLists) {
  EXPECT_MATCH("label in [1, 2, 4]");
  EXPECT_NO_MATCH("label in [1, 2, 3]");
  EXPECT_MATCH("label not in [1, 2, 3]");
  EXPECT_NO_MATCH("label not in [4]");
  EXPECT_NO_MATCH("label in []");
  EXPECT_MATCH("label not in []");
  EXPECT_MATCH("label in [4.0, 9.5,]");
  EXPECT_MATCH("price in [7.5]");
  EXPECT_MATCH("small in [-3, -2]");
  EXPECT_MATCH("label * 2 in [8]");
  EXPECT_MATCH("name in ['pear', \"apple pie\"]");
  EXPECT_MATCH("name not in ['pear']");
  EXPECT_MATCH("flag in [true]");
  std::string big = "label in [";
  for (int i = 0; i < 10000; ++i) big += std::to_string(i * 7) + ",";
  big += "]";
  TestRow row;
  row.label = 7 * 9999;
  EXPECT_TRUE(Eval(big, row));
  row.label = 7 * 9999 + 1;
  EXPECT_FALSE(Eval(big, row));
  EXPECT_PARSE_ERROR("label in [1, 'a']", "cannot compare integer with string");
  EXPECT_PARSE_ERROR("name in [1]", "cannot compare string with integer");
  EXPECT_PARSE_ERROR("label in [id]", "list elements must be literals");
  EXPECT_PARSE_ERROR("label in 4", "expected '['");
}

TEST(FilterTest, JsonPaths) {
  EXPECT_MATCH("meta['color'] == 'red'");
  EXPECT_MATCH("meta[\"size\"] == 3");
  EXPECT_MATCH("meta['size'] > 2.5");
  EXPECT_MATCH("meta['ratio'] < 1");
  EXPECT_MATCH("meta['on']");
  EXPECT_MATCH("meta['on'] == true");
  EXPECT_MATCH("meta['tags'][0] == 'a'");
  EXPECT_MATCH("meta['tags'][2] == 7");
  EXPECT_MATCH("meta['nested']['k'][1] == 20");
  EXPECT_MATCH("meta['nested']['k'][2]['deep'] like 'x%'");
  EXPECT_MATCH("meta['color'] in ['blue', 'red']");
  EXPECT_MATCH("1 < meta['size'] < 5");
  EXPECT_MATCH("meta['size'] % 2 == 1");
  // Absent, out of range, null, wrong type: the comparison is false, and `not` of it true.
  EXPECT_NO_MATCH("meta['missing'] == 1");
  EXPECT_NO_MATCH("meta['missing'] != 1");
  EXPECT_MATCH("not meta['missing'] == 1");
  EXPECT_NO_MATCH("meta['tags'][3] == 7");
  EXPECT_NO_MATCH("meta['color'][0] == 'r'");
  EXPECT_NO_MATCH("meta['size']['x'] == 3");
  EXPECT_NO_MATCH("meta['nil'] == 0");
  EXPECT_NO_MATCH("meta['color'] > 3");
  EXPECT_NO_MATCH("meta['color'] + 1 > 3");
  EXPECT_NO_MATCH("meta['size'] like '3'");
  EXPECT_NO_MATCH("meta['size'] in ['3']");
  EXPECT_NO_MATCH("meta['size']");
  EXPECT_NO_MATCH("meta == 3");
  TestRow row;
  row.meta = Json(5);
  EXPECT_TRUE(Eval("meta == 5", row));
  EXPECT_FALSE(Eval("meta['a'] == 5", row));
  EXPECT_PARSE_ERROR("label['a'] == 1", "Int64 field label cannot be indexed");
  EXPECT_PARSE_ERROR("meta[label] == 1", "expected a string key or an array index");
  EXPECT_PARSE_ERROR("meta['a' == 1", "expected ']'");
}

TEST(FilterTest, JsonContains) {
  EXPECT_MATCH("json_contains(meta['tags'], 'b')");
  EXPECT_MATCH("JSON_CONTAINS(meta['tags'], 7.0)");
  EXPECT_NO_MATCH("json_contains(meta['tags'], 'c')");
  EXPECT_NO_MATCH("json_contains(meta['color'], 'red')");
  EXPECT_MATCH("json_contains_all(meta['tags'], ['a', 7])");
  EXPECT_NO_MATCH("json_contains_all(meta['tags'], ['a', 8])");
  EXPECT_MATCH("json_contains_any(meta['tags'], ['z', 7])");
  EXPECT_NO_MATCH("json_contains_any(meta['tags'], ['z'])");
  EXPECT_MATCH("array_contains(meta['nested']['k'], 10)");
  EXPECT_PARSE_ERROR("json_contains(label, 1)", "needs a JSON field");
  EXPECT_PARSE_ERROR("json_contains(meta['tags'], label)", "expected a literal");
  EXPECT_PARSE_ERROR("no_such_fn(meta)", "unknown function no_such_fn");
}

TEST(FilterTest, Arithmetic) {
  EXPECT_MATCH("label % 2 == 0");
  EXPECT_NO_MATCH("label % 3 == 0");
  EXPECT_MATCH("price * 2 > 10");
  EXPECT_MATCH("price * 2 == 15");
  EXPECT_MATCH("label / 3 == 1");  // integer division
  EXPECT_MATCH("price / 2 == 3.75");
  EXPECT_MATCH("label + 1 == 5");
  EXPECT_MATCH("label - 5 == -1");
  EXPECT_MATCH("-label == -4");
  EXPECT_MATCH("--label == 4");
  EXPECT_MATCH("1 + 2 * 3 == 7");
  EXPECT_MATCH("(1 + 2) * 3 == 9");
  EXPECT_MATCH("10 - 4 - 3 == 3");
  EXPECT_MATCH("label > 2 * 3 - 3");
  EXPECT_MATCH("label + price == 11.5");
  EXPECT_MATCH("price % 2 == 1.5");
  EXPECT_MATCH("small % 2 == -1");
}

TEST(FilterTest, ArithmeticThatCannotBeDoneIsFalse) {
  EXPECT_NO_MATCH("label / 0 == 0");
  EXPECT_NO_MATCH("label / 0 != 0");
  EXPECT_NO_MATCH("label % 0 == 0");
  EXPECT_NO_MATCH("price / 0 > 0");
  EXPECT_NO_MATCH("price % 0 == 0");
  EXPECT_MATCH("not label / 0 == 0");
  EXPECT_NO_MATCH("label / (label - 4) == 1");
  TestRow row;
  row.id = std::numeric_limits<int64_t>::min();
  EXPECT_FALSE(Eval("id / -1 == 0", row));
  EXPECT_FALSE(Eval("id / -1 != 0", row));
  EXPECT_TRUE(Eval("id % -1 == 0", row));
  EXPECT_FALSE(Eval("-id == 0", row));
  EXPECT_FALSE(Eval("-id != 0", row));
  EXPECT_FALSE(Eval("id - 1 < 0", row));
  EXPECT_FALSE(Eval("id * 2 < 0", row));
  EXPECT_FALSE(Eval("9223372036854775807 + 1 > 0"));
}

TEST(FilterTest, TypeErrors) {
  EXPECT_PARSE_ERROR("name == 1", "cannot compare string with integer");
  EXPECT_PARSE_ERROR("label > 'a'", "cannot compare integer with string");
  EXPECT_PARSE_ERROR("name + 1 == 'a'", "arithmetic '+' needs numbers, not string");
  EXPECT_PARSE_ERROR("'a' * 2 == 'b'", "arithmetic '*' needs numbers, not string");
  EXPECT_PARSE_ERROR("-name == 'a'", "unary '-' needs a number");
  EXPECT_PARSE_ERROR("flag + 1 == 2", "needs numbers, not boolean");
  EXPECT_PARSE_ERROR("label", "the filter needs a boolean, not integer");
  EXPECT_PARSE_ERROR("label and flag", "'and' needs a boolean, not integer");
  EXPECT_PARSE_ERROR("flag or name", "'or' needs a boolean, not string");
  EXPECT_PARSE_ERROR("not price", "'not' needs a boolean, not float");
  EXPECT_PARSE_ERROR("vec == 1", "vector field vec cannot be used in a filter");
}

TEST(FilterTest, SyntaxErrorsNameThePosition) {
  EXPECT_EQ(ErrorOf("id in [1"),
            "filter parse error at 8: expected ']' but found end of input in \"id in [1\"");
  EXPECT_PARSE_ERROR("nope == 1", "at 0: field nope not found in schema");
  EXPECT_PARSE_ERROR("id == 1 and Label == 2", "at 12: field Label not found in schema");
  EXPECT_PARSE_ERROR("name == 'abc", "at 8: unterminated string literal");
  EXPECT_PARSE_ERROR("name == 'abc\\", "unterminated string literal");
  EXPECT_PARSE_ERROR("id == 1 id", "at 8: expected end of input but found 'id'");
  EXPECT_PARSE_ERROR("id == 1)", "expected end of input but found ')'");
  EXPECT_PARSE_ERROR("(id == 1", "expected ')' but found end of input");
  EXPECT_PARSE_ERROR("", "empty filter expression");
  EXPECT_PARSE_ERROR("   ", "empty filter expression");
  EXPECT_PARSE_ERROR("id = 1", "use '=='");
  EXPECT_PARSE_ERROR("id == #", "unexpected character '#'");
  EXPECT_PARSE_ERROR("id == \x01", "unexpected character byte 1");
  EXPECT_PARSE_ERROR("id ==", "expected a value but found end of input");
  EXPECT_PARSE_ERROR("id == 1 and and", "expected a value but found 'and'");
  EXPECT_PARSE_ERROR("id == 1e", "malformed number");
  EXPECT_PARSE_ERROR("id == 12abc", "malformed number");
  EXPECT_PARSE_ERROR("id == 1e999", "number out of range");
  EXPECT_PARSE_ERROR("id == 9223372036854775808", "integer out of range");
  EXPECT_PARSE_ERROR("id == 99999999999999999999", "integer out of range");
  EXPECT_PARSE_ERROR("id in [1 2]", "expected ']' but found '2'");
}

TEST(FilterTest, NestingIsBounded) {
  std::string ok = std::string(100, '(') + "flag" + std::string(100, ')');
  EXPECT_MATCH(ok);
  std::string deep = std::string(300, '(') + "flag" + std::string(300, ')');
  EXPECT_PARSE_ERROR(deep, "nests deeper than 256");
  std::string open = std::string(60000, '(');
  EXPECT_PARSE_ERROR(open, "nests deeper than 256");
  std::string nots;
  for (int i = 0; i < 10000; ++i) nots += "not ";
  EXPECT_PARSE_ERROR(nots + "flag", "nests deeper than 256");
  EXPECT_PARSE_ERROR(std::string(20000, '!') + "flag", "nests deeper than 256");
  EXPECT_PARSE_ERROR(std::string(20000, '-') + "1 == label", "nests deeper than 256");
  std::string sum = "label";
  for (int i = 0; i < 1000; ++i) sum += " + label";
  EXPECT_PARSE_ERROR(sum + " > 0", "nests deeper than 256");
  std::string ors = "label == 0";
  for (int i = 1; i < 3000; ++i) ors += " or label == " + std::to_string(i);
  EXPECT_MATCH(ors);  // long flat chains are fine
  std::string constants = "1";
  for (int i = 0; i < 3000; ++i) constants += " + 1";
  EXPECT_MATCH("label < " + constants);
}

TEST(FilterTest, TextIsBounded) {
  std::string long_expr = "name == '" + std::string(70000, 'x') + "'";
  EXPECT_PARSE_ERROR(long_expr, "longer than 65536 bytes");
}

TEST(FilterTest, DynamicFieldKeys) {
  std::vector<FilterField> fields = {{"id", DataType::kInt64, 0}, {"$meta", DataType::kJson, 1}};
  struct Row : FilterRow {
    Json meta = Json::parse(R"({"city": "Oslo", "n": {"x": 2}})");
    FilterValue Get(int i) const override {
      return i == 0 ? FilterValue(int64_t{1}) : FilterValue(&meta);
    }
  } row;
  for (const char* expr : {"city == 'Oslo'", "$meta['city'] == 'Oslo'", "n['x'] == 2"}) {
    auto f = Filter::Parse(expr, fields);
    ASSERT_TRUE(f.ok()) << expr << f.status().message();
    EXPECT_TRUE((*f)->Matches(row)) << expr;
  }
  auto f = Filter::Parse("city == 'Bergen'", fields);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE((*f)->Matches(row));
}

TEST(FilterTest, MissingValuesAreFalse) {
  struct EmptyRow : FilterRow {
    FilterValue Get(int) const override { return std::monostate(); }
  } row;
  for (const char* expr :
       {"label == 0", "label != 0", "name like '%'", "label in [0]", "label not in [0]", "flag",
        "meta['a'] == 1", "0 < price < 1", "json_contains(meta['t'], 1)"}) {
    auto f = MustParse(expr);
    ASSERT_NE(f, nullptr);
    EXPECT_FALSE(f->Matches(row)) << expr;
  }
}

using Keys = std::vector<Filter::Key>;

std::optional<Keys> KeysOf(std::string_view expr, int field) {
  auto f = MustParse(expr);
  if (f == nullptr) return Keys{Filter::Key("parse failed")};
  return f->KeysOf(field);
}

TEST(FilterTest, KeysOfPrimaryKeyLookups) {
  EXPECT_EQ(KeysOf("id == 5", kId), Keys{int64_t{5}});
  EXPECT_EQ(KeysOf("5 == id", kId), Keys{int64_t{5}});
  EXPECT_EQ(KeysOf("(id == -5)", kId), Keys{int64_t{-5}});
  EXPECT_EQ(KeysOf("id in [3, 1, 3, 2]", kId), (Keys{int64_t{3}, int64_t{1}, int64_t{2}}));
  EXPECT_EQ(KeysOf("id in []", kId), Keys{});
  EXPECT_EQ(KeysOf("name == 'a'", kName), Keys{std::string("a")});
  EXPECT_EQ(KeysOf("name in ['a', 'b']", kName), (Keys{std::string("a"), std::string("b")}));
  EXPECT_EQ(KeysOf("id == 5", kLabel), std::nullopt);
  EXPECT_EQ(KeysOf("id != 5", kId), std::nullopt);
  EXPECT_EQ(KeysOf("id not in [5]", kId), std::nullopt);
  EXPECT_EQ(KeysOf("id == 5 and flag", kId), std::nullopt);
  EXPECT_EQ(KeysOf("id == 5 or id == 6", kId), std::nullopt);
  EXPECT_EQ(KeysOf("id == label", kId), std::nullopt);
  EXPECT_EQ(KeysOf("id + 0 == 5", kId), std::nullopt);
  EXPECT_EQ(KeysOf("flag == true", kFlag), std::nullopt);
  EXPECT_EQ(KeysOf("flag in [true]", kFlag), std::nullopt);
  EXPECT_EQ(KeysOf("meta['a'] == 1", kMeta), std::nullopt);
  EXPECT_EQ(KeysOf("price == 1.5", kPrice), std::nullopt);
  EXPECT_EQ(KeysOf("id == 2 * 3", kId), Keys{int64_t{6}});
}

}  // namespace
}  // namespace skyway::vectordb
