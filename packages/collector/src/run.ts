// `pgferret-collector run`: wires the collector to its exporter (OTLP when an
// endpoint is configured, else the embedded store and UI) and to the admin
// API, and stops everything cleanly on SIGINT/SIGTERM.
import * as path from 'node:path';
import { missingBpfCapabilities } from '@pgferret/bpf-loader';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { DEFAULT_ADMIN_PORT, startAdmin, type AdminServer } from './admin/server';
import { Collector, type ClusterFilter } from './collector';
import { DEFAULT_DATA_DIR, DEFAULT_OTLP_PORT, DEFAULT_UI_PORT, startEmbedded, type Embedded } from './embedded';
import { configuredEndpoint, configuredProtocol, createOtlpExporter } from './export/exporter';
import { ExportQueue } from './export/queue';
import { startMetrics, type MetricsServer } from './metrics/server';
import { Explainer } from './plans/explainer';
import { DEFAULT_CAPS } from './metrics/statement-metrics';
import type { Detail } from './probes/tables';

export interface RunOptions {
  filter: ClusterFilter;
  rootSampleRate: number;
  rawQueryText: boolean;
  detail: Detail;
  maxQueryText: number;
  serviceName?: string;
  adminHost: string;
  adminPort: number;
  storeDir: string;
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
}

export const RUN_DEFAULTS = {
  rootSampleRate: 0.01,
  detail: 'phases' as Detail,
  maxQueryText: 2048,
  adminHost: '127.0.0.1',
  adminPort: DEFAULT_ADMIN_PORT,
  storeDir: DEFAULT_DATA_DIR,
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

export function checkPrivileges(): void {
  const missing = missingBpfCapabilities();
  if (missing.length > 0) {
    throw new Error(
      `pgferret-collector needs ${missing.join(' and ')} to load eBPF probes into PostgreSQL, and this process lacks them. ` +
        'Run it as root (sudo npx pgferret-collector), or grant the capabilities: ' +
        'setcap cap_bpf,cap_perfmon,cap_sys_resource,cap_dac_read_search+ep "$(readlink -f "$(which node)")"',
    );
  }
}

export async function startRun(o: RunOptions, log: (m: string) => void): Promise<Running> {
  checkPrivileges();
  const explainer = o.postgresUrl ? new Explainer({ url: o.postgresUrl, minMs: o.explainMinMs, log }) : null;
  const endpoint = configuredEndpoint();
  let embedded: Embedded | null = null;
  let exporter: SpanExporter;
  if (endpoint) {
    const protocol = configuredProtocol();
    exporter = createOtlpExporter(protocol);
    log(`exporting spans to ${endpoint} (${protocol})`);
  } else {
    embedded = await startEmbedded({
      dataDir: path.resolve(o.storeDir), otlpHost: o.otlpHost, otlpPort: o.otlpPort, uiHost: o.uiHost, uiPort: o.uiPort,
      maxSpans: o.maxSpans, maxBytes: o.maxStoreBytes, allowNonLoopback: o.allowNonLoopback, log,
    });
    exporter = embedded.exporter;
    log(`no OTEL_EXPORTER_OTLP_ENDPOINT set: embedded mode. OTLP receiver ${embedded.otlpUrl}, web UI ${embedded.uiUrl}, store ${path.resolve(o.storeDir)}`);
  }
  const queue = new ExportQueue(exporter, { maxQueue: o.maxQueue, maxBatch: 512, intervalMs: 1000 });
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
    maxQueryText: o.maxQueryText, serviceName: o.serviceName, log, statementListeners: metrics ? [metrics.listener] : [],
    annotate: explainer?.annotate,
  });
  metrics?.watch(() => collector.status());
  let admin: AdminServer | null = null;
  try {
    collector.start();
    admin = await startAdmin(collector, o.adminHost, o.adminPort, o.allowNonLoopback, log);
  } catch (e) {
    collector.stop();
    await metrics?.close();
    await queue.close(1000);
    await embedded?.close();
    throw e;
  }
  log(`admin API ${admin.url} (GET /status, POST /control)`);
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
