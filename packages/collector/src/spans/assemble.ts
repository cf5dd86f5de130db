// Assembles statements from the kernel's records, per backend.
//
// A unit is one Query or one Execute a backend received (numbered by the
// kernel). A sampled unit gets its text and context from a start record
// (Query) or from the most recent sampled Parse (UNIT mark), phase marks while
// it executes (only on backends with phase probes), a reply when it completes
// (CommandComplete or ErrorResponse), and ends with the ReadyForQuery of its
// request cycle (IDLE mark, which also says the transaction status).
//
// Phases, from the marks of each statement:
// - parse:   from arrival (or the previous statement's end) to planning or execution
// - plan:    from planning to execution (includes executor start-up)
// - execute: from execution to its end (the reply, when the build has no end mark)
// - commit:  for the cycle's last statement when the transaction ended (status 'I')
//            without error: from the end of execution to ReadyForQuery
// A Query with several statements is split at each planning or execution
// that follows a finished execution; its replies go to its statements in order.
import type { EventSink, LockTag, NestRecord, StartRecord } from '../events/decode';
import { BackendEvent, Edge, MarkKind, Message, Origin } from '../events/layout';
import { errorFields, rowsOfTag, type ErrorFields } from '../events/replies';
import { newSpanId } from './ids';
import { before, OpenStatements } from './open-statements';

export type PhaseName = 'parse' | 'plan' | 'execute' | 'commit';

export interface Phase {
  name: PhaseName;
  startNs: number;
  endNs: number;
  /** the statement failed during this phase */
  failed?: boolean;
}

/** Why a statement has no phases (and nothing from inside them): the attribute A.detailShed. */
export type DetailShed = 'budget' | 'late' | 'off';

export interface Statement {
  start: StartRecord;
  /** position in a multi-statement string (0-based) */
  index: number;
  startNs: number;
  endNs: number;
  phases: Phase[];
  rows: number | null;
  /** five-character SQLSTATE when the statement failed */
  sqlstate: string | null;
  failed: boolean;
  /** severity, SQLSTATE and message of the ErrorResponse that failed it */
  error: ErrorFields | null;
  /** transaction status after its request cycle: 'I', 'T' (in a block) or 'E' (failed block); null when unknown */
  txStatus: string | null;
  /** no completion was seen (pipeline aborted by an earlier error, backend gone, records lost) */
  incomplete: boolean;
  /** the backend had its phase probes while the statement ran */
  timed: boolean;
  /** when not timed, why (set by the pipeline): the overhead budget, probes armed too late, or detail off */
  shed?: DetailShed;
  /** the id its span will have: known before it is built, so a lock's waiter can link to it */
  spanId: string;
  inside: Inside;
  /** PostgreSQL's query identifier (pg_stat_statements.queryid, signed decimal); null when none was read */
  queryId: string | null;
}

/** An interval off CPU (clipped to the statement it is given to). */
export interface WaitInterval {
  startNs: number;
  endNs: number;
  /** PostgreSQL's wait_event_info (0: none published) */
  event: number;
  /** preempted while runnable */
  runnable: boolean;
}

export interface Blocker {
  pid: number;
  applicationName: string | null;
  state: string | null;
  /** its current (or last) statement text, as pg_stat_activity shows it */
  query: string | null;
  /** the span of its sampled statement in the transaction that holds the lock */
  span: { traceId: string; spanId: string } | null;
}

export interface LockWait {
  startNs: number;
  /** null: still waiting when the statement ended (records lost) */
  endNs: number | null;
  tag: LockTag;
  blockers: Blocker[] | null;
  /** schema-qualified name of the locked relation, when the blocker lookup could resolve it */
  relationName: string | null;
  /** why blockers is null */
  blockersMissing: string | null;
}

/** What pgBufferUsage and pgWalUsage grew by while a statement executed (raw, in its major's layout). */
export interface UsageDelta {
  tsNs: number;
  buffers: Buffer;
  wal: Buffer;
}

/** A CPU-clock sample of the backend (bpf/profile.bpf.h). */
export interface CpuSample {
  tsNs: number;
  /** user return addresses, innermost first */
  ips: number[];
}

/** CPU samples kept per backend's open request cycles: about a minute at 997 Hz; more are counted. */
export const SAMPLES_MAX = 60_000;

