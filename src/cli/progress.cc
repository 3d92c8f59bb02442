#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace skyway::cli {
namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
constexpr int kMinBarWidth = 10;
constexpr int kDefaultWidth = 80;

int TerminalWidth(int fd) {
  struct winsize ws {};
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return kDefaultWidth;
}

}  // namespace

std::string FormatRate(uint64_t bytes, double seconds) {
  if (seconds <= 0) return "-";
  char text[32];
  snprintf(text, sizeof(text), "%.1f MB/s", static_cast<double>(bytes) / seconds / 1e6);
  return text;
}

std::string FormatDuration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e8) return "--:--";
  auto total = static_cast<uint64_t>(std::llround(seconds));
  uint64_t h = total / 3600, m = total / 60 % 60, s = total % 60;
  char text[32];
  if (h > 0) {
    snprintf(text, sizeof(text), "%llu:%02llu:%02llu", static_cast<unsigned long long>(h),
             static_cast<unsigned long long>(m), static_cast<unsigned long long>(s));
  } else {
    snprintf(text, sizeof(text), "%llu:%02llu", static_cast<unsigned long long>(m),
             static_cast<unsigned long long>(s));
  }
  return text;
}

std::string RenderProgressLine(uint64_t done, uint64_t total, double elapsed_seconds, int width) {
  if (total > 0) done = std::min(done, total);
  double fraction = total == 0 ? 1.0 : static_cast<double>(done) / total;
  double rate = elapsed_seconds > 0 ? done / elapsed_seconds : 0;
  double eta = rate > 0 ? (total > done ? total - done : 0) / rate : -1;
  char tail[160];
  // Fixed-width fields, so that the bar keeps its length while the numbers change.
  snprintf(tail, sizeof(tail), "  %8s / %-8s  %3d%%  %11s  ETA %-7s", FormatBytes(done).c_str(),
           FormatBytes(total).c_str(), static_cast<int>(fraction * 100),
           FormatRate(done, elapsed_seconds).c_str(), FormatDuration(eta).c_str());
  std::string line;
  int bar_width = width - static_cast<int>(strlen(tail)) - 2;
  if (bar_width >= kMinBarWidth) {
    int filled = static_cast<int>(fraction * bar_width);
    line = "[" + std::string(filled, '#') + std::string(bar_width - filled, '.') + "]";
  }
  line += bar_width >= kMinBarWidth ? tail : tail + 2;
  if (width > 0 && static_cast<int>(line.size()) > width) line.resize(width);
  return line;
}

ProgressBar::ProgressBar(FILE* out)
    : ProgressBar(out, isatty(fileno(out)) == 1, TerminalWidth(fileno(out))) {}

ProgressBar::ProgressBar(FILE* out, bool enabled, int width)
    : out_(out), enabled_(enabled), width_(width) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  // Transfer threads report out of order; the bar never goes backwards.
  done_ = std::max(done_, done);
  total_ = total;
  Clock::time_point now = Clock::now();
  if (drawn_ && now - last_draw_ < kRedrawInterval) return;
  DrawLocked(now);
}

void ProgressBar::Finish() {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  if (!drawn_) return;  // nothing was reported: leave the terminal untouched
  DrawLocked(Clock::now());
  fputc('\n', out_);
  fflush(out_);
}

void ProgressBar::DrawLocked(Clock::time_point now) {
  double elapsed = std::chrono::duration<double>(now - start_).count();
  // One column spare: writing the last column makes some terminals wrap.
  std::string line = RenderProgressLine(done_, total_, elapsed, width_ - 1);
  fprintf(out_, "\r%s\x1b[K", line.c_str());
  fflush(out_);
  last_draw_ = now;
  drawn_ = true;
}

}  // namespace skyway::cli
