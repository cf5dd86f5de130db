import * as os from 'node:os';
import { native, type ObjectHandle } from './native';
import { BpfError } from './errors';

/**
 * Batch format handed to `onBatch`: the records of one wake-up, concatenated.
 * Each record is
 *
 *     offset 0: u32 length of the record in bytes (little-endian)
 *     offset 4: u32 reserved, always 0
 *     offset 8: the record's bytes, zero-padded to a multiple of 8
 *
 * so every record starts 8-byte aligned relative to the batch. Read records
 * in place with a DataView over the batch (see forEachRecord).
 */
export type BatchHandler = (batch: Buffer, count: number) => void;

export const RECORD_HEADER_BYTES = 8;

export interface RingBufferStats {
  /** records delivered to JS */
  records: number;
  /** record bytes delivered (without batch headers and padding) */
  bytes: number;
  /** onBatch calls */
  batches: number;
  /** failures reading the ring buffer (poll, consume, a batch buffer that could not grow: that record is lost) */
  errors: number;
  /** the latest of them, e.g. "grow the batch buffer (the record was lost): ENOMEM" */
  lastError: string | null;
}

const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

export interface RingBufferReader {
  readonly stats: RingBufferStats;
  /** Stops reading; the reader no longer keeps the process alive. Idempotent. */
  close(): void;
  /** Reads every record the ring holds now: `onBatch` runs before this returns (e.g. to act on all a gone producer sent before forgetting it). */
  drain(): void;
  /** With `drainEveryMs`: the longest the drain timer backs off to while records are few (default 10 × drainEveryMs; at least drainEveryMs). */
  setBackoff(maxMs: number): void;
  /** Let the process exit while this reader is open (like socket.unref()). */
  unref(): void;
  ref(): void;
}

/**
 * Calls `cb(offset, length)` for every record in a batch, where `offset` is
 * where the record's bytes start. No allocation per record. Returns the count.
 */
export function forEachRecord(batch: Buffer, cb: (offset: number, length: number) => void): number {
  let off = 0;
  let n = 0;
  const end = batch.length;
  while (off + RECORD_HEADER_BYTES <= end) {
    const len = batch.readUInt32LE(off);
    cb(off + RECORD_HEADER_BYTES, len);
    off += RECORD_HEADER_BYTES + ((len + 7) & ~7);
    n++;
  }
  return n;
}

export class Reader implements RingBufferReader {
  readonly stats: RingBufferStats = { records: 0, bytes: 0, batches: 0, errors: 0, lastError: null };
  private id = -1;
  private closed = false;

  constructor(
    private readonly handle: ObjectHandle,
    private readonly objectClosed: () => boolean,
  ) {}

  start(mapName: string, onBatch: BatchHandler, maxBatchBytes: number, intervalMs: number, minBatchRecords: number, onTimer?: () => void): void {
    const stats = this.stats;
    this.id = native().ringBuffer(
      this.handle,
      mapName,
      (batch, count, payloadBytes, errno, op, timer) => {
        if (errno) {
          stats.errors++;
          stats.lastError = `${op}: ${ERRNO_NAMES.get(errno) ?? `errno ${errno}`}`;
        }
        if (count > 0) {
          stats.records += count;
          stats.bytes += payloadBytes;
          stats.batches++;
          onBatch(batch, count);
        }
        if (timer) onTimer?.();
      },
      maxBatchBytes,
      intervalMs,
      minBatchRecords,
      onTimer !== undefined,
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.objectClosed()) native().readerClose(this.handle, this.id);
  }

  drain(): void {
    if (!this.closed && !this.objectClosed()) native().readerDrain(this.handle, this.id);
  }

  setBackoff(maxMs: number): void {
    if (!Number.isSafeInteger(maxMs) || maxMs < 0 || maxMs > 600_000)
      throw new BpfError('BAD_ARGUMENT', `the drain back-off must be an integer number of milliseconds between 0 and 600000, got ${maxMs}`);
    if (!this.closed && !this.objectClosed()) native().readerBackoff(this.handle, this.id, maxMs);
  }

  unref(): void {
    if (!this.closed && !this.objectClosed()) native().readerRef(this.handle, this.id, false);
  }

  ref(): void {
    if (!this.closed && !this.objectClosed()) native().readerRef(this.handle, this.id, true);
  }
}
