// Pipelined ring: reduce-scatter steps, then all-gather steps, every block cut into
// segments that flow around the ring independently.
//
// Rank r, n ranks, left = r-1, right = r+1 (mod n). Global step g:
//   reduce-scatter (g < R):  send block (r-1-g), receive block (r-2-g), add own input;
//                            after n-1 steps rank r holds block r fully reduced.
//   all-gather (s = g-R):    send block (r-s), receive block (r-s-1) into place.
// The data sent at step g is exactly the data received at step g-1, so segment k of step
// g+1 is sent as soon as segment k of step g has arrived (and been reduced). Receives are
// completed in order; reduce-scatter receives land in a window of scratch slots.
//
// Reduction order: block b is combined along the ring starting at rank b+1, the same way
// on every run, and the all-gather copies the owner's bits to everybody.
#include <poll.h>

#include <algorithm>
#include <cstring>

#include "comm/reduce.h"
#include "comm/ucx/algorithms.h"

namespace ogai::comm::ucx {

namespace {
inline int Mod(long v, int n) { return static_cast<int>(((v % n) + n) % n); }
}  // namespace

Status RunRing(const CollArgs& a, const RingPlan& p) {
  UcxTransport& t = *a.t;
  const detail::OpContext& ctx = *a.ctx;
  const int n = t.size(), r = t.rank();
  const int left = Mod(r - 1, n), right = Mod(r + 1, n);
  const size_t es = DataTypeSize(p.dtype);
  const int G = p.rs_steps + p.ag_steps;
  if (G == 0) return Status::Ok();

  size_t max_block = 0;
  for (size_t c : p.block_cnt) max_block = std::max(max_block, c);
  if (max_block == 0) return Status::Ok();
  size_t seg = std::max<size_t>(1, a.tuning->segment_bytes / es);
  // Keep message indices within the tag's 20 bits.
  const size_t max_msgs = (1u << 20) / static_cast<size_t>(G);
  if ((max_block + seg - 1) / seg > max_msgs) seg = (max_block + max_msgs - 1) / max_msgs;
  const size_t kmax = (max_block + seg - 1) / seg;
  const int window = std::max(1, a.tuning->window);

  auto send_block = [&](int g) { return g < p.rs_steps ? Mod(r - 1 - g, n) : Mod(r - (g - p.rs_steps), n); };
  auto recv_block = [&](int g) { return g < p.rs_steps ? Mod(r - 2 - g, n) : Mod(r - (g - p.rs_steps) - 1, n); };
  auto seg_count = [&](int blk, size_t k) -> size_t {
    size_t c = p.block_cnt[static_cast<size_t>(blk)];
    size_t lo = k * seg;
    return lo >= c ? 0 : std::min(seg, c - lo);
  };
  // Where block blk's data lives for sending at step g.
  auto send_ptr = [&](int g, int blk, size_t k) -> const char* {
    size_t off = (p.block_off[static_cast<size_t>(blk)] + k * seg) * es;
    if (g == 0 && p.rs_steps > 0) return p.in + off;
    return p.work + off;
  };

  // The messages this rank receives, in order: (g, k) for non-empty segments.
  struct Msg {
    int g;
    size_t k;
  };
  std::vector<Msg> msgs;
  for (int g = 0; g < G; ++g) {
    int blk = recv_block(g);
    for (size_t k = 0; k < kmax; ++k) {
      if (seg_count(blk, k) > 0) msgs.push_back({g, k});
    }
  }
  char* tmp = p.rs_steps > 0 ? a.ring_tmp->Get(static_cast<size_t>(window) * seg * es) : nullptr;

  std::vector<Req> recvs(msgs.size());
  std::vector<Req> sends;
  sends.reserve(msgs.size() + kmax);
  auto post_send = [&](int g, size_t k) -> Status {
    int blk = send_block(g);
    size_t c = seg_count(blk, k);
    if (c == 0) return Status::Ok();
    sends.emplace_back();
    return t.Isend(right, CollTag(r, ctx.seq, static_cast<uint64_t>(g) * kmax + k), send_ptr(g, blk, k), c * es,
                   &sends.back());
  };
  for (size_t k = 0; k < kmax; ++k) OGAI_RETURN_IF_ERROR(post_send(0, k));

  size_t posted = 0, completed = 0, sends_checked = 0;
  int idle = 0;
  while (completed < msgs.size()) {
    while (posted < msgs.size() && posted < completed + static_cast<size_t>(window)) {
      const Msg& m = msgs[posted];
      int blk = recv_block(m.g);
      size_t c = seg_count(blk, m.k);
      char* dst = m.g < p.rs_steps ? tmp + (posted % static_cast<size_t>(window)) * seg * es
                                   : p.work + (p.block_off[static_cast<size_t>(blk)] + m.k * seg) * es;
      OGAI_RETURN_IF_ERROR(
          t.Irecv(left, CollTag(left, ctx.seq, static_cast<uint64_t>(m.g) * kmax + m.k), dst, c * es, &recvs[posted]));
      ++posted;
    }
    Req& head = recvs[completed];
    if (!t.Check(&head)) {
      // Drain finished sends so UCP can reuse their requests.
      while (sends_checked < sends.size() && t.Check(&sends[sends_checked])) ++sends_checked;
      t.Progress();
      if (ctx.aborted() || detail::Clock::now() >= ctx.deadline()) {
        for (size_t i = completed; i < posted; ++i) t.Cancel(&recvs[i]);
        for (size_t i = sends_checked; i < sends.size(); ++i) t.Cancel(&sends[i]);
        return t.FailOp(ctx, p.op_name);
      }
      t.IdleBackoff(ctx, &idle);
      continue;
    }
    idle = 0;
    if (head.status != UCS_OK) {
      return UcsError(std::string(p.op_name) + ": receive from rank " + std::to_string(left) + " failed", head.status);
    }
    const Msg m = msgs[completed];
    const int blk = recv_block(m.g);
    const size_t c = seg_count(blk, m.k);
    if (m.g < p.rs_steps) {
      const size_t off = (p.block_off[static_cast<size_t>(blk)] + m.k * seg) * es;
      const char* src = tmp + (completed % static_cast<size_t>(window)) * seg * es;
      const bool last_rs = m.g == p.rs_steps - 1;
      char* dst = p.work + off;
      if (last_rs && p.owned_out != nullptr) dst = p.owned_out + m.k * seg * es;
      Reduce(dst, src, p.in + off, c, p.dtype, p.op);
      if (last_rs && p.op == ReduceOp::kAvg) DivideInPlace(dst, c, p.dtype, n);
    }
    ++completed;
    if (m.g + 1 < G) OGAI_RETURN_IF_ERROR(post_send(m.g + 1, m.k));
  }
  return t.WaitAll(sends.data() + sends_checked, sends.size() - sends_checked, ctx, p.op_name);
}

}  // namespace ogai::comm::ucx
