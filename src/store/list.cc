// Listing is one ordered range scan: keys under the prefix, in byte order, with every run of
// keys that share prefix+...+delimiter folded into one common prefix and skipped with a seek.
#include "store/local_backend.h"

namespace skyway::store {

Result<ListResult> LocalBackend::ListObjects(const std::string& bucket, const ListOptions& opts) {
  RETURN_IF_ERROR(GetBucket(bucket).status());
  ListResult out;
  if (opts.max_keys == 0) return out;
  const std::string base = ObjectKeyPrefix(bucket);
  const std::string first = base + opts.prefix;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  if (opts.start_after > opts.prefix) {
    it->Seek(base + opts.start_after);
  } else {
    it->Seek(first);
  }
  size_t count = 0;
  while (it->Valid() && it->key().starts_with(first)) {
    std::string key = it->key().ToString().substr(base.size());
    if (key <= opts.start_after) {
      it->Next();
      continue;
    }
    size_t at = opts.delimiter.empty()
                    ? std::string::npos
                    : key.find(opts.delimiter, opts.prefix.size());
    std::string common =
        at == std::string::npos ? "" : key.substr(0, at + opts.delimiter.size());
    if (!common.empty() && common <= opts.start_after) {
      // The caller has seen this common prefix already (it ended the last page).
      it->Seek(PrefixSuccessor(base + common));
      continue;
    }
    if (count == opts.max_keys) {
      out.truncated = true;
      break;
    }
    count++;
    if (!common.empty()) {
      out.common_prefixes.push_back(common);
      out.last = common;
      it->Seek(PrefixSuccessor(base + common));
      continue;
    }
    ASSIGN_OR_RETURN(ObjectRecord r, DecodeObject(it->value().ToStringView()));
    out.objects.emplace_back(key, std::move(r.meta));
    out.last = key;
    it->Next();
  }
  RETURN_IF_ERROR(Status(it->status().ok() ? Status::Ok()
                                           : Status::IOError("rocksdb: " + it->status().ToString())));
  return out;
}

}  // namespace skyway::store
