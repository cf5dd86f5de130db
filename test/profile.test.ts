// The per-statement CPU profile, for real: a hash join and a regex over
// generated tables, traced through the collector on Debian's PostgreSQL;
// their spans name the executor functions the time went to. Backends that
// carry no sampled statement are never sampled; armed ones only while they
// run a sampled statement (their clock is off in between).
import { Client } from 'pg';
import { A } from '../packages/collector/src/spans/attributes';
import { isPostgresServerSpan, type SpanRecord } from '../packages/collector/src/embedded/span-record';
import { spawnSync } from 'node:child_process';
import { armBackend, CLI, eventually, randomTraceparent, statementsOf, type CollectorProcess, type Receiver, startTraced, type Traced } from './helpers/collector';

const HZ = 997;

describe('CPU profile of sampled statements (Debian PostgreSQL 15)', () => {
  let traced: Traced;
  let receiver: Receiver;
  let collector: CollectorProcess;
  let a: Client;
  let c: Client;

  const statementOf = async (traceId: string): Promise<SpanRecord> => {
    await eventually(`the statement span of trace ${traceId}`, () => receiver.spans.some((s) => s.traceId === traceId && isPostgresServerSpan(s)));
    return receiver.spans.find((s) => s.traceId === traceId && isPostgresServerSpan(s))!;
  };
  const traced1 = async (client: Client, sql: string) => {
    const t = randomTraceparent();
    await client.query(`${sql} ${t.comment}`);
    return statementOf(t.traceId);
  };
  const folded = (span: SpanRecord) => {
    const e = span.events.find((x) => x.name === 'pgferret.profile');
    expect(e).toBeDefined();
    return String(e!.attributes[A.profileFolded]).split('\n').map((l) => {
      const at = l.lastIndexOf(' ');
      return { frames: l.slice(0, at).split(';'), count: Number(l.slice(at + 1)) };
    });
  };
  /** share of the span's samples with one of `fns` on the stack */
  const shareIn = (span: SpanRecord, fns: string[]) => {
    const stacks = folded(span);
    const total = stacks.reduce((n, s) => n + s.count, 0);
    expect(total).toBe(span.attributes[A.profileSamples]);
    return stacks.filter((s) => s.frames.some((f) => fns.includes(f))).reduce((n, s) => n + s.count, 0) / total;
  };
  const kernel = async () => (await collector.status()).kernel as Record<string, number>;

  beforeAll(async () => {
    traced = await startTraced('debian', ['--root-sample-rate', '0', '--profile-hz', String(HZ)], { max_parallel_workers_per_gather: 0, jit: 'off' });
    ({ receiver, collector } = traced);
    a = new Client({ connectionString: traced.pg.connectionString });
    c = new Client({ connectionString: traced.pg.connectionString });
    await a.connect();
    await c.connect();
    await a.query(`CREATE TABLE orders AS SELECT g AS id, g % 5000 AS customer FROM generate_series(1, 600000) g;
      CREATE TABLE customers AS SELECT g AS id, md5(g::text) AS name FROM generate_series(1, 400000) g;
      CREATE TABLE words AS SELECT md5(g::text) AS w FROM generate_series(1, 1000000) g;
      ANALYZE orders; ANALYZE customers; ANALYZE words;
      SET enable_mergejoin = off; SET enable_nestloop = off; SET work_mem = '256MB'`);
    // CREATE TABLE AS writes through a small ring of buffers: the join's first run would spend a third of
    // its time reading the tables into shared buffers (both fit), a Seq Scan in pread64, not the join
    await a.query('SELECT count(*), max(c.name) FROM orders o JOIN customers c ON c.id = o.id');
    await armBackend((sql) => a.query(sql), collector);
    // the clock is attached a moment after the phase probes: measured statements start on an idle collector
    await eventually('the backend\'s CPU clock', async () => (await collector.status()).profile.clocks >= 1);
    // a slow sampled statement: the collector now drains the ring often enough for a profile to start with its statement
    await traced1(a, 'SELECT count(*), max(c.name) FROM orders o JOIN customers c ON c.id = o.id');
  }, 180_000);

  afterAll(async () => {
    await a?.end();
    await c?.end();
    await traced?.stop();
  });

  test('a hash join: the span names Hash Join and its functions, with at least half of the samples in them', async () => {
    const span = await traced1(a, 'SELECT count(*), max(c.name) FROM orders o JOIN customers c ON c.id = o.id');
    const samples = span.attributes[A.profileSamples] as number;
    const durMs = Number(span.endNs - span.startNs) / 1e6;
    console.log(`hash join: ${durMs.toFixed(0)} ms, ${(span.attributes[A.cpuOnMs] as number).toFixed(0)} ms on CPU, clock ${span.attributes[A.profileLateMs] ?? 0} ms late, ${samples} samples; ${span.attributes[A.profileSummary]}\n` +
      `self: ${JSON.stringify(span.attributes[A.profileTopSelf])} ${JSON.stringify(span.attributes[A.profileTopSelfSamples])}\n` +
      `inclusive: ${JSON.stringify(span.attributes[A.profileTopInclusive])} ${JSON.stringify(span.attributes[A.profileTopInclusiveSamples])}\n` +
      `nodes: ${JSON.stringify(span.attributes[A.profileNodes])} ${JSON.stringify(span.attributes[A.profileNodeSamples])}\n` +
      folded(span).slice(0, 8).map((s) => `${s.count} ${s.frames.slice(-6).join(';')}`).join('\n'));
    // how deep the frame-pointer walk goes (frames per sample, runs of unnamed frames counted once)
    const depths = folded(span).flatMap((st) => Array<number>(st.count).fill(st.frames.length)).sort((x, y) => x - y);
    console.log(`hash join stack depth: min ${depths[0]}, median ${depths[depths.length >> 1]}, max ${depths[depths.length - 1]}; ` +
      `walks that reach main: ${folded(span).filter((st) => st.frames[0] === '[libc.so.6]' && st.frames[1] === 'main').reduce((n, st) => n + st.count, 0)} of ${samples}`);
    expect(span.attributes[A.profileHz]).toBe(HZ);
    expect(samples).toBeGreaterThan(50);
    // status says the clocks run (the CLI's words)
    const printed = spawnSync(process.execPath, [CLI, 'status', '--state-dir', collector.stateDir], { encoding: 'utf8' });
    expect(printed.stdout).toMatch(new RegExp(`^CPU profile: ${HZ} Hz, [1-9]\\d* backends with a clock, [1-9]\\d* samples sent`, 'm'));
    // Debian's build keeps frame pointers: nearly every walk reaches PostgresMain
    expect(span.attributes[A.profileWholeStacks]).toBeGreaterThanOrEqual(0.9 * samples);
    // while a backend has a clock and statements were slow lately, the ring is drained every 10 ms at
    // least (not 50 at this trickle): the clock came on that soon after the statement began
    const lateMs = (span.attributes[A.profileLateMs] as number | undefined) ?? 0;
    expect(lateMs).toBeLessThan(15);
    // samples count CPU time: they agree with the on-CPU time sched_switch measured since the clock came on
    const onCpuMs = span.attributes[A.cpuOnMs] as number;
    expect(Math.abs((1000 * samples) / HZ - (onCpuMs - lateMs)) / (onCpuMs - lateMs)).toBeLessThan(0.1);
    const joinFns = ['ExecScanHashBucket', 'MultiExecHash', 'ExecHashTableInsert', 'ExecHashGetHashValue', 'ExecHashJoinOuterGetTuple'];
    expect(shareIn(span, joinFns)).toBeGreaterThanOrEqual(0.5);
    expect(span.attributes[A.profileNodes]).toEqual(expect.arrayContaining(['Hash Join', 'Hash', 'Seq Scan']));
    expect(span.attributes[A.profileTopInclusive]).toEqual(expect.arrayContaining(['ExecScanHashBucket', 'MultiExecHash']));
    // the frames every statement has (main, PostgresMain, PortalRun…) are not among the top
    expect(span.attributes[A.profileTopInclusive]).not.toContain('PostgresMain');
    expect(span.attributes[A.profileSummary]).toMatch(/^\d+ % in (Hash Join|Hash) \((ExecScanHashBucket|ExecHashTableInsert)\)$/);
  });

  test('a collector busy when a statement begins switches the clock on late: the span says how late, and the samples cover the rest', async () => {
    const t = randomTraceparent();
    // stopped, the collector reads nothing: the clock comes on when it runs again
    process.kill(collector.child.pid!, 'SIGSTOP');
    const resumed = new Promise<void>((r) => setTimeout(() => { process.kill(collector.child.pid!, 'SIGCONT'); r(); }, 60));
    try {
      await a.query(`SELECT count(*), max(c.name) FROM orders o JOIN customers c ON c.id = o.id ${t.comment}`);
    } finally {
      await resumed;
    }
    const span = await statementOf(t.traceId);
    const lateMs = span.attributes[A.profileLateMs] as number;
    const onCpuMs = span.attributes[A.cpuOnMs] as number;
    const samples = span.attributes[A.profileSamples] as number;
    console.log(`late clock: ${lateMs} ms late, ${onCpuMs.toFixed(0)} ms on CPU, ${samples} samples`);
    expect(lateMs).toBeGreaterThanOrEqual(50);
    expect(lateMs).toBeLessThan(onCpuMs);
    // the statement runs on CPU throughout: the samples count the part after the clock came on
    expect(Math.abs((1000 * samples) / HZ - (onCpuMs - lateMs)) / (onCpuMs - lateMs)).toBeLessThan(0.2);
  });

  test('a regex over 1M rows: the regex engine under textregexeq has at least half of the samples', async () => {
    const span = await traced1(a, `SELECT count(*) FROM words WHERE w ~ '^[0-9a-f]*(ab|cd)[0-9]+e{2}.*f$'`);
    const samples = span.attributes[A.profileSamples] as number;
    console.log(`regex: ${samples} samples; ${span.attributes[A.profileSummary]}\n` +
      `self: ${JSON.stringify(span.attributes[A.profileTopSelf])} ${JSON.stringify(span.attributes[A.profileTopSelfSamples])}\n` +
      `inclusive: ${JSON.stringify(span.attributes[A.profileTopInclusive])} ${JSON.stringify(span.attributes[A.profileTopInclusiveSamples])}\n` +
      folded(span).slice(0, 5).map((s) => `${s.count} ${s.frames.slice(-6).join(';')}`).join('\n'));
    expect(samples).toBeGreaterThan(50);
    expect(shareIn(span, ['textregexeq'])).toBeGreaterThanOrEqual(0.5);
    expect(shareIn(span, ['pg_regexec'])).toBeGreaterThanOrEqual(0.5);
    // ExecScan runs the filter; the profile's only scan is a Seq Scan, so the time is the Seq Scan's
    expect(span.attributes[A.profileSummary]).toMatch(/^\d+ % in Seq Scan \(pg_regexec\)$/);
    expect(parseInt(String(span.attributes[A.profileSummary]), 10)).toBeGreaterThanOrEqual(50);
  });

  test('OTLP: a profile over the span event\'s bound sends its heaviest stacks in 16 KiB and says it left the rest out', async () => {
    // nested PL/pgSQL calls: stacks of ~100 frames, many different leaves
    await a.query(`CREATE OR REPLACE FUNCTION deep(n int) RETURNS bigint LANGUAGE plpgsql AS $$
      BEGIN
        IF n = 0 THEN RETURN (SELECT count(*) FROM words WHERE md5(w) > w AND w ~ '[0-9]{3}'); END IF;
        RETURN deep(n - 1);
      END $$`);
    const span = await traced1(a, 'SELECT deep(6)');
    const e = span.events.find((x) => x.name === 'pgferret.profile')!;
    const text = String(e.attributes[A.profileFolded]);
    const stacks = folded(span);
    const sent = stacks.reduce((n, st) => n + st.count, 0);
    console.log(`deep: ${span.attributes[A.profileSamples]} samples, ${stacks.length} stacks sent in ${Buffer.byteLength(text)} bytes, ${sent} samples of them`);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(16 * 1024);
    expect(e.attributes[A.profileTruncated]).toBe(true);
    expect(sent).toBeLessThan(span.attributes[A.profileSamples] as number);
    // heaviest first
    expect(stacks.map((st) => st.count)).toEqual([...stacks.map((st) => st.count)].sort((x, y) => y - x));
  });

  test('no samples from a backend with no sampled statement; an armed one\'s clock is off outside its sampled statements', async () => {
    const before = await kernel();
    // c never carried a sampled statement: no clock on it at all
    await c.query(`SELECT count(*) FROM words WHERE w ~ '^[0-9a-f]*(ab|cd)[0-9]+e{2}.*f$'`);
    const afterC = await kernel();
    expect(afterC.samples).toBe(before.samples);
    expect(afterC.samples_idle).toBe(before.samples_idle);
    // a is armed, but its clock runs only inside sampled request cycles: off through an unsampled statement
    // of ~1 s of CPU (at most a tick or two in the few ms between a cycle's end and the switch)
    const spans = receiver.spans.length;
    await a.query(`SELECT count(*) FROM words WHERE w ~ '^[0-9a-f]*(ab|cd)[0-9]+e{2}.*f$'`);
    const afterA = await kernel();
    expect(afterA.samples).toBe(before.samples);
    expect(afterA.samples_idle - afterC.samples_idle).toBeLessThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.spans.length).toBe(spans);
  });
});

