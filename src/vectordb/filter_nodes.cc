// The compiled filter tree: one node class per construct, each evaluating its children once.
#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "vectordb/filter_internal.h"

namespace skyway::vectordb::filter_internal {

namespace {

using Kind = Value::Kind;

int DepthOf(const NodePtr& a) { return a->depth() + 1; }
int DepthOf(const NodePtr& a, const NodePtr& b) { return std::max(a->depth(), b->depth()) + 1; }

class LiteralNode : public Node {
 public:
  explicit LiteralNode(Scalar v) : Node(TyOf(v), 1), v_(std::move(v)) {}
  Value Eval(const FilterRow&) const override { return ValueOf(v_); }
  const Scalar* Literal() const override { return &v_; }

 private:
  Scalar v_;
};

// A plain (non-JSON) field. Bool fields may come as int64_t; other kinds pass through.
class FieldNode : public Node {
 public:
  FieldNode(int index, Ty ty) : Node(ty, 1), index_(index) {}
  int PlainField() const override { return index_; }
  Value Eval(const FilterRow& row) const override {
    FilterValue v = row.Get(index_);
    switch (v.index()) {
      case 1:
        return Value::Bool(std::get<bool>(v));
      case 2: {
        int64_t i = std::get<int64_t>(v);
        return ty() == Ty::kBool ? Value::Bool(i != 0) : Value::Int(i);
      }
      case 3:
        return Value::Double(std::get<double>(v));
      case 4:
        return Value::String(std::get<std::string_view>(v));
      default:
        return {};
    }
  }

 private:
  int index_;
};

// A JSON field, or a path into one: field["key"][0].
class JsonPathNode : public Node {
 public:
  JsonPathNode(int index, std::vector<PathStep> steps)
      : Node(Ty::kJson, 1), index_(index), steps_(std::move(steps)) {}
  Value Eval(const FilterRow& row) const override {
    FilterValue v = row.Get(index_);
    const auto* const* doc = std::get_if<const nlohmann::json*>(&v);
    if (doc == nullptr || *doc == nullptr) return {};
    const nlohmann::json* j = *doc;
    for (const PathStep& step : steps_) {
      if (const auto* key = std::get_if<std::string>(&step)) {
        if (!j->is_object()) return {};
        auto it = j->find(*key);
        if (it == j->end()) return {};
        j = &*it;
      } else {
        int64_t at = std::get<int64_t>(step);
        if (!j->is_array() || at < 0 || static_cast<uint64_t>(at) >= j->size()) return {};
        j = &(*j)[static_cast<size_t>(at)];
      }
    }
    return FromJson(*j);
  }

 private:
  int index_;
  std::vector<PathStep> steps_;
};

// A child node whose value is read without a virtual call when it is a literal (the common
// `field op literal`).
class Operand {
 public:
  explicit Operand(NodePtr node) : node_(std::move(node)) {
    if (node_->Literal() != nullptr) literal_ = ValueOf(*node_->Literal());
  }
  Value Eval(const FilterRow& row) const {
    return literal_.kind != Kind::kNull ? literal_ : node_->Eval(row);
  }
  const Node* operator->() const { return node_.get(); }
  const Node* get() const { return node_.get(); }

 private:
  NodePtr node_;
  Value literal_;  // points into *node_ when a string
};

class ArithNode : public Node {
 public:
  ArithNode(ArithOp op, NodePtr a, NodePtr b)
      : Node(ResultTy(a->ty(), b->ty()), DepthOf(a, b)),
        op_(op),
        a_(std::move(a)),
        b_(std::move(b)) {}
  Value Eval(const FilterRow& row) const override {
    return ArithValues(op_, a_.Eval(row), b_.Eval(row));
  }

 private:
  static Ty ResultTy(Ty a, Ty b) {
    if (a == Ty::kJson || b == Ty::kJson) return Ty::kJson;
    return a == Ty::kInt && b == Ty::kInt ? Ty::kInt : Ty::kFloat;
  }
  ArithOp op_;
  Operand a_, b_;
};

class NegateNode : public Node {
 public:
  explicit NegateNode(NodePtr a) : Node(a->ty(), DepthOf(a)), a_(std::move(a)) {}
  Value Eval(const FilterRow& row) const override { return NegateValue(a_->Eval(row)); }

