// The collector's spans as the official SDK's ReadableSpan, for the exporters
// that take those (http/json) and as the reference the protobuf encoder is
// checked against.
import type { HrTime, SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { SCOPE, type SpanData } from '../spans/span-data';

function duration(start: HrTime, end: HrTime): HrTime {
  let sec = end[0] - start[0];
  let ns = end[1] - start[1];
  if (ns < 0) {
    ns += 1e9;
    sec -= 1;
  }
  return [sec, ns];
}

export function toReadableSpan(s: SpanData): ReadableSpan {
  const ctx: SpanContext = { traceId: s.traceId, spanId: s.spanId, traceFlags: s.traceFlags };
  return {
    name: s.name,
    kind: s.kind,
    spanContext: () => ctx,
    parentSpanContext: s.parentSpanId
      ? { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: s.traceFlags, isRemote: s.parentIsRemote }
      : undefined,
    startTime: s.startTime,
    endTime: s.endTime,
    duration: duration(s.startTime, s.endTime),
    status: s.statusMessage ? { code: s.statusCode, message: s.statusMessage } : { code: s.statusCode },
    attributes: s.attributes,
    links: s.links.map((l) => ({
      context: { traceId: l.traceId, spanId: l.spanId, traceFlags: l.traceFlags, isRemote: l.isRemote },
      attributes: l.attributes,
    })),
    events: s.events.map((e) => ({ name: e.name, time: e.time, attributes: e.attributes })),
    ended: true,
    resource: s.resource,
    instrumentationScope: SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