describe('the overhead budget pays for the profile: over --max-overhead, its rate goes down', () => {
  let traced: Traced;
  let client: Client;
  beforeAll(async () => {
    // 0.05 %: a hash join's ticks alone (~1 per ms of CPU, PROFILE_TICK_NS each: ~0.25 %) are over it
    traced = await startTraced('debian', ['--root-sample-rate', '0', '--profile-hz', String(HZ), '--max-overhead', '0.05'], { max_parallel_workers_per_gather: 0, jit: 'off', enable_mergejoin: 'off', enable_nestloop: 'off', work_mem: '256MB' });
    client = new Client({ connectionString: traced.pg.connectionString });
    await client.connect();
    await client.query(`CREATE TABLE orders AS SELECT g AS id, g % 5000 AS customer FROM generate_series(1, 400000) g;
      CREATE TABLE customers AS SELECT g AS id, md5(g::text) AS name FROM generate_series(1, 300000) g;
      ANALYZE orders; ANALYZE customers`);
  }, 180_000);
  afterAll(async () => {
    await client?.end();
    await traced?.stop();
  });

  test('the ticks are counted in the budget\'s account, the clocks slow down, and spans carry the rate they were sampled at', async () => {
    const join = async () => {
      const t = randomTraceparent();
      await client.query(`SELECT count(*), max(c.name) FROM orders o JOIN customers c ON c.id = o.id ${t.comment}`);
      await eventually('the statement span', () => statementsOf(traced.receiver, t.traceId).length === 1);
      return statementsOf(traced.receiver, t.traceId)[0];
    };
    await join();
    await eventually('the budget to lower the profile\'s rate', async () => {
      await join();
      const s = await traced.collector.status();
      return s.budget.profileDivisor > 1 && s.profile.hz < HZ;
    }, 60_000);
    const before = await traced.collector.status();
    expect(before.budget.profileCostMs).toBeGreaterThan(0);
    expect(before.profile.hz).toBe(Math.round(HZ / before.budget.profileDivisor));
    // a statement sampled at the lowered rate says so, and has about that many samples per second of its time
    let span = await join();
    const after = await traced.collector.status();
    if (after.profile.hz !== before.profile.hz) span = await join();
    const hz = span.attributes[A.profileHz] as number;
    expect(hz).toBeLessThan(HZ);
    const samples = (span.attributes[A.profileSamples] as number | undefined) ?? 0;
    const durMs = Number(span.endNs - span.startNs) / 1e6;
    expect(samples).toBeLessThanOrEqual(Math.ceil((durMs * hz) / 1000 * 1.3) + 2);
    console.log(`budget: profile at ${hz} Hz (1/${after.budget.profileDivisor}), ${samples} samples in ${durMs.toFixed(0)} ms; profile ticks cost ${after.budget.profileCostMs.toFixed(2)} ms of ${after.budget.probeCostMs.toFixed(2)} ms probe cost, ${after.budget.recentPct.toFixed(3)} % recently`);
  });
});
