// The collector's own span shape: what the exporters need and nothing else.
// No tracer, no ReadableSpan (closures, duration arrays, status objects):
// the OTLP protobuf encoder writes these straight to bytes, the embedded store
// turns them into its records, and the http/json path adapts them to the
// official exporter's ReadableSpan.
import type { Attributes, HrTime, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';

export interface SpanEventData {
  name: string;
  time: HrTime;
  attributes: Attributes;
}

export interface SpanLinkData {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote: boolean;
  attributes: Attributes;
}

export interface SpanData {
  /** 32 lowercase hex digits */
  traceId: string;
  /** 16 lowercase hex digits */
  spanId: string;
  parentSpanId: string | null;
  /** the parent came from another process (the traceparent in the query) */
  parentIsRemote: boolean;
  /** W3C trace flags of this span's context */
  traceFlags: number;
  name: string;
  kind: SpanKind;
  startTime: HrTime;
  endTime: HrTime;
  /**
   * Frozen attribute objects are shared between spans (a phase's constant
   * attributes) and encoded once.
   */
  attributes: Attributes;
  statusCode: SpanStatusCode;
  /** empty when there is none */
  statusMessage: string;
  events: readonly SpanEventData[];
  links: readonly SpanLinkData[];
  resource: Resource;
  /** the statement's whole CPU profile, folded (the embedded store keeps it; OTLP gets the bounded span event) */
  profile?: string;
}

/** For spans without events or links: one shared empty list. */
export const NONE: readonly never[] = Object.freeze([]);

/** The instrumentation scope of every span the collector makes. */
export const SCOPE = { name: 'pgferret-collector', version: '0.1.0' };