/** What happened inside a statement (all empty without --detail full). */
export interface Inside {
  /** CPU-clock samples while it ran (empty without --profile-hz) */
  samples: CpuSample[];
  waits: WaitInterval[];
  locks: LockWait[];
  /** buffer/WAL counters' growth during execution */
  usage: UsageDelta | null;
  /** SPI begin/end records of statements run inside it, in order */
  nests: NestRecord[];
  /** its backend's CPU clock came on this long after it began (0: on time, or no clock): the samples miss that part */
  clockLateNs: number;
}

interface Reply {
  msg: number;
  ts: number;
  rows: number | null;
  error: ErrorFields | null;
  /** the backend's published query identifier as the reply was sent (0n: none read) */
  queryId: bigint;
}

interface Unit {
  seq: number;
  start: StartRecord;
  /** first execution of its Parse: parsing belongs to it */
  parsed: boolean;
  startNs: number;
  marks: { kind: number; ts: number }[];
  replies: Reply[];
  usage: UsageDelta[];
  nests: NestRecord[];
  spanId: string;
}

/**
 * A backend's open units in unit order. A request cycle ends a prefix of them
 * and records mostly concern the newest, so a list searched from its end does
 * what a Map did without its cost: a Map emptied and refilled every statement
 * reallocates its table each time.
 */
class OpenUnits {
  private items: Unit[] = [];

  get size(): number {
    return this.items.length;
  }

  get(seq: number): Unit | undefined {
    for (let i = this.items.length - 1; i >= 0; i--) if (this.items[i].seq === seq) return this.items[i];
    return undefined;
  }

  /** a unit of a number already open replaces it */
  add(u: Unit): void {
    let i = this.items.length;
    while (i > 0 && before(u.seq, this.items[i - 1].seq)) i--;
    if (i > 0 && this.items[i - 1].seq === u.seq) this.items[i - 1] = u;
    else if (i === this.items.length) this.items.push(u);
    else this.items.splice(i, 0, u);
  }

  /** removes and returns the units before `end`, in order */
  takeBefore(end: number): Unit[] {
    let n = 0;
    while (n < this.items.length && before(this.items[n].seq, end)) n++;
    if (n < this.items.length) return this.items.splice(0, n);
    const all = this.items;
    this.items = [];
    return all;
  }

  takeAll(): Unit[] {
    const all = this.items;
    this.items = [];
    return all;
  }
}

interface Backend {
  lastParse: StartRecord | null;
  /** named statements' Parse records, by name hash, least recently used first */
  named: Map<number, StartRecord>;
  parseUsed: boolean;
  units: OpenUnits;
  lastNs: number;
  /** its postmaster, from its start records (0 until one came) */
  ppid: number;
  /** off-CPU intervals and lock waits of the open request cycles */
  waits: WaitInterval[];
  locks: LockWait[];
  samples: CpuSample[];
  /** when the collector last switched its CPU clock on (0: never) */
  clockOnNs: number;
}

const newUnit = (seq: number, start: StartRecord, parsed: boolean, startNs: number): Unit =>
  ({ seq, start, parsed, startNs, marks: [], replies: [], usage: [], nests: [], spanId: newSpanId() });

/** the part of the intervals that falls into [from, to] */
function clip(ws: WaitInterval[], from: number, to: number): WaitInterval[] {
  const out: WaitInterval[] = [];
  for (const w of ws) {
    if (w.endNs <= from || w.startNs >= to) continue;
    out.push({ ...w, startNs: Math.max(w.startNs, from), endNs: Math.min(w.endNs, to) });
  }
  return out;
}

/** the items of xs that pass; a new empty list without calling `keep` when there are none (the common case) */
function within<T>(xs: T[], keep: (x: T) => boolean): T[] {
  return xs.length === 0 ? [] : xs.filter(keep);
}

function addPhase(phases: Phase[], name: PhaseName, startNs: number | null, endNs: number | null): void {
  if (startNs !== null && endNs !== null && endNs >= startNs) phases.push({ name, startNs, endNs });
}

/** the usage sent as the execution end at ts */
function usageAt(u: Unit, ts: number | null): UsageDelta | null {
  if (ts === null) return null;
  for (const x of u.usage) if (x.tsNs === ts) return x;
  return null;
}

/** named statements remembered per backend (drivers prepare a handful to a few hundred per connection) */
const NAMED_PER_BACKEND = 1000;

const C = 0x43;
const E = 0x45;

interface Segment {
  plan: number | null;
  exec: number | null;
  execEnd: number | null;
}

