// One trace: what took the time, the waterfall, and the selected span's details.
import { SPAN_KINDS, clear, fact, formatMs, formatTime, getJson, h } from './dom.js';
import { SQLSTATE_NAMES } from './sqlstate.js';
import { PHASES, breakdown, buildTree, reveal, sqlOf, statementOf, visibleRows, waitTotals } from './waterfall.js';
import { aggregateOf, blockerPids, insideDetails, linksInSentence, spanHref } from './inside.js';
import { showCollectorState } from './collector-state.js';
import { missingPostgresCard } from './missing-postgres.js';
import { A } from './attributes.js';
import { PROFILE_EVENT, profileSection } from './flame-graph.js';

const traceId = new URLSearchParams(location.search).get('id') ?? '';
const summaryEl = document.getElementById('summary');
const insightEl = document.getElementById('insight');
const waterfallEl = document.getElementById('waterfall');
const detailsEl = document.getElementById('details');
const errorEl = document.getElementById('error');
const splitEl = document.getElementById('split');
// Below this width the details panel opens under the clicked row, as in Jaeger.
const narrow = window.matchMedia('(max-width: 1100px)');

const CATEGORY_LABELS = {
  server: 'HTTP / server',
  'db-client': 'pg client',
  'pg-statement': 'PostgreSQL statement',
  'pg-phase phase-parse': 'parse',
  'pg-phase phase-plan': 'plan',
  'pg-phase phase-execute': 'execute',
  'pg-phase phase-commit': 'commit',
  internal: 'internal',
  client: 'client',
  'pg-other': 'PostgreSQL (other)',
  'pg-wait': 'wait (off CPU)',
  'pg-wait wait-lock': 'lock wait',
  'pg-nested': 'nested statement',
};

let tree;
let slowestSpan = null;
let rowsById = new Map();
let selectedId = null;
/** Spans whose subtree is hidden, and repeated-statement groups shown open. */
const collapsed = new Set();
const openGroups = new Set();
const rowsEl = h('div', { class: 'wf-rows' });
const axisEl = h('div', { class: 'wf-axis-slot' });
let view = { from: 0, to: 1 };
const findCount = h('span', { class: 'muted small', id: 'find-count' });
const find = { text: '', hits: [], hitIds: new Set(), index: -1 };

function pct(part, whole) {
  return whole > 0 ? `${((part / whole) * 100).toFixed(0)}%` : '–';
}

function renderSummary(summary) {
  document.title = `pgferret · ${summary.rootName}`;
  clear(summaryEl).append(
    h('h1', null, summary.rootName || '(unnamed)'),
    h(
      'div',
      { class: 'facts' },
      fact('Service', summary.rootService),
      fact('Duration', formatMs(summary.durationMs)),
      fact('Started', formatTime(summary.startMs)),
      fact('Spans', summary.spanCount),
      fact('PostgreSQL spans', summary.pgSpanCount),
      fact('Errors', summary.errorCount, summary.errorCount ? 'err' : null),
      summary.httpStatus ? fact('HTTP status', summary.httpStatus, summary.httpStatus >= 500 ? 'err' : null) : null,
      summary.route ? fact('Route', summary.route) : null,
      fact('Trace id', summary.traceId, 'mono'),
    ),
  );
}

