#!/usr/bin/env node
// The pgferret-collector command line.
import { Command, InvalidArgumentError, Option, type OptionValues } from 'commander';
import { callAdmin } from './admin/server';
import { count, counts, msValue, niceValue, percent, port, rate } from './cli-args';
import type { CollectorStatus } from './control/collector-control';
import { TEXT_MAX } from './events/layout';
import { SOCKET_HOOK_COST } from './kernel/load';
import { RUN_DEFAULTS, startRun, type RunOptions } from './run';
import { dropPrivileges } from './privileges';
import { DEFAULT_NICE, setNice } from './priority';
import { formatReport } from './diagnose/format';
import { DEFAULT_THRESHOLDS, type Report } from './diagnose/report';
import { diagnose } from './diagnose';
import { SUGGESTED_METRICS_PORT } from './metrics/server';

/** "30s", "2m", "500ms" or plain seconds, as milliseconds. */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m || Number(m[1]) <= 0) throw new InvalidArgumentError('must be a positive duration like 30s, 2m or 500ms');
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}

const log = (m: string) => process.stderr.write(`[pgferret] ${m}\n`);

function printStatus(s: CollectorStatus): void {
  const out: string[] = [];
  out.push(`tracing: ${s.enabled ? 'enabled' : 'DISABLED'}   detail: ${s.detail}   root sample rate: ${s.rootSampleRate}`);
  for (const [feature, why] of Object.entries(s.refused)) if (why !== null) out.push(`WITHOUT ${feature}: ${why}`);
  if (s.socketHook.hook !== 'fexit') out.push(`sockets followed at ${SOCKET_HOOK_COST[s.socketHook.hook]}${s.socketHook.fallback ? ` (${s.socketHook.fallback})` : ` (PGFERRET_SOCKET_HOOK=${s.socketHook.hook})`}`);
  out.push(`clusters (${s.clusters.length}):`);
  for (const c of s.clusters) {
    out.push(`  pid ${c.pid}  PostgreSQL ${c.major ?? '?'}  port ${c.port ?? '?'}  ${c.dataDir}  ${c.error ? `ERROR: ${c.error}` : `probes: ${c.probeSet}`}`);
    if (c.inside) {
      const on = Object.entries(c.inside).filter(([, why]) => why === null).map(([f]) => f);
      const off = Object.entries(c.inside).filter(([, why]) => why !== null).map(([f, why]) => `${f} off (${why})`);
      out.push(`    inside statements: ${[on.length ? on.join(', ') : 'nothing', ...off].join('; ')}`);
    }
  }
  for (const b of s.binaries) out.push(`binary ${b.exe}: phase probes ${b.probes}`);
  const bk = s.backends;
  out.push(`backends: ${bk.armed} with phase probes (${bk.completePids.length} with their lock/SPI probes too), ${bk.waiting} waiting for the overhead budget, ${bk.tls} encrypted ones followed, ${bk.armFailures} arming failures${bk.lastArmError ? ` (last: ${bk.lastArmError})` : ''}`);
  const en = s.encrypted;
  if (en && en.tls + en.gssenc > 0) out.push(`encrypted connections: ${en.tls} TLS, ${en.gssenc} GSSAPI so far${en.lastError ? `; ${en.notFollowed} not followed (last: ${en.lastError})` : ''}`);
  const ph = s.phases;
  out.push(`phases: ${ph.share === null ? 'no sampled statement yet' : `${(100 * ph.share).toFixed(1)} % of sampled statements have them`} (${ph.timed} with; without: ${ph.budget} budget, ${ph.late} armed too late, ${ph.off} detail off)`);
  const bu = s.budget;
  if (bu) out.push(`overhead budget: ${bu.maxOverheadPct} % of backend CPU; probes cost ${bu.recentPct.toFixed(2)} % over the last 10 s, ${bu.totalPct.toFixed(2)} % since start (${bu.probeCostMs.toFixed(1)} of ${bu.backendCpuMs.toFixed(0)} ms, ${bu.probeHits} hits at ${(bu.nsPerHit / 1000).toFixed(2)} µs${bu.bodyMeasured ? ', bodies from bpf_stats' : ''}); ${bu.budgetDisarms} disarmed and ${bu.budgetArms} re-armed by the budget, ${bu.forkArms} of ${bu.forks} new backends armed at fork; uprobe removal: ${bu.removalQueue} links waiting, ${bu.removalPerLinkMs.toFixed(0)} ms per link, ${bu.removalS.toFixed(1)} s to disarm the busy armed backends`);
  const pr = s.profile;
  if (pr) {
    out.push(pr.hz > 0
      ? `CPU profile: ${pr.hz} Hz${s.budget && s.budget.profileDivisor > 1 ? ` (1/${s.budget.profileDivisor} of --profile-hz: the overhead budget)` : ''}, ${pr.clocks} backends with a clock, ${s.kernel.samples ?? 0} samples sent${pr.samplesDropped ? `, ${pr.samplesDropped} over the per-backend bound` : ''}${pr.failures ? `, ${pr.failures} clocks not attached (last: ${pr.lastError})` : ''}`
      : `CPU profile: off${pr.refused ? ` (${pr.refused})` : ' (--profile-hz 0)'}`);
  }
  const k = s.kernel;
  out.push(`kernel: ${k.starts} statements seen, ${k.traced} traced, ${k.roots} sampled roots, ${k.unsampled} unsampled, ${k.malformed} malformed traceparents, ${k.dropped} records dropped, ${k.desync} protocol resyncs, ${k.phase_hits} probe hits, ${k.waits_capped} waits over the per-cycle cap, ${k.nest_unread} nested statements without text`);
  if (s.blockerLookups.asked > 0) out.push(`lock waits: blockers asked ${s.blockerLookups.asked} times, ${s.blockerLookups.failed} failed`);
  const rb = s.ringBuffer;
  out.push(`events: ${rb.records} records in ${rb.batches} batches${rb.errors ? `, ${rb.errors} read errors (last: ${rb.lastError})` : ''}; ${s.statements} statements assembled (${s.untimedStatements} before their backend had phase probes), ${s.openCycles} open`);
  const e = s.export;
  out.push(`export: ${e.exported} spans exported, ${e.queued} queued, ${e.dropped} dropped, ${e.exportFailures} failed exports${e.lastError ? ` (last: ${e.lastError})` : ''}`);
  process.stdout.write(out.join('\n') + '\n');
}

