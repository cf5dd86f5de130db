// pgferretRequestHook / the pgInstrumentation option on a real PgInstrumentation
// (its public getConfig/setConfig), with real spans: the app's own requestHook
// keeps running, the hook is added once, and the span goes to the query with
// the same text only.
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { pgferretRequestHook, type PgRequestHookInfo } from '../src';
import { attachRequestHook, takePgSpan, pgSpanPending, withSpanFrame, type SpanFrame } from '../src/trace/pg-span';
import { startTracing, type Tracing } from './support/tracing';

let tracing: Tracing;
beforeAll(() => {
  tracing = startTracing();
});
afterAll(async () => {
  await tracing.shutdown();
});

const info = (text: string): PgRequestHookInfo => ({ query: { text }, connection: { database: 'db' } });

test('composes with the app’s requestHook and is added once', () => {
  const seen: string[] = [];
  const inst = new PgInstrumentation({ enabled: false, requestHook: (_span, i) => seen.push(i.query.text) });
  attachRequestHook(inst);
  attachRequestHook(inst);
  const hook = inst.getConfig().requestHook!;
  const span = tracing.tracer.startSpan('pg.query');
  hook(span, info('SELECT 1'));
  span.end();
  expect(seen).toEqual(['SELECT 1']);
  expect(takePgSpan('SELECT 1')).toBe(span);
  expect(pgferretRequestHook(hook as never)).toBe(hook);
});

test('a span goes to the query with its text, once; a query queued in between (SET application_name) is skipped once', () => {
  const hook = pgferretRequestHook();
  const span = tracing.tracer.startSpan('pg.query');
  hook(span, info('SELECT 2'));
  expect(takePgSpan("SET application_name = 'x'")).toBeUndefined();
  expect(takePgSpan('SELECT 2')).toBe(span);
  expect(takePgSpan('SELECT 2')).toBeUndefined();
  // never taken: dropped after the next two queued queries
  hook(span, info('SELECT 3'));
  expect(takePgSpan('SELECT 4')).toBeUndefined();
  expect(takePgSpan('SELECT 5')).toBeUndefined();
  expect(pgSpanPending()).toBe(false);
  expect(takePgSpan('SELECT 3')).toBeUndefined();
  span.end();
});

test('outside instrumentation-pg: the span goes to the open frame with its text, once, and nothing is left pending', () => {
  const hook = pgferretRequestHook();
  const span = tracing.tracer.startSpan('pg.query');
  const named: unknown[] = [];
  const frame: SpanFrame = { text: 'SELECT 7', name: (s) => named.push(s) };
  withSpanFrame(frame, () => {
    // instrumentation-pg's own query in between (another text) is not this frame's
    hook(span, info("SET application_name = 'x'"));
    expect(takePgSpan("SET application_name = 'x'")).toBe(span);
    // the private fallback and the requestHook both report the same span
    hook(span, info('SELECT 7'));
    hook(span, info('SELECT 7'));
  });
  expect(named).toEqual([span]);
  expect(frame.span).toBe(span);
  expect(pgSpanPending()).toBe(false);
  span.end();
});

test('an app hook that throws does not stop the span from being recorded', () => {
  const hook = pgferretRequestHook(() => {
    throw new Error('app hook failed');
  });
  const span = tracing.tracer.startSpan('pg.query');
  expect(() => hook(span, info('SELECT 6'))).toThrow('app hook failed'); // instrumentation-pg catches and logs it
  expect(takePgSpan('SELECT 6')).toBe(span);
  span.end();
});

test('bad arguments get an error that says what to pass', () => {
  expect(() => attachRequestHook({} as never)).toThrow(/pgInstrumentation must be the PgInstrumentation instance/);
  expect(() => pgferretRequestHook('nope' as never)).toThrow(/takes a function, got string/);
});
