// The build stage: an enriched statement becomes its spans, which go to the
// export queue. A full queue would drop them anyway, so they are not built.
import type { ExportQueue } from '../export/queue';
import { buildSpans } from '../spans/build';
import type { MonotonicClock } from '../spans/clock';
import type { SqlDescriber } from '../spans/describe';
import type { InsideOptions } from '../spans/inside-spans';
import type { Enriched } from './enrich';

export interface BuildOptions {
  clock: MonotonicClock;
  describer: SqlDescriber;
  inside: InsideOptions;
  log: (msg: string) => void;
}

export class BuildSpans {
  /** statements whose spans could not be built (a bug: the log has the first one's error) */
  failures = 0;

  constructor(private readonly o: BuildOptions, private readonly queue: ExportQueue) {}

  push({ s, backend, resource, check, extra }: Enriched): void {
    if (!this.queue.hasRoom(1 + s.phases.length)) {
      this.queue.drop(1 + s.phases.length);
      return;
    }
    try {
      this.queue.add(buildSpans(s, resource, this.o.clock, backend, this.o.describer, check, extra, this.o.inside));
    } catch (e) {
      // a statement the span builder cannot handle is lost, counted and said once; the next ones go on
      this.failures++;
      if (this.failures === 1) this.o.log(`could not build the spans of a statement (pid ${s.start.pid}): ${(e as Error).stack ?? e}`);
    }
  }
}
