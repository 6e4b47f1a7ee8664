#include "train/gpu_step.h"

#include <cuda_runtime_api.h>

#include <chrono>
#include <cmath>
#include <vector>

#include "core/check.h"
#include "core/clock.h"
#include "dataproc/loader.h"
#include "kernels/cuda/adamw.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/bias_grad.h"
#include "kernels/cuda/crossentropy.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/embedding.h"
#include "kernels/cuda/gelu.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/layernorm.h"
#include "model/gpt.h"
#if OGAI_HAVE_NCCL
#include "comm/nccl/nccl_process_group.h"
#endif
#include "optim/adamw.h"
#include "optim/schedule.h"
#include "parallel/buckets.h"
#include "parallel/layout.h"
#include "parallel/stream_plan.h"
#include "train/gpu_backward_order.h"

namespace ogai::train {
namespace {

using kernels::cuda::bf16;

#define OGAI_CUDA(call, what)                                                             \
  do {                                                                                    \
    cudaError_t ogai_cuda_e_ = (call);                                                    \
    if (ogai_cuda_e_ != cudaSuccess) return kernels::cuda::CudaError(ogai_cuda_e_, what); \
  } while (0)

// A bump allocator over one arena region, in the order device_arena.cc sizes it.
class Carver {
 public:
  Carver(char* base, const ArenaRegion* r) : p_(base + (r ? r->offset : 0)), end_(p_ + (r ? r->bytes : 0)) {}
  template <typename T>
  T* Take(int64_t n) {
    T* out = reinterpret_cast<T*>(p_);
    p_ += n * static_cast<int64_t>(sizeof(T));
    OGAI_CHECK(p_ <= end_);  // else device_arena.cc and this file disagree on a region
    return out;
  }

 private:
  char* p_;
  char* end_;
};

// Activations of one block, kept from forward for backward (device_arena.cc's per_block order).
struct Block {
  bf16 *res, *ln1, *qkv, *atty, *proj, *res2, *ln2, *pre, *gelu, *mproj;
  float *ln1_mean, *ln1_rstd, *ln2_mean, *ln2_rstd, *lse;
};

// Parameter indices of one block (model/gpt.cc's order); k and v follow q in the flat buffer.
struct BlockIdx {
  int ln1_w, ln1_b, q_w, q_b, proj_w, proj_b, ln2_w, ln2_b, fc_w, fc_b, mproj_w, mproj_b, k_w, v_w, k_b, v_b;
};

}  // namespace

struct GpuStep::Impl {
  Config cfg;
  ArenaPlan plan;
  std::string name;
  std::vector<model::ParamSpec> params;
  std::unique_ptr<data::DataLoader> loader;
  std::unique_ptr<kernels::cuda::Gemm> gemm;
  cudaStream_t stream = nullptr;
  char* arena = nullptr;
  int64_t B = 0, T = 0, C = 0, NH = 0, HD = 0, V = 0, BT = 0, L = 0, step = 0;
  bf16* P = nullptr;
  float *G = nullptr, *M = nullptr, *Mom1 = nullptr, *Mom2 = nullptr;
  std::vector<Block> blocks;
  std::vector<BlockIdx> bidx;
  int wte = -1, wpe = -1, lnf_w = -1, lnf_b = -1;
  bf16 *res0 = nullptr, *resL = nullptr, *lnf = nullptr, *logits = nullptr;
  float *lnf_mean = nullptr, *lnf_rstd = nullptr, *losses = nullptr, *scale = nullptr;
  int32_t *tokens = nullptr, *targets = nullptr;
  bf16 *dres = nullptr, *dtmp = nullptr, *dqkv = nullptr, *dfc = nullptr, *dgelu = nullptr;
  double *norm_partial = nullptr, *norm_out = nullptr;
  float* scratch = nullptr;
  std::vector<int32_t> h_tokens, h_targets;
  std::vector<float> h_losses;
  // Data parallelism (null: one GPU).
  comm::ProcessGroup* dp = nullptr;
  int dp_size = 1, dp_idx = 0;
  parallel::BucketPlan buckets;
  std::vector<int> remaining;  // per bucket: tensors whose gradient is not final yet
  std::vector<comm::WorkPtr> works;
  bool armed = false;            // the last micro-batch's backward: gradients become final
  std::vector<int> ready_order;  // GpuBackwardReadyOrder: what the DP plan was checked with
  size_t ready_cursor = 0;