/** Splits a unit's marks into statements (one, unless a Query holds several). */
function segments(u: Unit): Segment[] {
  const out: Segment[] = [];
  let cur: Segment = { plan: null, exec: null, execEnd: null };
  const next = () => {
    out.push(cur);
    cur = { plan: null, exec: null, execEnd: null };
  };
  for (const m of u.marks) {
    switch (m.kind) {
      case MarkKind.PLAN_BEGIN:
        if (cur.execEnd !== null) next();
        if (cur.plan === null) cur.plan = m.ts;
        break;
      case MarkKind.EXEC_BEGIN:
        if (cur.execEnd !== null) next();
        cur.exec = m.ts;
        break;
      case MarkKind.EXEC_END:
        cur.execEnd = m.ts;
        break;
      default:
        break;
    }
  }
  if (cur.plan !== null || cur.exec !== null || out.length === 0) out.push(cur);
  return out;
}

/** What the assembler hands on: statements, and what must be acted on before they end. */
export interface AssembledSink {
  statement(s: Statement): void;
  /** a sampled statement started waiting for a heavyweight lock: who holds it is asked now, while it waits */
  lockWait?(pid: number, ppid: number, lock: LockWait): void;
  /** the backend negotiated TLS or GSSAPI encryption (event: TLS or GSSENC): its socket carries ciphertext from now on */
  encrypted?(pid: number, ppid: number, event: number): void;
  /** a sampled request cycle began (its first start record) or ended (ReadyForQuery) on the backend */
  cycle?(pid: number, open: boolean): void;
  /** a followed postmaster forked a backend: it may be armed before its first statement */
  fork?(pid: number, ppid: number): void;
}

export class Assembler implements EventSink {
  private backends = new Map<number, Backend>();
  /** marks and replies for units the assembler never saw start (records lost) */
  orphanMarks = 0;
  /** sampled executions of named statements whose Parse was not seen (parsed before the collector attached) or no longer remembered */
  unknownNamed = 0;
  /** CPU samples beyond SAMPLES_MAX in a backend's open cycles */
  samplesDropped = 0;

  constructor(
    private readonly out: AssembledSink,
    /** whether the backend's phase probes were in place all through [startNs, endNs] (CLOCK_MONOTONIC ns) */
    private readonly timedThrough: (pid: number, startNs: number, endNs: number) => boolean = () => true,
    /** written as units open and cycles end, for the blocker lookup */
    private readonly open: OpenStatements = new OpenStatements(),
  ) {}

  private openUnit(pid: number, b: Backend, u: Unit): void {
    b.units.add(u);
    this.open.opened(pid, u.seq, u.start.traceId, u.spanId);
  }

  get openCycles(): number {
    let n = 0;
    for (const b of this.backends.values()) n += b.units.size;
    return n;
  }

  private backendOf(pid: number): Backend {
    let b = this.backends.get(pid);
    if (!b) {
      b = { lastParse: null, named: new Map(), parseUsed: false, units: new OpenUnits(), lastNs: 0, ppid: 0, waits: [], locks: [], samples: [], clockOnNs: 0 };
      this.backends.set(pid, b);
    }
    return b;
  }

  start(r: StartRecord): void {
    const b = this.backendOf(r.pid);
    b.lastNs = r.tsNs;
    b.ppid = r.ppid;
    if (r.name !== 0 && (r.message === Message.PARSE || r.message === Message.NAMED)) {
      // a Parse under a name replaces any earlier statement of that name (PostgreSQL refuses a
      // Parse to a name in use: DEALLOCATE or Close came first); bounded per backend
      b.named.delete(r.name);
      b.named.set(r.name, r);
      if (b.named.size > NAMED_PER_BACKEND) b.named.delete(b.named.keys().next().value!);
      // a named Parse's text sent for later executions: its cycle is not a sampled one
      if (r.message === Message.NAMED) return;
    }
    this.out.cycle?.(r.pid, true);
    if (r.message === Message.PARSE) {
      b.lastParse = r;
      b.parseUsed = false;
      return;
    }
    this.openUnit(r.pid, b, newUnit(r.unit, r, true, r.tsNs));
  }

