// Pipeline stages cut by modelled cost (used when parallel.pp_layers is not given).
//
// Cost per token, forward plus backward, in FLOPs (the same terms as GPT::ModelFlopsPerToken):
//   a block      6 x its matmul parameters (12 C^2 + 9 C: QKV, projection and MLP weights, biases)
//                + 6 T C for causal attention (half of the 12 T C of full attention: the
//                blocked kernel skips the masked tiles)
//   the head     6 V C (logits forward, input and weight gradients), on the last stage
//   embeddings   0 GEMM FLOPs (a lookup), on the first stage
// Stages get contiguous blocks, at least one each; the split minimises the largest stage cost
// (ties: the most blocks on the last stage); the stages before the last get equal counts. With GPT-2 124M's head worth ~5 blocks, pp = 2 gives 8 + 4
// blocks instead of 6 + 6.
#pragma once

#include <vector>

#include "model/model_config.h"

namespace ogai::parallel {

// FLOPs per token of one block and of the head (forward + backward).
double BlockCostPerToken(const ModelConfig& m);
double HeadCostPerToken(const ModelConfig& m);

// Blocks per stage (pp entries summing to m.layers); needs m.layers >= pp.
std::vector<int> CostBalancedLayers(const ModelConfig& m, int pp);

}  // namespace ogai::parallel
