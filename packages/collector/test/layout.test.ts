// The C header is the one definition of the event records: compile it, print
// every size and offset, and compare with the decoder's table.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CONFIG, COUNTER_COUNT, Counter, HEADER, MARK, MarkKind, Origin, RecordType, START, TEXT_MAX } from '../src/events/layout';

const header = path.join(__dirname, '..', 'bpf', 'pgferret.h');

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

const off = (s: string, f: string) => `printf("${s}.${f}=%zu\\n", offsetof(struct ${s}, ${f}));`;
const size = (s: string) => `printf("${s}.size=%zu\\n", sizeof(struct ${s}));`;
const val = (n: string) => `printf("${n}=%d\\n", (int)(${n}));`;

describe('event layout: bpf/pgferret.h vs src/events/layout.ts', () => {
  const c = compileAndRun([
    off('pf_header', 'type'), off('pf_header', 'pid'), off('pf_header', 'ts_ns'), size('pf_header'),
    off('pf_mark', 'kind'), off('pf_mark', 'value'), size('pf_mark'),
    ...['trace_id', 'parent_span_id', 'flags', 'origin', 'text_len', 'text_total', 'ppid', 'malformed', 'text'].map((f) => off('pf_start', f)),
    size('pf_start'),
    ...['enabled', 'root_sample_ppm', 'text_max', 'filter_ppid'].map((f) => off('pf_config', f)), size('pf_config'),
    val('PF_TEXT_MAX'), val('PF_REC_START'), val('PF_REC_MARK'), val('PF_CNT__MAX'),
    ...Object.keys(MarkKind).map((k) => val(`PF_MARK_${k}`)),
    ...Object.keys(Origin).map((k) => val(`PF_ORIGIN_${k}`)),
    ...Object.keys(Counter).map((k) => val(`PF_CNT_${k}`)),
  ].join('\n'));

  it('header record', () => {
    expect({ type: c['pf_header.type'], pid: c['pf_header.pid'], ts_ns: c['pf_header.ts_ns'], size: c['pf_header.size'] }).toEqual(HEADER);
  });
  it('mark record', () => {
    expect({ kind: c['pf_mark.kind'], value: c['pf_mark.value'], size: c['pf_mark.size'] }).toEqual(MARK);
  });
  it('start record', () => {
    const fromC = Object.fromEntries(Object.keys(START).map((k) => [k, c[`pf_start.${k}`]]));
    expect(fromC).toEqual(START);
    expect(c.PF_TEXT_MAX).toBe(TEXT_MAX);
  });
  it('settings map value', () => {
    const fromC = Object.fromEntries(Object.keys(CONFIG).map((k) => [k, c[`pf_config.${k}`]]));
    expect(fromC).toEqual(CONFIG);
  });
  it('enum values', () => {
    expect(c.PF_REC_START).toBe(RecordType.START);
    expect(c.PF_REC_MARK).toBe(RecordType.MARK);
    for (const [k, v] of Object.entries(MarkKind)) expect([k, c[`PF_MARK_${k}`]]).toEqual([k, v]);
    for (const [k, v] of Object.entries(Origin)) expect([k, c[`PF_ORIGIN_${k}`]]).toEqual([k, v]);
    for (const [k, v] of Object.entries(Counter)) expect([k, c[`PF_CNT_${k}`]]).toEqual([k, v]);
    expect(c.PF_CNT__MAX).toBe(COUNTER_COUNT);
  });
});
