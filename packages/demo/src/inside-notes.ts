// What happened inside PostgreSQL (docs/inside-execute.md), as the text
// waterfall prints it: a tag after the name of statements and nested
// statements, and note lines under a span — on/off CPU, buffers/WAL as EXPLAIN
// prints them, a phase's short waits, who held a lock, an aggregate's calls,
// where a statement's CPU time went (its profile).
// Notes are whole lines, never cut to the name column. Only what the span
// carries: what was not measured is not printed.
import { A, type StoredSpan, type TraceDetail } from 'pgferret-collector';
import { ms } from './duration';

type Value = StoredSpan['attributes'][string];

const num = (v: Value | undefined): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
};

export function isWait(span: StoredSpan): boolean {
  return typeof span.attributes[A.waitEventType] === 'string';
}

/** "[postgres]", "[nested 2]" (an aggregate's calls are in its notes), or null. */
export function tag(span: StoredSpan): string | null {
  if (span.isPostgres) return '[postgres]';
  const depth = num(span.attributes[A.nestingDepth]);
  if (depth !== null) return `[nested ${depth}]`;
  return span.attributes[A.nestedAggregate] === true ? '[nested]' : null;
}

/** "×250, total 12.5 ms, 250 rows: nested statements beyond the cap, one span per text" */
function aggregateNote(a: StoredSpan['attributes']): string | null {
  if (a[A.nestedAggregate] !== true) return null;
  const calls = num(a[A.nestedCalls]);
  const total = num(a[A.nestedTotalMs]);
  const rows = num(a[A.dbResponseReturnedRows]);
  const parts = [calls === null ? null : `×${calls}`, total === null ? null : `total ${ms(total)}`, rows === null ? null : `${rows} rows`].filter(Boolean);
  return `${parts.join(', ')}${parts.length ? ': ' : ''}nested statements beyond the cap, one span per text`;
}

function shortQuery(q: string): string {
  const flat = q.replace(/\s+/g, ' ').trim();
  return flat.length > 60 ? `${flat.slice(0, 59)}…` : flat;
}

/** "waited 296 ms for a transactionid lock (ShareLock) held by pid 4711 (UPDATE …, idle in transaction, trace 4bf9…)" */
function lockNote(span: StoredSpan, trace: TraceDetail): string {
  const a = span.attributes;
  const type = a[A.lockType] ?? a[A.waitEventName];
  const mode = a[A.lockMode];
  const relation = a[A.lockRelationName] ?? (num(a[A.lockRelationOid]) === null ? null : `relation ${a[A.lockRelationOid]}`);
  const blockers = a[A.lockBlockerPids];
  const pids = Array.isArray(blockers) ? blockers : [];
  const blockerQuery = a[A.lockBlockerQuery];
  const blockerState = a[A.lockBlockerState];
  const holders = pids.map((pid, i) => {
    const link = span.links.find((l) => l.attributes[A.linkType] === 'lock_blocker' && num(l.attributes[A.backendPid]) === num(pid));
    const here = link && link.traceId === trace.summary.traceId ? trace.spans.find((s) => s.spanId === link.spanId) : undefined;
    // the query and state are the first blocker's
    const notes = [
      i === 0 && typeof blockerQuery === 'string' ? shortQuery(blockerQuery) : null,
      i === 0 && typeof blockerState === 'string' ? blockerState : null,
      here ? `${here.name} in this trace` : link ? `trace ${link.traceId}` : null,
    ].filter(Boolean);
    return `${pid}${notes.length ? ` (${notes.join(', ')})` : ''}`;
  });
  const what = `waited ${ms(span.durationMs)} for a ${typeof type === 'string' ? type : 'heavyweight'} lock${typeof mode === 'string' ? ` (${mode})` : ''}${relation ? ` on ${relation}` : ''}`;
  return holders.length
    ? `${what} held by ${holders.length === 1 ? 'pid' : 'pids'} ${holders.join(', ')}`
    : `${what}; who held it is not known (the collector names it with --postgres-url)`;
}

function cpuNote(a: StoredSpan['attributes']): string | null {
  const on = num(a[A.cpuOnMs]);
  const off = num(a[A.cpuOffMs]);
  const nested = num(a[A.nestedCount]);
  const aggregated = num(a[A.nestedAggregated]);
  const parts = [
    on === null ? null : `on CPU ${ms(on)}`,
    off === null ? null : `off CPU ${ms(off)}`,
    nested === null ? null : `${nested} nested statements${aggregated ? ` (${aggregated} in aggregates)` : ''}`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : null;
}

function shortWaitsNote(a: StoredSpan['attributes']): string | null {
  const events = a[A.waitsEvents];
  if (!Array.isArray(events) || events.length === 0) return null;
  const countsAttr = a[A.waitsCounts];
  const totalsAttr = a[A.waitsTotalMs];
  const counts = Array.isArray(countsAttr) ? countsAttr : [];
  const totals = Array.isArray(totalsAttr) ? totalsAttr : [];
  const waits = events.map((e, i) => {
    const total = num(totals[i]);
    return `${String(e)} ×${num(counts[i]) ?? '?'}${total === null ? '' : ` ${ms(total)}`}`;
  });
  return `short waits: ${waits.join(', ')}`;
}

/** "CPU profile, 48 samples at 997 Hz: 62 % in Hash Join (ExecScanHashBucket); hottest functions: ExecScanHashBucket 40 %, …" */
function profileNote(a: StoredSpan['attributes']): string | null {
  const samples = num(a[A.profileSamples]);
  if (samples === null || samples === 0) return null;
  const hz = num(a[A.profileHz]);
  const summary = a[A.profileSummary];
  const names = a[A.profileTopSelf];
  const counts = a[A.profileTopSelfSamples];
  // unnamed frames ("[postgres]": static functions of a stripped binary) say nothing on their own
  const hottest = (Array.isArray(names) ? names : [])
    .map((n, i) => ({ name: String(n), n: Array.isArray(counts) ? num(counts[i]) : null }))
    .filter((f) => !f.name.startsWith('[') && f.n !== null)
    .slice(0, 3)
    .map((f) => `${f.name} ${Math.round((100 * f.n!) / samples)} %`);
  // a build without frame pointers: stacks stop at the leaf, the plan nodes above it are not seen
  const whole = num(a[A.profileWholeStacks]);
  const short = whole !== null && whole < samples / 2 ? `stacks stop short (${whole} of ${samples} reach PostgresMain: a build without frame pointers), so plan nodes are partial` : null;
  const parts = [typeof summary === 'string' ? summary : null, hottest.length ? `hottest functions: ${hottest.join(', ')}` : null, short].filter(Boolean);
  return `CPU profile, ${samples} samples${hz === null ? '' : ` at ${hz} Hz`}${parts.length ? `: ${parts.join('; ')}` : ''}`;
}

/** The lines printed under `span`, without indentation. */
export function notes(span: StoredSpan, trace: TraceDetail): string[] {
  if (span.attributes[A.waitEventType] === 'Lock') return [lockNote(span, trace)];
  const cpu = span.isPostgres ? cpuNote(span.attributes) : null;
  const waits = shortWaitsNote(span.attributes);
  const profile = span.isPostgres ? profileNote(span.attributes) : null;
  return [cpu, profile, ...span.usage, waits, aggregateNote(span.attributes)].filter((l): l is string => l !== null);
}
