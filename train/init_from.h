// train.init_from: start a run (fine-tuning) from weights trained before, with a fresh
// optimizer and learning-rate schedule.
//
// The value is a checkpoint path (a root or a step folder), or a model in the registry,
// NAME[@VERSION|@ALIAS]. The registry sits above the trainer (registry/ is level 5), so the
// worker asks it through its command, `ogai-model materialize NAME@REF` (found next to
// ogai-worker, else on PATH; the registry root from OGAI_REGISTRY), which writes the version
// as a one-rank checkpoint once (cached under the registry root) and prints the resolved
// "NAME@VERSION" and that checkpoint's path. The weights are then read by the resharding
// reader, so they load at any (dp, tp, pp). The resolved reference is written into the run's
// config (and so into every checkpoint manifest): a child registered later names its parent.
// Only when the run starts fresh: a run that resumes from its own checkpoint ignores it.
#pragma once

#include <string>

#include "core/status.h"
#include "model/gpt.h"

namespace ogai::train {

struct InitSource {
  std::string checkpoint;  // the checkpoint path to read
  std::string resolved;    // "NAME@VERSION", or the absolute checkpoint path
};

Result<InitSource> ResolveInitFrom(const std::string& spec);

// The train.init_from a checkpoint's run recorded ("" when none): a resumed run keeps it.
Result<std::string> InitFromOfCheckpoint(const std::string& checkpoint);

// Reads this rank's slices of every parameter (no optimizer state) from `checkpoint`.
Status LoadInitWeights(const std::string& checkpoint, model::GPT& model);

}  // namespace ogai::train
