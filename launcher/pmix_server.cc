#include "launcher/pmix_server.h"

#include <pmix.h>
#include <pmix_server.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

namespace ogai::launch {

int PmixJob::world_size() const {
  int n = 0;
  for (const auto& r : node_ranks) n += static_cast<int>(r.size());
  return n;
}

struct PmixServer::Impl {
  std::mutex mu;
  CrossNodeFence fence_fn;
  AbortHandler abort_fn;
  std::map<std::string, PmixJob> jobs;
  std::map<std::string, int> fence_seq;
};

namespace {

PmixServer::Impl* g_impl = nullptr;  // the PMIx library is a process-wide singleton

// Blocks the caller until a PMIx op callback fires.
struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  pmix_status_t status = PMIX_SUCCESS;
  static void Callback(pmix_status_t st, void* cbdata) {
    auto* w = static_cast<Waiter*>(cbdata);
    std::lock_guard<std::mutex> lk(w->mu);
    w->status = st;
    w->done = true;
    w->cv.notify_all();
  }
  pmix_status_t Wait() {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return done; });
    return status;
  }
};

std::string PmixError(pmix_status_t st) {
  const char* s = PMIx_Error_string(st);
  return std::string(s != nullptr ? s : "unknown") + " (" + std::to_string(st) + ")";
}

void ReleaseBuffer(void* cbdata) { std::free(cbdata); }

void CompleteFence(pmix_modex_cbfunc_t cbfunc, void* cbdata, bool ok, const std::string& data) {
  char* buf = static_cast<char*>(std::malloc(data.size() + 1));
  if (buf == nullptr) {
    cbfunc(PMIX_ERR_NOMEM, nullptr, 0, cbdata, nullptr, nullptr);
    return;
  }
  std::memcpy(buf, data.data(), data.size());
  cbfunc(ok ? PMIX_SUCCESS : PMIX_ERROR, buf, data.size(), cbdata, ReleaseBuffer, buf);
}

pmix_status_t OnClientConnected(const pmix_proc_t*, void*, pmix_op_cbfunc_t, void*) { return PMIX_OPERATION_SUCCEEDED; }

pmix_status_t OnClientFinalized(const pmix_proc_t*, void*, pmix_op_cbfunc_t, void*) { return PMIX_OPERATION_SUCCEEDED; }

pmix_status_t OnAbort(const pmix_proc_t* proc, void*, int status, const char msg[], pmix_proc_t[], size_t,
                      pmix_op_cbfunc_t, void*) {
  PmixServer::AbortHandler fn;
  {
    std::lock_guard<std::mutex> lk(g_impl->mu);
    fn = g_impl->abort_fn;
  }
  if (fn) fn(static_cast<int>(proc->rank), status, msg != nullptr ? msg : "");
  return PMIX_OPERATION_SUCCEEDED;
}

