// Recursive-descent parser of the filter language. Precedence, lowest first: or, and, not,
// comparisons / in / like, + -, * / %, unary minus, primary. Types are checked as nodes are
// built, so evaluation needs no checks. Recursion is bounded by kMaxDepth.
#include <limits>

#include "vectordb/filter_internal.h"

namespace skyway::vectordb::filter_internal {

namespace {

Ty TyOfField(DataType type) {
  switch (type) {
    case DataType::kBool:
      return Ty::kBool;
    case DataType::kFloat:
    case DataType::kDouble:
      return Ty::kFloat;
    case DataType::kVarChar:
      return Ty::kString;
    case DataType::kJson:
      return Ty::kJson;
    default:
      return Ty::kInt;
  }
}

std::optional<CmpOp> CmpOpOf(Tok kind) {
  switch (kind) {
    case Tok::kEq:
      return CmpOp::kEq;
    case Tok::kNe:
      return CmpOp::kNe;
    case Tok::kLt:
      return CmpOp::kLt;
    case Tok::kLe:
      return CmpOp::kLe;
    case Tok::kGt:
      return CmpOp::kGt;
    case Tok::kGe:
      return CmpOp::kGe;
    default:
      return std::nullopt;
  }
}

// Counts one level of nesting for as long as it lives.
class Nest {
 public:
  explicit Nest(int* depth) : depth_(depth) { ++*depth_; }
  ~Nest() { --*depth_; }
  bool too_deep() const { return *depth_ > kMaxDepth; }

 private:
  int* depth_;
};

constexpr std::string_view kTooDeep = "expression nests deeper than 256 levels";

class Parser {
 public:
  Parser(std::string_view expr, std::vector<Token> tokens, const std::vector<FilterField>& fields)
      : expr_(expr), tokens_(std::move(tokens)), fields_(fields) {}

  Result<NodePtr> Run() {
    if (Peek().kind == Tok::kEnd) return ErrorAt(Peek(), "empty filter expression");
    ASSIGN_OR_RETURN(NodePtr root, ParseOr());
    if (Peek().kind != Tok::kEnd) {
      return ErrorAt(Peek(), "expected end of input but found " + Describe(Peek()));
    }
    RETURN_IF_ERROR(CheckBoolean(*root, tokens_[0], "the filter"));
    return root;
  }