 private:
  NodePtr a_;
};

// A node whose value is a boolean: Eval is Test.
class PredicateNode : public Node {
 public:
  explicit PredicateNode(int depth) : Node(Ty::kBool, depth) {}
  Value Eval(const FilterRow& row) const final { return Value::Bool(Test(row)); }
};

// The key a literal gives for a field of type ty, if any.
std::optional<Filter::Key> KeyFor(Ty ty, const Scalar& v) {
  if (ty == Ty::kString) {
    if (const auto* s = std::get_if<std::string>(&v)) return Filter::Key(*s);
    return std::nullopt;
  }
  if (ty != Ty::kInt) return std::nullopt;
  if (const auto* i = std::get_if<int64_t>(&v)) return Filter::Key(*i);
  if (const auto* d = std::get_if<double>(&v)) {
    if (*d == std::trunc(*d) && *d >= -9223372036854775808.0 && *d < 9223372036854775808.0) {
      return Filter::Key(static_cast<int64_t>(*d));
    }
  }
  return std::nullopt;
}

class CompareNode : public PredicateNode {
 public:
  CompareNode(CmpOp op, NodePtr a, NodePtr b)
      : PredicateNode(DepthOf(a, b)), op_(op), a_(std::move(a)), b_(std::move(b)) {}
  bool Test(const FilterRow& row) const override {
    return CompareValues(op_, a_.Eval(row), b_.Eval(row));
  }
  std::optional<std::vector<Filter::Key>> KeysOf(int field_index) const override {
    if (op_ != CmpOp::kEq) return std::nullopt;
    const Node* field = a_->PlainField() == field_index ? a_.get() : b_.get();
    const Node* other = field == a_.get() ? b_.get() : a_.get();
    if (field->PlainField() != field_index || other->Literal() == nullptr) return std::nullopt;
    auto key = KeyFor(field->ty(), *other->Literal());
    if (!key) return std::nullopt;
    return std::vector<Filter::Key>{std::move(*key)};
  }

 private:
  CmpOp op_;
  Operand a_, b_;
};

class RangeNode : public PredicateNode {
 public:
  RangeNode(Scalar lo, bool lo_inclusive, NodePtr x, Scalar hi, bool hi_inclusive)
      : PredicateNode(DepthOf(x)),
        lo_(std::move(lo)),
        hi_(std::move(hi)),
        lo_op_(lo_inclusive ? CmpOp::kGe : CmpOp::kGt),
        hi_op_(hi_inclusive ? CmpOp::kLe : CmpOp::kLt),
        x_(std::move(x)) {}
  bool Test(const FilterRow& row) const override {
    Value v = x_->Eval(row);
    return CompareValues(lo_op_, v, ValueOf(lo_)) && CompareValues(hi_op_, v, ValueOf(hi_));
  }

 private:
  Scalar lo_, hi_;
  CmpOp lo_op_, hi_op_;
  NodePtr x_;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

// `x in [...]`: hash sets per kind; integral doubles are kept with the ints.
class InNode : public PredicateNode {
 public:
  InNode(NodePtr x, std::vector<Scalar> list, bool negated)
      : PredicateNode(DepthOf(x)), x_(std::move(x)), list_(std::move(list)), negated_(negated) {
    for (const Scalar& v : list_) Add(v);
  }
  bool Test(const FilterRow& row) const override {
    Value v = x_->Eval(row);
    if (v.kind == Kind::kNull || v.kind == Kind::kJson) return false;  // cannot be evaluated
    return Contains(v) != negated_;
  }
  std::optional<std::vector<Filter::Key>> KeysOf(int field_index) const override {
    if (negated_ || x_->PlainField() != field_index) return std::nullopt;
    if (x_->ty() != Ty::kInt && x_->ty() != Ty::kString) return std::nullopt;
    std::vector<Filter::Key> keys;
    for (const Scalar& v : list_) {
      auto key = KeyFor(x_->ty(), v);
      if (!key) continue;  // a value no row of that type can have
      if (std::find(keys.begin(), keys.end(), *key) == keys.end()) keys.push_back(*key);
    }
    return keys;
  }

 private:
  static std::optional<int64_t> Integral(double d) {
    if (d != std::trunc(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0) {
      return std::nullopt;
    }
    return static_cast<int64_t>(d);
  }
  void Add(const Scalar& v) {
    switch (v.index()) {
      case 0:
        (std::get<bool>(v) ? has_true_ : has_false_) = true;
        break;
      case 1:
        ints_.insert(std::get<int64_t>(v));
        break;
      case 2:
        if (auto i = Integral(std::get<double>(v))) {
          ints_.insert(*i);
        } else if (!std::isnan(std::get<double>(v))) {
          reals_.insert(std::get<double>(v));
        }
        break;
      default:
        strings_.insert(std::get<std::string>(v));
    }
  }
  bool Contains(const Value& v) const {
    switch (v.kind) {
      case Kind::kBool:
        return v.b ? has_true_ : has_false_;
      case Kind::kInt:
        return ints_.count(v.i) != 0;
      case Kind::kDouble:
        if (auto i = Integral(v.d)) return ints_.count(*i) != 0;
        return reals_.count(v.d) != 0;
      case Kind::kString:
        return strings_.find(v.s) != strings_.end();
      default:
        return false;
    }
  }

  NodePtr x_;
  std::vector<Scalar> list_;
  bool negated_;
  bool has_true_ = false, has_false_ = false;
  std::unordered_set<int64_t> ints_;
  std::unordered_set<double> reals_;
  std::unordered_set<std::string, StringHash, std::equal_to<>> strings_;
};

class LikeNode : public PredicateNode {
 public:
  LikeNode(NodePtr x, std::string_view pattern)
      : PredicateNode(DepthOf(x)), x_(std::move(x)), pattern_(pattern) {}
  bool Test(const FilterRow& row) const override {
    Value v = x_->Eval(row);
    return v.kind == Kind::kString && pattern_.Matches(v.s);
  }

