// Tables for prisma/schema.prisma, created with SQL at start: `prisma migrate`
// needs Prisma's schema-engine binary, which this example does without.
import { Client } from 'pg';

const DDL = `
CREATE TABLE IF NOT EXISTS "User" (
  "id" SERIAL PRIMARY KEY,
  "email" TEXT NOT NULL,
  "name" TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS "User_email_key" ON "User"("email");
CREATE TABLE IF NOT EXISTS "Post" (
  "id" SERIAL PRIMARY KEY,
  "title" TEXT NOT NULL,
  "body" TEXT NOT NULL,
  "published" BOOLEAN NOT NULL DEFAULT false,
  "views" INTEGER NOT NULL DEFAULT 0,
  "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "authorId" INTEGER NOT NULL REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
CREATE INDEX IF NOT EXISTS "Post_authorId_idx" ON "Post"("authorId");
`;

const SEED = `
INSERT INTO "User" ("email", "name")
SELECT 'author' || i || '@example.com', 'author ' || i FROM generate_series(1, 200) AS i;
INSERT INTO "Post" ("title", "body", "published", "authorId", "createdAt")
SELECT 'post ' || i, repeat('lorem ipsum ', 20), i % 3 <> 0, 1 + i % 200, now() - i * interval '1 minute'
FROM generate_series(1, 5000) AS i;
`;

export async function createTables(connectionString: string | undefined): Promise<void> {
  const client = new Client(connectionString ? { connectionString } : {});
  await client.connect();
  try {
    await client.query('BEGIN');
    // several app instances may start against one database at once
    await client.query('SELECT pg_advisory_xact_lock(4243)');
    await client.query(DDL);
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM "User"');
    if (rows[0].n === '0') await client.query(SEED);
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}