  mark(pid: number, ts: number, kind: number, unit: number, value: number): void {
    const b = this.backendOf(pid);
    b.lastNs = ts;
    if (kind === MarkKind.UNIT) {
      if (!b.lastParse) {
        this.orphanMarks++;
        return;
      }
      this.openUnit(pid, b, newUnit(unit, b.lastParse, !b.parseUsed, b.parseUsed ? ts : b.lastParse.tsNs));
      b.parseUsed = true;
      return;
    }
    if (kind === MarkKind.NAMED_EXEC) {
      // an execution of a named statement parsed in an earlier cycle: its text, as a root
      const parse = b.named.get(value);
      if (!parse) {
        this.unknownNamed++;
        return;
      }
      b.named.delete(value);
      b.named.set(value, parse);
      const start: StartRecord = {
        ...parse, tsNs: ts, traceId: null, parentSpanId: null, flags: 1, origin: Origin.ROOT, malformed: false, message: Message.PARSE, unit, reexecution: true,
      };
      this.out.cycle?.(pid, true);
      this.openUnit(pid, b, newUnit(unit, start, false, ts));
      return;
    }
    if (kind === MarkKind.IDLE) {
      this.out.cycle?.(pid, false);
      this.finishCycle(pid, b, unit, ts, String.fromCharCode(value));
      return;
    }
    const u = b.units.get(unit);
    if (!u) {
      this.orphanMarks++;
      return;
    }
    u.marks.push({ kind, ts });
  }

  reply(pid: number, ts: number, unit: number, msg: number, body: Buffer, queryId = 0n): void {
    const b = this.backendOf(pid);
    b.lastNs = ts;
    const u = b.units.get(unit);
    if (!u) {
      this.orphanMarks++;
      return;
    }
    u.replies.push({ msg, ts, rows: msg === C ? rowsOfTag(body) : null, error: msg === E ? errorFields(body) : null, queryId });
  }

  backend(pid: number, ppid: number, event: number): void {
    if (event === BackendEvent.TLS || event === BackendEvent.GSSENC) this.out.encrypted?.(pid, ppid, event);
    if (event === BackendEvent.FORK) this.out.fork?.(pid, ppid);
    if (event === BackendEvent.EXIT) {
      // it died inside a sampled cycle: what it ran ends now, not at the next sweep
      const b = this.backends.get(pid);
      if (b) this.finishAll(pid, b);
      this.backends.delete(pid);
    }
  }

  wait(pid: number, tsNs: number, beginNs: number, event: number, runnable: boolean): void {
    const b = this.backendOf(pid);
    b.waits.push({ startNs: beginNs, endNs: tsNs, event, runnable });
  }

  /** The collector switched the backend's CPU clock on (it was off). */
  clockOn(pid: number, atNs: number): void {
    this.backendOf(pid).clockOnNs = atNs;
  }

  sample(pid: number, tsNs: number, _unit: number, ips: number[]): void {
    const b = this.backendOf(pid);
    // given to statements by time, like waits: the unit the kernel saw may be a statement's neighbour in a pipeline
    if (b.samples.length >= SAMPLES_MAX) this.samplesDropped++;
    else b.samples.push({ tsNs, ips });
  }

  lock(pid: number, tsNs: number, edge: number, tag: LockTag): void {
    const b = this.backendOf(pid);
    if (edge === Edge.BEGIN) {
      const l: LockWait = { startNs: tsNs, endNs: null, tag, blockers: null, relationName: null, blockersMissing: null };
      b.locks.push(l);
      this.out.lockWait?.(pid, b.ppid, l);
      return;
    }
    const open = b.locks.findLast((l) => l.endNs === null);
    if (open) open.endNs = tsNs;
  }

  /** the kernel sends it in place of the unit's execution-end mark */
  usage(pid: number, tsNs: number, unit: number, kind: number, buffers: Buffer, wal: Buffer): void {
    const u = this.backendOf(pid).units.get(unit);
    if (!u) {
      this.orphanMarks++;
      return;
    }
    u.usage.push({ tsNs, buffers: Buffer.from(buffers), wal: Buffer.from(wal) });
    this.mark(pid, tsNs, kind, unit, 0);
  }

  nest(pid: number, r: NestRecord): void {
    const u = this.backendOf(pid).units.get(r.unit);
    if (!u) {
      this.orphanMarks++;
      return;
    }
    u.nests.push(r);
  }

  /** Ends the units of backends that are gone (no ReadyForQuery will come). */
  sweep(isAlive: (pid: number) => boolean): void {
    for (const [pid, b] of this.backends) {
      if (isAlive(pid)) continue;
      this.finishAll(pid, b);
      this.backends.delete(pid);
    }
  }

