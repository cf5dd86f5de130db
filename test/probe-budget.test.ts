// The probe budget, checked where it is decided: in the backends' memory.
// The collector follows every backend at its socket with tracepoints (no
// breakpoint on its path) and writes phase probes (int3, 0xCC) only into the
// backends that carry sampled statements. Read through /proc/PID/mem. The
// TLS read/write probes are in every process of the binary, at functions
// only encrypted connections call: a plaintext backend never hits them.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { isPostgresServerSpan } from '../packages/collector/src/embedded/span-record';
import { armBackend, eventually, randomTraceparent, type CollectorProcess, type Receiver, startTraced, type Traced } from './helpers/collector';
import type { PgCluster, PgFlavor } from './helpers/postgres';

/** PortalRun's link-time address range, from the dynamic symbol table. */
function portalRun(exe: string): [bigint, bigint] {
  const m = /^([0-9a-f]+) ([0-9a-f]+) T PortalRun$/m.exec(execFileSync('nm', ['-D', '-S', '--defined-only', exe], { encoding: 'utf8', maxBuffer: 64 << 20 }))!;
  return [BigInt(`0x${m[1]}`), BigInt(`0x${m[1]}`) + BigInt(`0x${m[2]}`)];
}

/**
 * Link-time addresses of the probe points the collector's phase set uses in this binary; on
 * USDT builds `others`: the sites of the same probes it leaves alone (query__execute__start/done
 * also sit in PortalRunMulti, always inside a PortalRun).
 */
