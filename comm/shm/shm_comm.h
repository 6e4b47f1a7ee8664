// ShmComm: collectives through shared memory between the processes of one node (used by the
// ucx backend when every member of a group runs on the same host). Internal to comm/.
//
// Each rank owns one POSIX shared-memory segment: a header with three counters and a ring of
// `depth` input slots and `depth` result slots of `slot_bytes` each. Peers map every other
// member's segment. An operation cuts its data into chunks of at most one slot; chunk g of
// the group's running chunk count uses slot g % depth, and for every chunk each rank
//
//   1. waits until every peer has finished reading its slot from chunk g - depth
//      (their `consumed` counter), copies its input into its slot, and posts it (the
//      slot's sequence word = g + 1; tiny payloads share that cache line);
//   2. waits for every peer's post, and reduces straight out of the peers' slots
//      (no message, no second copy); publishes `reduced` / `consumed` as it goes.
//
// Waiting is spin-then-sleep: a short spin (a peer on another core answers within a
// microsecond), then FUTEX_WAIT on the peer's counter word in the shared mapping, so a
// blocked rank costs no CPU (this matters on an oversubscribed node and for a background
// all-reduce while the caller computes). The writer issues FUTEX_WAKE only when a sleeper
// registered itself in its header.
//
// Determinism: element i of a reduction is always ((x_0 (+) x_1) (+) x_2) ... in rank
// order, on every rank, whatever the algorithm variant or timing.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "comm/progress_engine.h"
#include "comm/types.h"
#include "core/status.h"

namespace ogai::comm::shm {

struct ShmTuning {
  size_t slot_bytes = 128 << 10;  // one chunk; OGAI_UCX_SHM_SLOT_BYTES
  int depth = 8;                  // chunks in flight per rank; OGAI_UCX_SHM_DEPTH
  // All-reduce: every rank reduces the whole chunk (one synchronisation per chunk) up to
  // this message size; above it each rank reduces 1/n of the chunk and copies the other
  // parts from their owners (two synchronisations, 1/n of the reduction work, less copying;
  // shm_allreduce.cc). OGAI_UCX_SHM_DIRECT_MAX_BYTES.
  size_t direct_max_bytes = 64 << 10;
  // How long a wait spins before it sleeps on the futex: `spin` when somebody waits for the
  // operation (OGAI_UCX_SHM_SPIN_US), `bg_spin` when it runs in the background while the
  // caller computes (OGAI_UCX_SHM_BG_SPIN_US). Defaults depend on whether the node has a
  // core per rank (see FromEnv).
  std::chrono::microseconds spin{0};
  std::chrono::microseconds bg_spin{0};
  // After the spin, a waiter somebody waits for yields its core this long before it sleeps
  // (OGAI_UCX_SHM_YIELD_US): on an oversubscribed node the rank we wait for is likely
  // runnable on our core, and a yield hands over in a few microseconds where a futex
  // wake-up takes tens.
  std::chrono::microseconds yield{0};
  // local_world_size: the job's processes on this node, as the caller was told by the
  // launcher (0: unknown); the group's own size counts as a lower bound.
  static ShmTuning FromEnv(int group_size, int local_world_size);
};

// "hostname/boot id": ranks with equal keys can share memory.
std::string HostKey();

class ShmComm {
 public:
  // Creates this rank's segment; peers attach to it by segment_name().
  static Result<std::unique_ptr<ShmComm>> Create(int rank, int size, const ShmTuning& tuning);
  ~ShmComm();
  ShmComm(const ShmComm&) = delete;
  ShmComm& operator=(const ShmComm&) = delete;

  const std::string& segment_name() const { return name_; }
  // Maps every peer's segment (names[i] is rank i's segment_name()).
  Status Attach(const std::vector<std::string>& names);
  // Removes this rank's segment name once every peer has attached (the memory lives on
  // until the last process unmaps it). Also done by the destructor.
  void Unlink();
  // Called about every 10 ms while a wait sleeps (the backend answers probes there).
  void SetIdleHook(std::function<void()> hook) { idle_hook_ = std::move(hook); }

  // Blocking collectives. On deadline or abort they return kTimeout / kAborted with a short
  // message; the caller replaces it with its diagnosis.
  Status AllReduce(const detail::OpContext& ctx, const void* in, void* out, size_t count, DataType dtype, ReduceOp op);
  Status ReduceScatter(const detail::OpContext& ctx, const void* in, void* out, size_t count, DataType dtype,
                       ReduceOp op);
  Status AllGather(const detail::OpContext& ctx, const void* in, void* out, size_t count, DataType dtype);
  Status Broadcast(const detail::OpContext& ctx, void* buf, size_t count, DataType dtype, int root);
  Status Barrier(const detail::OpContext& ctx);

  struct Header;

 private:
  enum Field { kReduced = 0, kConsumed = 1 };
  struct SlotHead;

  ShmComm(int rank, int size, const ShmTuning& t) : rank_(rank), size_(size), tuning_(t) {}
  SlotHead* Head(int q, uint32_t g) const;
  // Where chunk g's `bytes` of data sit in rank q's input slot: payloads that fit go in the
  // slot's first cache line with its sequence word (one line transfer for flag and data).
  char* InData(int q, uint32_t g, size_t bytes) const;
  char* ResSlot(int q, uint32_t g) const;
  // Posts chunk g (the input slot is filled).
  void Post(uint32_t g);
  void Publish(Field f, uint32_t value);
  // Waits until *word (in rank q's segment) reaches target.
  Status WaitWord(int q, std::atomic<uint32_t>* word, uint32_t target, const detail::OpContext& ctx);
  Status WaitPosted(int q, uint32_t g, const detail::OpContext& ctx);
  Status WaitAllPosted(uint32_t g, const detail::OpContext& ctx);
  Status WaitAll(Field f, uint32_t target, const detail::OpContext& ctx);
  // Starts chunk g: waits until every peer finished reading this rank's slot from chunk
  // g - depth.
  Status SlotFree(uint32_t g, const detail::OpContext& ctx);
  // dst[0, len) = x_0 (+) x_1 (+) ... over every rank's input data of chunk g (chunk_bytes
  // long), starting `byte_off` into it; divided by the group size for kAvg. `own`: where this
  // rank's input for dst[0, len) is, when not in its slot (may be dst itself). `copy`: also
  // written there (from L1, piece by piece).
  void ReduceSlots(char* dst, uint32_t g, size_t chunk_bytes, size_t byte_off, size_t len, DataType dtype, ReduceOp op,
                   const char* own = nullptr, char* copy = nullptr) const;
  // The two all-reduce forms (shm_allreduce.cc); count > 0.
  Status AllReduceDirect(const detail::OpContext& ctx, const char* src, char* dst, size_t count, DataType dtype,
                         ReduceOp op);
  Status AllReduceSplit(const detail::OpContext& ctx, const char* src, char* dst, size_t count, DataType dtype,
                        ReduceOp op);
  void Finish(uint32_t g);  // publishes reduced and consumed = g + 1

  int rank_, size_;
  ShmTuning tuning_;
  std::string name_;
  bool linked_ = false;
  size_t seg_bytes_ = 0;
  size_t slot_stride_ = 0;
  std::vector<char*> base_;  // every rank's mapping (own included)
  std::vector<Header*> hdr_;
  std::vector<uint32_t> seen_consumed_;  // last value read of each peer's `consumed`
  uint32_t next_chunk_ = 0;              // the group's running chunk count (same on every rank)
  std::function<void()> idle_hook_;
};

}  // namespace ogai::comm::shm
