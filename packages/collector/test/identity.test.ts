// One statement, one identity (issue 21): the same 500 statements, as the
// kernel hands them over (trace comment and all), go through every consumer
// of a fingerprint: /metrics (StatementMetrics), diagnose (Recorder), the
// span store's top queries (spans built by the real span builder, stored in
// a real SQLite store), and the trace API the UI groups by (getTrace: the UI
// takes the key from there and never reads SQL itself). Every consumer gives
// each statement the same id; statements that differ only in literals, list
// lengths, comments, whitespace or keyword case share it, and PostgreSQL's
// own fingerprint (libpg-query) never separates two statements that do.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as pgq from 'libpg-query';
import { Registry } from 'prom-client';
import { statementFingerprint } from '@pgferret/sql';
import { Origin } from '../src/events/layout';
import { StatementMetrics } from '../src/metrics/statement-metrics';
import { Recorder } from '../src/diagnose/recorder';
import { TraceStore } from '../src/embedded/store';
import { SpanRecordConverter } from '../src/embedded/exporter';
import { buildSpans } from '../src/spans/build';
import { MonotonicClock } from '../src/spans/clock';
import { SqlDescriber } from '../src/spans/describe';
import { clusterA, statement } from './span-fixtures';
import { prng, Rand } from '../../sql/test/edge-sql';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A family of statements that are one statement to pg_stat_statements: each call writes another member. */
type Family = (r: Rand) => string;

const sp = (r: Rand) => r.pick([' ', ' ', '  ', '\n', '\n\t', ' /* note */ ', ' -- x\n']);
const kw = (r: Rand, w: string) => (r.int(2) === 0 ? w.toUpperCase() : w.toLowerCase());
const lit = (r: Rand) => r.pick([`${r.int(10_000)}`, `'${r.pick(['a', 'b c', "it''s", 'é', '/*', '--'])}${r.int(100)}'`, `${r.int(100)}.${r.int(100)}`, `E'x\\\\${r.int(9)}'`, `$$v${r.int(9)}$$`]);
const list = (r: Rand, item: () => string) => Array.from({ length: 2 + r.int(6) }, item).join(`,${r.pick(['', ' '])}`);

const FAMILIES: Family[] = [
  (r) => `${kw(r, 'select')} * ${kw(r, 'from')} users${sp(r)}${kw(r, 'where')} id = ${lit(r)}`,
  (r) => `${kw(r, 'select')} * ${kw(r, 'from')} users ${kw(r, 'where')} id ${kw(r, 'in')} (${list(r, () => `${r.int(999)}`)})`,
  (r) => `${kw(r, 'select')} name${sp(r)}${kw(r, 'from')} users ${kw(r, 'where')} id ${kw(r, 'in')} (${list(r, () => `$${1 + r.int(9)}`)}) ${kw(r, 'and')} age > ${lit(r)}`,
  (r) => `${kw(r, 'insert')} ${kw(r, 'into')} t (a, b) ${kw(r, 'values')} ${Array.from({ length: 2 + r.int(4) }, () => `(${lit(r)}, ${lit(r)})`).join(', ')}`,
  (r) => `${kw(r, 'update')} accounts ${kw(r, 'set')} balance = balance - ${lit(r)}${sp(r)}${kw(r, 'where')} id = ${lit(r)}`,
  (r) => `${kw(r, 'select')} ${kw(r, 'count')}(*) ${kw(r, 'from')} orders ${kw(r, 'where')} total >= -${r.int(50)} ${kw(r, 'and')} tags = ${kw(r, 'array')}[${list(r, () => `'t${r.int(9)}'`)}]`,
  (r) => `${kw(r, 'delete')} ${kw(r, 'from')} sessions ${kw(r, 'where')} expires < now() - ${kw(r, 'interval')} '${1 + r.int(30)} days'`,
  (r) => `${kw(r, 'select')} u.id, ${kw(r, 'count')}(o.id)${sp(r)}${kw(r, 'from')} users u ${kw(r, 'join')} orders o ${kw(r, 'on')} o.user_id = u.id ${kw(r, 'where')} u.name ${kw(r, 'like')} ${lit(r)} ${kw(r, 'group')} ${kw(r, 'by')} u.id`,
  (r) => `${kw(r, 'select')} $été$${r.int(99)} -- $ét$ $été$ ${kw(r, 'as')} t, 'C:\\\\${r.int(9)}' ${kw(r, 'as')} p`,
  (r) => `${kw(r, 'with')} x ${kw(r, 'as')} (${kw(r, 'select')} ${lit(r)} ${kw(r, 'as')} v) ${kw(r, 'select')} v ${kw(r, 'from')} x ${kw(r, 'limit')} ${1 + r.int(50)}`,
];
// VALUES with a different number of rows is one statement to pgferret (rows folded), several to PostgreSQL
const ROW_FOLDED = 3;

