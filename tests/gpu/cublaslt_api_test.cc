// kernels/cuda/cublaslt_api.h: cuBLASLt is not in the process until the first GEMM asks for
// it, and then every function gemm.cc calls resolves. Runs without a GPU: opening the library
// and looking up its functions needs none.
#include "kernels/cuda/cublaslt_api.h"

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace ogai::kernels::cuda {
namespace {

bool Mapped(const std::string& lib) {
  std::ifstream f("/proc/self/maps");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str().find(lib) != std::string::npos;
}

TEST(CublasLtApi, OpenedOnFirstUseWithEveryFunction) {
  EXPECT_FALSE(Mapped("libcublasLt")) << "cuBLASLt was loaded before anything asked for it";
  auto api = CublasLt();
  ASSERT_TRUE(api.ok()) << api.status().ToString();
  EXPECT_TRUE(Mapped("libcublasLt"));
  const CublasLtApi& a = **api;
#define OGAI_EXPECT_RESOLVED(name) EXPECT_NE(reinterpret_cast<const void*>(a.name), nullptr) << "cublasLt" #name;
  OGAI_CUBLASLT_FUNCTIONS(OGAI_EXPECT_RESOLVED)
#undef OGAI_EXPECT_RESOLVED
  auto again = CublasLt();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *api);  // opened once
}

}  // namespace
}  // namespace ogai::kernels::cuda
