// The one private part of pg the SDK relies on (src/pg/queue-hook.ts):
// client.query() pushes the query onto the client's queue and then calls
// this._pulseQueryQueue(), synchronously, with that query last on the queue.
// Checked on every pg the matrix installs (oldest supported and latest) and
// the repository's own; this fails when a pg release moves it.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as semver from 'semver';
import { PG_RANGE, patchClient } from '../src/pg/queue-hook';

const MATRIX = path.join(__dirname, 'matrix');
interface PgCopy {
  where: string;
  load(): { Client: new (config?: object) => object; version: string };
}
const copies: PgCopy[] = [
  { where: 'repository', load: () => ({ Client: require('pg').Client, version: require('pg/package.json').version }) },
  ...['pg-8.0', 'latest'].map((fixture) => ({
    where: `matrix/${fixture}`,
    load: () => {
      const req = createRequire(path.join(MATRIX, fixture, 'package.json'));
      return { Client: req('pg').Client, version: req('pg/package.json').version };
    },
  })),
];

test.each(copies)('$where: query() queues the query, then pulses the queue synchronously', ({ load }) => {
  const { Client, version } = load();
  expect(semver.satisfies(version, PG_RANGE)).toBe(true);
  const seen: unknown[] = [];
  class Probe extends (Client as new (config?: object) => { _pulseQueryQueue(): void }) {
    override _pulseQueryQueue(): void {
      const self = this as unknown as { _queryQueue?: unknown[]; queryQueue?: unknown[] };
      const queue = self._queryQueue ?? self.queryQueue ?? [];
      seen.push((queue[queue.length - 1] as { text?: unknown } | undefined)?.text);
      super._pulseQueryQueue();
    }
  }
  // never connected: the query stays queued, nothing is sent
  const client = new Probe() as unknown as { query(text: string): Promise<unknown> };
  void client.query('SELECT 1').catch(() => undefined);
  expect(seen).toEqual(['SELECT 1']);
});

test('a pg outside the tested range is refused with a message that says what to use', () => {
  class Client {
    _pulseQueryQueue(): void {}
  }
  expect(() => patchClient(Client, '9.0.0')).toThrow(/pg 9\.0\.0 is not supported .* use pg 8/);
});
