#!/usr/bin/env bash
# Builds everything: the loader's N-API addon, the TypeScript packages, the
# collector's BPF object, the Prisma example's client. Each step is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[build] %s\n' "$*"; }

log "bpf-loader: native addon"
npm run --silent -w packages/bpf-loader build:native

log "collector: event layout from bpf/pgferret.h"
node packages/collector/scripts/gen-layout.js

# the loader first: it compiles the BPF object, whose map and program names
# the collector's TypeScript is then generated against
log "tsc -b packages/bpf-loader"
npx tsc -b packages/bpf-loader

log "collector: BPF object"
npm run --silent -w packages/collector build:bpf

log "collector: map and program names from the BPF object"
node packages/collector/scripts/gen-bpf-names.js

log "tsc -b"
npx tsc -b

for ws in examples/prisma examples/express; do
  if grep -q '"build"' "$ws/package.json"; then
    log "$ws"
    npm run --silent -w "$ws" build
  fi
done

# Installable packages, as a user installs them: npm install <path>/pgferret-sdk-<v>.tgz
log "npm pack → tarballs/"
mkdir -p tarballs
for ws in packages/sql packages/sdk packages/bpf-loader packages/collector; do
  npm pack --silent -w "$ws" --pack-destination tarballs >/dev/null
done
