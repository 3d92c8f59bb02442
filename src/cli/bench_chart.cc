// `skyway bench`: the SVG chart, written by hand. One group of bars per object size, in it one
// http/direct pair per concurrency; panels for GB/s (linear), client and server CPU s/GB (log).
#include <algorithm>
#include <cmath>
#include <functional>

#include "cli/bench.h"

namespace skyway::cli::bench {
namespace {

constexpr double kLeft = 72, kRight = 24, kTop = 56;
constexpr double kBar = 16, kBarGap = 2, kPairGap = 10, kGroupGap = 36;
constexpr double kPlotHeight = 200, kPanelHeight = 300;
constexpr char kHttpColor[] = "#4e79a7", kDirectColor[] = "#f28e2b";

struct Bar {
  const Cell* cell;
  double x;
};

struct Group {
  uint64_t size;
  double x0, x1;
  std::vector<Bar> bars;
  std::vector<std::pair<int, double>> concurrency_labels;  // concurrency, centre x
};

struct Panel {
  std::string title;
  std::function<double(const Cell&)> value;  // NaN or <= 0: no bar
  bool log;
};

std::string Fmt(const char* format, double v) {
  char buf[64];
  snprintf(buf, sizeof(buf), format, v);
  return buf;
}

// Groups and bar positions: sizes, concurrencies and transports in the order the cells ran.
std::vector<Group> Layout(const std::vector<Cell>& cells, double* width) {
  std::vector<Group> groups;
  double x = kLeft + kGroupGap / 2;
  for (const auto& c : cells) {
    bool seen = false;
    for (const auto& g : groups) seen = seen || g.size == c.size;
    if (seen) continue;
    Group g{c.size, x, x, {}, {}};
    std::vector<int> done;
    for (const auto& d : cells) {
      if (d.size != c.size || std::count(done.begin(), done.end(), d.concurrency)) continue;
      done.push_back(d.concurrency);
      double pair_x = x;
      for (bool direct : {false, true}) {
        for (const auto& e : cells) {
          if (e.size != c.size || e.concurrency != d.concurrency || e.direct != direct) continue;
          g.bars.push_back({&e, x});
          x += kBar + kBarGap;
        }
      }
      g.concurrency_labels.push_back({d.concurrency, (pair_x + x - kBarGap) / 2});
      x += kPairGap;
    }
    g.x1 = x - kPairGap;
    x += kGroupGap;
    groups.push_back(g);
  }
  *width = std::max(520.0, x - kGroupGap / 2 + kRight);
  return groups;
}

// Maps values to heights in [0, kPlotHeight]; writes the grid and tick labels.
std::function<double(double)> Axis(const Panel& panel, const std::vector<Group>& groups, double top,
                                   double width, std::string* svg) {
  double lo = INFINITY, hi = 0;
  for (const auto& g : groups) {
    for (const auto& b : g.bars) {
      double v = b.cell->ok ? panel.value(*b.cell) : NAN;
      if (std::isfinite(v) && v > 0) lo = std::min(lo, v), hi = std::max(hi, v);
    }
  }
  if (hi <= 0) lo = 1, hi = 1;
  std::vector<double> ticks;
  std::function<double(double)> height;
  if (panel.log) {
    // Headroom above the tallest bar for its rotated value label.
    double a = std::floor(std::log10(lo)), b = std::ceil(std::log10(hi * 3));
    if (b <= a) b = a + 1;
    for (double e = a; e <= b; e++) ticks.push_back(std::pow(10, e));
    height = [a, b](double v) { return (std::log10(v) - a) / (b - a) * kPlotHeight; };
  } else {
    double step = std::pow(10, std::floor(std::log10(hi / 5)));
    for (double m : {1.0, 2.0, 5.0, 10.0}) {
      if (hi / (step * m) <= 5) {
        step *= m;
        break;
      }
    }
    double top_value = std::ceil(hi * 1.2 / step) * step;
    for (double t = 0; t <= top_value * 1.0001; t += step) ticks.push_back(t);
    height = [top_value](double v) { return v / top_value * kPlotHeight; };
  }
  double base = top + kPlotHeight;
  for (double t : ticks) {
    double y = base - height(t);
    *svg += "<line x1='" + Fmt("%.1f", kLeft) + "' x2='" + Fmt("%.1f", width - kRight) + "' y1='" +
            Fmt("%.1f", y) + "' y2='" + Fmt("%.1f", y) + "' stroke='#ddd'/>\n";
    *svg += "<text x='" + Fmt("%.1f", kLeft - 6) + "' y='" + Fmt("%.1f", y + 4) +
            "' text-anchor='end' font-size='11'>" + Fmt("%g", t) + "</text>\n";
  }
  *svg += "<line x1='" + Fmt("%.1f", kLeft) + "' x2='" + Fmt("%.1f", kLeft) + "' y1='" +
          Fmt("%.1f", top) + "' y2='" + Fmt("%.1f", base) + "' stroke='#333'/>\n";
  return height;
}

void DrawPanel(const Panel& panel, const std::vector<Group>& groups, double top, double width,
               std::string* svg) {
  *svg += "<text x='" + Fmt("%.1f", kLeft) + "' y='" + Fmt("%.1f", top + 18) +
          "' font-size='14' font-weight='bold'>" + panel.title + "</text>\n";
  double plot_top = top + 36, base = plot_top + kPlotHeight;
  auto height = Axis(panel, groups, plot_top, width, svg);
  for (const auto& g : groups) {
    for (const auto& b : g.bars) {
      double v = b.cell->ok ? panel.value(*b.cell) : NAN;
      double cx = b.x + kBar / 2;
      std::string label_at = Fmt("%.1f", cx + 3) + "," + Fmt("%.1f", base - 4);
      if (!b.cell->ok || !std::isfinite(v) || v <= 0) {
        const char* why = b.cell->ok ? "n/a" : "failed";
        *svg += "<text transform='translate(" + label_at + ") rotate(-90)' font-size='10' fill='" +
                (b.cell->ok ? "#888" : "#c00") + "'>" + why + "</text>\n";
        continue;
      }
      double h = std::max(1.0, height(v));
      *svg += "<rect x='" + Fmt("%.1f", b.x) + "' y='" + Fmt("%.1f", base - h) + "' width='" +
              Fmt("%.1f", kBar) + "' height='" + Fmt("%.1f", h) + "' fill='" +
              (b.cell->direct ? kDirectColor : kHttpColor) + "'><title>" + SizeLabel(b.cell->size) +
              " x" + std::to_string(b.cell->concurrency) + " " + b.cell->transport() + ": " +
              Fmt("%.4g", v) + "</title></rect>\n";
      *svg += "<text transform='translate(" + Fmt("%.1f", cx + 3) + "," +
              Fmt("%.1f", base - h - 3) + ") rotate(-90)' font-size='10'>" + Fmt("%.3g", v) +
              "</text>\n";
    }
    for (const auto& [concurrency, cx] : g.concurrency_labels) {
      *svg += "<text x='" + Fmt("%.1f", cx) + "' y='" + Fmt("%.1f", base + 13) +
              "' text-anchor='middle' font-size='10' fill='#555'>x" + std::to_string(concurrency) +
              "</text>\n";
    }
    *svg += "<text x='" + Fmt("%.1f", (g.x0 + g.x1) / 2) + "' y='" + Fmt("%.1f", base + 30) +
            "' text-anchor='middle' font-size='12' font-weight='bold'>" + SizeLabel(g.size) +
            "</text>\n";
  }
  *svg += "<line x1='" + Fmt("%.1f", kLeft) + "' x2='" + Fmt("%.1f", width - kRight) + "' y1='" +
          Fmt("%.1f", base) + "' y2='" + Fmt("%.1f", base) + "' stroke='#333'/>\n";
}

std::string Legend(double width) {
  std::string svg;
  double x = width - kRight - 150;
  for (bool direct : {false, true}) {
    svg += "<rect x='" + Fmt("%.1f", x) + "' y='12' width='12' height='12' fill='" +
           (direct ? kDirectColor : kHttpColor) + "'/>\n";
    svg += "<text x='" + Fmt("%.1f", x + 16) + "' y='22' font-size='12'>" +
           (direct ? "direct" : "http") + "</text>\n";
    x += 70;
  }
  return svg;
}

}  // namespace

std::string ReportSvg(const Report& report) {
  double width = 0;
  std::vector<Group> groups = Layout(report.cells, &width);
  std::string op = report.op == Op::kGet ? "GET" : "PUT";
  std::vector<Panel> panels = {
      {op + " throughput, GB/s (higher is better)", [](const Cell& c) { return c.gb_per_s; },
       false},
      {"client CPU seconds per GB (lower is better; log scale)",
       [](const Cell& c) { return c.ClientCpuPerGb(); }, true},
  };
  bool server_known = false;
  for (const auto& c : report.cells) server_known = server_known || c.server_cpu_s >= 0;
  if (server_known) {
    panels.push_back({"server CPU seconds per GB (lower is better; log scale)",
                      [](const Cell& c) { return c.ServerCpuPerGb(); }, true});
  }
  double height = kTop + kPanelHeight * static_cast<double>(panels.size());
  std::string svg = "<svg xmlns='http://www.w3.org/2000/svg' width='" + Fmt("%.0f", width) +
                    "' height='" + Fmt("%.0f", height) + "' viewBox='0 0 " + Fmt("%.0f", width) +
                    " " + Fmt("%.0f", height) + "' font-family='sans-serif'>\n";
  svg += "<rect width='100%' height='100%' fill='white'/>\n";
  svg += "<text x='" + Fmt("%.1f", kLeft) + "' y='24' font-size='16' font-weight='bold'>skyway " +
         "bench " + OpName(report.op) + "</text>\n";
  svg += "<text x='" + Fmt("%.1f", kLeft) + "' y='42' font-size='11' fill='#555'>" +
         std::to_string(report.machine.nproc) + " CPUs, single-thread memcpy " +
         Fmt("%.3g", report.machine.memcpy_gb_per_s) + " GB/s, " + Fmt("%g", report.duration_s) +
         " s per cell; xN = N threads</text>\n";
  svg += Legend(width);
  for (size_t i = 0; i < panels.size(); i++) {
    DrawPanel(panels[i], groups, kTop + kPanelHeight * static_cast<double>(i), width, &svg);
  }
  return svg + "</svg>\n";
}

}  // namespace skyway::cli::bench
