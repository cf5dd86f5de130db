// `pgferret-collector diagnose`: attaches its own probes for the watch (the
// kernel keeps them per process, so a running collector is not disturbed),
// records every traced statement, detaches and reports.
import { ExportResultCode } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { Collector, type ClusterFilter, type CollectorStatus } from '../collector';
import { ExportQueue } from '../export/queue';
import { checkPrivileges, RUN_DEFAULTS } from '../run';
import { Recorder } from './recorder';
import { buildReport, type KernelCounts, type Report, type Thresholds } from './report';

export interface DiagnoseOptions {
  filter: ClusterFilter;
  durationMs: number;
  rootSampleRate: number;
  thresholds: Thresholds;
  log: (m: string) => void;
}

// diagnose exports no spans: a queue with no room makes the collector skip building them
const nowhere: SpanExporter = {
  export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: async () => undefined,
};

function kernelCounts(s: CollectorStatus): KernelCounts {
  const k = s.kernel;
  return { seen: k.starts ?? 0, traced: k.traced ?? 0, roots: k.roots ?? 0, unsampled: k.unsampled ?? 0, dropped: k.dropped ?? 0 };
}

export async function diagnose(o: DiagnoseOptions): Promise<Report> {
  checkPrivileges();
  const recorder = new Recorder();
  const queue = new ExportQueue(nowhere, { maxQueue: 0, maxBatch: 1, intervalMs: 60_000 });
  const collector = new Collector({
    queue, filter: o.filter, rootSampleRate: o.rootSampleRate, rawQueryText: false, detail: 'phases',
    maxQueryText: RUN_DEFAULTS.maxQueryText, log: o.log, statementListeners: [recorder.listener],
  });
  collector.start();
  try {
    const attached = collector.status().clusters;
    if (attached.length === 0) {
      throw new Error('no running PostgreSQL cluster matches: start one, or check --pid / --port / --data-dir (and that this process can see its /proc entries)');
    }
    if (attached.every((c) => c.error)) throw new Error(`no cluster could be traced: ${attached.map((c) => c.error).join('; ')}`);
    const before = kernelCounts(collector.status());
    const startedAtMs = Date.now();
    o.log(`watching ${attached.filter((c) => !c.error).length} cluster(s) for ${o.durationMs / 1000} s`);
    await new Promise((r) => setTimeout(r, o.durationMs));
    // statements still running at the end are reported as far as they got
    const endedAtMs = Date.now();
    const after = kernelCounts(collector.status());
    const clusters = collector.status().clusters;
    collector.stop(); // flushes the statements still open into the recorder
    const delta = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof KernelCounts]])) as unknown as KernelCounts;
    return buildReport({
      startedAtMs, endedAtMs, statements: recorder.kept.filter((s) => s.atMs >= startedAtMs), notKept: recorder.notKept,
      kernel: delta, rootSampleRate: o.rootSampleRate, clusters, thresholds: o.thresholds,
    });
  } finally {
    collector.stop();
    await queue.close(0);
  }
}
