// Conformance of the collector's OTLP protobuf encoder: its bytes, decoded
// with the official OTLP .proto definitions, against what the official
// ProtobufTraceSerializer writes for the same spans, field by field, and
// against the values the spans were built from.
import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { SpanRecordConverter } from '../src/embedded/exporter';
import { decodeProtobufRequest } from '../src/embedded/otlp-decode';
import { otlpDescriptor } from '../src/embedded/otlp-descriptor';
import { Origin } from '../src/events/layout';
import { TraceRequestEncoder } from '../src/export/otlp-encode';
import { toReadableSpan } from '../src/export/readable-span';
import { NONE, type SpanData } from '../src/spans/span-data';
import { build, clusterA, clusterB, statement } from './span-fixtures';

const Request = protobuf.Root.fromJSON(otlpDescriptor).lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');

/** A request as plain data: 64-bit integers as decimal strings, bytes as base64. */
function decode(body: Uint8Array): any {
  return Request.toObject(Request.decode(body), { longs: String, bytes: String, defaults: true, arrays: true, oneofs: true });
}

const hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');

function official(spans: SpanData[]): Uint8Array {
  return ProtobufTraceSerializer.serializeRequest(spans.map(toReadableSpan))!;
}

/** Both encodings decode to the same message, and are the same bytes. */
function expectSameAsOfficial(spans: SpanData[], encoder = new TraceRequestEncoder()): any {
  const mine = encoder.encode(spans);
  const theirs = official(spans);
  const decoded = decode(mine);
  expect(decoded).toEqual(decode(theirs));
  expect(Buffer.from(mine).equals(Buffer.from(theirs))).toBe(true);
  return decoded;
}

function handMade(over: Partial<SpanData>): SpanData {
  return {
    traceId: 'ffffffffffffffffffffffffffffffff', spanId: '0000000000000001', parentSpanId: null, parentIsRemote: false, traceFlags: 1,
    name: 'x', kind: SpanKind.INTERNAL, startTime: [1_700_000_000, 123_456_789], endTime: [1_700_000_001, 0], attributes: {},
    statusCode: SpanStatusCode.UNSET, statusMessage: '', events: NONE, links: NONE, resource: clusterA, ...over,
  };
}

