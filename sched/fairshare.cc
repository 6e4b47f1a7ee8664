#include "sched/fairshare.h"

#include <cmath>

namespace ogai::sched {

double Decay(double usage, double dt_s, double half_life_s) {
  if (dt_s <= 0 || half_life_s <= 0) return usage;
  return usage * std::exp2(-dt_s / half_life_s);
}

void AccrueUsage(Tenant& t, int running_ranks, double now_unix, double half_life_s) {
  if (t.usage_unix <= 0) {
    t.usage_unix = now_unix;
    return;
  }
  const double dt = now_unix - t.usage_unix;
  if (dt <= 0) return;
  // Exact integral of a constant rate r under exponential decay: r * (1 - 2^-dt/h) * h / ln 2.
  const double added = half_life_s > 0
                           ? running_ranks * (1.0 - std::exp2(-dt / half_life_s)) * half_life_s / std::log(2.0)
                           : running_ranks * dt;
  t.usage = Decay(t.usage, dt, half_life_s) + added;
  t.usage_unix = now_unix;
}

double ShareFactor(const Tenant& t) { return t.usage / (t.quota > 0 ? t.quota : 1e-9); }

}  // namespace ogai::sched
