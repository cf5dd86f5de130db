// The SDK's one way to patch a method: once, reversibly, detectably. The
// wrapper carries shimmer's marks (__original, __unwrap, __wrapped), so
// isWrapped() and OpenTelemetry instrumentations see it, as they see each
// other's.
//
// InstrumentationBase#_wrap unwraps whatever isWrapped() finds on top before
// it wraps, taking it for its own earlier wrapper (instrumentation-pg patches
// pg/lib/client.js and then pg again). So our __unwrap drops the shimmer
// wrapper right beneath ours (theirs) and keeps ours: they then wrap on top
// of us, once, which is where the SDK wants to be.
import { isWrapped } from '@opentelemetry/instrumentation';

type Method = (this: unknown, ...args: unknown[]) => unknown;

export interface Wrapped {
  /** true while ours is the method callers reach first */
  onTop(): boolean;
  /** removes ours (a pass-through when something wrapped it since) */
  unwrap(): void;
}

const OURS = new WeakSet<object>();
const records = new WeakMap<object, Map<PropertyKey, Wrapped>>();

/**
 * Replaces target[name] with `body(beneath, this, args)`, unless ours is
 * already there (then returns that one). An inherited method is looked up
 * per call, so a later wrap of the base class still runs.
 */
export function wrapMethod(
  target: object,
  name: string,
  body: (beneath: Method, self: unknown, args: unknown[]) => unknown,
): Wrapped {
  const existing = records.get(target)?.get(name);
  if (existing) return existing;
  const t = target as Record<string, Method | undefined>;
  const own = Object.prototype.hasOwnProperty.call(target, name);
  let original = own ? t[name] : undefined;
  const base = Object.getPrototypeOf(target) as Record<string, Method | undefined> | null;
  const beneath = (): Method => (original ?? base?.[name]) as Method;
  if (typeof beneath() !== 'function') throw new TypeError(`@pgferret/sdk: no method ${name} to wrap`);
  let enabled = true;
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    return enabled ? body(beneath(), this, args) : beneath().apply(this, args);
  };
  Object.defineProperty(wrapper, 'name', { value: name });
  Object.defineProperty(wrapper, '__wrapped', { value: true, configurable: true });
  Object.defineProperty(wrapper, '__original', { get: beneath, configurable: true });
  Object.defineProperty(wrapper, '__unwrap', {
    configurable: true,
    value: () => {
      const under = beneath();
      if (original !== undefined && isWrapped(under)) original = (under as unknown as { __original: Method }).__original;
    },
  });
  OURS.add(wrapper);
  const record: Wrapped = {
    onTop: () => t[name] === wrapper,
    unwrap() {
      if (t[name] === wrapper) {
        if (own) t[name] = original;
        else delete t[name];
      } else {
        enabled = false;
      }
      records.get(target)?.delete(name);
    },
  };
  t[name] = wrapper;
  let byName = records.get(target);
  if (!byName) records.set(target, (byName = new Map()));
  byName.set(name, record);
  return record;
}

/** True when fn is a wrapper made by wrapMethod. */
export function isOurs(fn: unknown): boolean {
  return typeof fn === 'function' && OURS.has(fn);
}
