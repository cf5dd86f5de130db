// Top queries: per statement fingerprint over a time range, sortable, each row
// opening onto its slowest statements, the traces they belong to, and the CPU
// profile merged over those executions.
import { clear, formatMs, formatTime, getJson, h } from './dom.js';
import { FLAME_HELP, flameGraph, shortStacks } from './flame-graph.js';
import { showCollectorState } from './collector-state.js';
import { rangeControls, rangeQuery } from './time-range.js';

const rows = document.getElementById('rows');
const empty = document.getElementById('empty');
const errorBox = document.getElementById('error');
const totals = document.getElementById('totals');
const form = document.getElementById('filters');

const params = () => new URLSearchParams(location.search);
const range = rangeControls(params(), () => navigate({}));
document.getElementById('range-slot').replaceWith(range.element);
form.addEventListener('submit', (ev) => ev.preventDefault());

function navigate({ sort }) {
  const p = new URLSearchParams();
  range.write(p);
  const s = sort ?? params().get('sort');
  if (s && s !== 'total') p.set('sort', s);
  history.pushState(null, '', p.toString() ? `?${p}` : location.pathname);
  load();
}

function showError(err) {
  errorBox.hidden = !err;
  errorBox.textContent = err ? `Could not load top queries: ${err.message}` : '';
}

function pct(share) {
  return `${(share * 100).toFixed(share >= 0.1 ? 0 : 1)}%`;
}

/** How many of a fingerprint's slowest executions its merged profile is made of. */
const PROFILED_SLOWEST = 10;

/** Where the fingerprint's CPU time went over its slowest executions: their profiles merged. */
function mergedProfile(m) {
  const head = h('h3', null, `Where its CPU time went (its ${m.statements === 1 ? 'slowest execution' : `${m.statements} slowest executions`}, merged)`);
  if (m.profiled === 0) {
    return [head, h('p', { class: 'muted small merged-profile-none' }, `None of its ${m.statements} slowest executions has a CPU profile (the collector runs with --profile-hz 0, the kernel refused the profile, or they ran on backends not yet armed).`)];
  }
  const { box } = flameGraph(m.folded, { 'data-merged-profile': '' });
  return [
    head,
    h(
      'p',
      { class: 'flame-summary merged-profile-summary' },
      m.summary ? h('strong', null, m.summary) : null,
      m.summary ? ' · ' : null,
      `${m.samples} samples from ${m.profiled} of its ${m.statements} slowest executions`,
      m.truncated ? ' · lighter stacks left out' : null,
      shortStacks(m.whole, m.samples),
    ),
    box,
    h('p', { class: 'muted small' }, FLAME_HELP),
  ];
}

async function slowest(q, cell) {
  const p = rangeQuery(params());
  p.set('limit', '5');
  const pp = rangeQuery(params());
  pp.set('limit', String(PROFILED_SLOWEST));
  try {
    const [{ statements }, profile] = await Promise.all([
      getJson(`api/top-queries/${q.fingerprint}/slowest?${p}`),
      getJson(`api/top-queries/${q.fingerprint}/profile?${pp}`),
    ]);
    clear(cell).append(
      h('h3', null, 'Slowest in this range'),
      h(
        'ul',
        { class: 'slowest-list' },
        statements.map((s) =>
          h(
            'li',
            null,
            h('a', { href: `trace.html?id=${s.traceId}#span=${s.spanId}` }, formatMs(s.durationMs)),
            ` · ${formatTime(s.startMs)} · in `,
            h('strong', null, s.rootName || '(unnamed)'),
            ' · trace ',
            h('span', { class: 'mono' }, s.traceId.slice(0, 12) + '…'),
            s.isError ? h('span', { class: 'badge err' }, 'error') : null,
          ),
        ),
      ),
      ...mergedProfile(profile),
    );
  } catch (err) {
    clear(cell).append(h('p', { class: 'error' }, `Could not load the slowest statements: ${err.message}`));
  }
}

function row(q) {
  const detail = h('tr', { class: 'query-detail', hidden: true }, h('td', { colspan: '9' }, 'loading…'));
  const main = h(
    'tr',
    {
      class: `query-row ${q.errors ? 'has-error' : ''}`,
      'data-fingerprint': q.fingerprint,
      tabindex: '0',
      'aria-expanded': 'false',
      onclick: () => flip(),
      onkeydown: (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') {
          ev.preventDefault();
          flip();
        }
      },
    },
    h('td', { class: 'query-text' }, h('code', { title: q.text }, q.text || '(no text)')),
    h('td', { class: 'num calls' }, q.calls.toLocaleString()),
    h('td', { class: 'num total' }, formatMs(q.totalMs)),
    h('td', { class: 'num mean' }, formatMs(q.meanMs)),
    h('td', { class: 'num p95' }, formatMs(q.p95Ms)),
    h('td', { class: 'num max' }, formatMs(q.maxMs)),
    h('td', { class: 'num rows' }, q.rows === null ? h('span', { class: 'muted' }, '–') : q.rows.toLocaleString()),
    h('td', { class: 'num errors' }, q.errors ? h('span', { class: 'badge err' }, q.errors) : h('span', { class: 'muted' }, '–')),
    h('td', { class: 'share' }, h('span', { class: 'share-bar', style: { width: `${Math.max(q.share * 100, 0.5)}%` } }), h('span', { class: 'share-text' }, pct(q.share))),
  );
  let loaded = false;
  function flip() {
    detail.hidden = !detail.hidden;
    main.setAttribute('aria-expanded', String(!detail.hidden));
    if (!loaded) {
      loaded = true;
      slowest(q, detail.firstChild);
    }
  }
  return [main, detail];
}

async function load() {
  const p = params();
  const api = rangeQuery(p);
  api.set('sort', p.get('sort') ?? 'total');
  for (const b of document.querySelectorAll('button.sort')) {
    const active = b.dataset.sort === api.get('sort');
    b.classList.toggle('active', active);
    b.closest('th').setAttribute('aria-sort', active ? 'descending' : 'none');
  }
  try {
    const top = await getJson(`api/top-queries?${api}`);
    showError(null);
    clear(rows);
    for (const q of top.queries) rows.append(...row(q));
    empty.hidden = top.queries.length > 0;
    const shown = top.queries.length < top.fingerprints ? ` (top ${top.queries.length} shown)` : '';
    totals.textContent = `${top.fingerprints.toLocaleString()} queries${shown} · ${top.calls.toLocaleString()} calls · ${formatMs(top.totalMs)} in PostgreSQL`;
  } catch (err) {
    showError(err);
  }
}

for (const b of document.querySelectorAll('button.sort')) b.addEventListener('click', () => navigate({ sort: b.dataset.sort }));
window.addEventListener('popstate', () => {
  range.fill(params());
  load();
});
showCollectorState(document.getElementById('collector'));
load();
