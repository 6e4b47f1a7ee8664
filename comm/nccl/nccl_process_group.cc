// NCCL backend implementation (host code: CUDA runtime + NCCL calls, no kernels).
#include "comm/nccl/nccl_process_group.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstring>
#include <thread>

#include "core/log.h"

namespace ogai::comm::nccl {

using Clock = std::chrono::steady_clock;

namespace {

Status CudaError(const std::string& what, cudaError_t e) { return Unavailable(what + ": " + cudaGetErrorString(e)); }
Status NcclError(const std::string& what, ncclResult_t r) { return Unavailable(what + ": " + ncclGetErrorString(r)); }

ncclDataType_t NcclType(DataType d) {
  switch (d) {
    case DataType::kFloat32: return ncclFloat32;
    case DataType::kBFloat16: return ncclBfloat16;
    case DataType::kFloat16: return ncclFloat16;
  }
  return ncclFloat32;
}

ncclRedOp_t NcclOp(ReduceOp o) {
  switch (o) {
    case ReduceOp::kSum: return ncclSum;
    case ReduceOp::kAvg: return ncclAvg;
    case ReduceOp::kMax: return ncclMax;
    case ReduceOp::kMin: return ncclMin;
  }
  return ncclSum;
}

struct Shared {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;  // the group's communication stream
  std::atomic<bool> aborted{false};
  ~Shared() {
    if (comm != nullptr) {
      if (aborted.load())
        ncclCommAbort(comm);
      else
        ncclCommDestroy(comm);
    }
    if (stream != nullptr) cudaStreamDestroy(stream);
  }
};

class NcclWork final : public Work {
 public:
  NcclWork(std::shared_ptr<Shared> sh, cudaEvent_t done, cudaStream_t user, std::string what)
      : sh_(std::move(sh)), done_(done), user_(user), what_(std::move(what)) {}
  ~NcclWork() override { cudaEventDestroy(done_); }

