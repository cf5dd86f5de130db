// Who may use the web UI: whoever has the per-start token the collector
// prints (and keeps in a 0600 file in its state directory). A browser brings
// it once in the URL (?token=…) and gets an HttpOnly, SameSite=Strict cookie
// in exchange; scripts send `Authorization: Bearer <token>`.
import crypto from 'node:crypto';
import type http from 'node:http';

export const TOKEN_PARAM = 'token';

export function newToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

export function sameToken(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** Bearer token of an Authorization header. */
export function bearer(req: http.IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/** Cookies are per host, not per port: the port in the name keeps two collectors apart. */
function cookieName(req: http.IncomingMessage): string {
  return `pgferret_ui_${req.socket.localPort}`;
}

function cookie(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export type UiAuthResult = { ok: true } | { ok: false; login: string } | { ok: false; login: null };

/**
 * ok: the request carries the token (cookie or bearer). login: the URL
 * carried a valid ?token=, answer with the cookie and a redirect to `login`
 * (the same URL without the token, so it stays out of history and logs).
 */
export function authenticate(req: http.IncomingMessage, url: URL, token: string): UiAuthResult {
  if (sameToken(cookie(req, cookieName(req)), token) || sameToken(bearer(req), token)) return { ok: true };
  if ((req.method === 'GET' || req.method === 'HEAD') && sameToken(url.searchParams.get(TOKEN_PARAM) ?? undefined, token)) {
    url.searchParams.delete(TOKEN_PARAM);
    return { ok: false, login: url.pathname + url.search };
  }
  return { ok: false, login: null };
}

export function loginHeaders(req: http.IncomingMessage, token: string, location: string): Record<string, string> {
  return {
    'Set-Cookie': `${cookieName(req)}=${token}; HttpOnly; SameSite=Strict; Path=/`,
    Location: location,
  };
}
