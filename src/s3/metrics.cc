// Prometheus text metrics: requests by operation and status, bytes in and out, latency.
#include <cstdio>
#include <map>
#include <mutex>

#include "s3/internal.h"

namespace skyway::s3 {
namespace {

constexpr double kBuckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
constexpr size_t kBucketCount = sizeof(kBuckets) / sizeof(kBuckets[0]);

std::string Number(double v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

}  // namespace

struct Metrics::Impl {
  struct Latency {
    uint64_t buckets[kBucketCount] = {};
    uint64_t count = 0;
    double sum = 0;
  };
  std::mutex mu;
  std::map<std::pair<std::string, int>, uint64_t> requests;
  std::map<std::string, Latency> latency;
  uint64_t bytes_in = 0, bytes_out = 0;
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::Record(const std::string& operation, int status, uint64_t bytes_in,
                     uint64_t bytes_out, double seconds) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->requests[{operation, status}]++;
  impl_->bytes_in += bytes_in;
  impl_->bytes_out += bytes_out;
  Impl::Latency& l = impl_->latency[operation];
  for (size_t i = 0; i < kBucketCount; i++) {
    if (seconds <= kBuckets[i]) l.buckets[i]++;
  }
  l.count++;
  l.sum += seconds;
}

std::string Metrics::Render() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::string out =
      "# HELP skyway_s3_requests_total S3 requests by operation and HTTP status.\n"
      "# TYPE skyway_s3_requests_total counter\n";
  for (const auto& [key, n] : impl_->requests) {
    out += "skyway_s3_requests_total{operation=\"" + key.first + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP skyway_s3_received_bytes_total Request body bytes received.\n"
         "# TYPE skyway_s3_received_bytes_total counter\n"
         "skyway_s3_received_bytes_total " + std::to_string(impl_->bytes_in) + "\n" +
         "# HELP skyway_s3_sent_bytes_total Response body bytes sent.\n"
         "# TYPE skyway_s3_sent_bytes_total counter\n"
         "skyway_s3_sent_bytes_total " + std::to_string(impl_->bytes_out) + "\n" +
         "# HELP skyway_s3_request_duration_seconds Time to serve a request, by operation.\n"
         "# TYPE skyway_s3_request_duration_seconds histogram\n";
  for (const auto& [op, l] : impl_->latency) {
    std::string label = "operation=\"" + op + "\"";
    for (size_t i = 0; i < kBucketCount; i++) {
      out += "skyway_s3_request_duration_seconds_bucket{" + label + ",le=\"" + Number(kBuckets[i]) +
             "\"} " + std::to_string(l.buckets[i]) + "\n";
    }
    out += "skyway_s3_request_duration_seconds_bucket{" + label + ",le=\"+Inf\"} " +
           std::to_string(l.count) + "\n";
    out += "skyway_s3_request_duration_seconds_sum{" + label + "} " + Number(l.sum) + "\n";
    out += "skyway_s3_request_duration_seconds_count{" + label + "} " + std::to_string(l.count) + "\n";
  }
  return out;
}

}  // namespace skyway::s3
