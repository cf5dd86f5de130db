// Pure functions over a trace's spans: tree, depths, self time, categories
// and the Postgres phase breakdown. No DOM here.

export const PHASES = ['parse', 'plan', 'execute', 'commit'];

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
    s.category = category(s, parent);
    const kids = (children.get(s.spanId) ?? []).sort(byStart);
    s.childCount = kids.length;
    s.selfMs = selfTime(s, kids);
    ordered.push(s);
    for (const k of kids) visit(k, depth + 1, s);
  };
  for (const r of roots.sort(byStart)) visit(r, 0, null);
  const totalMs = Math.max(...spans.map((s) => s.offsetMs + s.durationMs), 0.001);
  return { spans: ordered, totalMs };
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
  return span.attributes['db.system.name'] !== undefined || span.attributes['db.system'] !== undefined;
}

export function category(span, parent) {
  if (span.isPostgres) return 'pg-statement';
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
