// PostgreSQL "in a container" without a container runtime: its own mount and
// PID namespace (unshare), its executable copied to a path that exists only
// in that mount namespace (a private tmpfs on /srv), and a cgroup named the
// way Docker's systemd driver names one, so /proc/<pid>/cgroup carries a
// container id. The data directory is an ordinary host temp dir.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { debianBinDir, freePort, userIds } from '../../packages/demo/src/cluster';

export interface ContainerPostgres {
  port: number;
  dataDir: string;
  /** the postmaster's pid as the host sees it */
  hostPid: number;
  /** the executable's path inside the container (absent on the host) */
  exePath: string;
  containerId: string;
  connectionString: string;
  stop(): Promise<void>;
}

/** Where this process's cgroup v2 directory is mounted. */
function ownCgroupDir(): string {
  const mount = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => / - cgroup2 /.test(l));
  if (!mount) throw new Error('no cgroup2 file system is mounted: the container test needs one (mount -t cgroup2 none /sys/fs/cgroup)');
  const mountPoint = mount.split(' ')[4];
  const own = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))!.slice(3);
  return path.join(mountPoint, own);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export async function startContainerPostgres(): Promise<ContainerPostgres> {
  const binDir = debianBinDir();
  const major = path.basename(path.dirname(binDir));
  const ids = userIds('postgres');
  if (!ids) throw new Error('the container test runs PostgreSQL as the `postgres` user: install the postgresql package (scripts/setup.sh)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-ctr-'));
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir, { mode: 0o700 });
  fs.chownSync(dir, ids.uid, ids.gid);
  fs.chownSync(dataDir, ids.uid, ids.gid);
  const as = ['setpriv', `--reuid=${ids.uid}`, `--regid=${ids.gid}`, '--clear-groups', '--'];
  const init = spawnSync(as[0], [...as.slice(1), path.join(binDir, 'initdb'), '-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync'], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stdout}${init.stderr}`);

  const containerId = randomBytes(32).toString('hex');
  const cgroup = path.join(ownCgroupDir(), `docker-${containerId}.scope`);
  fs.mkdirSync(cgroup);
  const port = await freePort();
  const root = '/srv/pgferret-container';
  const inBin = `${root}/usr/lib/postgresql/${major}/bin`;
  const exePath = `${inBin}/postgres`;
  // inside the namespaces: a private tmpfs, the executable copied there, its
  // lib and share directories bound where it looks for them (relative to itself)
  const inner = [
    'set -e',
    'mount -t tmpfs -o mode=755 pgferret-container /srv',
    `mkdir -p ${inBin} ${root}/usr/lib/postgresql/${major}/lib ${root}/usr/share/postgresql/${major}`,
    `cp ${binDir}/postgres ${exePath}`,
    `mount --bind /usr/lib/postgresql/${major}/lib ${root}/usr/lib/postgresql/${major}/lib`,
    `mount --bind /usr/share/postgresql/${major} ${root}/usr/share/postgresql/${major}`,
    `exec ${as.join(' ').replace('--clear-groups', '--clear-groups --pdeathsig=KILL')} ${exePath} -D ${dataDir} -p ${port} ` +
      `-c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off`,
  ].join('\n');
  const logFile = path.join(dir, 'server.log');
  const fd = fs.openSync(logFile, 'a');
  // join the cgroup first, so everything started after is in it
  const child: ChildProcess = spawn('setpriv', ['--pdeathsig=KILL', '--', 'sh', '-c',
    `echo $$ > ${cgroup}/cgroup.procs && exec unshare --mount --pid --fork --mount-proc sh -c '${inner}'`], { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const log = () => fs.readFileSync(logFile, 'utf8');
  const cleanup = () => {
    try { fs.rmdirSync(cgroup); } catch { /* still in use: removed when its processes are gone */ }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  while (!(log().includes('ready to accept connections') && (await accepts(port)))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const out = log();
      cleanup();
      throw new Error(`PostgreSQL in its namespaces did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const hostPid = Number(fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0]);
  return {
    port, dataDir, hostPid, exePath, containerId,
    connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(hostPid, 'SIGINT'); // fast shutdown; the namespace ends with it
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      cleanup();
    },
  };
}
