// A collector behind on its ring buffer (starved of CPU, or busy in a long
// batch) assembles statements after they ran, possibly after their backend
// exited and was found gone by the rescan. They must come out as they ran:
// timed if the backend had its phase probes then, with its identity.
//
// The collector runs in this process so that the test can stand still: the
// event loop is held (nothing drains the ring buffer) while a client process
// runs sampled statements on an armed backend and disconnects, then the
// rescan that finds the backend gone runs before any drain could.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Collector } from '../packages/collector/src/collector';
import { createOtlpExporter } from '../packages/collector/src/export/exporter';
import { ExportQueue } from '../packages/collector/src/export/queue';
import { A } from '../packages/collector/src/spans/attributes';
import { eventually, phasesOf, randomTraceparent, startReceiver, statementsOf, type Receiver } from './helpers/collector';
import { startPostgres, type PgCluster } from './helpers/postgres';

// connects, arms its backend with a sampled statement, prints its pid, runs
// the statements of TPS once GO exists, disconnects
const CLIENT = `
const fs = require('node:fs');
const { Client } = require('pg');
(async () => {
  const c = new Client({ connectionString: process.env.URL });
  await c.connect();
  const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  await c.query("SELECT 'arm' " + process.env.ARM);
  process.stdout.write(pid + '\\n');
  while (!fs.existsSync(process.env.GO)) await new Promise((r) => setTimeout(r, 20));
  for (const tp of JSON.parse(process.env.TPS)) await c.query('SELECT count(*) AS n FROM pg_class ' + tp);
  await c.end();
})().catch((e) => { process.stderr.write(String(e && e.stack)); process.exit(1); });
`;

describe('statements assembled after their backend is gone', () => {
  let pg: PgCluster;
  let receiver: Receiver;
  let queue: ExportQueue;
  let collector: Collector;
  const logs: string[] = [];

  beforeAll(async () => {
    pg = await startPostgres({ flavor: 'debian' });
    receiver = await startReceiver();
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    queue = new ExportQueue(createOtlpExporter('http/protobuf'), { maxQueue: 10000, maxBatch: 512, intervalMs: 100, log: (m) => logs.push(m) });
    collector = new Collector({
      queue, filter: { ports: [pg.port] }, rootSampleRate: 0, rawQueryText: false, detail: 'full', maxQueryText: 1024,
      maxOverheadPct: 100, log: (m) => logs.push(m),
    });
    collector.start();
  });

  afterAll(async () => {
    collector?.stop();
    await queue?.close();
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    await receiver?.close();
    await pg?.stop();
  });

  it('keep their phases and their backend\'s identity though the rescan found the backend gone first', async () => {
    const go = path.join(os.tmpdir(), `pgferret-late-${process.pid}-${Date.now()}`);
    const tps = Array.from({ length: 5 }, () => randomTraceparent());
    const child = spawn(process.execPath, ['-e', CLIENT], {
      cwd: __dirname,
      env: { ...process.env, URL: pg.connectionString, ARM: randomTraceparent().comment, GO: go, TPS: JSON.stringify(tps.map((t) => t.comment)) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const pid = await new Promise<number>((resolve, reject) => {
        child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
        child.once('exit', () => reject(new Error(`client exited early: ${err}`)));
      });
      await eventually('the backend to get its phase probes', () => (collector.status().backends.completePids as number[]).includes(pid));
      const failures = collector.status().backends.armFailures;

      // from here until the rescan nothing else runs in this process: the ring buffer is not drained
      fs.writeFileSync(go, '');
      const deadline = Date.now() + 30000;
      while (fs.existsSync(`/proc/${pid}`)) {
        if (Date.now() > deadline) throw new Error(`backend ${pid} still running 30 s after its client was told to disconnect: ${err}`);
      }
      collector.rescan();

      expect(await exited).toBe(0);
      await eventually('the 5 statement spans', () => tps.every((t) => statementsOf(receiver, t.traceId).length === 1));
      for (const t of tps) {
        const [s] = statementsOf(receiver, t.traceId);
        expect(s.parentSpanId).toBe(t.spanId);
        expect(s.attributes[A.phasesUntimed]).toBeUndefined();
        expect(phasesOf(receiver, s).map((p) => p.name)).toEqual(expect.arrayContaining(['parse', 'plan', 'execute']));
        expect(s.attributes[A.dbNamespace]).toBe('postgres');
        expect(s.attributes[A.backendPid]).toBe(pid);
      }
      // nothing tried to arm the backend again once it had exited
      expect(collector.status().backends.armFailures).toBe(failures);
    } finally {
      fs.rmSync(go, { force: true });
      child.kill();
    }
  });
});
