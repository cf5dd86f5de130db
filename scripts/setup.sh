#!/usr/bin/env bash
# Makes this machine ready to build, test and demo pgferret. Idempotent: each
# step checks before it acts, so `npm test` and `npm run demo` can run it every time.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

# Debian packages: PostgreSQL (tests and USDT probe points), the BPF toolchain,
# sys/sdt.h for the loader's test binary, Chromium for the UI tests, Prometheus
# (and promtool) for the metrics tests, QEMU, busybox and cpio for the kernel
# matrix (test/kernels.test.ts).
APT_PACKAGES=(
  postgresql postgresql-contrib
  clang llvm libbpf-dev bpftool linux-libc-dev
  systemtap-sdt-dev binutils util-linux libcap2-bin
  chromium
  prometheus
  make g++ python3 pkg-config
  qemu-system-x86 busybox-static cpio xz-utils zstd
)
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
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Stock Debian kernels for the kernel matrix, cached (never installed as this machine's kernel).
bash scripts/kernels.sh

# The Debian cluster that postgresql-common creates is not used by pgferret's
# tests (they start their own); leave it as the package left it.

# npm dependencies: reinstall only when the lockfile changed since the last install.
# (package.json pins jest's unrs-resolver to 1.12.2: the registry serves 1.13.0
# without its other-platform bindings, and npm ci refuses a lockfile missing them.)
stamp=node_modules/.pgferret-lock.sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

# The SDK's compatibility matrix (packages/sdk/test/matrix/*/): small apps,
# each with its own package.json and lockfile, installed from the registry
# the same way, each only when its lockfile changed.
for dir in packages/sdk/test/matrix/*/; do
  [ -f "${dir}package-lock.json" ] || continue
  stamp="${dir}node_modules/.pgferret-lock.sha"
  want=$(sha256sum "${dir}package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "npm ci in ${dir}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
done

bash scripts/build.sh