 private:
  // ---- Token access ----
  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& Take() {
    const Token& t = Peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  static bool IsKeyword(const Token& t, std::string_view keyword) {
    return t.kind == Tok::kIdent && EqualsIgnoreCase(t.text, keyword);
  }
  bool Accept(Tok kind) {
    if (Peek().kind != kind) return false;
    Take();
    return true;
  }
  static std::string Describe(const Token& t) {
    if (t.kind == Tok::kEnd) return "end of input";
    std::string_view text = t.text.substr(0, 40);
    return "'" + std::string(text) + (t.text.size() > 40 ? "...'" : "'");
  }
  Status ErrorAt(const Token& t, std::string_view what) const {
    return ParseError(expr_, t.offset, what);
  }
  Status Expect(Tok kind, std::string_view what) {
    if (Accept(kind)) return Status::Ok();
    return ErrorAt(Peek(), "expected " + std::string(what) + " but found " + Describe(Peek()));
  }

  // ---- Checks ----
  Status CheckBoolean(const Node& n, const Token& at, std::string_view what) const {
    if (n.ty() == Ty::kBool || n.ty() == Ty::kJson) return Status::Ok();
    return ErrorAt(at, std::string(what) + " needs a boolean, not " + TyName(n.ty()));
  }
  Status CheckComparable(Ty a, Ty b, CmpOp op, const Token& at) const {
    if (a == Ty::kJson || b == Ty::kJson || (IsNumeric(a) && IsNumeric(b))) return Status::Ok();
    if (a == b && a == Ty::kString) return Status::Ok();
    if (a == b && a == Ty::kBool) {
      if (op == CmpOp::kEq || op == CmpOp::kNe) return Status::Ok();
      return ErrorAt(at, std::string("operator ") + CmpOpName(op) + " is not defined on booleans");
    }
    return ErrorAt(at, std::string("cannot compare ") + TyName(a) + " with " + TyName(b));
  }
  Status CheckNumeric(const Node& n, const Token& at) const {
    if (IsNumeric(n.ty()) || n.ty() == Ty::kJson) return Status::Ok();
    return ErrorAt(
        at, "arithmetic '" + std::string(at.text) + "' needs numbers, not " + TyName(n.ty()));
  }
  Result<NodePtr> Limit(NodePtr n, const Token& at) const {
    if (n->depth() > kMaxDepth) return ErrorAt(at, kTooDeep);
    return n;
  }

  // ---- Boolean levels ----
  Result<NodePtr> ParseOr() {
    Nest nest(&depth_);
    if (nest.too_deep()) return ErrorAt(Peek(), kTooDeep);
    return ParseLogic(/*is_and=*/false);
  }

  Result<NodePtr> ParseLogic(bool is_and) {
    std::vector<NodePtr> operands;
    std::vector<const Token*> starts;
    while (true) {
      starts.push_back(&Peek());
      ASSIGN_OR_RETURN(NodePtr n, is_and ? ParseNot() : ParseLogic(true));
      operands.push_back(std::move(n));
      const Token& op = Peek();
      bool more = is_and ? (op.kind == Tok::kAndAnd || IsKeyword(op, "and"))
                         : (op.kind == Tok::kOrOr || IsKeyword(op, "or"));
      if (!more) break;
      Take();
    }
    if (operands.size() == 1) return std::move(operands[0]);
    for (size_t i = 0; i < operands.size(); ++i) {
      RETURN_IF_ERROR(CheckBoolean(*operands[i], *starts[i], is_and ? "'and'" : "'or'"));
    }
    return Limit(MakeLogic(is_and, std::move(operands)), *starts[0]);
  }

  Result<NodePtr> ParseNot() {
    const Token& op = Peek();
    if (!IsKeyword(op, "not") && op.kind != Tok::kBang) return ParseComparison();
    Take();
    Nest nest(&depth_);
    if (nest.too_deep()) return ErrorAt(op, kTooDeep);
    ASSIGN_OR_RETURN(NodePtr a, ParseNot());
    RETURN_IF_ERROR(CheckBoolean(*a, op, "'not'"));
    return Limit(MakeNot(std::move(a)), op);
  }

  // ---- Predicates ----
  Result<NodePtr> ParseComparison() {
    ASSIGN_OR_RETURN(NodePtr a, ParseAdditive());
    const Token& op = Peek();
    if (auto cmp = CmpOpOf(op.kind)) {
      Take();
      return ParseCompareRest(std::move(a), *cmp, op);
    }
    if (IsKeyword(op, "in")) {
      Take();
      return ParseIn(std::move(a), /*negated=*/false, op);
    }
    if (IsKeyword(op, "not") && IsKeyword(Peek(1), "in")) {
      Take();
      Take();
      return ParseIn(std::move(a), /*negated=*/true, op);
    }
    if (IsKeyword(op, "like")) {
      Take();
      return ParseLike(std::move(a), op);
    }
    return a;
  }

  Result<NodePtr> ParseCompareRest(NodePtr a, CmpOp op, const Token& at) {
    ASSIGN_OR_RETURN(NodePtr b, ParseAdditive());
    RETURN_IF_ERROR(CheckComparable(a->ty(), b->ty(), op, at));
    const Token& next = Peek();
    std::optional<CmpOp> op2 = CmpOpOf(next.kind);
    if (!op2) return Limit(MakeCompare(op, std::move(a), std::move(b)), at);
    Take();
    ASSIGN_OR_RETURN(NodePtr c, ParseAdditive());
    auto is_less = [](CmpOp o) { return o == CmpOp::kLt || o == CmpOp::kLe; };
    auto is_greater = [](CmpOp o) { return o == CmpOp::kGt || o == CmpOp::kGe; };
    bool less = is_less(op) && is_less(*op2);
    bool greater = is_greater(op) && is_greater(*op2);
    if ((!less && !greater) || a->Literal() == nullptr || c->Literal() == nullptr) {
      return ErrorAt(next,
                     "a chained comparison needs literal bounds and < <= (or > >=) on "
                     "both sides, as in 1 < x <= 5");
    }
    RETURN_IF_ERROR(CheckComparable(b->ty(), c->ty(), *op2, next));
    if (less) {
      return Limit(MakeRange(*a->Literal(), op == CmpOp::kLe, std::move(b), *c->Literal(),
                             *op2 == CmpOp::kLe),
                   at);
    }
    return Limit(
        MakeRange(*c->Literal(), *op2 == CmpOp::kGe, std::move(b), *a->Literal(), op == CmpOp::kGe),
        at);
  }

  Result<NodePtr> ParseIn(NodePtr a, bool negated, const Token& at) {
    std::vector<const Token*> starts;
    ASSIGN_OR_RETURN(std::vector<Scalar> list, ParseList(&starts));
    for (size_t i = 0; i < list.size(); ++i) {
      RETURN_IF_ERROR(CheckComparable(a->ty(), TyOf(list[i]), CmpOp::kEq, *starts[i]));
    }
    return Limit(MakeIn(std::move(a), std::move(list), negated), at);
  }

  Result<NodePtr> ParseLike(NodePtr a, const Token& at) {
    if (a->ty() != Ty::kString && a->ty() != Ty::kJson) {
      return ErrorAt(at,
                     std::string("'like' needs a string or JSON operand, not ") + TyName(a->ty()));
    }
    const Token& pattern = Peek();
    if (pattern.kind != Tok::kString) {
      return ErrorAt(pattern,
                     "expected a string pattern after 'like' but found " + Describe(pattern));
    }
    Take();
    return Limit(MakeLike(std::move(a), pattern.str), at);
  }

  // `[literal, ...]` with an optional trailing comma; starts gets each element's first token.
  Result<std::vector<Scalar>> ParseList(std::vector<const Token*>* starts) {
    RETURN_IF_ERROR(Expect(Tok::kLBracket, "'['"));
    std::vector<Scalar> list;
    while (!Accept(Tok::kRBracket)) {
      const Token& start = Peek();
      ASSIGN_OR_RETURN(NodePtr n, ParseAdditive());
      if (n->Literal() == nullptr) return ErrorAt(start, "list elements must be literals");
      list.push_back(*n->Literal());
      if (starts != nullptr) starts->push_back(&start);
      if (!Accept(Tok::kComma)) {
        RETURN_IF_ERROR(Expect(Tok::kRBracket, "']'"));
        break;
      }
    }
    return list;
  }

  // ---- Arithmetic ----
  Result<NodePtr> Arith(const Token& op, NodePtr a, NodePtr b) {
    RETURN_IF_ERROR(CheckNumeric(*a, op));
    RETURN_IF_ERROR(CheckNumeric(*b, op));
    static const ArithOp kOps[] = {ArithOp::kAdd, ArithOp::kSub, ArithOp::kMul, ArithOp::kDiv,
                                   ArithOp::kMod};
    ArithOp arith = kOps[static_cast<int>(op.kind) - static_cast<int>(Tok::kPlus)];
    bool constant = a->Literal() != nullptr && b->Literal() != nullptr;
    NodePtr n = MakeArith(arith, std::move(a), std::move(b));
    if (constant) {
      if (std::optional<Scalar> folded = FoldConstant(*n)) return MakeLiteral(*folded);
    }
    return Limit(std::move(n), op);
  }

  Result<NodePtr> ParseAdditive() {
    ASSIGN_OR_RETURN(NodePtr a, ParseMultiplicative());
    while (Peek().kind == Tok::kPlus || Peek().kind == Tok::kMinus) {
      const Token& op = Take();
      ASSIGN_OR_RETURN(NodePtr b, ParseMultiplicative());
      ASSIGN_OR_RETURN(a, Arith(op, std::move(a), std::move(b)));
    }
    return a;
  }

  Result<NodePtr> ParseMultiplicative() {
    ASSIGN_OR_RETURN(NodePtr a, ParseUnary());
    while (Peek().kind == Tok::kStar || Peek().kind == Tok::kSlash ||
           Peek().kind == Tok::kPercent) {
      const Token& op = Take();
      ASSIGN_OR_RETURN(NodePtr b, ParseUnary());
      ASSIGN_OR_RETURN(a, Arith(op, std::move(a), std::move(b)));
    }
    return a;
  }

  Result<NodePtr> ParseUnary() {
    const Token& op = Peek();
    if (op.kind != Tok::kMinus && op.kind != Tok::kPlus) return ParsePrimary();
    Take();
    constexpr uint64_t kMinMagnitude = uint64_t{1} << 63;
    if (op.kind == Tok::kMinus && Peek().kind == Tok::kInt && Peek().int_value == kMinMagnitude) {
      Take();
      return MakeLiteral(std::numeric_limits<int64_t>::min());
    }
    Nest nest(&depth_);
    if (nest.too_deep()) return ErrorAt(op, kTooDeep);
    ASSIGN_OR_RETURN(NodePtr a, ParseUnary());
    if (!IsNumeric(a->ty()) && a->ty() != Ty::kJson) {
      return ErrorAt(op, std::string("unary '") + std::string(op.text) + "' needs a number, not " +
                             TyName(a->ty()));
    }
    if (op.kind == Tok::kPlus) return a;
    bool constant = a->Literal() != nullptr;
    NodePtr n = MakeNegate(std::move(a));
    if (constant) {
      if (std::optional<Scalar> folded = FoldConstant(*n)) return MakeLiteral(*folded);
    }
    return Limit(std::move(n), op);
  }

  // ---- Primaries ----
  Result<NodePtr> ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kInt:
        if (t.int_value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return ErrorAt(t, "integer out of range");
        }
        Take();
        return MakeLiteral(static_cast<int64_t>(t.int_value));
      case Tok::kFloat:
        Take();
        return MakeLiteral(t.float_value);
      case Tok::kString:
        Take();
        return MakeLiteral(t.str);
      case Tok::kLParen: {
        Take();
        ASSIGN_OR_RETURN(NodePtr n, ParseOr());
        RETURN_IF_ERROR(Expect(Tok::kRParen, "')'"));
        return n;
      }
      case Tok::kIdent:
        return ParseIdentifier();
      default:
        return ErrorAt(t, "expected a value but found " + Describe(t));
    }
  }

