// Records wake the collector only when it must act on them at once: a woken
// collector on a busy machine preempts the backend whose statement woke it,
// and that request waits (~200 µs a TPC-B transaction, BENCHMARKS.md). With
// --detail statement the collector never arms a backend, so sampled
// statements never wake it: they are read by the drain timer (every 5 ms,
// backing off to 50 ms on a trickle). Observable as the ring buffer's
// batches: a wakeup per statement is a batch per statement. With a CPU
// profile, the drain backs off to 10 ms only while sampled statements were
// slow lately (a profile then starts with its statement).
import { Client } from 'pg';
import { A } from '../packages/collector/src/spans/attributes';
import { armBackend, eventually, randomTraceparent, startTraced, statementsOf, type Traced } from './helpers/collector';

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

describe('wakeups', () => {
  let traced: Traced;

  beforeAll(async () => {
    traced = await startTraced('debian', ['--detail', 'statement', '--root-sample-rate', '0']);
  });
  afterAll(async () => {
    await traced?.stop();
  });

  test('--detail statement: a trickle of sampled statements is read by the drain timer, never by wakeups', async () => {
    const c = new Client({ connectionString: traced.pg.connectionString });
    await c.connect();
    try {
      const first = randomTraceparent();
      await c.query(`SELECT 1 ${first.comment}`);
      await eventually('the first statement span', () => statementsOf(traced.receiver, first.traceId).length === 1);
      const { records, batches } = await trickle(traced, c);
      expect(records).toBeGreaterThanOrEqual(2 * STATEMENTS);
      // ~1.5 s of statements: ~30 timer drains; a wakeup per statement would be ≥ 100 batches
      expect(batches).toBeLessThan(STATEMENTS / 2);
    } finally {
      await c.end();
    }
  });
});

describe('wakeups with a CPU profile', () => {
  let traced: Traced;

  beforeAll(async () => {
    traced = await startTraced('debian', ['--root-sample-rate', '0']);
  });
  afterAll(async () => {
    await traced?.stop();
  });

  test('fast statements keep the drain backed off; after a slow one it drains every 10 ms, and a statement\'s clock comes on that soon', async () => {
    const c = new Client({ connectionString: traced.pg.connectionString });
    await c.connect();
    try {
      await armBackend((sql) => c.query(sql), traced.collector);
      await eventually('the backend\'s CPU clock', async () => (await traced.collector.status()).profile.clocks >= 1);
      const fast = await trickle(traced, c);
      // a slow sampled statement (off CPU: its length is what counts)
      const slow = randomTraceparent();
      await c.query(`SELECT pg_sleep(0.05) ${slow.comment}`);
      await eventually('the slow statement span', () => statementsOf(traced.receiver, slow.traceId).length === 1);
      const tight = await trickle(traced, c);
      console.log(`drains for ${STATEMENTS} statements ~10 ms apart: fast only ${fast.batches}, after a slow one ${tight.batches}`);
      // ~1.5 s: ~30 drains backed off to 50 ms, ~150 at 10 ms
      expect(fast.batches).toBeLessThan(STATEMENTS / 2);
      expect(tight.batches).toBeGreaterThan(STATEMENTS * 0.6);
      // a CPU-bound statement now: its clock comes on within a drain or two
      const t = randomTraceparent();
      await c.query(`SELECT count(*) FROM generate_series(1, 3000000) g WHERE md5(g::text) > 'f' ${t.comment}`);
      await eventually('the CPU-bound statement span', () => statementsOf(traced.receiver, t.traceId).length === 1);
      const s = statementsOf(traced.receiver, t.traceId)[0];
      expect(s.attributes[A.profileSamples]).toBeGreaterThan(50);
      expect((s.attributes[A.profileLateMs] as number | undefined) ?? 0).toBeLessThan(15);
    } finally {
      await c.end();
    }
  });
});
