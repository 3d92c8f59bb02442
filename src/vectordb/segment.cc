// Segments, the column codecs and the write-ahead-log record codec.
#include "vectordb/segment.h"

#include <cstring>

namespace skyway::vectordb {

const float* Segment::vectors() const {
  if (!sealed) return growing.data();
  if (buffer) return reinterpret_cast<const float*>(buffer->data());
  return nullptr;
}

void Segment::Vector(size_t row, float* out) const {
  if (const float* v = vectors()) {
    memcpy(out, v + row * dim, dim * sizeof(float));
  } else {
    index->Reconstruct(static_cast<int64_t>(row), out);
  }
}

void Segment::Append(const Schema& schema, Batch&& b) {
  if (columns.empty()) columns.resize(schema.fields.size());
  growing.insert(growing.end(), b.vectors.begin(), b.vectors.end());
  for (size_t i = 0; i < columns.size(); i++) {
    Column& dst = columns[i];
    Column& src = b.columns[i];
    dst.ints.insert(dst.ints.end(), src.ints.begin(), src.ints.end());
    dst.reals.insert(dst.reals.end(), src.reals.begin(), src.reals.end());
    for (auto& s : src.texts) dst.texts.push_back(std::move(s));
    for (auto& d : src.docs) dst.docs.push_back(std::move(d));
  }
  if (schema.dynamic) {
    for (auto& m : b.meta) meta.push_back(std::move(m));
  }
  rows += b.rows;
  deleted.resize(rows, 0);
}

FilterValue SegmentRow::Get(int field_index) const {
  if (static_cast<size_t>(field_index) == schema_.fields.size()) {  // "$meta"
    if (seg_.meta.size() <= row_) return std::monostate();
    return &seg_.meta[row_];
  }
  const Field& f = schema_.fields[field_index];
  const Column& c = seg_.columns[field_index];
  switch (f.type) {
    case DataType::kBool: return c.ints[row_] != 0;
    case DataType::kInt8: case DataType::kInt16: case DataType::kInt32: case DataType::kInt64:
      return c.ints[row_];
    case DataType::kFloat: case DataType::kDouble: return c.reals[row_];
    case DataType::kVarChar: return std::string_view(c.texts[row_]);
    case DataType::kJson: return &c.docs[row_];
    case DataType::kFloatVector: break;
  }
  return std::monostate();
}

namespace {

size_t Width(DataType t) {
  switch (t) {
    case DataType::kBool: case DataType::kInt8: return 1;
    case DataType::kInt16: return 2;
    case DataType::kInt32: case DataType::kFloat: return 4;
    default: return 8;
  }
}

template <typename T>
void PutRaw(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

void PutStrings(std::string& out, const std::vector<std::string>& values) {
  for (const auto& s : values) {
    PutRaw<uint32_t>(out, static_cast<uint32_t>(s.size()));
    out += s;
  }
}

Status GetStrings(std::string_view in, size_t rows, std::vector<std::string>* out) {
  out->clear();
  out->reserve(std::min(rows, in.size() / 4));  // each value takes at least its 4-byte length
  size_t pos = 0;
  for (size_t i = 0; i < rows; i++) {
    uint32_t n;
    if (in.size() - pos < 4) return Status::Invalid("column truncated");
    memcpy(&n, in.data() + pos, 4);
    pos += 4;
    if (in.size() - pos < n) return Status::Invalid("column truncated");
    out->emplace_back(in.substr(pos, n));
    pos += n;
  }
  if (pos != in.size()) return Status::Invalid("column has trailing bytes");
  return Status::Ok();
}

}  // namespace

std::string EncodeColumn(DataType t, const Column& c) {
  std::string out;
  if (t == DataType::kVarChar) {
    PutStrings(out, c.texts);
    return out;
  }
  if (t == DataType::kJson) return EncodeDocs(c.docs);
  bool real = t == DataType::kFloat || t == DataType::kDouble;
  size_t n = real ? c.reals.size() : c.ints.size();
  out.reserve(n * Width(t));
  for (size_t i = 0; i < n; i++) {
    switch (t) {
      case DataType::kBool: case DataType::kInt8: PutRaw<int8_t>(out, static_cast<int8_t>(c.ints[i])); break;
      case DataType::kInt16: PutRaw<int16_t>(out, static_cast<int16_t>(c.ints[i])); break;
      case DataType::kInt32: PutRaw<int32_t>(out, static_cast<int32_t>(c.ints[i])); break;
      case DataType::kFloat: PutRaw<float>(out, static_cast<float>(c.reals[i])); break;
      case DataType::kDouble: PutRaw<double>(out, c.reals[i]); break;
      default: PutRaw<int64_t>(out, c.ints[i]); break;
    }
  }
  return out;
}

Status DecodeColumn(DataType t, std::string_view in, size_t rows, Column* c) {
  *c = Column();
  if (t == DataType::kVarChar) return GetStrings(in, rows, &c->texts);
  if (t == DataType::kJson) return DecodeDocs(in, rows, &c->docs);
  size_t w = Width(t);
  if (in.size() % w != 0 || in.size() / w != rows) {  // no rows * w: it may wrap
    return Status::Invalid("column size does not match the row count");
  }
  const char* p = in.data();
  for (size_t i = 0; i < rows; i++, p += w) {
    switch (t) {
      case DataType::kBool: case DataType::kInt8: { int8_t v; memcpy(&v, p, 1); c->ints.push_back(v); break; }
      case DataType::kInt16: { int16_t v; memcpy(&v, p, 2); c->ints.push_back(v); break; }
      case DataType::kInt32: { int32_t v; memcpy(&v, p, 4); c->ints.push_back(v); break; }
      case DataType::kFloat: { float v; memcpy(&v, p, 4); c->reals.push_back(v); break; }
      case DataType::kDouble: { double v; memcpy(&v, p, 8); c->reals.push_back(v); break; }
      default: { int64_t v; memcpy(&v, p, 8); c->ints.push_back(v); break; }
    }
  }
  return Status::Ok();
}

std::string EncodeDocs(const std::vector<Json>& docs) {
  std::vector<std::string> texts;
  texts.reserve(docs.size());
  for (const Json& d : docs) texts.push_back(d.dump());
  std::string out;
  PutStrings(out, texts);
  return out;
}

Status DecodeDocs(std::string_view in, size_t rows, std::vector<Json>* docs) {
  std::vector<std::string> texts;
  RETURN_IF_ERROR(GetStrings(in, rows, &texts));
  docs->clear();
  for (const auto& t : texts) {
    Json d = Json::parse(t, nullptr, false);
    if (d.is_discarded()) return Status::Invalid("JSON column holds malformed JSON");
    docs->push_back(std::move(d));
  }
  return Status::Ok();
}

// ---- write-ahead log ---------------------------------------------------------------------------

namespace {
constexpr char kWalMagic[8] = {'S', 'K', 'Y', 'W', 'A', 'L', '1', '\n'};

void PutBlob(std::string& out, std::string_view blob) {
  PutRaw<uint64_t>(out, blob.size());
  out.append(blob);
}

Result<std::string_view> GetBlob(std::string_view& in) {
  uint64_t n;
  if (in.size() < 8) return Status::Invalid("WAL record truncated");
  memcpy(&n, in.data(), 8);
  in.remove_prefix(8);
  if (in.size() < n) return Status::Invalid("WAL record truncated");
  std::string_view blob = in.substr(0, n);
  in.remove_prefix(n);
  return blob;
}
}  // namespace

WalImage EncodeWalImage(const Schema& schema, const WalRecord& r) {
  WalImage out;
  out.head.assign(kWalMagic, sizeof(kWalMagic));
  out.head.push_back(static_cast<char>(r.kind));
  Json head = {{"partition", r.partition}, {"rows", r.batch.rows}};
  PutBlob(out.head, head.dump());
  if (r.kind == WalRecord::kDelete) {
    PutBlob(out.head, EncodeColumn(schema.pk_field().type, r.batch.columns[schema.pk]));
    return out;
  }
  out.vectors = std::string_view(reinterpret_cast<const char*>(r.batch.vectors.data()),
                                 r.batch.vectors.size() * sizeof(float));
  PutRaw<uint64_t>(out.head, out.vectors.size());  // the vectors' blob length; its bytes follow
  for (size_t i = 0; i < schema.fields.size(); i++) {
    if (static_cast<int>(i) == schema.vector) continue;
    PutBlob(out.tail, EncodeColumn(schema.fields[i].type, r.batch.columns[i]));
  }
  if (schema.dynamic) PutBlob(out.tail, EncodeDocs(r.batch.meta));
  return out;
}

void WalImage::CopyTo(char* out) const {
  memcpy(out, head.data(), head.size());
  if (!vectors.empty()) memcpy(out + head.size(), vectors.data(), vectors.size());
  memcpy(out + head.size() + vectors.size(), tail.data(), tail.size());
}

std::string EncodeWal(const Schema& schema, const WalRecord& r) {
  WalImage image = EncodeWalImage(schema, r);
  std::string out(image.size(), '\0');
  image.CopyTo(out.data());
  return out;
}

Result<WalRecord> DecodeWal(const Schema& schema, std::string_view in) {
  if (in.size() < sizeof(kWalMagic) + 1 || memcmp(in.data(), kWalMagic, sizeof(kWalMagic)) != 0) {
    return Status::Invalid("not a WAL record");
  }
  in.remove_prefix(sizeof(kWalMagic));
  WalRecord r;
  r.kind = static_cast<WalRecord::Kind>(in[0]);
  in.remove_prefix(1);
  ASSIGN_OR_RETURN(std::string_view head_text, GetBlob(in));
  Json head = Json::parse(head_text, nullptr, false);
  if (!head.is_object()) return Status::Invalid("WAL record header is not JSON");
  if (!head.contains("rows") || !head["rows"].is_number_unsigned() ||
      (head.contains("partition") && !head["partition"].is_string())) {
    return Status::Invalid("WAL record header has fields of the wrong type");
  }
  r.partition = head.value("partition", "_default");
  r.batch.rows = head["rows"].get<size_t>();
  if (r.batch.rows > in.size()) return Status::Invalid("WAL record row count exceeds its size");
  r.batch.columns.resize(schema.fields.size());
  if (r.kind == WalRecord::kDelete) {
    ASSIGN_OR_RETURN(std::string_view pk, GetBlob(in));
    RETURN_IF_ERROR(DecodeColumn(schema.pk_field().type, pk, r.batch.rows, &r.batch.columns[schema.pk]));
    return r;
  }
  if (r.kind != WalRecord::kInsert) return Status::Invalid("unknown WAL record kind");
  ASSIGN_OR_RETURN(std::string_view vec, GetBlob(in));
  if (vec.size() % (schema.dim() * sizeof(float)) != 0 ||
      vec.size() / (schema.dim() * sizeof(float)) != r.batch.rows) {
    return Status::Invalid("WAL record vector block has the wrong size");
  }
  r.batch.vectors.resize(r.batch.rows * schema.dim());
  memcpy(r.batch.vectors.data(), vec.data(), vec.size());
  for (size_t i = 0; i < schema.fields.size(); i++) {
    if (static_cast<int>(i) == schema.vector) continue;
    ASSIGN_OR_RETURN(std::string_view col, GetBlob(in));
    RETURN_IF_ERROR(DecodeColumn(schema.fields[i].type, col, r.batch.rows, &r.batch.columns[i]));
  }
  if (schema.dynamic) {
    ASSIGN_OR_RETURN(std::string_view docs, GetBlob(in));
    RETURN_IF_ERROR(DecodeDocs(docs, r.batch.rows, &r.batch.meta));
  }
  return r;
}

}  // namespace skyway::vectordb
