// GET /metrics in the Prometheus text format, on its own port (loopback
// unless --allow-non-loopback). Statement metrics are fed by the collector's
// statement listener; the collector's own ones are read at scrape time.
import * as http from 'node:http';
import { Registry } from 'prom-client';
import type { CollectorStatus, StatementListener } from '../control/collector-control';
import { checkHost, closeServer, formatUrl, listen } from '../io/listen';
import { registerCollectorMetrics } from './collector-metrics';
import { DEFAULT_CAPS, StatementMetrics, type LabelCaps } from './statement-metrics';

/** The port Prometheus is pointed at in the docs and the Kubernetes manifest; off unless asked for. */
export const SUGGESTED_METRICS_PORT = 9466;

export interface MetricsOptions {
  host: string;
  port: number;
  allowNonLoopback: boolean;
  caps?: LabelCaps;
  log: (m: string) => void;
}

export interface MetricsServer {
  url: string;
  /** hand to the collector as a statement listener */
  listener: StatementListener;
  /** connects the collector's status once the collector exists */
  watch(status: () => CollectorStatus): void;
  close(): Promise<void>;
}

export async function startMetrics(o: MetricsOptions): Promise<MetricsServer> {
  const target = { what: 'Prometheus /metrics endpoint', host: o.host, port: o.port, portOption: '--metrics-port', hostOption: '--metrics-host', allowNonLoopback: o.allowNonLoopback, log: o.log };
  checkHost(target);
  const registry = new Registry();
  const statements = new StatementMetrics(registry, o.caps ?? DEFAULT_CAPS);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/metrics' || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: Prometheus metrics are at GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      },
      (e: Error) => {
        o.log(`metrics scrape failed: ${e.message}`);
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`collecting metrics failed: ${e.message}\n`);
      },
    );
  });
  const bound = await listen(server, target);
  return {
    url: `${formatUrl(o.host, bound)}/metrics`,
    listener: statements.observe,
    watch: (status) => registerCollectorMetrics(registry, status),
    close: () => closeServer(server),
  };
}
