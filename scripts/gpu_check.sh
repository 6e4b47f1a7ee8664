#!/usr/bin/env bash
# The GPU check, one command on a machine with an NVIDIA GPU (docs/gpu.md). In order, each
# phase under its own time limit (all of it under 8 minutes on one H200):
#   1. build with CUDA (nvcc, cuBLASLt, cuDNN, NCCL under /usr/local/cuda) into build-gpu/
#   2. ctest -L gpu: the CUDA kernels against their CPU twins, the NCCL backend (two ranks),
#      plus the host-side GPU plans (device selection, arena, stream order)
#   3. ogai-bench gpu: the devices, their bf16 peak, whether GPT-2 124M's arena fits
#   4. ogai-bench train on examples/gpt2-124m.yaml with model.device=cuda at a batch that
#      fills one GPU: tokens/s and MFU against the bf16 dense peak (kernels/cuda/peak.cc)
#      (and, on a machine with two GPUs or more, the same with parallel.dp=2 over NCCL)
#   5. ogai-bench coll --backend nccl
# then prints one summary. Exit status 0 only when every phase passed. A phase the code
# does not support yet is reported as NOT WIRED with
# the program's own line, and counts as a failure: this script is the verification. With
# one GPU the coll phase runs one rank (NCCL refuses two ranks on one device): it checks the
# path, not the bandwidth.
# Extra arguments go to cmake. OGAI_GPU_BUILD_DIR overrides build-gpu.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${OGAI_GPU_BUILD_DIR:-build-gpu}"
LOG="$(mktemp -d "${TMPDIR:-/tmp}/ogai-gpu-check.XXXXXX")"
START=$(date +%s)
declare -a SUMMARY=()
FAILED=0
note() { SUMMARY+=("$1"); echo "gpu_check: $1"; }
fail() { note "FAIL  $1"; FAILED=1; }

GPU_NAME="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
[ -n "$GPU_NAME" ] && note "gpu   $GPU_NAME ($(nvidia-smi -L 2>/dev/null | wc -l) visible)" || note "gpu   none found by nvidia-smi"

# 1. Build.
if timeout 330 cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CUDA_COMPILER="${CUDACXX:-/usr/local/cuda/bin/nvcc}" "$@" >"$LOG/configure.txt" 2>&1 &&
  grep -q "ogai: CUDA kernels ON" "$LOG/configure.txt" &&
  timeout 330 cmake --build "$BUILD" -j "$(nproc)" --target cuda_kernels_test nccl_test nccl_worker \
    train_device_test stream_plan_test gpu_peak_test gpu_step_test ogai-bench ogai-worker ogai-run >"$LOG/build.txt" 2>&1; then
  note "ok    build with CUDA ($(grep -E 'ogai: CUDA' "$LOG/configure.txt" | tr '\n' ' '))"
else
  fail "build: see $LOG/configure.txt and $LOG/build.txt"
  tail -20 "$LOG/build.txt" 2>/dev/null
  printf '%s\n' "" "== gpu_check summary ==" "${SUMMARY[@]}"
  exit 1
fi
BIN="$BUILD/bin"

# 2. Tests: the gpu label, and the host-side plans the GPU path relies on.
if timeout 240 ctest --test-dir "$BUILD" -L gpu --output-on-failure -V >"$LOG/ctest-gpu.txt" 2>&1; then
  note "ok    ctest -L gpu: $(grep -cE 'Test +#[0-9]+: .*Passed' "$LOG/ctest-gpu.txt") passed, $(grep -cE 'Test +#[0-9]+: .*Skipped' "$LOG/ctest-gpu.txt") skipped"
else
  fail "ctest -L gpu: $(grep -E 'tests passed|FAILED' "$LOG/ctest-gpu.txt" | head -3 | tr '\n' ' ') (log $LOG/ctest-gpu.txt)"
fi
grep -E "nccl allreduce" "$LOG/ctest-gpu.txt" | tail -3 | sed 's/^[0-9]*: //' | while read -r l; do note "      $l"; done
if grep -q "no CUDA device visible" "$LOG/ctest-gpu.txt"; then fail "the gpu tests skipped: no CUDA device visible"; fi
if timeout 60 ctest --test-dir "$BUILD" -R "Device|StreamPlan|GpuPeak" >"$LOG/ctest-host.txt" 2>&1; then
  note "ok    host-side plans: $(grep 'tests passed' "$LOG/ctest-host.txt")"
else
  fail "host-side plans: $(grep -E 'tests passed' "$LOG/ctest-host.txt") (log $LOG/ctest-host.txt)"
fi

