// OpenTelemetry setup, loaded before anything else (see server.ts). Prisma 7
// sends its SQL through `pg` (@prisma/adapter-pg), so the pg instrumentation
// gives each query a client span, its requestHook hands that span to pgferret
// and PgFerretInstrumentation puts the span's traceparent into the SQL, where
// pgferret-collector reads it.
//
// Spans go where the standard OTEL_* environment says; by default to
// http://localhost:4318, pgferret-collector's embedded receiver.
import { NodeSDK } from '@opentelemetry/sdk-node';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { PgFerretInstrumentation, pgferretRequestHook } from '@pgferret/sdk';

process.env.OTEL_SERVICE_NAME ??= 'prisma-example';
// This example sends traces only (the embedded collector receives traces only).
process.env.OTEL_METRICS_EXPORTER ??= 'none';
process.env.OTEL_LOGS_EXPORTER ??= 'none';

export const sdk = new NodeSDK({
  instrumentations: [
    new HttpInstrumentation(),
    new ExpressInstrumentation(),
    // requireParentSpan: queries outside a request (table setup at start) make no trace
    new PgInstrumentation({ requireParentSpan: true, requestHook: pgferretRequestHook() }),
    new PgFerretInstrumentation(),
  ],
});
sdk.start();
