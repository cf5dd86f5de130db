// W3C traceparent / tracestate of the span that stands for the query.
import { context, trace, isSpanContextValid, TraceFlags, type Span } from '@opentelemetry/api';

/** 'sampled': only sampled spans (what pg_tracing and Prisma honour); 'always': unsampled too; 'never'. */
export type TraceparentMode = 'sampled' | 'always' | 'never';

export interface TraceTags {
  traceparent?: string;
  tracestate?: string;
}

export function activeSpan(): Span | undefined {
  return trace.getSpan(context.active());
}

/** Fills `into` with traceparent (and tracestate) of span when the mode allows it. */
export function traceTags(span: Span | undefined, mode: TraceparentMode, withState: boolean, into: TraceTags): void {
  if (span === undefined || mode === 'never') return;
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return;
  const sampled = (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
  if (!sampled && mode === 'sampled') return;
  into.traceparent = `00-${sc.traceId}-${sc.spanId}-${sampled ? '01' : '00'}`;
  if (withState && sc.traceState) {
    const state = sc.traceState.serialize();
    if (state) into.tracestate = state;
  }
}
