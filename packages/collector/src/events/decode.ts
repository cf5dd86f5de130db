// Turns a ring-buffer batch into calls on a sink. Marks are passed as
// primitives (no object per record); a start record becomes one object,
// since its text must become a string anyway; a reply is handed over as a
// view into the batch, read before the call returns.
import { forEachRecord } from '@pgferret/bpf-loader';
import { BACKEND, HEADER, LOCK, MARK, NEST, RecordType, REPLY, SAMPLE, Scs, START, USAGE, WAIT } from './layout';

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
  /** a Parse's statement name (hash; 0: unnamed): NAMED_EXEC marks of later cycles name it */
  name: number;
  /** set by the assembler on a later execution of a named statement: the text is its Parse's, a comment in it is not this execution's context */
  reexecution?: true;
  text: string;
  /** full length of the text in bytes */
  textTotal: number;
  /** the session's standard_conforming_strings as the text arrived; undefined when the kernel could not read it */
  standardConformingStrings?: boolean;
}

/** A heavyweight lock's tag and the mode asked for (PostgreSQL's LOCKTAG, LOCKMODE). */
export interface LockTag {
  field1: number;
  field2: number;
  field3: number;
  field4: number;
  type: number;
  mode: number;
}

export interface NestRecord {
  tsNs: number;
  unit: number;
  edge: number;
  /** stack pointer at entry (an end's is its begin's + 8) */
  sp: bigint;
  textPtr: bigint;
  rows: number;
  result: number;
  textState: number;
  text: string;
}

export interface EventSink {
  start(r: StartRecord): void;
  mark(pid: number, tsNs: number, kind: number, unit: number, value: number): void;
  /** `body` is only valid during the call; `queryId`: the backend's published query identifier (0n: none read) */
  reply(pid: number, tsNs: number, unit: number, msg: number, body: Buffer, queryId?: bigint): void;
  backend(pid: number, ppid: number, event: number): void;
  /** off CPU from beginNs to tsNs inside a sampled request cycle */
  wait(pid: number, tsNs: number, beginNs: number, event: number, runnable: boolean): void;
  /** `tag` is all zero at the end edge of uprobe builds */
  lock(pid: number, tsNs: number, edge: number, tag: LockTag): void;
  /** what pgBufferUsage and pgWalUsage grew by (raw, word by word); the buffers are only valid during the call */
  usage(pid: number, tsNs: number, unit: number, kind: number, buffers: Buffer, wal: Buffer): void;
  nest(pid: number, r: NestRecord): void;
  /** a CPU-clock sample inside a sampled request cycle: user return addresses, innermost first */
  sample(pid: number, tsNs: number, unit: number, ips: number[]): void;
}

export interface DecodeStats {
  records: number;
  invalid: number;
}

function isZero(b: Buffer, from: number, len: number): boolean {
  for (let i = from; i < from + len; i++) if (b[i] !== 0) return false;
  return true;
}

function scs(v: number): { standardConformingStrings?: boolean } {
  return v === Scs.ON ? { standardConformingStrings: true } : v === Scs.OFF ? { standardConformingStrings: false } : {};
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
    name: batch.readUInt32LE(off + START.name),
    text: batch.toString('utf8', off + START.text, off + START.text + textLen),
    textTotal: batch.readUInt32LE(off + START.text_total),
    ...scs(batch[off + START.scs]),
  };
}

const u64 = (b: Buffer, at: number) => b.readUInt32LE(at + 4) * 4294967296 + b.readUInt32LE(at);

function decodeNest(batch: Buffer, off: number, len: number, tsNs: number): NestRecord {
  const textLen = Math.max(0, Math.min(batch.readUInt16LE(off + NEST.text_len), len - NEST.text));
  return {
    tsNs,
    unit: batch.readUInt32LE(off + NEST.unit),
    edge: batch.readUInt32LE(off + NEST.edge),
    sp: batch.readBigUInt64LE(off + NEST.sp),
    textPtr: batch.readBigUInt64LE(off + NEST.text_ptr),
    rows: u64(batch, off + NEST.rows),
    result: batch.readInt32LE(off + NEST.result),
    textState: batch[off + NEST.text_state],
    text: batch.toString('utf8', off + NEST.text, off + NEST.text + textLen),
  };
}

function decodeInside(type: number, batch: Buffer, off: number, len: number, pid: number, tsNs: number, sink: EventSink): boolean {
  if (type === RecordType.WAIT && len >= WAIT.size) {
    sink.wait(pid, tsNs, u64(batch, off + WAIT.begin_ns), batch.readUInt32LE(off + WAIT.event), batch[off + WAIT.runnable] !== 0);
    return true;
  }
  if (type === RecordType.LOCK && len >= LOCK.size) {
    sink.lock(pid, tsNs, batch.readUInt32LE(off + LOCK.edge), {
      field1: batch.readUInt32LE(off + LOCK.field1),
      field2: batch.readUInt32LE(off + LOCK.field2),
      field3: batch.readUInt32LE(off + LOCK.field3),
      field4: batch.readUInt16LE(off + LOCK.field4),
      type: batch[off + LOCK.tag_type],
      mode: batch[off + LOCK.mode],
    });
    return true;
  }
  if (type === RecordType.USAGE && len >= USAGE.data) {
    const bl = batch.readUInt16LE(off + USAGE.buffer_len);
    const wl = batch.readUInt16LE(off + USAGE.wal_len);
    if (bl + wl > len - USAGE.data) return false;
    const at = off + USAGE.data;
    sink.usage(pid, tsNs, batch.readUInt32LE(off + USAGE.unit), batch.readUInt32LE(off + USAGE.kind), batch.subarray(at, at + bl), batch.subarray(at + bl, at + bl + wl));
    return true;
  }
  if (type === RecordType.NEST && len >= NEST.text) {
    sink.nest(pid, decodeNest(batch, off, len, tsNs));
    return true;
  }
  if (type === RecordType.SAMPLE && len >= SAMPLE.ips) {
    const depth = Math.min(batch.readUInt16LE(off + SAMPLE.depth), (len - SAMPLE.ips) >> 3);
    // user addresses are below 2^47: exact as numbers
    const ips = new Array<number>(depth);
    for (let i = 0; i < depth; i++) ips[i] = u64(batch, off + SAMPLE.ips + i * 8);
    sink.sample(pid, tsNs, batch.readUInt32LE(off + SAMPLE.unit), ips);
    return true;
  }
  return false;
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
  const tsNs = u64(batch, off + HEADER.ts_ns);
  if (type === RecordType.MARK && len >= MARK.size) {
    const value = u64(batch, off + MARK.value);
    sink.mark(pid, tsNs, batch.readUInt32LE(off + MARK.kind), batch.readUInt32LE(off + MARK.unit), value);
    return;
  }
  if (type === RecordType.REPLY && len >= REPLY.body) {
    const n = Math.min(batch.readUInt16LE(off + REPLY.len), len - REPLY.body);
    const body = batch.subarray(off + REPLY.body, off + REPLY.body + n);
    sink.reply(pid, tsNs, batch.readUInt32LE(off + REPLY.unit), batch[off + REPLY.msg], body, batch.readBigUInt64LE(off + REPLY.query_id));
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
  if (decodeInside(type, batch, off, len, pid, tsNs, sink)) return;
  stats.invalid++;
}

export function decodeBatch(batch: Buffer, sink: EventSink, stats: DecodeStats): void {
  forEachRecord(batch, (off, len) => decodeRecord(batch, off, len, sink, stats));
}
