// Fair share between tenants by decayed usage. No I/O.
//
// A tenant's usage is the rank-seconds its jobs ran, halved every `half_life_s`: what it used
// an hour ago counts half as much as what it used now (with the default half-life of one
// hour). A tenant's share factor is its usage over its nominal quota; among jobs of equal
// priority the tenant with the smaller factor goes first.
#pragma once

#include <vector>

#include "sched/types.h"

namespace ogai::sched {

// `usage` decayed over dt seconds.
double Decay(double usage, double dt_s, double half_life_s);

// Brings `t.usage` to `now`: decays it from t.usage_unix and adds running_ranks x elapsed
// (the ranks it ran over that interval, taken as constant).
void AccrueUsage(Tenant& t, int running_ranks, double now_unix, double half_life_s);

// Usage over quota (a tenant with no quota sorts last among those with usage).
double ShareFactor(const Tenant& t);

}  // namespace ogai::sched
