// Decodes OTLP ExportTraceServiceRequest bodies (protobuf and JSON) into
// SpanRecords. Protobuf goes through protobufjs with the vendored OTLP
// definitions: @opentelemetry/otlp-transformer only ships an encoder for
// requests (its reader handles responses), so it cannot decode what we receive.
import protobuf from 'protobufjs';
import { otlpDescriptor } from './otlp-descriptor';
import type {
  AttributeValue,
  Attributes,
  SpanEventRecord,
  SpanLinkRecord,
  SpanRecord,
} from './span-record';

/** The body is not a valid ExportTraceServiceRequest: answered with 400. */
export class OtlpDecodeError extends Error {}

export interface DecodeResult {
  spans: SpanRecord[];
  /** Spans dropped because their ids were missing or malformed. */
  rejected: number;
  rejectReason?: string;
}

const root = protobuf.Root.fromJSON(otlpDescriptor);
const RequestType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
export const ResponseType = root.lookupType(
  'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse',
);
export const StatusType = root.lookupType('google.rpc.Status');

const UNKNOWN_SERVICE = 'unknown_service';
/** Nested AnyValues (arrays, kvlists) deeper than this are refused, not recursed into. */
export const MAX_VALUE_DEPTH = 32;
/** JSON bodies nested deeper than this are refused before parsing (OTLP itself needs ~12). */
export const MAX_JSON_DEPTH = 64;
/** Timestamps are stored as SQLite INTEGER: signed 64 bits. */
const MAX_TIME_NS = (1n << 63n) - 1n;
const MAX_ENUM = 2 ** 31 - 1;

function checkTime(ns: bigint, what: string): bigint {
  if (ns > MAX_TIME_NS) throw new OtlpDecodeError(`${what} ${ns} is out of range (at most ${MAX_TIME_NS} ns since 1970)`);
  return ns;
}

function checkDepth(depth: number): void {
  if (depth > MAX_VALUE_DEPTH) throw new OtlpDecodeError(`attribute values nested deeper than ${MAX_VALUE_DEPTH} levels`);
}

// ---- protobuf ---------------------------------------------------------------

interface LongLike {
  low: number;
  high: number;
  toNumber(): number;
  toString(): string;
}

type PbAnyValue = {
  value?: string;
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | LongLike;
  doubleValue?: number;
  bytesValue?: Uint8Array;
  arrayValue?: { values?: PbAnyValue[] };
  kvlistValue?: { values?: PbKeyValue[] };
};
type PbKeyValue = { key?: string; value?: PbAnyValue };

function pbUint64(v: number | LongLike | undefined): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
}

function pbInt64(v: number | LongLike): number | string {
  if (typeof v === 'number') return v;
  const n = v.toNumber();
  return Number.isSafeInteger(n) ? n : v.toString();
}

function pbAnyValue(v: PbAnyValue | undefined, depth = 0): AttributeValue {
  if (!v) return null;
  checkDepth(depth);
  switch (v.value) {
    case 'stringValue':
      return v.stringValue ?? '';
    case 'boolValue':
      return v.boolValue ?? false;
    case 'intValue':
      return pbInt64(v.intValue ?? 0);
    case 'doubleValue':
      return v.doubleValue ?? 0;
    case 'bytesValue':
      return Buffer.from(v.bytesValue ?? []).toString('base64');
    case 'arrayValue':
      return (v.arrayValue?.values ?? []).map((x) => pbAnyValue(x, depth + 1));
    case 'kvlistValue':
      return pbAttributes(v.kvlistValue?.values, depth + 1);
    default:
      return null;
  }
}

function pbAttributes(kvs: PbKeyValue[] | undefined, depth = 0): Attributes {
  const out: Attributes = {};
  if (kvs) for (const kv of kvs) if (kv.key) out[kv.key] = pbAnyValue(kv.value, depth);
  return out;
}

