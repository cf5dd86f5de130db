// Turns a ring-buffer batch into calls on a sink. Marks are passed as
// primitives (no object per record); a start record becomes one object,
// since its text must become a string anyway.
import { forEachRecord } from '@pgferret/bpf-loader';
import { HEADER, MARK, RecordType, START } from './layout';

export interface StartRecord {
  pid: number;
  ppid: number;
  tsNs: number;
  /** 32 lowercase hex chars, or null for a root (sampled without a traceparent) */
  traceId: string | null;
  parentSpanId: string | null;
  flags: number;
  origin: number;
  malformed: boolean;
  text: string;
  /** full length of the text in bytes; 0 when it was longer than the kernel scans */
  textTotal: number;
}

export interface EventSink {
  start(r: StartRecord): void;
  mark(pid: number, tsNs: number, kind: number, value: number): void;
}

export interface DecodeStats {
  records: number;
  invalid: number;
}

function isZero(b: Buffer, from: number, len: number): boolean {
  for (let i = from; i < from + len; i++) if (b[i] !== 0) return false;
  return true;
}

export function decodeRecord(batch: Buffer, off: number, len: number, sink: EventSink, stats: DecodeStats): void {
  stats.records++;
  if (len < HEADER.size) {
    stats.invalid++;
    return;
  }
  const type = batch.readUInt32LE(off + HEADER.type);
  const pid = batch.readUInt32LE(off + HEADER.pid);
  const tsNs = Number(batch.readBigUInt64LE(off + HEADER.ts_ns));
  if (type === RecordType.MARK && len >= MARK.size) {
    sink.mark(pid, tsNs, batch.readUInt32LE(off + MARK.kind), Number(batch.readBigUInt64LE(off + MARK.value)));
    return;
  }
  if (type === RecordType.START && len >= START.text) {
    const textLen = Math.min(batch.readUInt16LE(off + START.text_len), len - START.text);
    const root = isZero(batch, off + START.trace_id, 16);
    sink.start({
      pid,
      ppid: batch.readUInt32LE(off + START.ppid),
      tsNs,
      traceId: root ? null : batch.toString('hex', off + START.trace_id, off + START.trace_id + 16),
      parentSpanId: root ? null : batch.toString('hex', off + START.parent_span_id, off + START.parent_span_id + 8),
      flags: batch[off + START.flags],
      origin: batch[off + START.origin],
      malformed: batch.readUInt32LE(off + START.malformed) !== 0,
      text: batch.toString('utf8', off + START.text, off + START.text + textLen),
      textTotal: batch.readUInt32LE(off + START.text_total),
    });
    return;
  }
  stats.invalid++;
}

export function decodeBatch(batch: Buffer, sink: EventSink, stats: DecodeStats): void {
  forEachRecord(batch, (off, len) => decodeRecord(batch, off, len, sink, stats));
}
