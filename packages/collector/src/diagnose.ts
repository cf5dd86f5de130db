// `pgferret-collector diagnose`: attaches a collector of its own for the
// watch (the kernel keeps probes per process, so a running collector is not
// disturbed), records every traced statement for a while and reports.
import { ExportResultCode } from '@opentelemetry/core';
import { Collector } from './collector';
import type { ClusterFilter } from './discover/filter';
import { watch, type WatchOptions } from './diagnose/watch';
import type { Report } from './diagnose/report';
import type { SpanSink } from './export/exporter';
import { ExportQueue } from './export/queue';
import { checkPrivileges } from './privileges';
import { RUN_DEFAULTS } from './run';

export interface DiagnoseOptions extends WatchOptions {
  filter: ClusterFilter;
  rootSampleRate: number;
}

// diagnose exports no spans: a queue with no room makes the collector skip building them
const nowhere: SpanSink = {
  export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: async () => undefined,
};

/** Attaches a collector of its own for the watch, then detaches. */
export async function diagnose(o: DiagnoseOptions): Promise<Report> {
  checkPrivileges();
  const queue = new ExportQueue(nowhere, { maxQueue: 0, maxBatch: 1, intervalMs: 60_000, log: o.log });
  const collector = new Collector({
    queue, filter: o.filter, rootSampleRate: o.rootSampleRate, rawQueryText: false, detail: 'phases',
    maxQueryText: RUN_DEFAULTS.maxQueryText, log: o.log,
  });
  try {
    collector.start();
    return await watch(collector, o);
  } finally {
    collector.stop();
    await queue.close(0);
  }
}
