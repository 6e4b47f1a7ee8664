#include "train/pipeline.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/clock.h"
#include "core/profile.h"
#include "parallel/schedule.h"

namespace ogai::train {

namespace {
constexpr int kTagsPerMicro = 2;  // forward activation, backward gradient
}  // namespace

Pipeline::Pipeline(model::GPT* model, const Options& o, Hooks hooks) : model_(model), o_(o), hooks_(std::move(hooks)) {
  const int slots = std::min(o_.stages - o_.stage, o_.micro_batches);
  for (int s = 0; s < slots; ++s) acts_.push_back(model_->NewActivations(o_.micro_batch));
  const int64_t bt = static_cast<int64_t>(o_.micro_batch) * o_.seq_len;
  inputs_.resize(bt);
  targets_.resize(bt);
  act_count_ = static_cast<size_t>(bt) * o_.d_model;
  const size_t act_bytes = act_count_ * sizeof(float);
  if (!first_stage()) {
    recv_act_ = Buffer(act_bytes, MemCategory::kActivations);
    for (int s = 0; s < slots; ++s) dinput_.emplace_back(act_bytes, MemCategory::kActivations);
  }
  if (!last_stage()) recv_grad_ = Buffer(act_bytes, MemCategory::kActivations);
  fwd_send_.resize(slots);
  bwd_send_.resize(slots);
}

Pipeline::~Pipeline() {
  for (auto* v : {&fwd_send_, &bwd_send_})
    for (auto& w : *v)
      if (w) (void)w->Wait();
}

Status Pipeline::WaitRecv(const comm::WorkPtr& w, const char* what, int micro, double* wait_s) {
  OGAI_PROFILE(kPpComm);
  const double t0 = Now();
  Status st = w->Wait();
  *wait_s += Now() - t0;
  if (!st.ok()) return st.WithContext(std::string("pipeline ") + what + " of micro-batch " + std::to_string(micro));
  return st;
}

Status Pipeline::Forward(int k, int slot, double* loss_sum, double* wait_s) {
  for (auto* sends : {&fwd_send_, &bwd_send_}) {
    if ((*sends)[slot]) {
      OGAI_RETURN_IF_ERROR((*sends)[slot]->Wait());
      (*sends)[slot].reset();
    }
  }
  hooks_.load(k, inputs_.data(), targets_.data());
  const float* input = nullptr;
  if (!first_stage()) {
    auto w = o_.group->Recv(recv_act_.data(), act_count_, comm::DataType::kFloat32, o_.stage - 1, kTagsPerMicro * k);
    OGAI_RETURN_IF_ERROR(WaitRecv(w, "activation", k, wait_s));
    input = recv_act_.as<float>();
  }
  const float grad_scale = last_stage() ? o_.loss_grad_scale : 0.0f;
  double s = 0.0;
  OGAI_RETURN_IF_ERROR(model_->Forward(*acts_[slot], inputs_.data(), input, targets_.data(), grad_scale, &s));
  *loss_sum += s;
  if (!last_stage()) {
    fwd_send_[slot] = o_.group->Send(model_->Output(*acts_[slot]), act_count_, comm::DataType::kFloat32, o_.stage + 1,
                                     kTagsPerMicro * k);
  }
  return Status::Ok();
}

Status Pipeline::Backward(int k, int slot, double* wait_s) {
  hooks_.before_backward(k);
  const float* dout = nullptr;
  if (!last_stage()) {
    auto w =
        o_.group->Recv(recv_grad_.data(), act_count_, comm::DataType::kFloat32, o_.stage + 1, kTagsPerMicro * k + 1);
    OGAI_RETURN_IF_ERROR(WaitRecv(w, "gradient", k, wait_s));
    dout = recv_grad_.as<float>();
  }
  float* din = first_stage() ? nullptr : dinput_[slot].as<float>();
  OGAI_RETURN_IF_ERROR(model_->Backward(*acts_[slot], dout, din, k == 0 && o_.overwrite_grads));
  if (!first_stage()) {
    bwd_send_[slot] = o_.group->Send(din, act_count_, comm::DataType::kFloat32, o_.stage - 1, kTagsPerMicro * k + 1);
  }
  return Status::Ok();
}

Status Pipeline::Run(double* loss_sum, double* wait_s) {
  const int slots = static_cast<int>(acts_.size());
  for (const parallel::PipeOp& op : parallel::OneFOneB(o_.stage, o_.stages, o_.micro_batches)) {
    const int slot = op.micro % slots;
    if (op.kind == parallel::PipeOp::kForward) {
      OGAI_RETURN_IF_ERROR(Forward(op.micro, slot, loss_sum, wait_s));
    } else {
      OGAI_RETURN_IF_ERROR(Backward(op.micro, slot, wait_s));
    }
  }
  for (auto* sends : {&fwd_send_, &bwd_send_}) {
    for (auto& w : *sends) {
      if (w) {
        OGAI_RETURN_IF_ERROR(w->Wait().WithContext("pipeline send"));
        w.reset();
      }
    }
  }
  return Status::Ok();
}

}  // namespace ogai::train
