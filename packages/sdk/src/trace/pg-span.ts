// @opentelemetry/instrumentation-pg creates its `pg.query` client span inside
// Client#query but never makes it the active span, so context.active() cannot
// name it. Its public `requestHook` option runs synchronously after the span
// is created and before the query is queued: the hook records the span here
// and the queue hook, still inside the same Client#query call, takes it for
// the query it queues. Nothing is kept across calls: a span not taken by the
// next queued query (or the one after, see takePgSpan) is dropped.
import type { Span } from '@opentelemetry/api';

/** instrumentation-pg's PgInstrumentationExecutionRequestHook, structurally. */
export type PgRequestHook = (span: Span, info: PgRequestHookInfo) => void;
export interface PgRequestHookInfo {
  query: { text: string; name?: string; values?: unknown[] };
  connection: { database?: string; host?: string; port?: number; user?: string };
}

/** What `pgInstrumentation` must offer: a PgInstrumentation (InstrumentationBase) instance. */
export interface PgInstrumentationLike {
  getConfig(): { requestHook?: unknown };
  setConfig(config: object): void;
}

const OURS = Symbol.for('pgferret.requestHook');

let pendingSpan: Span | undefined;
let pendingText: unknown;
let misses = 0;

/** Remembers the span instrumentation-pg made for the query with this text. */
export function recordPgSpan(span: Span, text: unknown): void {
  pendingSpan = span;
  pendingText = text;
  misses = 0;
}

/**
 * The span instrumentation-pg just created for the query being queued with
 * this text, taken once. A query queued in between with another text
 * (instrumentation-pg's own `SET application_name` when
 * enableTraceContextPropagation is on) leaves it for the next one.
 */
export function takePgSpan(text: string): Span | undefined {
  const span = pendingSpan;
  if (span === undefined) return undefined;
  if (pendingText !== text) {
    if (++misses > 1) pendingSpan = undefined;
    return undefined;
  }
  pendingSpan = undefined;
  return span;
}

export function pgSpanPending(): boolean {
  return pendingSpan !== undefined;
}

/**
 * A requestHook for `new PgInstrumentation({ requestHook })` that lets the
 * traceparent name instrumentation-pg's span, then calls `userHook` (your own
 * requestHook, if you have one) with the same arguments.
 */
export function pgferretRequestHook(userHook?: PgRequestHook): PgRequestHook {
  if (userHook !== undefined && typeof userHook !== 'function') {
    throw new TypeError(`@pgferret/sdk: pgferretRequestHook(userHook) takes a function, got ${typeof userHook}; pass your requestHook or nothing`);
  }
  if (userHook && (userHook as { [OURS]?: true })[OURS]) return userHook;
  const hook: PgRequestHook & { [OURS]?: true } = (span, info) => {
    recordPgSpan(span, info?.query?.text);
    if (userHook) userHook(span, info);
  };
  hook[OURS] = true;
  return hook;
}

/** Puts pgferretRequestHook on a PgInstrumentation, composed with the requestHook it already has. */
export function attachRequestHook(instrumentation: PgInstrumentationLike): void {
  const inst = instrumentation as Partial<PgInstrumentationLike> | null;
  if (typeof inst !== 'object' || inst === null || typeof inst.getConfig !== 'function' || typeof inst.setConfig !== 'function') {
    throw new TypeError(
      '@pgferret/sdk: pgInstrumentation must be the PgInstrumentation instance from @opentelemetry/instrumentation-pg (an object with getConfig() and setConfig()); pass the same instance you give to the OpenTelemetry SDK',
    );
  }
  const config = inst.getConfig();
  const current = config.requestHook as PgRequestHook | undefined;
  if (current && (current as { [OURS]?: true })[OURS]) return;
  inst.setConfig({ ...config, requestHook: pgferretRequestHook(current) });
}