function renderInsight(b, totalMs) {
  const parts = [];
  if (b.slowest) {
    const s = b.slowest;
    const stmt = statementOf(s);
    parts.push(
      h(
        'div',
        { class: 'insight-card slowest-card' },
        h('span', { class: 'label' }, 'Most time spent in'),
        h(
          'button',
          { class: 'linklike', onclick: () => select(s.spanId, true) },
          s.name,
          stmt ? `${s.category.startsWith('pg-phase') ? ' of' : ' in'} ${stmt.name}` : '',
        ),
        h('span', { class: 'big' }, formatMs(s.selfMs)),
        h('span', { class: 'muted' }, `${pct(s.selfMs, totalMs)} of the trace, not counting its children · ${s.service}`),
      ),
    );
  }
  if (b.statements > 0) {
    const phaseTotal = PHASES.reduce((a, p) => a + b.phases[p], 0);
    parts.push(
      h(
        'div',
        { class: 'insight-card pg-card' },
        h('span', { class: 'label' }, 'Inside PostgreSQL'),
        h('span', { class: 'big' }, formatMs(b.postgresMs)),
        h(
          'span',
          { class: 'muted' },
          `${pct(b.postgresMs, totalMs)} of the trace · ${b.statements} statement${b.statements === 1 ? '' : 's'}`,
        ),
        phaseTotal > 0
          ? h(
              'div',
              { class: 'phase-bar', role: 'img', 'aria-label': 'PostgreSQL phase breakdown' },
              PHASES.filter((p) => b.phases[p] > 0).map((p) =>
                h('span', {
                  class: `phase-seg phase-${p}`,
                  style: { flexGrow: String(b.phases[p]) },
                  title: `${p}: ${formatMs(b.phases[p])}`,
                }),
              ),
            )
          : null,
        phaseTotal > 0
          ? h(
              'div',
              { class: 'phase-legend' },
              PHASES.filter((p) => b.phases[p] > 0).map((p) =>
                h('span', { class: 'phase-key' }, h('i', { class: `swatch phase-${p}` }), `${p} ${formatMs(b.phases[p])}`),
              ),
            )
          : null,
        insideLines(),
      ),
    );
  }
  const repeated = biggestGroup();
  if (repeated) {
    parts.push(
      h(
        'div',
        { class: 'insight-card repeat-card' },
        h('span', { class: 'label' }, 'Repeated statement (N+1?)'),
        h('button', { class: 'linklike', onclick: () => select(repeated.spans[0].spanId, true) }, `${repeated.name} ×${repeated.count}`),
        h('span', { class: 'big' }, formatMs(repeated.totalMs)),
        h('span', { class: 'muted' }, `${pct(repeated.totalMs, totalMs)} of the trace in one loop · min ${formatMs(repeated.minMs)} · max ${formatMs(repeated.maxMs)} · one query with IN (…) or a join would do`),
      ),
    );
  }
  clear(insightEl).append(...parts);
  if (b.statements === 0 && tree.spans.some((s) => s.category === 'db-client')) {
    missingPostgresCard(tree.spans.filter((s) => s.category === 'db-client')).then((card) => insightEl.append(card));
  }
}

/** On/off CPU of the statements that measured it, and the wait events that took the most time. */
function insideLines() {
  let on = 0;
  let off = 0;
  let measured = false;
  for (const s of tree.spans) {
    if (s.category !== 'pg-statement' || s.attributes[A.cpuOnMs] === undefined) continue;
    measured = true;
    on += Number(s.attributes[A.cpuOnMs]);
    off += Number(s.attributes[A.cpuOffMs] ?? 0);
  }
  const waits = waitTotals(tree).slice(0, 3);
  return [
    measured ? h('span', { class: 'muted cpu-line' }, `on CPU ${formatMs(on)} · off CPU ${formatMs(off)}`) : null,
    waits.length
      ? h('span', { class: 'muted waits-line' }, `waited in ${waits.map((w) => `${w.event} ${formatMs(w.totalMs)}${w.count > 1 ? ` (${w.count}×)` : ''}`).join(' · ')}`)
      : null,
  ];
}

/** The group of repeated siblings that takes the most time, if any; waits are not statements. */
function biggestGroup() {
  let best = null;
  for (const s of tree.spans) if (s.group && !s.group.category.startsWith('pg-wait') && (!best || s.group.totalMs > best.totalMs)) best = s.group;
  return best;
}

