// pg.Pool hands a waiting caller its client from inside another request's
// release (pg-pool's pending queue), so pool.query()'s internal connect
// callback, and the client.query() it makes, would run in that other
// request's async context: wrong trace, wrong tags. Binding the callback to
// the caller's context (AsyncResource.bind, which carries every
// AsyncLocalStorage including OTel's context manager) fixes that.
import { AsyncResource } from 'node:async_hooks';

const PATCH = Symbol.for('pgferret.poolConnect');

type Connect = (this: object, ...args: unknown[]) => unknown;
interface PoolProto {
  connect?: Connect & { [PATCH]?: true };
}

export interface PgPoolClass {
  prototype: object;
}

export function patchPool(Pool: PgPoolClass): void {
  const proto = Pool.prototype as PoolProto;
  if (Object.prototype.hasOwnProperty.call(proto, 'connect') && proto.connect?.[PATCH]) return;
  const base = Object.getPrototypeOf(proto) as PoolProto | null;
  const own = Object.prototype.hasOwnProperty.call(proto, 'connect') ? proto.connect : undefined;
  if (typeof (own ?? base?.connect) !== 'function') return;
  const wrapper: Connect & { [PATCH]?: true } = function connect(this: object, ...args: unknown[]) {
    // looked up per call so a later wrap of the base (instrumentation-pg) still runs
    const original = (own ?? base?.connect) as Connect;
    const cb = args[0];
    if (typeof cb === 'function') args[0] = AsyncResource.bind(cb as (...a: unknown[]) => unknown);
    return original.apply(this, args);
  };
  wrapper[PATCH] = true;
  Object.defineProperty(wrapper, '__pgferretOriginal', { value: own });
  proto.connect = wrapper;
}

export function unpatchPool(Pool: PgPoolClass): void {
  const proto = Pool.prototype as PoolProto;
  const current = proto.connect as (Connect & { [PATCH]?: true; __pgferretOriginal?: Connect }) | undefined;
  if (!Object.prototype.hasOwnProperty.call(proto, 'connect') || !current?.[PATCH]) return;
  if (current.__pgferretOriginal) proto.connect = current.__pgferretOriginal;
  else delete proto.connect;
}
