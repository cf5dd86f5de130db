// Patches pg's Client.prototype._pulseQueryQueue, which client.query() calls
// right after it pushes a query onto the queue. pg has no public hook between
// "query object built" and "sent": a Client#query wrapper registered after
// instrumentation-pg's runs before that span exists, one registered before it
// cannot be guaranteed (NodeSDK and --require decide the order). This method
// is private to pg, so it is only patched on the pg versions the test matrix
// covers (PG_RANGE; packages/sdk/test/pg-internals.test.ts fails when pg moves
// it). Done once per Client class, reversible; an error while formatting is
// reported once through diag.warn and the query goes out unmodified.
import * as semver from 'semver';
import { isWrapped } from '@opentelemetry/instrumentation';
import { annotateQueued, type QueuedQuery } from './annotate';
import { hookLoadedPgInstrumentations } from '../trace/pg-span-fallback';
import { serializePair } from '../comment/format';
import { warnOnce } from '../diag/warn-once';
import { resolveOptions, type Settings } from '../options';
import { followSession, sessionStandardConformingStrings, type SessionClient } from './session';

/** pg versions whose Client keeps a query queue pulsed by _pulseQueryQueue (checked by the matrix: 8.0.3 and latest). */
export const PG_RANGE = '>=8.0.3 <9';

const ANNOTATED = Symbol('pgferret.annotated');

interface ClientInternals extends SessionClient {
  _queryQueue?: unknown;
  queryQueue?: unknown; // pg < 8.12
  query?: unknown;
  /** the queued query annotated last: pg pulses the queue again later, and a query is annotated once */
  [ANNOTATED]?: QueuedQuery;
}

type Pulse = (this: ClientInternals, ...args: unknown[]) => unknown;
interface Patch {
  original: Pulse;
  wrapper: Pulse;
  /** connect(), wrapped to follow the session's ParameterStatus from the start */
  connect?: { original: Pulse; wrapper: Pulse };
  enabled: boolean;
  driverPair: string | undefined;
}

export interface PgClientClass {
  prototype: object;
}

const PATCH = Symbol.for('pgferret.queueHook');
const patched = new Set<{ [PATCH]?: Patch }>();
let settings: Settings = resolveOptions();
let lastQueryFn: unknown;
let queryWrapped = false;

export function configure(next: Settings): void {
  settings = next;
}

function lastQueued(client: ClientInternals): QueuedQuery | undefined {
  const queue = client._queryQueue ?? client.queryQueue;
  if (!Array.isArray(queue) || queue.length === 0) return undefined;
  const q: unknown = queue[queue.length - 1];
  return typeof q === 'object' && q !== null ? (q as QueuedQuery) : undefined;
}

function driverPairFor(pgVersion: string | undefined): string | undefined {
  return serializePair('db_driver', pgVersion ? `pg:${pgVersion}` : 'pg');
}

function checkVersion(pgVersion: string | undefined): void {
  if (pgVersion === undefined) {
    warnOnce('pg-version', `cannot tell which pg version is loaded; patching it as pg ${PG_RANGE} (queries carry db_driver='pg')`);
  } else if (!semver.satisfies(pgVersion, PG_RANGE)) {
    throw new Error(`@pgferret/sdk: pg ${pgVersion} is not supported (this SDK hooks pg's query queue, tested on pg ${PG_RANGE}); use pg 8`);
  }
}

export function patchClient(Client: PgClientClass, pgVersion: string | undefined): void {
  const proto = Client.prototype as { _pulseQueryQueue?: Pulse; [PATCH]?: Patch };
  hookLoadedPgInstrumentations();
  const existing = proto[PATCH];
  if (existing) {
    existing.enabled = true;
    // a patch applied before the version was known (pg/lib/client.js loads first)
    if (pgVersion !== undefined) existing.driverPair = driverPairFor(pgVersion);
    if (proto._pulseQueryQueue !== existing.wrapper && proto._pulseQueryQueue === existing.original) {
      proto._pulseQueryQueue = existing.wrapper;
    }
    const protoConnect = proto as { connect?: Pulse };
    if (existing.connect && protoConnect.connect === existing.connect.original) protoConnect.connect = existing.connect.wrapper;
    patched.add(proto);
    return;
  }
  checkVersion(pgVersion);
  const original = proto._pulseQueryQueue;
  if (typeof original !== 'function') {
    throw new Error('@pgferret/sdk: this pg Client has no _pulseQueryQueue method (pg.native or an unsupported pg version); use pg 8 with the JavaScript client');
  }
  const patch: Patch = {
    original,
    enabled: true,
    driverPair: driverPairFor(pgVersion),
    wrapper: function pulseQueryQueue(this: ClientInternals) {
      if (patch.enabled) {
        try {
          if (this.query !== lastQueryFn) {
            // query() was (re)wrapped, maybe by an instrumentation loaded after us
            lastQueryFn = this.query;
            queryWrapped = isWrapped(lastQueryFn);
            hookLoadedPgInstrumentations();
          }
          followSession(this);
          const q = lastQueued(this);
          if (q !== undefined && this[ANNOTATED] !== q) {
            this[ANNOTATED] = q;
            annotateQueued(q, settings, settings.tags ? patch.driverPair : undefined, queryWrapped, sessionStandardConformingStrings(this));
          }
        } catch (err) {
          warnOnce('annotate', 'a query was sent without its comment because formatting it failed', err);
        }
      }
      // `arguments` rather than a rest array: no allocation per call
      return original.apply(this, arguments as unknown as unknown[]);
    },
  };
  const protoConnect = proto as { connect?: Pulse };
  const originalConnect = protoConnect.connect;
  if (typeof originalConnect === 'function') {
    const wrapper: Pulse = function connect(this: ClientInternals): unknown {
      if (patch.enabled) {
        try {
          followSession(this);
        } catch (err) {
          warnOnce('session', "cannot follow the session's standard_conforming_strings (queries whose end depends on it get their comment at the start)", err);
        }
      }
      return originalConnect.apply(this, arguments as unknown as unknown[]);
    };
    patch.connect = { original: originalConnect, wrapper };
    protoConnect.connect = wrapper;
  }
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
  const protoConnect = proto as { connect?: Pulse };
  if (patch.connect && protoConnect.connect === patch.connect.wrapper) protoConnect.connect = patch.connect.original;
  patched.delete(proto);
}

export function unpatchAll(): void {
  for (const proto of [...patched]) unpatchClient({ prototype: proto });
}
