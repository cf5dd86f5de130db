// A bounded queue in front of the exporter. Spans wait here at most
// `intervalMs` or until a batch is full; when the queue is full new spans are
// dropped and counted, so a slow or dead OTLP endpoint costs memory only up
// to the bound and never backs up into the ring buffer. The OTLP exporters
// retry retryable failures with exponential backoff themselves.
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

export interface QueueOptions {
  maxQueue: number;
  maxBatch: number;
  intervalMs: number;
}

export interface QueueStats {
  queued: number;
  exported: number;
  dropped: number;
  exportFailures: number;
  lastError: string | null;
}

export class ExportQueue {
  private buf: ReadableSpan[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout;
  private closing = false;
  readonly stats: QueueStats = { queued: 0, exported: 0, dropped: 0, exportFailures: 0, lastError: null };

  constructor(private readonly exporter: SpanExporter, private readonly opts: QueueOptions) {
    this.timer = setInterval(() => this.drain(), opts.intervalMs);
    this.timer.unref();
  }

  hasRoom(spans: number): boolean {
    return this.buf.length + spans <= this.opts.maxQueue;
  }

  /** Counts spans that were never built because the queue was full. */
  drop(spans: number): void {
    this.stats.dropped += spans;
  }

  add(spans: ReadableSpan[]): void {
    const room = this.opts.maxQueue - this.buf.length;
    if (room < spans.length) {
      this.stats.dropped += spans.length - Math.max(room, 0);
      spans = spans.slice(0, Math.max(room, 0));
    }
    for (const s of spans) this.buf.push(s);
    this.stats.queued = this.buf.length;
    if (this.buf.length >= this.opts.maxBatch) this.drain();
  }

  private drain(): void {
    // two batches in flight at most: enough to keep up, bounded memory
    while (this.buf.length > 0 && this.inFlight < 2) {
      const batch = this.buf.splice(0, this.opts.maxBatch);
      this.stats.queued = this.buf.length;
      this.inFlight++;
      this.exporter.export(batch, (r) => {
        this.inFlight--;
        if (r.code === ExportResultCode.SUCCESS) this.stats.exported += batch.length;
        else {
          this.stats.exportFailures++;
          this.stats.dropped += batch.length;
          this.stats.lastError = r.error ? String(r.error.message ?? r.error) : 'export failed';
        }
        if (!this.closing && this.buf.length >= this.opts.maxBatch) this.drain();
      });
    }
  }

  /** Exports what is queued (waiting up to timeoutMs), then shuts the exporter down. */
  async close(timeoutMs = 5000): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    const deadline = Date.now() + timeoutMs;
    while ((this.buf.length > 0 || this.inFlight > 0) && Date.now() < deadline) {
      this.drain();
      await new Promise((r) => setTimeout(r, 20));
    }
    this.stats.dropped += this.buf.length;
    this.buf = [];
    await this.exporter.shutdown().catch(() => undefined);
  }
}
