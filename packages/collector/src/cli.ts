#!/usr/bin/env node
// The pgferret-collector command line.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { CollectorStatus } from './collector';
import { RUN_DEFAULTS, startRun } from './run';
import { Demo } from './demo';
import { formatReport } from './diagnose/format';
import { DEFAULT_THRESHOLDS, type Report } from './diagnose/report';
import { diagnose } from './diagnose/run';
import { SUGGESTED_METRICS_PORT } from './metrics/server';

function int(name: string) {
  return (v: string, prev: number[] | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return prev ? [...prev, n] : [n];
  };
}

function one(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

/** "30s", "2m", "500ms" or plain seconds, as milliseconds. */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m || Number(m[1]) <= 0) throw new InvalidArgumentError('must be a positive duration like 30s, 2m or 500ms');
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}

function rate(v: string): number {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be a number between 0 and 1');
  return n;
}

const log = (m: string) => process.stderr.write(`[pgferret] ${m}\n`);

function adminUrl(o: { adminHost: string; adminPort: number }): string {
  const h = o.adminHost.includes(':') ? `[${o.adminHost}]` : o.adminHost;
  return `http://${h}:${o.adminPort}`;
}

async function callAdmin(o: { adminHost: string; adminPort: number }, pathname: string, body?: unknown): Promise<unknown> {
  const url = adminUrl(o) + pathname;
  let res: Response;
  try {
    res = await fetch(url, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  } catch {
    throw new Error(`no collector answers at ${adminUrl(o)}: start one with \`sudo npx pgferret-collector\`, or pass --admin-port if it uses another port`);
  }
  const json = (await res.json()) as { error?: string };
  if (!res.ok) throw new Error(json.error ?? `HTTP ${res.status}`);
  return json;
}

function printStatus(s: CollectorStatus): void {
  const out: string[] = [];
  out.push(`tracing: ${s.enabled ? 'enabled' : 'DISABLED'}   detail: ${s.detail}   root sample rate: ${s.rootSampleRate}`);
  out.push(`clusters (${s.clusters.length}):`);
  for (const c of s.clusters) {
    out.push(`  pid ${c.pid}  PostgreSQL ${c.major ?? '?'}  port ${c.port ?? '?'}  ${c.dataDir}  ${c.error ? `ERROR: ${c.error}` : `probes: ${c.probeSet}`}`);
  }
  for (const b of s.binaries) {
    out.push(`binary ${b.exe}: ${b.attached.length} probes attached (${b.probeSet})${b.missing.length ? `, missing: ${b.missing.join(', ')}` : ''}`);
  }
  const k = s.kernel;
  out.push(`kernel: ${k.starts} statements seen, ${k.traced} traced, ${k.roots} sampled roots, ${k.unsampled} unsampled, ${k.malformed} malformed traceparents, ${k.dropped} records dropped`);
  out.push(`events: ${s.ringBuffer.records} records in ${s.ringBuffer.batches} batches; ${s.statements} statements assembled, ${s.openCycles} open`);
  const e = s.export;
  out.push(`export: ${e.exported} spans exported, ${e.queued} queued, ${e.dropped} dropped, ${e.exportFailures} failed exports${e.lastError ? ` (last: ${e.lastError})` : ''}`);
  process.stdout.write(out.join('\n') + '\n');
}

export function buildProgram(): Command {
  const program = new Command('pgferret-collector')
    .description('Traces PostgreSQL from the inside with eBPF: parse, plan, execute and commit spans on your application\'s traces.')
    .version('0.1.0');

  const adminOptions = (c: Command) =>
    c
      .option('--admin-host <host>', 'address of the admin API', RUN_DEFAULTS.adminHost)
      .option('--admin-port <port>', 'port of the admin API', one('--admin-port'), RUN_DEFAULTS.adminPort);

  adminOptions(
    program
      .command('run', { isDefault: true })
      .description('attach to running PostgreSQL clusters and export their spans (the default command). ' +
        'Exports over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set ' +
        '(OTEL_EXPORTER_OTLP_PROTOCOL http/protobuf or http/json, OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, ' +
        'OTEL_RESOURCE_ATTRIBUTES honoured); otherwise runs embedded: an OTLP receiver for your app, a trace store and a web UI.')
      .option('--pid <pid>', 'trace only the cluster whose postmaster has this pid (repeatable)', int('--pid'))
      .option('--data-dir <dir>', 'trace only the cluster with this data directory (repeatable)', (v: string, p: string[] | undefined) => [...(p ?? []), v])
      .option('--port <port>', 'trace only the cluster listening on this port (repeatable)', int('--port'))
      .option('--service-name <name>', 'service.name of the PostgreSQL spans (OTEL_SERVICE_NAME wins)', 'postgresql')
      .option('--root-sample-rate <rate>', 'share of statements WITHOUT a traceparent traced as root spans (0..1)', rate, RUN_DEFAULTS.rootSampleRate)
      .addOption(new Option('--detail <level>', 'phases: parse/plan/execute/commit child spans; statement: statement spans only, with the fewest probe hits per query')
        .choices(['phases', 'statement']).default(RUN_DEFAULTS.detail))
      .option('--raw-query-text', 'send db.query.text as sent, without masking literals (may expose data)', false)
      .option('--max-query-text <bytes>', 'bytes of statement text read per statement (max 4095)', one('--max-query-text'), RUN_DEFAULTS.maxQueryText)
      .option('--max-queue <spans>', 'spans waiting for export before new ones are dropped', one('--max-queue'), RUN_DEFAULTS.maxQueue)
      .option('--store-dir <dir>', 'embedded mode: where traces are stored', RUN_DEFAULTS.storeDir)
      .option('--otlp-host <host>', 'embedded mode: address of the OTLP/HTTP receiver', RUN_DEFAULTS.otlpHost)
      .option('--otlp-port <port>', 'embedded mode: port of the OTLP/HTTP receiver', one('--otlp-port'), RUN_DEFAULTS.otlpPort)
      .option('--ui-host <host>', 'embedded mode: address of the web UI', RUN_DEFAULTS.uiHost)
      .option('--ui-port <port>', 'embedded mode: port of the web UI', one('--ui-port'), RUN_DEFAULTS.uiPort)
      .option('--max-spans <n>', 'embedded mode: spans kept before the oldest traces are dropped', one('--max-spans'))
      .option('--max-store-bytes <n>', 'embedded mode: bytes kept before the oldest traces are dropped', one('--max-store-bytes'))
      .option('--metrics-port <port>', `serve Prometheus metrics at GET /metrics on this port (0 = off, the default; ${SUGGESTED_METRICS_PORT} is the documented one)`, one('--metrics-port'), RUN_DEFAULTS.metricsPort)
      .option('--metrics-host <host>', 'address of the /metrics endpoint', RUN_DEFAULTS.metricsHost)
      .option('--metrics-max-fingerprints <n>', 'distinct statement fingerprints with their own series; later ones are counted under fingerprint="other"', one('--metrics-max-fingerprints'), RUN_DEFAULTS.metricsMaxFingerprints)
      .option('--postgres-url <url>', 'a connection (ideally a read-only role) to EXPLAIN slow statements of the cluster on its port: ' +
        'never ANALYZE, GENERIC_PLAN on PostgreSQL 16+ for $n parameters; the plan goes on the statement span (postgresql.plan)')
      .option('--explain-min-ms <ms>', 'with --postgres-url: statements at least this long get a plan', one('--explain-min-ms'), RUN_DEFAULTS.explainMinMs)
      .option('--allow-non-loopback', 'allow binding the receiver, UI, admin API or /metrics to a non-loopback address (prints a warning)', false),
  ).action(async (o) => {
    const running = await startRun(
      {
        filter: { pids: o.pid, dataDirs: o.dataDir, ports: o.port },
        rootSampleRate: o.rootSampleRate,
        rawQueryText: o.rawQueryText,
        detail: o.detail,
        maxQueryText: o.maxQueryText,
        serviceName: o.serviceName,
        adminHost: o.adminHost,
        adminPort: o.adminPort,
        storeDir: o.storeDir,
        otlpHost: o.otlpHost,
        otlpPort: o.otlpPort,
        uiHost: o.uiHost,
        uiPort: o.uiPort,
        maxSpans: o.maxSpans,
        maxStoreBytes: o.maxStoreBytes,
        allowNonLoopback: o.allowNonLoopback,
        maxQueue: o.maxQueue,
        metricsHost: o.metricsHost,
        metricsPort: o.metricsPort,
        metricsMaxFingerprints: o.metricsMaxFingerprints,
        postgresUrl: o.postgresUrl,
        explainMinMs: o.explainMinMs,
      },
      log,
    );
    log('running; Ctrl-C to stop');
    const shutdown = (sig: string) => {
      log(`${sig}: detaching probes and flushing spans`);
      running.stop().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });

  adminOptions(
    program.command('status').description('show what a running collector is attached to and what it has seen, exported and dropped')
      .option('--json', 'print the raw JSON', false),
  ).action(async (o) => {
    const s = (await callAdmin(o, '/status')) as CollectorStatus;
    if (o.json) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    else printStatus(s);
  });

  adminOptions(
    program.command('control').description('change a running collector without restarting it')
      .addOption(new Option('--enable', 'start tracing again').conflicts('disable'))
      .option('--disable', 'stop tracing (probes stay attached but emit nothing)')
      .option('--root-sample-rate <rate>', 'share of statements without a traceparent traced as roots (0..1)', rate),
  ).action(async (o) => {
    const body: Record<string, unknown> = {};
    if (o.enable) body.enabled = true;
    if (o.disable) body.enabled = false;
    if (o.rootSampleRate !== undefined) body.rootSampleRate = o.rootSampleRate;
    if (Object.keys(body).length === 0) throw new Error('nothing to change: pass --enable, --disable or --root-sample-rate');
    process.stdout.write(JSON.stringify(await callAdmin(o, '/control', body)) + '\n');
  });

  adminOptions(
    program
      .command('diagnose')
      .description('watch the running clusters for a while and print a report: statements/s, traced share, p50/p95/p99, ' +
        'slowest statements, errors by SQLSTATE, per application and route, an activity timeline with bursts, and potential issues ' +
        '(N+1 patterns, high error rates, long statements). Attaches probes of its own (a running collector is not disturbed), ' +
        'or with --from-collector asks the running collector for the statements it traces.')
      .option('--duration <time>', 'how long to watch: 30s, 2m, 500ms', parseDuration, 30_000)
      .option('--json', 'print the report as JSON (schema: schemas/diagnose-report.schema.json in the package)', false)
      .option('--from-collector', 'use the running collector (its admin API, --admin-host/--admin-port) instead of attaching: its clusters and root sample rate', false)
      .option('--pid <pid>', 'watch only the cluster whose postmaster has this pid (repeatable)', int('--pid'))
      .option('--data-dir <dir>', 'watch only the cluster with this data directory (repeatable)', (v: string, p: string[] | undefined) => [...(p ?? []), v])
      .option('--port <port>', 'watch only the cluster listening on this port (repeatable)', int('--port'))
      .option('--root-sample-rate <rate>', 'share of statements WITHOUT a traceparent included (0..1); 1 sees all of them, at a higher probe cost for the watch', rate, 1)
      .option('--long-statement-ms <ms>', 'statements at least this long are reported as long', one('--long-statement-ms'), DEFAULT_THRESHOLDS.longStatementMs)
      .option('--n-plus-one <count>', 'the same statement this many times in one trace is reported as an N+1 pattern', one('--n-plus-one'), DEFAULT_THRESHOLDS.nPlusOne),
  ).action(async (o) => {
    const thresholds = { ...DEFAULT_THRESHOLDS, longStatementMs: o.longStatementMs, nPlusOne: o.nPlusOne };
    let report: Report;
    if (o.fromCollector) {
      if (o.pid || o.dataDir || o.port) throw new Error('--pid, --port and --data-dir choose clusters to attach to; with --from-collector the running collector\'s own filter applies');
      log(`asking the collector at ${adminUrl(o)} for ${o.duration / 1000} s of statements`);
      const q = new URLSearchParams({ durationMs: String(o.duration), longStatementMs: String(o.longStatementMs), nPlusOne: String(o.nPlusOne) });
      report = (await callAdmin(o, `/diagnose?${q}`)) as Report;
    } else {
      report = await diagnose({ filter: { pids: o.pid, dataDirs: o.dataDir, ports: o.port }, durationMs: o.duration, rootSampleRate: o.rootSampleRate, thresholds, log });
    }
    process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  });

  program
    .command('demo')
    .description('start an embedded PostgreSQL, the collector in embedded mode, the Express example app and a burst of traffic; ' +
      'print the web UI\'s URL and one trace as text; Ctrl-C stops all of it and removes its temp directory')
    .option('--postgres-url <url>', 'use this local PostgreSQL instead of an embedded one (the example app creates tables users, orders, inventory in it)')
    .option('--ui-port <port>', 'port of the web UI', one('--ui-port'), RUN_DEFAULTS.uiPort)
    .option('--otlp-port <port>', 'port of the OTLP/HTTP receiver', one('--otlp-port'), RUN_DEFAULTS.otlpPort)
    .option('--admin-port <port>', 'port of the admin API', one('--admin-port'), RUN_DEFAULTS.adminPort)
    .option('--exit-after-traffic', 'stop everything once the trace is printed instead of waiting for Ctrl-C', false)
    .action(async (o) => {
      const demo = new Demo(o, log, (s) => process.stdout.write(s));
      process.once('exit', () => demo.removeTempSync());
      const shutdown = (sig: string) => {
        log(`${sig}: stopping the demo (Ctrl-C again to exit at once)`);
        process.once('SIGINT', () => process.exit(130));
        demo.stop().then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      await demo.start();
      if (o.exitAfterTraffic) {
        await demo.stop();
        process.exit(0);
      }
      log('demo running; Ctrl-C to stop it');
    });

  return program;
}

if (require.main === module) {
  buildProgram().parseAsync(process.argv).catch((e: Error) => {
    log(`error: ${e.message}`);
    process.exit(1);
  });
}
