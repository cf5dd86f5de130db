// Runs pgferret-collector as a child process (the way users run it) and a
// real OTLP/HTTP receiver that decodes what the exporters send.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { callAdmin } from '../../packages/collector/src/admin/server';
import { decodeJsonRequest, decodeProtobufRequest } from '../../packages/collector/src/embedded/otlp-decode';
import { isPostgresServerSpan, type SpanRecord } from '../../packages/collector/src/embedded/span-record';
import { freePort, startPostgres, type PgCluster, type PgFlavor } from './postgres';

export const CLI = path.resolve(__dirname, '..', '..', 'packages', 'collector', 'dist', 'cli.js');

export interface Receiver {
  url: string;
  spans: SpanRecord[];
  requests: { contentType: string; count: number }[];
  close(): Promise<void>;
}

/** `port`: a given one (e.g. where a collector already exports to); default a free one */
export async function startReceiver(port?: number): Promise<Receiver> {
  const spans: SpanRecord[] = [];
  const requests: { contentType: string; count: number }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const type = String(req.headers['content-type'] ?? '');
        const r = type.startsWith('application/json') ? decodeJsonRequest(body) : decodeProtobufRequest(body);
        spans.push(...r.spans);
        requests.push({ contentType: type, count: r.spans.length });
        res.writeHead(200, { 'content-type': type.startsWith('application/json') ? 'application/json' : 'application/x-protobuf' });
        res.end(type.startsWith('application/json') ? '{}' : Buffer.alloc(0));
      } catch (e) {
        res.writeHead(400);
        res.end(String(e));
      }
    });
  });
  port ??= await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    requests,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export interface CollectorProcess {
  child: ChildProcess;
  /** --state-dir: admin socket, UI token, store; removed by stop() */
  stateDir: string;
  output(): string;
  status(): Promise<any>;
  control(body: Record<string, unknown>): Promise<any>;
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<number | null>;
}

/**
 * `cli`: the collector's command, e.g. one installed from its tarball (default: this checkout's);
 * `launcher`: a command that execs node with the rest (e.g. `nice -n 19`): the child's pid stays the collector's
 */
export async function startCollector(args: string[], env: Record<string, string> = {}, cli = CLI, launcher: string[] = []): Promise<CollectorProcess> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-state-'));
  let out = '';
  // tests of what phases show are no tests of the overhead budget: without --max-overhead, no limit
  const budget = args.includes('--max-overhead') ? [] : ['--max-overhead', '100'];
  const [command, ...before] = [...launcher, process.execPath];
  const child = spawn(command, [...before, cli, 'run', '--state-dir', stateDir, ...budget, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const proc: CollectorProcess = {
    child,
    stateDir,
    output: () => out,
    status: () => callAdmin(stateDir, '/status'),
    control: (body) => callAdmin(stateDir, '/control', body),
    waitFor: async (re, timeoutMs = 20000) => {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (child.exitCode !== null) throw new Error(`collector exited (${child.exitCode}) before ${re}:\n${out}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} in collector output:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: async () => {
      const removeState = () => fs.rmSync(stateDir, { recursive: true, force: true });
      if (child.exitCode !== null || child.signalCode !== null) {
        removeState();
        return child.exitCode;
      }
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10000);
      const code = await exited;
      clearTimeout(t);
      removeState();
      return code;
    },
  };
  return proc;
}

/** Polls until `check` returns true (or throws with `what` after the timeout). */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e; // e.g. the admin API not listening yet: try again
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}


/** The W3C traceparent comment for fresh random ids (flags 01: sampled). */
export function randomTraceparent(flags = '01'): { traceId: string; spanId: string; comment: string } {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  const traceId = hex(32);
  const spanId = hex(16);
  return { traceId, spanId, comment: `/*traceparent='00-${traceId}-${spanId}-${flags}'*/` };
}

/** The collector's statement spans in trace `traceId`. */
export function statementsOf(receiver: Receiver, traceId: string): SpanRecord[] {
  return receiver.spans.filter((s) => s.traceId === traceId && isPostgresServerSpan(s));
}

/** The phase spans (parse, plan, execute, commit) of statement span `statement`. */
export function phasesOf(receiver: Receiver, statement: SpanRecord): SpanRecord[] {
  return receiver.spans.filter((p) => p.parentSpanId === statement.spanId && p.attributes['postgresql.phase']);
}

/**
 * Phase probes are attached to a backend after its first sampled statement,
 * its lock and SPI probes right after them: runs one through `query` and waits
 * until the collector has one more backend with all of its probes in place
 * (`timeoutMs`: longer in a slow guest).
 */
export async function armBackend(query: (sql: string) => Promise<unknown>, collector: CollectorProcess, timeoutMs = 20000): Promise<void> {
  // it may be armed already (at its fork, when the cluster carried sampled traffic): wait for this pid, not a count
  const pid = Number(((await query('SELECT pg_backend_pid() AS pid')) as { rows: { pid: number }[] }).rows[0].pid);
  const pids = hostPids(pid);
  await query(`SELECT 'pgferret: arm this backend' ${randomTraceparent().comment}`);
  await eventually('the backend to get its phase, lock and SPI probes', async () => ((await collector.status()).backends.completePids as number[]).some((p) => pids.has(p)), timeoutMs);
}

/**
 * The host pids a backend's own `pg_backend_pid()` may stand for: itself, or,
 * for a PostgreSQL in its own PID namespace (a container), the processes whose
 * innermost namespace pid it is (the collector names backends by host pid).
 */
function hostPids(nsPid: number): Set<number> {
  const out = new Set([nsPid]);
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const ns = /^NSpid:\s+(.+)$/m.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1].trim().split(/\s+/).map(Number) ?? [];
      if (ns.length > 1 && ns[ns.length - 1] === nsPid) out.add(Number(p));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

export interface Traced {
  pg: PgCluster;
  receiver: Receiver;
  collector: CollectorProcess;
  stop(): Promise<void>;
}

/**
 * A real cluster, a real OTLP receiver, and the collector attached to that
 * cluster only, running. `flavor`: any, e.g. one of EMBEDDED_FLAVORS per major;
 * `args` may depend on the cluster (e.g. --postgres-url); `settings`: the
 * cluster's extra `-c` settings.
 */
export async function startTraced(
  flavor: PgFlavor, args: string[] | ((pg: PgCluster) => string[]) = [], settings: Record<string, string | number> = {},
): Promise<Traced> {
  const pg = await startPostgres({ flavor, settings });
  const receiver = await startReceiver();
  const extra = typeof args === 'function' ? args(pg) : args;
  const collector = await startCollector(['--port', String(pg.port), ...extra], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
  try {
    await collector.waitFor(/running; Ctrl-C to stop/);
  } catch (e) {
    // a test that loops over clusters goes on with the next one: leave nothing running
    await collector.stop();
    await receiver.close();
    await pg.stop();
    throw e;
  }
  return {
    pg, receiver, collector,
    stop: async () => {
      await collector.stop();
      await receiver.close();
      await pg.stop();
    },
  };
}
