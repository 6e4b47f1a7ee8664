// ogai-model: the model registry (docs/registry.md).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "core/log.h"
#include "registry/card.h"
#include "registry/commands.h"
#include "registry/register_ckpt.h"
#include "registry/registry.h"

namespace {

using namespace ogai;
using namespace ogai::registry;

constexpr const char* kUsage =
    "usage: ogai-model [--root DIR] COMMAND ...\n"
    "  register CKPT_DIR --name NAME [--alias A]... [--tag KEY=VALUE]...\n"
    "  ls [NAME]                     models, or the versions of one\n"
    "  show NAME[@VERSION|@ALIAS] [--config]\n"
    "  alias NAME@VERSION ALIAS      point ALIAS at a version (moves it if it exists)\n"
    "  tag NAME[@REF] KEY=VALUE\n"
    "  rm NAME@VERSION               refused while an alias points at it\n"
    "  gc [--yes]                    unreferenced blobs and leftovers; a dry run without --yes\n"
    "  generate MODEL --prompt TEXT [--max-tokens N] [--temperature T] [--top-k K] [--top-p P]\n"
    "           [--seed S] [--recompute] [--ignore-eot]   stops at the end-of-text token unless\n"
    "                                --ignore-eot; at most the model's context\n"
    "  logits MODEL (--prompt TEXT | --tokens 1,2,3)   every position's logits, one line each\n"
    "  eval MODEL --data DATASET [--np N] [--batches B] [--global-batch G] [--set KEY=VALUE]...\n"
    "                                validation loss, perplexity, bits/byte via ogai-run; recorded\n"
    "  export MODEL --format hf --out DIR [--shard-mb N]\n"
    "  import DIR --name NAME [--alias A]\n"
    "  materialize MODEL [--out DIR] the weights as a one-rank checkpoint (default ROOT/materialized;\n"
    "                                train.init_from uses it)\n"
    "The registry root is --root, else $OGAI_REGISTRY, else ~/.ogai/registry.\n";

int Fail(const Status& st) {
  std::fprintf(stderr, "ogai-model: %s\n", st.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  ApplyLogLevelFromEnv();
  ogai::SetLogProcessName("ogai-model");
  std::vector<std::string> args;
  std::string root_flag;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--root" && i + 1 < argc) {
      root_flag = argv[++i];
    } else if (a.rfind("--root=", 0) == 0) {
      root_flag = a.substr(7);
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      args.push_back(a);
    }
  }
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  Flags flags;
  if (Status st = ParseFlags(args, &flags); !st.ok()) return Fail(st);
  auto reg = Registry::Open(Registry::ResolveRoot(root_flag));
  if (!reg.ok()) return Fail(reg.status());
  Status st = RunCommand(**reg, cmd, flags);
  if (!st.ok()) {
    if (st.code() == Code::kInvalidArgument && st.message().rfind("unknown command", 0) == 0) {
      std::fprintf(stderr, "ogai-model: %s\n%s", st.message().c_str(), kUsage);
      return 2;
    }
    return Fail(st);
  }
  return 0;
}
