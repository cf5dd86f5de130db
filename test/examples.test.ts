// examples/express and examples/prisma end to end: a real PostgreSQL (Debian
// build, USDT probes), the collector in embedded mode with its real eBPF
// probes, each example app as a child process exporting its spans over
// OTLP/HTTP to the embedded receiver. Every request must become ONE trace in
// which each `pg` client span has the Postgres statement span the collector
// made for it as its child, under the request's HTTP server span.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startPostgres, type PgCluster } from './helpers/postgres';
import { startRun, RUN_DEFAULTS, type Running } from '../packages/collector/dist/run';
import type { StoredSpan, TraceDetail, TraceStore } from '../packages/collector/dist/embedded';

const REPO = path.resolve(__dirname, '..');
const SERVER = 2;
const CLIENT = 3;

let pg: PgCluster;
let running: Running;
let storeDir: string;

beforeAll(async () => {
  // embedded mode is what is under test: no OTLP endpoint for the collector
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  pg = await startPostgres({ flavor: 'debian' });
  storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-examples-store-'));
  running = await startRun(
    {
      ...RUN_DEFAULTS,
      filter: { ports: [pg.port] },
      // what the examples' statements look like inside, not the overhead budget (test/overhead-budget.test.ts)
      maxOverheadPct: 100,
      rootSampleRate: 0,
      rawQueryText: false,
      stateDir: storeDir,
      otlpPort: 0,
      uiPort: 0,
      allowNonLoopback: false,
    },
    () => undefined,
  );
  const attached = running.collector.status().clusters.find((c) => c.pid === pg.pid);
  expect(attached?.error).toBeNull();
});

afterAll(async () => {
  await running?.stop();
  await pg?.stop();
  if (storeDir) fs.rmSync(storeDir, { recursive: true, force: true });
});

interface App {
  url: string;
  stop(): Promise<void>;
}

/** Starts an example the way a user would: `node <entry>` with DATABASE_URL, PORT and OTEL_* set. */
async function startExample(entry: string): Promise<App> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: pg.connectionString,
    PORT: '0',
    OTEL_EXPORTER_OTLP_ENDPOINT: running.embedded!.otlpUrl,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
  const child = spawn(process.execPath, [path.join(REPO, entry)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start within 30 s:\n${out}`)), 30000);
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited while starting (did \`npm run build\` run?):\n${out}`));
    });
  });
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM'); // the app flushes its spans and exits
      await exited;
      expect(child.exitCode).toBe(0);
    },
  };
}

interface Req {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** the http.route the trace must be named after */
  route: string;
  status: number;
  /** statements of this request that reach Postgres */
  statements: number;
}

async function send(app: App, r: Req): Promise<void> {
  const res = await fetch(app.url + r.path, {
    method: r.method,
    headers: r.body === undefined ? {} : { 'content-type': 'application/json' },
    body: r.body === undefined ? undefined : JSON.stringify(r.body),
  });
  const text = await res.text();
  expect([r.path, res.status]).toEqual([r.path, r.status]);
  expect(text.length).toBeGreaterThan(0);
}

const isPgClient = (s: StoredSpan) => s.kind === CLIENT && s.name.startsWith('pg.query');

