// The Prisma example: reads and writes through Prisma Client 7 on @prisma/adapter-pg.
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { PrismaPg } from '@prisma/adapter-pg';
import { pgferretExpress } from '@pgferret/sdk';
import { PrismaClient } from '../generated/prisma/client';
import { createTables } from './schema';

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

export function createApp(prisma: PrismaClient): express.Express {
  const app = express();
  app.use(express.json());
  app.use(pgferretExpress({ controller: () => 'blog' }));

  app.get('/users', async function listAuthors(_req: Request, res: Response) {
    res.json(
      await prisma.user.findMany({ take: 20, orderBy: { id: 'asc' }, include: { _count: { select: { posts: true } } } }),
    );
  });

  app.get('/users/:id', async function getAuthor(req: Request, res: Response) {
    const user = await prisma.user.findUnique({
      where: { id: Number(req.params.id) },
      include: { posts: { where: { published: true }, orderBy: { createdAt: 'desc' }, take: 5 } },
    });
    if (user === null) res.status(404).json({ error: 'no such user' });
    else res.json(user);
  });

  app.get('/feed', async function feed(_req: Request, res: Response) {
    res.json(
      await prisma.post.findMany({
        where: { published: true },
        orderBy: { createdAt: 'desc' },
        take: 10,
        select: { id: true, title: true, createdAt: true, author: { select: { name: true } } },
      }),
    );
  });

  app.post('/users/:id/posts', async function writePost(req: Request, res: Response) {
    const post = await prisma.post.create({
      data: {
        title: String(req.body?.title ?? 'untitled'),
        body: String(req.body?.body ?? ''),
        author: { connect: { id: Number(req.params.id) } },
      },
    });
    res.status(201).json(post);
  });

  // an interactive transaction: read, then write, committed together
  app.post('/posts/:id/publish', async function publish(req: Request, res: Response) {
    const id = Number(req.params.id);
    const post = await prisma.$transaction(async (tx) => {
      const found = await tx.post.findUniqueOrThrow({ where: { id } });
      return tx.post.update({ where: { id: found.id }, data: { published: true, views: { increment: 1 } } });
    });
    res.json(post);
  });

  app.use((err: Error & { code?: string }, _req: Request, res: Response, _next: NextFunction) => {
    // P2025: record not found (findUniqueOrThrow, connect to a missing row)
    res.status(err.code === 'P2025' ? 404 : 500).json({ error: err.message, code: err.code });
  });
  return app;
}

export async function startApp(opts: AppOptions = {}): Promise<RunningApp> {
  try {
    await createTables(opts.databaseUrl);
  } catch (e) {
    throw new Error(
      `cannot prepare the example database (${(e as Error).message}). ` +
        'Set DATABASE_URL to a PostgreSQL the app may create tables in, e.g. postgres://postgres@127.0.0.1:5432/postgres',
    );
  }
  const adapter = new PrismaPg(opts.databaseUrl ? { connectionString: opts.databaseUrl } : {});
  const prisma = new PrismaClient({ adapter });
  const server = createApp(prisma).listen(opts.port ?? 3000, opts.host ?? '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await prisma.$disconnect();
    },
  };
}
