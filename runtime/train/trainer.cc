#include "runtime/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "kernels/cpu/adamw.h"
#include "runtime/core/log.h"
#include "runtime/core/profile.h"
#include "runtime/optim/schedule.h"

namespace ogai::train {

namespace {
double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}
std::string HumanRate(double v, const char* unit) {
  const char* pre[] = {"", "K", "M", "G", "T", "P"};
  int i = 0;
  while (v >= 1000.0 && i < 5) {
    v /= 1000.0;
    ++i;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f %s%s", v, pre[i], unit);
  return buf;
}
}  // namespace

Trainer::~Trainer() {
  if (metrics_ != nullptr) std::fclose(metrics_);
}

Result<std::unique_ptr<Trainer>> Trainer::Create(const Config& cfg, TrainerOptions opts) {
  std::unique_ptr<Trainer> t(new Trainer());
  t->cfg_ = cfg;
  t->opts_ = opts;
  OGAI_ASSIGN_OR_RETURN(auto source, data::TokenSource::FromConfig(cfg));
  OGAI_ASSIGN_OR_RETURN(t->loader_, data::DataLoader::Create(source, cfg.model.seq_len, cfg.train.seed));
  model::ModelLayout layout;
  OGAI_ASSIGN_OR_RETURN(t->model_, model::GPT::Create(cfg.model, layout));
  t->model_->Init(cfg.train.seed);
  t->opt_ = std::make_unique<optim::AdamW>(cfg.train, t->model_->params(), 0,
                                           t->model_->num_local_params());
  // [checkpoint 1/3] resume as checkpoint.resume says (the step counter included).
  OGAI_ASSIGN_OR_RETURN(t->ckpt_, Checkpointing::Create(cfg, t->model_.get(), t->opt_.get()));
  OGAI_ASSIGN_OR_RETURN(t->step_, t->ckpt_->Resume());
  t->acts_ = t->model_->NewActivations(cfg.train.micro_batch);
  const int64_t bt = static_cast<int64_t>(cfg.train.micro_batch) * cfg.model.seq_len;
  t->inputs_.resize(bt);
  t->targets_.resize(bt);
  t->flops_per_token_ = model::GPT::ModelFlopsPerToken(cfg.model);
  if (!cfg.train.metrics_file.empty()) {
    t->metrics_ = std::fopen(cfg.train.metrics_file.c_str(), "w");
    if (t->metrics_ == nullptr) {
      return ErrnoError("train.metrics_file: cannot create '" + cfg.train.metrics_file + "'", errno);
    }
  }
  OGAI_LOG(Info) << "model: " << model::GPT::DenseParamCount(cfg.model) << " parameters, "
                 << t->model_->params().size() << " tensors; data: "
                 << source->total_tokens() << " tokens, " << t->loader_->num_windows()
                 << " windows";
  return t;
}

Status Trainer::Step(StepStats* stats) {
  const double t0 = Now();
  const auto& tc = cfg_.train;
  const int mb = tc.micro_batch;
  const int64_t T = cfg_.model.seq_len;
  const float grad_scale = 1.0f / static_cast<float>(static_cast<int64_t>(tc.global_batch) * T);
  double loss_sum = 0.0;
  for (int micro = 0; micro < tc.grad_accum; ++micro) {
    const int64_t first = step_ * tc.global_batch + static_cast<int64_t>(micro) * mb;
    {
      OGAI_PROFILE(kData);
      loader_->GetSamples(first, mb, inputs_.data(), targets_.data());
    }
    double s = 0.0;
    OGAI_RETURN_IF_ERROR(model_->Forward(*acts_, inputs_.data(), nullptr, targets_.data(), grad_scale, &s));
    OGAI_RETURN_IF_ERROR(model_->Backward(*acts_, nullptr, nullptr));
    loss_sum += s;
  }
  const double norm = std::sqrt(kernels::SumSquares(model_->grad_data(), model_->num_local_params()));
  const double lr = optim::LearningRate(tc, step_);
  // [checkpoint 2/3] a save in flight may still be copying parameters and moments.
  OGAI_RETURN_IF_ERROR(ckpt_->BeforeOptimizerStep());
  opt_->Step(model_->param_data(), model_->grad_data(), lr, optim::ClipScale(norm, tc.grad_clip), step_ + 1);
  ++step_;
  const double dt = Now() - t0;
  const double tokens = static_cast<double>(tc.global_batch) * T;
  StepStats s;
  s.step = step_;
  s.loss = loss_sum / tokens;
  s.lr = lr;
  s.grad_norm = norm;
  s.seconds = dt;
  s.tokens_per_s = tokens / dt;
  s.model_flops_per_s = flops_per_token_ * tokens / dt;
  if (metrics_ != nullptr) {
    std::fprintf(metrics_, "{\"step\": %lld, \"loss\": %.9g, \"loss_bits\": \"%a\", \"lr\": %.9g, \"grad_norm\": %.9g, \"ms\": %.3f}\n",
                 static_cast<long long>(s.step), s.loss, s.loss, s.lr, s.grad_norm, dt * 1e3);
    std::fflush(metrics_);
  }
  if (!std::isfinite(s.loss)) {
    return Internal("loss became " + Fmt("%g", s.loss) + " at step " + std::to_string(step_) +
                    "; lower train.lr or raise train.warmup");
  }
  // [checkpoint 3/3] save when checkpoint.every_steps (or the last step) says so.
  OGAI_RETURN_IF_ERROR(ckpt_->AfterStep(step_));
  if (stats != nullptr) *stats = s;
  return Status::Ok();
}

void Trainer::PrintStep(const StepStats& s) const {
  const int width = static_cast<int>(std::to_string(cfg_.train.steps).size());
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "step %*lld/%lld | loss %.4f | lr %.2e | grad norm %.3f | %.1f ms | %s | %s",
                width, static_cast<long long>(s.step), static_cast<long long>(cfg_.train.steps),
                s.loss, s.lr, s.grad_norm, s.seconds * 1e3,
                HumanRate(s.tokens_per_s, "tok/s").c_str(),
                HumanRate(s.model_flops_per_s, "FLOP/s").c_str());
  Print(buf);
}

