// Plans of slow statements: the collector with --postgres-url explains the
// first slow run of a statement (never executing it), puts the plan on its
// span, reuses it for later runs, and says why when it cannot (parameters
// before PostgreSQL 16, several statements in one string). GENERIC_PLAN on
// the embedded PostgreSQL 18.
import { Client } from 'pg';
import { isPostgresServerSpan, type SpanRecord } from '../packages/collector/src/embedded/span-record';
import { Message, Origin } from '../packages/collector/src/events/layout';
import { StatementKeyer } from '../packages/collector/src/metrics/statement-keys';
import { Explainer, MAX_EXPLAINS_PER_MINUTE } from '../packages/collector/src/plans/explainer';
import type { Statement } from '../packages/collector/src/spans/assemble';
import { eventually, startCollector, startReceiver, type CollectorProcess, type Receiver } from './helpers/collector';
import { startPostgres, type PgCluster, type PgFlavor } from './helpers/postgres';

const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

async function setUp(flavor: PgFlavor) {
  const pg = await startPostgres({ flavor });
  const receiver = await startReceiver();
  const collector = await startCollector(
    ['--port', String(pg.port), '--root-sample-rate', '0', '--postgres-url', pg.connectionString, '--explain-min-ms', '150'],
    { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
  );
  await collector.waitFor(/attached to PostgreSQL/);
  await collector.waitFor(/plans: statements of the cluster on port \d+ taking 150 ms or more/);
  const client = new Client({ connectionString: pg.connectionString });
  await client.connect();
  /** Runs one statement in a new trace and returns its span(s). */
  const traced = async (sql: string, values?: unknown[]): Promise<SpanRecord[]> => {
    const traceId = hex(32);
    await client.query(`${sql} /*traceparent='00-${traceId}-${hex(16)}-01'*/`, values);
    await eventually(`the span of ${sql}`, () => receiver.spans.some((s) => s.traceId === traceId && isPostgresServerSpan(s)));
    return receiver.spans.filter((s) => s.traceId === traceId && isPostgresServerSpan(s));
  };
  const stop = async () => {
    await client.end();
    await collector.stop();
    await receiver.close();
    await pg.stop();
  };
  return { pg, receiver, collector, client, traced, stop };
}

describe('plans of slow statements, PostgreSQL 15', () => {
  let env: Awaited<ReturnType<typeof setUp>>;

  beforeAll(async () => {
    env = await setUp('debian');
    await env.client.query('CREATE TABLE events (id int, at timestamptz)');
  });

  afterAll(async () => {
    await env?.stop();
  });

  it('a slow statement carries its plan; the next slow run reuses it; a fast one has none', async () => {
    const [first] = await env.traced('SELECT pg_sleep(0.2), count(*) FROM pg_class');
    expect(first.attributes['postgresql.plan']).toMatch(/^Aggregate [\s\S]* on pg_class /);
    expect(first.attributes['postgresql.plan.generic']).toBe(false);
    const [second] = await env.traced('SELECT pg_sleep(0.2), count(*) FROM pg_class');
    expect(second.attributes['postgresql.plan']).toBe(first.attributes['postgresql.plan']);
    expect(second.attributes['postgresql.plan.explained_at']).toBe(first.attributes['postgresql.plan.explained_at']);
    const [fast] = await env.traced('SELECT count(*) FROM pg_class');
    expect(Object.keys(fast.attributes).filter((k) => k.startsWith('postgresql.plan'))).toEqual([]);
  });

  it('explains a slow write without executing it again', async () => {
    const [span] = await env.traced('INSERT INTO events SELECT 1, now() FROM pg_sleep(0.2)');
    expect(span.attributes['postgresql.plan']).toMatch(/Insert on events/);
    const { rows } = await env.client.query('SELECT count(*)::int AS n FROM events');
    expect(rows[0].n).toBe(1);
  });

  it('says why there is no plan: parameters before 16, several statements in one string', async () => {
    const [param] = await env.traced('SELECT pg_sleep($1)', [0.2]);
    expect(param.attributes['postgresql.plan.skipped']).toMatch(/\$n parameters: a generic plan needs PostgreSQL 16\+/);
    const multi = await env.traced('SELECT pg_sleep(0.2); SELECT 1');
    expect(multi).toHaveLength(2);
    // the slow first statement says why; the fast second one is not a candidate
    const [slow, fast] = [...multi].sort((a, b) => Number(a.attributes['postgresql.statement.index'] ?? 0) - Number(b.attributes['postgresql.statement.index'] ?? 0));
    expect(slow.attributes['postgresql.plan.skipped']).toBe('several statements in one string');
    expect(fast.attributes['postgresql.plan.skipped']).toBeUndefined();
  });
});

describe('Explainer rate limit', () => {
  let pg: PgCluster;

  beforeAll(async () => {
    pg = await startPostgres({ flavor: 'debian' });
  });

  afterAll(async () => {
    await pg?.stop();
  });

  it(`explains at most ${MAX_EXPLAINS_PER_MINUTE} new statements a minute, and only of the cluster on the URL's port`, async () => {
    const explainer = new Explainer({ url: pg.connectionString, minMs: 100, keyer: new StatementKeyer(), log: () => undefined });
    const slow = (text: string): Statement => ({
      start: { pid: 1, ppid: 1, tsNs: 0, traceId: null, parentSpanId: null, flags: 1, origin: Origin.ROOT, malformed: false, message: Message.QUERY, unit: 0, name: 0, text, textTotal: text.length },
      index: 0, startNs: 0, endNs: 500e6, phases: [], rows: 1, sqlstate: null, failed: false, incomplete: false,
      error: null, txStatus: 'I', timed: true, spanId: '', inside: { samples: [], waits: [], locks: [], usage: null, nests: [], clockLateNs: 0 }, queryId: null,
    });
    const db = { database: 'postgres' };
    expect(explainer.annotate(slow('SELECT relname AS other FROM pg_class'), db, pg.port + 1)).toBeNull();
    const answers = Array.from({ length: MAX_EXPLAINS_PER_MINUTE + 2 }, (_, i) => explainer.annotate(slow(`SELECT relname AS c${i} FROM pg_class`), db, pg.port));
    expect(answers.filter((a) => a instanceof Promise)).toHaveLength(MAX_EXPLAINS_PER_MINUTE);
    expect(answers.slice(MAX_EXPLAINS_PER_MINUTE)).toEqual([null, null]);
    const plans = await Promise.all(answers.slice(0, MAX_EXPLAINS_PER_MINUTE));
    expect(plans.every((p) => /Seq Scan on pg_class/.test(String((p as Record<string, unknown>)['postgresql.plan'])))).toBe(true);
    // explained ones are cached: answered at once, no new EXPLAIN
    expect(explainer.annotate(slow('SELECT relname AS c0 FROM pg_class'), db, pg.port)).toEqual(plans[0]);
    await explainer.close();
  });
});

describe('plans of slow statements, PostgreSQL 18 (embedded): GENERIC_PLAN', () => {
  let env: Awaited<ReturnType<typeof setUp>>;

  beforeAll(async () => {
    env = await setUp('embedded');
  });

  afterAll(async () => {
    await env?.stop();
  });

  it('a parameterized slow statement gets a generic plan', async () => {
    const [span] = await env.traced('SELECT pg_sleep($1), relname FROM pg_class WHERE oid = $2', [0.2, 1259]);
    expect(span.attributes['postgresql.plan.generic']).toBe(true);
    expect(span.attributes['postgresql.plan']).toMatch(/pg_class/);
  });
});
