// Checks for listeners a browser can reach. Host: a DNS-rebinding site
// resolves its own name to 127.0.0.1, and its requests then carry its name.
// Origin / Sec-Fetch-Site: a page from elsewhere can still send (not read)
// simple requests to localhost; they say where they come from.
import type http from 'node:http';

function hostName(hostHeader: string): string {
  return hostHeader.toLowerCase().replace(/:\d+$/, '');
}

/** Only names that cannot be rebound are accepted on a loopback listener. */
export function isLoopbackHostHeader(hostHeader: string): boolean {
  const host = hostName(hostHeader);
  return host === 'localhost' || host === '[::1]' || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Why `req` is refused, or null. `sameOrigin`: whether pages served by this
 * listener may send requests to it (the UI), or no page may at all (OTLP).
 */
export function refuseBrowserRequest(req: http.IncomingMessage, opts: { loopbackOnly: boolean; sameOrigin: boolean }): string | null {
  const host = req.headers.host ?? '';
  if (opts.loopbackOnly && !isLoopbackHostHeader(host)) {
    return `Host "${host}" refused: on this machine use http://localhost:<port>/ or http://127.0.0.1:<port>/`;
  }
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  if (!opts.sameOrigin) {
    if (origin !== undefined) return `requests from web pages (Origin "${origin}") are refused: send OTLP from your application's SDK`;
    if (site !== undefined && site !== 'none') return `requests from web pages (Sec-Fetch-Site "${site}") are refused`;
    return null;
  }
  if (origin !== undefined && origin !== `http://${host}`) return `cross-origin request (Origin "${origin}") refused`;
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `cross-site request (Sec-Fetch-Site "${site}") refused`;
  return null;
}