Status Trainer::Run(RunSummary* summary) {
  RunSummary sum;
  const double start = Now();
  double last_progress = start;
  const int64_t total = cfg_.train.steps;
  while (step_ < total) {
    StepStats s;
    OGAI_RETURN_IF_ERROR(Step(&s));
    if (sum.history.empty()) sum.first_loss = s.loss;
    sum.last_loss = s.loss;
    sum.history.push_back(s);
    if (opts_.print) {
      const bool log_line = s.step % cfg_.train.log_every == 0 || s.step == 1 || s.step == total;
      if (log_line) PrintStep(s);
      const double now = Now();
      if (!log_line && now - last_progress >= 10.0) {
        const double done = static_cast<double>(s.step) / total;
        const double eta = (now - start) / done * (1.0 - done);
        char buf[160];
        std::snprintf(buf, sizeof(buf), "progress: %lld/%lld steps (%.0f%%), loss %.4f, elapsed %.0f s, eta %.0f s",
                      static_cast<long long>(s.step), static_cast<long long>(total), done * 100.0, s.loss,
                      now - start, eta);
        Print(buf);
        last_progress = now;
      } else if (log_line) {
        last_progress = now;
      }
    }
  }
  sum.steps = static_cast<int64_t>(sum.history.size());
  sum.seconds = Now() - start;
  if (opts_.print && sum.steps > 0) {
    double tok = 0, flops = 0;
    for (const auto& h : sum.history) {
      tok += h.tokens_per_s * h.seconds;
      flops += h.model_flops_per_s * h.seconds;
    }
    char buf[320];
    std::snprintf(buf, sizeof(buf),
                  "done: %lld steps in %.1f s | loss %.4f -> %.4f (%.0f%% of the first) | %s | %s",
                  static_cast<long long>(sum.steps), sum.seconds, sum.first_loss, sum.last_loss,
                  100.0 * sum.last_loss / sum.first_loss, HumanRate(tok / sum.seconds, "tok/s").c_str(),
                  HumanRate(flops / sum.seconds, "FLOP/s").c_str());
    Print(buf);
    OGAI_LOG(Info) << "memory: " << FormatMemStats(GetMemStats());
  }
  if (summary != nullptr) *summary = std::move(sum);
  return Status::Ok();
}

}  // namespace ogai::train
