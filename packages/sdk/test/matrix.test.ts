// The compatibility matrix: real installs from the registry (one fixture
// directory per row, packages/sdk/test/matrix/*/, installed by
// scripts/setup.sh) each running test/matrix/app.js under several setups. For
// every query the server's log must show a traceparent naming the span that
// was exported over OTLP: instrumentation-pg's pg.query span for queries it
// ends, the active span for submittables it never ends.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startPostgres, type PgCluster } from '../../../test/helpers/postgres';
import { startReceiver, type Receiver } from '../../../test/helpers/collector';
import type { SpanRecord } from '../../collector/src/embedded/span-record';
import { LOG_SETTINGS, waitLogged, parseComment, commentCount } from './support/server-log';

const ROOT = path.resolve(__dirname, '../../..');
const SDK = path.resolve(__dirname, '..');
const MATRIX = path.join(__dirname, 'matrix');

interface Query {
  marker: string;
  names: 'pg' | 'active';
  traceId: string;
  activeSpanId: string;
}

let server: PgCluster;
let receiver: Receiver;

/** Puts the built SDK into a fixture's node_modules, so it resolves its peers from that install. */
function vendorSdk(fixture: string): void {
  const target = path.join(MATRIX, fixture, 'node_modules', '@pgferret', 'sdk');
  if (!fs.existsSync(path.join(MATRIX, fixture, 'node_modules', 'pg'))) {
    throw new Error(`${fixture} is not installed: run bash scripts/setup.sh`);
  }
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true });
  fs.cpSync(path.join(SDK, 'dist'), path.join(target, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(SDK, 'package.json'), path.join(target, 'package.json'));
}

beforeAll(async () => {
  execFileSync('npx', ['tsc', '-b', 'packages/sdk'], { cwd: ROOT, stdio: 'inherit' });
  for (const { fixture } of ROWS) vendorSdk(fixture);
  server = await startPostgres({ flavor: 'debian', settings: LOG_SETTINGS });
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver?.close();
  await server?.stop();
});

// async: the OTLP receiver runs in this process
interface AppRun {
  queries: Query[];
  warnings: string[];
  /** who wraps Client#query, outermost first */
  layers: Array<'sdk' | 'otel'>;
}

async function runApp(fixture: string, setup: string, prefix: string): Promise<AppRun> {
  const register = setup === 'auto-register' ? ['--require', '@opentelemetry/auto-instrumentations-node/register'] : [];
  const { stdout } = await promisify(execFile)(process.execPath, [...register, path.join(MATRIX, 'app.js'), setup, server.connectionString, prefix], {
    cwd: path.join(MATRIX, fixture),
    encoding: 'utf8',
    env: {
      ...process.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_NODE_RESOURCE_DETECTORS: 'none',
      OTEL_SERVICE_NAME: 'matrix',
    },
  });
  return JSON.parse(stdout) as AppRun;
}

const queryText = (s: SpanRecord): string => String(s.attributes['db.query.text'] ?? s.attributes['db.statement'] ?? '');

/**
 * Checks every query of one run; returns the pg spans that were named.
 * `unseen`: the SDK cannot see instrumentation-pg's span, so every query
 * names the active span.
 */
async function check(queries: Query[], pgVersion: string, unseen: boolean): Promise<SpanRecord[]> {
  const named: SpanRecord[] = [];
  for (const q of queries) {
    // copy_from's marker also names its table, created before the COPY
    const logged = await waitLogged(server, q.marker, q.marker.endsWith('_copy_from') ? 2 : 1);
    const stmt = logged[logged.length - 1];
    expect([q.marker, commentCount(stmt)]).toEqual([q.marker, 1]);
    const tags = parseComment(stmt);
    expect([q.marker, tags?.db_driver]).toEqual([q.marker, `pg:${pgVersion}`]);
    const traceparent = tags?.traceparent;
    const pgSpans = receiver.spans.filter((s) => s.traceId === q.traceId && s.name.startsWith('pg.query') && queryText(s).includes(q.marker));
    if (q.names === 'pg' && !unseen) {
      expect([q.marker, pgSpans.length]).toEqual([q.marker, 1]);
      expect([q.marker, traceparent]).toEqual([q.marker, `00-${q.traceId}-${pgSpans[0].spanId}-01`]);
      // the span shows the text as the app wrote it, also where the SDK's wrapper runs outside instrumentation-pg's
      expect([q.marker, queryText(pgSpans[0]).includes('/*')]).toEqual([q.marker, false]);
      named.push(pgSpans[0]);
    } else {
      // the span named is exported (instrumentation-pg's own span never is)
      expect([q.marker, pgSpans.filter((s) => s.spanId === traceparent?.split('-')[2])]).toEqual([q.marker, []]);
      expect([q.marker, traceparent]).toEqual([q.marker, `00-${q.traceId}-${q.activeSpanId}-01`]);
      expect(receiver.spans.some((s) => s.spanId === q.activeSpanId)).toBe(true);
    }
  }
  return named;
}

