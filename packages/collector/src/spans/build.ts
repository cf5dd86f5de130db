// Where an assembled statement becomes OpenTelemetry spans: one SERVER span
// per statement, parented to the app's span from the traceparent, with
// parse/plan/execute/commit children. Spans are plain ReadableSpan objects
// handed to the official OTLP exporters; no tracer is involved, so the trace
// and parent ids are exactly the ones the kernel read from the query.
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL,
} from '@opentelemetry/semantic-conventions';
import { Origin } from '../events/layout';
import type { Statement } from './assemble';
import type { MonotonicClock } from './clock';
import type { SqlDescriber } from './describe';
import { newSpanId, newTraceId } from './ids';

export const SCOPE = { name: 'pgferret-collector', version: '0.1.0' };

export interface BackendInfo {
  database?: string;
  user?: string;
}

const ORIGIN_NAMES: Record<number, string> = { [Origin.HEAD]: 'comment_start', [Origin.TAIL]: 'comment_end', [Origin.ROOT]: 'sampled_root' };

function duration(start: HrTime, end: HrTime): HrTime {
  let sec = end[0] - start[0];
  let ns = end[1] - start[1];
  if (ns < 0) {
    ns += 1e9;
    sec -= 1;
  }
  return [sec, ns];
}

function makeSpan(
  name: string, kind: SpanKind, ctx: SpanContext, parent: SpanContext | undefined,
  startTime: HrTime, endTime: HrTime, attributes: Attributes, resource: Resource, error?: { code: string },
): ReadableSpan {
  return {
    name,
    kind,
    spanContext: () => ctx,
    parentSpanContext: parent,
    startTime,
    endTime,
    duration: duration(startTime, endTime),
    status: error ? { code: SpanStatusCode.ERROR, message: `SQLSTATE ${error.code}` } : { code: SpanStatusCode.UNSET },
    attributes,
    links: [],
    events: [],
    ended: true,
    resource,
    instrumentationScope: SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

export function buildSpans(s: Statement, resource: Resource, clock: MonotonicClock, backend: BackendInfo, describer: SqlDescriber): ReadableSpan[] {
  const traceId = s.start.traceId ?? newTraceId();
  const parent: SpanContext | undefined = s.start.parentSpanId
    ? { traceId, spanId: s.start.parentSpanId, traceFlags: s.start.flags & 0xff, isRemote: true }
    : undefined;
  const ctx: SpanContext = { traceId, spanId: newSpanId(), traceFlags: TraceFlags.SAMPLED };

  const d = describer.describe(s.start.text, s.start.origin, s.index);
  const attributes: Attributes = {
    [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
    [ATTR_DB_QUERY_TEXT]: d.queryText,
    'postgresql.backend.pid': s.start.pid,
    'pgferret.trace_context.origin': ORIGIN_NAMES[s.start.origin] ?? 'unknown',
  };
  if (backend.database) attributes[ATTR_DB_NAMESPACE] = backend.database;
  if (backend.user) attributes['postgresql.backend.user'] = backend.user;
  if (d.operation) attributes[ATTR_DB_OPERATION_NAME] = d.operation;
  if (d.collection) attributes[ATTR_DB_COLLECTION_NAME] = d.collection;
  if (s.rows !== null) attributes['db.response.returned_rows'] = s.rows;
  if (s.index > 0) attributes['postgresql.statement.index'] = s.index;
  if (s.start.textTotal === 0 || s.start.textTotal > Buffer.byteLength(s.start.text)) {
    attributes['pgferret.query_text.truncated'] = true;
    attributes['pgferret.query_text.length'] = s.start.textTotal;
  }
  if (s.start.malformed) attributes['pgferret.trace_context.malformed'] = true;
  if (s.incomplete) attributes['pgferret.incomplete'] = true;
  let error: { code: string } | undefined;
  if (s.failed && s.sqlstate) {
    error = { code: s.sqlstate };
    attributes[ATTR_DB_RESPONSE_STATUS_CODE] = s.sqlstate;
    attributes[ATTR_ERROR_TYPE] = s.sqlstate;
  }

  const spans = [
    makeSpan(d.name, SpanKind.SERVER, ctx, parent, clock.toHrTime(s.startNs), clock.toHrTime(s.endNs), attributes, resource, error),
  ];
  for (const p of s.phases) {
    const child: SpanContext = { traceId, spanId: newSpanId(), traceFlags: TraceFlags.SAMPLED };
    spans.push(makeSpan(p.name, SpanKind.INTERNAL, child, ctx, clock.toHrTime(p.startNs), clock.toHrTime(p.endNs), {
      [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
      'postgresql.phase': p.name,
    }, resource));
  }
  return spans;
}
