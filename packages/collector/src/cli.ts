#!/usr/bin/env node
// The pgferret-collector command line.
import { Command, Option } from 'commander';
import { callAdmin } from './admin/server';
import { count, counts, port, rate } from './cli-args';
import type { CollectorStatus } from './collector';
import { TEXT_MAX } from './events/layout';
import { RUN_DEFAULTS, startRun } from './run';
import { dropPrivileges } from './privileges';

const log = (m: string) => process.stderr.write(`[pgferret] ${m}\n`);

function printStatus(s: CollectorStatus): void {
  const out: string[] = [];
  out.push(`tracing: ${s.enabled ? 'enabled' : 'DISABLED'}   detail: ${s.detail}   root sample rate: ${s.rootSampleRate}`);
  out.push(`clusters (${s.clusters.length}):`);
  for (const c of s.clusters) {
    out.push(`  pid ${c.pid}  PostgreSQL ${c.major ?? '?'}  port ${c.port ?? '?'}  ${c.dataDir}  ${c.error ? `ERROR: ${c.error}` : `probes: ${c.probeSet}`}`);
  }
  for (const b of s.binaries) out.push(`binary ${b.exe}: phase probes ${b.probes}`);
  const bk = s.backends;
  out.push(`backends: ${bk.armed} with phase probes, ${bk.tls} on TLS (not traced), ${bk.armFailures} arming failures${bk.lastArmError ? ` (last: ${bk.lastArmError})` : ''}`);
  const k = s.kernel;
  out.push(`kernel: ${k.starts} statements seen, ${k.traced} traced, ${k.roots} sampled roots, ${k.unsampled} unsampled, ${k.malformed} malformed traceparents, ${k.dropped} records dropped, ${k.desync} protocol resyncs, ${k.phase_hits} phase probe hits`);
  const rb = s.ringBuffer;
  out.push(`events: ${rb.records} records in ${rb.batches} batches${rb.errors ? `, ${rb.errors} read errors (last: ${rb.lastError})` : ''}; ${s.statements} statements assembled (${s.untimedStatements} before their backend had phase probes), ${s.openCycles} open`);
  const e = s.export;
  out.push(`export: ${e.exported} spans exported, ${e.queued} queued, ${e.dropped} dropped, ${e.exportFailures} failed exports${e.lastError ? ` (last: ${e.lastError})` : ''}`);
  process.stdout.write(out.join('\n') + '\n');
}

export function buildProgram(): Command {
  const program = new Command('pgferret-collector')
    .description('Traces PostgreSQL from the inside with eBPF: parse, plan, execute and commit spans on your application\'s traces.')
    .version('0.1.0');

  const stateDirOption = (c: Command) =>
    c.option(
      '--state-dir <dir>',
      'the collector\'s state directory (0700): its admin socket, the web UI\'s token and, in embedded mode, the trace store',
      RUN_DEFAULTS.stateDir,
    );

  stateDirOption(
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
      .addOption(new Option('--detail <level>', 'phases: parse/plan/execute/commit child spans (probes in the backends that carry sampled statements); statement: statement spans only, no probe in any backend')
        .choices(['phases', 'statement']).default(RUN_DEFAULTS.detail))
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
      .option('--allow-non-loopback', 'allow binding the OTLP receiver or the web UI to a non-loopback address (prints a warning)', false),
  ).action(async (o) => {
    const running = await startRun(
      {
        filter: { pids: o.pid, dataDirs: o.dataDir, ports: o.port },
        rootSampleRate: o.rootSampleRate,
        rawQueryText: o.rawQueryText,
        detail: o.detail,
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
      },
      log,
    );
    dropPrivileges(log);
    log('running; Ctrl-C to stop');
    const shutdown = (sig: string) => {
      log(`${sig}: detaching probes and flushing spans`);
      running.stop().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });

  stateDirOption(
    program.command('status').description('show what a running collector is attached to and what it has seen, exported and dropped')
      .option('--json', 'print the raw JSON', false),
  ).action(async (o) => {
    const s = (await callAdmin(o.stateDir, '/status')) as CollectorStatus;
    if (o.json) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    else printStatus(s);
  });

  stateDirOption(
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

  return program;
}

export function main(argv: string[]): void {
  buildProgram().parseAsync(argv).catch((e: Error) => {
    log(`error: ${e.message}`);
    process.exit(1);
  });
}

if (require.main === module) main(process.argv);
