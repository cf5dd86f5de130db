// The collector says, once per change, what it is doing: nothing matches its
// filter; attached; the cluster stopped; export failing since …; recovered.
// Real collector process, real clusters, a real OTLP receiver that is down
// and then up. Filters keep other sessions' clusters out.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { eventually, startCollector, startReceiver, type CollectorProcess } from './helpers/collector';
import { freePort, startPostgres } from './helpers/postgres';

const count = (text: string, re: RegExp) => (text.match(new RegExp(re.source, 'g')) ?? []).length;
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');

describe('collector state changes are logged once each', () => {
  let collector: CollectorProcess | undefined;
  const stores: string[] = [];
  afterEach(async () => {
    await collector?.stop();
    collector = undefined;
    for (const d of stores.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('no cluster matches the filter → attached → stopped → no cluster matches again', async () => {
    // another cluster runs, which the filter leaves out (a machine may have none otherwise)
    const other = await startPostgres({ flavor: 'debian' });
    try {
      const port = await freePort();
      const store = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-states-'));
      stores.push(store);
      collector = await startCollector(['--port', String(port), '--root-sample-rate', '0', '--otlp-port', '0', '--ui-port', '0', '--state-dir', store]);
      const noMatch = new RegExp(`no running PostgreSQL cluster matches --port ${port} \\(running: .*\\): waiting for one that does`);
      await collector.waitFor(noMatch);
      expect(collector.output()).toMatch(new RegExp(`running: .*port ${other.port}`));
      // three more scans (every 2 s) say nothing new; other suites' clusters starting or stopping meanwhile change
      // the "running" list, which is news: a line per change, never the same line twice in a row
      await new Promise((r) => setTimeout(r, 6500));
      const noMatchLines = (out: string) => out.split('\n').filter((l) => noMatch.test(l));
      const repeated = (lines: string[]) => lines.filter((l, i) => i > 0 && l === lines[i - 1]);
      expect(noMatchLines(collector.output()).length).toBeGreaterThanOrEqual(1);
      expect(repeated(noMatchLines(collector.output()))).toEqual([]);

      const pg = await startPostgres({ flavor: 'debian', port });
      try {
        await collector.waitFor(new RegExp(`attached to PostgreSQL 1\\d \\(pid ${pg.pid}, port ${port}, `));
      } finally {
        await pg.stop();
      }
      const stopped = new RegExp(`PostgreSQL pid ${pg.pid} .* stopped`);
      await collector.waitFor(stopped);
      const afterStop = () => collector!.output().slice(collector!.output().search(stopped));
      await eventually('"no cluster matches" again after the stop', () => count(afterStop(), noMatch) >= 1);
      expect(repeated(noMatchLines(afterStop()))).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  it('export failing since … once while the endpoint is down, then export recovered', async () => {
    const pg = await startPostgres({ flavor: 'debian' });
    const otlpPort = await freePort();
    let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
    try {
      collector = await startCollector(['--port', String(pg.port), '--root-sample-rate', '0'], {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`,
        OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
      });
      await collector.waitFor(/attached to PostgreSQL/);
      const traced = async (n: number) => {
        const c = new Client({ connectionString: pg.connectionString });
        await c.connect();
        const traceId = hex(32);
        for (let i = 0; i < n; i++) await c.query(`SELECT ${i} /*traceparent='00-${traceId}-${hex(16)}-01'*/`);
        await c.end();
        return traceId;
      };
      // two batches a few seconds apart, both failing: one message
      await traced(5);
      await collector.waitFor(/export failing since \d{4}-\d\d-\d\dT[\d:.]+Z: .*dropped and counted/, 30000);
      await traced(5);
      await eventually('the second failed export', async () => (await collector!.status()).export.exportFailures >= 2, 30000);
      expect(count(collector.output(), /export failing since/)).toBe(1);

      receiver = await startReceiver(otlpPort);
      const traceId = await traced(1);
      await collector.waitFor(/export recovered after [\d.]+ s of failures; \d+ spans were dropped meanwhile/, 30000);
      await eventually('the statement after recovery', () => receiver!.spans.some((s) => s.traceId === traceId));
      expect(count(collector.output(), /export recovered/)).toBe(1);
    } finally {
      await receiver?.close();
      await pg.stop();
    }
  });
});