  Status Wait(std::chrono::milliseconds timeout) override {
    if (timeout >= std::chrono::hours(24 * 365)) {
      cudaError_t e = cudaStreamWaitEvent(user_, done_, 0);
      return e == cudaSuccess ? Status::Ok() : CudaError(what_ + ": cudaStreamWaitEvent", e);
    }
    auto deadline = Clock::now() + timeout;
    for (;;) {
      cudaError_t e = cudaEventQuery(done_);
      if (e == cudaSuccess) return Status::Ok();
      if (e != cudaErrorNotReady) return CudaError(what_, e);
      ncclResult_t async = ncclSuccess;
      ncclCommGetAsyncError(sh_->comm, &async);
      if (async != ncclSuccess && async != ncclInProgress) return NcclError(what_, async);
      if (abort_.load() || Clock::now() >= deadline) {
        sh_->aborted.store(true);
        return abort_.load() ? Aborted(what_ + " aborted")
                             : Timeout(what_ + " timed out after " + std::to_string(timeout.count()) +
                                       " ms; NCCL cannot tell which ranks are missing (check every rank "
                                       "reached the same collective); the communicator is aborted");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  bool Test() override { return cudaEventQuery(done_) != cudaErrorNotReady; }
  void Abort() override { abort_.store(true); }
  Status status() const override { return Status::Ok(); }

 private:
  std::shared_ptr<Shared> sh_;
  cudaEvent_t done_;
  cudaStream_t user_;
  std::string what_;
  std::atomic<bool> abort_{false};
};

class NcclProcessGroup final : public ProcessGroup {
 public:
  NcclProcessGroup(int rank, int size, const ProcessGroupOptions& o, std::shared_ptr<Shared> sh,
                   std::shared_ptr<store::Store> store, int device)
      : ProcessGroup(rank, size, o), sh_(std::move(sh)), store_(std::move(store)), device_(device) {}

  const char* backend() const override { return "nccl"; }
  void SetStream(cudaStream_t s) { user_ = s; }

  ~NcclProcessGroup() override {
    if (barrier_buf_ != nullptr) cudaFree(barrier_buf_);
  }

 protected:
  WorkPtr DoAllReduce(const void* send, void* recv, size_t count, DataType dtype, ReduceOp op) override {
    return Enqueue("allreduce", [=, this] {
      return ncclAllReduce(send, recv, count, NcclType(dtype), NcclOp(op), sh_->comm, sh_->stream);
    });
  }
  WorkPtr DoReduceScatter(const void* send, void* recv, size_t count, DataType dtype, ReduceOp op) override {
    return Enqueue("reducescatter", [=, this] {
      return ncclReduceScatter(send, recv, count, NcclType(dtype), NcclOp(op), sh_->comm, sh_->stream);
    });
  }
  WorkPtr DoAllGather(const void* send, void* recv, size_t count, DataType dtype) override {
    return Enqueue("allgather",
                   [=, this] { return ncclAllGather(send, recv, count, NcclType(dtype), sh_->comm, sh_->stream); });
  }
  WorkPtr DoBroadcast(void* buf, size_t count, DataType dtype, int root) override {
    return Enqueue("broadcast",
                   [=, this] { return ncclBroadcast(buf, buf, count, NcclType(dtype), root, sh_->comm, sh_->stream); });
  }
  WorkPtr DoSend(const void* buf, size_t count, DataType dtype, int dst, int tag) override {
    (void)tag;  // NCCL orders point-to-point per pair by issue order; tags are not needed.
    return Enqueue("send", [=, this] { return ncclSend(buf, count, NcclType(dtype), dst, sh_->comm, sh_->stream); });
  }
  WorkPtr DoRecv(void* buf, size_t count, DataType dtype, int src, int tag) override {
    (void)tag;
    return Enqueue("recv", [=, this] { return ncclRecv(buf, count, NcclType(dtype), src, sh_->comm, sh_->stream); });
  }
  WorkPtr DoBarrier() override {
    if (barrier_buf_ == nullptr) {
      cudaError_t e = cudaMalloc(&barrier_buf_, sizeof(float));
      if (e != cudaSuccess) return MakeCompletedWork(CudaError("barrier scratch", e));
    }
    return Enqueue("barrier", [this] {
      return ncclAllReduce(barrier_buf_, barrier_buf_, 1, ncclFloat32, ncclSum, sh_->comm, sh_->stream);
    });
  }

  Result<std::unique_ptr<ProcessGroup>> DoNewGroup(const std::vector<int>& ranks, int my,
                                                   const ProcessGroupOptions& options) override {
    ProcessGroupOptions o = options;
    o.device = device_;
    return CreateNcclProcessGroup(store_, my, static_cast<int>(ranks.size()), o);
  }

 private:
  template <typename F>
  WorkPtr Enqueue(const char* op, F issue) {
    const std::string what = std::string(op) + " on nccl group '" + name() + "'";
    if (sh_->aborted.load())
      return MakeCompletedWork(Aborted(what + ": the communicator was aborted after an earlier failure"));
    cudaEvent_t ready, done;
    if (cudaEventCreateWithFlags(&ready, cudaEventDisableTiming) != cudaSuccess ||
        cudaEventCreateWithFlags(&done, cudaEventDisableTiming) != cudaSuccess) {
      return MakeCompletedWork(Unavailable(what + ": cannot create CUDA events"));
    }
    cudaEventRecord(ready, user_);
    cudaStreamWaitEvent(sh_->stream, ready, 0);
    cudaEventDestroy(ready);
    ncclResult_t r = issue();
    if (r != ncclSuccess) {
      cudaEventDestroy(done);
      return MakeCompletedWork(NcclError(what, r));
    }
    cudaEventRecord(done, sh_->stream);
    return std::make_shared<NcclWork>(sh_, done, user_, what);
  }

  std::shared_ptr<Shared> sh_;
  std::shared_ptr<store::Store> store_;
  int device_;
  cudaStream_t user_ = nullptr;  // legacy default stream
  void* barrier_buf_ = nullptr;
};

}  // namespace

int CudaDeviceCount() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

Result<std::unique_ptr<ProcessGroup>> CreateNcclProcessGroup(std::shared_ptr<store::Store> store, int rank, int size,
                                                             const ProcessGroupOptions& options) {
  int ndev = CudaDeviceCount();
  if (ndev == 0) {
    return Unavailable("nccl backend: no CUDA device is visible on this machine (use --backend ucx on CPU)");
  }
  int device = options.device;
  if (device < 0) device = options.local_rank >= 0 ? options.local_rank % ndev : 0;
  cudaError_t e = cudaSetDevice(device);
  if (e != cudaSuccess) return CudaError("cudaSetDevice(" + std::to_string(device) + ")", e);
  const std::string key = options.store_prefix + "nccl/" + options.name + "/id";
  ncclUniqueId id;
  if (rank == 0) {
    ncclResult_t r = ncclGetUniqueId(&id);
    if (r != ncclSuccess) return NcclError("ncclGetUniqueId", r);
    OGAI_RETURN_IF_ERROR(store->Set(key, std::string(reinterpret_cast<const char*>(&id), sizeof(id))));
  } else {
    auto v = store->Get(key, options.timeout);
    if (!v.ok())
      return v.status().WithContext("nccl group '" + options.name + "': rank 0 did not publish the unique id");
    if (v->size() != sizeof(id)) return Corruption("nccl unique id in the store has the wrong size");
    std::memcpy(&id, v->data(), sizeof(id));
  }
  auto sh = std::make_shared<Shared>();
  e = cudaStreamCreateWithFlags(&sh->stream, cudaStreamNonBlocking);
  if (e != cudaSuccess) return CudaError("cudaStreamCreate", e);
  ncclResult_t r = ncclCommInitRank(&sh->comm, size, id, rank);
  if (r != ncclSuccess) return NcclError("ncclCommInitRank for group '" + options.name + "'", r);
  return std::unique_ptr<ProcessGroup>(new NcclProcessGroup(rank, size, options, sh, store, device));
}

Status SetNcclStream(ProcessGroup& pg, void* cuda_stream) {
  auto* n = dynamic_cast<NcclProcessGroup*>(&pg);
  if (n == nullptr) return InvalidArgument(std::string("SetNcclStream on a '") + pg.backend() + "' group");
  n->SetStream(static_cast<cudaStream_t>(cuda_stream));
  return Status::Ok();
}

}  // namespace ogai::comm::nccl