describe('OTLP protobuf encoder', () => {
  it('a statement with four phases: the official bytes, and the values it was built from', () => {
    const spans = build(statement());
    const d = expectSameAsOfficial(spans);
    expect(d.resourceSpans).toHaveLength(1);
    const rs = d.resourceSpans[0];
    expect(rs.resource.attributes.map((kv: any) => kv.key)).toEqual(['service.name', 'postgresql.cluster.port', 'host.name']);
    expect(rs.resource.attributes[1].value).toEqual({ intValue: '5432', value: 'intValue' });
    expect(rs.scopeSpans).toHaveLength(1);
    expect(rs.scopeSpans[0].scope).toMatchObject({ name: 'pgferret-collector', version: '0.1.0' });
    const [stmt, ...phases] = rs.scopeSpans[0].spans;
    expect(hex(stmt.traceId)).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(hex(stmt.parentSpanId)).toBe('b7ad6b7169203331');
    expect(hex(stmt.spanId)).toBe(spans[0].spanId);
    expect(stmt.name).toBe('SELECT users');
    expect(stmt.kind).toBe(2); // SERVER
    expect(stmt.flags).toBe(0x301); // sampled, parent is remote
    const ns = (t: [number, number]) => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();
    expect(stmt.startTimeUnixNano).toBe(ns(spans[0].startTime as [number, number]));
    expect(BigInt(stmt.endTimeUnixNano) - BigInt(stmt.startTimeUnixNano)).toBe(90_000n);
    expect(phases.map((p: any) => [p.name, p.kind, hex(p.parentSpanId), p.flags])).toEqual(
      ['parse', 'plan', 'execute', 'commit'].map((n) => [n, 1, spans[0].spanId, 0x101]),
    );
    expect(BigInt(phases[3].endTimeUnixNano) - BigInt(stmt.startTimeUnixNano)).toBe(89_999n);
    expect(stmt.status).toEqual({ code: 0, message: '' });
  });

  it('errors, root statements, truncated and unicode text, every optional attribute', () => {
    const unicode = "SELECT \"Grüße, 世界 🐘\", 'masked literal' FROM t /*traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/";
    const failed = statement({ failed: true, sqlstate: '22012', rows: null, incomplete: true, index: 2, phases: [] }, { text: unicode, malformed: true });
    const root = statement({}, { traceId: null, parentSpanId: null, origin: Origin.ROOT, text: 'UPDATE t SET a = 1', textTotal: 5000 });
    const long = statement({}, { text: `SELECT "${'é'.repeat(3000)}" FROM t`, origin: Origin.ROOT, traceId: null, parentSpanId: null });
    const spans = [...build(failed), ...build(root, clusterB), ...build(long)];
    const d = expectSameAsOfficial(spans);
    expect(d.resourceSpans.map((rs: any) => rs.scopeSpans[0].spans.length)).toEqual([1 + 1 + 4, 5]);
    const err = d.resourceSpans[0].scopeSpans[0].spans[0];
    expect(err.status).toEqual({ code: 2, message: 'division_by_zero (22012)' });
    const attrs = Object.fromEntries(err.attributes.map((kv: any) => [kv.key, kv.value[kv.value.value]]));
    expect(attrs).toMatchObject({
      'db.response.status_code': '22012', 'error.type': '22012', 'pgferret.trace_context.malformed': true,
      'pgferret.incomplete': true, 'postgresql.statement.index': '2', 'db.namespace': 'shop',
    });
    expect(attrs['db.query.text']).toContain('世界 🐘');
    const rootSpan = d.resourceSpans[1].scopeSpans[0].spans[0];
    expect(rootSpan.parentSpanId).toBe('');
    expect(rootSpan.flags).toBe(0x101);
    expect(hex(rootSpan.traceId)).toMatch(/^[0-9a-f]{32}$/);
    const longText = d.resourceSpans[0].scopeSpans[0].spans[1].attributes.find((kv: any) => kv.key === 'db.query.text');
    expect(Buffer.byteLength(longText.value.stringValue)).toBeGreaterThan(6000); // a multi-byte length prefix
  });

  it('attribute values of every kind, empty and absent ones, events and links', () => {
    const attributes: Attributes = {
      empty: '', zero: 0, negative: -1, 'neg.large': -(2 ** 40) - 3, 'int.max.safe': Number.MAX_SAFE_INTEGER,
      'int.beyond.safe': 2 ** 60, 'int64.min': -(2 ** 63), 'too.large': 2 ** 64, double: 3.25, 'neg.double': -0.5,
      nan: NaN, bool: false, strings: ['a', 'ü', ''], numbers: [1, 2.5, -3], bools: [true], 'array.empty': [],
      'with.null': ['x', null, 'y'] as unknown as string[], missing: undefined, '': 'empty key', 'ключ 🔑': 'unicode key',
    };
    const spans = [
      handMade({ attributes, kind: SpanKind.CLIENT, statusCode: SpanStatusCode.OK, resource: clusterB }),
      handMade({
        spanId: '00000000000000ff', parentSpanId: 'abcdefabcdefabcd', parentIsRemote: true, traceFlags: 0, name: '',
        events: [{ name: 'lock wait', time: [4_000_000_000, 999_999_999], attributes: { 'lock.mode': 'RowExclusiveLock' } }, { name: 'e', time: [0, 0], attributes: {} }],
        links: [{ traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: 1, isRemote: true, attributes: { why: 'batch' } },
          { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 0, isRemote: false, attributes: {} }],
      }),
      handMade({ spanId: '0000000000000003', startTime: [0, 0], endTime: [18_446_744_073, 709_551_615] }), // fixed64 max
      handMade({ spanId: '0000000000000004', resource: clusterB, attributes: Object.freeze({ frozen: 'once', n: 7 }) }),
      handMade({ spanId: '0000000000000005', resource: clusterB, attributes: Object.freeze({ frozen: 'once', n: 7 }) }),
    ];
    const d = expectSameAsOfficial(spans);
    expect(d.resourceSpans).toHaveLength(2);
    const [a, b] = d.resourceSpans.map((rs: any) => rs.scopeSpans[0].spans);
    expect(a.map((s: any) => hex(s.spanId))).toEqual(['0000000000000001', '0000000000000004', '0000000000000005']);
    const v = Object.fromEntries(a[0].attributes.map((kv: any) => [kv.key, kv.value]));
    expect(v['int.beyond.safe'].intValue).toBe(String(2n ** 60n));
    expect(v['int64.min'].intValue).toBe(String(-(2n ** 63n)));
    expect(v['neg.large'].intValue).toBe(String(-(2n ** 40n) - 3n));
    expect(v['too.large']).toMatchObject({ value: 'doubleValue', doubleValue: 2 ** 64 });
    expect(v.missing.value).toBeUndefined();
    expect(v.strings.arrayValue.values.map((x: any) => x.stringValue)).toEqual(['a', 'ü', '']);
    expect(b[0].events.map((e: any) => [e.name, e.timeUnixNano])).toEqual([['lock wait', '4000000000999999999'], ['e', '0']]);
    expect(b[0].links.map((l: any) => l.flags)).toEqual([0x301, 0x100]);
    expect(b[0].flags).toBe(0x300);
    expect(b[1].endTimeUnixNano).toBe('18446744073709551615');
  });

  it('reuses its buffer: a batch encoded after a larger one carries nothing of it', () => {
    const encoder = new TraceRequestEncoder();
    const big = Array.from({ length: 300 }, () => build(statement())).flat();
    const first = encoder.encode(big);
    const small = build(statement({}, { text: 'SELECT 1' }));
    expectSameAsOfficial(small, encoder);
    expect(decode(first).resourceSpans[0].scopeSpans[0].spans).toHaveLength(1500); // the first body was a copy
  });

  it('any attributes, names and times encode as the official serializer does (property-based)', () => {
    const scalar = fc.oneof(fc.string({ unit: 'binary' }), fc.boolean(), fc.integer(), fc.double(), fc.maxSafeInteger(),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(Number));
    const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 4 }));
    const hexId = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'));
    const time = fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 999_999_999 }));
    const span = fc.record({
      traceId: hexId(16), spanId: hexId(8), parentSpanId: fc.option(hexId(8)), parentIsRemote: fc.boolean(), traceFlags: fc.integer({ min: 0, max: 255 }),
      name: fc.string({ unit: 'binary', maxLength: 200 }), kind: fc.integer({ min: 0, max: 4 }), startTime: time, endTime: time,
      attributes: fc.dictionary(fc.string({ unit: 'binary', maxLength: 60 }), value, { maxKeys: 12 }),
      statusCode: fc.integer({ min: 0, max: 2 }), statusMessage: fc.string({ maxLength: 300 }), resource: fc.constantFrom(clusterA, clusterB),
    }).map((r) => ({ ...r, events: NONE, links: NONE }) as SpanData);
    const encoder = new TraceRequestEncoder();
    fc.assert(fc.property(fc.array(span, { minLength: 1, maxLength: 8 }), (spans) => {
      expect(Buffer.from(encoder.encode(spans)).equals(Buffer.from(official(spans)))).toBe(true);
    }), { numRuns: 300 });
  });
});

describe('embedded store records', () => {
  it('the in-process conversion equals what the receiver decodes from the encoded request', () => {
    const spans = [
      ...build(statement()),
      ...build(statement({ failed: true, sqlstate: '40001', phases: [] }, { text: 'UPDATE accounts SET b = b + 1 /* ünïcode */' }), clusterB),
      handMade({
        resource: clusterB,
        attributes: { big: 2 ** 60, neg: -7, d: 1.5, arr: ['a', 'b'], nothing: undefined, '': 'dropped by both' },
        events: [{ name: 'ev', time: [1, 2], attributes: { k: 1 } }],
        links: [{ traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: 1, isRemote: true, attributes: { l: true } }],
      }),
    ];
    const converter = new SpanRecordConverter();
    expect(spans.map((s) => converter.toRecord(s))).toEqual(decodeProtobufRequest(new TraceRequestEncoder().encode(spans)).spans);
  });
});
