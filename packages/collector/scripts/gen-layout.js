// Generates src/events/layout.generated.ts from bpf/pgferret.h, the one
// definition of the records: the header's structs, enums and numeric
// defines are listed by reading it, and every offset, size and value is
// printed by a C program compiled against it with the host compiler, so
// the numbers are the compiler's, not a second reading of the C.
// Incremental: does nothing when the output is newer than the header.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const header = path.join(root, 'bpf', 'pgferret.h');
const output = path.join(root, 'src', 'events', 'layout.generated.ts');

// TypeScript names for the header's types; a type missing here fails the build.
const STRUCTS = {
  pf_header: 'HEADER', pf_mark: 'MARK', pf_reply: 'REPLY', pf_backend: 'BACKEND', pf_start: 'START',
  pf_backend_state: 'BACKEND_STATE', pf_config: 'CONFIG', pf_wait: 'WAIT', pf_lock: 'LOCK', pf_usage: 'USAGE',
  pf_nest: 'NEST', pf_cluster: 'CLUSTER', pf_sample: 'SAMPLE',
};
const ENUMS = {
  pf_record_type: 'RecordType', pf_mark_kind: 'MarkKind', pf_origin: 'Origin', pf_message: 'Message',
  pf_backend_event: 'BackendEvent', pf_proto: 'Proto', pf_counter: 'Counter', pf_edge: 'Edge', pf_nest_text: 'NestText', pf_crypt: 'Crypt',
  pf_scs: 'Scs',
};

/** Structs (with field names), enums (with member names) and numeric defines of the header. */
function readHeader(text) {
  const src = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const structs = {};
  for (const m of src.matchAll(/struct\s+(\w+)\s*\{([^}]*)\}\s*;/g)) {
    structs[m[1]] = [];
    for (const decl of m[2].split(';')) {
      const d = decl.trim();
      if (!d) continue;
      // `__u32 a, b`, `char text[N]`, `struct pf_header h`
      const names = d.replace(/^(struct\s+)?\w+\s+/, '').split(',').map((n) => n.trim().replace(/\[.*\]$/, ''));
      structs[m[1]].push(...names);
    }
  }
  const enums = {};
  for (const m of src.matchAll(/enum\s+(\w+)\s*\{([^}]*)\}\s*;/g)) {
    enums[m[1]] = m[2].split(',').map((e) => e.trim().split('=')[0].trim()).filter(Boolean);
  }
  const defines = [...src.matchAll(/^#define\s+(PF_\w+)\s+(0x[0-9a-fA-F]+|\d+)\s*$/gm)].map((m) => m[1]);
  return { structs, enums, defines };
}

function commonPrefix(names) {
  let p = names[0];
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1);
  return p.slice(0, p.lastIndexOf('_') + 1);
}

function compileAndRun(body) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-layout-'));
  try {
    const src = path.join(dir, 'layout.c');
    fs.writeFileSync(src, `#include <stdio.h>\n#include <stddef.h>\n#include <linux/types.h>\n#include "${header}"\nint main(void){\n${body}\nreturn 0;}\n`);
    execFileSync('cc', ['-o', path.join(dir, 'layout'), src]);
    return execFileSync(path.join(dir, 'layout'), { encoding: 'utf8' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function generate() {
  const h = readHeader(fs.readFileSync(header, 'utf8'));
  const lines = [];
  for (const [s, fields] of Object.entries(h.structs)) {
    if (!STRUCTS[s]) throw new Error(`${header}: struct ${s} has no TypeScript name in scripts/gen-layout.js`);
    for (const f of fields) lines.push(`printf("S ${s} ${f} %zu\\n", offsetof(struct ${s}, ${f}));`);
    lines.push(`printf("S ${s} size %zu\\n", sizeof(struct ${s}));`);
  }
  for (const [e, members] of Object.entries(h.enums)) {
    if (!ENUMS[e]) throw new Error(`${header}: enum ${e} has no TypeScript name in scripts/gen-layout.js`);
    for (const m of members) lines.push(`printf("E ${e} ${m} %lld\\n", (long long)(${m}));`);
  }
  for (const d of h.defines) lines.push(`printf("D ${d} %lld\\n", (long long)(${d}));`);
  const out = compileAndRun(lines.join('\n'));

  const structs = {};
  const enums = {};
  const defines = {};
  for (const line of out.trim().split('\n')) {
    const [kind, a, b, c] = line.split(' ');
    if (kind === 'S') (structs[a] ??= {})[b] = Number(b === 'size' ? c : c);
    if (kind === 'E') (enums[a] ??= {})[b] = Number(c);
    if (kind === 'D') defines[a] = Number(b);
  }
  let ts = '// Generated from bpf/pgferret.h by scripts/gen-layout.js at build time. Do not edit.\n\n';
  for (const [d, v] of Object.entries(defines)) ts += `export const ${d.replace(/^PF_/, '')} = ${v};\n`;
  for (const [e, members] of Object.entries(enums)) {
    const names = Object.keys(members).filter((m) => !m.endsWith('__MAX'));
    const prefix = commonPrefix(names);
    ts += `\nexport const ${ENUMS[e]} = {\n`;
    for (const m of names) ts += `  ${m.slice(prefix.length)}: ${members[m]},\n`;
    ts += '} as const;\n';
    ts += `export type ${ENUMS[e]} = (typeof ${ENUMS[e]})[keyof typeof ${ENUMS[e]}];\n`;
    const max = Object.keys(members).find((m) => m.endsWith('__MAX'));
    if (max) ts += `export const ${ENUMS[e].toUpperCase()}_COUNT = ${members[max]};\n`;
  }
  for (const [s, fields] of Object.entries(structs)) {
    ts += `\nexport const ${STRUCTS[s]} = {\n`;
    for (const [f, v] of Object.entries(fields)) ts += `  ${f}: ${v},\n`;
    ts += '} as const;\n';
  }
  // the header's own names, for the test that checks the table both ways
  ts += `\nexport const HEADER_NAMES = ${JSON.stringify({ structs: h.structs, enums: h.enums, defines: h.defines })} as const;\n`;
  fs.writeFileSync(output, ts);
}

if (require.main === module) {
  const fresh = fs.existsSync(output) && fs.statSync(output).mtimeMs >= fs.statSync(header).mtimeMs && fs.statSync(output).mtimeMs >= fs.statSync(__filename).mtimeMs;
  if (!fresh) generate();
}
module.exports = { readHeader, STRUCTS, ENUMS };
