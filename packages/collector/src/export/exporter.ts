// Where spans are exported, configured by the standard OTEL_EXPORTER_OTLP_*
// variables. http/protobuf: the official exporter's delegate (endpoint and
// /v1/traces rule, headers, timeout, gzip, retries with backoff and
// Retry-After, partial-success logging) around our own serializer, which
// writes the collector's spans straight into OTLP protobuf. http/json: the
// official JSON exporter, on spans adapted to its ReadableSpan.
import type { ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import {
  type IExporterMetricsHelper,
  type IExportTraceServiceResponse,
  type ISerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import type { SpanData } from '../spans/span-data';
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

/** The serializer the official delegate calls: our encoder out, the official response decoder in. */
export function protobufSerializer(): ISerializer<SpanData[], IExportTraceServiceResponse> {
  const encoder = new TraceRequestEncoder();
  return {
    serializeRequest: (spans) => encoder.encode(spans),
    deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
  };
}

/** What the official http/protobuf span exporter reports in its self-observability metrics. */
const COMPONENT_TYPE = 'otlp_http_span_exporter';
const METRICS: IExporterMetricsHelper<SpanData[]> = { name: 'span', countItems: (spans) => spans.length };

export function createProtobufExporter(): SpanSink {
  const options = convertLegacyHttpOptions({}, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' });
  return new OTLPExporterBase(
    createOtlpHttpExportDelegate(options, protobufSerializer(), COMPONENT_TYPE, METRICS, undefined),
  );
}

export function createJsonExporter(): SpanSink {
  const exporter = new JsonExporter();
  return {
    export: (spans, done) => exporter.export(spans.map(toReadableSpan), done),
    shutdown: () => exporter.shutdown(),
  };
}

export function createOtlpExporter(protocol: OtlpProtocol): SpanSink {
  return protocol === 'http/json' ? createJsonExporter() : createProtobufExporter();
}
