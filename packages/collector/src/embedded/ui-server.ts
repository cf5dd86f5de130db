// The web UI: a small JSON API over the trace store plus the static files of
// packages/collector/ui (plain HTML/CSS/ES modules, served as they are).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { SQLSTATE_NAMES } from '../spans/sqlstate';
import { refuseBrowserRequest } from './browser-guard';
import type { TraceListQuery, TraceStore } from './store';
import { authenticate, loginHeaders } from './ui-auth';

/** packages/collector/ui, from src/embedded (ts-jest) and from dist/embedded alike. */
export const UI_DIR = path.resolve(__dirname, '..', '..', 'ui');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

// Everything is rendered with textContent, the policy is a second line of
// defence against span names or attributes that try to inject markup.
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

const TRACE_ID = /^[0-9a-fA-F]{32}$/;

/** /sqlstate.js: the collector's SQLSTATE table as an ES module, so the UI keeps no copy of its own */
const SQLSTATE_MODULE = `export const SQLSTATE_NAMES = Object.freeze(${JSON.stringify(SQLSTATE_NAMES)});\n`;

class BadRequest extends Error {}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

function text(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body + '\n');
}

function numberParam(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new BadRequest(`${name} must be a non-negative number, got "${raw}"`);
  return n;
}

export function parseListQuery(params: URLSearchParams): TraceListQuery {
  const query: TraceListQuery = {};
  const route = params.get('route');
  if (route) query.route = route;
  const q = params.get('q');
  if (q) query.q = q;
  query.minDurationMs = numberParam(params, 'minDurationMs');
  const limit = numberParam(params, 'limit');
  if (limit !== undefined) {
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      throw new BadRequest(`limit must be an integer from 1 to 500, got "${params.get('limit')}"`);
    }
    query.limit = limit;
  }
  const before = params.get('before');
  if (before) {
    if (!/^\d{1,20}$/.test(before)) throw new BadRequest(`before must be a nextBefore value (digits), got "${before}"`);
    query.before = before;
  }
  const hasPostgres = params.get('hasPostgres');
  if (hasPostgres) {
    if (hasPostgres === 'true' || hasPostgres === '1') query.hasPostgres = true;
    else if (hasPostgres === 'false' || hasPostgres === '0') query.hasPostgres = false;
    else throw new BadRequest(`hasPostgres must be true or false, got "${hasPostgres}"`);
  }
  return query;
}

function serveStatic(res: http.ServerResponse, pathname: string): void {
  let rel: string;
  try {
    rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
  } catch {
    return text(res, 404, 'not found');
  }
  const file = path.resolve(UI_DIR, rel);
  const type = CONTENT_TYPES[path.extname(file)];
  if (!file.startsWith(UI_DIR + path.sep) || !type) return text(res, 404, 'not found');
  fs.readFile(file, (err, data) => {
    if (err) return text(res, 404, 'not found');
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': type, 'Cache-Control': 'no-cache' });
    res.end(data);
  });
}

export function createUiHandler(store: TraceStore, opts: { loopbackOnly: boolean; token: string }): http.RequestListener {
  return (req, res) => {
    const refused = refuseBrowserRequest(req, { loopbackOnly: opts.loopbackOnly, sameOrigin: true });
    if (refused) return text(res, 403, `forbidden: ${refused}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return text(res, 405, `method ${req.method} not allowed: the UI and its API are read-only`);
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const auth = authenticate(req, url, opts.token);
    if (!auth.ok) {
      if (auth.login !== null) {
        res.writeHead(303, { ...SECURITY_HEADERS, ...loginHeaders(req, opts.token, auth.login), 'Cache-Control': 'no-store' });
        return res.end();
      }
      const why =
        'open the UI with the URL the collector printed when it started (it ends in ?token=…); the token is also in the ' +
        'file ui-token of its state directory, readable by the collector\'s user only';
      return url.pathname.startsWith('/api/') ? json(res, 401, { error: `not authenticated: ${why}` }) : text(res, 401, `not authenticated: ${why}`);
    }
    try {
      if (url.pathname === '/api/traces') return json(res, 200, store.listTraces(parseListQuery(url.searchParams)));
      if (url.pathname.startsWith('/api/traces/')) {
        const id = url.pathname.slice('/api/traces/'.length);
        if (!TRACE_ID.test(id)) throw new BadRequest(`a trace id is 32 hex digits, got "${id}"`);
        const trace = store.getTrace(id);
        return trace
          ? json(res, 200, trace)
          : json(res, 404, { error: `trace ${id} is not stored (never received, or dropped as the oldest)` });
      }
      if (url.pathname === '/api/routes') return json(res, 200, { routes: store.routes() });
      if (url.pathname === '/api/stats') return json(res, 200, store.stats());
      if (url.pathname.startsWith('/api/')) return json(res, 404, { error: `no API endpoint ${url.pathname}` });
      if (url.pathname === '/sqlstate.js') {
        res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': CONTENT_TYPES['.js'], 'Cache-Control': 'no-cache' });
        return res.end(SQLSTATE_MODULE);
      }
    } catch (err) {
      if (err instanceof BadRequest) return json(res, 400, { error: err.message });
      return json(res, 500, { error: `the trace store failed: ${(err as Error).message}` });
    }
    serveStatic(res, url.pathname);
  };
}