function probeAddresses(flavor: PgFlavor, exe: string): { used: Record<string, bigint>; others: Record<string, bigint> } {
  if (flavor === 'debian') {
    const notes = execFileSync('readelf', ['-n', exe], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const [from, to] = portalRun(exe);
    const used: Record<string, bigint> = {};
    const others: Record<string, bigint> = {};
    for (const m of notes.matchAll(/Provider: postgresql\s+Name: (\w+)\s+Location: (0x[0-9a-f]+)/g)) {
      const a = BigInt(m[2]);
      if (m[1] === 'query__plan__start') used[m[1]] = a;
      else if (m[1] === 'query__execute__start' || m[1] === 'query__execute__done') (a >= from && a < to ? used : others)[`${m[1]}@${m[2]}`] = a;
    }
    return { used, others };
  }
  const syms = execFileSync('nm', [exe], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const out: Record<string, bigint> = {};
  for (const m of syms.matchAll(/^([0-9a-f]+) T (pg_plan_query|PortalRun)$/gm)) out[m[2]] = BigInt(`0x${m[1]}`);
  return { used: out, others: {} };
}

/** Link-time addresses of the functions encrypted connections are followed at (exported by every build). */
function tlsAddresses(exe: string): Record<string, bigint> {
  const syms = execFileSync('nm', ['-D', '--defined-only', exe], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const out: Record<string, bigint> = {};
  for (const m of syms.matchAll(/^([0-9a-f]+) T (be_tls_read|be_tls_write)$/gm)) out[m[2]] = BigInt(`0x${m[1]}`);
  return out;
}

/** The byte at each probe point in a process's memory (PIE: the executable is mapped at a base). */
function bytesAt(pid: number, exe: string, addrs: Record<string, bigint>): Record<string, number> {
  const real = fs.realpathSync(exe);
  const maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n');
  const first = maps.find((l) => l.endsWith(real) && / 00000000 /.test(l));
  if (!first) throw new Error(`${real} is not mapped in pid ${pid}`);
  const base = BigInt(`0x${first.split('-')[0]}`);
  const fd = fs.openSync(`/proc/${pid}/mem`, 'r');
  try {
    const out: Record<string, number> = {};
    for (const [name, a] of Object.entries(addrs)) {
      const b = Buffer.alloc(1);
      fs.readSync(fd, b, 0, 1, Number(base + a));
      out[name] = b[0];
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

const backendPid = async (c: Client) => (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p as number;

describe.each(['debian', 'embedded'] as PgFlavor[])('probe budget on %s PostgreSQL', (flavor) => {
  let pg: PgCluster;
  let receiver: Receiver;
  let collector: CollectorProcess;

  let traced: Traced;

  beforeAll(async () => {
    traced = await startTraced(flavor, ['--root-sample-rate', '0']);
    ({ pg, receiver, collector } = traced);
  });

  afterAll(async () => {
    await traced?.stop();
  });

  it('a backend that never carries a sampled statement has no phase breakpoint; one that does gets its phase probes, in its memory only', async () => {
    const exe = path.join(pg.binDir, 'postgres');
    const { used: addrs, others } = probeAddresses(flavor, exe);
    // three USDT sites (and PortalRunMulti's two); two function entries, PortalRun's also its return
    expect([Object.keys(addrs).length, Object.keys(others).length]).toEqual(flavor === 'debian' ? [3, 2] : [2, 0]);
    const quiet = new Client({ connectionString: pg.connectionString });
    const sampled = new Client({ connectionString: pg.connectionString });
    await quiet.connect();
    await sampled.connect();
    try {
      const quietPid = await backendPid(quiet);
      const sampledPid = await backendPid(sampled);
      const before = (await collector.status()).kernel;
      for (let i = 0; i < 200; i++) {
        await quiet.query(`SELECT ${i} AS n ${randomTraceparent('00').comment}`);
        await quiet.query('SELECT 1 AS no_comment');
      }
      expect(Object.values(bytesAt(quietPid, exe, addrs)).filter((b) => b === 0xcc)).toEqual([]);
      // the TLS probes are there (one set per binary, every process) and never hit by a plaintext backend
      const tls = tlsAddresses(exe);
      expect(Object.keys(tls).sort()).toEqual(['be_tls_read', 'be_tls_write']);
      expect(Object.values(bytesAt(quietPid, exe, tls))).toEqual([0xcc, 0xcc]);
      const mid = (await collector.status()).kernel;
      expect(mid.unsampled - before.unsampled).toBe(200);
      expect(mid.phase_hits - before.phase_hits).toBe(0);
      expect(mid.tls_hits - before.tls_hits).toBe(0);

      await armBackend((sql) => sampled.query(sql), collector);
      expect(Object.values(bytesAt(sampledPid, exe, addrs))).toEqual(Object.keys(addrs).map(() => 0xcc));
      expect(Object.values(bytesAt(sampledPid, exe, others)).filter((b) => b === 0xcc)).toEqual([]);
      expect(Object.values(bytesAt(quietPid, exe, addrs)).filter((b) => b === 0xcc)).toEqual([]);

      // the armed backend's next sampled statement is timed
      const tp = randomTraceparent();
      await sampled.query(`SELECT count(*) FROM pg_class ${tp.comment}`);
      await eventually('the timed statement', () => receiver.spans.some((s) => s.traceId === tp.traceId && isPostgresServerSpan(s)));
      await eventually('its phases', () => receiver.spans.filter((s) => s.traceId === tp.traceId && s.attributes['postgresql.phase']).length >= 3);
      const stmt = receiver.spans.find((s) => s.traceId === tp.traceId && isPostgresServerSpan(s))!;
      expect(stmt.attributes['pgferret.phases.untimed']).toBeUndefined();

      // what every statement on the armed backend pays, sampled or not: three hits when it is
      // planned (planning, execution start and end), two when it is not (a utility statement);
      // an INSERT/UPDATE/DELETE too (not PortalRunMulti's query__execute__start/done inside PortalRun)
      const hits = async (sql: string) => {
        const from = (await collector.status()).kernel.phase_hits;
        for (let i = 0; i < 50; i++) await sampled.query(`${sql} ${randomTraceparent('00').comment}`);
        return ((await collector.status()).kernel.phase_hits - from) / 50;
      };
      expect(await hits('SELECT 1 AS planned')).toBe(3);
      expect(await hits('SHOW work_mem')).toBe(2);
      await sampled.query('CREATE TEMP TABLE hit_t (a int PRIMARY KEY, b int); INSERT INTO hit_t VALUES (1, 0)');
      expect(await hits('UPDATE hit_t SET b = b + 1 WHERE a = 1')).toBe(3);
      expect(await hits('INSERT INTO hit_t SELECT max(a) + 1, 0 FROM hit_t')).toBe(3);
      expect([await hits('BEGIN'), await hits('END')]).toEqual([2, 2]);
    } finally {
      await quiet.end();
      await sampled.end();
    }
    // a backend that is gone is disarmed at the next rescan
    await eventually('the collector to disarm the exited backend', async () => (await collector.status()).backends.armed === 0, 10000);
  });
});
