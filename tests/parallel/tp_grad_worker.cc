// Test helper for tp_layers_test: one rank of a tensor-parallel group. Runs one forward and
// backward of the small GPT on fixed tokens and writes its loss and every local gradient
// (with the tensor's shard position) to OUTDIR/rank<r>.txt; rank 0 also writes the dense
// model's (tp = 1) to OUTDIR/dense.txt. With RECOMPUTE "full" the TP ranks run with
// train.recompute=full and a 5-row head chunk (several row and vocabulary chunks, the last
// short); the dense model keeps all activations. Started by ogai-run.
#include <cstdio>
#include <string>
#include <vector>

#include "model/gpt.h"
#include "parallel/tp_comm.h"
#include "rank/rank_env.h"
#include "train/config.h"
#include "train/dist_setup.h"

namespace {

ogai::Status Dump(ogai::model::GPT& g, double loss, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return ogai::ErrnoError("create " + path, errno);
  std::fprintf(f, "loss %.10g\n", loss);
  for (const auto& p : g.params()) {
    const long rows = static_cast<long>(p.local_shape[0]);
    const long cols = p.local_shape.size() > 1 ? static_cast<long>(p.local_shape[1]) : 1;
    const long gcols = p.global_shape.size() > 1 ? static_cast<long>(p.global_shape[1]) : 1;
    std::fprintf(f, "param %s %d %ld %ld %ld %ld\n", p.name.c_str(), p.shard_dim, static_cast<long>(p.shard_begin),
                 rows, cols, gcols);
    for (long i = 0; i < rows * cols; ++i) std::fprintf(f, "%.9g\n", g.grad_data()[p.offset + i]);
  }
  std::fclose(f);
  return ogai::Status::Ok();
}

ogai::Result<double> ForwardBackward(ogai::model::GPT& g, const ogai::ModelConfig& mc) {
  const int b = 2;
  const int64_t bt = b * mc.seq_len;
  std::vector<int32_t> tok(bt), tgt(bt);
  for (int64_t i = 0; i < bt; ++i) {
    tok[i] = static_cast<int32_t>((i * 13 + 5) % mc.vocab);
    tgt[i] = static_cast<int32_t>((i * 7 + 3) % mc.vocab);
  }
  g.Init(99);
  g.ZeroGrads();
  auto acts = g.NewActivations(b);
  double loss = 0;
  OGAI_RETURN_IF_ERROR(g.Forward(*acts, tok.data(), nullptr, tgt.data(), 1.0f / bt, &loss));
  OGAI_RETURN_IF_ERROR(g.Backward(*acts, nullptr, nullptr));
  return loss / bt;
}

int Run(const std::string& outdir, int tp, bool full) {
  auto env = ogai::launch::DetectRankEnv();
  if (!env.ok()) return std::fprintf(stderr, "%s\n", env.status().ToString().c_str()), 1;
  ogai::Config cfg;
  cfg.model.layers = 2;
  cfg.model.heads = 4;
  cfg.model.d_model = 32;
  cfg.model.vocab = 64;
  cfg.model.seq_len = 8;
  cfg.model.init_std = 0.2;
  cfg.parallel.tp = tp;
  cfg.parallel.timeout_s = 60;
  auto dist = ogai::train::SetUpDistributed(cfg, *env);
  if (!dist.ok()) return std::fprintf(stderr, "%s\n", dist.status().ToString().c_str()), 1;
  auto g = ogai::model::GPT::Create(cfg.model, (*dist)->ctx.layout.ModelLayout());
  if (!g.ok()) return std::fprintf(stderr, "%s\n", g.status().ToString().c_str()), 1;
  ogai::parallel::GroupTensorParallelComm tpc(&(*dist)->mesh->tp());
  (*g)->set_tp_comm(&tpc);
  if (full) {
    (*g)->set_recompute(ogai::model::Recompute::kFull);
    (*g)->set_head_chunk_rows(5);
  }
  auto loss = ForwardBackward(**g, cfg.model);
  if (!loss.ok()) return std::fprintf(stderr, "%s\n", loss.status().ToString().c_str()), 1;
  if (auto st = Dump(**g, *loss, outdir + "/rank" + std::to_string(env->rank) + ".txt"); !st.ok()) return 1;
  if (env->rank == 0) {
    auto dense = ogai::model::GPT::Create(cfg.model, {});
    auto dl = ForwardBackward(**dense, cfg.model);
    if (!dl.ok() || !Dump(**dense, *dl, outdir + "/dense.txt").ok()) return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: tp_grad_worker OUTDIR TP [none|full]\n");
    return 2;
  }
  return Run(argv[1], std::atoi(argv[2]), argc == 4 && std::string(argv[3]) == "full");
}
