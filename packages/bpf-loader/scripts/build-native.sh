#!/usr/bin/env bash
# Builds the N-API addon with node-gyp, skipping the (slow) build when the
# .node file is newer than every source.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/Release/bpf_loader.node
if [[ -f $out ]] && [[ -z $(find src/addon binding.gyp scripts/build-native.sh -newer "$out" -print -quit) ]]; then
  exit 0
fi
gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
[[ -f $gyp ]] || gyp="$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
# Offline machines point npm at local headers (nodedir in .npmrc).
nodedir="${npm_config_nodedir:-$(cd / && npm config get nodedir 2>/dev/null || true)}"
args=()
[[ -n $nodedir && $nodedir != undefined && -f $nodedir/include/node/node_api.h ]] && args+=(--nodedir="$nodedir")
log=$(mktemp)
cmd=rebuild
[[ -f build/Makefile ]] && cmd=build
if ! node "$gyp" "$cmd" "${args[@]}" >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log"
  exit 1
fi
grep -E "warning|error" "$log" >&2 || true
rm -f "$log"
touch "$out"
