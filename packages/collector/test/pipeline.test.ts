// One ring-buffer batch through the whole pipeline, as the kernel would send
// it: decode → assemble → enrich → build → export queue, each stage passed
// once, the taps beside the line told once, nothing called back.
import { resourceFromAttributes } from '@opentelemetry/resources';
import { HEADER, MARK, MarkKind, Message, Origin, RecordType, REPLY, START } from '../src/events/layout';
import type { ExportQueue } from '../src/export/queue';
import { Pipeline } from '../src/pipeline/pipeline';
import { A } from '../src/spans/attributes';
import type { Statement } from '../src/spans/assemble';
import type { SpanData } from '../src/spans/span-data';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const PID = 4711;
const PPID = 100;

/** A batch as the loader hands it over: each record after an 8-byte length header, padded to 8. */
function batch(records: Buffer[]): Buffer {
  return Buffer.concat(records.flatMap((r) => {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(r.length);
    return [head, r, Buffer.alloc(((r.length + 7) & ~7) - r.length)];
  }));
}

function header(b: Buffer, type: number, tsNs: number): Buffer {
  b.writeUInt32LE(type, HEADER.type);
  b.writeUInt32LE(PID, HEADER.pid);
  b.writeBigUInt64LE(BigInt(tsNs), HEADER.ts_ns);
  return b;
}

function start(text: string, tsNs: number): Buffer {
  const bytes = Buffer.from(text);
  const b = header(Buffer.alloc(START.text + bytes.length), RecordType.START, tsNs);
  Buffer.from(TRACE, 'hex').copy(b, START.trace_id);
  Buffer.from(PARENT, 'hex').copy(b, START.parent_span_id);
  b[START.flags] = 1;
  b[START.origin] = Origin.HEAD;
  b.writeUInt16LE(bytes.length, START.text_len);
  b.writeUInt32LE(bytes.length, START.text_total);
  b.writeUInt32LE(PPID, START.ppid);
  b[START.message] = Message.QUERY;
  b.writeUInt32LE(1, START.unit);
  bytes.copy(b, START.text);
  return b;
}

function reply(tag: string, tsNs: number): Buffer {
  const body = Buffer.from(`${tag}\0`);
  const b = header(Buffer.alloc(REPLY.body + body.length), RecordType.REPLY, tsNs);
  b.writeUInt32LE(1, REPLY.unit);
  b[REPLY.msg] = 'C'.charCodeAt(0);
  b.writeUInt16LE(body.length, REPLY.len);
  body.copy(b, REPLY.body);
  return b;
}

function idle(tsNs: number): Buffer {
  const b = header(Buffer.alloc(MARK.size), RecordType.MARK, tsNs);
  b.writeUInt32LE(MarkKind.IDLE, MARK.kind);
  b.writeUInt32LE(2, MARK.unit);
  b.writeBigUInt64LE(BigInt('I'.charCodeAt(0)), MARK.value);
  return b;
}

test('a batch with one sampled statement reaches the export queue once, through every stage', () => {
  const queued: SpanData[][] = [];
  const queue = {
    hasRoom: () => true,
    drop: () => undefined,
    add: (spans: SpanData[]) => queued.push(spans),
    stats: {},
  } as unknown as ExportQueue;
  const tapped: Statement[] = [];
  const listened: Statement[] = [];
  const resource = resourceFromAttributes({ 'service.name': 'postgresql' });
  const pipeline = new Pipeline({
    queue,
    rawQueryText: false,
    inside: { waitThresholdNs: 1e6, nestedCap: 100 },
    rootSampleRate: () => 0,
    cluster: (ppid) => (ppid === PPID ? { resource, port: 5432, inside: null } : undefined),
    fallbackResource: resource,
    listeners: () => [(s) => listened.push(s)],
    timedThrough: () => false,
    shedWhy: () => 'budget',
    taps: { statement: (s) => tapped.push(s), encrypted: () => undefined, fork: () => undefined },
    log: (m) => {
      throw new Error(`unexpected log: ${m}`);
    },
  });
  const text = `/*traceparent='00-${TRACE}-${PARENT}-01'*/ SELECT 1`;
  pipeline.push(batch([start(text, 1_000_000), reply('SELECT 1', 2_000_000), idle(3_000_000)]));

  expect(tapped).toHaveLength(1);
  expect(listened).toEqual(tapped);
  expect(queued).toHaveLength(1);
  const [span] = queued[0];
  expect(queued[0]).toHaveLength(1);
  expect(span).toMatchObject({ traceId: TRACE, parentSpanId: PARENT, spanId: tapped[0].spanId, name: 'SELECT', resource });
  expect(span.attributes).toMatchObject({ [A.dbQueryText]: 'SELECT ?', [A.dbResponseReturnedRows]: 1, [A.phasesUntimed]: true, [A.detailShed]: 'budget', [A.backendPid]: PID });
  expect(pipeline.stats()).toMatchObject({ decode: { records: 3, invalid: 0 }, statements: 1, rejectedContexts: 0, openCycles: 0, orphanMarks: 0, buildFailures: 0, detail: { phases: 0, budget: 1, late: 0, off: 0 } });
});
