#include "core/knobs.h"

#include <cstdio>
#include <cstdlib>

#include "core/check.h"

namespace ogai {

const std::vector<Knob>& Knobs() {
  using T = KnobType;
  static const std::vector<Knob> knobs = {
      // Diagnostics.
      {"OGAI_LOG_LEVEL", T::kString, "warn", "log level: error|warn|info|debug (over -v)"},
      {"OGAI_RUN_TRACE", T::kString, "", "ogai-run appends one JSON line per launcher event to this file"},
      // Kernels.
      {"OGAI_GEMM", T::kString, "onednn-panels", "GEMM backend: onednn-panels|onednn|openblas"},
      // Communication: the progress engine, UCX algorithms, intra-node shared memory.
      {"OGAI_COMM_WAKE_BYTES", T::kInt, "1048576", "ops of at least this many bytes wake the progress thread at once"},
      {"OGAI_UCX_RD_MAX_BYTES", T::kSize, "64k", "all-reduce uses recursive doubling up to this size, the ring above"},
      {"OGAI_UCX_SEGMENT_BYTES", T::kSize, "256k", "pipeline segment of ring and chain (at least 4096)"},
      {"OGAI_UCX_WINDOW", T::kSize, "4", "receives in flight per pipeline (at least 1)"},
      {"OGAI_UCX_BCAST_CHAIN_MIN_BYTES", T::kSize, "256k",
       "broadcast switches from the tree to the chain at this size"},
      {"OGAI_UCX_SHM", T::kFlag, "1", "0: ranks on one node talk through UCX messages, not shared memory"},
      {"OGAI_COMM_FLAT", T::kFlag, "0",
       "1: groups that span nodes reduce over every rank (ring), not by the fold chain across nodes"},
      {"OGAI_UCX_SHM_SLOT_BYTES", T::kSize, "128k", "shared-memory chunk size (rounded up to pages)"},
      {"OGAI_UCX_SHM_DEPTH", T::kInt, "8", "shared-memory chunks in flight per rank (2..64)"},
      {"OGAI_UCX_SHM_DIRECT_MAX_BYTES", T::kSize, "64k",
       "shared-memory all-reduce: every rank reduces all of it up to this size, 1/n of it above"},
      {"OGAI_UCX_SHM_SPIN_US", T::kInt, "1000 (5 oversubscribed)",
       "microseconds a waiting rank spins before it sleeps"},
      {"OGAI_UCX_SHM_BG_SPIN_US", T::kInt, "20 (2 oversubscribed)", "the same for background (overlapped) ops"},
      {"OGAI_UCX_SHM_YIELD_US", T::kInt, "0 (1000 oversubscribed)",
       "microseconds a waiting rank yields its core between polls"},
      // Checkpoints.
      {"OGAI_CKPT_CHUNK_KB", T::kInt, "4096", "checksum chunk of checkpoint shards in KiB (4..1048576)"},
      {"OGAI_CKPT_DIRECT_IO", T::kFlag, "1", "0: write checkpoint shards through the page cache instead of O_DIRECT"},
      {"OGAI_CKPT_LOW_PRIORITY", T::kFlag, "0",
       "1: async checkpoint writes at nice 10 and the lowest best-effort I/O level (slow on a busy machine)"},
      // The store server (docs/security.md).
      {"OGAI_STORE_MAX_CONNECTIONS", T::kInt, "4096", "connections a store server keeps open; more are closed at once"},
      {"OGAI_STORE_MAX_PENDING", T::kInt, "64",
       "unauthenticated store connections; a new one beyond it closes the oldest"},
      {"OGAI_STORE_AUTH_TIMEOUT_MS", T::kInt, "5000", "a store connection not authenticated by then is closed"},
      // The model registry (ogai-model).
      {"OGAI_REGISTRY", T::kString, "~/.ogai/registry", "the model registry's root folder (ogai-model --root wins)"},
      // ogai-run's ssh agents.
      {"OGAI_SSH", T::kString, "ssh", "the ssh client ogai-run starts remote agents with"},
      {"OGAI_SSH_OPTS", T::kString, "", "options for it, split on spaces, before the host"},
      {"OGAI_RUN_STORE_FILE", T::kString, "",
       "ogai-run writes its job store's address, port and token here (0600) once the store runs"},
      // The scheduler's CLI (docs/scheduler.md).
      {"OGAI_SCHED", T::kString, "unix:/var/lib/ogai-sched/sched.sock", "ogai: the scheduler's address"},
      {"OGAI_SCHED_TOKEN", T::kString, "", "ogai: the caller's token (a tenant's or the admin's)"},
      {"OGAI_SCHED_CA", T::kString, "", "ogai: a PEM CA certificate; talk TLS to a daemon started with --listen-cert"},
      // Tests.
      {"OGAI_TEST_KEEP", T::kFlag, "0", "tests: keep the recovery tests' job folders"},
      {"OGAI_REGISTRY_TEST_DELAY_MS", T::kInt, "0",
       "tests: ogai-model register sleeps this long after each blob, 10x inside its transaction"},
      {"OGAI_TEST_SSH_CONFIG", T::kString, "", "tests: ssh_config of the test sshd (scripts/testenv/sshd.sh)"},
      {"OGAI_TEST_NETNS", T::kString, "", "tests: folder of the namespace cluster (scripts/testenv/netns.sh)"},
      {"OGAI_TEST_NETNS_WHY", T::kString, "", "tests: why scripts/test.sh could not start the namespace cluster"},
  };
  return knobs;
}

namespace {

const char* TypeName(KnobType t) {
  switch (t) {
    case KnobType::kString: return "string";
    case KnobType::kInt: return "int";
    case KnobType::kSize: return "size";
    case KnobType::kFlag: return "flag";
  }
  return "?";
}

// The table's entry for `name`; a name not in the table is a bug.
const Knob& Find(std::string_view name) {
  for (const auto& k : Knobs())
    if (name == k.name) return k;
  internal::CheckFailed(__FILE__, __LINE__, "unknown environment knob " + std::string(name) + " (add it to Knobs())");
}

// The raw value when set and not empty, after checking the knob's type.
const char* Raw(std::string_view name, std::optional<KnobType> type) {
  const Knob& k = Find(name);
  if (type) OGAI_CHECK_EQ(TypeName(k.type), std::string(TypeName(*type)));
  const char* v = std::getenv(k.name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

}  // namespace

std::string KnobHelp() {
  std::string out;
  for (const auto& k : Knobs()) {
    char line[512];
    std::snprintf(line, sizeof(line), "  %-31s %-7s %-24s %s\n", k.name, TypeName(k.type), k.default_text, k.doc);
    out += line;
  }
  return out;
}

std::optional<std::string> KnobText(std::string_view name) {
  const char* v = Raw(name, std::nullopt);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::optional<int64_t> KnobInt(std::string_view name) {
  const char* v = Raw(name, KnobType::kInt);
  if (v == nullptr) return std::nullopt;
  return std::strtoll(v, nullptr, 10);
}

std::optional<uint64_t> KnobSize(std::string_view name) {
  const char* v = Raw(name, KnobType::kSize);
  if (v == nullptr) return std::nullopt;
  char* end = nullptr;
  unsigned long long x = std::strtoull(v, &end, 10);
  if (end != nullptr && (*end == 'k' || *end == 'K')) x <<= 10;
  if (end != nullptr && (*end == 'm' || *end == 'M')) x <<= 20;
  return static_cast<uint64_t>(x);
}

bool KnobFlag(std::string_view name, bool unset) {
  const char* v = Raw(name, KnobType::kFlag);
  if (v == nullptr) return unset;
  return std::string_view(v) != "0";
}

}  // namespace ogai