/** Waits for the app's spans: the receiver gets them when the app flushes, before it exits, but decoding is async. */
async function exported(queries: Query[]): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!queries.every((q) => receiver.spans.some((s) => s.spanId === q.activeSpanId))) {
    if (Date.now() > deadline) throw new Error('the app’s spans did not arrive at the OTLP receiver');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const OUTSIDE = ['instrument-after', 'auto', 'auto-register'];
const BASE = ['string', 'config', 'callback', 'pool', 'queued'];
const SUBMITTABLES = ['cursor', 'stream', 'copy_from', 'copy_to'];
const PIPELINE = ['pipeline_a', 'pipeline_b', 'pipeline_c'];
const ROWS: Array<{ fixture: string; setups: string[]; cases: string[]; unseen?: string[] }> = [
  ...['latest', 'newest'].map((fixture) => ({
    fixture,
    setups: ['hook-pg-first', 'hook-sdk-first', 'option', 'instrument-after', 'fallback-pg-first', 'fallback-sdk-first', 'auto', 'auto-register'],
    cases: [...BASE, ...SUBMITTABLES, ...PIPELINE, 'knex', 'prisma'],
  })),
  {
    fixture: 'otel-0.76',
    setups: ['hook-pg-first', 'hook-sdk-first', 'option', 'instrument-after', 'fallback-pg-first', 'fallback-sdk-first'],
    cases: [...BASE, ...SUBMITTABLES, ...PIPELINE],
  },
  { fixture: 'pg-8.0', setups: ['hook-pg-first', 'option', 'fallback-sdk-first'], cases: BASE },
  // older than the private fallback's tested range: requestHook only
  { fixture: 'otel-0.75', setups: ['hook-pg-first', 'option', 'fallback-pg-first'], cases: [...BASE, ...PIPELINE], unseen: ['fallback-pg-first'] },
];

describe.each(ROWS)('$fixture', ({ fixture, setups, cases, unseen = [] }) => {
  const pgVersion = (): string => JSON.parse(fs.readFileSync(path.join(MATRIX, fixture, 'node_modules', 'pg', 'package.json'), 'utf8')).version;
  test.each(setups)('%s: every traceparent names the exported span that stands for the query', async (setup) => {
    const prefix = `m_${fixture}_${setup}`.replace(/[^a-z0-9]/gi, '_').toLowerCase();
    const { queries, warnings, layers } = await runApp(fixture, setup, prefix);
    // instrumentation-pg wraps on top of the SDK whenever it patches after it
    // (even when registered first: it patches pg/lib/client.js, then pg again);
    // instrument() after pg was loaded and instrumented is the one case below it
    expect(layers).toEqual(OUTSIDE.includes(setup) ? ['sdk', 'otel'] : ['otel', 'sdk']);
    expect(queries.map((q) => q.marker.slice(prefix.length + 1)).sort()).toEqual([...cases].sort());
    await exported(queries);
    const named = await check(queries, pgVersion(), unseen.includes(setup));
    if (unseen.includes(setup)) {
      expect(warnings).toEqual([expect.stringMatching(/whose span this SDK cannot see.*pgferretRequestHook\(\)/)]);
      return;
    }
    expect(warnings).toEqual([]);
    if (!setup.startsWith('fallback') && setup !== 'auto-register') {
      // the app's own requestHook still ran next to pgferret's
      for (const s of named) expect([s.name, typeof s.attributes['app.request_hook']]).toEqual([s.name, 'number']);
    }
  });
});
