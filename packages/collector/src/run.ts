// `pgferret-collector run`: wires the collector to its exporter (OTLP when an
// endpoint is configured, else the embedded store and UI) and to the admin
// API, and stops everything cleanly on SIGINT/SIGTERM.
import * as path from 'node:path';
import { missingBpfCapabilities } from '@pgferret/bpf-loader';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { DEFAULT_ADMIN_PORT, startAdmin, type AdminServer } from './admin/server';
import { Collector, type ClusterFilter } from './collector';
import { DEFAULT_DATA_DIR, DEFAULT_OTLP_PORT, DEFAULT_UI_PORT, startEmbedded, type Embedded } from './embedded';
import { configuredEndpoint, configuredProtocol, createOtlpExporter } from './export/exporter';
import { ExportQueue } from './export/queue';
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
};

export interface Running {
  collector: Collector;
  admin: AdminServer;
  embedded: Embedded | null;
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
  const collector = new Collector({
    queue, filter: o.filter, rootSampleRate: o.rootSampleRate, rawQueryText: o.rawQueryText, detail: o.detail,
    maxQueryText: o.maxQueryText, serviceName: o.serviceName, log,
  });
  let admin: AdminServer | null = null;
  try {
    collector.start();
    admin = await startAdmin(collector, o.adminHost, o.adminPort, o.allowNonLoopback, log);
  } catch (e) {
    collector.stop();
    await queue.close(1000);
    await embedded?.close();
    throw e;
  }
  log(`admin API ${admin.url} (GET /status, POST /control)`);
  const adminServer = admin;
  let stopped: Promise<void> | null = null;
  return {
    collector,
    admin: adminServer,
    embedded,
    stop: () => {
      stopped ??= (async () => {
        collector.stop();
        await adminServer.close();
        await queue.close();
        await embedded?.close();
      })();
      return stopped;
    },
  };
}
