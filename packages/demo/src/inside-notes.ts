// What happened inside PostgreSQL (docs/inside-execute.md), as the text
// waterfall prints it: a tag after the name of statements and nested
// statements, and note lines under a span — on/off CPU, buffers/WAL as EXPLAIN
// prints them, a phase's short waits, who held a lock, an aggregate's calls.
// Notes are whole lines, never cut to the name column. Only what the span
// carries: what was not measured is not printed.
import type { StoredSpan, TraceDetail } from 'pgferret-collector';
import { ms } from './duration';

type Value = StoredSpan['attributes'][string];

const num = (v: Value | undefined): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
};

export function isWait(span: StoredSpan): boolean {
  return typeof span.attributes['postgresql.wait_event.type'] === 'string';
}

/** "[postgres]", "[nested 2]" (an aggregate's calls are in its notes), or null. */
export function tag(span: StoredSpan): string | null {
  if (span.isPostgres) return '[postgres]';
  const depth = num(span.attributes['postgresql.nesting.depth']);
  if (depth !== null) return `[nested ${depth}]`;
  return span.attributes['pgferret.nested.aggregate'] === true ? '[nested]' : null;
}

/** "×250, total 12.5 ms, 250 rows: nested statements beyond the cap, one span per text" */
function aggregateNote(a: StoredSpan['attributes']): string | null {
  if (a['pgferret.nested.aggregate'] !== true) return null;
  const calls = num(a['pgferret.nested.calls']);
  const total = num(a['pgferret.nested.total_ms']);
  const rows = num(a['db.response.returned_rows']);
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
  const type = a['postgresql.lock.type'] ?? a['postgresql.wait_event.name'];
  const mode = a['postgresql.lock.mode'];
  const relation = a['postgresql.lock.relation.name'] ?? (num(a['postgresql.lock.relation.oid']) === null ? null : `relation ${a['postgresql.lock.relation.oid']}`);
  const pids = Array.isArray(a['postgresql.lock.blocker.pids']) ? a['postgresql.lock.blocker.pids'] : [];
  const holders = pids.map((pid, i) => {
    const link = span.links.find((l) => l.attributes['pgferret.link.type'] === 'lock_blocker' && num(l.attributes['postgresql.backend.pid']) === num(pid));
    const here = link && link.traceId === trace.summary.traceId ? trace.spans.find((s) => s.spanId === link.spanId) : undefined;
    // the query and state are the first blocker's
    const notes = [
      i === 0 && typeof a['postgresql.lock.blocker.query'] === 'string' ? shortQuery(a['postgresql.lock.blocker.query']) : null,
      i === 0 && typeof a['postgresql.lock.blocker.state'] === 'string' ? a['postgresql.lock.blocker.state'] : null,
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
  const on = num(a['pgferret.cpu.on_ms']);
  const off = num(a['pgferret.cpu.off_ms']);
  const nested = num(a['pgferret.nested.count']);
  const aggregated = num(a['pgferret.nested.aggregated']);
  const parts = [
    on === null ? null : `on CPU ${ms(on)}`,
    off === null ? null : `off CPU ${ms(off)}`,
    nested === null ? null : `${nested} nested statements${aggregated ? ` (${aggregated} in aggregates)` : ''}`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : null;
}

function shortWaitsNote(a: StoredSpan['attributes']): string | null {
  const events = a['pgferret.waits.events'];
  if (!Array.isArray(events) || events.length === 0) return null;
  const counts = Array.isArray(a['pgferret.waits.counts']) ? a['pgferret.waits.counts'] : [];
  const totals = Array.isArray(a['pgferret.waits.total_ms']) ? a['pgferret.waits.total_ms'] : [];
  const waits = events.map((e, i) => {
    const total = num(totals[i]);
    return `${String(e)} ×${num(counts[i]) ?? '?'}${total === null ? '' : ` ${ms(total)}`}`;
  });
  return `short waits: ${waits.join(', ')}`;
}

/** The lines printed under `span`, without indentation. */
export function notes(span: StoredSpan, trace: TraceDetail): string[] {
  if (span.attributes['postgresql.wait_event.type'] === 'Lock') return [lockNote(span, trace)];
  const cpu = span.isPostgres ? cpuNote(span.attributes) : null;
  const waits = shortWaitsNote(span.attributes);
  return [cpu, ...span.usage, waits, aggregateNote(span.attributes)].filter((l): l is string => l !== null);
}
