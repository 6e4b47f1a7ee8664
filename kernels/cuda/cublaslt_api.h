// cuBLASLt, opened with dlopen at the first GEMM rather than linked. A process that links a
// library runs its static initializers at start: cuBLASLt's took 84 MiB of private memory and
// ~0.2 s in every run of ogai-bench, GPU or not, and counted in the peak RSS the CPU
// benchmarks report. Now only a process that makes a cuda::Gemm pays for it.
#pragma once

#include <cublasLt.h>

#include "core/status.h"

namespace ogai::kernels::cuda {

// The cuBLASLt functions kernels/cuda/gemm.cc calls, without their `cublasLt` prefix.
// clang-format off
#define OGAI_CUBLASLT_FUNCTIONS(X)                                                          \
  X(Create) X(Destroy) X(Matmul) X(MatmulAlgoGetHeuristic)                                  \
  X(MatmulDescCreate) X(MatmulDescDestroy) X(MatmulDescSetAttribute)                        \
  X(MatmulPreferenceCreate) X(MatmulPreferenceDestroy) X(MatmulPreferenceSetAttribute)      \
  X(MatrixLayoutCreate) X(MatrixLayoutDestroy)
// clang-format on

struct CublasLtApi {
#define OGAI_CUBLASLT_MEMBER(name) decltype(&::cublasLt##name) name = nullptr;
  OGAI_CUBLASLT_FUNCTIONS(OGAI_CUBLASLT_MEMBER)
#undef OGAI_CUBLASLT_MEMBER
};

// The library, opened once per process (thread-safe; later calls return the same table or
// the same error): libcublasLt.so.<the major version the headers are from> by the loader's
// search path, else the file the build found. The error names what is missing and the fix.
Result<const CublasLtApi*> CublasLt();

}  // namespace ogai::kernels::cuda
