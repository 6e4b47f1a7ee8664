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
  libzstd-dev libxxhash-dev nlohmann-json3-dev libsqlite3-dev
  openssh-server openssh-client
  slurm-wlm munge
  procps psmisc iproute2
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
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
