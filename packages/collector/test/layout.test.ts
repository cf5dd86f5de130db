// The generated layout (src/events/layout.generated.ts) against the header it
// comes from, both ways: every struct field, enum member and define of
// bpf/pgferret.h has its entry with the compiler's number, and the table has
// nothing the header lacks.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as layout from '../src/events/layout';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { readHeader, STRUCTS, ENUMS } = require('../scripts/gen-layout.js');
const header = path.join(__dirname, '..', 'bpf', 'pgferret.h');
const h = readHeader(fs.readFileSync(header, 'utf8')) as { structs: Record<string, string[]>; enums: Record<string, string[]>; defines: string[] };

function compileAndRun(body: string): Record<string, number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-layout-'));
  try {
    const src = path.join(dir, 'layout.c');
    fs.writeFileSync(src, `#include <stdio.h>\n#include <stddef.h>\n#include <linux/types.h>\n#include "${header}"\nint main(void){\n${body}\nreturn 0;}\n`);
    execFileSync('cc', ['-o', path.join(dir, 'layout'), src]);
    const out = execFileSync(path.join(dir, 'layout'), { encoding: 'utf8' });
    return Object.fromEntries(out.trim().split('\n').map((l) => { const [k, v] = l.split('='); return [k, Number(v)]; }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const table = layout as unknown as Record<string, Record<string, number> | number>;

describe('event layout: bpf/pgferret.h vs the generated table', () => {
  const lines: string[] = [];
  for (const [s, fields] of Object.entries(h.structs)) {
    for (const f of fields) lines.push(`printf("${s}.${f}=%zu\\n", offsetof(struct ${s}, ${f}));`);
    lines.push(`printf("${s}.size=%zu\\n", sizeof(struct ${s}));`);
  }
  for (const members of Object.values(h.enums)) for (const m of members) lines.push(`printf("${m}=%lld\\n", (long long)(${m}));`);
  for (const d of h.defines) lines.push(`printf("${d}=%lld\\n", (long long)(${d}));`);
  const c = compileAndRun(lines.join('\n'));

  it('has every struct field of the header at the compiler\'s offset, and nothing else', () => {
    for (const [s, fields] of Object.entries(h.structs)) {
      const t = table[STRUCTS[s]] as Record<string, number>;
      expect(Object.keys(t).sort()).toEqual([...fields, 'size'].sort());
      for (const f of [...fields, 'size']) expect([s, f, t[f]]).toEqual([s, f, c[`${s}.${f}`]]);
    }
  });

  it('has every enum member and define of the header with its value, and nothing else', () => {
    for (const [e, members] of Object.entries(h.enums)) {
      const t = table[ENUMS[e]] as Record<string, number>;
      const named = members.filter((m) => !m.endsWith('__MAX'));
      expect(Object.keys(t)).toHaveLength(named.length);
      for (const m of named) {
        const key = Object.keys(t).find((k) => m.endsWith(`_${k}`));
        expect([m, key && t[key]]).toEqual([m, c[m]]);
      }
    }
    for (const d of h.defines) expect([d, table[d.replace(/^PF_/, '')]]).toEqual([d, c[d]]);
    expect(layout.COUNTER_COUNT).toBe(c.PF_CNT__MAX);
  });

  it('records are 8-byte aligned where the ring buffer needs it', () => {
    expect(layout.HEADER.size % 8).toBe(0);
    expect(layout.MARK.size % 8).toBe(0);
    expect(layout.START.text % 8).toBe(0);
  });
});