  // Bucket b summed over the dp group (each rank's gradient is already scaled by 1 / the
  // global batch's tokens), on the group's stream after the compute stream.
  void Reduce(int b) {
    const auto& bk = buckets.buckets[b];
    works.push_back(dp->AllReduce(G + bk.begin, G + bk.begin, static_cast<size_t>(bk.size()), comm::DataType::kFloat32,
                                  comm::ReduceOp::kSum));
  }
  // Backward calls this once per tensor when its gradient is final for this micro-batch; with
  // overlap, a bucket's all-reduce is issued when its last tensor is.
  void Ready(std::initializer_list<int> ps) {
    for (int p : ps) {
      // The backward below must report in the order the stream plan was validated with.
      OGAI_CHECK(ready_cursor < ready_order.size() && ready_order[ready_cursor] == p);
      ++ready_cursor;
      if (!armed || dp == nullptr) continue;
      const int b = buckets.bucket_of[p];
      if (--remaining[b] == 0 && cfg.parallel.overlap) Reduce(b);
    }
  }

  bf16* Pp(int i) { return P + params[i].offset; }
  float* Gp(int i) { return G + params[i].offset; }

  ~Impl() {
    if (arena) cudaFree(arena);
    if (stream) cudaStreamDestroy(stream);
  }

  Status Carve() {
    const int64_t Pn = plan.local_params, F = 4 * C;
    Carver pr(arena, plan.Find("params.bf16"));
    P = pr.Take<bf16>(Pn);
    G = Carver(arena, plan.Find("grads.fp32")).Take<float>(Pn);
    M = Carver(arena, plan.Find("master.fp32")).Take<float>(Pn);
    Mom1 = Carver(arena, plan.Find("adam.m")).Take<float>(Pn);
    Mom2 = Carver(arena, plan.Find("adam.v")).Take<float>(Pn);
    Carver act(arena, plan.Find("act.blocks"));
    blocks.resize(L);
    for (auto& b : blocks) {
      b.res = act.Take<bf16>(BT * C);
      b.ln1 = act.Take<bf16>(BT * C);
      b.qkv = act.Take<bf16>(BT * 3 * C);
      b.atty = act.Take<bf16>(BT * C);
      b.proj = act.Take<bf16>(BT * C);
      b.res2 = act.Take<bf16>(BT * C);
      b.ln2 = act.Take<bf16>(BT * C);
      b.pre = act.Take<bf16>(BT * F);
      b.gelu = act.Take<bf16>(BT * F);
      b.mproj = act.Take<bf16>(BT * C);
      b.ln1_mean = act.Take<float>(BT);
      b.ln1_rstd = act.Take<float>(BT);
      b.ln2_mean = act.Take<float>(BT);
      b.ln2_rstd = act.Take<float>(BT);
      b.lse = act.Take<float>(B * NH * T);
    }
    Carver emb(arena, plan.Find("act.embed"));
    res0 = emb.Take<bf16>(BT * C);
    tokens = emb.Take<int32_t>(BT);
    Carver head(arena, plan.Find("act.head"));
    resL = head.Take<bf16>(BT * C);
    lnf = head.Take<bf16>(BT * C);
    lnf_mean = head.Take<float>(BT);
    lnf_rstd = head.Take<float>(BT);
    logits = Carver(arena, plan.Find("logits")).Take<bf16>(BT * V);
    Carver loss(arena, plan.Find("loss"));
    losses = loss.Take<float>(BT);
    targets = loss.Take<int32_t>(BT);
    scale = loss.Take<float>(BT);
    Carver gt(arena, plan.Find("grad.tmp"));
    dres = gt.Take<bf16>(BT * C);
    dtmp = gt.Take<bf16>(BT * C);
    dqkv = gt.Take<bf16>(BT * 3 * C);
    dfc = gt.Take<bf16>(BT * F);
    dgelu = gt.Take<bf16>(BT * F);
    Carver sc(arena, plan.Find("scratch"));
    norm_partial = sc.Take<double>(kernels::cuda::GradSumSquaresScratch());
    norm_out = sc.Take<double>(1);
    scratch = sc.Take<float>(0);  // the rest of the region
    return Status::Ok();
  }

