#include "store/meta_codec.h"

#include <cstdio>
#include <cstring>

namespace skyway::store {
namespace {

constexpr uint8_t kBucketVersion = 1;
constexpr uint8_t kObjectVersion = 1;

void PutU64(std::string* out, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; i++) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(buf, 8);
}

void PutString(std::string* out, std::string_view s) {
  PutU64(out, s.size());
  out->append(s);
}

// Reads fields back, failing (not crashing) on a truncated or corrupt record.
class Decoder {
 public:
  explicit Decoder(std::string_view data) : data_(data) {}
  bool U8(uint8_t* v) {
    if (data_.empty()) return false;
    *v = static_cast<uint8_t>(data_[0]);
    data_.remove_prefix(1);
    return true;
  }
  bool U64(uint64_t* v) {
    if (data_.size() < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; i++) *v |= static_cast<uint64_t>(static_cast<uint8_t>(data_[i])) << (8 * i);
    data_.remove_prefix(8);
    return true;
  }
  bool I64(int64_t* v) {
    uint64_t u;
    if (!U64(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool String(std::string* s) {
    uint64_t n;
    if (!U64(&n) || n > data_.size()) return false;
    s->assign(data_.substr(0, n));
    data_.remove_prefix(n);
    return true;
  }
  bool done() const { return data_.empty(); }

 private:
  std::string_view data_;
};

Status Corrupt(std::string_view what) {
  return Status(Code::kInternal, "", "corrupt metadata record: " + std::string(what));
}

}  // namespace

std::string BucketKey(std::string_view bucket) { return "b/" + std::string(bucket); }
std::string ObjectKeyPrefix(std::string_view bucket) { return "o/" + std::string(bucket) + "/"; }
std::string ObjectKey(std::string_view bucket, std::string_view key) {
  return ObjectKeyPrefix(bucket) + std::string(key);
}

std::string UploadKeyPrefix(std::string_view bucket) { return "u/" + std::string(bucket) + "/"; }
std::string UploadKey(std::string_view bucket, std::string_view key, std::string_view upload_id) {
  return UploadKeyPrefix(bucket) + std::string(key) + std::string(1, '\0') + std::string(upload_id);
}
std::string PartKeyPrefix(std::string_view upload_id) { return "p/" + std::string(upload_id) + "/"; }
std::string PartKey(std::string_view upload_id, int number) {
  char digits[16];
  snprintf(digits, sizeof(digits), "%05d", number);
  return PartKeyPrefix(upload_id) + digits;
}

std::string PrefixSuccessor(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char last = static_cast<unsigned char>(prefix.back());
    if (last != 0xff) {
      prefix.back() = static_cast<char>(last + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

std::string EncodeBucket(const BucketInfo& info) {
  std::string out(1, static_cast<char>(kBucketVersion));
  PutString(&out, info.name);
  PutU64(&out, static_cast<uint64_t>(info.created_nanos));
  PutString(&out, info.region);
  return out;
}

Result<BucketInfo> DecodeBucket(std::string_view data) {
  Decoder d(data);
  uint8_t version = 0;
  BucketInfo info;
  if (!d.U8(&version) || version != kBucketVersion) return Corrupt("bucket version");
  if (!d.String(&info.name) || !d.I64(&info.created_nanos) || !d.String(&info.region) ||
      !d.done()) {
    return Corrupt("bucket fields");
  }
  return info;
}

namespace {

using Attrs = std::vector<std::pair<std::string, std::string>>;

void PutAttrs(std::string* out, const Attrs& attrs) {
  PutU64(out, attrs.size());
  for (const auto& [name, value] : attrs) {
    PutString(out, name);
    PutString(out, value);
  }
}

bool GetAttrs(Decoder* d, Attrs* attrs, size_t limit) {
  uint64_t n = 0;
  if (!d->U64(&n) || n > limit) return false;
  for (uint64_t i = 0; i < n; i++) {
    std::string name, value;
    if (!d->String(&name) || !d->String(&value)) return false;
    attrs->emplace_back(std::move(name), std::move(value));
  }
  return true;
}

}  // namespace

std::string EncodeObject(const ObjectRecord& r) {
  std::string out(1, static_cast<char>(kObjectVersion));
  PutU64(&out, r.meta.size);
  PutString(&out, r.meta.etag);
  PutU64(&out, static_cast<uint64_t>(r.meta.mtime_nanos));
  PutAttrs(&out, r.meta.attrs);
  PutU64(&out, r.meta.part_sizes.size());
  for (uint64_t size : r.meta.part_sizes) PutU64(&out, size);
  PutU64(&out, r.data.size());
  for (const auto& ref : r.data) {
    PutString(&out, ref.id);
    PutU64(&out, ref.size);
  }
  return out;
}

Result<ObjectRecord> DecodeObject(std::string_view data) {
  Decoder d(data);
  uint8_t version = 0;
  ObjectRecord r;
  uint64_t nparts = 0, nrefs = 0;
  if (!d.U8(&version) || version != kObjectVersion) return Corrupt("object version");
  if (!d.U64(&r.meta.size) || !d.String(&r.meta.etag) || !d.I64(&r.meta.mtime_nanos) ||
      !GetAttrs(&d, &r.meta.attrs, data.size()) || !d.U64(&nparts) || nparts > data.size()) {
    return Corrupt("object fields");
  }
  r.meta.part_sizes.resize(nparts);
  for (auto& size : r.meta.part_sizes) {
    if (!d.U64(&size)) return Corrupt("part sizes");
  }
  if (!d.U64(&nrefs) || nrefs > data.size()) return Corrupt("data references");
  r.data.resize(nrefs);
  for (auto& ref : r.data) {
    if (!d.String(&ref.id) || !d.U64(&ref.size)) return Corrupt("data references");
  }
  if (!d.done()) return Corrupt("trailing bytes");
  return r;
}

std::string EncodeUpload(const UploadRecord& r) {
  std::string out(1, static_cast<char>(kObjectVersion));
  PutU64(&out, static_cast<uint64_t>(r.initiated_nanos));
  PutAttrs(&out, r.attrs);
  return out;
}

Result<UploadRecord> DecodeUpload(std::string_view data) {
  Decoder d(data);
  uint8_t version = 0;
  UploadRecord r;
  if (!d.U8(&version) || version != kObjectVersion || !d.I64(&r.initiated_nanos) ||
      !GetAttrs(&d, &r.attrs, data.size()) || !d.done()) {
    return Corrupt("upload record");
  }
  return r;
}

std::string EncodePart(const PartRecord& r) {
  std::string out(1, static_cast<char>(kObjectVersion));
  PutU64(&out, static_cast<uint64_t>(r.info.number));
  PutU64(&out, r.info.size);
  PutString(&out, r.info.etag);
  PutU64(&out, static_cast<uint64_t>(r.info.mtime_nanos));
  PutString(&out, r.data_id);
  PutAttrs(&out, r.info.attrs);
  return out;
}

Result<PartRecord> DecodePart(std::string_view data) {
  Decoder d(data);
  uint8_t version = 0;
  uint64_t number = 0;
  PartRecord r;
  if (!d.U8(&version) || version != kObjectVersion || !d.U64(&number) || number > 100000 ||
      !d.U64(&r.info.size) || !d.String(&r.info.etag) || !d.I64(&r.info.mtime_nanos) ||
      !d.String(&r.data_id) || !GetAttrs(&d, &r.info.attrs, data.size()) || !d.done()) {
    return Corrupt("part record");
  }
  r.info.number = static_cast<int>(number);
  return r;
}

}  // namespace skyway::store
