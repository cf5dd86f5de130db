// Group commit: batches that arrive while the event loop is busy (decoding,
// or inside the previous commit, which blocks the thread) are stored in one
// transaction, so several requests share one fsync. Each request is answered
// only after the transaction holding its batch has committed.
import type { IngestResult, TraceStore } from './store';
import type { SpanRecord } from './span-record';

/** A group is committed at once when it reaches this many spans (bounds memory and latency). */
export const GROUP_MAX_SPANS = 8192;

interface Pending {
  spans: SpanRecord[];
  resolve: (r: IngestResult) => void;
  reject: (err: unknown) => void;
}

export class GroupCommitter {
  private pending: Pending[] = [];
  private pendingSpans = 0;
  private scheduled: NodeJS.Immediate | null = null;

  constructor(
    private readonly store: TraceStore,
    private readonly maxSpans = GROUP_MAX_SPANS,
  ) {}

  /** Resolves once the batch is committed; rejects if it could not be stored. */
  submit(spans: SpanRecord[]): Promise<IngestResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ spans, resolve, reject });
      this.pendingSpans += spans.length;
      if (this.pendingSpans >= this.maxSpans) this.flush();
      // setImmediate runs after the I/O callbacks of this loop turn: every
      // request whose body completed meanwhile joins the group.
      else this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Commits whatever is pending now. */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    const group = this.pending;
    this.pending = [];
    this.pendingSpans = 0;
    if (group.length === 0) return;
    let results: IngestResult[];
    try {
      results = this.store.ingestGroup(group.map((p) => p.spans));
    } catch (err) {
      if (group.length === 1) return group[0].reject(err);
      // The whole group rolled back: store each batch on its own so that one
      // bad batch does not fail the others.
      for (const p of group) {
        try {
          p.resolve(this.store.ingest(p.spans));
        } catch (e) {
          p.reject(e);
        }
      }
      return;
    }
    group.forEach((p, i) => p.resolve(results[i]));
  }
}
