// The registration socket: memfds arrive by SCM_RIGHTS with a signed REGISTER line; a region
// lives as long as the client's connection.
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "directpath/directpath.h"
#include "sigv4/sigv4.h"

namespace skyway::directpath {
namespace {

constexpr size_t kMaxLine = 1024;

sigv4::Scope RegistrationScope(std::string_view amz_date, std::string_view region) {
  return sigv4::Scope{std::string(amz_date.substr(0, 8)), std::string(region), "skyway-direct"};
}

Status SendLine(int fd, const std::string& line, int pass_fd = -1) {
  iovec iov{const_cast<char*>(line.data()), line.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  char control[CMSG_SPACE(sizeof(int))] = {};
  if (pass_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  if (::sendmsg(fd, &msg, MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    return Status::FromErrno("sendmsg", errno);
  }
  return Status::Ok();
}

// Reads one '\n'-terminated line; a file descriptor passed with it lands in *received (the
// caller owns it). 0-length result: the peer closed.
Result<std::string> RecvLine(int fd, UniqueFd* received) {
  std::string line;
  while (line.empty() || line.back() != '\n') {
    char buf[256];
    iovec iov{buf, sizeof(buf)};
    char control[CMSG_SPACE(sizeof(int) * 4)] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("recvmsg", errno);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; i++) {
        int passed;
        std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        *received = UniqueFd(passed);  // keeps the last one, closes any extra
      }
    }
    if (n == 0) return std::string();
    line.append(buf, static_cast<size_t>(n));
    if (line.size() > kMaxLine) return Status::Invalid("registration line too long");
  }
  line.pop_back();
  return line;
}

}  // namespace

std::string RegistrationSignature(std::string_view secret, std::string_view amz_date,
                                  std::string_view region, uint64_t size) {
  sigv4::Scope scope = RegistrationScope(amz_date, region);
  return sigv4::Sign(sigv4::SigningKey(secret, scope),
                     "SKYWAY-REGISTER\n" + std::string(amz_date) + "\n" + std::to_string(size));
}

RegistrationServer::RegistrationServer(RegionRegistry* registry, SecretLookup secrets,
                                       int64_t max_skew_seconds)
    : registry_(registry), secrets_(std::move(secrets)), max_skew_seconds_(max_skew_seconds) {}

RegistrationServer::~RegistrationServer() {
  Shutdown();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (!path_.empty()) ::unlink(path_.c_str());
}

Status RegistrationServer::Listen(const std::string& socket_path) {
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof(addr.sun_path)) return Status::Invalid("socket path too long");
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Status::FromErrno("socket", errno);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  ::unlink(socket_path.c_str());  // a socket left by a crashed server
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Status::FromErrno("bind " + socket_path, errno);
  }
  if (::listen(listen_fd_, 64) != 0) return Status::FromErrno("listen", errno);
  path_ = socket_path;
  return Status::Ok();
}

void RegistrationServer::Start() { thread_ = std::thread([this] { Serve(); }); }

void RegistrationServer::Shutdown() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  std::unique_lock<std::mutex> lock(mu_);
  for (const auto& [id, fd] : clients_) ::shutdown(fd, SHUT_RDWR);
  done_.wait(lock, [this] { return clients_.empty(); });
}

void RegistrationServer::Serve() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t client = next_client_++;
    clients_[client] = fd;
    std::thread([this, fd, client] { ServeClient(fd, client); }).detach();
  }
}

void RegistrationServer::ServeClient(int fd, uint64_t client) {
  // A peer in this very process (an embedded server) has its device memory registered by
  // address: CUDA will not open a process's own IPC handles.
  ucred peer{};
  socklen_t peer_len = sizeof(peer);
  const bool same_process = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) == 0 &&
                            peer.pid == ::getpid();
  for (;;) {
    UniqueFd memfd;
    auto line = RecvLine(fd, &memfd);
    if (!line.ok() || line->empty()) break;
    if (*line == "CLOSE") {
      // Deregisters now and says so: a client about to free GPU memory waits for this, so the
      // server's IPC mapping of it is closed first.
      registry_->DropClient(client);
      (void)SendLine(fd, "OK closed\n");
      break;
    }
    std::istringstream in(*line);
    std::string verb, access_key, amz_date, region, signature, handle;
    uint64_t size = 0;
    std::string reply;
    bool parsed = static_cast<bool>(in >> verb >> access_key >> amz_date >> region >> size >> signature);
    const bool device = verb == "REGISTER-CUDA";
    if (!parsed || (verb != "REGISTER" && !device) || (device && !(in >> handle))) {
      reply = "ERR BadRequest expected: REGISTER <access-key> <amz-date> <region> <size> <signature>"
              " (a memfd attached), or REGISTER-CUDA ... <signature> <ipc-handle-hex>@<address-hex>";
    } else if (auto secret = secrets_(access_key); !secret) {
      reply = "ERR InvalidAccessKeyId unknown access key";
    } else if (auto when = ParseHttpDate(amz_date);
               !when || std::llabs(NowNanos() / 1000000000 - *when) > max_skew_seconds_) {
      reply = "ERR RequestTimeTooSkewed the registration date is missing or too far from now";
    } else if (!sigv4::ConstantTimeEquals(
                   RegistrationSignature(*secret, amz_date, region, size), signature)) {
      reply = "ERR SignatureDoesNotMatch the registration signature does not match";
    } else if (device && !gpu::Available()) {
      reply = "ERR Declined this server has no CUDA device";
    } else if (!device && !memfd.valid()) {
      reply = "ERR BadRequest no memfd was passed with the registration";
    } else {
      std::string key;
      Result<uint64_t> id = Status::Internal("unreached");
      if (device) {
        auto memory = gpu::DeviceMemory::Open(handle, size, same_process);
        id = memory.ok() ? registry_->RegisterDevice(client, std::move(memory).value(), &key)
                         : Result<uint64_t>(memory.status());
      } else {
        id = registry_->Register(client, memfd.get(), size, &key);
      }
      reply = id.ok() ? "OK " + std::to_string(*id) + " " + HexEncode(key)
                      : "ERR " + (id.status().reason().empty() ? std::string("Refused") : id.status().reason()) +
                            " " + id.status().message();
    }
    if (!SendLine(fd, reply + "\n").ok()) break;
  }
  registry_->DropClient(client);
  ::close(fd);
  std::lock_guard<std::mutex> lock(mu_);
  clients_.erase(client);
  done_.notify_all();
}

