// Assembled statements and the spans the collector builds from them, for the
// encoder and exporter tests.
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { StartRecord } from '../src/events/decode';
import { Message, Origin } from '../src/events/layout';
import type { Statement } from '../src/spans/assemble';
import { buildSpans } from '../src/spans/build';
import { MonotonicClock } from '../src/spans/clock';
import { checkTraceContext } from '../src/spans/confirm';
import { SqlDescriber } from '../src/spans/describe';
import type { SpanData } from '../src/spans/span-data';

export const clusterA = resourceFromAttributes({ 'service.name': 'postgresql', 'postgresql.cluster.port': 5432, 'host.name': 'db-1' });
export const clusterB = resourceFromAttributes({ 'service.name': 'billing-db', 'postgresql.cluster.data_directory': '/var/lib/postgresql/15/main' });

const startRecord = (over: Partial<StartRecord>): StartRecord => ({
  pid: 4242, ppid: 1, tsNs: 864_000_000_000_000, traceId: '0af7651916cd43dd8448eb211c80319c', parentSpanId: 'b7ad6b7169203331',
  flags: 1, origin: Origin.TAIL, malformed: false, message: Message.QUERY, unit: 0, name: 0, text: "SELECT * FROM users WHERE id = 7 /*traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/",
  textTotal: 0, ...over,
});

/** A statement with parse, plan, execute and commit, as the assembler hands it over. */
export function statement(over: Partial<Statement> = {}, start: Partial<StartRecord> = {}): Statement {
  const r = startRecord(start);
  if (r.textTotal === 0) r.textTotal = Buffer.byteLength(r.text);
  const t = r.tsNs;
  return {
    start: r, index: 0, startNs: t, endNs: t + 90_000, rows: 1, sqlstate: null, failed: false, error: null, txStatus: 'I', incomplete: false,
    timed: true, spanId: '', inside: { samples: [], waits: [], locks: [], usage: null, nests: [], clockLateNs: 0 }, queryId: null,
    phases: [
      { name: 'parse', startNs: t + 1_000, endNs: t + 11_000 },
      { name: 'plan', startNs: t + 12_000, endNs: t + 30_000 },
      { name: 'execute', startNs: t + 31_000, endNs: t + 80_000 },
      { name: 'commit', startNs: t + 80_500, endNs: t + 89_999 },
    ],
    ...over,
  };
}

const clock = new MonotonicClock();
const describer = new SqlDescriber(false);

export const build = (s: Statement, resource: Resource = clusterA): SpanData[] =>
  buildSpans(s, resource, clock, { database: 'shop', user: 'app' }, describer, checkTraceContext(s.start));
