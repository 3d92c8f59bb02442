// Values of the filter language: conversions, comparison, arithmetic and `like` matching.
#include <cmath>
#include <limits>

#include "vectordb/filter_internal.h"

namespace skyway::vectordb::filter_internal {

namespace {

using Kind = Value::Kind;

bool IsNum(const Value& v) { return v.kind == Kind::kInt || v.kind == Kind::kDouble; }
double AsDouble(const Value& v) { return v.kind == Kind::kInt ? static_cast<double>(v.i) : v.d; }

template <typename T>
int Sign(T a, T b) {
  return (a > b) - (a < b);
}

// The order of an int64 and a double, exact also beyond 2^53; nullopt for NaN.
std::optional<int> OrderIntDouble(int64_t i, double d) {
  if (std::isnan(d)) return std::nullopt;
  constexpr double kTwo63 = 9223372036854775808.0;
  if (d >= kTwo63) return -1;
  if (d < -kTwo63) return 1;
  double whole = std::trunc(d);
  auto t = static_cast<int64_t>(whole);
  if (i != t) return Sign(i, t);
  return Sign(0.0, d - whole);
}

// -1, 0 or 1; nullopt when a and b are not comparable (other kinds, NaN, no value).
std::optional<int> Order(const Value& a, const Value& b) {
  if (a.kind == Kind::kInt && b.kind == Kind::kInt) return Sign(a.i, b.i);
  if (a.kind == Kind::kDouble && b.kind == Kind::kDouble) {
    if (std::isnan(a.d) || std::isnan(b.d)) return std::nullopt;
    return Sign(a.d, b.d);
  }
  if (a.kind == Kind::kInt && b.kind == Kind::kDouble) return OrderIntDouble(a.i, b.d);
  if (a.kind == Kind::kDouble && b.kind == Kind::kInt) {
    auto o = OrderIntDouble(b.i, a.d);
    if (!o) return std::nullopt;
    return -*o;
  }
  if (a.kind == Kind::kString && b.kind == Kind::kString) return Sign(a.s.compare(b.s), 0);
  if (a.kind == Kind::kBool && b.kind == Kind::kBool) return Sign<int>(a.b, b.b);
  return std::nullopt;
}

Value IntArith(ArithOp op, int64_t a, int64_t b) {
  int64_t r = 0;
  switch (op) {
    case ArithOp::kAdd:
      if (__builtin_add_overflow(a, b, &r)) return {};
      return Value::Int(r);
    case ArithOp::kSub:
      if (__builtin_sub_overflow(a, b, &r)) return {};
      return Value::Int(r);
    case ArithOp::kMul:
      if (__builtin_mul_overflow(a, b, &r)) return {};
      return Value::Int(r);
    case ArithOp::kDiv:
      if (b == 0 || (a == std::numeric_limits<int64_t>::min() && b == -1)) return {};
      return Value::Int(a / b);
    case ArithOp::kMod:
      if (b == 0) return {};
      if (b == -1) return Value::Int(0);  // INT64_MIN % -1 traps on x86
      return Value::Int(a % b);
  }
  return {};
}

Value DoubleArith(ArithOp op, double a, double b) {
  switch (op) {
    case ArithOp::kAdd:
      return Value::Double(a + b);
    case ArithOp::kSub:
      return Value::Double(a - b);
    case ArithOp::kMul:
      return Value::Double(a * b);
    case ArithOp::kDiv:
      if (b == 0) return {};
      return Value::Double(a / b);
    case ArithOp::kMod:
      if (b == 0) return {};
      return Value::Double(std::fmod(a, b));
  }
  return {};
}

// The index after the UTF-8 character that starts at i.
size_t NextChar(std::string_view s, size_t i) {
  ++i;
  while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  return i;
}

}  // namespace

const char* TyName(Ty ty) {
  switch (ty) {
    case Ty::kBool:
      return "boolean";
    case Ty::kInt:
      return "integer";
    case Ty::kFloat:
      return "float";
    case Ty::kString:
      return "string";
    case Ty::kJson:
      return "JSON";
  }
  return "?";
}

const char* CmpOpName(CmpOp op) {
  static const char* const kNames[] = {"==", "!=", "<", "<=", ">", ">="};
  return kNames[static_cast<int>(op)];
}

Value ValueOf(const Scalar& scalar) {
  switch (scalar.index()) {
    case 0:
      return Value::Bool(std::get<bool>(scalar));
    case 1:
      return Value::Int(std::get<int64_t>(scalar));
    case 2:
      return Value::Double(std::get<double>(scalar));
    default:
      return Value::String(std::get<std::string>(scalar));
  }
}

Ty TyOf(const Scalar& scalar) {
  static const Ty kTypes[] = {Ty::kBool, Ty::kInt, Ty::kFloat, Ty::kString};
  return kTypes[scalar.index()];
}

Value FromJson(const nlohmann::json& json) {
  using T = nlohmann::json::value_t;
  switch (json.type()) {
    case T::boolean:
      return Value::Bool(json.get<bool>());
    case T::number_integer:
      return Value::Int(json.get<int64_t>());
    case T::number_unsigned: {
      auto u = json.get<uint64_t>();
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Value::Int(static_cast<int64_t>(u));
      }
      return Value::Double(static_cast<double>(u));
    }
    case T::number_float:
      return Value::Double(json.get<double>());
    case T::string:
      return Value::String(json.get_ref<const std::string&>());
    case T::object:
    case T::array:
      return Value::Json(&json);
    default:
      return {};
  }
}