  Result<NodePtr> ParseIdentifier() {
    const Token& name = Peek();
    if (IsKeyword(name, "true") || IsKeyword(name, "false")) {
      Take();
      return MakeLiteral(IsKeyword(name, "true"));
    }
    for (std::string_view kw : {"and", "or", "not", "in", "like"}) {
      if (IsKeyword(name, kw)) return ErrorAt(name, "expected a value but found " + Describe(name));
    }
    if (Peek(1).kind == Tok::kLParen) return ParseFunction();
    Take();
    std::vector<PathStep> steps;
    const FilterField* field = Find(name.text);
    if (field == nullptr) {
      // Milvus: with a dynamic field, an unknown name is a key of "$meta".
      field = Find("$meta");
      if (field == nullptr || field->type != DataType::kJson) {
        return ErrorAt(name, "field " + std::string(name.text) + " not found in schema");
      }
      steps.push_back(std::string(name.text));
    }
    if (field->type == DataType::kFloatVector) {
      return ErrorAt(name, "vector field " + field->name + " cannot be used in a filter");
    }
    if (field->type != DataType::kJson) {
      if (Peek().kind == Tok::kLBracket) {
        return ErrorAt(Peek(), std::string(DataTypeName(field->type)) + " field " + field->name +
                                   " cannot be indexed");
      }
      return MakeField(field->index, TyOfField(field->type));
    }
    RETURN_IF_ERROR(ParsePath(&steps));
    return MakeJsonPath(field->index, std::move(steps));
  }

