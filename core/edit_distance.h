// Levenshtein distance, for "did you mean ...?" hints on misspelt keys and flags.
#pragma once

#include <cstddef>
#include <string_view>

namespace ogai {

// The number of single-character insertions, deletions and substitutions turning a into b.
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace ogai
