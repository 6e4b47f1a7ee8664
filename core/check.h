// Invariant checks: OGAI_CHECK(cond) and OGAI_CHECK_EQ/NE/LT/LE/GT/GE(a, b).
//
// For bugs only — a broken invariant inside ogai, never bad user input (a wrong flag, a
// corrupt file, a dead peer: those return a Status that says what and how to fix it).
// A failed check prints the expression, both values (for the two-operand forms) and the
// file and line, then aborts:
//
//   ogai: check failed at parallel/layout.cc:41: tp * dp * pp == world (4 vs 8)
#pragma once

#include <sstream>
#include <string>

namespace ogai::internal {

[[noreturn]] void CheckFailed(const char* file, int line, const std::string& what);

template <typename A, typename B>
[[noreturn]] void CheckOpFailed(const char* file, int line, const char* expr, const A& a, const B& b) {
  std::ostringstream os;
  os << expr << " (" << a << " vs " << b << ")";
  CheckFailed(file, line, os.str());
}

}  // namespace ogai::internal

#define OGAI_CHECK(cond)                                                   \
  do {                                                                     \
    if (!(cond)) ::ogai::internal::CheckFailed(__FILE__, __LINE__, #cond); \
  } while (0)

#define OGAI_CHECK_OP(a, op, b)                                                                 \
  do {                                                                                          \
    const auto& _ogai_a = (a);                                                                  \
    const auto& _ogai_b = (b);                                                                  \
    if (!(_ogai_a op _ogai_b))                                                                  \
      ::ogai::internal::CheckOpFailed(__FILE__, __LINE__, #a " " #op " " #b, _ogai_a, _ogai_b); \
  } while (0)

#define OGAI_CHECK_EQ(a, b) OGAI_CHECK_OP(a, ==, b)
#define OGAI_CHECK_NE(a, b) OGAI_CHECK_OP(a, !=, b)
#define OGAI_CHECK_LT(a, b) OGAI_CHECK_OP(a, <, b)
#define OGAI_CHECK_LE(a, b) OGAI_CHECK_OP(a, <=, b)
#define OGAI_CHECK_GT(a, b) OGAI_CHECK_OP(a, >, b)
#define OGAI_CHECK_GE(a, b) OGAI_CHECK_OP(a, >=, b)
