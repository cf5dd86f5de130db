// A bounded queue in front of the exporter. Spans wait here about
// `intervalMs` (paced by the collector's drain timer: io/heartbeat.ts) or
// until a batch is full; when the queue is full new spans are dropped and
// counted, so a slow or dead OTLP endpoint costs memory only up to the bound
// and never backs up into the ring buffer. The OTLP exporters retry
// retryable failures with exponential backoff themselves.
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { SpanData } from '../spans/span-data';
import type { SpanSink } from './exporter';
import { ExportHealth } from './health';
import { type Beat, Heartbeat } from '../io/heartbeat';

export interface QueueOptions {
  maxQueue: number;
  maxBatch: number;
  intervalMs: number;
  /** the flush shares its wake-ups with the collector's other periodic work (io/heartbeat.ts) */
  heartbeat?: Heartbeat;
  /** where "export failing since …" and "export recovered" go */
  log: (m: string) => void;
}

export interface QueueStats {
  queued: number;
  exported: number;
  dropped: number;
  exportFailures: number;
  lastError: string | null;
}

export class ExportQueue {
  private buf: SpanData[] = [];
  private inFlight = 0;
  private readonly beat: Beat;
  private closing = false;
  readonly stats: QueueStats = { queued: 0, exported: 0, dropped: 0, exportFailures: 0, lastError: null };
  private readonly health: ExportHealth;

  constructor(private readonly exporter: SpanSink, private readonly opts: QueueOptions) {
    this.health = new ExportHealth(opts.log);
    this.beat = (opts.heartbeat ?? new Heartbeat()).every(opts.intervalMs, () => this.drain(), { keepAlive: false });
  }

  hasRoom(spans: number): boolean {
    return this.buf.length + spans <= this.opts.maxQueue;
  }

  /** Counts spans that were never built because the queue was full. */
  drop(spans: number): void {
    this.stats.dropped += spans;
  }

  add(spans: SpanData[]): void {
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
      const done = (r: ExportResult) => {
        this.inFlight--;
        if (r.code === ExportResultCode.SUCCESS) {
          this.stats.exported += batch.length;
          this.health.succeeded(this.stats.dropped);
        } else {
          this.stats.exportFailures++;
          this.stats.dropped += batch.length;
          this.stats.lastError = r.error ? String(r.error.message ?? r.error) : 'export failed';
          this.health.failed(this.stats.lastError, this.stats.dropped - batch.length);
        }
        if (!this.closing && this.buf.length >= this.opts.maxBatch) this.drain();
      };
      try {
        this.exporter.export(batch, done);
      } catch (e) {
        // an exporter that throws instead of calling back must not stop the ring-buffer reader
        done({ code: ExportResultCode.FAILED, error: e as Error });
      }
    }
  }

  /** Exports what is queued (waiting up to timeoutMs), then shuts the exporter down. */
  async close(timeoutMs = 5000): Promise<void> {
    this.closing = true;
    this.beat.stop();
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