function ticks() {
  const { from, to } = view;
  return h(
    'div',
    { class: 'wf-row wf-axis' },
    h(
      'div',
      { class: 'wf-label' },
      h('span', { class: 'muted' }, 'span'),
      zoomed() ? h('button', { class: 'secondary small', id: 'zoom-reset', onclick: () => zoom(null) }, 'Whole trace') : null,
    ),
    h('div', { class: 'wf-dur muted' }, 'duration'),
    h(
      'div',
      { class: 'wf-track' },
      [0, 0.25, 0.5, 0.75, 1].map((f) =>
        h(
          'span',
          { class: 'tick', style: { left: `${f * 100}%` } },
          // Zoomed in, absolute times would all read the same: offsets from the view's start instead.
          f > 0 && zoomed() ? `+${formatMs(f * (to - from))}` : formatMs(from + f * (to - from)),
        ),
      ),
    ),
  );
}

// The time axis shows [from, to] of the trace (ms from its start): all of it,
// or one span zoomed to. Bars outside are clipped by the track.
function zoomed() {
  return view.from > 0 || view.to < tree.totalMs;
}

function zoom(span) {
  view = span ? { from: span.offsetMs, to: span.offsetMs + Math.max(span.durationMs, 0.001) } : { from: 0, to: tree.totalMs };
  axisEl.replaceChildren(ticks());
  renderWaterfall();
}

function pctOfView(ms) {
  return ((ms - view.from) / (view.to - view.from)) * 100;
}

function httpStatusOf(s) {
  const v = s.attributes['http.response.status_code'] ?? s.attributes['http.status_code'];
  return v === undefined ? null : Number(v);
}

function statusBadge(code) {
  const cls = code >= 500 ? 'err' : code >= 400 ? 'warn' : 'ok';
  return h('span', { class: `badge http ${cls}`, title: `HTTP status ${code}` }, code);
}

function toggle(label, open, onclick) {
  return h(
    'button',
    { class: 'wf-toggle', 'aria-expanded': String(open), title: `${open ? 'collapse' : 'expand'} ${label}`, onclick },
    open ? '▾' : '▸',
  );
}

function onActivate(fn) {
  return {
    tabindex: '0',
    role: 'button',
    onclick: fn,
    onkeydown: (ev) => {
      if (ev.target === ev.currentTarget && (ev.key === 'Enter' || ev.key === ' ')) {
        ev.preventDefault();
        fn();
      }
    },
  };
}

function bar(offsetMs, durationMs) {
  const left = pctOfView(offsetMs);
  const width = Math.max((durationMs / (view.to - view.from)) * 100, 0.15);
  return h('span', { class: 'wf-bar', style: { left: `${left}%`, width: `${width}%` } });
}

function nameMinWidth(name) {
  return `min(${Math.min(name.length, 22)}ch, 55%)`;
}

function spanRow(s) {
  const classes = ['wf-row', 'span-row', ...s.category.split(' ')];
  if (s === slowestSpan) classes.push('slowest');
  if (s.statusCode === 2) classes.push('error');
  if (s.group) classes.push('in-group');
  if (aggregateOf(s)) classes.push('aggregate');
  const status = s.kind === 2 ? httpStatusOf(s) : null;
  const open = !collapsed.has(s.spanId);
  const row = h(
    'div',
    {
      class: classes.join(' '),
      'data-span-id': s.spanId,
      'data-name': s.name,
      'data-depth': s.depth,
      ...onActivate(() => select(s.spanId, false)),
    },
    h(
      'div',
      { class: 'wf-label', style: { paddingLeft: `${0.3 + s.depth * 1.1}rem` }, title: rowTitle(s) },
      s.childCount > 0
        ? toggle(s.name, open, (ev) => {
            ev.stopPropagation();
            if (open) collapsed.add(s.spanId);
            else collapsed.delete(s.spanId);
            renderWaterfall();
          })
        : h('span', { class: 'wf-toggle-space' }),
      nameOf(s),
      // Jaeger-like rows, less repetition: the service only where it changes.
      s.service !== s.parent?.service ? h('span', { class: 'wf-service' }, s.service) : null,
      h(
        'span',
        { class: 'wf-badges' },
        status ? statusBadge(status) : null,
        s === slowestSpan ? h('span', { class: 'badge hot', title: 'longest time not spent in child spans' }, 'slowest') : null,
        s.statusCode === 2 ? h('span', { class: 'badge err', title: 'status: error' }, 'error') : null,
        s.orphan ? h('span', { class: 'badge muted', title: 'its parent span is not stored' }, 'no parent') : null,
        depthBadge(s),
      ),
    ),
    h('div', { class: 'wf-dur' }, formatMs(s.durationMs)),
    h('div', { class: 'wf-track' }, bar(s.offsetMs, s.durationMs)),
  );
  rowsById.set(s.spanId, row);
  return row;
}

