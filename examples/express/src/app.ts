// The example app: each route does a kind of database work whose inside you
// will want to see on a trace. `pg` Pool and knex share one database.
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import knexFactory, { type Knex } from 'knex';
import { Pool } from 'pg';
import { pgferretExpress } from '@pgferret/sdk';
import { seed } from './schema';

export interface AppOptions {
  /** postgres://… ; without it `pg` reads PGHOST, PGPORT, PGUSER, PGDATABASE… */
  databaseUrl?: string;
  port?: number;
  host?: string;
}

export interface RunningApp {
  url: string;
  close(): Promise<void>;
}

/** How long GET /lock holds the row lock that its UPDATE then waits for. */
const LOCK_HOLD_MS = 300;

export function createApp(pool: Pool, knex: Knex): express.Express {
  const app = express();
  app.use(express.json());
  // route/controller tags in the SQL comment, next to the traceparent
  app.use(pgferretExpress({ controller: () => 'shop' }));

  // fast: a primary-key lookup through the pg Pool
  app.get('/users/:id', async function getUser(req: Request, res: Response) {
    const { rows } = await pool.query('SELECT id, name, email, country FROM users WHERE id = $1', [Number(req.params.id)]);
    if (rows.length === 0) res.status(404).json({ error: 'no such user' });
    else res.json(rows[0]);
  });

  // fast: an indexed range read through knex's query builder
  app.get('/users', async function listUsers(req: Request, res: Response) {
    const limit = Math.min(Number(req.query.limit ?? 20) || 20, 100);
    res.json(await knex('users').select('id', 'name', 'country').orderBy('id').limit(limit));
  });

  // slow: revenue per country over every order; pg_sleep stands in for the
  // bigger table this would run on in production, so it is slow on any machine
  app.get('/report', async function revenueReport(_req: Request, res: Response) {
    const { rows } = await knex.raw(`
      SELECT u.country, count(*) AS orders, sum(o.amount) AS revenue, avg(o.amount)::numeric(10,2) AS average
      FROM orders o JOIN users u ON u.id = o.user_id
      CROSS JOIN (SELECT pg_sleep(0.25)) AS slow_disk
      GROUP BY u.country ORDER BY revenue DESC`);
    res.json(rows);
  });

  // a transaction: INSERT + UPDATE, committed
  app.post('/orders', async function placeOrder(req: Request, res: Response) {
    const userId = Number(req.body?.userId ?? 1 + Math.floor(Math.random() * 1000));
    const amount = Number(req.body?.amount ?? 19.99);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query('INSERT INTO orders (user_id, amount) VALUES ($1, $2) RETURNING id', [userId, amount]);
      await client.query('UPDATE users SET order_count = order_count + 1 WHERE id = $1', [userId]);
      await client.query('UPDATE inventory SET stock = stock - 1 WHERE sku = $1', ['ferret-plush']);
      await client.query('COMMIT');
      res.status(201).json({ orderId: rows[0].id });
    } catch (e) {
      await client.query('ROLLBACK');
      throw e;
    } finally {
      client.release();
    }
  });

  // a lock wait: one transaction holds the inventory row for LOCK_HOLD_MS
  // (think: a slow checkout), the UPDATE on another connection waits for it.
  // Both run inside the request, so both carry its traceparent and are sampled:
  // the collector can link the UPDATE's lock wait to the statement that took the row.
  app.get('/lock', async function restock(_req: Request, res: Response) {
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT stock FROM inventory WHERE sku = $1 FOR UPDATE', ['ferret-plush']);
      const released = new Promise<void>((resolve, reject) =>
        setTimeout(() => holder.query('COMMIT').then(() => resolve(), reject), LOCK_HOLD_MS),
      );
      const started = Date.now();
      const { rows } = await pool.query('UPDATE inventory SET stock = stock + 1 WHERE sku = $1 RETURNING stock', ['ferret-plush']);
      await released;
      res.json({ stock: rows[0].stock, waitedMs: Date.now() - started });
    } finally {
      holder.release();
    }
  });

  // an error: a unique violation (SQLSTATE 23505) answered with a 500
  app.get('/error', async function duplicateUser(_req: Request, res: Response) {
    await pool.query("INSERT INTO users (name, email, country) VALUES ('dup', 'user1@example.com', 'DE')");
    res.json({ unreachable: true });
  });

  app.use((err: Error & { code?: string }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: err.message, sqlstate: err.code });
  });
  return app;
}

export async function startApp(opts: AppOptions = {}): Promise<RunningApp> {
  const connection = opts.databaseUrl ? { connectionString: opts.databaseUrl } : {};
  const pool = new Pool({ ...connection, max: 10 });
  const knex = knexFactory({ client: 'pg', connection, pool: { min: 0, max: 5 } });
  try {
    await seed(pool);
  } catch (e) {
    await Promise.all([pool.end(), knex.destroy()]);
    const err = e as Error;
    throw new Error(
      `cannot prepare the example database (${err.message}). ` +
        'Set DATABASE_URL to a PostgreSQL the app may create tables in, e.g. postgres://postgres@127.0.0.1:5432/postgres',
    );
  }
  const server = createApp(pool, knex).listen(opts.port ?? 3000, opts.host ?? '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([pool.end(), knex.destroy()]);
    },
  };
}
