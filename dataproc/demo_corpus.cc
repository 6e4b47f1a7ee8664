#include "dataproc/demo_corpus.h"

#include <array>

#include "core/rng.h"

namespace ogai::data {
namespace {

constexpr std::array<const char*, 12> kNouns = {"cat",    "dog",     "bird",  "fox",  "robot", "child",
                                                "farmer", "teacher", "river", "tree", "ship",  "star"};
constexpr std::array<const char*, 10> kAdjs = {"small",  "quick", "lazy",  "red",   "old",
                                               "bright", "quiet", "green", "brave", "tiny"};
constexpr std::array<const char*, 10> kVerbs = {"sees",    "likes",   "follows", "finds", "helps",
                                                "watches", "carries", "calls",   "meets", "paints"};
constexpr std::array<const char*, 6> kPlaces = {"in the garden",  "by the river", "at home",
                                                "under the tree", "on the hill",  "near the sea"};

template <size_t N>
const char* Pick(SplitMix64& r, const std::array<const char*, N>& a) {
  return a[r.Next() % N];
}

void Sentence(SplitMix64& r, std::string& out) {
  switch (r.Next() % 4) {
    case 0:
      out += "the ";
      out += Pick(r, kAdjs);
      out += " ";
      out += Pick(r, kNouns);
      out += " ";
      out += Pick(r, kVerbs);
      out += " the ";
      out += Pick(r, kNouns);
      out += ".\n";
      break;
    case 1:
      out += "a ";
      out += Pick(r, kNouns);
      out += " ";
      out += Pick(r, kVerbs);
      out += " a ";
      out += Pick(r, kAdjs);
      out += " ";
      out += Pick(r, kNouns);
      out += " ";
      out += Pick(r, kPlaces);
      out += ".\n";
      break;
    case 2: {
      const int a = static_cast<int>(r.Next() % 50), b = static_cast<int>(r.Next() % 50);
      out += std::to_string(a) + " + " + std::to_string(b) + " = " + std::to_string(a + b) + "\n";
      break;
    }
    default: {
      const int start = static_cast<int>(r.Next() % 90);
      out += "count:";
      for (int i = 0; i < 5; ++i) out += " " + std::to_string(start + i);
      out += "\n";
      break;
    }
  }
}

}  // namespace

std::string GenerateDemoCorpus(int64_t bytes, uint64_t seed) {
  SplitMix64 r(seed);
  std::string out;
  out.reserve(static_cast<size_t>(bytes) + 128);
  while (static_cast<int64_t>(out.size()) < bytes) Sentence(r, out);
  out.resize(static_cast<size_t>(bytes));
  return out;
}

}  // namespace ogai::data
