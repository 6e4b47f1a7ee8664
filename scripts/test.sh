#!/usr/bin/env bash
# README command 2: set up, build, and run the test suite (what CI runs).
# Extra arguments go to ctest, e.g. `scripts/test.sh -R Config` or `-L slurm`.
#
# The launcher's ssh and Slurm tests need real daemons: this script starts a private sshd on
# loopback (scripts/testenv/sshd.sh), a single-node Slurm (scripts/testenv/slurm.sh) and a
# cluster of four network-namespace nodes with an sshd each (scripts/testenv/netns.sh, needs
# root), each with its state in a temp folder, and stops them when it exits, however it exits.
# OGAI_TEST_DAEMONS=0 skips them (those tests then skip, saying why); so do the multi-node
# tests when the namespace cluster cannot start (OGAI_TEST_NETNS_WHY says why).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/build.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Open MPI's shared-memory segments (vader_segment.*) of the tests' MPI ranks go to a folder
# of this run, removed when it ends: ranks that are killed (the recovery tests) do not leave
# them in /dev/shm. (ogai-run's agents give the ranks they start a folder of the job when this
# is not set; this covers the tests that run mpirun directly.)
OMPI_SHM="$(mktemp -d /dev/shm/ogai-test-mpi.XXXXXX 2>/dev/null || mktemp -d "${TMPDIR:-/tmp}/ogai-test-mpi.XXXXXX")"
export OMPI_MCA_btl_vader_backing_directory="$OMPI_SHM"
# UCX's posix segments (ucx_shm_posix_*) of a rank killed between making one and unlinking it.
export UCX_POSIX_DIR="$OMPI_SHM"
cleanup_shm() { rm -rf "$OMPI_SHM"; }
trap cleanup_shm EXIT

if [ "${OGAI_TEST_DAEMONS:-1}" != "0" ]; then
  TESTENV="$(mktemp -d "${TMPDIR:-/tmp}/ogai-testenv.XXXXXX")"
  stop_daemons() {
    "$ROOT/scripts/testenv/slurm.sh" stop "$TESTENV/slurm" >/dev/null 2>&1 || true
    "$ROOT/scripts/testenv/sshd.sh" stop "$TESTENV/sshd" >/dev/null 2>&1 || true
    "$ROOT/scripts/testenv/netns.sh" stop "$TESTENV/netns" >/dev/null 2>&1 || true
    rm -rf "$TESTENV"
    cleanup_shm
  }
  trap stop_daemons EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  eval "$("$ROOT/scripts/testenv/sshd.sh" start "$TESTENV/sshd")"
  eval "$("$ROOT/scripts/testenv/slurm.sh" start "$TESTENV/slurm")"
  if netns_out="$("$ROOT/scripts/testenv/netns.sh" start "$TESTENV/netns" 4 2>"$TESTENV/netns.err")"; then
    eval "$netns_out"
  else
    OGAI_TEST_NETNS_WHY="$(tail -n 1 "$TESTENV/netns.err")"
    export OGAI_TEST_NETNS_WHY
    echo "test.sh: no namespace cluster, the multi-node tests will skip: $OGAI_TEST_NETNS_WHY" >&2
  fi
fi

# Tests labelled `heavy` (long multi-rank sweeps) and `fuzz` (the libFuzzer harnesses, 20 s
# each after a clang build of their own: docs/security.md) run only when asked for:
# `scripts/test.sh -L heavy`, `scripts/test.sh -L fuzz`.
exclude=(-LE "heavy|fuzz")
for a in "$@"; do
  if [ "$a" = "-L" ] || [ "$a" = "--label-regex" ]; then exclude=(); fi
done
ctest --test-dir build --output-on-failure -j "${OGAI_TEST_JOBS:-2}" "${exclude[@]}" "$@"
