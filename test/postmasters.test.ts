// Finding the running postmasters (the collector's rescan): with the last
// scan's postmasters given, their backends are passed over unread, and the
// same postmasters come out — and a cluster started since is found too.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { childPids } from '../packages/collector/src/discover/process-cpu';
import { findPostmasters, kernelThreads, type Postmaster } from '../packages/collector/src/discover/postmasters';
import { startPostgres, type PgCluster } from './helpers/postgres';

const ours = (all: Postmaster[], pgs: PgCluster[]) => all.filter((p) => pgs.some((pg) => pg.pid === p.pid)).map((p) => `${p.pid} ${p.dataDir} ${p.port}`).sort();

describe('findPostmasters', () => {
  const started: PgCluster[] = [];
  const clients: Client[] = [];
  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => {});
    for (const pg of started) await pg.stop();
  });

  it('finds the same postmasters when given the last ones (their backends unread), and one started since', async () => {
    const a = await startPostgres();
    started.push(a);
    for (let i = 0; i < 3; i++) {
      const c = new Client({ connectionString: a.connectionString });
      await c.connect();
      clients.push(c);
    }
    const first = findPostmasters();
    expect(ours(first, [a])).toEqual([`${a.pid} ${a.dataDir} ${a.port}`]);
    // none of its children (3 backends, auxiliary processes) is taken for a postmaster
    const children = childPids(a.pid);
    expect(children.length).toBeGreaterThanOrEqual(3);
    expect(first.filter((p) => children.includes(p.pid))).toEqual([]);

    const b = await startPostgres();
    started.push(b);
    const again = findPostmasters(first);
    expect(ours(again, [a, b])).toEqual([`${a.pid} ${a.dataDir} ${a.port}`, `${b.pid} ${b.dataDir} ${b.port}`].sort());
    expect(again.map((p) => p.pid).sort()).toEqual(findPostmasters().map((p) => p.pid).sort());
  });

  it('passes over the kernel threads (no executable to read), and nothing in a pid namespace where pid 2 is a process', () => {
    const kthreads = kernelThreads();
    expect(kthreads[0]).toBe(2);
    expect(kthreads.length).toBeGreaterThan(1);
    for (const pid of kthreads) {
      let exe: string | null = null;
      try {
        exe = fs.readlinkSync(`/proc/${pid}/exe`);
      } catch {
        // a kernel thread has none; one that exited since is gone
      }
      expect([pid, exe]).toEqual([pid, null]);
    }
    // a new pid namespace with its own /proc: pid 1 is the shell, pid 2 the node it forks (the shell waits: not its last command), whose parent is 1
    const dist = path.join(__dirname, '..', 'packages', 'collector', 'dist', 'discover', 'postmasters.js');
    const script = `"${process.execPath}" -e 'console.log(JSON.stringify([process.pid, require(process.argv[1]).kernelThreads()]))' '${dist}'; exit $?`;
    const inNs = execFileSync('unshare', ['--pid', '--fork', '--mount-proc', 'sh', '-c', script], { encoding: 'utf8' });
    expect(JSON.parse(inNs)).toEqual([2, []]);
  });
});
