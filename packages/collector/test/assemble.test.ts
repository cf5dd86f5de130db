// The assembler on record sequences the kernel emits for the simple and
// extended protocols with each probe set (no kernel needed).
import type { StartRecord } from '../src/events/decode';
import { MarkKind as K } from '../src/events/layout';
import { Assembler, decodeSqlstate, type Statement } from '../src/spans/assemble';

const start = (pid: number, ts: number, text = 'SELECT 1'): StartRecord => ({
  pid, ppid: 1, tsNs: ts, traceId: 'a'.repeat(32), parentSpanId: 'b'.repeat(16), flags: 1, origin: 2, malformed: false, text, textTotal: text.length,
});

function run(pid: number, text: string, marks: [number, number, number?][]): Statement[] {
  const out: Statement[] = [];
  const a = new Assembler((s) => out.push(s));
  a.start(start(pid, 100, text));
  for (const [ts, kind, value] of marks) a.mark(pid, ts, kind, value ?? 0);
  return out;
}

const phases = (s: Statement) => s.phases.map((p) => `${p.name}:${p.startNs}-${p.endNs}`);

describe('Assembler', () => {
  it('simple protocol, USDT set', () => {
    const [s, ...rest] = run(7, 'SELECT 1', [
      [110, K.PARSE_BEGIN], [120, K.PARSE_END], [130, K.PLAN_BEGIN], [140, K.PLAN_END], [150, K.EXEC_BEGIN],
      [160, K.EXEC_END], [170, K.COMMIT_END], [175, K.ROWS, 3], [180, K.IDLE],
    ]);
    expect(rest).toHaveLength(0);
    expect([s.startNs, s.endNs, s.rows, s.failed]).toEqual([100, 180, 3, false]);
    expect(phases(s)).toEqual(['parse:110-120', 'plan:130-140', 'execute:150-160', 'commit:160-170']);
  });

  it('extended protocol, uprobe set (no parse begin, execute ends at commit begin)', () => {
    const [s] = run(7, 'SELECT $1', [
      [120, K.PARSE_END], [130, K.PLAN_BEGIN], [140, K.PLAN_END], [150, K.EXEC_BEGIN], [165, K.ROWS, 1],
      [170, K.COMMIT_BEGIN], [180, K.IDLE],
    ]);
    expect(phases(s)).toEqual(['parse:100-120', 'plan:130-140', 'execute:150-165', 'commit:170-180']);
  });

  it('multi-statement string: one statement per plan/execute, parse on the first, commit on the last', () => {
    const out = run(7, 'CREATE TABLE t(a int); INSERT INTO t VALUES (1); SELECT * FROM t', [
      [110, K.PARSE_BEGIN], [120, K.PARSE_END], [130, K.EXEC_BEGIN], [140, K.EXEC_END], [145, K.ROWS, 0],
      [150, K.PLAN_BEGIN], [155, K.PLAN_END], [160, K.EXEC_BEGIN], [170, K.EXEC_END], [175, K.ROWS, 1],
      [180, K.PLAN_BEGIN], [185, K.PLAN_END], [190, K.EXEC_BEGIN], [200, K.EXEC_END], [210, K.COMMIT_END], [215, K.ROWS, 1], [220, K.IDLE],
    ]);
    expect(out.map((s) => [s.index, s.startNs, s.endNs, s.rows])).toEqual([[0, 100, 145, 0], [1, 145, 175, 1], [2, 175, 220, 1]]);
    expect(phases(out[0])).toEqual(['parse:110-120', 'execute:130-140']);
    expect(phases(out[1])).toEqual(['plan:150-155', 'execute:160-170']);
    expect(phases(out[2])).toEqual(['plan:180-185', 'execute:190-200', 'commit:200-210']);
  });

  it('a failed statement carries its SQLSTATE', () => {
    const code = (s: string) => [...s].reduce((acc, ch, i) => acc | (((ch.charCodeAt(0) - 48) & 0x3f) << (6 * i)), 0);
    expect(decodeSqlstate(code('22012'))).toBe('22012');
    const [s] = run(7, 'SELECT 1/0', [[110, K.PARSE_BEGIN], [120, K.PARSE_END], [150, K.EXEC_BEGIN], [155, K.SQLSTATE, code('22012')], [160, K.ABORT], [180, K.IDLE]]);
    expect([s.failed, s.sqlstate]).toEqual([true, '22012']);
    expect(phases(s)).toEqual(['parse:110-120', 'execute:150-180']);
  });

  it('a warning SQLSTATE without abort is not a failure', () => {
    const [s] = run(7, 'SELECT 1', [[110, K.SQLSTATE, 0], [120, K.IDLE]]);
    expect([s.failed, s.sqlstate]).toEqual([false, null]);
  });

  it('a lost idle mark ends the cycle at the next start, marked incomplete', () => {
    const out: Statement[] = [];
    const a = new Assembler((s) => out.push(s));
    a.start(start(7, 100));
    a.mark(7, 120, K.EXEC_BEGIN, 0);
    a.start(start(7, 200));
    expect(out).toHaveLength(1);
    expect([out[0].endNs, out[0].incomplete]).toEqual([120, true]);
    a.mark(8, 210, K.IDLE, 0);
    expect(a.orphanMarks).toBe(1);
  });

  it('sweep ends cycles of backends that are gone', () => {
    const out: Statement[] = [];
    const a = new Assembler((s) => out.push(s));
    a.start(start(7, 100));
    a.start(start(9, 100));
    a.sweep((pid) => pid === 9);
    expect(out.map((s) => s.start.pid)).toEqual([7]);
    expect(a.openCycles).toBe(1);
  });
});
