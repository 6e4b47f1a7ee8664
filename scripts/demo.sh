#!/usr/bin/env bash
# README command 1: set up, build, and train the tiny example on this machine's CPU.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/build.sh"
exec "$ROOT/build/bin/ogai-run" examples/tiny.yaml "$@"
