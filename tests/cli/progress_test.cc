#include "cli/progress.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace skyway::cli {
namespace {

TEST(FormatBytes, DecimalUnits) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(999), "999 B");
  EXPECT_EQ(FormatBytes(1000), "1.0 KB");
  EXPECT_EQ(FormatBytes(41943040), "41.9 MB");
  EXPECT_EQ(FormatBytes(999960000), "1.0 GB");  // rounds up into the next unit, not "1000.0 MB"
  EXPECT_EQ(FormatBytes(2500000000000ull), "2.5 TB");
}

TEST(FormatRate, MegabytesPerSecond) {
  EXPECT_EQ(FormatRate(105200000, 1.0), "105.2 MB/s");
  EXPECT_EQ(FormatRate(100, 0), "-");
}

TEST(FormatDuration, MinutesAndHours) {
  EXPECT_EQ(FormatDuration(7), "0:07");
  EXPECT_EQ(FormatDuration(754), "12:34");
  EXPECT_EQ(FormatDuration(3723), "1:02:03");
  EXPECT_EQ(FormatDuration(-1), "--:--");
}

TEST(RenderProgressLine, BarNumbersAndEta) {
  std::string line = RenderProgressLine(12000000, 40000000, 2.0, 80);
  EXPECT_LE(line.size(), 80u);
  EXPECT_EQ(line.front(), '[');
  EXPECT_NE(line.find("12.0 MB / 40.0 MB"), std::string::npos) << line;
  EXPECT_NE(line.find(" 30%"), std::string::npos) << line;
  EXPECT_NE(line.find("6.0 MB/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 0:05"), std::string::npos) << line;  // 28 MB left at 6 MB/s
}

TEST(RenderProgressLine, BarKeepsItsLengthAsNumbersGrow) {
  std::string a = RenderProgressLine(1, 300000000, 0.5, 90);
  std::string b = RenderProgressLine(299000000, 300000000, 1.5, 90);
  EXPECT_EQ(a.find(']'), b.find(']'));
}

TEST(RenderProgressLine, NarrowTerminalDropsTheBar) {
  std::string line = RenderProgressLine(5, 10, 1.0, 40);
  EXPECT_LE(line.size(), 40u);
  EXPECT_NE(line.front(), '[');
}

TEST(RenderProgressLine, EmptyAndOvershoot) {
  EXPECT_NE(RenderProgressLine(0, 0, 0, 100).find("100%"), std::string::npos);
  EXPECT_NE(RenderProgressLine(20, 10, 1, 100).find("10 B / 10 B"), std::string::npos);
}

// What was written to a memstream so far.
std::string Drain(FILE* f, char** buffer) {
  fflush(f);
  return *buffer ? *buffer : "";
}

TEST(ProgressBar, DisabledWritesNothing) {
  char* buffer = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&buffer, &size);
  {
    ProgressBar bar(out, false, 80);
    bar.Update(5, 10);
    bar.Finish();
  }
  EXPECT_EQ(Drain(out, &buffer), "");
  fclose(out);
  free(buffer);
}

TEST(ProgressBar, RedrawsAtMostTenTimesASecondAndEndsTheLine) {
  char* buffer = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&buffer, &size);
  auto start = std::chrono::steady_clock::now();
  {
    ProgressBar bar(out, true, 80);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) {
      threads.emplace_back([&bar, t] {
        for (uint64_t i = 0; i < 1000; i++) bar.Update(i * 4 + t, 4000);
      });
    }
    for (auto& t : threads) t.join();
    bar.Update(4000, 4000);
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  std::string text = Drain(out, &buffer);
  size_t draws = 0;
  for (char c : text) draws += c == '\r';
  EXPECT_GE(draws, 2u);  // the first update and the final state
  // One per 100 ms at most, plus the first and the final one; not one per update.
  EXPECT_LE(draws, 2 + static_cast<size_t>(elapsed / std::chrono::milliseconds(100)));
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.rfind("100%"), std::string::npos);
  fclose(out);
  free(buffer);
}

TEST(ProgressBar, NothingReportedLeavesTheTerminalAlone) {
  char* buffer = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&buffer, &size);
  { ProgressBar bar(out, true, 80); }
  EXPECT_EQ(Drain(out, &buffer), "");
  fclose(out);
  free(buffer);
}

}  // namespace
}  // namespace skyway::cli
