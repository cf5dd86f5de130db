// @opentelemetry/instrumentation-pg creates its client span around
// Client.prototype.query but never makes it the active span, so the span a
// query's traceparent should name is out of reach of context.active(). Its
// query wrapper gets the span from `utils.handleConfigQuery` (looked up on the
// module object at call time) and then synchronously calls the real query(),
// which queues the query. We wrap handleConfigQuery to remember the span it
// returned for that client; the queue hook picks it up. The order in which
// the two instrumentations patched pg therefore does not matter.
import * as path from 'node:path';
import type { Span } from '@opentelemetry/api';

const UTILS_SUFFIX = ['@opentelemetry', 'instrumentation-pg', 'build', 'src', 'utils.js'].join(path.sep);
const HOOKED = Symbol.for('pgferret.handleConfigQuery');

interface PendingSpan {
  client: object;
  text: string | undefined;
  span: Span;
}

let pending: PendingSpan | undefined;
let active = false;

type HandleConfigQuery = ((this: object, tracer: unknown, config: unknown, queryConfig?: { text?: unknown }) => Span) & {
  [HOOKED]?: true;
};

function hook(utils: { handleConfigQuery?: HandleConfigQuery }): void {
  const original = utils.handleConfigQuery;
  if (typeof original !== 'function' || original[HOOKED]) return;
  const wrapped: HandleConfigQuery = function (this: object, tracer, config, queryConfig) {
    const span = original.call(this, tracer, config, queryConfig);
    if (active) {
      const text = queryConfig?.text;
      pending = { client: this, text: typeof text === 'string' ? text : undefined, span };
    }
    return span;
  };
  wrapped[HOOKED] = true;
  utils.handleConfigQuery = wrapped;
}

/**
 * Hooks every copy of instrumentation-pg loaded so far (cheap to call again).
 * `queryFn` is pg's current Client.prototype.query: when an instrumentation
 * wrapped it (shimmer marks it __wrapped) but no copy shows in require.cache
 * (jest keeps its own module registry), the copy we resolve is hooked.
 */
export function hookPgInstrumentations(queryFn?: unknown): void {
  let found = false;
  const cache = require.cache ?? {};
  for (const file of Object.keys(cache)) {
    if (!file.endsWith(UTILS_SUFFIX)) continue;
    const exports = cache[file]?.exports as { handleConfigQuery?: HandleConfigQuery } | undefined;
    if (exports) {
      hook(exports);
      found = true;
    }
  }
  if (!found && (queryFn as { __wrapped?: unknown } | undefined)?.__wrapped === true) {
    try {
      hook(require('@opentelemetry/instrumentation-pg/build/src/utils'));
    } catch {
      // not installed where we can resolve it: queries fall back to the active span
    }
  }
}

export function setPgSpanCapture(on: boolean): void {
  active = on;
  if (!on) pending = undefined;
}

/**
 * The span instrumentation-pg just created for a query this client is
 * queueing (undefined when it made none). Taken once: a later query on the
 * same client cannot reuse it.
 */
export function takePgSpan(client: object, text: string): Span | undefined {
  const p = pending;
  if (p === undefined || p.client !== client) return undefined;
  // a query it queued before ours (SET application_name) must not take our span
  if (p.text !== undefined && p.text !== text) return undefined;
  pending = undefined;
  return p.span;
}
