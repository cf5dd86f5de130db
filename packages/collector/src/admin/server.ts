// The collector's admin API: GET /status (JSON), POST /control
// ({"enabled": bool, "rootSampleRate": number}) for run-time changes without
// a restart, and GET /diagnose?durationMs=… (the diagnose report of this
// collector's statements over that time). It listens on a Unix socket (0600) in the state directory: the
// file system decides who may ask, no browser can reach it, no port is taken.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { CollectorControl } from '../control/collector-control';
import { DEFAULT_THRESHOLDS } from '../diagnose/report';
import { MAX_WATCH_MS, watch } from '../diagnose/watch';
import { closeServer } from '../io/listen';
import { ADMIN_SOCKET } from '../io/state-dir';

export interface AdminServer {
  /** Path of the socket. */
  socketPath: string;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

class BadRequest extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function readJson(req: http.IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') throw new BadRequest(415, `Content-Type must be application/json, got "${type}"`);
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new BadRequest(413, `body larger than ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch (e) {
    throw new BadRequest(400, `not JSON: ${(e as Error).message}`);
  }
}

function control(collector: CollectorControl, body: unknown): { enabled: boolean; rootSampleRate: number } {
  const b = body as { enabled?: unknown; rootSampleRate?: unknown };
  try {
    if (b.enabled !== undefined) {
      if (typeof b.enabled !== 'boolean') throw new Error('"enabled" must be true or false');
      collector.setEnabled(b.enabled);
    }
    if (b.rootSampleRate !== undefined) collector.setRootSampleRate(Number(b.rootSampleRate));
  } catch (e) {
    throw new BadRequest(400, (e as Error).message);
  }
  const s = collector.status();
  return { enabled: s.enabled, rootSampleRate: s.rootSampleRate };
}

/** A socket file left by a collector that died is removed; a live one is an error. */
async function claimSocketPath(socketPath: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${socketPath} exists and is not a socket: remove it or choose another --state-dir`);
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) {
    throw new Error(
      `another pgferret-collector uses the state directory ${path.dirname(socketPath)} (its admin socket answers): ` +
        'stop it, or give this one another --state-dir',
    );
  }
  fs.rmSync(socketPath, { force: true });
}

export async function startAdmin(collector: CollectorControl, stateDir: string, log: (m: string) => void): Promise<AdminServer> {
  const socketPath = path.join(stateDir, ADMIN_SOCKET);
  await claimSocketPath(socketPath);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
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
        .then((body) => send(res, 200, control(collector, body)))
        .catch((e: Error) => {
          const status = e instanceof BadRequest ? e.status : 400;
          send(res, status, { error: `${e.message}; send JSON like {"enabled": false} or {"rootSampleRate": 0.05}` });
        });
      return;
    }
    send(res, 404, { error: 'not found: use GET /status, GET /diagnose or POST /control (Prometheus metrics are served on their own port: --metrics-port)' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`the admin API cannot listen on ${socketPath}: ${e.message}`)));
    // umask-independent: no moment where the socket is open to others
    const old = process.umask(0o177);
    try {
      server.listen(socketPath, () => resolve());
    } finally {
      process.umask(old);
    }
  });
  fs.chmodSync(socketPath, 0o600);
  return {
    socketPath,
    close: async () => {
      await closeServer(server);
      fs.rmSync(socketPath, { force: true });
    },
  };
}

/** For `status` and `control`: one request to the admin socket in `stateDir`. */
export function callAdmin(stateDir: string, pathname: string, body?: unknown): Promise<unknown> {
  const socketPath = path.join(stateDir, ADMIN_SOCKET);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath,
        path: pathname,
        method: payload === undefined ? 'GET' : 'POST',
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let json: { error?: string };
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: string };
          } catch {
            reject(new Error(
              `${socketPath} answered HTTP ${res.statusCode} with ${res.headers['content-type'] ?? 'no content type'}, not a pgferret collector's admin API: ` +
                'pass the --state-dir the collector was started with (its log says "admin API on …/admin.sock")',
            ));
            return;
          }
          if ((res.statusCode ?? 500) >= 400) reject(new Error(json.error ?? `HTTP ${res.statusCode}`));
          else resolve(json);
        });
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EACCES') {
        reject(new Error(`permission denied on ${socketPath}: only the user the collector runs as (usually root) may use it; try sudo`));
      } else {
        reject(
          new Error(
            `no collector answers at ${socketPath} (${e.code ?? e.message}): start one with \`sudo npx pgferret-collector\`, ` +
              'or pass the --state-dir it was started with',
          ),
        );
      }
    });
    req.end(payload);
  });
}
