// ShmComm::AllReduce: the two forms of all-reduce through shared memory (see shm_comm.h for
// the segment, the slots and the waits).
//
// Direct (messages up to ShmTuning::direct_max_bytes): each rank copies its chunk into its
// input slot and folds every rank's slot into its output. One synchronisation per chunk,
// but every rank does the whole reduction, and reads and writes the chunk twice.
//
// Split (larger messages): a reduce-scatter and an all-gather through the slots. The chunk
// is cut into n parts, part q owned by rank q. Each rank copies only the parts other ranks
// own into its input slot; folds its own part from the peers' slots and its own input
// buffer (no copy of its own part) into its output, and from there, while the piece is in
// L1, into its result slot; then copies the other parts from their owners' result slots.
// Per rank and chunk of B bytes with two ranks: B/2 copied in, B/2 reduced, B/2 copied out,
// where the direct form copies B in and reduces B; the data crossing between cores is the
// same (B).
//
// Both forms fold element i in rank order, x_0 (+) x_1 (+) ..., so they give the same bits,
// on every rank; the split form's all-gather copies the owner's bits.
#include <algorithm>
#include <cstring>

#include "comm/reduce.h"
#include "comm/shm/shm_comm.h"

namespace ogai::comm::shm {

Status ShmComm::AllReduce(const detail::OpContext& ctx, const void* in, void* out, size_t count, DataType dtype,
                          ReduceOp op) {
  if (count == 0) return Status::Ok();
  const char* src = static_cast<const char*>(in);
  char* dst = static_cast<char*>(out);
  if (count * DataTypeSize(dtype) <= tuning_.direct_max_bytes) return AllReduceDirect(ctx, src, dst, count, dtype, op);
  return AllReduceSplit(ctx, src, dst, count, dtype, op);
}

Status ShmComm::AllReduceDirect(const detail::OpContext& ctx, const char* src, char* dst, size_t count, DataType dtype,
                                ReduceOp op) {
  const size_t es = DataTypeSize(dtype);
  const size_t chunk = tuning_.slot_bytes / es;
  for (size_t lo = 0; lo < count; lo += chunk) {
    const size_t len = std::min(chunk, count - lo);
    const size_t bytes = len * es;
    const uint32_t g = next_chunk_++;
    OGAI_RETURN_IF_ERROR(SlotFree(g, ctx));
    std::memcpy(InData(rank_, g, bytes), src + lo * es, bytes);
    Post(g);
    OGAI_RETURN_IF_ERROR(WaitAllPosted(g, ctx));
    ReduceSlots(dst + lo * es, g, bytes, 0, len, dtype, op);
    Finish(g);
  }
  return Status::Ok();
}

Status ShmComm::AllReduceSplit(const detail::OpContext& ctx, const char* src, char* dst, size_t count, DataType dtype,
                               ReduceOp op) {
  const size_t es = DataTypeSize(dtype);
  const size_t chunk = tuning_.slot_bytes / es;
  const size_t n = static_cast<size_t>(size_);
  const size_t r = static_cast<size_t>(rank_);
  // Parts start on cache-line boundaries (the last one ends at len).
  const size_t align = std::max<size_t>(1, 64 / es);
  auto part = [&](size_t q, size_t len) { return q >= n ? len : len * q / n / align * align; };
  for (size_t lo = 0; lo < count; lo += chunk) {
    const size_t len = std::min(chunk, count - lo);
    const size_t bytes = len * es;
    const uint32_t g = next_chunk_++;
    OGAI_RETURN_IF_ERROR(SlotFree(g, ctx));
    // The other ranks' parts of our input (before an in-place output overwrites them).
    char* slot = InData(rank_, g, bytes);
    const size_t mlo = part(r, len), mhi = part(r + 1, len);
    if (mlo > 0) std::memcpy(slot, src + lo * es, mlo * es);
    if (mhi < len) std::memcpy(slot + mhi * es, src + (lo + mhi) * es, (len - mhi) * es);
    Post(g);
    OGAI_RETURN_IF_ERROR(WaitAllPosted(g, ctx));
    if (mhi > mlo) {
      ReduceSlots(dst + (lo + mlo) * es, g, bytes, mlo * es, mhi - mlo, dtype, op, src + (lo + mlo) * es,
                  ResSlot(rank_, g) + mlo * es);
    }
    Publish(kReduced, g + 1);
    OGAI_RETURN_IF_ERROR(WaitAll(kReduced, g + 1, ctx));
    for (size_t q = 0; q < n; ++q) {
      const size_t a = part(q, len), b = part(q + 1, len);
      if (q != r && b > a) std::memcpy(dst + (lo + a) * es, ResSlot(static_cast<int>(q), g) + a * es, (b - a) * es);
    }
    Publish(kConsumed, g + 1);
  }
  return Status::Ok();
}

}  // namespace ogai::comm::shm
