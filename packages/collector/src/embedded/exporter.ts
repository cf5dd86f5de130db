// Lets the collector store its own Postgres spans without going through HTTP
// or a serializer: its spans become store records directly, the same records
// the receiver decodes from OTLP (a test holds the two paths equal).
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { SpanSink } from '../export/exporter';
import { ProtoWriter } from '../export/proto-writer';
import { A } from '../spans/attributes';
import { PROFILE_EVENT } from '../spans/profile-span';
import { SCOPE, type SpanData, type SpanEventData } from '../spans/span-data';
import type { AttributeValue, Attributes, SpanRecord } from './span-record';
import type { TraceStore } from './store';

function recordValue(v: unknown): AttributeValue {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      if (!ProtoWriter.isInt64(v)) return v; // sent as a double
      // as the receiver decodes an int64: beyond 2^53 its decimal string; no negative zero
      return Number.isSafeInteger(v) ? v + 0 : BigInt(v).toString();
    case 'object':
      if (v === null) return null;
      if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
      if (Array.isArray(v)) return v.map(recordValue);
      return recordAttributes(v as Record<string, unknown>);
    default:
      return null;
  }
}

function recordAttributes(attrs: Record<string, unknown>): Attributes {
  const out: Attributes = {};
  for (const key in attrs) if (Object.prototype.hasOwnProperty.call(attrs, key) && key !== '') out[key] = recordValue(attrs[key]);
  return out;
}

const nanos = (t: readonly [number, number]) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

export class SpanRecordConverter {
  private resources = new WeakMap<Resource, { attributes: Attributes; service: string }>();

  private resource(r: Resource): { attributes: Attributes; service: string } {
    let out = this.resources.get(r);
    if (!out) {
      const attributes = recordAttributes(r.attributes);
      const name = attributes['service.name'];
      out = { attributes, service: typeof name === 'string' ? name : 'unknown_service' };
      this.resources.set(r, out);
    }
    return out;
  }

  toRecord(s: SpanData): SpanRecord {
    const resource = this.resource(s.resource);
    const startNs = nanos(s.startTime);
    const endNs = nanos(s.endTime);
    return {
      traceId: s.traceId,
      spanId: s.spanId,
      parentSpanId: s.parentSpanId,
      name: s.name,
      kind: s.kind + 1,
      service: resource.service,
      scope: SCOPE.name,
      startNs,
      endNs: endNs < startNs ? startNs : endNs,
      statusCode: s.statusCode,
      statusMessage: s.statusMessage,
      attributes: recordAttributes(s.attributes),
      resource: resource.attributes,
      events: s.events.map((e) => ({ timeNs: nanos(e.time).toString(), name: e.name, attributes: recordAttributes(wholeProfile(s, e)) })),
      links: s.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: recordAttributes(l.attributes) })),
    };
  }
}

/** The store keeps a statement's whole folded profile where OTLP gets the bounded one. */
function wholeProfile(s: SpanData, e: SpanEventData): SpanEventData['attributes'] {
  if (e.name !== PROFILE_EVENT || s.profile === undefined) return e.attributes;
  return { ...e.attributes, [A.profileFolded]: s.profile, [A.profileTruncated]: false };
}

export class StoreSpanExporter implements SpanSink {
  private stopped = false;
  private readonly converter = new SpanRecordConverter();

  constructor(private readonly store: TraceStore) {}

  export(spans: SpanData[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('StoreSpanExporter was shut down') });
      return;
    }
    try {
      this.store.ingest(spans.map((s) => this.converter.toRecord(s)));
      resultCallback({ code: ExportResultCode.SUCCESS });
    } catch (err) {
      resultCallback({ code: ExportResultCode.FAILED, error: err as Error });
    }
  }

  shutdown(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }
}
