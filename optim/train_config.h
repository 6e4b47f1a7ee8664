// The `train:` section of train.yaml: steps, batch sizes, the learning-rate schedule and the
// AdamW hyper-parameters. It lives in optim/ because AdamW and LearningRate read it; the
// trainer (train/) reads the rest. train/config.cc declares its keys; docs/config.md lists them.
#pragma once

#include <cstdint>
#include <string>

namespace ogai {

struct TrainConfig {
  int64_t steps = 100;
  int64_t stop_after = 0;  // stop (and save) after this step; 0: at steps. The schedule spans steps.
  int micro_batch = 4;
  int global_batch = 0;  // 0: micro_batch * grad_accum * dp
  int grad_accum = 0;    // 0: derived from global_batch (or 1)
  double lr = 3e-4;
  double min_lr = 0.0;              // floor of the schedule; 0 means lr / 10
  int64_t warmup = 0;               // linear warm-up steps
  std::string schedule = "cosine";  // cosine | linear | constant
  double weight_decay = 0.1;
  double grad_clip = 1.0;  // 0 disables clipping
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  uint64_t seed = 42;
  int64_t log_every = 1;
  std::string metrics_file;  // one JSON line per step ("" = none); {rank} = the rank
  std::string init_from;     // weights to start from: NAME[@VERSION|@ALIAS] (registry) or a checkpoint path
  int64_t eval_every = 0;    // validation loss every N steps and at the end (0: never); data.source: dataset
  int eval_batches = 4;      // global batches of the validation split per evaluation
  bool eval_only = false;    // evaluate once and stop, no training (ogai-model eval)
  // fp32 | bf16: bf16 runs the linear layers' GEMMs on bf16 operands with fp32 accumulation
  // (fp32 master weights, gradients, optimizer state, LayerNorm, softmax, loss). The CUDA path
  // reads the same key.
  std::string precision = "fp32";
  // none | selective | full: activation recompute (model/gpt.h, Recompute).
  std::string recompute = "none";
};

}  // namespace ogai
