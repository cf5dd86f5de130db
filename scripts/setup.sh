#!/usr/bin/env bash
# Makes this machine ready for one command. Idempotent: each step checks before
# it acts, so `npm test` and `npm run demo` can run it every time.
#   bash scripts/setup.sh [test]   everything: the test suite's tools, the SDK's
#                                  matrix apps, every build step (npm test, CI)
#   bash scripts/setup.sh demo     what `npm run demo` uses: the build toolchain,
#                                  the root's npm packages, the build without the
#                                  Prisma example and the tarballs
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-test}
case $mode in
  test | demo) ;;
  *) echo "[setup] unknown mode '$mode': use 'test' (everything, the default) or 'demo' (what npm run demo needs)" >&2; exit 2 ;;
esac

log() { printf '[setup] %s\n' "$*"; }

# Runs a long step, printing how long it has been running every 15 s (npm ci
# and apt-get print nothing for minutes at the log levels used here); its
# output is shown only if it fails.
progress() {
  local what=$1; shift
  local out start pid rc
  out=$(mktemp)
  start=$SECONDS
  "$@" >"$out" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
      sleep 1
      kill -0 "$pid" 2>/dev/null || break 2
    done
    log "$what: still running ($((SECONDS - start)) s)"
  done
  rc=0
  wait "$pid" || rc=$?
  if ((rc != 0)); then
    cat "$out" >&2
    rm -f "$out"
    echo "[setup] $what failed (exit $rc): its output is above" >&2
    return "$rc"
  fi
  rm -f "$out"
  log "$what: done in $((SECONDS - start)) s"
}

# Debian packages: the BPF toolchain and a C/C++ toolchain (the loader's addon,
# better-sqlite3) for every command; for the tests also PostgreSQL (USDT probe
# points), sys/sdt.h for the loader's test binary, Chromium for the UI tests,
# Prometheus (and promtool) for the metrics tests, QEMU, busybox and cpio for
# the kernel matrix (test/kernels.test.ts).
APT_PACKAGES=(
  clang llvm libbpf-dev bpftool linux-libc-dev
  binutils util-linux libcap2-bin
  make g++ python3 pkg-config
)
if [ "$mode" = test ]; then
  APT_PACKAGES+=(postgresql postgresql-contrib pgbouncer systemtap-sdt-dev chromium prometheus)
  APT_PACKAGES+=(qemu-system-x86 busybox-static cpio xz-utils zstd)
fi
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "[setup] missing Debian packages: ${missing[*]}. Run this as root (sudo npm test) or install them with apt-get." >&2
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  progress "apt-get update" apt-get update -qq
  progress "apt-get install" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Stock Debian kernels for the kernel matrix, cached (never installed as this machine's kernel).
if [ "$mode" = test ]; then bash scripts/kernels.sh; fi

# The Debian cluster that postgresql-common creates is not used by pgferret's
# tests (they start their own); leave it as the package left it.

# npm dependencies: reinstall only when the lockfile changed since the last install.
# (package.json pins jest's unrs-resolver to 1.12.2: the registry serves 1.13.0
# without its other-platform bindings, and npm ci refuses a lockfile missing them.)
stamp=node_modules/.pgferret-lock.sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "npm ci (the first time: a few minutes)"
  progress "npm ci" npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

# The SDK's compatibility matrix (packages/sdk/test/matrix/*/): small apps,
# each with its own package.json and lockfile, installed from the registry
# the same way, each only when its lockfile changed. Only the tests use them.
if [ "$mode" = test ]; then for dir in packages/sdk/test/matrix/*/; do
  [ -f "${dir}package-lock.json" ] || continue
  stamp="${dir}node_modules/.pgferret-lock.sha"
  want=$(sha256sum "${dir}package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    progress "npm ci in ${dir}" bash -c "cd '$dir' && npm ci --no-audit --no-fund --loglevel=error"
    echo "$want" > "$stamp"
  fi
done; fi

# matrix/newest/ has no lockfile: every dependency at the registry's `latest`
# tag, resolved on every clean clone (CI) and again once a day here, so a
# release that moves what the SDK relies on fails the tests within a day.
if [ "$mode" = test ]; then
  dir=packages/sdk/test/matrix/newest
  stamp="$dir/node_modules/.pgferret-resolved"
  if [ -z "$(find "$stamp" -mmin -1440 2>/dev/null)" ]; then
    progress "npm install in $dir/ (the registry's latest releases)" bash -c \
      "cd '$dir' && rm -rf node_modules && npm install --no-package-lock --no-audit --no-fund --loglevel=error"
    date -u +%FT%TZ > "$stamp"
  fi
fi

bash scripts/build.sh "$mode"

# arm64 kernel types for test/arm64.test.ts (which compiles the BPF object for arm64)
if [ "$mode" = test ]; then bash scripts/arm64-vmlinux.sh; fi
