// Where an assembled statement becomes spans: one SERVER span per
// statement, parented to the app's span from the traceparent, with
// parse/plan/execute/commit children. No tracer is involved, so the trace and
// parent ids are exactly the ones the kernel read from the query.
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import { DB_SYSTEM_NAME_VALUE_POSTGRESQL } from '@opentelemetry/semantic-conventions';
import { isTraceparent, type Token } from '@pgferret/sql';
import { Origin } from '../events/layout';
import type { Phase, PhaseName, Statement } from './assemble';
import { A } from './attributes';
import type { MonotonicClock } from './clock';
import { contextConfidence, sessionScs, type ContextCheck } from './confirm';
import type { SqlDescriber, StatementDescription } from './describe';
import { newSpanId, newTraceId } from './ids';
import { insideSpans, type InsideFacts, type InsideOptions } from './inside-spans';
import { NONE, type SpanData } from './span-data';
import { describeSqlstate } from './sqlstate';

export interface BackendInfo {
  database?: string;
  user?: string;
  /** what its cluster lets the collector read inside statements; null: nothing */
  inside?: InsideFacts | null;
}

export const INSIDE_DEFAULTS: InsideOptions = { waitThresholdNs: 1_000_000, nestedCap: 100 };

const ORIGIN_NAMES: Record<number, string> = { [Origin.HEAD]: 'comment_start', [Origin.TAIL]: 'comment_end', [Origin.ROOT]: 'sampled_root' };

// frozen: the same object on every phase span of that name, so the encoder writes its bytes once
const PHASE_ATTRIBUTES: Record<PhaseName, Attributes> = {
  parse: Object.freeze({ [A.dbSystemName]: DB_SYSTEM_NAME_VALUE_POSTGRESQL, [A.phase]: 'parse' }),
  plan: Object.freeze({ [A.dbSystemName]: DB_SYSTEM_NAME_VALUE_POSTGRESQL, [A.phase]: 'plan' }),
  execute: Object.freeze({ [A.dbSystemName]: DB_SYSTEM_NAME_VALUE_POSTGRESQL, [A.phase]: 'execute' }),
  commit: Object.freeze({ [A.dbSystemName]: DB_SYSTEM_NAME_VALUE_POSTGRESQL, [A.phase]: 'commit' }),
};

/** The statement span's attributes before what happened inside it is added. */
function statementAttributes(s: Statement, d: StatementDescription, backend: BackendInfo, check: ContextCheck, extra: Attributes | null, sqlstate: string | null): Attributes {
  const rejected = check === 'rejected';
  const attributes: Attributes = {
    [A.dbSystemName]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
    [A.dbQueryText]: d.queryText,
    [A.backendPid]: s.start.pid,
    [A.traceContextOrigin]: ORIGIN_NAMES[s.start.origin] ?? 'unknown',
  };
  if (backend.database) attributes[A.dbNamespace] = backend.database;
  if (backend.user) attributes[A.backendUser] = backend.user;
  if (d.operation) attributes[A.dbOperationName] = d.operation;
  if (d.collection) attributes[A.dbCollectionName] = d.collection;
  if (s.rows !== null) attributes[A.dbResponseReturnedRows] = s.rows;
  if (s.index > 0) attributes[A.statementIndex] = s.index;
  if (s.queryId) attributes[A.queryId] = s.queryId;
  const text = s.start.text;
  // the UTF-8 length is needed only when the UTF-16 length cannot decide
  if (s.start.textTotal === 0 || (s.start.textTotal > text.length && s.start.textTotal > Buffer.byteLength(text))) {
    attributes[A.queryTextTruncated] = true;
    attributes[A.queryTextLength] = s.start.textTotal;
  }
  if (s.start.malformed || rejected) attributes[A.traceContextMalformed] = true;
  if (rejected) attributes[A.traceContextOrigin] = 'rejected_not_in_comment';
  // a statement with a comment of its own (in a multi-statement string) was placed by the lexer itself
  const confidence = !s.start.reexecution && isTraceparent(d.traceparent) ? 'confirmed' : contextConfidence(check);
  if (confidence) attributes[A.traceContextConfidence] = confidence;
  if (s.incomplete) attributes[A.incomplete] = true;
  if (!s.timed) attributes[A.phasesUntimed] = true;
  if (!s.timed && s.shed) attributes[A.detailShed] = s.shed;
  if (extra) Object.assign(attributes, extra);
  if (sqlstate) {
    attributes[A.dbResponseStatusCode] = sqlstate;
    attributes[A.errorType] = sqlstate;
  }
  return attributes;
}

