// Turns a ring-buffer batch into calls on a sink. Marks are passed as
// primitives (no object per record); a start record becomes one object,
// since its text must become a string anyway; a reply is handed over as a
// view into the batch, read before the call returns.
import { forEachRecord } from '@pgferret/bpf-loader';
import { BACKEND, HEADER, MARK, RecordType, REPLY, START } from './layout';

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
  /** enum pf_message: the Query or Parse message that carried the text */
  message: number;
  /** the unit of a Query; UNIT_NONE for a Parse (its units follow as UNIT marks) */
  unit: number;
  text: string;
  /** full length of the text in bytes */
  textTotal: number;
}

export interface EventSink {
  start(r: StartRecord): void;
  mark(pid: number, tsNs: number, kind: number, unit: number, value: number): void;
  /** `body` is only valid during the call */
  reply(pid: number, tsNs: number, unit: number, msg: number, body: Buffer): void;
  backend(pid: number, ppid: number, event: number): void;
}

export interface DecodeStats {
  records: number;
  invalid: number;
}

function isZero(b: Buffer, from: number, len: number): boolean {
  for (let i = from; i < from + len; i++) if (b[i] !== 0) return false;
  return true;
}

function decodeStart(batch: Buffer, off: number, len: number, pid: number, tsNs: number): StartRecord {
  const textLen = Math.min(batch.readUInt16LE(off + START.text_len), len - START.text);
  const root = isZero(batch, off + START.trace_id, 16);
  return {
    pid,
    ppid: batch.readUInt32LE(off + START.ppid),
    tsNs,
    traceId: root ? null : batch.toString('hex', off + START.trace_id, off + START.trace_id + 16),
    parentSpanId: root ? null : batch.toString('hex', off + START.parent_span_id, off + START.parent_span_id + 8),
    flags: batch[off + START.flags],
    origin: batch[off + START.origin],
    malformed: batch[off + START.malformed] !== 0,
    message: batch[off + START.message],
    unit: batch.readUInt32LE(off + START.unit),
    text: batch.toString('utf8', off + START.text, off + START.text + textLen),
    textTotal: batch.readUInt32LE(off + START.text_total),
  };
}

export function decodeRecord(batch: Buffer, off: number, len: number, sink: EventSink, stats: DecodeStats): void {
  stats.records++;
  if (len < HEADER.size) {
    stats.invalid++;
    return;
  }
  const type = batch.readUInt32LE(off + HEADER.type);
  const pid = batch.readUInt32LE(off + HEADER.pid);
  // kernel monotonic ns fit a double exactly for 104 days of uptime; the low bits after that are noise we accept
  const tsNs = batch.readUInt32LE(off + HEADER.ts_ns + 4) * 4294967296 + batch.readUInt32LE(off + HEADER.ts_ns);
  if (type === RecordType.MARK && len >= MARK.size) {
    const value = batch.readUInt32LE(off + MARK.value + 4) * 4294967296 + batch.readUInt32LE(off + MARK.value);
    sink.mark(pid, tsNs, batch.readUInt32LE(off + MARK.kind), batch.readUInt32LE(off + MARK.unit), value);
    return;
  }
  if (type === RecordType.REPLY && len >= REPLY.body) {
    const n = Math.min(batch.readUInt16LE(off + REPLY.len), len - REPLY.body);
    sink.reply(pid, tsNs, batch.readUInt32LE(off + REPLY.unit), batch[off + REPLY.msg], batch.subarray(off + REPLY.body, off + REPLY.body + n));
    return;
  }
  if (type === RecordType.START && len >= START.text) {
    sink.start(decodeStart(batch, off, len, pid, tsNs));
    return;
  }
  if (type === RecordType.BACKEND && len >= BACKEND.size) {
    sink.backend(pid, batch.readUInt32LE(off + BACKEND.ppid), batch.readUInt32LE(off + BACKEND.event));
    return;
  }
  stats.invalid++;
}

export function decodeBatch(batch: Buffer, sink: EventSink, stats: DecodeStats): void {
  forEachRecord(batch, (off, len) => decodeRecord(batch, off, len, sink, stats));
}
