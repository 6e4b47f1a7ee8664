#include "web/report_html.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <functional>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "web/assets.h"
#include "web/downsample.h"

namespace ogai::web {
namespace {

using nlohmann::json;

const char kStyle[] = R"(
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.sub { color: #666; margin-bottom: 16px; } .warn { background: #fff4e5; border: 1px solid #f0b35b; padding: 8px 12px; }
table { border-collapse: collapse; margin: 4px 0; } td, th { border: 1px solid #ddd; padding: 3px 10px; text-align: left; }
th { background: #f4f4f4; } pre { background: #f7f7f7; padding: 10px; overflow: auto; max-height: 420px; }
.chart { margin: 8px 0 18px; } .legend-note { color: #555; font-size: 13px; }
.mark-ckpt { color: #2ca02c; font-weight: bold; } .mark-restart { color: #d62728; font-weight: bold; }
#probe { display: none; }
)";

std::string Fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// A JSON number, or null for what JSON cannot hold.
json Val(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// One chart over steps: the series `get` of every kept step (min/max downsampled per series,
// the union of what each series keeps).
json StepChart(const RunData& run, const std::string& id, const std::string& ylabel,
               const std::vector<std::pair<std::string, std::function<double(const StepPoint&)>>>& series,
               size_t buckets, bool log) {
  std::vector<std::vector<double>> ys(series.size());
  std::vector<std::vector<size_t>> keep;
  for (size_t k = 0; k < series.size(); ++k) {
    for (const auto& s : run.steps) ys[k].push_back(series[k].second(s));
    keep.push_back(DownsampleMinMax(ys[k], buckets));
  }
  const std::vector<size_t> idx = MergeIndices(keep);
  json c = {{"id", id}, {"xlabel", "step"}, {"ylabel", ylabel}, {"log", log}};
  json x = json::array();
  for (size_t i : idx) x.push_back(run.steps[i].step);
  c["x"] = x;
  c["series"] = json::array();
  for (size_t k = 0; k < series.size(); ++k) {
    json y = json::array();
    for (size_t i : idx) y.push_back(Val(ys[k][i]));
    c["series"].push_back({{"label", series[k].first}, {"y", y}});
  }
  return c;
}

// The loss chart: training loss per step and, where the file has them, validation losses
// (sparse: on the union of the x values, null elsewhere, drawn as points).
json LossChart(const RunData& run, size_t buckets) {
  json c = StepChart(run, "loss", "loss", {{"train loss", [](const StepPoint& s) { return s.loss; }}}, buckets, false);
  if (run.val.empty()) return c;
  std::vector<std::pair<double, std::pair<json, json>>> merged;  // x -> (train, val)
  for (size_t i = 0; i < c["x"].size(); ++i)
    merged.push_back({c["x"][i].get<double>(), {c["series"][0]["y"][i], nullptr}});
  std::vector<double> vy;
  for (const auto& v : run.val) vy.push_back(v.loss);
  for (size_t i : DownsampleMinMax(vy, buckets)) {
    merged.push_back({static_cast<double>(run.val[i].step), {nullptr, Val(run.val[i].loss)}});
  }
  std::stable_sort(merged.begin(), merged.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  json x = json::array(), tr = json::array(), va = json::array();
  for (auto& [xv, p] : merged) {
    if (!x.empty() && x.back().get<double>() == xv) {  // a validation at a kept step: one x for both
      if (!p.first.is_null()) tr.back() = p.first;
      if (!p.second.is_null()) va.back() = p.second;
      continue;
    }
    x.push_back(xv);
    tr.push_back(p.first);
    va.push_back(p.second);
  }
  c["x"] = x;
  c["series"] =
      json::array({{{"label", "train loss"}, {"y", tr}}, {{"label", "validation loss"}, {"y", va}, {"points", true}}});
  return c;
}

// Validation bits per byte at the validations that have it (drawn as points); null when none
// has (no eval records, or bytes not measured): no chart.
json BitsPerByteChart(const RunData& run, size_t buckets) {
  std::vector<const ValPoint*> at;
  std::vector<double> y;
  for (const auto& v : run.val) {
    if (!std::isfinite(v.bits_per_byte)) continue;
    at.push_back(&v);
    y.push_back(v.bits_per_byte);
  }
  if (at.empty()) return nullptr;
  json x = json::array(), ys = json::array();
  for (size_t i : DownsampleMinMax(y, buckets)) {
    x.push_back(at[i]->step);
    ys.push_back(y[i]);
  }
  return {{"id", "val_bpb"},
          {"xlabel", "step"},
          {"ylabel", "bits/byte"},
          {"log", false},
          {"x", x},
          {"series", json::array({{{"label", "validation bits per byte"}, {"y", ys}, {"points", true}}})}};
}

// Step against wall-clock time (seconds since the first round started), every step line in
// file order, so a restart shows as the step falling back to its checkpoint.
json Timeline(const RunData& run, size_t buckets, double t0) {
  std::vector<double> y;
  for (const auto& l : run.lines) y.push_back(static_cast<double>(l.step));
  json x = json::array(), ys = json::array();
  for (size_t i : DownsampleMinMax(y, buckets)) {
    x.push_back((run.lines[i].unix_ms - t0) / 1000.0);
    ys.push_back(run.lines[i].step);
  }
  json c = {{"id", "timeline"}, {"xlabel", "seconds since the job started"},
            {"ylabel", "step"}, {"log", false},
            {"x", x},           {"series", json::array({{{"label", "step"}, {"y", ys}}})}};
  c["checkpoints"] = json::array();
  for (const auto& k : run.checkpoints) c["checkpoints"].push_back((k.unix_ms - t0) / 1000.0);
  c["restarts"] = json::array();
  for (const auto& r : run.rounds) {
    if (r.restart > 0 && r.started_unix_ms > 0) c["restarts"].push_back((r.started_unix_ms - t0) / 1000.0);
  }
  return c;
}

void Row(std::string* h, const std::string& k, const std::string& v) {
  *h += "<tr><th>" + HtmlEscape(k) + "</th><td>" + HtmlEscape(v) + "</td></tr>\n";
}

std::string SummaryTable(const RunData& run, const ReportOptions& o) {
  std::string h = "<table>\n";
  Row(&h, "metrics file", run.path);
  const int64_t last = run.steps.empty() ? 0 : run.steps.back().step;
  const std::string of = run.train_steps > 0 ? " of " + std::to_string(run.train_steps) : "";
  const double last_ms = run.lines.empty() ? 0 : run.lines.back().unix_ms;
  if (run.finished) {
    Row(&h, "status", "finished at step " + std::to_string(last) + of);
  } else {
    Row(&h, "status",
        "running, or stopped: at step " + std::to_string(last) + of + ", no end record yet; last step " +
            (last_ms > 0 ? Fmt("%.0f", (o.now_unix_ms - last_ms) / 1000.0) + " s before this report" : "-") +
            " (make the report again to refresh)");
  }
  Row(&h, "steps recorded",
      std::to_string(run.steps.size()) + " (" + std::to_string(run.lines.size()) +
          " step lines, redone steps included)");
  if (!run.steps.empty()) {
    double lo = run.steps[0].loss, ms = 0;
    for (const auto& s : run.steps) {
      lo = std::min(lo, s.loss);
      ms += s.ms / run.steps.size();
    }
    Row(&h, "loss",
        Fmt("%.4f", run.steps.front().loss) + " -> " + Fmt("%.4f", run.steps.back().loss) + " (lowest " +
            Fmt("%.4f", lo) + ")");
    Row(&h, "mean step time", Fmt("%.1f ms", ms));
    if (run.tokens_per_step > 0) Row(&h, "mean tokens/s", Fmt("%.0f", run.tokens_per_step / (ms / 1000.0)));
  }
  if (!run.val.empty()) {
    Row(&h, "validation loss", Fmt("%.4f", run.val.back().loss) + " at step " + std::to_string(run.val.back().step));
  }
  for (auto v = run.val.rbegin(); v != run.val.rend(); ++v) {
    if (!std::isfinite(v->bits_per_byte)) continue;
    Row(&h, "validation bits per byte", Fmt("%.4f", v->bits_per_byte) + " at step " + std::to_string(v->step));
    break;
  }
  Row(&h, "rounds",
      std::to_string(run.rounds.size()) + " (" + std::to_string(run.rounds.empty() ? 0 : run.rounds.size() - 1) +
          " restarts)");
  Row(&h, "checkpoints committed",
      std::to_string(run.checkpoints.size()) +
          (run.checkpoints.empty() ? "" : "; last " + run.checkpoints.back().path));
  if (run.skipped_lines > 0) {
    Row(&h, "unreadable lines",
        std::to_string(run.skipped_lines) + " skipped (first: line " + std::to_string(run.first_skipped_line) +
            "; a running job's last line may be unfinished)");
  }
  return h + "</table>\n";
}

std::string RoundsTable(const RunData& run) {
  std::string h =
      "<table>\n<tr><th>round</th><th>started</th><th>resumed at step</th><th>from</th><th>load</th>"
      "<th>layout</th><th>global batch</th></tr>\n";
  for (const auto& r : run.rounds) {
    h += "<tr><td>" + std::to_string(r.restart) + "</td><td>" + FormatUtc(r.started_unix_ms) + "</td><td>" +
         std::to_string(r.resume_step) + "</td><td>" + HtmlEscape(r.source) + "</td><td>" + Fmt("%.1f ms", r.load_ms) +
         "</td><td>" + "dp " + std::to_string(r.dp) + " x tp " + std::to_string(r.tp) + " x pp " +
         std::to_string(r.pp) + " (" + std::to_string(r.world) + " ranks)</td><td>" + std::to_string(r.global_batch) +
         " (grad_accum " + std::to_string(r.grad_accum) + ")</td></tr>\n";
  }
  return h + "</table>\n";
}

std::string CheckpointTable(const RunData& run) {
  if (run.checkpoints.empty()) return "<p>No checkpoint commit in this file (checkpoint.dir unset, or none yet).</p>\n";
  std::string h = "<table>\n<tr><th>step</th><th>checkpoint</th><th>committed</th><th>round</th></tr>\n";
  for (const auto& c : run.checkpoints) {
    h += "<tr><td>" + std::to_string(c.step) + "</td><td>" + HtmlEscape(c.path) + "</td><td>" + FormatUtc(c.unix_ms) +
         "</td><td>" + std::to_string(c.restart) + "</td></tr>\n";
  }
  return h + "</table>\n";
}

// JSON inside <script type="application/json">: "</" cannot end the element.
std::string ScriptSafe(std::string s) {
  for (size_t p = s.find("</"); p != std::string::npos; p = s.find("</", p + 3)) s.replace(p, 2, "<\\/");
  return s;
}

}  // namespace

std::string HtmlEscape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string RenderReport(const RunData& run, const ReportOptions& o) {
  std::vector<int64_t> ckpt_steps, restart_steps;
  for (const auto& c : run.checkpoints) ckpt_steps.push_back(c.step);
  for (const auto& r : run.rounds)
    if (r.restart > 0) restart_steps.push_back(r.resume_step);
  json charts = json::array();
  const size_t B = o.buckets;
  charts.push_back(LossChart(run, B));
  if (json bpb = BitsPerByteChart(run, B); !bpb.is_null()) charts.push_back(std::move(bpb));
  if (run.tokens_per_step > 0) {
    const double tok = static_cast<double>(run.tokens_per_step);
    charts.push_back(StepChart(run, "tokens", "tokens/s",
                               {{"tokens/s", [tok](const StepPoint& s) { return tok / (s.ms / 1000.0); }}}, B, false));
  }
  charts.push_back(
      StepChart(run, "step_ms", "ms", {{"step time (ms)", [](const StepPoint& s) { return s.ms; }}}, B, false));
  charts.push_back(
      StepChart(run, "lr", "learning rate", {{"learning rate", [](const StepPoint& s) { return s.lr; }}}, B, false));
  charts.push_back(StepChart(run, "grad_norm", "norm",
                             {{"gradient norm (before clipping)", [](const StepPoint& s) { return s.grad_norm; }}}, B,
                             false));
  charts.push_back(
      StepChart(run, "comm", "ms",
                {{"DP exposed (mean over ranks)", [](const StepPoint& s) { return s.dp_exposed_ms; }},
                 {"DP exposed (least-waiting rank)", [](const StepPoint& s) { return s.dp_exposed_min_ms; }},
                 {"pipeline wait (mean)", [](const StepPoint& s) { return s.pp_wait_ms; }}},
                B, false));
  for (auto& c : charts) {
    c["checkpoints"] = ckpt_steps;
    c["restarts"] = restart_steps;
  }
  double t0 = run.rounds.empty() ? 0 : run.rounds.front().started_unix_ms;
  if (t0 <= 0 && !run.lines.empty()) t0 = run.lines.front().unix_ms;
  if (!run.lines.empty()) charts.push_back(Timeline(run, B, t0));

  const std::vector<std::pair<std::string, std::string>> titles = {
      {"loss", "Loss against step"},
      {"val_bpb", "Validation bits per byte"},
      {"tokens", "Throughput"},
      {"step_ms", "Step time"},
      {"lr", "Learning rate"},
      {"grad_norm", "Gradient norm"},
      {"comm", "Communication the step waited for (DP reductions after backward, pipeline transfers)"},
      {"timeline", "Progress against time: checkpoints and restarts"}};
  std::string h =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>ogai report: " + HtmlEscape(run.path) +
      "</title>\n<style>" + kStyle + "</style>\n";
  if (ChartsAvailable()) h += "<style>" + std::string(UplotCss()) + "</style>\n";
  h += "</head><body>\n<h1>ogai report</h1>\n<div class=\"sub\">" + HtmlEscape(run.path) + " &middot; made " +
       FormatUtc(o.now_unix_ms) + " by ogai-report</div>\n";
  if (!ChartsAvailable()) {
    h += "<p class=\"warn\" id=\"charts-unavailable\">Charts are unavailable: " + HtmlEscape(kChartsReason) +
         ". The tables below are complete.</p>\n";
  }
  h += "<h2>Summary</h2>\n" + SummaryTable(run, o);
  h += "<h2>Curves</h2>\n<p class=\"legend-note\">Dashed lines: <span class=\"mark-ckpt\">green</span> a checkpoint "
       "committed at that step, <span class=\"mark-restart\">red</span> a restart resumed at that step. Long runs are "
       "downsampled: each of " +
       std::to_string(B) + " buckets keeps its lowest and highest point.</p>\n";
  for (const auto& c : charts) {
    std::string title = c["id"];
    for (const auto& [id, t] : titles)
      if (id == c["id"]) title = t;
    h += "<h3>" + HtmlEscape(title) + "</h3><div class=\"chart\" id=\"chart-" + c["id"].get<std::string>() +
         "\"></div>\n";
  }
  h += "<h2>Rounds (the first start and each restart)</h2>\n" + RoundsTable(run);
  h += "<h2>Checkpoints</h2>\n" + CheckpointTable(run);
  h += "<h2>Hardware (the host of the rank that wrote the file)</h2>\n";
  if (run.hardware.empty()) {
    h += "<p>No hardware record in this file (written by runs since the record was added).</p>\n";
  } else {
    h += "<table>\n";
    for (const auto& [k, v] : run.hardware) Row(&h, k, v);
    h += "</table>\n";
  }
  h += "<h2>Resolved config</h2>\n";
  h += run.config_yaml.empty() ? "<p>No config record in this file.</p>\n"
                               : "<pre>" + HtmlEscape(run.config_yaml) + "</pre>\n";
  h += "<p class=\"legend-note\">Charts: " +
       (ChartsAvailable() ? "uPlot " + std::string(kUplotVersion) + " (MIT), embedded." : std::string("none.")) +
       "</p>\n";
  h += "<div id=\"probe\"><span id=\"steps\">" + std::to_string(run.steps.size()) +
       "</span><span id=\"plotted\"></span><span id=\"painted\"></span><span id=\"render-ms\"></span><span "
       "id=\"script-ms\"></span></div>\n";
  json data = {{"charts", charts}};
  h += "<script type=\"application/json\" id=\"report-data\">" +
       ScriptSafe(data.dump(-1, ' ', false, json::error_handler_t::replace)) + "</script>\n";
  if (ChartsAvailable()) {
    h += "<script>" + std::string(UplotJs()) + "</script>\n<script>" + std::string(WebFile("charts.js")) +
         "</script>\n<script>" + std::string(WebFile("report_page.js")) + "</script>\n";
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace ogai::web
