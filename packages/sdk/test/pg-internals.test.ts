// The private parts of pg the SDK relies on, checked on every pg the matrix
// installs (oldest supported, the newest pinned, and the registry's newest on
// the day setup ran) and the repository's own: this fails when a pg release
// moves one. Comments go in through the public
// Client#query (src/pg/query-hook.ts); only the session's
// standard_conforming_strings (src/pg/session.ts) reads pg's internals.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as semver from 'semver';
import { PG_RANGE, patchClient } from '../src/pg/query-hook';
import { PgPatcher } from '../src/pg/patch-module';
import { followSession, sessionStandardConformingStrings, type SessionClient } from '../src/pg/session';
import { startPostgres } from '../../../test/helpers/postgres';

const MATRIX = path.join(__dirname, 'matrix');
interface PgCopy {
  where: string;
  load(): { Client: new (config?: object) => object; version: string };
}
const copies: PgCopy[] = [
  { where: 'repository', load: () => ({ Client: require('pg').Client, version: require('pg/package.json').version }) },
  ...['pg-8.0', 'latest', 'newest'].map((fixture) => ({
    where: `matrix/${fixture}`,
    load: () => {
      const req = createRequire(path.join(MATRIX, fixture, 'package.json'));
      return { Client: req('pg').Client, version: req('pg/package.json').version };
    },
  })),
];

test('a pg outside the tested range is refused with a message that says what to use', () => {
  class Client {
    query(): void {}
  }
  expect(() => patchClient(Client, '9.0.0', new PgPatcher())).toThrow(/pg 9\.0\.0 is not supported .* use pg 8/);
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

// session.ts trusts the setting only when nothing is ahead of the next query:
// readyForQuery, the queue (_queryQueue, queryQueue before 8.12) empty and
// nothing in flight. A busy client must read as unknown, never as idle.
test.each(copies)('$where: an idle client reads as idle, a busy one (queued or in flight) as unknown', async ({ load }) => {
  const server = await startPostgres({ flavor: 'debian' });
  try {
    const { Client, version } = load();
    expect(semver.satisfies(version, PG_RANGE)).toBe(true);
    const client = new Client({ connectionString: server.connectionString }) as unknown as SessionClient & {
      connect(): Promise<void>;
      query(text: string): Promise<unknown>;
      end(): Promise<void>;
    };
    followSession(client);
    await client.connect();
    expect(sessionStandardConformingStrings(client)).toBe(true);
    const first = client.query('SELECT pg_sleep(0.2)');
    expect(sessionStandardConformingStrings(client)).toBeUndefined();
    const second = client.query('SELECT 1');
    expect(sessionStandardConformingStrings(client)).toBeUndefined();
    await Promise.all([first, second]);
    expect(sessionStandardConformingStrings(client)).toBe(true);
    await client.end();
  } finally {
    await server.stop();
  }
});

test.each(['latest', 'newest'])('%s pg, pipeline mode: a query in flight reads as unknown', async (fixture) => {
  const server = await startPostgres({ flavor: 'debian' });
  try {
    const req = createRequire(path.join(MATRIX, fixture, 'package.json'));
    const { Client } = req('pg');
    const client = new Client({ connectionString: server.connectionString, pipeline: true });
    expect(client.pipeline).toBe(true);
    followSession(client);
    await client.connect();
    expect(sessionStandardConformingStrings(client)).toBe(true);
    const running = client.query('SELECT pg_sleep(0.2)');
    expect(sessionStandardConformingStrings(client)).toBeUndefined();
    await running;
    expect(sessionStandardConformingStrings(client)).toBe(true);
    await client.end();
  } finally {
    await server.stop();
  }
});
