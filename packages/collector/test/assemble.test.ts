// The assembler on record sequences the kernel emits for the simple and
// extended protocols with each probe set (no kernel needed).
import type { StartRecord } from '../src/events/decode';
import { MarkKind as K, Message, UNIT_NONE } from '../src/events/layout';
import { errorFields, rowsOfTag } from '../src/events/replies';
import { Assembler, type Statement } from '../src/spans/assemble';

const start = (pid: number, ts: number, message: number, unit: number, text = 'SELECT 1', span = 'b'.repeat(16)): StartRecord => ({
  pid, ppid: 1, tsNs: ts, traceId: 'a'.repeat(32), parentSpanId: span, flags: 1, origin: 2, malformed: false,
  message, unit, name: 0, text, textTotal: text.length,
});
const tag = (s: string) => Buffer.from(`${s}\0`);
const err = (code: string, msg: string) => Buffer.from(`SERROR\0VERROR\0C${code}\0M${msg}\0Fint.c\0\0`);
const phases = (s: Statement) => s.phases.map((p) => `${p.name}:${p.startNs}-${p.endNs}${p.failed ? '!' : ''}`);

function assembler(timed = true) {
  const out: Statement[] = [];
  const a = new Assembler({ statement: (s) => out.push(s) }, () => timed);
  return { a, out };
}

