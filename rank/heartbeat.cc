#include "rank/heartbeat.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace ogai::launch {
namespace {

constexpr uint64_t kFileMagic = 0x4c4241545f424847ull;  // "GHB_TABL"

struct alignas(64) Header {
  uint64_t magic;
  uint64_t slots;
};

struct alignas(64) Slot {
  uint64_t magic;
  uint64_t count;
  int64_t step;
  uint64_t pid;
};
static_assert(sizeof(Slot) == 64 && sizeof(Header) == 64);
static_assert(std::atomic_ref<uint64_t>::is_always_lock_free);

size_t FileSize(int slots) { return sizeof(Header) + sizeof(Slot) * static_cast<size_t>(slots); }

Slot* SlotAt(void* base, int i) { return reinterpret_cast<Slot*>(static_cast<char*>(base) + sizeof(Header)) + i; }

}  // namespace

Result<std::unique_ptr<HeartbeatTable>> HeartbeatTable::Create(const std::string& path, int slots) {
  if (slots <= 0) return InvalidArgument("heartbeat table needs at least one slot");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("creating heartbeat file " + path, errno);
  size_t size = FileSize(slots);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int e = errno;
    ::close(fd);
    return ErrnoError("sizing heartbeat file " + path, e);
  }
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int e = errno;
  ::close(fd);
  if (base == MAP_FAILED) return ErrnoError("mapping heartbeat file " + path, e);
  auto* h = static_cast<Header*>(base);
  h->slots = static_cast<uint64_t>(slots);
  std::atomic_ref<uint64_t>(h->magic).store(kFileMagic, std::memory_order_release);
  std::unique_ptr<HeartbeatTable> t(new HeartbeatTable());
  t->path_ = path;
  t->slots_ = slots;
  t->base_ = base;
  t->size_ = size;
  return t;
}

HeartbeatTable::~HeartbeatTable() {
  if (base_ != nullptr) ::munmap(base_, size_);
}

HeartbeatSample HeartbeatTable::Read(int slot) const {
  HeartbeatSample s;
  if (slot < 0 || slot >= slots_) return s;
  Slot* p = SlotAt(base_, slot);
  s.armed = std::atomic_ref<uint64_t>(p->magic).load(std::memory_order_acquire) == kHeartbeatMagic;
  s.count = std::atomic_ref<uint64_t>(p->count).load(std::memory_order_acquire);
  s.step = std::atomic_ref<int64_t>(p->step).load(std::memory_order_relaxed);
  s.pid = std::atomic_ref<uint64_t>(p->pid).load(std::memory_order_relaxed);
  return s;
}

void HeartbeatTable::Reset() {
  for (int i = 0; i < slots_; ++i) {
    Slot* p = SlotAt(base_, i);
    std::atomic_ref<uint64_t>(p->magic).store(0, std::memory_order_relaxed);
    std::atomic_ref<uint64_t>(p->count).store(0, std::memory_order_relaxed);
    std::atomic_ref<int64_t>(p->step).store(0, std::memory_order_relaxed);
    std::atomic_ref<uint64_t>(p->pid).store(0, std::memory_order_release);
  }
}

Result<std::unique_ptr<HeartbeatSlotWriter>> HeartbeatSlotWriter::Open(const std::string& path, int slot) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening heartbeat file " + path + " (OGAI_HEARTBEAT_FILE)", errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return ErrnoError("stat " + path, e);
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size < sizeof(Header)) {
    ::close(fd);
    return Corruption("heartbeat file " + path + " is too short to be one (" + std::to_string(size) + " bytes)");
  }
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int e = errno;
  ::close(fd);
  if (base == MAP_FAILED) return ErrnoError("mapping heartbeat file " + path, e);
  auto* h = static_cast<Header*>(base);
  uint64_t magic = std::atomic_ref<uint64_t>(h->magic).load(std::memory_order_acquire);
  if (magic != kFileMagic || FileSize(static_cast<int>(h->slots)) > size) {
    ::munmap(base, size);
    return Corruption("heartbeat file " + path + " has no valid header");
  }
  if (slot < 0 || static_cast<uint64_t>(slot) >= h->slots) {
    uint64_t n = h->slots;
    ::munmap(base, size);
    return InvalidArgument("OGAI_HEARTBEAT_SLOT=" + std::to_string(slot) + " is outside the " + std::to_string(n) +
                           " slots of " + path);
  }
  std::unique_ptr<HeartbeatSlotWriter> w(new HeartbeatSlotWriter());
  w->base_ = base;
  w->size_ = size;
  w->slot_ = SlotAt(base, slot);
  return w;
}

HeartbeatSlotWriter::~HeartbeatSlotWriter() {
  if (base_ != nullptr) ::munmap(base_, size_);
}

void HeartbeatSlotWriter::Write(int64_t step) {
  auto* p = static_cast<Slot*>(slot_);
  std::atomic_ref<int64_t>(p->step).store(step, std::memory_order_relaxed);
  if (count_ == 0) {
    std::atomic_ref<uint64_t>(p->pid).store(static_cast<uint64_t>(::getpid()), std::memory_order_relaxed);
    std::atomic_ref<uint64_t>(p->magic).store(kHeartbeatMagic, std::memory_order_release);
  }
  std::atomic_ref<uint64_t>(p->count).store(++count_, std::memory_order_release);
}

}  // namespace ogai::launch
