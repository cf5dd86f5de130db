// The span details of what happens inside a statement (docs/inside-execute.md):
// a wait and, for a lock, who held it; buffers and WAL as EXPLAIN prints them;
// on/off CPU; the short waits of each phase; nested statements. An attribute
// the span lacks was not measured: its line is left out, never shown as 0.
import { fact, formatMs, h } from './dom.js';
import { WAIT_EVENTS } from './wait-events.js';
import { shortWaits } from './waterfall.js';
import { A } from './attributes.js';

const num = (v) => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN);
const has = (v) => Number.isFinite(num(v));

/** Where a span link goes: only the hash within this trace (no reload), else the other trace's page. */
export function spanHref(link, traceId) {
  return link.traceId === traceId ? `#span=${link.spanId}` : `trace.html?id=${link.traceId}#span=${link.spanId}`;
}

function shortQuery(q) {
  const flat = q.replace(/\s+/g, ' ').trim();
  return flat.length > 60 ? `${flat.slice(0, 59)}…` : flat;
}

/** The lock_blocker link of one blocker pid, if its transaction carried a sampled statement. */
function blockerLink(s, pid) {
  return s.links.find((l) => l.attributes?.[A.linkType] === 'lock_blocker' && num(l.attributes[A.backendPid]) === num(pid));
}

/** The links the lock sentence of `s` shows (the panel lists the others). */
export function linksInSentence(s) {
  return s.category === 'pg-wait wait-lock' ? blockerPids(s).map((pid) => blockerLink(s, pid)).filter(Boolean) : [];
}

/** "waited 296 ms for a transactionid lock (ShareLock) held by pid 4711 (`UPDATE …`, idle in transaction, trace 4bf92f35…)" */
function lockSentence(s, traceId) {
  const a = s.attributes;
  const type = a[A.lockType] ?? a[A.waitEventName];
  const mode = a[A.lockMode];
  const relation = a[A.lockRelationName] ?? (has(a[A.lockRelationOid]) ? `relation ${a[A.lockRelationOid]}` : null);
  const pids = blockerPids(s);
  const holders = pids.map((pid, i) => {
    const link = blockerLink(s, pid);
    // the query and state are the first blocker's
    const query = i === 0 ? a[A.lockBlockerQuery] : undefined;
    const state = i === 0 ? a[A.lockBlockerState] : undefined;
    const notes = [
      typeof query === 'string' ? h('code', { class: 'blocker-query', title: query }, shortQuery(query)) : null,
      typeof state === 'string' ? state : null,
      link
        ? h(
            'a',
            { class: 'blocker-link', href: spanHref(link, traceId), title: `the blocker's statement span ${link.spanId} in trace ${link.traceId}` },
            link.traceId === traceId ? 'in this trace' : `trace ${link.traceId.slice(0, 8)}…`,
          )
        : null,
    ].filter(Boolean);
    return [i > 0 ? ', ' : '', String(pid), notes.length ? [' (', notes.flatMap((n, j) => (j > 0 ? [', ', n] : [n])), ')'] : ''];
  });
  return h(
    'p',
    { class: 'wait-sentence lock-sentence' },
    `waited ${formatMs(s.durationMs)} for a ${type ?? 'heavyweight'} lock`,
    mode ? ` (${mode})` : '',
    relation ? ` on ${relation}` : '',
    pids.length
      ? [` held by ${pids.length === 1 ? 'pid' : 'pids'} `, holders]
      : ' held by a backend not named here (the collector names it when it has --postgres-url)',
  );
}

function waitSentence(s) {
  const event = `${s.attributes[A.waitEventType]}:${s.attributes[A.waitEventName]}`;
  const meaning = WAIT_EVENTS[event];
  return h('p', { class: 'wait-sentence' }, `off CPU for ${formatMs(s.durationMs)}: `, h('code', null, event), meaning ? ` — ${meaning}` : '');
}

function cpuFacts(s) {
  const on = num(s.attributes[A.cpuOnMs]);
  const off = num(s.attributes[A.cpuOffMs]);
  if (!Number.isFinite(on) && !Number.isFinite(off)) return null;
  const total = (Number.isFinite(on) ? on : 0) + (Number.isFinite(off) ? off : 0);
  const share = (ms) => (total > 0 ? ` (${((ms / total) * 100).toFixed(0)}%)` : '');
  return [
    h('h3', null, 'On and off CPU'),
    h(
      'div',
      { class: 'facts small cpu-facts' },
      Number.isFinite(on) ? fact('On CPU', `${formatMs(on)}${share(on)}`) : null,
      Number.isFinite(off) ? fact('Off CPU (waiting)', `${formatMs(off)}${share(off)}`) : null,
    ),
    Number.isFinite(on) && Number.isFinite(off) && total > 0
      ? h(
          'div',
          { class: 'phase-bar cpu-bar', role: 'img', 'aria-label': 'on CPU and off CPU' },
          h('span', { class: 'phase-seg cpu-on', style: { flexGrow: String(on) }, title: `on CPU ${formatMs(on)}` }),
          h('span', { class: 'phase-seg cpu-off', style: { flexGrow: String(off) }, title: `off CPU ${formatMs(off)}` }),
        )
      : null,
  ];
}

