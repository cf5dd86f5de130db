// Compiles the collector's BPF program with the loader's build helper
// (clang -target bpf, vmlinux.h from the running kernel's BTF). Incremental.
const path = require('node:path');
const { buildBpfObject } = require('@pgferret/bpf-loader');

const root = path.join(__dirname, '..');
buildBpfObject({
  source: path.join(root, 'bpf', 'pgferret.bpf.c'),
  output: path.join(root, 'build', 'pgferret.bpf.o'),
  includeDirs: [path.join(root, 'bpf')],
});
