#include "kernels/cuda/gemm.h"

#include <cublasLt.h>

#include <string>

#include "kernels/cuda/cublaslt_api.h"
#include "kernels/cuda/device.h"

namespace ogai::kernels::cuda {
namespace {

// cublasGetStatusString lives in libcublas, which ogai does not link; the code is enough to look up.
Status LtError(cublasStatus_t st, const std::string& what) {
  return Internal("cuBLASLt " + what + " failed: cublasStatus_t " + std::to_string(static_cast<int>(st)) +
                  " (see cublas_api.h)");
}

#define OGAI_LT(call, what)                                                      \
  do {                                                                           \
    cublasStatus_t ogai_lt_st_ = (call);                                         \
    if (ogai_lt_st_ != CUBLAS_STATUS_SUCCESS) return LtError(ogai_lt_st_, what); \
  } while (0)

// Descriptors of one call, destroyed on every path.
struct Descs {
  explicit Descs(const CublasLtApi& lt) : lt(lt) {}
  const CublasLtApi& lt;
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~Descs() {
    if (pref) lt.MatmulPreferenceDestroy(pref);
    if (c) lt.MatrixLayoutDestroy(c);
    if (b) lt.MatrixLayoutDestroy(b);
    if (a) lt.MatrixLayoutDestroy(a);
    if (op) lt.MatmulDescDestroy(op);
  }
};

}  // namespace

struct Gemm::Impl {
  const CublasLtApi* lt = nullptr;
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  bool owns_workspace = false;

  // Column-major D[m,n] = alpha op(A)[m,k] op(B)[k,n] + beta C, A/B bf16, C/D `ctype`.
  Status Run(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const bf16* a, int64_t lda, const bf16* b, int64_t ldb,
             float beta, void* d, cudaDataType_t ctype, int64_t ldd, cublasLtEpilogue_t epi, const bf16* bias,
             bf16* aux, int64_t ldaux, cudaStream_t stream) {
    Descs x(*lt);
    OGAI_LT(lt->MatmulDescCreate(&x.op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "MatmulDescCreate");
    const cublasOperation_t opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    OGAI_LT(lt->MatmulDescSetAttribute(x.op, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof(opa)), "TRANSA");
    OGAI_LT(lt->MatmulDescSetAttribute(x.op, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof(opb)), "TRANSB");
    OGAI_LT(lt->MatmulDescSetAttribute(x.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)), "EPILOGUE");
    if (bias != nullptr) {
      const cudaDataType_t bt = CUDA_R_16BF;
      OGAI_LT(lt->MatmulDescSetAttribute(x.op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof(bt)), "BIAS_TYPE");
      OGAI_LT(lt->MatmulDescSetAttribute(x.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)), "BIAS");
    }
    if (aux != nullptr) {
      OGAI_LT(lt->MatmulDescSetAttribute(x.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &aux, sizeof(aux)), "AUX");
      OGAI_LT(lt->MatmulDescSetAttribute(x.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &ldaux, sizeof(ldaux)), "AUX_LD");
      const cudaDataType_t at = CUDA_R_16BF;
      OGAI_LT(lt->MatmulDescSetAttribute(x.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, &at, sizeof(at)),
              "AUX_TYPE");
    }
    // Stored shapes: op(A) is m x k, so A is k x m when transposed.
    OGAI_LT(lt->MatrixLayoutCreate(&x.a, CUDA_R_16BF, ta ? k : m, ta ? m : k, lda), "layout A");
    OGAI_LT(lt->MatrixLayoutCreate(&x.b, CUDA_R_16BF, tb ? n : k, tb ? k : n, ldb), "layout B");
    OGAI_LT(lt->MatrixLayoutCreate(&x.c, ctype, m, n, ldd), "layout C");
    OGAI_LT(lt->MatmulPreferenceCreate(&x.pref), "PreferenceCreate");
    const size_t ws = kCublasLtWorkspaceBytes;
    OGAI_LT(lt->MatmulPreferenceSetAttribute(x.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)),
            "workspace preference");
    cublasLtMatmulHeuristicResult_t heur{};
    int found = 0;
    OGAI_LT(lt->MatmulAlgoGetHeuristic(handle, x.op, x.a, x.b, x.c, x.c, x.pref, 1, &heur, &found), "AlgoGetHeuristic");
    if (found == 0) {
      return NotSupported("cuBLASLt has no bf16 algorithm for the GEMM m=" + std::to_string(m) +
                          " n=" + std::to_string(n) + " k=" + std::to_string(k) +
                          " with this epilogue (leading dimensions must be multiples of 8)");
    }
    const float alpha = 1.0f;
    OGAI_LT(lt->Matmul(handle, x.op, &alpha, a, x.a, b, x.b, &beta, d, x.c, d, x.c, &heur.algo, workspace, ws, stream),
            "Matmul");
    return Status::Ok();
  }
};

