// The collector's data path, wired in this one place:
//
//   ring-buffer batch → decode → assemble → enrich → build → export queue
//
// decode (events/decode) turns records into calls on the assembler;
// assemble (spans/assemble) pairs them into statements per backend; enrich
// (pipeline/enrich) confirms contexts, tells listeners, asks for plans and
// lock blockers; build (pipeline/build-spans) makes spans and queues them.
// Each stage hands on to the next and never calls back into the one before.
// Beside the line, `taps` see the assembler's output first (arming, encrypted backends).
import type { Resource } from '@opentelemetry/resources';
import type { Annotator, StatementListener } from '../control/collector-control';
import { decodeBatch, type DecodeStats } from '../events/decode';
import type { ExportQueue } from '../export/queue';
import { BlockerLookup } from '../inside/blockers';
import { Assembler, type DetailShed, type Statement } from '../spans/assemble';
import { MonotonicClock } from '../spans/clock';
import { SqlDescriber } from '../spans/describe';
import type { InsideOptions } from '../spans/inside-spans';
import { OpenStatements } from '../spans/open-statements';
import { BuildSpans } from './build-spans';
import { Enrich, type ClusterView } from './enrich';

export interface PipelineOptions {
  queue: ExportQueue;
  rawQueryText: boolean;
  inside: InsideOptions;
  /** a connection to name the blockers of lock waits (the cluster on its port) */
  postgresUrl?: string;
  rootSampleRate: () => number;
  cluster: (ppid: number) => ClusterView | undefined;
  fallbackResource: Resource;
  listeners: () => readonly StatementListener[];
  annotate?: Annotator;
  /** whether the backend's phase probes were in place all through a span of kernel time (when it ran, not now) */
  timedThrough: (pid: number, startNs: number, endNs: number) => boolean;
  /** why a statement without phases has none (asked after the taps saw it) */
  shedWhy: (s: Statement) => DetailShed;
  /** see every assembled statement, switch to encryption (event: TLS or GSSENC), new backend and sampled request cycle opening or closing before enrich does */
  taps: { statement(s: Statement): void; encrypted(pid: number, ppid: number, event: number): void; fork(pid: number, ppid: number): void; cycle?(pid: number, open: boolean): void };
  log: (msg: string) => void;
  /** the rate CPU samples are taken at now (0: off) */
  profileHz?: () => number;
}

export class Pipeline {
  readonly decodeStats: DecodeStats = { records: 0, invalid: 0 };
  /** statements assembled */
  statements = 0;
  /** of those: with phases, and without them by reason */
  readonly shed: Record<'phases' | DetailShed, number> = { phases: 0, budget: 0, late: 0, off: 0 };
  private readonly assembler: Assembler;
  private readonly enrich: Enrich;
  private readonly build: BuildSpans;
  private readonly blockers: BlockerLookup;

  constructor(o: PipelineOptions) {
    const holders = new OpenStatements();
    this.blockers = new BlockerLookup({ url: o.postgresUrl ?? null, holders, log: o.log });
    this.build = new BuildSpans({ clock: new MonotonicClock(), describer: new SqlDescriber(o.rawQueryText), inside: o.inside, log: o.log, profileHz: o.profileHz ?? (() => 0) }, o.queue);
    this.enrich = new Enrich(
      { rootSampleRate: o.rootSampleRate, cluster: o.cluster, fallbackResource: o.fallbackResource, listeners: o.listeners, annotate: o.annotate, blockers: this.blockers, log: o.log },
      (e) => this.build.push(e),
    );
    this.assembler = new Assembler(
      {
        statement: (s) => {
          this.statements++;
          o.taps.statement(s);
          if (!s.timed) s.shed = o.shedWhy(s);
          this.shed[s.timed ? 'phases' : s.shed!]++;
          this.enrich.statement(s);
        },
        lockWait: (pid, ppid, lock) => this.enrich.lockWait(pid, ppid, lock),
        encrypted: (pid, ppid, event) => o.taps.encrypted(pid, ppid, event),
        fork: (pid, ppid) => o.taps.fork(pid, ppid),
        cycle: (pid, open) => o.taps.cycle?.(pid, open),
      },
      o.timedThrough,
      holders,
    );
  }

  /** One ring-buffer batch, through every stage that can finish now. */
  push(batch: Buffer): void {
    decodeBatch(batch, this.assembler, this.decodeStats);
  }

  /** The collector switched a backend's CPU clock on (CLOCK_MONOTONIC ns). */
  clockOn(pid: number, atNs: number): void {
    this.assembler.clockOn(pid, atNs);
  }

  /** Ends what gone backends left open. */
  sweep(alive: (pid: number) => boolean): void {
    this.assembler.sweep(alive);
    this.enrich.sweep(alive);
    this.build.sweep(alive);
  }

  /** Ends everything open (the collector stops). */
  flush(): void {
    this.assembler.flush();
    void this.blockers.close();
  }

  stats() {
    return {
      decode: { ...this.decodeStats },
      statements: this.statements,
      detail: { ...this.shed },
      rejectedContexts: this.enrich.rejectedContexts,
      openCycles: this.assembler.openCycles,
      orphanMarks: this.assembler.orphanMarks,
      unknownPrepared: this.assembler.unknownNamed,
      samplesDropped: this.assembler.samplesDropped,
      buildFailures: this.build.failures,
      blockerLookups: { asked: this.blockers.lookups, failed: this.blockers.failures },
    };
  }
}
