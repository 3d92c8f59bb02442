#include <cstring>
#include <ctime>
#include <atomic>
#include <cstdio>
#include <mutex>

#include "common/common.h"

namespace skyway {

Status Status::FromErrno(std::string_view what, int err) {
  Code code = Code::kIOError;
  if (err == ENOENT) code = Code::kNotFound;
  if (err == ENOSPC || err == EMFILE || err == ENFILE) code = Code::kResourceExhausted;
  return Status(code, "", std::string(what) + ": " + std::strerror(err));
}

const std::string& Status::reason() const {
  static const std::string kEmpty;
  return rep_ ? rep_->reason : kEmpty;
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return rep_ ? rep_->message : kEmpty;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s = rep_->reason.empty() ? "error" : rep_->reason;
  return s + ": " + rep_->message;
}

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_log_mu;
}  // namespace

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

void Log(LogLevel level, std::string_view message) {
  if (static_cast<int>(level) < g_level.load()) return;
  static const char* kNames[] = {"D", "I", "W", "E"};
  int64_t ns = NowNanos();
  time_t secs = static_cast<time_t>(ns / 1000000000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
  std::lock_guard<std::mutex> lock(g_log_mu);
  fprintf(stderr, "%s.%03dZ %s %.*s\n", stamp, static_cast<int>((ns / 1000000) % 1000),
          kNames[static_cast<int>(level)], static_cast<int>(message.size()), message.data());
}

}  // namespace skyway
