// The collector runs at the lowest CPU priority unless told otherwise: on busy
// CPUs the database's backends run first (BENCHMARKS.md, "A collector that
// yields"). Linux keeps nice per thread, so every thread is checked — V8's
// workers and libuv's pool started before the collector set its priority,
// the loader's detachers and anything started after it.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { Client } from 'pg';
import { CLI, eventually, randomTraceparent, startCollector, startReceiver, statementsOf, type Receiver } from './helpers/collector';
import { startPostgres, type PgCluster } from './helpers/postgres';

/** tid → nice of every thread of a process (field 19 of /proc/<pid>/task/<tid>/stat) */
function threadNices(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return out;
}

describe('the collector\'s CPU priority', () => {
  let pg: PgCluster;
  let receiver: Receiver;

  beforeAll(async () => {
    pg = await startPostgres({ flavor: 'debian' });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await pg?.stop();
  });

  /** Runs sampled statements through a collector started with `args`, then returns its threads' nice values. */
  async function nicesWhileTracing(args: string[], launcher: string[] = []): Promise<Map<number, number>> {
    const collector = await startCollector(['--port', String(pg.port), ...args], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, CLI, launcher);
    try {
      await collector.waitFor(/running; Ctrl-C to stop/);
      const c = new Client({ connectionString: pg.connectionString });
      await c.connect();
      try {
        // enough work to start what runs later: arming (the detacher threads), exports, the lexer
        const ids: string[] = [];
        for (let i = 0; i < 20; i++) {
          const t = randomTraceparent();
          ids.push(t.traceId);
          await c.query(`SELECT ${i} ${t.comment}`);
        }
        await eventually('the statements\' spans', () => ids.every((id) => statementsOf(receiver, id).length === 1));
      } finally {
        await c.end();
      }
      expect(collector.output()).toMatch(/CPU priority: nice -?\d+ on \d+ threads/);
      return threadNices(collector.child.pid!);
    } finally {
      await collector.stop();
    }
  }

  test('by default every thread runs at nice 19, those started after the collector set it too', async () => {
    const nices = await nicesWhileTracing([]);
    expect(nices.size).toBeGreaterThanOrEqual(5); // main, V8's workers, libuv's pool…
    expect([...nices.values()].every((n) => n === 19)).toBe(true);
  });

  test('--nice sets another priority, higher than the one it was started with too (root)', async () => {
    const nices = await nicesWhileTracing(['--nice', '-5'], ['nice', '-n', '19']);
    expect([...nices.values()].every((n) => n === -5)).toBe(true);
  });

  test('a nice out of range is refused before anything starts, with the range', () => {
    const r = spawnSync(process.execPath, [CLI, 'run', '--port', '1', '--nice', '20'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--nice.*must be an integer from -20 \(the highest priority\) to 19 \(the lowest\)/);
  });

  test('raising the priority without CAP_SYS_NICE fails at start, with what to do', async () => {
    // the CLI's own check, as a user without the capability meets it: drop CAP_SYS_NICE from a niced root process
    const child = spawn('nice', ['-n', '10', 'setpriv', '--inh-caps=-sys_nice', '--bounding-set=-sys_nice', process.execPath, CLI, 'run', '--port', '1', '--nice', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(stderr).toMatch(/could not set the collector's CPU priority to nice 0: .*needs root or CAP_SYS_NICE.*pass --nice 10/);
  });
});
