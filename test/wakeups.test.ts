// Records wake the collector only when it must act on them at once: a woken
// collector on a busy machine preempts the backend whose statement woke it,
// and that request waits (~200 µs a TPC-B transaction, BENCHMARKS.md). With
// --detail statement the collector never arms a backend, so sampled
// statements never wake it: they are read by the drain timer (every 5 ms,
// backing off to 50 ms on a trickle). Observable as the ring buffer's
// batches: a wakeup per statement is a batch per statement.
import { Client } from 'pg';
import { eventually, randomTraceparent, startTraced, statementsOf, type Traced } from './helpers/collector';

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
      const records = after.records - before.records;
      const batches = after.batches - before.batches;
      expect(records).toBeGreaterThanOrEqual(2 * STATEMENTS);
      // ~1.5 s of statements: ~30 timer drains; a wakeup per statement would be ≥ 100 batches
      expect(batches).toBeLessThan(STATEMENTS / 2);
    } finally {
      await c.end();
    }
  });
});