pmix_status_t OnFence(const pmix_proc_t procs[], size_t nprocs, const pmix_info_t[], size_t, char* data, size_t ndata,
                      pmix_modex_cbfunc_t cbfunc, void* cbdata) {
  std::string local(data != nullptr ? data : "", ndata);
  std::string nspace = nprocs > 0 ? std::string(procs[0].nspace) : std::string();
  PmixServer::CrossNodeFence fence_fn;
  std::vector<int> nodes;
  std::string fence_id;
  int my_node = 0;
  {
    std::lock_guard<std::mutex> lk(g_impl->mu);
    auto it = g_impl->jobs.find(nspace);
    if (it == g_impl->jobs.end()) return PMIX_ERR_NOT_FOUND;
    const PmixJob& job = it->second;
    my_node = job.node_rank;
    std::set<int> node_set;
    std::string sig;
    for (size_t i = 0; i < nprocs; ++i) {
      if (procs[i].rank == PMIX_RANK_WILDCARD) {
        for (size_t n = 0; n < job.node_ranks.size(); ++n) node_set.insert(static_cast<int>(n));
        sig += "*,";
        continue;
      }
      sig += std::to_string(procs[i].rank) + ",";
      for (size_t n = 0; n < job.node_ranks.size(); ++n) {
        for (int r : job.node_ranks[n]) {
          if (static_cast<pmix_rank_t>(r) == procs[i].rank) node_set.insert(static_cast<int>(n));
        }
      }
    }
    nodes.assign(node_set.begin(), node_set.end());
    int seq = g_impl->fence_seq[nspace + "|" + sig]++;
    fence_id = nspace + "/" + std::to_string(std::hash<std::string>{}(sig) % 1000000007) + "/" + std::to_string(seq);
    fence_fn = g_impl->fence_fn;
  }
  if (nodes.empty() || (nodes.size() == 1 && nodes[0] == my_node)) {
    CompleteFence(cbfunc, cbdata, true, local);
    return PMIX_SUCCESS;
  }
  if (!fence_fn) return PMIX_ERR_NOT_SUPPORTED;
  fence_fn(fence_id, nodes, std::move(local),
           [cbfunc, cbdata](bool ok, std::string all) { CompleteFence(cbfunc, cbdata, ok, all); });
  return PMIX_SUCCESS;
}

pmix_status_t OnDirectModex(const pmix_proc_t*, const pmix_info_t[], size_t, pmix_modex_cbfunc_t, void*) {
  return PMIX_ERR_NOT_SUPPORTED;
}

pmix_info_t* NewInfoArray(std::vector<pmix_info_t>& items, size_t* n) {
  pmix_info_t* arr;
  PMIX_INFO_CREATE(arr, items.size());
  std::memcpy(static_cast<void*>(arr), items.data(), items.size() * sizeof(pmix_info_t));
  *n = items.size();
  return arr;
}

std::string JoinInts(const std::vector<int>& v, char sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? std::string(1, sep) : "") + std::to_string(v[i]);
  return s;
}

}  // namespace

Result<std::unique_ptr<PmixServer>> PmixServer::Start(const std::string& tmpdir) {
  if (g_impl != nullptr) return Internal("only one PMIx server per process");
  std::unique_ptr<PmixServer> s(new PmixServer());
  s->impl_ = std::make_unique<Impl>();
  g_impl = s->impl_.get();
  static pmix_server_module_t module;
  std::memset(&module, 0, sizeof module);
  module.client_connected = OnClientConnected;
  module.client_finalized = OnClientFinalized;
  module.abort = OnAbort;
  module.fence_nb = OnFence;
  module.direct_modex = OnDirectModex;
  pmix_info_t info[3];
  bool no_tools = false;
  PMIX_INFO_LOAD(&info[0], PMIX_SERVER_TMPDIR, tmpdir.c_str(), PMIX_STRING);
  PMIX_INFO_LOAD(&info[1], PMIX_SYSTEM_TMPDIR, tmpdir.c_str(), PMIX_STRING);
  PMIX_INFO_LOAD(&info[2], PMIX_SERVER_TOOL_SUPPORT, &no_tools, PMIX_BOOL);
  pmix_status_t rc = PMIx_server_init(&module, info, 3);
  for (auto& i : info) PMIX_INFO_DESTRUCT(&i);
  if (rc != PMIX_SUCCESS) {
    g_impl = nullptr;
    return Unavailable("PMIx_server_init failed: " + PmixError(rc) +
                       " (run with --mpi none to start ranks without PMIx)");
  }
  return s;
}

PmixServer::~PmixServer() {
  if (impl_) {
    PMIx_server_finalize();
    g_impl = nullptr;
  }
}

