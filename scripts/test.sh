#!/usr/bin/env bash
# README command 2: set up, build, and run the test suite (what CI runs).
# Extra arguments go to ctest, e.g. `scripts/test.sh -R Config` or `-L slurm`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/build.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Tests labelled `heavy` (long multi-rank sweeps) run only when asked for: `scripts/test.sh -L heavy`.
exclude=(-LE heavy)
for a in "$@"; do
  if [ "$a" = "-L" ] || [ "$a" = "--label-regex" ]; then exclude=(); fi
done
ctest --test-dir build --output-on-failure -j "${OGAI_TEST_JOBS:-2}" "${exclude[@]}" "$@"
