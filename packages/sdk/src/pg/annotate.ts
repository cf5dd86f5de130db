// The comment a query's text gets, computed while the app's query() call is
// on the stack (so the caller's context and tag scope are active). The query
// hook (query-hook.ts) decides which span it names and where the new text goes.
import { commentPlacement } from '@pgferret/sql';
import { joinPairs, serializePair } from '../comment/format';
import { collectScopeTags, currentScope } from '../context/tags';
import type { Span } from '@opentelemetry/api';
import { traceTags, type TraceTags } from '../trace/traceparent';
import { warnOnce } from '../diag/warn-once';
import type { Settings } from '../options';

/** A query config object or a submittable, as passed to client.query(). */
export interface QueryLike {
  text?: unknown;
  name?: unknown;
  callback?: unknown;
  /** pg-query-stream keeps its text on the cursor it wraps */
  cursor?: { text?: unknown };
  submit?: unknown;
}

const RESERVED = new Set(['traceparent', 'tracestate']);

export function textHolder(q: QueryLike): { text: string } | undefined {
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
export function endsItsSpan(q: QueryLike): boolean {
  return Object.prototype.hasOwnProperty.call(q, 'callback') && typeof q.callback === 'function';
}

/** Queries sent without a comment, by reason (also said once each through diag.warn). */
const uncommented: Record<string, number> = {};

const WHY: Record<string, string> = {
  named_statement: 'named prepared statements are sent without a trace comment (PostgreSQL keeps the text of the first Parse, and pg refuses a name reused with another text): their server spans are not parented',
  no_pg_span: "a query was sent without its comment: what wraps pg's Client#query beneath this SDK's wrapper made no span it reported (pass requestHook: pgferretRequestHook() to that PgInstrumentation); later queries name the active span",
  has_comment: 'a query that already has a comment is sent as written (sqlcommenter: a commented statement is not modified): its server span is not parented unless that comment carries a traceparent',
};

export function skipped(reason: string): void {
  uncommented[reason] = (uncommented[reason] ?? 0) + 1;
  if (WHY[reason]) warnOnce(`uncommented-${reason}`, WHY[reason]);
}

/** How many queries that had a trace context to send went out without one, by reason. */
export function uncommentedQueries(): Readonly<Record<string, number>> {
  return { ...uncommented };
}

/**
 * The text with its comment naming `span`, or undefined when it goes as
 * written (withoutComment, nothing to say, a named statement, a comment of its own).
 */
export function commentedText(
  text: string, name: unknown, span: Span | undefined, settings: Settings, driverPair: string | undefined, standardConformingStrings: boolean | undefined,
): string | undefined {
  const scope = currentScope();
  if (scope?.skip) return undefined;
  const pairs: string[] = [];
  const trace: TraceTags = {};
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
  if (pairs.length === 0) return undefined;
  // named prepared statements: the text stays as written
  if (name) {
    if (trace.traceparent !== undefined) skipped('named_statement');
    return undefined;
  }
  // at the end when the lexer is sure where the text ends, else at the start (trace context first there)
  const placement = commentPlacement(text, standardConformingStrings);
  if (placement.where === 'none') {
    if (placement.reason === 'has_comment' && trace.traceparent !== undefined) skipped('has_comment');
    return undefined;
  }
  const comment = joinPairs(pairs, placement.where === 'head');
  return placement.where === 'head' ? `${comment} ${text}` : `${text.slice(0, placement.at)} ${comment}${text.slice(placement.at)}`;
}
