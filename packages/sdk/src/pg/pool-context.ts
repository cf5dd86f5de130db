// pg.Pool hands a waiting caller its client from inside another request's
// release (pg-pool's pending queue), so pool.query()'s internal connect
// callback, and the client.query() it makes, would run in that other
// request's async context: wrong trace, wrong tags. Binding the callback to
// the caller's context (AsyncResource.bind, which carries every
// AsyncLocalStorage including OTel's context manager) fixes that.
import { AsyncResource } from 'node:async_hooks';
import { wrapMethod, type Wrapped } from '../patch';

export interface PgPoolClass {
  prototype: object;
}

/** Wraps Pool#connect (pg's Pool inherits it from pg-pool, looked up per call so instrumentation-pg's wrap of it still runs). */
export function patchPool(Pool: PgPoolClass): Wrapped | undefined {
  if (typeof (Pool.prototype as { connect?: unknown }).connect !== 'function') return undefined;
  return wrapMethod(Pool.prototype, 'connect', (beneath, self, args) => {
    if (typeof args[0] === 'function') args[0] = AsyncResource.bind(args[0] as (...a: unknown[]) => unknown);
    return beneath.apply(self, args);
  });
}
