// Pure functions over a trace's spans: tree, depths, self time, categories
// and the Postgres phase breakdown. No DOM here.
import { A } from './attributes.js';

export const PHASES = ['parse', 'plan', 'execute', 'commit'];
/** Siblings with the same name, kind of span and service fold into one row from this many on. */
export const GROUP_MIN = 5;

const KIND_SERVER = 2;
const KIND_CLIENT = 3;

/** Orders spans depth-first (children by start time) and annotates each one. */
export function buildTree(spans) {
  const t0 = spans.reduce((min, s) => (BigInt(s.startNs) < min ? BigInt(s.startNs) : min), BigInt(spans[0].startNs));
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const children = new Map();
  const roots = [];
  for (const s of spans) {
    s.offsetMs = Number(BigInt(s.startNs) - t0) / 1e6;
    s.orphan = s.parentSpanId !== null && !byId.has(s.parentSpanId);
    if (s.parentSpanId === null || s.orphan) roots.push(s);
    else {
      if (!children.has(s.parentSpanId)) children.set(s.parentSpanId, []);
      children.get(s.parentSpanId).push(s);
    }
  }
  const byStart = (a, b) => a.offsetMs - b.offsetMs;
  const ordered = [];
  const visit = (s, depth, parent) => {
    s.depth = depth;
    s.parent = parent;
    s.category = category(s, parent);
    const kids = (children.get(s.spanId) ?? []).sort(byStart);
    s.childCount = kids.length;
    s.selfMs = selfTime(s, kids);
    ordered.push(s);
    for (const k of kids) visit(k, depth + 1, s);
    s.items = groupSiblings(kids, s.spanId);
  };
  roots.sort(byStart);
  for (const r of roots) visit(r, 0, null);
  const totalMs = Math.max(...spans.map((s) => s.offsetMs + s.durationMs), 0.001);
  return { spans: ordered, rootItems: groupSiblings(roots, 'root'), totalMs };
}

/**
 * The rows under one parent: spans, and groups of GROUP_MIN or more siblings
 * that repeat (an N+1 loop), placed where their first member starts.
 */
function groupSiblings(kids, parentId) {
  const byKey = new Map();
  for (const k of kids) {
    const key = groupKey(k);
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key).push(k);
  }
  const items = [];
  const placed = new Set();
  for (const k of kids) {
    const members = byKey.get(groupKey(k));
    if (members.length < GROUP_MIN) {
      items.push({ span: k });
      continue;
    }
    if (placed.has(members)) continue;
    placed.add(members);
    const group = summarizeGroup(`${parentId}/${items.length}`, members);
    for (const m of members) m.group = group;
    items.push({ group });
  }
  return items;
}

/**
 * Same name, kind and service; for SQL spans also the same statement
 * fingerprint, which the API computes (@pgferret/sql, the id Top queries and
 * /metrics show): the UI never reads SQL itself.
 */
function groupKey(s) {
  if (s.groupKey === undefined) {
    s.groupKey = `${s.name}\u0000${s.category}\u0000${s.service}\u0000${s.fingerprint ?? ''}`;
  }
  return s.groupKey;
}

function summarizeGroup(id, members) {
  let totalMs = 0;
  let minMs = Infinity;
  let maxMs = 0;
  let endMs = 0;
  let errors = 0;
  for (const m of members) {
    totalMs += m.durationMs;
    minMs = Math.min(minMs, m.durationMs);
    maxMs = Math.max(maxMs, m.durationMs);
    endMs = Math.max(endMs, m.offsetMs + m.durationMs);
    if (m.statusCode === 2) errors++;
  }
  const first = members[0];
  return {
    id,
    name: first.name,
    service: first.service,
    category: first.category,
    depth: first.depth,
    spans: members,
    count: members.length,
    totalMs,
    minMs,
    maxMs,
    meanMs: totalMs / members.length,
    offsetMs: first.offsetMs,
    endMs,
    errors,
  };
}

/**
 * The rows to draw: spans whose ancestors are all expanded, and groups
 * (their members only when the group is open).
 */
export function visibleRows(tree, collapsed, openGroups) {
  const out = [];
  const walkItems = (items) => {
    for (const item of items) {
      if (item.span) walk(item.span);
      else {
        out.push({ group: item.group });
        if (openGroups.has(item.group.id)) for (const m of item.group.spans) walk(m);
      }
    }
  };
  const walk = (s) => {
    out.push({ span: s });
    if (!collapsed.has(s.spanId)) walkItems(s.items);
  };
  walkItems(tree.rootItems);
  return out;
}

