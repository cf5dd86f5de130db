// The one private part of pg the SDK relies on (src/pg/queue-hook.ts):
// client.query() pushes the query onto the client's queue and then calls
// this._pulseQueryQueue(), synchronously, with that query last on the queue.
// Checked on every pg the matrix installs (oldest supported and latest) and
// the repository's own; this fails when a pg release moves it.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as semver from 'semver';
import { PG_RANGE, patchClient } from '../src/pg/queue-hook';
import { startPostgres } from '../../../test/helpers/postgres';

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

// src/pg/session.ts: the session's standard_conforming_strings comes from the
// 'parameterStatus' events of client.connection (parameterName /
// parameterValue), and is trusted only when readyForQuery is true and the
// query is alone on the queue. Checked against a real server on every pg the
// matrix installs.
test.each(copies)('$where: the connection emits ParameterStatus as parameterStatus events; an idle client is readyForQuery', async ({ load }) => {
  const server = await startPostgres({ flavor: 'debian' });
  try {
    const { Client } = load();
    const client = new Client({ connectionString: server.connectionString }) as unknown as {
      connection: { on(event: string, fn: (msg: { parameterName: string; parameterValue: string }) => void): void };
      connect(): Promise<void>;
      query(text: string): Promise<unknown>;
      end(): Promise<void>;
      readyForQuery: unknown;
    };
    const seen: string[] = [];
    client.connection.on('parameterStatus', (msg) => {
      if (msg.parameterName === 'standard_conforming_strings') seen.push(msg.parameterValue);
    });
    await client.connect();
    await client.query('SET standard_conforming_strings = off');
    expect(seen).toEqual(['on', 'off']);
    expect(client.readyForQuery).toBe(true);
    await client.end();
  } finally {
    await server.stop();
  }
});
