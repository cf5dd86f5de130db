// Records wake the collector only when it must act on them at once: a woken
// collector on a busy machine preempts the backend whose statement woke it,
// and that request waits (~200 µs a TPC-B transaction, BENCHMARKS.md). With
// --detail statement the collector never arms a backend, so sampled
// statements never wake it: they are read by the drain timer (every 5 ms in a
// flood, backing off to a second on a trickle), and a burst that starts while
// the timer waits wakes it as the ring fills (each MB). Observable as the ring
// buffer's batches: a wakeup per statement is a batch per statement. With a
// CPU clock attached, the drain backs off to 100 ms, and to 10 ms while
// sampled statements were slow lately (a profile then starts with its statement). A lock wait in a
// sampled cycle wakes it only when it can ask who blocks it (--postgres-url).
import * as fs from 'node:fs';
import { Client } from 'pg';
import { A } from '../packages/collector/src/spans/attributes';
import { armBackend, eventually, randomTraceparent, startTraced, statementsOf, type Traced } from './helpers/collector';
import type { PgCluster } from './helpers/postgres';

/** sends STATEMENTS sampled statements ~10 ms apart; returns the ring buffer's batches meanwhile */
async function trickle(traced: Traced, c: Client): Promise<{ records: number; batches: number }> {
  const before = (await traced.collector.status()).ringBuffer;
  const ids: string[] = [];
  for (let i = 0; i < STATEMENTS; i++) {
    const t = randomTraceparent();
    ids.push(t.traceId);
    await c.query(`SELECT ${i} ${t.comment}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await eventually(`${STATEMENTS} statement spans`, () => ids.every((id) => statementsOf(traced.receiver, id).length === 1));
  const after = (await traced.collector.status()).ringBuffer;
  return { records: after.records - before.records, batches: after.batches - before.batches };
}

const STATEMENTS = 100;

/** a collector with these arguments on Debian's PostgreSQL for the enclosing describe */
function tracedWith(args: string[] | ((pg: PgCluster) => string[])): () => Traced {
  let traced: Traced;
  beforeAll(async () => {
    traced = await startTraced('debian', args);
  });
  afterAll(async () => {
    await traced?.stop();
  });
  return () => traced;
}

/** runs `use` with a fresh connection to the traced cluster */
async function withClient(traced: Traced, use: (c: Client) => Promise<void>): Promise<void> {
  const c = new Client({ connectionString: traced.pg.connectionString });
  await c.connect();
  try {
    await use(c);
  } finally {
    await c.end();
  }
}

describe('wakeups', () => {
  const traced = tracedWith(['--detail', 'statement', '--root-sample-rate', '0']);

  test('--detail statement: a trickle of sampled statements is read by the drain timer, never by wakeups', () => withClient(traced(), async (c) => {
    const first = randomTraceparent();
    await c.query(`SELECT 1 ${first.comment}`);
    await eventually('the first statement span', () => statementsOf(traced().receiver, first.traceId).length === 1);
    const { records, batches } = await trickle(traced(), c);
    expect(records).toBeGreaterThanOrEqual(2 * STATEMENTS);
    // ~1.5 s of statements: a few timer drains; a wakeup per statement would be ≥ 100 batches
    expect(batches).toBeLessThan(STATEMENTS / 2);
  }));

  test('a burst larger than the ring after a quiet spell wakes the collector as the ring fills: nothing is dropped', async () => {
    const { collector, receiver, pg } = traced();
    // quiet: the drain timer backs off to its longest period
    await new Promise((r) => setTimeout(r, 3000));
    const st0 = await collector.status();
    // 3 connections × 1,500 pipelined statements of ~2 KB (the text read per statement): ~10 MB of records, more than the 8 MB ring
    const pad = 'x'.repeat(2000);
    const contexts: { traceId: string }[] = [];
    const t0 = Date.now();
    await Promise.all([0, 1, 2].map(async () => {
      const c = new Client({ connectionString: pg.connectionString, pipeline: true });
      await c.connect();
      try {
        const tps = Array.from({ length: BURST }, () => randomTraceparent());
        contexts.push(...tps);
        await Promise.all(tps.map((t, i) => c.query(`SELECT ${i} AS n, '${pad}' AS pad ${t.comment}`)));
      } finally {
        await c.end();
      }
    }));
    const burstMs = Date.now() - t0;
    // every span, or a record lost (then they never all come)
    const arrived = () => contexts.every((t) => statementsOf(receiver, t.traceId).length === 1);
    await eventually(`${contexts.length} statement spans or a drop`, async () => arrived() || (await collector.status()).kernel.dropped > st0.kernel.dropped, 60000);
    const st = await collector.status();
    expect(st.kernel.dropped - st0.kernel.dropped).toBe(0);
    expect(arrived()).toBe(true);
    const mb = (st.ringBuffer.bytes - st0.ringBuffer.bytes) / 2 ** 20;
    console.log(`burst of ${contexts.length} statements in ${burstMs} ms: ${mb.toFixed(1)} MB of records in ${st.ringBuffer.batches - st0.ringBuffer.batches} batches`);
    expect(mb).toBeGreaterThan(8);
    expect(st.kernel.traced - st0.kernel.traced).toBe(contexts.length);
  }, 120000);
});

const BURST = 1500;

describe('wakeups with a CPU profile', () => {
  const traced = tracedWith(['--root-sample-rate', '0']);

  test("the budget's tick, the export's flush and the rescan ride the drains: the collector wakes about as often as it drains", () => withClient(traced(), async (c) => {
    const { collector } = traced();
    await armBackend((sql) => c.query(sql), collector);
    await eventually('the backend\'s CPU clock', async () => (await collector.status()).profile.clocks >= 1);
    const pid = collector.child.pid!;
    const wakeups = () => Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/task/${pid}/status`, 'latin1'))![1]);
    const before = (await collector.status()).ringBuffer;
    const w0 = wakeups();
    const t0 = Date.now();
    // sampled statements ~20 ms apart for ~4 s: every drain (100 ms apart with a clock attached) finds records
    for (let i = 0; i < 200; i++) {
      await c.query(`SELECT ${i} ${randomTraceparent().comment}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const w1 = wakeups();
    const seconds = (Date.now() - t0) / 1000;
    const drains = ((await collector.status()).ringBuffer.batches - before.batches) / seconds;
    const woke = (w1 - w0) / seconds;
    console.log(`collector main thread: ${woke.toFixed(1)} wake-ups/s, ${drains.toFixed(1)} drains with records/s`);
    expect(drains).toBeGreaterThan(5);
    // each with a timer of its own: ~10 drains + 5 budget ticks + an export flush + half a rescan a
    // second (17.5 wake-ups a second here); at the drains' ticks, what is left is the OTLP answers and
    // the detachers' completions (12.2 here)
    expect(woke).toBeLessThan(drains + 5);
  }));

  test('fast statements keep the drain backed off; after a slow one it drains every 10 ms, and a statement\'s clock comes on that soon', () => withClient(traced(), async (c) => {
    const { collector, receiver } = traced();
    await armBackend((sql) => c.query(sql), collector);
    await eventually('the backend\'s CPU clock', async () => (await collector.status()).profile.clocks >= 1);
    const fast = await trickle(traced(), c);
    // a slow sampled statement (off CPU: its length is what counts)
    const slow = randomTraceparent();
    await c.query(`SELECT pg_sleep(0.08) ${slow.comment}`);
    await eventually('the slow statement span', () => statementsOf(receiver, slow.traceId).length === 1);
    const tight = await trickle(traced(), c);
    console.log(`drains for ${STATEMENTS} statements ~10 ms apart: fast only ${fast.batches}, after a slow one ${tight.batches}`);
    // ~1.5 s: ~15 drains backed off to 100 ms, ~150 at 10 ms
    expect(fast.batches).toBeLessThan(STATEMENTS / 2);
    expect(tight.batches).toBeGreaterThan(STATEMENTS * 0.6);
    // a CPU-bound statement now: its clock comes on within a drain or two
    const t = randomTraceparent();
    await c.query(`SELECT count(*) FROM generate_series(1, 3000000) g WHERE md5(g::text) > 'f' ${t.comment}`);
    await eventually('the CPU-bound statement span', () => statementsOf(receiver, t.traceId).length === 1);
    const s = statementsOf(receiver, t.traceId)[0];
    expect(s.attributes[A.profileSamples]).toBeGreaterThan(50);
    expect((s.attributes[A.profileLateMs] as number | undefined) ?? 0).toBeLessThan(15);
  }));
});

const LOCKS = 40;

/**
 * LOCKS lock waits of ~holdMs in sampled statements of an armed backend (the
 * holder's statements unsampled): the ring buffer's batches meanwhile, and
 * the last wait's span attributes.
 */
async function lockWaits(traced: Traced, holdMs: number): Promise<{ batches: number; attributes: Record<string, unknown>; holderPid: number }> {
  const { collector, receiver, pg } = traced;
  const holder = new Client({ connectionString: pg.connectionString });
  const waiter = new Client({ connectionString: pg.connectionString });
  await holder.connect();
  await waiter.connect();
  try {
    await holder.query('CREATE TABLE IF NOT EXISTS wake_lock (x int)');
    const holderPid = Number((await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    await armBackend((sql) => waiter.query(sql), collector);
    const before = (await collector.status()).ringBuffer.batches;
    let last = randomTraceparent();
    for (let i = 0; i < LOCKS; i++) {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE wake_lock IN ACCESS EXCLUSIVE MODE');
      last = randomTraceparent();
      const waits = waiter.query(`SELECT count(*) FROM wake_lock ${last.comment}`);
      await new Promise((r) => setTimeout(r, holdMs));
      await holder.query('COMMIT');
      await waits;
    }
    const batches = (await collector.status()).ringBuffer.batches - before;
    const lockSpan = () => receiver.spans.find((sp) => sp.traceId === last.traceId && sp.attributes[A.lockMode] === 'AccessShareLock');
    await eventually('the last lock wait\'s span', () => lockSpan() !== undefined);
    return { batches, attributes: lockSpan()!.attributes, holderPid };
  } finally {
    await holder.end();
    await waiter.end();
  }
}

describe('lock waits without --postgres-url', () => {
  const traced = tracedWith(['--root-sample-rate', '0']);

  test('do not wake the collector (nobody to ask for their blockers): read by the drain timer', async () => {
    const { batches, attributes } = await lockWaits(traced(), 20);
    console.log(`batches for ${LOCKS} lock waits of ~20 ms without --postgres-url: ${batches}`);
    // ~1–2 s of waits: ~10–20 timer drains; a wakeup per wait would be ≥ LOCKS batches
    expect(batches).toBeLessThan(LOCKS / 2);
    expect(attributes[A.lockBlockerUnknown]).toEqual(expect.stringContaining('--postgres-url'));
  });
});

describe('lock waits with --postgres-url', () => {
  const traced = tracedWith((pg) => ['--root-sample-rate', '0', '--postgres-url', pg.connectionString]);

  test('wake the collector at their beginning (their blockers are asked for while they wait), and the blocker is named', async () => {
    const { batches, attributes, holderPid } = await lockWaits(traced(), 40);
    console.log(`batches for ${LOCKS} lock waits of ~40 ms with --postgres-url: ${batches}`);
    expect(batches).toBeGreaterThanOrEqual(LOCKS);
    expect(attributes[A.lockBlockerPids]).toEqual([holderPid]);
  });
});
