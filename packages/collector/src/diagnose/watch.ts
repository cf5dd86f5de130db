// Records every traced statement of a started collector for a while and
// reports: inside a running collector, asked through its admin API, or in a
// collector of its own (src/diagnose.ts).
import type { CollectorControl, CollectorStatus } from '../control/collector-control';
import { Recorder } from './recorder';
import { buildReport, type KernelCounts, type Report, type Thresholds } from './report';

export interface WatchOptions {
  durationMs: number;
  thresholds: Thresholds;
  log: (m: string) => void;
}

/** Longest watch the admin API accepts: the request stays open meanwhile. */
export const MAX_WATCH_MS = 10 * 60_000;

function kernelCounts(s: CollectorStatus): KernelCounts {
  const k = s.kernel;
  return { seen: k.starts ?? 0, traced: k.traced ?? 0, roots: k.roots ?? 0, unsampled: k.unsampled ?? 0, dropped: k.dropped ?? 0 };
}

/** Records the statements of a started collector for the duration and reports them. */
export async function watch(collector: CollectorControl, o: WatchOptions): Promise<Report> {
  const attached = collector.status().clusters;
  if (attached.length === 0) {
    throw new Error('no running PostgreSQL cluster matches: start one, or check --pid / --port / --data-dir (and that this process can see its /proc entries)');
  }
  if (attached.every((c) => c.error)) throw new Error(`no cluster could be traced: ${attached.map((c) => c.error).join('; ')}`);
  const recorder = new Recorder();
  const remove = collector.addStatementListener(recorder.listener);
  const before = kernelCounts(collector.status());
  const startedAtMs = Date.now();
  o.log(`watching ${attached.filter((c) => !c.error).length} cluster(s) for ${o.durationMs / 1000} s`);
  try {
    await new Promise((r) => setTimeout(r, o.durationMs));
  } finally {
    remove();
  }
  const endedAtMs = Date.now();
  const status = collector.status();
  const after = kernelCounts(status);
  const delta = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof KernelCounts]])) as unknown as KernelCounts;
  return buildReport({
    startedAtMs, endedAtMs, statements: recorder.kept, notKept: recorder.notKept,
    kernel: delta, rootSampleRate: status.rootSampleRate, clusters: status.clusters, thresholds: o.thresholds,
  });
}
