// The overhead budget's measure of its backends' CPU (discover/process-cpu.ts):
// a busy backend's run time counts while it lives, the same time counts once
// it has exited and its postmaster reaped it (no jump either way), and a
// postmaster that is gone reads as gone.
import { Client } from 'pg';
import { childPids, ClusterCpuReader } from '../packages/collector/src/discover/process-cpu';
import { startPostgres, type PgCluster } from './helpers/postgres';

const MS = 1_000_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

    // the backend exits; once reaped its time is in the postmaster's reaped children's time
    await client.end();
    for (let i = 0; i < 100 && childPids(pg.pid).includes(backend); i++) await sleep(20);
    expect(childPids(pg.pid)).not.toContain(backend);
    const after = reader.read(pg.pid)!;
    expect(after.rates.has(backend)).toBe(false);
    // utime+stime come in 10 ms ticks: within one of them per process, and the exit's own work
    expect(after.totalNs - during.totalNs).toBeGreaterThan(-20 * MS);
    expect(after.totalNs - during.totalNs).toBeLessThan(100 * MS);

    const pid = pg.pid;
    await pg.stop();
    pg = null;
    expect(reader.read(pid)).toBeNull();
  });
});
