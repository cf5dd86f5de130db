// The time range picker shared by the trace list and top queries: a relative
// range ("last hour", recomputed at every load) or a custom from/to. Kept in
// the address as range=1h, or range=custom&from=<ms>&to=<ms>.
import { h } from './dom.js';

export const RANGES = [
  ['all', 'all stored', null],
  ['15m', 'last 15 minutes', 15 * 60_000],
  ['1h', 'last hour', 3_600_000],
  ['6h', 'last 6 hours', 6 * 3_600_000],
  ['24h', 'last 24 hours', 24 * 3_600_000],
  ['7d', 'last 7 days', 7 * 24 * 3_600_000],
  ['custom', 'custom…', null],
];

/** The API's from/to (ms since the epoch) for the range in the address. */
export function rangeQuery(params) {
  const range = params.get('range') ?? 'all';
  const out = new URLSearchParams();
  if (range === 'custom') {
    if (params.get('from')) out.set('from', params.get('from'));
    if (params.get('to')) out.set('to', params.get('to'));
    return out;
  }
  const span = RANGES.find(([k]) => k === range)?.[2];
  if (span) out.set('from', String(Date.now() - span));
  return out;
}

function toLocalInput(ms) {
  if (!ms) return '';
  const d = new Date(Number(ms));
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The select and the two custom inputs, filled from the address. */
export function rangeControls(params, onChange) {
  const select = h(
    'select',
    { name: 'range', id: 'range' },
    RANGES.map(([k, label]) => h('option', { value: k }, label)),
  );
  const from = h('input', { type: 'datetime-local', name: 'from', id: 'range-from', 'aria-label': 'from' });
  const to = h('input', { type: 'datetime-local', name: 'to', id: 'range-to', 'aria-label': 'to' });
  const custom = h('span', { class: 'custom-range' }, from, '–', to);
  const fill = (p) => {
    select.value = p.get('range') ?? 'all';
    from.value = toLocalInput(p.get('from'));
    to.value = toLocalInput(p.get('to'));
    custom.hidden = select.value !== 'custom';
  };
  fill(params);
  select.addEventListener('change', () => {
    custom.hidden = select.value !== 'custom';
    if (select.value !== 'custom') onChange();
  });
  from.addEventListener('change', onChange);
  to.addEventListener('change', onChange);
  return {
    element: h('label', { class: 'range' }, 'Time range', h('span', { class: 'range-inputs' }, select, custom)),
    fill,
    /** Writes the range into params (the address of the page). */
    write(p) {
      if (select.value === 'all') return;
      p.set('range', select.value);
      if (select.value === 'custom') {
        if (from.value) p.set('from', String(new Date(from.value).getTime()));
        if (to.value) p.set('to', String(new Date(to.value).getTime()));
      }
    },
  };
}