/** The name; an aggregate of nested statements reads like a repeated-statement group: ×N over its total. */
function nameOf(s) {
  const name = h('span', { class: 'wf-name', style: { minWidth: nameMinWidth(s.name) } }, s.name || '(unnamed)');
  const agg = aggregateOf(s);
  if (!agg) return name;
  return h(
    'span',
    { class: 'group-text', title: 'nested statements beyond the cap, folded into one span per text' },
    h('span', { class: 'group-head' }, name, h('span', { class: 'badge count aggregate' }, agg.calls)),
    h('span', { class: 'group-stats' }, [agg.total, agg.rows].filter(Boolean).join(' · ')),
  );
}

function depthBadge(s) {
  const depth = s.attributes[A.nestingDepth];
  if (depth === undefined) return null;
  return h('span', { class: 'badge muted depth', title: 'nesting depth: 1 = run by the statement, 2 = by a statement that one ran, …' }, `depth ${depth}`);
}

/** The row's tooltip; a lock wait's names who held the lock (the details say more). */
function rowTitle(s) {
  const pids = s.category === 'pg-wait wait-lock' ? blockerPids(s) : [];
  return `${s.name} · ${s.service}${pids.length ? ` · held by pid ${pids.join(', ')}` : ''}`;
}

function groupRow(g) {
  const open = openGroups.has(g.id);
  const flip = () => {
    if (open) openGroups.delete(g.id);
    else openGroups.add(g.id);
    renderWaterfall();
  };
  const marks = g.spans.slice(0, 1000).map((m) => bar(m.offsetMs, m.durationMs));
  return h(
    'div',
    {
      class: `wf-row group-row ${g.category} ${g.errors ? 'error' : ''}`,
      'data-group-id': g.id,
      'data-name': g.name,
      'data-count': g.count,
      'aria-expanded': String(open),
      ...onActivate(flip),
    },
    h(
      'div',
      { class: 'wf-label', style: { paddingLeft: `${0.3 + g.depth * 1.1}rem` }, title: `${g.count} × ${g.name} · ${g.service}` },
      toggle(`${g.count} × ${g.name}`, open, (ev) => {
        ev.stopPropagation();
        flip();
      }),
      h(
        'span',
        { class: 'group-text' },
        h('span', { class: 'group-head' }, h('span', { class: 'wf-name' }, g.name), h('span', { class: 'badge count' }, `×${g.count}`), g.errors ? h('span', { class: 'badge err' }, `${g.errors} error${g.errors === 1 ? '' : 's'}`) : null),
        h('span', { class: 'group-stats' }, `total ${formatMs(g.totalMs)} · min ${formatMs(g.minMs)} · max ${formatMs(g.maxMs)}`),
      ),
    ),
    h('div', { class: 'wf-dur', title: 'sum of the group' }, `Σ ${formatMs(g.totalMs)}`),
    h('div', { class: 'wf-track group-track' }, h('span', { class: 'group-span', style: { left: `${pctOfView(g.offsetMs)}%`, width: `${Math.max(pctOfView(g.endMs) - pctOfView(g.offsetMs), 0.15)}%` } }), marks),
  );
}

function expandAll() {
  collapsed.clear();
  for (const s of tree.spans) if (s.group) openGroups.add(s.group.id);
  renderWaterfall();
}

function collapseAll() {
  for (const s of tree.spans) if (s.childCount > 0) collapsed.add(s.spanId);
  openGroups.clear();
  renderWaterfall();
}