function usageBlock(s) {
  if (!s.usage?.length) return null;
  return [h('h3', null, 'Buffers and WAL'), h('pre', { class: 'usage' }, s.usage.join('\n'))];
}

/** One row per short wait of each phase: [{ phase, event, count, totalMs }]. */
function shortWaitsTable(phases) {
  const rows = phases.flatMap((p) => shortWaits(p).map((w) => ({ phase: p.name, ...w })));
  if (rows.length === 0) return null;
  const withPhase = phases.length > 1;
  return [
    h('h3', null, 'Short waits'),
    h('p', { class: 'muted small' }, 'under the wait threshold: counted, not drawn as spans'),
    h(
      'table',
      { class: 'attrs short-waits' },
      h('thead', null, h('tr', null, withPhase ? h('th', null, 'phase') : null, h('th', null, 'event'), h('th', { class: 'num' }, 'count'), h('th', { class: 'num' }, 'total'))),
      h(
        'tbody',
        null,
        rows.map((r) =>
          h(
            'tr',
            { title: WAIT_EVENTS[r.event] ?? '' },
            withPhase ? h('td', null, r.phase) : null,
            h('td', null, r.event),
            h('td', { class: 'num' }, Number.isFinite(r.count) ? r.count : '–'),
            h('td', { class: 'num' }, Number.isFinite(r.totalMs) ? formatMs(r.totalMs) : '–'),
          ),
        ),
      ),
    ),
  ];
}

function nestedFacts(s) {
  const a = s.attributes;
  const facts = [
    has(a[A.nestedCount])
      ? fact('Nested statements', `${a[A.nestedCount]}${has(a[A.nestedAggregated]) ? ` (${a[A.nestedAggregated]} folded into aggregates)` : ''}`)
      : null,
    has(a[A.nestingDepth]) ? fact('Nesting depth', a[A.nestingDepth]) : null,
    a[A.nestedAggregate] === true && has(a[A.nestedCalls]) ? fact('Calls', `×${a[A.nestedCalls]}`) : null,
    a[A.nestedAggregate] === true && has(a[A.nestedTotalMs]) ? fact('Total', formatMs(num(a[A.nestedTotalMs]))) : null,
  ].filter(Boolean);
  return facts.length ? h('div', { class: 'facts small nested-facts' }, facts) : null;
}

/** An aggregate span's row texts: calls "×250", "total 12.5 ms", "250 rows" (those it has), or null. */
export function aggregateOf(s) {
  const a = s.attributes;
  if (a[A.nestedAggregate] !== true) return null;
  return {
    calls: has(a[A.nestedCalls]) ? `×${a[A.nestedCalls]}` : 'aggregate',
    total: has(a[A.nestedTotalMs]) ? `total ${formatMs(num(a[A.nestedTotalMs]))}` : null,
    rows: has(a[A.dbResponseReturnedRows]) ? `${a[A.dbResponseReturnedRows]} rows` : null,
  };
}

/** The blocker pids of a lock wait, for its row's badge. */
export function blockerPids(s) {
  const pids = s.attributes[A.lockBlockerPids];
  return Array.isArray(pids) ? pids : [];
}

// why a statement span has no phases, in words (pgferret.detail)
const NO_DETAIL = {
  budget: 'No phases: the collector\'s overhead budget (--max-overhead) kept probes out of this backend while the statement ran. Statements of it get phases in the windows the budget allows.',
  late: 'No phases: the probes of this backend were not in place yet when the statement ran (they are attached after its first sampled statement, or at its start while the overhead budget allows it).',
  off: 'No phases: detail is off (--detail statement, or this kernel refused the phase probes).',
};

/** The sentence saying why statement `s` has no phases, or null when it has them. */
export function noDetailSentence(s) {
  const a = s.attributes;
  if (a[A.phasesUntimed] !== true && a[A.detailShed] === undefined) return null;
  const why = NO_DETAIL[a[A.detailShed]] ?? 'No phases: its backend had no probes while it ran.';
  return h('p', { class: 'no-detail muted' }, why);
}

/** What the details panel shows about the inside of `s`; `children` are its child spans. */
export function insideDetails(s, children, traceId) {
  if (s.category === 'pg-wait wait-lock') return [lockSentence(s, traceId)];
  if (s.category === 'pg-wait') return [waitSentence(s)];
  if (s.isPostgres) return [noDetailSentence(s), cpuFacts(s), nestedFacts(s), usageBlock(s), shortWaitsTable(children.filter((k) => k.category.startsWith('pg-phase')))];
  if (s.category.startsWith('pg-phase')) return [shortWaitsTable([s])];
  if (s.category === 'pg-nested') return [nestedFacts(s)];
  return [];
}
