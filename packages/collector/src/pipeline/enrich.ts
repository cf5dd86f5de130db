// The enrich stage: what a statement's spans get besides what the kernel
// sent. The lexer confirms its trace context, listeners see it (metrics,
// diagnose), plans are asked for (slow statements), and the blockers of its
// lock waits are looked up — started when the wait began, awaited (briefly)
// now. One input (the assembler's statements and lock waits), one output
// (the statement with what its spans need).
import type { Attributes } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { Token } from '@pgferret/sql';
import type { Annotator, StatementListener } from '../control/collector-control';
import { backendIdentity } from '../discover/postmasters';
import type { BlockerLookup } from '../inside/blockers';
import type { AssembledSink, LockWait, Statement } from '../spans/assemble';
import type { BackendInfo } from '../spans/build';
import { traceContext, type ContextCheck } from '../spans/confirm';
import type { InsideFacts } from '../spans/inside-spans';

/** A statement and what its spans are built with. */
export interface Enriched {
  s: Statement;
  backend: BackendInfo;
  resource: Resource;
  check: ContextCheck;
  /** the trace comment the check found, for the describer's cut (undefined: not looked for) */
  traceComment: Token | null | undefined;
  /** span attributes from plans */
  extra: Attributes | null;
}

/** What enrich needs of the cluster a statement ran in. */
export interface ClusterView {
  resource: Resource;
  port: number | null;
  /** what its cluster lets the collector read inside statements; null: nothing */
  inside: InsideFacts | null;
}

export interface EnrichOptions {
  /** share of statements with a rejected context still traced (as roots) */
  rootSampleRate: () => number;
  /** undefined: the postmaster is no longer listed (it stopped meanwhile) */
  cluster: (ppid: number) => ClusterView | undefined;
  fallbackResource: Resource;
  listeners: () => readonly StatementListener[];
  annotate?: Annotator;
  blockers: BlockerLookup;
  log: (msg: string) => void;
}

export class Enrich implements AssembledSink {
  /** traceparents the kernel found that the lexer places in no real comment */
  rejectedContexts = 0;
  private backends = new Map<number, BackendInfo>();
  private listenerFailed = false;

  constructor(private readonly o: EnrichOptions, private readonly out: (e: Enriched) => void) {}

  lockWait(pid: number, ppid: number, lock: LockWait): void {
    this.o.blockers.lookup(pid, this.o.cluster(ppid)?.port ?? null, lock);
  }

  statement(s: Statement): void {
    // the kernel finds the context by byte patterns; the lexer confirms it sits in a real comment
    const { check, comment: traceComment } = traceContext(s.start);
    if (check === 'rejected') {
      this.rejectedContexts++;
      if (Math.random() >= this.o.rootSampleRate()) return;
    }
    const backend = this.backend(s.start.pid);
    this.tell(s, backend);
    const cluster = this.o.cluster(s.start.ppid);
    backend.inside = cluster?.inside ?? null;
    const resource = cluster?.resource ?? this.o.fallbackResource;
    const extra = this.o.annotate?.(s, backend, cluster?.port ?? null) ?? null;
    // a plan or a lock wait's blockers are being asked for: the spans wait for the answer, briefly
    const blockers = this.o.blockers.answered(s.inside.locks);
    if (extra instanceof Promise || blockers) {
      Promise.all([extra, blockers]).then(
        ([x]) => this.out({ s, backend, resource, check, traceComment, extra: x ?? null }),
        () => this.out({ s, backend, resource, check, traceComment, extra: null }),
      );
    } else this.out({ s, backend, resource, check, traceComment, extra });
  }

  private tell(s: Statement, backend: BackendInfo): void {
    for (const listen of this.o.listeners()) {
      try {
        listen(s, backend);
      } catch (e) {
        // a broken listener must not stop the spans; say so once
        if (!this.listenerFailed) this.o.log(`a statement listener failed (metrics or diagnose will miss statements): ${(e as Error).message}`);
        this.listenerFailed = true;
      }
    }
  }

  private backend(pid: number): BackendInfo {
    let b = this.backends.get(pid);
    if (!b) {
      b = backendIdentity(pid);
      this.backends.set(pid, b);
    }
    return b;
  }

  sweep(alive: (pid: number) => boolean): void {
    for (const pid of this.backends.keys()) if (!alive(pid)) this.backends.delete(pid);
  }
}
