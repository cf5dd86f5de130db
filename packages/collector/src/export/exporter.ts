// Where spans are exported, configured by the standard OTEL_EXPORTER_OTLP_*
// variables as the official exporters read them (endpoint and the
// /v1/traces rule, headers, timeout, compression). The official export
// delegate (concurrency bound, partial-success logging, self-metrics) runs
// our serializer and our HTTP transport: http/protobuf is written straight
// from the collector's spans by our encoder; http/json by the official JSON
// serializer on spans adapted to its ReadableSpan.
import type { ExportResult } from '@opentelemetry/core';
import { OTLPExporterBase, createOtlpNetworkExportDelegate } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExporterMetrics } from '@opentelemetry/otlp-exporter-base/node-http';
import {
  type IExporterMetricsHelper,
  type IExportTraceServiceResponse,
  type ISerializer,
  JsonTraceSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import type { SpanData } from '../spans/span-data';
import { HttpTransport } from './http-transport';
import { TraceRequestEncoder } from './otlp-encode';
import { toReadableSpan } from './readable-span';

export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** Where the queue hands batches of spans. */
export interface SpanSink {
  export(spans: SpanData[], done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

/** The endpoint the environment configures, or null (then the collector runs embedded). */
export function configuredEndpoint(env = process.env): string | null {
  return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || null;
}

export function configuredProtocol(env = process.env): OtlpProtocol {
  const p = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
  if (p === 'http/protobuf' || p === 'http/json') return p;
  throw new Error(
    `OTLP protocol '${p}' is not supported by pgferret-collector: set OTEL_EXPORTER_OTLP_PROTOCOL to http/protobuf (default) or http/json`,
  );
}

/** Our encoder out, the official response decoder in. */
function protobufSerializer(): ISerializer<SpanData[], IExportTraceServiceResponse> {
  const encoder = new TraceRequestEncoder();
  return {
    serializeRequest: (spans) => encoder.encode(spans),
    deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
  };
}

const jsonSerializer: ISerializer<SpanData[], IExportTraceServiceResponse> = {
  serializeRequest: (spans) => JsonTraceSerializer.serializeRequest(spans.map(toReadableSpan)),
  deserializeResponse: (data) => JsonTraceSerializer.deserializeResponse(data),
};

/** What the official http span exporters (both encodings) report in their self-observability metrics. */
const COMPONENT_TYPE = 'otlp_http_span_exporter';
const METRICS: IExporterMetricsHelper<SpanData[]> = { name: 'span', countItems: (spans) => spans.length };

export function createOtlpExporter(protocol: OtlpProtocol): SpanSink {
  const contentType = protocol === 'http/json' ? 'application/json' : 'application/x-protobuf';
  const options = convertLegacyHttpOptions({}, 'TRACES', 'v1/traces', { 'Content-Type': contentType });
  const metrics = createOtlpHttpExporterMetrics(COMPONENT_TYPE, METRICS, options.url, undefined);
  const serializer = protocol === 'http/json' ? jsonSerializer : protobufSerializer();
  return new OTLPExporterBase(createOtlpNetworkExportDelegate(options, serializer, metrics, new HttpTransport(options)));
}
