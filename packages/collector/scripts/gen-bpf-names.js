// Generates src/kernel/bpf-names.generated.ts from build/pgferret.bpf.o: the
// names of its maps and programs, as libbpf reads them from the object (what
// libbpf's skeletons and cilium/ebpf's bpf2go generate handles from). The
// code names a map or program through these constants, so renaming one in
// the C source is a compile error wherever the old name is still used.
// Incremental: does nothing when the output is newer than the object.
const fs = require('node:fs');
const path = require('node:path');
const { BpfObject } = require('@pgferret/bpf-loader');

const root = path.join(__dirname, '..');
const object = path.join(root, 'build', 'pgferret.bpf.o');
const output = path.join(root, 'src', 'kernel', 'bpf-names.generated.ts');

/** Maps and programs of a BPF object; internal maps ("<obj>.rodata", ".bss") are left out. */
function readObject(file) {
  const obj = BpfObject.open(file);
  try {
    return { maps: obj.maps().filter((m) => !m.includes('.')).sort(), programs: obj.programs().sort() };
  } finally {
    obj.close();
  }
}

function generate() {
  const { maps, programs } = readObject(object);
  const table = (name, names) =>
    `export const ${name} = {\n${names.map((n) => `  ${n}: '${n}',\n`).join('')}} as const;\n` +
    `export type ${name.slice(0, -1)}Name = (typeof ${name})[keyof typeof ${name}];\n`;
  const ts = '// Generated from build/pgferret.bpf.o by scripts/gen-bpf-names.js at build time. Do not edit.\n\n' +
    table('Maps', maps) + '\n' + table('Programs', programs);
  fs.writeFileSync(output, ts);
}

if (require.main === module) {
  const fresh = fs.existsSync(output) && fs.statSync(output).mtimeMs >= fs.statSync(object).mtimeMs && fs.statSync(output).mtimeMs >= fs.statSync(__filename).mtimeMs;
  if (!fresh) generate();
}
module.exports = { readObject };
