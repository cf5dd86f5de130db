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

/** a collector with these arguments on Debian's PostgreSQL for the enclosing describe */
function tracedWith(args: string[]): () => Traced {
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
    // ~1.5 s of statements: ~30 timer drains; a wakeup per statement would be ≥ 100 batches
    expect(batches).toBeLessThan(STATEMENTS / 2);
  }));
});

describe('wakeups with a CPU profile', () => {
  const traced = tracedWith(['--root-sample-rate', '0']);

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
    // ~1.5 s: ~30 drains backed off to 50 ms, ~150 at 10 ms
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
