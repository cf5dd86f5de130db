// The collector's local admin API: GET /status (JSON), POST /control
// ({"enabled": bool, "rootSampleRate": number}) for run-time changes without
// a restart, and GET /diagnose?durationMs=… (the diagnose report of this
// collector's statements over that time). Loopback only unless the user binds
// elsewhere explicitly.
import * as http from 'node:http';
import type { Collector } from '../collector';
import { DEFAULT_THRESHOLDS } from '../diagnose/report';
import { MAX_WATCH_MS, watch } from '../diagnose/run';
import { checkHost, closeServer, formatUrl, listen } from '../embedded/listen';

export const DEFAULT_ADMIN_PORT = 9465;

export interface AdminServer {
  url: string;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: http.IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new Error(`body larger than ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

export async function startAdmin(
  collector: Collector, host: string, port: number, allowNonLoopback: boolean, log: (m: string) => void,
): Promise<AdminServer> {
  const target = { what: 'admin API', host, port, portOption: '--admin-port', hostOption: '--admin-host', allowNonLoopback, log };
  checkHost(target);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/status' && req.method === 'GET') return send(res, 200, collector.status());
    if (url.pathname === '/diagnose' && req.method === 'GET') {
      const num = (name: string, fallback: number) => (url.searchParams.has(name) ? Number(url.searchParams.get(name)) : fallback);
      const durationMs = num('durationMs', 30_000);
      const thresholds = { ...DEFAULT_THRESHOLDS, longStatementMs: num('longStatementMs', DEFAULT_THRESHOLDS.longStatementMs), nPlusOne: num('nPlusOne', DEFAULT_THRESHOLDS.nPlusOne) };
      if (!(durationMs > 0 && durationMs <= MAX_WATCH_MS) || !(thresholds.longStatementMs >= 0) || !(thresholds.nPlusOne >= 1)) {
        return send(res, 400, { error: `durationMs must be between 1 and ${MAX_WATCH_MS}, longStatementMs ≥ 0 and nPlusOne ≥ 1` });
      }
      watch(collector, { durationMs, thresholds, log }).then((r) => send(res, 200, r), (e: Error) => send(res, 409, { error: e.message }));
      return;
    }
    if (url.pathname === '/control' && req.method === 'POST') {
      readJson(req)
        .then((body) => {
          const b = body as { enabled?: unknown; rootSampleRate?: unknown };
          if (b.enabled !== undefined) {
            if (typeof b.enabled !== 'boolean') throw new Error('"enabled" must be true or false');
            collector.setEnabled(b.enabled);
          }
          if (b.rootSampleRate !== undefined) collector.setRootSampleRate(Number(b.rootSampleRate));
          const s = collector.status();
          send(res, 200, { enabled: s.enabled, rootSampleRate: s.rootSampleRate });
        })
        .catch((e: Error) => send(res, 400, { error: `${e.message}; send JSON like {"enabled": false} or {"rootSampleRate": 0.05}` }));
      return;
    }
    send(res, 404, { error: 'not found: use GET /status, GET /diagnose or POST /control (Prometheus metrics are served on their own port: --metrics-port)' });
  });
  const bound = await listen(server, target);
  return { url: formatUrl(host, bound), close: () => closeServer(server) };
}
