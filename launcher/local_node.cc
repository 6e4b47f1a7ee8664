#include "launcher/local_node.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/log.h"
#include "launcher/guard.h"
#include "launcher/pmix_server.h"
#include "launcher/process.h"
#include "launcher/store_channel.h"
#include "rank/contract.h"
#include "store/blob_server.h"
#include "store/store.h"

namespace ogai::launch {
namespace {

// A folder of this job in /dev/shm (a tmpfs): "/dev/shm/<prefix>.XXXXXX", else
// <tmpdir>/<prefix>. mkdtemp makes it exclusively (never an entry someone placed there first),
// owner-only (0700), with a random name (not the run id, which shows in /tmp names). Used for
// the in-memory copies of the ranks' latest checkpoint shards (checkpoint.peer_copies) and for
// Open MPI's shared-memory segments of the ranks (vader_segment.*), which ranks killed before
// MPI_Finalize would otherwise leave in /dev/shm.
Result<std::string> CreateShmDir(const std::string& prefix, const std::string& tmpdir) {
  struct stat st {};
  if (::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && ::access("/dev/shm", W_OK) == 0) {
    std::string templ = "/dev/shm/" + prefix + ".XXXXXX";
    if (::mkdtemp(templ.data()) != nullptr) return templ;
    OGAI_LOG(Warn) << "cannot create a folder in /dev/shm (" << std::strerror(errno) << "); using " << tmpdir;
  }
  const std::string dir = tmpdir + "/" + prefix;
  if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoError("creating the folder " + dir, errno);
  return dir;
}

Result<std::string> CreateTempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = (tmp != nullptr && *tmp) ? tmp : "/tmp";
  std::string templ = base + "/" + prefix + ".XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    return ErrnoError("creating a temp folder under " + base + " (set TMPDIR?)", errno);
  }
  return std::string(buf.data());
}

// Removes what is inside `dir` (not `dir`).
void ClearFolder(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) std::filesystem::remove_all(e.path(), ec);
}

}  // namespace

Result<std::unique_ptr<LocalNode>> LocalNode::Prepare(const LocalNodeOptions& opts) {
  std::unique_ptr<LocalNode> n(new LocalNode());
  n->opts_ = opts;
  OGAI_ASSIGN_OR_RETURN(n->tmpdir_, CreateTempDir(opts.tmp_prefix));
  if (opts.agent_id >= 0) {
    if (opts.shard_cache) {
      OGAI_ASSIGN_OR_RETURN(n->shard_dir_, CreateShmDir("ogai-shards", n->tmpdir_));
    }
    OGAI_ASSIGN_OR_RETURN(n->mpi_shm_dir_, CreateShmDir("ogai-mpi", n->tmpdir_));
    const std::string marker =
        std::string(kEnvAgentId) + "=" + AgentMarkerValue(opts.run_id, opts.agent_id, ::getpid());
    OGAI_ASSIGN_OR_RETURN(n->guard_, OrphanGuard::Start(marker, n->tmpdir_, {n->shard_dir_, n->mpi_shm_dir_}));
  }
  OGAI_RETURN_IF_ERROR(BecomeSubreaper());
  sigset_t handled;
  sigemptyset(&handled);
  for (int sig : opts.signals) sigaddset(&handled, sig);
  ::sigprocmask(SIG_BLOCK, &handled, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  n->signal_fd_ = ::signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);
  if (n->signal_fd_ < 0) return ErrnoError("signalfd", errno);
  return n;
}

