// Patches pg's Client.prototype._pulseQueryQueue, which client.query() calls
// right after it pushes a query onto the queue. instrumentation-pg wraps
// Client.prototype.query and never this method, so neither patch can unwrap
// or re-wrap the other, whichever is applied first. Done once per Client
// class, reversible; formatting errors never reach the application.
import { annotateQueued, type QueuedQuery } from './annotate';
import { hookPgInstrumentations, setPgSpanCapture } from '../trace/pg-span';
import { serializePair } from '../comment/format';
import { resolveOptions, type Settings } from '../options';

interface ClientInternals {
  _queryQueue?: unknown;
  queryQueue?: unknown; // pg < 8.12
  query?: unknown;
}

type Pulse = (this: ClientInternals, ...args: unknown[]) => unknown;
interface Patch {
  original: Pulse;
  wrapper: Pulse;
  enabled: boolean;
}

export interface PgClientClass {
  prototype: object;
}

const PATCH = Symbol.for('pgferret.queueHook');
const patched = new Set<{ [PATCH]?: Patch }>();
let settings: Settings = resolveOptions();
let lastQueryFn: unknown;

export function configure(next: Settings): void {
  settings = next;
}

function lastQueued(client: ClientInternals): QueuedQuery | undefined {
  const queue = client._queryQueue ?? client.queryQueue;
  if (!Array.isArray(queue) || queue.length === 0) return undefined;
  const q: unknown = queue[queue.length - 1];
  return typeof q === 'object' && q !== null ? (q as QueuedQuery) : undefined;
}

export function patchClient(Client: PgClientClass, pgVersion: string | undefined): void {
  const proto = Client.prototype as { _pulseQueryQueue?: Pulse; [PATCH]?: Patch };
  setPgSpanCapture(true);
  hookPgInstrumentations((proto as { query?: unknown }).query);
  const existing = proto[PATCH];
  if (existing) {
    existing.enabled = true;
    if (proto._pulseQueryQueue !== existing.wrapper && proto._pulseQueryQueue === existing.original) {
      proto._pulseQueryQueue = existing.wrapper;
    }
    patched.add(proto);
    return;
  }
  const original = proto._pulseQueryQueue;
  if (typeof original !== 'function') {
    throw new Error('@pgferret/sdk: this pg Client has no _pulseQueryQueue method (pg.native or an unsupported pg version); use pg 8 with the JavaScript client');
  }
  const driverPair = serializePair('db_driver', pgVersion ? `pg:${pgVersion}` : 'pg');
  const patch: Patch = {
    original,
    enabled: true,
    wrapper: function pulseQueryQueue(this: ClientInternals, ...args: unknown[]) {
      if (patch.enabled) {
        try {
          if (this.query !== lastQueryFn) {
            // query() was (re)wrapped, maybe by an instrumentation loaded after us
            lastQueryFn = this.query;
            hookPgInstrumentations(lastQueryFn);
          }
          const q = lastQueued(this);
          if (q !== undefined) annotateQueued(this, q, settings, settings.tags ? driverPair : undefined);
        } catch {
          // a query goes out unmodified rather than fail because of its comment
        }
      }
      return original.apply(this, args);
    },
  };
  proto[PATCH] = patch;
  proto._pulseQueryQueue = patch.wrapper;
  patched.add(proto);
}

/** Removes the patch (or, when something wrapped it since, turns it into a pass-through). */
export function unpatchClient(Client: PgClientClass): void {
  const proto = Client.prototype as { _pulseQueryQueue?: Pulse; [PATCH]?: Patch };
  const patch = proto[PATCH];
  if (!patch) return;
  patch.enabled = false;
  if (proto._pulseQueryQueue === patch.wrapper) proto._pulseQueryQueue = patch.original;
  patched.delete(proto);
  if (patched.size === 0) setPgSpanCapture(false);
}

export function unpatchAll(): void {
  for (const proto of [...patched]) unpatchClient({ prototype: proto });
}
