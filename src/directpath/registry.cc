// Registered regions: each a MAP_SHARED mapping of a client's memfd, kept alive by shared
// pointers while operations use it, with the ranges in use reserved.
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "directpath/directpath.h"
#include "sigv4/sigv4.h"

namespace skyway::directpath {

class Region {
 public:
  // Host memory (data, a mapping it unmaps) or device memory (device, data null).
  Region(uint64_t client, char* data, uint64_t size, std::string key,
         std::unique_ptr<gpu::DeviceMemory> device = nullptr)
      : client_(client), data_(data), size_(size), key_(std::move(key)), device_(std::move(device)) {}
  ~Region() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  uint64_t client() const { return client_; }
  char* data() const { return data_; }
  gpu::DeviceMemory* device() const { return device_.get(); }
  uint64_t size() const { return size_; }
  const std::string& key() const { return key_; }

  // Reserves [offset, offset + length) unless an overlapping range is in use.
  bool Reserve(uint64_t offset, uint64_t length) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [o, l] : busy_) {
      if (offset < o + l && o < offset + length) return false;
    }
    busy_.emplace_back(offset, length);
    return true;
  }
  void Release(uint64_t offset, uint64_t length) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = busy_.begin(); it != busy_.end(); ++it) {
      if (it->first == offset && it->second == length) {
        busy_.erase(it);
        return;
      }
    }
  }

 private:
  uint64_t client_;
  char* data_;
  uint64_t size_;
  std::string key_;
  std::unique_ptr<gpu::DeviceMemory> device_;
  std::mutex mu_;
  std::vector<std::pair<uint64_t, uint64_t>> busy_;
};

Target::Target(std::shared_ptr<Region> region, uint64_t offset, uint64_t length)
    : region_(std::move(region)), offset_(offset), length_(length) {}

Target::~Target() {
  if (region_) region_->Release(offset_, length_);
}

char* Target::data() const { return on_device() ? nullptr : region_->data() + offset_; }
bool Target::on_device() const { return region_->device() != nullptr; }
Status Target::Fill(uint64_t length, const gpu::FillFn& fill) const {
  return region_->device()->Fill(offset_, std::min(length, length_), fill);
}
Status Target::Drain(uint64_t length, const gpu::DrainFn& drain) const {
  return region_->device()->Drain(offset_, std::min(length, length_), drain);
}

RegionRegistry::RegionRegistry(Limits limits) : limits_(limits) {}
RegionRegistry::~RegionRegistry() = default;

Status RegionRegistry::Admit(uint64_t client, uint64_t size) {
  if (size == 0 || size > limits_.max_region_bytes) {
    return Status(Code::kResourceExhausted, "RegionTooLarge",
                  "a region is 1 byte to " + std::to_string(limits_.max_region_bytes) + " bytes");
  }
  std::lock_guard<std::mutex> lock(mu_);
  size_t mine = 0;
  for (const auto& [id, r] : regions_) mine += r->client() == client;
  if (mine >= limits_.max_regions_per_client) {
    return Status(Code::kResourceExhausted, "TooManyRegions", "too many regions for one client");
  }
  if (mapped_bytes_ + size > limits_.max_total_bytes) {
    return Status(Code::kResourceExhausted, "TooMuchMemory", "the server maps too much memory already");
  }
  mapped_bytes_ += size;
  return Status::Ok();
}

uint64_t RegionRegistry::Add(std::shared_ptr<Region> region) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t id = next_id_++;
  regions_[id] = std::move(region);
  return id;
}

Result<uint64_t> RegionRegistry::RegisterDevice(uint64_t client,
                                                std::unique_ptr<gpu::DeviceMemory> memory,
                                                std::string* key) {
  const uint64_t size = memory->size();
  RETURN_IF_ERROR(Admit(client, size));
  *key = RandomBytes(16);
  return Add(std::make_shared<Region>(client, nullptr, size, *key, std::move(memory)));
}

Result<uint64_t> RegionRegistry::Register(uint64_t client, int memfd, uint64_t size,
                                          std::string* key) {
  struct stat st {};
  if (::fstat(memfd, &st) != 0) return Status::FromErrno("fstat memfd", errno);
  if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) < size) {
    return Status::Invalid("the file descriptor is not a memfd of at least the registered size");
  }
  RETURN_IF_ERROR(Admit(client, size));
  // Populated now, so that moving bytes later takes no page faults on this side.
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, memfd, 0);
  if (p == MAP_FAILED) {
    std::lock_guard<std::mutex> lock(mu_);
    mapped_bytes_ -= size;
    return Status::FromErrno("mmap region", errno);
  }
  *key = RandomBytes(16);
  return Add(std::make_shared<Region>(client, static_cast<char*>(p), size, *key));
}

void RegionRegistry::DropClient(uint64_t client) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = regions_.begin(); it != regions_.end();) {
    if (it->second->client() == client) {
      mapped_bytes_ -= it->second->size();
      it = regions_.erase(it);  // unmapped when the last in-flight Target lets go
    } else {
      ++it;
    }
  }
}

Result<Target> RegionRegistry::Resolve(const ShmToken& token) {
  std::shared_ptr<Region> region;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = regions_.find(token.region);
    if (it == regions_.end()) {
      return Status(Code::kInvalidArgument, kInvalidToken, "no such registered region");
    }
    region = it->second;
  }
  if (!sigv4::ConstantTimeEquals(region->key(), token.key)) {
    return Status(Code::kPermissionDenied, kKeyMismatch, "the token's key does not match the region");
  }
  if (token.length == 0 || token.offset > region->size() || token.length > region->size() - token.offset) {
    return Status(Code::kInvalidArgument, kInvalidToken, "the token's range is outside the region");
  }
  if (!region->Reserve(token.offset, token.length)) {
    return Status(Code::kAborted, kRangeBusy, "another operation is using this range of the region");
  }
  return Target(std::move(region), token.offset, token.length);
}

size_t RegionRegistry::region_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return regions_.size();
}

}  // namespace skyway::directpath
