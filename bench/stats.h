// Small statistics the benchmarks report with.
#pragma once

#include <vector>

namespace ogai::bench {

// The median (the mean of the middle two for an even count); 0 for no values.
double Median(std::vector<double> v);

}  // namespace ogai::bench
