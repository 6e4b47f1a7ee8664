// The on-disk layout of checkpoints (docs/checkpoints.md is the reference for other tools):
//
//   DIR/latest                         "step_00000100\n": the newest committed checkpoint
//   DIR/step_00000100/manifest.pb      ManifestFile (proto/ckpt.proto); present = committed
//   DIR/step_00000100/rank_00000.shard 64-byte header, then the pieces' raw bytes
//
// Shard header, version 1 (little-endian):
//   bytes  0..7   magic "OGAICKSH"
//   bytes  8..11  uint32 format version (1)
//   bytes 12..15  int32 rank that wrote it
//   bytes 16..23  int64 step
//   bytes 24..27  uint32 CRC-32C of bytes 0..23
//   bytes 28..63  zero
//
// Everything that publishes a file (manifest, latest) writes a temp name, fsyncs it, renames
// it over the final name and fsyncs the directory, so a crash leaves the old or the new
// file, never a torn one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "core/status.h"
#include "proto/ckpt.pb.h"

namespace ogai::ckpt {

constexpr char kShardMagic[8] = {'O', 'G', 'A', 'I', 'C', 'K', 'S', 'H'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kShardHeaderBytes = 64;
constexpr const char* kManifestName = "manifest.pb";
constexpr const char* kLatestName = "latest";

std::string StepDirName(int64_t step);          // "step_00000100"
std::string ShardFileName(int rank);            // "rank_00000.shard"
bool IsShardFileName(const std::string& name);  // a name ShardFileName makes (no path)
// The step of "step_00000100" (or of a path ending in it); -1 when it is not one.
int64_t ParseStepDirName(const std::string& name);

struct ShardHeader {
  int32_t rank = 0;
  int64_t step = 0;
};
void EncodeShardHeader(const ShardHeader& h, uint8_t out[kShardHeaderBytes]);
// Checks magic, version and CRC; `path` names the file in errors.
Status DecodeShardHeader(const uint8_t* in, size_t n, const std::string& path, ShardHeader* h);

// Writes `manifest` as STEP_DIR/manifest.pb atomically: this is the commit point.
Status WriteManifest(const std::string& step_dir, const pb::Manifest& manifest);
// Reads and checks STEP_DIR/manifest.pb (envelope CRC, version, parse).
Result<pb::Manifest> ReadManifest(const std::string& step_dir);
// Points DIR/latest at step_dir_name atomically.
Status WriteLatest(const std::string& dir, const std::string& step_dir_name);
// The step directory name DIR/latest holds (NotFound when there is none).
Result<std::string> ReadLatest(const std::string& dir);

struct CheckpointEntry {
  int64_t step = 0;
  std::string path;        // DIR/step_NNNNNNNN
  bool committed = false;  // has a manifest.pb
  int64_t bytes = 0;       // of every file in it
};
// Every step_* directory in DIR, by ascending step. A missing DIR is an empty list.
Result<std::vector<CheckpointEntry>> ListCheckpoints(const std::string& dir);

// Removes a checkpoint directory so that a crash half-way leaves it uncommitted, never a
// manifest without its shards: the manifest goes first (and the directory is fsynced).
Status RemoveCheckpoint(const std::string& step_dir);

// Small POSIX helpers shared by the writer and the reader.
Status FsyncPath(const std::string& path);  // a file or a directory
// Reads exactly n bytes at `offset`; a short read is Corruption ("truncated").
Status PreadExact(int fd, void* data, size_t n, uint64_t offset, const std::string& path);
Status MakeDirs(const std::string& path);
std::string JoinPath(const std::string& a, const std::string& b);

}  // namespace ogai::ckpt
