// The trace list: filters live in the URL so a filtered view can be shared and reloaded.
import { clear, formatMs, formatTime, getJson, h } from './dom.js';

const form = document.getElementById('filters');
const rows = document.getElementById('rows');
const more = document.getElementById('more');
const empty = document.getElementById('empty');
const errorBox = document.getElementById('error');
const FIELDS = ['route', 'minDurationMs', 'hasPostgres', 'q'];
const EMPTY_DEFAULT = empty.textContent;
let nextBefore = null;
let maxDuration = 1;

function currentFilters() {
  const params = new URLSearchParams(location.search);
  for (const k of [...params.keys()]) if (!FIELDS.includes(k)) params.delete(k);
  return params;
}

function fillForm(params) {
  form.route.value = params.get('route') ?? '';
  form.minDurationMs.value = params.get('minDurationMs') ?? '';
  form.hasPostgres.checked = params.get('hasPostgres') === 'true';
  form.q.value = params.get('q') ?? '';
}

function showError(err) {
  errorBox.hidden = !err;
  errorBox.textContent = err ? `Could not load traces: ${err.message}` : '';
}

function row(t) {
  const href = `trace.html?id=${encodeURIComponent(t.traceId)}`;
  const width = Math.max((t.durationMs / maxDuration) * 100, 0.5);
  return h(
    'tr',
    { class: t.errorCount ? 'trace-row has-error' : 'trace-row', 'data-trace-id': t.traceId },
    h('td', { class: 'time' }, formatTime(t.startMs)),
    h(
      'td',
      { class: 'name' },
      h('a', { href }, t.rootName || '(unnamed)'),
      t.hasRoot ? null : h('span', { class: 'badge muted', title: 'the span without a parent has not arrived' }, 'partial'),
      t.route && t.route !== t.rootName.replace(/^\S+\s/, '') ? h('span', { class: 'route' }, t.route) : null,
    ),
    h('td', { class: 'service' }, t.rootService),
    h(
      'td',
      { class: 'num duration' },
      h('span', { class: 'dur-bar', style: { width: `${width}%` } }),
      h('span', { class: 'dur-text' }, formatMs(t.durationMs)),
    ),
    h('td', { class: 'num' }, t.spanCount),
    h('td', { class: 'num' }, t.pgSpanCount ? h('span', { class: 'badge pg' }, t.pgSpanCount) : h('span', { class: 'muted' }, '–')),
    h('td', { class: 'num' }, t.errorCount ? h('span', { class: 'badge err' }, t.errorCount) : h('span', { class: 'muted' }, '–')),
  );
}

async function load(append) {
  const params = currentFilters();
  params.set('limit', '100');
  if (append && nextBefore) params.set('before', nextBefore);
  try {
    const page = await getJson(`api/traces?${params}`);
    showError(null);
    if (!append) {
      clear(rows);
      maxDuration = Math.max(...page.traces.map((t) => t.durationMs), 0.001);
    }
    for (const t of page.traces) rows.append(row(t));
    nextBefore = page.nextBefore;
    more.hidden = !nextBefore;
    empty.hidden = rows.children.length > 0;
    empty.textContent = currentFilters().toString() ? 'No trace matches these filters.' : EMPTY_DEFAULT;
  } catch (err) {
    showError(err);
  }
}

async function loadRoutes() {
  try {
    const { routes } = await getJson('api/routes');
    const selected = currentFilters().get('route') ?? '';
    for (const r of routes) form.route.append(h('option', { value: r }, r));
    if (selected && !routes.includes(selected)) form.route.append(h('option', { value: selected }, selected));
    form.route.value = selected;
  } catch (err) {
    showError(err);
  }
}

async function loadStats() {
  try {
    const s = await getJson('api/stats');
    document.getElementById('stats').textContent =
      `${s.traces.toLocaleString()} traces · ${s.spans.toLocaleString()} spans stored`;
  } catch {
    // The list says what went wrong; the header count is optional.
  }
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const params = new URLSearchParams();
  if (form.route.value) params.set('route', form.route.value);
  if (form.minDurationMs.value) params.set('minDurationMs', form.minDurationMs.value);
  if (form.hasPostgres.checked) params.set('hasPostgres', 'true');
  if (form.q.value.trim()) params.set('q', form.q.value.trim());
  history.pushState(null, '', params.toString() ? `?${params}` : location.pathname);
  load(false);
});
form.route.addEventListener('change', () => form.requestSubmit());
form.hasPostgres.addEventListener('change', () => form.requestSubmit());
document.getElementById('reset').addEventListener('click', () => {
  history.pushState(null, '', location.pathname);
  fillForm(new URLSearchParams());
  load(false);
});
more.addEventListener('click', () => load(true));
window.addEventListener('popstate', () => {
  fillForm(currentFilters());
  load(false);
});

fillForm(currentFilters());
loadRoutes();
loadStats();
load(false);
