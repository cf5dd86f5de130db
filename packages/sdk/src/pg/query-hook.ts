// Wraps pg's public Client#query: the comment is written while the app's
// query() call is on the stack, so it carries the context that was active
// when the app called, also for a query that waits behind a busy client, and
// before pg reads the text. Client#connect is wrapped too, to follow the
// session from its first ParameterStatus.
//
// The span named is instrumentation-pg's pg.query span when there is one
// (see trace/pg-span.ts). Inside instrumentation-pg's wrapper (the usual
// case: it wraps on top of ours, see patch.ts) its requestHook has already
// reported the span. Outside it (instrument() after pg was loaded and
// instrumented), the span does not exist yet: the query goes down as a copy
// of its config (the caller's object is never modified) and the requestHook
// writes the comment into it; pg reads the text after the hook has run.
import * as semver from 'semver';
import { createContextKey, context, type Span } from '@opentelemetry/api';
import { isWrapped } from '@opentelemetry/instrumentation';
import { wrapMethod, type Wrapped } from '../patch';
import { commentedText, endsItsSpan, skipped, textHolder, type QueryLike } from './annotate';
import { hookLoadedPgInstrumentations } from '../trace/pg-span-fallback';
import { pgSpanPending, spansReported, takePgSpan, withSpanFrame, type SpanFrame } from '../trace/pg-span';
import { activeSpan } from '../trace/traceparent';
import { serializePair } from '../comment/format';
import { warnOnce } from '../diag/warn-once';
import type { Settings } from '../options';
import { followSession, sessionStandardConformingStrings, type SessionClient } from './session';

/** pg versions the SDK is tested with (the matrix: 8.0.3 and latest); pg 9 changes what query() accepts. */
export const PG_RANGE = '>=8.0.3 <9';

/** Whoever patched: the settings in force for this Client class. */
export interface SettingsOwner {
  readonly settings: Settings;
}

