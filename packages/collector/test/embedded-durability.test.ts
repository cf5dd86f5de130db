// Group commit and durability of the embedded store: batches that arrive
// together share one transaction, each request is answered only after its
// batch is committed, and a SIGKILL right after the 200s loses nothing.
import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GroupCommitter } from '../src/embedded/group-commit';
import type { SpanRecord } from '../src/embedded/span-record';
import { TraceStore } from '../src/embedded/store';

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-durability-'));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0');

function span(trace: number, k: number, parent: number | null): SpanRecord {
  const start = 1_700_000_000_000_000_000n + BigInt(trace) * 1_000_000n + BigInt(k);
  return {
    traceId: hex(trace, 32),
    spanId: hex(trace * 16 + k + 1, 16),
    parentSpanId: parent === null ? null : hex(trace * 16 + parent + 1, 16),
    name: k === 0 ? 'GET /x' : `child ${k}`,
    kind: k === 0 ? 2 : 1,
    service: 'svc',
    scope: 'test',
    startNs: start,
    endNs: start + 1000n,
    statusCode: 0,
    statusMessage: '',
    attributes: k === 0 ? { 'http.route': '/x' } : {},
    resource: { 'service.name': 'svc' },
    events: [],
    links: [],
  };
}

describe('GroupCommitter', () => {
  test('batches submitted in one event-loop turn are committed in one transaction, each with its own result', async () => {
    const store = TraceStore.open({ dataDir: tmpDir() });
    try {
      const committer = new GroupCommitter(store);
      const spy = jest.spyOn(store, 'ingestGroup');
      // Batch 3 repeats a span of batch 1 (a retried export): a duplicate.
      const batches = [
        [span(1, 0, null), span(1, 1, 0)],
        [span(2, 0, null)],
        [span(1, 1, 0), span(3, 0, null), span(1, 2, 0)],
      ];
      const results = await Promise.all(batches.map((b) => committer.submit(b)));
      expect(spy).toHaveBeenCalledTimes(1);
      expect(results.map((r) => [r.accepted, r.duplicates])).toEqual([
        [2, 0],
        [1, 0],
        [2, 1],
      ]);
      expect(store.stats()).toMatchObject({ traces: 3, spans: 5 });
      // One summary for trace 1 although its spans came in two batches.
      expect(store.getTrace(hex(1, 32))!.summary).toMatchObject({ spanCount: 3, hasRoot: true, rootName: 'GET /x' });
    } finally {
      store.close();
    }
  });

  test('a batch that cannot be stored fails alone; the others of its group are stored', async () => {
    const store = TraceStore.open({ dataDir: tmpDir() });
    try {
      const committer = new GroupCommitter(store);
      // 2^64 does not fit SQLite's 64-bit integers: better-sqlite3 throws.
      const bad = { ...span(5, 0, null), startNs: 1n << 64n, endNs: 1n << 64n };
      const outcomes = await Promise.allSettled([
        committer.submit([span(4, 0, null)]),
        committer.submit([bad]),
        committer.submit([span(6, 0, null)]),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(store.stats()).toMatchObject({ traces: 2, spans: 2 });
      expect(store.getTrace(hex(5, 32))).toBeNull();
    } finally {
      store.close();
    }
  });

  test('a group is committed at once when it reaches the span limit', async () => {
    const store = TraceStore.open({ dataDir: tmpDir() });
    try {
      const committer = new GroupCommitter(store, 3);
      const spy = jest.spyOn(store, 'ingestGroup');
      const first = committer.submit([span(7, 0, null), span(7, 1, 0)]);
      expect(spy).not.toHaveBeenCalled();
      const second = committer.submit([span(8, 0, null)]);
      // Reached 3 spans: committed synchronously, before the next loop turn.
      expect(spy).toHaveBeenCalledTimes(1);
      expect(store.stats().spans).toBe(3);
      await Promise.all([first, second]);
    } finally {
      store.close();
    }
  });
});

describe('SIGKILL after 200', () => {
  function otlpBody(request: number): string {
    const spans = [0, 1, 2, 3].map((k) => ({
      traceId: hex(request, 32),
      spanId: hex(request * 16 + k + 1, 16),
      parentSpanId: k === 0 ? undefined : hex(request * 16 + 1, 16),
      name: k === 0 ? 'GET /kill' : 'SELECT 1',
      kind: k === 0 ? 2 : 1,
      startTimeUnixNano: String(1_700_000_000_000_000_000n + BigInt(request) * 1_000_000n),
      endTimeUnixNano: String(1_700_000_000_000_000_000n + BigInt(request) * 1_000_000n + 5000n),
      attributes: [{ key: 'http.route', value: { stringValue: '/kill' } }],
    }));
    return JSON.stringify({
      resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'kill' } }] }, scopeSpans: [{ spans }] }],
    });
  }

  test('every acknowledged span is on disk after the collector is killed mid-stream', async () => {
    const dist = path.join(__dirname, '..', 'dist', 'embedded', 'index.js');
    if (!fs.existsSync(dist)) throw new Error(`${dist} is missing: run \`npx tsc -b\` at the repository root first`);
    const dir = tmpDir();
    const child: ChildProcess = fork(path.join(__dirname, 'embedded-kill-child.js'), [dir], { stdio: 'inherit' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const { otlpUrl } = await new Promise<{ otlpUrl: string }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { otlpUrl: string }));
      child.once('exit', (code) => reject(new Error(`the collector child exited early (${code})`)));
    });

    const acknowledged: number[] = [];
    let next = 1;
    let killed = false;
    // 8 concurrent senders; the kill comes once 200 requests were acknowledged,
    // while more are in flight.
    const sender = async () => {
      while (!killed) {
        const n = next++;
        try {
          const res = await fetch(`${otlpUrl}/v1/traces`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: otlpBody(n),
          });
          if (res.status === 200) acknowledged.push(n);
          await res.arrayBuffer();
        } catch {
          return; // the connection died with the process
        }
        if (acknowledged.length >= 200 && !killed) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    expect(await exited).toBe('SIGKILL');
    expect(acknowledged.length).toBeGreaterThanOrEqual(200);

    const store = TraceStore.open({ dataDir: dir });
    try {
      for (const n of acknowledged) {
        const t = store.getTrace(hex(n, 32));
        expect(t?.spans).toHaveLength(4);
        expect(t?.summary).toMatchObject({ spanCount: 4, hasRoot: true, route: '/kill' });
      }
      // Whatever else was stored (committed but not yet answered) is whole traces too.
      expect(store.stats().spans).toBe(store.stats().traces * 4);
      expect(store.stats().traces).toBeGreaterThanOrEqual(acknowledged.length);
    } finally {
      store.close();
    }
  });
});
