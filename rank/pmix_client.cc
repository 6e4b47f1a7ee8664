#include "rank/pmix_client.h"

#include <pmix.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace ogai::launch {
namespace {

std::string PmixError(pmix_status_t rc) { return std::string(PMIx_Error_string(rc)) + " (" + std::to_string(rc) + ")"; }

}  // namespace

bool PmixClientAvailable() {
  if (std::getenv("PMIX_NAMESPACE") == nullptr) return false;
  for (const char* v : {"PMIX_SERVER_URI41", "PMIX_SERVER_URI4", "PMIX_SERVER_URI3", "PMIX_SERVER_URI21",
                        "PMIX_SERVER_URI2", "PMIX_SERVER_URI"}) {
    if (std::getenv(v) != nullptr) return true;
  }
  return false;
}

Result<std::unique_ptr<PmixPeers>> PmixPeers::Connect() {
  if (!PmixClientAvailable()) {
    return Unavailable("no PMIx server in this environment (PMIX_NAMESPACE / PMIX_SERVER_URI* are not set)");
  }
  pmix_proc_t me;
  PMIX_PROC_CONSTRUCT(&me);
  pmix_status_t rc = PMIx_Init(&me, nullptr, 0);
  if (rc != PMIX_SUCCESS) return Unavailable("PMIx_Init failed: " + PmixError(rc));
  std::unique_ptr<PmixPeers> p(new PmixPeers());
  p->nspace_.assign(me.nspace, strnlen(me.nspace, PMIX_MAX_NSLEN));
  p->rank_ = static_cast<int>(me.rank);
  return p;
}

PmixPeers::~PmixPeers() {
  if (rank_ >= 0) PMIx_Finalize(nullptr, 0);
}

Status PmixPeers::Publish(const std::string& key, const std::string& value) {
  pmix_value_t v;
  PMIX_VALUE_CONSTRUCT(&v);
  v.type = PMIX_STRING;
  v.data.string = const_cast<char*>(value.c_str());
  pmix_status_t rc = PMIx_Put(PMIX_GLOBAL, key.c_str(), &v);
  if (rc != PMIX_SUCCESS) return Unavailable("PMIx_Put of '" + key + "' failed: " + PmixError(rc));
  rc = PMIx_Commit();
  if (rc != PMIX_SUCCESS) return Unavailable("PMIx_Commit failed: " + PmixError(rc));
  return Status::Ok();
}

Status PmixPeers::Fence(std::chrono::milliseconds timeout) {
  pmix_proc_t all;
  PMIX_PROC_CONSTRUCT(&all);
  PMIX_LOAD_NSPACE(all.nspace, nspace_.c_str());
  all.rank = PMIX_RANK_WILDCARD;
  pmix_info_t info[2];
  bool collect = true;
  int secs = static_cast<int>(std::max<int64_t>(1, (timeout.count() + 999) / 1000));
  PMIX_INFO_LOAD(&info[0], PMIX_COLLECT_DATA, &collect, PMIX_BOOL);
  PMIX_INFO_LOAD(&info[1], PMIX_TIMEOUT, &secs, PMIX_INT);
  pmix_status_t rc = PMIx_Fence(&all, 1, info, 2);
  PMIX_INFO_DESTRUCT(&info[0]);
  PMIX_INFO_DESTRUCT(&info[1]);
  if (rc != PMIX_SUCCESS) {
    return Unavailable("the PMIx fence of job " + nspace_ + " failed: " + PmixError(rc) +
                       (rc == PMIX_ERR_TIMEOUT ? "; a rank did not arrive within the timeout" : ""));
  }
  return Status::Ok();
}

Result<std::string> PmixPeers::Lookup(int rank, const std::string& key) {
  pmix_proc_t src;
  PMIX_PROC_CONSTRUCT(&src);
  PMIX_LOAD_NSPACE(src.nspace, nspace_.c_str());
  src.rank = static_cast<pmix_rank_t>(rank);
  pmix_value_t* v = nullptr;
  pmix_status_t rc = PMIx_Get(&src, key.c_str(), nullptr, 0, &v);
  if (rc != PMIX_SUCCESS || v == nullptr) {
    return NotFound("PMIx has no '" + key + "' from rank " + std::to_string(rank) + ": " + PmixError(rc));
  }
  Result<std::string> out = v->type == PMIX_STRING && v->data.string != nullptr
                                ? Result<std::string>(std::string(v->data.string))
                                : Result<std::string>(Corruption("PMIx value '" + key + "' of rank " +
                                                                 std::to_string(rank) + " is not a string"));
  PMIX_VALUE_RELEASE(v);
  return out;
}

}  // namespace ogai::launch
