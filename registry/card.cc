#include "registry/card.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "core/clock.h"
#include "core/memory.h"
#include "model/gpt.h"

namespace ogai::registry {

std::string FormatCard(const VersionInfo& v, bool with_config) {
  const ModelConfig& c = v.config;
  std::string o;
  auto line = [&](const std::string& k, const std::string& val) {
    char b[64];
    std::snprintf(b, sizeof(b), "%-14s", k.c_str());
    o += b + val + "\n";
  };
  o += v.ref() + "\n";
  line("created", FormatUtc(static_cast<double>(v.created_ms)));
  std::string al;
  for (const auto& a : v.aliases) al += (al.empty() ? "" : ", ") + a;
  line("aliases", al.empty() ? "-" : al);
  std::string tg;
  for (const auto& [k, val] : v.tags) tg += (tg.empty() ? "" : ", ") + k + "=" + val;
  line("tags", tg.empty() ? "-" : tg);
  line("model", "GPT: " + std::to_string(c.layers) + " layers, " + std::to_string(c.heads) + " heads, d_model " +
                    std::to_string(c.d_model) + ", vocab " + std::to_string(c.vocab) + ", context " +
                    std::to_string(c.seq_len) + " (" + std::to_string(model::GPT::DenseParamCount(c)) + " parameters)");
  line("tokenizer", v.tokenizer.kind);
  line("weights", std::to_string(v.tensors.size()) + " tensors, " + FormatBytes(v.bytes()) + " (fp32)");
  o += "lineage\n";
  const Lineage& l = v.lineage;
  line("  source", l.source);
  line("  step", std::to_string(l.step));
  line("  parent", l.parent.empty() ? "- (trained from scratch or imported)" : l.parent);
  line("  dataset", l.dataset_id.empty() ? "-" : l.dataset_id);
  line("  code", l.code_version.empty() ? "-" : l.code_version);
  line("  registered", l.registered_by);
  line("  metrics", l.metrics_json.empty() ? "- (the run kept no train.metrics_file)" : l.metrics_json);
  std::string kids;
  for (const auto& k : v.children) kids += (kids.empty() ? "" : ", ") + k;
  line("  children", kids.empty() ? "-" : kids);
  o += "evaluations\n";
  if (v.evaluations.empty()) o += "  none (ogai-model eval)\n";
  for (const auto& e : v.evaluations) {
    char b[512];
    char bpb[32] = "n/a";
    if (!std::isnan(e.bits_per_byte)) std::snprintf(bpb, sizeof(bpb), "%.4f", e.bits_per_byte);
    std::snprintf(b, sizeof(b), "  %s  loss %.4f  perplexity %.3f  bits/byte %s  (%lld tokens of %s, %s)\n",
                  FormatUtc(static_cast<double>(e.created_ms)).c_str(), e.loss, e.perplexity, bpb,
                  static_cast<long long>(e.tokens), e.data.c_str(), e.layout.c_str());
    o += b;
  }
  if (with_config)
    o += "config\n" + l.config_yaml + (l.config_yaml.empty() || l.config_yaml.back() == '\n' ? "" : "\n");
  return o;
}

std::string FormatModelList(const std::vector<ModelSummary>& models) {
  if (models.empty()) return "no models registered yet (ogai-model register CKPT_DIR --name NAME)\n";
  std::string o;
  char b[512];
  std::snprintf(b, sizeof(b), "%-24s %8s %7s  %s\n", "model", "versions", "latest", "aliases");
  o += b;
  for (const auto& m : models) {
    std::string al;
    for (const auto& a : m.aliases) al += (al.empty() ? "" : ", ") + a;
    std::snprintf(b, sizeof(b), "%-24s %8d %7d  %s\n", m.name.c_str(), m.versions, m.latest,
                  al.empty() ? "-" : al.c_str());
    o += b;
  }
  return o;
}

std::string FormatVersionList(const std::vector<VersionInfo>& vs) {
  std::string o;
  char b[512];
  std::snprintf(b, sizeof(b), "%-8s %-23s %10s %8s  %-16s %s\n", "version", "created", "size", "step", "aliases",
                "parent");
  o += b;
  for (const auto& v : vs) {
    std::string al;
    for (const auto& a : v.aliases) al += (al.empty() ? "" : ",") + a;
    std::snprintf(b, sizeof(b), "%-8d %-23s %10s %8lld  %-16s %s\n", v.version,
                  FormatUtc(static_cast<double>(v.created_ms)).c_str(), FormatBytes(v.bytes()).c_str(),
                  static_cast<long long>(v.lineage.step), al.empty() ? "-" : al.c_str(),
                  v.lineage.parent.empty() ? "-" : v.lineage.parent.c_str());
    o += b;
  }
  return o;
}

}  // namespace ogai::registry