const TP = (i: number) => `00-${(i + 1).toString(16).padStart(32, '0')}-${(i + 1).toString(16).padStart(16, '0')}-01`;

beforeAll(() => pgq.loadModule());

test('500 statements get one identity in /metrics, diagnose, top queries and the trace API', async () => {
  const r = new Rand(prng(0x1d));
  const texts: { family: number; sql: string; sent: string; traceId: string }[] = [];
  for (let i = 0; i < 500; i++) {
    const family = i % FAMILIES.length;
    const sql = FAMILIES[family](r);
    const head = r.int(4) === 0;
    const comment = `/*application='api',traceparent='${TP(i)}'*/`;
    texts.push({ family, sql, sent: head ? `${comment} ${sql}` : `${sql} ${comment}`, traceId: TP(i).slice(3, 35) });
  }

  const registry = new Registry();
  const metrics = new StatementMetrics(registry, { fingerprints: 10_000, routes: 100, applications: 10 });
  const recorder = new Recorder();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-identity-'));
  dirs.push(dir);
  const store = TraceStore.open({ dataDir: dir });
  const converter = new SpanRecordConverter();
  const clock = new MonotonicClock();
  const describer = new SqlDescriber(false);
  const backend = { database: 'app', user: 'app' };

  texts.forEach((t, i) => {
    const origin = t.sent.startsWith('/*') ? Origin.HEAD : Origin.TAIL;
    const s = statement({}, { text: t.sent, origin, traceId: t.traceId, parentSpanId: TP(i).slice(36, 52), tsNs: 864_000_000_000_000 + i * 1_000_000 });
    metrics.observe(s, backend);
    recorder.listener(s, backend);
    store.ingest(buildSpans(s, clusterA, clock, backend, describer, 'confirmed').map((x) => converter.toRecord(x)));
  });

  // diagnose: one id per statement, in order
  const diagnose = recorder.kept.map((k) => k.fingerprint);
  expect(diagnose).toHaveLength(500);
  // the trace API (what the UI groups by), per statement
  const api = texts.map((t) => {
    const trace = store.getTrace(t.traceId)!;
    return trace.spans.find((x) => x.isPostgres && x.parentSpanId !== null && !x.attributes['postgresql.phase'])!.fingerprint;
  });
  // top queries: every statement row, by trace
  const top = store.topQueries({ limit: 1000 });
  const stored = new Map<string, string>();
  for (const q of top.queries) for (const st of store.slowestStatements(q.fingerprint, {}, 1000)) stored.set(st.traceId, q.fingerprint);
  const topQueries = texts.map((t) => stored.get(t.traceId));
  // /metrics: the fingerprint label of each series
  const series = (await registry.getMetricsAsJSON()).find((m) => m.name === 'pgferret_statement_duration_seconds')!;
  const metricIds = new Set((series.values as { labels: Record<string, string | number> }[]).map((v) => String(v.labels.fingerprint)));

  expect(api).toEqual(diagnose);
  expect(topQueries).toEqual(diagnose);
  expect([...metricIds].sort()).toEqual([...new Set(diagnose)].sort());
  // the info series shows the same text the store shows for each id
  const info = (await registry.getMetricsAsJSON()).find((m) => m.name === 'pgferret_statement_info')!;
  const infoText = new Map((info.values as { labels: Record<string, string | number> }[]).map((v) => [String(v.labels.fingerprint), String(v.labels.db_query_text)]));
  for (const q of top.queries) expect({ id: q.fingerprint, text: infoText.get(q.fingerprint)?.toLowerCase() }).toEqual({ id: q.fingerprint, text: q.text.toLowerCase() });

  // one id per family: literals, list lengths, comments, whitespace and case do not make another statement
  const perFamily = FAMILIES.map((_f, k) => new Set(diagnose.filter((_id, i) => texts[i].family === k)));
  expect(perFamily.map((s) => s.size)).toEqual(FAMILIES.map(() => 1));
  expect(new Set(diagnose).size).toBe(FAMILIES.length);
  // and the id is the shared function's, on the statement as the span shows it
  texts.forEach((t, i) => expect({ sql: t.sql, masked: recorder.kept[i].maskedText, id: statementFingerprint(t.sql).id }).toEqual({ sql: t.sql, masked: recorder.kept[i].maskedText, id: diagnose[i] }));

  // PostgreSQL's own fingerprint never separates statements given one id (rows of a VALUES aside)
  const pgFingerprints = new Map<string, Set<string>>();
  texts.forEach((t, i) => {
    if (t.family === ROW_FOLDED) return;
    const set = pgFingerprints.get(diagnose[i]) ?? new Set<string>();
    set.add(pgq.fingerprintSync(t.sql));
    pgFingerprints.set(diagnose[i], set);
  });
  expect([...pgFingerprints.values()].map((s) => s.size)).toEqual([...pgFingerprints.values()].map(() => 1));
  store.close();
});