Status LocalNode::Start(EventLoop& loop, std::shared_ptr<store::Store> store, bool pmix, NodeRunner::Callbacks cb,
                        const std::string& cache_bind, const std::string& cache_host, const std::string& token) {
  if (opts_.agent_id < 0) return Internal("LocalNode::Start on a node that runs no ranks");
  if (pmix) {
    OGAI_ASSIGN_OR_RETURN(pmix_, PmixServer::Start(tmpdir_));
    fence_ = std::make_unique<StoreFence>(std::move(store), 0);
    StoreFence* f = fence_.get();
    pmix_->SetCrossNodeFence([f](const std::string& id, const std::vector<int>& nodes, std::string local,
                                 PmixServer::FenceDone done) { f->Run(id, nodes, std::move(local), std::move(done)); });
  }
  runner_ = std::make_unique<NodeRunner>(loop, pmix_.get(), guard_.get(), std::move(cb));
  if (pmix_) {
    // An abort a rank asks for through PMIx reaches the runner on the loop's thread.
    NodeRunner* runner = runner_.get();
    EventLoop* lp = &loop;
    pmix_->SetAbortHandler([runner, lp](int rank, int status, const std::string& msg) {
      lp->Post([runner, rank, status, msg] { runner->NoteAbort(rank, status, msg); });
    });
  }
  if (opts_.shard_cache) {
    // This node's shard cache (docs/recovery.md): ranks of this and other nodes keep their
    // latest checkpoint shard here, in memory that outlives them.
    auto server = store::BlobServer::Start(cache_bind, 0, token);
    if (!server.ok()) {
      return server.status().WithContext("starting this node's shard cache on " + cache_bind);
    }
    cache_ = std::move(server).value();
    cache_addr_ = cache_host + ":" + std::to_string(cache_->port());
  }
  return Status::Ok();
}

std::optional<RankFailure> LocalNode::StartRound(const JobSpec& spec, const RoundPlan& plan, const std::string& token) {
  const int id = opts_.agent_id;
  NodeRound r;
  r.run_id = spec.run_id;
  r.round = plan.round;
  r.max_restarts = spec.max_restarts;
  r.agent_id = id;
  r.agent_pid = ::getpid();  // the same process whose guard Prepare started
  r.node_rank = plan.NodeOf(id);
  r.host = spec.agent_hosts[static_cast<size_t>(id)];
  r.hosts = plan.hosts;
  r.node_ranks = plan.node_ranks;
  r.argv = spec.argv;
  r.env = RankBaseEnv(OwnEnvironment(), spec.env);
  // Run where the launcher runs when that folder exists here too, like mpirun.
  r.cwd = ::access(spec.cwd.c_str(), X_OK) == 0 ? spec.cwd : std::string();
  r.master_addr = spec.master_addr;
  r.master_port = spec.master_port;
  r.token = token;
  r.output = spec.output;
  r.heartbeat_timeout = spec.heartbeat_timeout;
  r.grace = spec.grace;
  r.bind_cores = spec.bind_cores;
  r.oversubscribe = spec.oversubscribe;
  r.pmix = spec.pmix;
  r.tmpdir = tmpdir_;
  r.elastic = spec.elastic;
  if (spec.shard_cache) r.caches = plan.caches;
  r.shard_dir = shard_dir_;
  r.mpi_shm_dir = mpi_shm_dir_;
  // The segments of an earlier round's ranks (all gone by now) go before new ones come.
  ClearFolder(mpi_shm_dir_);
  if (fence_) fence_->SetNode(r.node_rank);
  Status st = runner_->Start(r);
  if (st.ok()) return std::nullopt;
  RankFailure f;
  f.kind = RankFailure::Kind::kSpawnFailed;
  f.node_rank = r.node_rank;
  f.host = r.host;
  f.detail = st.message();
  return f;
}

void LocalNode::StopRanks() {
  fence_.reset();
  runner_.reset();
}

LocalNode::~LocalNode() {
  StopRanks();
  cache_.reset();
  pmix_.reset();
  if (guard_) guard_->Dismiss();
  std::error_code ec;
  if (!tmpdir_.empty()) std::filesystem::remove_all(tmpdir_, ec);
  if (!shard_dir_.empty()) std::filesystem::remove_all(shard_dir_, ec);
  if (!mpi_shm_dir_.empty()) std::filesystem::remove_all(mpi_shm_dir_, ec);
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

}  // namespace ogai::launch
