# Third-party libraries ogai builds against. Everything here is a Debian 12 package;
# scripts/deps.sh installs them.
find_package(Threads REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(yaml-cpp REQUIRED)
find_package(Protobuf REQUIRED)
find_package(PkgConfig REQUIRED)
# SHA-256, HMAC and random bytes for the store's authentication (core/digest.h).
find_package(OpenSSL REQUIRED COMPONENTS Crypto)

# GEMM: oneDNN (the default, measured fastest here) is linked. OpenBLAS, the alternative
# (OGAI_GEMM=openblas), is loaded at run time with dlopen (kernels/cpu/gemm.cc), so the
# build does not need it. Debian's dnnl CMake package insists on OpenCL; the library itself
# does not need it.
find_library(OGAI_DNNL_LIB NAMES dnnl REQUIRED)
find_path(OGAI_DNNL_INCLUDE oneapi/dnnl/dnnl.h REQUIRED)

# Communication.
find_package(MPI REQUIRED COMPONENTS C)
pkg_check_modules(UCX REQUIRED IMPORTED_TARGET ucx)
# The launcher serves PMIx to MPI ranks (OpenPMIx server library, libpmix-dev).
pkg_check_modules(PMIX REQUIRED IMPORTED_TARGET pmix)

if(OGAI_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(OGAI_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# CUDA and NCCL: optional. CUDA sources are their own targets, built only when a CUDA
# compiler is found, so the CPU build never needs a GPU. NCCL has no CMake package.
include(CheckLanguage)
check_language(CUDA)
set(OGAI_HAVE_CUDA OFF)
set(OGAI_HAVE_NCCL OFF)
if(CMAKE_CUDA_COMPILER)
  enable_language(CUDA)
  find_package(CUDAToolkit)
  if(CUDAToolkit_FOUND)
    set(OGAI_HAVE_CUDA ON)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    find_path(OGAI_NCCL_INCLUDE nccl.h
      HINTS ${CUDAToolkit_INCLUDE_DIRS} ${CUDAToolkit_LIBRARY_ROOT}/include /usr/local/cuda/include)
    find_library(OGAI_NCCL_LIB nccl
      HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib64 /usr/local/cuda/lib64)
    if(OGAI_NCCL_INCLUDE AND OGAI_NCCL_LIB)
      set(OGAI_HAVE_NCCL ON)
      add_library(ogai_nccl_dep INTERFACE)
      target_include_directories(ogai_nccl_dep SYSTEM INTERFACE ${OGAI_NCCL_INCLUDE})
      target_link_libraries(ogai_nccl_dep INTERFACE ${OGAI_NCCL_LIB} CUDA::cudart)
    endif()
  endif()
endif()
message(STATUS "ogai: CUDA ${OGAI_HAVE_CUDA}, NCCL ${OGAI_HAVE_NCCL}")
