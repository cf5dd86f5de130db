// The demo's burst of requests: fast reads, a slow report, a transaction, a
// lock wait and an error, so that the trace list has one of each. GET /lock
// comes twice: the first one's UPDATE opens the pool's second connection,
// whose backend gets its probes (lock waits among them) only after that first
// sampled statement; the second finds it armed. The error comes last: the pool
// closes the connection a failed query ran on.
export interface RequestResult {
  method: string;
  path: string;
  status: number;
  ms: number;
}

export const BURST: ReadonlyArray<{ method: 'GET' | 'POST'; path: string; body?: unknown }> = [
  { method: 'GET', path: '/users/1' },
  { method: 'GET', path: '/users/42' },
  { method: 'GET', path: '/users?limit=10' },
  { method: 'GET', path: '/report' },
  { method: 'POST', path: '/orders', body: { userId: 7, amount: 42.5 } },
  { method: 'GET', path: '/lock' },
  { method: 'GET', path: '/users/1234' },
  { method: 'POST', path: '/orders', body: { userId: 8, amount: 9.99 } },
  { method: 'GET', path: '/report' },
  { method: 'GET', path: '/lock' },
  { method: 'GET', path: '/error' },
];

export async function sendBurst(baseUrl: string, onResult: (r: RequestResult) => void): Promise<RequestResult[]> {
  const results: RequestResult[] = [];
  for (const req of BURST) {
    const started = performance.now();
    const res = await fetch(baseUrl + req.path, {
      method: req.method,
      headers: req.body === undefined ? {} : { 'content-type': 'application/json' },
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
    });
    await res.arrayBuffer();
    const r = { method: req.method, path: req.path, status: res.status, ms: performance.now() - started };
    results.push(r);
    onResult(r);
  }
  return results;
}