/** "division_by_zero (22012): division by zero"; empty when the statement did not fail. */
function errorMessageOf(s: Statement, sqlstate: string | null): string {
  if (!sqlstate) return '';
  return s.error?.message ? `${describeSqlstate(sqlstate)}: ${s.error.message}` : describeSqlstate(sqlstate);
}

/** Where a statement's spans go: its trace, its parent and its own span id. */
interface Placement {
  traceId: string;
  parentSpanId: string | null;
  spanId: string;
}

/**
 * `check` is the lexer's opinion on the kernel's context (src/spans/confirm.ts):
 * a context found in no real comment is not a parent.
 */
function placement(s: Statement, d: StatementDescription, check: ContextCheck): Placement {
  const rejected = check === 'rejected';
  // a statement of a multi-statement string with a comment of its own is its own child
  // (not in a named statement's later execution: its text's comment was its first execution's context)
  const own = !s.start.reexecution && isTraceparent(d.traceparent) ? d.traceparent : null;
  return {
    traceId: own?.traceId ?? ((!rejected && s.start.traceId) || newTraceId()),
    parentSpanId: own?.parentSpanId ?? (rejected ? null : s.start.parentSpanId),
    spanId: s.spanId || newSpanId(),
  };
}

function phaseSpan(p: Phase, spanId: string, at: Placement, more: Attributes | undefined, sqlstate: string | null, errorMessage: string, clock: MonotonicClock, resource: Resource): SpanData {
  return {
    traceId: at.traceId,
    spanId,
    parentSpanId: at.spanId,
    parentIsRemote: false,
    traceFlags: TraceFlags.SAMPLED,
    name: p.name,
    kind: SpanKind.INTERNAL,
    startTime: clock.toHrTime(p.startNs),
    endTime: clock.toHrTime(p.endNs),
    attributes: more ? { ...PHASE_ATTRIBUTES[p.name], ...more } : PHASE_ATTRIBUTES[p.name],
    // the phase the statement failed in carries the error too
    statusCode: p.failed && sqlstate ? SpanStatusCode.ERROR : SpanStatusCode.UNSET,
    statusMessage: p.failed ? errorMessage : '',
    events: NONE,
    links: NONE,
    resource,
  };
}

/** A statement's spans: its SERVER span, its phases and what happened inside it. */
export function buildSpans(
  s: Statement, resource: Resource, clock: MonotonicClock, backend: BackendInfo, describer: SqlDescriber, check: ContextCheck,
  extra: Attributes | null = null, insideOptions: InsideOptions = INSIDE_DEFAULTS, traceComment?: Token | null,
): SpanData[] {
  const d = describer.describe(s.start.text, s.start.origin, s.index, sessionScs(s.start), traceComment);
  const at = placement(s, d, check);
  const sqlstate = s.failed ? s.sqlstate : null;
  const errorMessage = errorMessageOf(s, sqlstate);
  const attributes = statementAttributes(s, d, backend, check, extra, sqlstate);
  const spans: SpanData[] = [{
    traceId: at.traceId,
    spanId: at.spanId,
    parentSpanId: at.parentSpanId,
    parentIsRemote: at.parentSpanId !== null,
    traceFlags: TraceFlags.SAMPLED,
    name: d.name,
    kind: SpanKind.SERVER,
    startTime: clock.toHrTime(s.startNs),
    endTime: clock.toHrTime(s.endNs),
    attributes,
    statusCode: sqlstate ? SpanStatusCode.ERROR : SpanStatusCode.UNSET,
    statusMessage: errorMessage,
    events: NONE,
    links: NONE,
    resource,
  }];
  const phases = s.phases.map((p) => ({ name: p.name, spanId: newSpanId(), startNs: p.startNs, endNs: p.endNs }));
  const inside = insideSpans(s, backend.inside ?? null, insideOptions, {
    traceId: at.traceId,
    statementSpanId: at.spanId,
    phases,
    resource,
    clock,
    describer,
    errorMessage,
  });
  Object.assign(attributes, inside.statement);
  s.phases.forEach((p, i) => spans.push(phaseSpan(p, phases[i].spanId, at, inside.phases?.get(phases[i].spanId), sqlstate, errorMessage, clock, resource)));
  for (const x of inside.spans) spans.push(x);
  return spans;
}