/** Opens every ancestor and group on the way to a span so that its row is drawn. */
export function reveal(span, collapsed, openGroups) {
  for (let s = span; s; s = s.parent) {
    if (s.group) openGroups.add(s.group.id);
    if (s !== span) collapsed.delete(s.spanId);
  }
}

/** Duration not covered by any child (children clipped to the parent). */
function selfTime(span, kids) {
  const start = span.offsetMs;
  const end = start + span.durationMs;
  const intervals = kids
    .map((k) => [Math.max(k.offsetMs, start), Math.min(k.offsetMs + k.durationMs, end)])
    .filter(([a, b]) => b > a)
    .sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let curA = -Infinity;
  let curB = -Infinity;
  for (const [a, b] of intervals) {
    if (a > curB) {
      if (curB > curA) covered += curB - curA;
      curA = a;
      curB = b;
    } else if (b > curB) curB = b;
  }
  if (curB > curA) covered += curB - curA;
  return Math.max(span.durationMs - covered, 0);
}

function isDb(span) {
  return span.attributes[A.dbSystemName] !== undefined || span.attributes['db.system'] !== undefined;
}

export function category(span, parent) {
  if (span.isPostgres) return 'pg-statement';
  // docs/inside-execute.md: waits and nested statements are told by their attributes, wherever they hang
  const waitType = span.attributes[A.waitEventType];
  if (typeof waitType === 'string') return waitType === 'Lock' ? 'pg-wait wait-lock' : 'pg-wait';
  if (span.attributes[A.nestingDepth] !== undefined || span.attributes[A.nestedAggregate] === true) return 'pg-nested';
  if (parent?.isPostgres && PHASES.includes(span.name)) return `pg-phase phase-${span.name}`;
  if (parent?.isPostgres) return 'pg-other';
  if (span.kind === KIND_CLIENT && isDb(span)) return 'db-client';
  if (span.kind === KIND_SERVER) return 'server';
  if (span.kind === KIND_CLIENT) return 'client';
  return 'internal';
}

/** Where the time of the trace went: Postgres statements and their phases. */
export function breakdown(tree) {
  const phases = Object.fromEntries(PHASES.map((p) => [p, 0]));
  let postgresMs = 0;
  let statements = 0;
  for (const s of tree.spans) {
    if (s.category === 'pg-statement') {
      postgresMs += s.durationMs;
      statements++;
    }
    const phase = /^pg-phase phase-(\w+)$/.exec(s.category)?.[1];
    if (phase) phases[phase] += s.durationMs;
  }
  const slowest = tree.spans.reduce((best, s) => (s.selfMs > (best?.selfMs ?? -1) ? s : best), null);
  return { postgresMs, statements, phases, slowest };
}

/** The PostgreSQL statement a span is part of (a phase, wait or nested statement), or null. */
export function statementOf(span) {
  for (let p = span.parent; p; p = p.parent) if (p.isPostgres) return p;
  return null;
}

/** The waits under the threshold that a phase span sums up: [{ event, count, totalMs }]. */
export function shortWaits(span) {
  const a = span.attributes;
  const events = a[A.waitsEvents];
  if (!Array.isArray(events)) return [];
  const counts = a[A.waitsCounts] ?? [];
  const totals = a[A.waitsTotalMs] ?? [];
  return events.map((event, i) => ({ event: String(event), count: Number(counts[i]), totalMs: Number(totals[i]) }));
}

/** Off-CPU time of the whole trace per wait event, wait spans and short waits together, longest first. */
export function waitTotals(tree) {
  const byEvent = new Map();
  const add = (event, count, ms) => {
    const t = byEvent.get(event) ?? { event, count: 0, totalMs: 0 };
    t.count += count;
    t.totalMs += ms;
    byEvent.set(event, t);
  };
  for (const s of tree.spans) {
    if (s.category.startsWith('pg-wait')) add(`${s.attributes[A.waitEventType]}:${s.attributes[A.waitEventName]}`, 1, s.durationMs);
    for (const w of shortWaits(s)) add(w.event, w.count, w.totalMs);
  }
  return [...byEvent.values()].sort((a, b) => b.totalMs - a.totalMs);
}

/** The statement text a span carries (masked by the collector unless --raw-query-text), for grouping and search. */
export function sqlOf(span) {
  const text = span.attributes[A.dbQueryText] ?? span.attributes['db.statement'];
  return typeof text === 'string' ? text : null;
}
