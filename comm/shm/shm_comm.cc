#include "comm/shm/shm_comm.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

#include "comm/reduce.h"
#include "core/knobs.h"
#include "core/shm_segment.h"

namespace ogai::comm::shm {

using detail::Clock;

namespace {

constexpr uint64_t kMagic = 0x6f6761692d73686dull;  // "ogai-shm"
constexpr uint32_t kVersion = 2;                    // 2: result slots for every group size
constexpr size_t kPage = 4096;

struct alignas(64) Line {
  std::atomic<uint32_t> v{0};
};
static_assert(std::atomic<uint32_t>::is_always_lock_free, "futex words must be plain 32-bit words");
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));

// Counter a has reached b (wrap-around safe).
inline bool Reached(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) >= 0; }

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

long Futex(std::atomic<uint32_t>* word, int op, uint32_t val, const timespec* ts) {
  // Not FUTEX_PRIVATE_FLAG: the word lives in memory shared between processes.
  return ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, val, ts, nullptr, 0);
}

int UsableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::clamp<long>(sysconf(_SC_NPROCESSORS_ONLN), 1, 4096));
}

size_t RoundUp(size_t v, size_t a) { return (v + a - 1) / a * a; }

}  // namespace

struct ShmComm::Header {
  uint64_t magic;
  uint32_t version, size, slot_bytes, depth;
  Line ctr[2];    // reduced, consumed: written by the owner only
  Line sleepers;  // peers sleeping on one of this segment's words (they add themselves)
};
static_assert(sizeof(ShmComm::Header) <= kPage);

// The first cache line of every input slot; the chunk's data follows at +64, or sits in
// `tiny` when it fits.
constexpr size_t kTinyBytes = 56;
struct ShmComm::SlotHead {
  alignas(64) std::atomic<uint32_t> seq;  // g + 1 once chunk g is in the slot
  uint32_t consumed;                      // the owner's `consumed` when it posted (= g)
  char tiny[kTinyBytes];
};

ShmTuning ShmTuning::FromEnv(int group_size, int local_world_size) {
  ShmTuning t;
  t.slot_bytes = RoundUp(std::max<size_t>(kPage, KnobSize("OGAI_UCX_SHM_SLOT_BYTES").value_or(t.slot_bytes)), kPage);
  t.depth = std::clamp(static_cast<int>(KnobInt("OGAI_UCX_SHM_DEPTH").value_or(t.depth)), 2, 64);
  t.direct_max_bytes = KnobSize("OGAI_UCX_SHM_DIRECT_MAX_BYTES").value_or(t.direct_max_bytes);
  // A rank that has a core of its own spins a while before it sleeps: the peer is running
  // and answers within a microsecond or two, while waking a sleeper costs tens of
  // microseconds in a VM (and if the spin is shorter than that, both sides end up sleeping
  // on every operation). On an oversubscribed node the peer we wait for may need our core,
  // so we sleep almost at once. A background operation spins briefly: the caller computes.
  const bool oversubscribed = std::max(group_size, local_world_size) > UsableCores();
  t.spin = std::chrono::microseconds(KnobInt("OGAI_UCX_SHM_SPIN_US").value_or(oversubscribed ? 5 : 1000));
  t.bg_spin = std::chrono::microseconds(KnobInt("OGAI_UCX_SHM_BG_SPIN_US").value_or(oversubscribed ? 2 : 20));
  t.yield = std::chrono::microseconds(KnobInt("OGAI_UCX_SHM_YIELD_US").value_or(oversubscribed ? 1000 : 0));
  return t;
}

std::string HostKey() {
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  std::string boot;
  std::ifstream("/proc/sys/kernel/random/boot_id") >> boot;
  // The network namespace too: two namespaces of one kernel are two nodes to ogai (the
  // test cluster of scripts/testenv/netns.sh), whose ranks must talk over the network.
  char netns[128] = {};
  ssize_t n = ::readlink("/proc/self/ns/net", netns, sizeof(netns) - 1);
  if (n < 0) n = 0;
  return std::string(host) + "/" + boot + "/" + std::string(netns, static_cast<size_t>(n));
}

