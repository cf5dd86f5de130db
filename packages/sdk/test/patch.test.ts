// src/patch.ts next to a real InstrumentationBase (its _wrap/_unwrap are
// shimmer's, as in instrumentation-pg): whichever patches first, and however
// often the instrumentation re-patches (pg/lib/client.js, then pg), each
// wrapper is there once, the instrumentation's on top of ours; each side
// removes only its own.
import { InstrumentationBase, isWrapped } from '@opentelemetry/instrumentation';
import { isOurs, wrapMethod } from '../src/patch';

type Fn = (this: unknown, ...args: unknown[]) => unknown;

class Other extends InstrumentationBase {
  constructor() {
    super('other', '1.0.0', { enabled: false });
  }
  protected init() {
    return [];
  }
  /** what instrumentation-pg's _patchPgClient does: unwrap if wrapped, then wrap */
  patch(target: { m: Fn }): void {
    if (isWrapped(target.m)) this._unwrap(target, 'm');
    this._wrap(target, 'm', (original: Fn) =>
      function (this: unknown, ...args: unknown[]) {
        return `other(${String(original.apply(this, args))})`;
      },
    );
  }
  unpatch(target: { m: Fn }): void {
    if (isWrapped(target.m)) this._unwrap(target, 'm');
  }
}

function target(): { m: Fn } {
  return { m: () => 'pg' };
}

const ours = (t: object) => wrapMethod(t, 'm', (beneath, self, args) => `sdk(${String(beneath.apply(self, args))})`);

test('ours first, the instrumentation patching twice after: it wraps on top of ours, once', () => {
  const t = target();
  const other = new Other();
  ours(t);
  other.patch(t);
  other.patch(t);
  expect(t.m()).toBe('other(sdk(pg))');
  other.unpatch(t);
  expect(t.m()).toBe('sdk(pg)');
});

test('the instrumentation first: its re-patch takes its own wrapper from beneath ours and wraps on top', () => {
  const t = target();
  const other = new Other();
  other.patch(t);
  ours(t);
  expect(t.m()).toBe('sdk(other(pg))');
  other.patch(t);
  expect(t.m()).toBe('other(sdk(pg))');
});

test('the instrumentation disabled while ours is on top: only its wrapper goes', () => {
  const t = target();
  const other = new Other();
  other.patch(t);
  ours(t);
  other.unpatch(t);
  expect(t.m()).toBe('sdk(pg)');
  expect(isOurs(t.m)).toBe(true);
});

test('patched once; removing ours restores the method, or passes through when something wrapped it since', () => {
  const t = target();
  const original = t.m;
  const a = ours(t);
  expect(ours(t)).toBe(a);
  expect(t.m()).toBe('sdk(pg)');
  a.unwrap();
  expect(t.m).toBe(original);

  const other = new Other();
  const b = ours(t);
  other.patch(t);
  b.unwrap();
  expect(t.m()).toBe('other(pg)');
  other.unpatch(t);
  expect(t.m()).toBe('pg');
});

test('an inherited method is looked up per call, so a later wrap of the base class still runs; removing ours deletes the own property', () => {
  class Base {
    m(): unknown {
      return 'pg';
    }
  }
  class Sub extends Base {}
  const other = new Other();
  const w = ours(Sub.prototype);
  other.patch(Base.prototype as unknown as { m: Fn });
  expect(new Sub().m()).toBe('sdk(other(pg))');
  w.unwrap();
  expect(Object.prototype.hasOwnProperty.call(Sub.prototype, 'm')).toBe(false);
  expect(new Sub().m()).toBe('other(pg)');
});
