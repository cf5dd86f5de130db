#!/usr/bin/env bash
# Makes packages/collector/build/arm64/vmlinux.h: the arm64 kernel types the
# collector's BPF object is compiled against in test/arm64.test.ts (it runs
# on x86-64 only today; the test keeps it building for arm64, docs/arm64.md).
# Source: the BTF inside Debian's arm64 cloud kernel (linux-image-*-cloud-arm64-
# unsigned), fetched with apt-get from a private apt state in a temp dir: the
# host's dpkg gets no foreign architecture and nothing is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=packages/collector/build/arm64
[ -s "$out/vmlinux.h" ] && exit 0

log() { printf '[arm64-vmlinux] %s\n' "$*"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/sources"
cp /etc/apt/sources.list.d/debian.sources "$work/sources/" 2>/dev/null || true
[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$work/sources/debian.list"
cat > "$work/apt.conf" <<CONF
APT::Architecture "arm64";
APT::Architectures { "arm64"; };
APT::Sandbox::User "root";
Dir::State::Lists "$work/lists";
Dir::State::status "/dev/null";
Dir::Cache "$work/cache";
Dir::Etc::sourcelist "/dev/null";
Dir::Etc::sourceparts "$work/sources";
CONF
export APT_CONFIG=$work/apt.conf
log "apt-get update (arm64 package lists, private to this run)"
apt-get update -qq
pkg=$(apt-cache search --names-only '^linux-image-[0-9.]+-[0-9]+-cloud-arm64-unsigned$' | awk '{print $1}' | sort -V | tail -n1)
if [ -z "$pkg" ]; then
  echo "[arm64-vmlinux] no linux-image-*-cloud-arm64-unsigned package in the configured Debian sources: check /etc/apt/sources.list.d/" >&2
  exit 1
fi
log "apt-get download $pkg:arm64"
(cd "$work" && apt-get download -qq "$pkg:arm64" 2>/dev/null)
dpkg-deb --fsys-tarfile "$work"/*.deb | tar -x -C "$work" --wildcards './boot/vmlinuz-*'
image=$(ls "$work"/boot/vmlinuz-*)
# arm64's vmlinuz is an Image (gzip-compressed on some kernels), not an ELF:
# the BTF blob is found by its header (magic 0xeB9F, version 1, 24-byte header).
if [ "$(head -c2 "$image" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then gunzip -c "$image" > "$work/Image"; else cp "$image" "$work/Image"; fi
node -e '
const fs = require("fs");
const img = fs.readFileSync(process.argv[1]);
const magic = Buffer.from([0x9f, 0xeb, 0x01, 0x00, 0x18, 0x00, 0x00, 0x00]);
let best = null;
for (let at = img.indexOf(magic); at !== -1; at = img.indexOf(magic, at + 1)) {
  const [typeOff, typeLen, strOff, strLen] = [8, 12, 16, 20].map((o) => img.readUInt32LE(at + o));
  const size = 24 + strOff + strLen;
  if (typeOff === 0 && strOff === typeLen && at + size <= img.length && (!best || size > best.size)) best = { at, size };
}
if (!best) { console.error("[arm64-vmlinux] no BTF in " + process.argv[1] + ": is the kernel built with CONFIG_DEBUG_INFO_BTF?"); process.exit(1); }
fs.writeFileSync(process.argv[2], img.subarray(best.at, best.at + best.size));
' "$work/Image" "$work/vmlinux.btf"
mkdir -p "$out"
bpftool btf dump file "$work/vmlinux.btf" format c > "$work/vmlinux.h"
grep -q 'syscallno' "$work/vmlinux.h" || { echo "[arm64-vmlinux] the BTF of $pkg has no arm64 struct pt_regs" >&2; exit 1; }
mv "$work/vmlinux.h" "$out/vmlinux.h"
echo "$pkg" > "$out/kernel"
log "wrote $out/vmlinux.h from $pkg"
