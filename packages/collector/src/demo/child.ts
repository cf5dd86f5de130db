// Child processes of the demo: each in its own process group (so Ctrl-C in
// the terminal reaches only the demo, which stops them in order) and tied to
// the demo by a parent-death signal (so a killed demo leaves none behind).
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface Tied {
  child: ChildProcess;
  /** stdout and stderr so far */
  output(): string;
  exited: Promise<void>;
  /** Sends `signal`, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<void>;
}

export interface RunAs {
  user: string;
  uid: number;
  gid: number;
}

/** The user Postgres runs as when we are root (it refuses root): `postgres` if it exists, else `nobody`. */
export function unprivilegedUser(): RunAs | null {
  if (process.getuid?.() !== 0) return null;
  for (const user of ['postgres', 'nobody']) {
    const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' });
    if (uid.status === 0 && gid.status === 0) return { user, uid: Number(uid.stdout), gid: Number(gid.stdout) };
  }
  throw new Error('PostgreSQL refuses to run as root and this machine has neither a `postgres` nor a `nobody` user: create one (useradd -r postgres) or pass --postgres-url');
}

function setprivArgs(runAs: RunAs | null, deathSignal: string, cmd: string, args: string[]): string[] {
  const ids = runAs ? [`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--clear-groups'] : [];
  return [...ids, `--pdeathsig=${deathSignal}`, '--', cmd, ...args];
}

/** Runs to completion as `runAs`; throws with the output when it fails. */
export function runAsUser(runAs: RunAs | null, cmd: string, args: string[], what: string): void {
  const r = spawnSync('setpriv', setprivArgs(runAs, 'KILL', cmd, args), { encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run ${what} (${r.error.message}); setpriv comes with util-linux: install it`);
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
}

export function spawnTied(runAs: RunAs | null, deathSignal: string, cmd: string, args: string[], opts: SpawnOptions): Tied {
  // setpriv execs the command, so the child's pid is the command's pid
  const child = spawn('setpriv', setprivArgs(runAs, deathSignal, cmd, args), { ...opts, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (e) => {
      out += `\n${e.message}`;
      resolve();
    });
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
  return {
    child,
    output: () => out,
    exited,
    stop: async (signal, graceMs) => {
      if (gone()) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