function pbId(bytes: Uint8Array | undefined, length: number): string | null {
  if (!bytes || bytes.length !== length) return null;
  let i = 0;
  while (i < length && bytes[i] === 0) i++;
  return i === length ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

export function decodeProtobufRequest(body: Uint8Array): DecodeResult {
  let msg: any;
  try {
    msg = RequestType.decode(body);
  } catch (err) {
    throw new OtlpDecodeError(`not a protobuf ExportTraceServiceRequest: ${(err as Error).message}`);
  }
  const result: DecodeResult = { spans: [], rejected: 0 };
  for (const rs of msg.resourceSpans ?? []) {
    const resource = pbAttributes(rs.resource?.attributes);
    const service = typeof resource['service.name'] === 'string' ? resource['service.name'] : UNKNOWN_SERVICE;
    for (const ss of rs.scopeSpans ?? []) {
      const scope: string = ss.scope?.name ?? '';
      for (const s of ss.spans ?? []) {
        const traceId = pbId(s.traceId, 16);
        const spanId = pbId(s.spanId, 8);
        const parentBytes: Uint8Array | undefined = s.parentSpanId;
        const parentSpanId = parentBytes && parentBytes.length > 0 ? pbId(parentBytes, 8) : null;
        if (!traceId || !spanId || (parentBytes && parentBytes.length > 0 && !parentSpanId)) {
          reject(result, 'span with a missing or malformed trace_id/span_id/parent_span_id');
          continue;
        }
        const startNs = checkTime(pbUint64(s.startTimeUnixNano), 'startTimeUnixNano');
        const endNs = checkTime(pbUint64(s.endTimeUnixNano), 'endTimeUnixNano');
        result.spans.push({
          traceId,
          spanId,
          parentSpanId,
          name: s.name ?? '',
          kind: checkEnum(s.kind ?? 0, 'kind'),
          service,
          scope,
          startNs,
          endNs: endNs < startNs ? startNs : endNs,
          statusCode: checkEnum(s.status?.code ?? 0, 'status.code'),
          statusMessage: s.status?.message ?? '',
          attributes: pbAttributes(s.attributes),
          resource,
          events: (s.events ?? []).map(
            (e: any): SpanEventRecord => ({
              timeNs: checkTime(pbUint64(e.timeUnixNano), 'event timeUnixNano').toString(),
              name: e.name ?? '',
              attributes: pbAttributes(e.attributes),
            }),
          ),
          links: (s.links ?? []).flatMap((l: any): SpanLinkRecord[] => {
            const lt = pbId(l.traceId, 16);
            const ls = pbId(l.spanId, 8);
            return lt && ls ? [{ traceId: lt, spanId: ls, attributes: pbAttributes(l.attributes) }] : [];
          }),
        });
      }
    }
  }
  return result;
}

// ---- JSON -------------------------------------------------------------------

const HEX = /^[0-9a-fA-F]+$/;

/**
 * OTLP/JSON ids are hex strings; some SDKs send the protobuf-JSON default
 * (base64) instead. The two can be told apart by length.
 */
function jsonId(v: unknown, bytes: number): string | null {
  if (typeof v !== 'string') return null;
  let hex: string | null = null;
  if (v.length === bytes * 2 && HEX.test(v)) hex = v.toLowerCase();
  else if (v.length === Math.ceil(bytes / 3) * 4 || v.length === Math.ceil((bytes * 4) / 3)) {
    const buf = Buffer.from(v, 'base64');
    if (buf.length === bytes) hex = buf.toString('hex');
  }
  return hex && !/^0+$/.test(hex) ? hex : null;
}

function jsonUint64(v: unknown, what: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return checkTime(BigInt(v), what);
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return checkTime(BigInt(v), what);
  throw new OtlpDecodeError(`${what} must be a non-negative integer (nanoseconds since 1970), got ${JSON.stringify(v).slice(0, 40)}`);
}

function checkEnum(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_ENUM) throw new OtlpDecodeError(`${what} must be a small non-negative integer, got ${n}`);
  return n;
}

