// Where a query's text gets its traceparent: pg has just put the query on the
// client's queue (still synchronously inside client.query(), so the caller's
// context is active) and has not sent it yet. The queued object is pg's own
// Query for strings and QueryConfig objects (the caller's config is never
// touched, so a reused config cannot accumulate comments) and the caller's own
// object for submittables (pg.Query, pg-cursor, pg-query-stream,
// pg-copy-streams), whose text is rewritten in place so it still runs.
import { commentPlacement } from '@pgferret/sql';
import { joinPairs, serializePair } from '../comment/format';
import { collectScopeTags, currentScope } from '../context/tags';
import { activeSpan, traceTags, type TraceTags } from '../trace/traceparent';
import { pgSpanPending, takePgSpan } from '../trace/pg-span';
import { warnOnce } from '../diag/warn-once';
import type { Settings } from '../options';

/** What pg keeps on its queue: a Query or a submittable. */
export interface QueuedQuery {
  text?: unknown;
  name?: unknown;
  /** pg-query-stream keeps its text on the cursor it wraps */
  cursor?: { text?: unknown };
}

const RESERVED = new Set(['traceparent', 'tracestate']);

function textHolder(q: QueuedQuery): { text: string } | undefined {
  if (typeof q.text === 'string') return q as { text: string };
  const cursor = q.cursor;
  if (cursor && typeof cursor === 'object' && typeof cursor.text === 'string') return cursor as { text: string };
  return undefined;
}

/**
 * instrumentation-pg ends (and so exports) its span from a callback it finds
 * as an own property of the query (it copies the query with `{...q}`) or from
 * the promise pg returns; pg's own Query always gets one. A submittable
 * without one (pg-cursor, pg-query-stream, pg-copy-streams, whose callback
 * sits on the prototype) never gets its span ended: naming that span would
 * orphan the server's spans, so those name the active span.
 */
function endsItsSpan(q: QueuedQuery): boolean {
  return Object.prototype.hasOwnProperty.call(q, 'callback') && typeof (q as { callback?: unknown }).callback === 'function';
}

/** Queries sent without a comment, by reason (also said once each through diag.warn). */
const uncommented: Record<string, number> = {};

const WHY: Record<string, string> = {
  named_statement: 'named prepared statements are sent without a trace comment (PostgreSQL keeps the text of the first Parse, and pg refuses a name reused with another text): their server spans are not parented',
  has_comment: 'a query that already has a comment is sent as written (sqlcommenter: a commented statement is not modified): its server span is not parented unless that comment carries a traceparent',
};

function skipped(reason: string): void {
  uncommented[reason] = (uncommented[reason] ?? 0) + 1;
  if (WHY[reason]) warnOnce(`uncommented-${reason}`, WHY[reason]);
}

/** How many queries that had a trace context to send went out without one, by reason. */
export function uncommentedQueries(): Readonly<Record<string, number>> {
  return { ...uncommented };
}

export function annotateQueued(
  q: QueuedQuery, settings: Settings, driverPair: string | undefined, queryWrapped: boolean, standardConformingStrings?: boolean,
): void {
  const holder = textHolder(q);
  if (holder === undefined) return;
  const text = holder.text;
  const pgSpan = takePgSpan(text);
  const scope = currentScope();
  if (scope?.skip) return;

  const pairs: string[] = [];
  const trace: TraceTags = {};
  const endsSpan = endsItsSpan(q);
  let span = endsSpan ? pgSpan : undefined;
  if (span === undefined) {
    span = activeSpan();
    // (a span still pending belongs to the next query: this one is
    // instrumentation-pg's own SET application_name)
    if (endsSpan && queryWrapped && span !== undefined && !pgSpanPending()) {
      warnOnce(
        'no-pg-span',
        "pg's Client#query is wrapped by an instrumentation (instrumentation-pg?) whose span this SDK cannot see, so traceparents name the active span instead of its pg.query span. Pass requestHook: pgferretRequestHook() to new PgInstrumentation() (or pgInstrumentation: yourPgInstrumentation to instrument() / PgFerretInstrumentation)",
      );
    }
  }
  traceTags(span, settings.mode, settings.tracestate, trace);
  if (trace.traceparent !== undefined) pairs.push(`traceparent='${trace.traceparent}'`);
  if (trace.tracestate !== undefined) {
    const pair = serializePair('tracestate', trace.tracestate);
    if (pair !== undefined) pairs.push(pair);
  }
  if (settings.tags) {
    let scoped: Record<string, string | undefined> | undefined;
    if (scope !== undefined) {
      scoped = {};
      collectScopeTags(scope, scoped);
      for (const key of Object.keys(scoped)) {
        if (RESERVED.has(key)) continue;
        const pair = serializePair(key, scoped[key]);
        if (pair !== undefined) pairs.push(pair);
      }
    }
    if (settings.applicationPair !== undefined && !(scoped && 'application' in scoped)) pairs.push(settings.applicationPair);
    if (driverPair !== undefined && !(scoped && 'db_driver' in scoped)) pairs.push(driverPair);
  }
  if (pairs.length === 0) return;
  // named prepared statements: the text stays as written
  if (q.name) {
    if (trace.traceparent !== undefined) skipped('named_statement');
    return;
  }
  // at the end when the lexer is sure where the text ends, else at the start (trace context first there)
  const placement = commentPlacement(text, standardConformingStrings);
  if (placement.where === 'none') {
    if (placement.reason === 'has_comment' && trace.traceparent !== undefined) skipped('has_comment');
    return;
  }
  const comment = joinPairs(pairs, placement.where === 'head');
  holder.text = placement.where === 'head' ? `${comment} ${text}` : `${text.slice(0, placement.at)} ${comment}${text.slice(placement.at)}`;
}
