#include "train/gpu_backward_order.h"

#include <string>

namespace ogai::train {

Result<std::vector<int>> GpuBackwardReadyOrder(const std::vector<model::ParamSpec>& params, int layers) {
  std::vector<int> order;
  Status missing;
  auto add = [&](const std::string& name) {
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i].name == name) {
        order.push_back(static_cast<int>(i));
        return;
      }
    }
    if (missing.ok()) missing = Internal("the GPU step expects a parameter '" + name + "' the model does not have");
  };
  add("lnf.w");
  add("lnf.b");
  for (int l = layers - 1; l >= 0; --l) {
    const std::string p = "h." + std::to_string(l) + ".";
    for (const char* n :
         {"mlp.proj.w", "mlp.proj.b", "mlp.fc.w", "mlp.fc.b", "ln2.w", "ln2.b", "attn.proj.w", "attn.proj.b",
          "attn.q.w", "attn.k.w", "attn.v.w", "attn.q.b", "attn.k.b", "attn.v.b", "ln1.w", "ln1.b"}) {
      add(p + n);
    }
  }
  add("wpe");
  add("wte");
  if (!missing.ok()) return missing;
  if (order.size() != params.size()) {
    return Internal("the GPU step's backward order names " + std::to_string(order.size()) + " of the model's " +
                    std::to_string(params.size()) + " parameters");
  }
  return order;
}

}  // namespace ogai::train
