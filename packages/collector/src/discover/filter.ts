// Which running clusters the collector follows: --pid, --data-dir and --port
// select among the postmasters found; no filter follows them all.
import * as path from 'node:path';
import type { Postmaster } from './postmasters';

export interface ClusterFilter {
  pids?: number[];
  dataDirs?: string[];
  ports?: number[];
}

export function selects(f: ClusterFilter | undefined, pm: Postmaster): boolean {
  if (!f) return true;
  if (f.pids?.length && !f.pids.includes(pm.pid)) return false;
  if (f.dataDirs?.length && !f.dataDirs.some((d) => path.resolve(d) === pm.dataDir)) return false;
  if (f.ports?.length && (pm.port === null || !f.ports.includes(pm.port))) return false;
  return true;
}

/** The filter as the command line spells it, for messages. */
export function describeFilter(f: ClusterFilter | undefined): string {
  const parts = [
    ...(f?.pids ?? []).map((p) => `--pid ${p}`),
    ...(f?.dataDirs ?? []).map((d) => `--data-dir ${d}`),
    ...(f?.ports ?? []).map((p) => `--port ${p}`),
  ];
  return parts.join(' ');
}
