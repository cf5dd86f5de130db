// TLS for tests: a self-signed certificate made with openssl, PostgreSQL
// settings that accept only TLS connections over TCP, and pgbouncer with TLS
// on both sides, run as the `postgres` user like the clusters.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { setprivArgs } from '../../packages/demo/src/reachable-binaries';
import { userIds } from '../../packages/demo/src/cluster';
import { freePort } from './postgres';

export interface Certificate {
  dir: string;
  cert: string;
  key: string;
  remove(): void;
}

const ids = () => (process.getuid?.() === 0 ? userIds('postgres') : null);

/** A self-signed certificate for localhost, readable by the `postgres` user only (PostgreSQL refuses a key others can read). */
export function selfSignedCertificate(): Certificate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-tls-'));
  const cert = path.join(dir, 'server.crt');
  const key = path.join(dir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  // only TLS over TCP: a plaintext connection is refused, so whatever gets traced went through TLS
  fs.writeFileSync(path.join(dir, 'pg_hba.conf'), 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\n');
  const u = ids();
  fs.chmodSync(key, 0o600);
  if (u) for (const f of [dir, cert, key, path.join(dir, 'pg_hba.conf')]) fs.chownSync(f, u.uid, u.gid);
  return { dir, cert, key, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Cluster settings: TLS on with `c`, plaintext TCP connections refused. */
export const tlsSettings = (c: Certificate): Record<string, string> => ({
  ssl: 'on', ssl_cert_file: c.cert, ssl_key_file: c.key, hba_file: path.join(c.dir, 'pg_hba.conf'),
});

export interface Bouncer {
  port: number;
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

/** pgbouncer in transaction mode in front of 127.0.0.1:pgPort, TLS required from clients and used to the server. */
export async function startPgbouncer(c: Certificate, pgPort: number): Promise<Bouncer> {
  const port = await freePort();
  const ini = path.join(c.dir, 'pgbouncer.ini');
  const logFile = path.join(c.dir, 'pgbouncer.log');
  fs.writeFileSync(path.join(c.dir, 'userlist.txt'), '"postgres" ""\n');
  fs.writeFileSync(ini, [
    '[databases]', `postgres = host=127.0.0.1 port=${pgPort} dbname=postgres user=postgres`,
    '[pgbouncer]', 'listen_addr = 127.0.0.1', `listen_port = ${port}`, 'unix_socket_dir =',
    'auth_type = trust', `auth_file = ${path.join(c.dir, 'userlist.txt')}`, 'pool_mode = transaction',
    'default_pool_size = 4', 'max_client_conn = 200', `logfile = ${logFile}`,
    'client_tls_sslmode = require', `client_tls_cert_file = ${c.cert}`, `client_tls_key_file = ${c.key}`,
    'server_tls_sslmode = require', 'ignore_startup_parameters = extra_float_digits',
  ].join('\n') + '\n');
  const u = ids();
  if (u) for (const f of [ini, path.join(c.dir, 'userlist.txt')]) fs.chownSync(f, u.uid, u.gid);
  const child: ChildProcess = spawn('setpriv', setprivArgs(u, '/usr/sbin/pgbouncer', [ini]), { stdio: 'ignore', detached: true });
  const log = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
  const deadline = Date.now() + 15000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited (${child.exitCode}):\n${log()}`);
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on ${port}:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port, pid: child.pid!, log,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/**
 * Asks for GSSAPI encryption (GSSENCRequest) over TCP and returns the
 * server's one-byte answer ('G' from a build with GSSAPI), then hangs up.
 */
export function askGssEncryption(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => s.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30])));
    s.once('data', (d) => { s.destroy(); resolve(d.subarray(0, 1).toString('latin1')); });
    s.once('error', reject);
  });
}