Result<std::unique_ptr<Gemm>> Gemm::Create(void* workspace) {
  std::unique_ptr<Gemm> g(new Gemm());
  g->impl_ = std::make_unique<Impl>();
  OGAI_ASSIGN_OR_RETURN(g->impl_->lt, CublasLt());
  OGAI_LT(g->impl_->lt->Create(&g->impl_->handle), "Create");
  g->impl_->workspace = workspace;
  if (workspace == nullptr) {
    if (auto e = cudaMalloc(&g->impl_->workspace, kCublasLtWorkspaceBytes); e != cudaSuccess) {
      return CudaError(e, "cudaMalloc of the cuBLASLt workspace");
    }
    g->impl_->owns_workspace = true;
  }
  return g;
}

Gemm::~Gemm() {
  if (!impl_) return;
  if (impl_->owns_workspace) cudaFree(impl_->workspace);
  if (impl_->handle) impl_->lt->Destroy(impl_->handle);
}

Status Gemm::MatmulForward(bf16* out, bf16* pre, const bf16* inp, const bf16* weight, const bf16* bias, int64_t m,
                           int64_t k, int64_t n, bool gelu, cudaStream_t stream) {
  if (gelu && pre == nullptr) return InvalidArgument("MatmulForward with gelu needs `pre` for the pre-activation");
  cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
  if (gelu) {
    epi = bias ? CUBLASLT_EPILOGUE_GELU_AUX_BIAS : CUBLASLT_EPILOGUE_GELU_AUX;
  } else if (bias) {
    epi = CUBLASLT_EPILOGUE_BIAS;
  }
  // out^T[N,M] = W_cm^T[N,K] . inp_cm[K,M]
  return impl_->Run(true, false, n, m, k, weight, k, inp, k, 0.0f, out, CUDA_R_16BF, n, epi, bias, gelu ? pre : nullptr,
                    n, stream);
}

Status Gemm::MatmulBackward(bf16* dinp, float* dweight, const bf16* dout, const bf16* inp, const bf16* weight,
                            int64_t m, int64_t k, int64_t n, bool accumulate_dinp, bool accumulate_dweight,
                            cudaStream_t stream) {
  if (dinp != nullptr) {
    // dinp_cm[K,M] = W_cm[K,N] . dout_cm[N,M]
    OGAI_RETURN_IF_ERROR(impl_->Run(false, false, k, m, n, weight, k, dout, n, accumulate_dinp ? 1.0f : 0.0f, dinp,
                                    CUDA_R_16BF, k, CUBLASLT_EPILOGUE_DEFAULT, nullptr, nullptr, 0, stream));
  }
  if (dweight != nullptr) {
    // dW_cm[K,N] = inp_cm[K,M] . dout_cm[N,M]^T
    OGAI_RETURN_IF_ERROR(impl_->Run(false, true, k, n, m, inp, k, dout, n, accumulate_dweight ? 1.0f : 0.0f, dweight,
                                    CUDA_R_32F, k, CUBLASLT_EPILOGUE_DEFAULT, nullptr, nullptr, 0, stream));
  }
  return Status::Ok();
}

}  // namespace ogai::kernels::cuda
