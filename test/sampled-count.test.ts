// The scheduler hook (on_switch) runs at every context switch on the host. It
// looks backends up only while the kernel counts one with a sampled request
// cycle open (`sampled_backends`, in status as sampledBackends); at 1 %
// sampling that count is 0 most of the time and the hook costs one array read.
// The count must rise while a sampled statement runs (whose waits the hook
// still records) and come back to 0 when its cycle ends — also when its
// backend exits in the middle of one.
import { Client } from 'pg';
import { armBackend, eventually, randomTraceparent, startTraced, statementsOf, type Traced } from './helpers/collector';

describe('the count of backends inside sampled cycles (the scheduler hook looks up no one while it is 0)', () => {
  let traced: Traced;
  beforeAll(async () => {
    traced = await startTraced('debian', ['--root-sample-rate', '0']);
  });
  afterAll(() => traced?.stop());

  const count = async () => (await traced.collector.status()).sampledBackends;

  it('is 1 while a sampled statement runs, which still gets its wait, and 0 once it ended or while nothing is sampled', async () => {
    const c = new Client({ connectionString: traced.pg.connectionString });
    await c.connect();
    try {
      await armBackend((sql) => c.query(sql), traced.collector);
      await eventually('no sampled cycle open', async () => (await count()) === 0);
      const tp = randomTraceparent();
      const running = c.query(`SELECT pg_sleep(1.5) ${tp.comment}`);
      await eventually('the count at 1 while it sleeps', async () => (await count()) === 1, 1400);
      await running;
      await eventually('the count back at 0', async () => (await count()) === 0, 5000);
      await eventually('the statement span', () => statementsOf(traced.receiver, tp.traceId).length === 1);
      const [stmt] = statementsOf(traced.receiver, tp.traceId);
      const waits = traced.receiver.spans.filter((s) => s.traceId === tp.traceId && s.name === 'wait Timeout:PgSleep');
      expect(waits.length).toBeGreaterThanOrEqual(1);
      expect(waits.reduce((ns, w) => ns + (w.endNs - w.startNs), 0n)).toBeGreaterThan(1_000_000_000n);
      expect(waits.every((w) => w.startNs >= stmt.startNs && w.endNs <= stmt.endNs)).toBe(true);
      // statements whose context says "not sampled" open no sampled cycle
      for (let i = 0; i < 20; i++) await c.query(`SELECT ${i} /*traceparent='00-${tp.traceId}-${'1'.repeat(16)}-00'*/`);
      expect(await count()).toBe(0);
    } finally {
      await c.end();
    }
  });

  it('comes back to 0 when a backend exits inside a sampled cycle', async () => {
    const victim = new Client({ connectionString: traced.pg.connectionString });
    victim.on('error', () => {});
    await victim.connect();
    const admin = new Client({ connectionString: traced.pg.connectionString });
    await admin.connect();
    try {
      const pid = (await victim.query('SELECT pg_backend_pid() AS p')).rows[0].p as number;
      const tp = randomTraceparent();
      const running = victim.query(`SELECT pg_sleep(30) ${tp.comment}`).catch((e: Error) => e);
      await eventually('the count at 1', async () => (await count()) === 1, 5000);
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      expect(await running).toBeInstanceOf(Error);
      await eventually('the count back at 0 after the exit', async () => (await count()) === 0, 5000);
    } finally {
      await admin.end();
      await victim.end().catch(() => {});
    }
  });
});
