// Barrier: dissemination. Round k: send to r + 2^k, receive from r - 2^k (mod n);
// ceil(log2 n) rounds of empty messages. Nobody leaves before everybody arrived.
#include "comm/ucx/algorithms.h"

namespace ogai::comm::ucx {

Status Barrier(const CollArgs& a) {
  UcxTransport& t = *a.t;
  const auto& ctx = *a.ctx;
  const int n = t.size(), r = t.rank();
  uint64_t round = 0;
  for (int dist = 1; dist < n; dist <<= 1, ++round) {
    const int to = (r + dist) % n, from = (r - dist + n) % n;
    char token_out = 1, token_in = 0;
    Req rq[2];
    OGAI_RETURN_IF_ERROR(t.Irecv(from, CollTag(from, ctx.seq, round), &token_in, 1, &rq[0]));
    OGAI_RETURN_IF_ERROR(t.Isend(to, CollTag(r, ctx.seq, round), &token_out, 1, &rq[1]));
    OGAI_RETURN_IF_ERROR(t.WaitAll(rq, 2, ctx, "barrier"));
  }
  return Status::Ok();
}

}  // namespace ogai::comm::ucx
