// `skyway bench`: sizes, ratios, the table on stdout and the JSON file.
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>

#include "cli/bench.h"

namespace skyway::cli::bench {

Status WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Status::IOError("cannot write " + path);
  return Status::Ok();
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double PerGb(double cpu_s, uint64_t bytes) {
  if (cpu_s < 0 || bytes == 0) return kNaN;
  return cpu_s / (static_cast<double>(bytes) / 1e9);
}

double Divide(double a, double b) {
  if (!std::isfinite(a) || !std::isfinite(b) || b <= 0) return kNaN;
  return a / b;
}

const Cell* FindCell(const std::vector<Cell>& cells, uint64_t size, int concurrency, bool direct) {
  for (const auto& c : cells) {
    if (c.size == size && c.concurrency == concurrency && c.direct == direct && c.ok) return &c;
  }
  return nullptr;
}

// A fixed-width number for the table; "-" when unknown.
std::string Num(double v, const char* format = "%.3g") {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string CellJson(const Cell& c, double memcpy_gb_per_s) {
  std::string j = "    {";
  j += "\"size\": " + std::to_string(c.size);
  j += ", \"size_label\": " + JsonString(SizeLabel(c.size));
  j += ", \"concurrency\": " + std::to_string(c.concurrency);
  j += ", \"transport\": " + JsonString(c.transport());
  j += ", \"ok\": " + std::string(c.ok ? "true" : "false");
  j += ", \"error\": " + JsonString(c.error);
  j += ", \"buffers_registered\": " + std::string(c.registered ? "true" : "false");
  j += ", \"requests\": " + std::to_string(c.requests);
  j += ", \"direct_requests\": " + std::to_string(c.direct_requests);
  j += ", \"bytes\": " + std::to_string(c.bytes);
  j += ", \"seconds\": " + JsonNumber(c.seconds);
  j += ", \"gb_per_s\": " + JsonNumber(c.ok ? c.gb_per_s : kNaN);
  j += ", \"requests_per_s\": " + JsonNumber(c.ok ? c.requests_per_s : kNaN);
  j += ", \"latency_p50_ms\": " + JsonNumber(c.ok ? c.p50_ms : kNaN);
  j += ", \"latency_p99_ms\": " + JsonNumber(c.ok ? c.p99_ms : kNaN);
  j += ", \"client_cpu_s\": " + JsonNumber(c.ok ? c.client_cpu_s : kNaN);
  j += ", \"server_cpu_s\": " + JsonNumber(c.ok && c.server_cpu_s >= 0 ? c.server_cpu_s : kNaN);
  j += ", \"client_cpu_s_per_gb\": " + JsonNumber(c.ok ? c.ClientCpuPerGb() : kNaN);
  j += ", \"server_cpu_s_per_gb\": " + JsonNumber(c.ok ? c.ServerCpuPerGb() : kNaN);
  j += ", \"fraction_of_memcpy\": " + JsonNumber(c.ok ? Divide(c.gb_per_s, memcpy_gb_per_s) : kNaN);
  return j + "}";
}

std::string RatioJson(const Ratio& r) {
  std::string j = "    {";
  j += "\"size\": " + std::to_string(r.size);
  j += ", \"size_label\": " + JsonString(SizeLabel(r.size));
  j += ", \"concurrency\": " + std::to_string(r.concurrency);
  j += ", \"gb_per_s\": " + JsonNumber(r.gb_per_s);
  j += ", \"client_cpu_s_per_gb\": " + JsonNumber(r.client_cpu_per_gb);
  j += ", \"server_cpu_s_per_gb\": " + JsonNumber(r.server_cpu_per_gb);
  return j + "}";
}

}  // namespace

double Cell::ClientCpuPerGb() const { return PerGb(client_cpu_s, bytes); }
double Cell::ServerCpuPerGb() const { return PerGb(server_cpu_s, bytes); }

std::vector<Ratio> Ratios(const std::vector<Cell>& cells) {
  std::vector<Ratio> out;
  for (const auto& c : cells) {
    if (c.direct) continue;
    bool seen = false;
    for (const auto& r : out) seen = seen || (r.size == c.size && r.concurrency == c.concurrency);
    if (seen) continue;
    Ratio r{c.size, c.concurrency, kNaN, kNaN, kNaN};
    const Cell* http = FindCell(cells, c.size, c.concurrency, false);
    const Cell* direct = FindCell(cells, c.size, c.concurrency, true);
    if (http && direct) {
      r.gb_per_s = Divide(direct->gb_per_s, http->gb_per_s);
      r.client_cpu_per_gb = Divide(direct->ClientCpuPerGb(), http->ClientCpuPerGb());
      r.server_cpu_per_gb = Divide(direct->ServerCpuPerGb(), http->ServerCpuPerGb());
    }
    out.push_back(r);
  }
  return out;
}

const Ratio* FindRatio(const std::vector<Ratio>& ratios, const Cell& cell) {
  for (const auto& r : ratios) {
    if (r.size == cell.size && r.concurrency == cell.concurrency) return &r;
  }
  return nullptr;
}

std::string SizeLabel(uint64_t bytes) {
  const char* suffixes[] = {"G", "M", "K"};
  const int shifts[] = {30, 20, 10};
  for (int i = 0; i < 3; i++) {
    uint64_t unit = 1ull << shifts[i];
    if (bytes >= unit && bytes % unit == 0) return std::to_string(bytes / unit) + suffixes[i];
  }
  return std::to_string(bytes);
}

std::optional<uint64_t> ParseSize(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && isdigit(static_cast<unsigned char>(text[digits]))) digits++;
  auto number = ParseUint64(text.substr(0, digits));
  if (!number) return std::nullopt;
  std::string suffix = ToLower(text.substr(digits));
  int shift = 0;
  if (!suffix.empty() && (suffix[0] == 'k' || suffix[0] == 'm' || suffix[0] == 'g')) {
    shift = suffix[0] == 'k' ? 10 : suffix[0] == 'm' ? 20 : 30;
    suffix.erase(0, 1);
    if (suffix == "b" || suffix == "ib") suffix.clear();
  }
  if (!suffix.empty() || *number == 0 || *number > (1ull << (63 - shift))) return std::nullopt;
  return *number << shift;
}

