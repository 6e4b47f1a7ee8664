// Learning-rate schedule: linear warm-up from 0 to lr over `warmup` steps, then decay to
// min_lr by the last step (cosine or linear), or constant. Steps are 0-based here: the
// optimizer step that turns parameters from step s to s + 1 uses LearningRate(s).
#pragma once

#include <cstdint>

#include "optim/train_config.h"

namespace ogai::optim {

double LearningRate(const TrainConfig& t, int64_t step);

}  // namespace ogai::optim
