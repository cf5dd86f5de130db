// Writes the collector's spans as an OTLP ExportTraceServiceRequest in
// protobuf, field for field what the official ProtobufTraceSerializer writes
// for the same spans (resource spans per resource in first-seen order, one
// scope), in one pass over a reused buffer. What repeats is encoded once:
// each resource, the scope, attribute keys, and frozen attribute sets (a
// phase span's constant attributes).
import type { Attributes } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import { SCOPE, type SpanData } from '../spans/span-data';
import { ProtoWriter } from './proto-writer';

// wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
const tag = (field: number, wire: number) => (field << 3) | wire;

// Span.flags bits (trace.proto): the "is remote" bit is known, and set
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

const MAX_CACHED_KEYS = 1024;

/** KeyValue.key with its tag and length. */
function encodeKey(key: string): Buffer {
  const utf8 = Buffer.from(key, 'utf8');
  const w = new ProtoWriter(utf8.length + 6);
  w.byte(tag(1, 2));
  w.bytes(utf8);
  return w.copy();
}

/** The tail of a span without events, links or status message, in one write: the usual case. */
function plainTail(w: ProtoWriter, statusCode: number, flags: number): void {
  w.ensure(16);
  const b = w.buf;
  let p = w.pos;
  b[p++] = tag(10, 0); // dropped_attributes_count 0
  b[p++] = 0;
  b[p++] = tag(12, 0); // dropped_events_count 0
  b[p++] = 0;
  b[p++] = tag(14, 0); // dropped_links_count 0
  b[p++] = 0;
  b[p++] = tag(15, 2); // status { code }
  b[p++] = 2;
  b[p++] = tag(3, 0);
  b[p++] = statusCode;
  b[p++] = 0x85; // tag(16, 5) as a varint
  b[p++] = 0x01;
  b[p++] = flags;
  b[p++] = flags >>> 8;
  b[p++] = flags >>> 16;
  b[p++] = flags >>> 24;
  w.pos = p;
}

export class TraceRequestEncoder {
  private readonly w = new ProtoWriter();
  private readonly scratch = new ProtoWriter(4096);
  private readonly resources = new WeakMap<Resource, Buffer>();
  private readonly frozenAttributes = new WeakMap<Attributes, Buffer>();
  private readonly keys = new Map<string, Buffer>();
  private readonly scope: Buffer;

  constructor() {
    this.scope = this.encodeOnce((w) => {
      w.byte(tag(1, 2));
      const at = w.begin();
      w.byte(tag(1, 2));
      w.string(SCOPE.name);
      if (SCOPE.version) {
        w.byte(tag(2, 2));
        w.string(SCOPE.version);
      }
      w.end(at);
    });
  }

  /** The request body for these spans (a fresh buffer: retries may resend it later). */
  encode(spans: readonly SpanData[]): Buffer {
    const w = this.w;
    w.reset();
    const order: Resource[] = [];
    let last: Resource | null = null;
    for (const s of spans) {
      if (s.resource === last) continue;
      last = s.resource;
      if (!order.includes(last)) order.push(last);
    }
    for (const resource of order) {
      w.byte(tag(1, 2)); // ExportTraceServiceRequest.resource_spans
      const rs = w.begin();
      w.raw(this.resourceBytes(resource));
      w.byte(tag(2, 2)); // ResourceSpans.scope_spans
      const ss = w.begin();
      w.raw(this.scope);
      for (const s of spans) {
        if (s.resource !== resource) continue;
        w.byte(tag(2, 2)); // ScopeSpans.spans
        this.span(s);
      }
      w.end(ss);
      const schemaUrl = (resource as { schemaUrl?: string }).schemaUrl;
      if (schemaUrl) {
        w.byte(tag(3, 2));
        w.string(schemaUrl);
      }
      w.end(rs);
    }
    return w.copy();
  }

  private span(s: SpanData): void {
    const w = this.w;
    const at = w.begin();
    w.hexId(tag(1, 2), s.traceId, 16);
    w.hexId(tag(2, 2), s.spanId, 8);
    if (s.parentSpanId) w.hexId(tag(4, 2), s.parentSpanId, 8);
    w.byte(tag(5, 2));
    w.string(s.name);
    w.byte(tag(6, 0));
    w.uint32(s.kind + 1); // the API's SpanKind starts at INTERNAL = 0, OTLP's at UNSPECIFIED = 0
    w.byte(tag(7, 1));
    w.hrTime(s.startTime);
    w.byte(tag(8, 1));
    w.hrTime(s.endTime);
    if (Object.isFrozen(s.attributes)) w.raw(this.frozenAttributeBytes(s.attributes));
    else this.attributes(w, s.attributes, 9);
    const flags = (s.traceFlags & 0xff) | HAS_IS_REMOTE | (s.parentSpanId && s.parentIsRemote ? IS_REMOTE : 0);
    if (s.events.length === 0 && s.links.length === 0 && !s.statusMessage) plainTail(w, s.statusCode, flags);
    else this.tail(s, flags);
    w.end(at);
  }

