// `pgferret-collector run`: wires the collector to its exporter (OTLP when an
// endpoint is configured, else the embedded store and UI) and to the admin
// API, and stops everything cleanly on SIGINT/SIGTERM.
import * as fs from 'node:fs';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { startAdmin, type AdminServer } from './admin/server';
import { DEFAULT_STATE_DIR, prepareStateDir } from './io/state-dir';
import { BPF_OBJECT, Collector } from './collector';
import type { ClusterFilter } from './discover/filter';
import { DEFAULT_OTLP_PORT, DEFAULT_UI_PORT, startEmbedded, type Embedded } from './embedded';
import { configuredEndpoint, configuredProtocol, createOtlpExporter, type SpanSink } from './export/exporter';
import { ExportQueue } from './export/queue';
import { Heartbeat } from './io/heartbeat';
import { loadProbes, type LoadedProbes } from './kernel/load';
import { startMetrics, type MetricsServer } from './metrics/server';
import { Explainer } from './plans/explainer';
import { DEFAULT_CAPS } from './metrics/statement-metrics';
import { StatementKeyer } from './metrics/statement-keys';
import { checkPrivileges } from './privileges';
import type { Detail } from './probes/tables';

export interface RunOptions {
  filter: ClusterFilter;
  rootSampleRate: number;
  rawQueryText: boolean;
  detail: Detail;
  /** percent of the traced backends' CPU the per-backend probes may cost */
  maxOverheadPct?: number;
  /** share of new backends of a cluster with sampled traffic armed at their fork */
  armAtFork?: number;
  waitThresholdMs: number;
  nestedCap: number;
  /** CPU samples per second of an armed backend inside a sampled request cycle (0: no profile) */
  profileHz: number;
  maxQueryText: number;
  serviceName?: string;
  /** Admin socket, UI token and (embedded mode) trace store; created 0700. */
  stateDir: string;
  /** Embedded mode: a file holding the token OTLP requests must carry; none: the receiver is open to local apps. */
  otlpTokenFile?: string;
  otlpHost: string;
  otlpPort: number;
  uiHost: string;
  uiPort: number;
  maxSpans?: number;
  maxStoreBytes?: number;
  allowNonLoopback: boolean;
  maxQueue: number;
  metricsHost: string;
  /** 0: no /metrics endpoint */
  metricsPort: number;
  metricsMaxFingerprints: number;
  /** a connection for EXPLAIN of slow statements; none: no plans */
  postgresUrl?: string;
  explainMinMs: number;
  /** a BPF object built elsewhere (another architecture, a patched build); default: the package's own */
  bpfObject?: string;
}

export const RUN_DEFAULTS = {
  rootSampleRate: 0.01,
  detail: 'full' as Detail,
  maxOverheadPct: 1,
  armAtFork: 1,
  waitThresholdMs: 1,
  nestedCap: 100,
  profileHz: 997,
  maxQueryText: 2048,
  stateDir: DEFAULT_STATE_DIR,
  otlpHost: '127.0.0.1',
  otlpPort: DEFAULT_OTLP_PORT,
  uiHost: '127.0.0.1',
  uiPort: DEFAULT_UI_PORT,
  maxQueue: 20000,
  metricsHost: '127.0.0.1',
  metricsPort: 0,
  metricsMaxFingerprints: DEFAULT_CAPS.fingerprints,
  explainMinMs: 200,
};

export interface Running {
  collector: Collector;
  admin: AdminServer;
  embedded: Embedded | null;
  metrics: MetricsServer | null;
  stop(): Promise<void>;
}

function readOtlpToken(file: string): string {
  let token: string;
  try {
    token = fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new Error(`cannot read --otlp-token-file ${file}: ${(e as Error).message}`);
  }
  if (!/^[\x21-\x7e]{16,}$/.test(token)) {
    throw new Error(`--otlp-token-file ${file} must hold one token of at least 16 printable characters (e.g. from \`openssl rand -hex 32\`)`);
  }
  return token;
}

export async function startRun(o: RunOptions, log: (m: string) => void): Promise<Running> {
  checkPrivileges();
  // before anything listens or prints a URL: a kernel that refuses the gate ends the run here, with its reason
  const probes = loadProbes(o.bpfObject ?? BPF_OBJECT, log);
  try {
    return await startLoaded(o, probes, log);
  } catch (e) {
    probes.obj.close();
    throw e;
  }
}

