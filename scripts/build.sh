#!/usr/bin/env bash
# Builds everything: the loader's N-API addon, the BPF objects, the TypeScript
# packages, the Prisma example's client. Each step is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[build] %s\n' "$*"; }

for ws in packages/bpf-loader packages/collector; do
  if grep -q '"build:native"' "$ws/package.json"; then
    log "$ws: native"
    npm run --silent -w "$ws" build:native
  fi
done

log "tsc -b"
npx tsc -b

for ws in examples/prisma; do
  if grep -q '"build"' "$ws/package.json"; then
    log "$ws"
    npm run --silent -w "$ws" build
  fi
done
