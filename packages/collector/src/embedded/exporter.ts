// Lets the collector store its own Postgres spans without going through HTTP.
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { decodeJsonRequest } from './otlp-decode';
import type { TraceStore } from './store';

export class StoreSpanExporter implements SpanExporter {
  private stopped = false;

  constructor(private readonly store: TraceStore) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('StoreSpanExporter was shut down') });
      return;
    }
    try {
      // The OTLP/JSON serializer of the official exporters, then the same
      // decoder as the HTTP receiver: one conversion path for every span.
      const body = JsonTraceSerializer.serializeRequest(spans);
      this.store.ingest(decodeJsonRequest(body).spans);
      resultCallback({ code: ExportResultCode.SUCCESS });
    } catch (err) {
      resultCallback({ code: ExportResultCode.FAILED, error: err as Error });
    }
  }

  shutdown(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}
