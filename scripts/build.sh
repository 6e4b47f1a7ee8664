#!/usr/bin/env bash
# Configures and builds ogai into build/ (Release). Extra arguments go to cmake.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/deps.sh"
# The web pages' front-end packages (uPlot, pinned by web/package-lock.json) into
# web/node_modules, from npm's cache that scripts/deps.sh filled: no registry access. When it
# fails the build goes on and the report and dashboard say that charts are unavailable and why.
if ! npm_err="$(cd web && npm ci --offline --no-audit --no-fund --loglevel=error 2>&1 >/dev/null)"; then
  echo "ogai: npm ci --offline in web/ failed, pages will have no charts: $(echo "$npm_err" | head -n 2)" >&2
fi
JOBS="${OGAI_BUILD_JOBS:-$(nproc)}"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j "$JOBS"
