// /api/models: the model registry (registry/registry.h) as JSON, read through its own library
// calls: each model with its versions, aliases, lineage and evaluations.
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "registry/registry.h"
#include "sched/http_api.h"

namespace ogai::sched {

namespace {

using nlohmann::json;

json VersionJson(const registry::VersionInfo& v) {
  json j;
  j["ref"] = v.ref();
  j["version"] = v.version;
  j["created_ms"] = v.created_ms;
  j["bytes"] = v.bytes();
  j["tensors"] = v.tensors.size();
  j["config"] = {{"layers", v.config.layers}, {"heads", v.config.heads},     {"d_model", v.config.d_model},
                 {"vocab", v.config.vocab},   {"seq_len", v.config.seq_len}, {"device", v.config.device}};
  j["tokenizer"] = v.tokenizer.kind;
  j["aliases"] = v.aliases;
  j["tags"] = v.tags;
  const registry::Lineage& l = v.lineage;
  j["lineage"] = {{"parent", l.parent},
                  {"source", l.source},
                  {"step", l.step},
                  {"dataset_id", l.dataset_id},
                  {"code_version", l.code_version},
                  {"registered_by", l.registered_by}};
  j["children"] = v.children;
  json evals = json::array();
  for (const auto& e : v.evaluations) {
    evals.push_back({{"created_ms", e.created_ms},
                     {"data", e.data},
                     {"tokens", e.tokens},
                     {"loss", e.loss},
                     {"perplexity", e.perplexity},
                     {"bits_per_byte", e.bits_per_byte},
                     {"layout", e.layout}});
  }
  j["evaluations"] = std::move(evals);
  return j;
}

}  // namespace

Result<std::string> ModelsJson(const std::string& root) {
  // Registry::Open creates a missing root; the dashboard only reads, so it must exist.
  struct stat sb {};
  if (::stat((root + "/registry.db").c_str(), &sb) != 0) {
    return NotFound("no registry at " + root + " (no registry.db): register a model with `ogai-model` first");
  }
  OGAI_ASSIGN_OR_RETURN(auto reg, registry::Registry::Open(root));
  OGAI_ASSIGN_OR_RETURN(auto models, reg->List());
  json out;
  out["root"] = root;
  json list = json::array();
  for (const auto& m : models) {
    json jm = {{"name", m.name}, {"versions_count", m.versions}, {"latest", m.latest}, {"aliases", m.aliases}};
    OGAI_ASSIGN_OR_RETURN(auto versions, reg->Versions(m.name));
    json vs = json::array();
    for (const auto& v : versions) vs.push_back(VersionJson(v));
    jm["versions"] = std::move(vs);
    list.push_back(std::move(jm));
  }
  out["models"] = std::move(list);
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace ogai::sched