  Status Forward() {
    namespace k = kernels::cuda;
    const cudaStream_t s = stream;
    k::EmbeddingLookup(res0, tokens, Pp(wte), BT, C, 0, V, s);
    k::PositionAdd(res0, Pp(wpe), B, T, C, s);
    for (int64_t l = 0; l < L; ++l) {
      Block& b = blocks[l];
      const BlockIdx& p = bidx[l];
      if (l == 0) {
        OGAI_CUDA(cudaMemcpyAsync(b.res, res0, BT * C * sizeof(bf16), cudaMemcpyDeviceToDevice, s), "copy res0");
        k::LayerNormForward(b.ln1, b.ln1_mean, b.ln1_rstd, b.res, Pp(p.ln1_w), Pp(p.ln1_b), BT, C, s);
      } else {
        const Block& prev = blocks[l - 1];
        k::ResidualLayerNormForward(b.res, b.ln1, b.ln1_mean, b.ln1_rstd, prev.res2, prev.mproj, Pp(p.ln1_w),
                                    Pp(p.ln1_b), BT, C, s);
      }
      // q, k, v weights are adjacent in the flat buffer: one [3C, C] GEMM, biases likewise.
      OGAI_RETURN_IF_ERROR(gemm->MatmulForward(b.qkv, nullptr, b.ln1, Pp(p.q_w), Pp(p.q_b), BT, C, 3 * C, false, s));
      k::AttentionForward(b.atty, b.lse, b.qkv, B, T, NH, HD, s);
      OGAI_RETURN_IF_ERROR(
          gemm->MatmulForward(b.proj, nullptr, b.atty, Pp(p.proj_w), Pp(p.proj_b), BT, C, C, false, s));
      k::ResidualLayerNormForward(b.res2, b.ln2, b.ln2_mean, b.ln2_rstd, b.res, b.proj, Pp(p.ln2_w), Pp(p.ln2_b), BT, C,
                                  s);
      OGAI_RETURN_IF_ERROR(gemm->MatmulForward(b.gelu, b.pre, b.ln2, Pp(p.fc_w), Pp(p.fc_b), BT, C, 4 * C, true, s));
      OGAI_RETURN_IF_ERROR(
          gemm->MatmulForward(b.mproj, nullptr, b.gelu, Pp(p.mproj_w), Pp(p.mproj_b), BT, 4 * C, C, false, s));
    }
    const Block& last = blocks[L - 1];
    k::ResidualLayerNormForward(resL, lnf, lnf_mean, lnf_rstd, last.res2, last.mproj, Pp(lnf_w), Pp(lnf_b), BT, C, s);
    OGAI_RETURN_IF_ERROR(gemm->MatmulForward(logits, nullptr, lnf, Pp(wte), nullptr, BT, C, V, false, s));
    k::CrossEntropyForwardBackward(losses, logits, targets, BT, V, scale, s);
    return k::CheckLaunch("forward");
  }

