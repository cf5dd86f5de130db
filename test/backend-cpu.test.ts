// The overhead budget's measure of its backends' CPU (discover/process-cpu.ts):
// a busy backend's run time counts while it lives, the same time counts once
// it has exited and its postmaster reaped it (no jump either way), and a
// postmaster that is gone reads as gone. Its /proc files stay open between
// reads, one set per live backend, and go when the backend or the reader does.
import * as fs from 'node:fs';
import { Client } from 'pg';
import { childPids, ClusterCpuReader } from '../packages/collector/src/discover/process-cpu';
import { startPostgres, type PgCluster } from './helpers/postgres';

const MS = 1_000_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** this process's open descriptors on a /proc file of `pid` */
function openOn(pid: number): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(`/proc/${pid}/`)) n++;
    } catch {
      // the directory's own descriptor, closed by now
    }
  }
  return n;
}

describe('ClusterCpuReader', () => {
  let pg: PgCluster | null = null;
  afterAll(async () => {
    await pg?.stop();
  });

  it("counts a busy backend's CPU while it lives and after it is reaped, and says when the postmaster is gone", async () => {
    pg = await startPostgres();
    const client = new Client({ connectionString: pg.connectionString });
    await client.connect();
    const backend = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0].pid;
    const reader = new ClusterCpuReader();
    const first = reader.read(pg.pid)!;
    expect(first).not.toBeNull();

    const t0 = process.hrtime.bigint();
    await client.query('select count(*) from generate_series(1, 4000000)');
    const busyNs = Number(process.hrtime.bigint() - t0);
    const during = reader.read(pg.pid)!;
    // the statement's CPU is in the total (its wall time bounds it from above; most of it is CPU)
    expect(during.totalNs - first.totalNs).toBeGreaterThan(0.3 * busyNs);
    expect(during.totalNs - first.totalNs).toBeLessThan(busyNs + 200 * MS);
    expect(during.rates.get(backend)).toBeGreaterThan(0);
    // its schedstat stays open for the next read (and the postmaster's stat and list of children)
    expect(openOn(backend)).toBe(1);
    expect(openOn(pg.pid)).toBe(2);
    const again = reader.read(pg.pid)!;
    expect(again.totalNs).toBeGreaterThanOrEqual(during.totalNs);
    expect(openOn(backend)).toBe(1);

    // the backend exits; once reaped its time is in the postmaster's reaped children's time
    await client.end();
    for (let i = 0; i < 100 && childPids(pg.pid).includes(backend); i++) await sleep(20);
    expect(childPids(pg.pid)).not.toContain(backend);
    const after = reader.read(pg.pid)!;
    expect(after.rates.has(backend)).toBe(false);
    expect(openOn(backend)).toBe(0);
    // utime+stime come in 10 ms ticks: within one of them per process, and the exit's own work
    expect(after.totalNs - during.totalNs).toBeGreaterThan(-20 * MS);
    expect(after.totalNs - during.totalNs).toBeLessThan(100 * MS);

    // close() lets every file go; the next read opens them anew
    const live = childPids(pg.pid);
    expect(live.some((p) => openOn(p) === 1)).toBe(true);
    reader.close();
    expect(openOn(pg.pid)).toBe(0);
    for (const p of live) expect(openOn(p)).toBe(0);
    expect(reader.read(pg.pid)!.totalNs).toBeGreaterThanOrEqual(after.totalNs);
    expect(openOn(pg.pid)).toBe(2);

    const pid = pg.pid;
    await pg.stop();
    pg = null;
    expect(reader.read(pid)).toBeNull();
    expect(openOn(pid)).toBe(0);
  });
});