describe('Assembler', () => {
  it('simple protocol, USDT set: parse from arrival, commit from execution end to ReadyForQuery', () => {
    const { a, out } = assembler();
    a.start(start(7, 100, Message.QUERY, 0));
    a.mark(7, 130, K.PLAN_BEGIN, 0, 0);
    a.mark(7, 150, K.EXEC_BEGIN, 0, 0);
    a.mark(7, 160, K.EXEC_END, 0, 0);
    a.reply(7, 170, 0, 0x43, tag('SELECT 3'));
    a.mark(7, 180, K.IDLE, 1, 0x49);
    expect(out).toHaveLength(1);
    const s = out[0];
    expect([s.startNs, s.endNs, s.rows, s.failed, s.txStatus, s.incomplete, s.timed]).toEqual([100, 180, 3, false, 'I', false, true]);
    expect(phases(s)).toEqual(['parse:100-130', 'plan:130-150', 'execute:150-160', 'commit:160-180']);
  });

  it('extended protocol: execution ends where PortalRun ends, the commit runs from there to ReadyForQuery (both probe sets)', () => {
    const { a, out } = assembler();
    a.start(start(7, 100, Message.PARSE, UNIT_NONE, 'SELECT $1'));
    a.mark(7, 101, K.UNIT, 0, 0);
    a.mark(7, 130, K.PLAN_BEGIN, 0, 0);
    a.mark(7, 150, K.EXEC_BEGIN, 0, 0);
    a.mark(7, 165, K.EXEC_END, 0, 0);
    a.reply(7, 175, 0, 0x43, tag('SELECT 1'));
    a.mark(7, 180, K.IDLE, 1, 0x49);
    expect(phases(out[0])).toEqual(['parse:100-130', 'plan:130-150', 'execute:150-165', 'commit:165-180']);
    expect(out[0].start.text).toBe('SELECT $1');
  });

  it('named statements: a later execution gets the text of its Parse, as a root; an unknown name is counted', () => {
    const { a, out } = assembler();
    // the Parse was sampled (traceparent): its own execution is parented
    a.start({ ...start(7, 100, Message.PARSE, UNIT_NONE, 'SELECT $1 AS named'), name: 42 });
    a.mark(7, 101, K.UNIT, 0, 0);
    a.reply(7, 110, 0, 0x43, tag('SELECT 1'));
    a.mark(7, 120, K.IDLE, 1, 0x49);
    // another one, not sampled: only its text comes
    a.start({ ...start(7, 130, Message.NAMED, UNIT_NONE, 'SELECT $1 AS other'), traceId: null, parentSpanId: null, origin: 3, name: 43 });
    // later cycles: Bind/Execute of each, sampled as roots
    for (const [unit, name] of [[1, 42], [3, 43]]) {
      a.mark(7, 200 + unit, K.NAMED_EXEC, unit, name);
      a.reply(7, 210 + unit, unit, 0x43, tag('SELECT 1'));
      a.mark(7, 220 + unit, K.IDLE, unit + 1, 0x49);
    }
    a.mark(7, 300, K.NAMED_EXEC, 5, 99);
    a.mark(7, 320, K.IDLE, 6, 0x49);
    expect(out.map((s) => [s.start.text, s.start.traceId, s.start.origin, s.startNs, s.rows])).toEqual([
      ['SELECT $1 AS named', 'a'.repeat(32), 2, 100, 1],
      ['SELECT $1 AS named', null, 3, 201, 1],
      ['SELECT $1 AS other', null, 3, 203, 1],
    ]);
    // a named execution was not parsed here: no parse phase
    expect(out[1].phases.map((p) => p.name)).not.toContain('parse');
    expect(a.unknownNamed).toBe(1);
  });

  it('inside a transaction block (status T) there is no commit phase', () => {
    const { a, out } = assembler();
    a.start(start(7, 100, Message.QUERY, 4));
    a.mark(7, 150, K.EXEC_BEGIN, 4, 0);
    a.mark(7, 160, K.EXEC_END, 4, 0);
    a.reply(7, 170, 4, 0x43, tag('UPDATE 2'));
    a.mark(7, 180, K.IDLE, 5, 0x54);
    expect(phases(out[0])).toEqual(['parse:100-150', 'execute:150-160']);
    expect([out[0].rows, out[0].txStatus]).toEqual([2, 'T']);
  });

  it('the query id a reply carries: signed, as pg_stat_statements shows it; none when 0, none on a multi-statement string', () => {
    const { a, out } = assembler(false);
    a.start(start(7, 100, Message.QUERY, 0));
    a.reply(7, 110, 0, 0x43, tag('SELECT 1'), 0xb348b8b0e5a9f48fn);
    a.mark(7, 120, K.IDLE, 1, 0x49);
    a.start(start(7, 130, Message.QUERY, 1));
    a.reply(7, 140, 1, 0x43, tag('SELECT 1'), 0n);
    a.mark(7, 150, K.IDLE, 2, 0x49);
    a.start(start(7, 160, Message.QUERY, 2, 'SELECT 1; SELECT 2'));
    a.reply(7, 170, 2, 0x43, tag('SELECT 1'), 42n);
    a.reply(7, 170, 2, 0x43, tag('SELECT 1'), 42n);
    a.mark(7, 180, K.IDLE, 3, 0x49);
    expect(out.map((s) => s.queryId)).toEqual([BigInt.asIntN(64, 0xb348b8b0e5a9f48fn).toString(), null, null, null]);
    expect(out[0].queryId).toMatch(/^-\d+$/);
  });

  it('a Query with three statements: split at each planning after an execution, replies in order, commit on the last', () => {
    const { a, out } = assembler();
    a.start(start(7, 100, Message.QUERY, 0, 'CREATE TABLE t(a int); INSERT INTO t VALUES (1); SELECT * FROM t'));
    for (const [ts, k] of [[130, K.EXEC_BEGIN], [140, K.EXEC_END], [150, K.PLAN_BEGIN], [160, K.EXEC_BEGIN], [170, K.EXEC_END], [180, K.PLAN_BEGIN], [190, K.EXEC_BEGIN], [200, K.EXEC_END]]) a.mark(7, ts, k, 0, 0);
    a.reply(7, 205, 0, 0x43, tag('CREATE TABLE'));
    a.reply(7, 205, 0, 0x43, tag('INSERT 0 1'));
    a.reply(7, 205, 0, 0x43, tag('SELECT 1'));
    a.mark(7, 220, K.IDLE, 1, 0x49);
    expect(out.map((s) => [s.index, s.startNs, s.endNs, s.rows])).toEqual([[0, 100, 140, null], [1, 140, 170, 1], [2, 170, 220, 1]]);
    expect(phases(out[0])).toEqual(['parse:100-130', 'execute:130-140']);
    expect(phases(out[1])).toEqual(['parse:140-150', 'plan:150-160', 'execute:160-170']);
    expect(phases(out[2])).toEqual(['parse:170-180', 'plan:180-190', 'execute:190-200', 'commit:200-220']);
  });

  it('an ErrorResponse fails the statement, with its SQLSTATE and message, in the phase it was in', () => {
    const { a, out } = assembler();
    a.start(start(7, 100, Message.QUERY, 0, 'SELECT 1/0; SELECT 2'));
    a.mark(7, 130, K.PLAN_BEGIN, 0, 0);
    a.mark(7, 150, K.EXEC_BEGIN, 0, 0);
    a.reply(7, 170, 0, 0x45, err('22012', 'division by zero'));
    a.mark(7, 180, K.IDLE, 1, 0x49);
    expect(out).toHaveLength(1); // the second statement never ran
    expect([out[0].failed, out[0].sqlstate, out[0].error?.message]).toEqual([true, '22012', 'division by zero']);
    expect(phases(out[0])).toEqual(['parse:100-130', 'plan:130-150', 'execute:150-170!']);
  });

  it('a pipeline: each sampled Execute has its own Parse (text and context), unsampled ones in between are skipped', () => {
    const { a, out } = assembler();
    a.start(start(7, 100, Message.PARSE, UNIT_NONE, 'SELECT 1', '1'.repeat(16)));
    a.mark(7, 100, K.UNIT, 10, 0);
    a.start(start(7, 100, Message.PARSE, UNIT_NONE, 'SELECT 3', '3'.repeat(16)));
    a.mark(7, 100, K.UNIT, 12, 0);
    for (const [ts, k, u] of [[110, K.EXEC_BEGIN, 10], [120, K.EXEC_END, 10], [150, K.EXEC_BEGIN, 12], [160, K.EXEC_END, 12]]) a.mark(7, ts, k, u, 0);
    a.reply(7, 170, 10, 0x43, tag('SELECT 1'));
    a.reply(7, 170, 12, 0x43, tag('SELECT 1'));
    a.mark(7, 180, K.IDLE, 13, 0x49);
    expect(out.map((s) => [s.start.text, s.start.parentSpanId, s.endNs])).toEqual([['SELECT 1', '1'.repeat(16), 120], ['SELECT 3', '3'.repeat(16), 180]]);
    expect(phases(out[0])).toEqual(['parse:100-110', 'execute:110-120']);
    expect(phases(out[1])).toEqual(['parse:100-150', 'execute:150-160', 'commit:160-180']);
  });

  it('a Parse executed twice: the second execution has no parse phase and starts at its Execute', () => {
    const { a, out } = assembler();
    a.start(start(7, 100, Message.PARSE, UNIT_NONE));
    a.mark(7, 100, K.UNIT, 0, 0);
    a.mark(7, 105, K.UNIT, 1, 0);
    for (const [ts, k, u] of [[110, K.EXEC_BEGIN, 0], [120, K.EXEC_END, 0], [130, K.EXEC_BEGIN, 1], [140, K.EXEC_END, 1]]) a.mark(7, ts, k, u, 0);
    a.reply(7, 150, 0, 0x43, tag('SELECT 1'));
    a.reply(7, 150, 1, 0x43, tag('SELECT 1'));
    a.mark(7, 160, K.IDLE, 2, 0x49);
    expect(out.map((s) => [s.startNs, phases(s)])).toEqual([[100, ['parse:100-110', 'execute:110-120']], [105, ['execute:130-140', 'commit:140-160']]]);
  });

  it('a backend without phase probes yet (or getting them while the statement runs): the statement span alone, marked untimed', () => {
    const { a, out } = assembler(false);
    a.start(start(7, 100, Message.QUERY, 0));
    a.mark(7, 130, K.PLAN_BEGIN, 0, 0);
    a.reply(7, 170, 0, 0x43, tag('SELECT 1'));
    a.mark(7, 180, K.IDLE, 1, 0x49);
    expect([out[0].phases, out[0].timed, out[0].rows, out[0].endNs]).toEqual([[], false, 1, 180]);
  });

  it('whether a statement is timed is asked for the whole time it ran: from its arrival to its ReadyForQuery', () => {
    const out: Statement[] = [];
    const asked: number[][] = [];
    // probes in place from 50 to 150: the second statement, running from 100 to 180, lost them meanwhile
    const a = new Assembler({ statement: (s) => out.push(s) }, (pid, from, to) => {
      asked.push([pid, from, to]);
      return from >= 50 && to <= 150;
    });
    a.start(start(7, 60, Message.QUERY, 0));
    a.mark(7, 90, K.IDLE, 1, 0x49);
    a.start(start(7, 100, Message.QUERY, 1));
    a.mark(7, 130, K.PLAN_BEGIN, 1, 0);
    a.reply(7, 170, 1, 0x43, tag('SELECT 1'));
    a.mark(7, 180, K.IDLE, 2, 0x49);
    expect(asked).toEqual([[7, 60, 90], [7, 100, 180]]);
    expect(out.map((s) => s.timed)).toEqual([true, false]);
  });

  it('units of a backend that is gone end incomplete; records for unknown units are counted', () => {
    const { a, out } = assembler();
    a.start(start(7, 100, Message.QUERY, 0));
    a.start(start(9, 100, Message.QUERY, 0));
    a.mark(7, 120, K.EXEC_BEGIN, 0, 0);
    a.sweep((pid) => pid === 9);
    expect(out.map((s) => [s.start.pid, s.incomplete])).toEqual([[7, true]]);
    expect(a.openCycles).toBe(1);
    a.mark(8, 210, K.EXEC_BEGIN, 3, 0);
    a.reply(8, 210, 3, 0x43, tag('SELECT 1'));
    a.mark(8, 210, K.UNIT, 3, 0);
    expect(a.orphanMarks).toBe(3);
  });

  it('units numbers wrap around 2^32', () => {
    const { a, out } = assembler();
    a.start(start(7, 100, Message.QUERY, 0xffffffff));
    a.reply(7, 170, 0xffffffff, 0x43, tag('SELECT 1'));
    a.mark(7, 180, K.IDLE, 0, 0x49);
    expect(out).toHaveLength(1);
  });

  it('a ReadyForQuery ends the units before it, in unit order across the wrap, whatever order they opened in; later ones stay open', () => {
    const { a, out } = assembler();
    for (const [ts, unit] of [[100, 0xfffffffe], [110, 0], [105, 0xffffffff], [120, 1]]) {
      a.start(start(7, ts, Message.QUERY, unit));
      a.reply(7, ts + 1, unit, 0x43, tag('SELECT 1'));
    }
    a.mark(7, 130, K.IDLE, 1, 0x49);
    expect(out.map((s) => s.start.unit)).toEqual([0xfffffffe, 0xffffffff, 0]);
    expect(a.openCycles).toBe(1);
    a.mark(7, 140, K.IDLE, 2, 0x49);
    expect(out.map((s) => s.start.unit)).toEqual([0xfffffffe, 0xffffffff, 0, 1]);
    expect(a.openCycles).toBe(0);
  });
});

describe('replies', () => {
  it.each([
    ['SELECT 5', 5], ['INSERT 0 12', 12], ['UPDATE 3', 3], ['DELETE 0', 0], ['COPY 7', 7], ['MERGE 2', 2],
    ['CREATE TABLE', null], ['BEGIN', null], ['', null],
  ])('rows of %j: %j', (t, rows) => expect(rowsOfTag(tag(t))).toBe(rows));

  it('error fields, and a body cut by the kernel copy limit', () => {
    expect(errorFields(err('23505', 'duplicate key'))).toEqual({ severity: 'ERROR', sqlstate: '23505', message: 'duplicate key' });
    const cut = err('23505', 'duplicate key value violates unique constraint').subarray(0, 40);
    expect(errorFields(cut)).toEqual({ severity: 'ERROR', sqlstate: '23505', message: 'duplicate key valu…' });
  });
});