function toolbar() {
  const grouped = tree.spans.filter((s) => s.group).length;
  return h(
    'div',
    { class: 'wf-toolbar' },
    h('button', { class: 'secondary small', id: 'expand-all', onclick: expandAll }, 'Expand all'),
    h('button', { class: 'secondary small', id: 'collapse-all', onclick: collapseAll }, 'Collapse all'),
    h('span', { class: 'muted small' }, `${tree.spans.length} spans${grouped ? ` · ${grouped} in repeated-statement groups` : ''}`),
    h(
      'span',
      { class: 'find' },
      h('input', {
        id: 'find',
        type: 'search',
        placeholder: 'find: name, service, SQL',
        'aria-label': 'find in this trace',
        oninput: (ev) => onFind(ev.target.value),
        onkeydown: (ev) => {
          if (ev.key === 'Enter') {
            ev.preventDefault();
            nextFound();
          }
        },
      }),
      findCount,
    ),
  );
}

/** Toolbar, legend and axis: drawn once, so the find box keeps its focus while rows change. */
function renderWaterfallFrame() {
  const legend = [...new Set(tree.spans.map((s) => s.category))].map((c) =>
    h('span', { class: 'legend-item' }, h('i', { class: `swatch ${c}` }), CATEGORY_LABELS[c] ?? c),
  );
  axisEl.replaceChildren(ticks());
  // Toolbar, legend and axis stay on screen while the rows scroll under them.
  clear(waterfallEl).append(h('div', { class: 'wf-head' }, toolbar(), h('div', { class: 'legend' }, legend), axisEl), rowsEl);
}

function renderWaterfall() {
  rowsById = new Map();
  const rows = visibleRows(tree, collapsed, openGroups).map((r) => (r.span ? spanRow(r.span) : groupRow(r.group)));
  clear(rowsEl).append(...rows);
  rowsById.get(selectedId)?.classList.add('selected');
  markFound();
  placeDetails();
}

// Find in the trace (Jaeger's "Find…"): matching rows are marked, the others
// dimmed; Enter goes to the next match, opening what hides it.
function spanMatches(s, q) {
  return s.name.toLowerCase().includes(q) || s.service.toLowerCase().includes(q) || (sqlOf(s) ?? '').toLowerCase().includes(q);
}

function markFound() {
  const q = find.text;
  rowsEl.classList.toggle('finding', q !== '');
  for (const [id, row] of rowsById) row.classList.toggle('match', q !== '' && find.hits.some((s) => s.spanId === id));
  for (const row of rowsEl.querySelectorAll('.group-row')) {
    const group = tree.spans.find((s) => s.group?.id === row.dataset.groupId)?.group;
    row.classList.toggle('match', q !== '' && group.spans.some((m) => find.hitIds.has(m.spanId)));
  }
  findCount.textContent = q === '' ? '' : `${find.hits.length} match${find.hits.length === 1 ? '' : 'es'}`;
}

function onFind(text) {
  find.text = text.trim().toLowerCase();
  find.hits = find.text === '' ? [] : tree.spans.filter((s) => spanMatches(s, find.text));
  find.hitIds = new Set(find.hits.map((s) => s.spanId));
  find.index = -1;
  markFound();
}

function nextFound() {
  if (find.hits.length === 0) return;
  find.index = (find.index + 1) % find.hits.length;
  select(find.hits[find.index].spanId, true);
}

/** Side panel when there is room; otherwise right under the selected row. */
function placeDetails() {
  const row = rowsById.get(selectedId);
  if (narrow.matches && row) {
    detailsEl.classList.add('inline');
    row.after(detailsEl);
  } else {
    detailsEl.classList.remove('inline');
    if (detailsEl.parentElement !== splitEl) splitEl.append(detailsEl);
  }
}

const SQLSTATE_KEYS = new Set([A.dbResponseStatusCode, A.errorType]);

