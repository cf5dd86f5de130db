#!/usr/bin/env bash
# Stock Debian kernels for the kernel matrix (test/kernels.test.ts): the newest
# 6.1 (Debian 12's own kernel) and the newest 6.12 (bookworm's newer one) cloud
# builds, resolved from the apt lists at each run so that a Debian point release
# is picked up. `apt-get download` + `dpkg-deb -x` into a cache: they are never
# installed as this machine's kernel. Idempotent: a cached version is not fetched again.
#
# Writes $CACHE/matrix: one line per kernel, "<series> <uname -r> <directory>".
set -euo pipefail
CACHE=${PGFERRET_KERNEL_CACHE:-/var/cache/pgferret-kernels}
log() { printf '[kernels] %s\n' "$*"; }

# series label and package-name pattern (between linux-image- and -cloud-amd64-unsigned)
SERIES=('6.1' '6\.1\.0-[0-9]+' '6.12' '6\.12\.[0-9]+\+deb12')

newest() {
  apt-cache search --names-only "^linux-image-$1-cloud-amd64-unsigned\$" | cut -d' ' -f1 | sort -V | tail -n1
}

# Refresh the package lists once a day (a new point release shows up there);
# offline, go on with what the lists already name.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_InRelease' -mmin -1440 2>/dev/null | head -n1)" ]; then
  log "apt-get update (package lists older than a day)"
  apt-get update -qq || log "apt-get update failed: using the package lists as they are"
fi

if ! mkdir -p "$CACHE" 2>/dev/null || [ ! -w "$CACHE" ]; then
  echo "[kernels] cannot write $CACHE: run as root (sudo npm test) or set PGFERRET_KERNEL_CACHE to a writable directory" >&2
  exit 1
fi
# one run at a time (two test runs may set up at once); a fetch interrupted earlier is dropped
exec 9> "$CACHE/.lock"
flock 9
rm -rf "$CACHE"/.fetch.*
matrix=""
for ((i = 0; i < ${#SERIES[@]}; i += 2)); do
  label=${SERIES[i]}
  pkg=$(newest "${SERIES[i + 1]}")
  if [ -z "$pkg" ]; then
    echo "[kernels] no linux-image-${label}.*-cloud-amd64-unsigned package in the apt lists (bookworm, bookworm-updates): check /etc/apt/sources.list.d" >&2
    exit 1
  fi
  version=${pkg#linux-image-}
  version=${version%-unsigned}
  dir="$CACHE/$version"
  if [ ! -f "$dir/boot/vmlinuz-$version" ]; then
    log "fetching $pkg"
    tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
    (cd "$tmp" && apt-get download -qq "$pkg" 2>&1 | grep -v 'unsandboxed' >&2 || true)
    deb=$(ls "$tmp"/*.deb 2>/dev/null | head -n1)
    if [ -z "$deb" ]; then
      rm -rf "$tmp"
      # offline: the kernel of this series fetched before still tests something
      old=$(grep "^$label " "$CACHE/matrix" 2>/dev/null || true)
      if [ -n "$old" ]; then
        log "apt-get download $pkg failed: keeping ${old#* }"
        matrix+="$old"$'\n'
        continue
      fi
      echo "[kernels] apt-get download $pkg failed (no network to deb.debian.org?)" >&2
      exit 1
    fi
    dpkg-deb -x "$deb" "$tmp/root"
    rm -rf "$dir"
    mv "$tmp/root" "$dir" # whole or absent: a half-extracted kernel is never cached
    rm -rf "$tmp"
  fi
  matrix+="$label $version $dir"$'\n'
done
printf '%s' "$matrix" > "$CACHE/matrix.tmp"
mv "$CACHE/matrix.tmp" "$CACHE/matrix"

# Older point releases are no longer in the matrix: drop them.
for d in "$CACHE"/*/; do
  d=${d%/}
  grep -q " $d\$" "$CACHE/matrix" || rm -rf "$d"
done
log "$(tr '\n' ';' < "$CACHE/matrix" | sed 's/;$//; s/;/; /g')"