/** The store's traces of one service, oldest first, once every pg client span has its Postgres span. */
async function joinedTraces(store: TraceStore, service: string, count: number): Promise<TraceDetail[]> {
  const deadline = Date.now() + 20000;
  for (;;) {
    const traces = store
      .listTraces({ limit: 200 })
      .traces.filter((t) => t.rootService === service)
      .map((t) => store.getTrace(t.traceId)!)
      .reverse();
    const joined = traces.filter((t) => {
      const served = new Set(t.spans.filter((s) => s.isPostgres).map((s) => s.parentSpanId));
      return t.summary.hasRoot && t.spans.filter(isPgClient).every((s) => served.has(s.spanId));
    });
    if ((traces.length >= count && joined.length === traces.length) || Date.now() > deadline) return traces;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function checkTrace(t: TraceDetail, r: Req): void {
  const byId = new Map(t.spans.map((s) => [s.spanId, s]));
  const roots = t.spans.filter((s) => s.parentSpanId === null);
  expect(roots.map((s) => [s.kind, s.name])).toEqual([[SERVER, `${r.method} ${r.route}`]]);
  const root = roots[0];
  const underRoot = (s: StoredSpan): boolean => {
    for (let p = s.parentSpanId; p !== null; p = byId.get(p)?.parentSpanId ?? null) if (p === root.spanId) return true;
    return false;
  };

  const statements = t.spans.filter((s) => s.isPostgres);
  expect([r.path, statements.length]).toEqual([r.path, r.statements]);
  for (const st of statements) {
    // the statement hangs under a pg client span of the app, inside the request
    const client = byId.get(st.parentSpanId!);
    expect(client && isPgClient(client)).toBe(true);
    expect(client!.service).toBe(root.service);
    expect(underRoot(client!)).toBe(true);
    // ... and it is that client span's own query: same operation, same text up to masked literals
    const sent = String(client!.attributes['db.query.text']).trim().replace(/\s+/g, ' ');
    const seen = String(st.attributes['db.query.text']);
    expect(seen.split(/\s/)[0].toUpperCase()).toBe(sent.split(/\s/)[0].toUpperCase());
    expect(st.attributes['db.system.name']).toBe('postgresql');
    expect(st.resource['service.name']).toBe('postgresql');
    // the server span lies within the client span's time
    // (give or take the few ms by which Node's performance clock drifts from the wall clock)
    const slack = 5_000_000n;
    expect(BigInt(st.startNs) > BigInt(client!.startNs) - slack && BigInt(st.endNs) < BigInt(client!.endNs) + slack).toBe(true);
    // phases, unless the statement ran before its backend had its phase probes (its first sampled one), which it then says
    // (waits come from the scheduler tracepoint, armed or not: they are not phases)
    const phases = t.spans.filter((c) => c.parentSpanId === st.spanId && !c.name.startsWith('wait ')).map((c) => c.name);
    if (st.attributes['pgferret.phases.untimed'] === true) expect([st.name, phases]).toEqual([st.name, []]);
    else expect([st.name, phases]).toEqual([st.name, expect.arrayContaining(['parse', 'execute'])]);
  }
  // every pg client span got exactly one statement span
  for (const c of t.spans.filter(isPgClient)) {
    expect([c.name, statements.filter((s) => s.parentSpanId === c.spanId).length]).toEqual([c.name, 1]);
  }
}

async function exercise(entry: string, service: string, requests: Req[]): Promise<Map<string, TraceDetail>> {
  const app = await startExample(entry);
  try {
    for (const r of requests) await send(app, r);
  } finally {
    await app.stop();
  }
  const traces = await joinedTraces(running.embedded!.store, service, requests.length);
  // one trace per request, in the order they were sent
  expect(traces.map((t) => t.summary.rootName)).toEqual(requests.map((r) => `${r.method} ${r.route}`));
  const byPath = new Map<string, TraceDetail>();
  traces.forEach((t, i) => {
    checkTrace(t, requests[i]);
    byPath.set(requests[i].path, t);
  });
  return byPath;
}

const operation = (t: TraceDetail, op: string) => t.spans.filter((s) => s.isPostgres && s.attributes['db.operation.name'] === op);

test('examples/express: pg and knex queries of every route hang under their pg spans', async () => {
  const traces = await exercise('examples/express/dist/server.js', 'express-example', [
    { method: 'GET', path: '/users/7', route: '/users/:id', status: 200, statements: 1 },
    // knex asks for the server version on its first connection
    { method: 'GET', path: '/users?limit=5', route: '/users', status: 200, statements: 2 },
    { method: 'GET', path: '/report', route: '/report', status: 200, statements: 1 },
    { method: 'POST', path: '/orders', body: { userId: 3, amount: 12.5 }, route: '/orders', status: 201, statements: 5 },
    { method: 'GET', path: '/lock', route: '/lock', status: 200, statements: 4 },
    { method: 'GET', path: '/error', route: '/error', status: 500, statements: 1 },
  ]);

  const report = operation(traces.get('/report')!, 'SELECT');
  expect(report).toHaveLength(1);
  expect(report[0].attributes['db.query.text']).toMatch(/FROM orders o JOIN users u/);

  const order = traces.get('/orders')!.spans.filter((s) => s.isPostgres).map((s) => s.name.split(' ')[0]);
  expect(order).toEqual(['BEGIN', 'INSERT', 'UPDATE', 'UPDATE', 'COMMIT']);
  const commit = traces.get('/orders')!.spans.find((s) => s.isPostgres && s.name === 'COMMIT')!;
  if (commit.attributes['pgferret.phases.untimed'] !== true) {
    expect(traces.get('/orders')!.spans.some((s) => s.parentSpanId === commit.spanId && s.name === 'commit')).toBe(true);
  }
  // the pool's connections got their phase probes after their first sampled statement: most statements are timed
  const all = [...traces.values()].flatMap((t) => t.spans.filter((s) => s.isPostgres));
  expect(all.filter((s) => s.attributes['pgferret.phases.untimed'] !== true).length).toBeGreaterThan(all.length / 2);

  // GET /lock: the UPDATE waited for the row lock the app held for 300 ms
  const [update] = operation(traces.get('/lock')!, 'UPDATE');
  expect(update.durationMs).toBeGreaterThan(100);

  const [failed] = traces.get('/error')!.spans.filter((s) => s.isPostgres);
  expect(failed.attributes['db.response.status_code']).toBe('23505');
  expect(failed.statusCode).toBe(2);
});

test('examples/prisma: Prisma 7 (adapter-pg) reads, writes and a transaction hang under their pg spans', async () => {
  const traces = await exercise('examples/prisma/dist/src/server.js', 'prisma-example', [
    { method: 'GET', path: '/users', route: '/users', status: 200, statements: 1 },
    // Prisma loads relations with a second query
    { method: 'GET', path: '/users/3', route: '/users/:id', status: 200, statements: 2 },
    { method: 'GET', path: '/feed', route: '/feed', status: 200, statements: 2 },
    // a nested write: Prisma's own transaction
    { method: 'POST', path: '/users/3/posts', body: { title: 'hello', body: 'from the test' }, route: '/users/:id/posts', status: 201, statements: 5 },
    { method: 'POST', path: '/posts/2/publish', route: '/posts/:id/publish', status: 200, statements: 4 },
  ]);
  const publish = traces.get('/posts/2/publish')!.spans.filter((s) => s.isPostgres).map((s) => s.name.split(' ')[0]);
  expect(publish).toEqual(['BEGIN', 'SELECT', 'UPDATE', 'COMMIT']);
  const write = traces.get('/users/3/posts')!.spans.filter((s) => s.isPostgres).map((s) => s.name.split(' ')[0]);
  expect(write).toEqual(['BEGIN', 'SELECT', 'INSERT', 'SELECT', 'COMMIT']);
  const [insert] = operation(traces.get('/users/3/posts')!, 'INSERT');
  expect(insert.attributes['db.collection.name']).toMatch(/Post/);
});
