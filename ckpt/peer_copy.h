// Peer copies: checkpoint shard files kept in memory outside the rank processes, so that a
// group restarted after a failure loads its state from memory instead of the file system
// (checkpoint.peer_copies; docs/recovery.md).
//
// Where. Under ogai-run with checkpoint.peer_copies > 0 every node's agent
//   * creates a folder on a tmpfs (OGAI_SHARD_DIR, /dev/shm/ogai-shards.<run>.<agent>): the
//     node-local copies, written and read by the ranks of that node with plain file calls
//     (memory, not disk; it outlives the ranks and is removed with the job);
//   * serves a shard cache: a BlobServer (store/blob_server.h) in the agent's own memory, which
//     holds the copies other nodes' ranks push to it (OGAI_SHARD_CACHES: "host:port,..." by
//     node rank of the round). It is the store's data channel: the same job token and
//     handshake as the store, but a shard's bytes travel raw on the socket, straight from the
//     rank's shard file (sendfile) into the one buffer that keeps them (the store, which
//     carried them inside its messages with a MAC over every byte, managed 20-60 MB/s).
// Agents outlive ranks: a restart replaces every rank process but keeps the agents of the
// nodes that survived, so the copies are still there when the new group starts.
//
// Push. After a checkpoint is committed (CheckpointWriter's on_committed, on the writer's
// thread) each rank stores its shard file, byte for byte, in its node's folder (for its own
// node's ranks: mapped, no network), in its node's cache (for the ranks of a node that
// replaces a lost one) and in the caches of the next `copies` nodes (node+1, ... modulo the
// node count). A single lost node therefore leaves a copy of every shard in memory that the
// others can reach: its own ranks' shards on its neighbour, the others' on their own nodes.
//
// Slots: one per shard file name, replaced by each push, so memory is bounded by (2 + copies)
// shards per rank over the job.
//   folder: <file>   a 64-byte header (magic "OGAIPEER", step, bytes, CRC-32C of the file)
//                    then the file; written to a temp name and renamed (atomic). Read back
//                    by mapping it: no copy before the reader's own (which checks every
//                    chunk's CRC-32C against the manifest, as for files on disk).
//   cache:  a value named <file>, with its step, size and CRC-32C. A push drops the previous
//           value (an older step's) and the cache serves the new one only once its bytes
//           match that CRC: a value is whole or absent, never half of one push and half of
//           another.
//
// Fetch. On resume, a rank asks for the files its read plan touches at the step it resumes:
// its node's folder first, then its node's cache, then the other caches. It gets those found
// at that step with the manifest's size and a matching CRC; the reader takes the rest from
// disk.
//
// Failures. Every connection and transfer is bounded (push_timeout, fetch_connect_timeout;
// a transfer that makes no progress for push_timeout gives up): a dead or silent cache costs
// a push one warning line and at most that long, and is left out of the pushes of the next
// minute; the checkpoint on disk is complete anyway.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/reader.h"
#include "core/status.h"

namespace ogai::store {
class BlobClient;
}

namespace ogai::ckpt {

class PeerCopies {
 public:
  struct Options {
    std::vector<std::string> caches;  // "host:port" by node rank; "" for a node without one
    int node = 0;                     // this rank's node rank
    int copies = 1;                   // other nodes that hold a copy of each shard
    std::string local_dir;            // this node's folder of copies ("" when none)
    std::string token;                // the job's store token (the caches use it too)
    // A push gives up on a cache it cannot connect to within this, or whose transfer makes
    // no progress for this long.
    std::chrono::milliseconds push_timeout{5000};
    std::chrono::milliseconds fetch_connect_timeout{500};
  };
  struct PushStats {
    int64_t step = 0;
    int64_t bytes = 0;
    int places = 0;  // that now hold it: this node's folder, caches
    double seconds = 0;
  };
  struct FetchStats {
    int files = 0;        // found in memory
    int local_files = 0;  // of which in this node's folder
    int64_t bytes = 0;
    double seconds = 0;
  };

  // Parses a list like OGAI_SHARD_CACHES ("host:port,host:port"); errors name the entry.
  static Result<std::vector<std::string>> ParseCacheList(const std::string& list);
  static Result<std::unique_ptr<PeerCopies>> Create(const Options& opts);
  ~PeerCopies();

  // The node ranks whose caches a push goes to: this node, then the next `copies` nodes.
  std::vector<int> Targets() const;
  // Stores the shard file at `path`, written for `step`, in every target cache. Fails only
  // when no cache took it; a cache that did not is logged.
  Result<PushStats> Push(int64_t step, const std::string& path);
  // `files`: (name as the manifest lists it, size in bytes). Returns those found at `step`
  // in some cache, intact. Unreachable caches and missing copies are not errors.
  ShardBytes Fetch(int64_t step, const std::vector<std::pair<std::string, uint64_t>>& files, FetchStats* stats);

 private:
  explicit PeerCopies(Options o);
  Result<store::BlobClient*> PushConn(int node, bool* reused);
  void DropConn(int node);
  void PushToAll(const std::vector<int>& nodes, const std::string& name, int64_t step, int file_fd, size_t size,
                 uint32_t crc, std::vector<Status>* results, std::vector<bool>* reused);
  Status WriteLocal(const std::string& name, int64_t step, const char* data, size_t size, uint32_t crc);
  std::optional<ShardView> MapLocal(const std::string& name, int64_t step, uint64_t size);
  std::chrono::steady_clock::time_point SkipUntil(int node);
  Result<PushStats> PushHere(int64_t step, const std::string& path);

  static constexpr int kPushNice = 10;
  // A cache a push failed on is left out of the pushes of the next kRetryAfter: a dead or
  // silent node costs one warning and one timeout, not one per checkpoint.
  static constexpr std::chrono::seconds kRetryAfter{60};

  Options opts_;
  std::mutex mu_;
  std::map<int, std::chrono::steady_clock::time_point> skip_until_;
  std::map<int, std::unique_ptr<store::BlobClient>> conns_;  // kept from one push to the next
};

}  // namespace ogai::ckpt
