// The web UI: a small JSON API over the trace store plus the static files of
// packages/collector/ui (plain HTML/CSS/ES modules, served as they are).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { CollectorStatus } from '../control/collector-control';
import { ATTRIBUTES_MODULE } from '../spans/attributes';
import { SQLSTATE_NAMES } from '../spans/sqlstate';
import { BadRequest, booleanParam, choiceParam, integerParam, numberParam, rangeParams } from './api-params';
import { refuseBrowserRequest } from './browser-guard';
import { TOP_QUERIES_SORTS } from './query-stats';
import { TRACE_SORTS, type TraceListQuery, type TraceStore } from './store';
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

// the collector's own tables as ES modules, so the UI keeps no copy of them:
// the SQLSTATE names and the span attribute names
const GENERATED_MODULES: Record<string, string> = {
  '/sqlstate.js': `export const SQLSTATE_NAMES = Object.freeze(${JSON.stringify(SQLSTATE_NAMES)});\n`,
  '/attributes.js': ATTRIBUTES_MODULE,
};

const FINGERPRINT_ROUTE = /^\/api\/top-queries\/([0-9a-f]{16})\/slowest$/;
/** the CPU profile merged over a fingerprint's slowest executions */
const FINGERPRINT_PROFILE_ROUTE = /^\/api\/top-queries\/([0-9a-f]{16})\/profile$/;

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

export function parseListQuery(params: URLSearchParams): TraceListQuery {
  const query: TraceListQuery = { ...rangeParams(params) };
  const service = params.get('service');
  if (service) query.service = service;
  query.hasErrors = booleanParam(params, 'hasErrors');
  query.sort = choiceParam(params, 'sort', TRACE_SORTS);
  query.offset = integerParam(params, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const route = params.get('route');
  if (route) query.route = route;
  const q = params.get('q');
  if (q) query.q = q;
  query.minDurationMs = numberParam(params, 'minDurationMs');
  query.limit = integerParam(params, 'limit', 1, 500);
  const before = params.get('before');
  if (before) {
    if (!/^\d{1,20}$/.test(before)) throw new BadRequest(`before must be a nextBefore value (digits), got "${before}"`);
    query.before = before;
  }
  query.hasPostgres = booleanParam(params, 'hasPostgres');
  const newest = (query.sort ?? 'newest') === 'newest';
  if (query.before !== undefined && !newest) {
    throw new BadRequest(`before pages the newest-first list; with sort=${query.sort} page with offset (nextOffset)`);
  }
  if (query.offset !== undefined && newest) {
    throw new BadRequest('offset pages the other sorts; the newest-first list pages with before (nextBefore)');
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

/** What the UI shows about the collector; null while none runs in this process. */
export type CollectorStatusSource = () => CollectorStatus | null;

function collectorState(source: CollectorStatusSource | undefined): unknown {
  const status = source?.() ?? null;
  return status
    ? { running: true, ...status }
    : { running: false, reason: 'this process runs the trace store without the eBPF collector (receiver only)' };
}

export function createUiHandler(
  store: TraceStore,
  opts: { loopbackOnly: boolean; token: string; collectorStatus?: CollectorStatusSource },
): http.RequestListener {
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
      if (url.pathname === '/api/services') return json(res, 200, { services: store.services() });
      if (url.pathname === '/api/collector') return json(res, 200, collectorState(opts.collectorStatus));
      if (url.pathname === '/api/top-queries') {
        const p = url.searchParams;
        const query = {
          ...rangeParams(p),
          sort: choiceParam(p, 'sort', TOP_QUERIES_SORTS),
          limit: integerParam(p, 'limit', 1, 1000),
        };
        return json(res, 200, store.topQueries(query));
      }
      const profiled = FINGERPRINT_PROFILE_ROUTE.exec(url.pathname);
      if (profiled) {
        const limit = integerParam(url.searchParams, 'limit', 1, 100) ?? 10;
        return json(res, 200, store.queryProfile(profiled[1], rangeParams(url.searchParams), limit));
      }
      const slowest = FINGERPRINT_ROUTE.exec(url.pathname);
      if (slowest) {
        const limit = integerParam(url.searchParams, 'limit', 1, 100) ?? 10;
        return json(res, 200, { statements: store.slowestStatements(slowest[1], rangeParams(url.searchParams), limit) });
      }
      if (url.pathname.startsWith('/api/')) return json(res, 404, { error: `no API endpoint ${url.pathname}` });
      const generated = GENERATED_MODULES[url.pathname];
      if (generated !== undefined) {
        res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': CONTENT_TYPES['.js'], 'Cache-Control': 'no-cache' });
        return res.end(generated);
      }
    } catch (err) {
      if (err instanceof BadRequest) return json(res, 400, { error: err.message });
      return json(res, 500, { error: `the trace store failed: ${(err as Error).message}` });
    }
    serveStatic(res, url.pathname);
  };
}