/**
 * Nesting depth of a JSON text, counted without parsing so that a body of
 * 100,000 brackets is refused with 400 rather than exhausting the stack later.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function jsonInt(v: unknown, fallback = 0): number {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : fallback;
}

const SPAN_KINDS: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_CODES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };

function jsonEnum(v: unknown, names: Record<string, number>, what: string): number {
  if (typeof v === 'string' && v in names) return names[v];
  return checkEnum(jsonInt(v), what);
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonArray(v: unknown, what: string): any[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpDecodeError(`${what} must be an array`);
  return v;
}

function jsonAnyValue(v: unknown, depth = 0): AttributeValue {
  if (!isObject(v)) return null;
  checkDepth(depth);
  if ('stringValue' in v) return String(v.stringValue);
  if ('boolValue' in v) return v.boolValue === true || v.boolValue === 'true';
  if ('intValue' in v) {
    const n = Number(v.intValue);
    return Number.isSafeInteger(n) ? n : String(v.intValue);
  }
  if ('doubleValue' in v) return jsonInt(v.doubleValue);
  if ('bytesValue' in v) return String(v.bytesValue);
  if ('arrayValue' in v) return jsonArray(v.arrayValue?.values, 'arrayValue.values').map((x) => jsonAnyValue(x, depth + 1));
  if ('kvlistValue' in v) return jsonAttributes(v.kvlistValue?.values, depth + 1);
  return null;
}

function jsonAttributes(kvs: unknown, depth = 0): Attributes {
  const out: Attributes = {};
  for (const kv of jsonArray(kvs, 'attributes')) {
    if (isObject(kv) && typeof kv.key === 'string' && kv.key !== '') out[kv.key] = jsonAnyValue(kv.value, depth);
  }
  return out;
}

function reject(result: DecodeResult, reason: string): void {
  result.rejected++;
  result.rejectReason ??= reason;
}

/** Accepts the raw body, or an already parsed object (the in-process exporter). */
export function decodeJsonRequest(body: Uint8Array | string | unknown): DecodeResult {
  let msg: unknown = body;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) throw new OtlpDecodeError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    try {
      msg = JSON.parse(text);
    } catch (err) {
      throw new OtlpDecodeError(`not valid JSON: ${(err as Error).message}`);
    }
  }
  if (!isObject(msg)) throw new OtlpDecodeError('an ExportTraceServiceRequest must be a JSON object');
  const result: DecodeResult = { spans: [], rejected: 0 };
  for (const rs of jsonArray(msg.resourceSpans ?? msg.resource_spans, 'resourceSpans')) {
    if (!isObject(rs)) throw new OtlpDecodeError('resourceSpans entries must be objects');
    const resource = jsonAttributes(isObject(rs.resource) ? rs.resource.attributes : undefined);
    const service = typeof resource['service.name'] === 'string' ? resource['service.name'] : UNKNOWN_SERVICE;
    for (const ss of jsonArray(rs.scopeSpans ?? rs.scope_spans, 'scopeSpans')) {
      if (!isObject(ss)) throw new OtlpDecodeError('scopeSpans entries must be objects');
      const scope = isObject(ss.scope) && typeof ss.scope.name === 'string' ? ss.scope.name : '';
      for (const s of jsonArray(ss.spans, 'spans')) {
        if (!isObject(s)) throw new OtlpDecodeError('spans entries must be objects');
        const traceId = jsonId(s.traceId ?? s.trace_id, 16);
        const spanId = jsonId(s.spanId ?? s.span_id, 8);
        const rawParent = s.parentSpanId ?? s.parent_span_id;
        const parentSpanId = rawParent ? jsonId(rawParent, 8) : null;
        if (!traceId || !spanId || (rawParent && !parentSpanId)) {
          reject(result, 'span with a missing or malformed traceId/spanId/parentSpanId');
          continue;
        }
        const startNs = jsonUint64(s.startTimeUnixNano ?? s.start_time_unix_nano, 'startTimeUnixNano');
        const endNs = jsonUint64(s.endTimeUnixNano ?? s.end_time_unix_nano, 'endTimeUnixNano');
        const status = isObject(s.status) ? s.status : {};
        result.spans.push({
          traceId,
          spanId,
          parentSpanId,
          name: typeof s.name === 'string' ? s.name : '',
          kind: jsonEnum(s.kind, SPAN_KINDS, 'kind'),
          service,
          scope,
          startNs,
          endNs: endNs < startNs ? startNs : endNs,
          statusCode: jsonEnum(status.code, STATUS_CODES, 'status.code'),
          statusMessage: typeof status.message === 'string' ? status.message : '',
          attributes: jsonAttributes(s.attributes),
          resource,
          events: jsonArray(s.events, 'events').filter(isObject).map((e) => ({
            timeNs: jsonUint64(e.timeUnixNano ?? e.time_unix_nano, 'event timeUnixNano').toString(),
            name: typeof e.name === 'string' ? e.name : '',
            attributes: jsonAttributes(e.attributes),
          })),
          links: jsonArray(s.links, 'links')
            .filter(isObject)
            .flatMap((l): SpanLinkRecord[] => {
              const lt = jsonId(l.traceId ?? l.trace_id, 16);
              const ls = jsonId(l.spanId ?? l.span_id, 8);
              return lt && ls ? [{ traceId: lt, spanId: ls, attributes: jsonAttributes(l.attributes) }] : [];
            }),
        });
      }
    }
  }
  return result;
}