async function startLoaded(o: RunOptions, probes: LoadedProbes, log: (m: string) => void): Promise<Running> {
  const stateDir = prepareStateDir(o.stateDir, log);
  const otlpToken = o.otlpTokenFile === undefined ? undefined : readOtlpToken(o.otlpTokenFile);
  // the exporter's warnings (a partial success: spans the endpoint rejected, and why) go to the log
  const otelLog = (...args: unknown[]) => log(`OpenTelemetry: ${args.map(String).join(' ')}`);
  const quiet = () => undefined;
  diag.setLogger({ error: otelLog, warn: otelLog, info: quiet, debug: quiet, verbose: quiet }, DiagLogLevel.WARN);
  const explainer = o.postgresUrl ? new Explainer({ url: o.postgresUrl, minMs: o.explainMinMs, keyer: new StatementKeyer(), log }) : null;
  const endpoint = configuredEndpoint();
  let embedded: Embedded | null = null;
  let exporter: SpanSink;
  if (endpoint) {
    const protocol = configuredProtocol();
    exporter = createOtlpExporter(protocol);
    log(`exporting spans to ${endpoint} (${protocol})`);
  } else {
    embedded = await startEmbedded({
      dataDir: stateDir, otlpHost: o.otlpHost, otlpPort: o.otlpPort, uiHost: o.uiHost, uiPort: o.uiPort,
      maxSpans: o.maxSpans, maxBytes: o.maxStoreBytes, allowNonLoopback: o.allowNonLoopback, otlpToken, log,
    });
    exporter = embedded.exporter;
    log(
      `no OTEL_EXPORTER_OTLP_ENDPOINT set: embedded mode. OTLP receiver ${embedded.otlpUrl}` +
        `${otlpToken ? ' (token required)' : ''}, store ${stateDir}`,
    );
    log(`web UI ${embedded.uiLoginUrl} (the token changes at every start; also in ${stateDir}/ui-token)`);
  }
  // OTLP: requests of up to 2,048 spans (~1.3 MB of -S spans): with two in flight, 512 dropped spans at
  // ~17-34k statements/s here, 2,048 did not (BENCHMARKS.md "Collector CPU per sampled statement");
  // the embedded store (its batches converted on the event loop) keeps 512: not measured there
  // the queue's flush, the budget's tick and the rescan share wake-ups (io/heartbeat.ts)
  const heartbeat = new Heartbeat();
  const queue = new ExportQueue(exporter, { maxQueue: o.maxQueue, maxBatch: endpoint ? 2048 : 512, intervalMs: 1000, heartbeat, log });
  let metrics: MetricsServer | null = null;
  try {
    if (o.metricsPort > 0) {
      metrics = await startMetrics({
        host: o.metricsHost, port: o.metricsPort, allowNonLoopback: o.allowNonLoopback, log,
        caps: { ...DEFAULT_CAPS, fingerprints: o.metricsMaxFingerprints },
      });
    }
  } catch (e) {
    await queue.close(1000);
    await embedded?.close();
    throw e;
  }
  const collector = new Collector({
    queue, filter: o.filter, rootSampleRate: o.rootSampleRate, rawQueryText: o.rawQueryText, detail: o.detail,
    maxOverheadPct: o.maxOverheadPct, armAtFork: o.armAtFork,
    inside: { waitThresholdNs: o.waitThresholdMs * 1e6, nestedCap: o.nestedCap }, postgresUrl: o.postgresUrl,
    maxQueryText: o.maxQueryText, serviceName: o.serviceName, log, statementListeners: metrics ? [metrics.listener] : [], probes,
    annotate: explainer?.annotate, profileHz: o.profileHz, heartbeat,
  });
  metrics?.watch(() => collector.status());
  let admin: AdminServer | null = null;
  try {
    collector.start();
    embedded?.setCollectorStatus(() => collector.status());
    admin = await startAdmin(collector, stateDir, log);
  } catch (e) {
    collector.stop();
    await metrics?.close();
    await queue.close(1000);
    await embedded?.close();
    throw e;
  }
  log(`admin API on ${admin.socketPath} (pgferret-collector status / control --state-dir ${stateDir})`);
  if (metrics) log(`Prometheus metrics ${metrics.url}`);
  if (explainer) log(`plans: statements of the cluster on port ${explainer.port} taking ${o.explainMinMs} ms or more get an EXPLAIN plan`);
  const adminServer = admin;
  let stopped: Promise<void> | null = null;
  return {
    collector,
    admin: adminServer,
    embedded,
    metrics,
    stop: () => {
      stopped ??= (async () => {
        collector.stop();
        await explainer?.close(); // spans waiting for a plan are queued before the queue closes
        await adminServer.close();
        await metrics?.close();
        await queue.close();
        await embedded?.close();
      })();
      return stopped;
    },
  };
}
