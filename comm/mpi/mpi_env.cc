#include "comm/mpi/mpi_env.h"

#include <mutex>

namespace ogai::comm::mpi {
namespace {

struct Finalizer {
  bool we_initialized = false;
  ~Finalizer() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (we_initialized && !finalized) MPI_Finalize();
  }
};

Finalizer& GetFinalizer() {
  static Finalizer f;
  return f;
}

}  // namespace

Status MpiError(const std::string& what, int code) {
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, msg, &len);
  return Unavailable(what + ": " + std::string(msg, static_cast<size_t>(len)));
}

Status EnsureMpi() {
  static std::mutex mu;
  std::lock_guard<std::mutex> lk(mu);
  Finalizer& fin = GetFinalizer();  // constructed before MPI_Init, destroyed after users
  int initialized = 0;
  MPI_Initialized(&initialized);
  int provided = 0;
  if (!initialized) {
    int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
    if (rc != MPI_SUCCESS) return MpiError("MPI_Init_thread", rc);
    fin.we_initialized = true;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  } else {
    MPI_Query_thread(&provided);
  }
  if (provided < MPI_THREAD_MULTIPLE) {
    return NotSupported("this MPI provides thread level " + std::to_string(provided) +
                        ", ogai's progress threads need MPI_THREAD_MULTIPLE (initialise MPI with "
                        "MPI_Init_thread(..., MPI_THREAD_MULTIPLE) or use the ucx backend)");
  }
  return Status::Ok();
}

int WorldRank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int WorldSize() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

Result<std::vector<std::string>> AllGatherStrings(MPI_Comm comm, const std::string& mine) {
  int n = 0;
  MPI_Comm_size(comm, &n);
  int len = static_cast<int>(mine.size());
  std::vector<int> lens(static_cast<size_t>(n)), displs(static_cast<size_t>(n));
  int rc = MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, comm);
  if (rc != MPI_SUCCESS) return MpiError("MPI_Allgather of address lengths", rc);
  int total = 0;
  for (int i = 0; i < n; ++i) {
    displs[static_cast<size_t>(i)] = total;
    total += lens[static_cast<size_t>(i)];
  }
  std::string all(static_cast<size_t>(total), '\0');
  rc = MPI_Allgatherv(mine.data(), len, MPI_BYTE, all.data(), lens.data(), displs.data(), MPI_BYTE, comm);
  if (rc != MPI_SUCCESS) return MpiError("MPI_Allgatherv of addresses", rc);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(all.substr(static_cast<size_t>(displs[static_cast<size_t>(i)]),
                             static_cast<size_t>(lens[static_cast<size_t>(i)])));
  }
  return out;
}

}  // namespace ogai::comm::mpi
