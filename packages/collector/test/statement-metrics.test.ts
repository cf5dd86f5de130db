// The metrics computed from statements, without a kernel: label caps,
// fingerprints, sqlcommenter tags, and an exposition promtool accepts.
import { spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import type { StartRecord } from '../src/events/decode';
import { Message, Origin } from '../src/events/layout';
import { fingerprintOf, normalizeMasked } from '../src/metrics/fingerprint';
import { commentOf, tagValue } from '../src/metrics/sqlcommenter-tags';
import { StatementMetrics } from '../src/metrics/statement-metrics';
import type { Statement } from '../src/spans/assemble';

const TP = "traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'";

function statement(text: string, over: Partial<Statement> = {}, origin: number = Origin.TAIL): Statement {
  const start: StartRecord = {
    pid: 1234, ppid: 1, tsNs: 0, traceId: '0af7651916cd43dd8448eb211c80319c', parentSpanId: 'b7ad6b7169203331', flags: 1,
    origin, malformed: false, message: Message.QUERY, unit: 0, name: 0, text, textTotal: Buffer.byteLength(text),
  };
  return {
    start, index: 0, startNs: 1_000_000, endNs: 4_000_000, rows: 2, sqlstate: null, failed: false, error: null, txStatus: 'I', incomplete: false,
    timed: true, spanId: '', inside: { samples: [], waits: [], locks: [], usage: null, nests: [], clockLateNs: 0 }, queryId: null,
    phases: [{ name: 'plan', startNs: 1_000_000, endNs: 1_500_000 }, { name: 'execute', startNs: 1_500_000, endNs: 3_900_000 }],
    ...over,
  };
}

/** sample lines of one metric, as {labels, value} */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

describe('sqlcommenter tags', () => {
  const tag = (text: string, origin: number, key: string) => {
    const c = commentOf(text, origin);
    return c === null ? undefined : tagValue(c, key);
  };

  it('reads URL-encoded, quote-escaped values from a trailing comment, before or after a semicolon', () => {
    for (const text of [
      `SELECT 1 /*application='shop%20api',route='%2Fusers%2F%3Aid',${TP},controller='it\\'s'*/;`,
      `SELECT 1 /*application='shop%20api',controller='it\\'s',route='%2Fusers%2F%3Aid',${TP}*/ \n`,
    ]) {
      expect(tag(text, Origin.TAIL, 'application')).toBe('shop api');
      expect(tag(text, Origin.TAIL, 'route')).toBe('/users/:id');
      expect(tag(text, Origin.TAIL, 'controller')).toBe("it's");
      expect(tag(text, Origin.TAIL, 'action')).toBeUndefined();
    }
  });

  it('matches whole keys only', () => {
    expect(tag("SELECT 1 /*subroute='a',route='b'*/", Origin.TAIL, 'route')).toBe('b');
    expect(tag("SELECT 1 /*subroute='a'*/", Origin.TAIL, 'route')).toBeUndefined();
  });

  it('reads a leading comment when the trace context came from the start', () => {
    expect(tag(`/*route='%2Fa',${TP}*/ SELECT 1 /*route='%2Fb'*/`, Origin.HEAD, 'route')).toBe('/a');
  });

  it('gives nothing for text without a comment at the end, and keeps a value that is not URL-encoding', () => {
    expect(commentOf('SELECT 1', Origin.ROOT)).toBeNull();
    expect(commentOf("SELECT /*route='x'*/ 1", Origin.ROOT)).toBeNull();
    expect(tag("SELECT 1 /*route='100%'*/", Origin.ROOT, 'route')).toBe('100%');
  });
});

describe('fingerprints', () => {
  it('ignore the length of parameter and literal lists', () => {
    expect(normalizeMasked('SELECT * FROM t WHERE id IN (?, ?, ?)')).toBe('SELECT * FROM t WHERE id IN ($1 /*, ... */)');
    expect(fingerprintOf('SELECT * FROM t WHERE id IN ($1,$2)')).toBe(fingerprintOf('SELECT * FROM t WHERE id IN ($1, $2, $3, $4)'));
    expect(fingerprintOf('SELECT * FROM t WHERE id = ?')).not.toBe(fingerprintOf('SELECT * FROM u WHERE id = ?'));
    expect(fingerprintOf('SELECT 1')).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('StatementMetrics', () => {
  it('labels by fingerprint, operation, table, database, route and application; errors by SQLSTATE class', async () => {
    const registry = new Registry();
    const m = new StatementMetrics(registry);
    const db = { database: 'shop', user: 'app' };
    m.observe(statement(`SELECT * FROM users WHERE id = 7 /*application='api',route='%2Fusers%2F%3Aid',${TP}*/`), db);
    m.observe(statement(`SELECT * FROM users WHERE id = 8 /*application='api',route='%2Fusers%2F%3Aid',${TP}*/`, { endNs: 2_000_000_000 }), db);
    m.observe(statement(`INSERT INTO orders VALUES (1, 'x') /*${TP}*/`, { failed: true, sqlstate: '23505', rows: null }), db);
    const text = await registry.metrics();

    const fp = fingerprintOf('SELECT * FROM users WHERE id = ?');
    const count = samples(text, 'pgferret_statement_duration_seconds_count').find((s) => s.labels.fingerprint === fp)!;
    expect(count.labels).toEqual({
      fingerprint: fp, db_namespace: 'shop', db_operation_name: 'SELECT', db_collection_name: 'users', route: '/users/:id', application: 'api',
    });
    expect(count.value).toBe(2);
    const sum = samples(text, 'pgferret_statement_duration_seconds_sum').find((s) => s.labels.fingerprint === fp)!;
    expect(sum.value).toBeCloseTo(0.003 + 1.999, 6);
    // one in the 5 ms bucket, the 2 s one only from the 5 s bucket on
    const buckets = samples(text, 'pgferret_statement_duration_seconds_bucket').filter((s) => s.labels.fingerprint === fp);
    expect(buckets.find((b) => b.labels.le === '0.005')!.value).toBe(1);
    expect(buckets.find((b) => b.labels.le === '1')!.value).toBe(1);
    expect(buckets.find((b) => b.labels.le === '5')!.value).toBe(2);
    expect(samples(text, 'pgferret_statement_rows_total').find((s) => s.labels.fingerprint === fp)!.value).toBe(4);
    const phases = samples(text, 'pgferret_statement_phase_duration_seconds_count').filter((s) => s.labels.fingerprint === fp);
    expect(phases.map((p) => `${p.labels.phase}=${p.value}`).sort()).toEqual(['execute=2', 'plan=2']);

    const errors = samples(text, 'pgferret_statement_errors_total');
    expect(errors).toHaveLength(1);
    expect(errors[0].labels).toMatchObject({ sqlstate_class: '23', db_operation_name: 'INSERT', db_collection_name: 'orders', route: '' });
    expect(errors[0].value).toBe(1);

    const info = samples(text, 'pgferret_statement_info');
    expect(info.map((i) => i.labels)).toEqual(expect.arrayContaining([{ fingerprint: fp, db_query_text: 'SELECT * FROM users WHERE id = $1' }]));
    // the masked text never carries the literals
    expect(text).not.toMatch(/id = 7|'x'/);
  });

  it('folds fingerprints beyond the cap into "other" and counts them', async () => {
    const registry = new Registry();
    const m = new StatementMetrics(registry, { fingerprints: 3, routes: 10, applications: 10 });
    for (let i = 0; i < 10; i++) m.observe(statement(`SELECT c${i} FROM t /*${TP}*/`), {});
    m.observe(statement(`SELECT c0 FROM t /*${TP}*/`), {});
    const text = await registry.metrics();
    const counts = samples(text, 'pgferret_statement_duration_seconds_count');
    expect(counts.map((c) => c.labels.fingerprint).filter((f) => f !== 'other')).toHaveLength(3);
    expect(counts.find((c) => c.labels.fingerprint === 'other')!.value).toBe(7);
    expect(counts.find((c) => c.labels.fingerprint === fingerprintOf('SELECT c0 FROM t'))!.value).toBe(2);
    expect(samples(text, 'pgferret_statement_info')).toHaveLength(3);
    expect(samples(text, 'pgferret_metrics_label_overflow_total').find((s) => s.labels.label === 'fingerprint')!.value).toBe(7);
    expect(samples(text, 'pgferret_metrics_label_values').find((s) => s.labels.label === 'fingerprint')!.value).toBe(3);
  });

  it('produces an exposition promtool accepts', async () => {
    const registry = new Registry();
    const m = new StatementMetrics(registry);
    m.observe(statement(`SELECT 1 /*route='%2F',${TP}*/`), { database: 'postgres' });
    m.observe(statement(`SELECT x FROM nope /*${TP}*/`, { failed: true, sqlstate: '42P01' }), { database: 'postgres' });
    const r = spawnSync('promtool', ['check', 'metrics'], { input: await registry.metrics(), encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });
});
