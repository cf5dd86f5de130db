// The example's tables and data, created at start when missing. generate_series
// makes enough rows for the report to be a real aggregate.
import type { Pool } from 'pg';

const USERS = 10_000;
const ORDERS = 100_000;

export async function seed(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // several app instances may start against one database at once
    await client.query('SELECT pg_advisory_xact_lock(4242)');
    await client.query(`
      CREATE TABLE IF NOT EXISTS users (
        id serial PRIMARY KEY,
        name text NOT NULL,
        email text NOT NULL UNIQUE,
        country text NOT NULL,
        order_count int NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS orders (
        id bigserial PRIMARY KEY,
        user_id int NOT NULL,
        amount numeric(10,2) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX IF NOT EXISTS orders_by_user ON orders(user_id);
      CREATE TABLE IF NOT EXISTS inventory (
        sku text PRIMARY KEY,
        stock int NOT NULL
      );
      -- a trigger: its INSERT shows in the trace as a statement nested in the order's
      CREATE TABLE IF NOT EXISTS order_events (
        order_id bigint NOT NULL,
        what text NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      );`);
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM users');
    if (rows[0].n === '0') {
      await client.query(
        // the orders below spread evenly: ORDERS / USERS per user
        `INSERT INTO users (name, email, country, order_count)
         SELECT 'user ' || i, 'user' || i || '@example.com', (ARRAY['DE','FR','US','JP','BR'])[1 + i % 5], $2::int / $1::int
         FROM generate_series(1, $1::int) AS i`,
        [USERS, ORDERS],
      );
      await client.query(
        `INSERT INTO orders (user_id, amount, created_at)
         SELECT 1 + (i * 7919) % $1::int, (i % 500) + 0.99, now() - (i % 365) * interval '1 day'
         FROM generate_series(1, $2::int) AS i`,
        [USERS, ORDERS],
      );
      await client.query(`INSERT INTO inventory VALUES ('ferret-plush', 1000000) ON CONFLICT DO NOTHING`);
      await client.query('ANALYZE users; ANALYZE orders');
    }
    // after the seed rows: only orders placed through the app record an event
    await client.query(`
      CREATE OR REPLACE FUNCTION record_order_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO order_events (order_id, what) VALUES (NEW.id, 'placed');
          RETURN NEW;
        END $$;
      DROP TRIGGER IF EXISTS orders_events ON orders;
      CREATE TRIGGER orders_events AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION record_order_event();`);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}
