import { Client } from 'pg';
import { startPostgres } from './helpers/postgres';

describe.each(['debian', 'embedded'] as const)('test helper: %s PostgreSQL', (flavor) => {
  it('starts a real cluster, serves queries, restarts and stops', async () => {
    const pg = await startPostgres({ flavor });
    try {
      const c = new Client({ connectionString: pg.connectionString });
      await c.connect();
      const r = await c.query('SELECT current_setting($1) AS v', ['server_version_num']);
      await c.end();
      const v = Number(r.rows[0].v);
      expect(v).toBeGreaterThanOrEqual(flavor === 'debian' ? 150000 : 180000);
      const oldPid = pg.pid;
      await pg.restart();
      expect(pg.pid).not.toBe(oldPid);
      const c2 = new Client({ connectionString: pg.connectionString });
      await c2.connect();
      expect((await c2.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      await c2.end();
    } finally {
      await pg.stop();
    }
  });
});
