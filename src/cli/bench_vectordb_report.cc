// `skyway bench vectordb`: the printed table with the targets, and the JSON report.
#include <cmath>
#include <nlohmann/json.hpp>

#include "cli/bench_vectordb.h"

namespace skyway::cli::vdbbench {
namespace {

using Json = nlohmann::ordered_json;

// A goal of the issue, checked against a measured figure (never an estimate).
struct Goal {
  std::string name, detail;
  double measured = -1;  // < 0: not measured
  double target = 0;
  bool known() const { return measured >= 0; }
  bool pass() const { return known() && measured >= target; }
};

std::vector<Goal> Goals(const Report& r) {
  Goal insert{"insert vectors/s, dim " + std::to_string(r.dim) + " (best client count)", "", -1,
              kInsertTarget};
  for (const auto& l : r.inserts) {
    if (l.ok && l.vectors_per_s > insert.measured) {
      insert.measured = l.vectors_per_s;
      insert.detail = std::to_string(l.clients) + " client(s)";
    }
  }
  if (!insert.known()) insert.detail = "no insert level succeeded";
  Goal search{"search requests/s, nq 1, " + std::to_string(kSearchTargetClients) + " clients", "",
              -1, kSearchTarget};
  for (const auto& l : r.searches) {
    if (l.ok && l.clients == kSearchTargetClients) search.measured = l.requests_per_s;
  }
  if (!search.known())
    search.detail = "not measured at " + std::to_string(kSearchTargetClients) + " clients";
  return {insert, search};
}

// CPU seconds per `per` units of work; NaN when unknown.
double PerUnit(double cpu_s, double units, double per) {
  return cpu_s >= 0 && units > 0 ? cpu_s / units * per : NAN;
}

std::string Num(double v, const char* format) {
  if (!std::isfinite(v) || v < 0) return "-";
  char buf[64];
  snprintf(buf, sizeof(buf), format, v);
  return buf;
}

Json NumJson(double v) { return std::isfinite(v) && v >= 0 ? Json(v) : Json(nullptr); }

void PrintInserts(const Report& r, FILE* out) {
  fprintf(out,
          "insert: fashion-mnist %zu rows x %zu (JSON integers), %zu rows per request, one "
          "collection per client count\n",
          r.rows, r.dim, r.batch);
  fprintf(out, "  %7s %10s %8s %9s %9s %16s %16s\n", "clients", "vectors/s", "MB/s", "p50 ms",
          "p99 ms", "server CPU s/10k", "client CPU s/10k");
  for (const auto& l : r.inserts) {
    if (!l.ok) {
      fprintf(out, "  %7d FAILED: %s\n", l.clients, l.error.c_str());
      continue;
    }
    fprintf(out, "  %7d %10.0f %8.1f %9.1f %9.1f %16s %16s\n", l.clients, l.vectors_per_s,
            l.mb_per_s, l.p50_ms, l.p99_ms,
            Num(PerUnit(l.server_cpu_s, l.rows, 1e4), "%.3f").c_str(),
            Num(PerUnit(l.client_cpu_s, l.rows, 1e4), "%.3f").c_str());
  }
}

void PrintIndexAndSanity(const Report& r, FILE* out) {
  const IndexBuild& ix = r.index;
  fprintf(out, "index: HNSW M %d efConstruction %d L2: ", r.m, r.ef_construction);
  if (ix.ok) {
    fprintf(out, "build %.2f s (server CPU %s s, %llu rows indexed), load %.2f s\n", ix.build_s,
            Num(ix.server_cpu_s, "%.1f").c_str(), static_cast<unsigned long long>(ix.indexed_rows),
            ix.load_s);
  } else {
    fprintf(out, "FAILED: %s\n", ix.error.empty() ? "not run" : ix.error.c_str());
  }
  const SanityCheck& s = r.sanity;
  if (s.queries == 0) {
    fprintf(out, "sanity: not run\n");
    return;
  }
  fprintf(out,
          "sanity: %d/%d answers with %d hits of known rows, exact L2 distances ascending; "
          "recall@%d %s vs brute force (ef %d)%s%s\n",
          s.full_answers, s.queries, r.limit, r.limit, Num(s.recall_at_10, "%.3f").c_str(), r.ef,
          s.error.empty() ? "" : "; first problem: ", s.error.c_str());
}

void PrintSearches(const Report& r, FILE* out) {
  fprintf(out, "search: nq 1, limit %d, ef %d, %g s per client count\n", r.limit, r.ef,
          r.duration_s);
  fprintf(out, "  %7s %11s %9s %9s %17s %17s\n", "clients", "requests/s", "p50 ms", "p99 ms",
          "server CPU ms/req", "client CPU ms/req");
  for (const auto& l : r.searches) {
    if (!l.ok) {
      fprintf(out, "  %7d FAILED: %s\n", l.clients, l.error.c_str());
      continue;
    }
    fprintf(out, "  %7d %11.0f %9.2f %9.2f %17s %17s\n", l.clients, l.requests_per_s, l.p50_ms,
            l.p99_ms, Num(PerUnit(l.server_cpu_s, l.requests, 1e3), "%.3f").c_str(),
            Num(PerUnit(l.client_cpu_s, l.requests, 1e3), "%.3f").c_str());
  }
}

}  // namespace

void PrintReport(const Report& r, FILE* out) {
  PrintInserts(r, out);
  PrintIndexAndSanity(r, out);
  PrintSearches(r, out);
  fprintf(out, "targets:\n");
  for (const auto& g : Goals(r)) {
    fprintf(out, "  %-48s %10s >= %-6g %-4s  %s\n", g.name.c_str(), Num(g.measured, "%.0f").c_str(),
            g.target,
            !g.known() ? "n/a"
            : g.pass() ? "PASS"
                       : "FAIL",
            g.detail.c_str());
  }
  fprintf(out,
          "note: the load generator (this process) runs on the same machine as the server, "
          "sharing its %d CPU(s) (load average %.2f at the start); client CPU is shown beside "
          "server CPU.\n",
          r.nproc, r.load_average);
}

std::string ReportJson(const Report& r) {
  Json inserts = Json::array(), searches = Json::array(), goals = Json::array();
  for (const auto& l : r.inserts) {
    inserts.push_back(
        {{"clients", l.clients},
         {"ok", l.ok},
         {"error", l.error},
         {"rows", l.rows},
         {"requests", l.requests},
         {"json_bytes", l.bytes},
         {"seconds", l.seconds},
         {"vectors_per_s", l.vectors_per_s},
         {"mb_per_s", l.mb_per_s},
         {"p50_ms", l.p50_ms},
         {"p99_ms", l.p99_ms},
         {"server_cpu_s", NumJson(l.server_cpu_s)},
         {"server_cpu_s_per_10k_vectors", NumJson(PerUnit(l.server_cpu_s, l.rows, 1e4))},
         {"client_cpu_s", l.client_cpu_s}});
  }
  for (const auto& l : r.searches) {
    searches.push_back(
        {{"clients", l.clients},
         {"ok", l.ok},
         {"error", l.error},
         {"requests", l.requests},
         {"seconds", l.seconds},
         {"requests_per_s", l.requests_per_s},
         {"p50_ms", l.p50_ms},
         {"p99_ms", l.p99_ms},
         {"server_cpu_s", NumJson(l.server_cpu_s)},
         {"server_cpu_ms_per_request", NumJson(PerUnit(l.server_cpu_s, l.requests, 1e3))},
         {"client_cpu_s", l.client_cpu_s}});
  }
  for (const auto& g : Goals(r)) {
    goals.push_back({{"name", g.name},
                     {"measured", NumJson(g.measured)},
                     {"target", g.target},
                     {"pass", g.known() ? Json(g.pass()) : Json(nullptr)},
                     {"detail", g.detail}});
  }
  const IndexBuild& ix = r.index;
  const SanityCheck& s = r.sanity;
  Json out = {{"bench", "vectordb"},
              {"endpoint", r.endpoint},
              {"own_server", r.own_server},
              {"server_pid", r.server_pid},
              {"machine",
               {{"nproc", r.nproc}, {"cpu_model", r.cpu_model}, {"load_average", r.load_average}}},
              {"load_generator_on_same_machine", true},
              {"dataset",
               {{"name", "fashion-mnist"},
                {"rows", r.rows},
                {"dim", r.dim},
                {"batch_rows", r.batch},
                {"vector_encoding", "json integers"}}},
              {"insert", inserts},
              {"index",
               {{"type", "HNSW"},
                {"M", r.m},
                {"efConstruction", r.ef_construction},
                {"metric", "L2"},
                {"ok", ix.ok},
                {"error", ix.error},
                {"build_s", NumJson(ix.build_s)},
                {"load_s", NumJson(ix.load_s)},
                {"build_server_cpu_s", NumJson(ix.server_cpu_s)},
                {"indexed_rows", ix.indexed_rows}}},
              {"sanity",
               {{"ok", s.ok},
                {"error", s.error},
                {"queries", s.queries},
                {"full_answers", s.full_answers},
                {"recall_at_10", NumJson(s.recall_at_10)}}},
              {"search_params",
               {{"nq", 1}, {"limit", r.limit}, {"ef", r.ef}, {"duration_s", r.duration_s}}},
              {"search", searches},
              {"targets", goals}};
  return out.dump(2) + "\n";
}

}  // namespace skyway::cli::vdbbench
