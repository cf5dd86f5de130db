// @opentelemetry/instrumentation-pg creates its `pg.query` client span inside
// Client#query but never makes it the active span, so context.active() cannot
// name it. Its public `requestHook` option runs synchronously after the span
// is created and before pg gets the query. Where the SDK's Client#query
// wrapper runs inside instrumentation-pg's, the hook runs first: the span is
// recorded here and taken by the wrapper for the query it is handed. Where
// it runs outside, the wrapper opens a frame before calling in, and the hook
// writes the comment into the frame's query config, which pg reads after.
// Nothing is kept across calls: a span not taken by the next query (or the
// one after, see takePgSpan) is dropped.
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

const ours = new WeakSet<PgRequestHook>();

/** A query handed down by a wrapper outside instrumentation-pg's, waiting for its span. */
export interface SpanFrame {
  text: string;
  /** writes the comment naming span into what pg will read */
  name(span: Span): void;
  /** the span it was given (the fallback and requestHook both report the same one) */
  span?: Span;
}

let frame: SpanFrame | undefined;
let pendingSpan: Span | undefined;
let pendingText: unknown;
let misses = 0;
let reporters = 0;

/** Runs fn (the call into instrumentation-pg) with `f` waiting for the span made for its text. */
export function withSpanFrame<T>(f: SpanFrame, fn: () => T): T {
  const outer = frame;
  frame = f;
  try {
    return fn();
  } finally {
    frame = outer;
  }
}

/** Something will report instrumentation-pg's spans (our requestHook exists, or the fallback hooked a copy). */
export function spansReported(): boolean {
  return reporters > 0;
}

export function addReporter(): void {
  reporters++;
}

/** Gives the span instrumentation-pg made for the query with this text to the open frame, or keeps it for the next query. */
export function recordPgSpan(span: Span, text: unknown): void {
  if (frame !== undefined && frame.text === text) {
    if (frame.span === undefined) {
      frame.span = span;
      frame.name(span);
    }
    return;
  }
  pendingSpan = span;
  pendingText = text;
  misses = 0;
}

/**
 * The span instrumentation-pg just created for the query passed down with
 * this text, taken once. A query passed down in between with another text
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
  if (userHook && ours.has(userHook)) return userHook;
  const hook: PgRequestHook = (span, info) => {
    recordPgSpan(span, info?.query?.text);
    if (userHook) userHook(span, info);
  };
  ours.add(hook);
  addReporter();
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
  if (current && ours.has(current)) return;
  inst.setConfig({ ...config, requestHook: pgferretRequestHook(current) });
}
