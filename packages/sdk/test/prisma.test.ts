// Prisma 7 through @prisma/adapter-pg: queries carry the trace with no extra
// code (the pg patch), and prismaTraceComments() plugs into Prisma's own
// `comments` option. The client is generated offline in beforeAll.
import { randomUUID } from 'node:crypto';
import type { SqlCommenterPlugin } from '@prisma/client/runtime/client';
import { PrismaPg } from '@prisma/adapter-pg';
import { startPostgres, type PgCluster } from '../../../test/helpers/postgres';
import { instrument, uninstrument, prismaTraceComments, withTags } from '../src';
import { startTracing, inSpan, traceparentOf, type Tracing } from './support/tracing';
import { generatePrismaClient } from './support/prisma-client';
import { LOG_SETTINGS, waitLogged, parseComment, commentCount } from './support/server-log';

let server: PgCluster;
let tracing: Tracing;
// the generated client's type only exists after generation
type Prisma = { pet: { create(a: object): Promise<{ id: number }>; findMany(a: object): Promise<unknown[]> }; $disconnect(): Promise<void> };
let PrismaClient: new (opts: object) => Prisma;

// compile-time check that the plugin matches Prisma's own type
const plugin: SqlCommenterPlugin = prismaTraceComments({ application: 'prisma-tests' });

beforeAll(async () => {
  ({ PrismaClient } = require(generatePrismaClient()));
  server = await startPostgres({ flavor: 'debian', settings: LOG_SETTINGS });
  const { Client } = require('pg');
  const c = new Client({ connectionString: server.connectionString });
  await c.connect();
  await c.query('CREATE TABLE "Pet" (id serial PRIMARY KEY, name text NOT NULL)');
  await c.end();
  tracing = startTracing();
  instrument({ application: 'prisma-tests' });
});

afterAll(async () => {
  uninstrument();
  await tracing?.shutdown();
  await server?.stop();
});

const marker = () => `m_${randomUUID().replace(/-/g, '')}`;

test('adapter-pg queries carry the active span with no extra code', async () => {
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: server.connectionString }) });
  try {
    const span = await inSpan(tracing.tracer, 'req', async (s) => {
      await prisma.pet.create({ data: { name: 'rex' } });
      expect(await prisma.pet.findMany({ where: { name: 'rex' } })).toHaveLength(1);
      return s;
    });
    const inserts = await waitLogged(server, 'INSERT INTO "public"."Pet"');
    const selects = await waitLogged(server, 'FROM "public"."Pet" WHERE');
    for (const stmt of [inserts.at(-1)!, selects.at(-1)!]) {
      expect(parseComment(stmt)).toMatchObject({ traceparent: traceparentOf(span), application: 'prisma-tests' });
    }
  } finally {
    await prisma.$disconnect();
  }
});

test("prismaTraceComments() in Prisma's comments option", async () => {
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: server.connectionString }), comments: [plugin] });
  try {
    const name = marker();
    const hostile = "*/ '\uD800\n" + 'z'.repeat(2000);
    const span = await inSpan(tracing.tracer, 'req', (s) =>
      withTags({ route: '/pets', controller: hostile }, async () => {
        await prisma.pet.create({ data: { name } });
        return s;
      }),
    );
    const [stmt] = (await waitLogged(server, 'INSERT INTO "public"."Pet"', 2)).slice(-1);
    expect(commentCount(stmt)).toBe(1);
    const tags = parseComment(stmt);
    expect(tags).toMatchObject({ traceparent: traceparentOf(span), application: 'prisma-tests', route: '/pets', db_driver: 'prisma' });
    expect(tags?.controller.startsWith("*/ '\uFFFD\nzz")).toBe(true);
  } finally {
    await prisma.$disconnect();
  }
});