  Status Backward() {
    namespace k = kernels::cuda;
    const cudaStream_t s = stream;
    // Head (tied with wte): dlnf = dlogits . wte, dwte += dlogits^T . lnf.
    OGAI_RETURN_IF_ERROR(gemm->MatmulBackward(dtmp, Gp(wte), logits, lnf, Pp(wte), BT, C, V, false, true, s));
    OGAI_CUDA(cudaMemsetAsync(dres, 0, BT * C * sizeof(bf16), s), "clear dres");
    ready_cursor = 0;
    k::LayerNormBackward(dres, Gp(lnf_w), Gp(lnf_b), dtmp, resL, Pp(lnf_w), lnf_mean, lnf_rstd, BT, C, true, scratch,
                         s);
    Ready({lnf_w, lnf_b});
    for (int64_t l = L - 1; l >= 0; --l) {
      Block& b = blocks[l];
      const BlockIdx& p = bidx[l];
      // MLP: dres is the gradient of res_{l+1} = res2 + mproj.
      OGAI_RETURN_IF_ERROR(
          gemm->MatmulBackward(dgelu, Gp(p.mproj_w), dres, b.gelu, Pp(p.mproj_w), BT, 4 * C, C, false, true, s));
      k::BiasBackward(Gp(p.mproj_b), dres, BT, C, true, scratch, s);
      Ready({p.mproj_w, p.mproj_b});
      k::GeluBackward(dfc, b.pre, dgelu, BT * 4 * C, s);
      OGAI_RETURN_IF_ERROR(
          gemm->MatmulBackward(dtmp, Gp(p.fc_w), dfc, b.ln2, Pp(p.fc_w), BT, C, 4 * C, false, true, s));
      k::BiasBackward(Gp(p.fc_b), dfc, BT, 4 * C, true, scratch, s);
      Ready({p.fc_w, p.fc_b});
      k::LayerNormBackward(dres, Gp(p.ln2_w), Gp(p.ln2_b), dtmp, b.res2, Pp(p.ln2_w), b.ln2_mean, b.ln2_rstd, BT, C,
                           true, scratch, s);
      Ready({p.ln2_w, p.ln2_b});
      // Attention: dres is now the gradient of res2 = res + proj.
      OGAI_RETURN_IF_ERROR(
          gemm->MatmulBackward(dtmp, Gp(p.proj_w), dres, b.atty, Pp(p.proj_w), BT, C, C, false, true, s));
      k::BiasBackward(Gp(p.proj_b), dres, BT, C, true, scratch, s);
      Ready({p.proj_w, p.proj_b});
      k::AttentionBackward(dqkv, dtmp, b.atty, b.lse, b.qkv, B, T, NH, HD, scratch, s);
      OGAI_RETURN_IF_ERROR(gemm->MatmulBackward(dtmp, Gp(p.q_w), dqkv, b.ln1, Pp(p.q_w), BT, C, 3 * C, false, true, s));
      k::BiasBackward(Gp(p.q_b), dqkv, BT, 3 * C, true, scratch, s);
      Ready({p.q_w, p.k_w, p.v_w, p.q_b, p.k_b, p.v_b});
      k::LayerNormBackward(dres, Gp(p.ln1_w), Gp(p.ln1_b), dtmp, b.res, Pp(p.ln1_w), b.ln1_mean, b.ln1_rstd, BT, C,
                           true, scratch, s);
      Ready({p.ln1_w, p.ln1_b});
    }
    k::PositionAddBackward(Gp(wpe), dres, B, T, C, true, s);
    k::EmbeddingLookupBackward(Gp(wte), dres, tokens, BT, C, 0, V, s);
    Ready({wpe, wte});
    return k::CheckLaunch("backward");
  }
};

GpuStep::GpuStep() = default;
GpuStep::~GpuStep() = default;
const ArenaPlan& GpuStep::plan() const { return impl_->plan; }
const std::string& GpuStep::device_name() const { return impl_->name; }

Result<std::unique_ptr<GpuStep>> GpuStep::Create(const Config& cfg, int device, comm::ProcessGroup* dp) {
  const auto& pc = cfg.parallel;
  if (pc.tp != 1 || pc.pp != 1 || pc.zero != 0) {
    return NotSupported(
        "the GPU step runs on one GPU or with data parallelism only (parallel.tp = pp = 1, zero = "
        "0); tensor and pipeline parallelism and ZeRO-1 on NCCL are not wired (docs/gpu.md)");
  }
  if (pc.dp > 1 && (dp == nullptr || dp->size() != pc.dp || std::string(dp->backend()) != "nccl")) {
    return InvalidArgument("parallel.dp = " + std::to_string(pc.dp) +
                           " on GPUs needs an nccl process group of that size; set parallel.backend: nccl");
  }
  const ModelConfig& mc = cfg.model;
  if (mc.d_model / mc.heads > 256) {
    return NotSupported("model.d_model / model.heads = " + std::to_string(mc.d_model / mc.heads) +
                        ": the CUDA attention kernels take head sizes up to 256");
  }
  std::unique_ptr<GpuStep> g(new GpuStep());
  g->impl_ = std::make_unique<Impl>();
  Impl& x = *g->impl_;
  x.cfg = cfg;
  OGAI_ASSIGN_OR_RETURN(auto info, kernels::cuda::UseDevice(device));
  x.name = info.name;
  const int world = pc.dp > 1 ? dp->size() : 1, rank = pc.dp > 1 ? dp->rank() : 0;
  OGAI_ASSIGN_OR_RETURN(auto layout, parallel::MakeLayout(pc, mc, rank, world));
  if (pc.dp > 1) {
    x.dp = dp;
    x.dp_size = dp->size();
    x.dp_idx = layout.dp_idx;
  }
  x.plan = PlanDeviceArena(cfg, layout);
  constexpr int64_t kReserve = 1ll << 30;
  OGAI_RETURN_IF_ERROR(
      CheckArenaFits(x.plan, info.free_bytes, kReserve, "cuda:" + std::to_string(device) + " (" + info.name + ")"));
  x.B = cfg.train.micro_batch;
  x.T = mc.seq_len;
  x.C = mc.d_model;
  x.NH = mc.heads;
  x.HD = mc.d_model / mc.heads;
  x.V = mc.vocab;
  x.BT = x.B * x.T;
  x.L = mc.layers;
  // The CPU model gives the parameter list and the initial weights (same seed, same values).
  OGAI_ASSIGN_OR_RETURN(auto host, model::GPT::Create(mc, layout.ModelLayout()));
  host->Init(cfg.train.seed);
  x.params = host->params();
  OGAI_CHECK_EQ(host->num_local_params(), x.plan.local_params);
  auto find = [&](const std::string& n) {
    for (size_t i = 0; i < x.params.size(); ++i)
      if (x.params[i].name == n) return static_cast<int>(i);
    return -1;
  };
  x.wte = find("wte");
  x.wpe = find("wpe");
  x.lnf_w = find("lnf.w");
  x.lnf_b = find("lnf.b");
  for (int64_t l = 0; l < x.L; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    x.bidx.push_back({find(p + "ln1.w"), find(p + "ln1.b"), find(p + "attn.q.w"), find(p + "attn.q.b"),
                      find(p + "attn.proj.w"), find(p + "attn.proj.b"), find(p + "ln2.w"), find(p + "ln2.b"),
                      find(p + "mlp.fc.w"), find(p + "mlp.fc.b"), find(p + "mlp.proj.w"), find(p + "mlp.proj.b"),
                      find(p + "attn.k.w"), find(p + "attn.v.w"), find(p + "attn.k.b"), find(p + "attn.v.b")});
  }

  OGAI_CUDA(cudaStreamCreateWithFlags(&x.stream, cudaStreamNonBlocking), "cudaStreamCreate");
  OGAI_CUDA(cudaMalloc(reinterpret_cast<void**>(&x.arena), x.plan.total_bytes), "cudaMalloc of the device arena");
  OGAI_RETURN_IF_ERROR(x.Carve());
  if (x.dp != nullptr) {
#if OGAI_HAVE_NCCL
    // The group's collectives follow this stream; Work::Wait() puts them back in its order.
    OGAI_RETURN_IF_ERROR(comm::nccl::SetNcclStream(*x.dp, x.stream));
#else
    return NotSupported("parallel.dp > 1 on GPUs needs NCCL, which this build did not find");
#endif
    const int64_t bucket_elems = static_cast<int64_t>(pc.bucket_mb * (1 << 20) / sizeof(float));
    x.buckets = parallel::PlanBuckets(x.params, x.plan.local_params, std::max<int64_t>(1, bucket_elems));
  }
  OGAI_ASSIGN_OR_RETURN(x.ready_order, GpuBackwardReadyOrder(x.params, static_cast<int>(x.L)));
  if (x.dp != nullptr) {
    OGAI_ASSIGN_OR_RETURN(auto sp, parallel::PlanDpStreams(x.buckets, x.ready_order, false, pc.overlap));
    OGAI_RETURN_IF_ERROR(parallel::ValidateStreamPlan(sp, x.buckets));
  }
  OGAI_ASSIGN_OR_RETURN(x.gemm, kernels::cuda::Gemm::Create(x.arena + x.plan.Find("cublaslt.ws")->offset));

  const int64_t n = x.plan.local_params;
  std::vector<bf16> p16(static_cast<size_t>(n));
  const float* hp = host->param_data();
  for (int64_t i = 0; i < n; ++i) p16[i] = __float2bfloat16_rn(hp[i]);
  OGAI_CUDA(cudaMemcpy(x.M, hp, n * sizeof(float), cudaMemcpyHostToDevice), "upload master weights");
  OGAI_CUDA(cudaMemcpy(x.P, p16.data(), n * sizeof(bf16), cudaMemcpyHostToDevice), "upload bf16 parameters");
  OGAI_CUDA(cudaMemset(x.G, 0, n * sizeof(float)), "clear gradients");
  OGAI_CUDA(cudaMemset(x.Mom1, 0, n * sizeof(float)), "clear AdamW m");
  OGAI_CUDA(cudaMemset(x.Mom2, 0, n * sizeof(float)), "clear AdamW v");
  // Every token's loss gradient is scaled by 1 / tokens in the global batch (the mean loss).
  const std::vector<float> sc(static_cast<size_t>(x.BT),
                              1.0f / static_cast<float>(static_cast<int64_t>(cfg.train.global_batch) * x.T));
  OGAI_CUDA(cudaMemcpy(x.scale, sc.data(), x.BT * sizeof(float), cudaMemcpyHostToDevice), "upload loss scale");

  OGAI_ASSIGN_OR_RETURN(auto source, data::TokenSource::FromConfig(cfg.data, mc.vocab));
  OGAI_ASSIGN_OR_RETURN(x.loader, data::DataLoader::Create(source, mc.seq_len, cfg.train.seed));
  x.h_tokens.resize(x.BT);
  x.h_targets.resize(x.BT);
  x.h_losses.resize(x.BT);
  return g;
}

Result<GpuStepStats> GpuStep::Step() {
  Impl& x = *impl_;
  const auto& tc = x.cfg.train;
  const double t0 = Now();
  double loss_sum = 0;
  for (int micro = 0; micro < tc.grad_accum; ++micro) {
    const int64_t first = x.step * tc.global_batch + static_cast<int64_t>(micro) * tc.micro_batch * x.dp_size +
                          static_cast<int64_t>(x.dp_idx) * tc.micro_batch;
    x.loader->GetSamples(first, tc.micro_batch, x.h_tokens.data(), x.h_targets.data());
    OGAI_CUDA(cudaMemcpyAsync(x.tokens, x.h_tokens.data(), x.BT * sizeof(int32_t), cudaMemcpyHostToDevice, x.stream),
              "upload tokens");
    OGAI_CUDA(cudaMemcpyAsync(x.targets, x.h_targets.data(), x.BT * sizeof(int32_t), cudaMemcpyHostToDevice, x.stream),
              "upload targets");
    OGAI_RETURN_IF_ERROR(x.Forward());
    x.armed = micro == tc.grad_accum - 1;
    if (x.armed && x.dp != nullptr) {
      x.remaining.assign(x.buckets.buckets.size(), 0);
      for (size_t b = 0; b < x.buckets.buckets.size(); ++b)
        x.remaining[b] = static_cast<int>(x.buckets.buckets[b].params.size());
      x.works.clear();
    }
    OGAI_RETURN_IF_ERROR(x.Backward());
    x.armed = false;
    OGAI_CUDA(cudaMemcpyAsync(x.h_losses.data(), x.losses, x.BT * sizeof(float), cudaMemcpyDeviceToHost, x.stream),
              "download losses");
    OGAI_CUDA(cudaStreamSynchronize(x.stream), "micro-batch");
    for (float l : x.h_losses) loss_sum += l;
  }
  if (x.dp != nullptr) {
    // Without overlap every bucket is reduced now. Either way the compute stream then waits
    // for the all-reduces (stream order: Wait() does not block the host).
    if (!x.cfg.parallel.overlap) {
      for (size_t b = 0; b < x.buckets.buckets.size(); ++b) x.Reduce(static_cast<int>(b));
    }
    for (auto& w : x.works) OGAI_RETURN_IF_ERROR(w->Wait());
    x.works.clear();
  }
  const int64_t n = x.plan.local_params;
  kernels::cuda::GradSumSquares(x.norm_out, x.G, n, false, x.norm_partial, x.stream);
  double sumsq = 0;
  OGAI_CUDA(cudaMemcpyAsync(&sumsq, x.norm_out, sizeof(double), cudaMemcpyDeviceToHost, x.stream), "grad norm");
  OGAI_CUDA(cudaStreamSynchronize(x.stream), "grad norm");
  const double norm = std::sqrt(sumsq);
  kernels::AdamWStep st;
  st.lr = static_cast<float>(optim::LearningRate(tc, x.step));
  st.beta1 = static_cast<float>(tc.beta1);
  st.beta2 = static_cast<float>(tc.beta2);
  st.eps = static_cast<float>(tc.eps);
  st.weight_decay = static_cast<float>(tc.weight_decay);
  st.step = x.step + 1;
  st.grad_scale = optim::ClipScale(norm, tc.grad_clip);
  for (const auto& p : x.params) {
    kernels::cuda::AdamWUpdate(x.M + p.offset, x.P + p.offset, x.G + p.offset, x.Mom1 + p.offset, x.Mom2 + p.offset,
                               p.numel, st, p.decay, /*zero_grad=*/true, x.stream);
  }
  OGAI_RETURN_IF_ERROR(kernels::cuda::CheckLaunch("AdamW"));
  OGAI_CUDA(cudaStreamSynchronize(x.stream), "optimizer step");
  ++x.step;
  if (x.dp != nullptr) {
    // The step's loss summed over the dp group (in the grad-norm scratch, free by now).
    float* buf = reinterpret_cast<float*>(x.norm_partial);
    const float local = static_cast<float>(loss_sum);
    OGAI_CUDA(cudaMemcpyAsync(buf, &local, sizeof(float), cudaMemcpyHostToDevice, x.stream), "loss upload");
    OGAI_RETURN_IF_ERROR(
        x.dp->AllReduce(buf, buf, 1, comm::DataType::kFloat32, comm::ReduceOp::kSum)->Wait(std::chrono::minutes(5)));
    float total = 0;
    OGAI_CUDA(cudaMemcpy(&total, buf, sizeof(float), cudaMemcpyDeviceToHost), "loss download");
    loss_sum = total;
  }
  GpuStepStats s;
  s.loss = loss_sum / (static_cast<double>(tc.global_batch) * x.T);
  s.grad_norm = norm;
  s.seconds = Now() - t0;
  return s;
}

}  // namespace ogai::train