# 3. Devices and the arena of the benchmark's batch: the largest micro-batch (of 64, 32, 16,
# 8, 4 sequences of 1024 tokens) whose device arena fits GPU 0 (ogai-bench gpu plans it;
# 16 is about 9 GiB for GPT-2 124M). OGAI_GPU_MICRO_BATCH fixes it instead.
MB="${OGAI_GPU_MICRO_BATCH:-}"
if [ -z "$MB" ]; then
  for mb in 64 32 16 8 4; do
    if timeout 60 "$BIN/ogai-bench" gpu --config examples/gpt2-124m.yaml "train.micro_batch=$mb" --json 2>/dev/null |
      grep -q '"fits": true'; then
      MB=$mb
      break
    fi
  done
  MB="${MB:-4}"
fi
if timeout 60 "$BIN/ogai-bench" gpu --config examples/gpt2-124m.yaml "train.micro_batch=$MB" >"$LOG/gpu.txt" 2>&1; then
  note "ok    ogai-bench gpu: arena $(grep -E '^  total' "$LOG/gpu.txt" | awk '{print $2, $3}') fits at micro_batch $MB"
else
  fail "ogai-bench gpu: $(tail -2 "$LOG/gpu.txt" | tr '\n' ' ')"
fi
PEAK="$(timeout 60 "$BIN/ogai-bench" gpu --config examples/gpt2-124m.yaml --json 2>/dev/null |
  sed -n 's/.*"bf16_peak_tflops": \([0-9.]*\).*/\1/p')"

# 4. Training throughput on one GPU.
if timeout 180 "$BIN/ogai-bench" train --config examples/gpt2-124m.yaml model.device=cuda "train.micro_batch=$MB" \
    --steps 10 --warmup 2 --json >"$LOG/train.json" 2>"$LOG/train.err"; then
  TOKS="$(sed -n 's/.*"tokens_per_s": \([0-9.e+]*\).*/\1/p' "$LOG/train.json")"
  GFLOPS="$(sed -n 's/.*"model_gflops": \([0-9.e+]*\).*/\1/p' "$LOG/train.json")"
  MFU="$(awk -v g="$GFLOPS" -v p="${PEAK:-0}" 'BEGIN { if (p > 0) printf "%.1f%%", 100 * g / (p * 1000); else print "unknown (GPU not in the peak table)" }')"
  note "ok    train gpt2-124m bf16 micro_batch $MB x 1024: $TOKS tokens/s, MFU $MFU of ${PEAK:-?} TFLOP/s"
elif grep -q "not wired" "$LOG/train.err"; then
  fail "train NOT WIRED: $(head -1 "$LOG/train.err")"
else
  fail "train: $(tail -3 "$LOG/train.err" | tr '\n' ' ')"
fi

# 4b. Data parallelism over two GPUs (only where there are two).
NGPU="$(nvidia-smi -L 2>/dev/null | wc -l)"
if [ "$NGPU" -ge 2 ]; then
  if timeout 180 "$BIN/ogai-run" -np 2 -- "$BIN/ogai-bench" train --config examples/gpt2-124m.yaml model.device=cuda \
      parallel.dp=2 parallel.backend=nccl "train.micro_batch=$MB" --steps 10 --warmup 2 --json \
      >"$LOG/train-dp2.json" 2>"$LOG/train-dp2.err"; then
    note "ok    train dp=2 on 2 GPUs: $(grep -o '"tokens_per_s": [0-9.]*' "$LOG/train-dp2.json" | head -1), $(grep -o '"mfu": [0-9.]*' "$LOG/train-dp2.json" | head -1)"
  else
    fail "train dp=2: $(tail -3 "$LOG/train-dp2.err" | tr '\n' ' ')"
  fi
else
  note "skip  train dp=2: one GPU on this machine"
fi

# 5. Collectives on NCCL.
NP=$((NGPU >= 2 ? 2 : 1))
if OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 120 mpirun -np "$NP" --oversubscribe \
    "$BIN/ogai-bench" coll --backend nccl --op allreduce --min-bytes 1M --max-bytes 256M >"$LOG/coll.txt" 2>&1; then
  note "ok    coll nccl allreduce ($NP ranks): $(grep -vE '^#' "$LOG/coll.txt" | tail -1)"
else
  fail "coll nccl: $(tail -3 "$LOG/coll.txt" | tr '\n' ' ')"
fi

printf '%s\n' "" "== gpu_check summary ($(date -u +%Y-%m-%dT%H:%MZ), $(( $(date +%s) - START )) s, logs in $LOG) ==" "${SUMMARY[@]}"
exit "$FAILED"
