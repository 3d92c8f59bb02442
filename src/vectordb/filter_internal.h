// Private to the filter implementation (filter*.cc): the tokens, the evaluation-time values and
// the compiled expression tree. The parser type-checks; the nodes evaluate without checks and
// treat anything they cannot evaluate (absent JSON key, division by zero) as "no value".
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vectordb/filter.h"

namespace skyway::vectordb::filter_internal {

constexpr size_t kMaxText = 64 * 1024;
constexpr int kMaxDepth = 256;

// ---- Tokens ---------------------------------------------------------------------------------

enum class Tok {
  kEnd,
  kInt,
  kFloat,
  kString,
  kIdent,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPercent,
  kBang,
  kAndAnd,
  kOrOr,
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t offset = 0;
  std::string_view text;   // as written (for identifiers and messages)
  uint64_t int_value = 0;  // kInt: magnitude (up to 2^63, so that -9223372036854775808 parses)
  double float_value = 0;
  std::string str;  // kString: the value with escapes resolved
};

// The error every parse failure returns: `filter parse error at <offset>: <what> in "<expr>"`.
Status ParseError(std::string_view expr, size_t offset, std::string_view what);

// Splits expr into tokens, ending with one kEnd token.
Result<std::vector<Token>> Lex(std::string_view expr);

// ---- Values ---------------------------------------------------------------------------------

// The static type of an expression, known at parse time. kJson: typed only at evaluation time.
enum class Ty { kBool, kInt, kFloat, kString, kJson };
const char* TyName(Ty ty);
inline bool IsNumeric(Ty ty) { return ty == Ty::kInt || ty == Ty::kFloat; }

// A value during evaluation. Strings point into the row, the JSON document or a literal node.
struct Value {
  enum class Kind : uint8_t { kNull, kBool, kInt, kDouble, kString, kJson };
  Kind kind = Kind::kNull;
  union {
    bool b;
    int64_t i;
    double d;
    const nlohmann::json* j;
  };
  std::string_view s;

  Value() : i(0) {}
  static Value Bool(bool v) {
    Value r;
    r.kind = Kind::kBool;
    r.b = v;
    return r;
  }
  static Value Int(int64_t v) {
    Value r;
    r.kind = Kind::kInt;
    r.i = v;
    return r;
  }
  static Value Double(double v) {
    Value r;
    r.kind = Kind::kDouble;
    r.d = v;
    return r;
  }
  static Value String(std::string_view v) {
    Value r;
    r.kind = Kind::kString;
    r.s = v;
    return r;
  }
  static Value Json(const nlohmann::json* v) {
    Value r;
    r.kind = Kind::kJson;
    r.j = v;
    return r;
  }
  bool IsTrue() const { return kind == Kind::kBool && b; }
};

// A literal as the parser holds it.
using Scalar = std::variant<bool, int64_t, double, std::string>;
Value ValueOf(const Scalar& scalar);  // points into scalar when it is a string
Ty TyOf(const Scalar& scalar);
// A JSON value as a Value: numbers, strings and booleans become scalars; null becomes kNull;
// objects and arrays stay kJson.
Value FromJson(const nlohmann::json& json);

enum class CmpOp { kEq, kNe, kLt, kLe, kGt, kGe };
enum class ArithOp { kAdd, kSub, kMul, kDiv, kMod };
const char* CmpOpName(CmpOp op);

bool CompareValues(CmpOp op, const Value& a, const Value& b);
// kNull when the operation cannot be done (non-numbers, division by zero, int64 overflow).
Value ArithValues(ArithOp op, const Value& a, const Value& b);
Value NegateValue(const Value& a);

// A compiled `like` pattern: % matches any run, _ one character (UTF-8 code point); a backslash
// before %, _ or another backslash makes it match itself. The match is anchored at both ends.
class LikePattern {
 public:
  explicit LikePattern(std::string_view pattern);
  bool Matches(std::string_view s) const;

 private:
  enum class Part : uint8_t { kText, kOne, kAny };
  struct Piece {
    Part part;
    std::string text;
  };
  std::vector<Piece> pieces_;
};

// ---- The expression tree ---------------------------------------------------------------------

class Node {
 public:
  Node(Ty ty, int depth) : ty_(ty), depth_(depth) {}
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  virtual Value Eval(const FilterRow& row) const = 0;
  // Eval as a predicate: only a boolean true is true.
  virtual bool Test(const FilterRow& row) const { return Eval(row).IsTrue(); }
  // A literal's value (after constant folding), or null.
  virtual const Scalar* Literal() const { return nullptr; }
  // The field index of a plain reference to a non-JSON field, or -1.
  virtual int PlainField() const { return -1; }
  virtual std::optional<std::vector<Filter::Key>> KeysOf(int /*field_index*/) const {
    return std::nullopt;
  }

  Ty ty() const { return ty_; }
  int depth() const { return depth_; }

 private:
  Ty ty_;
  int depth_;  // height of the tree below and including this node
};
using NodePtr = std::unique_ptr<Node>;

using PathStep = std::variant<std::string, int64_t>;

// Factories. They do not type-check; the parser does.
NodePtr MakeLiteral(Scalar value);
NodePtr MakeField(int field_index, Ty ty);
NodePtr MakeJsonPath(int field_index, std::vector<PathStep> steps);
NodePtr MakeArith(ArithOp op, NodePtr a, NodePtr b);
NodePtr MakeNegate(NodePtr a);
NodePtr MakeCompare(CmpOp op, NodePtr a, NodePtr b);
// lo <(=) x <(=) hi.
NodePtr MakeRange(Scalar lo, bool lo_inclusive, NodePtr x, Scalar hi, bool hi_inclusive);
NodePtr MakeIn(NodePtr x, std::vector<Scalar> list, bool negated);
NodePtr MakeLike(NodePtr x, std::string_view pattern);
NodePtr MakeLogic(bool is_and, std::vector<NodePtr> operands);
NodePtr MakeNot(NodePtr a);
enum class Contains { kOne, kAll, kAny };
NodePtr MakeContains(Contains mode, NodePtr json, std::vector<Scalar> values);

// The tree for expr: a boolean expression over fields, type-checked.
Result<NodePtr> ParseFilter(std::string_view expr, const std::vector<FilterField>& fields);

// Evaluates a constant subtree (one without field references); nullopt when it has no value.
std::optional<Scalar> FoldConstant(const Node& node);

}  // namespace skyway::vectordb::filter_internal
