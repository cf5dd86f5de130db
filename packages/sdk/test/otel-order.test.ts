// With @opentelemetry/instrumentation-pg active, the traceparent must name its
// pg client span (not the parent), whichever of the two patched pg first.
// Runs the app side in plain node so the real require hooks are used.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { startPostgres, type PgCluster } from '../../../test/helpers/postgres';
import { LOG_SETTINGS, waitLogged, parseComment, commentCount } from './support/server-log';

const ROOT = path.resolve(__dirname, '../../..');
let server: PgCluster;

beforeAll(async () => {
  execFileSync('npx', ['tsc', '-b', 'packages/sdk'], { cwd: ROOT, stdio: 'inherit' });
  server = await startPostgres({ flavor: 'debian', settings: LOG_SETTINGS });
});

afterAll(async () => {
  await server?.stop();
});

interface CaseResult {
  marker: string;
  traceId: string;
  parentSpanId: string;
  pgSpanIds: string[];
}

test.each(['pg-first', 'sdk-first', 'instrument-before', 'instrument-after'])(
  'registration order %s: every query names its own pg span',
  async (order) => {
    const prefix = `o_${order.replace(/-/g, '_')}`;
    const stdout = execFileSync(process.execPath, [path.join(__dirname, 'fixtures', 'otel-order.js'), order, server.connectionString, prefix], {
      encoding: 'utf8',
    });
    const results = JSON.parse(stdout) as Record<string, CaseResult>;
    expect(Object.keys(results).sort()).toEqual(['callback', 'config', 'cursor', 'pool', 'stream', 'string']);
    for (const [name, r] of Object.entries(results)) {
      const [stmt] = await waitLogged(server, `'${r.marker}'`);
      expect([name, commentCount(stmt)]).toEqual([name, 1]);
      if (name === 'cursor' || name === 'stream') {
        // instrumentation-pg never ends its span for a submittable without a
        // callback, so the comment names the (exported) parent instead
        expect([name, r.pgSpanIds]).toEqual([name, []]);
        expect([name, parseComment(stmt)?.traceparent]).toEqual([name, `00-${r.traceId}-${r.parentSpanId}-01`]);
      } else {
        expect([name, r.pgSpanIds.length]).toEqual([name, 1]);
        expect([name, parseComment(stmt)?.traceparent]).toEqual([name, `00-${r.traceId}-${r.pgSpanIds[0]}-01`]);
      }
    }
  },
);
