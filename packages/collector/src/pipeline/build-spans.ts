// The build stage: an enriched statement becomes its spans, which go to the
// export queue. A full queue would drop them anyway, so they are not built.
import type { ExportQueue } from '../export/queue';
import { foldSamples } from '../profile/fold';
import { Symbolizer } from '../profile/symbolize';
import { addProfile } from '../spans/profile-span';
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
  /** the CPU profile's rate now (--profile-hz, or less under the overhead budget) */
  profileHz: () => number;
}

export class BuildSpans {
  /** statements whose spans could not be built (a bug: the log has the first one's error) */
  failures = 0;
  private readonly symbolizer = new Symbolizer();

  constructor(private readonly o: BuildOptions, private readonly queue: ExportQueue) {}

  /** Forgets the memory maps of backends that exited. */
  sweep(alive: (pid: number) => boolean): void {
    this.symbolizer.sweep(alive);
  }

  push({ s, backend, resource, check, traceComment, extra }: Enriched): void {
    if (!this.queue.hasRoom(1 + s.phases.length)) {
      this.queue.drop(1 + s.phases.length);
      return;
    }
    try {
      const spans = buildSpans(s, resource, this.o.clock, backend, this.o.describer, check, extra, this.o.inside, traceComment);
      if (s.inside.samples.length > 0) addProfile(spans[0], foldSamples(this.symbolizer, s.start.pid, s.inside.samples), this.o.profileHz(), s.inside.clockLateNs, s.endNs, this.o.clock);
      this.queue.add(spans);
    } catch (e) {
      // a statement the span builder cannot handle is lost, counted and said once; the next ones go on
      this.failures++;
      if (this.failures === 1) this.o.log(`could not build the spans of a statement (pid ${s.start.pid}): ${(e as Error).stack ?? e}`);
    }
  }
}