function valueText(k, v) {
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  // a SQLSTATE reads better with PostgreSQL's condition name: 22012 (division_by_zero)
  return SQLSTATE_KEYS.has(k) && SQLSTATE_NAMES[text] ? `${text} (${SQLSTATE_NAMES[text]})` : text;
}

function attributeTable(attrs) {
  const keys = Object.keys(attrs).sort();
  if (keys.length === 0) return h('p', { class: 'muted' }, 'none');
  return h(
    'table',
    { class: 'attrs' },
    h(
      'tbody',
      null,
      keys.map((k) => h('tr', null, h('th', null, k), h('td', null, valueText(k, attrs[k])))),
    ),
  );
}

function renderDetails(s) {
  // the API lays SQL out with the collector's lexer (s.sql), so the UI has no tokenizer of its own
  const sqlOwner = s.sql ? null : statementOf(s);
  const sql = s.sql ?? sqlOwner?.sql ?? null;
  const children = tree.spans.filter((k) => k.parentSpanId === s.spanId);
  const inSentence = linksInSentence(s);
  const links = s.links.filter((l) => !inSentence.includes(l));
  // the profile is drawn as a flame graph, not listed
  const events = s.events.filter((e) => e.name !== PROFILE_EVENT);
  const inside = insideDetails(s, children, traceId);
  // a wait's sentence is what the panel is for: it comes first
  const isWait = s.category.startsWith('pg-wait');
  const { [A.dbQueryText]: _q, 'db.statement': _st, [A.queryId]: queryId, ...rest } = s.attributes;
  clear(detailsEl).append(
    h(
    'div',
    { class: 'details-body' },
    h('h2', null, s.name || '(unnamed)'),
    h(
      'div',
      { class: 'facts small' },
      fact('Service', s.service),
      fact('Kind', SPAN_KINDS[s.kind] ?? s.kind),
      fact('Duration', formatMs(s.durationMs)),
      fact('Self time', formatMs(s.selfMs)),
      fact('Starts at', `+${formatMs(s.offsetMs)}`),
      s.statusCode === 2 ? fact('Status', `error${s.statusMessage ? `: ${s.statusMessage}` : ''}`, 'err') : null,
      fact('Span id', s.spanId, 'mono'),
      // PostgreSQL's own: joins with pg_stat_statements.queryid
      queryId !== undefined ? fact('Query id', String(queryId), 'mono') : null,
    ),
    isWait ? inside : null,
    h('button', { class: 'secondary small', id: 'zoom-span', onclick: () => zoom(s) }, 'Zoom the time axis to this span'),
    sql ? h('h3', null, sqlOwner ? `SQL of ${sqlOwner.name}` : 'SQL') : null,
    sql ? h('pre', { class: 'sql' }, sql) : null,
    s.isPostgres ? phaseList(s, children) : null,
    s.isPostgres ? profileSection(s) : null,
    isWait ? null : inside,
    h('h3', null, 'Attributes'),
    attributeTable(rest),
    events.length
      ? [
          h('h3', null, 'Events'),
          h(
            'ul',
            { class: 'events' },
            events.map((e) =>
              h(
                'li',
                null,
                h('strong', null, e.name),
                ' ',
                h('span', { class: 'muted' }, `+${formatMs(Number(BigInt(e.timeNs) - BigInt(s.startNs)) / 1e6)}`),
                attributeTable(e.attributes),
              ),
            ),
          ),
        ]
      : null,
    links.length ? [h('h3', null, 'Links'), h('ul', { class: 'links' }, links.map((l) => h('li', null, linkTo(l))))] : null,
    h('details', null, h('summary', null, 'Resource'), attributeTable(s.resource)),
    s.scope ? h('p', { class: 'muted small' }, `instrumentation scope: ${s.scope}`) : null,
    ),
  );
}

function linkTo(l) {
  const type = l.attributes?.[A.linkType];
  return [
    h('a', { href: spanHref(l, traceId) }, l.traceId === traceId ? `span ${l.spanId}` : `trace ${l.traceId.slice(0, 8)}… span ${l.spanId}`),
    type ? h('span', { class: 'muted' }, ` ${type}`) : null,
  ];
}

