// Where what happened inside a statement becomes spans: waits (lock waits
// with their blocker and a link to it), nested statements, and attributes for
// buffers/WAL, on/off-CPU time and the short waits of each phase.
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import { DB_SYSTEM_NAME_VALUE_POSTGRESQL } from '@opentelemetry/semantic-conventions';
import { Origin } from '../events/layout';
import type { Statement } from './assemble';
import { A } from './attributes';
import type { MonotonicClock } from './clock';
import type { SqlDescriber } from './describe';
import { newSpanId } from './ids';
import { blockerLinks, lockAttributes } from './lock-spans';
import { capNested, pairNested } from './nested';
import { NONE, type SpanData } from './span-data';
import { usageAttributes } from './usage-attributes';
import { isLockWait, nameWait, shortWaitAttributes, waitAttributes, type NamedWait } from './waits';

/** What the statement's cluster lets us read: its major version and whether waits are followed. */
export interface InsideFacts {
  major: number;
  waits: boolean;
}

export interface InsideOptions {
  /** waits at least this long get a span of their own */
  waitThresholdNs: number;
  /** nested statements per statement with a span of their own */
  nestedCap: number;
}

/** Where the children go: the statement span and its phase spans (ids and time ranges). */
export interface SpanFrame {
  traceId: string;
  statementSpanId: string;
  phases: { name: string; spanId: string; startNs: number; endNs: number }[];
  resource: Resource;
  clock: MonotonicClock;
  describer: SqlDescriber;
  /** the statement's error, given to nested statements left by it */
  errorMessage: string;
}

export interface InsideResult {
  statement: Attributes;
  /** extra attributes per phase span id (null: none, the common case: no Map per statement) */
  phases: Map<string, Attributes> | null;
  spans: SpanData[];
}

const span = (f: SpanFrame, parent: string, name: string, startNs: number, endNs: number, attributes: Attributes, failed = false, statusMessage = ''): SpanData => ({
  traceId: f.traceId,
  spanId: newSpanId(),
  parentSpanId: parent,
  parentIsRemote: false,
  traceFlags: TraceFlags.SAMPLED,
  name,
  kind: SpanKind.INTERNAL,
  startTime: f.clock.toHrTime(startNs),
  endTime: f.clock.toHrTime(endNs),
  attributes,
  statusCode: failed ? SpanStatusCode.ERROR : SpanStatusCode.UNSET,
  statusMessage: failed ? statusMessage : '',
  events: NONE,
  links: NONE,
  resource: f.resource,
});

function phaseOf(f: SpanFrame, ns: number): string {
  for (const p of f.phases) if (ns >= p.startNs && ns < p.endNs) return p.spanId;
  return f.statementSpanId;
}

/**
 * A preemption (CPU:Runnable) gets a span of its own only from this long:
 * under CPU contention a statement is preempted every few milliseconds, and
 * dozens of such spans bury the waits that matter; shorter ones are summed
 * per phase with the other short waits.
 */
export const RUNNABLE_SPAN_MIN_NS = 10_000_000;

