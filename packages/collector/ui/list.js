// The trace list: filters live in the address so a filtered view can be shared and reloaded.
import { clear, formatMs, formatTime, getJson, h } from './dom.js';
import { showCollectorState } from './collector-state.js';
import { rangeControls, rangeQuery } from './time-range.js';

const form = document.getElementById('filters');
const rows = document.getElementById('rows');
const more = document.getElementById('more');
const empty = document.getElementById('empty');
const errorBox = document.getElementById('error');
const updated = document.getElementById('updated');
const FIELDS = ['route', 'service', 'minDurationMs', 'hasPostgres', 'hasErrors', 'q', 'sort', 'range', 'from', 'to', 'refresh'];
const CHECKS = ['hasPostgres', 'hasErrors'];
const TRACE_ID = /^[0-9a-f]{32}$/i;
const LAST_LIST = 'pgferret.lastList';
const EMPTY_DEFAULT = empty.textContent;
let next = null;
let maxDuration = 1;
let refreshTimer = null;
/** True once "More traces" added a page: auto-refresh would throw it away. */
let paged = false;

function currentFilters() {
  const params = new URLSearchParams(location.search);
  for (const k of [...params.keys()]) if (!FIELDS.includes(k)) params.delete(k);
  return params;
}

const range = rangeControls(currentFilters(), () => form.requestSubmit());
document.getElementById('range-slot').replaceWith(range.element);

function fillForm(params) {
  for (const name of ['route', 'service', 'minDurationMs', 'q', 'refresh']) form[name].value = params.get(name) ?? '';
  for (const name of CHECKS) form[name].checked = params.get(name) === 'true';
  form.sort.value = params.get('sort') ?? 'newest';
  range.fill(params);
}

function showError(err) {
  errorBox.hidden = !err;
  errorBox.textContent = err ? `Could not load traces: ${err.message}` : '';
}

function statusCell(code) {
  if (!code) return h('span', { class: 'muted' }, '–');
  return h('span', { class: `badge http ${code >= 500 ? 'err' : code >= 400 ? 'warn' : 'ok'}` }, code);
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
    h('td', { class: 'num status' }, statusCell(t.httpStatus)),
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
  const filters = currentFilters();
  // The trace page's "Traces" link comes back to this view (no Referer is sent).
  sessionStorage.setItem(LAST_LIST, filters.toString());
  const params = new URLSearchParams(filters);
  for (const k of ['range', 'from', 'to', 'refresh']) params.delete(k);
  for (const [k, v] of rangeQuery(filters)) params.set(k, v);
  params.set('limit', '100');
  if (append && next) for (const [k, v] of Object.entries(next)) params.set(k, v);
  try {
    const page = await getJson(`api/traces?${params}`);
    showError(null);
    if (!append) {
      clear(rows);
      maxDuration = Math.max(...page.traces.map((t) => t.durationMs), 0.001);
    }
    for (const t of page.traces) rows.append(row(t));
    paged = append;
    next = page.nextBefore ? { before: page.nextBefore } : page.nextOffset ? { offset: page.nextOffset } : null;
    more.hidden = !next;
    empty.hidden = rows.children.length > 0;
    empty.textContent = filters.toString() ? 'No trace matches these filters.' : EMPTY_DEFAULT;
    const refreshing = Number(currentFilters().get('refresh') ?? 0) > 0;
    updated.textContent = `updated ${formatTime(Date.now())}${paged && refreshing ? ' · auto-refresh paused while older traces are shown' : ''}`;
  } catch (err) {
    showError(err);
  }
}

async function loadOptions(name, url, key) {
  try {
    const values = (await getJson(url))[key];
    const select = form[name];
    const selected = currentFilters().get(name) ?? '';
    for (const v of values) select.append(h('option', { value: v }, v));
    if (selected && !values.includes(selected)) select.append(h('option', { value: selected }, selected));
    select.value = selected;
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

/** Auto-refresh reloads the first page; it stays off while older pages are shown. */
function scheduleRefresh() {
  clearInterval(refreshTimer);
  const seconds = Number(currentFilters().get('refresh') ?? 0);
  if (seconds > 0) {
    refreshTimer = setInterval(() => {
      if (paged) return;
      loadStats();
      load(false);
    }, seconds * 1000);
  }
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const params = new URLSearchParams();
  for (const name of ['service', 'route', 'minDurationMs', 'refresh']) if (form[name].value) params.set(name, form[name].value);
  range.write(params);
  for (const name of CHECKS) if (form[name].checked) params.set(name, 'true');
  if (form.q.value.trim()) params.set('q', form.q.value.trim());
  if (form.sort.value !== 'newest') params.set('sort', form.sort.value);
  history.pushState(null, '', params.toString() ? `?${params}` : location.pathname);
  scheduleRefresh();
  load(false);
});
for (const name of ['route', 'service', 'sort', 'refresh', ...CHECKS]) form[name].addEventListener('change', () => form.requestSubmit());
document.getElementById('reset').addEventListener('click', () => {
  history.pushState(null, '', location.pathname);
  fillForm(new URLSearchParams());
  scheduleRefresh();
  load(false);
});
more.addEventListener('click', () => load(true));
window.addEventListener('popstate', () => {
  fillForm(currentFilters());
  scheduleRefresh();
  load(false);
});

const openForm = document.getElementById('open-trace');
openForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const id = document.getElementById('trace-id').value.trim().toLowerCase();
  if (!TRACE_ID.test(id)) {
    showError(new Error(`"${id}" is not a trace id: a trace id is 32 hexadecimal digits (the second field of a traceparent)`));
    return;
  }
  location.href = `trace.html?id=${id}`;
});

fillForm(currentFilters());
loadOptions('route', 'api/routes', 'routes');
loadOptions('service', 'api/services', 'services');
loadStats();
showCollectorState(document.getElementById('collector'));
scheduleRefresh();
load(false);
