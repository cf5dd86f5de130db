// The overhead budget's CPU reading of a postmaster's backends, on real
// processes: a parent with an idle child, a busy one and one that works only
// when told to. An idle backend is read again only after IDLE_READ_MS unless
// asked for; one that starts working must show all of its CPU at the next
// read that looks at it — at once when asked for, within IDLE_READ_MS if not.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { ClusterCpuReader, IDLE_READ_MS, type ClusterCpu } from '../src/discover/process-cpu';

const PARENT = `
const { spawn } = require('node:child_process');
const node = process.execPath;
const idle = spawn('sleep', ['120'], { stdio: 'ignore' });
const busy = spawn(node, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
const late = spawn(node, ['-e', "process.on('SIGUSR1', () => { const t = process.cpuUsage(); while (process.cpuUsage(t).user < 400000) {} }); setInterval(() => {}, 1e6); process.stdout.write('ready')"], { stdio: ['ignore', 'pipe', 'ignore'] });
late.stdout.once('data', () => process.stdout.write(JSON.stringify({ idle: idle.pid, busy: busy.pid, late: late.pid }) + '\\n'));
process.on('SIGTERM', () => { idle.kill(); busy.kill(); late.kill(); process.exit(0); });
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const runtimeNs = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'latin1').split(' ')[0]);
const MS = 1e6;
/** utime+stime count 10 ms ticks: a read may lag the run time by up to one per process */
const TICK_SLACK_NS = 20 * MS;

/** Until the process's run time stands still for 200 ms. */
async function untilIdle(pid: number): Promise<void> {
  for (let before = -1, now = runtimeNs(pid); now !== before; before = now, now = runtimeNs(pid)) await sleep(200);
}

describe('ClusterCpuReader', () => {
  let parent: ChildProcess;
  let pids: { idle: number; busy: number; late: number };

  beforeAll(async () => {
    parent = spawn(process.execPath, ['-e', PARENT], { stdio: ['ignore', 'pipe', 'inherit'] });
    pids = await new Promise((resolve, reject) => {
      parent.stdout!.once('data', (d) => resolve(JSON.parse(String(d))));
      parent.once('exit', (code) => reject(new Error(`the test's parent process exited (${code})`)));
    });
    // the late child's start-up is over once its run time stands still
    await untilIdle(pids.late);
  });

  afterAll(() => {
    parent?.kill('SIGTERM');
  });

  /** Makes the late child work 400 ms of its own CPU, however long that takes on a busy machine; returns its run time from before it started. */
  async function lateWorks(): Promise<number> {
    const late0 = runtimeNs(pids.late);
    process.kill(pids.late, 'SIGUSR1');
    for (let i = 0; i < 100 && runtimeNs(pids.late) - late0 < 400 * MS; i++) await sleep(100);
    await sleep(100);
    return late0;
  }

  it('reads every child; one asked for that starts working shows all of its CPU at the next read, an idle one keeps its figure, one that exits moves to the reaped total', async () => {
    const reader = new ClusterCpuReader();
    const hotLate = (pid: number) => pid === pids.late;
    // two reads: the late child is known idle, and would not be read again for a second unless asked for
    reader.read(parent.pid!, hotLate);
    await sleep(100);
    const r1 = reader.read(parent.pid!, hotLate) as ClusterCpu;
    expect([...r1.rates.keys()].sort()).toEqual([pids.idle, pids.busy, pids.late].sort());

    const busy0 = runtimeNs(pids.busy);
    const late0 = await lateWorks();
    const lateRan = runtimeNs(pids.late) - late0;
    const busyRan = runtimeNs(pids.busy) - busy0;
    const r2 = reader.read(parent.pid!, hotLate) as ClusterCpu;
    expect(lateRan).toBeGreaterThan(400 * MS);
    // the late child was idle at the first read: its CPU since must be in the second one, not a cached figure
    expect(r2.rates.get(pids.late)).toBeGreaterThan(0);
    expect(r2.rates.get(pids.busy)).toBeGreaterThan(0);
    expect(r2.rates.get(pids.idle)).toBe(0);
    // both children's CPU between the reads, to the tick: a late child's figure kept from the first read would miss 400 ms
    const grew = r2.totalNs - r1.totalNs;
    expect(grew).toBeGreaterThan(lateRan + busyRan - 2 * TICK_SLACK_NS);
    expect(grew).toBeLessThan(lateRan + busyRan + 2 * TICK_SLACK_NS);

    // the busy child exits and is reaped: its time moves from its own figure to the parent's reaped one
    process.kill(pids.busy, 'SIGKILL');
    for (let i = 0; i < 50 && fs.existsSync(`/proc/${pids.busy}`); i++) await sleep(100);
    expect(fs.existsSync(`/proc/${pids.busy}`)).toBe(false);
    const r3 = reader.read(parent.pid!, hotLate) as ClusterCpu;
    expect([...r3.rates.keys()].sort()).toEqual([pids.idle, pids.late].sort());
    expect(r3.totalNs).toBeGreaterThan(r2.totalNs - TICK_SLACK_NS);
  });

  it('an idle backend not asked for is read again within IDLE_READ_MS: its work shows then, with its rate over its own interval', async () => {
    const reader = new ClusterCpuReader();
    const nobody = () => false;
    await untilIdle(pids.late);
    reader.read(parent.pid!, nobody);
    await sleep(100);
    const r1 = reader.read(parent.pid!, nobody) as ClusterCpu;
    expect(r1.rates.get(pids.late)).toBe(0);
    const t1 = Date.now();
    const late0 = await lateWorks();
    const worked = runtimeNs(pids.late) - late0;
    // not yet due: the figure from the read before stands (unless the work took a second already)
    if (Date.now() - t1 < IDLE_READ_MS - 100) expect((reader.read(parent.pid!, nobody) as ClusterCpu).rates.get(pids.late)).toBe(0);
    await sleep(Math.max(0, IDLE_READ_MS - (Date.now() - t1)) + 50);
    const r2 = reader.read(parent.pid!, nobody) as ClusterCpu;
    const lateRan = runtimeNs(pids.late) - late0;
    const intervalS = (Date.now() - t1) / 1000;
    // its rate spreads its work over the time since its last read (≥ IDLE_READ_MS), not over the last call's interval
    expect(r2.rates.get(pids.late)! * intervalS).toBeGreaterThan(0.8 * worked);
    expect(r2.rates.get(pids.late)).toBeLessThan((lateRan / (IDLE_READ_MS / 1000)) * 1.1);
  });

  it('reads every child of a postmaster with more children than one page of /proc lists', async () => {
    // its own process group: the shell and its children go together
    const many = spawn('/bin/sh', ['-c', 'for i in $(seq 1200); do sleep 60 & done; wait'], { stdio: 'ignore', detached: true });
    try {
      let read: ClusterCpu | null = null;
      for (let i = 0; i < 100 && (read?.rates.size ?? 0) < 1200; i++) {
        await sleep(100);
        read = new ClusterCpuReader().read(many.pid!);
      }
      expect(read?.rates.size).toBe(1200);
    } finally {
      process.kill(-many.pid!, 'SIGKILL');
    }
  });

  it('says null for a postmaster that is gone', () => {
    expect(new ClusterCpuReader().read(2 ** 22 + 7)).toBeNull();
  });
});
