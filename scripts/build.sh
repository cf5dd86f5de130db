#!/usr/bin/env bash
# Builds everything: the loader's N-API addon, the TypeScript packages, the
# collector's BPF object, the Prisma example's client, the installable
# tarballs. Each step is incremental. `build.sh demo` builds only what
# `npm run demo` runs (no Prisma client, no tarballs).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[build] %s\n' "$*"; }
mode=${1:-all}

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

# codes the installed PostgreSQL minor adds to the checked-in table (22P07 in 15.20)
log "collector: SQLSTATE names of the installed PostgreSQL"
node packages/collector/scripts/gen-sqlstate.js --installed

examples=(examples/express)
[ "$mode" = demo ] || examples+=(examples/prisma)
for ws in "${examples[@]}"; do
  if grep -q '"build"' "$ws/package.json"; then
    log "$ws"
    npm run --silent -w "$ws" build
  fi
done

# Installable packages, as a user installs them: npm install <path>/pgferret-sdk-<v>.tgz
# @pgferret/sql is on no registry, so the SDK and the collector carry it inside
# (bundleDependencies). npm pack in a workspace bundles nothing (the dependency is
# a hoisted symlink), so those two are repacked from a staging copy whose
# node_modules holds the sql tarball's contents.
[ "$mode" = demo ] && exit 0
log "npm pack → tarballs/"
mkdir -p tarballs
tarballs=$(pwd)/tarballs
for ws in packages/sql packages/bpf-loader; do
  npm pack --silent -w "$ws" --pack-destination tarballs >/dev/null
done
sql_tgz=$tarballs/pgferret-sql-$(node -p "require('./packages/sql/package.json').version").tgz
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for ws in packages/sdk packages/collector; do
  rm -rf "$stage"/*
  tgz=$(npm pack --silent -w "$ws" --pack-destination "$stage" | tail -n1)
  tar xzf "$stage/$tgz" -C "$stage"
  mkdir -p "$stage/package/node_modules/@pgferret/sql"
  tar xzf "$sql_tgz" -C "$stage/package/node_modules/@pgferret/sql" --strip-components=1
  (cd "$stage/package" && npm pack --silent --pack-destination "$tarballs" >/dev/null)
  listing=$(tar tzf "$tarballs/$tgz")
  grep -qx 'package/node_modules/@pgferret/sql/dist/index.js' <<<"$listing" \
    || { echo "[build] $tgz does not contain @pgferret/sql, so installing it alone would fail with E404: the repack step of scripts/build.sh did not bundle it; check that tarballs/pgferret-sql-*.tgz exists and run bash scripts/build.sh again" >&2; exit 1; }
done