 private:
  NodePtr x_;
  LikePattern pattern_;
};

int MaxDepth(const std::vector<NodePtr>& operands) {
  int depth = 0;
  for (const NodePtr& n : operands) depth = std::max(depth, n->depth());
  return depth + 1;
}

class LogicNode : public PredicateNode {
 public:
  LogicNode(bool is_and, std::vector<NodePtr> operands)
      : PredicateNode(MaxDepth(operands)), is_and_(is_and), operands_(std::move(operands)) {}
  bool Test(const FilterRow& row) const override {
    for (const NodePtr& n : operands_) {
      if (n->Test(row) != is_and_) return !is_and_;
    }
    return is_and_;
  }

 private:
  bool is_and_;
  std::vector<NodePtr> operands_;
};

class NotNode : public PredicateNode {
 public:
  explicit NotNode(NodePtr a) : PredicateNode(DepthOf(a)), a_(std::move(a)) {}
  bool Test(const FilterRow& row) const override { return !a_->Test(row); }

 private:
  NodePtr a_;
};

// json_contains / _all / _any: whether a JSON array holds the values.
class ContainsNode : public PredicateNode {
 public:
  ContainsNode(Contains mode, NodePtr json, std::vector<Scalar> values)
      : PredicateNode(DepthOf(json)),
        mode_(mode),
        json_(std::move(json)),
        values_(std::move(values)) {}
  bool Test(const FilterRow& row) const override {
    Value v = json_->Eval(row);
    if (v.kind != Kind::kJson || !v.j->is_array()) return false;
    for (const Scalar& want : values_) {
      bool found = Holds(*v.j, ValueOf(want));
      if (found && mode_ != Contains::kAll) return true;
      if (!found && mode_ == Contains::kAll) return false;
    }
    return mode_ == Contains::kAll;
  }

 private:
  static bool Holds(const nlohmann::json& array, const Value& want) {
    for (const nlohmann::json& e : array) {
      if (CompareValues(CmpOp::kEq, FromJson(e), want)) return true;
    }
    return false;
  }
  Contains mode_;
  NodePtr json_;
  std::vector<Scalar> values_;
};

}  // namespace

NodePtr MakeLiteral(Scalar value) { return std::make_unique<LiteralNode>(std::move(value)); }
NodePtr MakeField(int field_index, Ty ty) { return std::make_unique<FieldNode>(field_index, ty); }
NodePtr MakeJsonPath(int field_index, std::vector<PathStep> steps) {
  return std::make_unique<JsonPathNode>(field_index, std::move(steps));
}
NodePtr MakeArith(ArithOp op, NodePtr a, NodePtr b) {
  return std::make_unique<ArithNode>(op, std::move(a), std::move(b));
}
NodePtr MakeNegate(NodePtr a) { return std::make_unique<NegateNode>(std::move(a)); }
NodePtr MakeCompare(CmpOp op, NodePtr a, NodePtr b) {
  return std::make_unique<CompareNode>(op, std::move(a), std::move(b));
}
NodePtr MakeRange(Scalar lo, bool lo_inclusive, NodePtr x, Scalar hi, bool hi_inclusive) {
  return std::make_unique<RangeNode>(std::move(lo), lo_inclusive, std::move(x), std::move(hi),
                                     hi_inclusive);
}
NodePtr MakeIn(NodePtr x, std::vector<Scalar> list, bool negated) {
  return std::make_unique<InNode>(std::move(x), std::move(list), negated);
}
NodePtr MakeLike(NodePtr x, std::string_view pattern) {
  return std::make_unique<LikeNode>(std::move(x), pattern);
}
NodePtr MakeLogic(bool is_and, std::vector<NodePtr> operands) {
  if (operands.size() == 1) return std::move(operands[0]);
  return std::make_unique<LogicNode>(is_and, std::move(operands));
}
NodePtr MakeNot(NodePtr a) { return std::make_unique<NotNode>(std::move(a)); }
NodePtr MakeContains(Contains mode, NodePtr json, std::vector<Scalar> values) {
  return std::make_unique<ContainsNode>(mode, std::move(json), std::move(values));
}

}  // namespace skyway::vectordb::filter_internal
