// Container discovery end to end: PostgreSQL in its own mount and PID
// namespace, its executable at a path that does not exist on the host, in a
// cgroup named after a container id. The collector finds it through /proc,
// attaches through /proc/<pid>/exe, and its spans carry container.id.
import * as fs from 'node:fs';
import { Client } from 'pg';
import { isPostgresServerSpan } from '../packages/collector/src/embedded/span-record';
import { eventually, startCollector, startReceiver, type CollectorProcess, type Receiver, armBackend } from './helpers/collector';
import { startContainerPostgres, type ContainerPostgres } from './helpers/container-postgres';

const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

describe('PostgreSQL in its own mount and PID namespace', () => {
  let pg: ContainerPostgres;
  let receiver: Receiver;
  let collector: CollectorProcess;

  beforeAll(async () => {
    pg = await startContainerPostgres();
    receiver = await startReceiver();
    collector = await startCollector(['--port', String(pg.port), '--root-sample-rate', '0'], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    await collector.waitFor(/attached to PostgreSQL \d+ .* with usdt probes/);
  });

  afterAll(async () => {
    await collector?.stop();
    await receiver?.close();
    await pg?.stop();
  });

  it('is found and attached through /proc/<pid>/exe although its executable is not on the host', async () => {
    expect(fs.existsSync(pg.exePath)).toBe(false);
    expect(fs.readlinkSync(`/proc/${pg.hostPid}/exe`)).toBe(pg.exePath);
    // pid 1 in its own PID namespace
    expect(fs.readFileSync(`/proc/${pg.hostPid}/status`, 'utf8')).toMatch(/^NSpid:\s+\d+\s+1$/m);
    const status = await collector.status();
    expect(status.clusters).toEqual([expect.objectContaining({ pid: pg.hostPid, port: pg.port, dataDir: pg.dataDir, binary: pg.exePath, probeSet: 'usdt', error: null })]);
  });

  it('traces a statement onto the app\'s trace, with container.id from the cgroup', async () => {
    const traceId = hex(32);
    const parent = hex(16);
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    // phase probes go into the containerized backend too, after its first sampled statement
    await armBackend((sql) => c.query(sql), collector);
    await c.query(`SELECT count(*) FROM pg_class /*traceparent='00-${traceId}-${parent}-01'*/`);
    await c.end();
    await eventually('the statement span', () => receiver.spans.some((s) => s.traceId === traceId && isPostgresServerSpan(s)));
    const span = receiver.spans.find((s) => s.traceId === traceId && isPostgresServerSpan(s))!;
    expect(span.parentSpanId).toBe(parent);
    expect(span.name).toBe('SELECT pg_class');
    expect(span.resource['container.id']).toBe(pg.containerId);
    expect(span.resource['postgresql.cluster.port']).toBe(pg.port);
    expect(span.resource['postgresql.postmaster.pid']).toBe(pg.hostPid);
    const phases = receiver.spans.filter((s) => s.parentSpanId === span.spanId).map((s) => s.name);
    expect(phases).toEqual(expect.arrayContaining(['parse', 'plan', 'execute']));
  });
});
