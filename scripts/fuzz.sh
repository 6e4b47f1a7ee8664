#!/usr/bin/env bash
# The libFuzzer harnesses of tests/fuzz (docs/security.md, "Fuzzing").
#   scripts/fuzz.sh build             configure and build build-fuzz/ (clang-14, ASan + UBSan)
#   scripts/fuzz.sh run NAME [SECS]   build if needed, then fuzz NAME (store, config, ckpt,
#                                     token_shard, hostfile, data_reader, data_config,
#                                     data_bpe, data_manifest) for SECS seconds (default 20),
#                                     starting from tests/fuzz/corpus/NAME
#   scripts/fuzz.sh all [SECS]        every harness in turn
# A crash leaves its input in build-fuzz/crashes/NAME/ and exits non-zero: make it a
# regression test, then add the input to the corpus. Exit 77 (ctest: skipped) when clang-14
# or libFuzzer is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${OGAI_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
FUZZERS=(store config ckpt token_shard hostfile data_reader data_config data_bpe data_manifest)

have_toolchain() {
  command -v clang-14 >/dev/null && command -v clang++-14 >/dev/null &&
    ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1
}

build() {
  if ! have_toolchain; then
    echo "fuzz: skipped: clang-14 and libfuzzer-14-dev are needed (scripts/deps.sh installs them)" >&2
    exit 77
  fi
  local flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-14 \
    -DCMAKE_CXX_COMPILER=clang++-14 "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_CXX_FLAGS=$flags" \
    -DOGAI_FUZZ=ON -DOGAI_BUILD_TESTS=OFF -DOGAI_BUILD_BENCH=OFF -DOGAI_NATIVE=OFF "${launcher[@]}" >/dev/null
  cmake --build "$BUILD" -j "${OGAI_BUILD_JOBS:-2}" --target fuzzers
}

run() {
  local name="$1" secs="${2:-20}"
  build >/dev/null  # incremental: the harness is never older than the code it tests
  local scratch
  scratch="$(mktemp -d "${TMPDIR:-/tmp}/ogai-fuzz.XXXXXX")"
  local shm
  shm="$(mktemp -d /dev/shm/ogai-fuzz.XXXXXX 2>/dev/null || mktemp -d "${TMPDIR:-/tmp}/ogai-fuzz-tmp.XXXXXX")"
  trap 'rm -rf "$scratch" "$shm"' RETURN
  mkdir -p "$BUILD/crashes/$name"
  # New inputs go to the scratch folder (the first); the repository's seeds stay as they are.
  # `|| rc=...`: a crash must not end the script (set -e) before the RETURN trap removes the
  # scratch folders.
  local rc=0
  TMPDIR="$shm" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$BUILD/bin/fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$BUILD/crashes/$name/" "$scratch" "$ROOT/tests/fuzz/corpus/$name" > "$scratch.log" 2>&1 || rc=$?
  tail -25 "$scratch.log"
  rm -f "$scratch.log"
  return "$rc"
}

case "${1:-}" in
  build) build ;;
  run) run "${2:?which harness: ${FUZZERS[*]}}" "${3:-20}" ;;
  all) for f in "${FUZZERS[@]}"; do run "$f" "${2:-20}"; done ;;
  *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