Status PmixServer::RegisterJob(const PmixJob& job) {
  if (job.node_rank < 0 || job.node_rank >= static_cast<int>(job.node_ranks.size()) ||
      job.hosts.size() != job.node_ranks.size()) {
    return Internal("PmixJob: inconsistent node map");
  }
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->jobs[job.nspace] = job;
  }
  uint32_t world = static_cast<uint32_t>(job.world_size());
  uint32_t nnodes = static_cast<uint32_t>(job.node_ranks.size());
  const std::vector<int>& mine = job.node_ranks[static_cast<size_t>(job.node_rank)];
  uint32_t nlocal = static_cast<uint32_t>(mine.size());
  uint32_t node_id = static_cast<uint32_t>(job.node_rank);
  pmix_rank_t leader = mine.empty() ? 0 : static_cast<pmix_rank_t>(mine.front());
  uint32_t app = 0;
  bool no = false;

  std::string host_csv;
  std::string ppn;
  for (size_t n = 0; n < job.hosts.size(); ++n) {
    host_csv += (n ? "," : "") + job.hosts[n];
    ppn += (n ? ";" : "") + JoinInts(job.node_ranks[n], ',');
  }
  char* node_map = nullptr;
  char* proc_map = nullptr;
  pmix_status_t rc = PMIx_generate_regex(host_csv.c_str(), &node_map);
  if (rc == PMIX_SUCCESS) rc = PMIx_generate_ppn(ppn.c_str(), &proc_map);
  if (rc != PMIX_SUCCESS) {
    std::free(node_map);
    return Internal("PMIx could not encode the node map: " + PmixError(rc));
  }
  std::string peers = JoinInts(mine, ',');

  std::vector<pmix_info_t> items;
  auto add = [&](const char* key, const void* val, pmix_data_type_t type) {
    items.emplace_back();
    PMIX_INFO_LOAD(&items.back(), key, val, type);
  };
  add(PMIX_UNIV_SIZE, &world, PMIX_UINT32);
  add(PMIX_JOB_SIZE, &world, PMIX_UINT32);
  add(PMIX_APP_SIZE, &world, PMIX_UINT32);
  add(PMIX_MAX_PROCS, &world, PMIX_UINT32);
  add(PMIX_LOCAL_SIZE, &nlocal, PMIX_UINT32);
  add(PMIX_NODE_SIZE, &nlocal, PMIX_UINT32);
  add(PMIX_NUM_NODES, &nnodes, PMIX_UINT32);
  add(PMIX_NODE_MAP, node_map, PMIX_STRING);
  add(PMIX_PROC_MAP, proc_map, PMIX_STRING);
  add(PMIX_LOCAL_PEERS, peers.c_str(), PMIX_STRING);
  add(PMIX_LOCALLDR, &leader, PMIX_PROC_RANK);
  add(PMIX_NODEID, &node_id, PMIX_UINT32);
  add(PMIX_JOBID, job.nspace.c_str(), PMIX_STRING);
  add(PMIX_SPAWNED, &no, PMIX_BOOL);
  add(PMIX_TMPDIR, job.tmpdir.c_str(), PMIX_STRING);
  add(PMIX_NSDIR, job.tmpdir.c_str(), PMIX_STRING);
  std::free(node_map);
  std::free(proc_map);
  for (size_t n = 0; n < job.node_ranks.size(); ++n) {
    uint32_t nid = static_cast<uint32_t>(n);
    for (size_t lr = 0; lr < job.node_ranks[n].size(); ++lr) {
      pmix_rank_t r = static_cast<pmix_rank_t>(job.node_ranks[n][lr]);
      uint16_t local_rank = static_cast<uint16_t>(lr);
      pmix_data_array_t* da;
      PMIX_DATA_ARRAY_CREATE(da, 7, PMIX_INFO);
      auto* pd = static_cast<pmix_info_t*>(da->array);
      PMIX_INFO_LOAD(&pd[0], PMIX_RANK, &r, PMIX_PROC_RANK);
      PMIX_INFO_LOAD(&pd[1], PMIX_LOCAL_RANK, &local_rank, PMIX_UINT16);
      PMIX_INFO_LOAD(&pd[2], PMIX_NODE_RANK, &local_rank, PMIX_UINT16);
      PMIX_INFO_LOAD(&pd[3], PMIX_HOSTNAME, job.hosts[n].c_str(), PMIX_STRING);
      PMIX_INFO_LOAD(&pd[4], PMIX_NODEID, &nid, PMIX_UINT32);
      PMIX_INFO_LOAD(&pd[5], PMIX_APPNUM, &app, PMIX_UINT32);
      PMIX_INFO_LOAD(&pd[6], PMIX_GLOBAL_RANK, &r, PMIX_PROC_RANK);
      items.emplace_back();
      PMIX_INFO_LOAD(&items.back(), PMIX_PROC_DATA, da, PMIX_DATA_ARRAY);  // deep copy
      PMIX_DATA_ARRAY_FREE(da);
    }
  }
  size_t ninfo = 0;
  pmix_info_t* info = NewInfoArray(items, &ninfo);
  Waiter w;
  rc = PMIx_server_register_nspace(job.nspace.c_str(), static_cast<int>(nlocal), info, ninfo, Waiter::Callback, &w);
  if (rc == PMIX_SUCCESS) rc = w.Wait();
  PMIX_INFO_FREE(info, ninfo);
  if (rc != PMIX_SUCCESS && rc != PMIX_OPERATION_SUCCEEDED) {
    return Internal("PMIx could not register namespace " + job.nspace + ": " + PmixError(rc));
  }
  for (int r : mine) {
    pmix_proc_t proc;
    PMIX_LOAD_PROCID(&proc, job.nspace.c_str(), static_cast<pmix_rank_t>(r));
    Waiter wc;
    rc = PMIx_server_register_client(&proc, ::getuid(), ::getgid(), nullptr, Waiter::Callback, &wc);
    if (rc == PMIX_SUCCESS) rc = wc.Wait();
    if (rc != PMIX_SUCCESS && rc != PMIX_OPERATION_SUCCEEDED) {
      return Internal("PMIx could not register rank " + std::to_string(r) + ": " + PmixError(rc));
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> PmixServer::ClientEnv(const std::string& nspace, int rank, bool user_sets_schizo) {
  pmix_proc_t proc;
  PMIX_LOAD_PROCID(&proc, nspace.c_str(), static_cast<pmix_rank_t>(rank));
  char** env = nullptr;
  pmix_status_t rc = PMIx_server_setup_fork(&proc, &env);
  std::vector<std::string> out;
  if (env != nullptr) {
    for (char** e = env; *e != nullptr; ++e) {
      out.emplace_back(*e);
      std::free(*e);
    }
    std::free(env);
  }
  if (rc != PMIX_SUCCESS) {
    return Internal("PMIx_server_setup_fork for rank " + std::to_string(rank) + ": " + PmixError(rc));
  }
  if (!user_sets_schizo) out.push_back("OMPI_MCA_schizo=^orte,slurm");
  return out;
}

void PmixServer::DeregisterJob(const std::string& nspace) {
  Waiter w;
  PMIx_server_deregister_nspace(nspace.c_str(), Waiter::Callback, &w);
  w.Wait();
  std::lock_guard<std::mutex> lk(impl_->mu);
  impl_->jobs.erase(nspace);
  for (auto it = impl_->fence_seq.begin(); it != impl_->fence_seq.end();) {
    if (it->first.rfind(nspace + "|", 0) == 0) {
      it = impl_->fence_seq.erase(it);
    } else {
      ++it;
    }
  }
}

void PmixServer::SetCrossNodeFence(CrossNodeFence fn) {
  std::lock_guard<std::mutex> lk(impl_->mu);
  impl_->fence_fn = std::move(fn);
}

void PmixServer::SetAbortHandler(AbortHandler fn) {
  std::lock_guard<std::mutex> lk(impl_->mu);
  impl_->abort_fn = std::move(fn);
}

}  // namespace ogai::launch