void PrintTable(const Report& report, FILE* out) {
  std::vector<Ratio> ratios = Ratios(report.cells);
  fprintf(out, "%-6s %4s %-9s %8s %9s %9s %9s %9s %9s %7s | %9s %9s %9s\n", "size", "conc",
          "transport", "GB/s", "req/s", "p50 ms", "p99 ms", "cli s/GB", "srv s/GB", "memcpy",
          "d/h GB/s", "d/h cli", "d/h srv");
  for (const auto& c : report.cells) {
    fprintf(out, "%-6s %4d %-9s ", SizeLabel(c.size).c_str(), c.concurrency, c.transport());
    if (!c.ok) {
      fprintf(out, "FAILED: %s\n", c.error.c_str());
      continue;
    }
    double fraction = Divide(c.gb_per_s, report.machine.memcpy_gb_per_s) * 100;
    fprintf(out, "%8s %9s %9s %9s %9s %9s %6s%% |", Num(c.gb_per_s).c_str(),
            Num(c.requests_per_s, "%.0f").c_str(), Num(c.p50_ms).c_str(), Num(c.p99_ms).c_str(),
            Num(c.ClientCpuPerGb()).c_str(), Num(c.ServerCpuPerGb()).c_str(),
            Num(fraction, "%.0f").c_str());
    const Ratio* r = c.direct ? FindRatio(ratios, c) : nullptr;
    if (r) {
      fprintf(out, " %9s %9s %9s", (Num(r->gb_per_s) + "x").c_str(),
              (Num(r->client_cpu_per_gb) + "x").c_str(), (Num(r->server_cpu_per_gb) + "x").c_str());
    }
    fprintf(out, "\n");
  }
}

std::string ReportJson(const Report& report) {
  const Machine& m = report.machine;
  std::string j = "{\n";
  j += "  \"benchmark\": " + JsonString(OpName(report.op)) + ",\n";
  j += "  \"duration_s\": " + JsonNumber(report.duration_s) + ",\n";
  j += "  \"endpoint\": " + JsonString(report.endpoint) + ",\n";
  j += "  \"own_server\": " + std::string(report.own_server ? "true" : "false") + ",\n";
  j += "  \"server_pid\": " + std::to_string(report.server_pid) + ",\n";
  j += "  \"machine\": {\"nproc\": " + std::to_string(m.nproc) +
       ", \"memcpy_gb_per_s\": " + JsonNumber(m.memcpy_gb_per_s) +
       ", \"cpu_model\": " + JsonString(m.cpu_model) +
       ", \"load_average_1m\": " + JsonNumber(m.load_average >= 0 ? m.load_average : NAN) + "},\n";
  j += "  \"cells\": [\n";
  for (size_t i = 0; i < report.cells.size(); i++) {
    j += CellJson(report.cells[i], m.memcpy_gb_per_s);
    j += i + 1 < report.cells.size() ? ",\n" : "\n";
  }
  j += "  ],\n  \"ratios_direct_over_http\": [\n";
  std::vector<Ratio> ratios = Ratios(report.cells);
  for (size_t i = 0; i < ratios.size(); i++) {
    j += RatioJson(ratios[i]);
    j += i + 1 < ratios.size() ? ",\n" : "\n";
  }
  return j + "  ]\n}\n";
}

}  // namespace skyway::cli::bench