bool CompareValues(CmpOp op, const Value& a, const Value& b) {
  std::optional<int> order = Order(a, b);
  if (!order) return false;
  bool ordering = op != CmpOp::kEq && op != CmpOp::kNe;
  if (ordering && a.kind == Kind::kBool) return false;
  switch (op) {
    case CmpOp::kEq:
      return *order == 0;
    case CmpOp::kNe:
      return *order != 0;
    case CmpOp::kLt:
      return *order < 0;
    case CmpOp::kLe:
      return *order <= 0;
    case CmpOp::kGt:
      return *order > 0;
    case CmpOp::kGe:
      return *order >= 0;
  }
  return false;
}

Value ArithValues(ArithOp op, const Value& a, const Value& b) {
  if (a.kind == Kind::kInt && b.kind == Kind::kInt) return IntArith(op, a.i, b.i);
  if (IsNum(a) && IsNum(b)) return DoubleArith(op, AsDouble(a), AsDouble(b));
  return {};
}

Value NegateValue(const Value& a) {
  if (a.kind == Kind::kInt) {
    if (a.i == std::numeric_limits<int64_t>::min()) return {};
    return Value::Int(-a.i);
  }
  if (a.kind == Kind::kDouble) return Value::Double(-a.d);
  return {};
}

LikePattern::LikePattern(std::string_view pattern) {
  std::string text;
  auto flush = [&] {
    if (!text.empty()) pieces_.push_back({Part::kText, std::move(text)});
    text.clear();
  };
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size() &&
        (pattern[i + 1] == '%' || pattern[i + 1] == '_' || pattern[i + 1] == '\\')) {
      text += pattern[++i];
    } else if (c == '%') {
      flush();
      if (pieces_.empty() || pieces_.back().part != Part::kAny) pieces_.push_back({Part::kAny, ""});
    } else if (c == '_') {
      flush();
      pieces_.push_back({Part::kOne, ""});
    } else {
      text += c;
    }
  }
  flush();
}

// Greedy matching that backtracks only to the last %: O(len(s) * pieces) at worst, no recursion.
bool LikePattern::Matches(std::string_view s) const {
  const size_t n = pieces_.size();
  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t p = 0, i = 0, star_p = kNone, star_i = 0;
  while (true) {
    if (p < n && pieces_[p].part == Part::kAny) {
      star_p = ++p;
      star_i = i;
      if (p == n) return true;  // a trailing % takes the rest
      continue;
    }
    if (p == n) {
      if (i == s.size()) return true;
    } else if (pieces_[p].part == Part::kText) {
      if (s.substr(i).starts_with(pieces_[p].text)) {
        i += pieces_[p].text.size();
        ++p;
        continue;
      }
    } else if (i < s.size()) {  // kOne
      i = NextChar(s, i);
      ++p;
      continue;
    }
    if (star_p == kNone || star_i >= s.size()) return false;
    star_i = NextChar(s, star_i);
    i = star_i;
    p = star_p;
  }
}

namespace {
class NoRow : public FilterRow {
 public:
  FilterValue Get(int) const override { return std::monostate(); }
};
}  // namespace

std::optional<Scalar> FoldConstant(const Node& node) {
  static const NoRow kNoRow;
  Value v = node.Eval(kNoRow);
  switch (v.kind) {
    case Kind::kBool:
      return Scalar(v.b);
    case Kind::kInt:
      return Scalar(v.i);
    case Kind::kDouble:
      return Scalar(v.d);
    case Kind::kString:
      return Scalar(std::string(v.s));
    default:
      return std::nullopt;
  }
}

}  // namespace skyway::vectordb::filter_internal
