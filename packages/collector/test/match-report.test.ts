// "Nothing to trace" is said once per change, with the filter and what runs.
// (The real collector's "no cluster matches" is in test/collector-states.test.ts;
// "nothing running at all" cannot be produced on a machine others share.)
import type { Postmaster } from '../src/discover/postmasters';
import { MatchReport } from '../src/discover/match-report';

const pm = (pid: number, port: number): Postmaster => ({ pid, port, dataDir: `/var/lib/pg/${pid}` }) as Postmaster;

test('each state is logged once, when it starts', () => {
  const lines: string[] = [];
  const r = new MatchReport({ ports: [6543] }, (m) => lines.push(m));
  r.update([], 0);
  r.update([], 0);
  expect(lines).toEqual(['no PostgreSQL is running on this machine (or this collector cannot see its processes): waiting for one to start']);
  r.update([pm(10, 5432)], 0);
  r.update([pm(10, 5432)], 0);
  expect(lines[1]).toBe('no running PostgreSQL cluster matches --port 6543 (running: pid 10 port 5432 /var/lib/pg/10): waiting for one that does; change the filter to trace these');
  r.update([pm(10, 5432), pm(11, 6543)], 1);
  r.update([pm(10, 5432)], 0);
  expect(lines).toHaveLength(3);
  expect(lines[2]).toBe(lines[1]);
});
