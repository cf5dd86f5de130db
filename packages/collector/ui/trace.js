// One trace: what took the time, the waterfall, and the selected span's details.
import { SPAN_KINDS, clear, formatMs, formatTime, getJson, h } from './dom.js';
import { SQLSTATE_NAMES } from './sqlstate.js';
import { PHASES, breakdown, buildTree } from './waterfall.js';

const traceId = new URLSearchParams(location.search).get('id') ?? '';
const summaryEl = document.getElementById('summary');
const insightEl = document.getElementById('insight');
const waterfallEl = document.getElementById('waterfall');
const detailsEl = document.getElementById('details');
const errorEl = document.getElementById('error');

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
};

let tree;
let rowsById = new Map();
let selectedId = null;

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
      summary.route ? fact('Route', summary.route) : null,
      fact('Trace id', summary.traceId, 'mono'),
    ),
  );
}

function fact(label, value, cls) {
  return h('div', { class: 'fact' }, h('span', { class: 'label' }, label), h('span', { class: `value ${cls ?? ''}` }, value));
}

function renderInsight(b, totalMs) {
  const parts = [];
  if (b.slowest) {
    const s = b.slowest;
    const stmt = s.category.startsWith('pg-phase') ? tree.spans.find((p) => p.spanId === s.parentSpanId) : null;
    parts.push(
      h(
        'div',
        { class: 'insight-card slowest-card' },
        h('span', { class: 'label' }, 'Most time spent in'),
        h(
          'button',
          { class: 'linklike', onclick: () => select(s.spanId, true) },
          s.name,
          stmt ? ` of ${stmt.name}` : '',
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
      ),
    );
  }
  clear(insightEl).append(...parts);
}

function ticks(totalMs) {
  return h(
    'div',
    { class: 'wf-row wf-axis' },
    h('div', { class: 'wf-label' }, h('span', { class: 'muted' }, 'span')),
    h(
      'div',
      { class: 'wf-track' },
      [0, 0.25, 0.5, 0.75, 1].map((f) =>
        h('span', { class: 'tick', style: { left: `${f * 100}%` } }, formatMs(f * totalMs)),
      ),
    ),
  );
}

function renderWaterfall(slowest) {
  const total = tree.totalMs;
  const legend = [...new Set(tree.spans.map((s) => s.category))].map((c) =>
    h('span', { class: 'legend-item' }, h('i', { class: `swatch ${c}` }), CATEGORY_LABELS[c] ?? c),
  );
  rowsById = new Map();
  const rows = tree.spans.map((s) => {
    const left = (s.offsetMs / total) * 100;
    const width = Math.max((s.durationMs / total) * 100, 0.15);
    const classes = ['wf-row', 'span-row', ...s.category.split(' ')];
    if (s === slowest) classes.push('slowest');
    if (s.statusCode === 2) classes.push('error');
    const durLabel = h('span', { class: 'wf-dur' }, formatMs(s.durationMs));
    const row = h(
      'div',
      {
        class: classes.join(' '),
        'data-span-id': s.spanId,
        'data-name': s.name,
        'data-depth': s.depth,
        tabindex: '0',
        role: 'button',
        onclick: () => select(s.spanId, false),
        onkeydown: (ev) => {
          if (ev.key === 'Enter' || ev.key === ' ') {
            ev.preventDefault();
            select(s.spanId, false);
          }
        },
      },
      h(
        'div',
        { class: 'wf-label', style: { paddingLeft: `${0.4 + s.depth * 1.1}rem` }, title: s.name },
        h('span', { class: 'wf-name' }, s.name || '(unnamed)'),
        h('span', { class: 'wf-service' }, s.service),
        s === slowest ? h('span', { class: 'badge hot', title: 'longest time not spent in child spans' }, 'slowest') : null,
        s.statusCode === 2 ? h('span', { class: 'badge err' }, 'error') : null,
        s.orphan ? h('span', { class: 'badge muted', title: 'its parent span is not stored' }, 'parent missing') : null,
      ),
      h(
        'div',
        { class: 'wf-track' },
        h('span', { class: 'wf-bar', style: { left: `${left}%`, width: `${width}%` } }),
        left + width > 80 ? h('span', { class: 'wf-dur-left', style: { right: `${100 - left}%` } }, durLabel) : h('span', { class: 'wf-dur-right', style: { left: `${left + width}%` } }, durLabel),
      ),
    );
    rowsById.set(s.spanId, row);
    return row;
  });
  clear(waterfallEl).append(h('div', { class: 'legend' }, legend), ticks(total), ...rows);
}

const SQLSTATE_KEYS = new Set(['db.response.status_code', 'error.type']);

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
  const parent = tree.spans.find((p) => p.spanId === s.parentSpanId);
  // the API lays SQL out with the collector's lexer (s.sql), so the UI has no tokenizer of its own
  const sql = s.sql ?? (parent?.isPostgres ? parent.sql : null);
  const sqlOwner = s.sql ? null : parent;
  const { 'db.query.text': _q, 'db.statement': _st, ...rest } = s.attributes;
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
    ),
    sql ? h('h3', null, sqlOwner ? `SQL of ${sqlOwner.name}` : 'SQL') : null,
    sql ? h('pre', { class: 'sql' }, sql) : null,
    s.childCount > 0 && s.isPostgres ? phaseList(s) : null,
    h('h3', null, 'Attributes'),
    attributeTable(rest),
    s.events.length
      ? [
          h('h3', null, 'Events'),
          h(
            'ul',
            { class: 'events' },
            s.events.map((e) =>
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
    h('details', null, h('summary', null, 'Resource'), attributeTable(s.resource)),
    s.scope ? h('p', { class: 'muted small' }, `instrumentation scope: ${s.scope}`) : null,
    ),
  );
}

function phaseList(stmt) {
  const kids = tree.spans.filter((k) => k.parentSpanId === stmt.spanId);
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
  const row = rowsById.get(spanId);
  row.classList.add('selected');
  if (scroll) row.scrollIntoView({ block: 'nearest' });
  history.replaceState(null, '', `?id=${encodeURIComponent(traceId)}#span=${spanId}`);
  renderDetails(span);
}

async function main() {
  try {
    if (!/^[0-9a-f]{32}$/i.test(traceId)) throw new Error('the address needs ?id=<32 hex digit trace id>');
    const detail = await getJson(`api/traces/${traceId}`);
    tree = buildTree(detail.spans);
    const b = breakdown(tree);
    renderSummary(detail.summary);
    renderInsight(b, tree.totalMs);
    renderWaterfall(b.slowest);
    const fromHash = /span=([0-9a-f]{16})/.exec(location.hash)?.[1];
    const firstStatement = tree.spans.filter((s) => s.isPostgres).sort((a, c) => c.durationMs - a.durationMs)[0];
    select(fromHash ?? firstStatement?.spanId ?? b.slowest?.spanId, false);
  } catch (err) {
    errorEl.hidden = false;
    errorEl.textContent = `Could not show trace ${traceId}: ${err.message}`;
  }
}

main();
