// Where spans are exported: the official OTLP/HTTP exporters, configured by
// the standard OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout,
// compression are read by the exporters themselves).
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { SpanExporter } from '@opentelemetry/sdk-trace';

export type OtlpProtocol = 'http/protobuf' | 'http/json';

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

export function createOtlpExporter(protocol: OtlpProtocol): SpanExporter {
  return protocol === 'http/json' ? new JsonExporter() : new ProtoExporter();
}
