#include "kernels/cuda/cublaslt_api.h"

#include <dlfcn.h>

#include <string>
#include <type_traits>

namespace ogai::kernels::cuda {
namespace {

Result<CublasLtApi> Open() {
  const std::string soname = "libcublasLt.so." + std::to_string(CUBLAS_VER_MAJOR);
  void* lib = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
#ifdef OGAI_CUBLASLT_FILE
  if (lib == nullptr) lib = dlopen(OGAI_CUBLASLT_FILE, RTLD_NOW | RTLD_LOCAL);
#endif
  if (lib == nullptr) {
    const char* e = dlerror();
    return NotFound("cannot open cuBLASLt (" + soname + "): " + (e ? e : "not found") + "; install the CUDA " +
                    std::to_string(CUBLAS_VER_MAJOR) + " libraries or add their folder to LD_LIBRARY_PATH");
  }
  // Kept open for the life of the process, as a linked library would be.
  CublasLtApi api;
  Status missing = Status::Ok();
  auto sym = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
    if (fn == nullptr && missing.ok()) {
      missing = NotFound(std::string("cuBLASLt (") + soname + ") has no " + name +
                         ": the library is older than the headers ogai was built with; rebuild against it");
    }
  };
#define OGAI_CUBLASLT_SYM(name) sym(api.name, "cublasLt" #name);
  OGAI_CUBLASLT_FUNCTIONS(OGAI_CUBLASLT_SYM)
#undef OGAI_CUBLASLT_SYM
  if (!missing.ok()) return missing;
  return api;
}

}  // namespace

Result<const CublasLtApi*> CublasLt() {
  static const Result<CublasLtApi> api = Open();
  if (!api.ok()) return api.status();
  return &*api;
}

}  // namespace ogai::kernels::cuda
