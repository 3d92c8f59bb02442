// progress: a one-line transfer progress bar for terminals, and the byte / rate formatting the
// client commands print (cp's summary, bench).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

#include "common/common.h"

namespace skyway::cli {

using skyway::FormatBytes;  // common.h
// "105.2 MB/s"; "-" when seconds is not positive.
std::string FormatRate(uint64_t bytes, double seconds);
// "0:07", "12:34", "1:02:03"; "--:--" for a negative or unknown estimate.
std::string FormatDuration(double seconds);

// The bar's line for a state, at most `width` columns:
// "[#######.....]  12.3 MB / 40.0 MB  30%  105.2 MB/s  ETA 0:03". Pure, for tests.
std::string RenderProgressLine(uint64_t done, uint64_t total, double elapsed_seconds, int width);

// Draws RenderProgressLine on one line of `out` ('\r', no newline), at most ten times a second,
// from any thread. Draws nothing when disabled, so logs and pipes never see control characters.
class ProgressBar {
 public:
  // Enabled only when `out` is a terminal; as wide as that terminal.
  explicit ProgressBar(FILE* out = stderr);
  ProgressBar(FILE* out, bool enabled, int width);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  bool enabled() const { return enabled_; }
  // Records progress; redraws when 100 ms passed since the last draw. Thread-safe.
  void Update(uint64_t done, uint64_t total);
  // Draws the final state and ends the line; further calls do nothing. Called by the destructor.
  void Finish();

 private:
  using Clock = std::chrono::steady_clock;
  void DrawLocked(Clock::time_point now);

  FILE* out_;
  bool enabled_;
  int width_;
  std::mutex mu_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_draw_{};
  uint64_t done_ = 0;
  uint64_t total_ = 0;
  bool drawn_ = false;
  bool finished_ = false;
};

}  // namespace skyway::cli