// ---- client side -----------------------------------------------------------------------------

namespace {

Result<int> ConnectUnix(const std::string& socket_path) {
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof(addr.sun_path)) return Status::Invalid("socket path too long");
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno("socket", errno);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Status st = Status::FromErrno("connect " + socket_path, errno);
    ::close(fd);
    return st;
  }
  return fd;
}

}  // namespace

Status RegisteredBuffer::Register(const std::string& verb, const std::string& access_key,
                                  const std::string& secret_key, const std::string& region,
                                  const std::string& extra, int pass_fd) {
  std::string amz_date = FormatAmzDate(NowNanos() / 1000000000);
  std::string line = verb + " " + access_key + " " + amz_date + " " + region + " " +
                     std::to_string(size_) + " " +
                     RegistrationSignature(secret_key, amz_date, region, size_) +
                     (extra.empty() ? "" : " " + extra) + "\n";
  RETURN_IF_ERROR(SendLine(socket_, line, pass_fd));
  UniqueFd unused;
  ASSIGN_OR_RETURN(std::string reply, RecvLine(socket_, &unused));
  std::istringstream in(reply);
  std::string word, key_hex;
  in >> word;
  if (word != "OK" || !(in >> region_ >> key_hex) || !HexDecode(key_hex)) {
    Code code = reply.find("Signature") != std::string::npos || reply.find("AccessKey") != std::string::npos
                    ? Code::kPermissionDenied
                : reply.rfind("ERR Declined", 0) == 0 ? Code::kFailedPrecondition
                                                      : Code::kResourceExhausted;
    return Status(code, "RegistrationRefused", "the server refused the registration: " + reply);
  }
  key_ = *HexDecode(key_hex);
  return Status::Ok();
}

Result<std::unique_ptr<RegisteredBuffer>> RegisteredBuffer::Create(
    const std::string& socket_path, const std::string& access_key, const std::string& secret_key,
    const std::string& region, uint64_t size) {
  std::unique_ptr<RegisteredBuffer> b(new RegisteredBuffer());
  ASSIGN_OR_RETURN(b->socket_, ConnectUnix(socket_path));
  b->memfd_ = ::memfd_create("skyway-buffer", MFD_CLOEXEC);
  if (b->memfd_ < 0) return Status::FromErrno("memfd_create", errno);
  if (::ftruncate(b->memfd_, static_cast<off_t>(size)) != 0) return Status::FromErrno("ftruncate", errno);
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, b->memfd_, 0);
  if (p == MAP_FAILED) return Status::FromErrno("mmap", errno);
  b->data_ = static_cast<char*>(p);
  b->size_ = size;
  RETURN_IF_ERROR(b->Register("REGISTER", access_key, secret_key, region, "", b->memfd_));
  return b;
}

Result<std::unique_ptr<RegisteredBuffer>> RegisteredBuffer::CreateDevice(
    const std::string& socket_path, const std::string& access_key, const std::string& secret_key,
    const std::string& region, void* device_ptr, uint64_t size) {
  ASSIGN_OR_RETURN(std::string handle, gpu::ExportHandle(device_ptr));
  std::unique_ptr<RegisteredBuffer> b(new RegisteredBuffer());
  ASSIGN_OR_RETURN(b->socket_, ConnectUnix(socket_path));
  b->data_ = static_cast<char*>(device_ptr);
  b->size_ = size;
  b->device_ = true;
  RETURN_IF_ERROR(b->Register("REGISTER-CUDA", access_key, secret_key, region, handle, -1));
  return b;
}

RegisteredBuffer::~RegisteredBuffer() {
  if (socket_ >= 0 && device_) {
    // The caller frees the GPU memory next: wait (briefly) until the server has let go of it.
    if (SendLine(socket_, "CLOSE\n").ok()) {
      pollfd p{socket_, POLLIN, 0};
      UniqueFd unused;
      if (::poll(&p, 1, 5000) > 0) (void)RecvLine(socket_, &unused);
    }
  }
  if (socket_ >= 0) ::close(socket_);  // deregisters on the server
  if (data_ != nullptr && !device_) ::munmap(data_, size_);
  if (memfd_ >= 0) ::close(memfd_);
}

std::string RegisteredBuffer::Token(uint64_t offset, uint64_t length) const {
  return ShmToken{region_, offset, length, key_}.Encode();
}

}  // namespace skyway::directpath