  /** Ends every open unit (collector shutting down). */
  flush(): void {
    for (const [pid, b] of this.backends) this.finishAll(pid, b);
    this.backends.clear();
  }

  private finishAll(pid: number, b: Backend): void {
    for (const u of b.units.takeAll()) this.emitUnit(pid, b, u, b.lastNs, null, false, true);
    this.open.gone(pid);
  }

  /** ReadyForQuery: units before `end` are over. */
  private finishCycle(pid: number, b: Backend, end: number, idleNs: number, status: string): void {
    for (const u of b.units.takeBefore(end)) {
      const last = ((end - 1) >>> 0) === u.seq;
      this.emitUnit(pid, b, u, idleNs, status, last, false);
      this.open.ended(pid, u.seq, status);
    }
    if (status === 'I') this.open.idle(pid);
    // what happened inside the cycles that are over has been handed to their statements
    if (b.waits.length) b.waits = b.waits.filter((w) => w.endNs > idleNs);
    if (b.locks.length) b.locks = b.locks.filter((l) => l.startNs > idleNs);
    if (b.samples.length) b.samples = b.samples.filter((x) => x.tsNs > idleNs);
  }

  private emitUnit(pid: number, b: Backend, u: Unit, idleNs: number, status: string | null, lastOfCycle: boolean, lost: boolean): void {
    // probes attached or removed while the statement ran would give it some phases and not others: none then
    const timed = this.timedThrough(pid, u.startNs, idleNs);
    const segs = timed ? segments(u) : [];
    const n = u.start.message === Message.QUERY ? Math.max(segs.length, u.replies.length, 1) : 1;
    let prevEnd = u.startNs;
    for (let i = 0; i < n; i++) {
      const seg = segs[i] ?? { plan: null, exec: null, execEnd: null };
      const reply = u.replies[i] ?? null;
      const last = i === n - 1;
      const error = reply?.error ?? null;
      const failed = error !== null;
      const startNs = i === 0 ? u.startNs : prevEnd;
      const cycleEnd = last && lastOfCycle;
      let endNs = cycleEnd ? idleNs : (seg.execEnd ?? reply?.ts ?? idleNs);
      const phases: Phase[] = [];
      // a statement that failed ends the phase it was in at its ErrorResponse
      const failedAt = failed && timed ? reply!.ts : null;
      const work = seg.plan ?? seg.exec;
      if (u.parsed || i > 0) addPhase(phases, 'parse', startNs, work ?? failedAt);
      addPhase(phases, 'plan', seg.plan, seg.exec ?? (seg.plan !== null ? failedAt : null));
      const execEnd = seg.execEnd ?? (seg.exec !== null ? (reply?.ts ?? idleNs) : null);
      addPhase(phases, 'execute', seg.exec, execEnd);
      if (cycleEnd && status === 'I' && !failed && execEnd !== null) addPhase(phases, 'commit', execEnd, idleNs);
      if (failed && phases.length > 0) phases[phases.length - 1].failed = true;
      for (const p of phases) endNs = Math.max(endNs, p.endNs);
      const inside: Inside = {
        samples: within(b.samples, (x) => x.tsNs >= startNs && x.tsNs <= endNs),
        waits: b.waits.length === 0 ? [] : clip(b.waits, startNs, endNs),
        locks: within(b.locks, (l) => l.startNs >= startNs && l.startNs < endNs),
        usage: usageAt(u, seg.execEnd),
        nests: within(u.nests, (r) => r.tsNs >= startNs && r.tsNs <= endNs),
        clockLateNs: b.clockOnNs > startNs && b.clockOnNs < endNs ? b.clockOnNs - startNs : 0,
      };
      this.out.statement({
        start: u.start,
        index: i,
        startNs,
        endNs,
        phases,
        rows: reply?.rows ?? null,
        sqlstate: error?.sqlstate || (failed ? 'XX000' : null),
        failed,
        error,
        txStatus: status,
        incomplete: lost || (reply === null && !(u.start.message === Message.QUERY && i > 0 && u.replies.length > 0)),
        timed,
        spanId: i === 0 ? u.spanId : newSpanId(),
        inside,
        // a multi-statement Query's replies leave together: what is published by then need not be
        // the statement's own (15.18 and 18 reset it per statement), so none
        queryId: n === 1 && reply && reply.queryId !== 0n ? BigInt.asIntN(64, reply.queryId).toString() : null,
      });
      prevEnd = endNs;
      if (failed) break; // a failed statement ends its Query: the rest never ran
    }
  }
}