/** Adds `--state-dir` to a command that uses the collector's state directory. */
function withStateDir(c: Command): Command {
  return c.option(
    '--state-dir <dir>',
    'the collector\'s state directory (0700): its admin socket, the web UI\'s token and, in embedded mode, the trace store',
    RUN_DEFAULTS.stateDir,
  );
}

/** `run`'s options as commander parsed them, as startRun takes them. */
function runOptions(o: OptionValues): RunOptions {
  return {
    filter: { pids: o.pid, dataDirs: o.dataDir, ports: o.port },
    rootSampleRate: o.rootSampleRate,
    rawQueryText: o.rawQueryText,
    detail: o.detail,
    maxOverheadPct: o.maxOverhead,
    armAtFork: o.armAtFork,
    waitThresholdMs: o.waitThreshold,
    nestedCap: o.nestedCap,
    profileHz: o.profileHz,
    maxQueryText: o.maxQueryText,
    serviceName: o.serviceName,
    stateDir: o.stateDir,
    otlpTokenFile: o.otlpTokenFile,
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
    bpfObject: o.bpfObject,
  };
}

/** `run` (the default): attach, export, serve until SIGINT/SIGTERM. */
function addRun(program: Command): void {
  withStateDir(
    program
      .command('run', { isDefault: true })
      .description('attach to running PostgreSQL clusters and export their spans (the default command). ' +
        'Exports over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set ' +
        '(OTEL_EXPORTER_OTLP_PROTOCOL http/protobuf or http/json, OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, ' +
        'OTEL_RESOURCE_ATTRIBUTES honoured); otherwise runs embedded: an OTLP receiver for your app, a trace store and a web UI.')
      .option('--pid <pid>', 'trace only the cluster whose postmaster has this pid (repeatable)', counts('--pid'))
      .option('--data-dir <dir>', 'trace only the cluster with this data directory (repeatable)', (v: string, p: string[] | undefined) => [...(p ?? []), v])
      .option('--port <port>', 'trace only the cluster listening on this port (repeatable)', counts('--port', 65535))
      .option('--service-name <name>', 'service.name of the PostgreSQL spans (OTEL_SERVICE_NAME wins)', 'postgresql')
      .option('--root-sample-rate <rate>', 'share of statements WITHOUT a traceparent traced as root spans (0..1)', rate, RUN_DEFAULTS.rootSampleRate)
      .addOption(new Option('--detail <level>', 'full: phases plus waits, lock waits, buffers/WAL and nested statements; ' +
        'phases: parse/plan/execute/commit child spans (probes in the backends that carry sampled statements); statement: statement spans only, no probe in any backend')
        .choices(['full', 'phases', 'statement']).default(RUN_DEFAULTS.detail))
      .option('--max-overhead <percent>', 'the per-backend probes (phases, locks, nested statements) may cost at most this share of the traced backends\' CPU time: ' +
        'backends are armed for windows of time within it, and spans without detail say why (pgferret.detail); statement spans are never limited (100: no limit)', percent('--max-overhead'), RUN_DEFAULTS.maxOverheadPct)
      .option('--arm-at-fork <share>', 'share of new backends of a cluster with sampled traffic armed at their fork, within --max-overhead, so their first statements have phases (0..1; 0: only on use)', rate, RUN_DEFAULTS.armAtFork)
      .option('--wait-threshold <ms>', 'with --detail full: waits at least this long get a span of their own; shorter ones are summed on their phase', msValue('--wait-threshold'), RUN_DEFAULTS.waitThresholdMs)
      .option('--nested-cap <n>', 'with --detail full: statements run inside one statement (functions, procedures, triggers) with a span of their own; the rest are summed per text', count('--nested-cap'), RUN_DEFAULTS.nestedCap)
      .option('--profile-hz <hz>', 'CPU profile of sampled statements: samples per second of a backend\'s CPU time while it runs one (software cpu-clock on the backends that carry sampled statements; 0: off)', count('--profile-hz', 10000), RUN_DEFAULTS.profileHz)
      .option('--raw-query-text', 'send db.query.text as sent, without masking literals (may expose data)', false)
      .option('--max-query-text <bytes>', `bytes of statement text read per statement (max ${TEXT_MAX - 1})`, count('--max-query-text', TEXT_MAX - 1, ', what the kernel side reads per statement'), RUN_DEFAULTS.maxQueryText)
      .option('--max-queue <spans>', 'spans waiting for export before new ones are dropped', count('--max-queue'), RUN_DEFAULTS.maxQueue)
      .option('--otlp-token-file <file>', 'embedded mode: require "Authorization: Bearer <token>" on OTLP requests, with the token in this file')
      .option('--otlp-host <host>', 'embedded mode: address of the OTLP/HTTP receiver', RUN_DEFAULTS.otlpHost)
      .option('--otlp-port <port>', 'embedded mode: port of the OTLP/HTTP receiver', port('--otlp-port'), RUN_DEFAULTS.otlpPort)
      .option('--ui-host <host>', 'embedded mode: address of the web UI', RUN_DEFAULTS.uiHost)
      .option('--ui-port <port>', 'embedded mode: port of the web UI', port('--ui-port'), RUN_DEFAULTS.uiPort)
      .option('--max-spans <n>', 'embedded mode: spans kept before the oldest traces are dropped', count('--max-spans'))
      .option('--max-store-bytes <n>', 'embedded mode: bytes kept before the oldest traces are dropped', count('--max-store-bytes'))
      .option('--metrics-port <port>', `serve Prometheus metrics at GET /metrics on this port (0 = off, the default; ${SUGGESTED_METRICS_PORT} is the documented one)`, port('--metrics-port'), RUN_DEFAULTS.metricsPort)
      .option('--metrics-host <host>', 'address of the /metrics endpoint', RUN_DEFAULTS.metricsHost)
      .option('--metrics-max-fingerprints <n>', 'distinct statement fingerprints with their own series; later ones are counted under fingerprint="other"', count('--metrics-max-fingerprints'), RUN_DEFAULTS.metricsMaxFingerprints)
      .option('--postgres-url <url>', 'a connection (ideally a read-only role) to the cluster on its port, to EXPLAIN slow statements ' +
        '(never ANALYZE, GENERIC_PLAN on PostgreSQL 16+ for $n parameters; the plan goes on the statement span as postgresql.plan) ' +
        'and to name who holds the lock a sampled statement waits for (pg_blocking_pids)')
      .option('--explain-min-ms <ms>', 'with --postgres-url: statements at least this long get a plan', count('--explain-min-ms'), RUN_DEFAULTS.explainMinMs)
      .option('--allow-non-loopback', 'allow binding the OTLP receiver, the web UI or /metrics to a non-loopback address (prints a warning)', false)
      .option('--nice <n>', 'the collector\'s CPU priority (-20..19): at the default, the lowest, the database\'s backends run first on busy CPUs ' +
        'and the collector falls behind and drops records (counted in status and /metrics) rather than slow them', niceValue, DEFAULT_NICE)
      .option('--bpf-object <file>', 'the compiled BPF object to load instead of the package\'s own (a build for another kernel or architecture)'),
  ).action(async (o) => {
    const niced = setNice(o.nice);
    const running = await startRun(runOptions(o), log);
    log(`CPU priority: nice ${o.nice} on ${niced} threads and the ones they start (--nice)`);
    dropPrivileges(log);
    log('running; Ctrl-C to stop');
    const shutdown = (sig: string) => {
      log(`${sig}: detaching probes and flushing spans`);
      running.stop().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
}

/** `status`: what a running collector is attached to and what it has seen. */
function addStatus(program: Command): void {
  withStateDir(
    program.command('status').description('show what a running collector is attached to and what it has seen, exported and dropped')
      .option('--json', 'print the raw JSON', false),
  ).action(async (o) => {
    const s = (await callAdmin(o.stateDir, '/status')) as CollectorStatus;
    if (o.json) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    else printStatus(s);
  });
}

/** `control`: run-time changes through the admin socket. */
function addControl(program: Command): void {
  withStateDir(
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
    process.stdout.write(JSON.stringify(await callAdmin(o.stateDir, '/control', body)) + '\n');
  });
}

/** `diagnose`: a report of a while of statements, from probes of its own or a running collector. */
function addDiagnose(program: Command): void {
  withStateDir(
    program
      .command('diagnose')
      .description('watch the running clusters for a while and print a report: statements/s, traced share, p50/p95/p99, ' +
        'slowest statements, errors by SQLSTATE, per application and route, an activity timeline with bursts, and potential issues ' +
        '(N+1 patterns, high error rates, long statements). Attaches probes of its own (a running collector is not disturbed), ' +
        'or with --from-collector asks the running collector for the statements it traces.')
      .option('--duration <time>', 'how long to watch: 30s, 2m, 500ms', parseDuration, 30_000)
      .option('--json', 'print the report as JSON (schema: schemas/diagnose-report.schema.json in the package)', false)
      .option('--from-collector', 'use the running collector (its admin socket in --state-dir) instead of attaching: its clusters and root sample rate', false)
      .option('--pid <pid>', 'watch only the cluster whose postmaster has this pid (repeatable)', counts('--pid'))
      .option('--data-dir <dir>', 'watch only the cluster with this data directory (repeatable)', (v: string, p: string[] | undefined) => [...(p ?? []), v])
      .option('--port <port>', 'watch only the cluster listening on this port (repeatable)', counts('--port', 65535))
      .option('--root-sample-rate <rate>', 'share of statements WITHOUT a traceparent included (0..1); 1 sees all of them, at a higher probe cost for the watch', rate, 1)
      .option('--long-statement-ms <ms>', 'statements at least this long are reported as long', count('--long-statement-ms'), DEFAULT_THRESHOLDS.longStatementMs)
      .option('--n-plus-one <count>', 'the same statement this many times in one trace is reported as an N+1 pattern', count('--n-plus-one'), DEFAULT_THRESHOLDS.nPlusOne),
  ).action(async (o) => {
    const thresholds = { ...DEFAULT_THRESHOLDS, longStatementMs: o.longStatementMs, nPlusOne: o.nPlusOne };
    let report: Report;
    if (o.fromCollector) {
      if (o.pid || o.dataDir || o.port) throw new Error('--pid, --port and --data-dir choose clusters to attach to; with --from-collector the running collector\'s own filter applies');
      log(`asking the collector of ${o.stateDir} for ${o.duration / 1000} s of statements`);
      const q = new URLSearchParams({ durationMs: String(o.duration), longStatementMs: String(o.longStatementMs), nPlusOne: String(o.nPlusOne) });
      report = (await callAdmin(o.stateDir, `/diagnose?${q}`)) as Report;
    } else {
      report = await diagnose({ filter: { pids: o.pid, dataDirs: o.dataDir, ports: o.port }, durationMs: o.duration, rootSampleRate: o.rootSampleRate, thresholds, log });
    }
    process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  });
}

export function buildProgram(): Command {
  const program = new Command('pgferret-collector')
    .description('Traces PostgreSQL from the inside with eBPF: parse, plan, execute and commit spans on your application\'s traces.')
    .version('0.1.0');
  addRun(program);
  addStatus(program);
  addControl(program);
  addDiagnose(program);
  return program;
}

export function main(argv: string[]): void {
  buildProgram().parseAsync(argv).catch((e: Error) => {
    log(`error: ${e.message}`);
    process.exit(1);
  });
}

if (require.main === module) main(process.argv);