Result<std::unique_ptr<ShmComm>> ShmComm::Create(int rank, int size, const ShmTuning& tuning) {
  std::unique_ptr<ShmComm> c(new ShmComm(rank, size, tuning));
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  c->name_ = ShmSegmentName(::getpid(), counter.fetch_add(1), rd());
  // Per slot: its head line, then slot_bytes of data; then depth result slots (the split
  // all-reduce, shm_allreduce.cc).
  c->slot_stride_ = tuning.slot_bytes + 64;
  const size_t depth = static_cast<size_t>(tuning.depth);
  c->seg_bytes_ = kPage + depth * c->slot_stride_ + depth * tuning.slot_bytes;
  int fd = ::shm_open(c->name_.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return ErrnoError("shm_open(" + c->name_ + ")", errno);
  c->linked_ = true;
  if (::ftruncate(fd, static_cast<off_t>(c->seg_bytes_)) != 0) {
    int e = errno;
    ::close(fd);
    return ErrnoError("ftruncate of shared memory segment " + c->name_, e);
  }
  // Reserve the pages now: a full /dev/shm must fail here, not with SIGBUS later.
  if (int e = ::posix_fallocate(fd, 0, static_cast<off_t>(c->seg_bytes_)); e != 0) {
    ::close(fd);
    return ErrnoError("reserving " + std::to_string(c->seg_bytes_) + " bytes of /dev/shm for " + c->name_, e);
  }
  void* p = ::mmap(nullptr, c->seg_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int e = errno;
  ::close(fd);
  if (p == MAP_FAILED) return ErrnoError("mmap of " + c->name_, e);
  c->base_.assign(static_cast<size_t>(size), nullptr);
  c->hdr_.assign(static_cast<size_t>(size), nullptr);
  c->seen_consumed_.assign(static_cast<size_t>(size), 0);
  c->base_[static_cast<size_t>(rank)] = static_cast<char*>(p);
  auto* h = new (p) Header();
  h->version = kVersion;
  h->size = static_cast<uint32_t>(size);
  h->slot_bytes = static_cast<uint32_t>(tuning.slot_bytes);
  h->depth = static_cast<uint32_t>(tuning.depth);
  std::atomic_thread_fence(std::memory_order_release);
  h->magic = kMagic;
  c->hdr_[static_cast<size_t>(rank)] = h;
  return c;
}

Status ShmComm::Attach(const std::vector<std::string>& names) {
  if (names.size() != static_cast<size_t>(size_)) return Internal("shm: wrong number of segment names");
  for (int q = 0; q < size_; ++q) {
    if (q == rank_) continue;
    const std::string& nm = names[static_cast<size_t>(q)];
    int fd = ::shm_open(nm.c_str(), O_RDWR, 0);
    if (fd < 0) return ErrnoError("shm_open of rank " + std::to_string(q) + "'s segment " + nm, errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) != seg_bytes_) {
      ::close(fd);
      return Unavailable("shm: rank " + std::to_string(q) + "'s segment " + nm +
                         " has another size (different OGAI_UCX_SHM_* settings?)");
    }
    void* p = ::mmap(nullptr, seg_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = errno;
    ::close(fd);
    if (p == MAP_FAILED) return ErrnoError("mmap of rank " + std::to_string(q) + "'s segment", e);
    base_[static_cast<size_t>(q)] = static_cast<char*>(p);
    auto* h = static_cast<Header*>(p);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (h->magic != kMagic || h->version != kVersion || h->size != static_cast<uint32_t>(size_) ||
        h->slot_bytes != tuning_.slot_bytes || h->depth != static_cast<uint32_t>(tuning_.depth)) {
      return Unavailable("shm: rank " + std::to_string(q) + "'s segment " + nm +
                         " does not match (different OGAI_UCX_SHM_* settings?)");
    }
    hdr_[static_cast<size_t>(q)] = h;
  }
  return Status::Ok();
}

void ShmComm::Unlink() {
  if (!linked_) return;
  ::shm_unlink(name_.c_str());
  linked_ = false;
}

ShmComm::~ShmComm() {
  Unlink();
  for (char* b : base_) {
    if (b != nullptr) ::munmap(b, seg_bytes_);
  }
}

ShmComm::SlotHead* ShmComm::Head(int q, uint32_t g) const {
  static_assert(sizeof(SlotHead) == 64);
  const size_t s = g % static_cast<uint32_t>(tuning_.depth);
  return reinterpret_cast<SlotHead*>(base_[static_cast<size_t>(q)] + kPage + s * slot_stride_);
}

char* ShmComm::InData(int q, uint32_t g, size_t bytes) const {
  SlotHead* h = Head(q, g);
  return bytes <= kTinyBytes ? h->tiny : reinterpret_cast<char*>(h) + 64;
}

char* ShmComm::ResSlot(int q, uint32_t g) const {
  const size_t s = g % static_cast<uint32_t>(tuning_.depth);
  return base_[static_cast<size_t>(q)] + kPage + static_cast<size_t>(tuning_.depth) * slot_stride_ +
         s * tuning_.slot_bytes;
}

namespace {
// Store + wake: pairs with the sleeper's fetch_add + load in WaitWord (both seq_cst, so one
// of the two sees the other).
inline void StoreAndWake(std::atomic<uint32_t>* word, uint32_t value, const std::atomic<uint32_t>& sleepers) {
  word->store(value, std::memory_order_seq_cst);
  if (sleepers.load(std::memory_order_seq_cst) != 0) Futex(word, FUTEX_WAKE, INT_MAX, nullptr);
}
}  // namespace

void ShmComm::Post(uint32_t g) {
  SlotHead* h = Head(rank_, g);
  // Every chunk before g is finished here; telling the readers in the line they read anyway
  // spares them a look at our `consumed` line before they reuse a slot.
  h->consumed = g;
  StoreAndWake(&h->seq, g + 1, hdr_[static_cast<size_t>(rank_)]->sleepers.v);
}

void ShmComm::Publish(Field f, uint32_t value) {
  Header* h = hdr_[static_cast<size_t>(rank_)];
  StoreAndWake(&h->ctr[f].v, value, h->sleepers.v);
}

void ShmComm::Finish(uint32_t g) {
  // Nobody can be waiting for `reduced` of this chunk in the one-phase forms.
  hdr_[static_cast<size_t>(rank_)]->ctr[kReduced].v.store(g + 1, std::memory_order_release);
  Publish(kConsumed, g + 1);
}

Status ShmComm::WaitWord(int q, std::atomic<uint32_t>* word, uint32_t target, const detail::OpContext& ctx) {
  if (Reached(word->load(std::memory_order_acquire), target)) return Status::Ok();
  const bool hot = ctx.hot();
  const auto spin = hot ? tuning_.spin : tuning_.bg_spin;
  if (spin.count() > 0) {
    const auto until = Clock::now() + spin;
    for (unsigned i = 1;; ++i) {
      CpuRelax();
      if (Reached(word->load(std::memory_order_acquire), target)) return Status::Ok();
      if ((i & 63) == 0 && Clock::now() >= until) break;
    }
  }
  if (hot && tuning_.yield.count() > 0) {
    const auto until = Clock::now() + tuning_.yield;
    do {
      ::sched_yield();
      if (Reached(word->load(std::memory_order_acquire), target)) return Status::Ok();
    } while (Clock::now() < until && !ctx.aborted());
  }
  std::atomic<uint32_t>& sleepers = hdr_[static_cast<size_t>(q)]->sleepers.v;
  auto last_hook = Clock::now();
  for (;;) {
    if (ctx.aborted()) return Aborted("aborted");
    const auto now = Clock::now();
    if (now >= ctx.deadline()) return Timeout("timed out waiting for rank " + std::to_string(q));
    sleepers.fetch_add(1, std::memory_order_seq_cst);
    const uint32_t v = word->load(std::memory_order_seq_cst);
    if (!Reached(v, target)) {
      // Sleep in slices, to notice an abort and to answer probes.
      auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(ctx.deadline() - now);
      left = std::min<std::chrono::nanoseconds>(left, std::chrono::milliseconds(10));
      timespec ts{static_cast<time_t>(left.count() / 1000000000), static_cast<long>(left.count() % 1000000000)};
      Futex(word, FUTEX_WAIT, v, &ts);
    }
    sleepers.fetch_sub(1, std::memory_order_release);
    if (Reached(word->load(std::memory_order_acquire), target)) return Status::Ok();
    if (idle_hook_ && Clock::now() - last_hook >= std::chrono::milliseconds(10)) {
      idle_hook_();
      last_hook = Clock::now();
    }
  }
}

Status ShmComm::WaitPosted(int q, uint32_t g, const detail::OpContext& ctx) {
  SlotHead* h = Head(q, g);
  OGAI_RETURN_IF_ERROR(WaitWord(q, &h->seq, g + 1, ctx));
  // (q cannot reuse this slot before we have consumed chunk g, so the field is chunk g's.)
  uint32_t& seen = seen_consumed_[static_cast<size_t>(q)];
  if (Reached(h->consumed, seen)) seen = h->consumed;
  return Status::Ok();
}

Status ShmComm::WaitAllPosted(uint32_t g, const detail::OpContext& ctx) {
  for (int q = 0; q < size_; ++q) {
    if (q != rank_) OGAI_RETURN_IF_ERROR(WaitPosted(q, g, ctx));
  }
  return Status::Ok();
}

Status ShmComm::WaitAll(Field f, uint32_t target, const detail::OpContext& ctx) {
  for (int q = 0; q < size_; ++q) {
    if (q != rank_) OGAI_RETURN_IF_ERROR(WaitWord(q, &hdr_[static_cast<size_t>(q)]->ctr[f].v, target, ctx));
  }
  return Status::Ok();
}

Status ShmComm::SlotFree(uint32_t g, const detail::OpContext& ctx) {
  // Usually long true: look at the value seen last time before touching the peer's line
  // (which it writes every chunk).
  const uint32_t target = g + 1 - static_cast<uint32_t>(tuning_.depth);
  for (int q = 0; q < size_; ++q) {
    if (q == rank_ || Reached(seen_consumed_[static_cast<size_t>(q)], target)) continue;
    std::atomic<uint32_t>* w = &hdr_[static_cast<size_t>(q)]->ctr[kConsumed].v;
    OGAI_RETURN_IF_ERROR(WaitWord(q, w, target, ctx));
    seen_consumed_[static_cast<size_t>(q)] = w->load(std::memory_order_acquire);
  }
  return Status::Ok();
}

void ShmComm::ReduceSlots(char* dst, uint32_t g, size_t chunk_bytes, size_t byte_off, size_t len, DataType dtype,
                          ReduceOp op, const char* own, char* copy) const {
  const size_t es = DataTypeSize(dtype);
  // Pieces small enough that dst stays in L1 while the other ranks' slots are folded in.
  constexpr size_t kPieceBytes = 8u << 10;
  const size_t piece = std::max<size_t>(1, kPieceBytes / es);
  alignas(64) char saved[kPieceBytes];
  auto src = [&](int q) { return q == rank_ && own != nullptr ? own : InData(q, g, chunk_bytes) + byte_off; };
  for (size_t i = 0; i < len; i += piece) {
    const size_t m = std::min(piece, len - i);
    const size_t off = i * es;
    char* d = dst + off;
    // In place, our own input is overwritten by the first fold: keep it if it comes later.
    const char* mine = src(rank_) + off;
    if (mine == d && rank_ >= 2) {
      std::memcpy(saved, mine, m * es);
      mine = saved;
    }
    auto from = [&](int q) { return q == rank_ ? mine : src(q) + off; };
    Reduce(d, from(0), from(1), m, dtype, op);
    for (int q = 2; q < size_; ++q) Reduce(d, d, from(q), m, dtype, op);
    if (op == ReduceOp::kAvg) DivideInPlace(d, m, dtype, size_);
    if (copy != nullptr) std::memcpy(copy + off, d, m * es);  // still in L1
  }
}

Status ShmComm::ReduceScatter(const detail::OpContext& ctx, const void* in, void* out, size_t count, DataType dtype,
                              ReduceOp op) {
  const size_t es = DataTypeSize(dtype);
  const char* src = static_cast<const char*>(in);
  char* dst = static_cast<char*>(out);
  const size_t n = static_cast<size_t>(size_);
  // A chunk holds the same element range of every rank's block.
  const size_t chunk = std::max<size_t>(1, tuning_.slot_bytes / (es * n));
  for (size_t lo = 0; lo < count; lo += chunk) {
    const size_t len = std::min(chunk, count - lo);
    const size_t bytes = n * len * es;
    const uint32_t g = next_chunk_++;
    OGAI_RETURN_IF_ERROR(SlotFree(g, ctx));
    char* slot = InData(rank_, g, bytes);
    for (size_t b = 0; b < n; ++b) std::memcpy(slot + b * len * es, src + (b * count + lo) * es, len * es);
    Post(g);
    OGAI_RETURN_IF_ERROR(WaitAllPosted(g, ctx));
    // In place (out is our block of in): only slots are read, so writing out is safe.
    ReduceSlots(dst + lo * es, g, bytes, static_cast<size_t>(rank_) * len * es, len, dtype, op);
    Finish(g);
  }
  return Status::Ok();
}

Status ShmComm::AllGather(const detail::OpContext& ctx, const void* in, void* out, size_t count, DataType dtype) {
  const size_t es = DataTypeSize(dtype);
  const char* src = static_cast<const char*>(in);
  char* dst = static_cast<char*>(out);
  const bool in_place = src == dst + static_cast<size_t>(rank_) * count * es;
  const size_t chunk = tuning_.slot_bytes / es;
  for (size_t lo = 0; lo < count; lo += chunk) {
    const size_t len = std::min(chunk, count - lo);
    const size_t bytes = len * es;
    const uint32_t g = next_chunk_++;
    OGAI_RETURN_IF_ERROR(SlotFree(g, ctx));
    std::memcpy(InData(rank_, g, bytes), src + lo * es, bytes);
    Post(g);
    for (int q = 0; q < size_; ++q) {
      char* d = dst + (static_cast<size_t>(q) * count + lo) * es;
      if (q != rank_) {
        OGAI_RETURN_IF_ERROR(WaitPosted(q, g, ctx));
        std::memcpy(d, InData(q, g, bytes), bytes);
      } else if (!in_place) {
        std::memcpy(d, src + lo * es, bytes);
      }
    }
    Finish(g);
  }
  return Status::Ok();
}

Status ShmComm::Broadcast(const detail::OpContext& ctx, void* buf, size_t count, DataType dtype, int root) {
  const size_t es = DataTypeSize(dtype);
  char* p = static_cast<char*>(buf);
  const size_t chunk = tuning_.slot_bytes / es;
  for (size_t lo = 0; lo < count; lo += chunk) {
    const size_t len = std::min(chunk, count - lo);
    const size_t bytes = len * es;
    const uint32_t g = next_chunk_++;
    if (rank_ == root) {
      OGAI_RETURN_IF_ERROR(SlotFree(g, ctx));
      std::memcpy(InData(rank_, g, bytes), p + lo * es, bytes);
      Post(g);
    } else {
      OGAI_RETURN_IF_ERROR(WaitPosted(root, g, ctx));
      std::memcpy(p + lo * es, InData(root, g, bytes), bytes);
    }
    Finish(g);
  }
  return Status::Ok();
}

Status ShmComm::Barrier(const detail::OpContext& ctx) {
  const uint32_t g = next_chunk_++;
  OGAI_RETURN_IF_ERROR(SlotFree(g, ctx));
  Post(g);
  OGAI_RETURN_IF_ERROR(WaitAllPosted(g, ctx));
  Finish(g);
  return Status::Ok();
}

}  // namespace ogai::comm::shm