function waitSpans(s: Statement, major: number, waitsOn: boolean, o: InsideOptions, f: SpanFrame, out: InsideResult): void {
  const { waits, locks } = s.inside;
  const runnableNs = Math.max(o.waitThresholdNs, RUNNABLE_SPAN_MIN_NS);
  let offNs = 0;
  let short: Map<string, NamedWait[]> | null = null;
  for (const raw of waits) {
    offNs += raw.endNs - raw.startNs;
    // a lock wait is timed by the lock probes: its sleeps are inside that span
    if (isLockWait(raw) && locks.some((l) => raw.startNs >= l.startNs && raw.startNs <= (l.endNs ?? s.endNs))) continue;
    const w = nameWait(major, raw);
    const parent = phaseOf(f, w.startNs);
    if (w.endNs - w.startNs >= (w.runnable ? runnableNs : o.waitThresholdNs)) {
      out.spans.push(span(f, parent, `wait ${w.type}:${w.name}`, w.startNs, w.endNs, waitAttributes(w)));
    } else {
      // a cycle may carry thousands of short waits: append, don't copy
      short ??= new Map();
      const list = short.get(parent);
      if (list) list.push(w);
      else short.set(parent, [w]);
    }
  }
  for (const [parent, ws] of short ?? []) {
    const a = shortWaitAttributes(ws)!;
    if (parent === f.statementSpanId) Object.assign(out.statement, a);
    else (out.phases ??= new Map()).set(parent, a);
  }
  for (const l of locks) {
    // a wait whose end was not recorded (its return probe came after it began) ends with its phase
    const parent = phaseOf(f, l.startNs);
    const bound = f.phases.find((p) => p.spanId === parent)?.endNs ?? s.endNs;
    const endNs = Math.min(l.endNs ?? bound, bound);
    const mask = (q: string) => f.describer.describe(q, Origin.ROOT, 0).queryText;
    const attrs: Attributes = { [A.waitEventType]: 'Lock', ...lockAttributes(major, l, l.relationName, mask) };
    if (typeof attrs[A.lockType] === 'string') attrs[A.waitEventName] = attrs[A.lockType];
    const sp = span(f, parent, `wait Lock:${attrs[A.lockType] ?? 'unknown'}`, l.startNs, endNs, attrs);
    sp.links = blockerLinks(l);
    out.spans.push(sp);
  }
  if (waitsOn) {
    out.statement[A.cpuOffMs] = offNs / 1e6;
    out.statement[A.cpuOnMs] = Math.max(0, s.endNs - s.startNs - offNs) / 1e6;
  }
}

function nestedSpans(s: Statement, o: InsideOptions, f: SpanFrame, out: InsideResult): void {
  if (s.inside.nests.length === 0) return;
  const all = pairNested(s.inside.nests, s.endNs);
  const { kept, aggregates } = capNested(all, o.nestedCap);
  const ids: string[] = [];
  kept.forEach((n, i) => {
    const d = n.text !== null ? f.describer.describe(n.text, Origin.ROOT, 0) : null;
    const attrs: Attributes = { [A.dbSystemName]: DB_SYSTEM_NAME_VALUE_POSTGRESQL, [A.nestingDepth]: n.depth };
    if (d) attrs[A.dbQueryText] = d.queryText;
    else attrs[A.nestedTextUnavailable] = true;
    if (n.rows !== null) attrs[A.dbResponseReturnedRows] = n.rows;
    const parent = n.parent >= 0 ? ids[n.parent] : f.statementSpanId;
    const message = f.errorMessage || 'an error was raised inside it';
    const sp = span(f, parent ?? f.statementSpanId, d?.name ?? 'nested statement', n.startNs, n.endNs, attrs, n.failed, message);
    ids[i] = sp.spanId;
    out.spans.push(sp);
  });
  for (const a of aggregates) {
    const d = a.text !== null ? f.describer.describe(a.text, Origin.ROOT, 0) : null;
    const attrs: Attributes = {
      [A.dbSystemName]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
      [A.nestedAggregate]: true,
      [A.nestedCalls]: a.calls,
      [A.nestedTotalMs]: a.totalNs / 1e6,
      [A.dbResponseReturnedRows]: a.rows,
    };
    if (d) attrs[A.dbQueryText] = d.queryText;
    if (a.failed > 0) attrs[A.nestedFailedCalls] = a.failed;
    out.spans.push(span(f, f.statementSpanId, d?.name ?? 'nested statement', a.startNs, a.endNs, attrs));
  }
  out.statement[A.nestedCount] = all.length;
  if (aggregates.length > 0) out.statement[A.nestedAggregated] = all.length - kept.length;
}

/** null facts: the version is unknown, so nothing that needs its layouts is said. */
export function insideSpans(s: Statement, facts: InsideFacts | null, o: InsideOptions, f: SpanFrame): InsideResult {
  const out: InsideResult = { statement: {}, phases: null, spans: [] };
  if (facts === null) return out;
  const usage = usageAttributes(facts.major, s.inside.usage);
  if (usage) Object.assign(out.statement, usage);
  waitSpans(s, facts.major, facts.waits, o, f, out);
  nestedSpans(s, o, f, out);
  return out;
}