  const FilterField* Find(std::string_view name) const {
    for (const FilterField& f : fields_) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }

  Status ParsePath(std::vector<PathStep>* steps) {
    while (Accept(Tok::kLBracket)) {
      const Token& key = Peek();
      if (key.kind == Tok::kString) {
        steps->emplace_back(std::in_place_index<0>, key.str);
      } else if (key.kind == Tok::kInt &&
                 key.int_value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        steps->emplace_back(std::in_place_index<1>, static_cast<int64_t>(key.int_value));
      } else {
        return ErrorAt(key, "expected a string key or an array index but found " + Describe(key));
      }
      Take();
      RETURN_IF_ERROR(Expect(Tok::kRBracket, "']'"));
    }
    return Status::Ok();
  }

  // json_contains(path, v), json_contains_all(path, [..]), json_contains_any(path, [..]); the
  // array_contains spellings are the same functions.
  Result<NodePtr> ParseFunction() {
    const Token& name = Take();
    std::string fn = ToLower(name.text);
    if (fn.starts_with("array_")) fn = "json_" + fn.substr(6);
    Contains mode;
    if (fn == "json_contains") {
      mode = Contains::kOne;
    } else if (fn == "json_contains_all") {
      mode = Contains::kAll;
    } else if (fn == "json_contains_any") {
      mode = Contains::kAny;
    } else {
      return ErrorAt(name, "unknown function " + std::string(name.text));
    }
    Take();  // (
    Nest nest(&depth_);
    if (nest.too_deep()) return ErrorAt(name, kTooDeep);
    const Token& first = Peek();
    ASSIGN_OR_RETURN(NodePtr target, ParseOr());
    if (target->ty() != Ty::kJson) {
      return ErrorAt(first,
                     std::string(name.text) + " needs a JSON field, not " + TyName(target->ty()));
    }
    RETURN_IF_ERROR(Expect(Tok::kComma, "','"));
    std::vector<Scalar> values;
    if (mode == Contains::kOne) {
      const Token& start = Peek();
      ASSIGN_OR_RETURN(NodePtr v, ParseAdditive());
      if (v->Literal() == nullptr) return ErrorAt(start, "expected a literal");
      values.push_back(*v->Literal());
    } else {
      ASSIGN_OR_RETURN(values, ParseList(nullptr));
    }
    RETURN_IF_ERROR(Expect(Tok::kRParen, "')'"));
    return Limit(MakeContains(mode, std::move(target), std::move(values)), name);
  }

  std::string_view expr_;
  std::vector<Token> tokens_;
  const std::vector<FilterField>& fields_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<NodePtr> ParseFilter(std::string_view expr, const std::vector<FilterField>& fields) {
  if (expr.size() > kMaxText) {
    return ParseError(expr, 0, "filter is longer than " + std::to_string(kMaxText) + " bytes");
  }
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Lex(expr));
  return Parser(expr, std::move(tokens), fields).Run();
}

}  // namespace skyway::vectordb::filter_internal
