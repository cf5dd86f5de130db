// buildSpans on hand-made statements: the lexer's second opinion on the
// kernel's trace context (issue 9, item 2) and the SQLSTATE status message.
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SpanStatusCode } from '@opentelemetry/api';
import type { StartRecord } from '../src/events/decode';
import { Message, Origin } from '../src/events/layout';
import type { Statement } from '../src/spans/assemble';
import { buildSpans } from '../src/spans/build';
import { MonotonicClock } from '../src/spans/clock';
import { checkTraceContext } from '../src/spans/confirm';
import { SqlDescriber } from '../src/spans/describe';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const PARENT = 'b7ad6b7169203331';
const TP = `00-${TRACE}-${PARENT}-01`;

const start = (text: string, origin: number, textTotal = Buffer.byteLength(text)): StartRecord => ({
  pid: 7, ppid: 1, tsNs: 1_000, traceId: TRACE, parentSpanId: PARENT, flags: 1, origin, malformed: false, message: Message.QUERY, unit: 0, name: 0, text, textTotal,
});

const statement = (s: StartRecord, sqlstate: string | null = null): Statement => ({
  start: s, index: 0, startNs: 1_000, endNs: 2_000, phases: [], rows: null, sqlstate, failed: sqlstate !== null, incomplete: false,
  error: sqlstate === null ? null : { severity: 'ERROR', sqlstate, message: '' }, txStatus: 'I', timed: true,
  spanId: '', inside: { samples: [], waits: [], locks: [], usage: null, nests: [], clockLateNs: 0 }, queryId: null,
});

const build = (st: Statement) => buildSpans(st, resourceFromAttributes({}), new MonotonicClock(), {}, new SqlDescriber(false), checkTraceContext(st.start))[0];

describe('checkTraceContext', () => {
  it('confirms a traceparent in the final comment or the leading one', () => {
    expect(checkTraceContext(start(`SELECT 1 /*traceparent='${TP}'*/;`, Origin.TAIL))).toBe('confirmed');
    expect(checkTraceContext(start(`/* /*traceparent='${TP}'*/ note */ SELECT 1`, Origin.HEAD))).toBe('confirmed');
  });
  it('rejects one the kernel took out of a literal (the issue 9 text)', () => {
    expect(checkTraceContext(start(`SELECT '/*' AS a, $$traceparent='${TP}'$$ AS b -- */`, Origin.TAIL))).toBe('rejected');
  });
  it('cannot vouch for the tail of a text the kernel cut', () => {
    expect(checkTraceContext(start("SELECT 'a", Origin.TAIL, 0))).toBe('unverifiable');
    expect(checkTraceContext(start("SELECT 'a", Origin.TAIL, 100_000))).toBe('unverifiable');
  });
  it('has nothing to check on a root', () => {
    expect(checkTraceContext({ ...start('SELECT 1', Origin.ROOT), traceId: null, parentSpanId: null })).toBe('root');
  });
});

describe('buildSpans', () => {
  it('parents a confirmed context to the app span', () => {
    const span = build(statement(start(`SELECT 1 /*traceparent='${TP}'*/`, Origin.TAIL)));
    expect(span.traceId).toBe(TRACE);
    expect(span.parentSpanId).toBe(PARENT);
    expect(span.attributes['pgferret.trace_context.malformed']).toBeUndefined();
  });
  it('makes a rejected context a root marked malformed', () => {
    const span = build(statement(start(`SELECT '/*' AS a, $$traceparent='${TP}'$$ AS b -- */`, Origin.TAIL)));
    expect(span.traceId).not.toBe(TRACE);
    expect(span.parentSpanId).toBeNull();
    expect(span.attributes).toMatchObject({ 'pgferret.trace_context.malformed': true, 'pgferret.trace_context.origin': 'rejected_not_in_comment' });
    expect(span.attributes['db.query.text']).toBe('SELECT ? AS a, ? AS b');
  });
  it('names the condition of a SQLSTATE in the error status', () => {
    const span = build(statement(start(`SELECT 1/0 /*traceparent='${TP}'*/`, Origin.TAIL), '22012'));
    expect([span.statusCode, span.statusMessage]).toEqual([SpanStatusCode.ERROR, 'division_by_zero (22012)']);
    expect(span.attributes['db.response.status_code']).toBe('22012');
  });
  it('gives each statement of a multi-statement string the context of its own comment (issue 9, item 3)', () => {
    const other = '1111111111111111';
    const text = `SELECT 1 /*traceparent='00-${TRACE}-${other}-01'*/; SELECT 2 /*traceparent='${TP}'*/`;
    const first = build({ ...statement(start(text, Origin.TAIL)), index: 0 });
    const second = build({ ...statement(start(text, Origin.TAIL)), index: 1 });
    expect(first.parentSpanId).toBe(other);
    expect(second.parentSpanId).toBe(PARENT);
  });
});
