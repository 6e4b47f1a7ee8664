#include "train/init_from.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "ckpt/reader.h"
#include "core/shell_quote.h"
#include "train/checkpointing.h"

namespace ogai::train {

namespace {

namespace fs = std::filesystem;

std::string ModelCommand() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path beside = self.parent_path() / "ogai-model";
    if (fs::exists(beside, ec)) return beside.string();
  }
  return "ogai-model";
}

}  // namespace

Result<InitSource> ResolveInitFrom(const std::string& spec) {
  std::error_code ec;
  if (spec.find('/') != std::string::npos || fs::exists(spec, ec)) {
    if (!fs::exists(spec, ec)) {
      return NotFound("train.init_from: checkpoint " + spec + " does not exist");
    }
    return InitSource{spec, fs::absolute(spec).lexically_normal().string()};
  }
  const std::string cmd = ShellQuote(ModelCommand()) + " materialize " + ShellQuote(spec) + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return ErrnoError("train.init_from: cannot run " + cmd, errno);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (status != 0) {
    return InvalidArgument("train.init_from: " + spec + ": " + (out.empty() ? "ogai-model materialize failed" : out) +
                           " (give a registered NAME[@VERSION|@ALIAS] with OGAI_REGISTRY set, or a checkpoint path)");
  }
  const std::string last = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  const size_t sp = last.find(' ');
  if (sp == std::string::npos) return Internal("train.init_from: unexpected output of " + cmd + ": " + out);
  return InitSource{last.substr(sp + 1), last.substr(0, sp)};
}

Result<std::string> InitFromOfCheckpoint(const std::string& checkpoint) {
  OGAI_ASSIGN_OR_RETURN(std::unique_ptr<ckpt::Checkpoint> ck, ckpt::Checkpoint::Open(checkpoint));
  try {
    YAML::Node root = YAML::Load(ck->manifest().config_yaml());
    if (root["train"] && root["train"]["init_from"]) return root["train"]["init_from"].as<std::string>();
  } catch (const YAML::Exception&) {
  }
  return std::string();
}

Status LoadInitWeights(const std::string& checkpoint, model::GPT& model) {
  OGAI_ASSIGN_OR_RETURN(std::unique_ptr<ckpt::Checkpoint> ck, ckpt::Checkpoint::Open(checkpoint));
  std::vector<ckpt::ReadSlice> slices;
  for (const model::ParamSpec& p : model.params()) {
    slices.push_back({p.name, p.global_shape, SpecRegion(p), model.param_data() + p.offset});
  }
  Status st = ck->Read(slices);
  if (!st.ok()) {
    return st.WithContext("train.init_from: loading the weights of " + ck->path() +
                          " (the model: section must match the model's shape)");
  }
  return Status::Ok();
}

}  // namespace ogai::train
