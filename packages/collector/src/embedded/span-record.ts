import { A } from '../spans/attributes';
// The shape every ingest path (OTLP protobuf, OTLP JSON, in-process exporter)
// is normalised to before it reaches the store.

export type AttributeValue =
  | string
  | number
  | boolean
  | null
  | AttributeValue[]
  | { [key: string]: AttributeValue };

export type Attributes = Record<string, AttributeValue>;

export interface SpanEventRecord {
  timeNs: string;
  name: string;
  attributes: Attributes;
}

export interface SpanLinkRecord {
  traceId: string;
  spanId: string;
  attributes: Attributes;
}

export interface SpanRecord {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
  parentSpanId: string | null;
  name: string;
  /** OTLP SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  service: string;
  scope: string;
  startNs: bigint;
  endNs: bigint;
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
  attributes: Attributes;
  resource: Attributes;
  events: SpanEventRecord[];
  links: SpanLinkRecord[];
}

export const SPAN_KIND_SERVER = 2;
export const STATUS_CODE_ERROR = 2;

/**
 * A statement span made by the pgferret collector: kind SERVER and a
 * PostgreSQL db.system. The pg client spans of instrumentation-pg carry the
 * same db.system but are kind CLIENT, so the kind is what tells them apart.
 */
export function isPostgresServerSpan(span: Pick<SpanRecord, 'kind' | 'attributes'>): boolean {
  if (span.kind !== SPAN_KIND_SERVER) return false;
  const system = span.attributes[A.dbSystemName] ?? span.attributes['db.system'];
  return system === 'postgresql';
}

/** The SQL of a span under the current and the older semantic conventions. */
export function queryText(span: Pick<SpanRecord, 'attributes'>): string | undefined {
  const text = span.attributes[A.dbQueryText] ?? span.attributes['db.statement'];
  return typeof text === 'string' ? text : undefined;
}

export function httpRoute(span: Pick<SpanRecord, 'attributes'>): string | undefined {
  const route = span.attributes['http.route'];
  return typeof route === 'string' && route !== '' ? route : undefined;
}

/** The HTTP response status of a server span (current and older conventions). */
export function httpStatus(span: Pick<SpanRecord, 'attributes'>): number | null {
  const v = span.attributes['http.response.status_code'] ?? span.attributes['http.status_code'];
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) ? n : null;
}
