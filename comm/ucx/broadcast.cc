// Broadcast: binomial tree for small buffers (ceil(log2 n) rounds), a pipelined chain
// root -> root+1 -> ... for large ones (each segment is forwarded as soon as it arrives).
#include <poll.h>

#include <algorithm>

#include "comm/ucx/algorithms.h"

namespace ogai::comm::ucx {

static Status Binomial(const CollArgs& a, char* buf, size_t bytes, int root) {
  UcxTransport& t = *a.t;
  const auto& ctx = *a.ctx;
  const int n = t.size(), r = t.rank();
  const int vr = (r - root + n) % n;
  // Receive from the parent (vr minus its lowest set bit), then send to children.
  int mask = 1;
  while (mask < n) {
    if (vr & mask) {
      int parent = ((vr - mask) + root) % n;
      Req rv;
      OGAI_RETURN_IF_ERROR(t.Irecv(parent, CollTag(parent, ctx.seq, 0), buf, bytes, &rv));
      OGAI_RETURN_IF_ERROR(t.WaitAll(&rv, 1, ctx, "broadcast"));
      break;
    }
    mask <<= 1;
  }
  mask >>= 1;
  std::vector<Req> sends;
  sends.reserve(32);
  for (; mask > 0; mask >>= 1) {
    if (vr + mask < n) {
      int child = (vr + mask + root) % n;
      sends.emplace_back();
      OGAI_RETURN_IF_ERROR(t.Isend(child, CollTag(r, ctx.seq, 0), buf, bytes, &sends.back()));
    }
  }
  return t.WaitAll(sends.data(), sends.size(), ctx, "broadcast");
}

static Status Chain(const CollArgs& a, char* buf, size_t bytes, int root) {
  UcxTransport& t = *a.t;
  const auto& ctx = *a.ctx;
  const int n = t.size(), r = t.rank();
  const int vr = (r - root + n) % n;
  const int prev = (r - 1 + n) % n, next = (r + 1) % n;
  size_t seg = std::max<size_t>(a.tuning->segment_bytes, (bytes >> 20) + 1);
  const size_t nseg = (bytes + seg - 1) / seg;
  std::vector<Req> sends;
  sends.reserve(nseg);
  auto seg_len = [&](size_t k) { return std::min(seg, bytes - k * seg); };
  if (vr == 0) {
    for (size_t k = 0; k < nseg; ++k) {
      sends.emplace_back();
      OGAI_RETURN_IF_ERROR(t.Isend(next, CollTag(r, ctx.seq, k), buf + k * seg, seg_len(k), &sends.back()));
    }
    return t.WaitAll(sends.data(), sends.size(), ctx, "broadcast");
  }
  const size_t window = static_cast<size_t>(std::max(1, a.tuning->window));
  std::vector<Req> recvs(nseg);
  size_t posted = 0;
  for (size_t k = 0; k < nseg; ++k) {
    while (posted < nseg && posted < k + window) {
      OGAI_RETURN_IF_ERROR(
          t.Irecv(prev, CollTag(prev, ctx.seq, posted), buf + posted * seg, seg_len(posted), &recvs[posted]));
      ++posted;
    }
    OGAI_RETURN_IF_ERROR(t.WaitAll(&recvs[k], 1, ctx, "broadcast"));
    if (vr + 1 < n) {
      sends.emplace_back();
      OGAI_RETURN_IF_ERROR(t.Isend(next, CollTag(r, ctx.seq, k), buf + k * seg, seg_len(k), &sends.back()));
    }
  }
  return t.WaitAll(sends.data(), sends.size(), ctx, "broadcast");
}

Status Broadcast(const CollArgs& a, void* buf, size_t count, DataType dtype, int root) {
  const size_t bytes = count * DataTypeSize(dtype);
  if (bytes == 0 || a.t->size() == 1) return Status::Ok();
  if (bytes >= a.tuning->bcast_chain_min_bytes) return Chain(a, static_cast<char*>(buf), bytes, root);
  return Binomial(a, static_cast<char*>(buf), bytes, root);
}

}  // namespace ogai::comm::ucx