  /** Dropped counts, events, links, status and flags. */
  private tail(s: SpanData, flags: number): void {
    const w = this.w;
    w.byte(tag(10, 0));
    w.byte(0);
    for (const e of s.events) {
      w.byte(tag(11, 2));
      const ev = w.begin();
      w.byte(tag(1, 1));
      w.hrTime(e.time);
      w.byte(tag(2, 2));
      w.string(e.name);
      this.attributes(w, e.attributes, 3);
      w.byte(tag(4, 0));
      w.byte(0);
      w.end(ev);
    }
    w.byte(tag(12, 0));
    w.byte(0);
    for (const l of s.links) {
      w.byte(tag(13, 2));
      const lk = w.begin();
      w.hexId(tag(1, 2), l.traceId, 16);
      w.hexId(tag(2, 2), l.spanId, 8);
      this.attributes(w, l.attributes, 4);
      w.byte(tag(5, 0));
      w.byte(0);
      w.byte(tag(6, 5));
      w.fixed32((l.traceFlags & 0xff) | HAS_IS_REMOTE | (l.isRemote ? IS_REMOTE : 0));
      w.end(lk);
    }
    w.byte(tag(14, 0));
    w.byte(0);
    w.byte(tag(15, 2)); // Span.status
    const st = w.begin();
    if (s.statusMessage) {
      w.byte(tag(2, 2));
      w.string(s.statusMessage);
    }
    w.byte(tag(3, 0));
    w.uint32(s.statusCode);
    w.end(st);
    w.uint32(tag(16, 5)); // Span.flags (two-byte tag)
    w.fixed32(flags);
  }

  /** Repeated KeyValue under `field`, in the object's own key order. */
  private attributes(w: ProtoWriter, attrs: Attributes, field: number): void {
    const kvTag = tag(field, 2);
    for (const key in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, key)) continue;
      w.byte(kvTag);
      const kv = w.begin();
      const keyBytes = this.keys.get(key);
      if (keyBytes) w.raw(keyBytes);
      else {
        w.byte(tag(1, 2));
        w.string(key);
        if (this.keys.size < MAX_CACHED_KEYS) this.keys.set(key, encodeKey(key));
      }
      w.byte(tag(2, 2)); // KeyValue.value
      const v = w.begin();
      this.anyValue(w, attrs[key]);
      w.end(v);
      w.end(kv);
    }
  }

  /** AnyValue fields; nothing for undefined and null (an empty AnyValue, as the official serializer writes). */
  private anyValue(w: ProtoWriter, value: unknown): void {
    switch (typeof value) {
      case 'string':
        w.byte(tag(1, 2));
        w.string(value);
        return;
      case 'boolean':
        w.byte(tag(2, 0));
        w.byte(value ? 1 : 0);
        return;
      case 'number':
        if (ProtoWriter.isInt64(value)) {
          w.byte(tag(3, 0));
          w.int64(value);
        } else {
          w.byte(tag(4, 1));
          w.double(value);
        }
        return;
      case 'object':
        if (value === null) return;
        if (value instanceof Uint8Array) {
          w.byte(tag(7, 2));
          w.bytes(value);
        } else if (Array.isArray(value)) {
          w.byte(tag(5, 2)); // ArrayValue
          const arr = w.begin();
          for (const item of value) {
            w.byte(tag(1, 2));
            const at = w.begin();
            this.anyValue(w, item);
            w.end(at);
          }
          w.end(arr);
        } else {
          w.byte(tag(6, 2)); // KeyValueList
          const list = w.begin();
          this.attributes(w, value as Attributes, 1);
          w.end(list);
        }
        return;
      default:
    }
  }

  private frozenAttributeBytes(attrs: Attributes): Buffer {
    let b = this.frozenAttributes.get(attrs);
    if (!b) {
      b = this.encodeOnce((w) => this.attributes(w, attrs, 9));
      this.frozenAttributes.set(attrs, b);
    }
    return b;
  }

  /** ResourceSpans.resource with its tag and length. */
  private resourceBytes(resource: Resource): Buffer {
    let b = this.resources.get(resource);
    if (!b) {
      b = this.encodeOnce((w) => {
        w.byte(tag(1, 2));
        const at = w.begin();
        this.attributes(w, resource.attributes, 1);
        w.byte(tag(2, 0)); // dropped_attributes_count
        w.byte(0);
        w.end(at);
      });
      this.resources.set(resource, b);
    }
    return b;
  }

  private encodeOnce(write: (w: ProtoWriter) => void): Buffer {
    const w = this.scratch;
    w.reset();
    write(w);
    return w.copy();
  }
}
