// The filter language's tokens: numbers, quoted strings, identifiers and operators.
#include <charconv>
#include <limits>

#include "vectordb/filter_internal.h"

namespace skyway::vectordb::filter_internal {

Status ParseError(std::string_view expr, size_t offset, std::string_view what) {
  constexpr size_t kShown = 200;
  std::string shown(expr.substr(0, kShown));
  if (expr.size() > kShown) shown += "...";
  return Status::Invalid("filter parse error at " + std::to_string(offset) + ": " +
                         std::string(what) + " in \"" + shown + "\"");
}

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }

class Lexer {
 public:
  explicit Lexer(std::string_view expr) : expr_(expr) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      while (pos_ < expr_.size() && IsSpace(expr_[pos_])) ++pos_;
      Token t;
      t.offset = pos_;
      if (pos_ == expr_.size()) {
        tokens.push_back(std::move(t));
        return tokens;
      }
      RETURN_IF_ERROR(Next(&t));
      t.text = expr_.substr(t.offset, pos_ - t.offset);
      tokens.push_back(std::move(t));
    }
  }

 private:
  static bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  Status Next(Token* t) {
    char c = expr_[pos_];
    if (IsDigit(c) || (c == '.' && pos_ + 1 < expr_.size() && IsDigit(expr_[pos_ + 1]))) {
      return Number(t);
    }
    if (c == '"' || c == '\'') return String(t);
    if (IsIdentStart(c)) {
      while (pos_ < expr_.size() && IsIdentChar(expr_[pos_])) ++pos_;
      t->kind = Tok::kIdent;
      return Status::Ok();
    }
    return Operator(t);
  }

  Status Number(Token* t) {
    size_t start = pos_;
    bool is_float = false;
    while (pos_ < expr_.size() && IsDigit(expr_[pos_])) ++pos_;
    if (pos_ < expr_.size() && expr_[pos_] == '.') {
      is_float = true;
      ++pos_;
      while (pos_ < expr_.size() && IsDigit(expr_[pos_])) ++pos_;
    }
    if (pos_ < expr_.size() && (expr_[pos_] == 'e' || expr_[pos_] == 'E')) {
      is_float = true;
      ++pos_;
      if (pos_ < expr_.size() && (expr_[pos_] == '+' || expr_[pos_] == '-')) ++pos_;
      if (pos_ == expr_.size() || !IsDigit(expr_[pos_])) return Error(start, "malformed number");
      while (pos_ < expr_.size() && IsDigit(expr_[pos_])) ++pos_;
    }
    if (pos_ < expr_.size() && (IsIdentChar(expr_[pos_]) || expr_[pos_] == '.')) {
      return Error(start, "malformed number");
    }
    const char* first = expr_.data() + start;
    const char* last = expr_.data() + pos_;
    if (is_float) {
      t->kind = Tok::kFloat;
      auto [end, ec] = std::from_chars(first, last, t->float_value);
      if (ec != std::errc() || end != last) return Error(start, "number out of range");
      return Status::Ok();
    }
    t->kind = Tok::kInt;
    auto [end, ec] = std::from_chars(first, last, t->int_value);
    constexpr uint64_t kMaxMagnitude = uint64_t{1} << 63;
    if (ec != std::errc() || end != last || t->int_value > kMaxMagnitude) {
      return Error(start, "integer out of range");
    }
    return Status::Ok();
  }

  // Escapes: \" \' \\ \n \t \r; any other \x stays as written, so that `like "a\%"` keeps its
  // \% (a literal %); "a\\%" gives the same pattern.
  Status String(Token* t) {
    size_t start = pos_;
    char quote = expr_[pos_++];
    t->kind = Tok::kString;
    while (true) {
      if (pos_ >= expr_.size()) return Error(start, "unterminated string literal");
      char c = expr_[pos_++];
      if (c == quote) return Status::Ok();
      if (c != '\\') {
        t->str += c;
        continue;
      }
      if (pos_ >= expr_.size()) return Error(start, "unterminated string literal");
      char e = expr_[pos_++];
      switch (e) {
        case 'n':
          t->str += '\n';
          break;
        case 't':
          t->str += '\t';
          break;
        case 'r':
          t->str += '\r';
          break;
        case '"':
        case '\'':
        case '\\':
          t->str += e;
          break;
        default:
          t->str += '\\';
          t->str += e;
      }
    }
  }

  Status Operator(Token* t) {
    struct Op {
      std::string_view text;
      Tok kind;
    };
    static constexpr Op kOps[] = {
        {"==", Tok::kEq},     {"!=", Tok::kNe},     {"<=", Tok::kLe},      {">=", Tok::kGe},
        {"&&", Tok::kAndAnd}, {"||", Tok::kOrOr},   {"<", Tok::kLt},       {">", Tok::kGt},
        {"(", Tok::kLParen},  {")", Tok::kRParen},  {"[", Tok::kLBracket}, {"]", Tok::kRBracket},
        {",", Tok::kComma},   {"+", Tok::kPlus},    {"-", Tok::kMinus},    {"*", Tok::kStar},
        {"/", Tok::kSlash},   {"%", Tok::kPercent}, {"!", Tok::kBang},
    };
    for (const Op& op : kOps) {
      if (expr_.substr(pos_).starts_with(op.text)) {
        t->kind = op.kind;
        pos_ += op.text.size();
        return Status::Ok();
      }
    }
    if (expr_[pos_] == '=') return Error(pos_, "unexpected '=' (use '==' to compare)");
    auto byte = static_cast<unsigned char>(expr_[pos_]);
    std::string shown = byte >= 0x20 && byte < 0x7f ? std::string("'") + expr_[pos_] + "'"
                                                    : "byte " + std::to_string(byte);
    return Error(pos_, "unexpected character " + shown);
  }

  Status Error(size_t at, std::string_view what) const { return ParseError(expr_, at, what); }

  std::string_view expr_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::vector<Token>> Lex(std::string_view expr) { return Lexer(expr).Run(); }

}  // namespace skyway::vectordb::filter_internal
