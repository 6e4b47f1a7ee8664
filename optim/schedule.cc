#include "optim/schedule.h"

#include <algorithm>
#include <cmath>

namespace ogai::optim {

double LearningRate(const TrainConfig& t, int64_t step) {
  const double lr = t.lr;
  const double min_lr = t.min_lr > 0 ? t.min_lr : lr / 10.0;
  if (t.warmup > 0 && step < t.warmup) return lr * static_cast<double>(step + 1) / t.warmup;
  if (t.schedule == "constant") return lr;
  const int64_t decay_steps = std::max<int64_t>(1, t.steps - t.warmup);
  const double progress = std::clamp(static_cast<double>(step - t.warmup) / static_cast<double>(decay_steps), 0.0, 1.0);
  if (t.schedule == "linear") return lr + (min_lr - lr) * progress;
  return min_lr + 0.5 * (lr - min_lr) * (1.0 + std::cos(M_PI * progress));
}

}  // namespace ogai::optim