export interface PgClientClass {
  prototype: object;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

interface ClientState {
  owner: SettingsOwner;
  driverPair: string | undefined;
  query: Wrapped;
  connect: Wrapped | undefined;
  /** the query method callers reached last time: when it changes, an instrumentation (re)wrapped it */
  top: unknown;
}

/** a submittable is the object that runs: its text is rewritten in place, once */
const ANNOTATED = Symbol('pgferret.annotated');
// @opentelemetry/core's key (createContextKey is Symbol.for of the description): instrumentation-pg makes no span under it
const SUPPRESS_TRACING = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

const states = new WeakMap<object, ClientState>();
/** wrappers beneath ours that were expected to report a span and did not: commented up front from then on */
const silent = new WeakSet<object>();

function driverPairFor(pgVersion: string | undefined): string | undefined {
  return serializePair('db_driver', pgVersion ? `pg:${pgVersion}` : 'pg');
}

function checkVersion(pgVersion: string | undefined): void {
  if (pgVersion === undefined) {
    warnOnce('pg-version', `cannot tell which pg version is loaded; patching it as pg ${PG_RANGE} (queries carry db_driver='pg')`);
  } else if (!semver.satisfies(pgVersion, PG_RANGE)) {
    throw new Error(`@pgferret/sdk: pg ${pgVersion} is not supported (tested on pg ${PG_RANGE}); use pg 8`);
  }
}

const UNSEEN =
  "pg's Client#query is wrapped by an instrumentation (instrumentation-pg?) whose span this SDK cannot see, so traceparents name the active span instead of its pg.query span. Pass requestHook: pgferretRequestHook() to new PgInstrumentation() (or pgInstrumentation: yourPgInstrumentation to instrument() / PgFerretInstrumentation)";

interface Pending extends SpanFrame {
  /** false when the text was already commented with the active span (no span to wait for, or tracing suppressed) */
  awaited: boolean;
}

/** Rewrites args[0] (a copy, for strings and configs) so pg sends the comment; returns a frame when the span is still to come. */
function prepare(state: ClientState, beneath: Method, client: SessionClient & { query?: unknown }, args: unknown[]): Pending | undefined {
  followSession(client);
  const q = args[0] as string | QueryLike | null | undefined;
  if (q === null || q === undefined) return undefined;
  let text: string;
  let holder: { text: string } | undefined;
  let ends = true;
  if (typeof q === 'string') {
    text = q;
  } else if (typeof q === 'object' && typeof q.submit === 'function') {
    const s = q as QueryLike & { [ANNOTATED]?: true };
    holder = textHolder(s);
    if (holder === undefined || s[ANNOTATED]) return undefined;
    s[ANNOTATED] = true;
    text = holder.text;
    ends = endsItsSpan(s) || typeof args[args.length - 1] === 'function';
  } else if (typeof q === 'object' && typeof q.text === 'string') {
    text = q.text;
  } else {
    return undefined;
  }
  const name = typeof q === 'string' ? undefined : q.name;

  if (client.query !== state.top) {
    // query() was (re)wrapped, maybe by an instrumentation loaded after us
    state.top = client.query;
    hookLoadedPgInstrumentations();
  }
  const settings = state.owner.settings;
  const driverPair = settings.tags ? state.driverPair : undefined;
  const scs = sessionStandardConformingStrings(client);
  const comment = (span: Span | undefined): string | undefined => commentedText(text, name, span, settings, driverPair, scs);

  // inside instrumentation-pg's wrapper: its hook reported the span before us
  const reported = takePgSpan(text);
  const pgSpan = ends ? reported : undefined;
  const active = activeSpan();
  const suppressed = context.active().getValue(SUPPRESS_TRACING) === true;
  if (pgSpan === undefined && ends && isWrapped(beneath) && spansReported() && !silent.has(beneath)) {
    // outside it: the span is made beneath us. Until it is reported the text
    // stays as written (so instrumentation-pg's span shows it clean), unless
    // there is no span to wait for: then the active span's comment goes now.
    const carrier: { text: string } = holder ?? (typeof q === 'string' ? { text } : { ...q, text });
    if (holder === undefined) args[0] = carrier;
    const awaited = active !== undefined && !suppressed;
    if (!awaited) carrier.text = comment(active) ?? text;
    return {
      text,
      awaited,
      name: (span) => {
        carrier.text = comment(span) ?? text;
      },
    };
  }
  // (a span still pending belongs to the next query: this one is instrumentation-pg's own SET application_name)
  if (pgSpan === undefined && ends && active !== undefined && !suppressed && !pgSpanPending() && (!state.query.onTop() || isWrapped(beneath))) {
    warnOnce('no-pg-span', UNSEEN);
  }
  const commented = comment(pgSpan ?? active);
  if (commented === undefined) return undefined;
  if (holder !== undefined) holder.text = commented;
  else args[0] = typeof q === 'string' ? commented : { ...q, text: commented };
  return undefined;
}

function onQuery(state: ClientState, beneath: Method, client: unknown, args: unknown[]): unknown {
  let pending: Pending | undefined;
  try {
    pending = prepare(state, beneath, client as SessionClient, args);
  } catch (err) {
    warnOnce('annotate', 'a query was sent without its comment because formatting it failed', err);
  }
  if (pending === undefined) return beneath.apply(client, args);
  const p = pending;
  const result = withSpanFrame(p, () => beneath.apply(client, args));
  if (p.awaited && p.span === undefined) {
    // what wraps query() beneath us made no span we could see: say so, and comment up front from now on
    silent.add(beneath);
    skipped('no_pg_span');
  }
  return result;
}

/** Wraps query() and connect() of this Client class (once; a later call only updates the owner and pg's version). */
export function patchClient(Client: PgClientClass, pgVersion: string | undefined, owner: SettingsOwner): void {
  const proto = Client.prototype as { query?: unknown; connect?: unknown };
  hookLoadedPgInstrumentations();
  const existing = states.get(proto);
  if (existing) {
    existing.owner = owner;
    // a patch applied before the version was known (pg/lib/client.js loads first)
    if (pgVersion !== undefined) existing.driverPair = driverPairFor(pgVersion);
    return;
  }
  checkVersion(pgVersion);
  if (typeof proto.query !== 'function') {
    throw new Error('@pgferret/sdk: this pg Client has no query method (an unsupported pg version?); use pg 8 with the JavaScript client');
  }
  const query = wrapMethod(proto, 'query', (beneath, self, args) => onQuery(state, beneath, self, args));
  const connect =
    typeof proto.connect === 'function'
      ? wrapMethod(proto, 'connect', (beneath, self, args) => {
          try {
            followSession(self as SessionClient);
          } catch (err) {
            warnOnce('session', "cannot follow the session's standard_conforming_strings (queries whose end depends on it get their comment at the start)", err);
          }
          return beneath.apply(self, args);
        })
      : undefined;
  const state: ClientState = { owner, driverPair: driverPairFor(pgVersion), query, connect, top: undefined };
  states.set(proto, state);
}

/** Removes the patch (or, when something wrapped it since, turns it into a pass-through). */
export function unpatchClient(Client: PgClientClass): void {
  const state = states.get(Client.prototype);
  if (!state) return;
  state.query.unwrap();
  state.connect?.unwrap();
  states.delete(Client.prototype);
}
