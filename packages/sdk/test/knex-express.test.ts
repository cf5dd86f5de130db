// knex (query builder and raw) and the Express middleware, over real HTTP
// and a real server: route/controller/action/framework arrive with the trace.
import knexFactory, { type Knex } from 'knex';
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { startPostgres, type PgCluster } from '../../../test/helpers/postgres';
import { instrument, uninstrument, pgferretExpress, withTags } from '../src';
import { startTracing, inSpan, traceparentOf, type Tracing } from './support/tracing';
import { LOG_SETTINGS, waitLogged, parseComment } from './support/server-log';

let server: PgCluster;
let tracing: Tracing;
let knex: Knex;

beforeAll(async () => {
  server = await startPostgres({ flavor: 'debian', settings: LOG_SETTINGS });
  tracing = startTracing();
  instrument();
  knex = knexFactory({ client: 'pg', connection: server.connectionString, pool: { min: 0, max: 4 } });
  await knex.schema.createTable('pets', (t) => {
    t.increments('id');
    t.string('name');
  });
});

afterAll(async () => {
  uninstrument();
  await knex?.destroy();
  await tracing?.shutdown();
  await server?.stop();
});

const marker = () => `m_${randomUUID().replace(/-/g, '')}`;

test('knex query builder and raw carry the active span', async () => {
  const m = marker();
  const span = await inSpan(tracing.tracer, 'req', async (s) => {
    await knex('pets').insert({ name: m });
    const rows = await knex('pets').where({ name: m }).select('id', 'name');
    expect(rows).toHaveLength(1);
    const raw = await knex.raw('SELECT ?::text AS v', [m]);
    expect(raw.rows).toEqual([{ v: m }]);
    return s;
  });
  const insert = await waitLogged(server, 'insert into "pets"');
  const select = await waitLogged(server, 'select "id", "name" from "pets"');
  const raw = await waitLogged(server, 'SELECT $1::text AS v');
  for (const stmt of [insert.at(-1)!, select.at(-1)!, raw.at(-1)!]) {
    expect(parseComment(stmt)?.traceparent).toBe(traceparentOf(span));
  }
});

test('knex transactions keep the context of their caller', async () => {
  const m = marker();
  const span = await inSpan(tracing.tracer, 'req', (s) =>
    knex.transaction(async (trx) => {
      await trx('pets').insert({ name: m });
      await trx.raw(`SELECT '${m}'`);
      return s;
    }),
  );
  const [stmt] = await waitLogged(server, `SELECT '${m}'`);
  expect(parseComment(stmt)?.traceparent).toBe(traceparentOf(span));
});

describe('pgferretExpress()', () => {
  let http: Server;
  let base: string;
  const spans = new Map<string, string>();

  beforeAll(async () => {
    const app = express();
    app.use(pgferretExpress({ controller: (req) => (req.baseUrl ? 'pets' : undefined) }));
    const router = express.Router();
    router.get('/:name', async function showPet(req, res) {
      await inSpan(tracing.tracer, 'GET /pets/:name', async (span) => {
        spans.set(req.params.name, traceparentOf(span));
        // the marker goes into the text (not a parameter) so the server log shows it
        const rows = await knex('pets').whereRaw(`name = '${req.params.name}'`).select('id');
        res.json(rows);
      });
    });
    app.use('/pets', router);
    app.get('/health/:probe', async (req, res) => {
      // knex builders run when awaited: await inside the scope
      await withTags({ action: 'probe' }, async () => await knex.raw(`SELECT '${req.params.probe}' AS ok`));
      res.send('ok');
    });
    await new Promise<void>((resolve) => {
      http = app.listen(0, '127.0.0.1', () => resolve());
    });
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => http.close(r));
  });

  test('route, controller, action and framework come from the matched route', async () => {
    const names = Array.from({ length: 20 }, () => marker());
    await Promise.all(names.map((n) => fetch(`${base}/pets/${n}`).then((r) => r.json())));
    for (const n of names) {
      const [stmt] = await waitLogged(server, n);
      expect(parseComment(stmt)).toEqual({
        traceparent: spans.get(n),
        route: '/pets/:name',
        controller: 'pets',
        action: 'showPet',
        framework: 'express',
        db_driver: expect.stringMatching(/^pg:8\./),
      });
    }
  });

  test('withTags inside a handler overrides the action; anonymous handlers have none', async () => {
    const probe = marker();
    expect(await (await fetch(`${base}/health/${probe}`)).text()).toBe('ok');
    const [stmt] = await waitLogged(server, probe);
    expect(parseComment(stmt)).toMatchObject({ route: '/health/:probe', action: 'probe', framework: 'express' });
  });
});
