// Pipeline parallelism on one stage: runs the micro-batches of one optimizer step in the
// 1F1B order that parallel::OneFOneB plans, receiving activations from the previous stage
// and sending its own to the next one in forward, and the gradients the other way in
// backward.
//
// Stage s keeps min(stages - s, micro_batches) micro-batches in flight, each in its own
// activation slot (micro-batch k uses slot k % slots). Sends are asynchronous: a slot's
// previous sends are waited for before the slot is reused, and all of them before Run
// returns. Micro-batch k's activation travels with tag 2k, its input gradient with 2k + 1.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "comm/process_group.h"
#include "core/memory.h"
#include "core/status.h"
#include "model/gpt.h"

namespace ogai::train {

class Pipeline {
 public:
  struct Options {
    comm::ProcessGroup* group = nullptr;  // the pipeline group: rank i is stage i
    int stage = 0, stages = 1;
    int micro_batches = 1;  // per optimizer step (train.grad_accum)
    int micro_batch = 1;    // samples per micro-batch
    int64_t seq_len = 0, d_model = 0;
    float loss_grad_scale = 0;    // 1 / global tokens; applied on the last stage only
    bool overwrite_grads = true;  // micro-batch 0's backward overwrites the gradients
  };
  struct Hooks {
    // Fills the tokens and targets of micro-batch `micro` (seq_len x micro_batch each).
    std::function<void(int micro, int32_t* inputs, int32_t* targets)> load;
    // Called just before micro-batch `micro`'s backward.
    std::function<void(int micro)> before_backward;
  };

  Pipeline(model::GPT* model, const Options& o, Hooks hooks);
  ~Pipeline();  // waits for pending sends: they must not outlive their buffers
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Every micro-batch of one step, forward and backward. Adds this stage's summed token
  // loss (non-zero on the last stage only) to *loss_sum and the seconds spent waiting for
  // activations and gradients to *wait_s.
  Status Run(double* loss_sum, double* wait_s);

 private:
  bool first_stage() const { return o_.stage == 0; }
  bool last_stage() const { return o_.stage == o_.stages - 1; }
  Status WaitRecv(const comm::WorkPtr& w, const char* what, int micro, double* wait_s);
  Status Forward(int micro, int slot, double* loss_sum, double* wait_s);
  Status Backward(int micro, int slot, double* wait_s);

  model::GPT* model_;
  Options o_;
  Hooks hooks_;
  size_t act_count_ = 0;                     // floats of one micro-batch's activation
  std::vector<model::ActivationsPtr> acts_;  // one per slot
  std::vector<int32_t> inputs_, targets_;
  Buffer recv_act_, recv_grad_;
  std::vector<Buffer> dinput_;                      // per slot (non-first stages)
  std::vector<comm::WorkPtr> fwd_send_, bwd_send_;  // per slot
};

}  // namespace ogai::train
