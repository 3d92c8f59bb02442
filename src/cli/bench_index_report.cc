// `skyway bench index`: the targets it checks, the tables on stdout, the JSON file and the SVG
// chart (hand-written, in the manner of bench_chart.cc).
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "cli/bench.h"

namespace skyway::cli::bench {
namespace {

using Json = nlohmann::ordered_json;

constexpr double kBuildRatioMax = 1.15, kQpsRatioMin = 0.8, kRecallMin = 0.97, kLoadSpeedupMin = 5;
constexpr double kGpuEndToEndMin = 12, kGpuBuildMin = 12, kGpuRecallMin = 0.95;
constexpr int kRecallEf = 32;
constexpr char kRecallDataset[] = "fashion-mnist";

std::string Num(double v, const char* format = "%.3g") {
  if (!(v >= 0) || !std::isfinite(v)) return "-";
  char buf[64];
  snprintf(buf, sizeof(buf), format, v);
  return buf;
}

double Quotient(double a, double b) { return a >= 0 && b > 0 ? a / b : -1; }

const IndexRow* FindRow(const IndexReport& r, const std::string& dataset, const std::string& type) {
  for (const auto& row : r.rows) {
    if (row.dataset == dataset && row.index_type == type && row.build_s >= 0) return &row;
  }
  return nullptr;
}

const Baseline* FindBaseline(const IndexReport& r, const std::string& dataset) {
  for (const auto& b : r.baselines) {
    if (b.dataset == dataset && b.ok) return &b;
  }
  return nullptr;
}

const SearchPoint* FindPoint(const std::vector<SearchPoint>& points, int ef) {
  for (const auto& p : points) {
    if (p.param == "ef" && p.value == ef) return &p;
  }
  return nullptr;
}

double BestLoad(const IndexReport& r, const std::string& dataset, bool direct) {
  for (const auto& l : r.loads) {
    if (l.dataset == dataset && l.direct == direct && l.ok) return l.best_s;
  }
  return -1;
}

void AddHnswTargets(const IndexReport& r, const std::string& name, std::vector<TargetCheck>* out) {
  const IndexRow* ours = FindRow(r, name, "HNSW");
  const Baseline* raw = FindBaseline(r, name);
  if (!ours) return;
  TargetCheck build{"HNSW build time, ours / hnswlib", name, "", -1, kBuildRatioMax, true};
  if (raw) {
    build.measured = Quotient(ours->build_s, raw->build_s);
    build.detail = "ours " + Num(ours->build_s) + " s, hnswlib " + Num(raw->build_s) + " s, " +
                   std::to_string(raw->threads) + " threads";
  }
  out->push_back(build);
  for (const auto& p : ours->search) {
    const SearchPoint* q = raw ? FindPoint(raw->search, p.value) : nullptr;
    TargetCheck qps{"HNSW QPS at ef=" + std::to_string(p.value) + ", ours / hnswlib",
                    name,
                    "",
                    -1,
                    kQpsRatioMin,
                    false};
    if (q) {
      qps.measured = Quotient(p.qps, q->qps);
      qps.detail = "ours " + Num(p.qps, "%.0f") + ", hnswlib " + Num(q->qps, "%.0f") + " QPS";
    }
    out->push_back(qps);
  }
  if (name != kRecallDataset) return;
  const SearchPoint* p = FindPoint(ours->search, kRecallEf);
  const SearchPoint* q = raw ? FindPoint(raw->search, kRecallEf) : nullptr;
  out->push_back({"HNSW recall@10 at ef=32 (M=16, efConstruction=200)", name,
                  q ? "hnswlib " + Num(q->recall, "%.4f") : "", p ? p->recall : -1, kRecallMin,
                  false});
}

std::string Transport(bool direct) { return direct ? "direct" : "http"; }

const IndexRow* FindRow(const IndexReport& r, const std::string& dataset, const std::string& type,
                        bool direct) {
  for (const auto& row : r.rows) {
    if (row.dataset == dataset && row.index_type == type && row.direct == direct && row.ok) return &row;
  }
  return nullptr;
}

// hnswlib's recall at a QPS, interpolated along its (QPS, recall) points; beyond them the
// nearest end's (*beyond set), -1 without points. Slower than its slowest point hnswlib would
// search with a larger ef and find at least that recall; faster than its fastest, at most.
double RecallAtQps(const std::vector<SearchPoint>& curve, double qps, bool* beyond) {
  std::vector<std::pair<double, double>> pts;
  for (const auto& p : curve) pts.push_back({p.qps, p.recall});
  std::sort(pts.begin(), pts.end());
  *beyond = false;
  if (pts.empty()) return -1;
  if (qps < pts.front().first || qps > pts.back().first) {
    *beyond = true;
    return qps < pts.front().first ? pts.front().second : pts.back().second;
  }
  for (size_t i = 1; i < pts.size(); i++) {
    if (qps > pts[i].first) continue;
    double span = pts[i].first - pts[i - 1].first;
    double t = span > 0 ? (qps - pts[i - 1].first) / span : 0;
    return pts[i - 1].second + t * (pts[i].second - pts[i - 1].second);
  }
  return pts.back().second;
}

// The seed's experiment: GPU CAGRA fed by the direct path against CPU HNSW fed over HTTP. The
// ratios are measured only when CAGRA built on a GPU (on the CPU they would say nothing).
void AddGpuTargets(const IndexReport& r, const std::string& name, std::vector<TargetCheck>* out) {
  const IndexRow* gpu = FindRow(r, name, "GPU_CAGRA", true);
  if (gpu == nullptr) gpu = FindRow(r, name, "GPU_CAGRA", false);
  if (gpu == nullptr) return;
  const bool on_gpu = !r.gpu_device.empty();
  const std::string cpu_built = "not measured: GPU_CAGRA built on the CPU (no CUDA device)";
  const IndexRow* hnsw = FindRow(r, name, "HNSW", false);
  TargetCheck e2e{"end to end, HNSW+http / GPU_CAGRA+" + std::string(gpu->transport()), name,
                  cpu_built, -1, kGpuEndToEndMin, false};
  if (on_gpu && hnsw) {
    e2e.measured = Quotient(hnsw->total_s(), gpu->total_s());
    e2e.detail = "HNSW " + Num(hnsw->total_s()) + " s, CAGRA " + Num(gpu->total_s()) + " s";
  }
  out->push_back(e2e);
  const Baseline* raw = FindBaseline(r, name);
  TargetCheck build{"graph build, hnswlib / GPU_CAGRA", name, cpu_built, -1, kGpuBuildMin, false};
  if (on_gpu && raw) {
    build.measured = Quotient(raw->build_s, gpu->build_s);
    build.detail = "hnswlib " + Num(raw->build_s) + " s (" + std::to_string(raw->threads) +
                   " threads), CAGRA " + Num(gpu->build_s) + " s";
  }
  out->push_back(build);
  double best = -1;
  for (const auto& p : gpu->search) best = std::max(best, p.recall);
  out->push_back({"GPU_CAGRA best recall@10", name, "", best, kGpuRecallMin, false});
  // CPU search of the CAGRA graph: its recall over hnswlib's at the same QPS, worst point. A
  // point beyond hnswlib's QPS range is held to the nearest end of it (slower than hnswlib's
  // slowest point: to at least that point's recall, which hnswlib would match there).
  // hnswlib's curve measured beside CAGRA's when there is one (the same background load).
  TargetCheck cpu{"CAGRA graph on CPU: recall / hnswlib's at same QPS", name,
                  "no hnswlib search points", -1, 1, false};
  if (raw) {
    const bool beside = !raw->beside_cagra.empty();
    const std::vector<SearchPoint>& curve = beside ? raw->beside_cagra : raw->search;
    int compared = 0, beyond_range = 0;
    for (const auto& p : gpu->search) {
      bool beyond = false;
      double theirs = RecallAtQps(curve, p.qps, &beyond);
      if (theirs <= 0) continue;
      beyond_range += beyond;
      double ratio = p.recall / theirs;
      cpu.measured = compared++ == 0 ? ratio : std::min(cpu.measured, ratio);
    }
    if (compared > 0) {
      cpu.detail = std::to_string(compared - beyond_range) + " itopk point(s) in hnswlib's QPS range, " +
                   std::to_string(beyond_range) + " beyond it (held to its nearest end); hnswlib " +
                   (beside ? "searched in turn with CAGRA" : "searched with HNSW, earlier");
    }
  }
  out->push_back(cpu);
}

}  // namespace

std::vector<TargetCheck> IndexTargets(const IndexReport& report) {
  std::vector<TargetCheck> out;
  for (const auto& d : report.datasets) {
    AddHnswTargets(report, d.name, &out);
    AddGpuTargets(report, d.name, &out);
    if (d.name != kRecallDataset) continue;
    double http = BestLoad(report, d.name, false), direct = BestLoad(report, d.name, true);
    out.push_back({"load of the vectors object, http / direct time", d.name,
                   "http " + Num(http) + " s, direct " + Num(direct) + " s, " +
                       Num(double(d.bytes) / 1e6, "%.0f") + " MB",
                   Quotient(http, direct), kLoadSpeedupMin, false});
  }
  return out;
}

void PrintIndexTable(const IndexReport& report, FILE* out) {
  fprintf(out, "%-14s %-9s %-9s %8s %8s %8s %8s %9s  %s\n", "dataset", "transport", "index",
          "load s", "build s", "store s", "total s", "index MB", "build parameters");
  for (const auto& row : report.rows) {
    fprintf(out, "%-14s %-9s %-9s ", row.dataset.c_str(), row.transport(), row.index_type.c_str());
    if (!row.ok) fprintf(out, "FAILED: %s\n", row.error.c_str());
    if (!row.ok) continue;
    fprintf(out, "%8s %8s %8s %8s %9s  %s\n", Num(row.load_s).c_str(), Num(row.build_s).c_str(),
            Num(row.store_s).c_str(), Num(row.total_s()).c_str(),
            Num(double(row.index_bytes) / 1e6, "%.1f").c_str(), row.build_params.c_str());
  }
  fprintf(out, "\n%-14s %-9s %-11s %9s %9s | %-9s %9s %9s %9s\n", "dataset", "index", "search",
          "recall@10", "QPS", "hnswlib", "recall@10", "QPS", "QPS ratio");
  for (const auto& row : report.rows) {
    if (row.direct != report.rows.front().direct) continue;  // shared by both transports
    const Baseline* raw = row.index_type == "HNSW" ? FindBaseline(report, row.dataset) : nullptr;
    for (const auto& p : row.search) {
      std::string setting = p.param.empty() ? "-" : p.param + "=" + std::to_string(p.value);
      fprintf(out, "%-14s %-9s %-11s %9s %9s |", row.dataset.c_str(), row.index_type.c_str(),
              setting.c_str(), Num(p.recall, "%.4f").c_str(), Num(p.qps, "%.0f").c_str());
      const SearchPoint* q = raw ? FindPoint(raw->search, p.value) : nullptr;
      if (q) {
        fprintf(out, " %-9s %9s %9s %8sx", "", Num(q->recall, "%.4f").c_str(),
                Num(q->qps, "%.0f").c_str(), Num(Quotient(p.qps, q->qps), "%.2f").c_str());
      }
      fprintf(out, "\n");
    }
    if (!row.batch_search.empty()) {
      fprintf(out, "%s %s, all queries in one call (%s): %s\n", row.dataset.c_str(),
              row.index_type.c_str(), row.batch_on.c_str(), dataset::Summary(row.batch_search).c_str());
    }
  }
  for (const auto& l : report.loads) {
    fprintf(out, "%s load %s (%s MB): %s\n", l.dataset.c_str(), Transport(l.direct).c_str(),
            Num(double(l.bytes) / 1e6, "%.0f").c_str(),
            l.ok ? (Num(l.best_s) + " s, " + Num(Quotient(double(l.bytes) / 1e9, l.best_s)) +
                    " GB/s, best of " + std::to_string(l.seconds.size()))
                       .c_str()
                 : ("FAILED: " + l.error).c_str());
  }
  for (const auto& b : report.baselines) {
    fprintf(out, "%s hnswlib build (M=%d efConstruction=%d, %d threads): %s\n", b.dataset.c_str(),
            b.m, b.ef_construction, b.threads,
            b.ok ? (Num(b.build_s) + " s").c_str() : ("FAILED: " + b.error).c_str());
    if (!b.beside_cagra.empty()) {
      fprintf(out, "%s hnswlib searched in turn with GPU_CAGRA: %s\n", b.dataset.c_str(),
              dataset::Summary(b.beside_cagra).c_str());
    }
  }
}

void PrintIndexTargets(const std::vector<TargetCheck>& targets, FILE* out) {
  fprintf(out, "targets:\n");
  for (const auto& t : targets) {
    fprintf(out, "  %-52s %-14s %8s %s %-5g %-4s  %s\n", t.name.c_str(), t.dataset.c_str(),
            Num(t.measured, "%.3f").c_str(), t.at_most ? "<=" : ">=", t.target,
            !t.known() ? "n/a"
            : t.pass() ? "PASS"
                       : "FAIL",
            t.detail.c_str());
  }
}

namespace {

Json NumJson(double v) { return v >= 0 && std::isfinite(v) ? Json(v) : Json(nullptr); }

Json PointsJson(const std::vector<SearchPoint>& points) {
  Json out = Json::array();
  for (const auto& p : points) {
    out.push_back({{"param", p.param.empty() ? Json(nullptr) : Json(p.param)},
                   {"value", p.param.empty() ? Json(nullptr) : Json(p.value)},
                   {"recall_at_10", NumJson(p.recall)},
                   {"qps", NumJson(p.qps)}});
  }
  return out;
}

Json RowJson(const IndexRow& r) {
  return {{"dataset", r.dataset},
          {"transport", r.transport()},
          {"index_type", r.index_type},
          {"build_params", r.build_params},
          {"ok", r.ok},
          {"error", r.error},
          {"load_s", NumJson(r.load_s)},
          {"build_s", NumJson(r.build_s)},
          {"store_s", NumJson(r.store_s)},
          {"total_s", NumJson(r.total_s())},
          {"index_bytes", r.index_bytes},
          {"load_transport", r.load_s >= 0 ? Transport(r.load_went_direct) : ""},
          {"store_transport", r.store_s >= 0 ? Transport(r.store_went_direct) : ""},
          {"search", PointsJson(r.search)},
          {"search_batch", PointsJson(r.batch_search)},
          {"search_batch_on", r.batch_on}};
}

}  // namespace

std::string IndexReportJson(const IndexReport& report) {
  const Machine& m = report.machine;
  Json j = {{"benchmark", "index"},
            {"duration_s", report.duration_s},
            {"endpoint", report.endpoint},
            {"own_server", report.own_server},
            {"server_pid", report.server_pid},
            {"threads", report.threads},
            {"k", report.k},
            {"load_repeat", report.load_repeat},
            {"search_repeat", report.search_repeat},
            {"gpu_device", report.gpu_device.empty() ? Json(nullptr) : Json(report.gpu_device)},
            {"machine",
             {{"nproc", m.nproc},
              {"cpu_model", m.cpu_model},
              {"load_average_1m", NumJson(m.load_average)}}}};
  for (const auto& d : report.datasets) {
    j["datasets"].push_back({{"name", d.name},
                             {"rows", d.rows},
                             {"dim", d.dim},
                             {"queries", d.queries},
                             {"vectors_bytes", d.bytes},
                             {"prepare_s", NumJson(d.prepare_s)},
                             {"ground_truth_s", NumJson(d.ground_truth_s)}});
  }
  for (const auto& l : report.loads) {
    j["loads"].push_back({{"dataset", l.dataset},
                          {"transport", Transport(l.direct)},
                          {"ok", l.ok},
                          {"error", l.error},
                          {"buffer_registered", l.registered},
                          {"went_direct", l.went_direct},
                          {"bytes", l.bytes},
                          {"seconds", l.seconds},
                          {"best_s", NumJson(l.best_s)}});
  }
  j["rows"] = Json::array();
  for (const auto& r : report.rows) j["rows"].push_back(RowJson(r));
  j["baselines"] = Json::array();
  for (const auto& b : report.baselines) {
    j["baselines"].push_back({{"dataset", b.dataset},
                              {"library", "hnswlib"},
                              {"ok", b.ok},
                              {"error", b.error},
                              {"M", b.m},
                              {"efConstruction", b.ef_construction},
                              {"threads", b.threads},
                              {"build_s", NumJson(b.build_s)},
                              {"search", PointsJson(b.search)},
                              {"search_beside_cagra", PointsJson(b.beside_cagra)}});
  }
  j["targets"] = Json::array();
  for (const auto& t : IndexTargets(report)) {
    j["targets"].push_back({{"name", t.name},
                            {"dataset", t.dataset},
                            {"measured", NumJson(t.measured)},
                            {"comparison", t.at_most ? "<=" : ">="},
                            {"target", t.target},
                            {"pass", t.known() ? Json(t.pass()) : Json(nullptr)},
                            {"detail", t.detail}});
  }
  return j.dump(2) + "\n";
}

Status PublishIndexReport(const IndexReport& report, const std::string& json_path,
                          const std::string& svg_path) {
  printf("\n");
  PrintIndexTable(report, stdout);
  printf("\n");
  PrintIndexTargets(IndexTargets(report), stdout);
  RETURN_IF_ERROR(WriteTextFile(json_path, IndexReportJson(report)));
  RETURN_IF_ERROR(WriteTextFile(svg_path, IndexReportSvg(report)));
  printf("wrote %s and %s\n", json_path.c_str(), svg_path.c_str());
  return Status::Ok();
}

// ---- the chart -------------------------------------------------------------------------------

namespace {

constexpr double kWidth = 980, kSection = 360, kHeader = 48, kPlotTop = 40, kPlotHeight = 230;
constexpr double kBarsLeft = 64, kBarsRight = 520, kCurveLeft = 600, kCurveRight = 950;
constexpr const char* kPhaseColors[] = {"#4e79a7", "#f28e2b", "#59a14f"};  // load, build, store
constexpr const char* kTypeColors[] = {"#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};

std::string F(double v) { return Num(v, "%.1f"); }
std::string Label(double v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

std::string Text(double x, double y, const std::string& text, const std::string& attrs = "") {
  std::string size = attrs.find("font-size") == std::string::npos ? "font-size='11' " : "";
  return "<text x='" + F(x) + "' y='" + F(y) + "' " + size + attrs + ">" + text + "</text>\n";
}

std::string Line(double x1, double y1, double x2, double y2, const std::string& stroke) {
  return "<line x1='" + F(x1) + "' y1='" + F(y1) + "' x2='" + F(x2) + "' y2='" + F(y2) +
         "' stroke='" + stroke + "'/>\n";
}

// A "nice" linear axis top for values up to hi: 1, 2 or 5 times a power of ten, times 5.
double NiceStep(double hi) {
  double step = std::pow(10, std::floor(std::log10(std::max(hi, 1e-9) / 5)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (hi / (step * m) <= 5) return step * m;
  }
  return step * 10;
}

// Stacked load / build / store seconds, an http and a direct bar per index type.
void DrawBars(const IndexReport& r, const std::string& name, double top, std::string* svg) {
  std::vector<const IndexRow*> rows;
  double hi = 0;
  for (const auto& row : r.rows) {
    if (row.dataset != name || !row.ok) continue;
    rows.push_back(&row);
    hi = std::max(hi, row.total_s());
  }
  double step = NiceStep(hi), top_value = std::max(step, std::ceil(hi / step) * step);
  double base = top + kPlotTop + kPlotHeight, scale = kPlotHeight / top_value;
  *svg += Text(kBarsLeft, top + 24, "seconds to a stored index: load + build + store",
               "font-weight='bold' font-size='13'");
  for (double t = 0; t <= top_value * 1.0001; t += step) {
    *svg += Line(kBarsLeft, base - t * scale, kBarsRight, base - t * scale, "#ddd");
    *svg += Text(kBarsLeft - 6, base - t * scale + 4, Label(t), "text-anchor='end'");
  }
  double slot = (kBarsRight - kBarsLeft) / std::max<size_t>(rows.size(), 1);
  double bar = std::min(28.0, slot * 0.7);
  for (size_t i = 0; i < rows.size(); i++) {
    double x = kBarsLeft + slot * (double(i) + 0.5) - bar / 2, y = base;
    double parts[] = {rows[i]->load_s, rows[i]->build_s, rows[i]->store_s};
    for (int p = 0; p < 3; p++) {
      double h = parts[p] * scale;
      *svg += "<rect x='" + F(x) + "' y='" + F(y - h) + "' width='" + F(bar) + "' height='" + F(h) +
              "' fill='" + kPhaseColors[p] + "'><title>" + rows[i]->index_type + " " +
              rows[i]->transport() + ": " + Num(parts[p], "%.4g") + " s</title></rect>\n";
      y -= h;
    }
    *svg += Text(x + bar / 2, y - 4, Num(rows[i]->total_s()), "text-anchor='middle' font-size='9'");
    *svg +=
        Text(x + bar / 2, base + 12, rows[i]->transport(), "text-anchor='middle' font-size='9'");
    if (i == 0 || rows[i - 1]->index_type != rows[i]->index_type)
      *svg += Text(x, base + 26, rows[i]->index_type, "font-weight='bold'");
  }
  *svg += Line(kBarsLeft, base, kBarsRight, base, "#333");
  const char* phases[] = {"load", "build", "store"};
  for (int p = 0; p < 3; p++) {
    double x = kBarsRight - 190 + p * 64;
    *svg += "<rect x='" + F(x) + "' y='" + F(top + 14) + "' width='10' height='10' fill='" +
            kPhaseColors[p] + "'/>\n" + Text(x + 14, top + 23, phases[p]);
  }
}

struct Curve {
  std::string name, color;
  const std::vector<SearchPoint>* points;
  bool dashed;
};

// Recall@10 (x) against QPS (y, log) per index type, and the hnswlib baseline dashed.
void DrawCurves(const std::vector<Curve>& curves, double top, std::string* svg) {
  double lo_recall = 1, lo_qps = INFINITY, hi_qps = 0;
  for (const auto& c : curves) {
    for (const auto& p : *c.points) {
      if (p.qps <= 0 || p.recall < 0) continue;
      lo_recall = std::min(lo_recall, p.recall);
      lo_qps = std::min(lo_qps, p.qps), hi_qps = std::max(hi_qps, p.qps);
    }
  }
  if (hi_qps <= 0) lo_qps = 1, hi_qps = 10;
  double x0 = std::max(0.0, std::floor(lo_recall * 10 - 0.5) / 10);
  double a = std::floor(std::log10(lo_qps)), b = std::max(a + 1, std::ceil(std::log10(hi_qps)));
  double base = top + kPlotTop + kPlotHeight;
  auto px = [&](double recall) {
    return kCurveLeft + (recall - x0) / (1 - x0 + 1e-9) * (kCurveRight - kCurveLeft);
  };
  auto py = [&](double qps) { return base - (std::log10(qps) - a) / (b - a) * kPlotHeight; };
  *svg += Text(kCurveLeft, top + 24, "QPS (1 thread, log) against recall@10",
               "font-weight='bold' font-size='13'");
  for (double e = a; e <= b; e++) {
    *svg += Line(kCurveLeft, py(std::pow(10, e)), kCurveRight, py(std::pow(10, e)), "#ddd");
    *svg +=
        Text(kCurveLeft - 6, py(std::pow(10, e)) + 4, Label(std::pow(10, e)), "text-anchor='end'");
  }
  for (double t = x0; t <= 1.0001; t += (1 - x0) / 5) {
    *svg += Line(px(t), base, px(t), base + 4, "#333");
    *svg += Text(px(t), base + 16, Num(t, "%.2f"), "text-anchor='middle'");
  }
  *svg += Line(kCurveLeft, base, kCurveRight, base, "#333");
  for (size_t i = 0; i < curves.size(); i++) {
    const Curve& c = curves[i];
    std::string path;
    for (const auto& p : *c.points) {
      if (p.qps <= 0 || p.recall < 0) continue;
      path += (path.empty() ? "" : " ") + F(px(p.recall)) + "," + F(py(p.qps));
      std::string tip = c.name + (p.param.empty() ? "" : " " + p.param + "=" + Label(p.value)) +
                        ": recall " + Num(p.recall, "%.4f") + ", " + Num(p.qps, "%.0f") + " QPS";
      *svg += "<circle cx='" + F(px(p.recall)) + "' cy='" + F(py(p.qps)) + "' r='3' fill='" +
              c.color + "'><title>" + tip + "</title></circle>\n";
    }
    *svg += "<polyline fill='none' stroke='" + c.color + "' points='" + path + "'" +
            (c.dashed ? " stroke-dasharray='4 3'" : "") + "/>\n";
    *svg += Text(kCurveRight - 90, top + kPlotTop + 12 + 14 * double(i), c.name,
                 "fill='" + c.color + "'");
  }
}

}  // namespace

std::string IndexReportSvg(const IndexReport& report) {
  double height = kHeader + kSection * double(std::max<size_t>(1, report.datasets.size()));
  std::string svg = "<svg xmlns='http://www.w3.org/2000/svg' width='" + F(kWidth) + "' height='" +
                    F(height) + "' font-family='sans-serif'>\n" +
                    "<rect width='100%' height='100%' fill='white'/>\n";
  svg += Text(kBarsLeft, 24, "skyway bench index", "font-size='16' font-weight='bold'");
  svg += Text(kBarsLeft, 40,
              std::to_string(report.machine.nproc) + " CPUs, " + std::to_string(report.threads) +
                  " build threads; load = GET " + "of the vectors object (best of " +
                  std::to_string(report.load_repeat) + ")",
              "fill='#555'");
  for (size_t i = 0; i < report.datasets.size(); i++) {
    const DatasetInfo& d = report.datasets[i];
    double top = kHeader + kSection * double(i);
    svg += Text(12, top + 10,
                d.name + " (" + std::to_string(d.rows) + " x " + std::to_string(d.dim) + ")",
                "font-size='13' fill='#333'");
    DrawBars(report, d.name, top + 10, &svg);
    std::vector<Curve> curves;
    for (const auto& row : report.rows) {
      if (row.dataset != d.name || row.direct != report.rows.front().direct) continue;
      curves.push_back({row.index_type, kTypeColors[curves.size() % 5], &row.search, false});
    }
    for (const auto& b : report.baselines) {
      if (b.dataset == d.name && b.ok) curves.push_back({"hnswlib", "#333", &b.search, true});
    }
    DrawCurves(curves, top + 10, &svg);
  }
  return svg + "</svg>\n";
}

}  // namespace skyway::cli::bench
