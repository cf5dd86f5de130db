// Property: whatever the tag keys and values, a commented query returns
// exactly what the uncommented one returns on a real server, and the comment
// stays one comment at the end of the text.
import fc from 'fast-check';
import * as pg from 'pg';
import { startPostgres, type PgCluster } from '../../../test/helpers/postgres';
import { addComment, instrument, uninstrument, withTags, withoutComment } from '../src';
import { scanSql } from '@pgferret/sql';

let server: PgCluster;
let client: pg.Client;

beforeAll(async () => {
  server = await startPostgres({ flavor: 'debian' });
  client = new pg.Client({ connectionString: server.connectionString });
  await client.connect();
  instrument();
});

afterAll(async () => {
  uninstrument();
  await client?.end();
  await server?.stop();
});

// queries whose literals look like comments, quotes or dollar quotes
const QUERIES = [
  "SELECT '--' AS a, '/*' AS b, 1 AS n",
  "SELECT E'\\'*/' AS a, $$ -- $$ AS b;",
  'SELECT $tag$ /* $$ */ $tag$ AS a, "n" FROM (SELECT 2 AS n) t ;  ',
  "SELECT U&'d\\0061t' AS a, 4/2 AS b, 3-1 AS c",
  'SELECT $1::text AS p',
];

const hostileChar = fc.oneof(
  fc.constantFrom('*/', '/*', "'", "''", '\\', '\0', '\n', '\r', '--', '$$', ';', '"', '%', ',', '=', '\uD800', '\uDC00'),
  fc.string({ unit: 'binary', maxLength: 4 }),
);
const hostile = fc.array(hostileChar, { maxLength: 30 }).map((parts) => parts.join(''));
const tags = fc.dictionary(fc.oneof(hostile, fc.constantFrom('route', 'controller', 'action')), hostile, { maxKeys: 5 });

test('commented and plain queries return the same rows', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...QUERIES), tags, hostile, async (sql, t, param) => {
      const values = sql.includes('$1') ? [param.replace(/\0/g, '')] : undefined;
      const commented = addComment(sql, t);
      const scan = scanSql(commented);
      if (commented !== sql) {
        expect(scan.hasComment).toBe(true);
        expect(commented.split('/*').length - sql.split('/*').length).toBe(1);
      }
      const plain = await withoutComment(() => client.query({ text: sql, values, rowMode: 'array' }));
      const viaText = await withoutComment(() => client.query({ text: commented, values, rowMode: 'array' }));
      const viaPatch = await withTags(t, () => client.query({ text: sql, values, rowMode: 'array' }));
      expect(viaText.rows).toEqual(plain.rows);
      expect(viaPatch.rows).toEqual(plain.rows);
    }),
    { numRuns: 300 },
  );
});
