// The heartbeat table: one shared-memory file per node and round, one 64-byte slot per local
// rank. The agent creates and reads it; each rank maps it and writes its own slot.
//
// Slot layout (little-endian, naturally aligned, lock-free 64-bit atomics):
//   offset 0  uint64 magic   kHeartbeatMagic once the rank has reported at least once
//   offset 8  uint64 count   number of Report() calls (what the agent watches for change)
//   offset 16 int64  step    the last step reported
//   offset 24 uint64 pid     the reporting process
// The file starts with a 64-byte header (magic, slot count) followed by the slots.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace ogai::launch {

inline constexpr uint64_t kHeartbeatMagic = 0x3142485f4941474full;  // "OGAI_HB1"

struct HeartbeatSample {
  bool armed = false;  // the rank has reported at least once
  uint64_t count = 0;
  int64_t step = 0;
  uint64_t pid = 0;
};

// Agent side: creates (truncates) the file with `slots` zeroed slots and maps it.
class HeartbeatTable {
 public:
  static Result<std::unique_ptr<HeartbeatTable>> Create(const std::string& path, int slots);
  ~HeartbeatTable();
  HeartbeatSample Read(int slot) const;
  // Zeroes every slot (before a new round reuses the file).
  void Reset();
  const std::string& path() const { return path_; }
  int slots() const { return slots_; }

 private:
  HeartbeatTable() = default;
  std::string path_;
  int slots_ = 0;
  void* base_ = nullptr;
  size_t size_ = 0;
};

// Rank side: maps the file and writes one slot.
class HeartbeatSlotWriter {
 public:
  static Result<std::unique_ptr<HeartbeatSlotWriter>> Open(const std::string& path, int slot);
  ~HeartbeatSlotWriter();
  void Write(int64_t step);

 private:
  HeartbeatSlotWriter() = default;
  void* base_ = nullptr;
  size_t size_ = 0;
  void* slot_ = nullptr;
  uint64_t count_ = 0;
};

}  // namespace ogai::launch