function phaseList(stmt, children) {
  const kids = children.filter((k) => k.category.startsWith('pg-phase'));
  if (kids.length === 0) return null;
  return [
    h('h3', null, 'Phases'),
    h(
      'table',
      { class: 'attrs phases' },
      h(
        'tbody',
        null,
        kids.map((k) =>
          h(
            'tr',
            null,
            h('th', null, h('i', { class: `swatch ${k.category}` }), k.name),
            h('td', null, `${formatMs(k.durationMs)} (${pct(k.durationMs, stmt.durationMs)})`),
          ),
        ),
      ),
    ),
  ];
}

function select(spanId, scroll) {
  const span = tree.spans.find((s) => s.spanId === spanId);
  if (!span) return;
  rowsById.get(selectedId)?.classList.remove('selected');
  selectedId = spanId;
  if (!rowsById.has(spanId)) {
    reveal(span, collapsed, openGroups);
    renderWaterfall();
  }
  const row = rowsById.get(spanId);
  row.classList.add('selected');
  renderDetails(span);
  placeDetails();
  if (scroll) row.scrollIntoView({ block: 'center' });
  history.replaceState(null, '', `?id=${encodeURIComponent(traceId)}#span=${spanId}`);
}

async function main() {
  try {
    if (!/^[0-9a-f]{32}$/i.test(traceId)) throw new Error('the address needs ?id=<32 hex digit trace id>');
    const detail = await getJson(`api/traces/${traceId}`);
    tree = buildTree(detail.spans);
    const b = breakdown(tree);
    slowestSpan = b.slowest;
    renderSummary(detail.summary);
    renderInsight(b, tree.totalMs);
    view = { from: 0, to: tree.totalMs };
    renderWaterfallFrame();
    renderWaterfall();
    const fromHash = /span=([0-9a-f]{16})/.exec(location.hash)?.[1];
    // The longest statement already on screen: a default must not open a folded group.
    const firstStatement = tree.spans.filter((s) => s.isPostgres && rowsById.has(s.spanId)).sort((a, c) => c.durationMs - a.durationMs)[0];
    select(fromHash ?? firstStatement?.spanId ?? tree.spans[0].spanId, Boolean(fromHash));
  } catch (err) {
    errorEl.hidden = false;
    errorEl.textContent = `Could not show trace ${traceId}: ${err.message}`;
  }
}

// Tree keys, as in a file tree: ↑/↓ move between rows, ←/→ collapse/expand.
rowsEl.addEventListener('keydown', (ev) => {
  const row = ev.target.closest?.('.wf-row');
  if (!row || ev.target.tagName === 'BUTTON') return;
  if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
    const rows = [...rowsEl.querySelectorAll('.wf-row')];
    const next = rows[rows.indexOf(row) + (ev.key === 'ArrowDown' ? 1 : -1)];
    if (next) {
      ev.preventDefault();
      next.focus();
    }
  } else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight') {
    const toggleButton = row.querySelector('.wf-toggle');
    const open = toggleButton?.getAttribute('aria-expanded') === 'true';
    if (toggleButton && open === (ev.key === 'ArrowLeft')) {
      ev.preventDefault();
      const key = row.dataset.spanId ? `[data-span-id="${row.dataset.spanId}"]` : `[data-group-id="${row.dataset.groupId}"]`;
      toggleButton.click();
      rowsEl.querySelector(key)?.focus();
    }
  }
});
const lastList = sessionStorage.getItem('pgferret.lastList');
if (lastList) document.getElementById('back').href = `./?${lastList}`;
narrow.addEventListener('change', placeDetails);
// A link to another span of the same trace changes only the hash.
window.addEventListener('hashchange', () => {
  const id = /span=([0-9a-f]{16})/.exec(location.hash)?.[1];
  if (tree && id && id !== selectedId) select(id, true);
});
showCollectorState(document.getElementById('collector'));
main();
