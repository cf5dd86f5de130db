// OpenTelemetry setup. Loaded before anything else (see server.ts) so the
// instrumentations can patch http, express and pg when they are required.
//
// Where spans go is the standard OTEL_* environment: with nothing set they go
// to http://localhost:4318/v1/traces, which is pgferret-collector's embedded
// receiver. Point OTEL_EXPORTER_OTLP_ENDPOINT at any OTLP/HTTP backend instead.
import { NodeSDK } from '@opentelemetry/sdk-node';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { PgFerretInstrumentation, pgferretRequestHook } from '@pgferret/sdk';

process.env.OTEL_SERVICE_NAME ??= 'express-example';
// This example sends traces only (the embedded collector receives traces only).
process.env.OTEL_METRICS_EXPORTER ??= 'none';
process.env.OTEL_LOGS_EXPORTER ??= 'none';

export const sdk = new NodeSDK({
  instrumentations: [
    new HttpInstrumentation(),
    new ExpressInstrumentation(),
    // requireParentSpan: queries outside a request (the seeding at start) make no trace
    new PgInstrumentation({ requireParentSpan: true, requestHook: pgferretRequestHook() }),
    // adds /*traceparent='…',route='…'*/ to each query, naming its pg span
    new PgFerretInstrumentation(),
  ],
});
sdk.start();
