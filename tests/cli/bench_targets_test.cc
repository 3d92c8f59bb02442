// The index bench's target checks, on made-up measurements: the CAGRA-on-CPU comparison with
// hnswlib at the same QPS, including CAGRA points beyond hnswlib's QPS range.
#include <gtest/gtest.h>

#include "cli/bench.h"

namespace skyway::cli::bench {
namespace {

std::vector<dataset::SearchPoint> Curve(std::vector<std::pair<double, double>> qps_recall) {
  std::vector<dataset::SearchPoint> out;
  for (auto [qps, recall] : qps_recall) out.push_back({"p", 1, recall, qps});
  return out;
}

const TargetCheck* Find(const std::vector<TargetCheck>& targets, const std::string& prefix) {
  for (const auto& t : targets) {
    if (t.name.rfind(prefix, 0) == 0) return &t;
  }
  return nullptr;
}

IndexReport Report(std::vector<std::pair<double, double>> cagra, std::vector<std::pair<double, double>> hnswlib) {
  IndexReport r;
  r.datasets.push_back({});
  r.datasets.back().name = "synthetic";
  IndexRow row;
  row.dataset = "synthetic";
  row.index_type = "GPU_CAGRA";
  row.ok = true;
  row.search = Curve(cagra);
  r.rows.push_back(row);
  Baseline b;
  b.dataset = "synthetic";
  b.ok = true;
  b.search = Curve(hnswlib);
  r.baselines.push_back(b);
  return r;
}

TEST(BenchTargets, CagraRecallAgainstHnswlibAtTheSameQps) {
  const std::string name = "CAGRA graph on CPU";
  // Inside the range: interpolated. hnswlib at 1500 QPS: 0.95; CAGRA 0.96 there.
  auto inside = IndexTargets(Report({{1500, 0.96}}, {{1000, 0.99}, {2000, 0.91}}));
  ASSERT_NE(Find(inside, name), nullptr);
  EXPECT_NEAR(Find(inside, name)->measured, 0.96 / 0.95, 1e-9);
  EXPECT_TRUE(Find(inside, name)->pass());
  // Slower than hnswlib's slowest point: held to that point's recall, so a slow CAGRA with less
  // recall fails instead of going unmeasured.
  auto slower = IndexTargets(Report({{500, 0.95}}, {{1000, 0.999}, {2000, 0.95}}));
  EXPECT_NEAR(Find(slower, name)->measured, 0.95 / 0.999, 1e-9);
  EXPECT_FALSE(Find(slower, name)->pass());
  EXPECT_NE(Find(slower, name)->detail.find("1 beyond"), std::string::npos) << Find(slower, name)->detail;
  // Faster than hnswlib's fastest point with more recall: passes.
  auto faster = IndexTargets(Report({{3000, 0.95}, {1500, 0.99}}, {{1000, 0.99}, {2000, 0.91}}));
  EXPECT_TRUE(Find(faster, name)->pass()) << Find(faster, name)->measured;
  // hnswlib measured again beside CAGRA (in turn with its passes): that curve counts, not the
  // one measured earlier with HNSW under another load.
  IndexReport both = Report({{1500, 0.96}}, {{1000, 0.99}, {2000, 0.91}});
  both.baselines.back().beside_cagra = Curve({{1000, 0.999}, {2000, 0.98}});
  auto beside = IndexTargets(both);
  EXPECT_NEAR(Find(beside, name)->measured, 0.96 / 0.9895, 1e-9);
  EXPECT_FALSE(Find(beside, name)->pass());
  EXPECT_NE(Find(beside, name)->detail.find("in turn with CAGRA"), std::string::npos) << Find(beside, name)->detail;
  EXPECT_NE(Find(inside, name)->detail.find("with HNSW, earlier"), std::string::npos) << Find(inside, name)->detail;
}

}  // namespace
}  // namespace skyway::cli::bench
