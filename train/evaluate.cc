#include "train/evaluate.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/clock.h"

namespace ogai::train {

double EvalResult::bits_per_byte() const {
  if (bytes <= 0) return std::nan("");
  return loss * static_cast<double>(tokens) / (static_cast<double>(bytes) * std::log(2.0));
}

Result<EvalResult> EvaluateLoss(model::GPT& model, const data::DataLoader& loader, const EvalOptions& o) {
  if (o.batches < 1 || o.micro_batch < 1 || o.dp_size < 1 || o.global_batch % (o.micro_batch * o.dp_size) != 0) {
    return InvalidArgument("evaluation needs batches >= 1 and a global batch of " + std::to_string(o.global_batch) +
                           " that is a multiple of micro_batch x dp = " + std::to_string(o.micro_batch * o.dp_size));
  }
  const double t0 = Now();
  const int T = loader.seq_len();
  const int micros = o.global_batch / (o.micro_batch * o.dp_size);
  auto acts = model.NewActivations(o.micro_batch);
  std::vector<int32_t> inputs(static_cast<size_t>(o.micro_batch) * T), targets(inputs.size());
  double sum = 0.0;
  for (int b = 0; b < o.batches; ++b) {
    for (int k = 0; k < micros; ++k) {
      const int64_t first = static_cast<int64_t>(b) * o.global_batch +
                            static_cast<int64_t>(k) * o.micro_batch * o.dp_size +
                            static_cast<int64_t>(o.dp_rank) * o.micro_batch;
      loader.GetSamples(first, o.micro_batch, inputs.data(), targets.data());
      double s = 0.0;
      OGAI_RETURN_IF_ERROR(model.Forward(*acts, inputs.data(), nullptr, targets.data(), 0.0f, &s));
      sum += s;
    }
  }
  EvalResult r;
  r.tokens = static_cast<int64_t>(o.batches) * o.global_batch * T;
  if (o.token_bytes != nullptr) {
    const int64_t samples = static_cast<int64_t>(o.batches) * o.global_batch;
    for (int64_t first = 0; first < samples; first += o.micro_batch) {
      const int n = static_cast<int>(std::min<int64_t>(o.micro_batch, samples - first));
      loader.GetSamples(first, n, inputs.data(), targets.data());
      for (size_t i = 0; i < static_cast<size_t>(n) * T; ++i) {
        const auto t = static_cast<size_t>(targets[i]);
        r.bytes += t < o.token_bytes->size() ? (*o.token_bytes)[t] : 0;
      }
    }
  }
  // Each rank divides before the (float) reduction, so the sum stays near the loss's scale.
  double mean = o.counts_loss ? sum / static_cast<double>(r.tokens) : 0.0;
  if (o.world != nullptr && o.world->size() > 1) {
    float v = static_cast<float>(mean);
    Status st = o.world->AllReduce(&v, &v, 1, comm::DataType::kFloat32, comm::ReduceOp::kSum)->Wait();
    if (!st.ok()) return st.WithContext("reducing the validation loss");
    mean = v;
  }
  if (!std::isfinite(mean)) return Internal("validation loss is not finite (" + std::to_string(mean) + ")");
  r.loss = mean;
  r.seconds = Now() - t0;
  return r;
}

}  // namespace ogai::train
