#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: builds ogai with CUDA+NCCL, runs the GPU tests (ctest -L gpu)
# and prints the NCCL all-reduce bandwidth (two ranks sharing the GPUs the machine has).
# Extra arguments go to cmake. Exits non-zero if CUDA/NCCL are missing or a test fails.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v nvidia-smi >/dev/null && nvidia-smi -L || echo "gpu_check: nvidia-smi not found" >&2
BUILD="${OGAI_GPU_BUILD_DIR:-build-gpu}"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER="${CUDACXX:-/usr/local/cuda/bin/nvcc}" "$@" \
  | grep -E "ogai: CUDA" || true
cmake --build "$BUILD" -j "$(nproc)" --target nccl_test nccl_worker comm_unit_test
if [ ! -x "$BUILD/bin/nccl_test" ]; then
  echo "gpu_check: CUDA or NCCL not found by cmake: the nccl backend was not built" >&2
  exit 1
fi
ctest --test-dir "$BUILD" -L gpu --output-on-failure -V | grep -E "nccl allreduce|Test|Passed|Failed|Skipped|ok"
