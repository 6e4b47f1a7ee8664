#include "kernels/cpu/attention.h"

#include <atomic>

#include "core/profile.h"

namespace ogai::kernels {
namespace {
std::atomic<AttentionKernel> g_kernel{AttentionKernel::kBlocked};
}  // namespace

Status SetAttentionKernel(const std::string& name) {
  if (name == "blocked") {
    g_kernel = AttentionKernel::kBlocked;
  } else if (name == "rowwise") {
    g_kernel = AttentionKernel::kRowwise;
  } else {
    return InvalidArgument("unknown attention kernel '" + name + "'; use blocked or rowwise");
  }
  return Status::Ok();
}

AttentionKernel GetAttentionKernel() { return g_kernel.load(); }

void AttentionForward(float* out, float* lse, const float* qkv, int64_t b, int64_t t, int64_t nh, int64_t hd) {
  OGAI_PROFILE(kAttention);
  if (g_kernel.load(std::memory_order_relaxed) == AttentionKernel::kRowwise) {
    AttentionForwardRowwise(out, lse, qkv, b, t, nh, hd);
  } else {
    AttentionForwardBlocked(out, lse, qkv, b, t, nh, hd);
  }
}

void AttentionBackward(float* dqkv, const float* dout, const float* out, const float* lse, const float* qkv, int64_t b,
                       int64_t t, int64_t nh, int64_t hd) {
  OGAI_PROFILE(kAttention);
  if (g_kernel.load(std::memory_order_relaxed) == AttentionKernel::kRowwise) {
    AttentionBackwardRowwise(dqkv, dout, out, lse, qkv, b, t, nh, hd);
  } else {
    AttentionBackwardBlocked(dqkv, dout, out, lse, qkv, b, t, nh, hd);
  }
}

}  // namespace ogai::kernels
